/* BuildCommDCB: a DCB from a mode string, in both forms the MODE command knows:
 *   "baud=115200 parity=N data=8 stop=1 [to= xon= odsr= octs= dtr= rts= idsr=]"
 *   "[COM1:]9600,n,8,1[,x|p]"   (empty fields keep the DCB's value)
 * Both may start with a "COMn:" prefix. Only the members the string names change, except
 * that flow control is first reset to none (fOutX, fInX, fOutxCtsFlow, fOutxDsrFlow,
 * fDsrSensitivity off, DTR and RTS enabled) and fBinary is set. A bad string changes nothing
 * and fails with ERROR_INVALID_PARAMETER (docs/comm-api.md). */
#include "api/win32_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The MODE command's two-digit abbreviations of the classic rates. */
static DWORD expand_baud(unsigned long v)
{
    switch (v) {
    case 11: return 110;
    case 15: return 150;
    case 30: return 300;
    case 60: return 600;
    case 12: return 1200;
    case 24: return 2400;
    case 48: return 4800;
    case 96: return 9600;
    case 19: return 19200;
    default: return (DWORD)v;
    }
}

static bool parse_baud(const char *s, size_t n, DWORD *out)
{
    if (n == 0 || n > 10)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 0xFFFFFFFFul)
        return false;
    *out = expand_baud(v);
    return true;
}

static bool parse_parity(const char *s, size_t n, BYTE *out)
{
    if (n != 1)
        return false;
    switch (tolower((unsigned char)s[0])) {
    case 'n': *out = NOPARITY; return true;
    case 'o': *out = ODDPARITY; return true;
    case 'e': *out = EVENPARITY; return true;
    case 'm': *out = MARKPARITY; return true;
    case 's': *out = SPACEPARITY; return true;
    default: return false;
    }
}

static bool parse_data(const char *s, size_t n, BYTE *out)
{
    if (n != 1 || s[0] < '5' || s[0] > '8')
        return false;
    *out = (BYTE)(s[0] - '0');
    return true;
}

static bool parse_stop(const char *s, size_t n, BYTE *out)
{
    if (n == 1 && s[0] == '1')
        *out = ONESTOPBIT;
    else if (n == 3 && memcmp(s, "1.5", 3) == 0)
        *out = ONE5STOPBITS;
    else if (n == 1 && s[0] == '2')
        *out = TWOSTOPBITS;
    else
        return false;
    return true;
}

static bool word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* "on" / "off" */
static bool parse_onoff(const char *s, size_t n, bool *out)
{
    if (word_is(s, n, "on"))
        *out = true;
    else if (word_is(s, n, "off"))
        *out = false;
    else
        return false;
    return true;
}

static void reset_flow(DCB *d)
{
    d->fBinary = 1;
    d->fOutX = 0;
    d->fInX = 0;
    d->fOutxCtsFlow = 0;
    d->fOutxDsrFlow = 0;
    d->fDsrSensitivity = 0;
    d->fDtrControl = DTR_CONTROL_ENABLE;
    d->fRtsControl = RTS_CONTROL_ENABLE;
}

static void set_parity(DCB *d, BYTE parity)
{
    d->Parity = parity;
    d->fParity = parity != NOPARITY;
}

/* One "key=value" of the new form. */
static bool apply_pair(DCB *d, const char *k, size_t kn, const char *v, size_t vn)
{
    bool on;
    BYTE b;
    if (word_is(k, kn, "baud"))
        return parse_baud(v, vn, &d->BaudRate);
    if (word_is(k, kn, "parity")) {
        if (!parse_parity(v, vn, &b))
            return false;
        set_parity(d, b);
        return true;
    }
    if (word_is(k, kn, "data"))
        return parse_data(v, vn, &d->ByteSize);
    if (word_is(k, kn, "stop"))
        return parse_stop(v, vn, &d->StopBits);
    if (word_is(k, kn, "to"))
        return parse_onoff(v, vn, &on);   /* timeouts: BuildCommDCBAndTimeouts' business */
    if (word_is(k, kn, "xon")) {
        if (!parse_onoff(v, vn, &on))
            return false;
        d->fOutX = d->fInX = on;
        return true;
    }
    if (word_is(k, kn, "odsr")) {
        if (!parse_onoff(v, vn, &on))
            return false;
        d->fOutxDsrFlow = on;
        return true;
    }
    if (word_is(k, kn, "octs")) {
        if (!parse_onoff(v, vn, &on))
            return false;
        d->fOutxCtsFlow = on;
        return true;
    }
    if (word_is(k, kn, "idsr")) {
        if (!parse_onoff(v, vn, &on))
            return false;
        d->fDsrSensitivity = on;
        return true;
    }
    if (word_is(k, kn, "dtr")) {
        if (word_is(v, vn, "hs"))
            d->fDtrControl = DTR_CONTROL_HANDSHAKE;
        else if (parse_onoff(v, vn, &on))
            d->fDtrControl = on ? DTR_CONTROL_ENABLE : DTR_CONTROL_DISABLE;
        else
            return false;
        return true;
    }
    if (word_is(k, kn, "rts")) {
        if (word_is(v, vn, "hs"))
            d->fRtsControl = RTS_CONTROL_HANDSHAKE;
        else if (word_is(v, vn, "tg"))
            d->fRtsControl = RTS_CONTROL_TOGGLE;
        else if (parse_onoff(v, vn, &on))
            d->fRtsControl = on ? RTS_CONTROL_ENABLE : RTS_CONTROL_DISABLE;
        else
            return false;
        return true;
    }
    return false;
}

