/* onnx_ops_conv.c — the ONNX convolution and pooling operators: Conv (a
 * BatchNormalization after it folded in, onnx_ops.c), MaxPool,
 * AveragePool (a zero Pad before it folded in) and GlobalAveragePool, 1-D
 * and 2-D, their geometry from the attributes.
 */
#include "daemon/models/onnx_internal.h"

#include <string.h>

/* The spatial geometry of a Conv or pool node over value x (rank 3 or 4):
 * kernel, strides and pads (begin, end) per spatial axis, from the
 * attributes. A 1-D node has one spatial axis. */
typedef struct {
    int sd; /* spatial axes: 1 or 2 */
    size_t in[2], k[2], s[2], pb[2], pe[2];
} ox_geom_t;

static trine_status_t ox_geometry(ox_t *c, const ox_val_t *x, const size_t *kernel, bool ceil_ok,
                                  ox_geom_t *g)
{
    if (x->rank != 3 && x->rank != 4)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "input of rank %d: trine handles 1-D and 2-D (rank 3 and 4) inputs",
                       x->rank);
    g->sd = x->rank - 2;
    int64_t v[4];
    size_t n;
    trine_status_t st;
    if ((st = ox_ints(c, "dilations", g->sd, v, 4, &n)))
        return st;
    for (size_t i = 0; i < n; i++)
        if (v[i] != 1)
            return ox_fail(c, TRINE_EUNSUPPORTED, "dilations other than 1 are not supported");
    for (int i = 0; i < g->sd; i++) {
        g->in[i] = x->shape[2 + i];
        g->k[i] = kernel[i];
        g->s[i] = 1;
        g->pb[i] = g->pe[i] = 0;
    }
    if ((st = ox_ints(c, "strides", g->sd, v, 4, &n)))
        return st;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 1 || v[i] > 1 << 20)
            return ox_fail(c, TRINE_EUNSUPPORTED, "strides must be 1 or more");
        g->s[i] = (size_t)v[i];
    }
    char pad[32];
    ox_string(c, "auto_pad", pad, sizeof pad);
    if ((st = ox_ints(c, "pads", 2 * g->sd, v, 4, &n)))
        return st;
    if (n && pad[0] && strcmp(pad, "NOTSET"))
        return ox_fail(c, TRINE_EFORMAT, "pads and auto_pad %s are both given", pad);
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] > 1 << 20)
            return ox_fail(c, TRINE_EUNSUPPORTED, "pads must be 0 or more");
    for (int i = 0; i < g->sd && n; i++) {
        g->pb[i] = (size_t)v[i];
        g->pe[i] = (size_t)v[g->sd + i];
    }
    bool upper = !strcmp(pad, "SAME_UPPER"), lower = !strcmp(pad, "SAME_LOWER");
    if (pad[0] && strcmp(pad, "NOTSET") && strcmp(pad, "VALID") && !upper && !lower)
        return ox_fail(c, TRINE_EFORMAT, "auto_pad '%s' is not an ONNX value", pad);
    for (int i = 0; i < g->sd && (upper || lower); i++) {
        size_t out = (g->in[i] + g->s[i] - 1) / g->s[i];
        size_t need = (out - 1) * g->s[i] + g->k[i];
        size_t total = need > g->in[i] ? need - g->in[i] : 0;
        g->pb[i] = upper ? total / 2 : total - total / 2;
        g->pe[i] = total - g->pb[i];
    }
    int64_t ceil_mode;
    if ((st = ox_int(c, "ceil_mode", 0, &ceil_mode)))
        return st;
    for (int i = 0; i < g->sd && ceil_mode; i++) {
        if (!ceil_ok)
            return ox_fail(c, TRINE_EUNSUPPORTED,
                           "ceil_mode 1 with count_include_pad 1 is not supported");
        size_t span = g->in[i] + g->pb[i] + g->pe[i];
        if (span < g->k[i])
            break;
        size_t out = (span - g->k[i] + g->s[i] - 1) / g->s[i] + 1;
        if ((out - 1) * g->s[i] >= g->in[i] + g->pb[i])
            out--;
        size_t need = (out - 1) * g->s[i] + g->k[i];
        if (need > span)
            g->pe[i] += need - span;
    }
    return TRINE_OK;
}

