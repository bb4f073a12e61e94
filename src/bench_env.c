/* bench_env.c - where a benchmark ran: CPU, GPU, library versions, commit, date.
 *
 * A timing means little without this, so `panoptic bench` records it with
 * every result. Nothing here fails: whatever cannot be found is written as
 * "unknown" (or "none" for a GPU), so a missing git or CUDA never stops a run.
 */
#include <jansson.h>
#include <jconfig.h>
#include <libdeflate.h>
#include <oneapi/dnnl/dnnl.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "bench_report.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        return;
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon)
            continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, size, "%s", colon);
        break;
    }
    fclose(fp);
}

static void git_commit(char *buf, size_t size, const char *repo_dir)
{
    char cmd[4200];
    snprintf(buf, size, "unknown");
    if (repo_dir && strchr(repo_dir, '\''))
        return;
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", repo_dir ? repo_dir : ".");
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    char line[128];
    if (fgets(line, sizeof line, p) && strlen(line) >= 40) {
        line[strcspn(line, "\n")] = '\0';
        snprintf(buf, size, "%s", line);
    }
    pclose(p);
}

static void gpu(pdl_bench_env *env)
{
    pdl_device_request req = {.kind = PDL_DEVICE_CUDA, .index = 0, .threads = 0};
    pdl_backend b;
    pdl_error err;
    char note[8];
    pdl_error_clear(&err);
    snprintf(env->gpu, sizeof env->gpu, "none");
    env->gpu_note[0] = '\0';
    if (pdl_backend_open(&req, &b, note, sizeof note, &err) != PDL_OK) {
        snprintf(env->gpu_note, sizeof env->gpu_note, "%.*s", (int)sizeof env->gpu_note - 1, err.msg);
        return;
    }
    b.ops->describe(b.ctx, env->gpu, sizeof env->gpu);
    pdl_backend_close(&b);
}

void pdl_bench_env_collect(pdl_bench_env *env, const char *repo_dir)
{
    memset(env, 0, sizeof *env);
    cpu_model(env->cpu_model, sizeof env->cpu_model);
    env->cpus_online = (int)sysconf(_SC_NPROCESSORS_ONLN);
    gpu(env);
    const dnnl_version_t *v = dnnl_version();
    snprintf(env->onednn, sizeof env->onednn, "%d.%d.%d", v->major, v->minor, v->patch);
    snprintf(env->libpng, sizeof env->libpng, "%s", png_get_libpng_ver(NULL));
    snprintf(env->libjpeg_turbo, sizeof env->libjpeg_turbo, "%s", STR(LIBJPEG_TURBO_VERSION));
    snprintf(env->jansson, sizeof env->jansson, "%s", jansson_version_str());
    snprintf(env->libdeflate, sizeof env->libdeflate, "%s", LIBDEFLATE_VERSION_STRING);
    git_commit(env->commit, sizeof env->commit, repo_dir);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(env->date, sizeof env->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
