/* The user driver store on disk: where it is, reading it, adding and removing packages
 * (docs/driver-store.md). Adding writes a temporary file in the store directory and moves it
 * into place, so a package file is never seen half-written. */
#include <openwinusb/driverstore.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_read.h"
#include "pnp/store_internal.h"

#define STORE_SUBDIR "openwinusb/drivers"

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool eq_ci(const char *a, const char *b)
{
    for (;; a++, b++) {
        if (fold((unsigned char)*a) != fold((unsigned char)*b))
            return false;
        if (!*a)
            return true;
    }
}

static bool ends_with_inf(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && eq_ci(name + n - 4, ".inf");
}

static int errno_status(int e)
{
    return e == ENOENT || e == ENOTDIR ? OWU_E_NOTFOUND
           : e == EACCES || e == EPERM || e == EROFS ? OWU_E_ACCESS
           : e == ENOMEM ? OWU_E_NOMEM
                         : OWU_E_IO;
}

/* ---- where the store is ----------------------------------------------------------------- */

/* Environment values are untrusted: bounded, and XDG_DATA_HOME only when absolute (the XDG
 * base directory rule: a relative value is ignored). */
static const char *env_path(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v || strnlen(v, PATH_MAX) >= PATH_MAX)
        return NULL;
    return v;
}

int owu_driver_store_default_dir(char **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_driver_store_default_dir: NULL argument");
    *out = NULL;
    const char *v = env_path(OWU_DRIVER_STORE_ENV);
    char *s = NULL;
    if (v) {
        s = strdup(v);
    } else if ((v = env_path("XDG_DATA_HOME")) && v[0] == '/') {
        if (asprintf(&s, "%s/%s", v, STORE_SUBDIR) < 0)
            s = NULL;
    } else {
        const char *home = env_path("HOME");
        char buf[4096];
        struct passwd pw, *res = NULL;
        if (!home && getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res &&
            res->pw_dir && res->pw_dir[0] == '/')
            home = res->pw_dir;
        if (!home)
            return owu_fail(err, OWU_E_NOTFOUND,
                            "no user driver store: set " OWU_DRIVER_STORE_ENV
                            " (neither XDG_DATA_HOME nor HOME is set)");
        if (asprintf(&s, "%s/.local/share/%s", home, STORE_SUBDIR) < 0)
            s = NULL;
    }
    if (!s)
        return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
    *out = s;
    return OWU_OK;
}

/* ---- reading the directory -------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    for (const char *p = x, *q = y;; p++, q++) {
        int c = fold((unsigned char)*p) - fold((unsigned char)*q);
        if (c || !*p)
            return c ? c : strcmp(x, y);
    }
}

/* A file name the store accepts as a package: "<something>.inf", not hidden (temporary files
 * of an add in progress start with '.'), printable, at most 255 bytes. */
