/* test_status.c - status names and pdl_fail(). */
#include <criterion/criterion.h>
#include <string.h>

#include "backend.h"
#include "status.h"

Test(status, fail_records_code_and_message)
{
    pdl_error err;
    pdl_error_clear(&err);
    pdl_status st = pdl_fail(&err, PDL_ERR_IO, "%s: cannot open (%d)", "a.png", 2);
    cr_assert_eq(st, PDL_ERR_IO);
    cr_assert_eq(err.code, PDL_ERR_IO);
    cr_assert_str_eq(err.msg, "a.png: cannot open (2)");
}

Test(status, fail_truncates_long_messages)
{
    pdl_error err;
    char big[PDL_ERROR_MSG_MAX + 100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pdl_fail(&err, PDL_ERR_FORMAT, "%s", big);
    cr_assert_eq(strlen(err.msg), PDL_ERROR_MSG_MAX - 1);
}

Test(status, fail_masks_control_characters)
{
    pdl_error err;
    pdl_fail(&err, PDL_ERR_FORMAT, "%s: tensor %s bad", "m.st", "a\nb\r\tc\x7f");
    cr_assert_str_eq(err.msg, "m.st: tensor a?b??c? bad");
}

Test(status, every_code_has_a_distinct_name)
{
    for (int a = 0; a < PDL_STATUS_COUNT; a++) {
        cr_assert_not_null(pdl_status_name(a));
        for (int b = a + 1; b < PDL_STATUS_COUNT; b++)
            cr_assert_str_neq(pdl_status_name(a), pdl_status_name(b));
    }
    cr_assert_str_eq(pdl_status_name(PDL_STATUS_COUNT), "unknown status");
}

Test(backend, device_parse)
{
    pdl_device_request r;
    cr_assert_eq(pdl_device_parse("cpu", &r, NULL), PDL_OK);
    cr_assert_eq(r.kind, PDL_DEVICE_CPU);
    cr_assert_eq(pdl_device_parse("cuda:3", &r, NULL), PDL_OK);
    cr_assert_eq(r.kind, PDL_DEVICE_CUDA);
    cr_assert_eq(r.index, 3);
    cr_assert_eq(pdl_device_parse("auto", &r, NULL), PDL_OK);
    cr_assert_eq(r.kind, PDL_DEVICE_AUTO);
    const char *bad[] = {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1x", "cudax", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(pdl_device_parse(bad[i], &r, NULL), PDL_ERR_ARG, "%s", bad[i]);
}

Test(backend, auto_falls_back_to_cpu_without_a_gpu)
{
    pdl_device_request r = {.kind = PDL_DEVICE_AUTO, .threads = 1};
    pdl_backend b;
    pdl_error err;
    char note[512];
    cr_assert_eq(pdl_backend_open(&r, &b, note, sizeof note, &err), PDL_OK);
    cr_assert_str_eq(b.ops->name, "cpu");
    cr_assert(strstr(note, "CUDA") || strstr(note, "cuda"), "note: %s", note);
    pdl_backend_close(&b);
}

Test(backend, cuda_request_fails_cleanly_without_a_gpu)
{
    pdl_device_request r = {.kind = PDL_DEVICE_CUDA};
    pdl_backend b;
    pdl_error err;
    pdl_status st = pdl_backend_open(&r, &b, NULL, 0, &err);
    cr_assert_eq(st, PDL_ERR_DEVICE);
    cr_assert(strstr(err.msg, "no usable CUDA device") != NULL, "msg: %s", err.msg);
}
