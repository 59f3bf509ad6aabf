/* openwinusb: the driver store and driver selection (ranking).
 *
 * The store holds driver packages (INF files): the in-box packages compiled into the library
 * (src/pnp/inbox/NAME.inf, trusted like Windows' in-box drivers) and the user's packages, one
 * INF per file in a directory (docs/driver-store.md):
 *     $OPENWINUSB_DRIVER_STORE, else $XDG_DATA_HOME/openwinusb/drivers,
 *     else ~/.local/share/openwinusb/drivers.
 * A user INF that does not load is reported in the store's warnings and skipped; it never
 * fails the store.
 *
 * Signatures (docs/driver-store.md, "Signature scores"): openwinusb verifies no catalog.
 * In-box packages are trusted. A user package counts as signed by a trusted publisher when
 * it names a catalog for the target (CatalogFile.NT<arch>, .NT or undecorated) — on Windows
 * only signed packages enter the driver store — and as unsigned otherwise; the policy is an
 * option (OPENWINUSB_DRIVER_TRUST=catalog|none|all). Trusted and signed packages score
 * alike (AllSignersEqual); unsigned ones score worse than any signed match.
 *
 * Driver selection follows shared/reference/pnp-ids.md §2: every Models line (of the
 * Models sections [Manufacturer] selects for the store's target) whose hardware ID or
 * compatible IDs equal, case-insensitively, one of the node's hardware or compatible IDs is
 * a candidate, unless its DDInstall section's ExcludeID names the device. Its rank is
 * 0xSSGGTHHH (signature, feature and identifier scores; lower is better); ties go to the
 * newer DriverVer date, then the higher DriverVer version, then a fixed order (in-box
 * before user packages, then INF name, then Models line).
 *
 * Ownership: a store owns its packages; every string a candidate points to belongs to the
 * store (valid until the store is freed or changed by add/remove), except device_id, which
 * the candidate list owns. Reading a store (ranking, lookups) from several threads at once is
 * safe; add/remove/free need exclusive access.
 */
#ifndef OPENWINUSB_DRIVERSTORE_H
#define OPENWINUSB_DRIVERSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>
#include <openwinusb/inf.h>
#include <openwinusb/pnp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * Scores
 */

/* The signature score: the SS byte of a rank (docs/driver-store.md, "Signature scores").
 * Trusted and signed packages score 00 in the rank (Windows logs in-box ranks as 00FF3101
 * and the signer apart; AllSignersEqual scores every valid signature alike); unsigned
 * packages score the SIGNERSCORE_UNSIGNED / SIGNERSCORE_W9X_SUSPECT boundaries of
 * setupapi.h, by how their DDInstall section was decorated. */
#define OWU_SIG_SCORE_TRUSTED 0x00u       /* in-box and signed packages */
#define OWU_SIG_SCORE_UNSIGNED_NT 0x80u   /* unsigned; DDInstall resolved as .NT / .NT<arch> */
#define OWU_SIG_SCORE_UNSIGNED 0xC0u      /* unsigned; undecorated DDInstall */
#define OWU_SIG_SCORE_UNKNOWN 0xFFu       /* DDInstall section not found */

/* The "Signer Score" setupapi logs beside the rank (informational; not part of the rank). */
#define OWU_SIGNER_SCORE_INBOX 0x0D000003u
#define OWU_SIGNER_SCORE_AUTHENTICODE 0x0F000000u
#define OWU_SIGNER_SCORE_UNSIGNED 0x80000000u

#define OWU_FEATURE_SCORE_DEFAULT 0xFFu

/* node->rank of a node without a driver. */
#define OWU_RANK_NONE 0xFFFFFFFFu

/* ---------------------------------------------------------------------------------------
 * The store
 */

#define OWU_DRIVER_STORE_ENV "OPENWINUSB_DRIVER_STORE"
#define OWU_DRIVER_TRUST_ENV "OPENWINUSB_DRIVER_TRUST"
/* User store files read at most (further .inf files are reported and skipped). */
#define OWU_DRIVER_STORE_MAX_PACKAGES 4096u

struct owu_driver_store;

enum owu_pkg_signature {
    OWU_PKG_TRUSTED,     /* in-box (signer score INBOX) */
    OWU_PKG_SIGNED,      /* treated as signed by a trusted publisher (AUTHENTICODE) */
    OWU_PKG_UNSIGNED,
};

/* Which user packages count as signed. */
enum owu_driver_trust {
    OWU_TRUST_CATALOG,   /* those naming a catalog file for the target (default) */
    OWU_TRUST_NONE,      /* none: every user package is unsigned */
    OWU_TRUST_ALL,       /* all: every user package is signed */
};

