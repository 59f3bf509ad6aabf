/* `openwinusb tree`, `ids`, `profile` and `models`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openwinusb/profile.h>

#include "cli.h"
#include "hcd/vbus.h"

int cli_common_option(struct cli_common *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--json") == 0) {
        c->json = true;
        return 1;
    }
    if (strcmp(a, "--target") == 0 || strncmp(a, "--target=", 9) == 0) {
        const char *v = a[8] == '=' ? a + 9 : (*i + 1 < argc ? argv[++*i] : NULL);
        if (v && strcmp(v, "win10") == 0)
            c->pnp.target = OWU_TARGET_WIN10;
        else if (v && strcmp(v, "win11") == 0)
            c->pnp.target = OWU_TARGET_WIN11;
        else if (!v) {
            fprintf(stderr, "openwinusb: --target needs a value: win10 or win11\n");
            return -1;
        } else {
            fprintf(stderr, "openwinusb: --target takes win10 or win11, not \"%s\"\n", v);
            return -1;
        }
        return 1;
    }
    return 0;
}

static void common_init(struct cli_common *c)
{
    memset(c, 0, sizeof *c);
    owu_pnp_options_default(&c->pnp);
}

/* Problems the PnP manager met (damaged Device Parameters store, skipped INF lines, ...)
 * go to stderr so that the tree itself stays clean output. */
static void print_notes(struct owu_stack *stack)
{
    owu_strlist notes = {0};
    owu_stack_take_notes(stack, &notes);
    for (size_t i = 0; i < notes.n; i++)
        fprintf(stderr, "openwinusb: note: %s\n", notes.v[i]);
    owu_strlist_clear(&notes);
}

static int show(struct owu_stack *stack, const struct cli_common *c)
{
    print_notes(stack);
    owu_stack_lock(stack);
    if (c->json)
        print_tree_json(stdout, owu_stack_tree(stack), &c->pnp);
    else
        print_tree_text(stdout, owu_stack_tree(stack));
    owu_stack_unlock(stack);
    return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_tree(int argc, char **argv)
{
    struct cli_common c;
    common_init(&c);
    for (int i = 1; i < argc; i++) {
        int r = cli_common_option(&c, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "openwinusb tree: unknown option \"%s\" (try --help)\n", argv[i]);
            return 2;
        }
    }
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.pnp = c.pnp;
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    if (owu_stack_open(&opt, &stack, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb tree: %s\n", err.msg);
        return 1;
    }
    int rc = show(stack, &c);
    owu_stack_close(stack);
    return rc;
}

int cmd_ids(int argc, char **argv)
{
    struct cli_common c;
    common_init(&c);
    const char *profile = NULL, *sysfs = NULL;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_option(&c, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--from-sysfs") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "openwinusb ids: --from-sysfs needs a directory such as /sys/bus/usb/devices/1-1\n");
                return 2;
            }
            sysfs = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "openwinusb ids: unknown option \"%s\" (try --help)\n", argv[i]);
            return 2;
        } else if (!profile) {
            profile = argv[i];
        } else {
            fprintf(stderr, "openwinusb ids: one profile at a time\n");
            return 2;
        }
    }
    if (!!profile == !!sysfs) {
        fprintf(stderr, "openwinusb ids: give a PROFILE file or --from-sysfs DIR\n");
        return 2;
    }
    owu_err err = {0};
    struct owu_devinfo *info = NULL;
    int rc = profile ? owu_profile_load(profile, &info, &err) : owu_sysfs_read_devinfo(sysfs, &info, &err);
    if (rc != OWU_OK) {
        fprintf(stderr, "openwinusb ids: %s\n", err.msg);
        return 1;
    }
    struct owu_stack *stack = NULL;
    rc = owu_stack_open_devinfo(info, &c.pnp, &stack, &err);
    owu_devinfo_free(info);
    if (rc != OWU_OK) {
        fprintf(stderr, "openwinusb ids: %s\n", err.msg);
        return 1;
    }
    rc = show(stack, &c);
    owu_stack_close(stack);
    return rc;
}

int cmd_profile(int argc, char **argv)
{
    const char *device = NULL, *outfile = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            outfile = argv[++i];
        else if (argv[i][0] == '-' || device) {
            fprintf(stderr, "openwinusb profile: usage: openwinusb profile DEVICE [-o FILE]\n");
            return 2;
        } else
            device = argv[i];
    }
    if (!device) {
        fprintf(stderr, "openwinusb profile: usage: openwinusb profile DEVICE [-o FILE]\n");
        return 2;
    }
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    if (owu_stack_open(NULL, &stack, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb profile: %s\n", err.msg);
        return 1;
    }
    owu_stack_lock(stack);
    struct owu_devnode *n = owu_stack_find(stack, device);
    while (n && n->kind == OWU_NODE_FUNCTION)
        n = n->parent;   /* a function's profile is its device's */
    int rc = 1;
    if (!n || n->kind != OWU_NODE_DEVICE || !n->info) {
        fprintf(stderr, "openwinusb profile: no device \"%s\" (see `openwinusb tree`)\n", device);
    } else if (outfile) {
        rc = owu_profile_save(n->info, outfile, &err) == OWU_OK ? 0 : 1;
        if (rc)
            fprintf(stderr, "openwinusb profile: %s\n", err.msg);
    } else {
        rc = owu_profile_write(n->info, stdout, &err) == OWU_OK ? 0 : 1;
        if (rc)
            fprintf(stderr, "openwinusb profile: %s\n", err.msg);
    }
    owu_stack_unlock(stack);
    owu_stack_close(stack);
    return rc;
}

int cmd_models(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "openwinusb models: takes no arguments\n");
        return 2;
    }
    for (const struct owu_vdev_model *const *m = owu_vdev_models(); *m; m++)
        printf("%-22s %s%s\n", (*m)->name, (*m)->summary ? (*m)->summary : "",
               owu_vdev_model_in_all(*m) ? "" : " [not in \"all\"]");
    return 0;
}
