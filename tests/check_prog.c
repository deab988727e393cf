/* check_prog.c — program checks (every error class, messages with their
 * source position), the plaintext backend against hand-computed answers
 * (layers, convolution with strides and pads per axis, pooling with
 * padding and rectangular windows and its gradient, permutations, the
 * fine sigmoid against the logistic, stepping over batches and epochs,
 * SGD state carried across steps), and SecureNN's bytes for whole
 * networks and for each op. */
#include "check_util.h"

#include "protocol/program.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for the variables and operations of every test program. */
#define CAP 32

/* ---- building programs -------------------------------------------------- */

static prog_t prog_new(void)
{
    prog_t p = {calloc(CAP, sizeof(prog_var_t)), 0, calloc(CAP, sizeof(prog_op_t)), 0};
    ck_assert_ptr_nonnull(p.vars);
    ck_assert_ptr_nonnull(p.ops);
    return p;
}

static int var(prog_t *p, const char *name, prog_var_kind_t kind, int ndim, const size_t *shape)
{
    ck_assert_uint_lt(p->nvars, CAP);
    prog_var_t *v = &p->vars[p->nvars];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->kind = kind;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        v->shape[i] = shape[i];
    return (int)p->nvars++;
}

static int input(prog_t *p, const char *name, int ndim, const size_t *shape)
{
    return var(p, name, PROG_VAR_INPUT, ndim, shape);
}

static int batch(prog_t *p, const char *name, int ndim, const size_t *shape)
{
    return var(p, name, PROG_VAR_BATCH, ndim, shape);
}

static int temp(prog_t *p, const char *name)
{
    return var(p, name, PROG_VAR_TEMP, 0, NULL);
}

/* Appends out = code(a, b) at line (its index + 1), column 1. The pointer
 * stays valid: ops has room for CAP. */
static prog_op_t *op(prog_t *p, prog_opcode_t code, int out, int a, int b)
{
    ck_assert_uint_lt(p->nops, CAP);
    prog_op_t *o = &p->ops[p->nops++];
    *o = (prog_op_t){.code = code, .out = out, .in = {a, b}, .line = (uint32_t)p->nops, .col = 1};
    return o;
}

/* A conv2d op's stride on both axes and pad on all four sides. */
static void set_conv(prog_op_t *o, int64_t stride, int64_t pad)
{
    int64_t *a = o->iattr;
    a[PROG_CONV_SH] = a[PROG_CONV_SW] = stride;
    a[PROG_CONV_PT] = a[PROG_CONV_PL] = a[PROG_CONV_PB] = a[PROG_CONV_PR] = pad;
}

/* A pooling op's k x k window and stride on both axes, no padding. */
static void set_pool(prog_op_t *o, int64_t k, int64_t stride)
{
    int64_t *a = o->iattr;
    a[PROG_POOL_KH] = a[PROG_POOL_KW] = k;
    a[PROG_POOL_SH] = a[PROG_POOL_SW] = stride;
}

static void expect_err(const prog_t *p, size_t rows, trine_status_t code, const char *want)
{
    trine_err_t err = {0};
    ck_assert_int_eq(prog_check(p, rows, NULL, &err), code);
    ck_assert_int_eq(err.code, code);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message \"%s\" lacks \"%s\"", err.msg, want);
}

/* ---- running programs --------------------------------------------------- */

typedef struct {
    prog_plain_t *in[CAP], *out[CAP];
} vals_t;

static prog_plain_t *plain(int ndim, const size_t *shape, const double *values)
{
    prog_plain_t *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->ndim = ndim;
    t->size = 1;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) {
        t->shape[i] = i < ndim ? shape[i] : 1;
        t->size *= t->shape[i];
    }
    t->data = calloc(t->size, sizeof(double));
    ck_assert_ptr_nonnull(t->data);
    if (values)
        memcpy(t->data, values, t->size * sizeof(double));
    return t;
}

/* Gives input variable v the value values, in its declared shape. */
static void set(vals_t *vals, const prog_t *p, int v, const double *values)
{
    vals->in[v] = plain(p->vars[v].ndim, p->vars[v].shape, values);
}

static trine_status_t run(const prog_t *p, size_t rows, unsigned epochs, vals_t *vals,
                          trine_err_t *err)
{
    prog_job_t job = {.prog = p, .batch = rows, .epochs = epochs};
    return prog_plain(&job, (const prog_plain_t *const *)vals->in, vals->out, err);
}

static void run_ok(const prog_t *p, size_t rows, unsigned epochs, vals_t *vals)
{
    trine_err_t err = {0};
    trine_status_t st = run(p, rows, epochs, vals, &err);
    ck_assert_msg(st == TRINE_OK, "prog_plain: %s", err.msg);
}

static void vals_free(vals_t *vals)
{
    for (int i = 0; i < CAP; i++) {
        prog_plain_destroy(&vals->in[i]);
        prog_plain_destroy(&vals->out[i]);
    }
}

static void expect_values(const prog_plain_t *t, int ndim, const size_t *shape, const double *want,
                          double tol)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, ndim);
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        ck_assert_uint_eq(t->shape[i], shape[i]);
        size *= shape[i];
    }
    ck_assert_uint_eq(t->size, size);
    for (size_t i = 0; i < size; i++)
        ck_assert_msg(fabs(t->data[i] - want[i]) <= tol, "element %zu: %.17g, want %.17g", i,
                      t->data[i], want[i]);
}

/* A value in [-1, 1) from a fixed stream. */
static void random_reals(double *out, size_t n, uint64_t seed)
{
    uint64_t *bits = malloc(n * sizeof *bits);
    ck_assert_ptr_nonnull(bits);
    check_util_random(bits, n, seed);
    for (size_t i = 0; i < n; i++)
        out[i] = (double)(bits[i] >> 11) / 4503599627370496.0 - 1.0;
    free(bits);
}

/* ---- opcodes ------------------------------------------------------------ */

START_TEST(opcode_names)
{
    static const char *const names[PROG_OPCODE_COUNT] = {
        "matmul",  "add",    "sub",     "mul",          "scale",   "sum",     "conv2d",
        "relu",    "drelu",  "maxpool", "maxpool_grad", "avgpool", "reshape", "transpose",
        "sigmoid", "argmax", "sgd",     "div",          "gt",      "concat",  "slice",
        "pad",     "offset", "exp",     "recip",        "rsqrt",   "softmax", "log",
        "tanh",    "erf",    "log_softmax", "conv2d_grad_input", "conv2d_grad_weights"};
    static const int arity[PROG_OPCODE_COUNT] = {2, 2, 2, 2, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1,
                                                 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
                                                 1, 1, 1, 1, 2, 2};
    /* the codes are the wire's: appended, never renumbered */
    ck_assert_int_eq(PROG_SGD, 16);
    ck_assert_int_eq(PROG_DIV, 17);
    ck_assert_int_eq(PROG_GT, 18);
    ck_assert_int_eq(PROG_CONCAT, 19);
    ck_assert_int_eq(PROG_SOFTMAX, 26);
    ck_assert_int_eq(PROG_LOG_SOFTMAX, 30);
    ck_assert_int_eq(PROG_CONV2D_GRAD_WEIGHTS, 32);
    for (int i = 0; i < PROG_OPCODE_COUNT; i++) {
        ck_assert_str_eq(prog_opcode_name((prog_opcode_t)i), names[i]);
        ck_assert_int_eq(prog_opcode_find(names[i]), i);
        ck_assert_int_eq(prog_opcode_arity((prog_opcode_t)i), arity[i]);
    }
    ck_assert_int_eq(prog_opcode_find("MatMul"), -1);
    ck_assert_int_eq(prog_opcode_find(""), -1);
    ck_assert_int_eq(prog_opcode_find(NULL), -1);
    ck_assert_str_eq(prog_opcode_name(PROG_OPCODE_COUNT), "?");
    ck_assert_int_eq(prog_opcode_arity(PROG_OPCODE_COUNT), 0);

    prog_t p = prog_new();
    prog_clear(&p);
    ck_assert_ptr_null(p.vars);
    ck_assert_uint_eq(p.nops, 0);
    prog_clear(&p);
    prog_clear(NULL);
}
END_TEST

/* ---- prog_check --------------------------------------------------------- */

/* x batch [4,3], w [3,2], b [2]; h = matmul(x, w) at line 1; out y = h + b
 * at line 2. Variables 0 to 4 in that order. */
enum { X, W, B, H, Y };

static prog_t base(void)
{
    prog_t p = prog_new();
    batch(&p, "x", 2, (size_t[]){4, 3});
    input(&p, "w", 2, (size_t[]){3, 2});
    input(&p, "b", 1, (size_t[]){2});
    temp(&p, "h");
    temp(&p, "y");
    p.vars[Y].output = true;
    op(&p, PROG_MATMUL, H, X, W);
    op(&p, PROG_ADD, Y, H, B);
    return p;
}

START_TEST(check_shapes_and_batched)
{
    prog_t p = base();
    int dw = temp(&p, "dw");
    op(&p, PROG_MATMUL, dw, X, Y)->iattr[0] = 1; /* x^T y: [3,2] */
    op(&p, PROG_SGD, W, W, dw)->fattr = 0.125;
    int c = input(&p, "c", 2, (size_t[]){3, 2});
    int z = temp(&p, "z");
    op(&p, PROG_MUL, z, W, c);

    prog_shapes_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    trine_err_t err = {0};
    ck_assert_int_eq(prog_check(&p, 3, s, &err), TRINE_OK);
    ck_assert_int_eq(s->ndim[X], 2);
    ck_assert_uint_eq(s->shape[X][0], 3);
    ck_assert_uint_eq(s->shape[H][0], 3);
    ck_assert_uint_eq(s->shape[H][1], 2);
    ck_assert_uint_eq(s->shape[Y][0], 3);
    ck_assert_int_eq(s->ndim[dw], 2);
    ck_assert_uint_eq(s->shape[dw][0], 3);
    ck_assert_uint_eq(s->shape[dw][1], 2);
    ck_assert_uint_eq(s->shape[dw][2], 1);
    ck_assert(s->batched[X] && s->batched[H] && s->batched[Y] && s->batched[dw]);
    /* The SGD update depends on the data, but the weight is per job. */
    ck_assert(!s->batched[W] && !s->batched[B] && !s->batched[c] && !s->batched[z]);
    ck_assert_int_eq(prog_check(&p, 4, NULL, NULL), TRINE_OK);
    ck_assert_uint_eq(prog_batch_rows(&p), 4);

    prog_job_t job = {.prog = &p, .batch = 3, .epochs = 5};
    ck_assert_uint_eq(prog_job_steps(&job), 10);
    job.batch = 4;
    ck_assert_uint_eq(prog_job_steps(&job), 5);
    job.batch = 100;
    ck_assert_uint_eq(prog_job_steps(&job), 5);
    free(s);
    prog_clear(&p);

    /* Without batch inputs: one step, rows ignored. */
    p = prog_new();
    int a = input(&p, "a", 1, (size_t[]){5});
    int r = temp(&p, "r");
    op(&p, PROG_RELU, r, a, -1);
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    ck_assert_int_eq(prog_check(&p, 99, NULL, NULL), TRINE_OK);
    ck_assert_uint_eq(prog_batch_rows(&p), 0);
    job = (prog_job_t){.prog = &p, .batch = 0, .epochs = 0};
    ck_assert_uint_eq(prog_job_steps(&job), 1);
    prog_clear(&p);
}
END_TEST

