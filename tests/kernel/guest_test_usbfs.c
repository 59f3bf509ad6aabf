/* Runs inside the test VM (tests/kernel/run.sh): the usbfs backend against a real kernel,
 * dummy_hcd and the configfs composite gadget guest_init.sh builds (VID 1209, PID 0001:
 * ACM with an IAD on interfaces 0-1, Loopback on interface 2, bulk_buflen 65536; SourceSink on
 * interface 3).
 *
 * The gadget's Loopback echoes an OUT request once it completes: a short packet, a
 * zero-length packet or a full 64 KiB. Every write here ends that way, so every write is
 * answered by exactly one echo of the same bytes; an echo shorter than 64 KiB ends with a
 * short or zero-length packet, so reads ask for more than they expect and stop there. */
#include <errno.h>
#include <fcntl.h>
#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/stack.h>

#include "check.h"
#include "core/urb.h"
#include "hcd/hcd.h"
#include "hcd/usbfs.h"

#define LOCATION "usbfs:1-1"
#define LOOP_BUFLEN 65536u
#define TIMEOUT_MS 5000

static struct owu_stack *stack;
static struct owu_usb_device *dev;     /* our reference */
static uint8_t ep_in, ep_out, loop_intf = 0xFF;
static uint8_t config[4096];           /* the configuration descriptor, copied from the node */
static size_t config_len;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int write_attr(const char *name, const char *value)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", getenv("OWU_GADGET") ? getenv("OWU_GADGET") : "", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    return n < 0 ? -e : 0;
}

static int bind_gadget(bool bind)
{
    const char *udc = getenv("OWU_UDC");
    return write_attr("UDC", bind ? (udc ? udc : "dummy_udc.0") : "\n");
}

/* Waits (bounded) until the stack has / has not a node at the location. */
static bool wait_node(bool present, unsigned ms)
{
    for (unsigned waited = 0;; waited += 20) {
        owu_stack_lock(stack);
        bool there = owu_stack_find(stack, LOCATION) != NULL;
        owu_stack_unlock(stack);
        if (there == present)
            return true;
        if (waited >= ms)
            return false;
        sleep_ms(20);
    }
}

/* Takes a reference to the device behind the node and finds the Loopback endpoints. */
static bool grab_device(void)
{
    owu_stack_lock(stack);
    struct owu_devnode *n = owu_stack_find(stack, LOCATION);
    struct owu_usb_device *d = n ? n->bus_device : NULL;
    if (d)
        owu_usb_device_ref(d);
    owu_stack_unlock(stack);
    if (!d)
        return false;
    dev = d;
    ep_in = ep_out = 0;
    loop_intf = 0xFF;
    owu_stack_lock(stack);
    n = owu_stack_find(stack, LOCATION);
    const struct owu_devinfo *info = n ? n->info : NULL;
    config_len = 0;
    if (info && info->num_configs > 0 && info->configs[0].len <= sizeof config) {
        memcpy(config, info->configs[0].data, info->configs[0].len);
        config_len = info->configs[0].len;
    }
    owu_stack_unlock(stack);
    const uint8_t *p = config;
    size_t len = config_len, off = 0;
    bool in_loop = false;
    while (off + 2 <= len && p[off] >= 2 && off + p[off] <= len) {
        const uint8_t *dsc = p + off;
        if (dsc[1] == OWU_DT_INTERFACE && dsc[0] >= 9) {
            /* The first vendor-class interface is the Loopback (SourceSink follows it). */
            in_loop = dsc[5] == 0xFF && (loop_intf == 0xFF || loop_intf == dsc[2]);
            if (in_loop)
                loop_intf = dsc[2];
        } else if (dsc[1] == OWU_DT_ENDPOINT && dsc[0] >= 7 && in_loop && (dsc[3] & 3) == 2) {
            if (dsc[2] & 0x80)
                ep_in = dsc[2];
            else
                ep_out = dsc[2];
        }
        off += p[off];
    }
    return ep_in && ep_out && loop_intf != 0xFF;
}

