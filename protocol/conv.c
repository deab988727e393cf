/* conv.c — 2-D convolution of shares via im2col (SecureNN section 5.1).
 *
 * The product is f(W, X) = W * im2col(X), put back in NCHW: bilinear, so
 * the Beaver engine (beaver.h) masks the input X and the filters W, not
 * the im2col expansion, which repeats each input element up to kh kw
 * times. Round 1: P2 -> P1 the correction (|out| words); P0 <-> P1 the
 * masked X and W (|X| + |W| words each way). 1 round, (2|X| + 2|W| +
 * |out|) * 8 bytes; SecureNN opens the expansion: (2 m^2 f^2 i + 2 f^2 o i
 * + m^2 o) * 8. With W masked once, (2|X| + |out|) * 8.
 */
#include "beaver.h"

#include <stdlib.h>

typedef struct {
    const conv_geom_t *g;
} conv_arg_t;

static trine_status_t conv_map(const void *arg, tensor_t *out, const tensor_t *w, const tensor_t *x)
{
    const conv_geom_t *g = ((const conv_arg_t *)arg)->g;
    size_t oh, ow;
    trine_status_t st = conv_out_size(g, &oh, &ow);
    if (st != TRINE_OK)
        return st;
    tensor_t *cols = tensor_new_2d(w->shape[1], g->n * oh * ow);
    tensor_t *y = tensor_new_2d(w->shape[0], g->n * oh * ow);
    st = cols && y ? conv_im2col(cols, x, g) : TRINE_ENOMEM;
    if (st == TRINE_OK)
        st = tensor_matmul(y, w, GEMM_NOTRANS, cols, GEMM_NOTRANS);
    if (st == TRINE_OK)
        st = conv_cnhw_to_nchw(out, y, g->n);
    tensor_destroy(&cols);
    tensor_destroy(&y);
    return st;
}

static trine_status_t conv_check(const tensor_t *out, const tensor_t *x, int w_ndim,
                                 const size_t *ws, const conv_geom_t *g, trine_err_t *err)
{
    size_t oh, ow;
    if (conv_out_size(g, &oh, &ow) != TRINE_OK)
        return trine_err_set(err, TRINE_ESHAPE, "conv2d: the filter does not fit the input");
    if (x->ndim != 4 || x->shape[0] != g->n || x->shape[1] != g->c || x->shape[2] != g->h ||
        x->shape[3] != g->w)
        return trine_err_set(err, TRINE_ESHAPE, "conv2d: input is not %zu x %zu x %zu x %zu", g->n,
                             g->c, g->h, g->w);
    if (w_ndim != 2 || ws[1] != g->c * g->kh * g->kw)
        return trine_err_set(err, TRINE_ESHAPE, "conv2d: filters are not oc x %zu",
                             g->c * g->kh * g->kw);
    if (out->ndim != 4 || out->shape[0] != g->n || out->shape[1] != ws[0] || out->shape[2] != oh ||
        out->shape[3] != ow)
        return trine_err_set(err, TRINE_ESHAPE, "conv2d: output is not %zu x %zu x %zu x %zu", g->n,
                             ws[0], oh, ow);
    return TRINE_OK;
}

trine_status_t proto_conv2d(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, const tensor_t *w,
                            const conv_geom_t *g, trine_err_t *err)
{
    conv_arg_t arg = {g};
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_CONV, err);
    if (st != TRINE_OK)
        return st;
    st = conv_check(out, x, w->ndim, w->shape, g, err);
    if (st == TRINE_OK)
        st = beaver_product(ctx, out, conv_map, &arg, (beaver_operand_t){.x = w},
                            (beaver_operand_t){.x = x}, err);
    return proto_op_end(ctx, st);
}

trine_status_t proto_conv2d_masked(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                   const proto_masked_t *w, const conv_geom_t *g, trine_err_t *err)
{
    conv_arg_t arg = {g};
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_CONV_MASKED, err);
    if (st != TRINE_OK)
        return st;
    st = conv_check(out, x, w->mask->ndim, w->mask->shape, g, err);
    if (st == TRINE_OK)
        st = beaver_product(ctx, out, conv_map, &arg, (beaver_operand_t){.masked = w},
                            (beaver_operand_t){.x = x}, err);
    return proto_op_end(ctx, st);
}
