/* libFuzzer target for the profile reader (and through it the JSON reader and hex codec).
 * Every input the reader accepts must be writable, and what is written must read back as an
 * equal devinfo and be written again byte for byte: a round trip that loses or invents data
 * aborts, not just a memory error. */
#include <openwinusb/profile.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *write_profile(const struct owu_devinfo *info, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        abort();
    owu_err err = {0};
    if (owu_profile_write(info, f, &err) != OWU_OK) {
        fprintf(stderr, "accepted profile not writable: %s\n", err.msg);
        abort();
    }
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct owu_devinfo *info = NULL;
    owu_err err = {0};
    if (owu_profile_parse((const char *)data, size, &info, &err) != OWU_OK) {
        if (info || err.code == OWU_OK || err.msg[0] == '\0')
            abort();   /* a failure must leave no result and say why */
        return 0;
    }
    size_t len1 = 0, len2 = 0;
    char *text1 = write_profile(info, &len1);
    struct owu_devinfo *again = NULL;
    if (owu_profile_parse(text1, len1, &again, &err) != OWU_OK) {
        fprintf(stderr, "written profile does not read back: %s\n%s\n", err.msg, text1);
        abort();
    }
    if (!owu_profile_equal(info, again)) {
        fprintf(stderr, "round trip changed the devinfo:\n%s\n", text1);
        abort();
    }
    char *text2 = write_profile(again, &len2);
    if (len1 != len2 || memcmp(text1, text2, len1) != 0)
        abort();   /* writing is deterministic */
    free(text1);
    free(text2);
    owu_devinfo_free(again);
    owu_devinfo_free(info);
    return 0;
}
