/* cli.h - the subcommands of build/panoptic and helpers they share.
 *
 * Each subcommand is `int cmd_NAME(int argc, char **argv)` with argv[0] = NAME,
 * returning the process exit status: 0 all good, 1 some inputs failed, 2 usage,
 * model or device error. Only cli/ prints to the user or decides exit codes.
 */
#ifndef PDL_CLI_H
#define PDL_CLI_H

#include "status.h"

#define PDL_VERSION "0.1.0"

enum { EXIT_ALL_OK = 0, EXIT_SOME_FAILED = 1, EXIT_USAGE = 2 };

int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Prints "panoptic CMD: MESSAGE" and a hint to run --help on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A whole decimal integer in lo..hi into *out; 0 (out untouched) otherwise. */
int cli_parse_int(const char *text, int lo, int hi, int *out);

/* Prints "panoptic: MESSAGE" (the error's one line) on stderr. */
void cli_report(const pdl_error *err);

/* Re-executes the program once with a short OpenMP spin (GOMP_SPINCOUNT) unless
 * the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT; returns only when it did not. */
void cli_tune_openmp(char **argv);

#endif
