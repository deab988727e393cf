/* onnx_ops_rnn.c — the ONNX recurrent layers (RNN, GRU, LSTM), unrolled while
 * compiling into the program's matrix products, the fine sigmoid and tanh.
 */
#include "daemon/models/onnx_internal.h"

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

/* A recurrent weight w of shape [1, rows, cols] as a 2-D [cols, rows]
 * variable (transposed, for x W^T); -1 on failure. */
static int ox_rnn_weight(ox_t *c, ox_val_t *w, size_t rows, size_t cols)
{
    bool b0;
    size_t two[2] = {rows, cols};
    int v = ox_var(c, w);
    v = v < 0 ? -1 : ox_reshape_var(c, v, 3, w->shape, false, 2, two, &b0);
    return v < 0 ? -1 : ox_emit(c, (prog_op_t){.code = PROG_TRANSPOSE, .in = {v, -1}});
}

/* What GRU and LSTM share: the layer's sizes and the program variables
 * every step reads. */
typedef struct {
    bool reverse;
    int64_t layout;
    size_t seq, nb, hs;
    int xw; /* X W^T + Wb for every step, [seq * batch, gates * hidden], step-major */
    int rt; /* R^T, [hidden, gates * hidden] */
    int rb; /* Rb, [gates * hidden]; -1 without B */
    int h;  /* the initial state [batch, hidden] (zeros without initial_h) */
} ox_rnn_t;

/* True when v is absent or a public tensor of zeros (PyTorch's Expand of
 * zeros for the initial state). */
static bool ox_rnn_zero(const ox_val_t *v)
{
    bool zero = !v || (v->data && v->data->real);
    for (size_t i = 0; v && zero && i < v->data->count; i++)
        zero = v->data->real[i] == 0;
    return zero;
}

/* The initial state s ([1, batch, hidden], or [batch, 1, hidden] in layout
 * 1) as [batch, hidden], or zeros of that shape made locally from xw. */
static int ox_rnn_state(ox_t *c, const ox_rnn_t *rn, ox_val_t *s)
{
    bool b0;
    size_t two[2] = {rn->nb, rn->hs};
    if (ox_rnn_zero(s)) {
        int z = ox_slice_var(c, ox_slice_var(c, rn->xw, 0, 0, 1, rn->nb), 1, 0, 1, rn->hs);
        return z < 0 ? -1 : ox_scale(c, z, 0.0);
    }
    int v = ox_var(c, s);
    return v < 0 ? -1 : ox_reshape_var(c, v, 3, s->shape, false, 2, two, &b0);
}

/* Checks an initial state s (may be NULL) named name: [1, batch, hidden],
 * or [batch, 1, hidden] in layout 1. */
static trine_status_t ox_rnn_check_state(ox_t *c, const ox_rnn_t *rn, const ox_val_t *s,
                                         const char *name)
{
    bool lay = rn->layout != 0;
    if (s && (s->rank != 3 || s->shape[lay ? 1 : 0] != 1 || s->shape[lay ? 0 : 1] != rn->nb ||
              s->shape[2] != rn->hs))
        return ox_fail(c, TRINE_ESHAPE, "%s must hold %zu rows of %zu", name, rn->nb, rn->hs);
    return TRINE_OK;
}

/* Reads and checks what GRU and LSTM share (inputs X, W, R, B,
 * sequence_lens, initial_h; direction, layout, hidden_size, clip and the
 * default activations acts), for `gates` gates, and emits the input
 * projections of every step, R^T, Rb and the initial state. nin: the
 * operator's most inputs. */