/* x lifted to 4-D NCHW (a 1-D input becomes [N, C, 1, W]); *lifted the
 * variable. */
static int ox_lift(ox_t *c, ox_val_t *x, int var)
{
    if (x->rank == 4)
        return var;
    ox_val_t v = *x;
    v.var = var;
    size_t shape[4] = {x->shape[0], x->shape[1], 1, x->shape[2]};
    bool batch0 = false;
    return ox_reshape(c, &v, 4, shape, &batch0);
}

/* The node's 4-D result r back at rank 3 when the node is 1-D. */
static trine_status_t ox_define_spatial(ox_t *c, const ox_geom_t *g, int r, bool batch0)
{
    if (r < 0)
        return TRINE_EUNSUPPORTED;
    if (g->sd == 2)
        return ox_define(c, 0, r, 4, batch0);
    ox_val_t v = {.var = r, .batch0 = batch0};
    ox_shape_from_var(c, &v, 4);
    size_t shape[3] = {v.shape[0], v.shape[1], v.shape[3]};
    bool b0;
    int flat = ox_reshape(c, &v, 3, shape, &b0);
    return ox_define(c, 0, flat, 3, b0);
}

/* conv iattr: {sh, pt, sw, pl, pb, pr}; pool: {kh, sh, kw, sw, pt, pl, pb, pr}. */
static void ox_geom_axes(const ox_geom_t *g, size_t *k, size_t *s, size_t *pb, size_t *pe)
{
    int h = g->sd == 2 ? 0 : -1, w = g->sd - 1;
    k[0] = h < 0 ? 1 : g->k[h], k[1] = g->k[w];
    s[0] = h < 0 ? 1 : g->s[h], s[1] = g->s[w];
    pb[0] = h < 0 ? 0 : g->pb[h], pb[1] = g->pb[w];
    pe[0] = h < 0 ? 0 : g->pe[h], pe[1] = g->pe[w];
}

