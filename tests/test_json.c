/* JSON reader, writer and hex codec. */
#include "core/json.h"

#include <locale.h>

#include "check.h"

static struct owu_json *parse_ok(const char *text)
{
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_json *v = NULL;
    int rc = owu_json_parse(text, strlen(text), &v, err);
    CHECK_OK(rc, err);
    return v;
}

/* Parses text that must fail; returns the message for CHECK_CONTAINS. */
static const char *parse_fail_len(const char *text, size_t len)
{
    static owu_err err;
    memset(&err, 0, sizeof err);
    struct owu_json *v = (struct owu_json *)1;
    int rc = owu_json_parse(text, len, &v, &err);
    CHECK_INT(rc, OWU_E_PARSE);
    CHECK_INT(err.code, OWU_E_PARSE);
    CHECK(v == NULL);
    return err.msg;
}

static const char *parse_fail(const char *text) { return parse_fail_len(text, strlen(text)); }

static void test_scalars(void)
{
    struct owu_json *v = parse_ok("  true ");
    CHECK(v && v->type == OWU_JSON_BOOL && v->boolean);
    owu_json_free(v);
    v = parse_ok("false");
    CHECK(v && v->type == OWU_JSON_BOOL && !v->boolean);
    owu_json_free(v);
    v = parse_ok("\n\tnull\r\n");
    CHECK(v && v->type == OWU_JSON_NULL);
    owu_json_free(v);
    v = parse_ok("\"hi\"");
    CHECK(v && v->type == OWU_JSON_STRING);
    CHECK_STR(v->string, "hi");
    CHECK_INT(v->string_len, 2);
    owu_json_free(v);
}

static void test_numbers(void)
{
    struct owu_json *v = parse_ok("0");
    CHECK(v && v->is_integer && v->integer == 0);
    owu_json_free(v);
    v = parse_ok("-42");
    CHECK(v && v->is_integer && v->integer == -42 && v->number == -42.0);
    owu_json_free(v);
    v = parse_ok("9223372036854775807");
    CHECK(v && v->is_integer && v->integer == INT64_MAX);
    owu_json_free(v);
    v = parse_ok("-9223372036854775808");
    CHECK(v && v->is_integer && v->integer == INT64_MIN);
    owu_json_free(v);
    v = parse_ok("9223372036854775808");   /* does not fit int64: a double */
    CHECK(v && !v->is_integer && v->number > 9.2e18);
    owu_json_free(v);
    v = parse_ok("1.5");
    CHECK(v && !v->is_integer && v->number == 1.5);
    owu_json_free(v);
    v = parse_ok("-0.25e+2");
    CHECK(v && !v->is_integer && v->number == -25.0);
    owu_json_free(v);
    v = parse_ok("1E3");
    CHECK(v && !v->is_integer && v->number == 1000.0);
    owu_json_free(v);
    v = parse_ok("1e-400");   /* underflows to 0: allowed */
    CHECK(v && v->number == 0.0);
    owu_json_free(v);

    CHECK_CONTAINS(parse_fail("01"), "leading zeros");
    CHECK_CONTAINS(parse_fail("-"), "expected a digit, found end of input");
    CHECK_CONTAINS(parse_fail("1."), "expected a digit after '.'");
    CHECK_CONTAINS(parse_fail("1e"), "exponent");
    CHECK_CONTAINS(parse_fail("+1"), "expected a value, found '+'");
    CHECK_CONTAINS(parse_fail(".5"), "expected a value, found '.'");
    CHECK_CONTAINS(parse_fail("1e999"), "out of range");
    CHECK_CONTAINS(parse_fail("NaN"), "expected a value");
    CHECK_CONTAINS(parse_fail("Infinity"), "expected a value");
    CHECK_CONTAINS(parse_fail("0x10"), "after the end of the JSON value");
    char big[200];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_CONTAINS(parse_fail(big), "number longer than");
}

