/* Device Parameters store internals: the in-memory database (registry_db.c) and its text
 * file format (registry_format.c). Nothing here locks: src/pnp/registry.c serialises. */
#ifndef OWU_PNP_REGISTRY_INTERNAL_H
#define OWU_PNP_REGISTRY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>
#include <openwinusb/pnp.h>
#include <openwinusb/registry.h>

/* The first line of a store file, and the version this code writes and reads. */
#define OWU_REGDB_MAGIC "openwinusb-registry"
#define OWU_REGDB_VERSION 1u
/* Length of the hex MS OS properties fingerprint. */
#define OWU_REGDB_FP_LEN 40u

struct owu_regval {
    char *name;
    uint32_t type;
    uint8_t *data;      /* never NULL */
    size_t len;
};

struct owu_regkey {
    char *id;           /* spelling of the first creation */
    char *driver;       /* install record: driver tag last installed; NULL = never */
    char *msos;         /* fingerprint of the MS OS properties last written; NULL = none */
    struct owu_regval *v;   /* in the order first set */
    size_t n, cap;
};

struct owu_regdb {
    struct owu_regkey *keys;    /* sorted by id, case-insensitively */
    size_t n, cap;
};

void owu_regdb_init(struct owu_regdb *db);
void owu_regdb_clear(struct owu_regdb *db);
/* Moves src into dst (dst cleared first); src is left empty. */
void owu_regdb_move(struct owu_regdb *dst, struct owu_regdb *src);

struct owu_regkey *owu_regdb_find(const struct owu_regdb *db, const char *id);
/* Finds or (create) adds a key; the ID is checked. OWU_E_NOTFOUND when absent and not
 * created; OWU_E_INVAL when the store already holds OWU_REG_MAX_KEYS keys. */
int owu_regdb_key(struct owu_regdb *db, const char *id, bool create, struct owu_regkey **out,
                  owu_err *err);
bool owu_regdb_delete_key(struct owu_regdb *db, const char *id);

/* Sets the install record fields (NULL clears); OWU_E_NOMEM only. */
int owu_regkey_set_driver(struct owu_regkey *k, const char *driver);
int owu_regkey_set_msos(struct owu_regkey *k, const char *fp);

struct owu_regval *owu_regkey_find(const struct owu_regkey *k, const char *name);
/* Checks name and value (owu_registry_check_value), canonicalises an empty MULTI_SZ,
 * then creates or replaces. Messages name the value. */
int owu_regkey_set(struct owu_regkey *k, const char *name, uint32_t type, const uint8_t *data,
                   size_t len, owu_err *err);
bool owu_regkey_delete(struct owu_regkey *k, const char *name);

/* s made safe for a message: control bytes, DEL and bytes outside valid UTF-8 become '?',
 * and text beyond size - 4 bytes becomes "...". Returns buf. */
const char *owu_regdb_printable(const char *s, char *buf, size_t size);
#define OWU_REGDB_PRINTABLE_SIZE 80

/* OWU_OK when a value name is usable: at most OWU_REG_MAX_NAME_LEN bytes. */
int owu_regdb_check_name(const char *name, owu_err *err);

/* What parsing a store file found wrong. Each problem is one damaged line or a file-level
 * fault; up to OWU_REG_MAX_WARNINGS messages are kept, the rest only counted. */
struct owu_regdb_report {
    owu_strlist warnings;
    size_t problems;
};

/* Parses a store file's bytes into db (which must be empty), tolerantly: every line that
 * is well formed is loaded, every other line or file-level fault (no header, no end line,
 * unterminated last line, oversized file, limits) is one problem in rep, named by
 * "fname:LINE:". Returns OWU_OK (perhaps with problems), OWU_E_NOTSUP for a file of a
 * newer version (db left empty), OWU_E_NOMEM. Never reads outside text[0..len). */
int owu_regdb_parse(const char *text, size_t len, const char *fname, struct owu_regdb *db,
                    struct owu_regdb_report *rep, owu_err *err);
void owu_regdb_report_clear(struct owu_regdb_report *rep);

/* Writes the file text for db (new buffer, NUL-terminated; *len excludes the NUL). */
int owu_regdb_format(const struct owu_regdb *db, char **out, size_t *len, owu_err *err);

/* Store transactions for modules that change several values in one write
 * (registry_apply.c). write_begin takes the store's mutex and, for a file store, the
 * exclusive file lock, re-reads the file if another process changed it, and returns the
 * database to change (NULL with err set on failure, nothing held). write_end writes the
 * file when `changed` (or when the loaded file was damaged) and rc is OWU_OK, releases
 * both locks and returns rc, or the write's error. A failed rc discards the file store's
 * in-memory changes (the next access re-reads the file). */
struct owu_regdb *owu_registry_write_begin(struct owu_registry *reg, owu_err *err);
int owu_registry_write_end(struct owu_registry *reg, int rc, bool changed, owu_err *err);

#endif