static bool valid_package_name(const char *name, const char **why)
{
    size_t n = strnlen(name, 256);
    if (n > 255) {
        *why = "is longer than 255 bytes";
        return false;
    }
    if (!ends_with_inf(name)) {
        *why = "does not end in \".inf\"";
        return false;
    }
    if (name[0] == '.') {
        *why = "starts with '.'";
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7F || *p == '/' || *p == '\\') {
            *why = "contains a control character or a path separator";
            return false;
        }
    return true;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The package file names in the directory, sorted. A missing directory is empty. */
static int list_dir(const char *dir, char ***out, size_t *out_n, owu_strlist *warnings,
                    owu_err *err)
{
    *out = NULL;
    *out_n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        if (e == ENOENT)
            return OWU_OK;
        if (warnings)
            return owu_strlist_addf(warnings, "%s: driver store not readable: %s", dir,
                                    strerror(e)) < 0
                       ? owu_fail(err, OWU_E_NOMEM, "driver store: out of memory")
                       : OWU_OK;
        return owu_fail(err, errno_status(e), "%s: driver store not readable: %s", dir,
                        strerror(e));
    }
    char **names = NULL;
    size_t n = 0, cap = 0, skipped = 0;
    int rc = OWU_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *why;
        if (de->d_name[0] == '.' || !ends_with_inf(de->d_name) ||
            !valid_package_name(de->d_name, &why))
            continue;
        if (n >= OWU_DRIVER_STORE_MAX_PACKAGES) {
            skipped++;
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **v = realloc(names, ncap * sizeof *v);
            if (!v) {
                rc = OWU_E_NOMEM;
                break;
            }
            names = v;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = OWU_E_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == OWU_OK && skipped && warnings &&
        owu_strlist_addf(warnings, "%s: %zu more .inf files skipped (the store reads at most %u)",
                         dir, skipped, OWU_DRIVER_STORE_MAX_PACKAGES) < 0)
        rc = OWU_E_NOMEM;
    if (rc < 0) {
        free_names(names, n);
        return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *out_n = n;
    return OWU_OK;
}

static char *join(const char *dir, const char *name)
{
    char *s = NULL;
    return asprintf(&s, "%s/%s", dir, name) < 0 ? NULL : s;
}

static int load_inf_options(const struct owu_driver_store *s, struct owu_inf_options *io)
{
    owu_inf_options_default(io);
    io->langid = s->opt.langid;
    return OWU_OK;
}

int store_load_dir(struct owu_driver_store *s, owu_err *err)
{
    char **names = NULL;
    size_t n = 0;
    int rc = list_dir(s->dir, &names, &n, &s->load_warnings, err);
    if (rc < 0)
        return rc;
    struct owu_inf_options io;
    load_inf_options(s, &io);
    for (size_t i = 0; i < n && rc == OWU_OK; i++) {
        const char *name = names[i];
        const char *problem = NULL;
        if (store_is_inbox_name(name))
            problem = "skipped: the name belongs to an in-box package";
        else if (store_find_index(s, name) != (size_t)-1)
            problem = "skipped: another file of the store has this name in another case";
        if (problem) {
            if (owu_strlist_addf(&s->load_warnings, "%s: %s", name, problem) < 0)
                rc = OWU_E_NOMEM;
            continue;
        }
        char *path = join(s->dir, name);
        if (!path) {
            rc = OWU_E_NOMEM;
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            if (owu_strlist_addf(&s->load_warnings, "%s: skipped: not a regular file", path) < 0)
                rc = OWU_E_NOMEM;
            free(path);
            continue;
        }
        struct owu_inf *inf = NULL;
        owu_err le = {0};
        int lrc = owu_inf_load_file(path, &io, &inf, &le);
        if (lrc == OWU_E_NOMEM) {
            rc = lrc;
        } else if (lrc < 0) {
            if (owu_strlist_addf(&s->load_warnings, "%s: skipped, does not load: %s", name,
                                 le.msg) < 0)
                rc = OWU_E_NOMEM;
        } else {
            struct store_pkg *p = store_pkg_new(name, path, inf, false, OWU_PKG_UNSIGNED);
            if (!p) {
                owu_inf_free(inf);
                rc = OWU_E_NOMEM;
            } else {
                rc = store_insert_pkg(s, p, NULL);
            }
        }
        free(path);
    }
    free_names(names, n);
    if (rc < 0)
        return owu_fail(err, rc, "driver store: out of memory reading %s", s->dir);
    return OWU_OK;
}

/* ---- add -------------------------------------------------------------------------------- */

static int mkdir_p(const char *dir, owu_err *err)
{
    char *p = strdup(dir);
    if (!p)
        return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
    int rc = OWU_OK;
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q)
            continue;
        char c = *q;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            rc = owu_fail(err, errno_status(e), "cannot create driver store directory %s: %s", p,
                          strerror(e));
            break;
        }
        *q = c;
        if (!c)
            break;
    }
    free(p);
    if (rc == OWU_OK) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = owu_fail(err, OWU_E_IO, "driver store %s is not a directory", dir);
    }
    return rc;
}

/* A file of the directory whose name equals `name` ignoring case (the store is
 * case-insensitive like Windows' INF directory), as a malloc'd name, or NULL. */
