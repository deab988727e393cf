/* onnx_ops_shape.c — the ONNX operators of shapes and axes (the list is in
 * onnx_compile.h): the public integer tensors of shape arithmetic (Shape,
 * Gather, Unsqueeze, Squeeze, Concat, Slice, ConstantOfShape, Range, Cast
 * and integer Add, Sub, Mul, Div; Expand of any public constant), evaluated
 * while compiling, so that
 * `x.view(x.size(0), -1)` becomes one reshape; and the same axis
 * operators on private tensors as the local concat, slice and pad of
 * program.h.
 */
#include "daemon/models/onnx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The largest count of a public integer tensor made while compiling. */
#define OX_INTS_MAX 4096

bool ox_is_ints(const ox_val_t *v)
{
    return v && v->constant && v->data && v->data->ints;
}

static int64_t ox_iv(const ox_val_t *v, size_t i)
{
    return (int64_t)v->data->ints[i];
}

/* Defines the node's output k as a public integer tensor of rank rank
 * (ndim/shape its extents, [1] for a scalar) holding vals. */
static trine_status_t ox_def_ints(ox_t *c, size_t k, int rank, int ndim, const size_t *shape,
                                  const int64_t *vals)
{
    size_t n = ox_count(ndim, shape);
    if (n > OX_INTS_MAX || ndim > TENSOR_MAX_DIMS)
        return ox_fail(c, TRINE_EUNSUPPORTED, "an integer tensor of %zu values is not supported",
                       n);
    plain_t *p = plain_alloc(PLAIN_I8, ndim, shape);
    ox_val_t *v = p ? ox_add(c, c->n->output[k]) : NULL;
    if (!v) {
        plain_destroy(&p);
        return ox_nomem(c);
    }
    for (size_t i = 0; i < n; i++)
        p->ints[i] = (uint64_t)vals[i];
    v->constant = true;
    v->data = p;
    v->rank = rank;
    v->ndim = ndim;
    memcpy(v->shape, p->shape, sizeof v->shape);
    return TRINE_OK;
}

/* The values of an optional public integer input k into v (at most max),
 * *n their count; -1 when absent. */
static trine_status_t ox_in_ints(ox_t *c, size_t k, int64_t *v, size_t max, long *n)
{
    ox_val_t *x;
    trine_status_t st = ox_in(c, k, true, &x);
    *n = -1;
    if (st || !x)
        return st;
    if (!ox_is_ints(x))
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "input '%s' must be a constant integer tensor (a public shape)", x->name);
    if (x->data->count > max)
        return ox_fail(c, TRINE_EUNSUPPORTED, "input '%s' has %zu values, at most %zu", x->name,
                       x->data->count, max);
    for (size_t i = 0; i < x->data->count; i++)
        v[i] = ox_iv(x, i);
    *n = x->rank ? (long)x->data->count : 1;
    return TRINE_OK;
}

/* An axis of a rank-r value, negative counting from the end. */
static trine_status_t ox_axis(ox_t *c, int64_t axis, int r, int *out)
{
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= (r ? r : 1))
        return ox_fail(c, TRINE_EFORMAT, "axis %lld is outside rank %d", (long long)axis, r);
    *out = (int)axis;
    return TRINE_OK;
}

/* ---- public shapes ---------------------------------------------------------------- */

static trine_status_t ox_shape_node(ox_t *c)
{
    ox_val_t *x;
    int64_t start, end;
    trine_status_t st;
    if ((st = ox_known(c, "start", "end", NULL)) || (st = ox_arity(c, 1, 1, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_int(c, "start", 0, &start)) ||
        (st = ox_int(c, "end", x->rank, &end)))
        return st;
    int r = x->rank;
    start = start < 0 ? start + r : start, end = end < 0 ? end + r : end;
    start = start < 0 ? 0 : start > r ? r : start, end = end < start ? start : end > r ? r : end;
    int64_t vals[TENSOR_MAX_DIMS];
    for (int64_t i = start; i < end; i++)
        vals[i - start] = (int64_t)x->shape[i];
    size_t n[1] = {(size_t)(end - start)};
    if (!n[0])
        return ox_fail(c, TRINE_EUNSUPPORTED, "an empty shape is not supported");
    return ox_def_ints(c, 0, 1, 1, n, vals);
}

/* Size: the element count, a public int64 scalar. */
static trine_status_t ox_size_node(ox_t *c)
{
    ox_val_t *x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 1, 1, 1)) || (st = ox_in(c, 0, false, &x)))
        return st;
    int64_t count = (int64_t)ox_count(x->ndim, x->shape);
    size_t one[1] = {1};
    return ox_def_ints(c, 0, 0, 1, one, &count);
}

