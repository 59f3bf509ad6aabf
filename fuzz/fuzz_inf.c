/* libFuzzer target for the INF parser and its queries: load (all encodings, lexer,
 * strings), generic access, Models for several targets, DDInstall resolution with
 * Include/Needs (every include resolves to the INF itself), AddReg typing. */
#include <openwinusb/inf.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

static void touch(const char *s)
{
    if (s)
        sink += strlen(s);
}

static const struct owu_inf *self_lookup(void *ctx, const char *name)
{
    touch(name);
    return ctx;
}

static void walk_install(const struct owu_inf_install *in)
{
    touch(in->section);
    for (size_t i = 0; i < in->num_directives; i++)
        for (size_t f = 0; f < in->directives[i].num_fields; f++)
            touch(in->directives[i].fields[f]);
    for (size_t i = 0; i < in->num_addreg; i++)
        sink += in->addreg[i].len ? in->addreg[i].data[in->addreg[i].len - 1] : 0;
    for (size_t i = 0; i < in->num_hw_addreg; i++)
        sink += in->hw_addreg[i].len ? in->hw_addreg[i].data[in->hw_addreg[i].len - 1] : 0;
    for (size_t i = 0; i < in->num_services; i++) {
        touch(in->services[i].name);
        touch(in->services[i].service_binary);
    }
    for (size_t i = 0; i < in->num_interfaces; i++)
        touch(in->interfaces[i].guid);
    for (size_t i = 0; i < in->num_copyfiles; i++)
        touch(in->copyfiles[i].name);
    for (size_t i = 0; i < in->num_exclude_ids; i++)
        touch(in->exclude_ids[i]);
    for (size_t i = 0; i < in->num_warnings; i++)
        touch(in->warnings[i]);
    touch(in->function_driver);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct owu_inf_options opt;
    owu_inf_options_default(&opt);
    if (size % 3 == 0)
        opt.flags |= OWU_INF_STRICT;
    if (size % 2)
        opt.langid = 0x0407;
    struct owu_inf *inf = NULL;
    owu_err err;
    if (owu_inf_load_mem("fuzz.inf", data, size, &opt, &inf, &err) != OWU_OK)
        return 0;

    for (size_t i = 0; i < owu_inf_warning_count(inf); i++)
        touch(owu_inf_warning(inf, i));
    size_t reg_budget = 256;
    for (size_t s = 0; s < owu_inf_section_count(inf); s++) {
        const struct owu_inf_section *sec = owu_inf_section_at(inf, s);
        touch(owu_inf_section_name(sec));
        for (size_t e = 0; e < owu_inf_entry_count(sec); e++) {
            const struct owu_inf_entry *en = owu_inf_entry_at(sec, e);
            touch(en->key);
            for (size_t f = 0; f < en->num_fields; f++)
                touch(en->fields[f]);
            if (!en->key && en->num_fields && reg_budget) {
                reg_budget--;
                struct owu_inf_reg *r = owu_inf_reg_parse(en->fields, en->num_fields, NULL);
                if (r)
                    sink += r->len ? r->data[r->len - 1] : 0;
                free(r);
            }
        }
    }
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    touch(v->class_name);
    touch(v->provider);

    static const struct owu_inf_target targets[] = {
        {OWU_INF_ARCH_AMD64, 10, 0, 19041, 1, 0},
        {OWU_INF_ARCH_X86, 6, 1, 7601, 1, 0},
        {OWU_INF_ARCH_ARM64, 10, 0, 22000, 3, 0x80},
    };
    struct owu_inf_resolver res = {self_lookup, inf};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        touch(owu_inf_catalog_file(inf, &targets[t]));
        struct owu_inf_models *m = NULL;
        if (owu_inf_get_models(inf, &targets[t], &m, &err) != OWU_OK)
            continue;
        size_t budget = 32;
        for (size_t i = 0; i < m->num_models && budget; i++) {
            touch(m->models[i].description);
            touch(m->models[i].hardware_id);
            for (size_t k = 0; k < m->models[i].num_compatible_ids; k++)
                touch(m->models[i].compatible_ids[k]);
            if (i && strcmp(m->models[i].install, m->models[i - 1].install) == 0)
                continue;
            budget--;
            struct owu_inf_install *in = NULL;
            if (owu_inf_get_install(inf, m->models[i].install, &targets[t], &res, &in, &err) ==
                OWU_OK)
                walk_install(in);
            owu_inf_install_free(in);
        }
        owu_inf_models_free(m);
    }
    owu_inf_free(inf);
    return 0;
}
