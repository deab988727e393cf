/* check_prog_exec.c — programs run on shares by three parties (prog_exec)
 * against the plaintext backend (prog_plain): every opcode, the ONNX
 * geometry (strides and pads per axis and side, rectangular and padded
 * pooling, permutations, the fine sigmoid) across seeds, small networks
 * with batch stepping, training steps that write weights back, and what
 * the interpreter saves (DReLU bits kept from a relu, masks reused).
 *
 * Inputs are multiples of one fixed-point step, so that they encode
 * exactly: relu, drelu, gt, maxpool, its gradient, argmax, transpose and
 * the 3-piece sigmoid must then match the plaintext exactly, div within
 * the one step its floor drops, the fine sigmoid within its slopes'
 * rounding, and the rest within a few steps per truncation. */
#include "check_util.h"
#include "proto_harness.h"

#include "protocol/program.h"
#include "tensor/fixed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 48
#define MAXO 48
#define ULP  (1.0 / (1 << FB))

/* An extent list: S(3, 4) is the count 2 and the array {3, 4}. */
#define S(...)                                                                                     \
    (int)(sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t)), (size_t[])                            \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

/* A program under construction with the plaintext of its inputs. */
typedef struct {
    prog_t p;
    prog_var_t vars[MAXV];
    prog_op_t ops[MAXO];
    double *data[MAXV]; /* inputs: multiples of ULP */
    double tol[MAXV];   /* outputs: allowed distance to prog_plain; < 0: not compared */
    uint64_t seed;
    bool shuffle; /* jobs shuffle the rows of each epoch */
    /* Per party, for the jobs: masked forms kept from an earlier job, and
     * where to keep this one's (prog_job_t); NULL: none. */
    const proto_masked_t *const *masked_in[PROTO_PARTIES];
    proto_masked_t **masked_out[PROTO_PARTIES];
    bool set_protocol; /* the jobs run under protocol and fss_max, not the harness's */
    proto_protocol_t protocol;
    uint64_t fss_max;
} tprog_t;

static void tp_init(tprog_t *t, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->p.vars = t->vars;
    t->p.ops = t->ops;
    t->seed = seed;
}

static int tp_var(tprog_t *t, const char *name, prog_var_kind_t kind, int ndim, const size_t *shape)
{
    ck_assert_uint_lt(t->p.nvars, MAXV);
    int v = (int)t->p.nvars++;
    prog_var_t *var = &t->vars[v];
    snprintf(var->name, sizeof var->name, "%s", name);
    var->kind = kind;
    var->ndim = ndim;
    for (int d = 0; d < TENSOR_MAX_DIMS; d++)
        var->shape[d] = d < ndim ? shape[d] : 1;
    return v;
}

/* An input with random values in [-range, range]. */
static int tp_in(tprog_t *t, const char *name, prog_var_kind_t kind, double range, int ndim,
                 const size_t *shape)
{
    int v = tp_var(t, name, kind, ndim, shape);
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    uint64_t *r = malloc(n * sizeof *r);
    t->data[v] = malloc(n * sizeof(double));
    ck_assert(r && t->data[v]);
    check_util_random(r, n, t->seed++);
    int64_t lim = (int64_t)(range * (1 << FB));
    for (size_t i = 0; i < n; i++)
        t->data[v][i] = (double)((int64_t)(r[i] % (uint64_t)(2 * lim + 1)) - lim) * ULP;
    free(r);
    return v;
}

static int tp_temp(tprog_t *t, const char *name)
{
    return tp_var(t, name, PROG_VAR_TEMP, 0, NULL);
}

static void tp_out(tprog_t *t, int v, double tol_steps)
{
    t->vars[v].output = true;
    t->tol[v] = tol_steps < 0 ? -1 : tol_steps * ULP;
}

/* Appends out = code(a, b) with iattr {i0, i1} and fattr f. A conv2d's
 * i0, i1 are its stride and pad on both axes and all sides, a pool's its
 * k x k window and stride; other slots can be set on the op returned. */
static prog_op_t *tp_op(tprog_t *t, prog_opcode_t code, int out, int a, int b, int64_t i0,
                        int64_t i1, double f)
{
    ck_assert_uint_lt(t->p.nops, MAXO);
    prog_op_t *op = &t->ops[t->p.nops++];
    *op = (prog_op_t){.code = code, .out = out, .in = {a, b}, .iattr = {i0, i1}, .fattr = f};
    int64_t *at = op->iattr;
    if (code == PROG_CONV2D) {
        at[PROG_CONV_SW] = i0;
        at[PROG_CONV_PL] = at[PROG_CONV_PB] = at[PROG_CONV_PR] = i1;
    } else if (code == PROG_MAXPOOL || code == PROG_AVGPOOL || code == PROG_MAXPOOL_GRAD) {
        at[PROG_POOL_KW] = i0;
        at[PROG_POOL_SW] = i1;
    }
    op->line = (uint32_t)t->p.nops;
    op->col = 1;
    return op;
}

/* A new temp written by op(a, b): the usual way to add a step. */
static int tp_let(tprog_t *t, const char *name, prog_opcode_t code, int a, int b, int64_t i0,
                  int64_t i1, double f)
{
    int v = tp_temp(t, name);
    tp_op(t, code, v, a, b, i0, i1, f);
    return v;
}

static int tp_reshape(tprog_t *t, const char *name, int a, int ndim, const size_t *shape)
{
    int v = tp_let(t, name, PROG_RESHAPE, a, -1, 0, 0, 0);
    prog_op_t *op = &t->ops[t->p.nops - 1];
    op->ndim = ndim;
    memcpy(op->shape, shape, (size_t)ndim * sizeof *shape);
    return v;
}

static void tp_free(tprog_t *t)
{
    for (int v = 0; v < MAXV; v++)
        free(t->data[v]);
}

/* One run on shares: the three parties' jobs, shares and outputs, and
 * what each party's progress callback saw. */
typedef struct {
    uint64_t calls, steps;
    bool in_order;
} progress_t;

typedef struct {
    prog_job_t job[PROTO_PARTIES];
    progress_t prog[PROTO_PARTIES];
    tensor_t *in[PROTO_PARTIES][MAXV]; /* P2's stay NULL */
    tensor_t *out[PROTO_PARTIES][MAXV];
    double *open[MAXV];  /* the outputs opened and decoded */
    double *plain[MAXV]; /* prog_plain's outputs */
    harness_result_t res;
    const tprog_t *t;
} run_t;

static void on_progress(void *arg, uint64_t step, uint64_t steps)
{
    progress_t *pr = arg;
    pr->in_order = (pr->calls == 0 || pr->in_order) && step == pr->calls + 1;
    pr->calls++;
    pr->steps = steps;
}

static trine_status_t body_exec(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    run_t *r = arg;
    int p = proto_ctx_role(ctx);
    const tensor_t *const *in = p == PROTO_P2 ? NULL : (const tensor_t *const *)r->in[p];
    if (r->t->set_protocol) {
        trine_status_t st = proto_ctx_set_protocol(ctx, r->t->protocol, err);
        if (st != TRINE_OK)
            return st;
        proto_ctx_set_fss_max(ctx, r->t->fss_max);
    }
    return prog_exec(ctx, &r->job[p], in, r->out[p], err);
}

/* Shares t's inputs for a job of batch rows and epochs. */
static void tp_setup(const tprog_t *t, size_t batch, unsigned epochs, run_t *r)
{
    memset(r, 0, sizeof *r);
    r->t = t;
    for (int p = 0; p < PROTO_PARTIES; p++)
        r->job[p] = (prog_job_t){.prog = &t->p,
                                 .batch = batch,
                                 .epochs = epochs,
                                 .progress = on_progress,
                                 .progress_arg = &r->prog[p],
                                 .shuffle = t->shuffle,
                                 .shuffle_seed = t->seed,
                                 .masked_in = t->masked_in[p],
                                 .masked_out = t->masked_out[p]};
    for (size_t v = 0; v < t->p.nvars; v++) {
        const prog_var_t *var = &t->vars[v];
        if (var->kind == PROG_VAR_TEMP)
            continue;
        tensor_t *x = tensor_new(var->ndim, var->shape), *sh[PROTO_PARTIES];
        ck_assert_ptr_nonnull(x);
        ck_assert_int_eq(fixed_encode_array(x->data, t->data[v], x->size, FB, NULL), TRINE_OK);
        harness_share(sh, x, t->seed + v);
        r->in[0][v] = sh[0], r->in[1][v] = sh[1];
        tensor_destroy(&sh[2]), tensor_destroy(&x);
    }
}

static void run_free(run_t *r)
{
    for (int v = 0; v < MAXV; v++) {
        for (int p = 0; p < PROTO_PARTIES; p++)
            tensor_destroy(&r->in[p][v]), tensor_destroy(&r->out[p][v]);
        free(r->open[v]), free(r->plain[v]);
    }
}

/* Runs t on shares and in plaintext and checks every output: its shape,
 * P2's zeros, and the opened value within t->tol of prog_plain's. Also
 * that each party reported every step in order. */