/* "catalog", "none", "all" <-> the enum; parse returns OWU_E_INVAL for anything else. */
const char *owu_driver_trust_name(enum owu_driver_trust t);
int owu_driver_trust_parse(const char *s, enum owu_driver_trust *out);

struct owu_driver_store_options {
    const char *dir;               /* user store directory; NULL: owu_driver_store_default_dir */
    bool no_user_store;            /* in-box packages only */
    struct owu_inf_target target;  /* architecture and OS the Models/DDInstall choice is for;
                                      default amd64 Windows 10 (owu_inf_target_default) */
    uint16_t langid;               /* [Strings.LLLL] choice; 0 = 0x0409 */
    enum owu_driver_trust trust;   /* user packages' signature policy */
};

/* amd64 Windows 10, LANGID 0x0409, the directory from the environment, trust from
 * $OPENWINUSB_DRIVER_TRUST when it holds a valid name (else catalog; the store then warns).
 * Callers start from these defaults and change fields. */
void owu_driver_store_options_default(struct owu_driver_store_options *opt);

/* The user store directory the environment names ($OPENWINUSB_DRIVER_STORE, else
 * $XDG_DATA_HOME/openwinusb/drivers when XDG_DATA_HOME is absolute, else
 * $HOME/.local/share/openwinusb/drivers, HOME falling back to the password database).
 * *out is malloc'd. OWU_E_NOTFOUND when none can be determined. */
int owu_driver_store_default_dir(char **out, owu_err *err);

/* One package, read-only. */
struct owu_driver_package {
    const char *name;              /* file name, "usbser.inf" */
    const char *path;              /* file in the user store; NULL for in-box / in-memory */
    bool inbox;
    enum owu_pkg_signature signature;
    const char *catalog;           /* catalog file named for the target, NULL when none */
    const char *provider;          /* [Version] values after substitution; NULL when absent */
    const char *class_name;
    const char *class_guid;
    struct owu_inf_driver_ver driver_ver;  /* [Version] DriverVer */
    size_t num_models;             /* Models lines for the store's target */
    const struct owu_inf *inf;
    const struct owu_inf_models *models;   /* for the store's target */
};

/* Loads the in-box packages and the user store (a missing directory is an empty store).
 * opt may be NULL (defaults). Fails only on bad options, an in-box package that does not
 * load (a build defect) or out of memory: unreadable or corrupt user INFs become warnings. */
int owu_driver_store_open(const struct owu_driver_store_options *opt,
                          struct owu_driver_store **out, owu_err *err);
void owu_driver_store_free(struct owu_driver_store *s);

/* The user store directory, or NULL when the store has none. */
const char *owu_driver_store_dir(const struct owu_driver_store *s);
const struct owu_inf_target *owu_driver_store_target(const struct owu_driver_store *s);

/* Packages: in-box ones first, then the others, each group ordered by name. */
size_t owu_driver_store_count(const struct owu_driver_store *s);
const struct owu_driver_package *owu_driver_store_at(const struct owu_driver_store *s, size_t i);
/* By file name, case-insensitive; NULL when absent. */
const struct owu_driver_package *owu_driver_store_find(const struct owu_driver_store *s,
                                                       const char *name);

/* Problems met while loading and indexing: "name.inf: message" (corrupt user INFs, skipped
 * files, DDInstall sections that do not resolve). */
size_t owu_driver_store_warning_count(const struct owu_driver_store *s);
const char *owu_driver_store_warning(const struct owu_driver_store *s, size_t i);

/* The Include= resolver over every package of the store (what owu_inf_get_install needs to
 * expand Needs=WINUSB.NT from winusb.inf). Valid as long as the store. */
const struct owu_inf_resolver *owu_driver_store_resolver(const struct owu_driver_store *s);

/* Adds a package held in memory to this store object only (nothing is written to disk),
 * with the given signature: for tests, benchmarks and callers with their own INF sources.
 * The name must be free (OWU_E_BUSY otherwise); the INF must load (its error otherwise). */
int owu_driver_store_add_mem(struct owu_driver_store *s, const char *name, const void *data,
                             size_t len, enum owu_pkg_signature sig, owu_err *err);

enum {
    OWU_STORE_REPLACE = 1u << 0,   /* add: replace a user package of the same name */
};

/* Copies an INF into the user store under its own file name after validating it: the name
 * ends in ".inf", the file loads, and [Manufacturer] gives at least one Models line for some
 * architecture. Errors: OWU_E_PARSE (not a valid INF, no Models line), OWU_E_BUSY (a user
 * package of that name exists and OWU_STORE_REPLACE was not given), OWU_E_ACCESS (the name
 * is an in-box package's), OWU_E_INVAL (bad name, store without a directory), OWU_E_IO.
 * On success the store object includes the package; *added (may be NULL) points to it. */
