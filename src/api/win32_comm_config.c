/* COM port settings and status: the DCB (line coding and control lines), COMMTIMEOUTS,
 * EscapeCommFunction and breaks, modem status, ClearCommError, GetCommProperties, SetupComm
 * (docs/comm-api.md). */
#include "api/win32_internal.h"

#include <string.h>

_Static_assert(sizeof(DCB) == 28, "DCB is 28 bytes on Windows");
_Static_assert(sizeof(COMMTIMEOUTS) == 20, "COMMTIMEOUTS is 20 bytes on Windows");
_Static_assert(sizeof(COMSTAT) == 12, "COMSTAT is 12 bytes on Windows");
_Static_assert(sizeof(COMMPROP) == 64, "COMMPROP is 64 bytes on Windows");
_Static_assert(offsetof(DCB, wReserved) == 12 && offsetof(DCB, ByteSize) == 18 &&
                   offsetof(DCB, XonChar) == 21 && offsetof(DCB, wReserved1) == 26,
               "DCB field offsets");
_Static_assert(offsetof(COMMPROP, wSettableData) == 40 && offsetof(COMMPROP, dwCurrentTxQueue) == 44 &&
                   offsetof(COMMPROP, wcProvChar) == 60,
               "COMMPROP field offsets");

/* SEND_BREAK wValue: until the next SEND_BREAK 0. */
#define BREAK_UNTIL_CLEARED 0xFFFFu

static unsigned control_lines_of(const DCB *d)
{
    unsigned lines = 0;
    if (d->fDtrControl != DTR_CONTROL_DISABLE)
        lines |= OWU_USBSER_DTR;
    if (d->fRtsControl == RTS_CONTROL_ENABLE || d->fRtsControl == RTS_CONTROL_HANDSHAKE)
        lines |= OWU_USBSER_RTS;
    return lines;
}

void owu_w32_comm_default_dcb(struct owu_w32_comm *c)
{
    DCB *d = &c->dcb;
    memset(d, 0, sizeof *d);
    d->DCBlength = sizeof *d;
    d->BaudRate = CBR_9600;
    d->fBinary = 1;
    /* usbser raised DTR and RTS at open. */
    d->fDtrControl = DTR_CONTROL_ENABLE;
    d->fRtsControl = RTS_CONTROL_ENABLE;
    d->XonLim = 2048;
    d->XoffLim = 512;
    d->ByteSize = 8;
    d->Parity = NOPARITY;
    d->StopBits = ONESTOPBIT;
    d->XonChar = 0x11;
    d->XoffChar = 0x13;
    struct owu_usbser_line_coding lc;
    if (owu_usbser_get_line_coding(c->port, &lc) == OWU_OK) {
        if (lc.rate)
            d->BaudRate = lc.rate;
        if (lc.data_bits >= 5 && lc.data_bits <= 8)
            d->ByteSize = lc.data_bits;
        if (lc.parity <= SPACEPARITY)
            d->Parity = lc.parity;
        if (lc.stop_bits <= TWOSTOPBITS)
            d->StopBits = lc.stop_bits;
    }
}

void owu_w32_comm_update_errors_locked(struct owu_w32_comm *c)
{
    struct owu_usbser_counters now;
    owu_usbser_get_counters(c->port, &now);
    if (now.brk != c->seen.brk)
        c->errors |= CE_BREAK;
    if (now.framing != c->seen.framing)
        c->errors |= CE_FRAME;
    if (now.parity != c->seen.parity)
        c->errors |= CE_RXPARITY;
    if (now.overrun != c->seen.overrun)
        c->errors |= CE_OVERRUN;
    c->seen = now;
}

/* A device failure as the error a COM port call reports. */
static BOOL fail_status(int rc)
{
    if (rc == OWU_E_NODEV)
        return owu_w32_fail(ERROR_ACCESS_DENIED);
    return owu_w32_fail(owu_w32_error_of(rc));
}

static BOOL done(struct owu_w32_comm *c, BOOL ok)
{
    owu_w32_comm_end(c);
    if (ok)
        SetLastError(ERROR_SUCCESS);
    return ok;
}

/* ---- DCB ------------------------------------------------------------------------------------- */

BOOL WINAPI GetCommState(HANDLE hFile, LPDCB lpDCB)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    if (!lpDCB) {
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    pthread_mutex_lock(&c->lock);
    *lpDCB = c->dcb;
    pthread_mutex_unlock(&c->lock);
    lpDCB->DCBlength = sizeof *lpDCB;
    return done(c, TRUE);
}

/* What SetCommState refuses: the combinations Windows documents as invalid. */
static bool dcb_valid(const DCB *d)
{
    if (d->BaudRate == 0 || d->ByteSize < 5 || d->ByteSize > 8 || d->Parity > SPACEPARITY ||
        d->StopBits > TWOSTOPBITS)
        return false;
    if (d->ByteSize == 5 && d->StopBits == TWOSTOPBITS)
        return false;
    if (d->ByteSize > 5 && d->StopBits == ONE5STOPBITS)
        return false;
    if (d->fDtrControl > DTR_CONTROL_HANDSHAKE)
        return false;
    return d->XonChar != d->XoffChar;
}

