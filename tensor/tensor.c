/* tensor.c — ring tensors: allocation, shape changes and elementwise ops.
 * Unsigned arithmetic gives the reduction mod 2^64 for free, so every op is
 * a plain loop the compiler can vectorise. */
#include "tensor.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

trine_status_t tensor_shape_check(int ndim, const size_t *shape, size_t *size)
{
    if (ndim < 1 || ndim > TENSOR_MAX_DIMS || !shape)
        return TRINE_EINVAL;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0)
            return TRINE_EINVAL;
        if (n > SIZE_MAX / sizeof(uint64_t) / shape[i])
            return TRINE_ERANGE;
        n *= shape[i];
    }
    *size = n;
    return TRINE_OK;
}

static void tensor_set_shape(tensor_t *t, int ndim, const size_t *shape, size_t size)
{
    t->ndim = ndim;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
    t->size = size;
}

tensor_t *tensor_new(int ndim, const size_t *shape)
{
    size_t size;
    if (tensor_shape_check(ndim, shape, &size) != TRINE_OK)
        return NULL;
    tensor_t *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->data = calloc(size, sizeof(uint64_t));
    if (!t->data) {
        free(t);
        return NULL;
    }
    tensor_set_shape(t, ndim, shape, size);
    return t;
}

tensor_t *tensor_new_1d(size_t n)
{
    return tensor_new(1, (size_t[]){n});
}

tensor_t *tensor_new_2d(size_t rows, size_t cols)
{
    return tensor_new(2, (size_t[]){rows, cols});
}

tensor_t *tensor_new_like(const tensor_t *t)
{
    return tensor_new(t->ndim, t->shape);
}

tensor_t *tensor_copy(const tensor_t *t)
{
    tensor_t *c = tensor_new_like(t);
    if (c)
        memcpy(c->data, t->data, t->size * sizeof(uint64_t));
    return c;
}

void tensor_destroy(tensor_t **t)
{
    if (!t || !*t)
        return;
    if ((*t)->data)
        sodium_memzero((*t)->data, (*t)->size * sizeof *(*t)->data);
    free((*t)->data);
    free(*t);
    *t = NULL;
}

bool tensor_same_shape(const tensor_t *a, const tensor_t *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

trine_status_t tensor_reshape(tensor_t *t, int ndim, const size_t *shape)
{
    size_t size;
    trine_status_t st = tensor_shape_check(ndim, shape, &size);
    if (st != TRINE_OK)
        return st;
    if (size != t->size)
        return TRINE_ESHAPE;
    tensor_set_shape(t, ndim, shape, size);
    return TRINE_OK;
}

trine_status_t tensor_transpose(tensor_t *out, const tensor_t *a)
{
    if (a->ndim != 2 || out == a)
        return TRINE_EINVAL;
    return tensor_permute(out, a, (const int[]){1, 0});
}

trine_status_t tensor_permute(tensor_t *out, const tensor_t *a, const int *perm)
{
    if (out == a)
        return TRINE_EINVAL;
    int seen = 0;
    for (int i = 0; i < a->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= a->ndim || (seen & (1 << perm[i])))
            return TRINE_EINVAL;
        seen |= 1 << perm[i];
    }
    if (out->ndim != a->ndim)
        return TRINE_ESHAPE;
    for (int i = 0; i < a->ndim; i++)
        if (out->shape[i] != a->shape[perm[i]])
            return TRINE_ESHAPE;

    /* Walk the output in order; src_stride[i] is the input stride of the
     * input axis that lands on output axis i. Unused axes have extent 1. */
    size_t in_stride[TENSOR_MAX_DIMS], src_stride[TENSOR_MAX_DIMS] = {0, 0, 0, 0};
    size_t s = 1;
    for (int i = a->ndim - 1; i >= 0; i--) {
        in_stride[i] = s;
        s *= a->shape[i];
    }
    for (int i = 0; i < a->ndim; i++)
        src_stride[i] = in_stride[perm[i]];
    const size_t *e = out->shape;
    uint64_t *o = out->data;
    for (size_t i0 = 0; i0 < e[0]; i0++)
        for (size_t i1 = 0; i1 < e[1]; i1++)
            for (size_t i2 = 0; i2 < e[2]; i2++) {
                const uint64_t *src =
                    a->data + i0 * src_stride[0] + i1 * src_stride[1] + i2 * src_stride[2];
                for (size_t i3 = 0; i3 < e[3]; i3++)
                    *o++ = src[i3 * src_stride[3]];
            }
    return TRINE_OK;
}

