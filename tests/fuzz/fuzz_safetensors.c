/* fuzz_safetensors.c - libFuzzer target for the weights loader.
 *
 * Any input must either be refused with a one-line message or load a model
 * whose every tensor converts (or is refused for a NaN/Inf) without touching
 * memory outside the input; sanitizers catch the rest. A loaded config must
 * also survive serialisation: parse(to_json(cfg)) == cfg.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pdl_weights w;
    static pdl_config again;
    pdl_error err;
    if (pdl_weights_open_memory(data, size, "fuzz.safetensors", &w, &err) != PDL_OK) {
        if (strchr(err.msg, '\n') || strncmp(err.msg, "fuzz.safetensors: ", 18) != 0)
            abort();
        return 0;
    }
    for (size_t i = 0; i < w.ntensors; i++) {
        const pdl_tensor *t = &w.tensors[i];
        if (pdl_weights_find(&w, t->name) != t)
            abort();
        float *dst = malloc(t->numel ? (size_t)t->numel * sizeof *dst : 1);
        if (!dst)
            abort();
        pdl_tensor_to_f32(&w, t, dst, &err);
        free(dst);
    }
    if (pdl_weights_unused(&w, NULL) != w.ntensors)
        abort();
    char *json = pdl_config_to_json(&w.config);
    if (!json || pdl_config_parse(json, strlen(json), "round-trip", &again, &err) != PDL_OK ||
        memcmp(&again, &w.config, sizeof again) != 0)
        abort();
    free(json);
    pdl_weights_close(&w);
    return 0;
}
