/* The in-box driver packages compiled into the library: the table CMakeLists.txt generates
 * from src/pnp/inbox/NAME.inf (build directory, generated/inbox_infs.c), sorted by file name. */
#ifndef OWU_PNP_INBOX_H
#define OWU_PNP_INBOX_H

#include <stddef.h>

struct owu_inbox_inf {
    const char *name;              /* "usbser.inf" */
    const unsigned char *data;     /* the file's bytes, not NUL-terminated */
    size_t len;
};

/* owu_inbox_inf_count entries, then one all-zero entry. */
extern const struct owu_inbox_inf owu_inbox_infs[];
extern const size_t owu_inbox_inf_count;

#endif