static void tp_check(const tprog_t *t, size_t batch, unsigned epochs, run_t *r)
{
    tp_setup(t, batch, epochs, r);
    harness_run_ok(body_exec, r, &r->res);
    prog_plain_t *pin[MAXV] = {0}, *pout[MAXV] = {0};
    for (size_t v = 0; v < t->p.nvars; v++) {
        const prog_var_t *var = &t->vars[v];
        if (var->kind == PROG_VAR_TEMP)
            continue;
        pin[v] = calloc(1, sizeof *pin[v]);
        ck_assert_ptr_nonnull(pin[v]);
        pin[v]->ndim = var->ndim;
        memcpy(pin[v]->shape, var->shape, sizeof var->shape);
        pin[v]->size = r->in[0][v]->size;
        pin[v]->data = malloc(pin[v]->size * sizeof(double));
        memcpy(pin[v]->data, t->data[v], pin[v]->size * sizeof(double));
    }
    prog_job_t plain = r->job[0];
    plain.progress = NULL;
    trine_err_t err = {0};
    ck_assert_msg(prog_plain(&plain, (const prog_plain_t *const *)pin, pout, &err) == TRINE_OK,
                  "prog_plain: %s", err.msg);
    uint64_t steps = prog_job_steps(&r->job[0]);
    for (int p = 0; p < PROTO_PARTIES; p++) {
        ck_assert_uint_eq(r->prog[p].calls, steps);
        ck_assert_uint_eq(r->prog[p].steps, steps);
        ck_assert(r->prog[p].in_order);
    }
    for (size_t v = 0; v < t->p.nvars; v++) {
        const char *name = t->vars[v].name;
        if (!t->vars[v].output) {
            for (int p = 0; p < PROTO_PARTIES; p++)
                ck_assert_ptr_null(r->out[p][v]);
            continue;
        }
        ck_assert_ptr_nonnull(pout[v]);
        for (int p = 0; p < PROTO_PARTIES; p++) {
            const tensor_t *o = r->out[p][v];
            ck_assert_msg(o != NULL, "P%d: no output %s", p, name);
            ck_assert_int_eq(o->ndim, pout[v]->ndim);
            for (int d = 0; d < o->ndim; d++)
                ck_assert_uint_eq(o->shape[d], pout[v]->shape[d]);
        }
        tensor_t *sh[PROTO_PARTIES] = {r->out[0][v], r->out[1][v], r->out[2][v]};
        tensor_t *o = harness_open(sh);
        r->open[v] = malloc(o->size * sizeof(double));
        fixed_decode_array(r->open[v], o->data, o->size, FB);
        for (size_t i = 0; t->tol[v] >= 0 && i < o->size; i++) {
            double got = r->open[v][i], want = pout[v]->data[i];
            ck_assert_msg(fabs(got - want) <= t->tol[v],
                          "%s[%zu]: got %.6f, want %.6f (%.1f steps)", name, i, got, want,
                          fabs(got - want) / ULP);
        }
        tensor_destroy(&o);
    }
    for (size_t v = 0; v < t->p.nvars; v++) /* kept for the caller's checks */
        if (pout[v])
            r->plain[v] = pout[v]->data, pout[v]->data = NULL;
    for (int v = 0; v < MAXV; v++)
        prog_plain_destroy(&pin[v]), prog_plain_destroy(&pout[v]);
}

/* Bytes all parties sent for op, and its calls at P0. */
static uint64_t op_bytes(const run_t *r, proto_op_t op)
{
    uint64_t b = 0;
    for (int p = 0; p < PROTO_PARTIES; p++)
        b += proto_counters_bytes_sent(&r->res.stats[p].op[op]);
    return b;
}

/* Bytes all parties sent in the job. */
static uint64_t total_bytes(const run_t *r)
{
    uint64_t b = 0;
    for (int p = 0; p < PROTO_PARTIES; p++)
        b += proto_counters_bytes_sent(&r->res.stats[p].total);
    return b;
}

static uint64_t op_calls(const run_t *r, proto_op_t op)
{
    return r->res.stats[0].op[op].calls;
}

START_TEST(linear_ops_match_plain)
{
    tprog_t t;
    tp_init(&t, 10);
    int a = tp_in(&t, "a", PROG_VAR_INPUT, 2, S(3, 4));
    int at = tp_in(&t, "at", PROG_VAR_INPUT, 2, S(4, 3));
    int b = tp_in(&t, "b", PROG_VAR_INPUT, 2, S(4, 5));
    int bt = tp_in(&t, "bt", PROG_VAR_INPUT, 2, S(5, 4));
    int e = tp_in(&t, "e", PROG_VAR_INPUT, 2, S(4, 2));
    int c = tp_in(&t, "c", PROG_VAR_INPUT, 2, S(3, 4));
    int t4 = tp_in(&t, "t4", PROG_VAR_INPUT, 4, S(2, 3, 4, 5));
    int s4 = tp_in(&t, "s4", PROG_VAR_INPUT, 4, S(2, 3, 4, 5));
    int bias = tp_in(&t, "bias", PROG_VAR_INPUT, 4, S(5));
    int cb = tp_in(&t, "cb", PROG_VAR_INPUT, 4, S(3, 1, 1));
    int row = tp_in(&t, "row", PROG_VAR_INPUT, 4, S(1, 4));
    int col = tp_in(&t, "col", PROG_VAR_INPUT, 4, S(3, 1));
    int vec = tp_in(&t, "vec", PROG_VAR_INPUT, 4, S(7));
    int img = tp_in(&t, "img", PROG_VAR_INPUT, 1, S(2, 3, 5, 5));
    int flt = tp_in(&t, "flt", PROG_VAR_INPUT, 0.5, S(4, 3, 3, 3));
    /* products: one truncation each, within 2 steps; b and bt are masked
     * (two products each), e is not (one) */
    tp_out(&t, tp_let(&t, "mm00", PROG_MATMUL, a, b, 0, 0, 0), 2);
    tp_out(&t, tp_let(&t, "mm10", PROG_MATMUL, at, b, 1, 0, 0), 2);
    tp_out(&t, tp_let(&t, "mm01", PROG_MATMUL, a, bt, 0, 1, 0), 2);
    tp_out(&t, tp_let(&t, "mm11", PROG_MATMUL, at, bt, 1, 1, 0), 2);
    tp_out(&t, tp_let(&t, "mm_once", PROG_MATMUL, a, e, 0, 0, 0), 2);
    tp_out(&t, tp_let(&t, "mul", PROG_MUL, a, c, 0, 0, 0), 2);
    tp_out(&t, tp_let(&t, "conv_s1p1", PROG_CONV2D, img, flt, 1, 1, 0), 2);
    tp_out(&t, tp_let(&t, "conv_s2p0", PROG_CONV2D, img, flt, 2, 0, 0), 2);
    /* local and exact */
    tp_out(&t, tp_let(&t, "add_bias", PROG_ADD, t4, bias, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "add_chan", PROG_ADD, t4, cb, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "sub_same", PROG_SUB, t4, s4, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "sub_row", PROG_SUB, a, row, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "add_col", PROG_ADD, a, col, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "sum4", PROG_SUM, t4, -1, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "sum1", PROG_SUM, vec, -1, 0, 0, 0), 0);
    tp_out(&t, tp_reshape(&t, "flat", t4, S(0, 60)), 0);
    tp_out(&t, tp_reshape(&t, "rs", a, S(2, 6)), 0);
    tp_out(&t, tp_let(&t, "tr", PROG_TRANSPOSE, a, -1, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "sc_int", PROG_SCALE, a, -1, 0, 0, 3), 0);
    tp_out(&t, tp_let(&t, "sc_neg", PROG_SCALE, a, -1, 0, 0, -2), 0);
    tp_out(&t, tp_let(&t, "sc_one", PROG_SCALE, a, -1, 0, 0, 1), 0);
    /* shifts: one truncation; other constants: also round(c 2^f) */
    tp_out(&t, tp_let(&t, "sc_quarter", PROG_SCALE, a, -1, 0, 0, 0.25), 2);
    tp_out(&t, tp_let(&t, "sc_tiny", PROG_SCALE, a, -1, 0, 0, 0x1p-20), 2);
    tp_out(&t, tp_let(&t, "sc_frac", PROG_SCALE, a, -1, 0, 0, 0.3), 3);
    tp_out(&t, tp_let(&t, "sc_negfrac", PROG_SCALE, a, -1, 0, 0, -0.7), 3);
    tp_out(&t, tp_let(&t, "sc_big", PROG_SCALE, a, -1, 0, 0, 5.5), 3);
    tp_out(&t, tp_let(&t, "sgd", PROG_SGD, a, c, 0, 0, 0.125), 2);
    tp_out(&t, tp_let(&t, "avg2", PROG_AVGPOOL, img, -1, 2, 1, 0), 2);
    /* round(2^13 / 9) is off by 2^-2 in 910: up to 9 |x| 2^-15 more */
    tp_out(&t, tp_let(&t, "avg3", PROG_AVGPOOL, img, -1, 3, 2, 0), 4);
    run_t r;
    tp_check(&t, 1, 1, &r);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MASK), 3); /* b, bt, flt */
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MATMUL), 1);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MATMUL_MASKED), 4);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_CONV_MASKED), 2);
    run_free(&r);
    tp_free(&t);
}
END_TEST

