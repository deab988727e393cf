/* tensor.h — tensors over the ring Z_2^64.
 *
 * A tensor has 1 to TENSOR_MAX_DIMS dimensions, row-major (C order), and
 * owns its uint64_t buffer. Arithmetic wraps modulo 2^64, which is the
 * ring's reduction. The struct is public so that kernels can reach the data;
 * change shape and data only through these functions.
 *
 * Operations write into a caller-allocated output tensor given first; an
 * output may be the same tensor as an input for elementwise operations.
 * They return TRINE_ESHAPE when the shapes do not fit and leave the output
 * untouched then.
 */
#ifndef TRINE_TENSOR_H
#define TRINE_TENSOR_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAX_DIMS 4

typedef struct {
    int ndim;                      /* 1 .. TENSOR_MAX_DIMS */
    size_t shape[TENSOR_MAX_DIMS]; /* entries past ndim are 1 */
    size_t size;                   /* product of the shape, >= 1 */
    uint64_t *data;                /* size elements, owned */
} tensor_t;

/* Checks a shape: 1 <= ndim <= TENSOR_MAX_DIMS, every extent >= 1, and the
 * element count times 8 fits size_t. Stores the element count in *size. */
TRINE_NODISCARD trine_status_t tensor_shape_check(int ndim, const size_t *shape, size_t *size);

/* A new zero-filled tensor of the given shape, owned by the caller; NULL
 * when the shape is invalid or memory runs out. */
tensor_t *tensor_new(int ndim, const size_t *shape);

/* Shorthands for tensor_new with 1 and 2 dimensions. */
tensor_t *tensor_new_1d(size_t n);
tensor_t *tensor_new_2d(size_t rows, size_t cols);

/* A new zero-filled tensor with the shape of t; NULL when out of memory. */
tensor_t *tensor_new_like(const tensor_t *t);

/* A new deep copy of t; NULL when out of memory. */
tensor_t *tensor_copy(const tensor_t *t);

/* Wipes t's buffer (sodium_memzero: any tensor may hold a share or a
 * mask), frees *t and it, and sets *t to NULL; accepts NULL and *t == NULL. */
void tensor_destroy(tensor_t **t);

/* True when a and b have the same ndim and extents. */
bool tensor_same_shape(const tensor_t *a, const tensor_t *b);

/* Gives t a new shape with the same element count, in place. */
TRINE_NODISCARD trine_status_t tensor_reshape(tensor_t *t, int ndim, const size_t *shape);

/* out = a^T for a 2-D tensor a; out must be a.shape[1] x a.shape[0] and must
 * not be a. */
TRINE_NODISCARD trine_status_t tensor_transpose(tensor_t *out, const tensor_t *a);

/* out = a with its axes permuted: out.shape[i] = a.shape[perm[i]]. perm is a
 * permutation of 0 .. a.ndim-1; out must not be a. */
TRINE_NODISCARD trine_status_t tensor_permute(tensor_t *out, const tensor_t *a, const int *perm);

/* A new tensor holding rows [start, start+count) of t along axis 0, other
 * axes whole; NULL when the range is empty or out of bounds, or memory runs
 * out. */
tensor_t *tensor_rows(const tensor_t *t, size_t start, size_t count);

/* Elementwise out = a + b, a - b, -a, a * b (mod 2^64); same shapes. */
TRINE_NODISCARD trine_status_t tensor_add(tensor_t *out, const tensor_t *a, const tensor_t *b);
TRINE_NODISCARD trine_status_t tensor_sub(tensor_t *out, const tensor_t *a, const tensor_t *b);
TRINE_NODISCARD trine_status_t tensor_neg(tensor_t *out, const tensor_t *a);
TRINE_NODISCARD trine_status_t tensor_mul(tensor_t *out, const tensor_t *a, const tensor_t *b);

/* out = s * a (mod 2^64). */
TRINE_NODISCARD trine_status_t tensor_scale(tensor_t *out, const tensor_t *a, uint64_t s);

/* out[i, j] = a[i, j] + bias[j] for a viewed as rows x cols, where cols is
 * the last extent of a and bias has exactly cols elements. */
TRINE_NODISCARD trine_status_t tensor_add_bias_row(tensor_t *out, const tensor_t *a,
                                                   const tensor_t *bias);

/* out = the sum of a over one axis, which is removed from the shape (a 1-D
 * input gives a 1-element output of shape [1]). */
TRINE_NODISCARD trine_status_t tensor_sum_axis(tensor_t *out, const tensor_t *a, int axis);

/* Writes the expected output shape of tensor_sum_axis into *ndim, shape. */
TRINE_NODISCARD trine_status_t tensor_sum_axis_shape(const tensor_t *a, int axis, int *ndim,
                                                     size_t *shape);

#endif
