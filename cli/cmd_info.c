/* cmd_info.c - placeholder until the weights loader lands. */
#include "cli.h"

int cmd_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("info", "needs the weights loader");
}