/* Unsqueeze and Squeeze: the new extents, then a public copy or a reshape. */
static trine_status_t ox_squeeze(ox_t *c, bool unsqueeze)
{
    ox_val_t *x;
    int64_t axes[8];
    size_t na = 0;
    long ni;
    trine_status_t st;
    if ((st = ox_known(c, "axes", NULL)) || (st = ox_arity(c, 1, 2, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_ints(c, "axes", -1, axes, 8, &na)) ||
        (st = ox_in_ints(c, 1, axes, 8, &ni)))
        return st;
    if (ni >= 0)
        na = (size_t)ni;
    int r = x->rank, nr = unsqueeze ? r + (int)na : r;
    bool mark[2 * TENSOR_MAX_DIMS + 8] = {false};
    for (size_t i = 0; i < na; i++) {
        int a = 0;
        if ((st = ox_axis(c, axes[i], unsqueeze ? nr : r, &a)))
            return st;
        mark[a] = true;
    }
    size_t shape[2 * TENSOR_MAX_DIMS + 8];
    int out = 0;
    for (int i = 0, j = 0; i < (unsqueeze ? nr : r); i++) {
        if (unsqueeze)
            shape[out++] = mark[i] ? 1 : x->shape[j++];
        else if (na ? !mark[i] : x->shape[i] != 1)
            shape[out++] = x->shape[i];
        else if (x->shape[i] != 1)
            return ox_fail(c, TRINE_EFORMAT, "axis %d has extent %zu, not 1", i, x->shape[i]);
    }
    if (out > TENSOR_MAX_DIMS)
        return ox_fail(c, TRINE_EUNSUPPORTED, "a result of rank %d (trine: at most %d)", out,
                       TENSOR_MAX_DIMS);
    int ndim = out ? out : 1;
    if (!out)
        shape[0] = 1;
    if (ox_is_ints(x)) {
        int64_t vals[OX_INTS_MAX];
        size_t n = x->data->count > OX_INTS_MAX ? OX_INTS_MAX : x->data->count;
        for (size_t i = 0; i < n; i++)
            vals[i] = ox_iv(x, i);
        return ox_def_ints(c, 0, out, ndim, shape, vals);
    }
    ox_val_t v = *x;
    if ((v.var = ox_var(c, x)) < 0)
        return TRINE_EUNSUPPORTED;
    bool batch0 = false;
    int y = ox_reshape(c, &v, ndim, shape, &batch0);
    return ox_define(c, 0, y, out, batch0);
}

static trine_status_t ox_unsqueeze(ox_t *c)
{
    return ox_squeeze(c, true);
}

static trine_status_t ox_squeeze_node(ox_t *c)
{
    return ox_squeeze(c, false);
}

/* Variable v (shape[0..rank)) with its slices idx[0..n) along axis, in
 * that order (public indices within the extent): one slice for an
 * arithmetic progression; for a progression whose every index repeats r
 * times (nearest upsampling), the progression's slice copied r times side
 * by side on a new axis (log2 r concats) and folded back; else runs of
 * consecutive indices joined one by one. batch0: v's axis 0 is the batch
 * (and axis is not 0), which the folding reshapes keep when the axes
 * before axis are the batch alone, else the model becomes one batch
 * (ox_reshape). -1 on failure. */
static int ox_take(ox_t *c, int v, int rank, const size_t *shape, int axis, const int64_t *idx,
                   size_t n, bool batch0)
{
    size_t r = 1; /* each index repeated r times */
    while (r < n && idx[r] == idx[0])
        r++;
    bool uniform = n % r == 0;
    int64_t step = n / r > 1 ? idx[r] - idx[0] : 1;
    for (size_t i = 0; uniform && i < n; i++)
        uniform = idx[i] == idx[0] + (int64_t)(i / r) * step;
    if (uniform && step >= 1) {
        size_t m = n / r, s[TENSOR_MAX_DIMS], four[4], back[TENSOR_MAX_DIMS];
        int y = m == shape[axis] && step == 1 ? v : ox_slice_var(c, v, axis, idx[0], step, (int64_t)m);
        if (r == 1 || y < 0)
            return y;
        memcpy(s, shape, (size_t)rank * sizeof *s);
        s[axis] = m;
        memcpy(back, s, sizeof back);
        back[axis] = n;
        four[0] = ox_count(axis, s), four[1] = m, four[2] = 1;
        four[3] = ox_count(rank - axis - 1, s + axis + 1);
        bool b0;
        y = ox_reshape_var(c, y, rank, s, batch0, 4, four, &b0);
        size_t have = 1;
        while (y >= 0 && 2 * have <= r) {
            y = ox_emit(c, (prog_op_t){.code = PROG_CONCAT, .in = {y, y}, .iattr = {2}});
            have *= 2;
        }
        if (y >= 0 && have < r) {
            int part = ox_slice_var(c, y, 2, 0, 1, (int64_t)(r - have));
            y = part < 0 ? -1
                         : ox_emit(c, (prog_op_t){.code = PROG_CONCAT, .in = {y, part}, .iattr = {2}});
        }
        four[2] = r;
        return y < 0 ? -1 : ox_reshape_var(c, y, 4, four, b0, rank, back, &b0);
    }
    int y = -1;
    for (size_t i = 0; i < n; i++) {
        size_t run = 1; /* consecutive indices as one slice */
        while (i + run < n && idx[i + run] == idx[i] + (int64_t)run)
            run++;
        int sl = ox_slice_var(c, v, axis, idx[i], 1, (int64_t)run);
        y = sl < 0 || y < 0
                ? sl
                : ox_emit(c, (prog_op_t){.code = PROG_CONCAT, .in = {y, sl}, .iattr = {axis}});
        if (y < 0)
            return -1;
        i += run - 1;
    }
    return y;
}

/* Gather along axis 0 of a table x [V, ...] at private indices iv (whole
 * numbers, an embedding's token ids), as the training program's class
 * labels are made one-hot (prog_grad.h): bit k of an index i is [i - k +
 * 1/2 >= 0] for k = 0..V, its one-hot row h the difference of bits k and
 * k + 1 (exact for any whole i a share may hold; an index outside 0..V-1
 * gives a row of zeros), and the rows are the product h x: n (V + 1)
 * DReLUs and one matrix product for n indices. */
static trine_status_t ox_gather_private(ox_t *c, ox_val_t *x, ox_val_t *iv, int axis)
{
    if (axis != 0)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "private indices '%s' along axis %d (private indices select rows: axis 0)",
                       iv->name, axis);
    if (ox_is_ints(x))
        return ox_fail(c, TRINE_EUNSUPPORTED, "private indices into public integers");
    size_t v = x->shape[0], n = ox_count(iv->ndim, iv->shape), rest = ox_count(x->ndim - 1, x->shape + 1);
    if (v > OX_INTS_MAX)
        return ox_fail(c, TRINE_EUNSUPPORTED, "a table of %zu rows, at most %d", v, OX_INTS_MAX);
    if (iv->rank + x->rank - 1 > TENSOR_MAX_DIMS)
        return ox_fail(c, TRINE_EUNSUPPORTED, "a result of rank %d", iv->rank + x->rank - 1);
    int64_t zeros[OX_INTS_MAX + 1] = {0};
    size_t col[2] = {n, 1}, vs[1] = {v + 1}, tab[2] = {v, rest};
    bool b0;
    plain_t *ks = plain_alloc(PLAIN_F8, 1, vs);
    if (!ks)
        return ox_nomem(c);
    for (size_t k = 0; k <= v; k++)
        ks->real[k] = (double)k - 0.5;
    int kv = ox_new_weight(c, iv->name, ".rows", 1, vs, ks);
    int vi = ox_var(c, iv), vx = ox_var(c, x);
    int e = vi < 0 ? -1 : ox_reshape_var(c, vi, iv->ndim, iv->shape, false, 2, col, &b0);
    /* [n, V + 1]: i in every column */
    e = e < 0 ? -1 : ox_take(c, e, 2, col, 1, zeros, v + 1, false);
    int bits = e < 0 || kv < 0 ? -1 : ox_op2(c, PROG_SUB, e, kv);
    bits = bits < 0 ? -1 : ox_op1(c, PROG_DRELU, bits);
    int lo = ox_slice_var(c, bits, 1, 0, 1, (int64_t)v), hi = ox_slice_var(c, bits, 1, 1, 1, (int64_t)v);
    int h = lo < 0 || hi < 0 ? -1 : ox_op2(c, PROG_SUB, lo, hi);
    int t = vx < 0 ? -1 : ox_reshape_var(c, vx, x->ndim, x->shape, false, 2, tab, &b0);
    int y = h < 0 || t < 0 ? -1 : ox_op2(c, PROG_MATMUL, h, t);
    size_t shape[TENSOR_MAX_DIMS];
    int r = 0;
    for (int k = 0; k < iv->rank; k++)
        shape[r++] = iv->shape[k];
    for (int k = 1; k < x->rank; k++)
        shape[r++] = x->shape[k];
    if (!r)
        shape[r++] = 1;
    size_t two[2] = {n, rest};
    if (iv->batch0) /* the rows of a batch of token ids */
        c->out->rows_independent = c->out->rows_independent && !x->batch0;
    y = y < 0 ? -1 : ox_reshape_var(c, y, 2, two, false, r, shape, &b0);
    if (y < 0)
        return TRINE_EUNSUPPORTED;
    return ox_define(c, 0, y, iv->rank + x->rank - 1, iv->batch0 && shape[0] == iv->shape[0]);
}

