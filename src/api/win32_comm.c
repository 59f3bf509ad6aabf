/* COM ports of the Win32 subset: opening and closing, ReadFile / WriteFile with COMMTIMEOUTS,
 * WaitCommEvent and its mask, PurgeComm, CancelIo (docs/comm-api.md).
 *
 * Every ReadFile, WriteFile and WaitCommEvent becomes a request on one of three queues (read,
 * write, event wait), each served in order by its own thread, so overlapped requests on one
 * port run side by side as on Windows (a read waiting for data does not hold up a write).
 * A synchronous call queues the same request and sleeps until it completes: one path.
 * Aborting (PurgeComm, CancelIo, SetCommMask, CloseHandle) bumps a queue's generation, so
 * requests made before fail, and repeats usbser's purge until the request that was running
 * has completed: a purge that comes between two usbser calls of a request is not lost. */
#include "api/win32_internal.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ABORT_SLICE_MS = 20 };

static const unsigned g_purge_flag[OWU_W32_COMM_QUEUES] = {
    OWU_USBSER_PURGE_ABORT_READ, OWU_USBSER_PURGE_ABORT_WRITE, OWU_USBSER_PURGE_ABORT_WAIT};

/* Sleeps on c->cond (lock held) for at most ms. */
static void wait_ms(struct owu_w32_comm *c, unsigned ms)
{
    struct timespec ts;
    owu_deadline_ms(&ts, ms);
    pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

/* ---- events: Windows EV_* <-> usbser events ------------------------------------------------ */

static unsigned usbser_events_of(DWORD ev)
{
    unsigned u = 0;
    if (ev & EV_RXCHAR)
        u |= OWU_USBSER_EV_RXCHAR;
    if (ev & EV_TXEMPTY)
        u |= OWU_USBSER_EV_TXEMPTY;
    if (ev & EV_DSR)
        u |= OWU_USBSER_EV_DSR;
    if (ev & EV_RLSD)
        u |= OWU_USBSER_EV_DCD;
    if (ev & EV_BREAK)
        u |= OWU_USBSER_EV_BREAK;
    if (ev & EV_RING)
        u |= OWU_USBSER_EV_RING;
    if (ev & EV_ERR)
        u |= OWU_USBSER_EV_FRAMING | OWU_USBSER_EV_PARITY | OWU_USBSER_EV_OVERRUN;
    return u;
}

static DWORD comm_events_of(unsigned u)
{
    DWORD ev = 0;
    if (u & OWU_USBSER_EV_RXCHAR)
        ev |= EV_RXCHAR;
    if (u & OWU_USBSER_EV_TXEMPTY)
        ev |= EV_TXEMPTY;
    if (u & OWU_USBSER_EV_DSR)
        ev |= EV_DSR;
    if (u & OWU_USBSER_EV_DCD)
        ev |= EV_RLSD;
    if (u & OWU_USBSER_EV_BREAK)
        ev |= EV_BREAK;
    if (u & OWU_USBSER_EV_RING)
        ev |= EV_RING;
    if (u & (OWU_USBSER_EV_FRAMING | OWU_USBSER_EV_PARITY | OWU_USBSER_EV_OVERRUN))
        ev |= EV_ERR;
    return ev;
}

/* Every event bit SetCommMask accepts (EV_CTS, EV_RXFLAG, EV_PERR, EV_RX80FULL, EV_EVENT1/2
 * are accepted and never reported). */
#define COMM_EV_VALID 0x1FFFu

/* ---- running requests ------------------------------------------------------------------------- */

static bool aborted(struct owu_w32_comm *c, const struct owu_w32_comm_req *r)
{
    pthread_mutex_lock(&c->lock);
    bool a = c->closing || c->q[r->queue].abort_gen != r->gen;
    pthread_mutex_unlock(&c->lock);
    return a;
}

static unsigned clamp_ms(uint64_t ms)
{
    return ms >= OWU_USBSER_INFINITE ? OWU_USBSER_INFINITE - 1u : (unsigned)ms;
}

/* COMMTIMEOUTS for reads, as Windows' serial drivers apply them:
 * - interval MAXDWORD, totals 0: return at once with what the buffer holds (maybe nothing);
 * - interval MAXDWORD, multiplier MAXDWORD, constant in (0, MAXDWORD): return at once with
 *   what the buffer holds; when it is empty, with the first bytes that arrive within the
 *   constant (else nothing);
 * - otherwise the total timeout is multiplier x length + constant (none when both are 0),
 *   and a non-zero interval ends the read when no byte arrives for that long after the
 *   first one.
 * A timeout is not an error: the read succeeds with the bytes it got. */
static int run_read(struct owu_w32_comm *c, struct owu_w32_comm_req *r)
{
    const COMMTIMEOUTS *t = &r->to;
    bool immediate = t->ReadIntervalTimeout == MAXDWORD && t->ReadTotalTimeoutMultiplier == 0 &&
                     t->ReadTotalTimeoutConstant == 0;
    bool first_bytes = t->ReadIntervalTimeout == MAXDWORD && t->ReadTotalTimeoutMultiplier == MAXDWORD &&
                       t->ReadTotalTimeoutConstant != 0 && t->ReadTotalTimeoutConstant != MAXDWORD;
    bool has_total, interval = t->ReadIntervalTimeout != 0 && t->ReadIntervalTimeout != MAXDWORD;
    uint64_t total;
    if (first_bytes) {
        has_total = true;
        total = t->ReadTotalTimeoutConstant;
    } else {
        has_total = t->ReadTotalTimeoutMultiplier || t->ReadTotalTimeoutConstant;
        total = (uint64_t)t->ReadTotalTimeoutMultiplier * r->len + t->ReadTotalTimeoutConstant;
    }
    uint64_t deadline = owu_now_ms() + total;
    size_t got = 0;
    int rc = OWU_OK;
    while (got < r->len || r->len == 0) {
        if (aborted(c, r)) {
            rc = OWU_E_CANCELLED;
            break;
        }
        uint64_t wait = UINT64_MAX;
        if (immediate) {
            wait = 0;
        } else {
            if (has_total) {
                uint64_t now = owu_now_ms();
                wait = deadline > now ? deadline - now : 0;
            }
            if (interval && got > 0 && t->ReadIntervalTimeout < wait)
                wait = t->ReadIntervalTimeout;
        }
        size_t n = 0;
        rc = owu_usbser_read(c->port, r->buf + got, r->len - got,
                             wait == UINT64_MAX ? OWU_USBSER_INFINITE : clamp_ms(wait), &n);
        got += n;
        if (rc == OWU_E_TIMEOUT) {
            rc = OWU_OK;
            break;
        }
        if (rc != OWU_OK || immediate || first_bytes || r->len == 0)
            break;
    }
    r->bytes = got;
    return rc;
}

/* Write total timeout: multiplier x length + constant (none when both are 0); a timeout
 * succeeds with the bytes the device took. RTS_CONTROL_TOGGLE raises RTS for the write. */
static int run_write(struct owu_w32_comm *c, struct owu_w32_comm_req *r)
{
    const COMMTIMEOUTS *t = &r->to;
    uint64_t total = (uint64_t)t->WriteTotalTimeoutMultiplier * r->len + t->WriteTotalTimeoutConstant;
    unsigned timeout = total ? clamp_ms(total) : OWU_USBSER_INFINITE;
    pthread_mutex_lock(&c->lock);
    bool toggle = c->dcb.fRtsControl == RTS_CONTROL_TOGGLE;
    pthread_mutex_unlock(&c->lock);
    unsigned lines = owu_usbser_control_lines(c->port);
    if (toggle && !(lines & OWU_USBSER_RTS))
        owu_usbser_set_control_lines(c->port, lines | OWU_USBSER_RTS);
    size_t written = 0;
    int rc = aborted(c, r) ? OWU_E_CANCELLED : owu_usbser_write(c->port, r->buf, r->len, timeout, &written);
    if (toggle && !(lines & OWU_USBSER_RTS))
        owu_usbser_set_control_lines(c->port, lines & ~(unsigned)OWU_USBSER_RTS);
    if (rc == OWU_E_TIMEOUT)
        rc = OWU_OK;
    r->bytes = written;
    return rc;
}

/* WaitCommEvent: the mask of the moment; a SetCommMask meanwhile completes it with 0. */
static int run_wait(struct owu_w32_comm *c, struct owu_w32_comm_req *r)
{
    struct owu_w32_comm_queue *q = &c->q[OWU_W32_COMM_WAIT];
    pthread_mutex_lock(&c->lock);
    DWORD mask = c->mask;
    bool changed = c->mask_gen != r->mask_gen;
    pthread_mutex_unlock(&c->lock);
    if (changed)
        return OWU_OK;
    unsigned which = 0;
    int rc;
    unsigned um = usbser_events_of(mask);
    if (um) {
        rc = owu_usbser_wait_events(c->port, um, OWU_USBSER_INFINITE, &which);
    } else {
        /* Only events that never happen here: wait for an abort, a new mask or removal. */
        rc = OWU_E_CANCELLED;
        pthread_mutex_lock(&c->lock);
        while (!c->closing && c->mask_gen == r->mask_gen && q->abort_gen == r->gen) {
            pthread_mutex_unlock(&c->lock);
            bool gone = owu_usbser_gone(c->port);
            pthread_mutex_lock(&c->lock);
            if (gone) {
                rc = OWU_E_NODEV;
                break;
            }
            wait_ms(c, 100);
        }
        pthread_mutex_unlock(&c->lock);
    }
    if (rc == OWU_E_CANCELLED) {
        pthread_mutex_lock(&c->lock);
        if (c->mask_gen != r->mask_gen && q->abort_gen == r->gen && !c->closing)
            rc = OWU_OK;
        pthread_mutex_unlock(&c->lock);
    }
    r->events = rc == OWU_OK ? comm_events_of(which) & mask : 0;
    return rc;
}

static void complete(struct owu_w32_comm *c, struct owu_w32_comm_req *r)
{
    if (r->queue == OWU_W32_COMM_WAIT && r->evmask)
        *r->evmask = r->events;
    pthread_mutex_lock(&c->lock);
    if (r->queue == OWU_W32_COMM_WRITE)
        c->out_pending -= r->len;
    c->q[r->queue].outstanding--;   /* a new WaitCommEvent may follow its completion */
    pthread_mutex_unlock(&c->lock);
    if (r->ov) {
        owu_w32_overlapped_finish(c->file, r->ov, r->event, r->status, r->bytes);
        free(r);
        return;
    }
    pthread_mutex_lock(&c->lock);
    r->done = true;   /* from here on the caller owns r (it is on its stack) */
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void *queue_thread(void *arg)
{
    struct owu_w32_comm_queue *q = arg;
    struct owu_w32_comm *c = q->comm;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!q->head && !c->closing)
            pthread_cond_wait(&c->cond, &c->lock);
        struct owu_w32_comm_req *r = q->head;
        if (!r)
            break;
        q->head = r->next;
        if (!q->head)
            q->tail = NULL;
        q->busy = true;
        q->busy_gen = r->gen;
        q->busy_mask_gen = r->mask_gen;
        bool abort = c->closing || r->gen != q->abort_gen;
        pthread_mutex_unlock(&c->lock);
        if (abort)
            r->status = OWU_E_CANCELLED;
        else if (q->index == OWU_W32_COMM_READ)
            r->status = run_read(c, r);
        else if (q->index == OWU_W32_COMM_WRITE)
            r->status = run_write(c, r);
        else
            r->status = run_wait(c, r);
        complete(c, r);
        pthread_mutex_lock(&c->lock);
        q->busy = false;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Whether a request of q made before generation `gen` is still queued or running (lock held). */
static bool older_pending(const struct owu_w32_comm_queue *q, uint64_t gen)
{
    return (q->busy && q->busy_gen < gen) || (q->head && q->head->gen < gen);
}

/* Aborts the requests of the queues in `which` (bit per queue) made so far and waits until
 * they have completed. */
static void abort_queues(struct owu_w32_comm *c, unsigned which)
{
    uint64_t target[OWU_W32_COMM_QUEUES] = {0};
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < OWU_W32_COMM_QUEUES; i++)
        if (which & (1u << i))
            target[i] = ++c->q[i].abort_gen;
    pthread_cond_broadcast(&c->cond);
    for (;;) {
        unsigned flags = 0;
        for (int i = 0; i < OWU_W32_COMM_QUEUES; i++)
            if ((which & (1u << i)) && older_pending(&c->q[i], target[i]))
                flags |= g_purge_flag[i];
        if (!flags)
            break;
        pthread_mutex_unlock(&c->lock);
        owu_usbser_purge(c->port, flags);
        pthread_mutex_lock(&c->lock);
        wait_ms(c, ABORT_SLICE_MS);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- the object ---------------------------------------------------------------------------- */

static void comm_destroy(struct owu_w32_obj *obj)
{
    struct owu_w32_file *f = (struct owu_w32_file *)obj;
    struct owu_w32_comm *c = f->comm;
    if (c) {
        owu_w32_comm_cleanup(f);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
    }
    free(f->path);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void owu_w32_comm_cleanup(struct owu_w32_file *f)
{
    struct owu_w32_comm *c = f->comm;
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->closing) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->closing = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (!c->port)
        return;
    abort_queues(c, (1u << OWU_W32_COMM_QUEUES) - 1u);
    /* Calls in progress (a class request, a caller collecting its aborted request) end. */
    pthread_mutex_lock(&c->lock);
    while (c->users) {
        pthread_mutex_unlock(&c->lock);
        owu_usbser_purge(c->port, OWU_USBSER_PURGE_ABORT_ALL);
        pthread_mutex_lock(&c->lock);
        if (c->users)
            wait_ms(c, ABORT_SLICE_MS);
    }
    pthread_mutex_unlock(&c->lock);
    for (int i = 0; i < OWU_W32_COMM_QUEUES; i++)
        if (c->q[i].started)
            pthread_join(c->q[i].thread, NULL);
    owu_usbser_close(c->port);
    c->port = NULL;
}

void owu_w32_comm_cancel(struct owu_w32_file *f)
{
    struct owu_w32_comm *c = f->comm;
    pthread_mutex_lock(&c->lock);
    bool live = !c->closing;
    c->users += live;
    pthread_mutex_unlock(&c->lock);
    if (!live)
        return;
    abort_queues(c, (1u << OWU_W32_COMM_QUEUES) - 1u);
    pthread_mutex_lock(&c->lock);
    c->users--;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static DWORD open_error(int rc)
{
    switch (rc) {
    case OWU_E_NOTFOUND:
    case OWU_E_NODEV:
    case OWU_E_INVAL: return ERROR_FILE_NOT_FOUND;
    case OWU_E_BUSY:
    case OWU_E_ACCESS: return ERROR_ACCESS_DENIED;
    case OWU_E_NOMEM: return ERROR_NOT_ENOUGH_MEMORY;
    default: return ERROR_GEN_FAILURE;
    }
}

HANDLE owu_w32_comm_open(struct owu_stack *stack, const char *name, DWORD flags)
{
    if (!stack) {
        SetLastError(ERROR_FILE_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    struct owu_usbser_port *port = NULL;
    int rc = owu_usbser_open(stack, name, NULL, &port, NULL);
    if (rc != OWU_OK) {
        SetLastError(open_error(rc));
        return INVALID_HANDLE_VALUE;
    }
    struct owu_w32_file *f = calloc(1, sizeof *f);
    struct owu_w32_comm *c = calloc(1, sizeof *c);
    if (!f || !c) {
        free(f);
        free(c);
        owu_usbser_close(port);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    pthread_mutex_init(&f->lock, NULL);
    owu_cond_init_monotonic(&f->cond);
    f->obj.destroy = comm_destroy;
    f->flags = flags;
    f->comm = c;
    pthread_mutex_init(&c->lock, NULL);
    owu_cond_init_monotonic(&c->cond);
    c->file = f;
    c->port = port;
    owu_w32_comm_default_dcb(c);
    owu_usbser_get_counters(port, &c->seen);
    /* Events from before the open are not this handle's. */
    owu_usbser_clear_events(port, OWU_USBSER_EV_ALL);
    bool ok = true;
    for (int i = 0; i < OWU_W32_COMM_QUEUES && ok; i++) {
        c->q[i].comm = c;
        c->q[i].index = i;
        ok = pthread_create(&c->q[i].thread, NULL, queue_thread, &c->q[i]) == 0;
        c->q[i].started = ok;
    }
    HANDLE h = ok ? owu_w32_handle_add(&f->obj, OWU_W32_FILE) : NULL;
    if (!h) {
        comm_destroy(&f->obj);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    SetLastError(ERROR_SUCCESS);
    return h;
}

struct owu_w32_comm *owu_w32_comm_begin(HANDLE h)
{
    struct owu_w32_file *f = (struct owu_w32_file *)owu_w32_handle_get(h, OWU_W32_FILE);
    if (!f)
        return NULL;
    struct owu_w32_comm *c = f->comm;
    if (c) {
        pthread_mutex_lock(&c->lock);
        if (c->closing)
            c = NULL;
        else
            c->users++;
        pthread_mutex_unlock(&f->comm->lock);
    }
    if (!c) {
        owu_w32_obj_unref(&f->obj);
        SetLastError(ERROR_INVALID_HANDLE);
        return NULL;
    }
    /* A removed device's handle stays valid for CloseHandle only (Windows reports access
     * denied for it: the file object is in the delete-pending state). */
    if (owu_usbser_gone(c->port)) {
        owu_w32_comm_end(c);
        SetLastError(ERROR_ACCESS_DENIED);
        return NULL;
    }
    return c;
}

void owu_w32_comm_end(struct owu_w32_comm *c)
{
    struct owu_w32_file *f = c->file;
    pthread_mutex_lock(&c->lock);
    c->users--;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    owu_w32_obj_unref(&f->obj);
}

/* ---- ReadFile, WriteFile, WaitCommEvent ----------------------------------------------------- */

/* Queues a request; an overlapped one returns ERROR_IO_PENDING, a synchronous one waits. */
static BOOL submit(struct owu_w32_comm *c, int queue, void *buf, size_t len, LPDWORD bytes,
                   LPDWORD evmask, LPOVERLAPPED ov)
{
    bool async = ov && (c->file->flags & FILE_FLAG_OVERLAPPED);
    struct owu_w32_comm_req local = {0};
    struct owu_w32_comm_req *r = async ? calloc(1, sizeof *r) : &local;
    if (!r)
        return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    r->queue = queue;
    r->buf = buf;
    r->len = len;
    r->evmask = evmask;
    struct owu_w32_comm_queue *q = &c->q[queue];
    pthread_mutex_lock(&c->lock);
    DWORD err = ERROR_SUCCESS;
    if (queue != OWU_W32_COMM_WAIT) {
        owu_w32_comm_update_errors_locked(c);
        if (c->dcb.fAbortOnError && c->errors)
            err = ERROR_OPERATION_ABORTED;   /* until ClearCommError */
    } else if (c->mask == 0 || q->outstanding) {
        err = ERROR_INVALID_PARAMETER;       /* no mask, or a wait is already pending */
    }
    if (c->closing)
        err = ERROR_OPERATION_ABORTED;
    if (err != ERROR_SUCCESS) {
        pthread_mutex_unlock(&c->lock);
        if (async)
            free(r);
        return owu_w32_fail(err);
    }
    r->to = c->timeouts;
    r->gen = q->abort_gen;
    r->mask_gen = c->mask_gen;
    if (async) {
        r->ov = ov;
        r->event = owu_w32_overlapped_start(c->file, ov);
    }
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->outstanding++;
    if (queue == OWU_W32_COMM_WRITE)
        c->out_pending += len;
    pthread_cond_broadcast(&c->cond);
    if (async) {
        pthread_mutex_unlock(&c->lock);
        return owu_w32_fail(ERROR_IO_PENDING);
    }
    while (!local.done)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
    if (bytes)
        *bytes = (DWORD)local.bytes;
    if (ov) {
        /* Synchronous I/O through an OVERLAPPED on a non-overlapped handle reports there too. */
        ov->InternalHigh = local.bytes;
        ov->Internal = owu_w32_ntstatus_of(local.status);
        if (ov->hEvent)
            owu_w32_event_set((HANDLE)((uintptr_t)ov->hEvent & ~(uintptr_t)1));
    }
    if (local.status != OWU_OK)
        return owu_w32_fail(owu_w32_error_of(local.status));
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

/* ReadFile / WriteFile on a handle: only COM ports have a data path. */
static struct owu_w32_comm *io_begin(HANDLE h)
{
    struct owu_w32_file *f = (struct owu_w32_file *)owu_w32_handle_get(h, OWU_W32_FILE);
    if (!f)
        return NULL;
    bool comm = f->comm != NULL;
    owu_w32_obj_unref(&f->obj);
    if (!comm) {
        SetLastError(ERROR_INVALID_FUNCTION);
        return NULL;
    }
    return owu_w32_comm_begin(h);
}

BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPDWORD lpNumberOfBytesRead,
                     LPOVERLAPPED lpOverlapped)
{
    if (lpNumberOfBytesRead)
        *lpNumberOfBytesRead = 0;
    struct owu_w32_comm *c = io_begin(hFile);
    if (!c)
        return FALSE;
    BOOL ok;
    if (nNumberOfBytesToRead && !lpBuffer)
        ok = owu_w32_fail(ERROR_NOACCESS);
    else if (!lpOverlapped && !lpNumberOfBytesRead)
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    else
        ok = submit(c, OWU_W32_COMM_READ, lpBuffer, nNumberOfBytesToRead, lpNumberOfBytesRead, NULL,
                    lpOverlapped);
    owu_w32_comm_end(c);
    return ok;
}

BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite, LPDWORD lpNumberOfBytesWritten,
                      LPOVERLAPPED lpOverlapped)
{
    if (lpNumberOfBytesWritten)
        *lpNumberOfBytesWritten = 0;
    struct owu_w32_comm *c = io_begin(hFile);
    if (!c)
        return FALSE;
    BOOL ok;
    if (nNumberOfBytesToWrite && !lpBuffer)
        ok = owu_w32_fail(ERROR_NOACCESS);
    else if (!lpOverlapped && !lpNumberOfBytesWritten)
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    else
        ok = submit(c, OWU_W32_COMM_WRITE, (void *)(uintptr_t)lpBuffer, nNumberOfBytesToWrite,
                    lpNumberOfBytesWritten, NULL, lpOverlapped);
    owu_w32_comm_end(c);
    return ok;
}

BOOL WINAPI FlushFileBuffers(HANDLE hFile)
{
    struct owu_w32_comm *c = io_begin(hFile);
    if (!c)
        return FALSE;
    pthread_mutex_lock(&c->lock);
    bool gone = false;
    while (c->out_pending && !c->closing && !gone) {
        wait_ms(c, 100);
        pthread_mutex_unlock(&c->lock);
        gone = owu_usbser_gone(c->port);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    owu_w32_comm_end(c);
    return gone ? owu_w32_fail(ERROR_ACCESS_DENIED) : TRUE;
}

BOOL WINAPI WaitCommEvent(HANDLE hFile, LPDWORD lpEvtMask, LPOVERLAPPED lpOverlapped)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    BOOL ok = lpEvtMask ? submit(c, OWU_W32_COMM_WAIT, NULL, 0, NULL, lpEvtMask, lpOverlapped)
                        : owu_w32_fail(ERROR_INVALID_PARAMETER);
    owu_w32_comm_end(c);
    return ok;
}

/* A new mask forgets the events that happened so far and completes a pending WaitCommEvent
 * with an event mask of 0, as Windows does. */
BOOL WINAPI SetCommMask(HANDLE hFile, DWORD dwEvtMask)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    if (dwEvtMask & ~COMM_EV_VALID) {
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    pthread_mutex_lock(&c->lock);
    c->mask = dwEvtMask;
    uint64_t gen = ++c->mask_gen;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    owu_usbser_clear_events(c->port, OWU_USBSER_EV_ALL);
    struct owu_w32_comm_queue *q = &c->q[OWU_W32_COMM_WAIT];
    pthread_mutex_lock(&c->lock);
    while (q->busy && q->busy_mask_gen < gen) {
        pthread_mutex_unlock(&c->lock);
        owu_usbser_purge(c->port, OWU_USBSER_PURGE_ABORT_WAIT);
        pthread_mutex_lock(&c->lock);
        if (q->busy && q->busy_mask_gen < gen)
            wait_ms(c, ABORT_SLICE_MS);
    }
    pthread_mutex_unlock(&c->lock);
    owu_w32_comm_end(c);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

BOOL WINAPI GetCommMask(HANDLE hFile, LPDWORD lpEvtMask)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    BOOL ok = TRUE;
    if (!lpEvtMask) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    } else {
        pthread_mutex_lock(&c->lock);
        *lpEvtMask = c->mask;
        pthread_mutex_unlock(&c->lock);
    }
    owu_w32_comm_end(c);
    return ok;
}

/* RXABORT / TXABORT complete the pending reads / writes with ERROR_OPERATION_ABORTED before
 * PurgeComm returns; RXCLEAR drops the received bytes not yet read; TXCLEAR has nothing to
 * drop (writes go to the device as they are made; there is no output buffer). */
BOOL WINAPI PurgeComm(HANDLE hFile, DWORD dwFlags)
{
    struct owu_w32_comm *c = owu_w32_comm_begin(hFile);
    if (!c)
        return FALSE;
    const DWORD all = PURGE_TXABORT | PURGE_RXABORT | PURGE_TXCLEAR | PURGE_RXCLEAR;
    if (dwFlags == 0 || (dwFlags & ~all)) {
        owu_w32_comm_end(c);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    unsigned which = 0;
    if (dwFlags & PURGE_RXABORT)
        which |= 1u << OWU_W32_COMM_READ;
    if (dwFlags & PURGE_TXABORT)
        which |= 1u << OWU_W32_COMM_WRITE;
    if (which)
        abort_queues(c, which);
    int rc = OWU_OK;
    if (dwFlags & PURGE_RXCLEAR)
        rc = owu_usbser_purge(c->port, OWU_USBSER_PURGE_RX);
    owu_w32_comm_end(c);
    if (rc != OWU_OK)
        return owu_w32_fail(rc == OWU_E_NODEV ? ERROR_ACCESS_DENIED : owu_w32_error_of(rc));
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}
