/* Bounded whole-file reads for untrusted inputs. */
#ifndef OWU_CORE_FILE_READ_H
#define OWU_CORE_FILE_READ_H

#include <stddef.h>

#include <openwinusb/error.h>

/* Reads a whole file (regular files and character devices such as /dev/null; FIFOs,
 * sockets and directories are refused and nothing blocks) into a new NUL-terminated buffer
 * of at most `max` bytes, so that untrusted or special files (sysfs, /dev/...) stay
 * bounded. Errors name the path: OWU_E_NOTFOUND (no such file), OWU_E_ACCESS, OWU_E_IO
 * (not a regular file, read error), OWU_E_INVAL (larger than max). */
int owu_read_file(const char *path, size_t max, char **out, size_t *out_len, owu_err *err);

/* Reads fd from where it stands to its end into a new NUL-terminated buffer, but no more
 * than max + 1 bytes: *out_len > max means the file is larger than max (what to do then is
 * the caller's choice). path only names the file in errors: OWU_E_NOMEM, OWU_E_IO (read
 * error); *out and *out_len are set on success only. */
int owu_read_fd(int fd, size_t max, char **out, size_t *out_len, const char *path, owu_err *err);

#endif
