/* Socket helpers shared by the USB/IP client and server: TCP and Unix-domain (device host)
 * connect and listen, whole reads and writes (EINTR-safe, no SIGPIPE) and HOST[:PORT]
 * parsing. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hcd/usbip.h"

static void tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

int owu_usbip_connect(const char *host, unsigned port, owu_err *err)
{
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, service, &hints, &res);
    if (g != 0)
        return owu_fail(err, OWU_E_NOTFOUND, "USB/IP server %s:%u: %s", host, port, gai_strerror(g));
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return owu_fail(err, OWU_E_NODEV, "USB/IP server %s:%u: cannot connect: %s", host, port,
                        strerror(saved));
    tune(fd);
    return fd;
}

int owu_usbip_listen(const char *addr, unsigned port, unsigned *bound_port, owu_err *err)
{
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(addr, service, &hints, &res);
    if (g != 0)
        return owu_fail(err, OWU_E_INVAL, "USB/IP listen address %s:%u: %s", addr ? addr : "*", port,
                        gai_strerror(g));
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0) {
        freeaddrinfo(res);
        return owu_fail(err, OWU_E_IO, "USB/IP: socket: %s", strerror(errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        close(fd);
        freeaddrinfo(res);
        return owu_fail(err, e == EADDRINUSE ? OWU_E_BUSY : OWU_E_IO, "USB/IP: cannot listen on %s:%u: %s",
                        addr ? addr : "*", port, strerror(e));
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (bound_port && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

int owu_usbip_read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return OWU_E_NODEV;
        }
    }
    return OWU_OK;
}

int owu_usbip_write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return OWU_E_NODEV;
        }
    }
    return OWU_OK;
}

size_t owu_usbip_send_now(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            done += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break;   /* full socket buffer or an error: the writer thread takes over */
    }
    return done;
}

/* ---- outgoing PDU queue ---------------------------------------------------------------------- */

struct owu_usbip_msg *owu_usbip_msg_new(size_t len)
{
    struct owu_usbip_msg *m = malloc(sizeof *m + len);
    if (m) {
        m->next = NULL;
        m->hang_up = false;
        m->len = len;
        m->off = 0;
    }
    return m;
}

/* Takes ownership of m (lock held). When nothing is queued or being written it goes out
 * directly without blocking (one thread hop less); what the socket does not take at once is
 * queued. Returns true when something was queued. */
static bool outq_push(struct owu_usbip_outq *q, int fd, struct owu_usbip_msg *m)
{
    if (!m->hang_up && !q->writing && !q->head) {
        size_t n = owu_usbip_send_now(fd, m->data, m->len);
        if (n == m->len) {
            free(m);
            return false;
        }
        m->off = n;   /* the writer sends the rest */
    }
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->bytes += m->len - m->off;
    return true;
}

void owu_usbip_outq_send(struct owu_usbip_outq *q, int fd, pthread_cond_t *cond, struct owu_usbip_msg *m)
{
    if (outq_push(q, fd, m))
        pthread_cond_broadcast(cond);
}

/* Writer, lock held: takes everything queued (*taken gets its size) and marks it writing. */
static struct owu_usbip_msg *outq_take(struct owu_usbip_outq *q, size_t *taken)
{
    struct owu_usbip_msg *list = q->head;
    q->head = q->tail = NULL;
    *taken = q->bytes;
    q->writing = true;
    return list;
}

/* Writer, lock not held: writes and frees the list. Returns false when a write failed or a
 * hang-up marker was met (the rest is freed unsent). */
static bool outq_write(int fd, struct owu_usbip_msg *list)
{
    bool ok = true;
    while (list) {
        struct owu_usbip_msg *next = list->next;
        if (ok && (list->hang_up || owu_usbip_write_full(fd, list->data + list->off, list->len - list->off) != OWU_OK))
            ok = false;
        free(list);
        list = next;
    }
    return ok;
}

/* Writer, lock held: the list taken is written. */
static void outq_written(struct owu_usbip_outq *q, size_t taken)
{
    q->writing = false;
    q->bytes -= taken;
}

void owu_usbip_outq_run(struct owu_usbip_outq *q, int fd, pthread_mutex_t *lock, pthread_cond_t *cond,
                        const bool *stop, bool flush, bool *failed)
{
    for (;;) {
        while (!q->head && !*stop)
            pthread_cond_wait(cond, lock);
        if (*stop && (!flush || !q->head))
            break;
        size_t taken;
        struct owu_usbip_msg *list = outq_take(q, &taken);
        pthread_mutex_unlock(lock);
        bool ok = outq_write(fd, list);
        pthread_mutex_lock(lock);
        outq_written(q, taken);
        pthread_cond_broadcast(cond);   /* a producer may be waiting for room */
        if (!ok) {
            if (failed)
                *failed = true;
            shutdown(fd, SHUT_RDWR);   /* the reader learns it from its next recv */
        }
    }
}

void owu_usbip_outq_clear(struct owu_usbip_outq *q)
{
    struct owu_usbip_msg *m = q->head;
    while (m) {
        struct owu_usbip_msg *next = m->next;
        free(m);
        m = next;
    }
    q->head = q->tail = NULL;
    q->bytes = 0;
}

/* ---- the URB phase's next message ------------------------------------------------------------ */

