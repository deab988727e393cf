/* conv.c — 2-D convolution of shares via im2col (SecureNN section 5.1).
 *
 * The product is f(W, X) = W * im2col(X), put back in NCHW: bilinear, so
 * the Beaver engine (beaver.h) masks the input X and the filters W, not
 * the im2col expansion, which repeats each input element up to kh kw
 * times. Round 1: P2 -> P1 the correction (|out| words); P0 <-> P1 the
 * masked X and W (|X| + |W| words each way). 1 round, (2|X| + 2|W| +
 * |out|) * 8 bytes; SecureNN opens the expansion: (2 m^2 f^2 i + 2 f^2 o i
 * + m^2 o) * 8. With W masked once, (2|X| + |out|) * 8. A grouped
 * convolution (depthwise: one channel a group) is still bilinear, one
 * product per group inside the map: the same one round and bytes.
 */
#include "beaver.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const conv_geom_t *g;
} conv_arg_t;

static size_t conv_groups(const conv_geom_t *g)
{
    return g->groups > 1 ? g->groups : 1;
}

/* Group k of a grouped product: its channels of x, its rows of the filters
 * w, into its rows of y ([oc, n oh ow]). */
static trine_status_t conv_group(tensor_t *y, const tensor_t *w, const tensor_t *x,
                                 const conv_geom_t *g, size_t k, size_t ohw)
{
    size_t ng = conv_groups(g), cg = g->c / ng, og = w->shape[0] / ng, plane = g->h * g->w;
    conv_geom_t gg = *g;
    gg.c = cg;
    tensor_t *xg = ng > 1 ? tensor_new(4, (size_t[]){g->n, cg, g->h, g->w}) : NULL;
    tensor_t *wg = ng > 1 ? tensor_new_2d(og, w->shape[1]) : NULL;
    tensor_t *yg = ng > 1 ? tensor_new_2d(og, g->n * ohw) : NULL;
    tensor_t *cols = tensor_new_2d(w->shape[1], g->n * ohw);
    trine_status_t st = cols && (ng == 1 || (xg && wg && yg)) ? TRINE_OK : TRINE_ENOMEM;
    for (size_t i = 0; st == TRINE_OK && ng > 1 && i < g->n; i++)
        memcpy(xg->data + i * cg * plane, x->data + (i * g->c + k * cg) * plane,
               cg * plane * sizeof *x->data);
    if (st == TRINE_OK && ng > 1)
        memcpy(wg->data, w->data + k * og * w->shape[1], wg->size * sizeof *wg->data);
    if (st == TRINE_OK)
        st = conv_im2col(cols, ng > 1 ? xg : x, &gg);
    if (st == TRINE_OK)
        st = tensor_matmul(ng > 1 ? yg : y, ng > 1 ? wg : w, GEMM_NOTRANS, cols, GEMM_NOTRANS);
    if (st == TRINE_OK && ng > 1)
        memcpy(y->data + k * yg->size, yg->data, yg->size * sizeof *yg->data);
    tensor_destroy(&xg), tensor_destroy(&wg), tensor_destroy(&yg), tensor_destroy(&cols);
    return st;
}

static trine_status_t conv_map(const void *arg, tensor_t *out, const tensor_t *w, const tensor_t *x)
{
    const conv_geom_t *g = ((const conv_arg_t *)arg)->g;
    size_t oh, ow;
    trine_status_t st = conv_out_size(g, &oh, &ow);
    if (st != TRINE_OK)
        return st;
    tensor_t *y = tensor_new_2d(w->shape[0], g->n * oh * ow);
    st = y ? TRINE_OK : TRINE_ENOMEM;
    for (size_t k = 0; st == TRINE_OK && k < conv_groups(g); k++)
        st = conv_group(y, w, x, g, k, oh * ow);
    if (st == TRINE_OK)
        st = conv_cnhw_to_nchw(out, y, g->n);
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
    size_t ng = conv_groups(g);
    if (g->c % ng || (w_ndim == 2 && ws[0] % ng))
        return trine_err_set(err, TRINE_ESHAPE,
                             "conv2d: %zu groups do not divide the channels and filters", ng);
    if (w_ndim != 2 || ws[1] != g->c / ng * g->kh * g->kw)
        return trine_err_set(err, TRINE_ESHAPE, "conv2d: filters are not oc x %zu",
                             g->c / ng * g->kh * g->kw);
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
