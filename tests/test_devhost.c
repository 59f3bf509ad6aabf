/* The device host (docs/device-host.md): `openwinusb host` serving virtual:composite on a
 * socket in a temporary directory, and client stacks (OPENWINUSB_BUSES=host=SOCKET) in this
 * process and in child processes (this program re-run with --child-a / --child-b) using
 * different interfaces of the one device at the same time, with exclusive access per
 * interface; malformed input closes only the offending connection; a host that dies fails
 * every pending URB with OWU_E_NODEV. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>
#include <openwinusb/win32/windows.h>
#include <openwinusb/win32/setupapi.h>
#include <openwinusb/win32/winusb.h>
#include <openwinusb/win32/initguid.h>

#include "api/process_stack.h"
#include "check.h"
#include "core/urb.h"
#include "devices/desc_build.h"
#include "devices/models.h"
#include "hcd/buses.h"
#include "hcd/usbip.h"
#include "hcd/hcd.h"
#include "hcd/vbus.h"
#include "hcd/usbip.h"

/* The composite model's WinUSB function (MS OS 2.0 DeviceInterfaceGUIDs, src/devices/composite.c). */
DEFINE_GUID(COMPOSITE_GUID, 0x8a5e2c31, 0x6f0b, 0x4d7e, 0x9c, 0x41, 0x2b, 0x3d, 0x5e, 0x7f, 0x9a, 0x10);

#define CMP_VID 0x1209
#define CMP_PID 0x0002
#define LOOPS 64

static char g_dir[64];
static char g_sock[128];
static pid_t g_host = -1;
static const char *g_self;

/* ---- helpers --------------------------------------------------------------------------------- */

static void env_common(void)
{
    setenv("OPENWINUSB_REGISTRY", "memory", 1);
    setenv("OPENWINUSB_DRIVER_STORE", "/nonexistent/openwinusb-test-driver-store", 1);
}

static bool host_answers(void)
{
    int fd = owu_usbip_connect_local(g_sock, NULL);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static bool start_host(void)
{
    g_host = fork();
    if (g_host == 0) {
        setenv("OPENWINUSB_BUSES", "virtual:composite", 1);
        env_common();
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        /* The host body of tools/cmd_host.c, in this program, so that it can also serve a
         * test-only isochronous device (see host_main; tests/cli_host.sh runs the command). */
        execl(g_self, g_self, "--host", g_sock, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000; i++) {   /* up to 30 s (a sanitizer build starts slowly) */
        if (host_answers())
            return true;
        int st;
        if (waitpid(g_host, &st, WNOHANG) == g_host) {
            g_host = -1;
            return false;
        }
        usleep(10000);
    }
    return false;
}

static void stop_host(int sig)
{
    if (g_host > 0) {
        kill(g_host, sig);
        waitpid(g_host, NULL, 0);
        g_host = -1;
    }
}

static struct owu_stack *open_stack(const char *buses)
{
    env_common();
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = buses;
    owu_err err = {0};
    struct owu_stack *s = NULL;
    if (owu_stack_open(&opt, &s, &err) != OWU_OK)
        fprintf(stderr, "stack %s: %s\n", buses, err.msg);
    return s;
}

static struct owu_stack *open_client(void)
{
    char spec[160];
    snprintf(spec, sizeof spec, "host=%s", g_sock);
    return open_stack(spec);
}

static struct owu_devnode *find_kind(struct owu_devnode *n, enum owu_node_kind kind)
{
    for (; n; n = n->next_sibling) {
        if (n->kind == kind && n->vid == CMP_VID && n->pid == CMP_PID && n->bus_device)
            return n;
        struct owu_devnode *hit = find_kind(n->first_child, kind);
        if (hit)
            return hit;
    }
    return NULL;
}

static struct owu_usb_device *composite_dev(struct owu_stack *s)
{
    owu_stack_lock(s);
    struct owu_devnode *n = find_kind(owu_stack_tree(s), OWU_NODE_DEVICE);
    struct owu_usb_device *d = n ? n->bus_device : NULL;
    owu_stack_unlock(s);
    return d;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 31u + i * 7u);
}

/* The two CDC line coding requests on interface 0 (7 bytes: rate, stop bits, parity, data bits). */
static int set_line(struct owu_usb_device *d, uint32_t rate)
{
    uint8_t lc[7] = {(uint8_t)rate, (uint8_t)(rate >> 8), (uint8_t)(rate >> 16), (uint8_t)(rate >> 24), 0, 0, 8};
    return owu_control_sync(d, 0x21, 0x20, 0, 0, lc, 7, 5000);
}

static int get_line(struct owu_usb_device *d, uint32_t *rate)
{
    uint8_t lc[7] = {0};
    int n = owu_control_sync(d, 0xA1, 0x21, 0, 0, lc, 7, 5000);
    *rate = (uint32_t)lc[0] | (uint32_t)lc[1] << 8 | (uint32_t)lc[2] << 16 | (uint32_t)lc[3] << 24;
    return n;
}

/* The WinUSB function's symbolic link through SetupDi (as a Windows program finds it). */
static bool winusb_path(char *out, size_t size)
{
    HDEVINFO hdi = SetupDiGetClassDevsA(&COMPOSITE_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    if (hdi == INVALID_HANDLE_VALUE)
        return false;
    SP_DEVICE_INTERFACE_DATA ifd = {.cbSize = sizeof ifd};
    bool ok = false;
    if (SetupDiEnumDeviceInterfaces(hdi, NULL, &COMPOSITE_GUID, 0, &ifd)) {
        union {
            SP_DEVICE_INTERFACE_DETAIL_DATA_A d;
            char raw[1024];
        } u;
        u.d.cbSize = sizeof u.d;
        if (SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, &u.d, sizeof u, NULL, NULL)) {
            snprintf(out, size, "%s", u.d.DevicePath);
            ok = true;
        }
    }
    SetupDiDestroyDeviceInfoList(hdi);
    return ok;
}

static HANDLE open_winusb(void)
{
    char path[512];
    if (!winusb_path(path, sizeof path))
        return INVALID_HANDLE_VALUE;
    return CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                       OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, NULL);
}

