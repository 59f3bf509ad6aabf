/* Status names and the error record. */
#include <openwinusb/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *owu_status_name(int code)
{
    switch (code) {
    case OWU_OK: return "ok";
    case OWU_E_INVAL: return "invalid argument";
    case OWU_E_NOMEM: return "out of memory";
    case OWU_E_IO: return "I/O error";
    case OWU_E_STALL: return "stall";
    case OWU_E_TIMEOUT: return "timeout";
    case OWU_E_CANCELLED: return "cancelled";
    case OWU_E_NODEV: return "no device";
    case OWU_E_OVERFLOW: return "overflow";
    case OWU_E_BADDESC: return "bad descriptor";
    case OWU_E_NOTSUP: return "not supported";
    case OWU_E_BUSY: return "busy";
    case OWU_E_NOTFOUND: return "not found";
    case OWU_E_ACCESS: return "access denied";
    case OWU_E_PARSE: return "parse error";
    case OWU_E_PENDING: return "pending";
    default: return "unknown error";
    }
}

int owu_fail(owu_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int owu_err_wrap(owu_err *err, const char *fmt, ...)
{
    if (!err)
        return OWU_E_IO;
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t used = (size_t)n < sizeof err->msg ? (size_t)n : sizeof err->msg - 1;
    size_t room = sizeof err->msg - 1 - used;
    size_t oldlen = strlen(old);
    if (oldlen > room)
        oldlen = room;
    memcpy(err->msg + used, old, oldlen);
    err->msg[used + oldlen] = '\0';
    return err->code;
}

void owu_err_clear(owu_err *err)
{
    if (err) {
        err->code = OWU_OK;
        err->msg[0] = '\0';
    }
}
