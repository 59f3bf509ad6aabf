/* openwinusb: Windows INF files — parser and the queries driver selection needs.
 *
 * Three layers (shared/reference/pnp-ids.md §2.4, §4; decisions in docs/inf.md):
 *
 *   1. Loading: bytes (UTF-8, ANSI read as Latin-1, UTF-16LE/BE with BOM) are decoded to
 *      UTF-8, split into sections and entries (key, comma-separated fields; quotes removed,
 *      comments and continuations handled), duplicate sections merged, and every
 *      %strkey% token outside the [Strings*] sections replaced from the one Strings
 *      section chosen for the LANGID. [Version] is checked: a missing or wrong Signature
 *      fails the load. Non-fatal problems become warnings ("name.inf:12: ...").
 *   2. Generic access: sections by name (case-insensitive), entries with line numbers.
 *   3. Semantic queries for a target (architecture, OS version): the Models lines of the
 *      decorated Models sections [Manufacturer] selects, and the resolved DDInstall of a
 *      Models line with Include/Needs expanded through a caller-supplied resolver.
 *
 * Strings returned by owu_inf_* accessors on a loaded INF live as long as the INF.
 * Query results (struct owu_inf_models, struct owu_inf_install) own copies of all their
 * strings: they stay valid after the INF (and any included INF) is freed, until their
 * own *_free.
 */
#ifndef OPENWINUSB_INF_H
#define OPENWINUSB_INF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds on untrusted input. Exceeding one fails the load with OWU_E_PARSE. */
#define OWU_INF_MAX_FILE_SIZE (4u << 20)  /* bytes of the file as stored */
#define OWU_INF_MAX_FIELD_LEN 4096u       /* characters in one field, before and after
                                             %strkey% substitution */
#define OWU_INF_MAX_FIELDS 4096u          /* fields in one entry */
#define OWU_INF_MAX_LINES 1000000u        /* physical lines */
#define OWU_INF_MAX_SECTION_NAME 255u     /* characters in a section name */
#define OWU_INF_MAX_WARNINGS 1000u        /* kept per INF; later ones are counted only */

/* ---------------------------------------------------------------------------------------
 * Loading
 */

struct owu_inf;

enum {
    /* Recoverable lexical problems (unterminated quote, text after "]", entry before the
     * first section) fail the load instead of becoming warnings. */
    OWU_INF_STRICT = 1u << 0,
};

struct owu_inf_options {
    uint16_t langid;      /* picks [Strings.LLLL] (pnp-ids.md §4.2); default 0x0409 */
    unsigned flags;       /* OWU_INF_STRICT */
    size_t max_size;      /* file size limit in bytes; 0 = OWU_INF_MAX_FILE_SIZE */
};

void owu_inf_options_default(struct owu_inf_options *opt);

/* Parses an INF held in memory. `name` (e.g. "usbser.inf") names the file in messages
 * and in owu_inf_name(); opt may be NULL (defaults). On success *out is a new INF to
 * release with owu_inf_free; on failure *out is NULL and err says "name:line: problem". */
int owu_inf_load_mem(const char *name, const void *data, size_t len,
                     const struct owu_inf_options *opt, struct owu_inf **out, owu_err *err);

/* Reads and parses a file; the INF's name is the path's last component. */
int owu_inf_load_file(const char *path, const struct owu_inf_options *opt,
                      struct owu_inf **out, owu_err *err);

void owu_inf_free(struct owu_inf *inf);

const char *owu_inf_name(const struct owu_inf *inf);

/* Warnings collected while loading, each "name.inf:LINE: message" (or "name.inf: ..."). */
size_t owu_inf_warning_count(const struct owu_inf *inf);
const char *owu_inf_warning(const struct owu_inf *inf, size_t i);

/* ---------------------------------------------------------------------------------------
 * Generic access
 */

struct owu_inf_section;

/* One line (or continued lines) of a section. Key and fields have quotes removed, outer
 * unquoted whitespace trimmed and, outside [Strings*], %strkey% tokens substituted.
 * `a,,c` gives three fields, the middle one "". A line that is only "key =" has no field. */
struct owu_inf_entry {
    unsigned line;              /* 1-based physical line the entry starts on */
    const char *key;            /* text before '=', or NULL for a line without one */
    const char *const *fields;
    size_t num_fields;
};

