/* prog_plain.c — the plaintext reference backend: a program run on doubles
 * with the semantics of prog_exec (program.h), so that a private result can
 * be compared with the plain one, one flag apart.
 *
 * Everything that can fail is settled before the first step: prog_check for
 * the full and the short batch, the inputs' shapes, that batched outputs
 * concatenate, BLAS's int limits, and every buffer. The steps themselves
 * then cannot fail and allocate nothing. Batch inputs are read in place
 * (a batch is a run of consecutive rows, contiguous in C order), or, when
 * the job shuffles, copied a step's rows at a time; inputs an
 * op writes get a private copy that carries across steps; each temp owns a
 * buffer sized for the larger of the two batch sizes. An op writing an
 * input computes into a scratch buffer first, so that w = matmul(w, v) does
 * not overwrite w while reading it.
 */
#include "program.h"

#include "tensor/prg.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void prog_plain_destroy(prog_plain_t **t)
{
    if (!t || !*t)
        return;
    free((*t)->data);
    free(*t);
    *t = NULL;
}

/* Elements of variable v in the shapes of one step. */
static size_t var_size(const prog_shapes_t *s, int v)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim[v]; i++)
        n *= s->shape[v][i];
    return n;
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* ---- kernels ------------------------------------------------------------ */

static void run_matmul(const prog_op_t *op, const prog_shapes_t *s, const double *a,
                       const double *b, double *out)
{
    const size_t *as = s->shape[op->in[0]], *bs = s->shape[op->in[1]];
    bool ta = op->iattr[0], tb = op->iattr[1];
    size_t m = as[ta], n = as[!ta], v = bs[!tb];
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)v, (blasint)n, 1.0, a, (blasint)as[1], b, (blasint)bs[1], 0.0,
                out, (blasint)v);
}

/* out = a + sign b, b broadcast over a: both padded on the left to four
 * extents, b's stride 0 along the axes it repeats. */
static void run_broadcast(const prog_op_t *op, const prog_shapes_t *s, const double *a,
                          const double *b, double *out, double sign)
{
    int an = s->ndim[op->in[0]], bn = s->ndim[op->in[1]];
    size_t ae[TENSOR_MAX_DIMS], bstride[TENSOR_MAX_DIMS];
    size_t stride = 1;
    for (int d = TENSOR_MAX_DIMS - 1; d >= 0; d--) {
        int ai = an - TENSOR_MAX_DIMS + d, bi = bn - TENSOR_MAX_DIMS + d;
        ae[d] = ai >= 0 ? s->shape[op->in[0]][ai] : 1;
        size_t be = bi >= 0 ? s->shape[op->in[1]][bi] : 1;
        bstride[d] = be == 1 ? 0 : stride;
        stride *= be;
    }
    size_t o = 0;
    for (size_t i0 = 0; i0 < ae[0]; i0++)
        for (size_t i1 = 0; i1 < ae[1]; i1++)
            for (size_t i2 = 0; i2 < ae[2]; i2++) {
                const double *brow = b + i0 * bstride[0] + i1 * bstride[1] + i2 * bstride[2];
                for (size_t i3 = 0; i3 < ae[3]; i3++, o++)
                    out[o] = a[o] + sign * brow[i3 * bstride[3]];
            }
}

static void run_sum(const prog_shapes_t *s, int in, const double *a, double *out)
{
    size_t m = s->shape[in][0], rest = var_size(s, in) / m;
    memcpy(out, a, rest * sizeof *out);
    for (size_t i = 1; i < m; i++)
        for (size_t j = 0; j < rest; j++)
            out[j] += a[i * rest + j];
}

/* One image's patch matrix, (c kh kw) x (oh ow), zero in the padding (g's
 * extents past n are one image's). */
static void im2col(double *cols, const double *x, const conv_geom_t *g, size_t oh, size_t ow)
{
    for (size_t ci = 0; ci < g->c; ci++)
        for (size_t ki = 0; ki < g->kh; ki++)
            for (size_t kj = 0; kj < g->kw; kj++) {
                double *row = cols + ((ci * g->kh + ki) * g->kw + kj) * oh * ow;
                for (size_t oy = 0; oy < oh; oy++) {
                    /* Unsigned wrap-around turns "above the top" into "far
                     * below the bottom": one comparison each. */
                    size_t y = oy * g->sh + ki - g->pt;
                    for (size_t ox = 0; ox < ow; ox++) {
                        size_t xx = ox * g->sw + kj - g->pl;
                        row[oy * ow + ox] =
                            y < g->h && xx < g->w ? x[(ci * g->h + y) * g->w + xx] : 0.0;
                    }
                }
            }
}