/* ---- child processes ---------------------------------------------------------------------------- */

static void say(const char *s)
{
    printf("%s\n", s);
    fflush(stdout);
}

static bool hear(const char *want)
{
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\n")] = '\0';
    return strcmp(line, want) == 0;
}

/* A: the WinUSB function (interface 2) through SetupDi → CreateFile → WinUsb_Initialize,
 * looping patterned data through its bulk pipes. */
static int child_a(void)
{
    HANDLE f = open_winusb();
    if (f == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "child A: CreateFile: %u\n", (unsigned)GetLastError());
        return 10;
    }
    WINUSB_INTERFACE_HANDLE h = NULL;
    if (!WinUsb_Initialize(f, &h)) {
        fprintf(stderr, "child A: WinUsb_Initialize: %u\n", (unsigned)GetLastError());
        return 11;
    }
    say("ready");
    if (!hear("go"))
        return 12;
    int status = 0;
    static uint8_t out[4096], in[4096];
    for (unsigned i = 0; i < LOOPS && !status; i++) {
        ULONG n = 64u + (i * 97u) % 4000u, done = 0;
        fill(out, n, i);
        memset(in, 0, n);
        if (!WinUsb_WritePipe(h, 0x04, out, n, &done, NULL) || done != n)
            status = 13;
        else if (!WinUsb_ReadPipe(h, 0x84, in, sizeof in, &done, NULL) || done != n || memcmp(in, out, n) != 0)
            status = 14;
    }
    say(status ? "A failed" : "A ok");
    if (!hear("exit"))
        status = status ? status : 15;
    WinUsb_Free(h);
    CloseHandle(f);
    owu_process_stack_reset();
    return status;
}

static struct owu_urb g_pend_urb;
static uint8_t g_pend_buf[64];
static pthread_mutex_t g_pend_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_pend_cond = PTHREAD_COND_INITIALIZER;
static bool g_pend_done;

static void pend_complete(struct owu_urb *u)
{
    pthread_mutex_lock(&g_pend_lock);
    g_pend_done = true;
    pthread_cond_broadcast(&g_pend_cond);
    pthread_mutex_unlock(&g_pend_lock);
    (void)u;
}

/* B: the CDC function (interfaces 0 and 1) through control requests; interface 2 is A's. */
static int child_b(void)
{
    struct owu_stack *s = open_client();
    struct owu_usb_device *d = s ? composite_dev(s) : NULL;
    if (!d)
        return 20;
    owu_usb_device_ref(d);   /* kept past the host's death */
    if (owu_dev_claim_interface(d, 0, 0) != OWU_OK || owu_dev_claim_interface(d, 1, 0) != OWU_OK)
        return 21;
    if (owu_dev_claim_interface(d, 2, 0) != OWU_E_BUSY)
        return 22;
    /* WinUSB's view of the same refusal. */
    owu_process_stack_replace(s);
    HANDLE f = open_winusb();
    DWORD e = GetLastError();
    if (f != INVALID_HANDLE_VALUE || e != ERROR_ACCESS_DENIED) {
        fprintf(stderr, "child B: third open of interface 2: handle %p error %u\n", f, (unsigned)e);
        return 23;
    }
    /* Interface 2's pipes are not ours. */
    uint8_t buf[8] = {0};
    size_t act = 0;
    if (owu_transfer_sync(d, OWU_XFER_BULK, 0x04, buf, sizeof buf, &act, 5000) != OWU_E_STALL)
        return 24;
    say("ready");
    if (!hear("go"))
        return 25;
    int status = 0;
    for (unsigned i = 0; i < LOOPS && !status; i++) {
        uint32_t rate = 1200u + i * 100u, got = 0;
        if (set_line(d, rate) != 7 || get_line(d, &got) != 7 || got != rate)
            status = 26;
    }
    say(status ? "B failed" : "B ok");
    if (status || !hear("claim2"))
        return status ? status : 27;
    /* A has exited: its claim goes with its connection. */
    int rc = OWU_E_BUSY;
    for (int i = 0; i < 1000 && rc == OWU_E_BUSY; i++) {
        rc = owu_dev_claim_interface(d, 2, 0);
        if (rc == OWU_E_BUSY)
            usleep(10000);
    }
    say(rc == OWU_OK ? "claimed" : "claim failed");
    if (rc != OWU_OK || !hear("pend"))
        return 28;
    /* An IN transfer that waits for data the CDC function never sends. */
    g_pend_urb = (struct owu_urb){.dev = d, .type = OWU_XFER_BULK, .endpoint = 0x81, .buffer = g_pend_buf,
                                  .length = sizeof g_pend_buf, .complete = pend_complete};
    if (owu_urb_submit(&g_pend_urb) != OWU_OK)
        return 29;
    say("pending");
    /* The parent kills the host now. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&g_pend_lock);
    while (!g_pend_done)
        if (pthread_cond_timedwait(&g_pend_cond, &g_pend_lock, &until) != 0)
            break;
    bool done = g_pend_done;
    pthread_mutex_unlock(&g_pend_lock);
    if (!done)
        return 30;
    if (g_pend_urb.status != OWU_E_NODEV)
        return 31;
    /* Nothing new starts on a device whose host is gone. */
    if (set_line(d, 9600) != OWU_E_NODEV)
        return 32;
    bool gone = owu_usb_device_gone(d);
    say(gone ? "nodev" : "not gone");
    owu_usb_device_unref(d);
    owu_process_stack_replace(NULL);
    owu_stack_close(s);
    return 0;
}

