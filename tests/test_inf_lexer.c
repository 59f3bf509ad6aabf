/* INF lexical rules (pnp-ids.md §4.1), decoding, Strings selection and substitution
 * (§4.2), and hostile input: every rule with the case that shows it. */
#include <openwinusb/inf.h>

#include "check.h"

/* A load that should have succeeded; prints the error otherwise. */
#define CHECK_LOADED(p, e)                                                             \
    do {                                                                               \
        if (!(p)) {                                                                    \
            check_current_failed++;                                                    \
            fprintf(stderr, "%s:%d: load failed: %s\n", __FILE__, __LINE__, (e).msg);   \
        }                                                                              \
    } while (0)

#define HDR "[Version]\nSignature=\"$Windows NT$\"\nDriverVer=01/01/2020,1.0.0.0\n"

static struct owu_inf *load_opt(const char *text, size_t len, unsigned flags, uint16_t langid,
                                owu_err *err)
{
    struct owu_inf_options opt;
    owu_inf_options_default(&opt);
    opt.flags = flags;
    if (langid)
        opt.langid = langid;
    struct owu_inf *inf = NULL;
    owu_err_clear(err);
    int rc = owu_inf_load_mem("t.inf", text, len, &opt, &inf, err);
    if (rc != OWU_OK)
        return NULL;
    return inf;
}

static struct owu_inf *load(const char *text, owu_err *err)
{
    return load_opt(text, strlen(text), 0, 0, err);
}

static const struct owu_inf_entry *entry(const struct owu_inf *inf, const char *sect, size_t i)
{
    return owu_inf_entry_at(owu_inf_find_section(inf, sect), i);
}

/* True when some warning contains `needle`. */
static bool has_warning(const struct owu_inf *inf, const char *needle)
{
    for (size_t i = 0; i < owu_inf_warning_count(inf); i++)
        if (strstr(owu_inf_warning(inf, i), needle))
            return true;
    return false;
}

