/* predict_resume.c - the outputs --resume keeps (see predict_resume.h). */
#include "predict_resume.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Only plain files count (a FIFO would block the read). */
static bool regular(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* A PNG written to the end: the signature first, the IEND chunk last. */
static bool png_is_whole(const char *path)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    unsigned char head[8], tail[12];
    FILE *f = regular(path) ? fopen(path, "rb") : NULL;
    if (!f)
        return false;
    bool whole = fread(head, 1, sizeof head, f) == sizeof head && fseek(f, -12, SEEK_END) == 0 &&
                 fread(tail, 1, sizeof tail, f) == sizeof tail &&
                 memcmp(head, signature, sizeof head) == 0 && memcmp(tail, iend, sizeof tail) == 0;
    fclose(f);
    return whole;
}

json_t *predict_resume_annotation(const char *outdir, const pdl_input *in,
                                  const pdl_output_options *outputs)
{
    const char *suffix[PDL_PREDICTION_FILES];
    int n = pdl_prediction_files(outputs, suffix);
    char path[PATH_MAX];
    for (int k = 0; k < n - 1; k++) /* the maps; the JSON is last */
        if (snprintf(path, sizeof path, "%s/%s%s", outdir, in->relname, suffix[k]) >=
                (int)sizeof path ||
            !png_is_whole(path))
            return NULL;
    if (snprintf(path, sizeof path, "%s/%s%s", outdir, in->relname, suffix[n - 1]) >=
        (int)sizeof path)
        return NULL;
    json_t *ann = regular(path) ? json_load_file(path, 0, NULL) : NULL;
    if (!json_is_array(json_object_get(ann, "segments_info"))) {
        json_decref(ann);
        return NULL;
    }
    /* per-image files name the PNG by stem; the run file by relative path */
    json_object_set_new(ann, "file_name", json_pack("s+", in->relname, ".png"));
    return ann;
}