/* A tiny isochronous device the host plugs next to the composite one (the virtual bus has no
 * isochronous model of its own): alternate setting 1 of interface 0 has an ISO IN endpoint
 * whose packet i carries 100 + i bytes of value i + 1, and an ISO OUT endpoint. */
#define ISO_PID 0x7705
static const uint8_t iso_device[] = {OWU_D_DEVICE(0x0200, 0xFF, 0x00, 0x00, 64, CMP_VID, ISO_PID, 0x0100, 0, 0, 0, 1)};
#define ISO_CFG_LEN (9 + 9 + (9 + 2 * 7))
static const uint8_t iso_config[ISO_CFG_LEN] = {
    OWU_D_CONFIG(ISO_CFG_LEN, 1, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 0, 0xFF, 0x00, 0x00, 0),
    OWU_D_INTERFACE(0, 1, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(0x81, 0x05, 256, 1),
    OWU_D_ENDPOINT(0x02, 0x05, 512, 1),
};
static const struct owu_vblob iso_configs[] = {{iso_config, sizeof iso_config}};

static void iso_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    if (urb->type != OWU_XFER_ISOCHRONOUS || !owu_vdev_active_endpoint(vd, urb->endpoint, NULL)) {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
        return;
    }
    size_t total = 0;
    for (unsigned i = 0; i < urb->num_iso_packets; i++) {
        struct owu_iso_packet *p = &urb->iso[i];
        p->actual = p->length;
        if (urb->endpoint & 0x80) {
            p->actual = 100 + i < p->length ? 100 + i : p->length;
            memset(urb->buffer + p->offset, (int)(i + 1), p->actual);
        }
        p->status = OWU_OK;
        total += p->actual;
    }
    owu_vdev_complete(vd, urb, OWU_OK, total);
}

static const struct owu_vdev_model iso_model = {
    .name = "test-iso",
    .speed = OWU_SPEED_HIGH,
    .device = iso_device,
    .device_len = sizeof iso_device,
    .configs = iso_configs,
    .num_configs = 1,
    .transfer = iso_transfer,
};

/* The device host process: the stack of OPENWINUSB_BUSES served until SIGTERM (the body of
 * tools/cmd_host.c, which the command line test runs through the CLI). */
static int host_main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct owu_stack *s = open_stack("virtual:composite");
    owu_err err = {0};
    struct owu_usbip_server *srv = s ? owu_usbip_server_new(&err) : NULL;
    unsigned n = 0;
    struct owu_usb_device *cmp = s ? composite_dev(s) : NULL;
    if (!cmp || owu_vbus_plug(cmp->hcd, &iso_model, NULL, 2, NULL, &err) != OWU_OK) {
        fprintf(stderr, "host: %s\n", err.msg);
        return 1;
    }
    if (!srv || owu_usbip_server_export_stack(srv, s, &n, &err) != OWU_OK || n != 2 ||
        owu_usbip_server_start_local(srv, g_sock, &err) != OWU_OK) {
        fprintf(stderr, "host: %s (%u devices)\n", err.msg, n);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    owu_usbip_server_free(srv);
    owu_stack_close(s);
    return 0;
}

/* ---- parent side ------------------------------------------------------------------------------------ */

struct child {
    pid_t pid;
    FILE *to, *from;
};

static bool spawn(struct child *c, const char *mode)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0)
        return false;
    c->pid = fork();
    if (c->pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        char spec[160];
        snprintf(spec, sizeof spec, "host=%s", g_sock);
        setenv("OPENWINUSB_BUSES", spec, 1);
        execl(g_self, g_self, mode, g_sock, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->to = fdopen(in[1], "w");
    c->from = fdopen(out[0], "r");
    return c->pid > 0 && c->to && c->from;
}

static void tell(struct child *c, const char *s)
{
    fprintf(c->to, "%s\n", s);
    fflush(c->to);
}

/* Reads one line (the pipe closes if the child dies: no hang). */
static bool expect(struct child *c, const char *want)
{
    char line[64];
    if (!fgets(line, sizeof line, c->from)) {
        fprintf(stderr, "child %d: no answer, expected \"%s\"\n", (int)c->pid, want);
        return false;
    }
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, want) != 0) {
        fprintf(stderr, "child %d: \"%s\", expected \"%s\"\n", (int)c->pid, line, want);
        return false;
    }
    return true;
}