static int find_ci(const char *dir, const char *name, char **found, owu_err *err)
{
    *found = NULL;
    char **names = NULL;
    size_t n = 0;
    int rc = list_dir(dir, &names, &n, NULL, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (eq_ci(names[i], name)) {
            *found = names[i];
            names[i] = NULL;
            break;
        }
    }
    free_names(names, n);
    return OWU_OK;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Writes data to a new hidden temporary file of the directory; *tmp_out gets its path. */
static int write_temp(const char *dir, const char *name, const char *data, size_t len,
                      char **tmp_out, owu_err *err)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0)
        return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return owu_fail(err, errno_status(e), "cannot write to driver store %s: %s", dir,
                        strerror(e));
    }
    int rc = OWU_OK;
    if (write_all(fd, data, len) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        int e = errno;
        rc = owu_fail(err, errno_status(e), "cannot write %s: %s", tmp, strerror(e));
    }
    if (close(fd) != 0 && rc == OWU_OK) {
        int e = errno;
        rc = owu_fail(err, errno_status(e), "cannot write %s: %s", tmp, strerror(e));
    }
    if (rc < 0) {
        unlink(tmp);
        free(tmp);
        return rc;
    }
    *tmp_out = tmp;
    return OWU_OK;
}

/* At least one Models line for some architecture (the package may target another one than
 * the store's). */
static int has_models(const struct owu_driver_store *s, const struct owu_inf *inf, owu_err *err)
{
    static const enum owu_inf_arch arches[] = {OWU_INF_ARCH_X86, OWU_INF_ARCH_AMD64,
                                               OWU_INF_ARCH_ARM64, OWU_INF_ARCH_ARM,
                                               OWU_INF_ARCH_IA64};
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
        struct owu_inf_target t = s->opt.target;
        t.arch = arches[i];
        struct owu_inf_models *m = NULL;
        int rc = owu_inf_get_models(inf, &t, &m, err);
        if (rc < 0)
            return rc;
        size_t n = m->num_models;
        owu_inf_models_free(m);
        if (n)
            return OWU_OK;
    }
    return owu_fail(err, OWU_E_PARSE,
                    "%s: not a driver package: [Manufacturer] gives no Models line for any "
                    "architecture on Windows %u.%u",
                    owu_inf_name(inf), s->opt.target.major, s->opt.target.minor);
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

