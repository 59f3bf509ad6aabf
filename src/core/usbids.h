/* Vendor and product names from a usb.ids file (the database usbutils and hwdata ship).
 *
 * Names are a convenience for people: nothing in the stack depends on them, and every
 * lookup simply returns false when no database is installed.
 *
 * The system database is found on first use, in this order: the file named by the
 * OPENWINUSB_USB_IDS environment variable (when set and non-empty), /usr/share/misc/usb.ids,
 * /usr/share/hwdata/usb.ids, /var/lib/usbutils/usb.ids. The first file that can be read is
 * used (OPENWINUSB_USB_IDS=/dev/null therefore turns names off, e.g. for reproducible test
 * output). It is loaded once per process, thread-safely, and kept until exit. */
#ifndef OWU_CORE_USBIDS_H
#define OWU_CORE_USBIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>

/* Files larger than this are refused (the real one is about 1.5 MB). Memory used is at most
 * about twice the file size. Names longer than OWU_USBIDS_MAX_NAME bytes are cut. */
#define OWU_USBIDS_MAX_FILE ((size_t)16 << 20)
#define OWU_USBIDS_MAX_NAME 255

struct owu_usbids;

/* Parses usb.ids text: "vvvv  Vendor" lines with "\tpppp  Product" lines below them.
 * Comments, interface lines and the other sections (classes, languages, HID, ...) are
 * skipped, and so are malformed lines: the file is not ours, so it never fails to parse.
 * Control characters in names become spaces. For duplicate IDs the first entry wins. */
int owu_usbids_parse(const char *text, size_t len, struct owu_usbids **out, owu_err *err);
/* Reads and parses a file (OWU_E_NOTFOUND if it cannot be opened). */
int owu_usbids_load(const char *path, struct owu_usbids **out, owu_err *err);
void owu_usbids_free(struct owu_usbids *db);

/* Copies the name into out (truncated to outsz-1 bytes, NUL-terminated); false when the
 * database has no such entry (out is then set to ""). */
bool owu_usbids_find_vendor(const struct owu_usbids *db, uint16_t vid, char *out, size_t outsz);
bool owu_usbids_find_product(const struct owu_usbids *db, uint16_t vid, uint16_t pid, char *out,
                             size_t outsz);
/* Number of vendor and product entries held. */
size_t owu_usbids_count(const struct owu_usbids *db, size_t *num_products);

/* Lookups in the system database (loaded on first call); false when it is absent. */
bool owu_usbids_vendor(uint16_t vid, char *out, size_t outsz);
bool owu_usbids_product(uint16_t vid, uint16_t pid, char *out, size_t outsz);
/* The file the system database came from, or NULL when none was found. */
const char *owu_usbids_path(void);

#endif