/* BaudRate, ByteSize, Parity, StopBits become SET_LINE_CODING; fDtrControl and fRtsControl
 * the control lines (SET_CONTROL_LINE_STATE when they change). Flow control, special
 * characters and limits are recorded and returned by GetCommState. */
BOOL WINAPI SetCommState(HANDLE hFile, LPDCB lpDCB)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    if (!lpDCB || !dcb_valid(lpDCB)) {
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    DCB d = *lpDCB;
    struct owu_usbser_line_coding lc = {
        .rate = d.BaudRate, .stop_bits = d.StopBits, .parity = d.Parity, .data_bits = d.ByteSize};
    int rc = owu_usbser_set_line_coding(c->port, &lc);
    if (rc == OWU_E_STALL) {
        /* The device refused the line coding. */
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    if (rc == OWU_OK) {
        unsigned lines = control_lines_of(&d);
        if (lines != owu_usbser_control_lines(c->port))
            rc = owu_usbser_set_control_lines(c->port, lines);
    }
    if (rc != OWU_OK) {
        owu_w32_comm_end(c);
        return fail_status(rc);
    }
    pthread_mutex_lock(&c->lock);
    c->dcb = d;
    c->dcb.DCBlength = sizeof d;
    pthread_mutex_unlock(&c->lock);
    return done(c, TRUE);
}

/* ---- timeouts ---------------------------------------------------------------------------------- */

BOOL WINAPI GetCommTimeouts(HANDLE hFile, LPCOMMTIMEOUTS lpCommTimeouts)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    if (!lpCommTimeouts) {
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    pthread_mutex_lock(&c->lock);
    *lpCommTimeouts = c->timeouts;
    pthread_mutex_unlock(&c->lock);
    return done(c, TRUE);
}

/* All three read values MAXDWORD is the one combination Windows' serial drivers refuse. The
 * new values apply to requests made from now on. */
BOOL WINAPI SetCommTimeouts(HANDLE hFile, LPCOMMTIMEOUTS lpCommTimeouts)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    if (!lpCommTimeouts ||
        (lpCommTimeouts->ReadIntervalTimeout == MAXDWORD && lpCommTimeouts->ReadTotalTimeoutMultiplier == MAXDWORD &&
         lpCommTimeouts->ReadTotalTimeoutConstant == MAXDWORD)) {
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    pthread_mutex_lock(&c->lock);
    c->timeouts = *lpCommTimeouts;
    pthread_mutex_unlock(&c->lock);
    return done(c, TRUE);
}

/* ---- lines and breaks -------------------------------------------------------------------------- */

static BOOL set_line(struct owu_w32_comm *c, unsigned line, bool on)
{
    unsigned lines = owu_usbser_control_lines(c->port);
    unsigned want = on ? lines | line : lines & ~line;
    int rc = want == lines ? OWU_OK : owu_usbser_set_control_lines(c->port, want);
    return rc == OWU_OK ? TRUE : fail_status(rc);
}

static BOOL send_break(struct owu_w32_comm *c, bool on)
{
    int rc = owu_usbser_send_break(c->port, on ? BREAK_UNTIL_CLEARED : 0);
    return rc == OWU_OK ? TRUE : fail_status(rc);
}

/* SETDTR/CLRDTR are refused (ERROR_INVALID_PARAMETER) while DTR is under handshake control,
 * SETRTS/CLRRTS while RTS is under handshake or toggle control, as Windows' serial drivers
 * do. SETXON, SETXOFF and RESETDEV are accepted and do nothing: a CDC-ACM device has no
 * request for them (XON/XOFF would be the device's job). */
BOOL WINAPI EscapeCommFunction(HANDLE hFile, DWORD dwFunc)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    pthread_mutex_lock(&c->lock);
    DCB d = c->dcb;
    pthread_mutex_unlock(&c->lock);
    BOOL ok;
    switch (dwFunc) {
    case SETDTR:
    case CLRDTR:
        ok = d.fDtrControl == DTR_CONTROL_HANDSHAKE ? owu_w32_fail(ERROR_INVALID_PARAMETER)
                                                     : set_line(c, OWU_USBSER_DTR, dwFunc == SETDTR);
        break;
    case SETRTS:
    case CLRRTS:
        ok = d.fRtsControl == RTS_CONTROL_HANDSHAKE || d.fRtsControl == RTS_CONTROL_TOGGLE
                 ? owu_w32_fail(ERROR_INVALID_PARAMETER)
                 : set_line(c, OWU_USBSER_RTS, dwFunc == SETRTS);
        break;
    case SETBREAK:
    case CLRBREAK:
        ok = send_break(c, dwFunc == SETBREAK);
        break;
    case SETXON:
    case SETXOFF:
    case RESETDEV:
        ok = TRUE;
        break;
    default:
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
        break;
    }
    return done(c, ok);
}