int owu_driver_store_add_file(struct owu_driver_store *s, const char *path, unsigned flags,
                              const struct owu_driver_package **added, owu_err *err)
{
    if (added)
        *added = NULL;
    if (!s || !path)
        return owu_fail(err, OWU_E_INVAL, "owu_driver_store_add_file: NULL argument");
    if (!s->dir)
        return owu_fail(err, OWU_E_INVAL, "the driver store has no user directory to add to");
    const char *name = base_name(path);
    const char *why = NULL;
    if (!valid_package_name(name, &why))
        return owu_fail(err, OWU_E_INVAL, "%.200s: not added: the file name %s", path, why);
    if (store_is_inbox_name(name))
        return owu_fail(err, OWU_E_ACCESS,
                        "%.200s: not added: \"%s\" is the name of an in-box package; rename "
                        "the file", path, name);

    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return owu_fail(err, errno_status(e), "%.200s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return owu_fail(err, OWU_E_INVAL, "%.200s: not a regular file", path);
    char *data = NULL;
    size_t len = 0;
    int rc = owu_read_file(path, OWU_INF_MAX_FILE_SIZE, &data, &len, err);
    if (rc < 0)
        return rc;

    struct owu_inf_options io;
    load_inf_options(s, &io);
    struct owu_inf *inf = NULL;
    char *tmp = NULL, *existing = NULL, *final_path = NULL;
    bool dirty = false;
    if ((rc = owu_inf_load_mem(name, data, len, &io, &inf, err)) < 0) {
        owu_err_wrap(err, "not added: ");
        goto out;
    }
    if ((rc = has_models(s, inf, err)) < 0)
        goto out;

    /* The name must be free (ignoring case) unless replacing was asked for. */
    size_t old = store_find_index(s, name);
    if ((rc = find_ci(s->dir, name, &existing, err)) < 0)
        goto out;
    if ((old != (size_t)-1 || existing) && !(flags & OWU_STORE_REPLACE)) {
        rc = owu_fail(err, OWU_E_BUSY,
                      "%.200s: not added: the driver store already has \"%s\" (%s/%s); "
                      "replacing it must be asked for",
                      path, existing ? existing : name, s->dir, existing ? existing : name);
        goto out;
    }
    if ((rc = mkdir_p(s->dir, err)) < 0 || (rc = write_temp(s->dir, name, data, len, &tmp, err)) < 0)
        goto out;
    if (!(final_path = join(s->dir, name))) {
        rc = owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
        goto out;
    }
    if (flags & OWU_STORE_REPLACE) {
        if (rename(tmp, final_path) != 0) {
            int e = errno;
            rc = owu_fail(err, errno_status(e), "cannot store %s: %s", final_path, strerror(e));
            goto out;
        }
        free(tmp);
        tmp = NULL;
        /* The old file under another spelling of the name goes away. */
        if (existing && strcmp(existing, name) != 0) {
            char *old_path = join(s->dir, existing);
            if (old_path)
                unlink(old_path);
            free(old_path);
        }
    } else if (link(tmp, final_path) != 0) {
        int e = errno;
        rc = e == EEXIST ? owu_fail(err, OWU_E_BUSY,
                                    "%.200s: not added: %s appeared meanwhile; replacing it must "
                                    "be asked for", path, final_path)
                         : owu_fail(err, errno_status(e), "cannot store %s: %s", final_path,
                                    strerror(e));
        goto out;
    }

    if (old != (size_t)-1) {
        store_drop_pkg(s, old);
        dirty = true;
    }
    struct store_pkg *p = store_pkg_new(name, final_path, inf, false, OWU_PKG_UNSIGNED);
    if (!p) {
        rc = owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
        goto out;
    }
    inf = NULL;   /* the package owns it now */
    dirty = true;
    if ((rc = store_insert_pkg(s, p, err)) < 0 || (rc = store_reindex(s, err)) < 0)
        goto out;
    dirty = false;
    if (added)
        *added = owu_driver_store_find(s, name);
out:
    if (dirty)
        store_reindex(s, NULL);   /* never leave postings to dropped packages */
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    owu_inf_free(inf);
    free(existing);
    free(final_path);
    free(data);
    return rc;
}

/* ---- remove ----------------------------------------------------------------------------- */

int owu_driver_store_remove(struct owu_driver_store *s, const char *name, owu_err *err)
{
    if (!s || !name)
        return owu_fail(err, OWU_E_INVAL, "owu_driver_store_remove: NULL argument");
    char *full = NULL;
    if (asprintf(&full, "%s%s", name, ends_with_inf(name) ? "" : ".inf") < 0)
        return owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
    const char *why = NULL;
    int rc = OWU_OK;
    char *path = NULL, *found = NULL;
    if (!valid_package_name(full, &why)) {
        rc = owu_fail(err, OWU_E_INVAL, "\"%.200s\" is not a package name: it %s", name, why);
        goto out;
    }
    size_t i = store_find_index(s, full);
    if (i != (size_t)-1 && s->pkgs[i]->pub.inbox) {
        rc = owu_fail(err, OWU_E_ACCESS, "%s is an in-box package; it cannot be removed",
                      s->pkgs[i]->name);
        goto out;
    }
    if (i != (size_t)-1 && s->pkgs[i]->path) {
        if (!(path = strdup(s->pkgs[i]->path))) {
            rc = owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
            goto out;
        }
    } else if (i == (size_t)-1 && s->dir) {
        /* Not loaded: perhaps a file skipped as corrupt. */
        if ((rc = find_ci(s->dir, full, &found, err)) < 0)
            goto out;
        if (found && !(path = join(s->dir, found))) {
            rc = owu_fail(err, OWU_E_NOMEM, "driver store: out of memory");
            goto out;
        }
    }
    if (i == (size_t)-1 && !path) {
        rc = owu_fail(err, OWU_E_NOTFOUND, "no package \"%.200s\" in the driver store%s%s", full,
                      s->dir ? " " : "", s->dir ? s->dir : "");
        goto out;
    }
    if (path && unlink(path) != 0) {
        int e = errno;
        rc = owu_fail(err, errno_status(e), "cannot remove %s: %s", path, strerror(e));
        goto out;
    }
    if (i != (size_t)-1) {
        store_drop_pkg(s, i);
        rc = store_reindex(s, err);
    }
out:
    free(full);
    free(path);
    free(found);
    return rc;
}