/* Per image and group: the group's filters [oc/g, c/g kh kw] times its
 * patch matrix is its [oc/g, oh ow] block of the output, in NCHW order. */
static void run_conv2d(const prog_op_t *op, const prog_shapes_t *s, const double *x,
                       const double *f, double *out, double *cols)
{
    const size_t *fs = s->shape[op->in[1]], *os = s->shape[op->out];
    conv_geom_t g = prog_conv_geom(op, s->shape[op->in[0]], fs);
    size_t ng = g.groups > 1 ? g.groups : 1, c = g.c;
    g.c /= ng;
    size_t og = fs[0] / ng, oh = os[2], ow = os[3], ckk = g.c * g.kh * g.kw;
    for (size_t img = 0; img < g.n; img++)
        for (size_t k = 0; k < ng; k++) {
            im2col(cols, x + (img * c + k * g.c) * g.h * g.w, &g, oh, ow);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)og,
                        (blasint)(oh * ow), (blasint)ckk, 1.0, f + k * og * ckk, (blasint)ckk,
                        cols, (blasint)(oh * ow), 0.0, out + (img * fs[0] + k * og) * oh * ow,
                        (blasint)(oh * ow));
        }
}

/* The gradients of y = conv2d(x, w) from dy at y, straight from the
 * definition y[n,o,oy,ox] = sum x[n,c,oy sh + ki - pt, ox sw + kj - pl]
 * w[o,c,ki,kj] (no im2col: a reference apart from the shares' path):
 * dx (b = w) or dw (b = x), each the sum of dy times the other factor. */
static void run_conv_grad(const prog_op_t *op, const prog_shapes_t *s, const double *dy,
                          const double *b, double *out)
{
    bool in = op->code == PROG_CONV2D_GRAD_INPUT;
    const size_t *ds = s->shape[op->in[0]], *os = s->shape[op->out];
    const size_t *xs = in ? os : s->shape[op->in[1]], *ws = in ? s->shape[op->in[1]] : os;
    conv_geom_t g = prog_conv_geom(op, xs, ws);
    size_t oc = ds[1], oh = ds[2], ow = ds[3];
    memset(out, 0, var_size(s, op->out) * sizeof *out);
    for (size_t n = 0; n < g.n; n++)
        for (size_t o = 0; o < oc; o++)
            for (size_t oy = 0; oy < oh; oy++)
                for (size_t ox = 0; ox < ow; ox++) {
                    double d = dy[((n * oc + o) * oh + oy) * ow + ox];
                    for (size_t c = 0; c < g.c; c++)
                        for (size_t ki = 0; ki < g.kh; ki++) {
                            size_t y = oy * g.sh + ki - g.pt; /* wraps above the top */
                            for (size_t kj = 0; kj < g.kw; kj++) {
                                size_t xx = ox * g.sw + kj - g.pl;
                                if (y >= g.h || xx >= g.w)
                                    continue;
                                size_t xi = ((n * g.c + c) * g.h + y) * g.w + xx;
                                size_t wi = ((o * g.c + c) * g.kh + ki) * g.kw + kj;
                                if (in)
                                    out[xi] += d * b[wi];
                                else
                                    out[wi] += d * b[xi];
                            }
                        }
                }
}

/* The elements of window i (extent k, stride s) inside an input of n
 * elements padded by lo before it: [*first, *end) on the input's axis. */
static void window_span(size_t i, size_t k, size_t s, size_t lo, size_t n, size_t *first,
                        size_t *end)
{
    size_t start = i * s;
    *first = start > lo ? start - lo : 0;
    *end = start + k < lo + n ? start + k - lo : n;
}

typedef enum { POOL_MAX, POOL_AVG, POOL_MAX_GRAD } pool_kind_t;

/* Pooling of x (NCHW, the shape of operand xin), padding left out of the
 * max (minus infinity) and of the sum. For POOL_MAX_GRAD, g is the
 * gradient at the pooled output and out has x's shape. */
