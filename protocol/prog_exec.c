/* prog_exec.c — runs a program on shares (program.h): every op is one
 * protocol call of proto.h or local arithmetic on the shares (add, sub,
 * sum, reshape, transpose, and the shifts of scale and sgd), followed by
 * one truncation (trunc.c: exact or local, as the context says) after a
 * fixed-point product.
 *
 * Work saved across ops, decided once per job from the op list:
 * - a relu keeps its DReLU bits when a later drelu reads the same value
 *   (the variable not written in between; prog_op_reuses): that drelu
 *   sends nothing. A maxpool keeps its one-hot argmax for a later
 *   maxpool_grad of the same input, which then costs one product instead
 *   of a maxpool and a product.
 * - the right operand of a matmul or the filters of a conv2d, when an input
 *   that no op writes and used by more than one product in the job, is
 *   masked once (mask.c) on first use: each product then opens only the
 *   other operand, 2mn + mv words instead of 2mn + 2nv + mv. Used once it
 *   is not masked, which would cost the same bytes and one more round,
 *   unless the caller keeps masked forms across jobs (job->masked_out):
 *   then the next job takes it (job->masked_in) and opens none of it.
 * - a relu whose only reader is a maxpool (no gradient taking either's
 *   by-product) runs after it instead: max and relu commute, and the relu
 *   then compares a quarter of the values (2 x 2 windows).
 * - under protocols fss and carry with exact truncation, a relu of a matmul or conv2d
 *   (with a bias added or subtracted between them, and maxpools without
 *   padding before the relu) whose intermediate values nothing else reads
 *   takes the product's truncation into its own round (proto_relu_trunc):
 *   the product is left untruncated, the bias is added at the product's
 *   scale, 2^f times its own, and the maxpools compare untruncated values
 *   (the truncation commutes with the max within its one step).
 * - an argmax of a product (and its bias) reads it untruncated, under both
 *   protocols: the largest value is the same, one round fewer (Networks
 *   A-D end so).
 * Values, shares of batch rows and every temporary holding shares are
 * wiped before they are freed.
 */
#include "program.h"
#include "proto.h"

#include "tensor/conv.h"
#include "tensor/fixed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    proto_ctx_t *ctx;
    const prog_t *p;
    unsigned f;
    bool helper;
    const prog_shapes_t *s;  /* the shapes of the current step */
    tensor_t **val;          /* per variable: its current share, or NULL */
    proto_masked_t **masked; /* per variable: masked once, or NULL */
    const proto_masked_t *const *masked_in; /* per variable: kept from an earlier job */
    bool *maskable;          /* per variable: mask on first use */
    int *reuse;              /* per op: the earlier op whose by-product it takes, or -1 */
    bool *keep;              /* per op: a later op takes its by-product */
    tensor_t **kept;         /* per op: that by-product in the current step */
    unsigned char *fuse;     /* per op: its part in a rewrite (exec_fuse_t) */
    long *moved;             /* per maxpool: the relu it applies after pooling, or -1 */
} exec_t;

/* Fills the per-job decisions: by-products to keep and operands to mask. */
static trine_status_t exec_plan(exec_t *x, uint64_t steps, bool keep)
{
    const prog_t *p = x->p;
    bool *written = calloc(p->nvars, sizeof *written);
    uint64_t *uses = calloc(p->nvars, sizeof *uses);
    if (!written || !uses) {
        free(written), free(uses);
        return TRINE_ENOMEM;
    }
    for (size_t i = 0; i < p->nops; i++)
        written[p->ops[i].out] = true;
    for (size_t j = 0; j < p->nops; j++) {
        const prog_op_t *op = &p->ops[j];
        x->reuse[j] = prog_op_reuses(p, j);
        if (x->reuse[j] >= 0)
            x->keep[x->reuse[j]] = true;
        int w = op->in[1];
        if ((op->code == PROG_MATMUL || op->code == PROG_CONV2D) &&
            p->vars[w].kind == PROG_VAR_INPUT && !written[w])
            uses[w]++;
    }
    for (size_t v = 0; v < p->nvars; v++)
        x->maskable[v] = uses[v] > 1 ||
                         (uses[v] == 1 && (steps > 1 || keep || (x->masked_in && x->masked_in[v])));
    free(written), free(uses);
    return TRINE_OK;
}

/* The rewrites of exec_plan_fuse, per op. */
typedef enum {
    FUSE_NONE = 0,
    FUSE_PRODUCT,         /* a matmul or conv2d left untruncated for a relu or argmax */
    FUSE_BIAS,            /* the bias added to such a product, at scale 2^2f */
    FUSE_RELU,            /* a relu taking the truncation (proto_relu_trunc) */
    FUSE_MOVED,           /* a relu moved after the maxpool that reads it */
    FUSE_POOL_RELU,       /* that maxpool: pools the relu's input, then the relu */
    FUSE_POOL_RELU_TRUNC  /* the same, the relu taking the truncation */
} exec_fuse_t;

/* The reads, writes and an op writing / reading each variable. */
typedef struct {
    size_t *reads, *writes;
    long *writer, *reader;
} exec_uses_t;

/* v is a temporary that one op writes and one op reads. */
static bool fuse_link(const prog_t *p, const exec_uses_t *u, int v)
{
    return v >= 0 && p->vars[v].kind == PROG_VAR_TEMP && !p->vars[v].output && u->reads[v] == 1 &&
           u->writes[v] == 1;
}

static bool fuse_product(const prog_t *p, long j)
{
    return j >= 0 && (p->ops[j].code == PROG_MATMUL || p->ops[j].code == PROG_CONV2D);
}