static void test_quotes(void)
{
    owu_err err;
    struct owu_inf *inf = load(HDR "[S]\n"
                                   "a = \"x \"\"y\"\" z\"\n"
                                   "b = \"  spaced  \"  ,  \"\"\n"
                                   "c = ab\"c d\"ef\n"
                                   "d = \"\"\"quoted\"\"\"\n",
                               &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    const struct owu_inf_entry *e = entry(inf, "S", 0);
    CHECK_STR(e->key, "a");
    CHECK_INT(e->num_fields, 1);
    CHECK_STR(e->fields[0], "x \"y\" z");
    e = entry(inf, "S", 1);
    CHECK_INT(e->num_fields, 2);
    CHECK_STR(e->fields[0], "  spaced  ");
    CHECK_STR(e->fields[1], "");
    CHECK_STR(entry(inf, "S", 2)->fields[0], "abc def");
    CHECK_STR(entry(inf, "S", 3)->fields[0], "\"quoted\"");
    owu_inf_free(inf);
}

static void test_comments(void)
{
    owu_err err;
    struct owu_inf *inf = load(HDR "; whole-line comment\n"
                                   "[S] ; comment after a header\n"
                                   "a = \"x;y\" ; real comment\n"
                                   "b = plain ; cut here\n"
                                   "c = %tok;en%\n"
                                   "   ; indented comment\n"
                                   "d = 50%, e ; a lone percent is a character\n",
                               &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    CHECK_INT(owu_inf_entry_count(owu_inf_find_section(inf, "S")), 4);
    CHECK_STR(entry(inf, "S", 0)->fields[0], "x;y");
    CHECK_STR(entry(inf, "S", 1)->fields[0], "plain");
    /* ';' inside %...% is not a comment; the undefined token stays and is reported. */
    CHECK_STR(entry(inf, "S", 2)->fields[0], "%tok;en%");
    CHECK(has_warning(inf, "t.inf:8: undefined string token %tok;en%"));
    CHECK_INT(entry(inf, "S", 3)->num_fields, 2);
    CHECK_STR(entry(inf, "S", 3)->fields[0], "50%");
    CHECK_STR(entry(inf, "S", 3)->fields[1], "e");
    owu_inf_free(inf);
}

static void test_continuation(void)
{
    owu_err err;
    struct owu_inf *inf = load(HDR "[S]\n"
                                   "a = one,\\\n"                       /* line 5 */
                                   "    two\n"
                                   "b = x, \\ ; comment after the continuation\n"
                                   "  y\n"
                                   "c = SomeDirectory\\\\\n"            /* line 9: \\ */
                                   ",SomeFile\n"
                                   "d = \"SomeDirectory\\\"\\ ; comment\n"
                                   ",SomeFile\n"
                                   "e = path\\file\n"
                                   "f = last\\\n",                      /* continuation at EOF */
                               &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    const struct owu_inf_entry *e = entry(inf, "S", 0);
    CHECK_INT(e->line, 5);
    CHECK_INT(e->num_fields, 2);
    CHECK_STR(e->fields[0], "one");
    CHECK_STR(e->fields[1], "two");
    e = entry(inf, "S", 1);
    CHECK_INT(e->num_fields, 2);
    CHECK_STR(e->fields[1], "y");
    e = entry(inf, "S", 2);
    CHECK_INT(e->line, 9);
    CHECK_INT(e->num_fields, 2);
    CHECK_STR(e->fields[0], "SomeDirectory");
    CHECK_STR(e->fields[1], "SomeFile");
    e = entry(inf, "S", 3);
    CHECK_INT(e->num_fields, 2);
    CHECK_STR(e->fields[0], "SomeDirectory\\");
    CHECK_STR(e->fields[1], "SomeFile");
    CHECK_STR(entry(inf, "S", 4)->fields[0], "path\\file");
    e = entry(inf, "S", 5);
    CHECK_STR(e->key, "f");
    CHECK_STR(e->fields[0], "last");
    /* The line after the continued ones is counted right. */
    CHECK_INT(entry(inf, "S", 4)->line, 13);
    owu_inf_free(inf);
}

static void test_fields(void)
{
    owu_err err;
    struct owu_inf *inf = load(HDR "[S]\n"
                                   "a,,c\n"
                                   "a,\n"
                                   "k =\n"
                                   "k2 = \"\"\n"
                                   "   spaced key \t=\t a b  ,\t c  \n"
                                   "HKR,,Cmd,,x=y\n"
                                   "Reboot\n",
                               &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    const struct owu_inf_entry *e = entry(inf, "S", 0);
    CHECK(e->key == NULL);
    CHECK_INT(e->num_fields, 3);
    CHECK_STR(e->fields[1], "");
    CHECK_STR(e->fields[2], "c");
    e = entry(inf, "S", 1);
    CHECK_INT(e->num_fields, 2);
    CHECK_STR(e->fields[1], "");
    CHECK_INT(entry(inf, "S", 2)->num_fields, 0);
    CHECK_INT(entry(inf, "S", 3)->num_fields, 1);
    e = entry(inf, "S", 4);
    CHECK_STR(e->key, "spaced key");
    CHECK_INT(e->num_fields, 2);
    CHECK_STR(e->fields[0], "a b");
    CHECK_STR(e->fields[1], "c");
    /* '=' after a comma is data (AddReg lines), not a key separator. */
    e = entry(inf, "S", 5);
    CHECK(e->key == NULL);
    CHECK_INT(e->num_fields, 5);
    CHECK_STR(e->fields[4], "x=y");
    e = entry(inf, "S", 6);
    CHECK(e->key == NULL);
    CHECK_STR(e->fields[0], "Reboot");
    owu_inf_free(inf);
}

static void test_percent(void)
{
    owu_err err;
    struct owu_inf *inf = load(HDR "[S]\n"
                                   "a = \"100%%\"\n"
                                   "b = \"%%SystemRoot%%\\System32\\x.dll;%%SystemRoot%%\\y.sys\"\n"
                                   "c = %12%\\drv.sys, %16422%\n"
                                   "d = %Name%-%NAME%\n"
                                   "[Strings]\n"
                                   "name = \"Val\"\n",
                               &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    CHECK_STR(entry(inf, "S", 0)->fields[0], "100%");
    CHECK_STR(entry(inf, "S", 1)->fields[0],
              "%SystemRoot%\\System32\\x.dll;%SystemRoot%\\y.sys");
    /* DIRIDs stay for the installer and are not "undefined". */
    CHECK_STR(entry(inf, "S", 2)->fields[0], "%12%\\drv.sys");
    CHECK_STR(entry(inf, "S", 2)->fields[1], "%16422%");
    CHECK(!has_warning(inf, "%12%"));
    CHECK_STR(entry(inf, "S", 3)->fields[0], "Val-Val");
    owu_inf_free(inf);
}

static void test_sections(void)
{
    owu_err err;
    struct owu_inf *inf = load(HDR "[Alpha]\n"
                                   "x = 1\n"
                                   "[  Beta  ]\n"
                                   "[ALPHA]\n"
                                   "y = 2\n"
                                   "[;; Odd ]\n"
                                   "z = 3\n",
                               &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    CHECK_INT(owu_inf_section_count(inf), 4);   /* Version, Alpha, Beta, ";; Odd" */
    const struct owu_inf_section *s = owu_inf_find_section(inf, "alpha");
    CHECK(s != NULL);
    CHECK_STR(owu_inf_section_name(s), "Alpha");
    CHECK_INT(owu_inf_section_line(s), 4);
    CHECK_INT(owu_inf_entry_count(s), 2);
    CHECK_INT(owu_inf_entry_at(s, 1)->line, 8);
    CHECK_STR(owu_inf_entry_at(s, 1)->fields[0], "2");
    CHECK(owu_inf_find_section(inf, "BETA") != NULL);
    CHECK_INT(owu_inf_entry_count(owu_inf_find_section(inf, "Beta")), 0);
    CHECK(owu_inf_find_section(inf, ";; Odd") != NULL);
    CHECK_STR(owu_inf_get_value(inf, "ALPHA", "X"), "1");
    CHECK_STR(owu_inf_get_value(inf, "version", "SIGNATURE"), "$Windows NT$");
    CHECK(owu_inf_get_value(inf, "Alpha", "nope") == NULL);
    CHECK(owu_inf_find_section(inf, "Gamma") == NULL);
    CHECK_STR(owu_inf_section_name(owu_inf_section_at(inf, 1)), "Alpha");
    owu_inf_free(inf);
}

static void test_line_endings(void)
{
    owu_err err;
    const char text[] = "[Version]\r\nSignature=$Chicago$\rDriverVer=01/01/2020\n"
                        "[S]\r\n\r\na=1\r\rb=2\n\nc=3";
    struct owu_inf *inf = load_opt(text, sizeof text - 1, 0, 0, &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    CHECK_INT(entry(inf, "S", 0)->line, 6);
    CHECK_INT(entry(inf, "S", 1)->line, 8);
    CHECK_INT(entry(inf, "S", 2)->line, 10);
    CHECK_STR(entry(inf, "S", 2)->fields[0], "3");
    owu_inf_free(inf);
}

/* Encodes ASCII text plus a few non-ASCII code points as UTF-16. */
static size_t to_utf16(const char *ascii, const uint32_t *extra, size_t nextra, bool be,
                       bool bom, uint8_t *out)
{
    size_t o = 0;
    uint16_t units[4096];
    size_t n = 0;
    if (bom)
        units[n++] = 0xFEFF;
    for (const char *p = ascii; *p; p++) {
        if (*p == '@' && nextra) {   /* '@' marks where the extra code points go */
            for (size_t i = 0; i < nextra; i++) {
                uint32_t cp = extra[i];
                if (cp >= 0x10000) {
                    units[n++] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
                    units[n++] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
                } else {
                    units[n++] = (uint16_t)cp;
                }
            }
            continue;
        }
        units[n++] = (uint16_t)(unsigned char)*p;
    }
    for (size_t i = 0; i < n; i++) {
        out[o++] = (uint8_t)(be ? units[i] >> 8 : units[i] & 0xFF);
        out[o++] = (uint8_t)(be ? units[i] & 0xFF : units[i] >> 8);
    }
    return o;
}

static void test_utf16(void)
{
    const char *text = HDR "[S]\r\nname = \"Caf@\"\r\n";
    const uint32_t extra[] = {0xE9, 0x1F600};   /* é, an emoji (surrogate pair) */
    uint8_t buf[8192];
    for (int be = 0; be < 2; be++) {
        size_t n = to_utf16(text, extra, 2, be, true, buf);
        owu_err err;
        struct owu_inf *inf = load_opt((const char *)buf, n, 0, 0, &err);
        CHECK_LOADED(inf, err);
        if (!inf)
            continue;
        CHECK_STR(entry(inf, "S", 0)->fields[0], "Caf\xC3\xA9\xF0\x9F\x98\x80");
        CHECK_INT(owu_inf_warning_count(inf), 0);
        owu_inf_free(inf);
    }
    /* Without a BOM, an ASCII first character still gives UTF-16LE away. */
    size_t n = to_utf16(text, extra, 2, false, false, buf);
    owu_err err;
    struct owu_inf *inf = load_opt((const char *)buf, n, 0, 0, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK(has_warning(inf, "UTF-16LE text without byte-order mark"));
        owu_inf_free(inf);
    }
    /* A lone surrogate becomes U+FFFD with a warning. */
    const uint32_t lone[] = {0xD800};
    n = to_utf16(text, lone, 1, false, true, buf);
    inf = load_opt((const char *)buf, n, 0, 0, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK_STR(entry(inf, "S", 0)->fields[0], "Caf\xEF\xBF\xBD");
        CHECK(has_warning(inf, "t.inf:5: unpaired UTF-16 surrogate"));
        owu_inf_free(inf);
    }
}

static void test_latin1_and_bom(void)
{
    owu_err err;
    const char latin1[] = HDR "[S]\na = \"\xA9 2016 caf\xE9\"\nb = \"already \xC3\xA9\"\n";
    struct owu_inf *inf = load(latin1, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK_STR(entry(inf, "S", 0)->fields[0], "\xC2\xA9 2016 caf\xC3\xA9");
        CHECK_STR(entry(inf, "S", 1)->fields[0], "already \xC3\xA9");   /* valid UTF-8 kept */
        CHECK(has_warning(inf, "t.inf:5: text is not UTF-8"));
        owu_inf_free(inf);
    }
    const char bom[] = "\xEF\xBB\xBF" HDR "[S]\na=1\n";
    inf = load(bom, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK_INT(owu_inf_warning_count(inf), 0);
        CHECK(owu_inf_find_section(inf, "Version") != NULL);
        owu_inf_free(inf);
    }
    /* Ctrl-Z ends the text, as old editors meant it. */
    const char ctrlz[] = HDR "[S]\na=1\n\x1A garbage [";
    inf = load(ctrlz, &err);
    CHECK_LOADED(inf, err);
    owu_inf_free(inf);
}

static void test_strings_selection(void)
{
    const char *text = HDR "[S]\nv = %Greeting%\nw = %OnlyPlain%\n"
                           "[Strings]\nGreeting = \"Hello\"\nOnlyPlain = \"plain\"\n"
                           "[Strings.0407]\nGreeting = \"Hallo (de-DE)\"\n"
                           "[Strings.0007]\nGreeting = \"Hallo (de)\"\n"
                           "[Strings.0C07]\nGreeting = \"Hallo (de-AT)\"\n"
                           "[Strings.080c]\nGreeting = \"Bonjour (fr-BE)\"\n";
    struct {
        uint16_t langid;
        const char *section, *value;
    } cases[] = {
        {0x0407, "Strings.0407", "Hallo (de-DE)"},    /* exact */
        {0x0807, "Strings.0007", "Hallo (de)"},       /* primary + SUBLANG_NEUTRAL */
        {0x040C, "Strings.080c", "Bonjour (fr-BE)"},  /* any sublanguage of French */
        {0x0409, "Strings", "Hello"},                 /* undecorated */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        owu_err err;
        struct owu_inf *inf = load_opt(text, strlen(text), 0, cases[i].langid, &err);
        CHECK_LOADED(inf, err);
        if (!inf)
            continue;
        CHECK_STR(owu_inf_strings_section(inf), cases[i].section);
        CHECK_STR(entry(inf, "S", 0)->fields[0], cases[i].value);
        CHECK_STR(owu_inf_string(inf, "GREETING"), cases[i].value);
        /* One section for the whole INF: no per-key fallback to [Strings]. */
        if (strcmp(cases[i].section, "Strings") != 0) {
            CHECK_STR(entry(inf, "S", 1)->fields[0], "%OnlyPlain%");
            CHECK(has_warning(inf, "undefined string token %OnlyPlain%"));
        }
        owu_inf_free(inf);
    }
    /* Without the neutral section, 0x0807 takes the first German one in file order. */
    const char *text2 = HDR "[S]\nv=%G%\n[Strings.0C07]\nG=at\n[Strings.0407]\nG=de\n";
    owu_err err;
    struct owu_inf *inf = load_opt(text2, strlen(text2), 0, 0x0807, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK_STR(entry(inf, "S", 0)->fields[0], "at");
        owu_inf_free(inf);
    }
}

static void test_substitution(void)
{
    owu_err err;
    struct owu_inf *inf = load(HDR "[Manufacturer]\n%Mfg% = Models\n"
                                   "[S]\n"
                                   "a = %A%\n"
                                   "b = %Self%\n"
                                   "c = %Comma%\n"
                                   "d = %Missing%x\n"
                                   "e = \" %Spaced% \"\n"
                                   "[Strings]\n"
                                   "Mfg = \"Maker\"\n"
                                   "A = \"%B%\"\n"
                                   "B = \"%A%\"\n"
                                   "Self = \"%Self%%Self%\"\n"
                                   "Comma = \"x, y\"\n"
                                   "Spaced = \"  in  \"\n"
                                   "mfg = \"second definition\"\n",
                               &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    CHECK_STR(entry(inf, "Manufacturer", 0)->key, "Maker");
    /* Single pass: replacement text is not scanned again, so nothing recurses. */
    CHECK_STR(entry(inf, "S", 0)->fields[0], "%B%");
    CHECK_STR(entry(inf, "S", 1)->fields[0], "%Self%%Self%");
    /* A substituted comma does not split the field. */
    CHECK_INT(entry(inf, "S", 2)->num_fields, 1);
    CHECK_STR(entry(inf, "S", 2)->fields[0], "x, y");
    CHECK_STR(entry(inf, "S", 3)->fields[0], "%Missing%x");
    CHECK(has_warning(inf, "t.inf:10: undefined string token %Missing%"));
    CHECK_STR(entry(inf, "S", 4)->fields[0], "   in   ");
    /* The Strings section itself is left as written. */
    CHECK_STR(entry(inf, "Strings", 1)->fields[0], "%B%");
    CHECK(has_warning(inf, "string mfg defined twice"));
    CHECK_STR(owu_inf_string(inf, "MFG"), "Maker");
    owu_inf_free(inf);
}

static void test_limits(void)
{
    owu_err err;
    /* 4096 characters is the most a field may hold. */
    size_t n = 4096;
    char *text = malloc(n + 256);
    int k = sprintf(text, HDR "[S]\na = ");
    memset(text + k, 'x', n);
    strcpy(text + k + n, "\n");
    struct owu_inf *inf = load(text, &err);
    CHECK_LOADED(inf, err);
    if (inf)
        CHECK_INT(strlen(entry(inf, "S", 0)->fields[0]), 4096);
    owu_inf_free(inf);
    /* Multi-byte characters count as one each. */
    k = sprintf(text, HDR "[S]\na = ");
    for (size_t i = 0; i < 100; i++)
        k += sprintf(text + k, "\xC3\xA9");
    strcpy(text + k, "\n");
    inf = load(text, &err);
    CHECK_LOADED(inf, err);
    owu_inf_free(inf);
    free(text);

    n = 4097;
    text = malloc(n + 256);
    k = sprintf(text, HDR "[S]\na = ");
    memset(text + k, 'x', n);
    strcpy(text + k + n, "\n");
    CHECK(load(text, &err) == NULL);
    CHECK_INT(err.code, OWU_E_PARSE);
    CHECK_STR(err.msg, "t.inf:5: field longer than 4096 characters");
    free(text);

    /* Within the limit before substitution, beyond it after. */
    text = malloc(8192);
    k = sprintf(text, HDR "[S]\na = %%Big%%%%Big%%\n[Strings]\nBig = \"");
    memset(text + k, 'y', 3000);
    strcpy(text + k + 3000, "\"\n");
    CHECK(load(text, &err) == NULL);
    CHECK_STR(err.msg, "t.inf:5: field longer than 4096 characters after string substitution");
    free(text);
}

static void test_version_errors(void)
{
    owu_err err;
    CHECK(load("[S]\na=1\n", &err) == NULL);
    CHECK_INT(err.code, OWU_E_PARSE);
    CHECK_STR(err.msg, "t.inf: no [Version] section");
    CHECK(load("[S]\n[Version]\nClass=Ports\n", &err) == NULL);
    CHECK_STR(err.msg, "t.inf:2: [Version] has no Signature");
    CHECK(load("[Version]\nClass=Ports\nSignature=\"$Windows 95$\"\n", &err) == NULL);
    CHECK_STR(err.msg, "t.inf:3: Signature \"$Windows 95$\" is neither $Windows NT$ nor $Chicago$");
    struct owu_inf *inf = load("[version]\nsignature=$CHICAGO$\nDriverVer=1/2/2020\n", &err);
    CHECK_LOADED(inf, err);
    owu_inf_free(inf);
    CHECK_INT(owu_inf_load_mem("t.inf", NULL, 5, NULL, &inf, &err), OWU_E_INVAL);
    CHECK_INT(owu_inf_load_file("/nonexistent/x.inf", NULL, &inf, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "/nonexistent/x.inf: cannot open");
}

static void test_hostile_encoding(void)
{
    owu_err err;
    const char odd[] = "\xFF\xFE[\0V\0e";   /* UTF-16LE with a byte missing */
    CHECK(load_opt(odd, sizeof odd - 1, 0, 0, &err) == NULL);
    CHECK_STR(err.msg, "t.inf: truncated UTF-16 text (odd number of bytes)");
    const char nul[] = HDR "[S]\na = x\0y\n";
    CHECK(load_opt(nul, sizeof nul - 1, 0, 0, &err) == NULL);
    CHECK_STR(err.msg, "t.inf:5: NUL byte in text");
    uint8_t buf[512];
    size_t n = to_utf16(HDR "[S]\na=@\n", (const uint32_t[]){0}, 1, false, true, buf);
    CHECK(load_opt((const char *)buf, n, 0, 0, &err) == NULL);
    CHECK_STR(err.msg, "t.inf:5: NUL character in text");
    CHECK(load_opt("", 0, 0, 0, &err) == NULL);
    CHECK_STR(err.msg, "t.inf: no [Version] section");
    CHECK(load_opt("\xFF\xFE", 2, 0, 0, &err) == NULL);
    CHECK_STR(err.msg, "t.inf: no [Version] section");
}

static void test_hostile_structure(void)
{
    owu_err err;
    CHECK(load(HDR "[Unterminated\na=1\n", &err) == NULL);
    CHECK_STR(err.msg, "t.inf:4: unterminated section name (no ']')");
    CHECK(load(HDR "[   ]\n", &err) == NULL);
    CHECK_STR(err.msg, "t.inf:4: empty section name");
    char name[400];
    memset(name, 'n', 256);
    name[256] = '\0';
    char text[600];
    snprintf(text, sizeof text, HDR "[%s]\n", name);
    CHECK(load(text, &err) == NULL);
    CHECK_STR(err.msg, "t.inf:4: section name longer than 255 characters");

    /* Unterminated quote: closed at the end of the line (real INFs have it), or an error
     * in strict mode. */
    const char *uq = HDR "[S]\na = \"open\nb = \"ok\"\n";
    struct owu_inf *inf = load(uq, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK_STR(entry(inf, "S", 0)->fields[0], "open");
        CHECK_STR(entry(inf, "S", 1)->fields[0], "ok");
        CHECK(has_warning(inf, "t.inf:5: unterminated quoted string"));
        owu_inf_free(inf);
    }
    CHECK(load_opt(uq, strlen(uq), OWU_INF_STRICT, 0, &err) == NULL);
    CHECK_STR(err.msg, "t.inf:5: unterminated quoted string");

    const char *pre = "orphan = 1\n" HDR "[S] trailing\n";
    inf = load(pre, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK(has_warning(inf, "t.inf:1: entry before the first section ignored"));
        CHECK(has_warning(inf, "t.inf:5: text after section name ignored"));
        owu_inf_free(inf);
    }
    CHECK(load_opt(pre, strlen(pre), OWU_INF_STRICT, 0, &err) == NULL);
    CHECK_STR(err.msg, "t.inf:1: entry before the first section");
}

static void test_hostile_sizes(void)
{
    owu_err err;
    /* An enormous comment is fine; an enormous field is not. */
    size_t big = 1u << 20;
    char *text = malloc(big + 256);
    int k = sprintf(text, HDR "[S]\n;");
    memset(text + k, 'c', big);
    strcpy(text + k + big, "\na=1\n");
    struct owu_inf *inf = load(text, &err);
    CHECK_LOADED(inf, err);
    if (inf)
        CHECK_STR(entry(inf, "S", 0)->fields[0], "1");
    owu_inf_free(inf);
    k = sprintf(text, HDR "[S]\na=");
    memset(text + k, 'v', big);
    strcpy(text + k + big, "\n");
    CHECK(load(text, &err) == NULL);
    CHECK_STR(err.msg, "t.inf:5: field longer than 4096 characters");

    /* Too many fields in one entry. */
    k = sprintf(text, HDR "[S]\na=");
    for (int i = 0; i < 5000; i++)
        text[k++] = ',';
    strcpy(text + k, "\n");
    CHECK(load(text, &err) == NULL);
    CHECK_STR(err.msg, "t.inf:5: more than 4096 fields in one entry");

    /* A continuation that never ends grows one field past the limit. */
    k = sprintf(text, HDR "[S]\na=");
    for (int i = 0; i < 3000; i++)
        k += sprintf(text + k, "ab\\\n");
    CHECK(load(text, &err) == NULL);
    CHECK_CONTAINS(err.msg, "field longer than 4096 characters");
    free(text);

    /* Too many lines. */
    size_t lines = OWU_INF_MAX_LINES + 1;
    text = malloc(lines + 256);
    k = sprintf(text, HDR);
    memset(text + k, '\n', lines);
    text[k + lines] = '\0';
    CHECK(load(text, &err) == NULL);
    CHECK_STR(err.msg, "t.inf: more than 1000000 lines");
    free(text);

    /* Over the size limit, from memory and from a file. */
    struct owu_inf_options opt;
    owu_inf_options_default(&opt);
    opt.max_size = 64;
    char small[100];
    memset(small, ';', sizeof small);
    CHECK_INT(owu_inf_load_mem("t.inf", small, sizeof small, &opt, &inf, &err), OWU_E_PARSE);
    CHECK_STR(err.msg, "t.inf: file too large (100 bytes, limit 64)");
    CHECK_INT(owu_inf_load_file(OWU_TEST_DATA "/inf/libwdi__usbser.inf.in", &opt, &inf, &err),
              OWU_E_PARSE);
    CHECK_STR(err.msg, "libwdi__usbser.inf.in: file too large (more than 64 bytes)");
    CHECK(inf == NULL);

    /* Many sections and many duplicate merges stay fast (hash lookup). */
    size_t nsec = 50000;
    text = malloc(nsec * 24 + 128);
    k = sprintf(text, HDR);
    for (size_t i = 0; i < nsec; i++)
        k += sprintf(text + k, "[s%zu]\nk=%zu\n[S0]\n", i % 25000, i);
    inf = load(text, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK_INT(owu_inf_section_count(inf), 25000 + 1);
        CHECK_INT(owu_inf_entry_count(owu_inf_find_section(inf, "s7")), 2);
        owu_inf_free(inf);
    }
    free(text);
}

static void test_warning_cap(void)
{
    owu_err err;
    size_t n = 3000;
    char *text = malloc(n * 16 + 128);
    int k = sprintf(text, HDR "[S]\n");
    for (size_t i = 0; i < n; i++)
        k += sprintf(text + k, "a = %%U%zu%%\n", i);
    struct owu_inf *inf = load(text, &err);
    CHECK_LOADED(inf, err);
    if (inf) {
        CHECK_INT(owu_inf_warning_count(inf), OWU_INF_MAX_WARNINGS);
        CHECK_CONTAINS(owu_inf_warning(inf, OWU_INF_MAX_WARNINGS - 1), "more warnings not shown");
        CHECK(owu_inf_warning(inf, OWU_INF_MAX_WARNINGS) == NULL);
        owu_inf_free(inf);
    }
    free(text);
}

int main(void)
{
    RUN(test_quotes);
    RUN(test_comments);
    RUN(test_continuation);
    RUN(test_fields);
    RUN(test_percent);
    RUN(test_sections);
    RUN(test_line_endings);
    RUN(test_utf16);
    RUN(test_latin1_and_bom);
    RUN(test_strings_selection);
    RUN(test_substitution);
    RUN(test_limits);
    RUN(test_version_errors);
    RUN(test_hostile_encoding);
    RUN(test_hostile_structure);
    RUN(test_hostile_sizes);
    RUN(test_warning_cap);
    return check_report();
}