static int reap(struct child *c)
{
    if (c->to)
        fclose(c->to);
    if (c->from)
        fclose(c->from);
    c->to = c->from = NULL;
    int st = 0;
    if (c->pid > 0 && waitpid(c->pid, &st, 0) == c->pid)
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return -1;
}

/* ---- tests ------------------------------------------------------------------------------------------- */

static bool same_ids(const struct owu_devnode *a, const struct owu_devnode *b)
{
    for (; a || b; a = a->next_sibling, b = b->next_sibling) {
        if (!a || !b)
            return false;
        if (strcmp(a->device_id, b->device_id) != 0 || strcmp(a->instance_id, b->instance_id) != 0 ||
            a->hardware_ids.n != b->hardware_ids.n || a->compatible_ids.n != b->compatible_ids.n ||
            strcmp(a->container_id, b->container_id) != 0) {
            fprintf(stderr, "ids differ: %s / %s\n", a->instance_id, b->instance_id);
            return false;
        }
        for (size_t i = 0; i < a->hardware_ids.n; i++)
            if (strcmp(a->hardware_ids.v[i], b->hardware_ids.v[i]) != 0)
                return false;
        for (size_t i = 0; i < a->compatible_ids.n; i++)
            if (strcmp(a->compatible_ids.v[i], b->compatible_ids.v[i]) != 0)
                return false;
        if (!same_ids(a->first_child, b->first_child))
            return false;
    }
    return true;
}

static void test_same_ids_as_local(void)
{
    struct owu_stack *local = open_stack("virtual:composite");
    struct owu_stack *remote = open_client();
    CHECK(local && remote);
    if (local && remote) {
        owu_stack_lock(remote);
        struct owu_devnode *r = find_kind(owu_stack_tree(remote), OWU_NODE_DEVICE);
        CHECK(r != NULL);
        if (r) {
            CHECK_STR(((struct owu_usb_device *)r->bus_device)->location, "host:1-1");
            CHECK_STR(r->service, "usbccgp");
        }
        owu_stack_lock(local);
        struct owu_devnode *l = find_kind(owu_stack_tree(local), OWU_NODE_DEVICE);
        CHECK(l && r && strcmp(l->instance_id, r->instance_id) == 0 && same_ids(l->first_child, r->first_child));
        CHECK(l && r && l->hardware_ids.n == r->hardware_ids.n);
        owu_stack_unlock(local);
        owu_stack_unlock(remote);
    }
    owu_stack_close(remote);
    owu_stack_close(local);
}

/* Two client stacks in one process are two clients of the host. */
static void test_claims_between_clients(void)
{
    struct owu_stack *s1 = open_client(), *s2 = open_client();
    struct owu_usb_device *d1 = s1 ? composite_dev(s1) : NULL, *d2 = s2 ? composite_dev(s2) : NULL;
    CHECK(d1 && d2);
    if (d1 && d2) {
        CHECK_INT(owu_dev_claim_interface(d1, 2, 0), OWU_OK);
        CHECK_INT(owu_dev_claim_interface(d2, 2, 0), OWU_E_BUSY);
        CHECK_INT(owu_dev_claim_interface(d2, 0, 0), OWU_OK);
        CHECK_INT(owu_dev_claim_interface(d2, 9, 0), OWU_E_INVAL);   /* no interface 9 */
        /* Data only on endpoints of claimed interfaces; class requests only to claimed ones. */
        uint8_t out[512], in[512];
        fill(out, sizeof out, 3);
        size_t act = 0;
        CHECK_INT(owu_transfer_sync(d2, OWU_XFER_BULK, 0x04, out, sizeof out, &act, 5000), OWU_E_STALL);
        CHECK_INT(owu_transfer_sync(d1, OWU_XFER_BULK, 0x04, out, sizeof out, &act, 5000), OWU_OK);
        CHECK_INT(owu_transfer_sync(d1, OWU_XFER_BULK, 0x84, in, sizeof in, &act, 5000), OWU_OK);
        CHECK(act == sizeof out && memcmp(in, out, sizeof out) == 0);
        uint32_t rate = 0;
        CHECK_INT(set_line(d1, 19200), OWU_E_STALL);     /* interface 0 is s2's */
        CHECK_INT(set_line(d2, 19200), 7);
        CHECK_INT(get_line(d2, &rate), 7);
        CHECK_INT(rate, 19200);
        /* Standard reads are for everyone. */
        uint8_t desc[18];
        CHECK_INT(owu_control_sync(d1, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0100, 0, desc, 18, 5000), 18);
        /* Re-selecting the active configuration is harmless; another one is refused while
         * the other client holds claims. */
        CHECK_INT(owu_dev_set_configuration(d1, 1, 5000), OWU_OK);
        CHECK_INT(owu_control_sync(d1, 0x00, OWU_REQ_SET_CONFIGURATION, 0, 0, NULL, 0, 5000), OWU_E_STALL);
        /* Release, and the other client may claim. */
        CHECK_INT(owu_dev_release_interface(d1, 2), OWU_OK);
        CHECK_INT(owu_dev_claim_interface(d2, 2, 0), OWU_OK);
        CHECK_INT(owu_dev_claim_interface(d1, 2, 0), OWU_E_BUSY);
        /* A timeout travels as CMD_UNLINK; the link stays usable. */
        CHECK_INT(owu_dev_claim_interface(d2, 1, 0), OWU_OK);
        CHECK_INT(owu_transfer_sync(d2, OWU_XFER_BULK, 0x81, in, sizeof in, &act, 50), OWU_E_TIMEOUT);
        CHECK_INT(owu_transfer_sync(d2, OWU_XFER_BULK, 0x04, out, 64, &act, 5000), OWU_OK);
        CHECK_INT(owu_transfer_sync(d2, OWU_XFER_BULK, 0x84, in, sizeof in, &act, 5000), OWU_OK);
        CHECK_INT(act, 64);
    }
    /* A client that goes away leaves its claims behind. */
    owu_stack_close(s2);
    if (d1) {
        int rc = OWU_E_BUSY;
        for (int i = 0; i < 1000 && rc == OWU_E_BUSY; i++) {
            rc = owu_dev_claim_interface(d1, 0, 0);
            if (rc == OWU_E_BUSY)
                usleep(10000);
        }
        CHECK_INT(rc, OWU_OK);
    }
    owu_stack_close(s1);
}