START_TEST(nonlinear_ops_exact)
{
    tprog_t t;
    tp_init(&t, 20);
    int a = tp_in(&t, "a", PROG_VAR_INPUT, 3, S(6, 7));
    int c = tp_in(&t, "c", PROG_VAR_INPUT, 1, S(4, 5));
    int k1 = tp_in(&t, "k1", PROG_VAR_INPUT, 1, S(3, 1));
    int x4 = tp_in(&t, "x4", PROG_VAR_INPUT, 2, S(2, 2, 6, 6));
    int gy = tp_in(&t, "gy", PROG_VAR_INPUT, 2, S(2, 2, 3, 3));
    int gy3 = tp_in(&t, "gy3", PROG_VAR_INPUT, 2, S(2, 2, 2, 2));
    double *ad = t.data[a], *xd = t.data[x4];
    ad[0] = 0, ad[1] = ULP, ad[2] = -ULP, ad[3] = 0.5, ad[4] = -0.5, ad[5] = 0.5 - ULP;
    for (int j = 0; j < 7; j++) {
        ad[7 + j] = 1.25;                         /* row 1: all equal */
        ad[14 + j] = j == 2 || j == 5 ? 2.5 : -j; /* row 2: the maximum twice */
        ad[21 + j] = -3 + j * ULP;                /* row 3: negative, ascending */
    }
    for (size_t i = 0; i < 2 * 2 * 6 * 6; i += 3) /* ties in the pooling windows */
        xd[i] = xd[i + 1];
    int rl = tp_let(&t, "relu", PROG_RELU, a, -1, 0, 0, 0);
    tp_out(&t, rl, 0);
    tp_out(&t, tp_let(&t, "drelu_kept", PROG_DRELU, a, -1, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "drelu", PROG_DRELU, c, -1, 0, 0, 0), 0);
    /* u's relu bits are stale once u = u - 2 u: its drelu runs afresh */
    int u = tp_in(&t, "u", PROG_VAR_INPUT, 1, S(4, 5));
    int u4 = tp_let(&t, "u4", PROG_SCALE, u, -1, 0, 0, 4);
    tp_out(&t, tp_let(&t, "relu_u", PROG_RELU, u, -1, 0, 0, 0), 0);
    tp_op(&t, PROG_SGD, u, u, u4, 0, 0, 0.5);
    tp_out(&t, tp_let(&t, "drelu_u", PROG_DRELU, u, -1, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "sigmoid", PROG_SIGMOID, a, -1, 0, 0, 0), 0);
    int am = tp_let(&t, "argmax", PROG_ARGMAX, a, -1, 0, 0, 0);
    tp_out(&t, am, 0);
    tp_out(&t, tp_let(&t, "argmax1", PROG_ARGMAX, k1, -1, 0, 0, 0), 0);
    tp_out(&t, tp_let(&t, "mp", PROG_MAXPOOL, x4, -1, 2, 2, 0), 0);
    tp_out(&t, tp_let(&t, "mp3", PROG_MAXPOOL, x4, -1, 3, 1, 0), 0);
    /* after maxpool(x4, 2, 2): its one-hot reused; k 3 stride 2: the
     * windows overlap and nothing is cached */
    tp_out(&t, tp_let(&t, "mgrad", PROG_MAXPOOL_GRAD, gy, x4, 2, 2, 0), 0);
    tp_out(&t, tp_let(&t, "mgrad3", PROG_MAXPOOL_GRAD, gy3, x4, 3, 2, 0), 0);
    run_t r;
    tp_check(&t, 1, 1, &r);
    /* DReLU runs for c and the new u; maxpool for mp, mp3 and mgrad3 */
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_DRELU), 2);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MAXPOOL), 3);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_ARGMAX), 2);
    ck_assert(r.open[am][1] == 0 && r.open[am][2] == 2 && r.open[am][3] == 6);
    run_free(&r);
    tp_free(&t);
}
END_TEST

/* The ring integer of a value that is a multiple of ULP. */
static uint64_t ring_of(double v)
{
    return (uint64_t)(int64_t)(v / ULP);
}

START_TEST(div_gt_match_plain)
{
    enum { N = 5 * 8 };
    for (uint64_t seed = 90; seed < 93; seed++) {
        tprog_t t;
        tp_init(&t, 10 * seed);
        int a = tp_in(&t, "a", PROG_VAR_INPUT, 4, S(5, 8));
        int b = tp_in(&t, "b", PROG_VAR_INPUT, 4, S(5, 8));
        int n0 = tp_in(&t, "n0", PROG_VAR_INPUT, 1, S(5, 8));
        int n4 = tp_in(&t, "n4", PROG_VAR_INPUT, 1, S(5, 8));
        int d = tp_in(&t, "d", PROG_VAR_INPUT, 1, S(5, 8));
        /* gt: ties every fourth element, signs around 0, negatives, and
         * values far apart (|a - b| = 2^48 < 2^(62-f)) */
        double *ad = t.data[a], *bd = t.data[b];
        for (int i = 0; i < N; i += 4)
            bd[i] = ad[i];
        ad[1] = 0, bd[1] = -ULP;
        ad[2] = -ULP, bd[2] = 0;
        ad[3] = -0x1p47, bd[3] = 0x1p47;
        ad[5] = 0x1p47, bd[5] = -0x1p47;
        ad[6] = -2, bd[6] = -2 + ULP;
        ad[7] = -3, bd[7] = -3.5;
        /* div: denominators D of 1 to 2^15 steps, numerators below D
         * (int_bits 0) and below 16 D (int_bits 4); then the edges: the
         * smallest D, a D of 2^40, zero and the largest numerators */
        uint64_t r[3 * N];
        check_util_random(r, 3 * N, seed);
        uint64_t dd[N], q0[N], q4[N];
        for (int i = 0; i < N; i++) {
            dd[i] = 1 + r[i] % (1u << 15);
            q0[i] = r[N + i] % dd[i];
            q4[i] = r[2 * N + i] % (dd[i] << 4);
        }
        dd[0] = 1, q0[0] = 0, q4[0] = 15;
        dd[1] = (uint64_t)1 << 40, q0[1] = dd[1] - 1, q4[1] = (dd[1] << 4) - 1;
        q0[2] = q4[2] = 0;
        q0[3] = dd[3] - 1, q4[3] = (dd[3] << 4) - 1;
        for (int i = 0; i < N; i++) {
            t.data[d][i] = (double)dd[i] * ULP;
            t.data[n0][i] = (double)q0[i] * ULP;
            t.data[n4][i] = (double)q4[i] * ULP;
        }
        int gt = tp_let(&t, "gt", PROG_GT, a, b, 0, 0, 0);
        int lt = tp_let(&t, "lt", PROG_GT, b, a, 0, 0, 0);
        int div0 = tp_let(&t, "div0", PROG_DIV, n0, d, 0, 0, 0);
        int div4 = tp_let(&t, "div4", PROG_DIV, n4, d, 4, 0, 0);
        tp_out(&t, gt, 0);
        tp_out(&t, lt, 0);
        /* floor(a 2^f / b) 2^-f is at most one step below a / b */
        tp_out(&t, div0, 1);
        tp_out(&t, div4, 1);
        run_t rr;
        tp_check(&t, 1, 1, &rr);
        ck_assert_uint_eq(op_calls(&rr, PROTO_OP_COMPARE), 2);
        ck_assert_uint_eq(op_calls(&rr, PROTO_OP_DIV), 2);
        for (int i = 0; i < N; i++) {
            ck_assert(rr.open[gt][i] + rr.open[lt][i] == (i % 4 ? 1.0 : 0.0));
            /* exactly the floor, from the ring integers */
            ck_assert_uint_eq(ring_of(rr.open[div0][i]), (q0[i] << FB) / dd[i]);
            ck_assert_uint_eq(ring_of(rr.open[div4][i]), (q4[i] << FB) / dd[i]);
        }
        ck_assert(rr.open[div4][1] == 16 - ULP && rr.open[div4][0] == 15);
        run_free(&rr);
        tp_free(&t);
    }
}
END_TEST

START_TEST(mlp_forward_in_batches)
{
    tprog_t t;
    tp_init(&t, 30);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 1, S(10, 6));
    int w1 = tp_in(&t, "w1", PROG_VAR_INPUT, 0.5, S(6, 8));
    int b1 = tp_in(&t, "b1", PROG_VAR_INPUT, 0.5, S(8));
    int w2 = tp_in(&t, "w2", PROG_VAR_INPUT, 0.5, S(8, 3));
    int b2 = tp_in(&t, "b2", PROG_VAR_INPUT, 0.5, S(3));
    int h = tp_let(&t, "h", PROG_MATMUL, x, w1, 0, 0, 0);
    h = tp_let(&t, "hb", PROG_ADD, h, b1, 0, 0, 0);
    h = tp_let(&t, "ha", PROG_RELU, h, -1, 0, 0, 0);
    int y = tp_let(&t, "yw", PROG_MATMUL, h, w2, 0, 0, 0);
    y = tp_let(&t, "y", PROG_ADD, y, b2, 0, 0, 0);
    tp_out(&t, y, 6);
    tp_out(&t, w1, 0); /* an input as an output: unchanged */
    run_t r;
    /* 10 rows by 4: 4, 4, 2 twice; y is the last epoch's 10 rows */
    tp_check(&t, 4, 2, &r);
    ck_assert_uint_eq(r.out[0][y]->shape[0], 10);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MASK), 2);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MATMUL), 0);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MATMUL_MASKED), 12);
    /* per row (2 * 6 + 8) + (2 * 8 + 3) words, over 20 rows */
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_MATMUL_MASKED), 20 * (20 + 19) * 8);
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_MASK), 2 * (6 * 8 + 8 * 3) * 8);
    run_free(&r);
    /* one step of all rows: each weight is used once and not masked */
    tp_check(&t, 16, 1, &r);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MASK), 0);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MATMUL), 2);
    run_free(&r);
    tp_free(&t);
}
END_TEST