static void run_pool(const prog_op_t *op, const prog_shapes_t *s, int xin, const double *x,
                     const double *g, double *out, pool_kind_t kind)
{
    const size_t *xs = s->shape[xin];
    proto_pool_t p = prog_pool_geom(op);
    size_t planes = xs[0] * xs[1], h = xs[2], w = xs[3];
    size_t oh = (h + p.pt + p.pb - p.kh) / p.sh + 1, ow = (w + p.pl + p.pr - p.kw) / p.sw + 1;
    if (kind == POOL_MAX_GRAD)
        memset(out, 0, planes * h * w * sizeof *out);
    for (size_t pl = 0; pl < planes; pl++) {
        const double *xp = x + pl * h * w;
        for (size_t oy = 0; oy < oh; oy++)
            for (size_t ox = 0; ox < ow; ox++) {
                size_t o = (pl * oh + oy) * ow + ox, y0, y1, x0, x1;
                window_span(oy, p.kh, p.sh, p.pt, h, &y0, &y1);
                window_span(ox, p.kw, p.sw, p.pl, w, &x0, &x1);
                /* the first maximum in row-major window order */
                double sum = 0.0;
                size_t best = y0 * w + x0;
                for (size_t yy = y0; yy < y1; yy++)
                    for (size_t xx = x0; xx < x1; xx++) {
                        sum += xp[yy * w + xx];
                        if (xp[yy * w + xx] > xp[best])
                            best = yy * w + xx;
                    }
                if (kind == POOL_AVG)
                    out[o] = sum / (double)(p.count_pad ? p.kh * p.kw : (y1 - y0) * (x1 - x0));
                else if (kind == POOL_MAX)
                    out[o] = xp[best];
                else
                    out[pl * h * w + best] += g[o];
            }
    }
}

/* out = a with its axes permuted (op->ndim 0: the 2-D swap). */
static void run_transpose(const prog_op_t *op, const prog_shapes_t *s, const double *a, double *out)
{
    int n = op->ndim ? op->ndim : 2;
    size_t perm[TENSOR_MAX_DIMS] = {1, 0}, ext[TENSOR_MAX_DIMS], stride[TENSOR_MAX_DIMS];
    if (op->ndim)
        memcpy(perm, op->shape, sizeof perm);
    const size_t *as = s->shape[op->in[0]];
    size_t step = 1, in_stride[TENSOR_MAX_DIMS];
    for (int d = n - 1; d >= 0; d--) {
        in_stride[d] = step;
        step *= as[d];
    }
    /* walk the output in order; stride[i] is the input stride of the input
     * axis on output axis i, padded with extents of 1 to four axes */
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) {
        ext[i] = i < n ? as[perm[i]] : 1;
        stride[i] = i < n ? in_stride[perm[i]] : 0;
    }
    size_t o = 0;
    for (size_t i0 = 0; i0 < ext[0]; i0++)
        for (size_t i1 = 0; i1 < ext[1]; i1++)
            for (size_t i2 = 0; i2 < ext[2]; i2++)
                for (size_t i3 = 0; i3 < ext[3]; i3++)
                    out[o++] = a[i0 * stride[0] + i1 * stride[1] + i2 * stride[2] + i3 * stride[3]];
}

static void run_argmax(const prog_shapes_t *s, int in, const double *a, double *out)
{
    size_t m = s->shape[in][0], k = s->shape[in][1];
    for (size_t i = 0; i < m; i++) {
        const double *row = a + i * k;
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (row[j] > row[best])
                best = j;
        out[i] = (double)best;
    }
}

/* concat, slice and pad along one axis, doubles moved as 8-byte words. */
static void run_axis(const prog_op_t *op, const prog_shapes_t *s, const double *a,
                     const double *b, double *out)
{
    _Static_assert(sizeof(double) == sizeof(uint64_t), "doubles move as ring words");
    int axis = (int)op->iattr[0];
    const size_t *os = s->shape[op->out];
    for (size_t i = 0; op->code == PROG_PAD && i < var_size(s, op->out); i++)
        out[i] = op->fattr;
    prog_axis_copy(op, s->ndim[op->in[0]], s->shape[op->in[0]],
                   b ? s->shape[op->in[1]][axis] : 0, os[axis], (const uint64_t *)(const void *)a,
                   (const uint64_t *)(const void *)b, (uint64_t *)(void *)out);
}

/* Softmax along the last axis, the maximum subtracted first; take_log:
 * log-softmax: a - max - ln sum e^(a - max). */
