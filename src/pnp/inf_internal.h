/* Private to the INF parser (src/pnp/inf_*.c): the loaded-INF layout and the helpers the
 * lexer, the parser, the string substitution and the query layer share. */
#ifndef OWU_PNP_INF_INTERNAL_H
#define OWU_PNP_INF_INTERNAL_H

#include <openwinusb/inf.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bump allocator: everything an INF (or a query result) holds is freed at once. */
struct owu_inf_arena_block;
struct owu_inf_arena {
    struct owu_inf_arena_block *head;
};

void *owu_inf_arena_alloc(struct owu_inf_arena *a, size_t n);
char *owu_inf_arena_strndup(struct owu_inf_arena *a, const char *s, size_t n);
char *owu_inf_arena_strdup(struct owu_inf_arena *a, const char *s);
void owu_inf_arena_free(struct owu_inf_arena *a);

/* A growable list of strings kept in an arena (warnings, ID lists). */
struct owu_inf_strvec {
    const char **v;
    size_t n, cap;
};
int owu_inf_strvec_push(struct owu_inf_strvec *sv, const char *s);
void owu_inf_strvec_free(struct owu_inf_strvec *sv);

struct owu_inf_section {
    const char *name;
    unsigned line;
    bool is_strings;                    /* [Strings] or [Strings.xxxx]: never substituted */
    struct owu_inf_entry *entries;
    size_t num_entries, cap_entries;
};

struct owu_inf_strmap_slot {
    const char *key;
    const char *value;
};

struct owu_inf {
    char *name;
    struct owu_inf_options opt;
    struct owu_inf_arena arena;

    struct owu_inf_section **sections;  /* file order of first appearance */
    size_t num_sections, cap_sections;
    size_t *index;                      /* open addressing: section number + 1, 0 = empty */
    size_t index_cap;
    struct owu_inf_section *cur;        /* section the lexer is filling */

    struct owu_inf_strvec warnings;
    size_t warnings_dropped;

    const struct owu_inf_section *strings;  /* chosen Strings section */
    struct owu_inf_strmap_slot *strmap;     /* its keys, open addressing */
    size_t strmap_cap;

    struct owu_inf_version version;
};

/* Case-insensitive ASCII helpers (INF names are compared this way everywhere). */
int owu_inf_strcasecmp(const char *a, const char *b);
size_t owu_inf_hash_ci(const char *s);
size_t owu_inf_hash_ci_n(const char *s, size_t n);
bool owu_inf_ends_with_ci(const char *s, const char *suffix);
/* Number of characters (code points) in UTF-8 text. */
size_t owu_inf_utf8_chars(const char *s, size_t len);

/* Formats "name:line: msg" (line 0: "name: msg") into the INF's warning list. */
void owu_inf_warn(struct owu_inf *inf, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void owu_inf_vwarn(struct owu_inf *inf, unsigned line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Lexer (inf_lexer.c). decode turns the stored bytes into NUL-terminated UTF-8 without
 * NUL characters (malloc'd, *out_len bytes before the terminator); lex feeds sections and
 * entries to the parser below. */
int owu_inf_decode(struct owu_inf *inf, const uint8_t *data, size_t len, char **out,
                   size_t *out_len, owu_err *err);
int owu_inf_lex(struct owu_inf *inf, const char *text, size_t len, owu_err *err);

/* Parser (inf_parse.c), called by the lexer. `fields` strings are copied. */
int owu_inf_begin_section(struct owu_inf *inf, const char *name, size_t name_len, unsigned line,
                          owu_err *err);
bool owu_inf_in_section(const struct owu_inf *inf);
int owu_inf_add_entry(struct owu_inf *inf, const char *key, size_t key_len,
                      const char *const *fields, const size_t *lens, size_t n, unsigned line,
                      owu_err *err);

/* Strings (inf_strings.c): picks the Strings section for opt.langid and substitutes every
 * entry outside the Strings sections. */
int owu_inf_apply_strings(struct owu_inf *inf, owu_err *err);

/* Query helpers (inf_query.c): [Version] checks at load time. */
int owu_inf_read_version(struct owu_inf *inf, owu_err *err);

/* Reads a DriverVer entry (date, version). Invalid parts become zero; then the function
 * returns false and `why` says what was wrong. */
bool owu_inf_parse_driver_ver(const struct owu_inf_entry *e, struct owu_inf_driver_ver *dv,
                              char *why, size_t why_len);

/* Arena copy of s without blanks at either end (NULL when out of memory). */
char *owu_inf_arena_trimdup(struct owu_inf_arena *a, const char *s);

/* Number syntax shared by flags, FeatureScore, DWORDs: decimal, or hex after 0x.
 * Returns false for anything else or a value above max. */
bool owu_inf_parse_number(const char *s, uint64_t max, uint64_t *out);

#endif