START_TEST(second_product_with_constant_costs_no_mask)
{
    enum { M = 5, N = 7, V = 3 };
    tprog_t t;
    tp_init(&t, 40);
    int a = tp_in(&t, "a", PROG_VAR_INPUT, 1, S(M, N));
    int c = tp_in(&t, "c", PROG_VAR_INPUT, 1, S(M, N));
    int d = tp_in(&t, "d", PROG_VAR_INPUT, 1, S(M, V));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 1, S(N, V));
    tp_out(&t, tp_let(&t, "y1", PROG_MATMUL, a, w, 0, 0, 0), 2);
    tp_out(&t, tp_let(&t, "y2", PROG_MATMUL, c, w, 0, 0, 0), 2);
    tp_out(&t, tp_let(&t, "y3", PROG_MATMUL, d, w, 0, 1, 0), 2);
    run_t r;
    tp_check(&t, 1, 1, &r);
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_MASK), 2 * N * V * 8);
    /* each product: 2mn + mv words, the last with w transposed */
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_MATMUL_MASKED),
                      (2 * (2 * M * N + M * V) + (2 * M * V + M * N)) * 8);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MATMUL), 0);
    run_free(&r);
    tp_free(&t);
}
END_TEST

/* Protocol auto: the relu of 240 values goes by carry, the one of 32
 * by fss taking its product's truncation, the argmax's 48 pairs by fss;
 * the result is the plaintext's, in fewer rounds than under securenn,
 * more than under fss, with keys dealt for the small ones only. */
START_TEST(protocol_auto_mixes_by_size)
{
    tprog_t t;
    tp_init(&t, 45);
    int x = tp_in(&t, "x", PROG_VAR_INPUT, 1, S(8, 12));
    int w1 = tp_in(&t, "w1", PROG_VAR_INPUT, 0.5, S(12, 30));
    int w2 = tp_in(&t, "w2", PROG_VAR_INPUT, 0.5, S(30, 4));
    int h = tp_let(&t, "h", PROG_RELU, tp_let(&t, "p1", PROG_MATMUL, x, w1, 0, 0, 0), -1, 0, 0, 0);
    int y = tp_let(&t, "y", PROG_RELU, tp_let(&t, "p2", PROG_MATMUL, h, w2, 0, 0, 0), -1, 0, 0, 0);
    tp_out(&t, y, 3);
    tp_out(&t, tp_let(&t, "k", PROG_ARGMAX, y, -1, 0, 0, 0), 0);
    const proto_protocol_t modes[3] = {PROTO_SECURENN, PROTO_AUTO, PROTO_FSS};
    uint64_t rounds[3], offline[3];
    t.set_protocol = true, t.fss_max = 100;
    for (int mode = 0; mode < 3; mode++) {
        t.protocol = modes[mode];
        run_t r;
        tp_check(&t, 1, 1, &r);
        offline[mode] = 0;
        for (int p = 0; p < PROTO_PARTIES; p++)
            offline[mode] += r.res.stats[p].total.offline_bytes;
        rounds[mode] = 0;
        for (int p = 0; p < PROTO_PARTIES; p++)
            rounds[mode] = r.res.stats[p].total.rounds > rounds[mode] ? r.res.stats[p].total.rounds
                                                                     : rounds[mode];
        run_free(&r);
    }
    ck_assert_uint_lt(offline[1], offline[2]);
    ck_assert_uint_lt(rounds[2], rounds[1]);
    ck_assert_uint_lt(rounds[1], rounds[0]);
    tp_free(&t);
}
END_TEST

/* The first maximum of n values at stride apart. */
static size_t first_max(const double *v, size_t n, size_t stride)
{
    size_t arg = 0;
    for (size_t j = 1; j < n; j++)
        if (v[j * stride] > v[arg * stride])
            arg = j;
    return arg;
}

START_TEST(conv_net_forward)
{
    tprog_t t;
    tp_init(&t, 50);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 1, S(5, 1, 6, 6));
    int f = tp_in(&t, "f", PROG_VAR_INPUT, 0.5, S(2, 1, 3, 3));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 0.5, S(18, 4));
    int cv = tp_let(&t, "c", PROG_CONV2D, x, f, 1, 1, 0);
    int rl = tp_let(&t, "r", PROG_RELU, cv, -1, 0, 0, 0);
    int mp = tp_let(&t, "m", PROG_MAXPOOL, rl, -1, 2, 2, 0);
    int fl = tp_reshape(&t, "flat", mp, S(0, 18));
    int y = tp_let(&t, "y", PROG_MATMUL, fl, w, 0, 0, 0);
    int cls = tp_let(&t, "cls", PROG_ARGMAX, y, -1, 0, 0, 0);
    int gx = tp_let(&t, "gx", PROG_MAXPOOL_GRAD, mp, rl, 2, 2, 0);
    tp_out(&t, rl, 2);
    tp_out(&t, mp, 2);
    tp_out(&t, y, 6);
    /* argmax and the gradient's routing are not continuous: checked
     * exactly against the secure values they came from, below */
    tp_out(&t, cls, -1);
    tp_out(&t, gx, -1);
    run_t r;
    tp_check(&t, 2, 1, &r);
    for (size_t i = 0; i < 5; i++)
        ck_assert_double_eq(r.open[cls][i], (double)first_max(r.open[y] + 4 * i, 4, 1));
    double *want = calloc(5 * 2 * 6 * 6, sizeof *want);
    for (size_t pl = 0; pl < 10; pl++)
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 3; j++) {
                const double *win = r.open[rl] + pl * 36 + 2 * i * 6 + 2 * j;
                size_t e = first_max((double[]){win[0], win[1], win[6], win[7]}, 4, 1);
                want[pl * 36 + (2 * i + e / 2) * 6 + 2 * j + e % 2] +=
                    r.open[mp][pl * 9 + i * 3 + j];
            }
    for (size_t i = 0; i < 5 * 2 * 6 * 6; i++)
        ck_assert_double_eq(r.open[gx][i], want[i]);
    free(want);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MASK), 2);    /* f and w, 3 steps each */
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MAXPOOL), 3); /* the gradient reused it */
    run_free(&r);
    tp_free(&t);
}
END_TEST

/* PyTorch's order, maxpool(relu(conv + b)), runs as relu(maxpool(...)):
 * the relu compares the 90 pooled values of the 5 rows, not the 360 it
 * reads; under fss the relu also takes the conv's truncation, the pool
 * comparing untruncated values, so nothing is truncated on its own. */
START_TEST(relu_moves_after_maxpool)
{
    tprog_t t;
    tp_init(&t, 57);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 1, S(5, 1, 6, 6));
    int f = tp_in(&t, "f", PROG_VAR_INPUT, 0.5, S(2, 1, 3, 3));
    int b = tp_in(&t, "b", PROG_VAR_INPUT, 0.5, S(2, 1, 1));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 0.5, S(18, 4));
    int cv = tp_let(&t, "c", PROG_CONV2D, x, f, 1, 1, 0);
    int cb = tp_let(&t, "cb", PROG_ADD, cv, b, 0, 0, 0);
    int rl = tp_let(&t, "r", PROG_RELU, cb, -1, 0, 0, 0);
    int mp = tp_let(&t, "m", PROG_MAXPOOL, rl, -1, 2, 2, 0);
    int fl = tp_reshape(&t, "flat", mp, S(0, 18));
    int y = tp_let(&t, "y", PROG_MATMUL, fl, w, 0, 0, 0);
    tp_out(&t, mp, 2);
    tp_out(&t, y, 6);
    run_t r;
    tp_check(&t, 2, 1, &r); /* 2, 2, 1 rows */
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_RELU), 3);
    /* calls of 2, 2 and 1 rows of 18, each with the conv's truncation
     * (under carry its opening is the ReLU's; dealt 10 bytes and 8 for the
     * ReLU's second product) */
    uint64_t carry = 2 * (harness_carry_bytes(36, true) + harness_carry_dealt(36, true)) +
                     harness_carry_bytes(18, true) + harness_carry_dealt(18, true) + 18 * 90;
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_RELU),
                      harness_pick(432 * 90, (16 + 2 * 2560 + 24) * 90, carry));
    /* the matmul's truncation, and under securenn the conv's */
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_TRUNC), harness_pick(6, 3, 3));
    run_free(&r);
    tp_free(&t);
}
END_TEST

/* argmax(matmul(x, w) + b) compares the untruncated products: the same
 * class as plaintext's, and no truncation at all (a round fewer). */
START_TEST(argmax_reads_products_untruncated)
{
    tprog_t t;
    tp_init(&t, 58);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 1, S(9, 6));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 1, S(6, 10));
    int b = tp_in(&t, "b", PROG_VAR_INPUT, 1, S(10));
    int y = tp_let(&t, "y", PROG_MATMUL, x, w, 0, 0, 0);
    int yb = tp_let(&t, "yb", PROG_ADD, y, b, 0, 0, 0);
    int cls = tp_let(&t, "cls", PROG_ARGMAX, yb, -1, 0, 0, 0);
    tp_out(&t, cls, 0);
    run_t r;
    tp_check(&t, 9, 1, &r);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_TRUNC), 0);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_ARGMAX), 1);
    run_free(&r);
    tp_free(&t);
}
END_TEST