static void run_softmax(const prog_shapes_t *s, int in, const double *a, double *out, bool take_log)
{
    size_t k = s->shape[in][s->ndim[in] - 1], m = var_size(s, in) / k;
    for (size_t i = 0; i < m; i++) {
        const double *row = a + i * k;
        double mx = row[0], sum = 0;
        for (size_t j = 1; j < k; j++)
            mx = row[j] > mx ? row[j] : mx;
        for (size_t j = 0; j < k; j++)
            sum += out[i * k + j] = exp(row[j] - mx);
        for (size_t j = 0; j < k; j++)
            out[i * k + j] = take_log ? row[j] - mx - log(sum) : out[i * k + j] / sum;
    }
}

static double sigmoid_piecewise(double x)
{
    return x < -0.5 ? 0.0 : x > 0.5 ? 1.0 : x + 0.5;
}

/* The elementwise ops: n values of a (and b) into out. */
static void run_elementwise(const prog_op_t *op, size_t n, const double *a, const double *b,
                            double *out)
{
    double f = op->fattr;
    switch (op->code) {
    case PROG_MUL:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] * b[i];
        break;
    case PROG_SGD:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] - f * b[i];
        break;
    case PROG_SCALE:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] * f;
        break;
    case PROG_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] > 0.0 ? a[i] : 0.0;
        break;
    case PROG_DRELU:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] >= 0.0 ? 1.0 : 0.0;
        break;
    case PROG_SIGMOID:
        for (size_t i = 0; i < n; i++)
            out[i] = op->iattr[0] ? proto_sigmoid_fine_ref(a[i]) : sigmoid_piecewise(a[i]);
        break;
    case PROG_DIV: /* the exact quotient, whatever the precondition says */
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] / b[i];
        break;
    case PROG_GT:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] > b[i] ? 1.0 : 0.0;
        break;
    case PROG_OFFSET:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] + f;
        break;
    case PROG_EXP:
        for (size_t i = 0; i < n; i++)
            out[i] = exp(a[i]);
        break;
    case PROG_RECIP:
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0 / a[i];
        break;
    case PROG_RSQRT:
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0 / sqrt(a[i]);
        break;
    case PROG_LOG:
        for (size_t i = 0; i < n; i++)
            out[i] = log(a[i]);
        break;
    case PROG_TANH:
        for (size_t i = 0; i < n; i++)
            out[i] = tanh(a[i]);
        break;
    case PROG_ERF:
        for (size_t i = 0; i < n; i++)
            out[i] = erf(a[i]);
        break;
    default: /* PROG_RESHAPE: the same values in the same order */
        memcpy(out, a, n * sizeof *out);
        break;
    }
}

/* Runs one checked op with operands a, b (b NULL for one operand). */
static void run_op(const prog_op_t *op, const prog_shapes_t *s, const double *a, const double *b,
                   double *out, double *cols)
{
    switch (op->code) {
    case PROG_MATMUL: run_matmul(op, s, a, b, out); return;
    case PROG_ADD: run_broadcast(op, s, a, b, out, 1.0); return;
    case PROG_SUB: run_broadcast(op, s, a, b, out, -1.0); return;
    case PROG_SUM: run_sum(s, op->in[0], a, out); return;
    case PROG_CONV2D: run_conv2d(op, s, a, b, out, cols); return;
    case PROG_CONV2D_GRAD_INPUT:
    case PROG_CONV2D_GRAD_WEIGHTS: run_conv_grad(op, s, a, b, out); return;
    case PROG_MAXPOOL: run_pool(op, s, op->in[0], a, NULL, out, POOL_MAX); return;
    case PROG_AVGPOOL: run_pool(op, s, op->in[0], a, NULL, out, POOL_AVG); return;
    case PROG_MAXPOOL_GRAD: run_pool(op, s, op->in[1], b, a, out, POOL_MAX_GRAD); return;
    case PROG_TRANSPOSE: run_transpose(op, s, a, out); return;
    case PROG_ARGMAX: run_argmax(s, op->in[0], a, out); return;
    case PROG_CONCAT:
    case PROG_SLICE:
    case PROG_PAD: run_axis(op, s, a, b, out); return;
    case PROG_SOFTMAX: run_softmax(s, op->in[0], a, out, false); return;
    case PROG_LOG_SOFTMAX: run_softmax(s, op->in[0], a, out, true); return;
    default: run_elementwise(op, var_size(s, op->out), a, b, out); return;
    }
}