static void release_device(void)
{
    if (dev)
        owu_usb_device_unref(dev);
    dev = NULL;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7u + seed + (i >> 8));
}

/* One write and its echo; returns true when the echo matched. */
static bool loop_once(size_t n, unsigned seed, uint8_t *out, uint8_t *in)
{
    fill(out, n, seed);
    memset(in, 0xEE, n + 1);
    unsigned flags_zlp = (n % 512 == 0 && n < LOOP_BUFLEN) ? OWU_URB_ZERO_PACKET : 0;
    struct owu_urb w = {.dev = dev, .type = OWU_XFER_BULK, .endpoint = ep_out, .buffer = out,
                        .length = n, .flags = flags_zlp, .timeout_ms = TIMEOUT_MS};
    int rc = owu_urb_submit_wait(&w);
    if (rc != OWU_OK || w.actual != n) {
        fprintf(stderr, "  write %zu: %s, %zu bytes\n", n, owu_status_name(rc), w.actual);
        return false;
    }
    size_t got = 0;
    size_t ask = n < LOOP_BUFLEN ? n + 512 : n;
    rc = owu_transfer_sync(dev, OWU_XFER_BULK, ep_in, in, ask, &got, TIMEOUT_MS);
    if (rc != OWU_OK || got != n || memcmp(in, out, n) != 0) {
        fprintf(stderr, "  echo %zu: %s, %zu bytes%s\n", n, owu_status_name(rc), got,
                rc == OWU_OK && got == n ? ", data differs" : "");
        return false;
    }
    return true;
}

static uint8_t bufo[LOOP_BUFLEN + 1024], bufi[LOOP_BUFLEN + 1024];

/* ---- tests ----------------------------------------------------------------------------- */

static void test_open_and_ids(void)
{
    owu_err err = {0};
    CHECK_OK(owu_stack_open(NULL, &stack, &err), &err);
    if (!stack)
        exit(check_report());
    CHECK(wait_node(true, 30000));
    owu_stack_lock(stack);
    struct owu_devnode *n = owu_stack_find(stack, LOCATION);
    CHECK(n != NULL);
    if (n) {
        CHECK_STR(n->device_id, "USB\\VID_1209&PID_0001");
        CHECK(n->instance_id && strstr(n->instance_id, "OWU0001") != NULL);   /* serial-based */
        /* The gadget is EF/02/01 with an IAD over the ACM interfaces: a composite device with
         * USB\COMPOSITE, whose usbccgp functions carry the Windows IDs literally. */
        CHECK(n->composite);
        CHECK(n->compatible_ids.n > 0 && strcmp(n->compatible_ids.v[n->compatible_ids.n - 1], "USB\\COMPOSITE") == 0);
        CHECK_STR(n->hardware_ids.n > 0 ? n->hardware_ids.v[0] : NULL, "USB\\VID_1209&PID_0001&REV_0100");
        bool mi0 = false, mi2 = false, mi4 = false;
        for (struct owu_devnode *c = n->first_child; c; c = c->next_sibling) {
            printf("  function %s (%s)\n", c->device_id ? c->device_id : "(none)", c->service ? c->service : "no driver");
            if (!c->device_id || c->compatible_ids.n < 3)
                continue;
            if (strcmp(c->device_id, "USB\\VID_1209&PID_0001&MI_00") == 0) {   /* ACM, by its IAD */
                mi0 = strcmp(c->hardware_ids.v[0], "USB\\VID_1209&PID_0001&REV_0100&MI_00") == 0 &&
                      strcmp(c->compatible_ids.v[0], "USB\\Class_02&SubClass_02&Prot_01") == 0 &&
                      strcmp(c->compatible_ids.v[2], "USB\\Class_02") == 0 && c->service &&
                      strcmp(c->service, "usbser") == 0;
            } else if (strcmp(c->device_id, "USB\\VID_1209&PID_0001&MI_02") == 0) {   /* Loopback */
                mi2 = strcmp(c->compatible_ids.v[0], "USB\\Class_ff&SubClass_00&Prot_00") == 0;
            } else if (strcmp(c->device_id, "USB\\VID_1209&PID_0001&MI_04") == 0) {   /* HID */
                mi4 = strcmp(c->compatible_ids.v[0], "USB\\Class_03&SubClass_01&Prot_01") == 0 &&
                      strcmp(c->compatible_ids.v[1], "USB\\Class_03&SubClass_01") == 0 && c->service &&
                      strcmp(c->service, "HidUsb") == 0;
            }
        }
        CHECK(mi0);
        CHECK(mi2);
        CHECK(mi4);
        CHECK(n->info && n->info->failure == OWU_FAIL_NONE);
    }
    owu_stack_unlock(stack);
    CHECK(grab_device());
    if (dev) {
        CHECK_STR(dev->hcd->ops->name, "usbfs");
        CHECK_INT(dev->speed, OWU_SPEED_HIGH);
        /* For the log: which split rule applies on dummy_hcd (docs/usbfs.md). */
        char node[64];
        snprintf(node, sizeof node, "/dev/bus/usb/001/%03u", dev->address);
        int fd = open(node, O_RDWR);
        uint32_t caps = 0;
        if (fd >= 0 && ioctl(fd, USBDEVFS_GET_CAPABILITIES, &caps) == 0)
            printf("  %s: usbfs capabilities 0x%x\n", node, caps);
        if (fd >= 0)
            close(fd);
        CHECK_OK(owu_dev_claim_interface(dev, loop_intf, 0), NULL);
    }
}