trine_status_t ox_conv(ox_t *c)
{
    ox_val_t *x, *w, *b;
    int64_t group, ks[4];
    size_t nks;
    trine_status_t st;
    if ((st = ox_known(c, "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides",
                       NULL)) ||
        (st = ox_arity(c, 2, 3, 1)) || (st = ox_in(c, 0, false, &x)) ||
        (st = ox_in(c, 1, false, &w)) || (st = ox_in(c, 2, true, &b)) ||
        (st = ox_int(c, "group", 1, &group)) || (st = ox_ints(c, "kernel_shape", -1, ks, 4, &nks)))
        return st;
    if (group < 1 || group > PROG_GEOM_MAX || x->shape[1] % (size_t)group ||
        w->shape[0] % (size_t)group || w->shape[1] * (size_t)group != x->shape[1])
        return ox_fail(c, TRINE_EFORMAT, "group %lld does not split %zu channels into W's %zu",
                       (long long)group, x->shape[1], w->shape[1]);
    if (w->rank != x->rank)
        return ox_fail(c, TRINE_EUNSUPPORTED, "W has rank %d, X rank %d", w->rank, x->rank);
    size_t kernel[2] = {w->shape[2], x->rank == 4 ? w->shape[3] : 1};
    for (size_t i = 0; i < nks; i++)
        if (ks[i] != (int64_t)kernel[i])
            return ox_fail(c, TRINE_EFORMAT, "kernel_shape does not match W's dims");
    ox_geom_t g;
    if ((st = ox_geometry(c, x, kernel, false, &g)))
        return st;
    size_t oc = w->shape[0];
    if (w->batch0 || (b && b->batch0)) /* a batch's rows as output channels */
        c->out->rows_independent = false;
    int bn = c->fold[c->node];
    int vx = ox_var(c, x), vw, vb = -1;
    if (bn < 0) {
        vw = ox_var(c, w);
        if (b)
            vb = ox_var(c, b);
    } else {
        ox_bn_t f;
        plain_t *ww, *wb;
        if ((st = ox_fold_begin(c, bn, w, b, oc, &f, &ww, &wb)))
            return st;
        if (f.s) {
            size_t per = ww->count / oc;
            for (size_t i = 0; i < ww->count; i++)
                ww->real[i] *= f.s->real[i / per];
            for (size_t j = 0; j < oc; j++)
                wb->real[j] = (b ? b->data->real[b->data->count == 1 ? 0 : j] : 0) * f.s->real[j] +
                              f.t->real[j];
        }
        ox_fold_end(c, &f, w, b, oc, ww, wb, &vw, &vb);
    }
    if (vx < 0 || vw < 0 || ((b || bn >= 0) && vb < 0))
        return TRINE_EUNSUPPORTED;
    int x4 = ox_lift(c, x, vx);
    int w4 = x4 < 0 ? -1 : ox_lift(c, w, vw);
    if (w4 < 0)
        return TRINE_EUNSUPPORTED;
    size_t k[2], s[2], pb[2], pe[2];
    ox_geom_axes(&g, k, s, pb, pe);
    int y = ox_emit(c, (prog_op_t){.code = PROG_CONV2D,
                                   .in = {x4, w4},
                                   .iattr = {(int64_t)s[0], (int64_t)pb[0], (int64_t)s[1],
                                             (int64_t)pb[1], (int64_t)pe[0], (int64_t)pe[1],
                                             group}});
    if (y >= 0 && vb >= 0) {
        ox_val_t bv = {.var = vb};
        ox_shape_from_var(c, &bv, 1);
        size_t shape[3] = {oc, 1, 1};
        bool b0;
        int b3 = ox_reshape(c, &bv, 3, shape, &b0);
        y = b3 < 0 ? -1 : ox_op2(c, PROG_ADD, y, b3);
    }
    if (bn >= 0)
        c->folded_out = c->m->proto->graph->node[bn]->output[0];
    return ox_define_spatial(c, &g, y, x->batch0);
}

/* A zero Pad of the spatial axes just before an AveragePool of no pads of
 * its own (PyTorch's nn.AvgPool2d with count_include_pad) folds into the
 * pool: when the Pad's ops are the program's last and its value feeds
 * this pool alone, they are taken back and the pool pads instead,
 * counting the padding as the Pad's zeros did. Returns the unpadded
 * variable (g updated), or vx unchanged. */
static int ox_pool_unpad(ox_t *c, const ox_val_t *x, int vx, ox_geom_t *g)
{
    prog_t *p = &c->out->prog;
    if (ox_uses(c, c->n->input[0]) != 1 || x->rank != 4 || g->pb[0] || g->pb[1] || g->pe[0] || g->pe[1] || vx < 0 ||
        p->vars[vx].kind != PROG_VAR_TEMP || p->vars[vx].output)
        return vx;
    size_t pb[2] = {0, 0}, pe[2] = {0, 0};
    int v = vx;
    size_t nops = p->nops, nvars = p->nvars;
    while (nops && (size_t)v + 1 == nvars && p->ops[nops - 1].out == v &&
           p->ops[nops - 1].code == PROG_PAD && p->ops[nops - 1].fattr == 0 &&
           p->ops[nops - 1].iattr[PROG_PAD_AXIS] >= 2) {
        const prog_op_t *op = &p->ops[nops - 1];
        int a = (int)op->iattr[PROG_PAD_AXIS] - 2;
        pb[a] += (size_t)op->iattr[PROG_PAD_BEFORE], pe[a] += (size_t)op->iattr[PROG_PAD_AFTER];
        v = op->in[0];
        nops--, nvars--;
    }
    if (v == vx)
        return vx;
    p->nops = nops, p->nvars = nvars;
    ox_find(c, c->n->input[0])->var = -1; /* its variables are gone; nothing else reads it */
    for (int a = 0; a < 2; a++)
        g->in[a] -= pb[a] + pe[a], g->pb[a] = pb[a], g->pe[a] = pe[a];
    return v;
}