/* When v is a product, or a product plus or minus a bias, that nothing
 * else reads, marks them so that the relu (under fss) or argmax reading v
 * (through maxpools without padding, which commute with the truncation
 * within its step) takes the values untruncated, at scale 2^2f. */
static bool fuse_chain(exec_t *x, const exec_uses_t *u, int v)
{
    const prog_t *p = x->p;
    if (!fuse_link(p, u, v))
        return false;
    long j = u->writer[v];
    const prog_op_t *op = &p->ops[j];
    if (op->code == PROG_MAXPOOL && !x->keep[j]) {
        proto_pool_t g = prog_pool_geom(op);
        return g.pt + g.pl + g.pb + g.pr == 0 && fuse_chain(x, u, op->in[0]);
    }
    if (fuse_product(p, j)) {
        x->fuse[j] = FUSE_PRODUCT;
        return true;
    }
    if ((op->code == PROG_ADD || op->code == PROG_SUB) && op->in[1] != op->in[0] &&
        fuse_link(p, u, op->in[0]) && fuse_product(p, u->writer[op->in[0]])) {
        x->fuse[u->writer[op->in[0]]] = FUSE_PRODUCT;
        x->fuse[j] = FUSE_BIAS;
        return true;
    }
    return false;
}

/* True when a relu writing v (in the full step's shapes s) goes by fss or
 * carry, with exact truncation: it can then take a product's truncation. */
static bool relu_takes_truncation(const exec_t *x, const prog_shapes_t *s, int v)
{
    size_t n = 1;
    for (int d = 0; d < s->ndim[v]; d++)
        n *= s->shape[v][d];
    return (proto_ctx_fss(x->ctx, n) || proto_ctx_carry(x->ctx, n)) &&
           proto_ctx_truncation(x->ctx) == PROTO_TRUNC_EXACT && x->f > 0;
}

/* Marks the rewrites (see the top of the file): a relu whose only reader
 * is a maxpool (neither keeping a by-product for a gradient) moves after
 * it, max and relu commuting, so that it compares a quarter of the values
 * (2 x 2 windows); an argmax of a product reads it untruncated; a relu
 * by fss (of the full step's size s) with exact truncation, of a
 * product, takes its truncation. */
static trine_status_t exec_plan_fuse(exec_t *x, const prog_shapes_t *s)
{
    const prog_t *p = x->p;
    exec_uses_t u = {calloc(p->nvars, sizeof *u.reads), calloc(p->nvars, sizeof *u.writes),
                     malloc(p->nvars * sizeof *u.writer), malloc(p->nvars * sizeof *u.reader)};
    trine_status_t st = u.reads && u.writes && u.writer && u.reader ? TRINE_OK : TRINE_ENOMEM;
    for (size_t v = 0; st == TRINE_OK && v < p->nvars; v++)
        u.writer[v] = u.reader[v] = -1;
    for (size_t j = 0; st == TRINE_OK && j < p->nops; j++) {
        for (int a = 0; a < PROG_ARGS_MAX; a++)
            if (p->ops[j].in[a] >= 0) {
                u.reads[p->ops[j].in[a]]++;
                u.reader[p->ops[j].in[a]] = (long)j;
            }
        u.writes[p->ops[j].out]++;
        u.writer[p->ops[j].out] = (long)j;
    }
    for (size_t k = 0; st == TRINE_OK && k < p->nops; k++) {
        const prog_op_t *op = &p->ops[k];
        if (op->code == PROG_ARGMAX) { /* the largest product is that of the largest quotient */
            fuse_chain(x, &u, op->in[0]);
            continue;
        }
        if (op->code != PROG_RELU)
            continue;
        long m = u.reader[op->out];
        if (!x->keep[k] && fuse_link(p, &u, op->out) && p->ops[m].code == PROG_MAXPOOL &&
            p->ops[m].in[0] == op->out && !x->keep[m]) {
            x->fuse[k] = FUSE_MOVED;
            x->moved[m] = (long)k;
            x->fuse[m] = relu_takes_truncation(x, s, p->ops[m].out) && fuse_chain(x, &u, op->in[0])
                             ? FUSE_POOL_RELU_TRUNC
                             : FUSE_POOL_RELU;
        } else if (relu_takes_truncation(x, s, op->out) && fuse_chain(x, &u, op->in[0])) {
            x->fuse[k] = FUSE_RELU;
        }
    }
    free(u.reads), free(u.writes), free(u.writer), free(u.reader);
    return st;
}

/* out = c * a for a public real c: a shift when c = 2^-j, an integer
 * product when c is an integer, else the product with m = round(c 2^k)
 * and a truncation by k bits (negative c by two's complement), where
 * k = f for |c| >= 1/2 and f + j for 2^-(j+1) <= |c| < 2^-j (k at most
 * FIXED_FRAC_BITS_MAX): m keeps f significant bits of c however small it
 * is, so a learning rate over the batch is not rounded to a few steps. */
