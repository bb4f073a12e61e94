/* tsup_cuda.c - support shared by the CUDA host tests. */
#include "tsup_cuda.h"

#include <criterion/criterion.h>
#include <stdio.h>

void tsup_cuda_config_from_json(const char *path, pdl_config *cfg)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: cannot open", path);
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert(n > 0 && n < sizeof buf, "%s: %zu bytes", path, n);
    pdl_error err;
    cr_assert_eq(pdl_config_parse(buf, n, path, cfg, &err), PDL_OK, "%s", err.msg);
}