tensor_t *tensor_rows(const tensor_t *t, size_t start, size_t count)
{
    if (count == 0 || start >= t->shape[0] || count > t->shape[0] - start)
        return NULL;
    size_t shape[TENSOR_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = count;
    tensor_t *r = tensor_new(t->ndim, shape);
    if (!r)
        return NULL;
    size_t row = t->size / t->shape[0];
    memcpy(r->data, t->data + start * row, count * row * sizeof(uint64_t));
    return r;
}

trine_status_t tensor_add(tensor_t *out, const tensor_t *a, const tensor_t *b)
{
    if (!tensor_same_shape(a, b) || !tensor_same_shape(out, a))
        return TRINE_ESHAPE;
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] + b->data[i];
    return TRINE_OK;
}

trine_status_t tensor_sub(tensor_t *out, const tensor_t *a, const tensor_t *b)
{
    if (!tensor_same_shape(a, b) || !tensor_same_shape(out, a))
        return TRINE_ESHAPE;
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] - b->data[i];
    return TRINE_OK;
}

trine_status_t tensor_neg(tensor_t *out, const tensor_t *a)
{
    if (!tensor_same_shape(out, a))
        return TRINE_ESHAPE;
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = -a->data[i];
    return TRINE_OK;
}

trine_status_t tensor_mul(tensor_t *out, const tensor_t *a, const tensor_t *b)
{
    if (!tensor_same_shape(a, b) || !tensor_same_shape(out, a))
        return TRINE_ESHAPE;
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] * b->data[i];
    return TRINE_OK;
}

trine_status_t tensor_scale(tensor_t *out, const tensor_t *a, uint64_t s)
{
    if (!tensor_same_shape(out, a))
        return TRINE_ESHAPE;
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] * s;
    return TRINE_OK;
}

trine_status_t tensor_add_bias_row(tensor_t *out, const tensor_t *a, const tensor_t *bias)
{
    size_t cols = a->shape[a->ndim - 1];
    if (!tensor_same_shape(out, a) || bias->size != cols)
        return TRINE_ESHAPE;
    for (size_t r = 0; r < a->size / cols; r++) {
        const uint64_t *src = a->data + r * cols;
        uint64_t *dst = out->data + r * cols;
        for (size_t j = 0; j < cols; j++)
            dst[j] = src[j] + bias->data[j];
    }
    return TRINE_OK;
}

trine_status_t tensor_sum_axis_shape(const tensor_t *a, int axis, int *ndim, size_t *shape)
{
    if (axis < 0 || axis >= a->ndim)
        return TRINE_EINVAL;
    if (a->ndim == 1) {
        *ndim = 1;
        shape[0] = 1;
        return TRINE_OK;
    }
    *ndim = 0;
    for (int i = 0; i < a->ndim; i++)
        if (i != axis)
            shape[(*ndim)++] = a->shape[i];
    return TRINE_OK;
}

trine_status_t tensor_sum_axis(tensor_t *out, const tensor_t *a, int axis)
{
    int ndim;
    size_t shape[TENSOR_MAX_DIMS];
    trine_status_t st = tensor_sum_axis_shape(a, axis, &ndim, shape);
    if (st != TRINE_OK)
        return st;
    if (out == a || out->ndim != ndim)
        return out == a ? TRINE_EINVAL : TRINE_ESHAPE;
    for (int i = 0; i < ndim; i++)
        if (out->shape[i] != shape[i])
            return TRINE_ESHAPE;

    /* a viewed as outer x len x inner; the output is outer x inner. */
    size_t len = a->shape[axis], inner = 1;
    for (int i = axis + 1; i < a->ndim; i++)
        inner *= a->shape[i];
    size_t outer = a->size / (len * inner);
    memset(out->data, 0, out->size * sizeof(uint64_t));
    for (size_t o = 0; o < outer; o++)
        for (size_t l = 0; l < len; l++) {
            const uint64_t *src = a->data + (o * len + l) * inner;
            uint64_t *dst = out->data + o * inner;
            for (size_t i = 0; i < inner; i++)
                dst[i] += src[i];
        }
    return TRINE_OK;
}
