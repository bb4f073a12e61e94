/* png_errors.h - libpng error callbacks shared by the PNG reader and writer.
 *
 * libpng reports errors through a callback that must not return; ours copies
 * the message into the buffer given as libpng's error pointer and longjmps
 * back to the caller's setjmp, which turns it into a pdl_error naming the file.
 * Warnings (e.g. a bad CRC in an ancillary chunk) do not stop decoding and are
 * not reported. */
#ifndef PDL_PNG_ERRORS_H
#define PDL_PNG_ERRORS_H

#include <png.h>

#define PDL_PNG_MSG_SIZE 256

/* Pass a char[PDL_PNG_MSG_SIZE] as the error pointer. */
void pdl_png_on_error(png_structp png, png_const_charp msg);
void pdl_png_on_warning(png_structp png, png_const_charp msg);

#endif