/* ---- planning ----------------------------------------------------------- */

/* BLAS takes int extents: checks op's dgemm calls fit, and grows *cols to
 * the patch matrix a convolution needs. */
static trine_status_t plan_op(const prog_op_t *op, const prog_shapes_t *s, size_t *cols,
                              trine_err_t *err)
{
    const size_t *as = s->shape[op->in[0]];
    size_t dims[4] = {0};
    if (op->code == PROG_MATMUL) {
        const size_t *bs = s->shape[op->in[1]];
        memcpy(dims, (size_t[]){as[0], as[1], bs[0], bs[1]}, sizeof dims);
    } else if (op->code == PROG_CONV2D) {
        const size_t *fs = s->shape[op->in[1]], *os = s->shape[op->out];
        size_t ckk = fs[1] * fs[2] * fs[3], ohw = os[2] * os[3]; /* one group's */
        if (ohw > SIZE_MAX / ckk)
            ckk = SIZE_MAX; /* fails the int test below */
        else
            *cols = max_size(*cols, ckk * ohw);
        memcpy(dims, (size_t[]){fs[0], ckk, ohw, 0}, sizeof dims);
    }
    for (int i = 0; i < 4; i++)
        if (dims[i] > INT_MAX)
            return trine_err_set(
                err, TRINE_ELIMIT, "line %u col %u: %s: extent %zu is beyond BLAS's int limit",
                (unsigned)op->line, (unsigned)op->col, prog_opcode_name(op->code), dims[i]);
    return TRINE_OK;
}

/* ---- the job ------------------------------------------------------------ */

typedef struct {
    const prog_t *p;
    const prog_shapes_t *full, *last; /* a full batch and the epoch's last */
    size_t rows_full, rows_last, per_epoch, n;
    const double **val; /* nvars: where each variable is read this step */
    double **own;       /* nvars: temps' buffers and written inputs' values */
    bool *stored;       /* nvars: an input some op writes */
    double *scratch;    /* the result of an op that writes an input */
    double *cols;       /* one image's patch matrix */
    size_t *perm;       /* the epoch's order of the rows when shuffled, else NULL */
} run_t;

static void run_free(run_t *r)
{
    if (r->own)
        for (size_t i = 0; i < r->p->nvars; i++)
            free(r->own[i]);
    free(r->own);
    free(r->val);
    free(r->stored);
    free(r->scratch);
    free(r->cols);
    free(r->perm);
}

static trine_status_t check_inputs(const prog_t *p, const prog_plain_t *const *inputs,
                                   trine_err_t *err)
{
    for (size_t i = 0; i < p->nvars; i++) {
        const prog_var_t *v = &p->vars[i];
        if (v->kind == PROG_VAR_TEMP)
            continue;
        const prog_plain_t *t = inputs[i];
        if (!t || !t->data)
            return trine_err_set(err, TRINE_EINVAL, "input %s: no value given", v->name);
        bool same = t->ndim == v->ndim;
        for (int k = 0; same && k < v->ndim; k++)
            same = t->shape[k] == v->shape[k];
        size_t size;
        if (!same || tensor_shape_check(t->ndim, t->shape, &size) != TRINE_OK || size != t->size)
            return trine_err_set(err, TRINE_ESHAPE,
                                 "input %s: the value's shape is not the declared one", v->name);
    }
    return TRINE_OK;
}

/* A batched output is the rows of every step of an epoch stacked: the
 * full and the short batch must agree past axis 0. */
static trine_status_t output_shape(const run_t *r, int v, int *ndim, size_t *shape,
                                   trine_err_t *err)
{
    const prog_shapes_t *f = r->full, *l = r->last;
    *ndim = f->ndim[v];
    memcpy(shape, f->shape[v], sizeof f->shape[v]);
    if (!f->batched[v])
        return TRINE_OK;
    bool same = l->ndim[v] == f->ndim[v];
    for (int k = 1; same && k < f->ndim[v]; k++)
        same = l->shape[v][k] == f->shape[v][k];
    size_t full = f->shape[v][0], rows = l->shape[v][0], size;
    if (same && full <= (SIZE_MAX - rows) / r->per_epoch) {
        shape[0] = full * (r->per_epoch - 1) + rows;
        if (tensor_shape_check(*ndim, shape, &size) == TRINE_OK)
            return TRINE_OK;
    }
    return trine_err_set(err, TRINE_ESHAPE,
                         "output %s: its values for a batch of %zu rows and of %zu rows do not "
                         "stack along axis 0",
                         r->p->vars[v].name, r->rows_full, r->rows_last);
}

