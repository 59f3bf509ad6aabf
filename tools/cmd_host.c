/* `openwinusb host`: the device host. Opens the stack (OPENWINUSB_BUSES as usual) and serves
 * every enumerated device on a Unix-domain socket, so that several processes (bus kind
 * "host" in their OPENWINUSB_BUSES) use one device at once, each with the interfaces it
 * claimed. Runs until SIGINT/SIGTERM. docs/device-host.md.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openwinusb/pnp.h>
#include <openwinusb/stack.h>

#include "cli.h"
#include "hcd/usbip.h"

#define HOST_USAGE                                                                                  \
    "usage: openwinusb host [--socket PATH]\n"                                                      \
    "Serves the devices of OPENWINUSB_BUSES to other openwinusb processes (their\n"                \
    "OPENWINUSB_BUSES=host[=PATH]), each process claiming its own interfaces.\n"                  \
    "Default socket: $XDG_RUNTIME_DIR/openwinusb/host.sock, else /tmp/openwinusb-$UID/host.sock.\n" \
    "Stop with Ctrl-C or SIGTERM.\n"

int cmd_host(int argc, char **argv)
{
    char path[108] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
            if (strlen(argv[++i]) == 0 || strlen(argv[i]) >= sizeof path) {
                fprintf(stderr, "openwinusb host: --socket needs a path of 1 to %zu characters\n",
                        sizeof path - 1);
                return 2;
            }
            snprintf(path, sizeof path, "%s", argv[i]);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(HOST_USAGE, stdout);
            return 0;
        } else {
            fprintf(stderr, "openwinusb host: unexpected argument \"%s\"\n%s", argv[i], HOST_USAGE);
            return 2;
        }
    }
    owu_err err = {0};
    if (!path[0] && owu_usbip_local_default_path(path, sizeof path, true, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb host: %s\n", err.msg);
        return 1;
    }
    /* Signals are collected by sigwait below; every thread the stack starts inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct owu_stack *stack = NULL;
    struct owu_usbip_server *srv = NULL;
    int status = 0;
    if (owu_stack_open(NULL, &stack, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb host: %s\n", err.msg);
        return 1;
    }
    if (!(srv = owu_usbip_server_new(&err))) {
        fprintf(stderr, "openwinusb host: %s\n", err.msg);
        status = 1;
    }
    unsigned count = 0;
    if (status == 0) {
        if (owu_usbip_server_export_stack(srv, stack, &count, &err) != OWU_OK) {
            fprintf(stderr, "openwinusb host: %s\n", err.msg);
            status = 1;
        }
    }
    if (status == 0 && owu_usbip_server_start_local(srv, path, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb host: %s\n", err.msg);
        status = 1;
    }
    if (status == 0) {
        printf("openwinusb host: serving %u device%s on %s\n", count, count == 1 ? "" : "s", path);
        fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        printf("openwinusb host: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    owu_usbip_server_free(srv);
    owu_stack_close(stack);
    return status;
}
