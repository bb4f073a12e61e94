/* synth.c - renders one procedural panoptic scene (see synth.h).
 *
 * Painter's algorithm: stuff bands first, then things back to front, so later
 * instances occlude earlier ones and the id map is exact by construction.
 * Areas and boxes are measured from the final id map, after occlusion.
 */
#include "synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

enum { SKY, GROUND, WATER, WALL, DISC, BOX, TRIANGLE, RING, BLOB };
#define NUM_STUFF 4
#define ID_STRIDE 1000u /* panoptic id = category id * ID_STRIDE + instance */
#define CROWD_BASE 500u /* crowd segments use instance numbers from here */

const pdl_synth_class pdl_synth_classes[PDL_SYNTH_NUM_CLASSES] = {
    {1, "sky", false, {70, 130, 180}},     {2, "ground", false, {152, 251, 152}},
    {3, "water", false, {0, 80, 160}},     {4, "wall", false, {102, 102, 156}},
    {5, "disc", true, {220, 20, 60}},      {6, "box", true, {255, 160, 0}},
    {7, "triangle", true, {0, 200, 0}},    {8, "ring", true, {160, 0, 200}},
    {9, "blob", true, {240, 240, 40}},
};

typedef struct texture {
    int kind; /* 0 flat, 1 stripes, 2 checker, 3 speckle */
    float base[3], alt[3];
    float freq, angle;
} texture;

typedef struct shape {
    int cls;
    float cx, cy, r, aspect, angle, phase1, phase2;
} shape;

static uint8_t clamp_u8(float v)
{
    return v < 0.f ? 0 : v > 255.f ? 255 : (uint8_t)(v + 0.5f);
}

static void random_colour(pdl_rng *r, float out[3])
{
    for (int c = 0; c < 3; c++)
        out[c] = (float)pdl_rng_range(r, 20, 235);
}

/* Stuff classes keep a recognisable colour family; jitter keeps it from
 * being a single exact colour. */
static texture stuff_texture(pdl_rng *r, int cls)
{
    static const float family[NUM_STUFF][3] = {
        {120, 170, 230}, {120, 95, 60}, {20, 70, 110}, {150, 140, 135}};
    static const int kind[NUM_STUFF] = {0, 3, 1, 2};
    texture t = {.kind = kind[cls], .freq = (float)pdl_rng_range(r, 0.15, 0.4),
                 .angle = (float)pdl_rng_range(r, -0.3, 0.3)};
    for (int c = 0; c < 3; c++) {
        t.base[c] = family[cls][c] + (float)pdl_rng_range(r, -25, 25);
        t.alt[c] = t.base[c] * (float)pdl_rng_range(r, 0.6, 0.85);
    }
    return t;
}

static texture thing_texture(pdl_rng *r)
{
    texture t = {.kind = pdl_rng_int(r, 0, 3), .freq = (float)pdl_rng_range(r, 0.3, 1.2),
                 .angle = (float)pdl_rng_range(r, 0, M_PI)};
    random_colour(r, t.base);
    random_colour(r, t.alt);
    return t;
}

static void shade(const texture *t, int x, int y, pdl_rng *r, uint8_t *px)
{
    float u = (float)x * cosf(t->angle) + (float)y * sinf(t->angle);
    float v = -(float)x * sinf(t->angle) + (float)y * cosf(t->angle);
    float mix = 0.f;
    switch (t->kind) {
    case 1: mix = 0.5f + 0.5f * sinf(u * t->freq); break;
    case 2: mix = (((int)floorf(u * t->freq * 0.5f) + (int)floorf(v * t->freq * 0.5f)) & 1) ? 1.f : 0.f; break;
    case 3: mix = (float)pdl_rng_uniform(r); break;
    default: break;
    }
    for (int c = 0; c < 3; c++)
        px[c] = clamp_u8(t->base[c] + mix * (t->alt[c] - t->base[c]));
}

static bool inside(const shape *s, float x, float y)
{
    float dx = x - s->cx, dy = y - s->cy;
    float ca = cosf(s->angle), sa = sinf(s->angle);
    float u = dx * ca + dy * sa, v = -dx * sa + dy * ca;
    float d = sqrtf(dx * dx + dy * dy);
    switch (s->cls) {
    case DISC: return d < s->r;
    case BOX: return fabsf(u) < s->r && fabsf(v) < s->r * s->aspect;
    case RING: return d < s->r && d > s->r * 0.55f;
    case BLOB: {
        float th = atan2f(dy, dx);
        return d < s->r * (0.8f + 0.2f * sinf(3 * th + s->phase1) + 0.12f * sinf(5 * th + s->phase2));
    }
    case TRIANGLE: {
        /* Equilateral triangle with circumradius r: three half-planes. */
        for (int k = 0; k < 3; k++) {
            float a = s->angle + (float)k * 2.0943951f;
            if (dx * cosf(a) + dy * sinf(a) > s->r * 0.5f)
                return false;
        }
        return true;
    }
    default: return false;
    }
}