static void test_loopback_sizes(void)
{
    static const size_t sizes[] = {1, 2, 63, 64, 511, 512, 513, 1000, 4096, 16383, 16384, 16385,
                                   32768, 65535, 65536};
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        CHECK(loop_once(sizes[i], (unsigned)i, bufo, bufi));
}

static void test_short_read(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    fill(bufo, 100, 9);
    size_t got = 0;
    CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, ep_out, bufo, 100, &got, TIMEOUT_MS), NULL);
    /* A 4 KiB read answered by 100 bytes ends at the short packet. */
    CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, ep_in, bufi, 4096, &got, TIMEOUT_MS), NULL);
    CHECK_INT(got, 100);
    CHECK(memcmp(bufi, bufo, 100) == 0);
    /* With SHORT_NOT_OK the same is an error. */
    CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, ep_out, bufo, 100, &got, TIMEOUT_MS), NULL);
    struct owu_urb r = {.dev = dev, .type = OWU_XFER_BULK, .endpoint = ep_in, .buffer = bufi,
                        .length = 4096, .flags = OWU_URB_SHORT_NOT_OK, .timeout_ms = TIMEOUT_MS};
    CHECK_INT(owu_urb_submit_wait(&r), OWU_E_IO);
    CHECK_INT(r.actual, 100);
    CHECK(loop_once(700, 3, bufo, bufi));
}

static void test_timeout(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    size_t got = 1;
    uint64_t t0 = owu_now_ns();
    CHECK_INT(owu_transfer_sync(dev, OWU_XFER_BULK, ep_in, bufi, 512, &got, 300), OWU_E_TIMEOUT);
    uint64_t ms = (owu_now_ns() - t0) / 1000000u;
    CHECK_INT(got, 0);
    CHECK(ms >= 250);   /* never early; how late depends on the VM's load */
    /* The cancelled read took nothing: the next echo arrives whole. */
    CHECK(loop_once(300, 4, bufo, bufi));
}

static void test_halt_and_clear(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    /* SET_FEATURE(ENDPOINT_HALT): dummy_hcd halts the endpoint itself. */
    int rc = owu_control_sync(dev, OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_ENDPOINT,
                              OWU_REQ_SET_FEATURE, OWU_FEAT_ENDPOINT_HALT, ep_in, NULL, 0, TIMEOUT_MS);
    CHECK_INT(rc, 0);
    size_t got = 0;
    CHECK_INT(owu_transfer_sync(dev, OWU_XFER_BULK, ep_in, bufi, 512, &got, 2000), OWU_E_STALL);
    CHECK_OK(owu_dev_clear_halt(dev, ep_in, TIMEOUT_MS), NULL);
    CHECK(loop_once(77, 5, bufo, bufi));
}