static trine_status_t scale_apply(exec_t *x, tensor_t *out, const tensor_t *a, double c,
                                  trine_err_t *err)
{
    int e;
    if (frexp(c, &e) == 0.5 && e <= 0 && 1 - e <= FIXED_FRAC_BITS_MAX) {
        memcpy(out->data, a->data, a->size * sizeof *a->data);
        return proto_truncate(x->ctx, out, (unsigned)(1 - e), err);
    }
    if (c == trunc(c) && fabs(c) < 0x1p63)
        return proto_mul_scalar(x->ctx, out, a, (uint64_t)(int64_t)c);
    unsigned k = x->f;
    if (e < 0)
        k = x->f - (unsigned)e < FIXED_FRAC_BITS_MAX ? x->f - (unsigned)e : FIXED_FRAC_BITS_MAX;
    uint64_t enc;
    if (fixed_encode(&enc, c, k) != TRINE_OK || enc == 0)
        return trine_err_set(err, TRINE_ERANGE, "the constant %g has no %u-bit fixed-point form", c,
                             k);
    trine_status_t st = proto_mul_scalar(x->ctx, out, a, enc);
    return st == TRINE_OK ? proto_truncate(x->ctx, out, k, err) : st;
}

/* out = b repeated to out's shape: right-aligned, b's extents equal to
 * out's or 1. */
static trine_status_t broadcast(tensor_t *out, const tensor_t *b)
{
    int lead = out->ndim - b->ndim;
    size_t stride[TENSOR_MAX_DIMS] = {0}, step = 1, idx[TENSOR_MAX_DIMS] = {0};
    if (lead < 0)
        return TRINE_ESHAPE;
    for (int d = b->ndim - 1; d >= 0; d--) {
        if (b->shape[d] != 1 && b->shape[d] != out->shape[lead + d])
            return TRINE_ESHAPE;
        stride[lead + d] = b->shape[d] == 1 ? 0 : step;
        step *= b->shape[d];
    }
    for (size_t i = 0; i < out->size; i++) {
        size_t src = 0;
        for (int d = 0; d < out->ndim; d++)
            src += idx[d] * stride[d];
        out->data[i] = b->data[src];
        for (int d = out->ndim - 1; d >= 0 && ++idx[d] == out->shape[d]; d--)
            idx[d] = 0;
    }
    return TRINE_OK;
}

/* a + b or a - b, b broadcast to a's shape; scaled by 2^f first when
 * a is an untruncated product (FUSE_BIAS). */
static trine_status_t op_addsub(const exec_t *x, const prog_op_t *op, tensor_t *out,
                                const tensor_t *a, const tensor_t *b)
{
    tensor_t *bx = NULL;
    trine_status_t st = TRINE_OK;
    bool scale = x->fuse[op - x->p->ops] == FUSE_BIAS;
    if (!tensor_same_shape(a, b) || scale) {
        bx = tensor_new_like(a);
        st = bx ? broadcast(bx, b) : TRINE_ENOMEM;
        if (st == TRINE_OK && scale)
            st = tensor_scale(bx, bx, (uint64_t)1 << x->f);
        b = bx;
    }
    if (st == TRINE_OK)
        st = op->code == PROG_ADD ? tensor_add(out, a, b) : tensor_sub(out, a, b);
    tensor_destroy(&bx);
    return st;
}

/* True when m has the given shape. */
static bool masked_fits(const proto_masked_t *m, int ndim, const size_t *shape)
{
    size_t have[TENSOR_MAX_DIMS];
    return proto_masked_shape(m, have) == ndim && !memcmp(have, shape, ndim * sizeof *shape);
}

/* The masked form of variable v seen with the given shape: the one kept
 * from an earlier job when it has that shape, else made on first use;
 * *m stays NULL when v is not to be masked. */
static trine_status_t operand_masked(exec_t *x, int v, int ndim, const size_t *shape,
                                     const proto_masked_t **m, trine_err_t *err)
{
    *m = NULL;
    if (!x->maskable[v])
        return TRINE_OK;
    if (x->masked_in && x->masked_in[v] && masked_fits(x->masked_in[v], ndim, shape)) {
        *m = x->masked_in[v];
        return TRINE_OK;
    }
    if (!x->masked[v]) {
        tensor_t *w = tensor_copy(x->val[v]);
        trine_status_t st = w ? tensor_reshape(w, ndim, shape) : TRINE_ENOMEM;
        if (st == TRINE_OK)
            st = proto_masked_new(x->ctx, &x->masked[v], w, err);
        tensor_destroy(&w);
        if (st != TRINE_OK)
            return st;
    }
    *m = x->masked[v];
    return TRINE_OK;
}

/* A product's truncation, left to the relu it is fused with. */
static trine_status_t product_truncate(exec_t *x, const prog_op_t *op, tensor_t *out,
                                       trine_err_t *err)
{
    if (x->fuse[op - x->p->ops] == FUSE_PRODUCT)
        return TRINE_OK;
    return proto_truncate(x->ctx, out, x->f, err);
}

static trine_status_t op_matmul(exec_t *x, const prog_op_t *op, tensor_t *out, trine_err_t *err)
{
    const tensor_t *a = x->val[op->in[0]], *b = x->val[op->in[1]];
    gemm_trans_t ta = op->iattr[0] ? GEMM_TRANS : GEMM_NOTRANS;
    gemm_trans_t tb = op->iattr[1] ? GEMM_TRANS : GEMM_NOTRANS;
    const proto_masked_t *m;
    trine_status_t st = operand_masked(x, op->in[1], b->ndim, b->shape, &m, err);
    if (st == TRINE_OK)
        st = m ? proto_matmul_masked(x->ctx, out, a, ta, m, tb, err)
               : proto_matmul(x->ctx, out, a, ta, b, tb, err);
    return st == TRINE_OK ? product_truncate(x, op, out, err) : st;
}

