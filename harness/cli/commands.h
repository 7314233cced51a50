/* The `vecs` subcommands. Each takes argc/argv after the command name's position
 * (argv[0] is the command name) and returns the process exit status:
 * 0 conformant / passed, 1 nonconformant / failed, 2 usage or environment error. */
#ifndef VECS_CLI_COMMANDS_H
#define VECS_CLI_COMMANDS_H

#include <stdbool.h>

#define VECS_EXIT_OK 0
#define VECS_EXIT_FAIL 1
#define VECS_EXIT_USAGE 2

int cmd_inspect(int argc, char **argv);
int cmd_canary(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_list(int argc, char **argv);
/* `vecs list --faults` (cmd_list_faults.c) */
struct vecs_scenario_set;
int list_faults(const char *dir, const struct vecs_scenario_set *set, bool json);
int cmd_run(int argc, char **argv);
int cmd_stack(int argc, char **argv);
int cmd_corrupt(int argc, char **argv);
int cmd_iofault(int argc, char **argv);

#endif