static void test_control_and_config(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    uint8_t d[18] = {0};
    int n = owu_control_sync(dev, 0x80, OWU_REQ_GET_DESCRIPTOR, OWU_DT_DEVICE << 8, 0, d, 18, TIMEOUT_MS);
    CHECK_INT(n, 18);
    CHECK_INT(owu_le16(d + 8), 0x1209);
    CHECK_INT(owu_le16(d + 10), 0x0001);
    /* The configuration the kernel chose is kept (no SET_CONFIGURATION reaches usbfs, which
     * would fail while cdc_acm holds interface 0). */
    CHECK_OK(owu_dev_set_configuration(dev, 1, TIMEOUT_MS), NULL);
    uint8_t cfg = 0;
    CHECK_INT(owu_control_sync(dev, 0x80, OWU_REQ_GET_CONFIGURATION, 0, 0, &cfg, 1, TIMEOUT_MS), 1);
    CHECK_INT(cfg, 1);
    CHECK_OK(owu_dev_set_interface(dev, loop_intf, 0, TIMEOUT_MS), NULL);
    CHECK(loop_once(64, 6, bufo, bufi));
}

static void test_claim_kernel_driver(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    /* cdc_acm holds interface 0: a plain claim is refused, a detaching claim succeeds and
     * the release hands the interface back. */
    /* run.sh loads cdc-acm, so it must hold the ACM function here. */
    bool acm_bound = access("/sys/bus/usb/devices/1-1:1.0/driver", F_OK) == 0;
    CHECK(acm_bound);
    CHECK_INT(owu_dev_claim_interface(dev, 0, 0), OWU_E_BUSY);
    CHECK_OK(owu_dev_claim_interface(dev, 0, OWU_CLAIM_DETACH_KERNEL), NULL);
    CHECK_OK(owu_dev_release_interface(dev, 0), NULL);
    bool back = false;
    for (int i = 0; i < 1500 && !back; i++) {
        back = access("/sys/bus/usb/devices/1-1:1.0/driver", F_OK) == 0;
        if (!back)
            sleep_ms(20);
    }
    CHECK(back);
}

static void test_zero_copy(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    bool zc_out = false, zc_in = false;
    uint8_t *o = owu_usbfs_buffer_alloc(dev, 32768, &zc_out);
    uint8_t *i = owu_usbfs_buffer_alloc(dev, 32768, &zc_in);
    CHECK(o && i);
    printf("  zero-copy buffers: %s\n", zc_out && zc_in ? "mmap" : "fallback");
    CHECK(zc_out && zc_in);   /* kernel 6.1 has USBDEVFS_CAP_MMAP */
    if (o && i) {
        CHECK(loop_once(5000, 7, o, i));
        CHECK(loop_once(16384, 8, o, i));
    }
    owu_usbfs_buffer_free(dev, o);
    owu_usbfs_buffer_free(dev, i);
}

static void test_suspend_hooks(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    CHECK_OK(dev->hcd->ops->suspend(dev), NULL);
    CHECK_OK(dev->hcd->ops->resume(dev), NULL);
    CHECK(loop_once(10, 9, bufo, bufi));
}