/* Gather of public indices: from public integers, a public result; from a
 * private tensor, slices joined along the axis. */
static trine_status_t ox_gather(ox_t *c)
{
    ox_val_t *x, *iv;
    int64_t axis64;
    int axis = 0;
    trine_status_t st;
    if ((st = ox_known(c, "axis", NULL)) || (st = ox_arity(c, 2, 2, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_in(c, 1, false, &iv)) ||
        (st = ox_int(c, "axis", 0, &axis64)) || (st = ox_axis(c, axis64, x->rank, &axis)))
        return st;
    if (!ox_is_ints(iv))
        return ox_gather_private(c, x, iv, axis);
    size_t ni = iv->data->count, ext = x->shape[axis];
    int64_t idx[OX_INTS_MAX];
    if (ni > OX_INTS_MAX)
        return ox_fail(c, TRINE_EUNSUPPORTED, "%zu indices, at most %d", ni, OX_INTS_MAX);
    for (size_t i = 0; i < ni; i++) {
        int64_t k = ox_iv(iv, i);
        k = k < 0 ? k + (int64_t)ext : k;
        if (k < 0 || k >= (int64_t)ext)
            return ox_fail(c, TRINE_EFORMAT, "index %lld is outside extent %zu",
                           (long long)ox_iv(iv, i), ext);
        idx[i] = k;
    }
    /* the result: x's extents before axis, the indices', x's after */
    size_t shape[2 * TENSOR_MAX_DIMS];
    int r = 0;
    for (int d = 0; d < axis; d++)
        shape[r++] = x->shape[d];
    for (int d = 0; d < iv->rank; d++)
        shape[r++] = iv->shape[d];
    for (int d = axis + 1; d < x->rank; d++)
        shape[r++] = x->shape[d];
    if (r > TENSOR_MAX_DIMS)
        return ox_fail(c, TRINE_EUNSUPPORTED, "a result of rank %d", r);
    int ndim = r ? r : 1;
    if (!r)
        shape[0] = 1;
    size_t outer = ox_count(axis, x->shape), inner = ox_count(x->ndim - axis - 1, x->shape + axis + 1);
    if (ox_is_ints(x)) {
        int64_t *vals = malloc(outer * ni * inner * sizeof *vals + 1);
        if (!vals)
            return ox_nomem(c);
        for (size_t o = 0, k = 0; o < outer; o++)
            for (size_t i = 0; i < ni; i++)
                for (size_t e = 0; e < inner; e++)
                    vals[k++] = ox_iv(x, (o * ext + (size_t)idx[i]) * inner + e);
        st = ox_def_ints(c, 0, r, ndim, shape, vals);
        free(vals);
        return st;
    }
    ox_val_t v = *x;
    if ((v.var = ox_var(c, x)) < 0)
        return TRINE_EUNSUPPORTED;
    if (axis == 0 && v.batch0)
        c->out->rows_independent = false;
    int y = ox_take(c, v.var, x->ndim, x->shape, axis, idx, ni, v.batch0 && axis != 0);
    if (y < 0)
        return TRINE_EUNSUPPORTED;
    ox_val_t yv = {.var = y, .batch0 = v.batch0 && axis != 0};
    ox_shape_from_var(c, &yv, x->rank);
    bool batch0 = false;
    int z = ox_reshape(c, &yv, ndim, shape, &batch0);
    return ox_define(c, 0, z, r, batch0);
}

static trine_status_t ox_concat(ox_t *c)
{
    int64_t axis64;
    int axis = 0;
    trine_status_t st;
    ox_val_t *first;
    if ((st = ox_known(c, "axis", NULL)) || (st = ox_arity(c, 1, 64, 1)) ||
        (st = ox_in(c, 0, false, &first)) || (st = ox_int(c, "axis", 0, &axis64)) ||
        (st = ox_axis(c, axis64, first->rank, &axis)))
        return st;
    int rank = first->rank;
    bool ints = true;
    for (size_t k = 0; k < c->n->n_input; k++) {
        ox_val_t *v;
        if ((st = ox_in(c, k, false, &v)))
            return st;
        ints = ints && ox_is_ints(v);
    }
    if (ints) {
        int64_t vals[OX_INTS_MAX];
        size_t n = 0;
        if (rank > 1)
            return ox_fail(c, TRINE_EUNSUPPORTED, "integer tensors of rank %d are not supported",
                           rank);
        for (size_t k = 0; k < c->n->n_input; k++) {
            ox_val_t *v = ox_find(c, c->n->input[k]);
            for (size_t i = 0; i < v->data->count && n < OX_INTS_MAX; i++)
                vals[n++] = ox_iv(v, i);
        }
        size_t shape[1] = {n};
        return ox_def_ints(c, 0, 1, 1, shape, vals);
    }
    int y = -1;
    bool batch0 = true;
    for (size_t k = 0; k < c->n->n_input; k++) {
        ox_val_t *v = ox_find(c, c->n->input[k]);
        int var = ox_var(c, v);
        v = ox_find(c, c->n->input[k]); /* ox_var may add values */
        batch0 = batch0 && v->batch0;
        if (v->batch0 && axis == 0)
            c->out->rows_independent = false;
        y = var < 0 || y < 0 ? var
                             : ox_emit(c, (prog_op_t){.code = PROG_CONCAT, .in = {y, var},
                                                      .iattr = {axis}});
        if (y < 0)
            return TRINE_EUNSUPPORTED;
    }
    return ox_define(c, 0, y, rank, batch0 && axis != 0);
}

/* The elements start, start + step, ... below end (above for step < 0)
 * of an extent n, ONNX's clamping; *count may be 0. */
static void ox_slice_range(int64_t n, int64_t start, int64_t end, int64_t step, int64_t *first,
                           int64_t *count)
{
    start = start < 0 ? start + n : start, end = end < 0 ? end + n : end;
    if (step > 0) {
        start = start < 0 ? 0 : start > n ? n : start;
        end = end < 0 ? 0 : end > n ? n : end;
        *count = end > start ? (end - start + step - 1) / step : 0;
    } else {
        start = start < 0 ? -1 : start >= n ? n - 1 : start;
        end = end < -1 ? -1 : end >= n ? n - 1 : end;
        *count = start > end ? (start - end - step - 1) / -step : 0;
    }
    *first = start;
}

static trine_status_t ox_slice(ox_t *c)
{
    ox_val_t *x;
    int64_t starts[8], ends[8], axes[8], steps[8];
    size_t ns, ne, nx;
    long is, ie, ia, ip;
    trine_status_t st;
    if ((st = ox_known(c, "starts", "ends", "axes", NULL)) || (st = ox_arity(c, 1, 5, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_ints(c, "starts", -1, starts, 8, &ns)) ||
        (st = ox_ints(c, "ends", -1, ends, 8, &ne)) || (st = ox_ints(c, "axes", -1, axes, 8, &nx)) ||
        (st = ox_in_ints(c, 1, starts, 8, &is)) || (st = ox_in_ints(c, 2, ends, 8, &ie)) ||
        (st = ox_in_ints(c, 3, axes, 8, &ia)) || (st = ox_in_ints(c, 4, steps, 8, &ip)))
        return st;
    if (is >= 0)
        ns = (size_t)is, ne = ie < 0 ? 0 : (size_t)ie, nx = ia < 0 ? 0 : (size_t)ia;
    if (ns != ne || (nx && nx != ns) || (ip >= 0 && (size_t)ip != ns))
        return ox_fail(c, TRINE_EFORMAT, "starts, ends, axes and steps differ in length");
    int64_t first[TENSOR_MAX_DIMS], count[TENSOR_MAX_DIMS], step[TENSOR_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        first[d] = 0, count[d] = (int64_t)x->shape[d], step[d] = 1;
    for (size_t i = 0; i < ns; i++) {
        int a = 0;
        if ((st = ox_axis(c, nx ? axes[i] : (int64_t)i, x->rank, &a)))
            return st;
        step[a] = ip >= 0 ? steps[i] : 1;
        if (step[a] == 0)
            return ox_fail(c, TRINE_EFORMAT, "a step of 0");
        ox_slice_range((int64_t)x->shape[a], starts[i], ends[i], step[a], &first[a], &count[a]);
        if (!count[a])
            return ox_fail(c, TRINE_EUNSUPPORTED, "an empty slice is not supported");
    }
    if (ox_is_ints(x)) {
        if (x->rank != 1 || step[0] < 0)
            return ox_fail(c, TRINE_EUNSUPPORTED, "slices of integer tensors of rank %d",
                           x->rank);
        int64_t vals[OX_INTS_MAX];
        for (int64_t k = 0; k < count[0]; k++)
            vals[k] = ox_iv(x, (size_t)(first[0] + k * step[0]));
        size_t shape[1] = {(size_t)count[0]};
        return ox_def_ints(c, 0, 1, 1, shape, vals);
    }
    int y = ox_var(c, x);
    x = ox_find(c, c->n->input[0]);
    bool batch0 = x->batch0;
    for (int d = 0; y >= 0 && d < x->ndim; d++) {
        if (first[d] == 0 && step[d] == 1 && count[d] == (int64_t)x->shape[d])
            continue;
        if (step[d] < 0)
            return ox_fail(c, TRINE_EUNSUPPORTED, "negative steps are not supported");
        if (d == 0 && batch0)
            c->out->rows_independent = false, batch0 = false;
        y = ox_slice_var(c, y, d, first[d], step[d], count[d]);
    }
    return ox_define(c, 0, y, x->rank, batch0);
}

static trine_status_t ox_split(ox_t *c)
{
    ox_val_t *x;
    int64_t axis64, parts[64], num;
    size_t np;
    long ni;
    int axis = 0;
    trine_status_t st;
    if ((st = ox_known(c, "axis", "split", "num_outputs", NULL)) || (st = ox_in(c, 0, false, &x)) ||
        (st = ox_int(c, "axis", 0, &axis64)) || (st = ox_axis(c, axis64, x->rank, &axis)) ||
        (st = ox_ints(c, "split", -1, parts, 64, &np)) || (st = ox_in_ints(c, 1, parts, 64, &ni)) ||
        (st = ox_int(c, "num_outputs", 0, &num)))
        return st;
    size_t outs = c->n->n_output, ext = x->shape[axis];
    if (ni >= 0)
        np = (size_t)ni;
    if (outs < 1 || outs > 64 || (np && np != outs))
        return ox_fail(c, TRINE_EFORMAT, "%zu outputs for %zu parts", outs, np);
    for (size_t k = 0; !np && k < outs; k++) /* equal parts, the last smaller */
        parts[k] = (int64_t)((ext + outs - 1) / outs);
    if (!np)
        parts[outs - 1] = (int64_t)ext - (int64_t)((ext + outs - 1) / outs * (outs - 1));
    int64_t at = 0;
    for (size_t k = 0; k < outs; k++) {
        if (parts[k] < 1 || at + parts[k] > (int64_t)ext)
            return ox_fail(c, TRINE_EUNSUPPORTED, "part %zu of %lld is empty or past extent %zu",
                           k, (long long)parts[k], ext);
        at += parts[k];
    }
    int var = ox_var(c, x);
    x = ox_find(c, c->n->input[0]);
    bool batch0 = x->batch0 && axis != 0;
    int rank = x->rank;
    if (x->batch0 && axis == 0)
        c->out->rows_independent = false;
    at = 0;
    for (size_t k = 0; var >= 0 && k < outs; k++) {
        int part = ox_slice_var(c, var, axis, at, 1, parts[k]);
        at += parts[k];
        if ((st = ox_define(c, k, part, rank, batch0)))
            return st;
    }
    return var < 0 ? TRINE_EUNSUPPORTED : TRINE_OK;
}

/* Expand: numpy's broadcast to the shape. Of a constant whose values are
 * known (PyTorch's zero initial state of an RNN), computed here; of a
 * private tensor, added to a weight of zeros of the result's shape. */
static trine_status_t ox_expand(ox_t *c)
{
    ox_val_t *x;
    int64_t dims[TENSOR_MAX_DIMS];
    long nd;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 2, 2, 1)) || (st = ox_in(c, 0, false, &x)) ||
        (st = ox_in_ints(c, 1, dims, TENSOR_MAX_DIMS, &nd)))
        return st;
    if (nd < 0)
        return ox_fail(c, TRINE_EFORMAT, "the shape input is missing");
    int r = x->rank > nd ? x->rank : (int)nd;
    size_t shape[TENSOR_MAX_DIMS] = {1, 1, 1, 1}, xs[TENSOR_MAX_DIMS] = {1, 1, 1, 1};
    for (int i = 0; i < r; i++) {
        int xi = i - (r - x->rank), di = i - (r - (int)nd);
        size_t ex = xi >= 0 ? x->shape[xi] : 1;
        int64_t ed = di >= 0 ? dims[di] : 1;
        if (ed < 1 || ed > OX_INTS_MAX || (ex != (size_t)ed && ex != 1 && ed != 1))
            return ox_fail(c, TRINE_ESHAPE, "extent %zu of '%s' does not expand to %lld", ex,
                           x->name, (long long)ed);
        shape[i] = ex > (size_t)ed ? ex : (size_t)ed;
        xs[i] = ex;
    }
    size_t n = ox_count(r, shape);
    if (n > (size_t)1 << 24)
        return ox_fail(c, TRINE_EUNSUPPORTED, "an expanded tensor of %zu values", n);
    if (!x->data) {
        bool batch0 = x->batch0 && r == x->rank && x->shape[0] == shape[0];
        if (x->batch0 && !batch0)
            c->out->rows_independent = false;
        plain_t *z = plain_alloc(PLAIN_F8, r ? r : 1, shape);
        if (!z)
            return ox_nomem(c);
        int vz = ox_new_weight(c, c->n->output[0], ".zeros", r ? r : 1, shape, z);
        int vx = vz < 0 ? -1 : ox_var(c, x);
        return ox_define(c, 0, vx < 0 ? -1 : ox_op2(c, PROG_ADD, vz, vx), r, batch0);
    }
    plain_t *p = plain_alloc(x->data->real ? PLAIN_F8 : PLAIN_I8, r ? r : 1, shape);
    ox_val_t *v = p ? ox_add(c, c->n->output[0]) : NULL;
    if (!v) {
        plain_destroy(&p);
        return ox_nomem(c);
    }
    x = ox_find(c, c->n->input[0]); /* ox_add may have moved it */
    for (size_t o = 0; o < n; o++) {
        size_t rest = o, src = 0, stride = 1;
        for (int i = r - 1; i >= 0; i--) {
            size_t k = rest % shape[i];
            rest /= shape[i];
            src += (xs[i] == 1 ? 0 : k) * stride;
            stride *= xs[i];
        }
        if (p->real)
            p->real[o] = x->data->real[src];
        else
            p->ints[o] = x->data->ints[src];
    }
    v->constant = true, v->data = p, v->rank = r, v->ndim = r ? r : 1;
    memcpy(v->shape, p->shape, sizeof v->shape);
    return TRINE_OK;
}