static void test_numbers_ignore_locale(void)
{
    /* A locale with ',' as decimal separator must not change how "1.5" is read. */
    const char *names[] = { "de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", NULL };
    bool set = false;
    for (int i = 0; names[i] && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]) != NULL;
    if (!set)
        printf("     (no locale with a decimal comma installed; checking the C locale only)\n");
    struct owu_json *v = parse_ok("[1.5, 2.25e1]");
    CHECK(v && v->count == 2 && v->items[0]->number == 1.5 && v->items[1]->number == 22.5);
    owu_json_free(v);
    setlocale(LC_NUMERIC, "C");
}

static void test_strings_escapes(void)
{
    struct owu_json *v = parse_ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
    CHECK(v && v->string_len == 12);
    if (v)
        CHECK(memcmp(v->string, "a\"b\\c/d\b\f\n\r\t", 13) == 0);
    owu_json_free(v);
    v = parse_ok("\"\\u00e9\\u20AC\"");   /* e-acute, euro sign */
    CHECK(v && strcmp(v->string, "\xC3\xA9\xE2\x82\xAC") == 0);
    owu_json_free(v);
    v = parse_ok("\"\\uD83D\\uDE00\"");   /* U+1F600 via a surrogate pair */
    CHECK(v && strcmp(v->string, "\xF0\x9F\x98\x80") == 0 && v->string_len == 4);
    owu_json_free(v);
    v = parse_ok("\"\xF0\x9F\x98\x80 raw \xE2\x82\xAC\"");
    CHECK(v && v->string_len == 12);
    owu_json_free(v);

    CHECK_CONTAINS(parse_fail("\"\\uD83D\""), "unpaired surrogate \\uD83D");
    CHECK_CONTAINS(parse_fail("\"\\uD83Dx\""), "unpaired surrogate");
    CHECK_CONTAINS(parse_fail("\"\\uD83D\\u0041\""), "unpaired surrogate");
    CHECK_CONTAINS(parse_fail("\"\\uDE00\""), "unpaired surrogate \\uDE00");
    CHECK_CONTAINS(parse_fail("\"\\u0000\""), "\\u0000 is not allowed");
    CHECK_CONTAINS(parse_fail("\"\\u12\""), "four hex digits");
    CHECK_CONTAINS(parse_fail("\"\\u12"), "unterminated string");
    CHECK_CONTAINS(parse_fail("\"\\x\""), "invalid escape \\x");
    CHECK_CONTAINS(parse_fail("\"\\\x01\""), "backslash followed by byte 0x01");
    CHECK_CONTAINS(parse_fail("\"\\"), "unterminated string");
    CHECK_CONTAINS(parse_fail("\"abc"), "unterminated string");
    CHECK_CONTAINS(parse_fail("\"a\tb\""), "control character U+0009");
    CHECK_CONTAINS(parse_fail("\"a\nb\""), "control character U+000A");
    CHECK_CONTAINS(parse_fail_len("\"a\0b\"", 5), "control character U+0000");
    CHECK_CONTAINS(parse_fail("'single'"), "expected a value, found '''");
}

