/* Hostile devices on the virtual bus: each misbehaviour ends in the Windows failure ID the
 * hub would report (pnp-ids.md §1.2) or, for optional data, in a device that still works —
 * never in a crash, a hang or a read past a buffer (this test also runs under ASan+UBSan). */
#include "check.h"

#include <openwinusb/stack.h>

static struct owu_stack *open_stack(const char *buses)
{
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = buses;
    opt.enum_timeout_ms = 100;   /* the silent device times out quickly */
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    CHECK_OK(owu_stack_open(&opt, &stack, &err), &err);
    return stack;
}

/* The one device on bus 1, port 1. */
static struct owu_devnode *only_device(struct owu_stack *stack)
{
    struct owu_devnode *hub = owu_stack_tree(stack)->first_child;
    return hub ? hub->first_child : NULL;
}

static void expect_failure(const char *model, const char *failure_id, const char *device_id,
                           const char *detail)
{
    char spec[64];
    snprintf(spec, sizeof spec, "virtual:%s", model);
    struct owu_stack *stack = open_stack(spec);
    if (!stack)
        return;
    struct owu_devnode *n = only_device(stack);
    CHECK(n != NULL);
    if (n) {
        CHECK(n->failure != OWU_FAIL_NONE);
        CHECK_STR(owu_failure_id(n->failure), failure_id);
        CHECK_STR(n->device_id, device_id);
        CHECK_INT(n->hardware_ids.n, 1);
        CHECK_STR(n->hardware_ids.v[0], failure_id);
        CHECK_INT(n->compatible_ids.n, 1);
        CHECK_STR(n->compatible_ids.v[0], failure_id);
        CHECK(n->first_child == NULL);
        CHECK(!n->unique_id);   /* failed devices get port-based instance IDs */
        CHECK_CONTAINS(n->instance_id, device_id);
        if (detail)
            CHECK_CONTAINS(n->info->failure_detail, detail);
        if (n->failure == OWU_FAIL_NONE)
            fprintf(stderr, "  model %s enumerated without failure\n", model);
    }
    owu_stack_close(stack);
}

static void test_stall_device_descriptor(void)
{
    expect_failure("hostile-stall-device", "USB\\DEVICE_DESCRIPTOR_FAILURE", "USB\\VID_0000&PID_0002",
                   "stall");
}

static void test_bad_ep0(void)
{
    expect_failure("hostile-ep0", "USB\\DEVICE_DESCRIPTOR_VALIDATION_FAILURE", "USB\\VID_0000&PID_0005",
                   "bMaxPacketSize0");
}

static void test_bad_device_descriptor(void)
{
    expect_failure("hostile-bad-device", "USB\\DEVICE_DESCRIPTOR_VALIDATION_FAILURE",
                   "USB\\VID_0000&PID_0005", NULL);
}

static void test_no_address(void)
{
    expect_failure("hostile-no-address", "USB\\SET_ADDRESS_FAILURE", "USB\\VID_0000&PID_0004", "SET_ADDRESS");
}

static void test_silent(void)
{
    /* Answers the first 8 bytes, then nothing: the next request (SET_ADDRESS) times out. */
    expect_failure("hostile-silent", "USB\\SET_ADDRESS_FAILURE", "USB\\VID_0000&PID_0004", "timeout");
}

static void test_stall_config(void)
{
    expect_failure("hostile-stall-config", "USB\\CONFIG_DESCRIPTOR_FAILURE", "USB\\VID_0000&PID_0003",
                   "configuration 0");
}

static void test_bad_configurations(void)
{
    expect_failure("hostile-total-length", "USB\\CONFIGURATION_DESCRIPTOR_VALIDATION_FAILURE",
                   "USB\\VID_0000&PID_0006", "wTotalLength");
    expect_failure("hostile-zero-blength", "USB\\CONFIGURATION_DESCRIPTOR_VALIDATION_FAILURE",
                   "USB\\VID_0000&PID_0006", "bLength");
    expect_failure("hostile-truncated", "USB\\CONFIGURATION_DESCRIPTOR_VALIDATION_FAILURE",
                   "USB\\VID_0000&PID_0006", "offset");
}

/* Bad optional data (BOS, MS OS 2.0 set, strings) loses that data, not the device. */
static void expect_working(const char *model)
{
    char spec[64];
    snprintf(spec, sizeof spec, "virtual:%s", model);
    struct owu_stack *stack = open_stack(spec);
    if (!stack)
        return;
    struct owu_devnode *n = only_device(stack);
    CHECK(n != NULL);
    if (n) {
        CHECK_INT(n->failure, OWU_FAIL_NONE);
        CHECK_INT(n->hardware_ids.n, 2);
        CHECK(n->compatible_ids.n >= 3);
        CHECK_CONTAINS(n->device_id, "USB\\VID_");
        if (n->description)
            CHECK(strlen(n->description) < 256);
    }
    owu_stack_close(stack);
}

static void test_looping_bos(void) { expect_working("hostile-loop"); }
static void test_long_strings(void) { expect_working("hostile-long-string"); }

/* All hostile models on one bus next to a good one: the good one is unaffected. */
static void test_mixed_bus(void)
{
    struct owu_stack *stack = open_stack(
        "virtual:hostile-stall-device,fx2,hostile-silent,hostile-zero-blength,hostile-loop,"
        "hostile-long-string,hostile-ep0");
    if (!stack)
        return;
    struct owu_devnode *hub = owu_stack_tree(stack)->first_child;
    unsigned count = 0, failed = 0;
    for (struct owu_devnode *n = hub->first_child; n; n = n->next_sibling) {
        count++;
        failed += n->failure != OWU_FAIL_NONE;
    }
    CHECK_INT(count, 7);
    CHECK_INT(failed, 4);
    struct owu_devnode *fx2 = owu_stack_find(stack, "virtual:1-2");
    CHECK(fx2 != NULL);
    if (fx2)
        CHECK_STR(fx2->device_id, "USB\\VID_0547&PID_1002");
    owu_stack_close(stack);
}

int main(void)
{
    RUN(test_stall_device_descriptor);
    RUN(test_bad_ep0);
    RUN(test_bad_device_descriptor);
    RUN(test_no_address);
    RUN(test_silent);
    RUN(test_stall_config);
    RUN(test_bad_configurations);
    RUN(test_looping_bos);
    RUN(test_long_strings);
    RUN(test_mixed_bus);
    return check_report();
}
