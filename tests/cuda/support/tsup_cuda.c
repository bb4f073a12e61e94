/* tsup_cuda.c - support shared by the CUDA host tests. */
#include "tsup_cuda.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

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

pdl_shape *tsup_cuda_model_shapes(const pdl_config *cfg, int h, int w, pdl_model *m)
{
    pdl_error err;
    cr_assert_eq(pdl_model_build(cfg, m, &err), PDL_OK, "%s", err.msg);
    int hp, wp;
    pdl_model_input_size(cfg, h, w, &hp, &wp);
    pdl_shape *shapes = malloc((size_t)m->ntensors * sizeof *shapes);
    cr_assert_not_null(shapes);
    cr_assert_eq(pdl_model_shapes(m, hp, wp, shapes, &err), PDL_OK, "%s", err.msg);
    return shapes;
}