static void test_utf8_validation(void)
{
    static const char *bad[] = {
        "\"\x80\"",             /* lone continuation byte */
        "\"\xC0\xAF\"",         /* overlong '/' */
        "\"\xC1\xBF\"",         /* overlong */
        "\"\xE0\x80\xAF\"",     /* overlong 3-byte */
        "\"\xED\xA0\x80\"",     /* UTF-8-encoded surrogate U+D800 */
        "\"\xF0\x80\x80\xAF\"", /* overlong 4-byte */
        "\"\xF4\x90\x80\x80\"", /* above U+10FFFF */
        "\"\xF5\x80\x80\x80\"",
        "\"\xFF\"",
        "\"\xC3\"",             /* truncated before the quote */
        "\"\xE2\x82\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_CONTAINS(parse_fail(bad[i]), "invalid UTF-8");
    /* Boundaries that are valid. */
    struct owu_json *v = parse_ok("\"\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                                  "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\"");
    CHECK(v != NULL);
    owu_json_free(v);
    /* Non-ASCII outside strings. */
    CHECK_CONTAINS(parse_fail("[\xC3\xA9]"), "found byte 0xC3");
}

static void test_bom(void)
{
    struct owu_json *v = parse_ok("\xEF\xBB\xBF{\"a\": 1}");
    CHECK(v && v->type == OWU_JSON_OBJECT && v->count == 1);
    owu_json_free(v);
    CHECK_CONTAINS(parse_fail("\xEF\xBB\xBF\xEF\xBB\xBF{}"), "expected a value");
}

static void test_containers(void)
{
    struct owu_json *v = parse_ok("{\"a\": [1, 2, {\"b\": null}], \"c\": {}, \"d\": [], \"e\": \"x\"}");
    CHECK(v && v->type == OWU_JSON_OBJECT && v->count == 4);
    const struct owu_json *a = owu_json_get(v, "a");
    CHECK(a && a->type == OWU_JSON_ARRAY && a->count == 3);
    if (a && a->count == 3) {
        CHECK(a->items[0]->integer == 1 && a->items[1]->integer == 2);
        CHECK(owu_json_get(a->items[2], "b") && owu_json_get(a->items[2], "b")->type == OWU_JSON_NULL);
    }
    const struct owu_json *c = owu_json_get(v, "c");
    CHECK(c && c->type == OWU_JSON_OBJECT && c->count == 0);
    const struct owu_json *d = owu_json_get(v, "d");
    CHECK(d && d->type == OWU_JSON_ARRAY && d->count == 0);
    CHECK(owu_json_get(v, "zz") == NULL);
    CHECK(owu_json_get(a, "a") == NULL);   /* not an object */
    CHECK(owu_json_get(NULL, "a") == NULL);
    CHECK_STR(v->keys[3], "e");
    owu_json_free(v);
    /* Many elements (exercises growth). */
    char buf[8192];
    size_t n = 0;
    buf[n++] = '[';
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, i ? ",%d" : "%d", i);
    buf[n++] = ']';
    buf[n] = '\0';
    v = parse_ok(buf);
    CHECK(v && v->count == 1000 && v->items[999]->integer == 999);
    owu_json_free(v);
}

static void test_syntax_errors(void)
{
    CHECK_CONTAINS(parse_fail(""), "line 1, column 1: expected a value, found end of input");
    CHECK_CONTAINS(parse_fail("   "), "found end of input");
    CHECK_CONTAINS(parse_fail("[1, 2,]"), "expected a value, found ']'");
    CHECK_CONTAINS(parse_fail("{\"a\": 1,}"), "expected a string key, found '}'");
    CHECK_CONTAINS(parse_fail("{a: 1}"), "expected a string key, found 'a'");
    CHECK_CONTAINS(parse_fail("{\"a\" 1}"), "expected ':' after the key");
    CHECK_CONTAINS(parse_fail("{\"a\": 1 \"b\": 2}"), "expected ',' or '}'");
    CHECK_CONTAINS(parse_fail("[1 2]"), "expected ',' or ']'");
    CHECK_CONTAINS(parse_fail("[1"), "expected ',' or ']' in an array, found end of input");
    CHECK_CONTAINS(parse_fail("{"), "expected a string key, found end of input");
    CHECK_CONTAINS(parse_fail("tru"), "invalid literal (expected true)");
    CHECK_CONTAINS(parse_fail("nul"), "invalid literal (expected null)");
    CHECK_CONTAINS(parse_fail("falsey"), "unexpected 'y' after the end");
    CHECK_CONTAINS(parse_fail("{} {}"), "after the end of the JSON value");
    CHECK_CONTAINS(parse_fail("// comment\n1"), "expected a value, found '/'");
    CHECK_CONTAINS(parse_fail("[1,]"), "found ']'");
}

static void test_error_positions(void)
{
    CHECK_CONTAINS(parse_fail("{\n  \"a\": 1,\n  \"b\": tru\n}"), "line 3, column 8:");
    /* Columns count characters: the e-acute is one column. */
    CHECK_CONTAINS(parse_fail("[\"\xC3\xA9\", x]"), "line 1, column 7:");
    CHECK_CONTAINS(parse_fail("\r\n\r\n  @"), "line 3, column 3:");
}

