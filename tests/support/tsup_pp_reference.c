/* tsup_pp_reference.c - the obviously-correct serial reference for the
 * post-processing, written from Detectron2's algorithm (see postprocess.h)
 * with no code shared with kernels/: it materialises the full-size tensors,
 * scans every NMS window, sorts all peaks, and compares every pixel with every
 * center. Float expressions that decide integer outputs (interpolation,
 * offsets, distances) are the same IEEE operations PyTorch performs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsup_pp.h"

/* PyTorch upsample_bilinear2d, align_corners=False, one channel, full size. */
static float *resize_plane(const float *src, int ih, int iw, int rh, int rw)
{
    float *dst = malloc((size_t)rh * rw * sizeof *dst);
    float sy = (float)ih / (float)rh, sx = (float)iw / (float)rw;
    for (int y = 0; y < rh; y++) {
        float fy = ((float)y + 0.5f) * sy - 0.5f;
        if (fy < 0)
            fy = 0;
        int y0 = (int)fy, y1 = y0 < ih - 1 ? y0 + 1 : y0;
        float wy1 = fy - (float)y0, wy0 = 1.0f - wy1;
        for (int x = 0; x < rw; x++) {
            float fx = ((float)x + 0.5f) * sx - 0.5f;
            if (fx < 0)
                fx = 0;
            int x0 = (int)fx, x1 = x0 < iw - 1 ? x0 + 1 : x0;
            float wx1 = fx - (float)x0, wx0 = 1.0f - wx1;
            float top = src[y0 * iw + x0] * wx0 + src[y0 * iw + x1] * wx1;
            float bottom = src[y1 * iw + x0] * wx0 + src[y1 * iw + x1] * wx1;
            dst[y * rw + x] = top * wy0 + bottom * wy1;
        }
    }
    return dst;
}

/* Resized and cropped to out_h x out_w. */
static float *full_size(const tsup_pp_case *c, const float *plane)
{
    float *r = resize_plane(plane, c->in_h, c->in_w, c->resize_h, c->resize_w);
    float *o = malloc((size_t)c->out_h * c->out_w * sizeof *o);
    for (int y = 0; y < c->out_h; y++)
        memcpy(o + (size_t)y * c->out_w, r + (size_t)y * c->resize_w, c->out_w * sizeof *o);
    free(r);
    return o;
}

typedef struct peak {
    int index;
    float value;
} peak;

static int by_value_then_index(const void *a, const void *b)
{
    const peak *p = a, *q = b;
    if (p->value != q->value)
        return p->value > q->value ? -1 : 1;
    return p->index - q->index;
}

static int by_index(const void *a, const void *b)
{
    return ((const peak *)a)->index - ((const peak *)b)->index;
}

