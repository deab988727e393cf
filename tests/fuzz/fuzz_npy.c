/* fuzz_npy.c — libFuzzer target: tensor/'s .npy reader (plain_read_npy), the
 * first thing `trine share` does with a user's file.
 *
 * The input is the whole file. What reads must hold a shape of 1 to
 * TENSOR_MAX_DIMS extents whose product is the count, and survive a round
 * trip: written back (floats as float64, integers as their uint64 ring
 * elements) and read again, it gives the same shape and the same bits.
 */
#include "fuzz.h"

#include "tensor/plain.h"

#include <string.h>

static void fuzz_check_shape(const plain_t *p)
{
    FUZZ_CHECK(p->ndim >= 1 && p->ndim <= TENSOR_MAX_DIMS);
    size_t count = 1;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) {
        FUZZ_CHECK(p->shape[i] >= 1 && (i < p->ndim || p->shape[i] == 1));
        count *= p->shape[i];
    }
    FUZZ_CHECK(count == p->count);
    FUZZ_CHECK(plain_dtype_is_float(p->dtype) ? p->real && !p->ints : p->ints && !p->real);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size);
    plain_t *p = NULL, *again = NULL;
    trine_err_t err = {0};
    if (plain_read_npy(&p, path, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0] && !p);
        return 0;
    }
    fuzz_check_shape(p);
    bool real = plain_dtype_is_float(p->dtype);
    FUZZ_OK(plain_write_npy(path, real ? PLAIN_F8 : PLAIN_U8, p->ndim, p->shape,
                            real ? (const void *)p->real : (const void *)p->ints, &err),
            err);
    FUZZ_OK(plain_read_npy(&again, path, &err), err);
    FUZZ_CHECK(again->ndim == p->ndim && !memcmp(again->shape, p->shape, sizeof p->shape));
    const void *a = real ? (const void *)p->real : (const void *)p->ints;
    const void *b = real ? (const void *)again->real : (const void *)again->ints;
    FUZZ_CHECK(b && !memcmp(a, b, p->count * 8));
    plain_destroy(&p);
    plain_destroy(&again);
    return 0;
}