static void test_duplicate_keys(void)
{
    CHECK_CONTAINS(parse_fail("{\"a\": 1, \"b\": 2, \"a\": 3}"), "line 1, column 18: duplicate key \"a\"");
    /* A large object uses the sorted check. */
    char buf[4096];
    size_t n = 0;
    buf[n++] = '{';
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"k%d\": %d", i ? "," : "", i, i);
    n += (size_t)snprintf(buf + n, sizeof buf - n, ", \"k7\": 0}");
    CHECK_CONTAINS(parse_fail(buf), "duplicate key \"k7\"");
    /* Same large object without the duplicate parses. */
    buf[n - strlen(", \"k7\": 0}")] = '}';
    buf[n - strlen(", \"k7\": 0}") + 1] = '\0';
    struct owu_json *v = parse_ok(buf);
    CHECK(v && v->count == 100);
    CHECK(owu_json_get(v, "k99") && owu_json_get(v, "k99")->integer == 99);
    owu_json_free(v);
}

static void test_depth_limit(void)
{
    char buf[2 * (OWU_JSON_MAX_DEPTH + 2) + 1];
    /* Exactly OWU_JSON_MAX_DEPTH nested arrays parse. */
    size_t n = 0;
    for (int i = 0; i < OWU_JSON_MAX_DEPTH; i++)
        buf[n++] = '[';
    for (int i = 0; i < OWU_JSON_MAX_DEPTH; i++)
        buf[n++] = ']';
    buf[n] = '\0';
    struct owu_json *v = parse_ok(buf);
    CHECK(v != NULL);
    owu_json_free(v);
    /* One more fails with a message, not a crash. */
    n = 0;
    for (int i = 0; i <= OWU_JSON_MAX_DEPTH; i++)
        buf[n++] = '[';
    for (int i = 0; i <= OWU_JSON_MAX_DEPTH; i++)
        buf[n++] = ']';
    buf[n] = '\0';
    CHECK_CONTAINS(parse_fail(buf), "nesting deeper than 64 levels");
    /* Deep garbage far beyond the limit stops at the limit. */
    char *deep = malloc(1000001);
    memset(deep, '[', 1000000);
    deep[1000000] = '\0';
    CHECK_CONTAINS(parse_fail(deep), "nesting deeper");
    free(deep);
}

static void test_size_limits(void)
{
    /* A string literal over the limit. */
    size_t n = OWU_JSON_MAX_STRING + 3;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[0] = '"';
    s[n - 1] = '"';
    s[n] = '\0';
    CHECK_CONTAINS(parse_fail(s), "string longer than");
    /* Exactly at the limit is fine. */
    s[n - 2] = '"';
    s[n - 1] = ' ';
    struct owu_json *v = parse_ok(s);
    CHECK(v && v->string_len == OWU_JSON_MAX_STRING);
    owu_json_free(v);
    free(s);
    /* Text over the total limit is refused before reading it. */
    owu_err errbuf = {0}, *err = &errbuf;
    CHECK_INT(owu_json_parse("1", OWU_JSON_MAX_TEXT + 1, &v, err), OWU_E_PARSE);
    CHECK_CONTAINS(err->msg, "more than");
    /* Too many values. */
    size_t count = OWU_JSON_MAX_VALUES + 1;
    char *arr = malloc(2 * count + 2);
    size_t k = 0;
    arr[k++] = '[';
    for (size_t i = 0; i < count; i++) {
        arr[k++] = '0';
        arr[k++] = ',';
    }
    arr[k - 1] = ']';
    arr[k] = '\0';
    CHECK_CONTAINS(parse_fail(arr), "more than 1048576 values");
    free(arr);
}

static void test_bad_args(void)
{
    owu_err errbuf = {0}, *err = &errbuf;
    CHECK_INT(owu_json_parse("1", 1, NULL, err), OWU_E_INVAL);
    struct owu_json *v;
    CHECK_INT(owu_json_parse(NULL, 3, &v, err), OWU_E_INVAL);
    CHECK_INT(owu_json_parse(NULL, 0, &v, NULL), OWU_E_PARSE);
    owu_json_free(NULL);
    CHECK_STR(owu_json_type_name(OWU_JSON_ARRAY), "array");
    CHECK_STR(owu_json_type_name(OWU_JSON_NUMBER), "number");
}