START_TEST(mlp_training_steps_update_weights)
{
    tprog_t t;
    tp_init(&t, 61);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 1, S(8, 4));
    int tg = tp_in(&t, "t", PROG_VAR_BATCH, 1, S(8, 2));
    int w1 = tp_in(&t, "w1", PROG_VAR_INPUT, 0.5, S(4, 5));
    int w2 = tp_in(&t, "w2", PROG_VAR_INPUT, 0.5, S(5, 2));
    int b2 = tp_in(&t, "b2", PROG_VAR_INPUT, 0.5, S(2));
    int h1 = tp_let(&t, "h1", PROG_MATMUL, x, w1, 0, 0, 0);
    int a1 = tp_let(&t, "a1", PROG_RELU, h1, -1, 0, 0, 0);
    int z = tp_let(&t, "z", PROG_MATMUL, a1, w2, 0, 0, 0);
    int y = tp_let(&t, "y", PROG_ADD, z, b2, 0, 0, 0);
    int e = tp_let(&t, "e", PROG_SUB, y, tg, 0, 0, 0);
    int dw2 = tp_let(&t, "dw2", PROG_MATMUL, a1, e, 1, 0, 0);
    int db2 = tp_let(&t, "db2", PROG_SUM, e, -1, 0, 0, 0);
    int da1 = tp_let(&t, "da1", PROG_MATMUL, e, w2, 0, 1, 0);
    int d1 = tp_let(&t, "d1", PROG_DRELU, h1, -1, 0, 0, 0);
    int dh1 = tp_let(&t, "dh1", PROG_MUL, da1, d1, 0, 0, 0);
    int dw1 = tp_let(&t, "dw1", PROG_MATMUL, x, dh1, 1, 0, 0);
    tp_op(&t, PROG_SGD, w2, w2, dw2, 0, 0, 0.125);
    tp_op(&t, PROG_SGD, b2, b2, db2, 0, 0, 0.125);
    tp_op(&t, PROG_SGD, w1, w1, dw1, 0, 0, 0.125);
    tp_out(&t, h1, 4);
    tp_out(&t, e, 6);
    tp_out(&t, w1, 6);
    tp_out(&t, w2, 6);
    tp_out(&t, b2, 6);
    run_t r;
    tp_setup(&t, 4, 1, &r);
    tensor_t *w1_share = tensor_copy(r.in[0][w1]);
    run_free(&r);
    tp_check(&t, 4, 1, &r);
    /* the caller's shares are untouched; 2 steps, so the update of step 1
     * fed step 2 (else w1 would differ from prog_plain's) */
    ck_assert_mem_eq(r.in[0][w1]->data, w1_share->data, w1_share->size * 8);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_DRELU), 0); /* kept from the relu */
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_MASK), 0);  /* every weight is written */
    /* drelu has a kink at 0: the data keep h1 away from it */
    for (size_t i = 0; i < 8 * 5; i++)
        ck_assert_msg(fabs(r.open[h1][i]) > 16 * ULP, "h1[%zu] = %g is too close to 0", i,
                      r.open[h1][i]);
    tensor_destroy(&w1_share);
    run_free(&r);
    tp_free(&t);
}
END_TEST

START_TEST(logistic_regression_two_epochs)
{
    tprog_t t;
    tp_init(&t, 70);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 1, S(12, 3));
    int lab = tp_in(&t, "label", PROG_VAR_BATCH, 1, S(12, 1));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 0.5, S(3, 1));
    int b = tp_in(&t, "b", PROG_VAR_INPUT, 0.5, S(1));
    for (size_t i = 0; i < 12; i++)
        t.data[lab][i] = t.data[x][3 * i] + t.data[x][3 * i + 1] > 0;
    int s = tp_let(&t, "s", PROG_MATMUL, x, w, 0, 0, 0);
    s = tp_let(&t, "sb", PROG_ADD, s, b, 0, 0, 0);
    int p = tp_let(&t, "p", PROG_SIGMOID, s, -1, 0, 0, 0);
    int e = tp_let(&t, "e", PROG_SUB, p, lab, 0, 0, 0);
    int dw = tp_let(&t, "dw", PROG_MATMUL, x, e, 1, 0, 0);
    int db = tp_let(&t, "db", PROG_SUM, e, -1, 0, 0, 0);
    tp_op(&t, PROG_SGD, w, w, dw, 0, 0, 0.25);
    tp_op(&t, PROG_SGD, b, b, db, 0, 0, 0.25);
    tp_out(&t, p, 8);
    tp_out(&t, w, 8);
    tp_out(&t, b, 8);
    run_t r;
    tp_check(&t, 5, 2, &r); /* 5, 5, 2 rows, twice */
    ck_assert_uint_eq(r.out[1][p]->shape[0], 12);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_SIGMOID), 6);
    run_free(&r);
    tp_free(&t);
}
END_TEST

START_TEST(errors_name_the_op_and_input)
{
    tprog_t t;
    tp_init(&t, 80);
    int a = tp_in(&t, "a", PROG_VAR_INPUT, 1, S(3, 4));
    int bias = tp_in(&t, "bias", PROG_VAR_INPUT, 1, S(4));
    tp_out(&t, tp_let(&t, "y", PROG_ADD, a, bias, 0, 0, 0), 0);
    prog_op_t *op = tp_op(&t, PROG_SCALE, tp_temp(&t, "big"), a, -1, 0, 0, 1e30);
    op->line = 2, op->col = 7;
    tp_out(&t, (int)t.p.nvars - 1, 0);
    run_t r;
    tp_setup(&t, 1, 1, &r);
    harness_run(body_exec, &r, 2000, &r.res);
    for (int p = 0; p < PROTO_PARTIES; p++) {
        ck_assert_int_eq(r.res.status[p], TRINE_ERANGE);
        ck_assert_msg(strncmp(r.res.err[p].msg, "line 2 col 7: scale: ", 21) == 0, "%s",
                      r.res.err[p].msg);
        for (int v = 0; v < MAXV; v++)
            ck_assert_ptr_null(r.out[p][v]);
    }
    run_free(&r);
    tp_free(&t);
    /* a share of the wrong shape: P0 and P1 refuse it (P2 has no shares) */
    tp_init(&t, 81);
    a = tp_in(&t, "a", PROG_VAR_INPUT, 1, S(3, 4));
    bias = tp_in(&t, "bias", PROG_VAR_INPUT, 1, S(4));
    tp_out(&t, tp_let(&t, "y", PROG_ADD, a, bias, 0, 0, 0), 0);
    tp_setup(&t, 1, 1, &r);
    for (int p = 0; p < 2; p++) {
        tensor_destroy(&r.in[p][a]);
        r.in[p][a] = tensor_new_2d(3, 5);
    }
    harness_run(body_exec, &r, 2000, &r.res);
    for (int p = 0; p < 2; p++) {
        ck_assert_int_eq(r.res.status[p], TRINE_ESHAPE);
        ck_assert_str_eq(r.res.err[p].msg, "input a: the share is [3, 5], the program says [3, 4]");
    }
    run_free(&r);
    tp_free(&t);
    /* a batch of 0 rows */
    tp_init(&t, 82);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 1, S(4, 2));
    tp_out(&t, tp_let(&t, "y", PROG_RELU, x, -1, 0, 0, 0), 0);
    tp_setup(&t, 0, 1, &r);
    harness_run(body_exec, &r, 2000, &r.res);
    for (int p = 0; p < PROTO_PARTIES; p++)
        ck_assert_int_eq(r.res.status[p], TRINE_EINVAL);
    run_free(&r);
    tp_free(&t);
}
END_TEST

/* Sets op's iattr to the n values of slots. */
static void tp_iattr(prog_op_t *op, const int64_t *slots, size_t n)
{
    memset(op->iattr, 0, sizeof op->iattr);
    memcpy(op->iattr, slots, n * sizeof *slots);
}

/* A job keeps the masked forms of its fixed operands (even used once, in
 * one step); a second job over the same shares of them, with other inputs,
 * opens none of them and still matches the plaintext. A kept form of
 * another shape is not used: that product masks afresh. */
START_TEST(masked_forms_kept_across_jobs)
{
    enum { N = 12, V = 5, OC = 4 };
    tprog_t t;
    tp_init(&t, 44);
    int x = tp_in(&t, "x", PROG_VAR_INPUT, 1, S(1, N));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 1, S(N, V));
    int img = tp_in(&t, "img", PROG_VAR_INPUT, 1, S(1, 1, 6, 6));
    int f = tp_in(&t, "f", PROG_VAR_INPUT, 1, S(OC, 1, 3, 3));
    tp_out(&t, tp_let(&t, "y", PROG_MATMUL, x, w, 0, 0, 0), 2);
    prog_op_t *conv = tp_op(&t, PROG_CONV2D, tp_temp(&t, "z"), img, f, 0, 0, 0);
    tp_iattr(conv, (int64_t[]){1, 0, 1, 0, 0, 0}, 6);
    tp_out(&t, conv->out, 3);
    proto_masked_t *kept[PROTO_PARTIES][MAXV] = {0};
    for (int p = 0; p < PROTO_PARTIES; p++)
        t.masked_out[p] = kept[p];
    run_t r;
    tp_check(&t, 1, 1, &r);
    uint64_t bytes1 = total_bytes(&r);
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_MASK), 2 * (N * V + OC * 9) * 8);
    for (int p = 0; p < PROTO_PARTIES; p++) {
        ck_assert(kept[p][w] && kept[p][f]);
        ck_assert(!kept[p][x] && !kept[p][img]);
    }
    run_free(&r);

    for (size_t i = 0; i < N; i++) /* new data, the same shares of w and f */
        t.data[x][i] = -t.data[x][i] + 3 * ULP;
    for (size_t i = 0; i < 36; i++)
        t.data[img][i] = t.data[img][i] / 2 - 5 * ULP;
    for (int p = 0; p < PROTO_PARTIES; p++)
        t.masked_in[p] = (const proto_masked_t *const *)kept[p], t.masked_out[p] = NULL;
    tp_check(&t, 1, 1, &r);
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_MASK), 0);
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_MATMUL_MASKED), (2 * N + V) * 8);
    ck_assert_uint_eq(total_bytes(&r), bytes1 - 2 * (N * V + OC * 9) * 8);
    run_free(&r);

    /* w read as 5 x 12, transposed: its kept 12 x 5 form is not used */
    t.vars[w].shape[0] = V, t.vars[w].shape[1] = N;
    t.ops[0].iattr[1] = 1;
    tp_check(&t, 1, 1, &r);
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_MASK), 2 * N * V * 8);
    run_free(&r);
    for (int p = 0; p < PROTO_PARTIES; p++)
        for (int v = 0; v < MAXV; v++)
            proto_masked_destroy(&kept[p][v]);
    tp_free(&t);
}
END_TEST

