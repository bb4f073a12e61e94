/* config.h - the model configuration carried in a weights file.
 *
 * The configuration travels as JSON text in the safetensors header under
 * __metadata__["config"] (schema: weights/FORMAT.md). It mirrors the values of a
 * Detectron2 Panoptic-DeepLab yaml, so a converted model-zoo checkpoint and our
 * own demo model are described the same way. pdl_config_parse() validates every
 * value; code downstream may trust a parsed config.
 */
#ifndef PDL_CONFIG_H
#define PDL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

#define PDL_MAX_CLASSES 1024
#define PDL_CLASS_NAME_MAX 64

typedef enum pdl_stem { PDL_STEM_BASIC, PDL_STEM_DEEPLAB } pdl_stem;

typedef struct pdl_backbone_config {
    int depth;               /* 18, 34, 50 or 101 */
    pdl_stem stem;           /* "basic": 7x7/2 conv; "deeplab": three 3x3 convs */
    int stem_out_channels;   /* 64 for basic; 128 for D2's deeplab stem */
    int res2_out_channels;   /* 256 for bottleneck ResNets, 64 for basic-block ones */
    int width_per_group;     /* bottleneck width of res2 (64 in the standard nets) */
    bool stride_in_1x1;      /* D2 STRIDE_IN_1X1; Panoptic-DeepLab uses false */
    int res4_dilation;       /* 1 */
    int res5_dilation;       /* 1 or 2 (output stride 32 or 16) */
    int res5_multi_grid[3];  /* per-block dilation multipliers of res5, e.g. {1,2,4} */
} pdl_backbone_config;

/* One branch (semantic or instance): ASPP on res5 + decoder on res3, res2. */
typedef struct pdl_head_config {
    int project_channels[2]; /* 1x1 projections of res2, res3 (D2 order: 32, 64) */
    int decoder_channels;    /* CONVS_DIM: fuse-conv output channels, 256 / 128 */
    int aspp_channels;       /* 256 */
    int aspp_dilations[3];   /* 6, 12, 18 */
    int aspp_pool[2];        /* fixed pooling kernel (h, w); {0,0} = global pooling */
    int head_channels;       /* channels before the predictor: 256 sem, 32 ins */
    bool depthwise_separable;/* dsconv 5x5 fuse/head convs and dsconv atrous ASPP */
} pdl_head_config;

typedef struct pdl_class_info {
    int id;                  /* dataset category id written to JSON outputs */
    char name[PDL_CLASS_NAME_MAX];
    bool isthing;
    uint8_t color[3];
} pdl_class_info;

typedef struct pdl_postprocess_config {
    float center_threshold;  /* 0.1 */
    int nms_kernel;          /* odd; 7 Cityscapes, 41 COCO */
    int top_k;               /* 200 */
    int stuff_area;          /* 2048 Cityscapes, 4096 COCO */
    int label_divisor;       /* 1000 */
} pdl_postprocess_config;

typedef struct pdl_input_config {
    float pixel_mean[3];     /* RGB, on 0..255 */
    float pixel_std[3];
    int min_size_test;       /* shortest edge at test time; 0 = keep size */
    int max_size_test;       /* longest edge cap; 0 = none */
    int size_divisibility;   /* pad bottom/right to a multiple; 0 = none */
} pdl_input_config;

typedef struct pdl_config {
    char name[64];           /* free text, e.g. "cityscapes-r52-dsconv" */
    pdl_backbone_config backbone;
    pdl_head_config sem;
    pdl_head_config ins;
    pdl_input_config input;
    pdl_postprocess_config post;
    int num_classes;
    pdl_class_info classes[PDL_MAX_CLASSES];
} pdl_config;

/* Parses and validates the JSON text of a config. `source` names the file for
 * messages. On failure err says which key is missing or which value is wrong. */
pdl_status pdl_config_parse(const char *json_text, size_t len, const char *source,
                            pdl_config *out, pdl_error *err);

/* Serialises a config to JSON text (malloc'd, NUL-terminated; caller frees). */
char *pdl_config_to_json(const pdl_config *cfg);

#endif
