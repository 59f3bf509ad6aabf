/* `openwinusb export`, `list --remote`, `attach` and `detach`: USB/IP from the command line
 * (docs/usbip.md).
 *
 * export shares devices of a stack of its own (virtual models by name, usbfs devices by
 * location) until SIGINT/SIGTERM. Our client lives inside each program's stack, so there is
 * no kernel port to leave a device attached to: attach imports the device, enumerates it,
 * prints its device tree and releases it — the check a user wants before pointing a program
 * at it with OPENWINUSB_BUSES=usbip=HOST:PORT/BUSID (which the command prints). With --hold
 * it keeps the import (the device stays reserved for this machine, others get "busy") until
 * interrupted or until `openwinusb detach` for the same HOST:PORT BUSID stops it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/stack.h>

#include "cli.h"
#include "core/json.h"
#include "core/usbids.h"
#include "hcd/usbip.h"

#define EXPORT_USAGE                                                                          \
    "usage: openwinusb export [--listen ADDR:PORT] [--config FILE] DEVICE...\n"               \
    "Shares devices with USB/IP clients until interrupted (Ctrl-C, SIGTERM).\n"               \
    "DEVICE: a virtual model as in OPENWINUSB_BUSES (fx2, cdc-acm, profile=PATH, ...) or a\n" \
    "usbfs device by location (usbfs:2-1.4). Only the devices named here or in the config\n" \
    "file are visible. Default listen address 127.0.0.1:3240; port 0 picks a free port.\n"  \
    "USB/IP has no authentication: listen on other addresses only on trusted networks.\n"

#define MAX_EXPORTS 64

struct export_plan {
    char listen[300];
    char *devices[MAX_EXPORTS];
    unsigned n;
};

static int plan_add(struct export_plan *p, const char *dev, const char *where)
{
    if (p->n >= MAX_EXPORTS) {
        fprintf(stderr, "openwinusb export: %s: more than %d devices\n", where, MAX_EXPORTS);
        return -1;
    }
    if (strchr(dev, ',') || strchr(dev, ';')) {
        fprintf(stderr, "openwinusb export: %s: \"%s\" is not a device name\n", where, dev);
        return -1;
    }
    p->devices[p->n++] = strdup(dev);
    return 0;
}

/* Config file: one device per line (as on the command line) or "listen ADDR:PORT";
 * '#' starts a comment; blank lines are ignored. */
static int read_config(struct export_plan *p, const char *path, bool listen_given)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "openwinusb export: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char where[1100];
        snprintf(where, sizeof where, "%s:%u", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            fprintf(stderr, "openwinusb export: %s: line too long\n", where);
            rc = -1;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL, *w1 = strtok_r(line, " \t\r\n", &save);
        if (!w1)
            continue;
        char *w2 = strtok_r(NULL, " \t\r\n", &save);
        if (strcmp(w1, "listen") == 0) {
            if (!w2 || strtok_r(NULL, " \t\r\n", &save)) {
                fprintf(stderr, "openwinusb export: %s: \"listen\" takes one ADDR:PORT\n", where);
                rc = -1;
            } else if (!listen_given) {
                snprintf(p->listen, sizeof p->listen, "%s", w2);
            }
            continue;
        }
        if (w2) {
            fprintf(stderr, "openwinusb export: %s: one device per line (\"%s %s\")\n", where, w1, w2);
            rc = -1;
            continue;
        }
        rc = plan_add(p, w1, where);
    }
    fclose(f);
    return rc;
}