/* A stack whose usbfs URBs are at most 4 KiB: 64 KiB moves as 16 chained URBs. */
static void test_split_transfers(void)
{
    if (dev) {
        owu_dev_release_interface(dev, loop_intf);
        release_device();
    }
    owu_stack_close(stack);
    stack = NULL;
    setenv("OPENWINUSB_USBFS_MAX_URB", "4096", 1);
    owu_err err = {0};
    CHECK_OK(owu_stack_open(NULL, &stack, &err), &err);
    unsetenv("OPENWINUSB_USBFS_MAX_URB");
    if (!stack)
        exit(check_report());
    CHECK(wait_node(true, 30000));
    CHECK(grab_device());
    if (!dev)
        return;
    CHECK_OK(owu_dev_claim_interface(dev, loop_intf, 0), NULL);
    CHECK(loop_once(65536, 10, bufo, bufi));
    CHECK(loop_once(12345, 11, bufo, bufi));
    CHECK(loop_once(8192, 12, bufo, bufi));
    /* A 64 KiB read (16 URBs) answered by 5000 bytes: the chain stops at the short packet. */
    size_t got = 0;
    fill(bufo, 5000, 13);
    CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, ep_out, bufo, 5000, &got, TIMEOUT_MS), NULL);
    CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, ep_in, bufi, 65536, &got, TIMEOUT_MS), NULL);
    CHECK_INT(got, 5000);
    CHECK(memcmp(bufi, bufo, 5000) == 0);
    CHECK(loop_once(3000, 14, bufo, bufi));
}