/* Case-insensitive (ASCII) lookup; duplicate sections were merged in file order. */
const struct owu_inf_section *owu_inf_find_section(const struct owu_inf *inf, const char *name);
size_t owu_inf_section_count(const struct owu_inf *inf);
const struct owu_inf_section *owu_inf_section_at(const struct owu_inf *inf, size_t i);
const char *owu_inf_section_name(const struct owu_inf_section *s);   /* first spelling */
unsigned owu_inf_section_line(const struct owu_inf_section *s);      /* first header line */
size_t owu_inf_entry_count(const struct owu_inf_section *s);
const struct owu_inf_entry *owu_inf_entry_at(const struct owu_inf_section *s, size_t i);
/* First entry whose key equals `key` (case-insensitive), or NULL. */
const struct owu_inf_entry *owu_inf_find_entry(const struct owu_inf_section *s, const char *key);
/* First field of the first `key` entry of `section`; NULL when absent or without field. */
const char *owu_inf_get_value(const struct owu_inf *inf, const char *section, const char *key);

/* The Strings section chosen for the LANGID (NULL when the INF has none) and the value of
 * a string key in it (case-insensitive; NULL when undefined). */
const char *owu_inf_strings_section(const struct owu_inf *inf);
const char *owu_inf_string(const struct owu_inf *inf, const char *key);

/* ---------------------------------------------------------------------------------------
 * [Version]
 */

struct owu_inf_driver_ver {
    bool present;               /* a DriverVer directive was found */
    uint16_t year;              /* 0/0/0 when absent or invalid (warning) */
    uint8_t month, day;
    uint16_t version[4];        /* w.x.y.z, each 0..65534; missing parts 0 */
};

/* Orders driver versions the way ranking tie-breaks do (pnp-ids.md §2.3): by date, then
 * by version. Returns <0, 0, >0 as a is older than, equal to, newer than b. */
int owu_inf_driver_ver_cmp(const struct owu_inf_driver_ver *a, const struct owu_inf_driver_ver *b);

struct owu_inf_version {
    const char *signature;      /* "$Windows NT$" or "$Chicago$" (any case) */
    const char *class_name;     /* Class, or NULL */
    const char *class_guid;     /* ClassGuid as written, or NULL */
    const char *provider;       /* Provider after substitution, or NULL */
    const char *catalog_file;   /* undecorated CatalogFile, or NULL */
    struct owu_inf_driver_ver driver_ver;
    int pnp_lockdown;           /* PnpLockdown value, -1 when absent */
};

const struct owu_inf_version *owu_inf_get_version(const struct owu_inf *inf);

/* ---------------------------------------------------------------------------------------
 * Target platform
 */

enum owu_inf_arch {
    OWU_INF_ARCH_X86,
    OWU_INF_ARCH_AMD64,
    OWU_INF_ARCH_IA64,
    OWU_INF_ARCH_ARM,
    OWU_INF_ARCH_ARM64,
};

struct owu_inf_target {
    enum owu_inf_arch arch;
    unsigned major, minor;      /* OS version: 10.0, 6.3, 6.1 ... */
    unsigned build;             /* OS build number (19041) */
    unsigned product_type;      /* 1 workstation, 2 domain controller, 3 server */
    uint32_t suite_mask;        /* VER_SUITE_* bits the OS has */
};

/* amd64, Windows 10.0 build 19041, workstation, no suite bits. */
void owu_inf_target_default(struct owu_inf_target *t);
/* "x86", "amd64", "ia64", "arm", "arm64". */
const char *owu_inf_arch_name(enum owu_inf_arch arch);
/* Parses an architecture name (case-insensitive; "x64" means amd64). */
int owu_inf_arch_parse(const char *s, enum owu_inf_arch *out);

/* CatalogFile.NT<arch>, else CatalogFile.NT, else CatalogFile; NULL when none. */
const char *owu_inf_catalog_file(const struct owu_inf *inf, const struct owu_inf_target *t);

/* ---------------------------------------------------------------------------------------
 * [Manufacturer] and Models
 */

