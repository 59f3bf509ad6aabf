/* OPENWINUSB_BUSES parsing (grammar in buses.h, user documentation in docs/buses.md). */
#include "hcd/buses.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hcd/vbus.h"

#define SPEC_MAX 8192

static char *dup_range(const char *b, const char *e)
{
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    size_t n = (size_t)(e - b);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = '\0';
    }
    return s;
}

static int add_model(struct owu_bus_spec *bus, const char *name, owu_err *err)
{
    if (strcmp(name, "all") == 0) {
        for (const struct owu_vdev_model *const *m = owu_vdev_models(); *m; m++) {
            if (!owu_vdev_model_in_all(*m))
                continue;
            if (add_model(bus, (*m)->name, err) != OWU_OK)
                return err ? err->code : OWU_E_INVAL;
        }
        return OWU_OK;
    }
    if (strncmp(name, "profile=", 8) == 0) {
        if (name[8] == '\0')
            return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: \"profile=\" needs a file path");
    } else if (!owu_vdev_model_find(name)) {
        return owu_fail(err, OWU_E_PARSE,
                        "OPENWINUSB_BUSES: unknown virtual device model \"%s\" (known: fx2, "
                        "cdc-acm, composite, hid-keyboard, msos1, mass-storage, hub, profile=PATH, all)",
                        name);
    }
    if (bus->num_models >= OWU_MAX_MODELS_PER_BUS)
        return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: more than %d models on one virtual bus",
                        OWU_MAX_MODELS_PER_BUS);
    if (!(bus->models[bus->num_models] = strdup(name)))
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    bus->num_models++;
    return OWU_OK;
}

static int parse_virtual(struct owu_bus_spec *bus, const char *list, owu_err *err)
{
    bus->kind = OWU_BUS_VIRTUAL;
    if (!list)
        return add_model(bus, "all", err);
    if (*list == '\0')
        return OWU_OK;   /* "virtual:" = a bus with no devices (programs plug their own) */
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        char *name = dup_range(p, end);
        if (!name)
            return owu_fail(err, OWU_E_NOMEM, "out of memory");
        int rc = *name ? add_model(bus, name, err)
                       : owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: empty model name in \"virtual:%s\"", list);
        free(name);
        if (rc != OWU_OK)
            return rc;
        if (!comma)
            return OWU_OK;
        p = comma + 1;
    }
}

static int parse_usbip(struct owu_bus_spec *bus, const char *target, owu_err *err)
{
    bus->kind = OWU_BUS_USBIP;
    bus->tcp_port = 3240;
    if (!*target)
        return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: \"usbip=\" needs HOST[:PORT]");
    /* "/BUSID" imports only that export (USB/IP busids such as "1-1" hold no '/'). */
    const char *slash = strchr(target, '/');
    const char *target_end = slash ? slash : target + strlen(target);
    if (slash) {
        bus->busid = dup_range(slash + 1, slash + strlen(slash));
        if (!bus->busid)
            return owu_fail(err, OWU_E_NOMEM, "out of memory");
        if (!*bus->busid || strlen(bus->busid) > 31)
            return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: bad USB/IP busid in \"usbip=%s\" "
                            "(1 to 31 characters)", target);
    }
    const char *colon = memrchr(target, ':', (size_t)(target_end - target));
    const char *host_end = target_end;
    if (colon && !memchr(colon + 1, ']', (size_t)(target_end - colon - 1))) {
        char *end;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (colon + 1 == target_end || end != target_end || port == 0 || port > 65535)
            return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: bad USB/IP port in \"usbip=%s\"", target);
        bus->tcp_port = (unsigned)port;
        host_end = colon;
    }
    bus->host = dup_range(target, host_end);
    if (!bus->host)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    if (!*bus->host)
        return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: empty host in \"usbip=%s\"", target);
    return OWU_OK;
}

static int parse_entry(struct owu_bus_config *cfg, char *entry, owu_err *err)
{
    if (cfg->num_buses >= OWU_MAX_BUSES)
        return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: more than %d buses", OWU_MAX_BUSES);
    struct owu_bus_spec *bus = &cfg->buses[cfg->num_buses];
    memset(bus, 0, sizeof *bus);
    cfg->num_buses++;
    if (strcmp(entry, "virtual") == 0)
        return parse_virtual(bus, NULL, err);
    if (strncmp(entry, "virtual:", 8) == 0)
        return parse_virtual(bus, entry + 8, err);
    if (strcmp(entry, "usbfs") == 0 || strcmp(entry, "usbfs?") == 0) {
        bus->kind = OWU_BUS_USBFS;
        bus->optional = entry[5] == '?';
        return OWU_OK;
    }
    if (strncmp(entry, "usbip=", 6) == 0)
        return parse_usbip(bus, entry + 6, err);
    /* Device host client (docs/device-host.md): "host" = the default socket. */
    if (strcmp(entry, "host") == 0 || strncmp(entry, "host=", 5) == 0) {
        bus->kind = OWU_BUS_HOST;
        if (entry[4] == '=') {
            if (!entry[5] || strlen(entry + 5) >= 108)
                return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: \"host=\" needs a socket path of "
                                "1 to 107 characters");
            if (!(bus->socket = strdup(entry + 5)))
                return owu_fail(err, OWU_E_NOMEM, "out of memory");
        }
        return OWU_OK;
    }
    return owu_fail(err, OWU_E_PARSE,
                    "OPENWINUSB_BUSES: unknown bus \"%s\" (expected virtual[:models], usbfs, "
                    "usbip=HOST[:PORT][/BUSID] or host[=SOCKET])", entry);
}

int owu_buses_parse(const char *spec, struct owu_bus_config *out, owu_err *err)
{
    memset(out, 0, sizeof *out);
    if (!spec)
        return owu_fail(err, OWU_E_INVAL, "OPENWINUSB_BUSES: no specification");
    if (strlen(spec) > SPEC_MAX)
        return owu_fail(err, OWU_E_PARSE, "OPENWINUSB_BUSES: longer than %d characters", SPEC_MAX);
    const char *p = spec;
    int rc = OWU_OK;
    for (;;) {
        const char *semi = strchr(p, ';');
        const char *end = semi ? semi : p + strlen(p);
        char *entry = dup_range(p, end);
        if (!entry) {
            rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
            break;
        }
        if (*entry)
            rc = parse_entry(out, entry, err);
        free(entry);
        if (rc != OWU_OK || !semi)
            break;
        p = semi + 1;
    }
    if (rc != OWU_OK)
        owu_buses_free(out);
    return rc;
}

void owu_buses_free(struct owu_bus_config *cfg)
{
    for (unsigned b = 0; b < cfg->num_buses; b++) {
        for (unsigned m = 0; m < cfg->buses[b].num_models; m++)
            free(cfg->buses[b].models[m]);
        free(cfg->buses[b].host);
        free(cfg->buses[b].busid);
        free(cfg->buses[b].socket);
    }
    memset(cfg, 0, sizeof *cfg);
}
