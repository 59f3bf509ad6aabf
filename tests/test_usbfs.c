/* The usbfs backend without a kernel: sysfs discovery against a fake tree, the permission
 * and memory messages, the bulk split plan, uevent parsing, errno mapping, and the bus's
 * threads and device lifetime over plain files standing in for device nodes. The real
 * thing is tested inside a VM by tests/kernel/. */
#include <errno.h>
#include <fcntl.h>
#include <linux/usbdevice_fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openwinusb/stack.h>

#include "check.h"
#include "core/urb.h"
#include "hcd/usbfs.h"
#include "hcd/usbfs_internal.h"

static char tmp_root[256];

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fwrite(data, 1, len, f);
    fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_file(dir, name, text, strlen(text));
}

/* A full-speed vendor device with one configuration and one interface. */
static const unsigned char descriptors[] = {
    18, 1, 0x00, 0x02, 0xFF, 0, 0, 64, 0x25, 0x05, 0xA0, 0xA4, 0x00, 0x01, 0, 0, 0, 1,
    9, 2, 18, 0, 1, 1, 0, 0x80, 50,
    9, 4, 0, 0, 0, 0xFF, 0, 0, 0,
};

static void make_device(const char *sys, const char *name, const char *busnum, const char *devnum)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", sys, name);
    mkdir(dir, 0755);
    write_text(dir, "busnum", busnum);
    write_text(dir, "devnum", devnum);
    const char *dash = strchr(name, '-');
    char devpath[64];
    snprintf(devpath, sizeof devpath, "%s\n", dash ? dash + 1 : "0");
    write_text(dir, "devpath", devpath);
    write_text(dir, "speed", "12\n");
    write_text(dir, "bConfigurationValue", "1\n");
    write_file(dir, "descriptors", descriptors, sizeof descriptors);
}

/* tmp/sys: usb1 (root hub), 1-1 (bus 1 dev 2), 1-1.4 (bus 1 dev 5), 1-1:1.0 (interface),
 * 2-3 (unreadable busnum, skipped); tmp/dev/001/002 and 001/005 as plain files. */
static void make_tree(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/owu-usbfs-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        exit(2);
    }
    chmod(tmp_root, 0755);
    char sys[300], dev[300], bus1[320];
    snprintf(sys, sizeof sys, "%s/sys", tmp_root);
    snprintf(dev, sizeof dev, "%s/dev", tmp_root);
    mkdir(sys, 0755);
    mkdir(dev, 0755);
    make_device(sys, "usb1", "1\n", "1\n");
    make_device(sys, "1-1", "1\n", "2\n");
    make_device(sys, "1-1.4", "1\n", "5\n");
    char intf[400];
    snprintf(intf, sizeof intf, "%s/1-1:1.0", sys);
    mkdir(intf, 0755);
    make_device(sys, "2-3", "x\n", "3\n");
    snprintf(bus1, sizeof bus1, "%s/001", dev);
    mkdir(bus1, 0755);
    write_text(bus1, "002", "");
    write_text(bus1, "005", "");
    char env[400];
    setenv(OWU_USBFS_SYSFS_ENV, sys, 1);
    snprintf(env, sizeof env, "%s", dev);
    setenv(OWU_USBFS_DEV_ENV, env, 1);
}

static void remove_tree(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_root);
}

static void test_device_names(void)
{
    CHECK(owu_usbfs_is_device_name("1-1"));
    CHECK(owu_usbfs_is_device_name("12-3.4.1"));
    CHECK(!owu_usbfs_is_device_name("usb1"));
    CHECK(!owu_usbfs_is_device_name("1-1:1.0"));
    CHECK(!owu_usbfs_is_device_name("1-"));
    CHECK(!owu_usbfs_is_device_name("1-1."));
    CHECK(!owu_usbfs_is_device_name("-1"));
    CHECK(!owu_usbfs_is_device_name(""));
    CHECK(!owu_usbfs_is_device_name("1-1..2"));
}