static trine_status_t ox_rnn_begin(ox_t *c, int gates, size_t nin, const char *const *acts,
                                   size_t nacts, ox_rnn_t *rn)
{
    ox_val_t *x, *w, *r, *b, *lens, *h0;
    int64_t hidden;
    char dir[16];
    trine_status_t st;
    if ((st = ox_in(c, 0, false, &x)) || (st = ox_in(c, 1, false, &w)) ||
        (st = ox_in(c, 2, false, &r)) || (st = ox_in(c, 3, true, &b)) ||
        (st = ox_in(c, 4, true, &lens)) || (st = ox_in(c, 5, true, &h0)) ||
        (st = ox_int(c, "hidden_size", 0, &hidden)) || (st = ox_int(c, "layout", 0, &rn->layout)))
        return st;
    size_t nout = c->n->n_output;
    if (c->n->n_input > nin || nout < 1 || nout > (size_t)(gates == 4 ? 3 : 2))
        return ox_fail(c, TRINE_EFORMAT, "takes 3 to %zu inputs and %s", nin,
                       gates == 4 ? "the outputs Y, Y_h, Y_c" : "the outputs Y, Y_h");
    ox_string(c, "direction", dir, sizeof dir);
    rn->reverse = !strcmp(dir, "reverse");
    if (dir[0] && strcmp(dir, "forward") && !rn->reverse)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "direction '%s' is not supported (forward and reverse are)", dir);
    if (rn->layout != 0 && rn->layout != 1)
        return ox_fail(c, TRINE_EFORMAT, "layout %lld is not 0 or 1", (long long)rn->layout);
    if (lens)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "sequence_lens is not supported (every sequence "
                       "runs to the end)");
    if (ox_attr(c, "clip") || !ox_strings_are(c, "activations", acts, nacts))
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "clip and activations other than the default ones are not supported");
    if (x->rank != 3)
        return ox_fail(c, TRINE_ESHAPE, "X must be of rank 3, not %d", x->rank);
    bool lay = rn->layout != 0;
    rn->seq = x->shape[lay ? 1 : 0], rn->nb = x->shape[lay ? 0 : 1], rn->hs = (size_t)hidden;
    size_t in = x->shape[2], hs = rn->hs, g = (size_t)gates;
    if (hidden <= 0 || hidden > 65536)
        return ox_fail(c, TRINE_EFORMAT, "hidden_size %lld is not in [1, 65536]",
                       (long long)hidden);
    if (b && (b->rank != 2 || b->shape[0] != 1 || b->shape[1] != 2 * g * hs))
        return ox_fail(c, TRINE_ESHAPE, "B must be [1, %zu]", 2 * g * hs);
    if ((st = ox_rnn_check_state(c, rn, h0, "initial_h")))
        return st;
    const ox_val_t *ws[2] = {w, r};
    for (int k = 0; k < 2; k++)
        if (ws[k]->rank != 3 || ws[k]->shape[0] != 1 || ws[k]->shape[1] != g * hs ||
            ws[k]->shape[2] != (k ? hs : in))
            return ox_fail(c, TRINE_ESHAPE, "%s must be [1, %zu, %zu]", k ? "R" : "W", g * hs,
                           k ? hs : in);
    if (x->batch0)
        c->out->rows_independent = false;
    int wt = ox_rnn_weight(c, w, g * hs, in);
    rn->rt = ox_rnn_weight(c, r, g * hs, hs);
    if (wt < 0 || rn->rt < 0)
        return TRINE_EUNSUPPORTED;
    bool b0;
    size_t x2s[2] = {rn->seq * rn->nb, in}, bs[1] = {2 * g * hs}, x3s[3] = {rn->seq, rn->nb, in};
    int vx = ox_var(c, x);
    if (lay && vx >= 0) /* [batch, seq, input] to [seq, batch, input] */
        vx = ox_emit(
            c, (prog_op_t){.code = PROG_TRANSPOSE, .in = {vx, -1}, .ndim = 3, .shape = {1, 0, 2}});
    int xw = vx < 0 ? -1 : ox_reshape_var(c, vx, 3, x3s, false, 2, x2s, &b0);
    rn->xw = xw < 0 ? -1 : ox_op2(c, PROG_MATMUL, xw, wt);
    rn->rb = -1;
    if (b) {
        int vb = ox_var(c, b);
        vb = vb < 0 ? -1 : ox_reshape_var(c, vb, 2, b->shape, false, 1, bs, &b0);
        int wb = ox_slice_var(c, vb, 0, 0, 1, g * hs);
        rn->rb = ox_slice_var(c, vb, 0, g * hs, 1, g * hs);
        rn->xw = rn->xw < 0 || wb < 0 || rn->rb < 0 ? -1 : ox_op2(c, PROG_ADD, rn->xw, wb);
    }
    rn->h = rn->xw < 0 ? -1 : ox_rnn_state(c, rn, h0);
    return rn->h < 0 ? TRINE_EUNSUPPORTED : TRINE_OK;
}

/* Step t's input projection *xt (X_t W^T + Wb, [batch, gates * hidden])
 * and the state's *p = H R^T + Rb for the previous state h; -1 in either on
 * failure. */
static void ox_rnn_step(ox_t *c, const ox_rnn_t *rn, size_t t, int h, int *xt, int *p)
{
    *xt = ox_slice_var(c, rn->xw, 0, (int64_t)(t * rn->nb), 1, (int64_t)rn->nb);
    *p = *xt < 0 ? -1 : ox_op2(c, PROG_MATMUL, h, rn->rt);
    if (rn->rb >= 0 && *p >= 0)
        *p = ox_op2(c, PROG_ADD, *p, rn->rb);
}

