/* fuzz_image.c - libFuzzer target for the PNG/JPEG decoder (libpng, libjpeg,
 * libexif behind our wrapper). The pixel limit is lowered to 2^22 so that
 * hostile headers cannot make every run allocate and touch hundreds of MB
 * (the limit check itself is the same code at any value); decoded pixels are
 * summed so that an uninitialised or out-of-bounds output would be seen by
 * the sanitizers. */
#include <stddef.h>
#include <stdint.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pdl_image img;
    pdl_error err;
    if (pdl_image_decode_limited(data, size, "fuzz", (uint64_t)1 << 22, &img, &err) == PDL_OK) {
        volatile unsigned sum = 0;
        size_t n = (size_t)img.width * (size_t)img.height * 3;
        for (size_t i = 0; i < n; i += 61)
            sum += img.rgb[i];
        sum += img.rgb[n - 1];
        pdl_image_free(&img);
    }
    (void)pdl_image_sniff(data, size);
    return 0;
}