int owu_driver_store_add_file(struct owu_driver_store *s, const char *path, unsigned flags,
                              const struct owu_driver_package **added, owu_err *err);

/* Deletes a user package by file name (case-insensitive; ".inf" may be left out) — also a
 * file that was skipped as corrupt. OWU_E_NOTFOUND when there is none, OWU_E_ACCESS for an
 * in-box package. */
int owu_driver_store_remove(struct owu_driver_store *s, const char *name, owu_err *err);

/* ---------------------------------------------------------------------------------------
 * Ranking
 */

enum owu_id_list {
    OWU_IDS_HARDWARE,      /* device: hardware IDs; INF line: its hardware ID (first ID) */
    OWU_IDS_COMPATIBLE,    /* device: compatible IDs; INF line: the IDs after the first */
};

enum owu_candidate_status {
    OWU_CAND_WINNER,       /* the first usable candidate */
    OWU_CAND_OUTRANKED,    /* usable, lost to the winner */
    OWU_CAND_UNUSABLE,     /* its DDInstall section does not resolve for the target */
    OWU_CAND_EXCLUDED,     /* the DDInstall section's ExcludeID names the device */
};

/* One Models line that matched the device, with its best match. */
struct owu_driver_candidate {
    const struct owu_driver_package *package;
    const char *inf;               /* package name */
    bool inbox;
    const char *manufacturer;
    const char *models_section;    /* "Generic.NTamd64" */
    unsigned models_line;
    const char *description;
    const char *install;           /* DDInstall name as written on the line */
    const char *install_section;   /* resolved for the target ("WINUSB.NT"), NULL if none */

    const char *device_id;         /* the device's ID that matched (owned by the list) */
    enum owu_id_list device_list;
    unsigned device_pos;           /* 0-based position in that list */
    const char *inf_id;            /* the line's ID that matched, as the INF spells it */
    enum owu_id_list inf_list;
    unsigned inf_pos;              /* 0 for the hardware ID; k for compatible ID #k (0-based) */

    uint32_t rank;                 /* 0xSSGGTHHH */
    uint8_t signature_score;       /* SS */
    uint8_t feature_score;         /* GG */
    uint16_t identifier_score;     /* THHH */
    uint32_t signer_score;         /* OWU_SIGNER_SCORE_* (informational) */
    struct owu_inf_driver_ver driver_ver;  /* DDInstall DriverVer, else [Version]'s */

    /* Function driver: the AddService with flag 0x2 of the resolved .Services section;
     * "" for a NULL driver; NULL when the package installs no function driver. */
    const char *service;

    enum owu_candidate_status status;
    const char *exclude_id;        /* OWU_CAND_EXCLUDED: the ExcludeID entry that matched */
    char reason[320];              /* why it won or lost, one line */
};

/* Candidates, best first: usable ones by rank and tie-breaks (v[0] is the winner when
 * num_usable > 0), then unusable ones, then excluded ones. */
struct owu_driver_candidates {
    struct owu_driver_candidate *v;
    size_t n;
    size_t num_usable;
    void *priv_;
};

/* Ranks every candidate of the node (its hardware_ids and compatible_ids). A node without a
 * match gets an empty list (n = 0), not an error. */
int owu_driver_rank(const struct owu_driver_store *s, const struct owu_devnode *node,
                    struct owu_driver_candidates **out, owu_err *err);
void owu_driver_candidates_free(struct owu_driver_candidates *c);

/* The winner, or NULL when there is no usable candidate. */
const struct owu_driver_candidate *owu_driver_winner(const struct owu_driver_candidates *c);

/* Records candidate c as the node's driver: node->service (NULL when the package installs
 * no function driver, "" for a NULL driver), node->inf, node->inf_section, node->rank.
 * c == NULL clears them (rank OWU_RANK_NONE). When install is not NULL it receives the
 * resolved DDInstall (caller frees with owu_inf_install_free): its hw_addreg go to Device
 * Parameters, its interfaces to the device interfaces. c must come from a ranking on s. */
int owu_driver_apply(const struct owu_driver_store *s, struct owu_devnode *node,
                     const struct owu_driver_candidate *c, struct owu_inf_install **install,
                     owu_err *err);

/* owu_driver_rank + owu_driver_apply of the winner. Without a usable candidate the node's
 * driver fields are cleared and OWU_E_NOTFOUND is returned ("no driver package matches
 * ..."). install may be NULL. */
int owu_driver_select(const struct owu_driver_store *s, struct owu_devnode *node,
                      struct owu_inf_install **install, owu_err *err);

/* Names for messages and JSON: "hardware" / "compatible"; "winner", "outranked",
 * "unusable", "excluded". */
const char *owu_id_list_name(enum owu_id_list l);
const char *owu_candidate_status_name(enum owu_candidate_status st);

#ifdef __cplusplus
}
#endif
#endif
