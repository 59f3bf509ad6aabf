/* The driver store: in-box packages, user packages, the Include= resolver over them and the
 * index from device ID to the Models lines that name it (docs/driver-store.md). */
#include <openwinusb/driverstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pnp/inbox.h"
#include "pnp/store_internal.h"

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int name_cmp_ci(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = fold((unsigned char)*a), cb = fold((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

/* FNV-1a over the folded bytes. */
static uint32_t hash_ci(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (uint32_t)fold((unsigned char)*s);
        h *= 16777619u;
    }
    return h;
}

/* ---- packages ------------------------------------------------------------------------- */

struct store_pkg *store_pkg_new(const char *name, const char *path, struct owu_inf *inf,
                                bool inbox, enum owu_pkg_signature sig)
{
    struct store_pkg *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->name = strdup(name);
    p->path = path ? strdup(path) : NULL;
    if (!p->name || (path && !p->path)) {
        free(p->name);
        free(p->path);
        free(p);
        return NULL;
    }
    p->inf = inf;
    p->sig_fixed = inbox;
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    p->pub.name = p->name;
    p->pub.path = p->path;
    p->pub.inbox = inbox;
    p->pub.signature = sig;
    p->pub.inf = inf;
    if (v) {
        p->pub.provider = v->provider;
        p->pub.class_name = v->class_name;
        p->pub.class_guid = v->class_guid;
        p->pub.driver_ver = v->driver_ver;
    }
    return p;
}

static void pkg_clear_derived(struct store_pkg *p)
{
    for (size_t i = 0; i < p->num_installs; i++) {
        owu_inf_install_free(p->installs[i].inst);
        free(p->installs[i].error);
    }
    free(p->installs);
    p->installs = NULL;
    p->num_installs = 0;
    free(p->line_install);
    p->line_install = NULL;
    owu_inf_models_free(p->models);
    p->models = NULL;
    p->pub.models = NULL;
    p->pub.num_models = 0;
    p->pub.catalog = NULL;
}

void store_pkg_free(struct store_pkg *p)
{
    if (!p)
        return;
    pkg_clear_derived(p);
    owu_inf_free(p->inf);
    free(p->name);
    free(p->path);
    free(p);
}

/* In-box packages first, then by name (case-insensitive, then byte order for names that
 * differ only in case — which the store refuses, but the order must still be total). */
static int pkg_order(const struct store_pkg *a, const struct store_pkg *b)
{
    if (a->pub.inbox != b->pub.inbox)
        return a->pub.inbox ? -1 : 1;
    int c = name_cmp_ci(a->name, b->name);
    return c ? c : strcmp(a->name, b->name);
}

int store_insert_pkg(struct owu_driver_store *s, struct store_pkg *p, owu_err *err)
{
    if (s->num_pkgs == s->cap_pkgs) {
        size_t cap = s->cap_pkgs ? s->cap_pkgs * 2 : 32;
        struct store_pkg **v = realloc(s->pkgs, cap * sizeof *v);
        if (!v) {
            store_pkg_free(p);
            return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
        }
        s->pkgs = v;
        s->cap_pkgs = cap;
    }
    size_t at = s->num_pkgs;
    while (at > 0 && pkg_order(s->pkgs[at - 1], p) > 0)
        at--;
    memmove(&s->pkgs[at + 1], &s->pkgs[at], (s->num_pkgs - at) * sizeof *s->pkgs);
    s->pkgs[at] = p;
    s->num_pkgs++;
    return OWU_OK;
}

void store_drop_pkg(struct owu_driver_store *s, size_t i)
{
    if (i >= s->num_pkgs)
        return;
    store_pkg_free(s->pkgs[i]);
    memmove(&s->pkgs[i], &s->pkgs[i + 1], (s->num_pkgs - i - 1) * sizeof *s->pkgs);
    s->num_pkgs--;
}

size_t store_find_index(const struct owu_driver_store *s, const char *name)
{
    for (size_t i = 0; i < s->num_pkgs; i++)
        if (name_cmp_ci(s->pkgs[i]->name, name) == 0)
            return i;
    return (size_t)-1;
}

bool store_is_inbox_name(const char *name)
{
    for (size_t i = 0; i < owu_inbox_inf_count; i++)
        if (name_cmp_ci(owu_inbox_infs[i].name, name) == 0)
            return true;
    return false;
}

static const struct owu_inf *resolve_include(void *ctx, const char *inf_name)
{
    const struct owu_driver_store *s = ctx;
    size_t i = inf_name ? store_find_index(s, inf_name) : (size_t)-1;
    return i == (size_t)-1 ? NULL : s->pkgs[i]->inf;
}

/* ---- the ID index ----------------------------------------------------------------------- */

static void index_free(struct owu_driver_store *s)
{
    for (size_t i = 0; i < s->num_slots; i++) {
        free(s->slots[i].key);
        free(s->slots[i].v);
    }
    free(s->slots);
    s->slots = NULL;
    s->num_slots = s->used_slots = 0;
}

static bool key_equal_ci(const char *key_folded, const char *id)
{
    for (;; key_folded++, id++) {
        int c = fold((unsigned char)*id);
        if ((unsigned char)*key_folded != c)
            return false;
        if (!c)
            return true;
    }
}

static struct store_slot *slot_find(struct store_slot *slots, size_t n, const char *id,
                                    uint32_t h)
{
    size_t mask = n - 1;
    for (size_t i = h & mask, probes = 0; probes < n; i = (i + 1) & mask, probes++) {
        if (!slots[i].key || (slots[i].hash == h && key_equal_ci(slots[i].key, id)))
            return &slots[i];
    }
    return NULL;   /* full: cannot happen, the table is kept at most half full */
}

static int index_grow(struct owu_driver_store *s)
{
    size_t n = s->num_slots ? s->num_slots * 2 : 256;
    struct store_slot *slots = calloc(n, sizeof *slots);
    if (!slots)
        return OWU_E_NOMEM;
    for (size_t i = 0; i < s->num_slots; i++) {
        if (!s->slots[i].key)
            continue;
        struct store_slot *d = slot_find(slots, n, s->slots[i].key, s->slots[i].hash);
        *d = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->num_slots = n;
    return OWU_OK;
}

static int index_add(struct owu_driver_store *s, const char *id, struct store_posting post)
{
    if (!id || !*id)
        return OWU_OK;
    if ((s->used_slots + 1) * 2 > s->num_slots && index_grow(s) < 0)
        return OWU_E_NOMEM;
    uint32_t h = hash_ci(id);
    struct store_slot *sl = slot_find(s->slots, s->num_slots, id, h);
    if (!sl->key) {
        size_t len = strlen(id);
        char *key = malloc(len + 1);
        if (!key)
            return OWU_E_NOMEM;
        for (size_t i = 0; i <= len; i++)
            key[i] = (char)fold((unsigned char)id[i]);
        sl->key = key;
        sl->hash = h;
        s->used_slots++;
    }
    if (sl->n == sl->cap) {
        size_t cap = sl->cap ? sl->cap * 2 : 2;
        struct store_posting *v = realloc(sl->v, cap * sizeof *v);
        if (!v)
            return OWU_E_NOMEM;
        sl->v = v;
        sl->cap = cap;
    }
    sl->v[sl->n++] = post;
    return OWU_OK;
}

const struct store_slot *store_lookup(const struct owu_driver_store *s, const char *id)
{
    if (!s->num_slots || !id)
        return NULL;
    const struct store_slot *sl = slot_find(s->slots, s->num_slots, id, hash_ci(id));
    return sl && sl->key ? sl : NULL;
}

/* ---- derived data ----------------------------------------------------------------------- */

/* Signature (from the trust policy unless fixed), Models for the target, and each
 * distinct DDInstall resolved once. */
static int pkg_derive(struct owu_driver_store *s, struct store_pkg *p)
{
    p->pub.catalog = owu_inf_catalog_file(p->inf, &s->opt.target);
    if (!p->sig_fixed) {
        bool signed_ = s->opt.trust == OWU_TRUST_ALL ||
                       (s->opt.trust == OWU_TRUST_CATALOG && p->pub.catalog && *p->pub.catalog);
        p->pub.signature = signed_ ? OWU_PKG_SIGNED : OWU_PKG_UNSIGNED;
    }
    owu_err e = {0};
    int rc = owu_inf_get_models(p->inf, &s->opt.target, &p->models, &e);
    if (rc == OWU_E_NOMEM)
        return rc;
    if (rc < 0) {
        p->models = NULL;
        return owu_strlist_addf(&s->index_warnings, "%s: Models not read: %s", p->name, e.msg) < 0
                   ? OWU_E_NOMEM
                   : OWU_OK;
    }
    p->pub.models = p->models;
    p->pub.num_models = p->models->num_models;
    if (!p->models->num_models)
        return OWU_OK;
    p->line_install = calloc(p->models->num_models, sizeof *p->line_install);
    p->installs = calloc(p->models->num_models, sizeof *p->installs);
    if (!p->line_install || !p->installs)
        return OWU_E_NOMEM;
    for (size_t i = 0; i < p->models->num_models; i++) {
        const char *name = p->models->models[i].install ? p->models->models[i].install : "";
        size_t k = 0;
        while (k < p->num_installs && name_cmp_ci(p->installs[k].name, name) != 0)
            k++;
        p->line_install[i] = k;
        if (k < p->num_installs)
            continue;
        struct store_install *si = &p->installs[p->num_installs++];
        si->name = name;
        owu_err ie = {0};
        rc = owu_inf_get_install(p->inf, name, &s->opt.target, &s->resolver, &si->inst, &ie);
        if (rc == OWU_E_NOMEM)
            return rc;
        if (rc < 0) {
            si->inst = NULL;
            if (!(si->error = strdup(ie.msg)))
                return OWU_E_NOMEM;
            if (owu_strlist_addf(&s->index_warnings, "%s", ie.msg) < 0)
                return OWU_E_NOMEM;
        }
    }
    return OWU_OK;
}

static int pkg_index(struct owu_driver_store *s, uint32_t pi)
{
    const struct store_pkg *p = s->pkgs[pi];
    if (!p->models)
        return OWU_OK;
    for (size_t i = 0; i < p->models->num_models; i++) {
        const struct owu_inf_model *m = &p->models->models[i];
        struct store_posting post = {pi, (uint32_t)i, OWU_IDS_HARDWARE, 0};
        if (index_add(s, m->hardware_id, post) < 0)
            return OWU_E_NOMEM;
        for (size_t k = 0; k < m->num_compatible_ids; k++) {
            post.inf_list = OWU_IDS_COMPATIBLE;
            post.inf_pos = k > 0xFFFF ? 0xFFFF : (uint16_t)k;
            if (index_add(s, m->compatible_ids[k], post) < 0)
                return OWU_E_NOMEM;
        }
    }
    return OWU_OK;
}

int store_reindex(struct owu_driver_store *s, owu_err *err)
{
    index_free(s);
    owu_strlist_clear(&s->index_warnings);
    for (size_t i = 0; i < s->num_pkgs; i++)
        pkg_clear_derived(s->pkgs[i]);
    /* Resolution needs every package loaded first: Include= may name any of them. */
    for (size_t i = 0; i < s->num_pkgs; i++)
        if (pkg_derive(s, s->pkgs[i]) < 0)
            goto nomem;
    if (s->num_pkgs > UINT32_MAX)
        goto nomem;
    for (size_t i = 0; i < s->num_pkgs; i++)
        if (pkg_index(s, (uint32_t)i) < 0)
            goto nomem;
    return OWU_OK;
nomem:
    index_free(s);
    return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory indexing packages");
}

/* ---- open / free / accessors ------------------------------------------------------------ */

const char *owu_driver_trust_name(enum owu_driver_trust t)
{
    switch (t) {
    case OWU_TRUST_CATALOG:
        return "catalog";
    case OWU_TRUST_NONE:
        return "none";
    case OWU_TRUST_ALL:
        return "all";
    }
    return "?";
}

int owu_driver_trust_parse(const char *s, enum owu_driver_trust *out)
{
    static const enum owu_driver_trust all[] = {OWU_TRUST_CATALOG, OWU_TRUST_NONE, OWU_TRUST_ALL};
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
        if (name_cmp_ci(s, owu_driver_trust_name(all[i])) == 0) {
            if (out)
                *out = all[i];
            return OWU_OK;
        }
    return OWU_E_INVAL;
}

void owu_driver_store_options_default(struct owu_driver_store_options *opt)
{
    memset(opt, 0, sizeof *opt);
    owu_inf_target_default(&opt->target);
    opt->langid = 0x0409;
    opt->trust = OWU_TRUST_CATALOG;
    const char *t = getenv(OWU_DRIVER_TRUST_ENV);
    if (t && *t)
        owu_driver_trust_parse(t, &opt->trust);
}

static int load_inbox(struct owu_driver_store *s, owu_err *err)
{
    struct owu_inf_options io;
    owu_inf_options_default(&io);
    io.langid = s->opt.langid;
    for (size_t i = 0; i < owu_inbox_inf_count; i++) {
        const struct owu_inbox_inf *b = &owu_inbox_infs[i];
        struct owu_inf *inf = NULL;
        int rc = owu_inf_load_mem(b->name, b->data, b->len, &io, &inf, err);
        if (rc < 0) {
            owu_err_wrap(err, "in-box package %s does not load: ", b->name);
            return rc;
        }
        struct store_pkg *p = store_pkg_new(b->name, NULL, inf, true, OWU_PKG_TRUSTED);
        if (!p) {
            owu_inf_free(inf);
            return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
        }
        if ((rc = store_insert_pkg(s, p, err)) < 0)
            return rc;
    }
    return OWU_OK;
}

int owu_driver_store_open(const struct owu_driver_store_options *opt,
                          struct owu_driver_store **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_driver_store_open: NULL argument");
    *out = NULL;
    struct owu_driver_store *s = calloc(1, sizeof *s);
    if (!s)
        return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
    if (opt)
        s->opt = *opt;
    else
        owu_driver_store_options_default(&s->opt);
    if (!s->opt.langid)
        s->opt.langid = 0x0409;
    s->opt.dir = NULL;   /* the copy below is what the store keeps */
    s->resolver.lookup = resolve_include;
    s->resolver.ctx = s;

    const char *trust_env = getenv(OWU_DRIVER_TRUST_ENV);
    int rc = OWU_OK;
    if (trust_env && *trust_env && owu_driver_trust_parse(trust_env, NULL) < 0 &&
        owu_strlist_addf(&s->load_warnings, OWU_DRIVER_TRUST_ENV "=\"%.60s\" is not catalog, "
                         "none or all; ignored", trust_env) < 0)
        rc = owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
    if (rc == OWU_OK)
        rc = load_inbox(s, err);
    if (rc == OWU_OK && !(opt && opt->no_user_store)) {
        if (opt && opt->dir) {
            if (!*opt->dir) {
                rc = owu_fail(err, OWU_E_INVAL, "driver store: empty directory name");
            } else if (!(s->dir = strdup(opt->dir))) {
                rc = owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
            }
        } else {
            owu_err de = {0};
            int drc = owu_driver_store_default_dir(&s->dir, &de);
            if (drc == OWU_E_NOMEM)
                rc = owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
            else if (drc < 0 && owu_strlist_addf(&s->load_warnings, "no user driver store: %s",
                                                 de.msg) < 0)
                rc = owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
        }
        if (rc == OWU_OK && s->dir)
            rc = store_load_dir(s, err);
    }
    if (rc == OWU_OK)
        rc = store_reindex(s, err);
    if (rc < 0) {
        owu_driver_store_free(s);
        return rc;
    }
    *out = s;
    return OWU_OK;
}

void owu_driver_store_free(struct owu_driver_store *s)
{
    if (!s)
        return;
    index_free(s);
    for (size_t i = 0; i < s->num_pkgs; i++)
        store_pkg_free(s->pkgs[i]);
    free(s->pkgs);
    owu_strlist_clear(&s->load_warnings);
    owu_strlist_clear(&s->index_warnings);
    free(s->dir);
    free(s);
}

const char *owu_driver_store_dir(const struct owu_driver_store *s)
{
    return s ? s->dir : NULL;
}

const struct owu_inf_target *owu_driver_store_target(const struct owu_driver_store *s)
{
    return s ? &s->opt.target : NULL;
}

size_t owu_driver_store_count(const struct owu_driver_store *s)
{
    return s ? s->num_pkgs : 0;
}

const struct owu_driver_package *owu_driver_store_at(const struct owu_driver_store *s, size_t i)
{
    return s && i < s->num_pkgs ? &s->pkgs[i]->pub : NULL;
}

const struct owu_driver_package *owu_driver_store_find(const struct owu_driver_store *s,
                                                       const char *name)
{
    if (!s || !name)
        return NULL;
    size_t i = store_find_index(s, name);
    return i == (size_t)-1 ? NULL : &s->pkgs[i]->pub;
}

size_t owu_driver_store_warning_count(const struct owu_driver_store *s)
{
    return s ? s->load_warnings.n + s->index_warnings.n : 0;
}

const char *owu_driver_store_warning(const struct owu_driver_store *s, size_t i)
{
    if (!s)
        return NULL;
    if (i < s->load_warnings.n)
        return s->load_warnings.v[i];
    i -= s->load_warnings.n;
    return i < s->index_warnings.n ? s->index_warnings.v[i] : NULL;
}

const struct owu_inf_resolver *owu_driver_store_resolver(const struct owu_driver_store *s)
{
    return s ? &s->resolver : NULL;
}

int owu_driver_store_add_mem(struct owu_driver_store *s, const char *name, const void *data,
                             size_t len, enum owu_pkg_signature sig, owu_err *err)
{
    if (!s || !name || (!data && len))
        return owu_fail(err, OWU_E_INVAL, "owu_driver_store_add_mem: NULL argument");
    if (!*name)
        return owu_fail(err, OWU_E_INVAL, "driver store: a package needs a name");
    if (store_find_index(s, name) != (size_t)-1)
        return owu_fail(err, OWU_E_BUSY, "driver store: a package named \"%.200s\" is already "
                        "loaded", name);
    struct owu_inf_options io;
    owu_inf_options_default(&io);
    io.langid = s->opt.langid;
    struct owu_inf *inf = NULL;
    int rc = owu_inf_load_mem(name, data ? data : "", len, &io, &inf, err);
    if (rc < 0)
        return rc;
    struct store_pkg *p = store_pkg_new(name, NULL, inf, false, sig);
    if (!p) {
        owu_inf_free(inf);
        return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
    }
    p->sig_fixed = true;
    if ((rc = store_insert_pkg(s, p, err)) < 0)
        return rc;
    return store_reindex(s, err);
}