START_TEST(check_messages)
{
    prog_t p = base();
    p.vars[W].shape[0] = 2;
    p.vars[W].shape[1] = 2;
    p.ops[0].line = 3;
    p.ops[0].col = 7;
    trine_err_t err = {0};
    ck_assert_int_eq(prog_check(&p, 2, NULL, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg, "line 3 col 7: matmul: x [2,3] times w [2,2]: inner extents 3 "
                              "and 2 differ");
    p.ops[0].line = 0;
    p.ops[0].iattr[1] = 1;
    p.vars[W].shape[0] = 5;
    p.vars[W].shape[1] = 4;
    ck_assert_int_eq(prog_check(&p, 2, NULL, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg, "matmul: x [2,3] times w^T [5,4]: inner extents 3 and 4 differ");
    prog_clear(&p);

    p = base();
    p.vars[B].shape[0] = 3;
    ck_assert_int_eq(prog_check(&p, 4, NULL, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg, "line 2 col 1: add: b [3] does not broadcast to h [4,2]");
    prog_clear(&p);

    p = base();
    p.vars[W].ndim = 0;
    ck_assert_int_eq(prog_check(&p, 4, NULL, &err), TRINE_EFORMAT);
    ck_assert_str_eq(err.msg, "input w: no shape declared");
    prog_clear(&p);

    p = base();
    p.ops[1].code = PROG_SGD;
    p.ops[1].in[1] = H;
    p.ops[1].fattr = 0.3;
    ck_assert_int_eq(prog_check(&p, 4, NULL, &err), TRINE_EFORMAT);
    ck_assert_str_eq(
        err.msg, "line 2 col 1: sgd: the learning rate must be 2^-j with 1 <= j <= 62, got 0.3");
    prog_clear(&p);
}
END_TEST

START_TEST(check_structure_errors)
{
    prog_t p = base();
    p.ops[0].code = PROG_OPCODE_COUNT;
    char want[64];
    snprintf(want, sizeof want, "line 1 col 1: opcode %d: not an operation", PROG_OPCODE_COUNT);
    expect_err(&p, 4, TRINE_EFORMAT, want);
    prog_clear(&p);

    p = base();
    p.ops[1].in[1] = 9;
    expect_err(&p, 4, TRINE_EFORMAT, "line 2 col 1: add: operand 2 is variable 9, not in 0..4");
    prog_clear(&p);

    p = base();
    p.ops[1].in[0] = -1;
    expect_err(&p, 4, TRINE_EFORMAT, "add: operand 1 is variable -1");
    prog_clear(&p);

    p = base();
    op(&p, PROG_RELU, temp(&p, "r"), Y, Y);
    expect_err(&p, 4, TRINE_EFORMAT, "line 3 col 1: relu: takes 1 operand, got more");
    prog_clear(&p);

    p = base();
    p.ops[1].out = 7;
    expect_err(&p, 4, TRINE_EFORMAT, "add: writes variable 7, not in 0..4");
    prog_clear(&p);

    p = base(); /* y = h + b before h = x w */
    prog_op_t first = p.ops[0];
    p.ops[0] = p.ops[1];
    p.ops[1] = first;
    expect_err(&p, 4, TRINE_EFORMAT, "add: reads h before it is written");
    prog_clear(&p);

    p = base();
    p.ops[1].out = H;
    expect_err(&p, 4, TRINE_EFORMAT, "line 2 col 1: add: writes h a second time");
    prog_clear(&p);

    p = base();
    op(&p, PROG_RELU, X, X, -1);
    expect_err(&p, 4, TRINE_EFORMAT,
               "line 3 col 1: relu: writes batch input x, which is read only");
    prog_clear(&p);

    p = base();
    temp(&p, "unused");
    expect_err(&p, 4, TRINE_EFORMAT, "unused: no operation writes it");
    prog_clear(&p);

    p = base();
    snprintf(p.vars[B].name, PROG_NAME_MAX, "w");
    expect_err(&p, 4, TRINE_EFORMAT, "w: declared twice");
    prog_clear(&p);

    p = base();
    p.vars[B].name[0] = '\0';
    expect_err(&p, 4, TRINE_EFORMAT, "variable 2: name empty");
    memset(p.vars[B].name, 'b', PROG_NAME_MAX);
    expect_err(&p, 4, TRINE_EFORMAT, "variable 2: name empty or longer than 63 bytes");
    prog_clear(&p);

    p = base();
    p.vars[B].kind = (prog_var_kind_t)7;
    expect_err(&p, 4, TRINE_EFORMAT, "b: unknown variable kind 7");
    p.vars[B].kind = PROG_VAR_INPUT;
    p.vars[B].ndim = 5;
    expect_err(&p, 4, TRINE_EFORMAT, "input b: 5 dimensions, at most 4");
    p.vars[B].ndim = 1;
    p.vars[B].shape[0] = 0;
    expect_err(&p, 4, TRINE_ESHAPE, "input b: shape [0] has a zero extent");
    prog_clear(&p);

    p = base();
    p.nops = 0;
    expect_err(&p, 4, TRINE_EFORMAT, "program: no operations");
    p.nops = PROG_OPS_MAX + 1;
    expect_err(&p, 4, TRINE_EFORMAT, "program: 1025 operations, at most 1024");
    p.nops = 2;
    p.nvars = PROG_VARS_MAX + 1;
    expect_err(&p, 4, TRINE_EFORMAT, "program: 1025 variables, at most 1024");
    prog_clear(&p);
    ck_assert_int_eq(prog_check(NULL, 1, NULL, NULL), TRINE_EINVAL);
}
END_TEST

START_TEST(check_attribute_errors)
{
    prog_t p = base();
    p.ops[0].iattr[0] = 2;
    expect_err(&p, 4, TRINE_EFORMAT,
               "line 1 col 1: matmul: transpose flags must be 0 or 1, got 2 and 0");
    p.ops[0].iattr[0] = 0;
    p.ops[0].iattr[1] = -1;
    expect_err(&p, 4, TRINE_EFORMAT, "got 0 and -1");
    prog_clear(&p);

    /* sgd: 2^-1 .. 2^-62 only. */
    const double bad_rates[] = {0.3, 1.0, 2.0, 0.0, -0.25, ldexp(1.0, -63), INFINITY, NAN};
    const double good_rates[] = {0.5, 0.125, ldexp(1.0, -13), ldexp(1.0, -62)};
    p = prog_new();
    int w = input(&p, "w", 1, (size_t[]){3});
    op(&p, PROG_SGD, w, w, w);
    for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++) {
        p.ops[0].fattr = bad_rates[i];
        expect_err(&p, 0, TRINE_EFORMAT, "sgd: the learning rate must be 2^-j");
    }
    for (size_t i = 0; i < sizeof good_rates / sizeof good_rates[0]; i++) {
        p.ops[0].fattr = good_rates[i];
        ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    }
    p.ops[0].code = PROG_SCALE;
    p.ops[0].in[1] = -1;
    p.ops[0].fattr = -3.7;
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    p.ops[0].fattr = INFINITY;
    expect_err(&p, 0, TRINE_EFORMAT, "scale: the factor must be a finite number, got inf");
    p.ops[0].fattr = NAN;
    expect_err(&p, 0, TRINE_EFORMAT, "scale: the factor must be a finite number");

    /* div: int_bits 0 .. 30 */
    p.ops[0].code = PROG_DIV;
    p.ops[0].in[1] = w;
    p.ops[0].fattr = 0;
    for (int64_t bits = 0; bits <= 30; bits += 30) {
        p.ops[0].iattr[0] = bits;
        ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    }
    p.ops[0].iattr[0] = 31;
    expect_err(&p, 0, TRINE_EFORMAT, "line 1 col 1: div: int_bits must be 0 to 30, got 31");
    p.ops[0].iattr[0] = -1;
    expect_err(&p, 0, TRINE_EFORMAT, "line 1 col 1: div: int_bits must be 0 to 30, got -1");
    p.ops[0].iattr[0] = 0;
    p.ops[0].code = PROG_GT; /* no attributes to judge */
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    p.ops[0].in[1] = -1;

    p.ops[0].code = PROG_RESHAPE;
    p.ops[0].ndim = 0;
    expect_err(&p, 0, TRINE_EFORMAT, "reshape: target has 0 dimensions, want 1 to 4");
    p.ops[0].ndim = 2;
    p.ops[0].shape[0] = 3;
    p.ops[0].shape[1] = 0;
    expect_err(&p, 0, TRINE_EFORMAT, "reshape: target extent 1 is 0");
    prog_clear(&p);

    p = prog_new();
    int x = input(&p, "x", 4, (size_t[]){1, 1, 4, 4});
    int f = input(&p, "f", 4, (size_t[]){1, 1, 3, 3});
    prog_op_t *o = op(&p, PROG_CONV2D, temp(&p, "y"), x, f);
    expect_err(&p, 0, TRINE_EFORMAT,
               "line 1 col 1: conv2d: strides must be 1 to 65535, got 0 down, 0 across");
    o->iattr[PROG_CONV_SH] = 1;
    expect_err(&p, 0, TRINE_EFORMAT, "got 1 down, 0 across");
    o->iattr[PROG_CONV_SW] = 2;
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    o->iattr[PROG_CONV_SH] = (int64_t)1 << 31;
    expect_err(&p, 0, TRINE_EFORMAT, "got 2147483648 down, 2 across");
    o->iattr[PROG_CONV_SH] = 1;
    for (int slot = PROG_CONV_PT; slot <= PROG_CONV_PR; slot++) {
        if (slot == PROG_CONV_SW)
            continue;
        o->iattr[slot] = -1;
        expect_err(&p, 0, TRINE_EFORMAT, "conv2d: pads must be 0 to 65535, got top ");
        o->iattr[slot] = (int64_t)1 << 40;
        expect_err(&p, 0, TRINE_EFORMAT, "1099511627776");
        o->iattr[slot] = 5; /* a window may lie wholly in the padding */
        ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    }
    o->iattr[PROG_CONV_PB] = -3;
    expect_err(&p, 0, TRINE_EFORMAT, "got top 5 left 5 bottom -3 right 5");
    memset(o->iattr, 0, sizeof o->iattr);

    /* maxpool_grad's gradient: maxpool(x)'s shape with 2x3 windows, stride 1 */
    int gy = input(&p, "gy", 4, (size_t[]){1, 1, 3, 2});
    for (int code = PROG_MAXPOOL; code <= PROG_AVGPOOL; code++) {
        o->code = (prog_opcode_t)code;
        o->in[0] = code == PROG_MAXPOOL_GRAD ? gy : x;
        o->in[1] = code == PROG_MAXPOOL_GRAD ? x : -1;
        const char *name = prog_opcode_name(o->code);
        char want[160];
        set_pool(o, 0, 1);
        snprintf(want, sizeof want,
                 "line 1 col 1: %s: the window must be 1 to 65535 each way, got 0x0", name);
        expect_err(&p, 0, TRINE_EFORMAT, want);
        o->iattr[PROG_POOL_KH] = 2;
        expect_err(&p, 0, TRINE_EFORMAT, "got 2x0");
        o->iattr[PROG_POOL_KW] = 3;
        ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
        o->iattr[PROG_POOL_SW] = 0;
        expect_err(&p, 0, TRINE_EFORMAT, "strides must be 1 to 65535, got 1 down, 0 across");
        o->iattr[PROG_POOL_SW] = 2;
        o->iattr[PROG_POOL_SH] = -2;
        expect_err(&p, 0, TRINE_EFORMAT, "got -2 down, 2 across");
        o->iattr[PROG_POOL_SH] = 1;
        o->iattr[PROG_POOL_PL] = -1;
        expect_err(&p, 0, TRINE_EFORMAT, "pads must be >= 0, got top 0 left -1 bottom 0 right 0");
        o->iattr[PROG_POOL_PL] = 0;
        o->iattr[PROG_POOL_COUNT_PAD] = 1;
        if (code == PROG_AVGPOOL) {
            ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
            o->iattr[PROG_POOL_COUNT_PAD] = 2;
            expect_err(&p, 0, TRINE_EFORMAT, "avgpool: count_include_pad must be 0 or 1, got 2");
        } else {
            snprintf(want, sizeof want,
                     "%s: count_include_pad (iattr[8]) is avgpool's and must be 0 here, got 1",
                     name);
            expect_err(&p, 0, TRINE_EFORMAT, want);
        }
        o->iattr[PROG_POOL_COUNT_PAD] = 0;
        /* pads below the 2x3 window: top, bottom 0 or 1, left, right 0 to 2 */
        o->iattr[PROG_POOL_PT] = 1, o->iattr[PROG_POOL_PR] = 2;
        if (code == PROG_MAXPOOL_GRAD) {
            expect_err(&p, 0, TRINE_EFORMAT,
                       "maxpool_grad: padding is not supported, got top 1 left 0 bottom 0 right 2");
        } else {
            ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
            o->iattr[PROG_POOL_PB] = 2;
            snprintf(want, sizeof want,
                     "%s: pads must be below the 2x3 window (top and bottom below 2, left and "
                     "right below 3), got top 1 left 0 bottom 2 right 2",
                     name);
            expect_err(&p, 0, TRINE_EFORMAT, want);
            o->iattr[PROG_POOL_PB] = 0;
            o->iattr[PROG_POOL_PL] = 3;
            expect_err(&p, 0, TRINE_EFORMAT, "got top 1 left 3 bottom 0 right 2");
        }
        memset(o->iattr, 0, sizeof o->iattr);
    }

    /* sigmoid: 0 the 3-piece function, 1 the fine one */
    o->code = PROG_SIGMOID;
    o->in[0] = x;
    o->in[1] = -1;
    for (int64_t mode = 0; mode <= 1; mode++) {
        o->iattr[0] = mode;
        ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    }
    o->iattr[0] = 2;
    expect_err(&p, 0, TRINE_EFORMAT,
               "line 1 col 1: sigmoid: fine must be 0 (the 3-piece sigmoid) or 1 (the logistic "
               "within 0.0055), got 2");
    o->iattr[0] = -1;
    expect_err(&p, 0, TRINE_EFORMAT, "got -1");
    o->iattr[0] = 0;

    /* transpose: a permutation of the operand's axes */
    o->code = PROG_TRANSPOSE;
    o->ndim = 4;
    memcpy(o->shape, (size_t[]){0, 3, 1, 2}, 4 * sizeof(size_t));
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    o->shape[2] = 3;
    expect_err(&p, 0, TRINE_EFORMAT,
               "line 1 col 1: transpose: [0,3,3,2] is not a permutation of the axes 0 to 3");
    o->shape[2] = 4;
    expect_err(&p, 0, TRINE_EFORMAT, "[0,3,4,2] is not a permutation");
    o->shape[2] = SIZE_MAX;
    expect_err(&p, 0, TRINE_EFORMAT, "is not a permutation of the axes 0 to 3");
    o->ndim = 5;
    expect_err(&p, 0, TRINE_EFORMAT,
               "transpose: the permutation has 5 axes, want 0 (swap 2-D) to 4");
    o->ndim = -1;
    expect_err(&p, 0, TRINE_EFORMAT, "has -1 axes");
    prog_clear(&p);
}
END_TEST

START_TEST(check_shape_errors)
{
    prog_t p = base();
    p.vars[Y].kind = PROG_VAR_BATCH;
    p.vars[Y].ndim = 1;
    p.vars[Y].shape[0] = 5;
    p.nops = 1;
    expect_err(&p, 4, TRINE_ESHAPE, "batch inputs x and y have different rows: 4 and 5");
    prog_clear(&p);

    p = base();
    expect_err(&p, 5, TRINE_ESHAPE, "program: a step of 5 rows, but the batch inputs have 4");
    expect_err(&p, 0, TRINE_ESHAPE, "program: a step of 0 rows");
    prog_clear(&p);

    p = base();
    p.vars[B].ndim = 2;
    p.vars[B].shape[0] = 3;
    p.vars[B].shape[1] = 2;
    expect_err(&p, 4, TRINE_ESHAPE, "add: b [3,2] does not broadcast to h [4,2]");
    p.vars[B].shape[0] = 1; /* [1,2] broadcasts over the rows */
    ck_assert_int_eq(prog_check(&p, 4, NULL, NULL), TRINE_OK);
    p.ops[1].code = PROG_MUL;
    expect_err(&p, 4, TRINE_ESHAPE, "mul: h [4,2] and b [1,2] must have the same shape");
    /* div and gt do not broadcast either */
    p.ops[1].code = PROG_DIV;
    expect_err(&p, 4, TRINE_ESHAPE,
               "line 2 col 1: div: h [4,2] and b [1,2] must have the same shape");
    p.ops[1].code = PROG_GT;
    expect_err(&p, 4, TRINE_ESHAPE,
               "line 2 col 1: gt: h [4,2] and b [1,2] must have the same shape");
    p.vars[B].shape[0] = 4;
    p.ops[1].in[0] = p.ops[1].in[1]; /* gt(b, h): [4,2] and [4,2] */
    p.ops[1].in[1] = H;
    ck_assert_int_eq(prog_check(&p, 4, NULL, NULL), TRINE_OK);
    p.vars[B].shape[1] = 3;
    expect_err(&p, 4, TRINE_ESHAPE,
               "line 2 col 1: gt: b [4,3] and h [4,2] must have the same shape");
    prog_clear(&p);

    p = base();
    p.vars[W].ndim = 1;
    expect_err(&p, 4, TRINE_ESHAPE, "matmul: operands must be 2-D, got x [4,3] and w [3]");
    prog_clear(&p);

    /* A written input keeps its shape. */
    p = base();
    int g = input(&p, "g", 2, (size_t[]){3, 2});
    op(&p, PROG_TRANSPOSE, W, g, -1);
    expect_err(&p, 4, TRINE_ESHAPE,
               "line 3 col 1: transpose: writes a [2,3] result to input w [3,2], which must keep "
               "its shape");
    p.ops[2].code = PROG_RELU; /* the same shape is fine */
    ck_assert_int_eq(prog_check(&p, 4, NULL, NULL), TRINE_OK);
    p.ops[2].code = PROG_ARGMAX;
    expect_err(&p, 4, TRINE_ESHAPE, "argmax: writes a [3] result to input w [3,2]");
    prog_clear(&p);

    p = base();
    op(&p, PROG_TRANSPOSE, temp(&p, "t"), B, -1);
    expect_err(&p, 4, TRINE_ESHAPE, "transpose: b [2] must be 2-D");
    p.ops[2].code = PROG_ARGMAX;
    expect_err(&p, 4, TRINE_ESHAPE, "argmax: b [2] must be 2-D");
    p.ops[2].code = PROG_RESHAPE;
    p.ops[2].ndim = 2;
    p.ops[2].shape[0] = 2;
    p.ops[2].shape[1] = 2;
    expect_err(&p, 4, TRINE_ESHAPE,
               "reshape: b [2] has 2 elements, the target [2,2] another count");
    prog_clear(&p);

    /* A reshape to a fixed shape fits only one batch size. */
    p = base();
    prog_op_t *o = op(&p, PROG_RESHAPE, temp(&p, "r"), X, -1);
    o->ndim = 1;
    o->shape[0] = 12;
    ck_assert_int_eq(prog_check(&p, 4, NULL, NULL), TRINE_OK);
    expect_err(&p, 3, TRINE_ESHAPE, "reshape: x [3,3] has 9 elements, the target [12]");
    o->ndim = 3;
    o->shape[0] = 0;
    o->shape[1] = 3;
    o->shape[2] = 1;
    ck_assert_int_eq(prog_check(&p, 3, NULL, NULL), TRINE_OK);
    prog_clear(&p);

    p = prog_new();
    int x = input(&p, "x", 4, (size_t[]){2, 3, 5, 5});
    int f = input(&p, "f", 4, (size_t[]){4, 2, 3, 3});
    o = op(&p, PROG_CONV2D, temp(&p, "y"), x, f);
    set_conv(o, 1, 0);
    expect_err(&p, 0, TRINE_ESHAPE,
               "conv2d: input x [2,3,5,5] has 3 channels, filters f [4,2,3,3] have 2");
    p.vars[f].shape[1] = 3;
    p.vars[f].shape[2] = 6;
    expect_err(&p, 0, TRINE_ESHAPE,
               "conv2d: the 6x3 filter does not fit the 5x5 input padded by 0 0 0 0 (top left "
               "bottom right)");
    o->iattr[PROG_CONV_PB] = 1; /* padded to 6 rows it fits */
    prog_shapes_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(prog_check(&p, 0, s, NULL), TRINE_OK);
    ck_assert(s->shape[2][2] == 1 && s->shape[2][3] == 3);
    set_conv(o, 2, 7);          /* wholly padded windows: (19 - 6) / 2 + 1 = 7 rows */
    o->iattr[PROG_CONV_SW] = 3; /* (19 - 3) / 3 + 1 = 6 columns */
    ck_assert_int_eq(prog_check(&p, 0, s, NULL), TRINE_OK);
    ck_assert(s->shape[2][2] == 7 && s->shape[2][3] == 6);
    free(s);
    p.vars[f].ndim = 2;
    expect_err(&p, 0, TRINE_ESHAPE, "must be 4-D");

    o->code = PROG_MAXPOOL;
    o->in[1] = -1;
    memset(o->iattr, 0, sizeof o->iattr);
    set_pool(o, 6, 1);
    expect_err(&p, 0, TRINE_ESHAPE,
               "maxpool: the 6x6 window does not fit x [2,3,5,5] padded by 0 0 0 0 (top left "
               "bottom right)");
    o->iattr[PROG_POOL_PT] = 1;
    o->iattr[PROG_POOL_KW] = 2;
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    o->iattr[PROG_POOL_KW] = 6;
    expect_err(&p, 0, TRINE_ESHAPE,
               "maxpool: the 6x6 window does not fit x [2,3,5,5] padded by 1 0 0 0");
    memset(o->iattr, 0, sizeof o->iattr);
    set_pool(o, 2, 1);
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);

    /* maxpool_grad(g, x): g must have maxpool(x)'s shape. */
    int grad = input(&p, "g", 4, (size_t[]){2, 3, 4, 3});
    o->code = PROG_MAXPOOL_GRAD;
    o->in[0] = grad;
    o->in[1] = x;
    expect_err(&p, 0, TRINE_ESHAPE,
               "maxpool_grad: gradient g [2,3,4,3] must have maxpool(x)'s shape [2,3,4,4]");
    o->iattr[PROG_POOL_KW] = 3; /* 2x3 windows: [2,3,4,3] */
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    o->iattr[PROG_POOL_KW] = 2;
    p.vars[grad].shape[3] = 4;
    ck_assert_int_eq(prog_check(&p, 0, NULL, NULL), TRINE_OK);
    o->in[1] = f;
    expect_err(&p, 0, TRINE_ESHAPE, "maxpool_grad: input f [4,3] must be 4-D (NCHW)");

    /* transpose: the permutation has the operand's rank */
    o->code = PROG_TRANSPOSE;
    o->in[0] = x;
    o->in[1] = -1;
    memset(o->iattr, 0, sizeof o->iattr);
    o->ndim = 3;
    memcpy(o->shape, (size_t[]){2, 0, 1}, 3 * sizeof(size_t));
    expect_err(&p, 0, TRINE_ESHAPE,
               "line 1 col 1: transpose: the permutation [2,0,1] has 3 axes, x [2,3,5,5] has 4");
    o->ndim = 0;
    expect_err(&p, 0, TRINE_ESHAPE, "transpose: x [2,3,5,5] must be 2-D");
    prog_clear(&p);

    /* A result too large to address. */
    p = prog_new();
    int a = input(&p, "a", 2, (size_t[]){(size_t)1 << 31, 1});
    int b = input(&p, "b", 2, (size_t[]){1, (size_t)1 << 31});
    op(&p, PROG_MATMUL, temp(&p, "c"), a, b);
    expect_err(&p, 0, TRINE_ESHAPE, "matmul: the result [2147483648,2147483648] is too large");
    prog_clear(&p);
}
END_TEST

/* ---- prog_plain --------------------------------------------------------- */

/* The memory a job needs, from its shapes: the bombs of a careless or
 * hostile client are gigabytes before anything is allocated; a small
 * job's figure is small and its batched output counted whole. */
/* conv2d's gradients: the forward geometry from the operands and the
 * result's extents, checked against the gradient's; their cost and memory
 * are those of their matrix products. */
START_TEST(conv_grad_shapes)
{
    prog_t p = prog_new();
    int x = input(&p, "x", 4, (size_t[]){2, 3, 8, 8});
    int w = input(&p, "w", 4, (size_t[]){4, 3, 5, 5});
    int y = temp(&p, "y"), gx = temp(&p, "gx"), gw = temp(&p, "gw");
    set_conv(op(&p, PROG_CONV2D, y, x, w), 2, 2);
    prog_op_t *oi = op(&p, PROG_CONV2D_GRAD_INPUT, gx, y, w);
    prog_op_t *ow = op(&p, PROG_CONV2D_GRAD_WEIGHTS, gw, y, x);
    set_conv(oi, 2, 2), set_conv(ow, 2, 2);
    expect_err(&p, 0, TRINE_EFORMAT,
               "conv2d_grad_input: the result's height and width must be 1 to 65535, got 0");
    oi->iattr[PROG_CONV_RH] = oi->iattr[PROG_CONV_RW] = 8;
    ow->iattr[PROG_CONV_RH] = ow->iattr[PROG_CONV_RW] = 5;
    prog_shapes_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(prog_check(&p, 0, s, NULL), TRINE_OK);
    for (int d = 0; d < 4; d++) {
        ck_assert_uint_eq(s->shape[gx][d], p.vars[x].shape[d]);
        ck_assert_uint_eq(s->shape[gw][d], p.vars[w].shape[d]);
    }
    /* W^T dy: [75, 4] by [4, 32]; dy im2col(x)^T: [4, 32] by [32, 75] */
    double conv = 8.0 * (2 * 32 * 75 + 2 * 75 * 4 + 32 * 4);
    double gin = 8.0 * (2 * 75 * 4 + 2 * 4 * 32 + 75 * 32);
    double gwt = 8.0 * (2 * 4 * 32 + 2 * 32 * 75 + 4 * 75);
    ck_assert_double_eq_tol(prog_securenn_bytes(&p, s, 13), conv + gin + gwt, 1e-6);
    oi->iattr[PROG_CONV_RH] = 9; /* (9 + 4 - 5) / 2 + 1 = 5 rows, not 4 */
    expect_err(&p, 0, TRINE_ESHAPE,
               "gradient y [2,4,4,4] is not the output of a convolution of "
               "[2,3,9,8] by [4,3,5,5] ([2,4,5,4])");
    oi->iattr[PROG_CONV_RH] = 8;
    ow->iattr[PROG_CONV_GROUP] = 3;
    expect_err(&p, 0, TRINE_EFORMAT, "conv2d_grad_weights: only one group is supported, got 3");
    free(s);
    prog_clear(&p);
}
END_TEST

START_TEST(job_memory_estimates)
{
    prog_t p = prog_new();
    int one = input(&p, "one", 4, (size_t[]){1, 1, 1, 1}), k = input(&p, "k", 4, (size_t[]){1, 1, 1, 1});
    int y = temp(&p, "y");
    p.vars[y].output = true;
    set_conv(op(&p, PROG_CONV2D, y, one, k), 1, 5000); /* -> [1,1,10001,10001] */
    prog_mem_t m;
    trine_err_t err = {0};
    ck_assert_int_eq(prog_job_memory(&p, 1, 0, false, &m, &err), TRINE_OK);
    ck_assert_uint_eq(m.op, 0);
    ck_assert(m.outputs == 10001.0 * 10001 * 8);
    ck_assert(m.op_bytes > 8e9 && m.peak > m.op_bytes + m.outputs);
    prog_clear(&p);

    p = prog_new();
    int col = input(&p, "col", 2, (size_t[]){20000, 1}), row = input(&p, "row", 2, (size_t[]){1, 20000});
    y = temp(&p, "y");
    op(&p, PROG_MATMUL, y, col, row);
    ck_assert_int_eq(prog_job_memory(&p, 1, 0, false, &m, &err), TRINE_OK);
    ck_assert(m.op_bytes >= 6.0 * 8 * 20000 * 20000 && m.outputs == 0);
    ck_assert(m.masked == 3.0 * 20000 * 8);
    prog_clear(&p);

    p = prog_new();
    int x = batch(&p, "x", 2, (size_t[]){100, 4}), w = input(&p, "w", 2, (size_t[]){4, 3});
    int h = temp(&p, "h");
    y = temp(&p, "y");
    p.vars[y].output = true;
    op(&p, PROG_MATMUL, h, x, w);
    op(&p, PROG_RELU, y, h, -1);
    ck_assert_int_eq(prog_job_memory(&p, 10, 0, false, &m, &err), TRINE_OK);
    ck_assert_uint_eq(m.op, 1); /* relu's comparison outweighs the tiny product */
    ck_assert(m.outputs == 100 * 3 * 8);
    ck_assert(m.peak > m.outputs && m.peak < 1e6 && m.keys == 0);
    ck_assert(m.masked == 3 * 4 * 3 * 8); /* w's masked form, kept across jobs */
    /* protocol fss: the keys of the 30 comparisons of a step, two steps */
    prog_mem_t f;
    ck_assert_int_eq(prog_job_memory(&p, 10, UINT64_MAX, false, &f, &err), TRINE_OK);
    ck_assert(f.keys >= 2 * 30 * 2584.0 && f.keys <= 2 * 30 * 3000.0 &&
              f.peak == m.peak + f.keys);
    /* protocol carry: their records to P1 (up to 111 bytes each), two steps */
    prog_mem_t c;
    ck_assert_int_eq(prog_job_memory(&p, 10, 0, true, &c, &err), TRINE_OK);
    ck_assert(c.keys >= 2 * 30 * 111.0 && c.keys <= 2 * 30 * 128.0 &&
              c.peak == m.peak + c.keys);
    /* auto with fss_max 30: the step's 30 by fss */
    ck_assert_int_eq(prog_job_memory(&p, 10, 30, true, &c, &err), TRINE_OK);
    ck_assert(c.keys == f.keys);
    /* a shape error is prog_check's */
    p.vars[w].shape[0] = 5;
    ck_assert_int_eq(prog_job_memory(&p, 10, 0, false, &m, &err), TRINE_ESHAPE);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_mlp_forward)
{
    /* Two rows through relu(x w1 + b1) w2 + b2, one row per step. */
    prog_t p = prog_new();
    int x = batch(&p, "x", 2, (size_t[]){2, 3});
    int w1 = input(&p, "w1", 2, (size_t[]){3, 2}), b1 = input(&p, "b1", 1, (size_t[]){2});
    int w2 = input(&p, "w2", 2, (size_t[]){1, 2}), b2 = input(&p, "b2", 1, (size_t[]){1});
    int z1 = temp(&p, "z1"), a1 = temp(&p, "a1"), h = temp(&p, "h"), z2 = temp(&p, "z2");
    int y = temp(&p, "y");
    op(&p, PROG_MATMUL, z1, x, w1);
    op(&p, PROG_ADD, a1, z1, b1);
    op(&p, PROG_RELU, h, a1, -1);
    op(&p, PROG_MATMUL, z2, h, w2)->iattr[1] = 1; /* w2 is stored as [1,2] */
    op(&p, PROG_ADD, y, z2, b2);
    p.vars[y].output = p.vars[a1].output = p.vars[w1].output = true;

    vals_t v = {0};
    set(&v, &p, x, (double[]){1, 2, 3, -1, 0, 1});
    set(&v, &p, w1, (double[]){1, 0, 0, 1, 1, -1});
    set(&v, &p, b1, (double[]){0.5, -4});
    set(&v, &p, w2, (double[]){2, 3});
    set(&v, &p, b2, (double[]){-1});
    run_ok(&p, 1, 1, &v);
    /* x w1 = [4 -1; 0 -1]; + b1 = [4.5 -5; 0.5 -5]; relu, times [2 3]^T, - 1. */
    expect_values(v.out[a1], 2, (size_t[]){2, 2}, (double[]){4.5, -5, 0.5, -5}, 0);
    expect_values(v.out[y], 2, (size_t[]){2, 1}, (double[]){8, 0}, 0);
    expect_values(v.out[w1], 2, (size_t[]){3, 2}, v.in[w1]->data, 0);
    for (int i = 0; i < (int)p.nvars; i++)
        if (i != y && i != a1 && i != w1)
            ck_assert_ptr_null(v.out[i]);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_elementwise_and_argmax)
{
    prog_t p = prog_new();
    int a = input(&p, "a", 2, (size_t[]){2, 3}), c = input(&p, "c", 2, (size_t[]){2, 1});
    int t = input(&p, "t", 2, (size_t[]){3, 4}), v1 = input(&p, "v", 1, (size_t[]){3});
    int relu = temp(&p, "relu"), drelu = temp(&p, "drelu"), sig = temp(&p, "sig");
    int scale = temp(&p, "scale"), mul = temp(&p, "mul"), sub = temp(&p, "sub");
    int sum = temp(&p, "sum"), tr = temp(&p, "tr"), am = temp(&p, "am"), sgd = temp(&p, "sgd");
    int sum1 = temp(&p, "sum1"), ata = temp(&p, "ata");
    op(&p, PROG_RELU, relu, a, -1);
    op(&p, PROG_DRELU, drelu, a, -1);
    op(&p, PROG_SIGMOID, sig, a, -1);
    op(&p, PROG_SCALE, scale, a, -1)->fattr = -3;
    op(&p, PROG_MUL, mul, a, a);
    op(&p, PROG_SUB, sub, a, c);
    op(&p, PROG_SUM, sum, a, -1);
    op(&p, PROG_TRANSPOSE, tr, a, -1);
    op(&p, PROG_ARGMAX, am, t, -1);
    op(&p, PROG_SGD, sgd, a, a)->fattr = 0.25;
    op(&p, PROG_SUM, sum1, v1, -1);
    op(&p, PROG_MATMUL, ata, a, a)->iattr[0] = 1;
    for (size_t i = 0; i < p.nvars; i++)
        p.vars[i].output = p.vars[i].kind == PROG_VAR_TEMP;

    vals_t v = {0};
    set(&v, &p, a, (double[]){-1, -0.25, 0, 0.25, 0.75, 2});
    set(&v, &p, c, (double[]){1, 2});
    set(&v, &p, t, (double[]){1, 3, 3, 0, 5, 5, 5, 5, -2, -1, -3, -1});
    set(&v, &p, v1, (double[]){1, 2, 3});
    run_ok(&p, 1, 1, &v);
    const size_t s23[] = {2, 3};
    expect_values(v.out[relu], 2, s23, (double[]){0, 0, 0, 0.25, 0.75, 2}, 0);
    expect_values(v.out[drelu], 2, s23, (double[]){0, 0, 1, 1, 1, 1}, 0);
    expect_values(v.out[sig], 2, s23, (double[]){0, 0.25, 0.5, 0.75, 1, 1}, 0);
    expect_values(v.out[scale], 2, s23, (double[]){3, 0.75, 0, -0.75, -2.25, -6}, 0);
    expect_values(v.out[mul], 2, s23, (double[]){1, 0.0625, 0, 0.0625, 0.5625, 4}, 0);
    expect_values(v.out[sub], 2, s23, (double[]){-2, -1.25, -1, -1.75, -1.25, 0}, 0);
    expect_values(v.out[sum], 1, (size_t[]){3}, (double[]){-0.75, 0.5, 2}, 0);
    expect_values(v.out[tr], 2, (size_t[]){3, 2}, (double[]){-1, 0.25, -0.25, 0.75, 0, 2}, 0);
    expect_values(v.out[am], 1, (size_t[]){3}, (double[]){1, 0, 1}, 0);
    expect_values(v.out[sgd], 2, s23, (double[]){-0.75, -0.1875, 0, 0.1875, 0.5625, 1.5}, 0);
    expect_values(v.out[sum1], 1, (size_t[]){1}, (double[]){6}, 0);
    double want[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            want[i * 3 + j] =
                v.in[a]->data[i] * v.in[a]->data[j] + v.in[a]->data[3 + i] * v.in[a]->data[3 + j];
    expect_values(v.out[ata], 2, (size_t[]){3, 3}, want, 1e-15);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_div_gt)
{
    prog_t p = prog_new();
    int a = input(&p, "a", 2, (size_t[]){2, 3}), b = input(&p, "b", 2, (size_t[]){2, 3});
    int q = temp(&p, "q"), q4 = temp(&p, "q4"), gt = temp(&p, "gt"), lt = temp(&p, "lt");
    op(&p, PROG_DIV, q, a, b);
    op(&p, PROG_DIV, q4, a, b)->iattr[0] = 4; /* the same quotient in plaintext */
    op(&p, PROG_GT, gt, a, b);
    op(&p, PROG_GT, lt, b, a);
    p.vars[q].output = p.vars[q4].output = p.vars[gt].output = p.vars[lt].output = true;

    vals_t v = {0};
    set(&v, &p, a, (double[]){1, -1.5, 0, 0.25, 3, -2});
    set(&v, &p, b, (double[]){2, 0.5, 4, 0.25, 1.5, -2});
    run_ok(&p, 1, 1, &v);
    const size_t s23[] = {2, 3};
    const double quot[] = {0.5, -3, 0, 1, 2, 1};
    expect_values(v.out[q], 2, s23, quot, 0);
    expect_values(v.out[q4], 2, s23, quot, 0);
    /* equal values are not greater */
    expect_values(v.out[gt], 2, s23, (double[]){0, 0, 0, 0, 1, 0}, 0);
    expect_values(v.out[lt], 2, s23, (double[]){1, 1, 1, 0, 0, 0}, 0);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_conv2d_stride_pad)
{
    /* Two images of 2 channels, 5x4, three 3x2 filters, a bias [3,1,1]
     * broadcast, with strides and pads per axis and side: against a direct
     * loop. */
    enum { N = 2, C = 2, H = 5, WD = 4, OC = 3, KH = 3, KW = 2 };
    const int64_t geoms[][6] = {
        /* sh, pt, sw, pl, pb, pr: the iattr layout */
        {2, 1, 2, 1, 1, 1}, {1, 0, 1, 0, 0, 0}, {1, 2, 3, 0, 0, 1},
        {3, 0, 1, 2, 2, 0}, {2, 4, 2, 3, 0, 0}, /* windows wholly in the padding */
    };
    for (size_t gi = 0; gi < sizeof geoms / sizeof geoms[0]; gi++) {
        const int64_t *g = geoms[gi];
        int sh = (int)g[0], pt = (int)g[1], sw = (int)g[2], pl = (int)g[3];
        int oh = (H + pt + (int)g[4] - KH) / sh + 1, ow = (WD + pl + (int)g[5] - KW) / sw + 1;
        prog_t p = prog_new();
        int x = batch(&p, "x", 4, (size_t[]){N, C, H, WD});
        int f = input(&p, "f", 4, (size_t[]){OC, C, KH, KW});
        int bias = input(&p, "bias", 3, (size_t[]){OC, 1, 1});
        int conv = temp(&p, "conv"), y = temp(&p, "y");
        memcpy(op(&p, PROG_CONV2D, conv, x, f)->iattr, g, 6 * sizeof *g);
        op(&p, PROG_ADD, y, conv, bias);
        p.vars[y].output = true;

        double xv[N * C * H * WD], fv[OC * C * KH * KW], bv[OC];
        double *want = malloc((size_t)(N * OC * oh * ow) * sizeof *want);
        ck_assert_ptr_nonnull(want);
        random_reals(xv, N * C * H * WD, 1 + gi);
        random_reals(fv, OC * C * KH * KW, 2 + gi);
        random_reals(bv, OC, 3 + gi);
        for (int n = 0; n < N; n++)
            for (int oc = 0; oc < OC; oc++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        double acc = bv[oc];
                        for (int c = 0; c < C; c++)
                            for (int ki = 0; ki < KH; ki++)
                                for (int kj = 0; kj < KW; kj++) {
                                    int yy = i * sh + ki - pt, xx = j * sw + kj - pl;
                                    if (yy >= 0 && yy < H && xx >= 0 && xx < WD)
                                        acc += xv[((n * C + c) * H + yy) * WD + xx] *
                                               fv[((oc * C + c) * KH + ki) * KW + kj];
                                }
                        want[((n * OC + oc) * oh + i) * ow + j] = acc;
                    }
        for (size_t rows = 1; rows <= 2; rows++) {
            vals_t v = {0};
            set(&v, &p, x, xv);
            set(&v, &p, f, fv);
            set(&v, &p, bias, bv);
            run_ok(&p, rows, 1, &v);
            expect_values(v.out[y], 4, (size_t[]){N, OC, (size_t)oh, (size_t)ow}, want, 1e-12);
            vals_free(&v);
        }
        free(want);
        prog_clear(&p);
    }
}
END_TEST

START_TEST(plain_pooling_ties_overlap)
{
    /* 2x2 windows with stride 1 overlap; ties go to the first maximum in
     * row-major window order. */
    prog_t p = prog_new();
    int x = input(&p, "x", 4, (size_t[]){1, 1, 3, 3});
    int g = input(&p, "g", 4, (size_t[]){1, 1, 2, 2});
    int mx = temp(&p, "mx"), gx = temp(&p, "gx"), av = temp(&p, "av"), m2 = temp(&p, "m2");
    set_pool(op(&p, PROG_MAXPOOL, mx, x, -1), 2, 1);
    set_pool(op(&p, PROG_MAXPOOL_GRAD, gx, g, x), 2, 1);
    set_pool(op(&p, PROG_AVGPOOL, av, x, -1), 2, 1);
    /* one 2x2 window; row 2 and column 2 unused */
    set_pool(op(&p, PROG_MAXPOOL, m2, x, -1), 2, 2);
    p.vars[mx].output = p.vars[gx].output = p.vars[av].output = p.vars[m2].output = true;

    vals_t v = {0};
    set(&v, &p, x, (double[]){1, 3, 3, 2, 0, 3, 4, 4, 1});
    set(&v, &p, g, (double[]){1, 10, 100, 1000});
    run_ok(&p, 1, 1, &v);
    expect_values(v.out[mx], 4, (size_t[]){1, 1, 2, 2}, (double[]){3, 3, 4, 4}, 0);
    /* Windows (0,0) and (0,1) both pick x[0][1]; (1,0) picks x[2][0] over
     * the tied x[2][1]; (1,1) picks x[2][1]. */
    expect_values(v.out[gx], 4, (size_t[]){1, 1, 3, 3}, (double[]){0, 11, 0, 0, 0, 0, 100, 1000, 0},
                  0);
    expect_values(v.out[av], 4, (size_t[]){1, 1, 2, 2}, (double[]){1.5, 2.25, 2.5, 2}, 0);
    expect_values(v.out[m2], 4, (size_t[]){1, 1, 1, 1}, (double[]){3}, 0);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_pooling_padding_and_rectangles)
{
    /* x is 3x4:      maxpool 2x3, strides 1 and 2, pads top 1, left 1,
     *   1  -2  3  4  right 1 (minus infinity), over the padded 4x6:
     *  -5   6 -7  8  rows -1..0, 0..1, 1..2; columns -1..1, 1..3 */
    prog_t p = prog_new();
    int x = input(&p, "x", 4, (size_t[]){1, 1, 3, 4});
    int mx = temp(&p, "mx"), a0 = temp(&p, "a0"), a1 = temp(&p, "a1"), ar = temp(&p, "ar");
    int xn = input(&p, "xn", 4, (size_t[]){1, 1, 3, 4}), mn = temp(&p, "mn");
    const int64_t geom[PROG_POOL_SLOTS] = {2, 1, 3, 2, 1, 1, 0, 1, 0};
    memcpy(op(&p, PROG_MAXPOOL, mx, x, -1)->iattr, geom, sizeof geom);
    memcpy(op(&p, PROG_AVGPOOL, a0, x, -1)->iattr, geom, sizeof geom);
    prog_op_t *o = op(&p, PROG_AVGPOOL, a1, x, -1);
    memcpy(o->iattr, geom, sizeof geom);
    o->iattr[PROG_POOL_COUNT_PAD] = 1;
    /* a 3x1 window, strides 2 and 1, no padding: 1 x 4 */
    set_pool(op(&p, PROG_AVGPOOL, ar, x, -1), 3, 2);
    p.ops[3].iattr[PROG_POOL_KW] = 1, p.ops[3].iattr[PROG_POOL_SW] = 1;
    /* every value negative: the padding still never wins */
    memcpy(op(&p, PROG_MAXPOOL, mn, xn, -1)->iattr, geom, sizeof geom);
    p.vars[mx].output = p.vars[a0].output = p.vars[a1].output = true;
    p.vars[ar].output = p.vars[mn].output = true;

    vals_t v = {0};
    set(&v, &p, x, (double[]){1, -2, 3, 4, -5, 6, -7, 8, 9, -10, 11, -12});
    set(&v, &p, xn, (double[]){-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12});
    run_ok(&p, 1, 1, &v);
    const size_t s32[] = {1, 1, 3, 2};
    /* windows: rows {0}, {0,1}, {1,2}; columns {0,1}, {1,2,3} */
    expect_values(v.out[mx], 4, s32, (double[]){1, 4, 6, 8, 9, 11}, 0);
    /* the window sums -1, 5, 0, 12, 0, -4 over 2, 3, 4, 6, 4, 6 elements */
    expect_values(v.out[a0], 4, s32, (double[]){-0.5, 5.0 / 3, 0, 2, 0, -4.0 / 6}, 1e-15);
    expect_values(v.out[a1], 4, s32, (double[]){-1.0 / 6, 5.0 / 6, 0, 2, 0, -4.0 / 6}, 1e-15);
    expect_values(v.out[ar], 4, (size_t[]){1, 1, 1, 4}, (double[]){5.0 / 3, -2, 7.0 / 3, 0}, 1e-15);
    expect_values(v.out[mn], 4, s32, (double[]){-1, -2, -1, -2, -5, -6}, 0);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_transpose_permutations)
{
    prog_t p = prog_new();
    int a = input(&p, "a", 4, (size_t[]){2, 3, 4, 5}), b = input(&p, "b", 3, (size_t[]){2, 3, 4});
    int c = input(&p, "c", 1, (size_t[]){6}), m = input(&p, "m", 2, (size_t[]){3, 4});
    const size_t perms[][4] = {
        {0, 1, 2, 3}, {3, 2, 1, 0}, {0, 2, 3, 1}, {1, 0, 3, 2}, {2, 0, 1, 3}};
    int out[8];
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        prog_op_t *o = op(&p, PROG_TRANSPOSE, out[i] = temp(&p, name), a, -1);
        o->ndim = 4;
        memcpy(o->shape, perms[i], sizeof perms[i]);
        p.vars[out[i]].output = true;
    }
    prog_op_t *o = op(&p, PROG_TRANSPOSE, out[5] = temp(&p, "q"), b, -1);
    o->ndim = 3;
    memcpy(o->shape, (size_t[]){2, 0, 1}, 3 * sizeof(size_t));
    o = op(&p, PROG_TRANSPOSE, out[6] = temp(&p, "r"), c, -1);
    o->ndim = 1;
    op(&p, PROG_TRANSPOSE, out[7] = temp(&p, "s"), m, -1); /* ndim 0: the 2-D swap */
    for (int i = 5; i < 8; i++)
        p.vars[out[i]].output = true;

    double av[120], bv[24], cv[6], mv[12];
    for (int i = 0; i < 120; i++)
        av[i] = i;
    for (int i = 0; i < 24; i++)
        bv[i] = -i;
    for (int i = 0; i < 6; i++)
        cv[i] = 10 * i;
    for (int i = 0; i < 12; i++)
        mv[i] = i + 0.5;
    vals_t v = {0};
    set(&v, &p, a, av), set(&v, &p, b, bv), set(&v, &p, c, cv), set(&v, &p, m, mv);
    run_ok(&p, 1, 1, &v);
    const size_t as[] = {2, 3, 4, 5};
    double want[120];
    for (int k = 0; k < 5; k++) {
        const size_t *pm = perms[k];
        size_t os[4] = {as[pm[0]], as[pm[1]], as[pm[2]], as[pm[3]]}, idx[4], o2 = 0;
        for (idx[0] = 0; idx[0] < os[0]; idx[0]++)
            for (idx[1] = 0; idx[1] < os[1]; idx[1]++)
                for (idx[2] = 0; idx[2] < os[2]; idx[2]++)
                    for (idx[3] = 0; idx[3] < os[3]; idx[3]++) {
                        size_t in[4]; /* output axis i is input axis pm[i] */
                        for (int d = 0; d < 4; d++)
                            in[pm[d]] = idx[d];
                        want[o2++] = av[((in[0] * 3 + in[1]) * 4 + in[2]) * 5 + in[3]];
                    }
        expect_values(v.out[out[k]], 4, os, want, 0);
    }
    /* b [2,3,4] by (2, 0, 1): [4,2,3], element (k, i, j) = b[i][j][k] */
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 3; j++)
                want[(k * 2 + i) * 3 + j] = bv[(i * 3 + j) * 4 + k];
    expect_values(v.out[out[5]], 3, (size_t[]){4, 2, 3}, want, 0);
    expect_values(v.out[out[6]], 1, (size_t[]){6}, cv, 0);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++)
            want[j * 3 + i] = mv[i * 4 + j];
    expect_values(v.out[out[7]], 2, (size_t[]){4, 3}, want, 0);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_sigmoid_fine_within_bound)
{
    /* the fine sigmoid over [-12, 12] in steps of 2^-10, against the
     * logistic: within 0.0055 (the function's own error), continuous,
     * nondecreasing, symmetric about (0, 1/2), clamped outside +-5.25 */
    enum { PER = 1024, STEPS = 24 * PER + 1 };
    prog_t p = prog_new();
    int x = input(&p, "x", 1, (size_t[]){STEPS});
    int y = temp(&p, "y"), y0 = temp(&p, "y0");
    op(&p, PROG_SIGMOID, y, x, -1)->iattr[0] = 1;
    op(&p, PROG_SIGMOID, y0, x, -1); /* the 3-piece one, unchanged */
    p.vars[y].output = p.vars[y0].output = true;
    double *xv = malloc(STEPS * sizeof *xv);
    ck_assert_ptr_nonnull(xv);
    for (size_t i = 0; i < STEPS; i++)
        xv[i] = -12 + (double)i / PER;
    vals_t v = {0};
    set(&v, &p, x, xv);
    run_ok(&p, 1, 1, &v);
    const double *f = v.out[y]->data, *f0 = v.out[y0]->data;
    double worst = 0;
    for (size_t i = 0; i < STEPS; i++) {
        double logistic = 1 / (1 + exp(-xv[i])), e = fabs(f[i] - logistic);
        worst = e > worst ? e : worst;
        ck_assert_msg(e <= 0.0055, "fine sigmoid(%g) = %.6f, logistic %.6f", xv[i], f[i], logistic);
        ck_assert(f[i] == proto_sigmoid_fine_ref(xv[i]));
        ck_assert(fabs(f[i] + f[STEPS - 1 - i] - 1) <= 1e-12);
        if (i > 0) /* slopes below 1/4, as the logistic's */
            ck_assert(f[i] >= f[i - 1] && f[i] - f[i - 1] <= 0.25 / PER);
        if (xv[i] <= -5.25 || xv[i] >= 5.25)
            ck_assert(f[i] == (xv[i] > 0));
        double piece = xv[i] < -0.5 ? 0 : xv[i] > 0.5 ? 1 : xv[i] + 0.5;
        ck_assert(f0[i] == piece);
    }
    ck_assert(worst > 0.005 && worst <= 0.0055 && worst <= PROG_SIGMOID_FINE_ERROR);
    ck_assert(f[12 * PER] == 0.5);
    free(xv);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

typedef struct {
    uint64_t calls, last_step, steps;
} progress_t;

static void on_progress(void *arg, uint64_t step, uint64_t steps)
{
    progress_t *pr = arg;
    pr->calls++;
    ck_assert_uint_eq(step, pr->last_step + 1);
    pr->last_step = step;
    pr->steps = steps;
}

START_TEST(plain_batches_and_epochs)
{
    /* Five rows in batches of 2 (2, 2, 1), two epochs: six steps. c drops
     * by 1/2 every step and persists; y = x + c is read before that. */
    prog_t p = prog_new();
    int x = batch(&p, "x", 2, (size_t[]){5, 2});
    int c = input(&p, "c", 1, (size_t[]){1}), one = input(&p, "one", 1, (size_t[]){1});
    int y = temp(&p, "y"), s = temp(&p, "s");
    op(&p, PROG_ADD, y, x, c);
    op(&p, PROG_SGD, c, c, one)->fattr = 0.5;
    op(&p, PROG_SUM, s, x, -1);
    p.vars[y].output = p.vars[c].output = p.vars[s].output = p.vars[x].output = true;

    vals_t v = {0};
    const double xv[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    set(&v, &p, x, xv);
    set(&v, &p, c, (double[]){10});
    set(&v, &p, one, (double[]){1});
    progress_t pr = {0};
    prog_job_t job = {
        .prog = &p, .batch = 2, .epochs = 2, .progress = on_progress, .progress_arg = &pr};
    ck_assert_uint_eq(prog_job_steps(&job), 6);
    trine_err_t err = {0};
    ck_assert_int_eq(prog_plain(&job, (const prog_plain_t *const *)v.in, v.out, &err), TRINE_OK);
    ck_assert_uint_eq(pr.calls, 6);
    ck_assert_uint_eq(pr.steps, 6);
    /* The last epoch's steps 4, 5, 6 see c = 8.5, 8, 7.5. */
    expect_values(v.out[y], 2, (size_t[]){5, 2},
                  (double[]){8.5, 9.5, 10.5, 11.5, 12, 13, 14, 15, 15.5, 16.5}, 0);
    expect_values(v.out[c], 1, (size_t[]){1}, (double[]){7}, 0);
    /* A batched value without a batch axis still stacks, one per step. */
    expect_values(v.out[s], 1, (size_t[]){6}, (double[]){2, 4, 10, 12, 8, 9}, 0);
    expect_values(v.out[x], 2, (size_t[]){5, 2}, xv, 0);
    /* The caller's input is not changed by the update. */
    ck_assert(v.in[c]->data[0] == 10);
    vals_free(&v);

    /* A batch larger than N: one step per epoch. */
    set(&v, &p, x, xv);
    set(&v, &p, c, (double[]){10});
    set(&v, &p, one, (double[]){1});
    run_ok(&p, 8, 3, &v);
    expect_values(v.out[y], 2, (size_t[]){5, 2}, (double[]){9, 10, 11, 12, 13, 14, 15, 16, 17, 18},
                  0);
    expect_values(v.out[c], 1, (size_t[]){1}, (double[]){8.5}, 0);
    expect_values(v.out[s], 1, (size_t[]){2}, (double[]){20, 25}, 0);
    vals_free(&v);

    /* x^T is [2, rows]: the full and the short batch do not stack. */
    int t = temp(&p, "t");
    op(&p, PROG_TRANSPOSE, t, x, -1);
    p.vars[t].output = true;
    set(&v, &p, x, xv);
    set(&v, &p, c, (double[]){10});
    set(&v, &p, one, (double[]){1});
    ck_assert_int_eq(run(&p, 2, 1, &v, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg,
                     "output t: its values for a batch of 2 rows and of 1 rows do not stack along "
                     "axis 0");
    for (int i = 0; i < (int)p.nvars; i++)
        ck_assert_ptr_null(v.out[i]);
    run_ok(&p, 5, 1, &v); /* one full batch stacks trivially */
    expect_values(v.out[t], 2, (size_t[]){2, 5}, (double[]){0, 2, 4, 6, 8, 1, 3, 5, 7, 9}, 0);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_reshape_batch_extent)
{
    prog_t p = prog_new();
    int x = batch(&p, "x", 2, (size_t[]){4, 6});
    int w = input(&p, "w", 2, (size_t[]){2, 6});
    int r = temp(&p, "r"), r2 = temp(&p, "r2");
    prog_op_t *o = op(&p, PROG_RESHAPE, r, x, -1);
    o->ndim = 3;
    memcpy(o->shape, (size_t[]){0, 2, 3}, 3 * sizeof(size_t));
    o = op(&p, PROG_RESHAPE, r2, w, -1);
    o->ndim = 2;
    memcpy(o->shape, (size_t[]){3, 4}, 2 * sizeof(size_t));
    p.vars[r].output = p.vars[r2].output = true;

    double xv[24], wv[12];
    for (int i = 0; i < 24; i++)
        xv[i] = i;
    for (int i = 0; i < 12; i++)
        wv[i] = -i;
    vals_t v = {0};
    set(&v, &p, x, xv);
    set(&v, &p, w, wv);
    run_ok(&p, 3, 1, &v); /* rows 3 then 1 */
    expect_values(v.out[r], 3, (size_t[]){4, 2, 3}, xv, 0);
    expect_values(v.out[r2], 2, (size_t[]){3, 4}, wv, 0);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_logistic_regression)
{
    /* 64 points of [-1,1]^2, labelled by the side of x0 + 2 x1 = 0, kept
     * at least 0.2 away from it. Gradient descent on the piecewise sigmoid
     * with the update written back to w and b, 8 rows a step. */
    enum { N = 64, ROWS = 8, EPOCHS = 20 };
    prog_t p = prog_new();
    int x = batch(&p, "x", 2, (size_t[]){N, 2}), lab = batch(&p, "label", 2, (size_t[]){N, 1});
    int w = input(&p, "w", 2, (size_t[]){2, 1}), b = input(&p, "b", 1, (size_t[]){1});
    int z = temp(&p, "z"), zb = temp(&p, "zb"), prob = temp(&p, "prob"), d = temp(&p, "d");
    int dw = temp(&p, "dw"), db = temp(&p, "db");
    op(&p, PROG_MATMUL, z, x, w);
    op(&p, PROG_ADD, zb, z, b);
    op(&p, PROG_SIGMOID, prob, zb, -1);
    op(&p, PROG_SUB, d, prob, lab);
    op(&p, PROG_MATMUL, dw, x, d)->iattr[0] = 1;
    op(&p, PROG_SGD, w, w, dw)->fattr = 0.125;
    op(&p, PROG_SUM, db, d, -1);
    op(&p, PROG_SGD, b, b, db)->fattr = 0.125;
    p.vars[prob].output = p.vars[w].output = p.vars[b].output = true;

    double xv[N * 2], lv[N];
    random_reals(xv, N * 2, 7);
    for (int i = 0; i < N; i++) {
        double m = xv[2 * i] + 2 * xv[2 * i + 1];
        if (fabs(m) < 0.2)
            xv[2 * i + 1] += m < 0 ? -0.2 : 0.2;
        lv[i] = xv[2 * i] + 2 * xv[2 * i + 1] > 0;
    }
    vals_t v = {0};
    set(&v, &p, x, xv);
    set(&v, &p, lab, lv);
    set(&v, &p, w, NULL);
    set(&v, &p, b, NULL);
    run_ok(&p, ROWS, EPOCHS, &v);
    ck_assert_uint_eq(v.out[prob]->shape[0], N);
    int right = 0;
    for (int i = 0; i < N; i++)
        right += (v.out[prob]->data[i] > 0.5) == (lv[i] > 0.5);
    ck_assert_int_eq(right, N); /* separable with a margin: every point, in the last epoch */
    /* The learned boundary leans like x0 + 2 x1 = 0. */
    double w0 = v.out[w]->data[0], w1 = v.out[w]->data[1];
    ck_assert(w0 > 0 && w1 > w0);
    ck_assert(fabs(v.out[b]->data[0]) < 0.5 * w1);
    vals_free(&v);
    prog_clear(&p);
}
END_TEST

START_TEST(plain_bad_jobs)
{
    prog_t p = base();
    vals_t v = {0};
    trine_err_t err = {0};
    for (size_t i = 0; i < p.nvars; i++)
        v.out[i] = (prog_plain_t *)&err; /* overwritten with NULL on a checked program */
    set(&v, &p, X, NULL);
    set(&v, &p, W, NULL);
    ck_assert_int_eq(run(&p, 2, 1, &v, &err), TRINE_EINVAL);
    ck_assert_str_eq(err.msg, "input b: no value given");
    for (int i = 0; i < (int)p.nvars; i++)
        ck_assert_ptr_null(v.out[i]);
    v.in[B] = plain(1, (size_t[]){3}, NULL);
    ck_assert_int_eq(run(&p, 2, 1, &v, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg, "input b: the value's shape is not the declared one");
    ck_assert_int_eq(run(&p, 0, 1, &v, &err), TRINE_EINVAL);
    ck_assert_int_eq(run(&p, 2, 0, &v, &err), TRINE_EINVAL);
    prog_job_t job = {.prog = &p, .batch = 1, .epochs = 1};
    ck_assert_int_eq(prog_plain(&job, NULL, v.out, &err), TRINE_EINVAL);
    vals_free(&v);

    /* A program that fails its check fails the job the same way. */
    p.vars[B].shape[0] = 5;
    set(&v, &p, X, NULL);
    set(&v, &p, W, NULL);
    set(&v, &p, B, NULL);
    ck_assert_int_eq(run(&p, 2, 1, &v, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg, "line 2 col 1: add: b [5] does not broadcast to h [2,2]");
    /* and so does one whose short last batch fails it: h is [3,2], then
     * [1,2], reshaped to [2,3]. */
    p.vars[B].shape[0] = 2;
    prog_op_t *o = op(&p, PROG_RESHAPE, temp(&p, "r"), H, -1);
    o->ndim = 2;
    o->shape[0] = 2;
    o->shape[1] = 3;
    ck_assert_int_eq(run(&p, 3, 1, &v, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg, "line 3 col 1: reshape: h [1,2] has 2 elements, the target [2,3] "
                              "another count");
    vals_free(&v);
    prog_clear(&p);

    prog_plain_t *none = NULL;
    prog_plain_destroy(&none);
    prog_plain_destroy(NULL);
}
END_TEST

/* ---- prog_op_reuses, prog_securenn_bytes ------------------------------ */

START_TEST(reuse_relu_bits_and_maxpool_argmax)
{
    prog_t p = prog_new();
    int a = input(&p, "a", 4, (size_t[]){1, 1, 4, 4}),
        u = input(&p, "u", 4, (size_t[]){1, 1, 4, 4});
    int g = input(&p, "g", 4, (size_t[]){1, 1, 2, 2});
    int r = temp(&p, "r"), m = temp(&p, "m");
    op(&p, PROG_RELU, r, a, -1);                                     /* 0 */
    op(&p, PROG_DRELU, temp(&p, "d1"), a, -1);                       /* 1: takes 0's bits */
    op(&p, PROG_DRELU, temp(&p, "d2"), r, -1);                       /* 2: relu of another value */
    op(&p, PROG_RELU, temp(&p, "ru"), u, -1);                        /* 3 */
    op(&p, PROG_SGD, u, u, u)->fattr = 0.5;                          /* 4: u changes */
    op(&p, PROG_DRELU, temp(&p, "d3"), u, -1);                       /* 5: stale bits, none */
    set_pool(op(&p, PROG_MAXPOOL, m, a, -1), 2, 2);                  /* 6 */
    set_pool(op(&p, PROG_MAXPOOL_GRAD, temp(&p, "gx"), g, a), 2, 2); /* 7: takes 6's one-hot */
    set_pool(op(&p, PROG_MAXPOOL_GRAD, temp(&p, "gy"), m, a), 3, 1); /* 8: another window, none */
    /* a 2x1 window with strides 2, 3 ([1,1,2,2]) and its gradient: the
     * same geometry in every slot, or none */
    int mr = temp(&p, "mr");
    prog_op_t *o = op(&p, PROG_MAXPOOL, mr, u, -1); /* 9 */
    set_pool(o, 2, 2);
    o->iattr[PROG_POOL_KW] = 1, o->iattr[PROG_POOL_SW] = 3;
    prog_op_t *gr = op(&p, PROG_MAXPOOL_GRAD, temp(&p, "gr"), g, u); /* 10: takes 9's */
    memcpy(gr->iattr, o->iattr, sizeof o->iattr);
    gr = op(&p, PROG_MAXPOOL_GRAD, temp(&p, "gs"), g, u); /* 11: stride 2 across, none */
    memcpy(gr->iattr, o->iattr, sizeof o->iattr);
    gr->iattr[PROG_POOL_SW] = 2;
    trine_err_t err = {0};
    ck_assert_msg(prog_check(&p, 0, NULL, &err) == TRINE_OK, "%s", err.msg);
    const int want[] = {-1, 0, -1, -1, -1, -1, -1, 6, -1, -1, 9, -1};
    for (size_t j = 0; j < p.nops; j++)
        ck_assert_int_eq(prog_op_reuses(&p, j), want[j]);
    prog_clear(&p);
}
END_TEST

/* prog_securenn_bytes of p checked for a step of rows. */
static double securenn_bytes(const prog_t *p, size_t rows, unsigned frac_bits)
{
    prog_shapes_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    trine_err_t err = {0};
    ck_assert_msg(prog_check(p, rows, s, &err) == TRINE_OK, "%s", err.msg);
    double bytes = prog_securenn_bytes(p, s, frac_bits);
    free(s);
    return bytes;
}

/* y = argmax(... relu(x w_i + b_i) ...): the dense layers of widths
 * dims[0] -> dims[n]. */
static prog_t dense_net(const size_t *dims, int n)
{
    prog_t p = prog_new();
    int h = batch(&p, "x", 2, (size_t[]){128, dims[0]});
    char name[16];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "w%d", i);
        int w = input(&p, name, 2, (size_t[]){dims[i], dims[i + 1]});
        snprintf(name, sizeof name, "b%d", i);
        int b = input(&p, name, 1, (size_t[]){dims[i + 1]});
        snprintf(name, sizeof name, "z%d", i);
        int z = temp(&p, name);
        op(&p, PROG_MATMUL, z, h, w);
        snprintf(name, sizeof name, "zb%d", i);
        h = temp(&p, name);
        op(&p, PROG_ADD, h, z, b);
        if (i + 1 == n)
            break;
        snprintf(name, sizeof name, "h%d", i);
        int r = temp(&p, name);
        op(&p, PROG_RELU, r, h, -1);
        h = r;
    }
    op(&p, PROG_ARGMAX, temp(&p, "y"), h, -1);
    return p;
}

START_TEST(securenn_bytes_network_a)
{
    prog_t p = dense_net((size_t[]){784, 128, 128, 10}, 3);
    /* matmuls 1,619,200 + 265,216 + 22,608, relus 2 x 90,112, argmax
     * 6,696; the bias adds are local (DESIGN.md section 11: 2.10 MB) */
    ck_assert_double_eq(securenn_bytes(&p, 1, 13), 2093944);
    /* at batch 128: the 128x784x128 product alone is 3,342,336 bytes and
     * each relu layer 11,534,336 (section 11's per-protocol figures) */
    ck_assert_double_eq(securenn_bytes(&p, 128, 13),
                        3342336 + 2 * 11534336 + 655360 + 292864 + 128 * 9 * 744);
    /* no division: frac_bits does not matter */
    ck_assert_double_eq(securenn_bytes(&p, 1, 20), 2093944);
    prog_clear(&p);
}
END_TEST

START_TEST(securenn_bytes_lenet)
{
    prog_t p = prog_new();
    int x = batch(&p, "x", 4, (size_t[]){16, 1, 28, 28});
    int c1 = input(&p, "c1", 4, (size_t[]){20, 1, 5, 5});
    int c2 = input(&p, "c2", 4, (size_t[]){50, 20, 5, 5});
    int w3 = input(&p, "w3", 2, (size_t[]){800, 500}), w4 = input(&p, "w4", 2, (size_t[]){500, 10});
    int h = x;
    int filters[2] = {c1, c2};
    for (int i = 0; i < 2; i++) {
        int cv = temp(&p, i ? "conv2" : "conv1");
        set_conv(op(&p, PROG_CONV2D, cv, h, filters[i]), 1, 0); /* valid: no padding */
        int mp = temp(&p, i ? "pool2" : "pool1");
        set_pool(op(&p, PROG_MAXPOOL, mp, cv, -1), 2, 2);
        h = temp(&p, i ? "relu2" : "relu1");
        op(&p, PROG_RELU, h, mp, -1);
    }
    int flat = temp(&p, "flat");
    op(&p, PROG_RESHAPE, flat, h, -1)->ndim = 2; /* {0, 0}: flatten */
    int z3 = temp(&p, "z3"), r3 = temp(&p, "r3"), z4 = temp(&p, "z4");
    op(&p, PROG_MATMUL, z3, flat, w3);
    op(&p, PROG_RELU, r3, z3, -1);
    op(&p, PROG_MATMUL, z4, r3, w4);
    op(&p, PROG_ARGMAX, temp(&p, "y"), z4, -1);
    /* conv1 [576,25]x[25,20] 330,560; pool1 2,880 windows 6,428,160; relu1
     * 2,027,520; conv2 [64,500]x[500,50] 937,600; pool2 800 windows
     * 1,785,600; relu2 563,200; 800x500 6,416,800; relu 352,000; 500x10
     * 88,080; argmax 6,696 (section 11: 18.9 MB) */
    ck_assert_double_eq(securenn_bytes(&p, 1, 13), 18936216);
    prog_clear(&p);
}
END_TEST

START_TEST(securenn_bytes_per_op)
{
    prog_t p = prog_new();
    int a = input(&p, "a", 2, (size_t[]){2, 3}), b = input(&p, "b", 2, (size_t[]){2, 3});
    int x = input(&p, "x", 2, (size_t[]){4, 3}), d = input(&p, "d", 2, (size_t[]){4, 2});
    int x4 = input(&p, "x4", 4, (size_t[]){1, 1, 4, 4}),
        g = input(&p, "g", 4, (size_t[]){1, 1, 2, 2});
    int r = temp(&p, "r");
    struct {
        prog_opcode_t code;
        int a, b;
        int64_t i0, i1;
        double bytes; /* at frac_bits 13 */
    } cases[] = {
        {PROG_RELU, a, -1, 0, 0, 6 * 704},
        {PROG_DRELU, a, -1, 0, 0, 0},       /* after relu(a) */
        {PROG_DRELU, r, -1, 0, 0, 6 * 664}, /* r: the relu's result, not its operand */
        {PROG_DIV, a, b, 0, 0, 6 * 704 * 13},
        {PROG_DIV, a, b, 4, 0, 6 * 704 * 17},
        {PROG_GT, a, b, 0, 0, 6 * 664},
        {PROG_MUL, a, b, 0, 0, 6 * 40},
        {PROG_SIGMOID, a, -1, 0, 0, 6 * 1408},
        {PROG_SIGMOID, a, -1, 1, 0, 6 * 8 * 704},                       /* fine: a ReLU per knot */
        {PROG_MATMUL, x, d, 1, 0, 8 * (2 * 3 * 4 + 2 * 4 * 2 + 3 * 2)}, /* x^T d */
        {PROG_MATMUL, a, x, 0, 1, 8 * (2 * 2 * 3 + 2 * 3 * 4 + 2 * 4)}, /* a x^T */
        {PROG_MAXPOOL, x4, -1, 2, 2, 4 * 3 * 744},
        {PROG_MAXPOOL, x4, -1, 3, 1, 4 * 8 * 744},
        {PROG_MAXPOOL, x4, -1, 3, 3, 1 * 8 * 744},
        {PROG_MAXPOOL_GRAD, g, x4, 2, 2, 16 * 40},
        {PROG_ARGMAX, x, -1, 0, 0, 4 * 2 * 744},
        {PROG_ADD, a, b, 0, 0, 0},
        {PROG_SUB, a, b, 0, 0, 0},
        {PROG_SCALE, a, -1, 0, 0, 0},
        {PROG_SUM, a, -1, 0, 0, 0},
        {PROG_AVGPOOL, x4, -1, 2, 2, 0},
        {PROG_TRANSPOSE, a, -1, 0, 0, 0},
        {PROG_SGD, a, b, 0, 0, 0},
    };
    op(&p, cases[0].code, r, cases[0].a, cases[0].b);
    double total = cases[0].bytes;
    for (size_t i = 1; i < sizeof cases / sizeof cases[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%zu", i);
        prog_op_t *o = op(&p, cases[i].code, temp(&p, name), cases[i].a, cases[i].b);
        if (cases[i].code >= PROG_MAXPOOL && cases[i].code <= PROG_AVGPOOL) {
            set_pool(o, cases[i].i0, cases[i].i1);
        } else {
            o->iattr[0] = cases[i].i0;
            o->iattr[1] = cases[i].i1;
        }
        o->fattr = 0.5;
        total += cases[i].bytes;
        ck_assert_msg(securenn_bytes(&p, 0, 13) == total, "%s: %.0f, want %.0f more",
                      prog_opcode_name(cases[i].code), securenn_bytes(&p, 0, 13), cases[i].bytes);
    }
    /* int_bits + frac_bits quotient bits: 13 + 17 at 13, 20 + 24 at 20 */
    ck_assert_double_eq(securenn_bytes(&p, 0, 20) - total, 6 * 704 * 14);
    /* a padded 2x3 window, strides 1 and 3 over [1,1,4,4]: (5 - 2) / 1 + 1
     * = 4 rows, (6 - 3) / 3 + 1 = 2 columns, 5 comparisons each; a
     * transpose with a permutation is local */
    prog_op_t *o = op(&p, PROG_MAXPOOL, temp(&p, "mpad"), x4, -1);
    set_pool(o, 2, 1);
    o->iattr[PROG_POOL_KW] = 3, o->iattr[PROG_POOL_SW] = 3;
    o->iattr[PROG_POOL_PT] = o->iattr[PROG_POOL_PL] = o->iattr[PROG_POOL_PR] = 1;
    o = op(&p, PROG_TRANSPOSE, temp(&p, "perm"), x4, -1);
    o->ndim = 4;
    memcpy(o->shape, (size_t[]){3, 1, 0, 2}, sizeof o->shape);
    ck_assert_double_eq(securenn_bytes(&p, 0, 13) - total, 4 * 2 * 5 * 744);
    prog_clear(&p);
}
END_TEST

Suite *prog_suite(void)
{
    Suite *s = suite_create("prog");
    TCase *tc = tcase_create("check");
    tcase_add_test(tc, opcode_names);
    tcase_add_test(tc, check_shapes_and_batched);
    tcase_add_test(tc, check_messages);
    tcase_add_test(tc, check_structure_errors);
    tcase_add_test(tc, check_attribute_errors);
    tcase_add_test(tc, check_shape_errors);
    tcase_add_test(tc, job_memory_estimates);
    tcase_add_test(tc, conv_grad_shapes);
    tcase_add_test(tc, reuse_relu_bits_and_maxpool_argmax);
    suite_add_tcase(s, tc);
    tc = tcase_create("cost");
    tcase_add_test(tc, securenn_bytes_network_a);
    tcase_add_test(tc, securenn_bytes_lenet);
    tcase_add_test(tc, securenn_bytes_per_op);
    suite_add_tcase(s, tc);
    tc = tcase_create("plain");
    tcase_add_test(tc, plain_mlp_forward);
    tcase_add_test(tc, plain_elementwise_and_argmax);
    tcase_add_test(tc, plain_div_gt);
    tcase_add_test(tc, plain_conv2d_stride_pad);
    tcase_add_test(tc, plain_pooling_ties_overlap);
    tcase_add_test(tc, plain_pooling_padding_and_rectangles);
    tcase_add_test(tc, plain_transpose_permutations);
    tcase_add_test(tc, plain_sigmoid_fine_within_bound);
    tcase_add_test(tc, plain_batches_and_epochs);
    tcase_add_test(tc, plain_reshape_batch_extent);
    tcase_add_test(tc, plain_logistic_regression);
    tcase_add_test(tc, plain_bad_jobs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(prog_suite());
}
