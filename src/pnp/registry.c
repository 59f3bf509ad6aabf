/* The Device Parameters store: location, file locking, atomic rewrites, damage repair and
 * the value API (docs/registry.md). The database and the file text live in
 * registry_db.c and registry_format.c. */
#include <openwinusb/registry.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openwinusb/usb_defs.h>

#include "core/file_read.h"
#include "pnp/registry_internal.h"

struct owu_registry {
    pthread_mutex_t mu;
    struct owu_regdb db;
    bool persistent;
    char *dir, *path, *lock_path, *tmp_path, *bad_path;
    int lock_fd;
    /* The file db was loaded from, held open so its inode number cannot be reused: a
     * different (dev, ino) at the path then always means another process rewrote it. */
    int data_fd;
    bool loaded;            /* db reflects data_fd's file, or file_absent */
    bool file_absent;
    struct stat st;         /* of data_fd at load or write */
    bool damaged;           /* the loaded file had problems; not yet rewritten */
    char *damaged_text;     /* its bytes, kept as the .bad copy when rewriting */
    size_t damaged_len;
    owu_strlist warnings;
    size_t warnings_dropped;
};

/* ---- warnings ---------------------------------------------------------------------- */

static void reg_warn(struct owu_registry *reg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reg_warn(struct owu_registry *reg, const char *fmt, ...)
{
    if (reg->warnings.n >= OWU_REG_MAX_WARNINGS) {
        reg->warnings_dropped++;
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (owu_strlist_add(&reg->warnings, msg) < 0)
        reg->warnings_dropped++;
}

size_t owu_registry_take_warnings(struct owu_registry *reg, owu_strlist *out)
{
    if (!reg || !out)
        return 0;
    pthread_mutex_lock(&reg->mu);
    size_t moved = 0;
    for (size_t i = 0; i < reg->warnings.n; i++)
        if (owu_strlist_add(out, reg->warnings.v[i]) == OWU_OK)
            moved++;
    if (reg->warnings_dropped &&
        owu_strlist_addf(out, "%zu more Device Parameters warnings not listed", reg->warnings_dropped) == OWU_OK)
        moved++;
    owu_strlist_clear(&reg->warnings);
    reg->warnings_dropped = 0;
    pthread_mutex_unlock(&reg->mu);
    return moved;
}

/* ---- location ---------------------------------------------------------------------- */

static char *join(const char *a, const char *b)
{
    char *s = NULL;
    size_t la = strlen(a);
    bool slash = la && a[la - 1] == '/';
    if (asprintf(&s, "%s%s%s", a, slash ? "" : "/", b) < 0)
        return NULL;
    return s;
}

int owu_registry_default_dir(char **dir_out, owu_err *err)
{
    if (!dir_out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_default_dir: NULL argument");
    *dir_out = NULL;
    const char *env = getenv(OWU_REGISTRY_ENV);
    if (env && *env) {
        if (strcasecmp(env, "none") == 0 || strcasecmp(env, "memory") == 0)
            return OWU_OK;
        *dir_out = strdup(env);
        return *dir_out ? OWU_OK : owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/') {
        *dir_out = join(xdg, "openwinusb");
        return *dir_out ? OWU_OK : owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    const char *home = getenv("HOME");
    char pwbuf[4096];
    struct passwd pw, *pwr = NULL;
    if ((!home || home[0] != '/') && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &pwr) == 0 && pwr &&
        pwr->pw_dir && pwr->pw_dir[0] == '/')
        home = pwr->pw_dir;
    if (!home || home[0] != '/')
        return owu_fail(err, OWU_E_NOTFOUND,
                        "no place for Device Parameters: set %s, XDG_STATE_HOME or HOME", OWU_REGISTRY_ENV);
    *dir_out = join(home, ".local/state/openwinusb");
    return *dir_out ? OWU_OK : owu_fail(err, OWU_E_NOMEM, "out of memory");
}

static int errno_status(int e)
{
    return e == ENOENT || e == ENOTDIR ? OWU_E_NOTFOUND : e == EACCES || e == EPERM || e == EROFS ? OWU_E_ACCESS
                                                                                               : OWU_E_IO;
}

/* mkdir -p; the directories it creates are private (0700). */
static int make_dirs(const char *dir, owu_err *err)
{
    char *p = strdup(dir);
    if (!p)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    int rc = OWU_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            int e = errno;
            rc = owu_fail(err, errno_status(e), "%s: cannot create directory: %s", p, strerror(e));
            break;
        }
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    if (rc < 0)
        return rc;
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return owu_fail(err, OWU_E_IO, "%s: not a directory", dir);
    return OWU_OK;
}

/* ---- reading the file -------------------------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void forget_damage(struct owu_registry *reg)
{
    reg->damaged = false;
    free(reg->damaged_text);
    reg->damaged_text = NULL;
    reg->damaged_len = 0;
}

static void close_data(struct owu_registry *reg)
{
    if (reg->data_fd >= 0)
        close(reg->data_fd);
    reg->data_fd = -1;
}

/* Brings db up to date with the file when the file changed since it was loaded. */
static int refresh(struct owu_registry *reg, owu_err *err)
{
    if (!reg->persistent)
        return OWU_OK;
    for (int attempt = 0;; attempt++) {
        struct stat st;
        if (stat(reg->path, &st) < 0) {
            int e = errno;
            if (e != ENOENT)
                return owu_fail(err, errno_status(e), "%s: %s", reg->path, strerror(e));
            if (!(reg->loaded && reg->file_absent)) {
                owu_regdb_clear(&reg->db);
                close_data(reg);
                forget_damage(reg);
                reg->loaded = true;
                reg->file_absent = true;
            }
            return OWU_OK;
        }
        if (reg->loaded && !reg->file_absent && same_file(&st, &reg->st))
            return OWU_OK;
        int fd = open(reg->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == ENOENT && attempt < 3)
                continue;   /* replaced between stat and open */
            return owu_fail(err, errno_status(e), "%s: %s", reg->path, strerror(e));
        }
        struct stat fst;
        char *text = NULL;
        size_t len = 0;
        int rc = fstat(fd, &fst) < 0 ? owu_fail(err, OWU_E_IO, "%s: %s", reg->path, strerror(errno))
                                     : owu_read_fd(fd, OWU_REG_MAX_FILE_SIZE, &text, &len, reg->path, err);
        if (rc == OWU_OK && !S_ISREG(fst.st_mode))
            rc = owu_fail(err, OWU_E_IO, "%s: not a regular file", reg->path);
        if (rc < 0) {
            free(text);
            close(fd);
            return rc;
        }
        struct owu_regdb db;
        struct owu_regdb_report rep = { 0 };
        owu_regdb_init(&db);
        rc = owu_regdb_parse(text, len, reg->path, &db, &rep, err);
        if (rc < 0) {
            owu_regdb_report_clear(&rep);
            free(text);
            close(fd);
            return rc;
        }
        owu_regdb_move(&reg->db, &db);
        close_data(reg);
        reg->data_fd = fd;
        reg->st = fst;
        reg->loaded = true;
        reg->file_absent = false;
        forget_damage(reg);
        if (rep.problems) {
            reg_warn(reg, "%s: damaged (%zu problem%s); the readable values were kept, the file is "
                          "rewritten and the damaged copy saved as %s",
                     reg->path, rep.problems, rep.problems == 1 ? "" : "s", reg->bad_path);
            for (size_t i = 0; i < rep.warnings.n; i++)
                reg_warn(reg, "%s", rep.warnings.v[i]);
            reg->damaged = true;
            reg->damaged_text = text;
            reg->damaged_len = len;
            text = NULL;
        }
        owu_regdb_report_clear(&rep);
        free(text);
        return OWU_OK;
    }
}

/* ---- writing the file -------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* The damaged original, kept for inspection; failing to keep it only costs a warning. */
static void save_bad_copy(struct owu_registry *reg)
{
    int fd = open(reg->bad_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, reg->damaged_text, reg->damaged_len) < 0)
        reg_warn(reg, "%s: could not save the damaged copy: %s", reg->bad_path, strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* Writes db as the new file: temporary file, fsync, rename over, fsync the directory. */
static int commit(struct owu_registry *reg, owu_err *err)
{
    char *text;
    size_t len;
    int rc = owu_regdb_format(&reg->db, &text, &len, err);
    if (rc < 0)
        return rc;
    if (len > OWU_REG_MAX_FILE_SIZE) {
        free(text);
        return owu_fail(err, OWU_E_INVAL, "%s: the store would grow to %zu bytes, more than the limit of %u",
                        reg->path, len, OWU_REG_MAX_FILE_SIZE);
    }
    if (reg->damaged && reg->damaged_text)
        save_bad_copy(reg);
    int fd = open(reg->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(text);
        return owu_fail(err, errno_status(e), "%s: %s", reg->tmp_path, strerror(e));
    }
    struct stat st;
    if (write_all(fd, text, len) < 0 || fsync(fd) < 0 || rename(reg->tmp_path, reg->path) < 0 ||
        fstat(fd, &st) < 0) {
        int e = errno;
        free(text);
        close(fd);
        unlink(reg->tmp_path);
        return owu_fail(err, errno_status(e), "%s: cannot write: %s", reg->path, strerror(e));
    }
    free(text);
    sync_dir(reg->dir);
    close_data(reg);
    reg->data_fd = fd;
    reg->st = st;
    reg->loaded = true;
    reg->file_absent = false;
    forget_damage(reg);
    return OWU_OK;
}

static void flock_ex(struct owu_registry *reg)
{
    while (flock(reg->lock_fd, LOCK_EX) < 0 && errno == EINTR)
        ;
}

static void flock_un(struct owu_registry *reg)
{
    flock(reg->lock_fd, LOCK_UN);
}

/* Rewrites a damaged file (under the file lock, after re-reading it: another process may
 * have repaired it meanwhile). Called with the mutex held. */
static void repair(struct owu_registry *reg)
{
    flock_ex(reg);
    owu_err e;
    if (refresh(reg, &e) == OWU_OK && reg->damaged && commit(reg, &e) < 0) {
        reg_warn(reg, "%s: could not rewrite the damaged file: %s", reg->path, e.msg);
        forget_damage(reg);   /* do not retry on every read; the next write tries again */
    }
    flock_un(reg);
}

/* ---- transactions ------------------------------------------------------------------ */

static int read_begin(struct owu_registry *reg, owu_err *err)
{
    pthread_mutex_lock(&reg->mu);
    int rc = refresh(reg, err);
    if (rc < 0) {
        pthread_mutex_unlock(&reg->mu);
        return rc;
    }
    if (reg->damaged)
        repair(reg);
    return OWU_OK;
}

static void read_end(struct owu_registry *reg)
{
    pthread_mutex_unlock(&reg->mu);
}

struct owu_regdb *owu_registry_write_begin(struct owu_registry *reg, owu_err *err)
{
    pthread_mutex_lock(&reg->mu);
    if (!reg->persistent)
        return &reg->db;
    flock_ex(reg);
    if (refresh(reg, err) < 0) {
        flock_un(reg);
        pthread_mutex_unlock(&reg->mu);
        return NULL;
    }
    return &reg->db;
}

int owu_registry_write_end(struct owu_registry *reg, int rc, bool changed, owu_err *err)
{
    if (reg->persistent) {
        if (rc < 0 && changed) {
            reg->loaded = false;   /* drop the half-made change: re-read on next access */
        } else if ((rc == OWU_OK && changed) || reg->damaged) {
            owu_err e;
            int wrc = commit(reg, &e);
            if (wrc < 0) {
                reg->loaded = false;
                if (rc == OWU_OK) {
                    if (err)
                        *err = e;
                    rc = wrc;
                } else {
                    reg_warn(reg, "%s: could not rewrite the damaged file: %s", reg->path, e.msg);
                }
                forget_damage(reg);
            }
        }
        flock_un(reg);
    }
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

/* ---- opening ----------------------------------------------------------------------- */

static struct owu_registry *reg_new(void)
{
    struct owu_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return NULL;
    pthread_mutex_init(&reg->mu, NULL);
    owu_regdb_init(&reg->db);
    reg->lock_fd = -1;
    reg->data_fd = -1;
    return reg;
}

struct owu_registry *owu_registry_open_memory(void)
{
    return reg_new();
}

int owu_registry_open_dir(const char *dir, struct owu_registry **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_open_dir: NULL argument");
    *out = NULL;
    if (!dir || !*dir)
        return owu_fail(err, OWU_E_INVAL, "Device Parameters directory is empty");
    if (strlen(dir) > PATH_MAX - 64)
        return owu_fail(err, OWU_E_INVAL, "Device Parameters directory path is too long");
    int rc = make_dirs(dir, err);
    if (rc < 0)
        return rc;
    struct owu_registry *reg = reg_new();
    if (!reg)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    reg->persistent = true;
    reg->dir = strdup(dir);
    reg->path = join(dir, OWU_REGISTRY_FILE);
    reg->lock_path = join(dir, OWU_REGISTRY_LOCK_FILE);
    reg->tmp_path = join(dir, OWU_REGISTRY_TEMP_FILE);
    reg->bad_path = join(dir, OWU_REGISTRY_BAD_FILE);
    if (!reg->dir || !reg->path || !reg->lock_path || !reg->tmp_path || !reg->bad_path) {
        owu_registry_close(reg);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    reg->lock_fd = open(reg->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (reg->lock_fd < 0 && (errno == EACCES || errno == EROFS))
        reg->lock_fd = open(reg->lock_path, O_RDONLY | O_CLOEXEC);   /* read-only store */
    if (reg->lock_fd < 0) {
        int e = errno;
        rc = owu_fail(err, errno_status(e), "%s: %s", reg->lock_path, strerror(e));
        owu_registry_close(reg);
        return rc;
    }
    /* Load now, so a newer format or an unreadable file is reported by the open. */
    owu_err e;
    rc = read_begin(reg, &e);
    if (rc < 0) {
        owu_registry_close(reg);
        return owu_fail(err, rc, "%s", e.msg);
    }
    read_end(reg);
    *out = reg;
    return OWU_OK;
}

int owu_registry_open_default(struct owu_registry **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_open_default: NULL argument");
    *out = NULL;
    char *dir = NULL;
    owu_err e;
    int rc = owu_registry_default_dir(&dir, &e);
    if (rc == OWU_E_NOMEM)
        return owu_fail(err, rc, "%s", e.msg);
    if (rc == OWU_OK && dir) {
        rc = owu_registry_open_dir(dir, out, &e);
        free(dir);
        if (rc == OWU_OK)
            return OWU_OK;
        if (rc == OWU_E_NOMEM)
            return owu_fail(err, rc, "%s", e.msg);
    }
    struct owu_registry *reg = owu_registry_open_memory();
    if (!reg)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    if (rc < 0)
        reg_warn(reg, "Device Parameters will not persist: %s", e.msg);
    *out = reg;
    return OWU_OK;
}

void owu_registry_close(struct owu_registry *reg)
{
    if (!reg)
        return;
    owu_regdb_clear(&reg->db);
    close_data(reg);
    if (reg->lock_fd >= 0)
        close(reg->lock_fd);
    forget_damage(reg);
    owu_strlist_clear(&reg->warnings);
    free(reg->dir);
    free(reg->path);
    free(reg->lock_path);
    free(reg->tmp_path);
    free(reg->bad_path);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

const char *owu_registry_file(const struct owu_registry *reg)
{
    return reg && reg->persistent ? reg->path : NULL;
}

/* ---- keys -------------------------------------------------------------------------- */

int owu_registry_create_key(struct owu_registry *reg, const char *instance_id, owu_err *err)
{
    if (!reg)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_create_key: NULL store");
    int rc = owu_registry_check_instance_id(instance_id, err);
    if (rc < 0)
        return rc;
    struct owu_regdb *db = owu_registry_write_begin(reg, err);
    if (!db)
        return err ? err->code : OWU_E_IO;
    bool changed = !owu_regdb_find(db, instance_id);
    struct owu_regkey *k;
    rc = owu_regdb_key(db, instance_id, true, &k, err);
    return owu_registry_write_end(reg, rc, changed && rc == OWU_OK, err);
}

bool owu_registry_key_exists(struct owu_registry *reg, const char *instance_id)
{
    if (!reg || owu_registry_check_instance_id(instance_id, NULL) < 0 || read_begin(reg, NULL) < 0)
        return false;
    bool found = owu_regdb_find(&reg->db, instance_id) != NULL;
    read_end(reg);
    return found;
}

int owu_registry_delete_key(struct owu_registry *reg, const char *instance_id, owu_err *err)
{
    if (!reg)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_delete_key: NULL store");
    int rc = owu_registry_check_instance_id(instance_id, err);
    if (rc < 0)
        return rc;
    struct owu_regdb *db = owu_registry_write_begin(reg, err);
    if (!db)
        return err ? err->code : OWU_E_IO;
    bool changed = owu_regdb_delete_key(db, instance_id);
    rc = changed ? OWU_OK : owu_fail(err, OWU_E_NOTFOUND, "no Device Parameters for %s", instance_id);
    return owu_registry_write_end(reg, rc, changed, err);
}

int owu_registry_list_keys(struct owu_registry *reg, owu_strlist *out, owu_err *err)
{
    if (!reg || !out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_list_keys: NULL argument");
    int rc = read_begin(reg, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < reg->db.n && rc == OWU_OK; i++)
        if (owu_strlist_add(out, reg->db.keys[i].id) < 0)
            rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
    read_end(reg);
    return rc;
}

/* ---- values ------------------------------------------------------------------------ */

void owu_registry_property_clear(struct owu_property *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->data);
    memset(p, 0, sizeof *p);
}

void owu_registry_properties_free(struct owu_property *v, size_t count)
{
    if (!v)
        return;
    for (size_t i = 0; i < count; i++)
        owu_registry_property_clear(&v[i]);
    free(v);
}

static int copy_value(const struct owu_regval *v, struct owu_property *out, owu_err *err)
{
    out->name = strdup(v->name);
    out->data = malloc(v->len ? v->len : 1);
    if (!out->name || !out->data) {
        owu_registry_property_clear(out);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    memcpy(out->data, v->data, v->len);
    out->type = v->type;
    out->len = v->len;
    return OWU_OK;
}

static int check_args(struct owu_registry *reg, const char *instance_id, const char *name, owu_err *err)
{
    if (!reg)
        return owu_fail(err, OWU_E_INVAL, "NULL Device Parameters store");
    int rc = owu_registry_check_instance_id(instance_id, err);
    if (rc == OWU_OK)
        rc = owu_regdb_check_name(name, err);
    return rc;
}

int owu_registry_get_value(struct owu_registry *reg, const char *instance_id, const char *name,
                           struct owu_property *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_get_value: NULL argument");
    memset(out, 0, sizeof *out);
    int rc = check_args(reg, instance_id, name, err);
    if (rc < 0)
        return rc;
    rc = read_begin(reg, err);
    if (rc < 0)
        return rc;
    const struct owu_regkey *k = owu_regdb_find(&reg->db, instance_id);
    const struct owu_regval *v = k ? owu_regkey_find(k, name) : NULL;
    char pn[OWU_REGDB_PRINTABLE_SIZE];
    if (!v)
        rc = owu_fail(err, OWU_E_NOTFOUND, "%s: no value \"%s\" in Device Parameters", instance_id,
                      owu_regdb_printable(name, pn, sizeof pn));
    else
        rc = copy_value(v, out, err);
    read_end(reg);
    return rc;
}

int owu_registry_set_value(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint32_t type, const void *data, size_t len, owu_err *err)
{
    int rc = check_args(reg, instance_id, name, err);
    if (rc == OWU_OK)
        rc = owu_registry_check_value(type, data, len, err);
    if (rc < 0)
        return rc;
    struct owu_regdb *db = owu_registry_write_begin(reg, err);
    if (!db)
        return err ? err->code : OWU_E_IO;
    struct owu_regkey *k;
    rc = owu_regdb_key(db, instance_id, true, &k, err);
    if (rc == OWU_OK)
        rc = owu_regkey_set(k, name, type, data, len, err);
    return owu_registry_write_end(reg, rc, true, err);
}

int owu_registry_delete_value(struct owu_registry *reg, const char *instance_id, const char *name,
                              owu_err *err)
{
    int rc = check_args(reg, instance_id, name, err);
    if (rc < 0)
        return rc;
    struct owu_regdb *db = owu_registry_write_begin(reg, err);
    if (!db)
        return err ? err->code : OWU_E_IO;
    struct owu_regkey *k = owu_regdb_find(db, instance_id);
    bool changed = k && owu_regkey_delete(k, name);
    char pn[OWU_REGDB_PRINTABLE_SIZE];
    rc = changed ? OWU_OK
                 : owu_fail(err, OWU_E_NOTFOUND, "%s: no value \"%s\" in Device Parameters", instance_id,
                            owu_regdb_printable(name, pn, sizeof pn));
    return owu_registry_write_end(reg, rc, changed, err);
}

int owu_registry_enum_values(struct owu_registry *reg, const char *instance_id,
                             struct owu_property **out, size_t *count, owu_err *err)
{
    if (!out || !count)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_enum_values: NULL argument");
    *out = NULL;
    *count = 0;
    int rc = check_args(reg, instance_id, "", err);
    if (rc < 0)
        return rc;
    rc = read_begin(reg, err);
    if (rc < 0)
        return rc;
    const struct owu_regkey *k = owu_regdb_find(&reg->db, instance_id);
    if (!k) {
        rc = owu_fail(err, OWU_E_NOTFOUND, "no Device Parameters for %s", instance_id);
    } else if (k->n) {
        struct owu_property *v = calloc(k->n, sizeof *v);
        if (!v)
            rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
        for (size_t i = 0; v && i < k->n; i++) {
            rc = copy_value(&k->v[i], &v[i], err);
            if (rc < 0) {
                owu_registry_properties_free(v, i);
                v = NULL;
            }
        }
        if (v) {
            *out = v;
            *count = k->n;
        }
    }
    read_end(reg);
    return rc;
}

/* ---- typed access ------------------------------------------------------------------ */

/* Gets a value that must have one of two types (want2 may equal want1); NOTFOUND when
 * absent, INVAL naming both types when it has another. */
static int get_typed(struct owu_registry *reg, const char *id, const char *name, uint32_t want1,
                     uint32_t want2, struct owu_property *p, owu_err *err)
{
    int rc = owu_registry_get_value(reg, id, name, p, err);
    if (rc < 0)
        return rc;
    if (p->type != want1 && p->type != want2) {
        char got[32], pn[OWU_REGDB_PRINTABLE_SIZE];
        snprintf(got, sizeof got, "%s", owu_registry_type_name(p->type));
        rc = owu_fail(err, OWU_E_INVAL, "%s: Device Parameters value \"%s\" is %s, expected %s", id,
                      owu_regdb_printable(name, pn, sizeof pn), got, owu_registry_type_name(want1));
        owu_registry_property_clear(p);
    }
    return rc;
}

int owu_registry_get_dword(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint32_t def, uint32_t *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_get_dword: NULL argument");
    *out = def;
    struct owu_property p;
    int rc = get_typed(reg, instance_id, name, OWU_REG_DWORD, OWU_REG_DWORD, &p, err);
    if (rc == OWU_E_NOTFOUND)
        return OWU_OK;
    if (rc < 0)
        return rc;
    *out = owu_le32(p.data);
    owu_registry_property_clear(&p);
    return OWU_OK;
}

int owu_registry_get_qword(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint64_t def, uint64_t *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_get_qword: NULL argument");
    *out = def;
    struct owu_property p;
    int rc = get_typed(reg, instance_id, name, OWU_REG_QWORD, OWU_REG_QWORD, &p, err);
    if (rc == OWU_E_NOTFOUND)
        return OWU_OK;
    if (rc < 0)
        return rc;
    *out = (uint64_t)owu_le32(p.data) | (uint64_t)owu_le32(p.data + 4) << 32;
    owu_registry_property_clear(&p);
    return OWU_OK;
}

int owu_registry_get_string(struct owu_registry *reg, const char *instance_id, const char *name,
                            char **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_get_string: NULL argument");
    *out = NULL;
    struct owu_property p;
    int rc = get_typed(reg, instance_id, name, OWU_REG_SZ, OWU_REG_EXPAND_SZ, &p, err);
    if (rc < 0)
        return rc;
    *out = (char *)p.data;   /* checked on the way in: NUL-terminated, no inner NUL */
    free(p.name);
    return OWU_OK;
}

int owu_registry_get_multi_sz(struct owu_registry *reg, const char *instance_id, const char *name,
                              owu_strlist *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_get_multi_sz: NULL argument");
    struct owu_property p;
    int rc = get_typed(reg, instance_id, name, OWU_REG_MULTI_SZ, OWU_REG_MULTI_SZ, &p, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i + 1 < p.len && rc == OWU_OK;) {
        const char *s = (const char *)p.data + i;
        if (owu_strlist_add(out, s) < 0)
            rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
        i += strlen(s) + 1;
    }
    owu_registry_property_clear(&p);
    return rc;
}

int owu_registry_set_dword(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint32_t v, owu_err *err)
{
    uint8_t b[4];
    owu_put_le32(b, v);
    return owu_registry_set_value(reg, instance_id, name, OWU_REG_DWORD, b, 4, err);
}

int owu_registry_set_qword(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint64_t v, owu_err *err)
{
    uint8_t b[8];
    owu_put_le32(b, (uint32_t)v);
    owu_put_le32(b + 4, (uint32_t)(v >> 32));
    return owu_registry_set_value(reg, instance_id, name, OWU_REG_QWORD, b, 8, err);
}

int owu_registry_set_string(struct owu_registry *reg, const char *instance_id, const char *name,
                            const char *s, owu_err *err)
{
    if (!s)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_set_string: NULL string");
    return owu_registry_set_value(reg, instance_id, name, OWU_REG_SZ, s, strlen(s) + 1, err);
}

int owu_registry_set_multi_sz(struct owu_registry *reg, const char *instance_id, const char *name,
                              const char *const *v, size_t n, owu_err *err)
{
    if (n && !v)
        return owu_fail(err, OWU_E_INVAL, "owu_registry_set_multi_sz: NULL list");
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        char pi[OWU_REGDB_PRINTABLE_SIZE], pn[OWU_REGDB_PRINTABLE_SIZE];
        if (!v[i] || !*v[i])
            return owu_fail(err, OWU_E_INVAL, "%s: REG_MULTI_SZ \"%s\": string %zu is %s",
                            owu_regdb_printable(instance_id, pi, sizeof pi),
                            owu_regdb_printable(name, pn, sizeof pn), i, v[i] ? "empty" : "NULL");
        size_t l = strlen(v[i]);
        if (l > OWU_REG_MAX_VALUE_LEN)
            return owu_fail(err, OWU_E_INVAL, "REG_MULTI_SZ value: string %zu is too long", i);
        len += l + 1;
        if (len > OWU_REG_MAX_VALUE_LEN + 1)
            return owu_fail(err, OWU_E_INVAL, "REG_MULTI_SZ value: more than %u bytes", OWU_REG_MAX_VALUE_LEN);
    }
    uint8_t *buf = malloc(len);
    if (!buf)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]) + 1;
        memcpy(buf + o, v[i], l);
        o += l;
    }
    buf[o++] = '\0';
    int rc = owu_registry_set_value(reg, instance_id, name, OWU_REG_MULTI_SZ, buf, o, err);
    free(buf);
    return rc;
}