static bool parse_new_form(const char *s, DCB *d)
{
    bool any = false;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        const char *k = s;
        while (*s && *s != '=' && *s != ' ' && *s != '\t')
            s++;
        size_t kn = (size_t)(s - k);
        if (*s != '=' || kn == 0)
            return false;
        const char *v = ++s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (!apply_pair(d, k, kn, v, (size_t)(s - v)))
            return false;
        any = true;
    }
    return any;
}

/* A field of the old form without its surrounding blanks. */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static bool parse_old_form(const char *s, DCB *d)
{
    bool stop_given = false, any = false;
    for (int field = 0; *s || field == 0; field++) {
        const char *f = s;
        while (*s && *s != ',')
            s++;
        size_t n = (size_t)(s - f);
        trim(&f, &n);
        if (*s == ',')
            s++;
        else if (field == 0 && n == 0)
            return false;
        if (n == 0)
            continue;
        any = true;
        BYTE b;
        switch (field) {
        case 0:
            if (!parse_baud(f, n, &d->BaudRate))
                return false;
            break;
        case 1:
            if (!parse_parity(f, n, &b))
                return false;
            set_parity(d, b);
            break;
        case 2:
            if (!parse_data(f, n, &d->ByteSize))
                return false;
            break;
        case 3:
            if (!parse_stop(f, n, &d->StopBits))
                return false;
            stop_given = true;
            break;
        case 4:
            if (n != 1)
                return false;
            if (tolower((unsigned char)f[0]) == 'x') {
                d->fOutX = d->fInX = 1;
            } else if (tolower((unsigned char)f[0]) == 'p') {
                d->fOutxCtsFlow = d->fOutxDsrFlow = 1;
                d->fDtrControl = DTR_CONTROL_HANDSHAKE;
                d->fRtsControl = RTS_CONTROL_HANDSHAKE;
            } else {
                return false;
            }
            break;
        default:
            return false;
        }
    }
    /* MODE's rule: 110 baud defaults to two stop bits. */
    if (any && d->BaudRate == 110 && !stop_given)
        d->StopBits = TWOSTOPBITS;
    return any;
}

static bool build_dcb(const char *def, DCB *out)
{
    DCB d = *out;
    reset_flow(&d);
    const char *s = def;
    while (*s == ' ' || *s == '\t')
        s++;
    /* "COMn:" (or "COMn" then blanks) names the port; it does not matter here. */
    if (strncasecmp(s, "COM", 3) == 0 && isdigit((unsigned char)s[3])) {
        const char *p = s + 3;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p == ':')
            s = p + 1;
        else if (*p == ' ' || *p == '\t')
            s = p;
        else
            return false;
        while (*s == ' ' || *s == '\t')
            s++;
    }
    bool ok = strchr(s, '=') ? parse_new_form(s, &d) : parse_old_form(s, &d);
    if (ok)
        *out = d;
    return ok;
}

BOOL WINAPI BuildCommDCBA(LPCSTR lpDef, LPDCB lpDCB)
{
    if (!lpDef || !lpDCB || !build_dcb(lpDef, lpDCB))
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

BOOL WINAPI BuildCommDCBW(LPCWSTR lpDef, LPDCB lpDCB)
{
    if (!lpDef || !lpDCB)
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    char *s = owu_w32_utf16_to_utf8(lpDef);
    if (!s)
        return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    BOOL ok = BuildCommDCBA(s, lpDCB);
    free(s);
    return ok;
}
