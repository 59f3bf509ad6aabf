/* The stack under awkward timing and awkward devices: unplug while a device is still being
 * enumerated, two devices with one serial number, and a device that stops answering after
 * its descriptors (enumeration sends no further requests once one has timed out). */
#include <pthread.h>
#include <unistd.h>

#include "check.h"

#include <openwinusb/devif.h>
#include <openwinusb/guid.h>
#include <openwinusb/stack.h>

#include "hcd/vbus.h"

static struct owu_stack *open_stack(const char *buses, unsigned timeout_ms)
{
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = buses;
    opt.enum_timeout_ms = timeout_ms;
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    CHECK_OK(owu_stack_open(&opt, &stack, &err), &err);
    return stack;
}

static unsigned count_devices(struct owu_stack *stack)
{
    unsigned n = 0;
    owu_stack_lock(stack);
    for (struct owu_devnode *hub = owu_stack_tree(stack)->first_child; hub; hub = hub->next_sibling)
        for (struct owu_devnode *d = hub->first_child; d; d = d->next_sibling)
            n++;
    owu_stack_unlock(stack);
    return n;
}

struct plug_job {
    struct owu_stack *stack;
    int rc;
};

static void *plug_silent(void *arg)
{
    struct plug_job *job = arg;
    owu_err err = {0};
    job->rc = owu_stack_plug(job->stack, "hostile-silent", 1, NULL, &err);
    return NULL;
}

/* The device leaves while the plugging thread is still waiting for its answers: no node
 * for a departed device may remain, nothing may be used after being freed (ASan). */
static void test_unplug_during_enumeration(void)
{
    struct owu_stack *stack = open_stack("virtual:", 300);
    if (!stack)
        return;
    for (int round = 0; round < 3; round++) {
        struct plug_job job = {stack, -1};
        pthread_t t;
        pthread_create(&t, NULL, plug_silent, &job);
        owu_err err = {0};
        /* Retry until the device is in the port (the plug runs on the other thread). */
        int rc;
        for (int tries = 0; (rc = owu_stack_unplug(stack, 1, 1, &err)) == OWU_E_NOTFOUND && tries < 2000; tries++)
            usleep(1000);
        CHECK_INT(rc, OWU_OK);
        pthread_join(t, NULL);
        CHECK_INT(job.rc, OWU_OK);
        CHECK_INT(count_devices(stack), 0);
    }
    owu_stack_close(stack);
}

static size_t comports(struct owu_stack *stack)
{
    struct owu_guid g;
    owu_guid_parse("{86e0d1e0-8089-11d0-9ce4-08003e301f73}", &g, NULL);
    owu_strlist l = {0};
    owu_devif_list(owu_stack_interfaces(stack), &g, NULL, OWU_DEVIF_PRESENT, &l, NULL);
    size_t n = l.n;
    owu_strlist_clear(&l);
    return n;
}

/* Two devices with the same serial: the second gets the port-based instance ID, and each
 * keeps its own interfaces when the other leaves. */
static void test_duplicate_serial(void)
{
    struct owu_stack *stack = open_stack("virtual:cdc-acm,cdc-acm", 0);
    if (!stack)
        return;
    owu_stack_lock(stack);
    struct owu_devnode *a = owu_stack_find(stack, "virtual:1-1");
    struct owu_devnode *b = owu_stack_find(stack, "virtual:1-2");
    CHECK(a && b);
    if (a && b) {
        CHECK_STR(a->instance_id, "USB\\VID_1209&PID_0001\\OWUACM0001");
        CHECK(a->unique_id);
        CHECK(!b->unique_id);
        CHECK(strcmp(a->instance_id, b->instance_id) != 0);
        CHECK_CONTAINS(b->instance_id, "USB\\VID_1209&PID_0001\\5&");
        CHECK(a->first_child && b->first_child);
        if (a->first_child && b->first_child)
            CHECK(strcmp(a->first_child->instance_id, b->first_child->instance_id) != 0);
    }
    owu_stack_unlock(stack);
    CHECK_INT(comports(stack), 2);
    owu_err err = {0};
    CHECK_OK(owu_stack_unplug(stack, 1, 2, &err), &err);
    CHECK_INT(comports(stack), 1);
    CHECK_INT(count_devices(stack), 1);
    owu_stack_close(stack);
}

/* A device that answers its device and configuration descriptors and then nothing: after
 * the first timeout (the LANGID list) no further request is sent. */
static const uint8_t mute_device[18] = {18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x09, 0x12, 0x77, 0x77,
                                        0x00, 0x01, 1, 2, 3, 1};
static const uint8_t mute_config[] = {
    9, 2, 18, 0, 1, 1, 4, 0x80, 50,
    9, 4, 0, 0, 0, 0xFF, 0, 0, 5,
};
static const struct owu_vblob mute_configs[] = {{mute_config, sizeof mute_config}};
static unsigned g_string_requests;

static int mute_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    (void)vd;
    (void)data;
    if (s->bRequest == OWU_REQ_GET_DESCRIPTOR && (s->wValue >> 8) == OWU_DT_STRING) {
        g_string_requests++;
        return OWU_E_PENDING;
    }
    return OWU_VDEV_DEFAULT;
}

static const struct owu_vdev_model mute_model = {
    .name = "test-mute-strings",
    .speed = OWU_SPEED_HIGH,
    .device = mute_device,
    .device_len = sizeof mute_device,
    .configs = mute_configs,
    .num_configs = 1,
    .control = mute_control,
};

static void test_silent_after_descriptors(void)
{
    struct owu_stack *stack = open_stack("virtual:", 50);
    if (!stack)
        return;
    /* The stack's virtual bus is reached through a device plugged by name. */
    struct owu_hcd *hcd = NULL;
    unsigned port = 0;
    owu_err err = {0};
    CHECK_OK(owu_stack_plug(stack, "fx2", 0, &port, &err), &err);
    owu_stack_lock(stack);
    struct owu_devnode *fx2 = owu_stack_find(stack, "virtual:1-1");
    if (fx2 && fx2->bus_device)
        hcd = ((struct owu_usb_device *)fx2->bus_device)->hcd;
    owu_stack_unlock(stack);
    CHECK(hcd != NULL);
    if (hcd) {
        g_string_requests = 0;
        CHECK_OK(owu_vbus_plug(hcd, &mute_model, NULL, 2, NULL, &err), &err);
        CHECK_INT(g_string_requests, 1);   /* the LANGID list only */
        owu_stack_lock(stack);
        struct owu_devnode *n = owu_stack_find(stack, "virtual:1-2");
        CHECK(n != NULL);
        if (n) {
            CHECK_INT(n->failure, OWU_FAIL_NONE);
            CHECK_STR(n->device_id, "USB\\VID_1209&PID_7777");
            CHECK(!n->unique_id);   /* its serial was never read */
        }
        owu_stack_unlock(stack);
    }
    owu_stack_close(stack);
}

int main(void)
{
    RUN(test_unplug_during_enumeration);
    RUN(test_duplicate_serial);
    RUN(test_silent_after_descriptors);
    return check_report();
}