static struct owu_usb_device *iso_dev(struct owu_stack *s)
{
    owu_stack_lock(s);
    struct owu_usb_device *d = NULL;
    for (struct owu_devnode *hub = owu_stack_tree(s)->first_child; hub && !d; hub = hub->next_sibling)
        for (struct owu_devnode *n = hub->first_child; n && !d; n = n->next_sibling)
            if (n->kind == OWU_NODE_DEVICE && n->pid == ISO_PID)
                d = n->bus_device;
    owu_stack_unlock(s);
    return d;
}

/* Isochronous transfers through the host: packets, per-packet results, alternate settings
 * (SET_INTERFACE carried out by the host for the client that claimed the interface). */
static void test_isochronous(void)
{
    struct owu_stack *s1 = open_client(), *s2 = open_client();
    struct owu_usb_device *d1 = s1 ? iso_dev(s1) : NULL, *d2 = s2 ? iso_dev(s2) : NULL;
    CHECK(d1 && d2);
    if (d1 && d2) {
        CHECK_STR(d1->location, "host:1-2");
        CHECK_INT(owu_dev_claim_interface(d1, 0, 0), OWU_OK);
        /* Not claimed: the other client can neither switch the setting nor stream. */
        CHECK_INT(owu_dev_set_interface(d2, 0, 1, 5000), OWU_E_STALL);
        CHECK_INT(owu_dev_set_interface(d1, 0, 1, 5000), OWU_OK);
        static uint8_t buf[8 * 256];
        struct owu_iso_packet iso[8];
        for (unsigned i = 0; i < 8; i++)
            iso[i] = (struct owu_iso_packet){.offset = i * 256, .length = 256};
        struct owu_urb u = {.dev = d1, .type = OWU_XFER_ISOCHRONOUS, .endpoint = 0x81, .buffer = buf,
                            .length = sizeof buf, .flags = OWU_URB_ISO_ASAP, .num_iso_packets = 8, .iso = iso,
                            .timeout_ms = 5000};
        CHECK_INT(owu_urb_submit_wait(&u), OWU_OK);
        size_t total = 0;
        bool ok = true;
        for (unsigned i = 0; i < 8; i++) {
            total += iso[i].actual;
            ok = ok && iso[i].status == OWU_OK && iso[i].actual == 100 + i && buf[i * 256] == i + 1 &&
                 buf[i * 256 + 99 + i] == i + 1;
        }
        CHECK(ok);
        CHECK_INT(u.actual, total);
        for (unsigned i = 0; i < 4; i++)
            iso[i] = (struct owu_iso_packet){.offset = i * 512, .length = 512};
        u = (struct owu_urb){.dev = d1, .type = OWU_XFER_ISOCHRONOUS, .endpoint = 0x02, .buffer = buf,
                             .length = 4 * 512, .flags = OWU_URB_ISO_ASAP, .num_iso_packets = 4, .iso = iso,
                             .timeout_ms = 5000};
        CHECK_INT(owu_urb_submit_wait(&u), OWU_OK);
        CHECK_INT(u.actual, 4 * 512);
        for (unsigned i = 0; i < 8; i++)
            iso[i] = (struct owu_iso_packet){.offset = i * 256, .length = 256};
        u = (struct owu_urb){.dev = d2, .type = OWU_XFER_ISOCHRONOUS, .endpoint = 0x81, .buffer = buf,
                             .length = sizeof buf, .flags = OWU_URB_ISO_ASAP, .num_iso_packets = 8, .iso = iso,
                             .timeout_ms = 5000};
        CHECK_INT(owu_urb_submit_wait(&u), OWU_E_STALL);
        CHECK_INT(owu_dev_set_interface(d1, 0, 0, 5000), OWU_OK);
    }
    owu_stack_close(s2);
    owu_stack_close(s1);
}

