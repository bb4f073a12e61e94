/* fuzz_png_fast.c - libFuzzer target for the libdeflate PNG path (png_fast.c).
 *
 * Random mutations almost never keep a chunk's CRC right, so the fast path
 * would refuse nearly every input at its first check. This target first
 * rewrites the CRC of every complete chunk, letting mutated headers, lengths,
 * filter bytes and zlib streams reach the decoder. Pixel limit 2^22 as in
 * fuzz_image.c; the output is read so the sanitizers see bad pixels. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

#include "image_internal.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    for (size_t pos = 8; size >= 8 && size - pos >= 12;) {
        uint32_t n = be32(buf + pos);
        if (n > size - pos - 12)
            break;
        uint32_t crc = libdeflate_crc32(0, buf + pos + 4, (size_t)n + 4);
        uint8_t *c = buf + pos + 8 + n;
        c[0] = (uint8_t)(crc >> 24);
        c[1] = (uint8_t)(crc >> 16);
        c[2] = (uint8_t)(crc >> 8);
        c[3] = (uint8_t)crc;
        pos += (size_t)n + 12;
    }
    pdl_image img = {0};
    if (pdl_png_decode_fast(buf, size, (uint64_t)1 << 22, &img)) {
        volatile unsigned sum = 0;
        size_t n = (size_t)img.width * (size_t)img.height * 3;
        for (size_t i = 0; i < n; i += 61)
            sum += img.rgb[i];
        sum += img.rgb[n - 1];
        pdl_image_free(&img);
    }
    free(buf);
    return 0;
}
