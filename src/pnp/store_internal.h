/* Private to the driver store (src/pnp/store*.c) and driver ranking (src/pnp/rank.c). */
#ifndef OWU_PNP_STORE_INTERNAL_H
#define OWU_PNP_STORE_INTERNAL_H

#include <openwinusb/driverstore.h>

#include <stddef.h>
#include <stdint.h>

/* One distinct DDInstall name of a package, resolved once for the store's target. */
struct store_install {
    const char *name;               /* as the first Models line using it writes it */
    struct owu_inf_install *inst;   /* NULL when it does not resolve */
    char *error;                    /* why not (malloc'd), else NULL */
};

struct store_pkg {
    struct owu_driver_package pub;
    char *name;
    char *path;
    struct owu_inf *inf;
    bool sig_fixed;                 /* signature given (in-box, add_mem), not from the policy */
    /* Derived for the store's target; rebuilt by store_reindex. */
    struct owu_inf_models *models;
    struct store_install *installs;
    size_t num_installs;
    size_t *line_install;           /* per Models line: index into installs */
};

/* Where an ID occurs in the Models lines: package, line, and the position on the line. */
struct store_posting {
    uint32_t pkg;
    uint32_t line;
    uint16_t inf_list;              /* enum owu_id_list */
    uint16_t inf_pos;
};

struct store_slot {
    char *key;                      /* ID folded to lower case (ASCII) */
    uint32_t hash;
    struct store_posting *v;
    size_t n, cap;
};

struct owu_driver_store {
    struct owu_driver_store_options opt;
    char *dir;                      /* user store directory, NULL when none */
    struct store_pkg **pkgs;        /* in-box first, then others, each by name */
    size_t num_pkgs, cap_pkgs;
    owu_strlist load_warnings;      /* directory scan */
    owu_strlist index_warnings;     /* DDInstall resolution; rebuilt with the index */
    struct owu_inf_resolver resolver;
    struct store_slot *slots;       /* open addressing, power-of-two size */
    size_t num_slots, used_slots;
};

/* Rebuilds models, installs and the ID index of every package (after open, add, remove). */
int store_reindex(struct owu_driver_store *s, owu_err *err);

/* Package bookkeeping shared by store.c and store_dir.c. insert takes ownership of p
 * (freed on failure too) and keeps the order; drop removes and frees the i-th package. */
int store_insert_pkg(struct owu_driver_store *s, struct store_pkg *p, owu_err *err);
void store_drop_pkg(struct owu_driver_store *s, size_t i);
void store_pkg_free(struct store_pkg *p);
struct store_pkg *store_pkg_new(const char *name, const char *path, struct owu_inf *inf,
                                bool inbox, enum owu_pkg_signature sig);
/* Index of the package named `name` (case-insensitive), or (size_t)-1. */
size_t store_find_index(const struct owu_driver_store *s, const char *name);
/* Whether an in-box package has this name (case-insensitive). */
bool store_is_inbox_name(const char *name);

/* Looks an ID up in the index (case-insensitive); NULL when no Models line names it. */
const struct store_slot *store_lookup(const struct owu_driver_store *s, const char *id);

/* The user store directory: scanning at open (store_dir.c). */
int store_load_dir(struct owu_driver_store *s, owu_err *err);

#endif
