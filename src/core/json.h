/* A small JSON reader (DOM) and writer for profiles and --json output.
 * The reader takes untrusted text: nesting depth, string and number sizes are bounded,
 * every error says where (line:column) and what. */
#ifndef OWU_CORE_JSON_H
#define OWU_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openwinusb/error.h>

enum owu_json_type { OWU_JSON_NULL, OWU_JSON_BOOL, OWU_JSON_NUMBER, OWU_JSON_STRING,
                     OWU_JSON_ARRAY, OWU_JSON_OBJECT };

struct owu_json {
    enum owu_json_type type;
    bool boolean;
    double number;
    bool is_integer;          /* the text was an integer that fits int64 */
    int64_t integer;
    char *string;             /* UTF-8, NUL-terminated (embedded NULs rejected) */
    size_t string_len;
    struct owu_json **items;  /* array elements or object values */
    char **keys;              /* object keys (same count as items) */
    size_t count;
};

#define OWU_JSON_MAX_DEPTH 64
/* Reader limits (untrusted input): whole text, one string literal as written (bytes between
 * the quotes), one number literal, and the number of values (bounds memory to ~100 MiB). */
#define OWU_JSON_MAX_TEXT ((size_t)64 << 20)
#define OWU_JSON_MAX_STRING ((size_t)4 << 20)
#define OWU_JSON_MAX_NUMBER 100
#define OWU_JSON_MAX_VALUES ((size_t)1 << 20)

/* Parses one JSON text (RFC 8259). Strict: no comments, no trailing commas, no leading
 * zeros, no NaN/Infinity, strings must be valid UTF-8 without raw control characters,
 * \u escapes must pair surrogates and must not encode NUL, duplicate keys in one object
 * are rejected. One leading UTF-8 byte order mark is skipped (RFC 8259 allows this).
 * Errors are OWU_E_PARSE with "line L, column C: what" (columns count characters, from 1).
 * *out is owned by the caller (owu_json_free). */
int owu_json_parse(const char *text, size_t len, struct owu_json **out, owu_err *err);
void owu_json_free(struct owu_json *v);
/* Object member by key (first match), or NULL. */
const struct owu_json *owu_json_get(const struct owu_json *obj, const char *key);
/* "null", "boolean", "number", "string", "array", "object" (for messages). */
const char *owu_json_type_name(enum owu_json_type type);

/* Writer: streams to a FILE with indentation and correct commas. Strings are written as
 * valid UTF-8 (invalid bytes become U+FFFD) with control characters escaped.
 * Nesting deeper than OWU_JSON_MAX_DEPTH sets `overflow` (the output is then not valid). */
struct owu_json_writer {
    FILE *f;
    int depth;
    bool need_comma[OWU_JSON_MAX_DEPTH];
    bool after_key;
    bool pretty;
    bool overflow;
};

void owu_jw_init(struct owu_json_writer *w, FILE *f, bool pretty);
void owu_jw_begin_object(struct owu_json_writer *w);
void owu_jw_end_object(struct owu_json_writer *w);
void owu_jw_begin_array(struct owu_json_writer *w);
void owu_jw_end_array(struct owu_json_writer *w);
void owu_jw_key(struct owu_json_writer *w, const char *key);
void owu_jw_string(struct owu_json_writer *w, const char *s);   /* NULL writes null */
void owu_jw_int(struct owu_json_writer *w, long long v);
void owu_jw_bool(struct owu_json_writer *w, bool v);
void owu_jw_null(struct owu_json_writer *w);
/* Bytes as a hex string "12 01 00 02" (spaces between bytes). */
void owu_jw_hex(struct owu_json_writer *w, const uint8_t *data, size_t len);
void owu_jw_finish(struct owu_json_writer *w);   /* trailing newline */

/* Parses "12 01 00 02" / "12010002" (spaces optional between bytes) into a new buffer.
 * Spaces and tabs may separate bytes but not split one; upper or lower case. Errors are
 * OWU_E_PARSE ("odd number of hex digits", "invalid character 'x' at offset 4").
 * Empty input gives *out = NULL, *out_len = 0. The caller frees *out. */
int owu_hex_decode(const char *s, uint8_t **out, size_t *out_len, owu_err *err);

#endif