START_TEST(conv_strides_and_pads_per_axis)
{
    /* {sh, pt, sw, pl, pb, pr}: ONNX's asymmetric pads and strides */
    const int64_t geoms[][6] = {
        {1, 1, 2, 0, 0, 1}, {2, 0, 1, 2, 1, 0}, {3, 2, 2, 2, 2, 2}, {1, 3, 1, 0, 0, 3}};
    for (uint64_t seed = 0; seed < 3; seed++) {
        tprog_t t;
        tp_init(&t, 100 + 10 * seed);
        int x = tp_in(&t, "x", PROG_VAR_BATCH, 2, S(3, 2, 5, 6));
        int f = tp_in(&t, "f", PROG_VAR_INPUT, 0.5, S(3, 2, 3, 2));
        int f1 = tp_in(&t, "f1", PROG_VAR_INPUT, 0.5, S(2, 2, 1, 1));
        for (size_t gi = 0; gi < sizeof geoms / sizeof geoms[0]; gi++) {
            char name[8];
            snprintf(name, sizeof name, "c%zu", gi);
            int c = tp_let(&t, name, PROG_CONV2D, x, gi % 2 ? f1 : f, 0, 0, 0);
            tp_iattr(&t.ops[t.p.nops - 1], geoms[gi], 6);
            tp_out(&t, c, 2);
        }
        run_t r;
        tp_check(&t, 2, 1, &r); /* 2, then 1 row */
        /* f and f1 are each used by two products per step: masked once */
        ck_assert_uint_eq(op_calls(&r, PROTO_OP_MASK), 2);
        ck_assert_uint_eq(op_calls(&r, PROTO_OP_CONV_MASKED), 8);
        run_free(&r);
        tp_free(&t);
    }
}
END_TEST

START_TEST(pooling_padding_and_rectangles)
{
    /* {kh, sh, kw, sw, pt, pl, pb, pr, count_include_pad} */
    const int64_t geoms[][PROG_POOL_SLOTS] = {
        {3, 2, 3, 2, 1, 1, 1, 1, 0}, /* ONNX's usual padded 3x3 */
        {2, 1, 3, 2, 1, 0, 0, 2, 0}, /* rectangular, one-sided pads */
        {3, 1, 1, 2, 0, 0, 2, 0, 0}, /* tall, padded below */
        {2, 2, 2, 2, 0, 0, 0, 0, 0}, /* no padding */
    };
    for (uint64_t seed = 0; seed < 3; seed++) {
        tprog_t t;
        tp_init(&t, 200 + 10 * seed);
        int x = tp_in(&t, "x", PROG_VAR_INPUT, 2, S(2, 2, 5, 6));
        /* the averages' input: window sums times 2^13 / d stay in the ring */
        int xa = tp_in(&t, "xa", PROG_VAR_INPUT, 2, S(2, 2, 5, 6));
        double *xd = t.data[x];
        for (size_t i = 0; i < 2 * 2 * 5 * 6; i += 4) /* ties */
            xd[i] = xd[i + 1];
        xd[0] = 0x1p40, xd[7] = -0x1p40, xd[13] = 0, xd[14] = -ULP; /* far apart, near 0 */
        for (size_t i = 60; i < 90; i++) /* a plane of negatives: the pads must not win */
            xd[i] = -fabs(xd[i]) - ULP;
        for (size_t gi = 0; gi < sizeof geoms / sizeof geoms[0]; gi++) {
            char name[8];
            snprintf(name, sizeof name, "m%zu", gi);
            tp_out(&t, tp_let(&t, name, PROG_MAXPOOL, x, -1, 0, 0, 0), 0);
            tp_iattr(&t.ops[t.p.nops - 1], geoms[gi], PROG_POOL_SLOTS);
            for (int64_t count = 0; count < 2; count++) {
                snprintf(name, sizeof name, "a%zu_%d", gi, (int)count);
                /* round(2^13 / d) for d up to 9 is within 0.45 of 2^13 / d:
                 * up to 9 |x| 0.45 2^-13 = 8.1 steps more than the
                 * truncation's one */
                int a = tp_let(&t, name, PROG_AVGPOOL, xa, -1, 0, 0, 0);
                tp_iattr(&t.ops[t.p.nops - 1], geoms[gi], PROG_POOL_SLOTS);
                t.ops[t.p.nops - 1].iattr[PROG_POOL_COUNT_PAD] = count;
                tp_out(&t, a, 10);
            }
        }
        run_t r;
        tp_check(&t, 1, 1, &r);
        ck_assert_uint_eq(op_calls(&r, PROTO_OP_MAXPOOL), 4);
        /* avgpool sends only its exact truncation: 26 bytes a window */
        uint64_t windows = 0;
        for (size_t i = 0; i < t.p.nops; i++)
            if (t.ops[i].code == PROG_AVGPOOL)
                windows += r.out[0][t.ops[i].out]->size;
        ck_assert_uint_eq(op_bytes(&r, PROTO_OP_AVGPOOL), 26 * windows);
        run_free(&r);
        tp_free(&t);
    }
}
END_TEST

START_TEST(maxpool_grad_rectangles_reuse_argmax)
{
    for (uint64_t seed = 0; seed < 3; seed++) {
        tprog_t t;
        tp_init(&t, 300 + 10 * seed);
        int x = tp_in(&t, "x", PROG_VAR_BATCH, 2, S(3, 2, 6, 7));
        int gy = tp_in(&t, "gy", PROG_VAR_BATCH, 2, S(3, 2, 3, 3));
        int gz = tp_in(&t, "gz", PROG_VAR_BATCH, 2, S(3, 2, 5, 2));
        for (size_t i = 0; i < 3 * 2 * 6 * 7; i += 3)
            t.data[x][i] = t.data[x][i + 1];
        const int64_t wide[PROG_POOL_SLOTS] = {2, 2, 3, 2}; /* 2x3, strides 2: [3,2,3,3] */
        const int64_t tall[PROG_POOL_SLOTS] = {2, 1, 3, 3}; /* 2x3, strides 1, 3: [.,5,2] */
        int m = tp_let(&t, "m", PROG_MAXPOOL, x, -1, 0, 0, 0);
        tp_iattr(&t.ops[t.p.nops - 1], wide, PROG_POOL_SLOTS);
        int g1 = tp_let(&t, "g1", PROG_MAXPOOL_GRAD, gy, x, 0, 0, 0); /* reuses m's */
        tp_iattr(&t.ops[t.p.nops - 1], wide, PROG_POOL_SLOTS);
        int g2 = tp_let(&t, "g2", PROG_MAXPOOL_GRAD, gz, x, 0, 0, 0); /* its own maxpool */
        tp_iattr(&t.ops[t.p.nops - 1], tall, PROG_POOL_SLOTS);
        tp_out(&t, m, 0);
        tp_out(&t, g1, 0);
        tp_out(&t, g2, 0);
        run_t r;
        tp_check(&t, 2, 1, &r);
        ck_assert_uint_eq(op_calls(&r, PROTO_OP_MAXPOOL), 2 * 2); /* per step: m, g2's */
        run_free(&r);
        tp_free(&t);
    }
}
END_TEST

/* v = transpose(a, perm) with n axes. */
static int tp_permute(tprog_t *t, const char *name, int a, int n, const size_t *perm)
{
    int v = tp_let(t, name, PROG_TRANSPOSE, a, -1, 0, 0, 0);
    prog_op_t *op = &t->ops[t->p.nops - 1];
    op->ndim = n;
    memcpy(op->shape, perm, (size_t)n * sizeof *perm);
    return v;
}

