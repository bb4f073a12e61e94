/* predict_names.h - the names of the files a `predict` run writes, checked
 * before any is written so that no output overwrites another. */
#ifndef PDL_PREDICT_NAMES_H
#define PDL_PREDICT_NAMES_H

#include <stddef.h>

#include "input_list.h"
#include "prediction.h"

/* The run's annotation file: "predictions.json", or with --shard I/N (N > 1)
 * "predictions.shard-I-of-N.json", so that shards sharing an output folder
 * do not overwrite each other's. */
void predict_run_file(char *buf, size_t size, unsigned shard_index, unsigned shard_count);

/* 1 when every output file of every input (and the run file) has its own
 * name and none of them, under `outdir`, is an input file; otherwise prints
 * which inputs collide on which file and returns 0. */
int predict_check_names(const pdl_input_list *list, const pdl_output_options *outputs,
                        const char *run_file, const char *outdir);

#endif
