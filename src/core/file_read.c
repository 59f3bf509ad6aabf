/* Bounded whole-file reads for untrusted inputs (profiles, sysfs attributes, usb.ids, INF
 * files in the driver store). */
#include "core/file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int owu_read_fd(int fd, size_t max, char **out, size_t *out_len, const char *path, owu_err *err)
{
    /* sysfs reports a size of 4096 for every attribute, so read until EOF instead of
     * trusting st_size; grow geometrically up to max + 1 to detect an oversized file. */
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", path);
    for (;;) {
        if (n == cap) {
            if (n > max)
                break;
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            if (ncap <= cap)
                ncap = cap + 1;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            return owu_fail(err, OWU_E_IO, "%s: %s", path,
                            e == EAGAIN ? "no data to read (not a regular file)" : strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return OWU_OK;
}

int owu_read_file(const char *path, size_t max, char **out, size_t *out_len, owu_err *err)
{
    if (!path || !out || !out_len)
        return owu_fail(err, OWU_E_INVAL, "owu_read_file: NULL argument");
    *out = NULL;
    *out_len = 0;
    /* O_NONBLOCK: a FIFO or terminal named by a hostile profile or sysfs tree must not
     * hang the reader (regular files ignore the flag). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return owu_fail(err, e == ENOENT || e == ENOTDIR ? OWU_E_NOTFOUND
                             : e == EACCES || e == EPERM ? OWU_E_ACCESS : OWU_E_IO,
                        "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
        close(fd);
        return owu_fail(err, OWU_E_IO, "%s: not a regular file", path);
    }
    char *buf = NULL;
    size_t n = 0;
    int rc = owu_read_fd(fd, max, &buf, &n, path, err);
    close(fd);
    if (rc == OWU_OK && n > max) {
        free(buf);
        return owu_fail(err, OWU_E_INVAL, "%s: larger than %zu bytes", path, max);
    }
    if (rc == OWU_OK) {
        *out = buf;
        *out_len = n;
    }
    return rc;
}