static trine_status_t op_conv2d(exec_t *x, const prog_op_t *op, tensor_t *out, trine_err_t *err)
{
    const tensor_t *a = x->val[op->in[0]], *b = x->val[op->in[1]];
    conv_geom_t g = prog_conv_geom(op, a->shape, b->shape);
    /* the protocol takes the filter bank as the matrix oc x (c kh kw) */
    size_t fs[2] = {b->shape[0], b->size / b->shape[0]};
    const proto_masked_t *m;
    tensor_t *w = NULL;
    trine_status_t st = operand_masked(x, op->in[1], 2, fs, &m, err);
    if (st == TRINE_OK && !m) {
        w = tensor_copy(b);
        st = w ? tensor_reshape(w, 2, fs) : TRINE_ENOMEM;
    }
    if (st == TRINE_OK)
        st = m ? proto_conv2d_masked(x->ctx, out, a, m, &g, err)
               : proto_conv2d(x->ctx, out, a, w, &g, err);
    tensor_destroy(&w);
    return st == TRINE_OK ? product_truncate(x, op, out, err) : st;
}

/* The gradients of a conv2d: the protocol takes the filters, and gives
 * their gradient, as the matrix oc x (c kh kw). */
static trine_status_t op_conv_grad(exec_t *x, const prog_op_t *op, tensor_t *out, trine_err_t *err)
{
    const tensor_t *dy = x->val[op->in[0]], *b = x->val[op->in[1]];
    bool in = op->code == PROG_CONV2D_GRAD_INPUT;
    const size_t *ws = in ? b->shape : out->shape, *xs = in ? out->shape : b->shape;
    conv_geom_t g = prog_conv_geom(op, xs, ws);
    size_t fs[2] = {ws[0], ws[1] * ws[2] * ws[3]}, os[4];
    memcpy(os, out->shape, sizeof os);
    trine_status_t st;
    if (in) {
        tensor_t *w = tensor_copy(b);
        st = w ? tensor_reshape(w, 2, fs) : TRINE_ENOMEM;
        if (st == TRINE_OK)
            st = proto_conv2d_grad_input(x->ctx, out, dy, w, &g, err);
        tensor_destroy(&w);
    } else {
        st = tensor_reshape(out, 2, fs);
        if (st == TRINE_OK)
            st = proto_conv2d_grad_weights(x->ctx, out, dy, b, &g, err);
        if (st == TRINE_OK)
            st = tensor_reshape(out, 4, os);
    }
    return st == TRINE_OK ? proto_truncate(x->ctx, out, x->f, err) : st;
}

static trine_status_t op_relu(exec_t *x, size_t i, tensor_t *out, trine_err_t *err)
{
    if (x->fuse[i] == FUSE_MOVED) /* the maxpool reading it applies it */
        return TRINE_OK;
    const tensor_t *a = x->val[x->p->ops[i].in[0]];
    tensor_t *d = NULL;
    if (x->keep[i] && !(d = tensor_new_like(a)))
        return TRINE_ENOMEM;
    trine_status_t st = x->fuse[i] == FUSE_RELU ? proto_relu_trunc(x->ctx, out, d, a, x->f, err)
                                                : proto_relu(x->ctx, out, d, a, err);
    tensor_destroy(&x->kept[i]);
    x->kept[i] = d;
    return st;
}

/* Ring bits 0 / 1 to the fixed-point reals 0.0 / 1.0. */
static trine_status_t op_drelu(exec_t *x, size_t i, tensor_t *out, trine_err_t *err)
{
    const tensor_t *a = x->val[x->p->ops[i].in[0]];
    trine_status_t st = TRINE_OK;
    if (x->reuse[i] >= 0)
        memcpy(out->data, x->kept[x->reuse[i]]->data, out->size * sizeof *out->data);
    else
        st = proto_drelu(x->ctx, out, a, err);
    return st == TRINE_OK ? proto_mul_scalar(x->ctx, out, out, (uint64_t)1 << x->f) : st;
}

static trine_status_t op_maxpool(exec_t *x, size_t i, tensor_t *out, trine_err_t *err)
{
    const prog_op_t *op = &x->p->ops[i];
    proto_pool_t pool = prog_pool_geom(op);
    if (x->moved[i] >= 0) { /* relu(maxpool(a)) for maxpool(relu(a)) */
        const tensor_t *a = x->val[x->p->ops[x->moved[i]].in[0]];
        tensor_t *pooled = tensor_new_like(out);
        trine_status_t st = pooled ? proto_maxpool(x->ctx, pooled, NULL, a, &pool, err)
                                   : TRINE_ENOMEM;
        if (st == TRINE_OK)
            st = x->fuse[i] == FUSE_POOL_RELU_TRUNC
                     ? proto_relu_trunc(x->ctx, out, NULL, pooled, x->f, err)
                     : proto_relu(x->ctx, out, NULL, pooled, err);
        tensor_destroy(&pooled);
        return st;
    }
    tensor_t *hot = NULL;
    if (x->keep[i] && !(hot = tensor_new_2d(out->size, pool.kh * pool.kw)))
        return TRINE_ENOMEM;
    trine_status_t st = proto_maxpool(x->ctx, out, hot, x->val[op->in[0]], &pool, err);
    tensor_destroy(&x->kept[i]);
    x->kept[i] = hot;
    return st;
}

/* dx: each window's gradient dy times its one-hot argmax (a product of a
 * fixed-point value and ring bits: no truncation), added back into the
 * window's positions (no padding: prog_check). */