START_TEST(transpose_permutations_local)
{
    const size_t perms[][4] = {
        {0, 2, 3, 1}, {3, 1, 2, 0}, {0, 1, 2, 3}, {1, 0, 3, 2}, {2, 3, 0, 1}};
    for (uint64_t seed = 0; seed < 3; seed++) {
        tprog_t t;
        tp_init(&t, 400 + 10 * seed);
        int x = tp_in(&t, "x", PROG_VAR_BATCH, 3, S(5, 2, 3, 4));   /* batch first */
        int xi = tp_in(&t, "xi", PROG_VAR_INPUT, 3, S(2, 3, 4, 5)); /* any order */
        int b = tp_in(&t, "b", PROG_VAR_INPUT, 3, S(2, 3, 4));
        for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++) {
            char name[8];
            snprintf(name, sizeof name, "q%zu", i);
            tp_out(&t, tp_permute(&t, name, xi, 4, perms[i]), 0);
            if (perms[i][0] != 0) /* the rows of the steps must stack */
                continue;
            snprintf(name, sizeof name, "p%zu", i);
            tp_out(&t, tp_permute(&t, name, x, 4, perms[i]), 0);
        }
        int q = tp_permute(&t, "q", b, 3, (size_t[]){2, 0, 1});
        tp_out(&t, q, 0);
        /* a permuted value feeds a product: [4,2,3] -> [4,6] x [6,2] */
        int w = tp_in(&t, "w", PROG_VAR_INPUT, 1, S(6, 2));
        int qf = tp_reshape(&t, "qf", q, S(4, 6));
        tp_out(&t, tp_let(&t, "y", PROG_MATMUL, qf, w, 0, 0, 0), 2);
        run_t r;
        tp_check(&t, 2, 1, &r); /* 2, 2, 1 rows */
        /* local: only the product and its truncation send (and under fss
         * the pace of the three steps: a byte from P0 and P1 for each of
         * the first two) */
        uint64_t all = 0;
        for (int p = 0; p < PROTO_PARTIES; p++)
            all += proto_counters_bytes_sent(&r.res.stats[p].total) -
                   proto_counters_bytes_sent(&r.res.stats[p].op[PROTO_OP_SETUP]);
        ck_assert_uint_eq(all, op_bytes(&r, PROTO_OP_MATMUL) + op_bytes(&r, PROTO_OP_MASK) +
                                   op_bytes(&r, PROTO_OP_MATMUL_MASKED) +
                                   op_bytes(&r, PROTO_OP_TRUNC) + op_bytes(&r, PROTO_OP_PACE));
        ck_assert_uint_eq(op_bytes(&r, PROTO_OP_PACE), harness_pick(0, 4, 4));
        run_free(&r);
        tp_free(&t);
    }
}
END_TEST

START_TEST(sigmoid_fine_matches_plain)
{
    const double knots[] = {-5.25, -3, -1.875, -1, 1, 1.875, 3, 5.25};
    for (uint64_t seed = 0; seed < 3; seed++) {
        tprog_t t;
        tp_init(&t, 500 + 10 * seed);
        int x = tp_in(&t, "x", PROG_VAR_BATCH, 8, S(9, 40));
        double *xd = t.data[x];
        for (size_t k = 0; k < 8; k++) /* each knot and a step either side */
            for (int d = -1; d <= 1; d++)
                xd[3 * k + (size_t)(d + 1)] = knots[k] + d * ULP;
        xd[24] = 0, xd[25] = ULP, xd[26] = -ULP, xd[27] = 0x1p40, xd[28] = -0x1p40;
        xd[29] = 1e6, xd[30] = -1e6, xd[31] = 5.25 + 0.5, xd[32] = -6;
        int y = tp_let(&t, "y", PROG_SIGMOID, x, -1, 1, 0, 0);
        int y0 = tp_let(&t, "y0", PROG_SIGMOID, x, -1, 0, 0, 0);
        /* the slopes' rounding: within 6.25 steps of the plaintext */
        tp_out(&t, y, 7);
        tp_out(&t, y0, 0);
        run_t r;
        tp_check(&t, 4, 1, &r); /* 4, 4, 1 rows */
        ck_assert_uint_eq(op_calls(&r, PROTO_OP_SIGMOID_FINE), 3);
        ck_assert_uint_eq(op_calls(&r, PROTO_OP_SIGMOID), 3);
        /* eight ReLUs and the exact truncation (26 bytes) */
        /* calls of 4, 4 and 1 rows of 40, their 8 ReLUs in one */
        uint64_t carry = 2 * (harness_carry_bytes(8 * 160, true) +
                              harness_carry_dealt(8 * 160, true)) +
                         harness_carry_bytes(8 * 40, true) + harness_carry_dealt(8 * 40, true) +
                         26 * 9 * 40;
        ck_assert_uint_eq(op_bytes(&r, PROTO_OP_SIGMOID_FINE),
                          harness_pick((3456 + 26) * 9 * 40, (8 * (16 + 2 * 2048 + 16) + 26) * 9 * 40,
                                       carry));
        for (size_t i = 0; i < 9 * 40; i++) {
            double logistic = 1 / (1 + exp(-xd[i]));
            ck_assert_msg(fabs(r.open[y][i] - logistic) <= PROG_SIGMOID_FINE_ERROR,
                          "sigmoid(%g, fine) = %.6f, logistic %.6f", xd[i], r.open[y][i], logistic);
        }
        ck_assert(r.open[y][28] == 0 && r.open[y][30] == 0);
        run_free(&r);
        tp_free(&t);
    }
}
END_TEST

START_TEST(onnx_like_cnn_in_batches)
{
    /* conv (asymmetric pads, strides per axis) + relu + padded maxpool +
     * NCHW -> NHWC transpose + flatten + matmul + fine sigmoid, the shape
     * an ONNX import yields, over 7 rows in batches of 3 */
    tprog_t t;
    tp_init(&t, 600);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 1, S(7, 1, 6, 5));
    int f = tp_in(&t, "f", PROG_VAR_INPUT, 0.5, S(2, 1, 3, 3));
    int bias = tp_in(&t, "bias", PROG_VAR_INPUT, 0.5, S(2, 1, 1));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 0.5, S(12, 3));
    int c = tp_let(&t, "c", PROG_CONV2D, x, f, 0, 0, 0);
    tp_iattr(&t.ops[t.p.nops - 1], (int64_t[]){1, 1, 1, 0, 1, 1}, 6); /* [.,2,6,4] */
    int cb = tp_let(&t, "cb", PROG_ADD, c, bias, 0, 0, 0);
    int rl = tp_let(&t, "rl", PROG_RELU, cb, -1, 0, 0, 0);
    int mp = tp_let(&t, "mp", PROG_MAXPOOL, rl, -1, 0, 0, 0);
    tp_iattr(&t.ops[t.p.nops - 1], (int64_t[]){3, 2, 2, 2, 1, 0, 1, 1, 0}, 9); /* [.,2,3,2] */
    int nhwc = tp_let(&t, "nhwc", PROG_TRANSPOSE, mp, -1, 0, 0, 0);
    t.ops[t.p.nops - 1].ndim = 4;
    memcpy(t.ops[t.p.nops - 1].shape, (size_t[]){0, 2, 3, 1}, 4 * sizeof(size_t));
    int fl = tp_reshape(&t, "fl", nhwc, S(0, 12));
    int z = tp_let(&t, "z", PROG_MATMUL, fl, w, 0, 0, 0);
    int y = tp_let(&t, "y", PROG_SIGMOID, z, -1, 1, 0, 0);
    tp_out(&t, mp, 3);
    tp_out(&t, z, 8);
    tp_out(&t, y, 10); /* z's error through slopes below 1/4, plus 6.25 steps */
    run_t r;
    tp_check(&t, 3, 2, &r);
    ck_assert_uint_eq(r.out[0][y]->shape[0], 7);
    ck_assert_uint_eq(r.out[0][y]->shape[1], 3);
    run_free(&r);
    tp_free(&t);
}
END_TEST

START_TEST(axis_ops_and_groups_match_plain)
{
    tprog_t t;
    tp_init(&t, 70);
    int a = tp_in(&t, "a", PROG_VAR_BATCH, 2, S(3, 4, 5));
    int b = tp_in(&t, "b", PROG_VAR_BATCH, 2, S(3, 2, 5));
    int x = tp_in(&t, "x", PROG_VAR_INPUT, 1, S(2, 6, 5, 5));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 1, S(6, 1, 3, 3)); /* depthwise */
    int w3 = tp_in(&t, "w3", PROG_VAR_INPUT, 1, S(4, 2, 3, 3));
    tp_out(&t, tp_let(&t, "cat", PROG_CONCAT, a, b, 1, 0, 0), 0);
    prog_op_t *op;
    int sl = tp_temp(&t, "sl");
    op = tp_op(&t, PROG_SLICE, sl, a, -1, 2, 1, 0);
    op->iattr[PROG_SLICE_STEP] = 2, op->iattr[PROG_SLICE_COUNT] = 2;
    tp_out(&t, sl, 0);
    int pd = tp_temp(&t, "pd");
    op = tp_op(&t, PROG_PAD, pd, a, -1, 1, 2, -1.5);
    op->iattr[PROG_PAD_AFTER] = 1;
    tp_out(&t, pd, 0);
    tp_out(&t, tp_let(&t, "off", PROG_OFFSET, a, -1, 0, 0, 0.75), 0);
    int dw = tp_temp(&t, "dw");
    tp_op(&t, PROG_CONV2D, dw, x, w, 1, 1, 0)->iattr[PROG_CONV_GROUP] = 6;
    tp_out(&t, dw, 8);
    int g3 = tp_temp(&t, "g3"); /* x's first 4 channels in 2 groups of 2 */
    int x3 = tp_let(&t, "x3", PROG_SLICE, x, -1, 1, 0, 0);
    t.ops[t.p.nops - 1].iattr[PROG_SLICE_STEP] = 1, t.ops[t.p.nops - 1].iattr[PROG_SLICE_COUNT] = 4;
    tp_op(&t, PROG_CONV2D, g3, x3, w3, 2, 0, 0)->iattr[PROG_CONV_GROUP] = 2;
    tp_out(&t, g3, 12);
    run_t r;
    tp_check(&t, 2, 1, &r);
    ck_assert_uint_eq(r.out[0][dw]->shape[1], 6);
    run_free(&r);
    tp_free(&t);
}
END_TEST