static trine_status_t ox_constant_of_shape(ox_t *c)
{
    int64_t dims[TENSOR_MAX_DIMS];
    long nd;
    trine_status_t st;
    if ((st = ox_known(c, "value", NULL)) || (st = ox_arity(c, 1, 1, 1)) ||
        (st = ox_in_ints(c, 0, dims, TENSOR_MAX_DIMS, &nd)))
        return st;
    size_t shape[TENSOR_MAX_DIMS];
    for (long i = 0; i < nd; i++) {
        if (dims[i] < 1 || dims[i] > OX_INTS_MAX)
            return ox_fail(c, TRINE_EUNSUPPORTED, "extent %lld is not supported",
                           (long long)dims[i]);
        shape[i] = (size_t)dims[i];
    }
    const Onnx__AttributeProto *a = ox_attr(c, "value");
    plain_t *p = NULL;
    if (a && a->t) {
        int rank;
        if ((st = onnx_tensor_plain(a->t, c->what, &p, &rank, NULL, c->err)))
            return st;
    }
    bool real = p && p->real;
    double fv = real ? p->real[0] : 0;
    int64_t iv = p && p->ints ? (int64_t)p->ints[0] : 0;
    plain_destroy(&p);
    size_t n = ox_count((int)nd, shape);
    if (!real) {
        int64_t vals[OX_INTS_MAX];
        if (n > OX_INTS_MAX)
            return ox_fail(c, TRINE_EUNSUPPORTED, "%zu values", n);
        for (size_t i = 0; i < n; i++)
            vals[i] = iv;
        return ox_def_ints(c, 0, (int)nd, (int)nd, shape, vals);
    }
    p = plain_alloc(PLAIN_F8, (int)nd, shape);
    ox_val_t *v = p ? ox_add(c, c->n->output[0]) : NULL;
    if (!v) {
        plain_destroy(&p);
        return ox_nomem(c);
    }
    for (size_t i = 0; i < n; i++)
        p->real[i] = fv;
    v->constant = true, v->data = p, v->rank = (int)nd, v->ndim = (int)nd;
    memcpy(v->shape, p->shape, sizeof v->shape);
    return TRINE_OK;
}