/* A malformed packet closes that connection only. */
static void test_malformed_input(void)
{
    struct owu_stack *s1 = open_client();
    struct owu_usb_device *d1 = s1 ? composite_dev(s1) : NULL;
    CHECK(d1 != NULL);
    const uint8_t garbage[][48] = {
        {0x01, 0x11, 0x12, 0x34},                      /* unknown op */
        {0x02, 0x22, 0x80, 0x05},                      /* wrong version */
        {0x01, 0x11, 0x8F, 0x03, 0, 0, 0, 0, 0},       /* shared import, then EOF mid-busid */
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        int fd = owu_usbip_connect_local(g_sock, NULL);
        CHECK(fd >= 0);
        if (fd < 0)
            continue;
        CHECK(write(fd, garbage[i], i == 2 ? 9 : 8) > 0);
        shutdown(fd, SHUT_WR);
        uint8_t b[16];
        struct pollfd pf = {fd, POLLIN, 0};
        CHECK(poll(&pf, 1, 30000) == 1);
        ssize_t n = read(fd, b, sizeof b);
        CHECK(n == 0 || n == 8);   /* closed, or an import refusal */
        close(fd);
    }
    /* A bad PDU after a valid shared import. */
    int fd = owu_usbip_connect_local(g_sock, NULL);
    CHECK(fd >= 0);
    if (fd >= 0) {
        uint8_t req[OWU_USBIP_REQ_IMPORT_SIZE];
        CHECK_OK(owu_usbip_encode_req_import(req, "virtual:1-1", NULL), NULL);
        req[2] = 0x8F;
        req[3] = 0x03;
        CHECK(write(fd, req, sizeof req) == (ssize_t)sizeof req);
        uint8_t rep[OWU_USBIP_REP_IMPORT_SIZE];
        CHECK_INT(owu_usbip_read_full(fd, rep, sizeof rep), OWU_OK);
        CHECK_INT(rep[7], OWU_USBIP_ST_OK);
        /* CLAIM of an interface the device does not have: a refusal, the link stays. */
        uint8_t op[8];
        owu_usbip_encode_op_header(op, OWU_USBIP_OP_REQ_CLAIM, 999);
        CHECK(write(fd, op, sizeof op) == (ssize_t)sizeof op);
        CHECK_INT(owu_usbip_read_full(fd, rep, 8), OWU_OK);
        CHECK(rep[2] == 0x0F && rep[3] == 0x10 && rep[7] == OWU_USBIP_ST_NODEV);
        /* RELEASE of an interface not held: refused too. */
        owu_usbip_encode_op_header(op, OWU_USBIP_OP_REQ_RELEASE, 2);
        CHECK(write(fd, op, sizeof op) == (ssize_t)sizeof op);
        CHECK_INT(owu_usbip_read_full(fd, rep, 8), OWU_OK);
        CHECK(rep[2] == 0x0F && rep[3] == 0x11 && rep[7] == OWU_USBIP_ST_NA);
        uint8_t bad[48] = {0, 0, 0, 9};                /* command 9 */
        CHECK(write(fd, bad, sizeof bad) == (ssize_t)sizeof bad);
        CHECK_INT(owu_usbip_read_full(fd, rep, 1), OWU_E_NODEV);   /* closed */
        close(fd);
    }
    /* Other ways to be thrown out after an import: an unknown extension op, a CMD_SUBMIT
     * announcing more than the transfer limit, a CMD_SUBMIT for another devid. */
    for (int k = 0; k < 3; k++) {
        fd = owu_usbip_connect_local(g_sock, NULL);
        CHECK(fd >= 0);
        if (fd < 0)
            continue;
        uint8_t req[OWU_USBIP_REQ_IMPORT_SIZE], rep[OWU_USBIP_REP_IMPORT_SIZE];
        CHECK_OK(owu_usbip_encode_req_import(req, "virtual:1-1", NULL), NULL);
        req[2] = 0x8F;
        req[3] = 0x03;
        CHECK(write(fd, req, sizeof req) == (ssize_t)sizeof req);
        CHECK_INT(owu_usbip_read_full(fd, rep, sizeof rep), OWU_OK);
        uint32_t devid = (uint32_t)rep[8 + 290] << 24 | (uint32_t)rep[8 + 291] << 16 | (uint32_t)rep[8 + 294] << 8 |
                         rep[8 + 295];
        uint8_t pdu[48] = {0};
        size_t len = 8;
        if (k == 0) {
            owu_usbip_encode_op_header(pdu, 0x8F55, 0);
        } else {
            len = 48;
            for (int i = 0; i < 4; i++)
                pdu[i + 8] = (uint8_t)((k == 2 ? devid + 1 : devid) >> (24 - 8 * i));
            pdu[3] = 1;                               /* CMD_SUBMIT, OUT, ep 1 */
            pdu[19] = 1;
            uint32_t tl = k == 1 ? 0xFFFFFFF0u : 4;
            for (int i = 0; i < 4; i++)
                pdu[24 + i] = (uint8_t)(tl >> (24 - 8 * i));
            pdu[36] = pdu[37] = pdu[38] = pdu[39] = 0xFF;   /* number_of_packets -1 */
        }
        CHECK(write(fd, pdu, len) == (ssize_t)len);
        CHECK_INT(owu_usbip_read_full(fd, rep, 1), OWU_E_NODEV);
        close(fd);
    }
    /* The others carry on. */
    if (d1) {
        uint8_t desc[18];
        CHECK_INT(owu_control_sync(d1, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0100, 0, desc, 18, 5000), 18);
        CHECK_INT(owu_dev_claim_interface(d1, 3, 0), OWU_OK);
    }
    owu_stack_close(s1);
}