static trine_status_t op_maxpool_grad(exec_t *x, size_t i, tensor_t *out, trine_err_t *err)
{
    const prog_op_t *op = &x->p->ops[i];
    const tensor_t *dy = x->val[op->in[0]], *xin = x->val[op->in[1]];
    proto_pool_t pool = prog_pool_geom(op);
    size_t kk = pool.kh * pool.kw, windows = dy->size;
    tensor_t *own = NULL, *mx = NULL, *hot = x->reuse[i] >= 0 ? x->kept[x->reuse[i]] : NULL;
    tensor_t *ex = tensor_new_2d(windows, kk), *prod = tensor_new_2d(windows, kk);
    trine_status_t st = ex && prod ? TRINE_OK : TRINE_ENOMEM;
    if (st == TRINE_OK && !hot) {
        own = tensor_new_2d(windows, kk), mx = tensor_new_like(dy);
        st = own && mx ? proto_maxpool(x->ctx, mx, own, xin, &pool, err) : TRINE_ENOMEM;
        hot = own;
    }
    for (size_t w = 0; st == TRINE_OK && w < windows; w++)
        for (size_t e = 0; e < kk; e++)
            ex->data[w * kk + e] = dy->data[w];
    if (st == TRINE_OK)
        st = proto_mul(x->ctx, prod, ex, hot, err);
    size_t oh = dy->shape[2], ow = dy->shape[3], h = xin->shape[2], wd = xin->shape[3];
    size_t planes = xin->shape[0] * xin->shape[1], w = 0;
    for (size_t pl = 0; st == TRINE_OK && pl < planes; pl++)
        for (size_t r = 0; r < oh; r++)
            for (size_t c = 0; c < ow; c++, w++)
                for (size_t e = 0; e < kk; e++) {
                    size_t at =
                        (pl * h + r * pool.sh + e / pool.kw) * wd + c * pool.sw + e % pool.kw;
                    out->data[at] += prod->data[w * kk + e];
                }
    tensor_destroy(&ex), tensor_destroy(&prod), tensor_destroy(&own), tensor_destroy(&mx);
    return st;
}

/* Ring bits 0 / 1 of a > b to the fixed-point reals 0.0 / 1.0. */
static trine_status_t op_gt(exec_t *x, const prog_op_t *op, tensor_t *out, trine_err_t *err)
{
    trine_status_t st =
        proto_compare(x->ctx, out, x->val[op->in[0]], x->val[op->in[1]], PROTO_CMP_GT, err);
    return st == TRINE_OK ? proto_mul_scalar(x->ctx, out, out, (uint64_t)1 << x->f) : st;
}

/* The index as a real: index 2^f. */
static trine_status_t op_argmax(exec_t *x, const prog_op_t *op, tensor_t *out, trine_err_t *err)
{
    trine_status_t st = proto_argmax(x->ctx, out, NULL, x->val[op->in[0]], err);
    return st == TRINE_OK ? proto_mul_scalar(x->ctx, out, out, (uint64_t)1 << x->f) : st;
}

static trine_status_t op_sgd(exec_t *x, const prog_op_t *op, tensor_t *out, trine_err_t *err)
{
    const tensor_t *a = x->val[op->in[0]], *b = x->val[op->in[1]];
    tensor_t *step = tensor_new_like(b);
    trine_status_t st = step ? scale_apply(x, step, b, op->fattr, err) : TRINE_ENOMEM;
    if (st == TRINE_OK)
        st = tensor_sub(out, a, step);
    tensor_destroy(&step);
    return st;
}

/* A permutation of the axes, or the 2-D swap for ndim 0: local. */
static trine_status_t op_transpose(const prog_op_t *op, tensor_t *out, const tensor_t *a)
{
    if (op->ndim == 0)
        return tensor_transpose(out, a);
    int perm[TENSOR_MAX_DIMS];
    for (int i = 0; i < op->ndim; i++)
        perm[i] = (int)op->shape[i];
    return tensor_permute(out, a, perm);
}

/* concat, slice and pad: local copies along one axis. A pad's value is
 * public: P0 holds it, P1 and P2 zero. */
static trine_status_t op_axis(exec_t *x, const prog_op_t *op, tensor_t *out, const tensor_t *a,
                              const tensor_t *b, trine_err_t *err)
{
    int axis = (int)op->iattr[0];
    if (op->code == PROG_PAD) {
        uint64_t enc;
        if (fixed_encode(&enc, op->fattr, x->f) != TRINE_OK)
            return trine_err_set(err, TRINE_ERANGE, "the value %g has no %u-bit fixed-point form",
                                 op->fattr, x->f);
        proto_fill_public(x->ctx, out, enc);
    }
    prog_axis_copy(op, a->ndim, a->shape, b ? b->shape[axis] : 0, out->shape[axis], a->data,
                   b ? b->data : NULL, out->data);
    return TRINE_OK;
}

static trine_status_t op_offset(exec_t *x, const prog_op_t *op, tensor_t *out, const tensor_t *a,
                                trine_err_t *err)
{
    uint64_t enc;
    if (fixed_encode(&enc, op->fattr, x->f) != TRINE_OK)
        return trine_err_set(err, TRINE_ERANGE, "the constant %g has no %u-bit fixed-point form",
                             op->fattr, x->f);
    return proto_add_scalar(x->ctx, out, a, enc);
}

