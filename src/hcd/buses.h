/* Parsing OPENWINUSB_BUSES: which buses a program sees and which virtual models they hold.
 *
 *   spec   := entry (';' entry)*
 *   entry  := "virtual" [":" [model ("," model)*]] a virtual bus (no list: all; "virtual:": empty)
 *           | "usbfs" ["?"]                        Linux usbfs; "?" = only where available
 *           | "usbip=" host [":" port] ["/" busid] a USB/IP server's exports (or just one)
 *           | "host" ["=" socket]                   a device host's devices, shared (device-host.md)
 *   model  := name | "all" | "profile=" path
 */
#ifndef OWU_HCD_BUSES_H
#define OWU_HCD_BUSES_H

#include <stdbool.h>

#include <openwinusb/error.h>

enum owu_bus_kind { OWU_BUS_VIRTUAL, OWU_BUS_USBFS, OWU_BUS_USBIP,
                    OWU_BUS_HOST /* device host client (docs/device-host.md) */ };

#define OWU_MAX_BUSES 16
#define OWU_MAX_MODELS_PER_BUS 127

struct owu_bus_spec {
    enum owu_bus_kind kind;
    bool optional;                       /* "usbfs?" */
    char *models[OWU_MAX_MODELS_PER_BUS]; /* virtual: model names / "profile=PATH", in port order */
    unsigned num_models;
    char *host;                          /* usbip */
    unsigned tcp_port;                   /* usbip, default 3240 */
    char *busid;                         /* usbip: the one export to import; NULL = all */
    char *socket;                        /* host: socket path; NULL = the default one */
};

struct owu_bus_config {
    struct owu_bus_spec buses[OWU_MAX_BUSES];
    unsigned num_buses;
};

int owu_buses_parse(const char *spec, struct owu_bus_config *out, owu_err *err);
void owu_buses_free(struct owu_bus_config *cfg);

#endif