/* Two processes on two functions of one device; then the host dies. */
static void test_two_processes(void)
{
    struct child a = {0}, b = {0};
    CHECK(spawn(&a, "--child-a"));
    CHECK(expect(&a, "ready"));
    CHECK(spawn(&b, "--child-b"));
    CHECK(expect(&b, "ready"));
    tell(&a, "go");
    tell(&b, "go");
    CHECK(expect(&a, "A ok"));
    CHECK(expect(&b, "B ok"));
    /* A dies without closing anything: the host still releases its claim. */
    kill(a.pid, SIGKILL);
    CHECK_INT(reap(&a), 128 + SIGKILL);
    tell(&b, "claim2");
    CHECK(expect(&b, "claimed"));
    tell(&b, "pend");
    CHECK(expect(&b, "pending"));
    stop_host(SIGKILL);
    CHECK(expect(&b, "nodev"));
    CHECK_INT(reap(&b), 0);
}

/* Two threads of one client process on two functions of the device at once: WinUSB on
 * interface 2, the usbser port API on interfaces 0-1; another client cannot open the port. */
struct thr {
    int status;
    struct owu_stack *stack;
};

static void *winusb_thread(void *arg)
{
    struct thr *t = arg;
    HANDLE f = open_winusb();
    WINUSB_INTERFACE_HANDLE h = NULL;
    if (f == INVALID_HANDLE_VALUE || !WinUsb_Initialize(f, &h)) {
        t->status = 1;
        if (f != INVALID_HANDLE_VALUE)
            CloseHandle(f);
        return NULL;
    }
    static uint8_t out[2048], in[2048];
    for (unsigned i = 0; i < LOOPS && !t->status; i++) {
        ULONG n = 1u + (i * 131u) % 2048u, done = 0;
        fill(out, n, i + 7);
        if (!WinUsb_WritePipe(h, 0x04, out, n, &done, NULL) || done != n)
            t->status = 2;
        else if (!WinUsb_ReadPipe(h, 0x84, in, sizeof in, &done, NULL) || done != n || memcmp(in, out, n) != 0)
            t->status = 3;
    }
    WinUsb_Free(h);
    CloseHandle(f);
    return NULL;
}

static void *usbser_thread(void *arg)
{
    struct thr *t = arg;
    struct owu_usbser_port *port = NULL;
    owu_err err = {0};
    if (owu_usbser_open(t->stack, "host:1-1", NULL, &port, &err) != OWU_OK) {
        fprintf(stderr, "usbser open: %s\n", err.msg);
        t->status = 1;
        return NULL;
    }
    uint8_t out[300], in[300];
    for (unsigned i = 0; i < LOOPS / 4 && !t->status; i++) {
        struct owu_usbser_line_coding lc = {.rate = 9600u + i, .data_bits = 8}, back = {0};
        if (owu_usbser_set_line_coding(port, &lc) != OWU_OK || owu_usbser_get_line_coding(port, &back) != OWU_OK ||
            back.rate != lc.rate) {
            t->status = 2;
            break;
        }
        fill(out, sizeof out, i);
        size_t wr = 0, got = 0;
        if (owu_usbser_write(port, out, sizeof out, 5000, &wr) != OWU_OK || wr != sizeof out) {
            t->status = 3;
            break;
        }
        while (got < sizeof out) {
            size_t n = 0;
            if (owu_usbser_read(port, in + got, sizeof in - got, 5000, &n) != OWU_OK) {
                t->status = 4;
                break;
            }
            got += n;
        }
        if (!t->status && memcmp(in, out, sizeof out) != 0)
            t->status = 5;
    }
    owu_usbser_close(port);
    return NULL;
}

