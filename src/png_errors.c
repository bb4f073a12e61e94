#include "png_errors.h"

#include <stdio.h>

void pdl_png_on_error(png_structp png, png_const_charp msg)
{
    snprintf(png_get_error_ptr(png), PDL_PNG_MSG_SIZE, "%s", msg);
    png_longjmp(png, 1);
}

void pdl_png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}