/* Writes with the writer into memory; returns a malloc'd NUL-terminated string. */
typedef void (*write_fn)(struct owu_json_writer *w);

static char *write_to_string(write_fn fn, bool pretty)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    struct owu_json_writer w;
    owu_jw_init(&w, f, pretty);
    fn(&w);
    CHECK(!w.overflow);
    fclose(f);
    return buf;
}

static void write_sample(struct owu_json_writer *w)
{
    static const uint8_t bytes[] = { 0x12, 0x01, 0x00, 0x02, 0xab };
    owu_jw_begin_object(w);
    owu_jw_key(w, "name");
    owu_jw_string(w, "quote\" back\\ tab\t nl\n bell\x07 e\xC3\xA9");
    owu_jw_key(w, "n");
    owu_jw_int(w, -5);
    owu_jw_key(w, "big");
    owu_jw_int(w, 1234567890123LL);
    owu_jw_key(w, "ok");
    owu_jw_bool(w, true);
    owu_jw_key(w, "none");
    owu_jw_string(w, NULL);
    owu_jw_key(w, "hex");
    owu_jw_hex(w, bytes, sizeof bytes);
    owu_jw_key(w, "empty_hex");
    owu_jw_hex(w, bytes, 0);
    owu_jw_key(w, "list");
    owu_jw_begin_array(w);
    owu_jw_int(w, 1);
    owu_jw_begin_object(w);
    owu_jw_end_object(w);
    owu_jw_begin_array(w);
    owu_jw_end_array(w);
    owu_jw_null(w);
    owu_jw_end_array(w);
    owu_jw_end_object(w);
    owu_jw_finish(w);
}

static void test_writer_pretty(void)
{
    char *out = write_to_string(write_sample, true);
    CHECK_STR(out,
              "{\n"
              "  \"name\": \"quote\\\" back\\\\ tab\\t nl\\n bell\\u0007 e\xC3\xA9\",\n"
              "  \"n\": -5,\n"
              "  \"big\": 1234567890123,\n"
              "  \"ok\": true,\n"
              "  \"none\": null,\n"
              "  \"hex\": \"12 01 00 02 AB\",\n"
              "  \"empty_hex\": \"\",\n"
              "  \"list\": [\n"
              "    1,\n"
              "    {},\n"
              "    [],\n"
              "    null\n"
              "  ]\n"
              "}\n");
    /* What the writer writes, the reader reads back. */
    struct owu_json *v = out ? parse_ok(out) : NULL;
    CHECK(v && v->count == 8);
    const struct owu_json *name = owu_json_get(v, "name");
    CHECK(name && strcmp(name->string, "quote\" back\\ tab\t nl\n bell\x07 e\xC3\xA9") == 0);
    owu_json_free(v);
    free(out);
}

static void test_writer_compact(void)
{
    char *out = write_to_string(write_sample, false);
    CHECK_STR(out, "{\"name\":\"quote\\\" back\\\\ tab\\t nl\\n bell\\u0007 e\xC3\xA9\",\"n\":-5,"
                   "\"big\":1234567890123,\"ok\":true,\"none\":null,\"hex\":\"12 01 00 02 AB\","
                   "\"empty_hex\":\"\",\"list\":[1,{},[],null]}\n");
    free(out);
}

static void write_bad_utf8(struct owu_json_writer *w)
{
    owu_jw_begin_array(w);
    owu_jw_string(w, "a\xFF" "b\xC3");
    owu_jw_string(w, "\xED\xA0\x80");   /* encoded surrogate: not UTF-8 */
    owu_jw_end_array(w);
}

static void test_writer_sanitises_utf8(void)
{
    char *out = write_to_string(write_bad_utf8, false);
    CHECK_STR(out, "[\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\",\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"]");
    struct owu_json *v = out ? parse_ok(out) : NULL;
    CHECK(v != NULL);
    owu_json_free(v);
    free(out);
}