static trine_status_t ox_range(ox_t *c)
{
    int64_t s, l, d;
    long n1, n2, n3;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 3, 3, 1)) ||
        (st = ox_in_ints(c, 0, &s, 1, &n1)) || (st = ox_in_ints(c, 1, &l, 1, &n2)) ||
        (st = ox_in_ints(c, 2, &d, 1, &n3)))
        return st;
    if (d == 0)
        return ox_fail(c, TRINE_EFORMAT, "a delta of 0");
    int64_t n = (l - s + d + (d > 0 ? -1 : 1)) / d, vals[OX_INTS_MAX];
    if (n < 1 || n > OX_INTS_MAX)
        return ox_fail(c, TRINE_EUNSUPPORTED, "a range of %lld values", (long long)n);
    for (int64_t i = 0; i < n; i++)
        vals[i] = s + i * d;
    size_t shape[1] = {(size_t)n};
    return ox_def_ints(c, 0, 1, 1, shape, vals);
}

/* Cast: public integers stay so (to an integer type); a real tensor to a
 * real type is itself. */
static trine_status_t ox_cast(ox_t *c)
{
    ox_val_t *x;
    int64_t to;
    trine_status_t st;
    if ((st = ox_known(c, "to", "saturate", NULL)) || (st = ox_arity(c, 1, 1, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_int(c, "to", 0, &to)))
        return st;
    bool to_int = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
                  to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    bool to_real = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                   to == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    if ((ox_is_ints(x) && to_int) || (!ox_is_ints(x) && to_real))
        return ox_alias(c, x);
    return ox_fail(c, TRINE_EUNSUPPORTED, "a cast to %s is not supported",
                   onnx_type_name((int32_t)to));
}

bool ox_int_arith(ox_t *c, trine_status_t *st)
{
    ox_val_t *a, *b;
    if (c->n->n_input != 2 || !(a = ox_find(c, c->n->input[0])) ||
        !(b = ox_find(c, c->n->input[1])) || !ox_is_ints(a) || !ox_is_ints(b))
        return false;
    size_t na = a->data->count, nb = b->data->count;
    if ((na != nb && na != 1 && nb != 1) || a->rank > 1 || b->rank > 1) {
        *st = ox_fail(c, TRINE_EUNSUPPORTED,
                      "arithmetic on integer tensors of rank %d and %d is not supported (rank 1 "
                      "and the same count or one value)",
                      a->rank, b->rank);
        return true;
    }
    const char *op = c->n->op_type;
    size_t n = na > nb ? na : nb;
    int64_t vals[OX_INTS_MAX];
    for (size_t i = 0; i < n && i < OX_INTS_MAX; i++) {
        int64_t x = ox_iv(a, na == 1 ? 0 : i), y = ox_iv(b, nb == 1 ? 0 : i);
        if (op[0] == 'D' && y == 0) {
            *st = ox_fail(c, TRINE_ERANGE, "integer division by 0");
            return true;
        }
        vals[i] = op[0] == 'A' ? x + y : op[0] == 'S' ? x - y : op[0] == 'M' ? x * y : x / y;
    }
    size_t shape[1] = {n};
    int rank = a->rank > b->rank ? a->rank : b->rank;
    *st = ox_def_ints(c, 0, rank, 1, shape, vals);
    return true;
}

/* ---- private axes ------------------------------------------------------------------ */

/* Pad, mode constant: one pad op per padded axis; negative pads crop. */
static trine_status_t ox_pad(ox_t *c)
{
    ox_val_t *x, *cv;
    int64_t pads[2 * TENSOR_MAX_DIMS];
    size_t np;
    long ni;
    double value = 0;
    char mode[16];
    trine_status_t st;
    if ((st = ox_known(c, "mode", "pads", "value", NULL)) || (st = ox_arity(c, 1, 4, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_ints(c, "pads", -1, pads, 8, &np)) ||
        (st = ox_in_ints(c, 1, pads, 8, &ni)) || (st = ox_float(c, "value", 0, &value)) ||
        (st = ox_in(c, 2, true, &cv)))
        return st;
    ox_string(c, "mode", mode, sizeof mode);
    if (mode[0] && strcmp(mode, "constant"))
        return ox_fail(c, TRINE_EUNSUPPORTED, "mode '%s' is not supported (only constant)", mode);
    if (c->n->n_input > 3 && c->n->input[3][0])
        return ox_fail(c, TRINE_EUNSUPPORTED, "the axes input is not supported");
    if (cv) {
        if (!cv->data || cv->data->count != 1)
            return ox_fail(c, TRINE_EUNSUPPORTED, "constant_value must be a constant scalar");
        value = cv->data->real ? cv->data->real[0] : (double)(int64_t)cv->data->ints[0];
    }
    if (ni >= 0)
        np = (size_t)ni;
    if (np != 2 * (size_t)x->rank)
        return ox_fail(c, TRINE_EFORMAT, "pads has %zu entries for rank %d", np, x->rank);
    int r = x->rank, y = ox_var(c, x);
    x = ox_find(c, c->n->input[0]);
    bool batch0 = x->batch0;
    size_t ext[TENSOR_MAX_DIMS];
    memcpy(ext, x->shape, sizeof ext);
    for (int d = 0; y >= 0 && d < r; d++) {
        int64_t lo = pads[d], hi = pads[r + d];
        if (!lo && !hi)
            continue;
        if (d == 0 && batch0)
            c->out->rows_independent = false, batch0 = false;
        if (lo < 0 || hi < 0) {
            int64_t keep = (int64_t)ext[d] + (lo < 0 ? lo : 0) + (hi < 0 ? hi : 0);
            if (keep < 1)
                return ox_fail(c, TRINE_EUNSUPPORTED, "pads crop axis %d away", d);
            if ((y = ox_slice_var(c, y, d, lo < 0 ? -lo : 0, 1, keep)) < 0)
                break;
            ext[d] = (size_t)keep;
        }
        prog_op_t op = {.code = PROG_PAD, .in = {y, -1}, .fattr = value};
        op.iattr[PROG_PAD_AXIS] = d;
        op.iattr[PROG_PAD_BEFORE] = lo > 0 ? lo : 0, op.iattr[PROG_PAD_AFTER] = hi > 0 ? hi : 0;
        if (lo > 0 || hi > 0)
            y = ox_emit(c, op);
    }
    return ox_define(c, 0, y, r, batch0);
}

/* ONNX's coordinate_transformation_mode and nearest_mode, in the order of
 * their names below. */
typedef enum { OX_CTM_HALF, OX_CTM_PYTORCH_HALF, OX_CTM_ALIGN, OX_CTM_ASYM, OX_CTM_TF_HALF } ox_ctm_t;
typedef enum { OX_NM_FLOOR_HALF, OX_NM_CEIL_HALF, OX_NM_FLOOR, OX_NM_CEIL } ox_nm_t;
static const char *const ox_ctm_names[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                           "asymmetric", "tf_half_pixel_for_nn"};
static const char *const ox_nm_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                          "ceil"};

#define OX_COUNT(a) ((int)(sizeof(a) / sizeof(a)[0]))

/* The index of s among the n names, or -1. */
static int ox_name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

/* The input coordinate of output index o along an axis of extent in
 * resized to out (scale = out / in unless given), by ctm, then rounded by
 * nm and clamped to the extent. */
static int64_t ox_resize_source(ox_ctm_t ctm, ox_nm_t nm, size_t o, size_t in, size_t out,
                                double scale)
{
    double x;
    switch (ctm) {
    case OX_CTM_ASYM: x = (double)o / scale; break;
    case OX_CTM_ALIGN: x = out == 1 ? 0 : (double)o * (double)(in - 1) / (double)(out - 1); break;
    case OX_CTM_PYTORCH_HALF: x = out > 1 ? ((double)o + 0.5) / scale - 0.5 : 0; break;
    case OX_CTM_TF_HALF: x = ((double)o + 0.5) / scale; break;
    default: x = ((double)o + 0.5) / scale - 0.5; break;
    }
    double f = floor(x), k;
    if (nm == OX_NM_FLOOR)
        k = f;
    else if (nm == OX_NM_CEIL)
        k = ceil(x);
    else if (x - f == 0.5)
        k = nm == OX_NM_CEIL_HALF ? f + 1 : f;
    else
        k = round(x);
    return k < 0 ? 0 : k > (double)(in - 1) ? (int64_t)in - 1 : (int64_t)k;
}

/* Resize in mode nearest (PyTorch's nn.Upsample), and the older Upsample
 * (X, scales: opset 10's rule, asymmetric and floor): public scales or sizes,
 * every coordinate_transformation_mode but tf_crop_and_resize, every
 * nearest_mode; each axis a Gather of public indices (ox_take: a whole
 * upsampling by an integer factor costs a few concats, no message). */
static trine_status_t ox_resize(ox_t *c)
{
    ox_val_t *x, *roi = NULL, *scales = NULL, *sizes = NULL;
    char mode[16], ctm_s[32], nm_s[32];
    trine_status_t st;
    if ((st = ox_known(c, "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                       "extrapolation_value", "mode", "nearest_mode", NULL)) ||
        (st = ox_arity(c, 2, 4, 1)) || (st = ox_in(c, 0, false, &x)))
        return st;
    bool v10 = c->n->n_input == 2; /* Upsample and Resize of opset 10: X, scales */
    if ((st = ox_in(c, 1, !v10, v10 ? &scales : &roi)) ||
        (!v10 && ((st = ox_in(c, 2, true, &scales)) || (st = ox_in(c, 3, true, &sizes)))))
        return st;
    ox_string(c, "mode", mode, sizeof mode);
    ox_string(c, "coordinate_transformation_mode", ctm_s, sizeof ctm_s);
    ox_string(c, "nearest_mode", nm_s, sizeof nm_s);
    if (strcmp(mode, "nearest"))
        return ox_fail(c, TRINE_EUNSUPPORTED, "mode '%s' is not supported (nearest is)",
                       mode[0] ? mode : "nearest");
    int ctm = v10 ? OX_CTM_ASYM /* Upsample's rule */
              : ctm_s[0] ? ox_name_index(ctm_s, ox_ctm_names, OX_COUNT(ox_ctm_names))
                         : OX_CTM_HALF;
    int nm = v10       ? OX_NM_FLOOR
             : nm_s[0] ? ox_name_index(nm_s, ox_nm_names, OX_COUNT(ox_nm_names))
                       : OX_NM_FLOOR_HALF;
    if (ctm < 0 || nm < 0)
        return ox_fail(c, TRINE_EUNSUPPORTED, "%s '%s' is not supported",
                       ctm < 0 ? "coordinate_transformation_mode" : "nearest_mode",
                       ctm < 0 ? ctm_s : nm_s);
    bool by_size = sizes && !scales;
    const ox_val_t *given = by_size ? sizes : scales;
    if (scales && sizes)
        return ox_fail(c, TRINE_EFORMAT, "takes scales or sizes, not both");
    if (!given || !given->data || given->data->count != (size_t)x->ndim ||
        (by_size ? !ox_is_ints(given) : !given->data->real))
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "%s must be a constant of %d values (computed shapes are not supported)",
                       by_size ? "sizes" : "scales", x->ndim);
    if (x->ndim != x->rank || x->rank < 1)
        return ox_fail(c, TRINE_EUNSUPPORTED, "X of rank %d", x->rank);
    int y = ox_var(c, x);
    if (y < 0)
        return TRINE_EUNSUPPORTED;
    size_t shape[TENSOR_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    for (int d = 0; d < x->rank && y >= 0; d++) {
        double scale = by_size ? 0 : given->data->real[d];
        double want = by_size ? (double)ox_iv(given, (size_t)d)
                              : floor((double)x->shape[d] * scale);
        if (!(want >= 1 && want <= OX_INTS_MAX) || !(by_size || scale > 0))
            return ox_fail(c, TRINE_EUNSUPPORTED, "axis %d resized to %g (1 to %d)", d, want,
                           OX_INTS_MAX);
        size_t out = (size_t)want;
        if (by_size)
            scale = (double)out / (double)x->shape[d];
        int64_t idx[OX_INTS_MAX];
        bool same = out == x->shape[d];
        for (size_t o = 0; o < out; o++) {
            idx[o] = ox_resize_source((ox_ctm_t)ctm, (ox_nm_t)nm, o, x->shape[d], out, scale);
            same = same && idx[o] == (int64_t)o;
        }
        if (same)
            continue;
        if (d == 0 && x->batch0)
            c->out->rows_independent = false;
        y = ox_take(c, y, x->rank, shape, d, idx, out, x->batch0 && d != 0);
        shape[d] = out;
    }
    if (y < 0)
        return TRINE_EUNSUPPORTED;
    return ox_define(c, 0, y, x->rank, x->batch0 && shape[0] == x->shape[0]);
}

static const ox_handler_t ox_shape_handlers[] = {
    {"Cast", ox_cast},
    {"Concat", ox_concat},
    {"ConstantOfShape", ox_constant_of_shape},
    {"Expand", ox_expand},
    {"Gather", ox_gather},
    {"Pad", ox_pad},
    {"Range", ox_range},
    {"Resize", ox_resize},
    {"Shape", ox_shape_node},
    {"Size", ox_size_node},
    {"Slice", ox_slice},
    {"Split", ox_split},
    {"Squeeze", ox_squeeze_node},
    {"Unsqueeze", ox_unsqueeze},
    {"Upsample", ox_resize},
};

const ox_handler_t *ox_shape_handler(const char *op)
{
    for (size_t k = 0; k < sizeof ox_shape_handlers / sizeof ox_shape_handlers[0]; k++)
        if (!strcmp(ox_shape_handlers[k].op, op))
            return &ox_shape_handlers[k];
    return NULL;
}