/* Blocks SIGINT/SIGTERM in this thread and every thread it starts; sigwait collects them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

static void describe(FILE *f, uint16_t vid, uint16_t pid)
{
    char vendor[128] = "", product[128] = "";
    owu_usbids_vendor(vid, vendor, sizeof vendor);
    owu_usbids_product(vid, pid, product, sizeof product);
    if (*vendor || *product)
        fprintf(f, "  %s%s%s", vendor, *vendor && *product ? " " : "", product);
}

int cmd_export(int argc, char **argv)
{
    struct export_plan plan;
    memset(&plan, 0, sizeof plan);
    snprintf(plan.listen, sizeof plan.listen, "127.0.0.1:%d", OWU_USBIP_DEFAULT_PORT);
    const char *config = NULL;
    bool listen_given = false;
    int status = 0;
    for (int i = 1; i < argc && status == 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(EXPORT_USAGE, stdout);
            return 0;
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            snprintf(plan.listen, sizeof plan.listen, "%s", argv[++i]);
            listen_given = true;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "openwinusb export: unknown option \"%s\"\n" EXPORT_USAGE, argv[i]);
            status = 2;
        } else if (plan_add(&plan, argv[i], "command line") != 0) {
            status = 2;
        }
    }
    if (status == 0 && config && read_config(&plan, config, listen_given) != 0)
        status = 2;
    if (status == 0 && plan.n == 0) {
        fprintf(stderr, "openwinusb export: name the devices to share\n" EXPORT_USAGE);
        status = 2;
    }
    char host[256];
    unsigned port = 0;
    owu_err err = {0};
    /* "ADDR:PORT" with port 0 allowed (ephemeral): parse the port ourselves. */
    if (status == 0) {
        const char *colon = strrchr(plan.listen, ':');
        char *end = NULL;
        unsigned long p = colon ? strtoul(colon + 1, &end, 10) : 0;
        if (!colon || colon == plan.listen || colon[1] == '\0' || *end || p > 65535 ||
            (size_t)(colon - plan.listen) >= sizeof host) {
            fprintf(stderr, "openwinusb export: --listen takes ADDR:PORT, not \"%s\"\n", plan.listen);
            status = 2;
        } else {
            const char *h = plan.listen;
            size_t n = (size_t)(colon - plan.listen);
            if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
                h++;
                n -= 2;
            }
            memcpy(host, h, n);
            host[n] = '\0';
            port = (unsigned)p;
        }
    }

    /* One virtual bus with the models in command-line order, plus usbfs when asked for. */
    char spec[8192] = "virtual:";
    bool usbfs = false, first = true;
    for (unsigned i = 0; status == 0 && i < plan.n; i++) {
        if (strncmp(plan.devices[i], "usbfs:", 6) == 0) {
            usbfs = true;
            continue;
        }
        if (strlen(spec) + strlen(plan.devices[i]) + 2 >= sizeof spec) {
            fprintf(stderr, "openwinusb export: too many devices\n");
            status = 2;
            break;
        }
        if (!first)
            strcat(spec, ",");
        strcat(spec, plan.devices[i]);
        first = false;
    }
    if (usbfs)
        strcat(spec, ";usbfs");

    struct owu_stack *stack = NULL;
    struct owu_usbip_server *srv = NULL;
    sigset_t set;
    if (status == 0) {
        block_signals(&set);
        struct owu_stack_options opt;
        owu_stack_options_default(&opt);
        opt.buses = spec;
        if (owu_stack_open(&opt, &stack, &err) != OWU_OK) {
            fprintf(stderr, "openwinusb export: %s\n", err.msg);
            status = 1;
        }
    }
    if (status == 0 && !(srv = owu_usbip_server_new(&err))) {
        fprintf(stderr, "openwinusb export: %s\n", err.msg);
        status = 1;
    }
    unsigned vport = 0;
    for (unsigned i = 0; status == 0 && i < plan.n; i++) {
        char location[128], busid[OWU_USBIP_BUSID_SIZE];
        if (strncmp(plan.devices[i], "usbfs:", 6) == 0)
            snprintf(location, sizeof location, "%s", plan.devices[i]);
        else
            snprintf(location, sizeof location, "virtual:1-%u", ++vport);
        /* busid: the location without the backend name, like Linux ("1-2"); the full
         * location when that is taken already. */
        snprintf(busid, sizeof busid, "%s", strchr(location, ':') + 1);
        owu_stack_lock(stack);
        struct owu_devnode *node = owu_stack_find(stack, location);
        struct owu_usb_device *dev = node ? node->bus_device : NULL;
        struct owu_devinfo *info = node ? node->info : NULL;
        if (dev)
            owu_usb_device_ref(dev);
        owu_stack_unlock(stack);
        if (!dev) {
            fprintf(stderr, "openwinusb export: %s: no such device (see `openwinusb tree`)\n",
                    plan.devices[i]);
            status = 1;
            break;
        }
        int rc = owu_usbip_server_export(srv, dev, info, busid, &err);
        if (rc == OWU_E_BUSY && strlen(location) < sizeof busid)
            rc = owu_usbip_server_export(srv, dev, info, location, &err);
        if (rc != OWU_OK) {
            fprintf(stderr, "openwinusb export: %s: %s\n", plan.devices[i], err.msg);
            status = 1;
        }
        owu_usb_device_unref(dev);
    }
    unsigned bound = 0;
    if (status == 0 && owu_usbip_server_start(srv, host, port, &bound, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb export: %s\n", err.msg);
        status = 1;
    }
    if (status == 0) {
        printf("openwinusb export: listening on %s:%u\n", host, bound);
        struct owu_usbip_device *devs = NULL;
        size_t n = 0;
        if (owu_usbip_list(host, bound, &devs, &n, NULL) == OWU_OK)
            for (size_t i = 0; i < n; i++) {
                printf("  %-12s %04x:%04x", devs[i].busid, devs[i].idVendor, devs[i].idProduct);
                describe(stdout, devs[i].idVendor, devs[i].idProduct);
                printf("  (%s)\n", devs[i].path);
            }
        free(devs);
        fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        printf("openwinusb export: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    owu_usbip_server_free(srv);
    owu_stack_close(stack);
    for (unsigned i = 0; i < plan.n; i++)
        free(plan.devices[i]);
    return status;
}

/* ---- list --remote -------------------------------------------------------------------------- */

static const char *speed_text(uint32_t s)
{
    static const char *names[] = {"unknown", "low", "full", "high", "wireless", "super", "super-plus"};
    return s < sizeof names / sizeof names[0] ? names[s] : "?";
}

int cmd_list(int argc, char **argv)
{
    const char *target = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--remote") == 0 || strcmp(argv[i], "-r") == 0) && i + 1 < argc)
            target = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            fprintf(stderr, "usage: openwinusb list --remote HOST[:PORT] [--json]\n");
            return 2;
        }
    }
    if (!target) {
        fprintf(stderr, "usage: openwinusb list --remote HOST[:PORT] [--json]\n"
                        "(local devices: openwinusb tree)\n");
        return 2;
    }
    char host[256];
    unsigned port;
    owu_err err = {0};
    if (owu_usbip_parse_target(target, host, sizeof host, &port, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb list: %s\n", err.msg);
        return 2;
    }
    struct owu_usbip_device *devs = NULL;
    size_t n = 0;
    if (owu_usbip_list(host, port, &devs, &n, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb list: %s\n", err.msg);
        return 1;
    }
    /* busids and paths come from the server: JSON strings with escapes, text with
     * control characters shown escaped. */
    if (json) {
        char server[300], hex[8];
        snprintf(server, sizeof server, "%s:%u", host, port);
        struct owu_json_writer w;
        owu_jw_init(&w, stdout, true);
        owu_jw_begin_object(&w);
        owu_jw_key(&w, "server");
        owu_jw_string(&w, server);
        owu_jw_key(&w, "devices");
        owu_jw_begin_array(&w);
        for (size_t i = 0; i < n; i++) {
            const struct owu_usbip_device *d = &devs[i];
            owu_jw_begin_object(&w);
            owu_jw_key(&w, "busid");
            owu_jw_string(&w, d->busid);
            owu_jw_key(&w, "vid");
            snprintf(hex, sizeof hex, "%04x", d->idVendor);
            owu_jw_string(&w, hex);
            owu_jw_key(&w, "pid");
            snprintf(hex, sizeof hex, "%04x", d->idProduct);
            owu_jw_string(&w, hex);
            owu_jw_key(&w, "bcdDevice");
            snprintf(hex, sizeof hex, "%04x", d->bcdDevice);
            owu_jw_string(&w, hex);
            owu_jw_key(&w, "speed");
            owu_jw_string(&w, speed_text(d->speed));
            owu_jw_key(&w, "class");
            owu_jw_begin_array(&w);
            owu_jw_int(&w, d->bDeviceClass);
            owu_jw_int(&w, d->bDeviceSubClass);
            owu_jw_int(&w, d->bDeviceProtocol);
            owu_jw_end_array(&w);
            owu_jw_key(&w, "configuration");
            owu_jw_int(&w, d->bConfigurationValue);
            owu_jw_key(&w, "configurations");
            owu_jw_int(&w, d->bNumConfigurations);
            owu_jw_key(&w, "interfaces");
            owu_jw_begin_array(&w);
            for (unsigned k = 0; k < d->bNumInterfaces; k++) {
                owu_jw_begin_array(&w);
                owu_jw_int(&w, d->interfaces[k].bInterfaceClass);
                owu_jw_int(&w, d->interfaces[k].bInterfaceSubClass);
                owu_jw_int(&w, d->interfaces[k].bInterfaceProtocol);
                owu_jw_end_array(&w);
            }
            owu_jw_end_array(&w);
            owu_jw_end_object(&w);
        }
        owu_jw_end_array(&w);
        owu_jw_end_object(&w);
        owu_jw_finish(&w);
    } else {
        printf("Exportable USB devices on %s:%u\n", host, port);
        if (n == 0)
            printf("  (none)\n");
        for (size_t i = 0; i < n; i++) {
            const struct owu_usbip_device *d = &devs[i];
            fputs("  ", stdout);
            for (size_t w = cli_put_text(stdout, d->busid); w < 12; w++)
                putchar(' ');
            printf(" %04x:%04x", d->idVendor, d->idProduct);
            describe(stdout, d->idVendor, d->idProduct);
            printf("\n               %s speed, class %02x/%02x/%02x, configuration %u of %u, ",
                   speed_text(d->speed), d->bDeviceClass, d->bDeviceSubClass, d->bDeviceProtocol,
                   d->bConfigurationValue, d->bNumConfigurations);
            cli_put_text(stdout, d->path);
            putchar('\n');
            for (unsigned k = 0; k < d->bNumInterfaces; k++)
                printf("               interface %u: class %02x/%02x/%02x\n", k,
                       d->interfaces[k].bInterfaceClass, d->interfaces[k].bInterfaceSubClass,
                       d->interfaces[k].bInterfaceProtocol);
        }
    }
    free(devs);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- attach / detach ------------------------------------------------------------------------- */

/* Where `attach --hold` records its pid: the runtime directory (owu_usbip_runtime_dir:
 * $XDG_RUNTIME_DIR/openwinusb, else /tmp/openwinusb-$UID); one file per HOST:PORT and busid. */
static int hold_file(const char *host, unsigned port, const char *busid, char *out, size_t outsz,
                     bool create_dir)
{
    char dir[512];
    if (owu_usbip_runtime_dir(dir, sizeof dir, create_dir, NULL) != OWU_OK)
        return -1;
    char name[400];
    snprintf(name, sizeof name, "usbip-%s-%u-%s.pid", host, port, busid);
    for (char *c = name; *c; c++)
        if (*c == '/' || *c == ' ')
            *c = '_';
    snprintf(out, outsz, "%s/%s", dir, name);
    return 0;
}

static int parse_host_busid(const char *cmd, int argc, char **argv, char *host, size_t hostsz,
                            unsigned *port, const char **busid, bool *json, bool *hold)
{
    const char *target = NULL;
    for (int i = 1; i < argc; i++) {
        if (json && strcmp(argv[i], "--json") == 0)
            *json = true;
        else if (hold && strcmp(argv[i], "--hold") == 0)
            *hold = true;
        else if (argv[i][0] == '-' || (target && *busid))
            target = NULL, *busid = NULL, i = argc;
        else if (!target)
            target = argv[i];
        else
            *busid = argv[i];
    }
    if (!target || !*busid) {
        fprintf(stderr, "usage: openwinusb %s HOST[:PORT] BUSID%s\n", cmd,
                hold ? " [--hold] [--json]" : "");
        return 2;
    }
    owu_err err = {0};
    if (owu_usbip_parse_target(target, host, hostsz, port, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb %s: %s\n", cmd, err.msg);
        return 2;
    }
    if (strlen(*busid) >= OWU_USBIP_BUSID_SIZE || strchr(*busid, '/')) {
        fprintf(stderr, "openwinusb %s: \"%s\" is not a USB/IP busid\n", cmd, *busid);
        return 2;
    }
    return 0;
}

int cmd_attach(int argc, char **argv)
{
    char host[256];
    unsigned port;
    const char *busid = NULL;
    bool json = false, hold = false;
    int rc = parse_host_busid("attach", argc, argv, host, sizeof host, &port, &busid, &json, &hold);
    if (rc)
        return rc;
    sigset_t set;
    block_signals(&set);
    char spec[400];
    snprintf(spec, sizeof spec, strchr(host, ':') ? "usbip=[%s]:%u/%s" : "usbip=%s:%u/%s", host, port, busid);
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = spec;
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    if (owu_stack_open(&opt, &stack, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb attach: %s\n", err.msg);
        return 1;
    }
    owu_strlist notes = {0};
    owu_stack_take_notes(stack, &notes);
    for (size_t i = 0; i < notes.n; i++)
        fprintf(stderr, "openwinusb: note: %s\n", notes.v[i]);
    owu_strlist_clear(&notes);
    struct owu_pnp_options pnp;
    owu_pnp_options_default(&pnp);
    owu_stack_lock(stack);
    if (json)
        print_tree_json(stdout, owu_stack_tree(stack), &pnp);
    else
        print_tree_text(stdout, owu_stack_tree(stack));
    owu_stack_unlock(stack);
    fprintf(stderr, "openwinusb attach: programs reach this device with OPENWINUSB_BUSES=\"%s\"\n", spec);
    fflush(stdout);
    if (hold) {
        char path[1024];
        FILE *f = NULL;
        if (hold_file(host, port, busid, path, sizeof path, true) == 0 && (f = fopen(path, "w"))) {
            fprintf(f, "%ld\n", (long)getpid());
            fclose(f);
        }
        fprintf(stderr, "openwinusb attach: holding %s on %s:%u until interrupted or "
                        "`openwinusb detach %s:%u %s`\n", busid, host, port, host, port, busid);
        int sig = 0;
        sigwait(&set, &sig);
        if (f)
            unlink(path);
    }
    owu_stack_close(stack);
    return 0;
}

int cmd_detach(int argc, char **argv)
{
    char host[256];
    unsigned port;
    const char *busid = NULL;
    int rc = parse_host_busid("detach", argc, argv, host, sizeof host, &port, &busid, NULL, NULL);
    if (rc)
        return rc;
    char path[1024];
    long pid = 0;
    FILE *f = hold_file(host, port, busid, path, sizeof path, false) == 0 ? fopen(path, "r") : NULL;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        if (f)
            fclose(f);
        fprintf(stderr, "openwinusb detach: %s on %s:%u is not held here (only `openwinusb attach "
                        "--hold` keeps an import; programs release theirs when they exit)\n",
                busid, host, port);
        return 1;
    }
    fclose(f);
    if (kill((pid_t)pid, SIGTERM) != 0) {
        unlink(path);   /* stale */
        fprintf(stderr, "openwinusb detach: the holder (pid %ld) is gone\n", pid);
        return 1;
    }
    for (int i = 0; i < 500 && kill((pid_t)pid, 0) == 0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    printf("openwinusb detach: released %s on %s:%u\n", busid, host, port);
    return 0;
}