BOOL WINAPI SetCommBreak(HANDLE hFile) { return EscapeCommFunction(hFile, SETBREAK); }
BOOL WINAPI ClearCommBreak(HANDLE hFile) { return EscapeCommFunction(hFile, CLRBREAK); }

/* Sent ahead of nothing: usbser serves writers one at a time, so the character goes after
 * the write in progress (Windows sends it ahead of buffered data; there is none here). */
BOOL WINAPI TransmitCommChar(HANDLE hFile, char cChar)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    size_t n = 0;
    int rc = owu_usbser_write(c->port, &cChar, 1, 5000, &n);
    return done(c, rc == OWU_OK ? TRUE : fail_status(rc));
}

/* ---- status ------------------------------------------------------------------------------------- */

/* DSR, RING and RLSD (DCD) come from the last SERIAL_STATE. CDC-ACM has no CTS: it is
 * always reported on, as Linux cdc-acm does. */
BOOL WINAPI GetCommModemStatus(HANDLE hFile, LPDWORD lpModemStat)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    if (!lpModemStat) {
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    unsigned m = owu_usbser_modem_status(c->port);
    DWORD s = MS_CTS_ON;
    if (m & OWU_USBSER_DSR)
        s |= MS_DSR_ON;
    if (m & OWU_USBSER_RI)
        s |= MS_RING_ON;
    if (m & OWU_USBSER_DCD)
        s |= MS_RLSD_ON;
    *lpModemStat = s;
    return done(c, TRUE);
}

/* Errors (CE_BREAK, CE_FRAME, CE_RXPARITY, CE_OVERRUN) are the SERIAL_STATE events since the
 * last call; reporting clears them (and ends fAbortOnError's refusal of reads and writes). */
BOOL WINAPI ClearCommError(HANDLE hFile, LPDWORD lpErrors, LPCOMSTAT lpStat)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    pthread_mutex_lock(&c->lock);
    owu_w32_comm_update_errors_locked(c);
    DWORD errors = c->errors;
    c->errors = 0;
    size_t out = c->out_pending;
    bool dsr_flow = c->dcb.fOutxDsrFlow;
    pthread_mutex_unlock(&c->lock);
    if (lpErrors)
        *lpErrors = errors;
    if (lpStat) {
        memset(lpStat, 0, sizeof *lpStat);
        size_t in = owu_usbser_rx_available(c->port);
        lpStat->cbInQue = in > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)in;
        lpStat->cbOutQue = out > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)out;
        lpStat->fDsrHold = dsr_flow && !(owu_usbser_modem_status(c->port) & OWU_USBSER_DSR);
    }
    return done(c, TRUE);
}

BOOL WINAPI GetCommProperties(HANDLE hFile, LPCOMMPROP lpCommProp)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    if (!lpCommProp) {
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    COMMPROP *p = lpCommProp;
    memset(p, 0, sizeof *p);
    p->wPacketLength = sizeof *p;
    p->wPacketVersion = 2;
    p->dwServiceMask = SP_SERIALCOMM;
    p->dwMaxTxQueue = 0;   /* no maximum */
    p->dwMaxRxQueue = 0;
    p->dwMaxBaud = BAUD_USER;
    p->dwProvSubType = PST_RS232;
    p->dwProvCapabilities = PCF_DTRDSR | PCF_RTSCTS | PCF_RLSD | PCF_TOTALTIMEOUTS | PCF_INTTIMEOUTS;
    p->dwSettableParams = SP_PARITY | SP_BAUD | SP_DATABITS | SP_STOPBITS | SP_HANDSHAKING | SP_RLSD;
    p->dwSettableBaud = BAUD_075 | BAUD_110 | BAUD_134_5 | BAUD_150 | BAUD_300 | BAUD_600 | BAUD_1200 |
                        BAUD_1800 | BAUD_2400 | BAUD_4800 | BAUD_7200 | BAUD_9600 | BAUD_14400 |
                        BAUD_19200 | BAUD_38400 | BAUD_56K | BAUD_128K | BAUD_115200 | BAUD_57600 |
                        BAUD_USER;
    p->wSettableData = DATABITS_5 | DATABITS_6 | DATABITS_7 | DATABITS_8;
    p->wSettableStopParity = STOPBITS_10 | STOPBITS_15 | STOPBITS_20 | PARITY_NONE | PARITY_ODD |
                             PARITY_EVEN | PARITY_MARK | PARITY_SPACE;
    pthread_mutex_lock(&c->lock);
    p->dwCurrentTxQueue = c->out_queue;
    p->dwCurrentRxQueue = c->in_queue;
    pthread_mutex_unlock(&c->lock);
    return done(c, TRUE);
}

/* The receive buffer of usbser has its own size; the sizes asked for are recorded and
 * reported by GetCommProperties. */
BOOL WINAPI SetupComm(HANDLE hFile, DWORD dwInQueue, DWORD dwOutQueue)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    pthread_mutex_lock(&c->lock);
    c->in_queue = dwInQueue;
    c->out_queue = dwOutQueue;
    pthread_mutex_unlock(&c->lock);
    return done(c, TRUE);
}