struct owu_inf_manufacturer {
    const char *name;           /* manufacturer name (key, substituted); the Models name
                                   when the entry has no key */
    const char *models;         /* undecorated Models section name */
    const char *decoration;     /* chosen TargetOSVersion as written ("NTamd64.6.1"), ""
                                   for the undecorated section, NULL when none applies */
    const char *section;        /* section actually read ("Models.NTamd64.6.1"), NULL when
                                   none applies */
    bool section_found;         /* that section exists in the INF */
    unsigned line;
};

struct owu_inf_model {
    const char *manufacturer;
    const char *section;        /* Models section the line is in */
    const char *description;
    const char *install;        /* DDInstall section name as written */
    const char *hardware_id;    /* "" when the line gives none */
    const char *const *compatible_ids;
    size_t num_compatible_ids;
    unsigned line;
};

struct owu_inf_models {
    struct owu_inf_manufacturer *manufacturers;
    size_t num_manufacturers;
    struct owu_inf_model *models;      /* in manufacturer order, then file order */
    size_t num_models;
    const char *const *warnings;       /* "name.inf:LINE: ..." */
    size_t num_warnings;
    void *priv_;
};

/* Chooses, per [Manufacturer] entry, the Models section that applies to `t` (NULL:
 * owu_inf_target_default) and lists its lines. An INF without [Manufacturer] gives an
 * empty list. */
int owu_inf_get_models(const struct owu_inf *inf, const struct owu_inf_target *t,
                       struct owu_inf_models **out, owu_err *err);
void owu_inf_models_free(struct owu_inf_models *m);

/* ---------------------------------------------------------------------------------------
 * DDInstall
 */

/* Gives other INFs named by Include= ("winusb.inf", "usb.inf", "mdmcpq.inf"). lookup
 * returns the parsed INF (still owned by the resolver, valid at least until the call
 * that asked returns) or NULL when it has none (the query then records a warning). */
struct owu_inf_resolver {
    const struct owu_inf *(*lookup)(void *ctx, const char *inf_name);
    void *ctx;
};

/* AddReg flag bits (pnp-ids.md §4.7). The type bits are decoded into owu_inf_reg.type. */
#define OWU_INF_FLG_BINVALUETYPE 0x00000001u
#define OWU_INF_FLG_NOCLOBBER 0x00000002u
#define OWU_INF_FLG_DELVAL 0x00000004u
#define OWU_INF_FLG_APPEND 0x00000008u
#define OWU_INF_FLG_KEYONLY 0x00000010u
#define OWU_INF_FLG_OVERWRITEONLY 0x00000020u
#define OWU_INF_FLG_64BITKEY 0x00001000u
#define OWU_INF_FLG_KEYONLY_COMMON 0x00002000u
#define OWU_INF_FLG_32BITKEY 0x00004000u
#define OWU_INF_FLG_TYPE_MASK 0xFFFF0001u

/* One AddReg line, typed. */
struct owu_inf_reg {
    const char *inf;            /* INF the line is in */
    unsigned line;
    const char *root;           /* "HKR", "HKLM", "HKCU", "HKCR", "HKU" */
    const char *subkey;         /* "" when none */
    const char *name;           /* value name; "" for the key's default value */
    uint32_t flags;             /* the flags field as written (0 when empty) */
    uint32_t type;              /* Windows REG_* number: REG_NONE 0, REG_SZ 1,
                                   REG_EXPAND_SZ 2, REG_BINARY 3, REG_DWORD 4,
                                   REG_MULTI_SZ 7, REG_QWORD 11, or a custom type */
    bool has_value;             /* the line gave value fields */
    /* REG_SZ / REG_EXPAND_SZ: UTF-8 with its NUL (len includes it); REG_MULTI_SZ: each
     * string NUL-terminated plus a final NUL; REG_DWORD: 4 bytes, REG_QWORD: 8 bytes,
     * little-endian; binary types: the bytes. Never NULL. */
    const uint8_t *data;
    size_t len;
    uint64_t number;            /* REG_DWORD / REG_QWORD value, else 0 */
};