static void test_two_threads_one_client(void)
{
    struct owu_stack *s = open_client();
    CHECK(s != NULL);
    if (!s)
        return;
    owu_process_stack_replace(s);
    struct thr a = {0, s}, b = {0, s};
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, winusb_thread, &a) == 0);
    CHECK(pthread_create(&tb, NULL, usbser_thread, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_INT(a.status, 0);
    CHECK_INT(b.status, 0);

    /* The port open here, another client process (here: stack) is refused. */
    struct owu_usbser_port *port = NULL, *other_port = NULL;
    struct owu_stack *other = open_client();
    owu_err err = {0};
    CHECK_OK(owu_usbser_open(s, "host:1-1", NULL, &port, &err), &err);
    CHECK_INT(other ? owu_usbser_open(other, "host:1-1", NULL, &other_port, &err) : OWU_E_INVAL, OWU_E_BUSY);
    owu_usbser_close(other_port);
    owu_usbser_close(port);
    owu_stack_close(other);
    owu_process_stack_replace(NULL);
    owu_stack_close(s);
}

/* SIGTERM: the host cancels what its clients have in flight, releases everything and exits
 * cleanly (a sanitizer build checks for leaks); the client's URB fails with OWU_E_NODEV. */
static void test_host_terminated(void)
{
    CHECK(start_host());
    struct owu_stack *s = open_client();
    struct owu_usb_device *d = s ? composite_dev(s) : NULL;
    CHECK(d != NULL);
    if (!d) {
        owu_stack_close(s);
        return;
    }
    owu_usb_device_ref(d);
    CHECK_INT(owu_dev_claim_interface(d, 1, 0), OWU_OK);
    g_pend_done = false;
    g_pend_urb = (struct owu_urb){.dev = d, .type = OWU_XFER_BULK, .endpoint = 0x81, .buffer = g_pend_buf,
                                  .length = sizeof g_pend_buf, .complete = pend_complete};
    CHECK_INT(owu_urb_submit(&g_pend_urb), OWU_OK);
    int st = -1;
    kill(g_host, SIGTERM);
    CHECK(waitpid(g_host, &st, 0) == g_host);
    g_host = -1;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&g_pend_lock);
    while (!g_pend_done)
        if (pthread_cond_timedwait(&g_pend_cond, &g_pend_lock, &until) != 0)
            break;
    pthread_mutex_unlock(&g_pend_lock);
    CHECK(g_pend_done);
    CHECK_INT(g_pend_urb.status, OWU_E_NODEV);
    /* The device is gone from the client's tree as well. */
    for (int i = 0; i < 3000 && !owu_usb_device_gone(d); i++)
        usleep(10000);
    CHECK(owu_usb_device_gone(d));
    CHECK_INT(owu_dev_claim_interface(d, 2, 0), OWU_E_NODEV);
    /* The device is marked gone before the stack has removed its node: wait for that. */
    bool node_left = false;
    for (int i = 0; i < 3000 && !node_left; i++) {
        owu_stack_lock(s);
        node_left = find_kind(owu_stack_tree(s), OWU_NODE_DEVICE) == NULL;
        owu_stack_unlock(s);
        if (!node_left)
            usleep(10000);
    }
    CHECK(node_left);
    owu_usb_device_unref(d);
    owu_stack_close(s);
}

/* Without a host: a clear error, no hang. */
static void test_no_host(void)
{
    owu_err err = {0};
    struct owu_stack *s = NULL;
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    char spec[200];
    snprintf(spec, sizeof spec, "host=%s/nobody.sock", g_dir);
    opt.buses = spec;
    CHECK_INT(owu_stack_open(&opt, &s, &err), OWU_E_NODEV);
    CHECK_CONTAINS(err.msg, "nobody.sock");
    CHECK(s == NULL);
}

/* OPENWINUSB_BUSES: "host" and "host=SOCKET". */
static void test_bus_spec(void)
{
    struct owu_bus_config cfg;
    owu_err err = {0};
    CHECK_OK(owu_buses_parse("host", &cfg, &err), &err);
    CHECK_INT(cfg.num_buses, 1);
    CHECK_INT(cfg.buses[0].kind, OWU_BUS_HOST);
    CHECK(cfg.buses[0].socket == NULL);
    owu_buses_free(&cfg);
    CHECK_OK(owu_buses_parse("virtual:fx2; host=/run/x/host.sock ", &cfg, &err), &err);
    CHECK_INT(cfg.num_buses, 2);
    CHECK_INT(cfg.buses[1].kind, OWU_BUS_HOST);
    CHECK_STR(cfg.buses[1].socket, "/run/x/host.sock");
    owu_buses_free(&cfg);
    CHECK_INT(owu_buses_parse("host=", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "host=");
    char longer[200] = "host=/";
    memset(longer + 6, 'a', 150);
    CHECK_INT(owu_buses_parse(longer, &cfg, &err), OWU_E_PARSE);
    CHECK_INT(owu_buses_parse("hostx", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "host[=SOCKET]");
}

static void test_host_starts(void)
{
    CHECK(start_host());
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    g_self = argv[0];
    if (argc == 3 && strcmp(argv[1], "--child-a") == 0) {
        snprintf(g_sock, sizeof g_sock, "%s", argv[2]);
        return child_a();
    }
    if (argc == 3 && strcmp(argv[1], "--host") == 0) {
        snprintf(g_sock, sizeof g_sock, "%s", argv[2]);
        return host_main();
    }
    if (argc == 3 && strcmp(argv[1], "--child-b") == 0) {
        snprintf(g_sock, sizeof g_sock, "%s", argv[2]);
        return child_b();
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/owu-devhost-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_sock, sizeof g_sock, "%s/host.sock", g_dir);
    RUN(test_bus_spec);
    RUN(test_host_starts);
    if (g_host > 0) {
        RUN(test_same_ids_as_local);
        RUN(test_claims_between_clients);
        RUN(test_malformed_input);
        RUN(test_isochronous);
        RUN(test_two_threads_one_client);
        RUN(test_two_processes);   /* kills the host */
        RUN(test_host_terminated);
    }
    stop_host(SIGTERM);
    RUN(test_no_host);
    unlink(g_sock);
    rmdir(g_dir);
    return check_report();
}