static trine_status_t ox_pool(ox_t *c, prog_opcode_t code)
{
    ox_val_t *x;
    int64_t ks[4], include = 0, order = 0;
    size_t nks;
    trine_status_t st;
    bool max = code == PROG_MAXPOOL;
    if ((st = max ? ox_known(c, "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                             "storage_order", "strides", NULL)
                  : ox_known(c, "auto_pad", "ceil_mode", "count_include_pad", "kernel_shape",
                             "pads", "strides", NULL)) ||
        (st = ox_arity(c, 1, 1, 1)) || (st = ox_in(c, 0, false, &x)) ||
        (st = ox_ints(c, "kernel_shape", x->rank - 2, ks, 4, &nks)) ||
        (st = ox_int(c, "count_include_pad", 0, &include)) ||
        (st = ox_int(c, "storage_order", 0, &order)))
        return st;
    if (!nks)
        return ox_fail(c, TRINE_EFORMAT, "kernel_shape is missing");
    size_t kernel[2];
    for (size_t i = 0; i < nks; i++) {
        if (ks[i] < 1 || ks[i] > 1 << 20)
            return ox_fail(c, TRINE_EFORMAT, "kernel_shape must be 1 or more");
        kernel[i] = (size_t)ks[i];
    }
    ox_geom_t g;
    int64_t ceil = 0;
    if ((st = ox_geometry(c, x, kernel, !include, &g)) || (st = ox_int(c, "ceil_mode", 0, &ceil)))
        return st;
    int vx = ox_var(c, x);
    if (!max && !ceil) {
        int u = ox_pool_unpad(c, x, vx, &g);
        include = include || u != vx;
        vx = u;
    }
    int x4 = vx < 0 ? -1 : ox_lift(c, x, vx);
    if (x4 < 0)
        return TRINE_EUNSUPPORTED;
    size_t k[2], s[2], pb[2], pe[2];
    ox_geom_axes(&g, k, s, pb, pe);
    int y = ox_emit(c, (prog_op_t){.code = code,
                                   .in = {x4, -1},
                                   .iattr = {(int64_t)k[0], (int64_t)s[0], (int64_t)k[1],
                                             (int64_t)s[1], (int64_t)pb[0], (int64_t)pb[1],
                                             (int64_t)pe[0], (int64_t)pe[1], include != 0}});
    return ox_define_spatial(c, &g, y, x->batch0);
}

trine_status_t ox_global_avg(ox_t *c)
{
    ox_val_t *x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 1, 1, 1)) || (st = ox_in(c, 0, false, &x)))
        return st;
    if (x->rank != 3 && x->rank != 4)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "input of rank %d: trine handles 1-D and 2-D (rank 3 and 4) inputs",
                       x->rank);
    ox_geom_t g = {.sd = x->rank - 2};
    int vx = ox_var(c, x);
    int x4 = vx < 0 ? -1 : ox_lift(c, x, vx);
    if (x4 < 0)
        return TRINE_EUNSUPPORTED;
    size_t kh = x->rank == 4 ? x->shape[2] : 1, kw = x->shape[x->rank - 1];
    int y = ox_emit(c, (prog_op_t){.code = PROG_AVGPOOL,
                                   .in = {x4, -1},
                                   .iattr = {(int64_t)kh, 1, (int64_t)kw, 1, 0, 0, 0, 0, 1}});
    return ox_define_spatial(c, &g, y, x->batch0);
}

trine_status_t ox_maxpool(ox_t *c)
{
    return ox_pool(c, PROG_MAXPOOL);
}

trine_status_t ox_avgpool(ox_t *c)
{
    return ox_pool(c, PROG_AVGPOOL);
}