/* Defines output k as the state h [batch, hidden] of the last step (Y_h,
 * Y_c: [1, batch, hidden], or [batch, 1, hidden] in layout 1), when the
 * node names that output. */
static trine_status_t ox_rnn_last(ox_t *c, const ox_rnn_t *rn, size_t k, int h)
{
    if (c->n->n_output <= k || !c->n->output[k][0])
        return TRINE_OK;
    bool b0;
    size_t two[2] = {rn->nb, rn->hs}, last[3] = {rn->layout ? rn->nb : 1, rn->layout ? 1 : rn->nb,
                                                 rn->hs};
    return ox_define(c, k, ox_reshape_var(c, h, 2, two, false, 3, last, &b0), 3, false);
}

/* Defines Y from the states ys of every step ([seq, 1, batch, hidden], or
 * [batch, seq, 1, hidden] in layout 1) when the node names it, and Y_h
 * as the last state h. */
static trine_status_t ox_rnn_end(ox_t *c, const ox_rnn_t *rn, const int *ys, int h)
{
    bool b0;
    int y = -1;
    size_t one[4] = {1, 1, rn->nb, rn->hs}, two[2] = {rn->nb, rn->hs};
    for (size_t t = 0; t < rn->seq && c->n->output[0][0]; t++) {
        int yt = ox_reshape_var(c, ys[t], 2, two, false, 4, one, &b0);
        y = y < 0    ? yt
            : yt < 0 ? -1
                     : ox_emit(c, (prog_op_t){.code = PROG_CONCAT, .in = {y, yt}, .iattr = {0}});
        if (y < 0)
            return TRINE_EUNSUPPORTED;
    }
    if (rn->layout && y >= 0) /* [seq, 1, batch, hidden] to [batch, seq, 1, hidden] */
        y = ox_emit(
            c,
            (prog_op_t){.code = PROG_TRANSPOSE, .in = {y, -1}, .ndim = 4, .shape = {2, 0, 1, 3}});
    trine_status_t st;
    if (c->n->output[0][0] && (st = ox_define(c, 0, y, 4, false)))
        return st;
    return ox_rnn_last(c, rn, 1, h);
}

/* RNN (Elman), unrolled at compile time as the GRU is (forward or reverse,
 * layout 0 or 1, initial_h, the default tanh, no sequence_lens): per step
 * H = tanh(X W^T + Wb + H R^T + Rb), tanh within PROG_TANH_ERROR. */
