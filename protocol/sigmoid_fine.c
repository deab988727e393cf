/* sigmoid_fine.c — a fine piecewise-linear logistic on shares: the sum of
 * weighted ReLUs of proto.h, f(x) = sum_i d_i relu(x - k_i) over eight
 * public knots k_i.
 *
 * Each party forms the eight shifted copies x - k_i of its share (P0
 * subtracts the knot, P1 nothing) and all eight of every element go
 * through one ReLU (SecureNN Algorithm 7, relu.c): DReLU's 7 rounds and
 * one product round, 8 x 432 = 3456 bytes per element. The weighted sum
 * with the public slope changes is local; its truncation (trunc.c) is
 * one more round when exact.
 *
 * In fixed point the slopes s_j between knots are rounded to the step
 * 2^-f and the d_i derived from the rounded slopes (d_0 = s_0, d_i = s_i -
 * s_(i-1), d_7 = -s_6), so that they sum to exactly 0: above the last knot
 * the sum is the constant sum_j s_j (k_(j+1) - k_j), whatever x, and the
 * ring's wrap-around in the products of a large relu(x - k_i) cancels.
 */
#include "internal.h"

#include "tensor/fixed.h"

/* Knots and the values there, symmetric about (0, 1/2); the inner values
 * are not the logistic's but shifted to even out the error between knots
 * (largest 0.0055, proto.h). */
static const double fine_knots[PROTO_SIGMOID_FINE_KNOTS] = {-5.25, -3,    -1.875, -1,
                                                            1,     1.875, 3,      5.25};
static const double fine_values[PROTO_SIGMOID_FINE_KNOTS] = {0,      0.042,  0.1292, 0.2647,
                                                             0.7353, 0.8708, 0.958,  1};

double proto_sigmoid_fine_ref(double x)
{
    const int last = PROTO_SIGMOID_FINE_KNOTS - 1;
    if (x <= fine_knots[0])
        return 0.0;
    if (x >= fine_knots[last])
        return 1.0;
    int j = 0;
    while (x > fine_knots[j + 1])
        j++;
    double t = (x - fine_knots[j]) / (fine_knots[j + 1] - fine_knots[j]);
    return fine_values[j] + t * (fine_values[j + 1] - fine_values[j]);
}

/* The knots and the slope changes d_i in fixed point with f bits. */
static trine_status_t fine_weights(uint64_t knot[PROTO_SIGMOID_FINE_KNOTS],
                                   uint64_t d[PROTO_SIGMOID_FINE_KNOTS], unsigned f,
                                   trine_err_t *err)
{
    uint64_t prev = 0;
    for (int i = 0; i < PROTO_SIGMOID_FINE_KNOTS; i++) {
        if (fixed_encode(&knot[i], fine_knots[i], f) != TRINE_OK)
            return trine_err_set(err, TRINE_ERANGE,
                                 "sigmoid: the knot %g has no fixed-point form with %u bits",
                                 fine_knots[i], f);
        uint64_t slope = 0; /* past the last knot: flat */
        if (i + 1 < PROTO_SIGMOID_FINE_KNOTS) {
            double s = (fine_values[i + 1] - fine_values[i]) / (fine_knots[i + 1] - fine_knots[i]);
            if (fixed_encode(&slope, s, f) != TRINE_OK)
                return trine_err_set(err, TRINE_ERANGE, "sigmoid: no %u-bit slope %g", f, s);
        }
        d[i] = slope - prev;
        prev = slope;
    }
    return TRINE_OK;
}

static trine_status_t fine_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("sigmoid", t, 2, err);
    if (st != TRINE_OK)
        return st;
    enum { K = PROTO_SIGMOID_FINE_KNOTS };
    uint64_t knot[K], d[K];
    if ((st = fine_weights(knot, d, ctx->frac_bits, err)) != TRINE_OK)
        return st;
    size_t n = x->size;
    tensor_t *v = tensor_new_1d(K * n), *r = tensor_new_1d(K * n);
    if (!v || !r)
        st = trine_err_set(err, TRINE_ENOMEM, "sigmoid: no memory for %zu values", K * n);
    for (int i = 0; st == TRINE_OK && i < K; i++) {
        uint64_t shift = ctx->role == PROTO_P0 ? knot[i] : 0;
        for (size_t e = 0; e < n; e++)
            v->data[i * n + e] = x->data[e] - shift;
    }
    if (st == TRINE_OK)
        st = proto_relu(ctx, r, NULL, v, err);
    for (size_t e = 0; st == TRINE_OK && e < n; e++) {
        uint64_t sum = 0;
        for (int i = 0; i < K; i++)
            sum += d[i] * r->data[i * n + e];
        out->data[e] = sum;
    }
    if (st == TRINE_OK)
        st = proto_truncate(ctx, out, ctx->frac_bits, err);
    tensor_destroy(&v), tensor_destroy(&r);
    return st;
}

trine_status_t proto_sigmoid_fine(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                  trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_SIGMOID_FINE, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, fine_run(ctx, out, x, err));
}
