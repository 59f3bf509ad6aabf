/* Socket helpers shared by the USB/IP client and server: connect, listen, whole reads and
 * writes (EINTR-safe, no SIGPIPE) and HOST[:PORT] parsing. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
