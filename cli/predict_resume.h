/* predict_resume.h - what `predict --resume` may keep from an earlier run. */
#ifndef PDL_PREDICT_RESUME_H
#define PDL_PREDICT_RESUME_H

#include <jansson.h>

#include "input_list.h"
#include "prediction.h"

/* The image's annotation for the run file when all its output files are
 * there and whole (the JSON parses and lists segments; each PNG starts with
 * the signature and ends with IEND, so a truncated one is redone); NULL
 * when it must be predicted again. The caller owns the reference. */
json_t *predict_resume_annotation(const char *outdir, const pdl_input *in,
                                  const pdl_output_options *outputs);

#endif