static trine_status_t op_run(exec_t *x, size_t i, tensor_t *out, trine_err_t *err)
{
    const prog_op_t *op = &x->p->ops[i];
    const tensor_t *a = x->val[op->in[0]], *b = op->in[1] >= 0 ? x->val[op->in[1]] : NULL;
    proto_pool_t pool = prog_pool_geom(op);
    trine_status_t st;
    switch (op->code) {
    case PROG_MATMUL: return op_matmul(x, op, out, err);
    case PROG_ADD:
    case PROG_SUB: return op_addsub(x, op, out, a, b);
    case PROG_MUL:
        st = proto_mul(x->ctx, out, a, b, err);
        return st == TRINE_OK ? proto_truncate(x->ctx, out, x->f, err) : st;
    case PROG_SCALE: return scale_apply(x, out, a, op->fattr, err);
    case PROG_SUM: return tensor_sum_axis(out, a, 0);
    case PROG_CONV2D: return op_conv2d(x, op, out, err);
    case PROG_CONV2D_GRAD_INPUT:
    case PROG_CONV2D_GRAD_WEIGHTS: return op_conv_grad(x, op, out, err);
    case PROG_RELU: return op_relu(x, i, out, err);
    case PROG_DRELU: return op_drelu(x, i, out, err);
    case PROG_MAXPOOL: return op_maxpool(x, i, out, err);
    case PROG_MAXPOOL_GRAD: return op_maxpool_grad(x, i, out, err);
    case PROG_AVGPOOL: return proto_avgpool(x->ctx, out, a, &pool, err);
    case PROG_RESHAPE:
        if (out->size != a->size)
            return TRINE_ESHAPE;
        memcpy(out->data, a->data, a->size * sizeof *a->data);
        return TRINE_OK;
    case PROG_TRANSPOSE: return op_transpose(op, out, a);
    case PROG_SIGMOID:
        return op->iattr[0] ? proto_sigmoid_fine(x->ctx, out, a, err)
                            : proto_sigmoid(x->ctx, out, a, err);
    case PROG_ARGMAX: return op_argmax(x, op, out, err);
    case PROG_SGD: return op_sgd(x, op, out, err);
    /* a 2^f / b: the quotient of two fixed-point values is fixed point */
    case PROG_DIV: return proto_div(x->ctx, out, a, b, (unsigned)op->iattr[0], err);
    case PROG_GT: return op_gt(x, op, out, err);
    case PROG_CONCAT:
    case PROG_SLICE:
    case PROG_PAD: return op_axis(x, op, out, a, b, err);
    case PROG_OFFSET: return op_offset(x, op, out, a, err);
    case PROG_EXP: return proto_exp(x->ctx, out, a, err);
    case PROG_RECIP: return proto_recip(x->ctx, out, a, err);
    case PROG_RSQRT: return proto_rsqrt(x->ctx, out, a, err);
    case PROG_SOFTMAX: return proto_softmax(x->ctx, out, a, err);
    case PROG_LOG:
        return proto_log(x->ctx, out, a, (int)op->iattr[PROG_LOG_LO], (int)op->iattr[PROG_LOG_HI],
                         err);
    case PROG_TANH: return proto_tanh(x->ctx, out, a, err);
    case PROG_ERF: return proto_erf(x->ctx, out, a, err);
    case PROG_LOG_SOFTMAX: return proto_log_softmax(x->ctx, out, a, err);
    case PROG_OPCODE_COUNT: break;
    }
    return trine_err_set(err, TRINE_EFORMAT, "no opcode %d", (int)op->code);
}

/* Runs op i of the step into a new value of its output variable. Errors
 * are "line L col C: op: what", the protocol's own "op: " dropped. */
static trine_status_t exec_op(exec_t *x, size_t i, trine_err_t *err)
{
    const prog_op_t *op = &x->p->ops[i];
    trine_err_t e = {TRINE_OK, ""};
    tensor_t *out = tensor_new(x->s->ndim[op->out], x->s->shape[op->out]);
    trine_status_t st = out ? op_run(x, i, out, &e) : TRINE_ENOMEM;
    if (st == TRINE_OK) {
        tensor_destroy(&x->val[op->out]);
        x->val[op->out] = out;
        return TRINE_OK;
    }
    tensor_destroy(&out);
    const char *name = prog_opcode_name(op->code), *what = e.msg[0] ? e.msg : trine_strerror(st);
    size_t len = strlen(name);
    if (strncmp(what, name, len) == 0 && strncmp(what + len, ": ", 2) == 0)
        what += len + 2;
    char pos[48] = "";
    if (op->line)
        snprintf(pos, sizeof pos, "line %u col %u: ", (unsigned)op->line, (unsigned)op->col);
    return trine_err_set(err, st, "%s%s: %s", pos, name, what);
}

/* "[3, 4]" into buf (cut short when len is too small). */
static void shape_str(char *buf, size_t len, int ndim, const size_t *shape)
{
    int n = snprintf(buf, len, "[");
    for (int d = 0; d < ndim && n > 0 && (size_t)n < len; d++)
        n += snprintf(buf + n, len - (size_t)n, d ? ", %zu" : "%zu", shape[d]);
    if (n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "]");
}

/* P0 and P1 must give every input's share with its declared shape. */
static trine_status_t check_inputs(const prog_t *p, const tensor_t *const *inputs, trine_err_t *err)
{
    for (size_t v = 0; v < p->nvars; v++) {
        const prog_var_t *var = &p->vars[v];
        if (var->kind == PROG_VAR_TEMP)
            continue;
        const tensor_t *t = inputs ? inputs[v] : NULL;
        if (!t)
            return trine_err_set(err, TRINE_EINVAL, "input %s: no share given", var->name);
        bool same = t->ndim == var->ndim;
        for (int d = 0; same && d < var->ndim; d++)
            same = t->shape[d] == var->shape[d];
        if (!same) {
            char got[96], want[96];
            shape_str(got, sizeof got, t->ndim, t->shape);
            shape_str(want, sizeof want, var->ndim, var->shape);
            return trine_err_set(err, TRINE_ESHAPE,
                                 "input %s: the share is %s, the program says %s", var->name, got,
                                 want);
        }
    }
    return TRINE_OK;
}

