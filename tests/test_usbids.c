/* usb.ids lookups: parsing the sample file, the system database search order, absence. */
#include "core/usbids.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define SAMPLE OWU_TEST_DATA "/usb.ids"

static struct owu_usbids *load_sample(void)
{
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_usbids *db = NULL;
    CHECK_OK(owu_usbids_load(SAMPLE, &db, err), err);
    CHECK(db != NULL);
    return db;
}

static void test_vendor_and_product(void)
{
    struct owu_usbids *db = load_sample();
    char name[256];
    CHECK(owu_usbids_find_vendor(db, 0x046d, name, sizeof name));
    CHECK_STR(name, "Logitech, Inc.");
    CHECK(owu_usbids_find_product(db, 0x046d, 0x0825, name, sizeof name));
    CHECK_STR(name, "Webcam C270");
    CHECK(owu_usbids_find_product(db, 0x0483, 0xdf11, name, sizeof name));
    CHECK_STR(name, "STM Device in DFU Mode");
    CHECK(owu_usbids_find_vendor(db, 0x0001, name, sizeof name));
    CHECK_STR(name, "Fry's Electronics");
    CHECK(owu_usbids_find_product(db, 0x1d6b, 0x0003, name, sizeof name));
    CHECK_STR(name, "3.0 root hub");
    /* Tab between ID and name. */
    CHECK(owu_usbids_find_product(db, 0x1d6b, 0xabcd, name, sizeof name));
    CHECK_STR(name, "tab-separated name");
    /* Trailing spaces and CR are trimmed. */
    CHECK(owu_usbids_find_vendor(db, 0x10c4, name, sizeof name));
    CHECK_STR(name, "Silicon Labs");
    CHECK(owu_usbids_find_vendor(db, 0xab12, name, sizeof name));
    CHECK_STR(name, "CRLF Vendor");
    CHECK(owu_usbids_find_product(db, 0xab12, 0x0001, name, sizeof name));
    CHECK_STR(name, "CRLF Product");
    /* UTF-8 kept, control characters become spaces. */
    CHECK(owu_usbids_find_vendor(db, 0xcafe, name, sizeof name));
    CHECK_STR(name, "Caf\xC3\xA9 Devices");
    CHECK(owu_usbids_find_product(db, 0xcafe, 0xbabe, name, sizeof name));
    CHECK_STR(name, "Name with a control character");
    owu_usbids_free(db);
}

static void test_absent_entries(void)
{
    struct owu_usbids *db = load_sample();
    char name[64] = "junk";
    CHECK(!owu_usbids_find_vendor(db, 0x1234, name, sizeof name));
    CHECK_STR(name, "");
    CHECK(!owu_usbids_find_product(db, 0x046d, 0x0001, name, sizeof name));
    CHECK(!owu_usbids_find_product(db, 0x9999, 0x0825, name, sizeof name));
    /* A product known under another vendor is not found under this one. */
    CHECK(!owu_usbids_find_product(db, 0x03eb, 0x0825, name, sizeof name));
    /* Interface lines, malformed lines and children of other sections are not products. */
    CHECK(!owu_usbids_find_product(db, 0x046d, 0x0000, name, sizeof name));
    CHECK(!owu_usbids_find_product(db, 0x1d6b, 0x1234, name, sizeof name));
    CHECK(!owu_usbids_find_vendor(db, 0x12a4, name, sizeof name));
    CHECK(!owu_usbids_find_product(db, 0xcafe, 0x0001, name, sizeof name));
    /* "C 09  Hub" / "L 0436  Afrikaans" and their children are not vendors or products:
     * 0x0436 is not a vendor and 0x0c09 is not a vendor. */
    CHECK(!owu_usbids_find_vendor(db, 0x0436, name, sizeof name));
    CHECK(!owu_usbids_find_vendor(db, 0x0c09, name, sizeof name));
    CHECK(!owu_usbids_find_product(db, 0x0436, 0x0001, name, sizeof name));
    /* A NULL database answers false. */
    CHECK(!owu_usbids_find_vendor(NULL, 0x046d, name, sizeof name));
    CHECK(!owu_usbids_find_product(NULL, 0x046d, 0x0825, name, sizeof name));
    owu_usbids_free(db);
}

static void test_duplicates_first_wins(void)
{
    struct owu_usbids *db = load_sample();
    char name[128];
    CHECK(owu_usbids_find_product(db, 0x046d, 0xc52b, name, sizeof name));
    CHECK_STR(name, "Unifying Receiver");
    CHECK(owu_usbids_find_vendor(db, 0x046d, name, sizeof name));
    CHECK_STR(name, "Logitech, Inc.");
    /* Products under the repeated vendor line still count for that vendor. */
    CHECK(owu_usbids_find_product(db, 0x046d, 0xffff, name, sizeof name));
    CHECK_STR(name, "Late product under a repeated vendor");
    size_t products = 0;
    size_t vendors = owu_usbids_count(db, &products);
    CHECK_INT(vendors, 8);
    CHECK_INT(products, 14);
    owu_usbids_free(db);
}

