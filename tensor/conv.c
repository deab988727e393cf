/* conv.c — im2col / col2im for NCHW convolution (see conv.h). */
#include "conv.h"

#include <stdint.h>
#include <string.h>

trine_status_t conv_out_size(const conv_geom_t *g, size_t *oh, size_t *ow)
{
    if (!g->n || !g->c || !g->h || !g->w || !g->kh || !g->kw || !g->sh || !g->sw)
        return TRINE_EINVAL;
    if (g->pt > SIZE_MAX - g->h || g->pb > SIZE_MAX - g->h - g->pt || g->pl > SIZE_MAX - g->w ||
        g->pr > SIZE_MAX - g->w - g->pl)
        return TRINE_EINVAL;
    size_t ph = g->h + g->pt + g->pb, pw = g->w + g->pl + g->pr;
    if (g->kh > ph || g->kw > pw)
        return TRINE_ESHAPE;
    *oh = (ph - g->kh) / g->sh + 1;
    *ow = (pw - g->kw) / g->sw + 1;
    return TRINE_OK;
}

static trine_status_t conv_check(const tensor_t *cols, const tensor_t *x, const conv_geom_t *g,
                                 size_t *oh, size_t *ow)
{
    trine_status_t st = conv_out_size(g, oh, ow);
    if (st != TRINE_OK)
        return st;
    if (x->ndim != 4 || x->shape[0] != g->n || x->shape[1] != g->c || x->shape[2] != g->h ||
        x->shape[3] != g->w)
        return TRINE_ESHAPE;
    if (cols->ndim != 2 || cols->shape[0] != g->c * g->kh * g->kw ||
        cols->shape[1] != g->n * *oh * *ow)
        return TRINE_ESHAPE;
    return TRINE_OK;
}

/* Visits every (patch row, column) pair with its input index, or -1 in
 * the padding; the two directions differ only in what they do there. */
typedef enum { CONV_GATHER, CONV_SCATTER } conv_dir_t;

static void conv_walk(uint64_t *cols, uint64_t *x, const conv_geom_t *g, size_t oh, size_t ow,
                      conv_dir_t dir)
{
    size_t ncols = g->n * oh * ow;
    for (size_t ci = 0; ci < g->c; ci++)
        for (size_t ki = 0; ki < g->kh; ki++)
            for (size_t kj = 0; kj < g->kw; kj++) {
                uint64_t *row = cols + ((ci * g->kh + ki) * g->kw + kj) * ncols;
                for (size_t img = 0; img < g->n; img++) {
                    const size_t plane = (img * g->c + ci) * g->h * g->w;
                    for (size_t oy = 0; oy < oh; oy++) {
                        /* Unsigned wrap-around turns "above the top" into
                         * "far below the bottom": one comparison each. */
                        size_t y = oy * g->sh + ki - g->pt;
                        uint64_t *out = row + (img * oh + oy) * ow;
                        for (size_t ox = 0; ox < ow; ox++) {
                            size_t xx = ox * g->sw + kj - g->pl;
                            int inside = y < g->h && xx < g->w;
                            if (dir == CONV_GATHER)
                                out[ox] = inside ? x[plane + y * g->w + xx] : 0;
                            else if (inside)
                                x[plane + y * g->w + xx] += out[ox];
                        }
                    }
                }
            }
}

trine_status_t conv_im2col(tensor_t *cols, const tensor_t *x, const conv_geom_t *g)
{
    size_t oh, ow;
    trine_status_t st = conv_check(cols, x, g, &oh, &ow);
    if (st != TRINE_OK)
        return st;
    conv_walk(cols->data, x->data, g, oh, ow, CONV_GATHER);
    return TRINE_OK;
}

trine_status_t conv_col2im(tensor_t *x, const tensor_t *cols, const conv_geom_t *g)
{
    size_t oh, ow;
    trine_status_t st = conv_check(cols, x, g, &oh, &ow);
    if (st != TRINE_OK)
        return st;
    memset(x->data, 0, x->size * sizeof *x->data);
    conv_walk(cols->data, x->data, g, oh, ow, CONV_SCATTER);
    return TRINE_OK;
}

trine_status_t conv_cnhw_to_nchw(tensor_t *out, const tensor_t *y, size_t n)
{
    if (y->ndim != 2 || n == 0 || y->shape[1] % n != 0 || out->ndim != 4 || out->shape[0] != n ||
        out->shape[1] != y->shape[0] || out->shape[2] * out->shape[3] != y->shape[1] / n)
        return TRINE_ESHAPE;
    /* y is oc x n x (oh ow) in memory: swap the first two axes. */
    size_t oc = y->shape[0], plane = y->shape[1] / n;
    for (size_t o = 0; o < oc; o++)
        for (size_t img = 0; img < n; img++)
            memcpy(out->data + (img * oc + o) * plane, y->data + (o * n + img) * plane,
                   plane * sizeof *y->data);
    return TRINE_OK;
}

trine_status_t conv_nchw_to_cnhw(tensor_t *out, const tensor_t *x)
{
    if (x->ndim != 4 || out->ndim != 2 || out->shape[0] != x->shape[1] ||
        out->shape[1] != x->shape[0] * x->shape[2] * x->shape[3])
        return TRINE_ESHAPE;
    size_t n = x->shape[0], c = x->shape[1], plane = x->shape[2] * x->shape[3];
    for (size_t img = 0; img < n; img++)
        for (size_t ci = 0; ci < c; ci++)
            memcpy(out->data + (ci * n + img) * plane, x->data + (img * c + ci) * plane,
                   plane * sizeof *x->data);
    return TRINE_OK;
}