static void paint_shape(pdl_synth_scene *sc, const shape *s, const texture *t, uint32_t id, pdl_rng *r)
{
    int x0 = (int)floorf(s->cx - s->r * 1.3f), x1 = (int)ceilf(s->cx + s->r * 1.3f);
    int y0 = (int)floorf(s->cy - s->r * 1.3f), y1 = (int)ceilf(s->cy + s->r * 1.3f);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > sc->width - 1) x1 = sc->width - 1;
    if (y1 > sc->height - 1) y1 = sc->height - 1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            if (inside(s, (float)x + 0.5f, (float)y + 0.5f)) {
                size_t i = (size_t)y * (size_t)sc->width + (size_t)x;
                sc->ids[i] = id;
                shade(t, x, y, r, sc->rgb + 3 * i);
            }
}

static void paint_stuff(pdl_synth_scene *sc, pdl_rng *r)
{
    int order[NUM_STUFF] = {SKY, GROUND, WATER, WALL};
    for (int i = NUM_STUFF - 1; i > 0; i--) {
        int j = pdl_rng_int(r, 0, i);
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    int nbands = pdl_rng_int(r, 2, NUM_STUFF);
    texture tex[NUM_STUFF];
    float amp[NUM_STUFF][2], freq[NUM_STUFF][2], phase[NUM_STUFF][2], base[NUM_STUFF];
    for (int b = 0; b < nbands; b++) {
        tex[b] = stuff_texture(r, order[b]);
        base[b] = (float)sc->height * ((float)b + (float)pdl_rng_range(r, 0.6, 1.4)) / (float)nbands;
        for (int k = 0; k < 2; k++) {
            amp[b][k] = (float)sc->height * (float)pdl_rng_range(r, 0.01, 0.08);
            freq[b][k] = (float)pdl_rng_range(r, 2, 12) / (float)sc->width;
            phase[b][k] = (float)pdl_rng_range(r, 0, 2 * M_PI);
        }
    }
    for (int y = 0; y < sc->height; y++)
        for (int x = 0; x < sc->width; x++) {
            int b = 0;
            /* Band b ends at its wavy lower boundary; the last band takes the rest. */
            while (b < nbands - 1) {
                float edge = base[b] + amp[b][0] * sinf(freq[b][0] * (float)x * 6.2831853f + phase[b][0]) +
                             amp[b][1] * sinf(freq[b][1] * (float)x * 6.2831853f + phase[b][1]);
                if ((float)y < edge)
                    break;
                b++;
            }
            size_t i = (size_t)y * (size_t)sc->width + (size_t)x;
            sc->ids[i] = (uint32_t)pdl_synth_classes[order[b]].id * ID_STRIDE;
            shade(&tex[b], x, y, r, sc->rgb + 3 * i);
        }
}

static shape random_shape(pdl_rng *r, const pdl_synth_scene *sc, int cls, float rmin, float rmax)
{
    shape s = {.cls = cls};
    s.r = expf((float)pdl_rng_range(r, logf(rmin), logf(rmax)));
    s.cx = (float)pdl_rng_range(r, 0, sc->width);
    s.cy = (float)pdl_rng_range(r, 0, sc->height);
    s.aspect = (float)pdl_rng_range(r, 0.45, 1.0);
    s.angle = (float)pdl_rng_range(r, 0, 2 * M_PI);
    s.phase1 = (float)pdl_rng_range(r, 0, 2 * M_PI);
    s.phase2 = (float)pdl_rng_range(r, 0, 2 * M_PI);
    return s;
}

static void paint_things(pdl_synth_scene *sc, pdl_rng *r)
{
    float side = (float)(sc->width < sc->height ? sc->width : sc->height);
    float rmax = side / 6.f > 4.f ? side / 6.f : 4.f;
    int count[PDL_SYNTH_NUM_CLASSES] = {0};
    int n = pdl_rng_int(r, 3, 12);
    shape prev = {0};
    for (int k = 0; k < n; k++) {
        shape s;
        if (k > 0 && pdl_rng_uniform(r) < 0.3) {
            /* A same-class neighbour touching the previous instance. */
            s = random_shape(r, sc, prev.cls, 4.f, rmax);
            float a = (float)pdl_rng_range(r, 0, 2 * M_PI);
            s.cx = prev.cx + (prev.r + s.r) * 0.95f * cosf(a);
            s.cy = prev.cy + (prev.r + s.r) * 0.95f * sinf(a);
        } else {
            s = random_shape(r, sc, pdl_rng_int(r, DISC, BLOB), 4.f, rmax);
        }
        texture t = thing_texture(r);
        uint32_t id = (uint32_t)pdl_synth_classes[s.cls].id * ID_STRIDE + (uint32_t)++count[s.cls];
        paint_shape(sc, &s, &t, id, r);
        prev = s;
    }
    if (pdl_rng_uniform(r) < 0.25) {
        /* A crowd: a tight cluster of small same-class objects, one segment. */
        int cls = pdl_rng_int(r, DISC, BLOB);
        float cx = (float)pdl_rng_range(r, 0, sc->width), cy = (float)pdl_rng_range(r, 0, sc->height);
        uint32_t id = (uint32_t)pdl_synth_classes[cls].id * ID_STRIDE + CROWD_BASE;
        texture t = thing_texture(r);
        int members = pdl_rng_int(r, 6, 12);
        for (int m = 0; m < members; m++) {
            shape s = random_shape(r, sc, cls, 2.5f, 5.f);
            s.cx = cx + (float)pdl_rng_normal(r) * side * 0.05f;
            s.cy = cy + (float)pdl_rng_normal(r) * side * 0.05f;
            paint_shape(sc, &s, &t, id, r);
        }
    }
}

static void blur_and_noise(pdl_synth_scene *sc, pdl_rng *r)
{
    size_t n = (size_t)sc->width * (size_t)sc->height * 3;
    if (pdl_rng_uniform(r) < 0.5) {
        uint8_t *src = malloc(n);
        if (src) {
            memcpy(src, sc->rgb, n);
            for (int y = 0; y < sc->height; y++)
                for (int x = 0; x < sc->width; x++)
                    for (int c = 0; c < 3; c++) {
                        int sum = 0, cnt = 0;
                        for (int dy = -1; dy <= 1; dy++)
                            for (int dx = -1; dx <= 1; dx++) {
                                int yy = y + dy, xx = x + dx;
                                if (yy < 0 || xx < 0 || yy >= sc->height || xx >= sc->width)
                                    continue;
                                sum += src[((size_t)yy * (size_t)sc->width + (size_t)xx) * 3 + (size_t)c];
                                cnt++;
                            }
                        sc->rgb[((size_t)y * (size_t)sc->width + (size_t)x) * 3 + (size_t)c] =
                            (uint8_t)((sum + cnt / 2) / cnt);
                    }
            free(src);
        }
    }
    float sigma = (float)pdl_rng_range(r, 0, 8);
    for (size_t i = 0; i < n; i++)
        sc->rgb[i] = clamp_u8((float)sc->rgb[i] + sigma * (float)pdl_rng_normal(r));
}

static int category_of(uint32_t id)
{
    return (int)(id / ID_STRIDE);
}

static void measure_segments(pdl_synth_scene *sc)
{
    sc->nsegments = 0;
    size_t npix = (size_t)sc->width * (size_t)sc->height;
    for (size_t i = 0; i < npix; i++) {
        uint32_t id = sc->ids[i];
        int x = (int)(i % (size_t)sc->width), y = (int)(i / (size_t)sc->width);
        int k = 0;
        while (k < sc->nsegments && sc->segments[k].id != id)
            k++;
        pdl_synth_segment *s = &sc->segments[k];
        if (k == sc->nsegments) {
            if (k == PDL_SYNTH_MAX_SEGMENTS)
                continue; /* cannot happen: at most 4 stuff + 12 things + 1 crowd */
            sc->nsegments++;
            *s = (pdl_synth_segment){.id = id, .category_id = category_of(id),
                                     .iscrowd = id % ID_STRIDE >= CROWD_BASE,
                                     .bbox = {x, y, x, y}};
        }
        s->area++;
        if (x < s->bbox[0]) s->bbox[0] = x;
        if (y < s->bbox[1]) s->bbox[1] = y;
        if (x > s->bbox[2]) s->bbox[2] = x;
        if (y > s->bbox[3]) s->bbox[3] = y;
    }
    for (int k = 0; k < sc->nsegments; k++) {
        int *b = sc->segments[k].bbox;
        b[2] = b[2] - b[0] + 1;
        b[3] = b[3] - b[1] + 1;
    }
}

pdl_status pdl_synth_render(int width, int height, uint64_t seed, uint64_t index,
                            pdl_synth_scene *out, pdl_error *err)
{
    memset(out, 0, sizeof *out);
    if (width < 8 || height < 8 || width > 8192 || height > 8192)
        return pdl_fail(err, PDL_ERR_ARG, "synthetic scene size %dx%d out of range 8..8192", width, height);
    size_t npix = (size_t)width * (size_t)height;
    out->width = width;
    out->height = height;
    out->rgb = malloc(npix * 3);
    out->ids = malloc(npix * sizeof *out->ids);
    if (!out->rgb || !out->ids) {
        pdl_synth_free(out);
        return pdl_fail(err, PDL_ERR_NOMEM, "synthetic scene %dx%d: out of memory", width, height);
    }
    pdl_rng r;
    pdl_rng_seed(&r, seed, index);
    paint_stuff(out, &r);
    paint_things(out, &r);
    blur_and_noise(out, &r);
    measure_segments(out);
    return PDL_OK;
}

void pdl_synth_free(pdl_synth_scene *scene)
{
    free(scene->rgb);
    free(scene->ids);
    scene->rgb = NULL;
    scene->ids = NULL;
}