static void test_truncation(void)
{
    struct owu_usbids *db = load_sample();
    char small[8];
    CHECK(owu_usbids_find_vendor(db, 0x046d, small, sizeof small));
    CHECK_STR(small, "Logitec");
    CHECK(owu_usbids_find_vendor(db, 0x046d, NULL, 0));
    owu_usbids_free(db);

    /* A name longer than OWU_USBIDS_MAX_NAME is cut on a character boundary. */
    char text[600];
    size_t n = (size_t)snprintf(text, sizeof text, "1234  ");
    for (int i = 0; i < 150; i++) {
        text[n++] = '\xC3';
        text[n++] = '\xA9';
    }
    text[n] = '\0';
    owu_err errbuf = {0}, *err = &errbuf;
    CHECK_OK(owu_usbids_parse(text, n, &db, err), err);
    char name[512];
    CHECK(owu_usbids_find_vendor(db, 0x1234, name, sizeof name));
    CHECK_INT(strlen(name), 254);
    owu_usbids_free(db);
}

static void test_hostile_text(void)
{
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_usbids *db = NULL;
    /* Empty text, no trailing newline, binary junk, NUL bytes: no failure, no entries
     * except the well-formed ones. */
    CHECK_OK(owu_usbids_parse("", 0, &db, err), err);
    CHECK_INT(owu_usbids_count(db, NULL), 0);
    owu_usbids_free(db);
    static const char junk[] = "\t\t\t\n\t\n\xff\xfe\x00\x01\n1234\n1234 \n\tabcd  orphan product\n"
                               "beef  Beef\n\tf00d  Food";
    CHECK_OK(owu_usbids_parse(junk, sizeof junk - 1, &db, err), err);
    size_t products;
    CHECK_INT(owu_usbids_count(db, &products), 1);
    CHECK_INT(products, 1);
    char name[32];
    CHECK(owu_usbids_find_product(db, 0xbeef, 0xf00d, name, sizeof name));
    CHECK_STR(name, "Food");
    owu_usbids_free(db);

    CHECK_INT(owu_usbids_load(OWU_TEST_DATA "/no-such-usb.ids", &db, err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err->msg, "no-such-usb.ids");
    CHECK(db == NULL);
    CHECK(owu_usbids_load(OWU_TEST_DATA, &db, err) < 0);   /* a directory */
    CHECK_INT(owu_usbids_parse(NULL, 1, &db, err), OWU_E_INVAL);
}

struct lookup_arg {
    int ok;
};

static void *lookup_thread(void *p)
{
    struct lookup_arg *a = p;
    char name[64];
    for (int i = 0; i < 200; i++)
        if (owu_usbids_product(0x046d, 0x0825, name, sizeof name) && strcmp(name, "Webcam C270") == 0)
            a->ok++;
    return NULL;
}

/* OPENWINUSB_USB_IDS points at the sample, and the system database is loaded on the first
 * of several concurrent lookups. */
static void test_system_database_from_env(void)
{
    pthread_t t[4];
    struct lookup_arg args[4] = {{0}};
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, lookup_thread, &args[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(args[i].ok, 200);
    }
    char name[64];
    CHECK(owu_usbids_vendor(0x0483, name, sizeof name));
    CHECK_STR(name, "STMicroelectronics");
    CHECK(!owu_usbids_vendor(0x4242, name, sizeof name));
    CHECK_STR(owu_usbids_path(), SAMPLE);
    /* Loaded once: changing the variable afterwards changes nothing. */
    setenv("OPENWINUSB_USB_IDS", "/dev/null", 1);
    CHECK(owu_usbids_vendor(0x0483, name, sizeof name));
}

/* In a child process (fresh lazy state): /dev/null turns names off; a missing file falls
 * through to the system paths (which may or may not exist here). */
static int child_lookup(const char *env, bool expect_found)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setenv("OPENWINUSB_USB_IDS", env, 1);
        char name[64];
        bool found = owu_usbids_product(0x046d, 0x0825, name, sizeof name);
        const char *path = owu_usbids_path();
        bool path_ok = expect_found ? path != NULL : (path && strcmp(path, "/dev/null") == 0);
        _exit(found == expect_found && path_ok ? 0 : 1);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_system_database_disabled(void)
{
    CHECK_INT(child_lookup("/dev/null", false), 0);
    CHECK_INT(child_lookup(SAMPLE, true), 0);
}

int main(void)
{
    /* The children must fork before this process loads its own copy. */
    RUN(test_system_database_disabled);
    setenv("OPENWINUSB_USB_IDS", SAMPLE, 1);
    RUN(test_system_database_from_env);
    RUN(test_vendor_and_product);
    RUN(test_absent_entries);
    RUN(test_duplicates_first_wins);
    RUN(test_truncation);
    RUN(test_hostile_text);
    return check_report();
}