void tsup_pp_reference(const tsup_pp_case *c, tsup_pp_result *out)
{
    int H = c->out_h, W = c->out_w, C = c->opt.classes;
    long N = (long)H * W;
    size_t plane = (size_t)c->in_h * c->in_w;
    float **logit = malloc(C * sizeof *logit);
    for (int k = 0; k < C; k++)
        logit[k] = full_size(c, c->logits + k * plane);
    float *ctr = full_size(c, c->center);
    float *off_y = full_size(c, c->offset);
    float *off_x = full_size(c, c->offset + plane);

    /* semantic argmax, first maximum */
    int *sem = malloc(N * sizeof *sem);
    for (long p = 0; p < N; p++) {
        int best = 0;
        for (int k = 1; k < C; k++)
            if (logit[k][p] > logit[best][p])
                best = k;
        sem[p] = best;
    }

    /* threshold, then brute-force max-pool NMS */
    float *t = malloc(N * sizeof *t);
    for (long p = 0; p < N; p++)
        t[p] = ctr[p] > c->opt.threshold ? ctr[p] : -1.0f;
    int r = c->opt.nms_kernel / 2;
    peak *peaks = malloc(N * sizeof *peaks);
    long npeaks = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float m = -INFINITY;
            for (int v = y - r; v <= y + r; v++)
                for (int u = x - r; u <= x + r; u++)
                    if (v >= 0 && v < H && u >= 0 && u < W && t[(long)v * W + u] > m)
                        m = t[(long)v * W + u];
            float here = t[(long)y * W + x];
            if (here > 0 && here == m)
                peaks[npeaks++] = (peak){y * W + x, here};
        }

    /* top-k by sorting every peak */
    qsort(peaks, npeaks, sizeof *peaks, by_value_then_index);
    long k = c->opt.top_k, K = npeaks;
    if (c->opt.exact_top_k) {
        if (K > k)
            K = k;
    } else if (npeaks >= k && N >= k) {
        float kth = peaks[k - 1].value;
        K = 0;
        while (K < npeaks && peaks[K].value > kth)
            K++;
    }
    qsort(peaks, K, sizeof *peaks, by_index);

    /* grouping: nearest center by float Euclidean distance, first minimum */
    int *ins = calloc(N, sizeof *ins);
    for (int y = 0; y < H && K > 0; y++)
        for (int x = 0; x < W; x++) {
            long p = (long)y * W + x;
            if (!c->isthing[sem[p]])
                continue;
            float ly = (float)y + off_y[p] * c->offset_scale_y;
            float lx = (float)x + off_x[p] * c->offset_scale_x;
            int best = 0;
            float best_d = INFINITY;
            for (int i = 0; i < K; i++) {
                float dy = (float)(peaks[i].index / W) - ly;
                float dx = (float)(peaks[i].index % W) - lx;
                float d = sqrtf(dy * dy + dx * dx);
                if (d < best_d) {
                    best_d = d;
                    best = i;
                }
            }
            ins[p] = best + 1;
        }

    /* merge: majority vote per instance, ids per class, stuff areas */
    int *hist = calloc((size_t)(K + 1) * C, sizeof *hist);
    for (long p = 0; p < N; p++)
        if (ins[p] > 0)
            hist[(size_t)ins[p] * C + sem[p]]++;
    int *value = malloc((K + 1) * sizeof *value), *cls = malloc((K + 1) * sizeof *cls);
    int *tracker = calloc(C, sizeof *tracker);
    for (int i = 1; i <= K; i++) {
        int best = 0;
        for (int j = 1; j < C; j++)
            if (hist[(size_t)i * C + j] > hist[(size_t)i * C + best])
                best = j;
        cls[i] = best;
        value[i] = hist[(size_t)i * C + best] > 0 ? best * c->opt.label_divisor + ++tracker[best]
                                                  : -1;
    }
    long *area = calloc(C, sizeof *area);
    for (long p = 0; p < N; p++)
        if (ins[p] == 0)
            area[sem[p]]++;

    out->height = H;
    out->width = W;
    out->panoptic = malloc(N * sizeof *out->panoptic);
    for (long p = 0; p < N; p++) {
        int s = sem[p];
        if (ins[p] > 0)
            out->panoptic[p] = value[ins[p]];
        else if (!c->isthing[s] && area[s] > 0 && area[s] >= c->opt.stuff_area)
            out->panoptic[p] = s * c->opt.label_divisor;
        else
            out->panoptic[p] = -1;
    }
    out->center_count = (int)K;
    out->centers = malloc((K + 1) * sizeof *out->centers);
    for (int i = 0; i < K; i++)
        out->centers[i] = (pdl_pp_center){peaks[i].index / W, peaks[i].index % W, peaks[i].value};

    /* segments: slot i (1..K) for instances, K + 1 + class for stuff */
    int slots = (int)K + C + 1;
    long *n = calloc(slots, sizeof *n);
    int *box = malloc(slots * 4 * sizeof *box);
    double *prob = calloc(slots, sizeof *prob);
    for (int i = 0; i < slots; i++) {
        box[4 * i] = W;
        box[4 * i + 1] = H;
        box[4 * i + 2] = box[4 * i + 3] = -1;
    }
    for (long p = 0; p < N; p++) {
        if (out->panoptic[p] < 0)
            continue;
        int i = ins[p] > 0 ? ins[p] : (int)K + 1 + sem[p];
        int y = (int)(p / W), x = (int)(p % W);
        n[i]++;
        box[4 * i] = x < box[4 * i] ? x : box[4 * i];
        box[4 * i + 1] = y < box[4 * i + 1] ? y : box[4 * i + 1];
        box[4 * i + 2] = x > box[4 * i + 2] ? x : box[4 * i + 2];
        box[4 * i + 3] = y > box[4 * i + 3] ? y : box[4 * i + 3];
        if (ins[p] > 0) {
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < C; j++)
                mx = logit[j][p] > mx ? logit[j][p] : mx;
            for (int j = 0; j < C; j++)
                sum += exp(logit[j][p] - mx);
            prob[i] += exp(logit[cls[ins[p]]][p] - mx) / sum;
        }
    }
    out->segments = malloc(slots * sizeof *out->segments);
    out->segment_count = 0;
    for (int i = 1; i < slots; i++) {
        if (n[i] == 0)
            continue;
        int is_ins = i <= K, kls = is_ins ? cls[i] : i - (int)K - 1;
        pdl_pp_segment *s = &out->segments[out->segment_count++];
        s->id = is_ins ? value[i] : kls * c->opt.label_divisor;
        s->category = kls;
        s->isthing = is_ins;
        s->area = n[i];
        s->bbox[0] = box[4 * i];
        s->bbox[1] = box[4 * i + 1];
        s->bbox[2] = box[4 * i + 2] - box[4 * i] + 1;
        s->bbox[3] = box[4 * i + 3] - box[4 * i + 1] + 1;
        s->score = is_ins ? (float)(peaks[i - 1].value * (prob[i] / n[i])) : 1.0f;
    }
    free(n);
    free(box);
    free(prob);

    for (int j = 0; j < C; j++)
        free(logit[j]);
    free(logit);
    free(ctr);
    free(off_y);
    free(off_x);
    free(sem);
    free(t);
    free(peaks);
    free(ins);
    free(hist);
    free(value);
    free(cls);
    free(tracker);
    free(area);
}