/* Runs fn with stderr captured; returns what it printed (static buffer). */
static const char *capture_stderr(void (*fn)(void *), void *arg)
{
    static char out[4096];
    memset(out, 0, sizeof out);
    int p[2];
    if (pipe(p) != 0)
        return out;
    fflush(stderr);
    int saved = dup(2);
    dup2(p[1], 2);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(p[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)r;
    close(p[0]);
    return out;
}

static int write_sys(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    close(fd);
    return n < 0 ? -1 : 0;
}

static void big_write(void *arg)
{
    int *rc = arg;
    size_t len = (size_t)4 << 20;
    uint8_t *b = calloc(1, len);
    size_t got = 0;
    *rc = b ? owu_transfer_sync(dev, OWU_XFER_BULK, ep_out, b, len, &got, TIMEOUT_MS) : OWU_E_NOMEM;
    free(b);
}

/* With the kernel's usbfs budget at 1 MiB a 4 MiB transfer is refused, and the message
 * says which file to change. */
static void test_usbfs_memory_limit(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    const char *param = "/sys/module/usbcore/parameters/usbfs_memory_mb";
    CHECK_INT(write_sys(param, "1"), 0);
    int rc = 0;
    const char *msg = capture_stderr(big_write, &rc);
    CHECK_INT(write_sys(param, "16"), 0);
    CHECK_INT(rc, OWU_E_NOMEM);
    CHECK_CONTAINS(msg, param);
    printf("  %s", msg);
    CHECK(loop_once(100, 17, bufo, bufi));
}

/* An ordinary user (nobody) cannot open the node devtmpfs made (root, 0664): the stack
 * says which file and which udev rule. */
static void test_permission_message(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        struct owu_stack *s2 = NULL;
        owu_err err = {0};
        int rc = owu_stack_open(NULL, &s2, &err);
        owu_stack_close(s2);
        _exit(rc == OWU_OK ? 0 : 4);
    }
    close(p[1]);
    char out[4096] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(p[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)r;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_CONTAINS(out, "/dev/bus/usb/001/");
    CHECK_CONTAINS(out, "permission denied");
    CHECK_CONTAINS(out, "70-openwinusb.rules");
    printf("  %s", out);
}

/* The default spelling: virtual models plus usbfs where it exists (it does here). */
static void test_optional_usbfs(void)
{
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = "virtual:fx2;usbfs?";
    struct owu_stack *s2 = NULL;
    owu_err err = {0};
    CHECK_OK(owu_stack_open(&opt, &s2, &err), &err);
    if (!s2)
        return;
    bool found = false;
    for (int i = 0; i < 1500 && !found; i++) {
        owu_stack_lock(s2);
        found = owu_stack_find(s2, LOCATION) != NULL && owu_stack_find(s2, "virtual:1-1") != NULL;
        owu_stack_unlock(s2);
        if (!found)
            sleep_ms(20);
    }
    CHECK(found);
    owu_stack_close(s2);
}

/* The ACM function's endpoints: interrupt IN of the comm interface, bulk pair of data. */
static bool acm_endpoints(uint8_t *notify, uint8_t *in, uint8_t *out)
{
    const uint8_t *p = config;
    size_t len = config_len, off = 0;
    int cls = -1;
    *notify = *in = *out = 0;
    while (off + 2 <= len && p[off] >= 2 && off + p[off] <= len) {
        const uint8_t *d = p + off;
        if (d[1] == OWU_DT_INTERFACE && d[0] >= 9)
            cls = d[5];
        else if (d[1] == OWU_DT_ENDPOINT && d[0] >= 7) {
            if (cls == 0x02 && (d[3] & 3) == 3 && (d[2] & 0x80))
                *notify = d[2];
            if (cls == 0x0A && (d[3] & 3) == 2)
                *((d[2] & 0x80) ? in : out) = d[2];
        }
        off += p[off];
    }
    return *notify && *in && *out;
}

/* ACM taken from cdc_acm: the gadget's tty (/dev/ttyGS0) opening sends a SERIAL_STATE
 * notification on the interrupt endpoint, and bytes cross in both directions. */
static void test_acm_interrupt_and_bulk(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    uint8_t notify = 0, in = 0, out = 0;
    CHECK(acm_endpoints(&notify, &in, &out));
    if (!notify)
        return;
    CHECK_OK(owu_dev_claim_interface(dev, 0, OWU_CLAIM_DETACH_KERNEL), NULL);
    CHECK_OK(owu_dev_claim_interface(dev, 1, OWU_CLAIM_DETACH_KERNEL), NULL);
    int tty = open("/dev/ttyGS0", O_RDWR | O_NOCTTY);
    CHECK(tty >= 0);
    if (tty >= 0) {
        struct termios t;
        if (tcgetattr(tty, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(tty, TCSANOW, &t);
        }
        uint8_t n[16] = {0};
        size_t got = 0;
        /* One notification: the endpoint's packets are 10 bytes, so ask for exactly one. */
        CHECK_OK(owu_transfer_sync(dev, OWU_XFER_INTERRUPT, notify, n, 10, &got, 3000), NULL);
        CHECK_INT(got, 10);
        CHECK_INT(n[0], 0xA1);
        CHECK_INT(n[1], 0x20);   /* SERIAL_STATE */

        uint8_t msg[] = "hello from the host";
        CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, out, msg, sizeof msg - 1, &got, TIMEOUT_MS), NULL);
        char rx[64] = {0};
        size_t have = 0;
        for (int i = 0; i < 600 && have < sizeof msg - 1; i++) {
            struct pollfd pfd = {.fd = tty, .events = POLLIN};
            if (poll(&pfd, 1, 50) > 0) {
                ssize_t r = read(tty, rx + have, sizeof rx - 1 - have);
                if (r > 0)
                    have += (size_t)r;
            }
        }
        CHECK_STR(rx, (const char *)msg);
        const char back[] = "hello from the gadget";
        CHECK(write(tty, back, sizeof back - 1) == (ssize_t)(sizeof back - 1));
        uint8_t b[512] = {0};
        CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, in, b, sizeof b, &got, TIMEOUT_MS), NULL);
        CHECK_INT(got, sizeof back - 1);
        CHECK(memcmp(b, back, sizeof back - 1) == 0);
        close(tty);
    }
    CHECK_OK(owu_dev_release_interface(dev, 1), NULL);
    CHECK_OK(owu_dev_release_interface(dev, 0), NULL);
}

/* USBDEVFS_RESET: the kernel resets the port and re-applies the configuration; our claim
 * on the Loopback interface is taken again and the loop still works. */
static void test_reset_device(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    CHECK_OK(dev->hcd->ops->reset_device(dev), NULL);
    CHECK(!owu_usb_device_gone(dev));
    CHECK(loop_once(4000, 18, bufo, bufi));
}