/* Buffers for temps, written inputs, outputs and scratch, sized for the
 * larger of the two batch shapes. */
static trine_status_t run_alloc(run_t *r, const prog_plain_t *const *inputs, prog_plain_t **outputs,
                                trine_err_t *err)
{
    const prog_t *p = r->p;
    size_t scratch = 0, cols = 0;
    r->val = calloc(p->nvars, sizeof *r->val);
    r->own = calloc(p->nvars, sizeof *r->own);
    r->stored = calloc(p->nvars, sizeof *r->stored);
    if (!r->val || !r->own || !r->stored)
        return trine_err_set(err, TRINE_ENOMEM, "program: out of memory");
    for (size_t i = 0; i < p->nops; i++) {
        const prog_op_t *op = &p->ops[i];
        trine_status_t st = plan_op(op, r->full, &cols, err);
        if (st == TRINE_OK)
            st = plan_op(op, r->last, &cols, err);
        if (st != TRINE_OK)
            return st;
        if (p->vars[op->out].kind == PROG_VAR_INPUT) {
            r->stored[op->out] = true;
            scratch = max_size(scratch, inputs[op->out]->size);
        }
    }
    for (size_t i = 0; i < p->nvars; i++) {
        int v = (int)i;
        if (p->vars[i].kind == PROG_VAR_TEMP || r->stored[i] ||
            (r->perm && p->vars[i].kind == PROG_VAR_BATCH)) {
            size_t n = max_size(var_size(r->full, v), var_size(r->last, v));
            if (!(r->own[i] = malloc(n * sizeof(double))))
                return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory", p->vars[i].name);
            if (r->stored[i])
                memcpy(r->own[i], inputs[i]->data, n * sizeof(double));
        }
        r->val[i] = r->own[i] ? r->own[i] : inputs[i]->data;
        if (!p->vars[i].output)
            continue;
        prog_plain_t *o = calloc(1, sizeof *o);
        if (!(outputs[i] = o))
            return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory", p->vars[i].name);
        trine_status_t st = output_shape(r, v, &o->ndim, o->shape, err);
        if (st != TRINE_OK)
            return st;
        if (tensor_shape_check(o->ndim, o->shape, &o->size) != TRINE_OK ||
            !(o->data = malloc(o->size * sizeof(double))))
            return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory", p->vars[i].name);
    }
    if ((scratch && !(r->scratch = malloc(scratch * sizeof(double)))) ||
        (cols && !(r->cols = malloc(cols * sizeof(double)))))
        return trine_err_set(err, TRINE_ENOMEM, "program: out of memory");
    return TRINE_OK;
}

/* One step over rows [start, start + rows) of the batch inputs, or with
 * r->perm the rows perm[start ..] gathered in r->own. */
static void run_step(run_t *r, const prog_plain_t *const *inputs, size_t start,
                     const prog_shapes_t *s)
{
    const prog_t *p = r->p;
    for (size_t i = 0; i < p->nvars; i++) {
        if (p->vars[i].kind != PROG_VAR_BATCH)
            continue;
        size_t width = inputs[i]->size / r->n, rows = s->shape[i][0];
        if (!r->perm) {
            r->val[i] = inputs[i]->data + start * width;
            continue;
        }
        for (size_t k = 0; k < rows; k++)
            memcpy(r->own[i] + k * width, inputs[i]->data + r->perm[start + k] * width,
                   width * sizeof(double));
        r->val[i] = r->own[i];
    }
    for (size_t i = 0; i < p->nops; i++) {
        const prog_op_t *op = &p->ops[i];
        const double *b = op->in[1] >= 0 ? r->val[op->in[1]] : NULL;
        bool stored = r->stored[op->out];
        double *out = stored ? r->scratch : r->own[op->out];
        run_op(op, s, r->val[op->in[0]], b, out, r->cols);
        if (stored)
            memcpy(r->own[op->out], out, var_size(s, op->out) * sizeof *out);
    }
}

