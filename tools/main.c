/* openwinusb: the command-line front end of the stack. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: openwinusb COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  tree [--json] [--target win10|win11]\n"
          "        Show every bus, device and composite function with its Windows IDs\n"
          "        (device, hardware, compatible, instance and container IDs).\n"
          "  ids PROFILE [--json] [--target win10|win11]\n"
          "  ids --from-sysfs DIR [--json] [--target win10|win11]\n"
          "        The same for one device described by a device profile (JSON) or by a\n"
          "        Linux /sys/bus/usb/devices/X directory.\n"
          "  profile DEVICE [-o FILE]\n"
          "        Save a device as a profile; DEVICE is an instance ID or a location such as\n"
          "        virtual:1-3 (see `openwinusb tree`).\n"
          "  models\n"
          "        List the virtual device models (names for OPENWINUSB_BUSES).\n"
          "  driver add FILE.inf [--replace] | driver list [--json] | driver remove NAME\n"
          "        Manage the per-user driver store (in-box packages are built in).\n"
          "  why NODE [--json]\n"
          "        Every driver candidate for a device node with its rank, and why the winner won.\n"
          "        Driver options: --store DIR  --arch x86|amd64|arm64|arm|ia64  --trust catalog|none|all\n"
          "  serial --list\n"
          "  serial PORT --pty [--line RATE,DPS] [--link PATH] [--detach] [--verbose]\n"
          "        List the CDC-ACM serial ports (COMn), or bridge one (COMn, instance ID or\n"
          "        location) to a Linux pseudo-terminal whose stable path is printed.\n"
          "  export [--listen ADDR:PORT] [--config FILE] DEVICE...\n"
          "        Share devices over USB/IP (virtual models such as fx2, usbfs:B-P locations)\n"
          "        until interrupted; default 127.0.0.1:3240 (docs/usbip.md).\n"
          "  list --remote HOST[:PORT] [--json]\n"
          "        The devices a USB/IP server exports.\n"
          "  attach HOST[:PORT] BUSID [--json] [--hold]\n"
          "        Import a USB/IP device, show its device tree and release it (--hold keeps\n"
          "        it until interrupted or `openwinusb detach`).\n"
          "  detach HOST[:PORT] BUSID\n"
          "        Stop the `attach --hold` of that device.\n"
          "  host [--socket PATH]\n"
          "        Serve the devices of OPENWINUSB_BUSES to other processes (their\n"
          "        OPENWINUSB_BUSES=host[=PATH]); each claims its own interfaces.\n"
          "\n"
          "Environment:\n"
          "  OPENWINUSB_BUSES    buses to use, e.g. \"virtual:fx2,cdc-acm\" (default \"" OWU_DEFAULT_BUSES "\")\n"
          "  OPENWINUSB_TARGET   win10 (default) or win11: which Windows the IDs imitate\n"
          "  OPENWINUSB_DRIVER_STORE   per-user driver store directory\n"
          "  OPENWINUSB_REGISTRY        where Device Parameters persist (docs/registry.md)\n"
          "\n"
          "See docs/ for the JSON formats and how IDs are formed.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        puts("openwinusb 0.1.0");
        return 0;
    }
    if (strcmp(cmd, "tree") == 0)
        return cmd_tree(argc - 1, argv + 1);
    if (strcmp(cmd, "ids") == 0)
        return cmd_ids(argc - 1, argv + 1);
    if (strcmp(cmd, "profile") == 0)
        return cmd_profile(argc - 1, argv + 1);
    if (strcmp(cmd, "models") == 0)
        return cmd_models(argc - 1, argv + 1);
    if (strcmp(cmd, "driver") == 0)
        return cmd_driver(argc - 1, argv + 1);
    if (strcmp(cmd, "why") == 0)
        return cmd_why(argc - 1, argv + 1);
    if (strcmp(cmd, "serial") == 0)
        return cmd_serial(argc - 1, argv + 1);
    if (strcmp(cmd, "host") == 0)
        return cmd_host(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "list") == 0)
        return cmd_list(argc - 1, argv + 1);
    if (strcmp(cmd, "attach") == 0)
        return cmd_attach(argc - 1, argv + 1);
    if (strcmp(cmd, "detach") == 0)
        return cmd_detach(argc - 1, argv + 1);
    fprintf(stderr, "openwinusb: unknown command \"%s\" (try --help)\n", cmd);
    return 2;
}
