/* Human names of bus speeds (CLI output, profiles) and their inverse. */
#include <openwinusb/usb_defs.h>

#include <stddef.h>
#include <strings.h>

static const char *const speed_names[] = {
    [OWU_SPEED_UNKNOWN] = "unknown",
    [OWU_SPEED_LOW] = "low",
    [OWU_SPEED_FULL] = "full",
    [OWU_SPEED_HIGH] = "high",
    [OWU_SPEED_SUPER] = "super",
    [OWU_SPEED_SUPER_PLUS] = "super-plus",
};

const char *owu_speed_name(enum owu_speed speed)
{
    if ((unsigned)speed >= sizeof speed_names / sizeof speed_names[0])
        return "unknown";
    return speed_names[speed];
}

enum owu_speed owu_speed_from_name(const char *name)
{
    if (!name)
        return OWU_SPEED_UNKNOWN;
    for (size_t i = 0; i < sizeof speed_names / sizeof speed_names[0]; i++)
        if (strcasecmp(name, speed_names[i]) == 0)
            return (enum owu_speed)i;
    return OWU_SPEED_UNKNOWN;
}