/* One AddService directive of a .Services section, with its service-install section. */
struct owu_inf_service {
    const char *inf;
    unsigned line;
    const char *name;           /* "" for a NULL driver (AddService = ,2) */
    uint32_t flags;             /* 0x2 = SPSVCINST_ASSOCSERVICE (function driver) */
    const char *install_section;    /* "" when none */
    const char *eventlog_section;   /* "" when none */
    /* From the service-install section (NULL / -1 when absent): */
    const char *display_name;
    const char *service_binary;     /* e.g. "%12%\WinUSB.sys" (DIRID tokens kept) */
    const char *load_order_group;
    long service_type, start_type, error_control;
};

/* One AddInterface directive of a .Interfaces section. */
struct owu_inf_interface {
    const char *inf;
    unsigned line;
    const char *guid;           /* "{...}" as written */
    const char *reference;      /* "" when none */
    const char *install_section;/* "" when none */
    uint32_t flags;
};

/* A directive with the INF it came from (Needs may pull lines out of included INFs). */
struct owu_inf_directive {
    const char *inf;
    unsigned line;
    const char *key;
    const char *const *fields;
    size_t num_fields;
};

/* A section (or "@file") named by a CopyFiles directive, with the INF it belongs to. */
struct owu_inf_ref {
    const char *inf;
    const char *name;
};

struct owu_inf_install {
    const char *name;           /* the name asked for (from the Models line) */
    const char *section;        /* resolved section: "DriverInstall.NTamd64" */
    const char *inf;            /* INF holding it */
    const char *suffix;         /* what resolution appended, canonically spelled:
                                   ".NTamd64" (for the target's arch), ".NT" or "" */
    bool nt_decorated;          /* the resolved name ends in .NT or .NT<arch> (signature
                                   score of unsigned packages, pnp-ids.md §4.6) */
    unsigned feature_score;     /* first FeatureScore of the section; 0xFF when absent */
    struct owu_inf_driver_ver driver_ver;  /* the section's DriverVer, else [Version]'s */
    bool driver_ver_override;   /* the section had its own DriverVer */
    const char *const *exclude_ids;
    size_t num_exclude_ids;
    const char *const *includes;    /* Include= names of the section */
    size_t num_includes;
    const char *const *needs;       /* Needs= names of the section */
    size_t num_needs;

    /* Effective lists, Needs sections expanded in place (pnp-ids.md §2.4): */
    struct owu_inf_directive *directives;   /* every other directive, in order */
    size_t num_directives;
    struct owu_inf_reg *addreg;             /* AddReg lines (software key) */
    size_t num_addreg;
    struct owu_inf_ref *copyfiles;
    size_t num_copyfiles;

    const char *services_section;   /* "<section>.Services" when present, else NULL */
    struct owu_inf_service *services;
    size_t num_services;
    /* Name of the AddService with flag 0x2 ("" for a NULL driver); NULL when none. */
    const char *function_driver;

    const char *hw_section;         /* "<section>.HW" when present, else NULL */
    struct owu_inf_reg *hw_addreg;  /* AddReg lines of .HW (hardware key) */
    size_t num_hw_addreg;

    const char *interfaces_section; /* "<section>.Interfaces" when present, else NULL */
    struct owu_inf_interface *interfaces;
    size_t num_interfaces;

    const char *const *warnings;    /* missing includes, sections, malformed lines */
    size_t num_warnings;
    void *priv_;
};

/* Resolves DDInstall section `install` for `t` (NULL: default target): tries
 * install.NT<arch>, install.NT, install; then reads the section, its .Services, .HW and
 * .Interfaces extensions with the same suffix, expanding Needs through `resolver` (may be
 * NULL: includes then only produce warnings). OWU_E_NOTFOUND when no candidate exists. */
int owu_inf_get_install(const struct owu_inf *inf, const char *install,
                        const struct owu_inf_target *t, const struct owu_inf_resolver *resolver,
                        struct owu_inf_install **out, owu_err *err);
void owu_inf_install_free(struct owu_inf_install *in);

/* Parses one AddReg line given as its fields (root, subkey, value name, flags, values...)
 * — e.g. an entry of a ClassInstall32 AddReg section. Returns a single malloc'd block
 * (the struct and everything it points to; inf = "", line = 0) to release with free(),
 * or NULL with err set (OWU_E_PARSE: which field is wrong; OWU_E_NOMEM). */
struct owu_inf_reg *owu_inf_reg_parse(const char *const *fields, size_t num_fields, owu_err *err);

#ifdef __cplusplus
}
#endif
#endif