/* The rows perm[start .. start + rows) of t, in that order. */
static tensor_t *rows_gather(const tensor_t *t, const size_t *perm, size_t start, size_t rows)
{
    size_t shape[TENSOR_MAX_DIMS], width = t->size / t->shape[0];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = rows;
    tensor_t *out = tensor_new(t->ndim, shape);
    for (size_t i = 0; out && i < rows; i++)
        memcpy(out->data + i * width, t->data + perm[start + i] * width, width * sizeof *t->data);
    return out;
}

/* Loads the step's values of the inputs: the copies of whole inputs once
 * (first), and the rows [start, start + rows) of batch inputs, or with
 * perm the rows perm[start ..] of the epoch's order; P2's are zeros of
 * the step's shapes. */
static trine_status_t load_inputs(exec_t *x, const tensor_t *const *inputs, bool first,
                                  const size_t *perm, size_t start, size_t rows)
{
    for (size_t v = 0; v < x->p->nvars; v++) {
        prog_var_kind_t kind = x->p->vars[v].kind;
        if (kind == PROG_VAR_TEMP || (kind == PROG_VAR_INPUT && !first))
            continue;
        tensor_destroy(&x->val[v]);
        if (x->helper)
            x->val[v] = tensor_new(x->s->ndim[v], x->s->shape[v]);
        else if (kind == PROG_VAR_INPUT)
            x->val[v] = tensor_copy(inputs[v]);
        else if (perm)
            x->val[v] = rows_gather(inputs[v], perm, start, rows);
        else
            x->val[v] = tensor_rows(inputs[v], start, rows);
        if (!x->val[v])
            return TRINE_ENOMEM;
    }
    return TRINE_OK;
}

/* Allocates the batched outputs: the last epoch's steps concatenated along
 * axis 0, from the shapes of a full step and of the short last one (part,
 * NULL when none), which must agree past axis 0. */
static trine_status_t alloc_batched(const prog_t *p, const prog_shapes_t *full,
                                    const prog_shapes_t *part, size_t per_epoch, tensor_t **outputs,
                                    trine_err_t *err)
{
    for (size_t v = 0; v < p->nvars; v++) {
        if (!p->vars[v].output || !full->batched[v])
            continue;
        size_t shape[TENSOR_MAX_DIMS];
        int ndim = full->ndim[v];
        memcpy(shape, full->shape[v], sizeof shape);
        shape[0] *= part ? per_epoch - 1 : per_epoch;
        if (part) {
            bool same = part->ndim[v] == ndim;
            for (int d = 1; same && d < ndim; d++)
                same = part->shape[v][d] == full->shape[v][d];
            if (!same)
                return trine_err_set(err, TRINE_ESHAPE,
                                     "output %s: its shape past axis 0 changes with the batch "
                                     "size, so its steps do not concatenate",
                                     p->vars[v].name);
            shape[0] += part->shape[v][0];
        }
        if (!(outputs[v] = tensor_new(ndim, shape)))
            return trine_err_set(err, TRINE_ENOMEM, "output %s: no memory", p->vars[v].name);
    }
    return TRINE_OK;
}

typedef struct {
    prog_shapes_t *full, *part; /* the shapes of a full and of a short step */
    size_t n, batch, per_epoch;
    uint64_t steps;
} plan_t;

/* Works out the steps of the job and checks the program for both batch
 * sizes it will see. */
static trine_status_t plan_steps(const prog_job_t *job, plan_t *pl, trine_err_t *err)
{
    const prog_t *p = job->prog;
    pl->n = prog_batch_rows(p);
    pl->batch = pl->n ? job->batch : 0;
    pl->per_epoch = 1;
    if (pl->n && (job->batch == 0 || job->epochs == 0))
        return trine_err_set(err, TRINE_EINVAL, "a job needs a batch and epochs of at least 1");
    if (pl->n)
        pl->per_epoch = (pl->n + job->batch - 1) / job->batch;
    pl->steps = prog_job_steps(job);
    pl->full = calloc(1, sizeof *pl->full);
    if (!pl->full)
        return trine_err_set(err, TRINE_ENOMEM, "no memory for the program's shapes");
    size_t rows = pl->n < pl->batch ? pl->n : pl->batch;
    trine_status_t st = prog_check(p, rows, pl->full, err);
    if (st != TRINE_OK || !pl->n || pl->n % pl->batch == 0 || pl->n < pl->batch)
        return st;
    if (!(pl->part = calloc(1, sizeof *pl->part)))
        return trine_err_set(err, TRINE_ENOMEM, "no memory for the program's shapes");
    return prog_check(p, pl->n % pl->batch, pl->part, err);
}

static trine_status_t exec_alloc(exec_t *x)
{
    size_t nv = x->p->nvars, no = x->p->nops;
    x->val = calloc(nv, sizeof *x->val);
    x->masked = calloc(nv, sizeof *x->masked);
    x->maskable = calloc(nv, sizeof *x->maskable);
    x->reuse = calloc(no ? no : 1, sizeof *x->reuse);
    x->keep = calloc(no ? no : 1, sizeof *x->keep);
    x->kept = calloc(no ? no : 1, sizeof *x->kept);
    x->fuse = calloc(no ? no : 1, sizeof *x->fuse);
    x->moved = malloc((no ? no : 1) * sizeof *x->moved);
    for (size_t j = 0; x->moved && j < no; j++)
        x->moved[j] = -1;
    return x->val && x->masked && x->maskable && x->reuse && x->keep && x->kept && x->fuse &&
                   x->moved
               ? TRINE_OK
               : TRINE_ENOMEM;
}