/* Copies the step's outputs: batched ones at their rows, the others after
 * the job's last step. */
static void run_collect(const run_t *r, prog_plain_t **outputs, size_t k, const prog_shapes_t *s,
                        bool last_step)
{
    for (size_t i = 0; i < r->p->nvars; i++) {
        int v = (int)i;
        if (!outputs[i] || (!s->batched[i] && !last_step))
            continue;
        size_t at = s->batched[i] ? k * var_size(r->full, v) : 0;
        memcpy(outputs[i]->data + at, r->val[i], var_size(s, v) * sizeof(double));
    }
}

/* The order of epoch e's rows: words of stream e of a PRG seeded with
 * seed, by proto_permutation as prog_exec's. */
static trine_status_t plain_shuffle(size_t *perm, size_t n, uint64_t seed, unsigned e,
                                    trine_err_t *err)
{
    uint8_t key[PRG_SEED_BYTES] = {0};
    memcpy(key, &seed, sizeof seed);
    prg_t *prg = prg_new(key);
    uint64_t *r = malloc(n * sizeof *r);
    bool ok = prg && r;
    if (ok) {
        prg_fill_ring(prg, e, 0, r, n);
        proto_permutation(perm, n, r);
    }
    prg_destroy(&prg);
    free(r);
    return ok ? TRINE_OK
              : trine_err_set(err, TRINE_ENOMEM, "program: no memory to shuffle %zu rows", n);
}

trine_status_t prog_plain(const prog_job_t *job, const prog_plain_t *const *inputs,
                          prog_plain_t **outputs, trine_err_t *err)
{
    if (!job || !job->prog || !inputs || !outputs)
        return trine_err_set(err, TRINE_EINVAL, "program: no job, inputs or outputs given");
    run_t r = {.p = job->prog, .n = prog_batch_rows(job->prog), .per_epoch = 1};
    unsigned epochs = 1;
    if (r.n) {
        if (job->batch == 0 || job->epochs == 0)
            return trine_err_set(err, TRINE_EINVAL, "job: batch and epochs must be at least 1");
        r.rows_full = job->batch < r.n ? job->batch : r.n;
        r.rows_last = r.n % r.rows_full ? r.n % r.rows_full : r.rows_full;
        r.per_epoch = r.n / r.rows_full + (r.n % r.rows_full != 0);
        epochs = job->epochs;
    }
    prog_shapes_t *shapes = malloc(2 * sizeof *shapes);
    if (!shapes)
        return trine_err_set(err, TRINE_ENOMEM, "program: out of memory checking shapes");
    r.full = r.last = &shapes[0];
    trine_status_t st = prog_check(r.p, r.rows_full, &shapes[0], err);
    if (st == TRINE_OK && r.rows_last != r.rows_full) {
        r.last = &shapes[1];
        st = prog_check(r.p, r.rows_last, &shapes[1], err);
    }
    bool cleared = st == TRINE_OK; /* nvars is trusted from here on */
    if (cleared) {
        for (size_t i = 0; i < r.p->nvars; i++)
            outputs[i] = NULL;
        st = check_inputs(r.p, inputs, err);
    }
    if (st == TRINE_OK && r.n && job->shuffle && !(r.perm = malloc(r.n * sizeof *r.perm)))
        st = trine_err_set(err, TRINE_ENOMEM, "program: no memory to shuffle %zu rows", r.n);
    if (st == TRINE_OK)
        st = run_alloc(&r, inputs, outputs, err);
    uint64_t steps = prog_job_steps(job), step = 0;
    for (unsigned e = 0; st == TRINE_OK && e < epochs; e++) {
        if (r.perm)
            st = plain_shuffle(r.perm, r.n, job->shuffle_seed, e, err);
        for (size_t k = 0; st == TRINE_OK && k < r.per_epoch; k++) {
            const prog_shapes_t *s = k + 1 < r.per_epoch ? r.full : r.last;
            run_step(&r, inputs, k * r.rows_full, s);
            if (e + 1 == epochs)
                run_collect(&r, outputs, k, s, k + 1 == r.per_epoch);
            if (job->progress)
                job->progress(job->progress_arg, ++step, steps);
        }
    }
    if (st != TRINE_OK && cleared)
        for (size_t i = 0; i < r.p->nvars; i++)
            prog_plain_destroy(&outputs[i]);
    run_free(&r);
    free(shapes);
    return st;
}
