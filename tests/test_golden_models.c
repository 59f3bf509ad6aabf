/* Golden tests: every standard virtual model is enumerated on a virtual bus and its whole
 * PnP subtree — device IDs, hardware IDs, compatible IDs, instance IDs, container IDs and
 * composite children — is compared literally with tests/data/golden/<model>.<target>.ids.
 * Each golden file was checked by hand against shared/reference/pnp-ids.md; set
 * OWU_UPDATE_GOLDEN=1 to rewrite them after a deliberate change (then review the diff). */
#include "check.h"

#include <openwinusb/stack.h>

static void dump_node(FILE *f, const struct owu_devnode *n, int depth)
{
    fprintf(f, "%*snode %s\n", depth * 2, "", n->device_id ? n->device_id : "?");
    fprintf(f, "%*s  instance %s\n", depth * 2, "", n->instance_id ? n->instance_id : "?");
    for (size_t i = 0; i < n->hardware_ids.n; i++)
        fprintf(f, "%*s  hardware %s\n", depth * 2, "", n->hardware_ids.v[i]);
    for (size_t i = 0; i < n->compatible_ids.n; i++)
        fprintf(f, "%*s  compatible %s\n", depth * 2, "", n->compatible_ids.v[i]);
    fprintf(f, "%*s  container %s\n", depth * 2, "", n->container_id[0] ? n->container_id : "-");
    fprintf(f, "%*s  unique %s composite %s\n", depth * 2, "", n->unique_id ? "yes" : "no",
            n->composite ? "yes" : "no");
    for (unsigned i = 0; i < n->num_properties; i++)
        fprintf(f, "%*s  property %s type %u\n", depth * 2, "", n->properties[i].name, n->properties[i].type);
    for (const struct owu_devnode *c = n->first_child; c; c = c->next_sibling)
        dump_node(f, c, depth + 1);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) == (size_t)n)
        s[n] = '\0';
    fclose(f);
    return s;
}

static void golden(const char *model, enum owu_target_os target)
{
    char spec[64];
    snprintf(spec, sizeof spec, "virtual:%s", model);
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = spec;
    opt.pnp.target = target;
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    CHECK_OK(owu_stack_open(&opt, &stack, &err), &err);
    if (!stack)
        return;
    struct owu_devnode *hub = owu_stack_tree(stack)->first_child;
    CHECK(hub && hub->first_child);
    char *actual = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&actual, &len);
    if (hub && hub->first_child)
        dump_node(mem, hub->first_child, 0);
    fclose(mem);
    owu_stack_close(stack);

    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s.%s.ids", OWU_TEST_DATA, model,
             target == OWU_TARGET_WIN11 ? "win11" : "win10");
    if (getenv("OWU_UPDATE_GOLDEN")) {
        FILE *out = fopen(path, "w");
        CHECK(out != NULL);
        if (out) {
            fputs(actual, out);
            fclose(out);
        }
    }
    char *expected = read_file(path);
    CHECK(expected != NULL);
    if (expected && strcmp(expected, actual) != 0) {
        check_current_failed++;
        fprintf(stderr, "%s differs from the golden file %s:\n--- got\n%s--- expected\n%s", model, path,
                actual, expected);
    }
    free(expected);
    free(actual);
}

static void test_fx2(void) { golden("fx2", OWU_TARGET_WIN10); golden("fx2", OWU_TARGET_WIN11); }
static void test_cdc_acm(void) { golden("cdc-acm", OWU_TARGET_WIN10); golden("cdc-acm", OWU_TARGET_WIN11); }
static void test_composite(void) { golden("composite", OWU_TARGET_WIN10); golden("composite", OWU_TARGET_WIN11); }
static void test_hid_keyboard(void) { golden("hid-keyboard", OWU_TARGET_WIN10); golden("hid-keyboard", OWU_TARGET_WIN11); }
static void test_msos1(void) { golden("msos1", OWU_TARGET_WIN10); golden("msos1", OWU_TARGET_WIN11); }
static void test_mass_storage(void) { golden("mass-storage", OWU_TARGET_WIN10); golden("mass-storage", OWU_TARGET_WIN11); }
static void test_hub(void) { golden("hub", OWU_TARGET_WIN10); golden("hub", OWU_TARGET_WIN11); }

/* Every model also survives a round trip through a profile: saving what enumeration learned
 * and enumerating the profile model built from it gives the same IDs. */
static void test_profile_round_trip(void)
{
    const char *models[] = {"fx2", "cdc-acm", "composite", "hid-keyboard", "msos1", "mass-storage", "hub"};
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        char spec[64];
        snprintf(spec, sizeof spec, "virtual:%s", models[m]);
        struct owu_stack_options opt;
        owu_stack_options_default(&opt);
        opt.buses = spec;
        struct owu_stack *a = NULL, *b = NULL;
        owu_err err = {0};
        CHECK_OK(owu_stack_open(&opt, &a, &err), &err);
        if (!a)
            continue;
        struct owu_devnode *dev = owu_stack_tree(a)->first_child->first_child;
        CHECK_OK(owu_stack_open_devinfo(dev->info, &opt.pnp, &b, &err), &err);
        if (b) {
            struct owu_devnode *dev2 = owu_stack_tree(b)->first_child->first_child;
            char *s1 = NULL, *s2 = NULL;
            size_t l1, l2;
            FILE *f1 = open_memstream(&s1, &l1), *f2 = open_memstream(&s2, &l2);
            dump_node(f1, dev, 0);
            dump_node(f2, dev2, 0);
            fclose(f1);
            fclose(f2);
            if (strcmp(s1, s2) != 0) {
                check_current_failed++;
                fprintf(stderr, "%s: profile round trip differs:\n%s---\n%s", models[m], s1, s2);
            }
            free(s1);
            free(s2);
            owu_stack_close(b);
        }
        owu_stack_close(a);
    }
}

int main(void)
{
    setenv("OPENWINUSB_USB_IDS", "/dev/null", 1);
    RUN(test_fx2);
    RUN(test_cdc_acm);
    RUN(test_composite);
    RUN(test_hid_keyboard);
    RUN(test_msos1);
    RUN(test_mass_storage);
    RUN(test_hub);
    RUN(test_profile_round_trip);
    return check_report();
}
