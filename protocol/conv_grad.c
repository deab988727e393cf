/* conv_grad.c — the gradients of a 2-D convolution on shares, for
 * training (SecureNN section 5.1's convolution, run backwards).
 *
 * For y = conv2d(x, w) with the geometry g (one group) and the gradient
 * dy at y, both gradients are bilinear maps, so the Beaver engine
 * (beaver.h) computes each from masked operands exactly, as conv.c does
 * for the forward product:
 * - at the input, dx = col2im(W^T * cnhw(dy)), W the filters as the
 *   matrix oc x (c kh kw): masks dy and W;
 * - at the filters, dw = cnhw(dy) * im2col(x)^T, oc x (c kh kw): masks dy
 *   and x.
 * Round 1: P2 -> P1 the correction (|out| words); P0 <-> P1 the masked
 * operands (|dy| + |W| or |dy| + |x| words each way). 1 round, (2|dy| +
 * 2|W or x| + |out|) * 8 bytes. The result is not truncated (the caller
 * truncates once, as for conv2d).
 */
#include "beaver.h"

#include <string.h>

/* dx (n x c x h x w) = col2im(W^T * cnhw(dy)); w is oc x (c kh kw). */
static trine_status_t grad_input_map(const void *arg, tensor_t *out, const tensor_t *w,
                                     const tensor_t *dy)
{
    const conv_geom_t *g = arg;
    size_t ohw = dy->shape[2] * dy->shape[3];
    tensor_t *d2 = tensor_new_2d(dy->shape[1], g->n * ohw);
    tensor_t *cols = tensor_new_2d(w->shape[1], g->n * ohw);
    trine_status_t st = d2 && cols ? TRINE_OK : TRINE_ENOMEM;
    if (st == TRINE_OK)
        st = conv_nchw_to_cnhw(d2, dy);
    if (st == TRINE_OK)
        st = tensor_matmul(cols, w, GEMM_TRANS, d2, GEMM_NOTRANS);
    if (st == TRINE_OK)
        st = conv_col2im(out, cols, g);
    tensor_destroy(&d2), tensor_destroy(&cols);
    return st;
}

/* dw (oc x (c kh kw)) = cnhw(dy) * im2col(x)^T. */
static trine_status_t grad_weights_map(const void *arg, tensor_t *out, const tensor_t *dy,
                                       const tensor_t *x)
{
    const conv_geom_t *g = arg;
    size_t ohw = dy->shape[2] * dy->shape[3];
    tensor_t *d2 = tensor_new_2d(dy->shape[1], g->n * ohw);
    tensor_t *cols = tensor_new_2d(g->c * g->kh * g->kw, g->n * ohw);
    trine_status_t st = d2 && cols ? TRINE_OK : TRINE_ENOMEM;
    if (st == TRINE_OK)
        st = conv_nchw_to_cnhw(d2, dy);
    if (st == TRINE_OK)
        st = conv_im2col(cols, x, g);
    if (st == TRINE_OK)
        st = tensor_matmul(out, d2, GEMM_NOTRANS, cols, GEMM_TRANS);
    tensor_destroy(&d2), tensor_destroy(&cols);
    return st;
}

/* dy must be n x oc x oh x ow for g's output size. */
static trine_status_t grad_check_dy(const tensor_t *dy, size_t oc, const conv_geom_t *g,
                                    const char *what, trine_err_t *err)
{
    size_t oh, ow;
    if (g->groups > 1)
        return trine_err_set(err, TRINE_EINVAL, "%s: only one group is supported", what);
    if (conv_out_size(g, &oh, &ow) != TRINE_OK)
        return trine_err_set(err, TRINE_ESHAPE, "%s: the filter does not fit the input", what);
    if (dy->ndim != 4 || dy->shape[0] != g->n || dy->shape[1] != oc || dy->shape[2] != oh ||
        dy->shape[3] != ow)
        return trine_err_set(err, TRINE_ESHAPE, "%s: gradient is not %zu x %zu x %zu x %zu", what,
                             g->n, oc, oh, ow);
    return TRINE_OK;
}

trine_status_t proto_conv2d_grad_input(proto_ctx_t *ctx, tensor_t *out, const tensor_t *dy,
                                       const tensor_t *w, const conv_geom_t *g, trine_err_t *err)
{
    static const char what[] = "conv2d_grad_input";
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_CONV_GRAD, err);
    if (st != TRINE_OK)
        return st;
    if (w->ndim != 2 || w->shape[1] != g->c * g->kh * g->kw)
        st = trine_err_set(err, TRINE_ESHAPE, "%s: filters are not oc x %zu", what,
                           g->c * g->kh * g->kw);
    else if (out->ndim != 4 || out->shape[0] != g->n || out->shape[1] != g->c ||
             out->shape[2] != g->h || out->shape[3] != g->w)
        st = trine_err_set(err, TRINE_ESHAPE, "%s: output is not %zu x %zu x %zu x %zu", what, g->n,
                           g->c, g->h, g->w);
    else
        st = grad_check_dy(dy, w->shape[0], g, what, err);
    if (st == TRINE_OK)
        st = beaver_product(ctx, out, grad_input_map, g, (beaver_operand_t){.x = w},
                            (beaver_operand_t){.x = dy}, err);
    return proto_op_end(ctx, st);
}

trine_status_t proto_conv2d_grad_weights(proto_ctx_t *ctx, tensor_t *out, const tensor_t *dy,
                                         const tensor_t *x, const conv_geom_t *g, trine_err_t *err)
{
    static const char what[] = "conv2d_grad_weights";
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_CONV_GRAD, err);
    if (st != TRINE_OK)
        return st;
    if (x->ndim != 4 || x->shape[0] != g->n || x->shape[1] != g->c || x->shape[2] != g->h ||
        x->shape[3] != g->w)
        st = trine_err_set(err, TRINE_ESHAPE, "%s: input is not %zu x %zu x %zu x %zu", what, g->n,
                           g->c, g->h, g->w);
    else if (out->ndim != 2 || out->shape[1] != g->c * g->kh * g->kw)
        st = trine_err_set(err, TRINE_ESHAPE, "%s: output is not oc x %zu", what,
                           g->c * g->kh * g->kw);
    else
        st = grad_check_dy(dy, out->shape[0], g, what, err);
    if (st == TRINE_OK)
        st = beaver_product(ctx, out, grad_weights_map, g, (beaver_operand_t){.x = dy},
                            (beaver_operand_t){.x = x}, err);
    return proto_op_end(ctx, st);
}