static void drop_kept(exec_t *x)
{
    for (size_t i = 0; x->kept && i < x->p->nops; i++)
        tensor_destroy(&x->kept[i]);
}

static void exec_free(exec_t *x)
{
    drop_kept(x);
    for (size_t v = 0; v < x->p->nvars; v++) {
        if (x->val)
            tensor_destroy(&x->val[v]);
        if (x->masked)
            proto_masked_destroy(&x->masked[v]);
    }
    free(x->val), free(x->masked), free(x->maskable);
    free(x->reuse), free(x->keep), free(x->kept), free(x->fuse), free(x->moved);
}

/* One step over the rows [start, start + rows) of the batch inputs (of
 * the epoch's order perm, when shuffled). */
static trine_status_t exec_step(exec_t *x, const tensor_t *const *inputs, bool first,
                                const size_t *perm, size_t start, size_t rows, trine_err_t *err)
{
    trine_status_t st = load_inputs(x, inputs, first, perm, start, rows);
    if (st != TRINE_OK)
        return trine_err_set(err, st, "no memory for the inputs of a step");
    for (size_t i = 0; st == TRINE_OK && i < x->p->nops; i++)
        st = exec_op(x, i, err);
    drop_kept(x);
    return st;
}

/* Appends the step's batched outputs at offsets off (elements). */
static void collect_batched(const exec_t *x, tensor_t **outputs, size_t *off)
{
    for (size_t v = 0; v < x->p->nvars; v++) {
        const tensor_t *t = x->val[v];
        if (!x->p->vars[v].output || !x->s->batched[v])
            continue;
        memcpy(outputs[v]->data + off[v], t->data, t->size * sizeof *t->data);
        off[v] += t->size;
    }
}

trine_status_t prog_exec(proto_ctx_t *ctx, const prog_job_t *job, const tensor_t *const *inputs,
                         tensor_t **outputs, trine_err_t *err)
{
    const prog_t *p = job->prog;
    exec_t x = {.ctx = ctx, .p = p, .f = proto_ctx_frac_bits(ctx), .masked_in = job->masked_in};
    x.helper = proto_ctx_role(ctx) == PROTO_P2;
    plan_t pl = {0};
    size_t *off = NULL;
    trine_status_t st = plan_steps(job, &pl, err);
    bool cleared = st == TRINE_OK; /* nvars is trusted from here on */
    for (size_t v = 0; cleared && v < p->nvars; v++)
        outputs[v] = NULL;
    if (st == TRINE_OK && !x.helper)
        st = check_inputs(p, inputs, err);
    if (st == TRINE_OK && (exec_alloc(&x) != TRINE_OK ||
                           exec_plan(&x, pl.steps, job->masked_out != NULL) != TRINE_OK ||
                           exec_plan_fuse(&x, pl.full) != TRINE_OK ||
                           !(off = calloc(p->nvars, sizeof *off))))
        st = trine_err_set(err, TRINE_ENOMEM, "no memory to run the program");
    if (st == TRINE_OK)
        st = alloc_batched(p, pl.full, pl.part, pl.per_epoch, outputs, err);
    /* P0 and P1 shuffle the rows of each epoch alike; P2 has none */
    size_t *perm = NULL;
    if (st == TRINE_OK && job->shuffle && pl.n && !x.helper &&
        !(perm = malloc(pl.n * sizeof *perm)))
        st = trine_err_set(err, TRINE_ENOMEM, "no memory to shuffle %zu rows", pl.n);
    uint64_t last_epoch = pl.steps - pl.per_epoch;
    for (uint64_t step = 0; st == TRINE_OK && step < pl.steps; step++) {
        size_t start = (size_t)(step % pl.per_epoch) * pl.batch;
        size_t rows = pl.n - start < pl.batch ? pl.n - start : pl.batch;
        x.s = pl.part && rows < pl.batch ? pl.part : pl.full;
        st = proto_pace(ctx, step, pl.steps, err);
        if (st == TRINE_OK && perm && start == 0)
            st = proto_shuffle_draw(ctx, perm, pl.n, err);
        if (st == TRINE_OK)
            st = exec_step(&x, inputs, step == 0, perm, start, rows, err);
        if (st == TRINE_OK && step >= last_epoch)
            collect_batched(&x, outputs, off);
        if (st == TRINE_OK && job->progress)
            job->progress(job->progress_arg, step + 1, pl.steps);
    }
    for (size_t v = 0; st == TRINE_OK && v < p->nvars; v++)
        if (p->vars[v].output && !pl.full->batched[v]) {
            outputs[v] = x.val[v];
            x.val[v] = NULL;
        }
    for (size_t v = 0; st == TRINE_OK && v < p->nvars; v++) /* fresh shares, in variable order */
        if (outputs[v])
            st = proto_rerandomize(ctx, outputs[v], err);
    for (size_t v = 0; st == TRINE_OK && job->masked_out && v < p->nvars; v++) {
        job->masked_out[v] = x.masked[v];
        x.masked[v] = NULL;
    }
    for (size_t v = 0; cleared && v < p->nvars; v++) {
        if (st != TRINE_OK)
            tensor_destroy(&outputs[v]);
        else if (x.helper && outputs[v])
            memset(outputs[v]->data, 0, outputs[v]->size * sizeof *outputs[v]->data);
    }
    if (cleared)
        exec_free(&x);
    free(off), free(perm), free(pl.full), free(pl.part);
    return st;
}
