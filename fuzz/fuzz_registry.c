/* libFuzzer target for the Device Parameters file parser (src/pnp/registry_format.c).
 * Beyond memory errors it checks the parser's promises: every loaded instance ID and value
 * passes the store's checks, problems come with messages, and what was loaded writes out
 * as a file that reads back with no problem and the same content, and writes out again
 * byte for byte the same. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pnp/registry_internal.h"

static void check_valid(const struct owu_regdb *db)
{
    if (db->n > OWU_REG_MAX_KEYS)
        abort();
    for (size_t i = 0; i < db->n; i++) {
        const struct owu_regkey *k = &db->keys[i];
        if (owu_registry_check_instance_id(k->id, NULL) != OWU_OK || k->n > OWU_REG_MAX_VALUES)
            abort();
        if (i && strcasecmp(db->keys[i - 1].id, k->id) >= 0)
            abort();   /* sorted, no duplicates */
        if (k->msos && strlen(k->msos) != OWU_REGDB_FP_LEN)
            abort();
        for (size_t j = 0; j < k->n; j++) {
            const struct owu_regval *v = &k->v[j];
            if (!v->data || owu_regdb_check_name(v->name, NULL) != OWU_OK ||
                owu_registry_check_value(v->type, v->data, v->len, NULL) != OWU_OK)
                abort();
        }
    }
}

static void check_same(const struct owu_regdb *a, const struct owu_regdb *b)
{
    if (a->n != b->n)
        abort();
    for (size_t i = 0; i < a->n; i++) {
        const struct owu_regkey *x = &a->keys[i], *y = &b->keys[i];
        if (strcmp(x->id, y->id) != 0 || x->n != y->n || !x->driver != !y->driver ||
            (x->driver && strcmp(x->driver, y->driver) != 0) || !x->msos != !y->msos ||
            (x->msos && strcmp(x->msos, y->msos) != 0))
            abort();
        for (size_t j = 0; j < x->n; j++) {
            const struct owu_regval *v = &x->v[j], *w = &y->v[j];
            if (strcmp(v->name, w->name) != 0 || v->type != w->type || v->len != w->len ||
                memcmp(v->data, w->data, v->len) != 0)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct owu_regdb db;
    struct owu_regdb_report rep = { 0 };
    owu_err err;
    owu_regdb_init(&db);
    int rc = owu_regdb_parse((const char *)data, size, "fuzz", &db, &rep, &err);
    if (rc != OWU_OK) {
        if ((rc != OWU_E_NOTSUP && rc != OWU_E_NOMEM) || db.n)
            abort();
        owu_regdb_report_clear(&rep);
        return 0;
    }
    if (rep.problems && rep.warnings.n == 0)
        abort();
    check_valid(&db);

    char *text;
    size_t len;
    if (owu_regdb_format(&db, &text, &len, &err) == OWU_OK) {
        struct owu_regdb back;
        struct owu_regdb_report rep2 = { 0 };
        owu_regdb_init(&back);
        if (owu_regdb_parse(text, len, "fuzz-roundtrip", &back, &rep2, &err) != OWU_OK || rep2.problems)
            abort();
        check_same(&db, &back);
        char *text2;
        size_t len2;
        if (owu_regdb_format(&back, &text2, &len2, &err) == OWU_OK) {
            if (len2 != len || memcmp(text, text2, len) != 0)
                abort();
            free(text2);
        }
        owu_regdb_report_clear(&rep2);
        owu_regdb_clear(&back);
        free(text);
    }
    owu_regdb_report_clear(&rep);
    owu_regdb_clear(&db);
    return 0;
}