static void write_deep(struct owu_json_writer *w)
{
    for (int i = 0; i < OWU_JSON_MAX_DEPTH - 1; i++)
        owu_jw_begin_array(w);
    owu_jw_int(w, 7);
    for (int i = 0; i < OWU_JSON_MAX_DEPTH - 1; i++)
        owu_jw_end_array(w);
}

static void test_writer_depth(void)
{
    char *out = write_to_string(write_deep, true);
    struct owu_json *v = out ? parse_ok(out) : NULL;
    CHECK(v != NULL);
    owu_json_free(v);
    free(out);
    /* Past the limit the writer says so instead of writing out of bounds. */
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    struct owu_json_writer w;
    owu_jw_init(&w, f, false);
    for (int i = 0; i < OWU_JSON_MAX_DEPTH + 10; i++)
        owu_jw_begin_array(&w);
    for (int i = 0; i < OWU_JSON_MAX_DEPTH + 10; i++)
        owu_jw_end_array(&w);
    CHECK(w.overflow);
    fclose(f);
    free(buf);
}

static void test_hex_decode(void)
{
    owu_err errbuf = {0}, *err = &errbuf;
    uint8_t *b = NULL;
    size_t n = 0;
    CHECK_OK(owu_hex_decode("12 01 00 02", &b, &n, err), err);
    CHECK(n == 4 && b && b[0] == 0x12 && b[1] == 0x01 && b[3] == 0x02);
    free(b);
    CHECK_OK(owu_hex_decode("12010002abCDef", &b, &n, err), err);
    CHECK(n == 7 && b && b[4] == 0xAB && b[5] == 0xCD && b[6] == 0xEF);
    free(b);
    CHECK_OK(owu_hex_decode("  0a\t0B  ", &b, &n, err), err);
    CHECK(n == 2 && b && b[0] == 0x0A && b[1] == 0x0B);
    free(b);
    b = (uint8_t *)&n;
    CHECK_OK(owu_hex_decode("", &b, &n, err), err);
    CHECK(n == 0 && b == NULL);
    CHECK_OK(owu_hex_decode("   ", &b, &n, err), err);
    CHECK(n == 0 && b == NULL);

    CHECK_INT(owu_hex_decode("123", &b, &n, err), OWU_E_PARSE);
    CHECK_STR(err->msg, "odd number of hex digits");
    CHECK(b == NULL && n == 0);
    CHECK_INT(owu_hex_decode("12 3", &b, &n, err), OWU_E_PARSE);
    CHECK_STR(err->msg, "odd number of hex digits");
    CHECK_INT(owu_hex_decode("1 2", &b, &n, err), OWU_E_PARSE);
    CHECK_CONTAINS(err->msg, "space inside a byte at offset 1");
    CHECK_INT(owu_hex_decode("12 0g", &b, &n, err), OWU_E_PARSE);
    CHECK_CONTAINS(err->msg, "invalid character 'g' at offset 4");
    CHECK_INT(owu_hex_decode("0x12", &b, &n, err), OWU_E_PARSE);
    CHECK_CONTAINS(err->msg, "invalid character 'x' at offset 1");
    CHECK_INT(owu_hex_decode("12\n34", &b, &n, err), OWU_E_PARSE);
    CHECK_CONTAINS(err->msg, "invalid byte 0x0A at offset 2");
    CHECK_INT(owu_hex_decode("12,34", &b, &n, err), OWU_E_PARSE);
    CHECK_CONTAINS(err->msg, "','");
    CHECK_INT(owu_hex_decode(NULL, &b, &n, err), OWU_E_INVAL);
}

int main(void)
{
    RUN(test_scalars);
    RUN(test_numbers);
    RUN(test_numbers_ignore_locale);
    RUN(test_strings_escapes);
    RUN(test_utf8_validation);
    RUN(test_bom);
    RUN(test_containers);
    RUN(test_syntax_errors);
    RUN(test_error_positions);
    RUN(test_duplicate_keys);
    RUN(test_depth_limit);
    RUN(test_size_limits);
    RUN(test_bad_args);
    RUN(test_writer_pretty);
    RUN(test_writer_compact);
    RUN(test_writer_sanitises_utf8);
    RUN(test_writer_depth);
    RUN(test_hex_decode);
    return check_report();
}
