/* OPENWINUSB_BUSES parsing: accepted forms, defaults and clear errors for bad input. */
#include "check.h"
#include "hcd/buses.h"

static void test_virtual_list(void)
{
    struct owu_bus_config cfg;
    owu_err err = {0};
    CHECK_OK(owu_buses_parse("virtual:fx2,cdc-acm", &cfg, &err), &err);
    CHECK_INT(cfg.num_buses, 1);
    CHECK_INT(cfg.buses[0].kind, OWU_BUS_VIRTUAL);
    CHECK_INT(cfg.buses[0].num_models, 2);
    CHECK_STR(cfg.buses[0].models[0], "fx2");
    CHECK_STR(cfg.buses[0].models[1], "cdc-acm");
    owu_buses_free(&cfg);
}

static void test_all_and_backends(void)
{
    struct owu_bus_config cfg;
    owu_err err = {0};
    CHECK_OK(owu_buses_parse(" virtual:all ; usbfs? ; usbip=lab.example:3241 ", &cfg, &err), &err);
    CHECK_INT(cfg.num_buses, 3);
    CHECK_INT(cfg.buses[0].num_models, 7);   /* the seven standard models, no hostile ones */
    for (unsigned i = 0; i < cfg.buses[0].num_models; i++)
        CHECK(strncmp(cfg.buses[0].models[i], "hostile", 7) != 0);
    CHECK_INT(cfg.buses[1].kind, OWU_BUS_USBFS);
    CHECK(cfg.buses[1].optional);
    CHECK_INT(cfg.buses[2].kind, OWU_BUS_USBIP);
    CHECK_STR(cfg.buses[2].host, "lab.example");
    CHECK_INT(cfg.buses[2].tcp_port, 3241);
    owu_buses_free(&cfg);

    CHECK_OK(owu_buses_parse("virtual;usbip=10.0.0.1", &cfg, &err), &err);
    CHECK_INT(cfg.buses[0].num_models, 7);
    CHECK_INT(cfg.buses[1].tcp_port, 3240);
    owu_buses_free(&cfg);

    CHECK_OK(owu_buses_parse("virtual:", &cfg, &err), &err);
    CHECK_INT(cfg.num_buses, 1);
    CHECK_INT(cfg.buses[0].num_models, 0);
    owu_buses_free(&cfg);

    CHECK_OK(owu_buses_parse("", &cfg, &err), &err);
    CHECK_INT(cfg.num_buses, 0);
    owu_buses_free(&cfg);
}

static void test_profile_and_repeats(void)
{
    struct owu_bus_config cfg;
    owu_err err = {0};
    CHECK_OK(owu_buses_parse("virtual:fx2,fx2,profile=/tmp/a.json", &cfg, &err), &err);
    CHECK_INT(cfg.buses[0].num_models, 3);
    CHECK_STR(cfg.buses[0].models[2], "profile=/tmp/a.json");
    owu_buses_free(&cfg);
}

static void test_errors(void)
{
    struct owu_bus_config cfg;
    owu_err err = {0};
    CHECK_INT(owu_buses_parse("virtual:fx3", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "unknown virtual device model \"fx3\"");
    CHECK_INT(owu_buses_parse("virtual:fx2,,cdc-acm", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "empty model name");
    CHECK_INT(owu_buses_parse("floppy", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "unknown bus \"floppy\"");
    CHECK_INT(owu_buses_parse("usbip=host:99999", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "bad USB/IP port");
    CHECK_INT(owu_buses_parse("usbip=", &cfg, &err), OWU_E_PARSE);
    CHECK_INT(owu_buses_parse("virtual:profile=", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "needs a file path");
    /* 17 buses is one too many. */
    char many[256] = "";
    for (int i = 0; i < 17; i++)
        strcat(many, "virtual:;");
    CHECK_INT(owu_buses_parse(many, &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "more than 16 buses");
    /* 128 models on one bus is one too many. */
    char *big = malloc(128 * 4 + 16);
    strcpy(big, "virtual:");
    for (int i = 0; i < 128; i++)
        strcat(big, i ? ",fx2" : "fx2");
    CHECK_INT(owu_buses_parse(big, &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "more than 127 models");
    free(big);
}

int main(void)
{
    RUN(test_virtual_list);
    RUN(test_all_and_backends);
    RUN(test_profile_and_repeats);
    RUN(test_errors);
    return check_report();
}
