/* openmp_env.c - a short OpenMP spin before idle threads sleep.
 *
 * GNU OpenMP's default lets an idle worker spin for ~300k iterations before it
 * sleeps. On a machine whose cores are shared (other jobs, or our own decode and
 * writer threads), a spinning worker holds a core that the worker it waits for
 * needs: measured with two busy processes on the 2-core development machine,
 * 20 images through predict took 761 ms with the default, 428 ms with
 * OMP_WAIT_POLICY=passive and 255 ms with GOMP_SPINCOUNT=1000, which is also
 * no slower than the default when idle (121 vs 149 ms). libgomp reads its
 * environment when it is loaded, before main(), so the only way to set it for
 * ourselves is to re-execute once with the variable set. A user's own
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins.
 */
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

#define SPIN_COUNT "1000"

void cli_tune_openmp(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("GOMP_SPINCOUNT", SPIN_COUNT, 0) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* Not re-executed (no /proc): run on with the default spin. */
}