struct pending {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void on_done(struct owu_urb *urb)
{
    struct pending *p = urb->context;
    pthread_mutex_lock(&p->lock);
    p->done = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void test_surprise_removal(void)
{
    if (!dev) {
        CHECK(dev != NULL);
        return;
    }
    struct pending p = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    static uint8_t buf[4096];
    struct owu_urb r = {.dev = dev, .type = OWU_XFER_BULK, .endpoint = ep_in, .buffer = buf,
                        .length = sizeof buf, .timeout_ms = 0, .complete = on_done, .context = &p};
    CHECK_OK(owu_urb_submit(&r), NULL);
    sleep_ms(100);
    uint64_t t0 = owu_now_ns();
    CHECK_INT(bind_gadget(false), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 30;
    pthread_mutex_lock(&p.lock);
    while (!p.done && pthread_cond_timedwait(&p.cond, &p.lock, &ts) == 0) {
    }
    bool done = p.done;
    pthread_mutex_unlock(&p.lock);
    CHECK(done);
    if (!done) {
        owu_urb_cancel(&r);   /* never leave it pending on exit */
        return;
    }
    printf("  pending read completed %llu ms after the unbind: %s\n",
           (unsigned long long)((owu_now_ns() - t0) / 1000000u), owu_status_name(r.status));
    CHECK_INT(r.status, OWU_E_NODEV);
    CHECK(wait_node(false, 30000));
    CHECK(owu_usb_device_gone(dev));
    size_t got = 0;
    CHECK_INT(owu_transfer_sync(dev, OWU_XFER_BULK, ep_in, buf, 64, &got, 1000), OWU_E_NODEV);
    release_device();
}

static void test_hotplug(void)
{
    /* Bind again: the stack learns of it from the uevent and builds the node anew. */
    CHECK_INT(bind_gadget(true), 0);
    CHECK(wait_node(true, 30000));
    CHECK(grab_device());
    if (dev) {
        CHECK_OK(owu_dev_claim_interface(dev, loop_intf, 0), NULL);
        CHECK(loop_once(2048, 15, bufo, bufi));
        CHECK(loop_once(1, 16, bufo, bufi));
        release_device();
    }
    owu_stack_lock(stack);
    struct owu_devnode *n = owu_stack_find(stack, LOCATION);
    CHECK(n && n->device_id && strcmp(n->device_id, "USB\\VID_1209&PID_0001") == 0);
    owu_stack_unlock(stack);
    /* And away again. */
    CHECK_INT(bind_gadget(false), 0);
    CHECK(wait_node(false, 30000));
    CHECK_INT(bind_gadget(true), 0);
}

/* Closing the stack with a read pending completes the read (OWU_E_NODEV) before the
 * close returns, and the device object outlives the bus. */
static void test_close_with_pending(void)
{
    CHECK(wait_node(true, 30000));
    CHECK(grab_device());
    if (!dev)
        return;
    CHECK_OK(owu_dev_claim_interface(dev, loop_intf, 0), NULL);
    struct pending p = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    static uint8_t buf[512];
    struct owu_urb r = {.dev = dev, .type = OWU_XFER_BULK, .endpoint = ep_in, .buffer = buf,
                        .length = sizeof buf, .complete = on_done, .context = &p};
    CHECK_OK(owu_urb_submit(&r), NULL);
    owu_stack_close(stack);
    stack = NULL;
    pthread_mutex_lock(&p.lock);
    bool done = p.done;
    pthread_mutex_unlock(&p.lock);
    CHECK(done);
    CHECK_INT(r.status, OWU_E_NODEV);
    CHECK(owu_usb_device_gone(dev));
    release_device();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(test_permission_message);   /* first: it forks, best before our threads exist */
    RUN(test_open_and_ids);
    RUN(test_loopback_sizes);
    RUN(test_short_read);
    RUN(test_timeout);
    RUN(test_halt_and_clear);
    RUN(test_control_and_config);
    RUN(test_claim_kernel_driver);
    RUN(test_zero_copy);
    RUN(test_suspend_hooks);
    RUN(test_usbfs_memory_limit);
    RUN(test_acm_interrupt_and_bulk);
    RUN(test_reset_device);
    RUN(test_optional_usbfs);
    RUN(test_split_transfers);
    RUN(test_surprise_removal);
    RUN(test_hotplug);
    RUN(test_close_with_pending);
    release_device();
    owu_stack_close(stack);
    return check_report();
}