int owu_usbip_read_next(int fd, struct owu_usbip_op_header *op, struct owu_usbip_pdu *pdu, owu_err *err)
{
    uint8_t hdr[OWU_USBIP_HEADER_SIZE];
    if (owu_usbip_read_full(fd, hdr, OWU_USBIP_OP_HEADER_SIZE) != OWU_OK)
        return OWU_E_NODEV;
    if (hdr[0] == (OWU_USBIP_VERSION >> 8) && hdr[1] == (OWU_USBIP_VERSION & 0xFF)) {
        /* An extension op (an URB PDU starts with two zero bytes). */
        int rc = owu_usbip_decode_op_header(hdr, OWU_USBIP_OP_HEADER_SIZE, 0, op, err);
        return rc == OWU_OK ? 1 : rc;
    }
    if (owu_usbip_read_full(fd, hdr + OWU_USBIP_OP_HEADER_SIZE, OWU_USBIP_HEADER_SIZE - OWU_USBIP_OP_HEADER_SIZE) !=
        OWU_OK)
        return OWU_E_NODEV;
    return owu_usbip_decode_pdu(hdr, sizeof hdr, pdu, err);
}

int owu_usbip_parse_target(const char *target, char *host_out, size_t host_size, unsigned *port,
                           owu_err *err)
{
    *port = OWU_USBIP_DEFAULT_PORT;
    if (!target || !*target)
        return owu_fail(err, OWU_E_PARSE, "USB/IP: no server given (HOST[:PORT])");
    const char *host = target, *host_end;
    const char *colon;
    if (*target == '[') {
        const char *close_br = strchr(target, ']');
        if (!close_br)
            return owu_fail(err, OWU_E_PARSE, "USB/IP server \"%s\": missing ']'", target);
        host = target + 1;
        host_end = close_br;
        colon = close_br[1] == ':' ? close_br + 1 : NULL;
        if (close_br[1] && !colon)
            return owu_fail(err, OWU_E_PARSE, "USB/IP server \"%s\": junk after ']'", target);
    } else {
        colon = strrchr(target, ':');
        if (colon && strchr(target, ':') != colon)
            colon = NULL;   /* a bare IPv6 address */
        host_end = colon ? colon : target + strlen(target);
    }
    if (colon) {
        char *end;
        unsigned long p = strtoul(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || p == 0 || p > 65535)
            return owu_fail(err, OWU_E_PARSE, "USB/IP server \"%s\": bad port", target);
        *port = (unsigned)p;
    }
    size_t n = (size_t)(host_end - host);
    if (n == 0)
        return owu_fail(err, OWU_E_PARSE, "USB/IP server \"%s\": empty host", target);
    if (n >= host_size)
        return owu_fail(err, OWU_E_PARSE, "USB/IP server \"%s\": host name too long", target);
    memcpy(host_out, host, n);
    host_out[n] = '\0';
    return OWU_OK;
}

/* ---- Unix-domain sockets (device host) ------------------------------------------------------ */

int owu_usbip_runtime_dir(char *out, size_t size, bool create_dir, owu_err *err)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(out, size, "%s/openwinusb", xdg);
    else
        n = snprintf(out, size, "/tmp/openwinusb-%u", (unsigned)getuid());
    if (n < 0 || (size_t)n >= size)
        return owu_fail(err, OWU_E_INVAL, "device host: socket directory path \"%s\" is too long", out);
    if (create_dir && mkdir(out, 0700) != 0 && errno != EEXIST)
        return owu_fail(err, OWU_E_IO, "device host: cannot create %s: %s", out, strerror(errno));
    if (create_dir) {
        struct stat st;
        if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
            return owu_fail(err, OWU_E_ACCESS, "device host: %s is not a directory of this user", out);
        chmod(out, 0700);
    }
    return OWU_OK;
}

int owu_usbip_local_default_path(char *out, size_t size, bool create_dir, owu_err *err)
{
    char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
    /* The directory must leave room for "/host.sock" in dir and in out. */
    size_t room = size < sizeof dir ? size : sizeof dir;
    if (room < sizeof "/host.sock")
        return owu_fail(err, OWU_E_INVAL, "device host: no room for the socket path");
    int rc = owu_usbip_runtime_dir(dir, room - (sizeof "/host.sock" - 1), create_dir, err);
    if (rc != OWU_OK)
        return rc;
    snprintf(out, size, "%s/host.sock", dir);
    return OWU_OK;
}

static int fill_addr(struct sockaddr_un *sa, const char *path, owu_err *err)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (!path || !*path || strlen(path) >= sizeof sa->sun_path)
        return owu_fail(err, OWU_E_INVAL, "device host: socket path \"%s\" is empty or longer than %zu bytes",
                        path ? path : "", sizeof sa->sun_path - 1);
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return OWU_OK;
}

int owu_usbip_connect_local(const char *path, owu_err *err)
{
    struct sockaddr_un sa;
    int rc = fill_addr(&sa, path, err);
    if (rc != OWU_OK)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return owu_fail(err, OWU_E_IO, "device host: socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return owu_fail(err, OWU_E_NODEV, "device host %s: %s (is `openwinusb host` running?)", path,
                        strerror(e));
    }
    return fd;
}

int owu_usbip_listen_local(const char *path, owu_err *err)
{
    struct sockaddr_un sa;
    int rc = fill_addr(&sa, path, err);
    if (rc != OWU_OK)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return owu_fail(err, OWU_E_IO, "device host: socket: %s", strerror(errno));
    /* A stale socket of a host that died: replace it (a live one would answer connect). */
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            close(fd);
            return owu_fail(err, OWU_E_BUSY, "device host: another host is serving %s", path);
        }
        unlink(path);
    }
    mode_t old = umask(0077);   /* the socket is the owner's only */
    int b = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return owu_fail(err, OWU_E_IO, "device host: cannot listen on %s: %s", path, strerror(e));
    }
    return fd;
}