static void test_scan_fake_tree(void)
{
    CHECK_STR(owu_usbfs_sysfs_root(), getenv(OWU_USBFS_SYSFS_ENV));
    struct owu_usbfs_entry *e = NULL;
    size_t n = 0;
    owu_err err = {0};
    CHECK_OK(owu_usbfs_scan(owu_usbfs_sysfs_root(), &e, &n, &err), &err);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(e[0].name, "1-1");
        CHECK_INT(e[0].busnum, 1);
        CHECK_INT(e[0].devnum, 2);
        CHECK_STR(e[0].devpath, "1");
        CHECK_STR(e[1].name, "1-1.4");
        CHECK_INT(e[1].devnum, 5);
        CHECK_STR(e[1].devpath, "1.4");
    }
    free(e);

    struct owu_usbfs_entry one;
    CHECK_INT(owu_usbfs_read_entry(owu_usbfs_sysfs_root(), "2-3", &one, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "2-3/busnum");
    CHECK_INT(owu_usbfs_read_entry(owu_usbfs_sysfs_root(), "7-7", &one, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "7-7/busnum");
    CHECK_INT(owu_usbfs_read_entry(owu_usbfs_sysfs_root(), "usb1", &one, &err), OWU_E_INVAL);

    CHECK_INT(owu_usbfs_scan("/nonexistent/owu", &e, &n, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "/nonexistent/owu");
}

static void test_node_path(void)
{
    char p[64];
    CHECK_OK(owu_usbfs_node_path("/dev/bus/usb", 1, 2, p, sizeof p), NULL);
    CHECK_STR(p, "/dev/bus/usb/001/002");
    CHECK_OK(owu_usbfs_node_path("/d", 12, 127, p, sizeof p), NULL);
    CHECK_STR(p, "/d/012/127");
    CHECK_INT(owu_usbfs_node_path("/d", 0, 2, p, sizeof p), OWU_E_INVAL);
    CHECK_INT(owu_usbfs_node_path("/d", 1, 128, p, sizeof p), OWU_E_INVAL);
    CHECK_INT(owu_usbfs_node_path("/a/long/directory", 1, 1, p, 8), OWU_E_INVAL);
}

static void test_messages(void)
{
    char msg[512];
    owu_usbfs_access_message("/dev/bus/usb/001/002", EACCES, msg, sizeof msg);
    CHECK_CONTAINS(msg, "/dev/bus/usb/001/002");
    CHECK_CONTAINS(msg, "permission denied");
    CHECK_CONTAINS(msg, "70-openwinusb.rules");
    CHECK_CONTAINS(msg, "docs/usbfs.md");
    owu_usbfs_enomem_message(1u << 20, msg, sizeof msg);
    CHECK_CONTAINS(msg, "/sys/module/usbcore/parameters/usbfs_memory_mb");
    CHECK_CONTAINS(msg, "1048576 bytes");
}

/* As root a mode-000 file opens anyway, so the child drops to "nobody" first and the
 * message it prints on stderr is checked here. */
static void test_permission_denied(void)
{
    char node[400];
    snprintf(node, sizeof node, "%s/001/002", getenv(OWU_USBFS_DEV_ENV));
    chmod(node, 0000);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        owu_err err = {0};
        struct owu_hcd *hcd = owu_usbfs_create(1, &err);
        if (!hcd)
            _exit(4);
        int rc = owu_usbfs_start(hcd, &err);
        owu_hcd_destroy(hcd);
        _exit(rc == OWU_OK ? 0 : 5);
    }
    close(pfd[1]);
    char out[4096] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(pfd[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)r;
    close(pfd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    chmod(node, 0644);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_CONTAINS(out, node);
    CHECK_CONTAINS(out, "permission denied");
    CHECK_CONTAINS(out, "70-openwinusb.rules");
}

static void test_split_plan(void)
{
    struct owu_usbfs_plan p;
    uint32_t sg = USBDEVFS_CAP_BULK_SCATTER_GATHER | USBDEVFS_CAP_NO_PACKET_SIZE_LIM;
    uint32_t cont = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM;

    CHECK_OK(owu_usbfs_plan_bulk(0, cont, 0, &p), NULL);
    CHECK_INT(p.count, 1);
    CHECK_INT(p.chunk, 0);
    CHECK(!p.continuation);

    CHECK_OK(owu_usbfs_plan_bulk(1000000, sg, 0, &p), NULL);
    CHECK_INT(p.count, 1);
    CHECK_INT(p.chunk, 1000000);

    CHECK_OK(owu_usbfs_plan_bulk(16384, cont, 0, &p), NULL);
    CHECK_INT(p.count, 1);
    CHECK(!p.continuation);
    CHECK_OK(owu_usbfs_plan_bulk(16385, cont, 0, &p), NULL);
    CHECK_INT(p.count, 2);
    CHECK_INT(p.chunk, 16384);
    CHECK(p.continuation);
    CHECK_OK(owu_usbfs_plan_bulk(65536, cont, 0, &p), NULL);
    CHECK_INT(p.count, 4);

    /* No packet size limit and no continuation: one URB. */
    CHECK_OK(owu_usbfs_plan_bulk(100000, USBDEVFS_CAP_NO_PACKET_SIZE_LIM, 0, &p), NULL);
    CHECK_INT(p.count, 1);
    /* Very old kernels: 16 KiB pieces, nothing chained. */
    CHECK_OK(owu_usbfs_plan_bulk(40000, 0, 0, &p), NULL);
    CHECK_INT(p.count, 3);
    CHECK_INT(p.chunk, 16384);
    CHECK(!p.continuation);

    /* The override cuts even scatter-gather transfers; continuation only where the
     * kernel has it. */
    CHECK_OK(owu_usbfs_plan_bulk(10000, sg, 4096, &p), NULL);
    CHECK_INT(p.count, 3);
    CHECK_INT(p.chunk, 4096);
    CHECK(!p.continuation);
    CHECK_OK(owu_usbfs_plan_bulk(10000, sg | USBDEVFS_CAP_BULK_CONTINUATION, 4096, &p), NULL);
    CHECK(p.continuation);

    /* The per-URB bound. */
    CHECK_OK(owu_usbfs_plan_bulk(OWU_USBFS_MAX_URB * 3 + 1, sg, 0, &p), NULL);
    CHECK_INT(p.count, 4);
    CHECK_INT(p.chunk, OWU_USBFS_MAX_URB);
}

static void test_uevent_parse(void)
{
    static const char add[] =
        "add@/devices/platform/dummy_hcd.0/usb1/1-1\0ACTION=add\0"
        "DEVPATH=/devices/platform/dummy_hcd.0/usb1/1-1\0SUBSYSTEM=usb\0MAJOR=189\0MINOR=1\0"
        "DEVNAME=bus/usb/001/002\0DEVTYPE=usb_device\0PRODUCT=525/a4a0/100\0TYPE=239/2/1\0"
        "BUSNUM=001\0DEVNUM=002\0SEQNUM=1234";
    struct owu_uevent ev;
    CHECK_OK(owu_uevent_parse(add, sizeof add, &ev), NULL);
    CHECK_INT(ev.action, OWU_UEVENT_ADD);
    CHECK(ev.usb_device);
    CHECK_INT(ev.busnum, 1);
    CHECK_INT(ev.devnum, 2);
    CHECK_STR(ev.name, "1-1");

    /* Interfaces are not devices. */
    static const char intf[] = "add@/devices/x/usb1/1-1/1-1:1.0\0ACTION=add\0SUBSYSTEM=usb\0"
                               "DEVTYPE=usb_interface\0INTERFACE=2/2/1";
    CHECK_OK(owu_uevent_parse(intf, sizeof intf, &ev), NULL);
    CHECK(!ev.usb_device);
    CHECK_STR(ev.name, "1-1:1.0");

    /* Remove without BUSNUM (old kernels): DEVNAME gives the numbers; the last string is
     * not terminated (the buffer length is all there is). */
    static const char rm[] = "remove@/devices/x/usb3/3-2.1\0ACTION=remove\0SUBSYSTEM=usb\0"
                             "DEVTYPE=usb_device\0DEVNAME=bus/usb/003/017";
    CHECK_OK(owu_uevent_parse(rm, sizeof rm - 1, &ev), NULL);
    CHECK_INT(ev.action, OWU_UEVENT_REMOVE);
    CHECK(ev.usb_device);
    CHECK_INT(ev.busnum, 3);
    CHECK_INT(ev.devnum, 17);
    CHECK_STR(ev.name, "3-2.1");

    /* Truncated in the middle of a key: no overread, no match. */
    CHECK_OK(owu_uevent_parse(add, 60, &ev), NULL);
    CHECK(!ev.usb_device);
    CHECK_INT(ev.action, OWU_UEVENT_ADD);   /* from the header */

    static const char bind[] = "bind@/devices/x/usb1/1-1\0ACTION=bind\0SUBSYSTEM=usb\0DEVTYPE=usb_device";
    CHECK_OK(owu_uevent_parse(bind, sizeof bind, &ev), NULL);
    CHECK_INT(ev.action, OWU_UEVENT_OTHER);

    static const char udev[] = "libudev\0\xfe\xed\xca\xfe";
    CHECK_INT(owu_uevent_parse(udev, sizeof udev, &ev), OWU_E_PARSE);
    CHECK_INT(owu_uevent_parse("no header here", 14, &ev), OWU_E_PARSE);
    CHECK_INT(owu_uevent_parse("@", 1, &ev), OWU_E_PARSE);
    CHECK_INT(owu_uevent_parse("add@", 4, &ev), OWU_E_PARSE);

    /* Out-of-range numbers are dropped rather than wrapped. */
    static const char big[] = "add@/d/9-9\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0BUSNUM=1234567\0DEVNUM=2";
    CHECK_OK(owu_uevent_parse(big, sizeof big, &ev), NULL);
    CHECK_INT(ev.busnum, 0);
    CHECK_INT(ev.devnum, 2);
}

static void test_status_mapping(void)
{
    CHECK_INT(owu_usbfs_errno_status(ENODEV), OWU_E_NODEV);
    CHECK_INT(owu_usbfs_errno_status(EACCES), OWU_E_ACCESS);
    CHECK_INT(owu_usbfs_errno_status(EBUSY), OWU_E_BUSY);
    CHECK_INT(owu_usbfs_errno_status(EPIPE), OWU_E_STALL);
    CHECK_INT(owu_usbfs_errno_status(ENOTTY), OWU_E_NOTSUP);
    CHECK_INT(owu_usbfs_errno_status(ENOMEM), OWU_E_NOMEM);
    CHECK_INT(owu_usbfs_urb_status(0), OWU_OK);
    CHECK_INT(owu_usbfs_urb_status(-ENOENT), OWU_E_CANCELLED);
    CHECK_INT(owu_usbfs_urb_status(-ECONNRESET), OWU_E_CANCELLED);
    CHECK_INT(owu_usbfs_urb_status(-EPIPE), OWU_E_STALL);
    CHECK_INT(owu_usbfs_urb_status(-ESHUTDOWN), OWU_E_NODEV);
    CHECK_INT(owu_usbfs_urb_status(-EOVERFLOW), OWU_E_OVERFLOW);
    CHECK_INT(owu_usbfs_urb_status(-EPROTO), OWU_E_IO);
}

struct seen {
    pthread_mutex_t lock;
    int arrived, left;
    struct owu_usb_device *devs[4];
};

static void on_hotplug(struct owu_hcd *hcd, struct owu_usb_device *dev, bool arrived, void *ctx)
{
    struct seen *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (arrived) {
        if (s->arrived < 4) {
            owu_usb_device_ref(dev);
            s->devs[s->arrived] = dev;
        }
        s->arrived++;
    } else {
        s->left++;
    }
    pthread_mutex_unlock(&s->lock);
}

/* Plain files stand in for the nodes: the bus opens them, reports the devices with their
 * sysfs location and speed, refuses transfers the "kernel" cannot take, and on shutdown
 * reports every device gone; the device objects outlive the bus's shutdown. */
static void test_bus_lifecycle(void)
{
    struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    owu_err err = {0};
    struct owu_hcd *hcd = owu_usbfs_create(3, &err);
    CHECK(hcd != NULL);
    if (!hcd)
        return;
    CHECK_STR(hcd->ops->name, "usbfs");
    CHECK(hcd->ops->reset_port == NULL);
    CHECK(hcd->ops->set_address == NULL);
    hcd->hotplug = on_hotplug;
    hcd->hotplug_ctx = &s;
    CHECK_OK(owu_usbfs_start(hcd, &err), &err);
    CHECK_INT(s.arrived, 2);
    if (s.arrived == 2) {
        struct owu_usb_device *d = s.devs[0];
        CHECK_STR(d->location, "usbfs:1-1");
        CHECK_INT(d->port, 1);
        CHECK_INT(d->speed, OWU_SPEED_FULL);
        CHECK_STR(s.devs[1]->location, "usbfs:1-1.4");
        CHECK_INT(s.devs[1]->port, 4);
        /* A plain file answers the usbfs ioctls with ENOTTY. */
        uint8_t buf[8];
        size_t actual = 0;
        CHECK_INT(owu_transfer_sync(d, OWU_XFER_BULK, 0x81, buf, sizeof buf, &actual, 1000), OWU_E_NOTSUP);
        CHECK_INT(owu_dev_set_interface(d, 0, 1, 1000), OWU_E_NOTSUP);
        /* The kernel already has configuration 1 (sysfs): nothing is sent. */
        CHECK_OK(owu_dev_set_configuration(d, 1, 1000), NULL);
        CHECK_INT(owu_dev_set_configuration(d, 2, 1000), OWU_E_NOTSUP);
        bool zc = true;
        void *mem = owu_usbfs_buffer_alloc(d, 4096, &zc);
        CHECK(mem != NULL);
        CHECK(!zc);   /* no usbfs mmap on a plain file: ordinary memory */
        owu_usbfs_buffer_free(d, mem);
    }
    owu_hcd_destroy(hcd);
    CHECK_INT(s.left, 2);
    for (int i = 0; i < s.arrived && i < 4; i++) {
        CHECK(owu_usb_device_gone(s.devs[i]));
        uint8_t b = 0;
        size_t actual = 0;
        CHECK_INT(owu_transfer_sync(s.devs[i], OWU_XFER_BULK, 0x81, &b, 1, &actual, 100), OWU_E_NODEV);
        owu_usb_device_unref(s.devs[i]);
    }
}

static void test_stack_buses(void)
{
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    struct owu_stack *stack = NULL;
    owu_err err = {0};

    /* The fake tree through the stack: the devices appear (their enumeration fails, as a
     * plain file cannot carry a GET_DESCRIPTOR) and everything closes cleanly. */
    opt.buses = "usbfs";
    opt.enum_timeout_ms = 200;
    CHECK_OK(owu_stack_open(&opt, &stack, &err), &err);
    if (stack) {
        owu_stack_lock(stack);
        CHECK(owu_stack_find(stack, "usbfs:1-1") != NULL);
        CHECK(owu_stack_find(stack, "usbfs:1-1.4") != NULL);
        owu_stack_unlock(stack);
        owu_stack_close(stack);
    }

    /* "usbfs?" is skipped where there is no usbfs; "usbfs" fails naming the directory. */
    char *saved = strdup(getenv(OWU_USBFS_SYSFS_ENV));
    setenv(OWU_USBFS_SYSFS_ENV, "/nonexistent/owu-sysfs", 1);
    CHECK(!owu_usbfs_available());
    opt.buses = "virtual:fx2;usbfs?";
    stack = NULL;
    CHECK_OK(owu_stack_open(&opt, &stack, &err), &err);
    owu_stack_close(stack);
    opt.buses = "usbfs";
    stack = NULL;
    CHECK(owu_stack_open(&opt, &stack, &err) != OWU_OK);
    CHECK(stack == NULL);
    CHECK_CONTAINS(err.msg, "/nonexistent/owu-sysfs");
    setenv(OWU_USBFS_SYSFS_ENV, saved, 1);
    free(saved);
}

int main(void)
{
    make_tree();
    RUN(test_device_names);
    RUN(test_scan_fake_tree);
    RUN(test_node_path);
    RUN(test_messages);
    RUN(test_permission_denied);
    RUN(test_split_plan);
    RUN(test_uevent_parse);
    RUN(test_status_mapping);
    RUN(test_bus_lifecycle);
    RUN(test_stack_buses);
    remove_tree();
    return check_report();
}
