/* openwinusb: status codes and the error record every fallible call fills in. */
#ifndef OPENWINUSB_ERROR_H
#define OPENWINUSB_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. 0 is success; every failure is negative so "if (rc < 0)" works everywhere. */
enum owu_status {
    OWU_OK = 0,
    OWU_E_INVAL = -1,       /* bad argument from the caller */
    OWU_E_NOMEM = -2,
    OWU_E_IO = -3,          /* transfer failed for a reason not listed below */
    OWU_E_STALL = -4,       /* endpoint halted / request refused by the device */
    OWU_E_TIMEOUT = -5,
    OWU_E_CANCELLED = -6,   /* request cancelled by its owner */
    OWU_E_NODEV = -7,       /* device gone (unplugged, disconnected) */
    OWU_E_OVERFLOW = -8,    /* device sent more than the buffer holds (babble) */
    OWU_E_BADDESC = -9,     /* descriptor malformed; owu_err says which field and where */
    OWU_E_NOTSUP = -10,     /* operation not supported by this backend or device */
    OWU_E_BUSY = -11,       /* resource in use (interface claimed by someone else) */
    OWU_E_NOTFOUND = -12,
    OWU_E_ACCESS = -13,     /* permission denied */
    OWU_E_PARSE = -14,      /* text input (JSON, INF, spec string) malformed */
    OWU_E_PENDING = -15,    /* asynchronous request accepted, not yet complete */
};

/* A failure with its explanation. Messages name what was wrong and where
 * (field, byte offset, file:line) so a user can act on them. */
typedef struct owu_err {
    int code;           /* enum owu_status */
    char msg[320];
} owu_err;

/* Short constant name of a status ("stall", "timeout", ...). */
const char *owu_status_name(int code);

/* Record a failure; returns code so callers can "return owu_fail(err, ...)".
 * err may be NULL (the message is then dropped). */
int owu_fail(owu_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("config 1: " + old message). */
int owu_err_wrap(owu_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void owu_err_clear(owu_err *err);

#ifdef __cplusplus
}
#endif
#endif
