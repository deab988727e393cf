/* onnx_ops_rnn.c — the ONNX recurrent layers (GRU), unrolled while
 * compiling into the program's matrix products, the fine sigmoid and tanh.
 */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

/* True when attribute name is absent or the list of strings want. */
static bool ox_strings_are(ox_t *c, const char *name, const char *const *want, size_t n)
{
    const Onnx__AttributeProto *a = ox_attr(c, name);
    if (!a)
        return true;
    if (a->n_strings != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (a->strings[i].len != strlen(want[i]) ||
            memcmp(a->strings[i].data, want[i], strlen(want[i])))
            return false;
    return true;
}

/* A GRU weight w of shape [1, rows, cols] as a 2-D [cols, rows] variable
 * (transposed, for x W^T); -1 on failure. */
static int ox_gru_weight(ox_t *c, ox_val_t *w, size_t rows, size_t cols)
{
    bool b0;
    size_t two[2] = {rows, cols};
    int v = ox_var(c, w);
    v = v < 0 ? -1 : ox_reshape_var(c, v, 3, w->shape, false, 2, two, &b0);
    return v < 0 ? -1 : ox_emit(c, (prog_op_t){.code = PROG_TRANSPOSE, .in = {v, -1}});
}

/* GRU, unrolled at compile time (forward or reverse, layout 0 or 1, the
 * default activations, no sequence_lens): the input projections of every step in
 * one product X W^T + Wb, then per step, with H the previous state (zeros
 * without initial_h or with a public zero one) and P = H R^T + Rb:
 *   z = sigmoid(Xz + Pz), r = sigmoid(Xr + Pr),
 *   n = tanh(Xh + r Ph) (linear_before_reset, PyTorch's) or
 *       tanh(Xh + (r H) Rh^T + Rbh),
 *   H = n + z (H - n).
 * The sigmoid is the fine one (PROG_SIGMOID_FINE_ERROR), tanh
 * PROG_TANH_ERROR: errors of each step carry into the next through H,
 * damped by z. The steps mix the rows of X's axis 0, so the model runs as
 * one batch. */
trine_status_t ox_gru(ox_t *c)
{
    ox_val_t *x, *w, *r, *b, *lens, *h0;
    int64_t hidden, lbr, layout;
    char dir[16];
    static const char *const acts[] = {"Sigmoid", "Tanh"};
    trine_status_t st;
    if ((st = ox_known(c, "activation_alpha", "activation_beta", "activations", "clip", "direction",
                       "hidden_size", "layout", "linear_before_reset", NULL)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_in(c, 1, false, &w)) ||
        (st = ox_in(c, 2, false, &r)) || (st = ox_in(c, 3, true, &b)) ||
        (st = ox_in(c, 4, true, &lens)) || (st = ox_in(c, 5, true, &h0)) ||
        (st = ox_int(c, "hidden_size", 0, &hidden)) ||
        (st = ox_int(c, "linear_before_reset", 0, &lbr)) || (st = ox_int(c, "layout", 0, &layout)))
        return st;
    size_t nout = c->n->n_output;
    if (c->n->n_input > 6 || nout < 1 || nout > 2 || !(c->n->output[0][0] || nout > 1))
        return ox_fail(c, TRINE_EFORMAT, "takes 3 to 6 inputs and the output Y, Y_h or both");
    ox_string(c, "direction", dir, sizeof dir);
    bool reverse = !strcmp(dir, "reverse");
    if (dir[0] && strcmp(dir, "forward") && !reverse)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "direction '%s' is not supported (forward and reverse are)", dir);
    if (layout != 0 && layout != 1)
        return ox_fail(c, TRINE_EFORMAT, "layout %lld is not 0 or 1", (long long)layout);
    if (lens)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "sequence_lens is not supported (every sequence "
                       "runs to the end)");
    if (ox_attr(c, "clip") || !ox_strings_are(c, "activations", acts, 2))
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "clip and activations other than Sigmoid, Tanh are not supported");
    if (x->rank != 3)
        return ox_fail(c, TRINE_ESHAPE, "X must be of rank 3, not %d", x->rank);
    bool zero = h0 && h0->data && h0->data->real; /* PyTorch's Expand of zeros */
    for (size_t i = 0; zero && i < h0->data->count; i++)
        zero = h0->data->real[i] == 0;
    if (zero)
        h0 = NULL;
    size_t seq = x->shape[layout ? 1 : 0], nb = x->shape[layout ? 0 : 1], in = x->shape[2],
           hs = (size_t)hidden;
    if (hidden <= 0 || hidden > 65536)
        return ox_fail(c, TRINE_EFORMAT, "hidden_size %lld is not in [1, 65536]",
                       (long long)hidden);
    if (b && (b->rank != 2 || b->shape[0] != 1 || b->shape[1] != 6 * hs))
        return ox_fail(c, TRINE_ESHAPE, "B must be [1, %zu]", 6 * hs);
    if (h0 && (h0->rank != 3 || h0->shape[layout ? 1 : 0] != 1 || h0->shape[layout ? 0 : 1] != nb ||
               h0->shape[2] != hs))
        return ox_fail(c, TRINE_ESHAPE, "initial_h must hold %zu rows of %zu", nb, hs);
    const ox_val_t *ws[2] = {w, r};
    for (int k = 0; k < 2; k++)
        if (ws[k]->rank != 3 || ws[k]->shape[0] != 1 || ws[k]->shape[1] != 3 * hs ||
            ws[k]->shape[2] != (k ? hs : in))
            return ox_fail(c, TRINE_ESHAPE, "%s must be [1, %zu, %zu]", k ? "R" : "W", 3 * hs,
                           k ? hs : in);
    if (x->batch0)
        c->out->rows_independent = false;
    int wt = ox_gru_weight(c, w, 3 * hs, in), rt = ox_gru_weight(c, r, 3 * hs, hs);
    if (wt < 0 || rt < 0)
        return TRINE_EUNSUPPORTED;
    bool b0;
    size_t x2s[2] = {seq * nb, in}, bs[1] = {6 * hs}, x3s[3] = {seq, nb, in};
    int vx = ox_var(c, x);
    if (layout && vx >= 0) /* [batch, seq, input] to [seq, batch, input] */
        vx = ox_emit(
            c, (prog_op_t){.code = PROG_TRANSPOSE, .in = {vx, -1}, .ndim = 3, .shape = {1, 0, 2}});
    int xw = vx < 0 ? -1 : ox_reshape_var(c, vx, 3, x3s, false, 2, x2s, &b0);
    xw = xw < 0 ? -1 : ox_op2(c, PROG_MATMUL, xw, wt);
    int wb = -1, rb = -1, rbh = -1;
    if (b) {
        int vb = ox_var(c, b);
        vb = vb < 0 ? -1 : ox_reshape_var(c, vb, 2, b->shape, false, 1, bs, &b0);
        wb = ox_slice_var(c, vb, 0, 0, 1, 3 * hs), rb = ox_slice_var(c, vb, 0, 3 * hs, 1, 3 * hs);
        rbh = ox_slice_var(c, rb, 0, 2 * hs, 1, hs);
        xw = xw < 0 || wb < 0 || rbh < 0 ? -1 : ox_op2(c, PROG_ADD, xw, wb);
    }
    int rht = lbr ? 0 : ox_slice_var(c, rt, 1, 2 * hs, 1, hs);
    int h = -1;
    if (h0) {
        size_t hs2[2] = {nb, hs};
        h = ox_var(c, h0);
        h = h < 0 ? -1 : ox_reshape_var(c, h, 3, h0->shape, false, 2, hs2, &b0);
    } else { /* zeros of [batch, hidden], locally */
        h = ox_slice_var(c, ox_slice_var(c, xw, 0, 0, 1, nb), 1, 0, 1, hs);
        h = h < 0 ? -1 : ox_scale(c, h, 0.0);
    }
    if (xw < 0 || rht < 0 || h < 0)
        return TRINE_EUNSUPPORTED;
    int *ys = calloc(seq, sizeof *ys);
    if (!ys)
        return ox_nomem(c);
    for (size_t i = 0; i < seq && h >= 0; i++) {
        size_t t = reverse ? seq - 1 - i : i;
        int xt = ox_slice_var(c, xw, 0, t * nb, 1, nb);
        int p = xt < 0 ? -1 : ox_op2(c, PROG_MATMUL, h, rt);
        if (b)
            p = p < 0 ? -1 : ox_op2(c, PROG_ADD, p, rb);
        int xzr = ox_slice_var(c, xt, 1, 0, 1, 2 * hs), pzr = ox_slice_var(c, p, 1, 0, 1, 2 * hs);
        int zr = xzr < 0 || pzr < 0 ? -1 : ox_op2(c, PROG_ADD, xzr, pzr);
        zr = zr < 0 ? -1
                    : ox_emit(c, (prog_op_t){.code = PROG_SIGMOID, .in = {zr, -1}, .iattr = {1}});
        int z = ox_slice_var(c, zr, 1, 0, 1, hs), rg = ox_slice_var(c, zr, 1, hs, 1, hs), hh;
        if (lbr) { /* r (H Rh^T + Rbh) */
            hh = ox_slice_var(c, p, 1, 2 * hs, 1, hs);
            hh = hh < 0 || rg < 0 ? -1 : ox_op2(c, PROG_MUL, rg, hh);
        } else { /* (r H) Rh^T + Rbh */
            hh = rg < 0 ? -1 : ox_op2(c, PROG_MUL, rg, h);
            hh = hh < 0 ? -1 : ox_op2(c, PROG_MATMUL, hh, rht);
            if (b)
                hh = hh < 0 ? -1 : ox_op2(c, PROG_ADD, hh, rbh);
        }
        int xh = hh < 0 ? -1 : ox_slice_var(c, xt, 1, 2 * hs, 1, hs);
        int n = xh < 0 ? -1 : ox_op2(c, PROG_ADD, xh, hh);
        n = n < 0 ? -1 : ox_op1(c, PROG_TANH, n);
        int d = n < 0 || z < 0 ? -1 : ox_op2(c, PROG_SUB, h, n);
        d = d < 0 ? -1 : ox_op2(c, PROG_MUL, z, d);
        h = d < 0 ? -1 : ox_op2(c, PROG_ADD, n, d);
        ys[t] = h;
    }
    int y = -1;
    size_t one[4] = {1, 1, nb, hs}, hs2[2] = {nb, hs};
    for (size_t t = 0; t < seq && h >= 0 && c->n->output[0][0]; t++) {
        int yt = ox_reshape_var(c, ys[t], 2, hs2, false, 4, one, &b0);
        y = y < 0    ? yt
            : yt < 0 ? -1
                     : ox_emit(c, (prog_op_t){.code = PROG_CONCAT, .in = {y, yt}, .iattr = {0}});
        if (y < 0)
            break;
    }
    free(ys);
    if (h < 0)
        return TRINE_EUNSUPPORTED;
    if (layout && y >= 0) /* [seq, 1, batch, hidden] to [batch, seq, 1, hidden] */
        y = ox_emit(
            c,
            (prog_op_t){.code = PROG_TRANSPOSE, .in = {y, -1}, .ndim = 4, .shape = {2, 0, 1, 3}});
    if (c->n->output[0][0] && (st = ox_define(c, 0, y, 4, false)))
        return st;
    if (nout < 2 || !c->n->output[1][0])
        return TRINE_OK;
    size_t last[3] = {layout ? nb : 1, layout ? 1 : nb, hs};
    return ox_define(c, 1, ox_reshape_var(c, h, 2, hs2, false, 3, last, &b0), 3, false);
}