trine_status_t ox_rnn(ox_t *c)
{
    static const char *const acts[] = {"Tanh"};
    ox_rnn_t rn;
    trine_status_t st;
    if ((st = ox_known(c, "activation_alpha", "activation_beta", "activations", "clip", "direction",
                       "hidden_size", "layout", NULL)) ||
        (st = ox_rnn_begin(c, 1, 6, acts, 1, &rn)))
        return st;
    int *ys = calloc(rn.seq, sizeof *ys), h = rn.h;
    if (!ys)
        return ox_nomem(c);
    for (size_t i = 0; i < rn.seq && h >= 0; i++) {
        size_t t = rn.reverse ? rn.seq - 1 - i : i;
        int g, p;
        ox_rnn_step(c, &rn, t, h, &g, &p);
        g = p < 0 ? -1 : ox_op2(c, PROG_ADD, g, p);
        h = g < 0 ? -1 : ox_op1(c, PROG_TANH, g);
        ys[t] = h;
    }
    st = h < 0 ? TRINE_EUNSUPPORTED : ox_rnn_end(c, &rn, ys, h);
    free(ys);
    return st;
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
    static const char *const acts[] = {"Sigmoid", "Tanh"};
    int64_t lbr;
    ox_rnn_t rn;
    trine_status_t st;
    if ((st = ox_known(c, "activation_alpha", "activation_beta", "activations", "clip", "direction",
                       "hidden_size", "layout", "linear_before_reset", NULL)) ||
        (st = ox_int(c, "linear_before_reset", 0, &lbr)) ||
        (st = ox_rnn_begin(c, 3, 6, acts, 2, &rn)))
        return st;
    size_t hs = rn.hs;
    int rbh = rn.rb < 0 ? -1 : ox_slice_var(c, rn.rb, 0, 2 * hs, 1, hs);
    int rht = lbr ? 0 : ox_slice_var(c, rn.rt, 1, 2 * hs, 1, hs);
    if (rht < 0 || (rn.rb >= 0 && rbh < 0))
        return TRINE_EUNSUPPORTED;
    int *ys = calloc(rn.seq, sizeof *ys), h = rn.h;
    if (!ys)
        return ox_nomem(c);
    for (size_t i = 0; i < rn.seq && h >= 0; i++) {
        size_t t = rn.reverse ? rn.seq - 1 - i : i;
        int xt, p;
        ox_rnn_step(c, &rn, t, h, &xt, &p);
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
            if (rbh >= 0)
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
    st = h < 0 ? TRINE_EUNSUPPORTED : ox_rnn_end(c, &rn, ys, h);
    free(ys);
    return st;
}

/* LSTM, unrolled at compile time as the GRU is (forward or reverse, layout
 * 0 or 1, initial_h and initial_c, the default activations, no
 * sequence_lens, no peepholes P, input_forget 0). Per step, with gates in
 * ONNX's order i, o, f, c and G = X W^T + Wb + H R^T + Rb:
 *   i = sigmoid(Gi), o = sigmoid(Go), f = sigmoid(Gf), g = tanh(Gc),
 *   C = f C + i g, H = o tanh(C).
 * The sigmoid is the fine one (PROG_SIGMOID_FINE_ERROR), tanh
 * PROG_TANH_ERROR; errors carry into the next step through C and H. */
trine_status_t ox_lstm(ox_t *c)
{
    static const char *const acts[] = {"Sigmoid", "Tanh", "Tanh"};
    int64_t forget;
    ox_rnn_t rn;
    ox_val_t *c0, *peep;
    trine_status_t st;
    if ((st = ox_known(c, "activation_alpha", "activation_beta", "activations", "clip", "direction",
                       "hidden_size", "input_forget", "layout", NULL)) ||
        (st = ox_int(c, "input_forget", 0, &forget)) || (st = ox_in(c, 6, true, &c0)) ||
        (st = ox_in(c, 7, true, &peep)))
        return st;
    if (forget != 0 || peep)
        return ox_fail(c, TRINE_EUNSUPPORTED, "%s is not supported",
                       peep ? "the peephole input P" : "input_forget 1");
    if ((st = ox_rnn_begin(c, 4, 8, acts, 3, &rn)))
        return st;
    size_t hs = rn.hs;
    if ((st = ox_rnn_check_state(c, &rn, c0, "initial_c")))
        return st;
    int *ys = calloc(rn.seq, sizeof *ys), h = rn.h, cs = ox_rnn_state(c, &rn, c0);
    if (!ys)
        return ox_nomem(c);
    for (size_t i = 0; i < rn.seq && h >= 0 && cs >= 0; i++) {
        size_t t = rn.reverse ? rn.seq - 1 - i : i;
        int g, p;
        ox_rnn_step(c, &rn, t, h, &g, &p);
        g = p < 0 ? -1 : ox_op2(c, PROG_ADD, g, p);
        int iof = g < 0 ? -1 : ox_slice_var(c, g, 1, 0, 1, 3 * hs);
        iof = iof < 0 ? -1
                      : ox_emit(c, (prog_op_t){.code = PROG_SIGMOID, .in = {iof, -1}, .iattr = {1}});
        int gc = g < 0 ? -1 : ox_slice_var(c, g, 1, 3 * hs, 1, hs);
        gc = gc < 0 ? -1 : ox_op1(c, PROG_TANH, gc);
        int ig = ox_slice_var(c, iof, 1, 0, 1, hs), og = ox_slice_var(c, iof, 1, hs, 1, hs);
        int fg = ox_slice_var(c, iof, 1, 2 * hs, 1, hs);
        int fc = fg < 0 ? -1 : ox_op2(c, PROG_MUL, fg, cs);
        int gi = ig < 0 || gc < 0 ? -1 : ox_op2(c, PROG_MUL, ig, gc);
        cs = fc < 0 || gi < 0 ? -1 : ox_op2(c, PROG_ADD, fc, gi);
        int tc = cs < 0 ? -1 : ox_op1(c, PROG_TANH, cs);
        h = tc < 0 || og < 0 ? -1 : ox_op2(c, PROG_MUL, og, tc);
        ys[t] = h;
    }
    st = h < 0 || cs < 0 ? TRINE_EUNSUPPORTED : ox_rnn_end(c, &rn, ys, h);
    if (st == TRINE_OK)
        st = ox_rnn_last(c, &rn, 2, cs);
    free(ys);
    return st;
}