/* The gradients of conv2d on shares (Beaver products over col2im and
 * im2col, one truncation) against prog_plain's direct sums: Network D's
 * stride 2 and padding 2, and stride 1 with padding on two sides only;
 * each a Beaver product of its two operands. */
START_TEST(conv_grads_match_plain)
{
    tprog_t t;
    tp_init(&t, 90);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 2, S(3, 2, 7, 7));
    int dy = tp_in(&t, "dy", PROG_VAR_BATCH, 2, S(3, 4, 4, 4));
    int dz = tp_in(&t, "dz", PROG_VAR_BATCH, 2, S(3, 4, 6, 7));
    int w = tp_in(&t, "w", PROG_VAR_INPUT, 1, S(4, 2, 5, 5));
    int v = tp_in(&t, "v", PROG_VAR_INPUT, 1, S(4, 2, 3, 2));
    struct {
        const char *name;
        prog_opcode_t code;
        int a, b;
        int64_t s, pt, pl, pb, pr, rh, rw;
    } cases[] = {
        {"gx", PROG_CONV2D_GRAD_INPUT, dy, w, 2, 2, 2, 2, 2, 7, 7},
        {"gw", PROG_CONV2D_GRAD_WEIGHTS, dy, x, 2, 2, 2, 2, 2, 5, 5},
        {"hx", PROG_CONV2D_GRAD_INPUT, dz, v, 1, 1, 0, 0, 1, 7, 7},
        {"hw", PROG_CONV2D_GRAD_WEIGHTS, dz, x, 1, 1, 0, 0, 1, 3, 2},
    };
    int out[4];
    for (int i = 0; i < 4; i++) {
        out[i] = tp_temp(&t, cases[i].name);
        int64_t *at = tp_op(&t, cases[i].code, out[i], cases[i].a, cases[i].b, 0, 0, 0)->iattr;
        at[PROG_CONV_SH] = at[PROG_CONV_SW] = cases[i].s;
        at[PROG_CONV_PT] = cases[i].pt, at[PROG_CONV_PL] = cases[i].pl;
        at[PROG_CONV_PB] = cases[i].pb, at[PROG_CONV_PR] = cases[i].pr;
        at[PROG_CONV_RH] = cases[i].rh, at[PROG_CONV_RW] = cases[i].rw;
        tp_out(&t, out[i], 2);
    }
    run_t r;
    tp_check(&t, 3, 1, &r);
    ck_assert_uint_eq(r.out[0][out[1]]->shape[0], 4);
    ck_assert_uint_eq(r.out[0][out[1]]->shape[3], 5);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_CONV_GRAD), 4);
    /* (2 |dy| + 2 |w or x| + |out|) words each: 1078, 1172, 1398, 1644 */
    ck_assert_uint_eq(op_bytes(&r, PROTO_OP_CONV_GRAD), 8 * (1078 + 1172 + 1398 + 1644));
    run_free(&r);
    tp_free(&t);
}
END_TEST

/* Whether rows[i] (n rows of k values) is src's row at[i] for each i, at
 * an index that is a permutation of 0..n-1; *moved says if any row moved. */
static bool rows_permuted(const double *rows, const double *at, const double *src, size_t n,
                          size_t k, bool *moved)
{
    bool seen[16] = {false}, ok = n <= 16;
    *moved = false;
    for (size_t i = 0; ok && i < n; i++) {
        size_t j = (size_t)at[i];
        ok = at[i] == (double)j && j < n && !seen[j];
        for (size_t c = 0; ok && c < k; c++)
            ok = fabs(rows[i * k + c] - src[j * k + c]) < 1e-9;
        if (ok)
            seen[j] = true, *moved |= j != i;
    }
    return ok;
}

/* --shuffle: each epoch's rows in an order P0 and P1 draw (prog_plain's
 * from the job's seed): the data and labels rows stay together, every row
 * appears once per epoch, and the order is not the stored one; no byte
 * more than the unshuffled job. */
START_TEST(shuffled_rows_stay_aligned)
{
    uint64_t bytes[2] = {0, 0};
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        tprog_t t;
        tp_init(&t, 100);
        t.shuffle = shuffle;
        int x = tp_in(&t, "x", PROG_VAR_BATCH, 2, S(10, 3));
        int y = tp_var(&t, "y", PROG_VAR_BATCH, S(10, 1));
        t.data[y] = malloc(10 * sizeof(double));
        for (int i = 0; i < 10; i++)
            t.data[y][i] = i;
        int xo = tp_let(&t, "xo", PROG_OFFSET, x, -1, 0, 0, 0);
        int yo = tp_let(&t, "yo", PROG_OFFSET, y, -1, 0, 0, 0);
        tp_out(&t, xo, -1), tp_out(&t, yo, -1);
        run_t r;
        tp_check(&t, 4, 2, &r);
        bool moved, moved_plain;
        ck_assert(rows_permuted(r.open[xo], r.open[yo], t.data[x], 10, 3, &moved));
        ck_assert(rows_permuted(r.plain[xo], r.plain[yo], t.data[x], 10, 3, &moved_plain));
        ck_assert(moved == shuffle && moved_plain == shuffle);
        for (int op = 0; op < PROTO_OP_COUNT; op++)
            bytes[shuffle] += op_bytes(&r, (proto_op_t)op);
        run_free(&r);
        tp_free(&t);
    }
    ck_assert_uint_gt(bytes[0], 0);
    ck_assert_uint_eq(bytes[1], bytes[0]);
}
END_TEST

START_TEST(smooth_functions_match_plain)
{
    tprog_t t;
    tp_init(&t, 80);
    int x = tp_in(&t, "x", PROG_VAR_BATCH, 2, S(6, 10));
    /* exp on [-2, 2] (up to 7.4: 0.004 relative, 240 steps); recip and
     * rsqrt of x + 3 in [1, 5]; softmax of rows of 10 */
    tp_out(&t, tp_let(&t, "e", PROG_EXP, x, -1, 0, 0, 0), PROG_EXP_ERROR * 7.4 * (1 << FB));
    int y = tp_let(&t, "y", PROG_OFFSET, x, -1, 0, 0, 3.0);
    tp_out(&t, tp_let(&t, "r", PROG_RECIP, y, -1, 0, 0, 0), PROG_RECIP_ERROR * (1 << FB));
    tp_out(&t, tp_let(&t, "q", PROG_RSQRT, y, -1, 0, 0, 0), PROG_RSQRT_ERROR * (1 << FB));
    tp_out(&t, tp_let(&t, "s", PROG_SOFTMAX, x, -1, 0, 0, 0), PROG_SOFTMAX_ERROR * (1 << FB));
    /* log of x + 3 over [2^-1, 2^4) / sqrt 2; tanh, erf, log-softmax */
    tp_out(&t, tp_let(&t, "l", PROG_LOG, y, -1, -1, 4, 0), PROG_LOG_ERROR * (1 << FB));
    tp_out(&t, tp_let(&t, "th", PROG_TANH, x, -1, 0, 0, 0), PROG_TANH_ERROR * (1 << FB));
    tp_out(&t, tp_let(&t, "ef", PROG_ERF, x, -1, 0, 0, 0), PROG_ERF_ERROR * (1 << FB));
    tp_out(&t, tp_let(&t, "ls", PROG_LOG_SOFTMAX, x, -1, 0, 0, 0),
           PROG_LOG_SOFTMAX_ERROR * (1 << FB));
    run_t r;
    tp_check(&t, 6, 1, &r);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_SOFTMAX), 1);
    ck_assert_uint_eq(op_calls(&r, PROTO_OP_LOG_SOFTMAX), 1);
    run_free(&r);
    tp_free(&t);
}
END_TEST

Suite *prog_exec_suite(void)
{
    Suite *s = suite_create("prog_exec");
    TCase *tc = tcase_create("prog_exec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, linear_ops_match_plain);
    tcase_add_test(tc, nonlinear_ops_exact);
    tcase_add_test(tc, div_gt_match_plain);
    tcase_add_test(tc, mlp_forward_in_batches);
    tcase_add_test(tc, second_product_with_constant_costs_no_mask);
    tcase_add_test(tc, masked_forms_kept_across_jobs);
    tcase_add_test(tc, protocol_auto_mixes_by_size);
    tcase_add_test(tc, conv_net_forward);
    tcase_add_test(tc, relu_moves_after_maxpool);
    tcase_add_test(tc, argmax_reads_products_untruncated);
    tcase_add_test(tc, mlp_training_steps_update_weights);
    tcase_add_test(tc, logistic_regression_two_epochs);
    tcase_add_test(tc, errors_name_the_op_and_input);
    tcase_add_test(tc, conv_strides_and_pads_per_axis);
    tcase_add_test(tc, pooling_padding_and_rectangles);
    tcase_add_test(tc, maxpool_grad_rectangles_reuse_argmax);
    tcase_add_test(tc, transpose_permutations_local);
    tcase_add_test(tc, sigmoid_fine_matches_plain);
    tcase_add_test(tc, onnx_like_cnn_in_batches);
    tcase_add_test(tc, axis_ops_and_groups_match_plain);
    tcase_add_test(tc, smooth_functions_match_plain);
    tcase_add_test(tc, conv_grads_match_plain);
    tcase_add_test(tc, shuffled_rows_stay_aligned);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(prog_exec_suite());
}
