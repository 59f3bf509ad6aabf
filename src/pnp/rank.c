/* Driver selection: every Models line of the store that names one of a node's IDs, ranked
 * 0xSSGGTHHH as shared/reference/pnp-ids.md §2.2 describes, ordered by the tie-breaks of
 * §2.3 plus a fixed last resort, and each explained (docs/driver-store.md). */
#include <openwinusb/driverstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pnp/store_internal.h"

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int cmp_ci(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = fold((unsigned char)*a), cb = fold((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

const char *owu_id_list_name(enum owu_id_list l)
{
    return l == OWU_IDS_HARDWARE ? "hardware" : "compatible";
}

const char *owu_candidate_status_name(enum owu_candidate_status st)
{
    switch (st) {
    case OWU_CAND_WINNER:
        return "winner";
    case OWU_CAND_OUTRANKED:
        return "outranked";
    case OWU_CAND_UNUSABLE:
        return "unusable";
    case OWU_CAND_EXCLUDED:
        return "excluded";
    }
    return "?";
}

/* Identifier score (pnp-ids.md §2.2 table): T from which lists matched, HHH from the
 * positions. The fields are 12 bits wide, so positions are clamped: j to 0xFFF, and for a
 * compatible-against-compatible match j to 0xFF and k to 0xF. */
static uint16_t identifier_score(enum owu_id_list dev, unsigned j, enum owu_id_list inf, unsigned k)
{
    if (dev == OWU_IDS_COMPATIBLE && inf == OWU_IDS_COMPATIBLE) {
        unsigned jj = j > 0xFF ? 0xFF : j, kk = k > 0xF ? 0xF : k;
        return (uint16_t)(0x3000u + jj + 0x100u * kk);
    }
    unsigned t = dev == OWU_IDS_HARDWARE ? (inf == OWU_IDS_HARDWARE ? 0 : 1) : 2;
    return (uint16_t)((t << 12) | (j > 0xFFF ? 0xFFFu : j));
}

struct work {
    struct owu_driver_candidates pub;
    size_t cap;
    uint32_t *keys_pkg, *keys_line;   /* which Models line each candidate is */
};

static struct owu_driver_candidate *find_or_add(struct work *w, uint32_t pkg, uint32_t line,
                                                bool *fresh)
{
    for (size_t i = 0; i < w->pub.n; i++)
        if (w->keys_pkg[i] == pkg && w->keys_line[i] == line) {
            *fresh = false;
            return &w->pub.v[i];
        }
    if (w->pub.n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        struct owu_driver_candidate *v = realloc(w->pub.v, cap * sizeof *v);
        if (!v)
            return NULL;
        w->pub.v = v;
        uint32_t *kp = realloc(w->keys_pkg, cap * sizeof *kp);
        if (!kp)
            return NULL;
        w->keys_pkg = kp;
        uint32_t *kl = realloc(w->keys_line, cap * sizeof *kl);
        if (!kl)
            return NULL;
        w->keys_line = kl;
        w->cap = cap;
    }
    size_t i = w->pub.n++;
    w->keys_pkg[i] = pkg;
    w->keys_line[i] = line;
    memset(&w->pub.v[i], 0, sizeof w->pub.v[i]);
    *fresh = true;
    return &w->pub.v[i];
}

/* Matches one device ID list against the index, keeping per Models line its best match. */
static int match_list(const struct owu_driver_store *s, const owu_strlist *ids,
                      enum owu_id_list dev_list, struct work *w)
{
    for (size_t j = 0; j < ids->n; j++) {
        const struct store_slot *sl = store_lookup(s, ids->v[j]);
        if (!sl)
            continue;
        for (size_t p = 0; p < sl->n; p++) {
            const struct store_posting *post = &sl->v[p];
            uint16_t score = identifier_score(dev_list, (unsigned)j,
                                              (enum owu_id_list)post->inf_list, post->inf_pos);
            bool fresh;
            struct owu_driver_candidate *c = find_or_add(w, post->pkg, post->line, &fresh);
            if (!c)
                return OWU_E_NOMEM;
            if (!fresh && c->identifier_score <= score)
                continue;
            const struct owu_inf_model *m = &s->pkgs[post->pkg]->models->models[post->line];
            c->identifier_score = score;
            c->device_id = ids->v[j];          /* copied when the list is final */
            c->device_list = dev_list;
            c->device_pos = (unsigned)j;
            c->inf_list = (enum owu_id_list)post->inf_list;
            c->inf_pos = post->inf_pos;
            c->inf_id = post->inf_list == OWU_IDS_HARDWARE ? m->hardware_id
                                                           : m->compatible_ids[post->inf_pos];
        }
    }
    return OWU_OK;
}

static const char *excluding_id(const struct owu_inf_install *in, const struct owu_devnode *node,
                                enum owu_id_list *list, unsigned *pos)
{
    for (size_t e = 0; e < in->num_exclude_ids; e++) {
        const char *x = in->exclude_ids[e];
        for (size_t j = 0; j < node->hardware_ids.n; j++)
            if (cmp_ci(node->hardware_ids.v[j], x) == 0) {
                *list = OWU_IDS_HARDWARE;
                *pos = (unsigned)j;
                return x;
            }
        for (size_t j = 0; j < node->compatible_ids.n; j++)
            if (cmp_ci(node->compatible_ids.v[j], x) == 0) {
                *list = OWU_IDS_COMPATIBLE;
                *pos = (unsigned)j;
                return x;
            }
    }
    return NULL;
}

/* Fills everything but the match itself from the package, the line and its DDInstall. */
static void complete(const struct owu_driver_store *s, const struct owu_devnode *node,
                     struct owu_driver_candidate *c, uint32_t pi, uint32_t li)
{
    const struct store_pkg *p = s->pkgs[pi];
    const struct owu_inf_model *m = &p->models->models[li];
    const struct store_install *si = &p->installs[p->line_install[li]];
    c->package = &p->pub;
    c->inf = p->name;
    c->inbox = p->pub.inbox;
    c->manufacturer = m->manufacturer;
    c->models_section = m->section;
    c->models_line = m->line;
    c->description = m->description;
    c->install = m->install;
    c->driver_ver = p->pub.driver_ver;
    c->feature_score = OWU_FEATURE_SCORE_DEFAULT;
    c->signature_score = OWU_SIG_SCORE_UNKNOWN;
    c->signer_score = p->pub.signature == OWU_PKG_TRUSTED  ? OWU_SIGNER_SCORE_INBOX
                      : p->pub.signature == OWU_PKG_SIGNED ? OWU_SIGNER_SCORE_AUTHENTICODE
                                                           : OWU_SIGNER_SCORE_UNSIGNED;
    c->status = OWU_CAND_OUTRANKED;
    const struct owu_inf_install *in = si->inst;
    if (!in) {
        c->status = OWU_CAND_UNUSABLE;
        snprintf(c->reason, sizeof c->reason, "unusable: %s",
                 si->error ? si->error : "DDInstall section not found");
    } else {
        c->install_section = in->section;
        c->service = in->function_driver;
        c->driver_ver = in->driver_ver;
        c->feature_score = (uint8_t)(in->feature_score > 0xFF ? 0xFF : in->feature_score);
        if (p->pub.signature != OWU_PKG_UNSIGNED)
            c->signature_score = OWU_SIG_SCORE_TRUSTED;
        else
            c->signature_score = in->nt_decorated ? OWU_SIG_SCORE_UNSIGNED_NT
                                                  : OWU_SIG_SCORE_UNSIGNED;
        enum owu_id_list xl;
        unsigned xp;
        const char *x = excluding_id(in, node, &xl, &xp);
        if (x) {
            c->status = OWU_CAND_EXCLUDED;
            c->exclude_id = x;
            snprintf(c->reason, sizeof c->reason,
                     "excluded: ExcludeID %s of [%s] names the device's %s ID #%u", x,
                     in->section, owu_id_list_name(xl), xp);
        }
    }
    c->rank = ((uint32_t)c->signature_score << 24) | ((uint32_t)c->feature_score << 16) |
              c->identifier_score;
}

static int status_group(enum owu_candidate_status st)
{
    return st == OWU_CAND_EXCLUDED ? 2 : st == OWU_CAND_UNUSABLE ? 1 : 0;
}

static int date_cmp(const struct owu_inf_driver_ver *a, const struct owu_inf_driver_ver *b)
{
    if (a->year != b->year)
        return a->year < b->year ? -1 : 1;
    if (a->month != b->month)
        return a->month < b->month ? -1 : 1;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return 0;
}

/* The fixed last resort after rank, date and version (Windows leaves it unspecified):
 * in-box packages first, then INF name, then Models line, then Models section name. */
static int fixed_order(const struct owu_driver_candidate *a, const struct owu_driver_candidate *b)
{
    if (a->inbox != b->inbox)
        return a->inbox ? -1 : 1;
    int c = cmp_ci(a->inf, b->inf);
    if (c)
        return c;
    c = strcmp(a->inf, b->inf);
    if (c)
        return c;
    if (a->models_line != b->models_line)
        return a->models_line < b->models_line ? -1 : 1;
    return strcmp(a->models_section ? a->models_section : "",
                  b->models_section ? b->models_section : "");
}

static int cand_cmp(const void *pa, const void *pb)
{
    const struct owu_driver_candidate *a = pa, *b = pb;
    int ga = status_group(a->status), gb = status_group(b->status);
    if (ga != gb)
        return ga - gb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    int v = owu_inf_driver_ver_cmp(&a->driver_ver, &b->driver_ver);
    if (v)
        return -v;   /* newer first */
    return fixed_order(a, b);
}

static void ver_text(const struct owu_inf_driver_ver *v, char *buf, size_t n, bool date)
{
    if (date)
        snprintf(buf, n, "%02u/%02u/%04u", v->month, v->day, v->year);
    else
        snprintf(buf, n, "%u.%u.%u.%u", v->version[0], v->version[1], v->version[2],
                 v->version[3]);
}

/* Why `a` comes before `b` (both usable), as "what decided". */
static void decided_by(const struct owu_driver_candidate *a, const struct owu_driver_candidate *b,
                       bool a_wins, char *buf, size_t n)
{
    char va[32], vb[32];
    if (a->rank != b->rank) {
        snprintf(buf, n, a_wins ? "lowest rank 0x%08X (next best 0x%08X, %s line %u)"
                                : "rank 0x%08X is worse than the winner's 0x%08X (%s line %u)",
                 a->rank, b->rank, b->inf, b->models_line);
    } else if (date_cmp(&a->driver_ver, &b->driver_ver) != 0) {
        ver_text(&a->driver_ver, va, sizeof va, true);
        ver_text(&b->driver_ver, vb, sizeof vb, true);
        snprintf(buf, n, a_wins ? "same rank 0x%08X as %s line %u; newer DriverVer date %s > %s"
                                : "same rank 0x%08X as the winner %s line %u; older DriverVer "
                                  "date %s < %s",
                 a->rank, b->inf, b->models_line, va, vb);
    } else if (owu_inf_driver_ver_cmp(&a->driver_ver, &b->driver_ver) != 0) {
        ver_text(&a->driver_ver, va, sizeof va, false);
        ver_text(&b->driver_ver, vb, sizeof vb, false);
        snprintf(buf, n, a_wins ? "same rank 0x%08X and date as %s line %u; higher DriverVer "
                                  "version %s > %s"
                                : "same rank 0x%08X and date as the winner %s line %u; lower "
                                  "DriverVer version %s < %s",
                 a->rank, b->inf, b->models_line, va, vb);
    } else {
        snprintf(buf, n, a_wins ? "same rank 0x%08X, date and version as %s line %u; first in "
                                  "the fixed order (in-box first, INF name, Models line)"
                                : "same rank 0x%08X, date and version as the winner %s line "
                                  "%u; after it in the fixed order (in-box first, INF name, "
                                  "Models line)",
                 a->rank, b->inf, b->models_line);
    }
}

static void explain(struct owu_driver_candidates *cs)
{
    if (!cs->num_usable)
        return;
    struct owu_driver_candidate *w = &cs->v[0];
    w->status = OWU_CAND_WINNER;
    if (cs->num_usable == 1)
        snprintf(w->reason, sizeof w->reason, "the only usable candidate (rank 0x%08X)", w->rank);
    else
        decided_by(w, &cs->v[1], true, w->reason, sizeof w->reason);
    for (size_t i = 1; i < cs->num_usable; i++) {
        cs->v[i].status = OWU_CAND_OUTRANKED;
        decided_by(&cs->v[i], w, false, cs->v[i].reason, sizeof cs->v[i].reason);
    }
}

void owu_driver_candidates_free(struct owu_driver_candidates *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free((char *)c->v[i].device_id);
    free(c->v);
    free(c);
}

int owu_driver_rank(const struct owu_driver_store *s, const struct owu_devnode *node,
                    struct owu_driver_candidates **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_driver_rank: NULL argument");
    *out = NULL;
    if (!s || !node)
        return owu_fail(err, OWU_E_INVAL, "owu_driver_rank: NULL argument");
    struct work w = {0};
    int rc = match_list(s, &node->hardware_ids, OWU_IDS_HARDWARE, &w);
    if (rc == OWU_OK)
        rc = match_list(s, &node->compatible_ids, OWU_IDS_COMPATIBLE, &w);
    for (size_t i = 0; rc == OWU_OK && i < w.pub.n; i++) {
        struct owu_driver_candidate *c = &w.pub.v[i];
        complete(s, node, c, w.keys_pkg[i], w.keys_line[i]);
        if (!(c->device_id = strdup(c->device_id)))
            rc = OWU_E_NOMEM;
    }
    free(w.keys_pkg);
    free(w.keys_line);
    struct owu_driver_candidates *cs = NULL;
    if (rc == OWU_OK && !(cs = malloc(sizeof *cs)))
        rc = OWU_E_NOMEM;
    if (rc < 0) {
        /* device_id of the entries not yet copied still point into the node: only the copied
         * prefix is freed. */
        for (size_t i = 0; i < w.pub.n; i++) {
            if (w.pub.v[i].package == NULL)
                break;
            free((char *)w.pub.v[i].device_id);
        }
        free(w.pub.v);
        return owu_fail(err, OWU_E_NOMEM, "driver ranking: out of memory");
    }
    *cs = w.pub;
    if (cs->n > 1)
        qsort(cs->v, cs->n, sizeof *cs->v, cand_cmp);
    cs->num_usable = 0;
    while (cs->num_usable < cs->n && status_group(cs->v[cs->num_usable].status) == 0)
        cs->num_usable++;
    explain(cs);
    *out = cs;
    return OWU_OK;
}

const struct owu_driver_candidate *owu_driver_winner(const struct owu_driver_candidates *c)
{
    return c && c->num_usable ? &c->v[0] : NULL;
}

static int set_str(char **dst, const char *src)
{
    char *v = NULL;
    if (src && !(v = strdup(src)))
        return OWU_E_NOMEM;
    free(*dst);
    *dst = v;
    return OWU_OK;
}

int owu_driver_apply(const struct owu_driver_store *s, struct owu_devnode *node,
                     const struct owu_driver_candidate *c, struct owu_inf_install **install,
                     owu_err *err)
{
    if (install)
        *install = NULL;
    if (!s || !node)
        return owu_fail(err, OWU_E_INVAL, "owu_driver_apply: NULL argument");
    if (!c) {
        set_str(&node->service, NULL);
        set_str(&node->inf, NULL);
        set_str(&node->inf_section, NULL);
        node->rank = OWU_RANK_NONE;
        return OWU_OK;
    }
    if (c->status != OWU_CAND_WINNER && c->status != OWU_CAND_OUTRANKED)
        return owu_fail(err, OWU_E_INVAL, "%s line %u cannot be installed: %s", c->inf,
                        c->models_line, c->reason);
    size_t pi = store_find_index(s, c->inf);
    if (pi == (size_t)-1 || &s->pkgs[pi]->pub != c->package)
        return owu_fail(err, OWU_E_INVAL, "%s is not a package of this driver store", c->inf);
    struct owu_inf_install *in = NULL;
    if (install) {
        int rc = owu_inf_get_install(s->pkgs[pi]->inf, c->install, &s->opt.target, &s->resolver,
                                     &in, err);
        if (rc < 0)
            return rc;
    }
    char *service = NULL, *inf = NULL, *section = NULL;
    if (set_str(&service, c->service) < 0 || set_str(&inf, c->inf) < 0 ||
        set_str(&section, c->install_section) < 0) {
        free(service);
        free(inf);
        free(section);
        owu_inf_install_free(in);
        return owu_fail(err, OWU_E_NOMEM, "driver selection: out of memory");
    }
    free(node->service);
    free(node->inf);
    free(node->inf_section);
    node->service = service;
    node->inf = inf;
    node->inf_section = section;
    node->rank = c->rank;
    if (install)
        *install = in;
    return OWU_OK;
}

int owu_driver_select(const struct owu_driver_store *s, struct owu_devnode *node,
                      struct owu_inf_install **install, owu_err *err)
{
    if (install)
        *install = NULL;
    struct owu_driver_candidates *cs = NULL;
    int rc = owu_driver_rank(s, node, &cs, err);
    if (rc < 0)
        return rc;
    const struct owu_driver_candidate *w = owu_driver_winner(cs);
    if (!w) {
        owu_driver_apply(s, node, NULL, NULL, NULL);
        const char *id = node->hardware_ids.n ? node->hardware_ids.v[0]
                         : node->compatible_ids.n ? node->compatible_ids.v[0]
                                                  : node->device_id;
        rc = owu_fail(err, OWU_E_NOTFOUND, "no driver package matches %s%s",
                      id ? id : "the device",
                      cs->n ? " (every candidate is excluded or unusable)" : "");
    } else {
        rc = owu_driver_apply(s, node, w, install, err);
    }
    owu_driver_candidates_free(cs);
    return rc;
}
