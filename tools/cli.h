/* The openwinusb command: shared declarations of its subcommands. */
#ifndef OWU_TOOLS_CLI_H
#define OWU_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <openwinusb/pnp.h>
#include <openwinusb/stack.h>

/* Options every subcommand understands. */
struct cli_common {
    bool json;
    struct owu_pnp_options pnp;
};

/* Parses --json and --target; returns 1 when argv[*i] was consumed, 0 when it is not a
 * common option, -1 on a bad value (message printed). */
int cli_common_option(struct cli_common *c, int argc, char **argv, int *i);

/* Device strings are untrusted: writes s (NULL: nothing) with control characters (C0, DEL,
 * and the C1 range U+0080..U+009F in UTF-8), which would drive the user's terminal, shown as
 * \xNN / \u00NN. Returns the bytes written. */
size_t cli_put_text(FILE *f, const char *s);

/* Renders a device tree (text like Device Manager's "devices by connection" view, or the
 * JSON of docs/tree-json.md). */
void print_tree_text(FILE *f, const struct owu_devnode *root);
void print_tree_json(FILE *f, const struct owu_devnode *root, const struct owu_pnp_options *pnp);

int cmd_tree(int argc, char **argv);
int cmd_ids(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_driver(int argc, char **argv);
int cmd_why(int argc, char **argv);
int cmd_serial(int argc, char **argv);
int cmd_host(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);

#endif
