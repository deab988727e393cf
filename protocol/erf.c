/* erf.c — the error function on shares by the tanh form behind GELU's
 * usual approximation: erf(z) ~ tanh(2/sqrt(pi) (z + 0.08943 z^3))
 * (0.044715 (sqrt 2)^2 = 0.08943), within 3.6e-4 of erf for every z
 * (measured on a grid of 2e5 points over [-8, 8]; beyond, both are +-1).
 *
 *   z2 = z z;  w = z (1 + 0.08943 z2)   (two products, two rounds)
 *   out = tanh(2/sqrt(pi) w)            (tanh.c; the factor local)
 *
 * Rounds: 2, then tanh's 32: 34 with local truncation, 56 exact. Bytes
 * per element: tanh's and 2 products of 40: 2287 measured with exact
 * truncation (tests/check_proto_fn.c's harness).
 *
 * Error (PROG_ERF_ERROR, tests/check_proto_fn.c): the form's 3.6e-4,
 * tanh's PROG_TANH_ERROR and tanh's slope (at most 1) times 2/sqrt(pi)
 * times a few steps of w's rounding. Needs |z| < 2^((62 - 2f) / 3) so
 * that z^3 fits the ring (2^10 at f = 16); beyond, wrong, not an error.
 */
#include "internal.h"

#include "tensor/fixed.h"

#include <math.h>

#define ERF_CUBIC          0.08943
#define ERF_TWO_BY_SQRT_PI 1.12837916709551257390

static trine_status_t erf_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *z,
                              trine_err_t *err)
{
    const tensor_t *t[] = {out, z};
    trine_status_t st = proto_check_shapes("erf", t, 2, err);
    if (st != TRINE_OK)
        return st;
    tensor_t *z2 = tensor_new_like(z), *w = tensor_new_like(z);
    if (!z2 || !w)
        st = trine_err_set(err, TRINE_ENOMEM, "erf: no memory for %zu values", z->size);
    if (st == TRINE_OK)
        st = proto_mul_fixed(ctx, z2, z, z, err);
    if (st == TRINE_OK)
        st = proto_affine(ctx, z2, z2, ERF_CUBIC, 1.0, err);
    if (st == TRINE_OK)
        st = proto_mul_fixed(ctx, w, z, z2, err);
    if (st == TRINE_OK)
        st = proto_affine(ctx, w, w, ERF_TWO_BY_SQRT_PI, 0.0, err);
    if (st == TRINE_OK)
        st = proto_tanh(ctx, out, w, err);
    tensor_destroy(&z2), tensor_destroy(&w);
    return st;
}

trine_status_t proto_erf(proto_ctx_t *ctx, tensor_t *out, const tensor_t *z, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_ERF, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, erf_run(ctx, out, z, err));
}
