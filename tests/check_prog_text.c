/* check_prog_text.c — the program text compiler (daemon/models/prog_text.c) and
 * the program msgpack codec (daemon/wire/prog_wire.c): exact ops for small
 * programs, every error with its FILE:LINE:COL message, mutated text and
 * hostile msgpack rejected with a reason, never a crash or a leak. */
#include "check_util.h"

#include "daemon/models/prog_text.h"
#include "daemon/wire/prog_wire.h"

#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *net_a = "# Network A, inference\n"
                           "batch x\n"
                           "input w1 b1 w2 b2 w3 b3\n"
                           "h1 = relu(matmul(x, w1) + b1)\n"
                           "h2 = relu(matmul(h1, w2) + b2)\n"
                           "output y = matmul(h2, w3) + b3 # define and mark\n"
                           "output h2\n";

static const char *train = "batch x y\n"
                           "input w1 b1 w2 b2\n"
                           "h1 = relu(matmul(x, w1) + b1)\n"
                           "p = matmul(h1, w2) + b2\n"
                           "d2 = p - y\n"
                           "dw2 = matmul(t(h1), d2)\n"
                           "d1 = matmul(d2, t(w2)) * drelu(h1)\n"
                           "dw1 = matmul(t(x), d1)\n"
                           "w2 = sgd(w2, dw2, 2^-7)\n"
                           "b2 = sgd(b2, sum(d2), 2^-7)\n"
                           "w1 = sgd(w1, dw1, lr=2^-7)\n"
                           "b1 = sgd(b1, sum(d1), 2^-7)\n"
                           "output w1 b1 w2 b2\n";

static const char *conv = "batch x\r\n"
                          "input k1 w\r\n"
                          "c = relu(conv2d(x, k1, stride=1, pad=1))\r\n"
                          "p = maxpool(c, 2)\r\n"
                          "q = avgpool(c, k=2, stride=1)\r\n"
                          "g = maxpool_grad(p, c, 2, stride=2)\r\n"
                          "gx = conv2d_grad_input(c, k1, 4, stride=1, pad=1)\r\n"
                          "gk = conv2d_grad_weights(c, x, k=3, pad=1)\r\n"
                          "r = reshape(p, [0, 2 * 2 * 2])\r\n"
                          "output y = argmax(sigmoid(matmul(r, w)))\r\n";

static const char *divgt = "input a b\n"
                           "q = div(a, b)\n"
                           "q4 = div(a, b, 4)\n"
                           "q7 = div(a, b, int_bits=7)\n"
                           "output g = gt(a, div(b, a, int_bits=0))\n";

static prog_t compile_ok(const char *text)
{
    prog_t p;
    trine_err_t err = {0};
    trine_status_t st = prog_text_compile(&p, text, strlen(text), "t.prog", &err);
    ck_assert_msg(st == TRINE_OK, "%s", err.msg);
    return p;
}

/* Compiles text from an exactly sized copy (valgrind sees overreads) and
 * expects the message "t.prog:" want. */
static void compile_err(const char *text, trine_status_t code, const char *want)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    prog_t p;
    trine_err_t err = {0};
    ck_assert_msg(prog_text_compile(&p, copy, len, "t.prog", &err) == code, "%s: %s", text,
                  err.msg);
    char full[TRINE_ERR_MSG_MAX];
    snprintf(full, sizeof full, "t.prog:%s", want);
    ck_assert_str_eq(err.msg, full);
    ck_assert_ptr_null(p.vars);
    ck_assert_ptr_null(p.ops);
    free(copy);
}

static int var_of(const prog_t *p, const char *name)
{
    for (size_t i = 0; i < p->nvars; i++)
        if (!strcmp(p->vars[i].name, name))
            return (int)i;
    ck_abort_msg("no variable %s", name);
    return -1;
}

/* The op writing variable name (the last one). */
static const prog_op_t *op_writing(const prog_t *p, const char *name)
{
    int v = var_of(p, name);
    for (size_t i = p->nops; i-- > 0;)
        if (p->ops[i].out == v)
            return &p->ops[i];
    ck_abort_msg("no op writes %s", name);
    return NULL;
}

static void set_shape(prog_t *p, const char *name, int ndim, size_t d0, size_t d1, size_t d2,
                      size_t d3)
{
    size_t shape[] = {d0, d1, d2, d3};
    trine_err_t err;
    ck_assert_msg(prog_text_set_shape(p, name, ndim, shape, &err) == TRINE_OK, "%s", err.msg);
}

static void check_passes(const prog_t *p, size_t rows, prog_shapes_t *s)
{
    trine_err_t err;
    ck_assert_msg(prog_check(p, rows, s, &err) == TRINE_OK, "%s", err.msg);
}

static void expect_op(const prog_op_t *op, prog_opcode_t code, int out, int in0, int in1,
                      uint32_t line, uint32_t col)
{
    ck_assert_str_eq(prog_opcode_name(op->code), prog_opcode_name(code));
    ck_assert_int_eq(op->out, out);
    ck_assert_int_eq(op->in[0], in0);
    ck_assert_int_eq(op->in[1], in1);
    ck_assert_uint_eq(op->line, line);
    ck_assert_uint_eq(op->col, col);
}

/* ---- compiling -------------------------------------------------------- */

START_TEST(text_exact_ops)
{
    prog_t p = compile_ok("batch x\n"
                          "input w b\n"
                          "h = relu(matmul(x, t(w)) + b)\n"
                          "s = -(h * 2^-3)\n"
                          "u = -2 * h\n"
                          "output h\n");
    ck_assert_uint_eq(p.nvars, 9);
    const char *names[] = {"x", "w", "b", "_1", "_2", "h", "_3", "s", "u"};
    const prog_var_kind_t kinds[] = {PROG_VAR_BATCH, PROG_VAR_INPUT, PROG_VAR_INPUT,
                                     PROG_VAR_TEMP,  PROG_VAR_TEMP,  PROG_VAR_TEMP,
                                     PROG_VAR_TEMP,  PROG_VAR_TEMP,  PROG_VAR_TEMP};
    for (int i = 0; i < 9; i++) {
        ck_assert_str_eq(p.vars[i].name, names[i]);
        ck_assert_int_eq(p.vars[i].kind, kinds[i]);
        ck_assert_int_eq(p.vars[i].output, i == 5);
        ck_assert_int_eq(p.vars[i].ndim, 0);
    }
    ck_assert_uint_eq(p.nops, 6);
    expect_op(&p.ops[0], PROG_MATMUL, 3, 0, 1, 3, 10);
    ck_assert_int_eq(p.ops[0].iattr[0], 0);
    ck_assert_int_eq(p.ops[0].iattr[1], 1); /* t(w) folded */
    expect_op(&p.ops[1], PROG_ADD, 4, 3, 2, 3, 26);
    expect_op(&p.ops[2], PROG_RELU, 5, 4, -1, 3, 5);
    /* -(h * 2^-3): the scale, then the negation written straight to s */
    expect_op(&p.ops[3], PROG_SCALE, 6, 5, -1, 4, 9);
    ck_assert(p.ops[3].fattr == 0.125);
    expect_op(&p.ops[4], PROG_SCALE, 7, 6, -1, 4, 5);
    ck_assert(p.ops[4].fattr == -1);
    /* -2 * h is one scale by -2 */
    expect_op(&p.ops[5], PROG_SCALE, 8, 5, -1, 5, 8);
    ck_assert(p.ops[5].fattr == -2);
    for (size_t i = 0; i < p.nops; i++) {
        ck_assert_int_eq(p.ops[i].ndim, 0);
        if (p.ops[i].code != PROG_MATMUL) {
            ck_assert_int_eq(p.ops[i].iattr[0], 0);
            ck_assert_int_eq(p.ops[i].iattr[1], 0);
        }
        if (p.ops[i].code != PROG_SCALE)
            ck_assert(p.ops[i].fattr == 0);
    }
    prog_clear(&p);
    prog_clear(&p); /* cleared twice is fine */
}
END_TEST

START_TEST(text_numbers_fold)
{
    prog_t p = compile_ok("input a\n"
                          "b = a * (1 + 2) * 1.5e1 * .5\n"
                          "c = 2^10 * a\n"
                          "d = scale(a, factor=3 - 4)\n");
    ck_assert_uint_eq(p.nops, 5); /* left to right: ((a * 3) * 15) * 0.5 */
    ck_assert(p.ops[0].fattr == 3);
    ck_assert(p.ops[1].fattr == 15);
    ck_assert(p.ops[2].fattr == 0.5);
    ck_assert_int_eq(p.ops[2].out, var_of(&p, "b"));
    ck_assert(p.ops[3].fattr == 1024);
    ck_assert(op_writing(&p, "d")->fattr == -1);
    prog_clear(&p);
}
END_TEST

START_TEST(text_network_a)
{
    prog_t p = compile_ok(net_a);
    ck_assert_uint_eq(p.nops, 8);
    ck_assert(p.vars[var_of(&p, "y")].output);
    ck_assert(p.vars[var_of(&p, "h2")].output);
    ck_assert(!p.vars[var_of(&p, "h1")].output);
    /* the inputs, in order of declaration, are what the caller must shape */
    const char *inputs[] = {"x", "w1", "b1", "w2", "b2", "w3", "b3"};
    size_t n = 0;
    for (size_t i = 0; i < p.nvars; i++)
        if (p.vars[i].kind != PROG_VAR_TEMP)
            ck_assert_str_eq(p.vars[i].name, inputs[n++]);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(p.vars[0].kind, PROG_VAR_BATCH);
    set_shape(&p, "x", 2, 100, 784, 0, 0);
    set_shape(&p, "w1", 2, 784, 128, 0, 0);
    set_shape(&p, "b1", 1, 128, 0, 0, 0);
    set_shape(&p, "w2", 2, 128, 128, 0, 0);
    set_shape(&p, "b2", 1, 128, 0, 0, 0);
    set_shape(&p, "w3", 2, 128, 10, 0, 0);
    set_shape(&p, "b3", 1, 10, 0, 0, 0);
    prog_shapes_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    check_passes(&p, 32, s);
    int y = var_of(&p, "y");
    ck_assert_int_eq(s->ndim[y], 2);
    ck_assert_uint_eq(s->shape[y][0], 32);
    ck_assert_uint_eq(s->shape[y][1], 10);
    free(s);
    prog_clear(&p);
}
END_TEST

START_TEST(text_training_step)
{
    prog_t p = compile_ok(train);
    for (size_t i = 0; i < p.nops; i++)
        ck_assert_int_ne(p.ops[i].code, PROG_TRANSPOSE); /* every t() folded */
    const prog_op_t *dw2 = op_writing(&p, "dw2");
    ck_assert_int_eq(dw2->code, PROG_MATMUL);
    ck_assert_int_eq(dw2->in[0], var_of(&p, "h1"));
    ck_assert_int_eq(dw2->iattr[0], 1);
    ck_assert_int_eq(dw2->iattr[1], 0);
    /* d1 = matmul(d2, t(w2)) * drelu(h1): mul reads the matmul's temp */
    const prog_op_t *d1 = op_writing(&p, "d1");
    ck_assert_int_eq(d1->code, PROG_MUL);
    ck_assert_uint_eq(d1->line, 7);
    ck_assert_uint_eq(d1->col, 24);
    const prog_op_t *d1mm = op_writing(&p, p.vars[d1->in[0]].name);
    ck_assert_int_eq(d1mm->code, PROG_MATMUL);
    ck_assert_int_eq(d1mm->iattr[0], 0);
    ck_assert_int_eq(d1mm->iattr[1], 1);
    ck_assert_int_eq(d1mm->in[1], var_of(&p, "w2"));
    const char *params[] = {"w1", "b1", "w2", "b2"};
    for (int i = 0; i < 4; i++) {
        const prog_op_t *sgd = op_writing(&p, params[i]);
        ck_assert_int_eq(sgd->code, PROG_SGD);
        ck_assert_int_eq(sgd->in[0], sgd->out); /* an update of the input */
        ck_assert(sgd->fattr == 0x1p-7);
        ck_assert(p.vars[sgd->out].output);
        ck_assert_int_eq(p.vars[sgd->out].kind, PROG_VAR_INPUT);
    }
    const prog_op_t *db2 = op_writing(&p, p.vars[op_writing(&p, "b2")->in[1]].name);
    ck_assert_int_eq(db2->code, PROG_SUM);
    ck_assert_int_eq(db2->in[0], var_of(&p, "d2"));
    set_shape(&p, "x", 2, 60, 4, 0, 0);
    set_shape(&p, "y", 2, 60, 3, 0, 0);
    set_shape(&p, "w1", 2, 4, 5, 0, 0);
    set_shape(&p, "b1", 1, 5, 0, 0, 0);
    set_shape(&p, "w2", 2, 5, 3, 0, 0);
    set_shape(&p, "b2", 1, 3, 0, 0, 0);
    check_passes(&p, 20, NULL);
    prog_clear(&p);
}
END_TEST

START_TEST(text_conv_pool)
{
    prog_t p = compile_ok(conv);
    const prog_op_t *op = &p.ops[0];
    ck_assert_int_eq(op->code, PROG_CONV2D);
    ck_assert_int_eq(op->iattr[0], 1);
    ck_assert_int_eq(op->iattr[1], 1);
    op = op_writing(&p, "p");
    ck_assert_int_eq(op->code, PROG_MAXPOOL);
    ck_assert_int_eq(op->iattr[0], 2);
    ck_assert_int_eq(op->iattr[1], 2); /* stride defaults to k */
    op = op_writing(&p, "q");
    ck_assert_int_eq(op->code, PROG_AVGPOOL);
    ck_assert_int_eq(op->iattr[0], 2);
    ck_assert_int_eq(op->iattr[1], 1);
    op = op_writing(&p, "g");
    ck_assert_int_eq(op->code, PROG_MAXPOOL_GRAD);
    ck_assert_int_eq(op->in[1], var_of(&p, "c"));
    ck_assert_int_eq(op->iattr[0], 2);
    ck_assert_int_eq(op->iattr[1], 2);
    op = op_writing(&p, "gx");
    ck_assert_int_eq(op->code, PROG_CONV2D_GRAD_INPUT);
    ck_assert_int_eq(op->iattr[PROG_CONV_RH], 4);
    ck_assert_int_eq(op->iattr[PROG_CONV_RW], 4);
    ck_assert_int_eq(op->iattr[PROG_CONV_PR], 1);
    op = op_writing(&p, "gk");
    ck_assert_int_eq(op->code, PROG_CONV2D_GRAD_WEIGHTS);
    ck_assert_int_eq(op->in[1], var_of(&p, "x"));
    ck_assert_int_eq(op->iattr[PROG_CONV_RW], 3);
    ck_assert_int_eq(op->iattr[PROG_CONV_SW], 1);
    op = op_writing(&p, "r");
    ck_assert_int_eq(op->code, PROG_RESHAPE);
    ck_assert_int_eq(op->ndim, 2);
    ck_assert_uint_eq(op->shape[0], 0);
    ck_assert_uint_eq(op->shape[1], 8);
    ck_assert_int_eq(op_writing(&p, "y")->code, PROG_ARGMAX);
    ck_assert_uint_eq(op_writing(&p, "y")->line, 10);
    set_shape(&p, "x", 4, 10, 1, 4, 4);
    set_shape(&p, "k1", 4, 2, 1, 3, 3);
    set_shape(&p, "w", 2, 8, 3, 0, 0);
    check_passes(&p, 5, NULL);
    prog_clear(&p);

    /* flatten: PROG_RESHAPE with ndim 2 and shape {0, 0} */
    p = compile_ok("batch x\nf = flatten(x)\ng = t(x)\nh = transpose(t(t(x)))\n");
    ck_assert_uint_eq(p.nops, 3);
    expect_op(&p.ops[0], PROG_RESHAPE, 1, 0, -1, 2, 5);
    ck_assert_int_eq(p.ops[0].ndim, 2);
    ck_assert_uint_eq(p.ops[0].shape[0], 0);
    ck_assert_uint_eq(p.ops[0].shape[1], 0);
    expect_op(&p.ops[1], PROG_TRANSPOSE, 2, 0, -1, 3, 5);
    expect_op(&p.ops[2], PROG_TRANSPOSE, 3, 0, -1, 4, 5);
    prog_clear(&p);

    /* prog_check reads {0, 0} as flatten */
    p = compile_ok("batch x\ninput w\noutput y = matmul(flatten(maxpool(x, 2)), w)\n");
    set_shape(&p, "x", 4, 10, 3, 4, 4);
    set_shape(&p, "w", 2, 12, 5, 0, 0);
    prog_shapes_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    check_passes(&p, 6, s);
    int f = var_of(&p, "_2"); /* flatten(_1), _1 = maxpool(x, 2) */
    ck_assert_int_eq(p.ops[1].code, PROG_RESHAPE);
    ck_assert_int_eq(p.ops[1].out, f);
    ck_assert_int_eq(s->ndim[f], 2);
    ck_assert_uint_eq(s->shape[f][0], 6);
    ck_assert_uint_eq(s->shape[f][1], 12);
    free(s);
    prog_clear(&p);
}
END_TEST

/* op's iattr are the n values want, the rest 0 */
static void expect_iattr(const prog_op_t *op, const int64_t *want, int n)
{
    for (int k = 0; k < PROG_IATTR_MAX; k++)
        ck_assert_msg(op->iattr[k] == (k < n ? want[k] : 0), "iattr[%d] = %lld, want %lld", k,
                      (long long)op->iattr[k], (long long)(k < n ? want[k] : 0));
}

START_TEST(text_geometry_fills_every_slot)
{
    prog_t p = compile_ok(conv);
    /* conv2d: {sh, pt, sw, pl, pb, pr}; pools: {kh, sh, kw, sw, pads, count} */
    expect_iattr(&p.ops[0], (int64_t[]){1, 1, 1, 1, 1, 1}, 6);
    expect_iattr(op_writing(&p, "p"), (int64_t[]){2, 2, 2, 2}, 4);
    expect_iattr(op_writing(&p, "q"), (int64_t[]){2, 1, 2, 1}, 4);
    expect_iattr(op_writing(&p, "g"), (int64_t[]){2, 2, 2, 2}, 4);
    prog_clear(&p);

    p = compile_ok("batch x\ninput w\n"
                   "a = conv2d(x, w)\n"
                   "b = conv2d(x, w, 3, 2)\n"
                   "c = maxpool(x, 3, pad=1)\n"
                   "d = avgpool(x, 3, 2, 1, count_include_pad=1)\n"
                   "e = avgpool(x, k=2, pad=1)\n"
                   "f = sigmoid(x)\n"
                   "g = sigmoid(x, fine=1)\n"
                   "h = sigmoid(x, 1)\n");
    expect_iattr(op_writing(&p, "a"), (int64_t[]){1, 0, 1}, 3);
    expect_iattr(op_writing(&p, "b"), (int64_t[]){3, 2, 3, 2, 2, 2}, 6);
    expect_iattr(op_writing(&p, "c"), (int64_t[]){3, 3, 3, 3, 1, 1, 1, 1}, 8);
    expect_iattr(op_writing(&p, "d"), (int64_t[]){3, 2, 3, 2, 1, 1, 1, 1, 1}, 9);
    expect_iattr(op_writing(&p, "e"), (int64_t[]){2, 2, 2, 2, 1, 1, 1, 1, 0}, 9);
    expect_iattr(op_writing(&p, "f"), NULL, 0);
    expect_iattr(op_writing(&p, "g"), (int64_t[]){1}, 1);
    expect_iattr(op_writing(&p, "h"), (int64_t[]){1}, 1);
    set_shape(&p, "x", 4, 2, 3, 8, 8);
    set_shape(&p, "w", 4, 4, 3, 3, 3);
    prog_shapes_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    check_passes(&p, 2, s);
    const size_t want[][4] = {{2, 4, 6, 6}, {2, 4, 4, 4}, {2, 3, 3, 3}, {2, 3, 4, 4}, {2, 3, 5, 5}};
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        for (int d = 0; d < 4; d++)
            ck_assert_uint_eq(s->shape[var_of(&p, names[i])][d], want[i][d]);
    free(s);
    prog_clear(&p);

    /* prog_check judges what the text cannot: a pad reaching the window,
     * count_include_pad and fine past 1, a stride of 0 */
    const char *bad[][2] = {
        {"y = maxpool(x, 2, pad=2)\n", "line 2 col 5: maxpool: pads must be below the 2x2 window"},
        {"y = avgpool(x, 2, count_include_pad=2)\n",
         "line 2 col 5: avgpool: count_include_pad must be 0 or 1, got 2"},
        {"y = sigmoid(x, fine=2)\n", "line 2 col 5: sigmoid: fine must be 0"},
        {"y = conv2d(x, x, stride=0)\n", "line 2 col 5: conv2d: strides must be 1 to"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[160];
        snprintf(text, sizeof text, "input x\n%s", bad[i][0]);
        p = compile_ok(text);
        set_shape(&p, "x", 4, 1, 1, 4, 4);
        trine_err_t err;
        ck_assert_int_eq(prog_check(&p, 1, NULL, &err), TRINE_EFORMAT);
        ck_assert_msg(!strncmp(err.msg, bad[i][1], strlen(bad[i][1])), "%s", err.msg);
        prog_clear(&p);
    }
}
END_TEST

START_TEST(text_transpose_perm)
{
    prog_t p = compile_ok("batch x\ninput m\n"
                          "a = transpose(x, perm=[0, 2, 3, 1])\n"
                          "b = transpose(t(m), [1, 0])\n"
                          "c = matmul(transpose(m, [1, 0]), m)\n"
                          "output d = relu(transpose(x, [0, 1, 2, 3]))\n");
    ck_assert_uint_eq(p.nops, 7);
    const prog_op_t *a = op_writing(&p, "a");
    expect_op(a, PROG_TRANSPOSE, var_of(&p, "a"), 0, -1, 3, 5);
    ck_assert_int_eq(a->ndim, 4);
    const size_t pa[] = {0, 2, 3, 1};
    for (int d = 0; d < 4; d++)
        ck_assert_uint_eq(a->shape[d], pa[d]);
    expect_iattr(a, NULL, 0);
    /* t(m) is emitted first: a permutation never folds into anything */
    expect_op(&p.ops[1], PROG_TRANSPOSE, var_of(&p, "_1"), 1, -1, 4, 15);
    ck_assert_int_eq(p.ops[1].ndim, 0);
    expect_op(&p.ops[2], PROG_TRANSPOSE, var_of(&p, "b"), var_of(&p, "_1"), -1, 4, 5);
    ck_assert_int_eq(p.ops[2].ndim, 2);
    ck_assert(p.ops[2].shape[0] == 1 && p.ops[2].shape[1] == 0);
    expect_op(&p.ops[3], PROG_TRANSPOSE, var_of(&p, "_2"), 1, -1, 5, 12);
    expect_op(&p.ops[4], PROG_MATMUL, var_of(&p, "c"), var_of(&p, "_2"), 1, 5, 5);
    expect_iattr(&p.ops[4], NULL, 0);
    set_shape(&p, "x", 4, 6, 2, 3, 4);
    set_shape(&p, "m", 2, 2, 5, 0, 0);
    prog_shapes_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    check_passes(&p, 3, s);
    const size_t sa[] = {3, 3, 4, 2};
    for (int d = 0; d < 4; d++)
        ck_assert_uint_eq(s->shape[var_of(&p, "a")][d], sa[d]);
    ck_assert(s->ndim[var_of(&p, "c")] == 2 && s->shape[var_of(&p, "c")][0] == 5);
    free(s);
    prog_clear(&p);

    p = compile_ok("input x\ny = transpose(x, [0, 0, 1])\n");
    set_shape(&p, "x", 3, 2, 2, 2, 0);
    trine_err_t err;
    ck_assert_int_eq(prog_check(&p, 1, NULL, &err), TRINE_EFORMAT);
    ck_assert_str_eq(err.msg,
                     "line 2 col 5: transpose: [0,0,1] is not a permutation of the axes 0 to 2");
    set_shape(&p, "x", 2, 2, 2, 0, 0);
    prog_clear(&p);
    p = compile_ok("input x\ny = transpose(x, [1, 0, 2])\n");
    set_shape(&p, "x", 2, 2, 2, 0, 0);
    ck_assert_int_eq(prog_check(&p, 1, NULL, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg,
                     "line 2 col 5: transpose: the permutation [1,0,2] has 3 axes, x [2,2] has 2");
    prog_clear(&p);
}
END_TEST

START_TEST(text_div_gt)
{
    prog_t p = compile_ok(divgt);
    ck_assert_uint_eq(p.nops, 5);
    const int a = 0, b = 1;
    expect_op(&p.ops[0], PROG_DIV, var_of(&p, "q"), a, b, 2, 5);
    expect_op(&p.ops[1], PROG_DIV, var_of(&p, "q4"), a, b, 3, 6);
    expect_op(&p.ops[2], PROG_DIV, var_of(&p, "q7"), a, b, 4, 6);
    expect_op(&p.ops[3], PROG_DIV, var_of(&p, "_1"), b, a, 5, 18);
    expect_op(&p.ops[4], PROG_GT, var_of(&p, "g"), a, var_of(&p, "_1"), 5, 12);
    const int64_t int_bits[] = {0, 4, 7, 0, 0};
    for (size_t i = 0; i < p.nops; i++) {
        ck_assert_int_eq(p.ops[i].iattr[0], int_bits[i]);
        ck_assert_int_eq(p.ops[i].iattr[1], 0);
        ck_assert(p.ops[i].fattr == 0);
    }
    ck_assert(p.vars[var_of(&p, "g")].output);
    set_shape(&p, "a", 2, 3, 4, 0, 0);
    set_shape(&p, "b", 2, 3, 4, 0, 0);
    check_passes(&p, 1, NULL);
    set_shape(&p, "b", 2, 4, 3, 0, 0);
    trine_err_t err;
    ck_assert_int_eq(prog_check(&p, 1, NULL, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg, "line 2 col 5: div: a [3,4] and b [4,3] must have the same shape");
    prog_clear(&p);

    /* the text takes any whole int_bits; prog_check keeps it to 0 .. 30 */
    p = compile_ok("input a b\nq = div(a, b, int_bits=30)\nr = div(a, b, 31)\n");
    set_shape(&p, "a", 1, 5, 0, 0, 0);
    set_shape(&p, "b", 1, 5, 0, 0, 0);
    ck_assert_int_eq(prog_check(&p, 1, NULL, &err), TRINE_EFORMAT);
    ck_assert_str_eq(err.msg, "line 3 col 5: div: int_bits must be 0 to 30, got 31");
    prog_clear(&p);
}
END_TEST

START_TEST(text_transpose_outside_matmul)
{
    /* t() not directly under matmul becomes an op; t(t(a)) cancels */
    prog_t p = compile_ok("input a b\n"
                          "c = t(a) + b\n"
                          "d = matmul(t(t(a)), (t(b)))\n"
                          "e = relu(t(a))\n");
    ck_assert_uint_eq(p.nops, 5);
    expect_op(&p.ops[0], PROG_TRANSPOSE, 2, 0, -1, 2, 5);
    expect_op(&p.ops[1], PROG_ADD, 3, 2, 1, 2, 10);
    expect_op(&p.ops[2], PROG_MATMUL, 4, 0, 1, 3, 5);
    ck_assert_int_eq(p.ops[2].iattr[0], 0);
    ck_assert_int_eq(p.ops[2].iattr[1], 1);
    expect_op(&p.ops[3], PROG_TRANSPOSE, 5, 0, -1, 4, 10);
    expect_op(&p.ops[4], PROG_RELU, 6, 5, -1, 4, 5);
    prog_clear(&p);
}
END_TEST

START_TEST(text_empty_and_comments)
{
    prog_t p = compile_ok("");
    ck_assert_uint_eq(p.nvars, 0);
    ck_assert_uint_eq(p.nops, 0);
    prog_clear(&p);
    p = compile_ok("# nothing\n\n   \t# more\ninput a # trailing\noutput a");
    ck_assert_uint_eq(p.nvars, 1);
    ck_assert(p.vars[0].output);
    prog_clear(&p);
    trine_err_t err;
    ck_assert_int_eq(prog_text_compile(&p, NULL, 0, NULL, &err), TRINE_OK);
    prog_clear(&p);
    ck_assert_int_eq(prog_text_compile(&p, "input 1", 7, NULL, &err), TRINE_EFORMAT);
    ck_assert_str_eq(err.msg, "program:1:7: expected a name after 'input' but found '1'");
}
END_TEST

START_TEST(text_set_shape)
{
    prog_t p = compile_ok("batch x\ninput w\nh = matmul(x, w)\n");
    trine_err_t err;
    size_t shape[] = {3, 4, 0};
    ck_assert_int_eq(prog_text_set_shape(&p, "q", 2, shape, &err), TRINE_ENOENT);
    ck_assert_str_eq(err.msg, "the program has no input 'q'");
    ck_assert_int_eq(prog_text_set_shape(&p, "h", 2, shape, &err), TRINE_EINVAL);
    ck_assert_str_eq(err.msg, "'h' is computed by the program, not an input");
    ck_assert_int_eq(prog_text_set_shape(&p, "w", 0, shape, &err), TRINE_ESHAPE);
    ck_assert_int_eq(prog_text_set_shape(&p, "w", 5, shape, &err), TRINE_ESHAPE);
    ck_assert_int_eq(prog_text_set_shape(&p, "w", 3, shape, &err), TRINE_ESHAPE);
    ck_assert_str_eq(err.msg, "input 'w' has a zero extent");
    ck_assert_int_eq(prog_text_set_shape(&p, "w", 2, shape, &err), TRINE_OK);
    ck_assert_int_eq(p.vars[1].ndim, 2);
    ck_assert_uint_eq(p.vars[1].shape[1], 4);
    prog_clear(&p);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

START_TEST(text_errors_names)
{
    compile_err("batch x\ninput w1\nh1 = matmul(x, w1)\nh2 = rleu(h1)\n", TRINE_EFORMAT,
                "4:6: unknown operation 'rleu'");
    compile_err("input a\nb = relu(h3)\n", TRINE_EFORMAT, "2:10: unknown tensor 'h3'");
    compile_err("batch x\nx = relu(x)\n", TRINE_EFORMAT,
                "2:1: 'x' is a batch input and cannot be assigned");
    compile_err("input a\n\nh1 = relu(a)\nh1 = relu(a)\n", TRINE_EFORMAT,
                "4:1: 'h1' is already defined at line 3");
    compile_err("input a\ninput b a\n", TRINE_EFORMAT, "2:9: 'a' is already declared at line 1");
    compile_err("input a\nh = relu(a)\nbatch h\n", TRINE_EFORMAT,
                "3:7: 'h' is already defined at line 2");
    compile_err("input a\nb = relu(_1)\n", TRINE_EFORMAT,
                "2:10: '_1': names starting with '_' are reserved for the compiler's temps");
    compile_err("input _a\n", TRINE_EFORMAT,
                "1:7: '_a': names starting with '_' are reserved for the compiler's temps");
    compile_err("input output\n", TRINE_EFORMAT,
                "1:7: 'output' is a keyword and cannot name a variable");
    compile_err("input a\nbatch = relu(a)\n", TRINE_EFORMAT,
                "2:7: expected a name after 'batch' but found '='");
    compile_err("input a\noutput b\n", TRINE_EFORMAT, "2:8: unknown tensor 'b'");
    char longname[PROG_NAME_MAX + 16];
    memset(longname, 'n', PROG_NAME_MAX);
    strcpy(longname + PROG_NAME_MAX, "\n");
    char text[4 * PROG_NAME_MAX];
    snprintf(text, sizeof text, "input %s", longname);
    compile_err(text, TRINE_EFORMAT, "1:7: name 'nnnnnnnnnnnnnnnn...' is longer than 63 bytes");
    longname[PROG_NAME_MAX - 1] = '\0'; /* 63 bytes is fine */
    snprintf(text, sizeof text, "input %s\noutput %s", longname, longname);
    prog_t p = compile_ok(text);
    ck_assert_str_eq(p.vars[0].name, longname);
    prog_clear(&p);
}
END_TEST

START_TEST(text_errors_calls)
{
    compile_err("input a b\nc = relu(a, b)\n", TRINE_EFORMAT, "2:5: relu takes 1 operand, got 2");
    compile_err("input a\nc = matmul(a)\n", TRINE_EFORMAT, "2:5: matmul takes 2 operands, got 1");
    compile_err("input a\nc = sum()\n", TRINE_EFORMAT, "2:5: sum takes 1 operand, got 0");
    compile_err("input a\nc = maxpool(a, 2, 2, 0, 1)\n", TRINE_EFORMAT,
                "2:5: maxpool takes 1 operand and at most 3 attributes (k, stride, pad), got 5 "
                "arguments");
    compile_err("input a\nc = avgpool(a, 2, 2, 0, 1, 1)\n", TRINE_EFORMAT,
                "2:5: avgpool takes 1 operand and at most 4 attributes (k, stride, pad, "
                "count_include_pad), got 6 arguments");
    compile_err("input a b\nc = maxpool_grad(a, b, 2, 2, 0)\n", TRINE_EFORMAT,
                "2:5: maxpool_grad takes 2 operands and at most 2 attributes (k, stride), got 5 "
                "arguments");
    compile_err("input a\nc = maxpool(a)\n", TRINE_EFORMAT, "2:5: maxpool needs its attribute 'k'");
    compile_err("input a\nc = maxpool(a, kk=2)\n", TRINE_EFORMAT,
                "2:16: maxpool has no attribute 'kk' (it takes k, stride, pad)");
    compile_err("input a\nc = sigmoid(a, smooth=1)\n", TRINE_EFORMAT,
                "2:16: sigmoid has no attribute 'smooth' (it takes fine)");
    compile_err("input a\nc = sigmoid(a, fine=0.5)\n", TRINE_EFORMAT,
                "2:21: 'fine' of sigmoid must be a whole number from 0 to 2147483647");
    compile_err("input a\nc = sigmoid(a, 1, 1)\n", TRINE_EFORMAT,
                "2:5: sigmoid takes 1 operand and at most 1 attribute (fine), got 3 arguments");
    compile_err("input a\nc = transpose(a, 2)\n", TRINE_EFORMAT,
                "2:18: 'perm' of transpose must be a list like [0, 2, 1], not a number");
    compile_err("input a\nc = transpose(a, perm=a)\n", TRINE_EFORMAT,
                "2:23: 'perm' of transpose must be a list like [0, 2, 1], not a tensor");
    compile_err("input a\nc = transpose(a, [0, 1, 2, 3, 4])\n", TRINE_EFORMAT,
                "2:31: a shape has at most 4 extents");
    compile_err("input a\nc = t(a, perm=[1, 0])\n", TRINE_EFORMAT, "2:10: t takes no attributes");
    compile_err("input a\nc = conv2d(a, a, 1, 0, 1, 2)\n", TRINE_EFORMAT,
                "2:5: conv2d takes 2 operands and at most 3 attributes (stride, pad, group), got "
                "6 arguments");
    compile_err("input a\nc = sgd(a, a, rate=2)\n", TRINE_EFORMAT,
                "2:15: sgd has no attribute 'rate' (it takes lr)");
    compile_err("input a\nc = relu(a, k=2)\n", TRINE_EFORMAT, "2:13: relu takes no attributes");
    compile_err("input a\nc = maxpool(a, 2, k=3)\n", TRINE_EFORMAT,
                "2:19: attribute 'k' of maxpool is given twice");
    compile_err("input a\nc = maxpool(a, k=2, 3)\n", TRINE_EFORMAT,
                "2:21: positional argument after a keyword argument");
    compile_err("input a\nc = matmul(a, 2)\n", TRINE_EFORMAT,
                "2:15: operand 2 of matmul must be a tensor, not a number");
    compile_err("input a\nc = relu([1])\n", TRINE_EFORMAT,
                "2:10: operand 1 of relu must be a tensor, not a list");
    compile_err("input a b\nc = conv2d(a, b, stride=1.5)\n", TRINE_EFORMAT,
                "2:25: 'stride' of conv2d must be a whole number from 0 to 2147483647");
    compile_err("input a b\nc = conv2d(a, b, 1, -1)\n", TRINE_EFORMAT,
                "2:21: 'pad' of conv2d must be a whole number from 0 to 2147483647");
    compile_err("input a\nc = maxpool(a, 2^40)\n", TRINE_EFORMAT,
                "2:16: 'k' of maxpool must be a whole number from 0 to 2147483647");
    compile_err("input a\nc = sgd(a, a, a)\n", TRINE_EFORMAT,
                "2:15: 'lr' of sgd must be a number, not a tensor");
    compile_err("input a\nc = reshape(a, 4)\n", TRINE_EFORMAT,
                "2:16: 'shape' of reshape must be a list like [0, 784], not a number");
    compile_err("input a\nc = reshape(a, [])\n", TRINE_EFORMAT,
                "2:16: a shape needs at least one extent");
    compile_err("input a\nc = reshape(a, [1, 2, 3, 4, 5])\n", TRINE_EFORMAT,
                "2:29: a shape has at most 4 extents");
    compile_err("input a\nc = reshape(a, [1, 0.5])\n", TRINE_EFORMAT,
                "2:20: an extent must be a whole number from 0 to 2147483647");
    compile_err("input a\nc = reshape(a, [0, 0])\n", TRINE_EFORMAT,
                "2:20: only the first extent may be 0 (the batch's)");
    compile_err("input a\nc = reshape(a, [1 2])\n", TRINE_EFORMAT,
                "2:19: expected ',' or ']' but found '2'");
    compile_err("input a\nc = relu(a b)\n", TRINE_EFORMAT,
                "2:12: expected ',' or ')' but found 'b'");
    compile_err("input a\nc = relu(a,a,a,a,a,a,a,a,a)\n", TRINE_EFORMAT,
                "2:26: too many arguments to relu (at most 8)");
    compile_err("input a\nc = t(a, a)\n", TRINE_EFORMAT, "2:5: t takes 1 operand, got 2");
    compile_err("input a\nc = flatten(a, [0, 1])\n", TRINE_EFORMAT,
                "2:5: flatten takes 1 operand, got 2");
    compile_err("input a b\nc = div(a, b, k=3)\n", TRINE_EFORMAT,
                "2:15: div has no attribute 'k' (it takes int_bits)");
    compile_err("input a b\nc = div(a, b, int_bits=-1)\n", TRINE_EFORMAT,
                "2:24: 'int_bits' of div must be a whole number from 0 to 2147483647");
    compile_err("input a b\nc = div(a, b, 1.5)\n", TRINE_EFORMAT,
                "2:15: 'int_bits' of div must be a whole number from 0 to 2147483647");
    compile_err("input a b\nc = div(a, b, b)\n", TRINE_EFORMAT,
                "2:15: 'int_bits' of div must be a number, not a tensor");
    compile_err("input a b\nc = div(a, b, 1, 2)\n", TRINE_EFORMAT,
                "2:5: div takes 2 operands and at most 1 attribute (int_bits), got 4 arguments");
    compile_err("input a b\nc = div(a, b, 1, int_bits=2)\n", TRINE_EFORMAT,
                "2:18: attribute 'int_bits' of div is given twice");
    compile_err("input a\nc = div(a, 2)\n", TRINE_EFORMAT,
                "2:12: operand 2 of div must be a tensor, not a number");
    compile_err("input a b\nc = gt(a)\n", TRINE_EFORMAT, "2:5: gt takes 2 operands, got 1");
    compile_err("input a b\nc = gt(a, b, 1)\n", TRINE_EFORMAT, "2:5: gt takes 2 operands, got 3");
    compile_err("input a b\nc = gt(a, b, int_bits=1)\n", TRINE_EFORMAT,
                "2:14: gt takes no attributes");
}
END_TEST

START_TEST(text_errors_expressions)
{
    compile_err("input a\nc = relu(a\n", TRINE_EFORMAT,
                "2:11: expected ',' or ')' but found the end of the line");
    compile_err("input a\nc = (relu(a)", TRINE_EFORMAT,
                "2:13: expected ')' but found the end of the file");
    compile_err("input a\nc = relu(a) +\n", TRINE_EFORMAT,
                "2:14: expected a tensor, a number or '(' but found the end of the line");
    compile_err("input a\nc = relu(a) $\n", TRINE_EFORMAT, "2:13: unexpected character '$'");
    compile_err("input a\nc = relu(\xc3\xa9)\n", TRINE_EFORMAT, "2:10: unexpected byte 0xc3");
    compile_err("input a\nc = a + 1\n", TRINE_EFORMAT, "2:7: cannot add a tensor and a number");
    compile_err("input a\nc = 1 - a\n", TRINE_EFORMAT,
                "2:7: cannot subtract a tensor and a number");
    compile_err("input a\nc = relu(a) * [2]\n", TRINE_EFORMAT,
                "2:15: a list is only allowed as reshape's shape or transpose's perm");
    compile_err("input a\nc = -[2]\n", TRINE_EFORMAT,
                "2:6: a list is only allowed as reshape's shape or transpose's perm");
    compile_err("input a\nc = 2 * 3\n", TRINE_EFORMAT,
                "2:5: 'c' must be assigned a tensor, not a number");
    compile_err("input a\nc = a\n", TRINE_EFORMAT,
                "2:5: 'c = a' would only copy a tensor: an assignment needs an operation");
    compile_err("input a\nh = relu(a)\nc = (h)\n", TRINE_EFORMAT,
                "3:6: 'c = h' would only copy a tensor: an assignment needs an operation");
    compile_err("input a\nc = t(t(a))\n", TRINE_EFORMAT,
                "2:5: 'c = a' would only copy a tensor: an assignment needs an operation");
    compile_err("input a\nc = a * 1e999\n", TRINE_EFORMAT, "2:9: number 1e999 is out of range");
    compile_err("input a\nc = a * 2^5000\n", TRINE_EFORMAT, "2:9: the power is out of range");
    compile_err("input a\nc = a * 0^-1\n", TRINE_EFORMAT, "2:9: the power is out of range");
    compile_err("input a\nc = a * (1e300 * 1e300)\n", TRINE_EFORMAT,
                "2:16: the number is out of range");
    compile_err("input a\nc = a * 2^x\n", TRINE_EFORMAT,
                "2:11: expected a number after '^' but found 'x'");
    compile_err("input a\nc = a * 2^\n", TRINE_EFORMAT,
                "2:11: expected a number after '^' but found the end of the line");
    compile_err(
        "input a\nc = a * 00000000000000000000000000000000000000000000000000000000000000001\n",
        TRINE_EFORMAT, "2:9: number is longer than 63 bytes");
    compile_err("input a\nc = relu(a) = 2\n", TRINE_EFORMAT,
                "2:13: expected the end of the line but found '='");
    compile_err("input a\n= relu(a)\n", TRINE_EFORMAT,
                "2:1: expected a statement (batch, input, output or NAME = ...) but found '='");
    compile_err("inptu a\n", TRINE_EFORMAT,
                "1:7: expected '=' after 'inptu' but found 'a' (a statement is batch, input, "
                "output or NAME = ...)");
    compile_err("input a, b\n", TRINE_EFORMAT, "1:8: expected the end of the line but found ','");
    compile_err("input a\noutput\n", TRINE_EFORMAT,
                "2:7: expected a name after 'output' but found the end of the line");
    compile_err("input a\nc = . 5\n", TRINE_EFORMAT, "2:5: unexpected character '.'");

    prog_t p;
    trine_err_t err;
    ck_assert_int_eq(prog_text_compile(&p, "input a\nc = relu(a)\0\n", 21, "t.prog", &err),
                     TRINE_EFORMAT);
    ck_assert_str_eq(err.msg, "t.prog:2:12: unexpected byte 0x00");

    char deep[400];
    strcpy(deep, "input a\nc = ");
    for (int i = 0; i < 70; i++)
        strcat(deep, "(");
    strcat(deep, "a");
    compile_err(deep, TRINE_EFORMAT, "2:69: expression nested more than 64 deep");
    strcpy(deep, "input a\nc = ");
    for (int i = 0; i < 100; i++)
        strcat(deep, "-");
    strcat(deep, "a");
    compile_err(deep, TRINE_EFORMAT, "2:69: expression nested more than 64 deep");
}
END_TEST

START_TEST(text_errors_limits)
{
    /* one op too many (updating an input needs no new variable) */
    size_t cap = 64 + 24 * (PROG_OPS_MAX + 1);
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t len = (size_t)snprintf(text, cap, "input a\n");
    for (int i = 0; i <= PROG_OPS_MAX; i++)
        len += (size_t)snprintf(text + len, cap - len, "a = relu(a)\n");
    prog_t p;
    trine_err_t err;
    ck_assert_int_eq(prog_text_compile(&p, text, len, "big", &err), TRINE_ELIMIT);
    ck_assert_str_eq(err.msg, "big:1026:5: more than 1024 operations");
    ck_assert_ptr_null(p.vars);
    /* exactly at the limit compiles */
    len = (size_t)snprintf(text, cap, "input a\n");
    for (int i = 0; i < PROG_OPS_MAX; i++)
        len += (size_t)snprintf(text + len, cap - len, "a = relu(a)\n");
    ck_assert_int_eq(prog_text_compile(&p, text, len, "big", &err), TRINE_OK);
    ck_assert_uint_eq(p.nops, PROG_OPS_MAX);
    prog_clear(&p);
    /* one variable too many, counting temps */
    len = (size_t)snprintf(text, cap, "input");
    for (int i = 0; i < PROG_VARS_MAX - 2; i++)
        len += (size_t)snprintf(text + len, cap - len, " v%d", i);
    len += (size_t)snprintf(text + len, cap - len, "\nc = relu(relu(relu(v0)))\n");
    ck_assert_int_eq(prog_text_compile(&p, text, len, "big", &err), TRINE_ELIMIT);
    ck_assert_str_eq(err.msg, "big:2:5: more than 1024 variables (temps included)");
    ck_assert_ptr_null(p.vars);
    free(text);
}
END_TEST

/* ---- fuzzing ---------------------------------------------------------- */

/* Mutated and truncated valid programs: each compiles, or fails with a
 * message that points into the file; those that compile also survive the
 * wire. */
START_TEST(text_mutations_do_not_crash)
{
    const char *bases[] = {net_a, train, conv};
    static const char alphabet[] = "()[],=+-*^#_ \n\t.0123456789e-xabtw_1";
    enum { ROUNDS = 3000 };
    uint64_t *r = malloc(ROUNDS * 8 * sizeof *r);
    ck_assert_ptr_nonnull(r);
    check_util_random(r, ROUNDS * 8, 2024);
    int compiled = 0;
    for (int round = 0; round < ROUNDS; round++) {
        const uint64_t *rr = &r[round * 8];
        const char *base = bases[rr[0] % 3];
        size_t len = strlen(base);
        char *text = malloc(len + 8);
        ck_assert_ptr_nonnull(text);
        memcpy(text, base, len);
        int edits = 1 + (int)(rr[1] % 4);
        for (int e = 0; e < edits && len > 0; e++) {
            uint64_t x = rr[2 + e];
            size_t at = (size_t)(x >> 8) % len;
            switch (x % 5) {
            case 0: text[at] = (char)(x >> 40); break; /* any byte */
            case 1: text[at] = alphabet[(x >> 40) % (sizeof alphabet - 1)]; break;
            case 2: memmove(text + at, text + at + 1, len - at - 1), len--; break;
            case 3:
                memmove(text + at + 1, text + at, len - at);
                text[at] = alphabet[(x >> 40) % (sizeof alphabet - 1)];
                len++;
                break;
            default: len = at; break; /* truncate */
            }
        }
        char *exact = malloc(len ? len : 1); /* exact size: valgrind sees overreads */
        ck_assert_ptr_nonnull(exact);
        memcpy(exact, text, len);
        free(text);
        prog_t p;
        trine_err_t err = {0};
        trine_status_t st = prog_text_compile(&p, exact, len, "fuzz", &err);
        if (st == TRINE_OK) {
            compiled++;
            void *buf;
            size_t blen;
            ck_assert_int_eq(prog_wire_encode(&p, &buf, &blen, &err), TRINE_OK);
            prog_t q;
            ck_assert_msg(prog_wire_decode(&q, buf, blen, &err) == TRINE_OK, "%s", err.msg);
            ck_assert_uint_eq(q.nops, p.nops);
            prog_clear(&q);
            free(buf);
            prog_clear(&p);
        } else {
            ck_assert_int_eq(st, TRINE_EFORMAT);
            ck_assert_msg(!strncmp(err.msg, "fuzz:", 5), "round %d: %s", round, err.msg);
            ck_assert_ptr_null(p.vars);
            ck_assert_ptr_null(p.ops);
        }
        free(exact);
    }
    /* the mutations are neither all fatal nor all harmless */
    ck_assert_int_gt(compiled, ROUNDS / 20);
    ck_assert_int_lt(compiled, ROUNDS - ROUNDS / 20);
    free(r);
}
END_TEST

/* ---- the wire --------------------------------------------------------- */

static void expect_same(const prog_t *a, const prog_t *b)
{
    ck_assert_uint_eq(a->nvars, b->nvars);
    ck_assert_uint_eq(a->nops, b->nops);
    for (size_t i = 0; i < a->nvars; i++) {
        const prog_var_t *x = &a->vars[i], *y = &b->vars[i];
        ck_assert_str_eq(x->name, y->name);
        ck_assert_int_eq(x->kind, y->kind);
        ck_assert_int_eq(x->output, y->output);
        ck_assert_int_eq(x->ndim, y->ndim);
        for (int d = 0; d < x->ndim; d++)
            ck_assert_uint_eq(x->shape[d], y->shape[d]);
    }
    for (size_t i = 0; i < a->nops; i++) {
        const prog_op_t *x = &a->ops[i], *y = &b->ops[i];
        ck_assert_int_eq(x->code, y->code);
        ck_assert_int_eq(x->out, y->out);
        ck_assert_int_eq(x->in[0], y->in[0]);
        ck_assert_int_eq(x->in[1], y->in[1]);
        for (int k = 0; k < PROG_IATTR_MAX; k++)
            ck_assert_int_eq(x->iattr[k], y->iattr[k]);
        ck_assert(x->fattr == y->fattr);
        ck_assert_int_eq(x->ndim, y->ndim);
        for (int d = 0; d < x->ndim; d++)
            ck_assert_uint_eq(x->shape[d], y->shape[d]);
        ck_assert_uint_eq(x->line, y->line);
        ck_assert_uint_eq(x->col, y->col);
    }
}

static void round_trip(const prog_t *p)
{
    void *buf;
    size_t len;
    trine_err_t err;
    ck_assert_msg(prog_wire_encode(p, &buf, &len, &err) == TRINE_OK, "%s", err.msg);
    prog_t q;
    ck_assert_msg(prog_wire_decode(&q, buf, len, &err) == TRINE_OK, "%s", err.msg);
    expect_same(p, &q);
    prog_clear(&q);
    free(buf);
}

START_TEST(wire_round_trips)
{
    const char *texts[] = {net_a,
                           train,
                           conv,
                           divgt,
                           "batch x\nf = flatten(x)\n",
                           "",
                           "input x\ny = transpose(x, [0, 3, 1, 2])\nz = sigmoid(y, fine=1)\n",
                           "input x\ny = avgpool(x, 3, 1, 2, count_include_pad=1)\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        prog_t p = compile_ok(texts[i]);
        round_trip(&p);
        if (p.nvars) {
            set_shape(&p, p.vars[0].name, 4, 7, 1, 1, SIZE_MAX);
            round_trip(&p);
        }
        prog_clear(&p);
    }
    /* the extremes of every field */
    prog_var_t vars[2] = {
        {.name = "a.b-c_D", .kind = PROG_VAR_BATCH, .output = true, .ndim = 1, .shape = {SIZE_MAX}},
        {.name = "_9", .kind = PROG_VAR_TEMP}};
    prog_op_t ops[2] = {{.code = PROG_SGD,
                         .out = 1,
                         .in = {1, 0},
                         .iattr = {INT64_MIN, INT64_MAX},
                         .fattr = -0x1p-1074,
                         .line = UINT32_MAX,
                         .col = 0},
                        {.code = PROG_RESHAPE,
                         .out = 0,
                         .in = {-1, -1},
                         .fattr = 1e308,
                         .ndim = 4,
                         .shape = {0, 1, SIZE_MAX, 3}}};
    prog_t p = {.vars = vars, .nvars = 2, .ops = ops, .nops = 2};
    round_trip(&p);
}
END_TEST

START_TEST(wire_encode_refuses_what_decode_would)
{
    prog_var_t vars[2] = {{.name = "a"}, {.name = "b"}};
    prog_op_t ops[1] = {{.code = PROG_RELU, .out = 1, .in = {0, -1}}};
    prog_t p = {.vars = vars, .nvars = 2, .ops = ops, .nops = 1};
    void *buf;
    size_t len;
    trine_err_t err;
    ops[0].in[1] = 2;
    ck_assert_int_eq(prog_wire_encode(&p, &buf, &len, &err), TRINE_EINVAL);
    ck_assert_int_eq(err.code, TRINE_EINVAL);
    ck_assert_str_eq(err.msg, "program op 0: operand in[1] is 2, past the 2 variables");
    ops[0].in[1] = -1;
    vars[1].ndim = TENSOR_MAX_DIMS + 1;
    ck_assert_int_eq(prog_wire_encode(&p, &buf, &len, &err), TRINE_EINVAL);
    ck_assert_str_eq(err.msg, "program variable 1: has 5 dimensions, not 0 to 4");
    vars[1].ndim = 0;
    memset(vars[1].name, 'z', PROG_NAME_MAX); /* no NUL */
    ck_assert_int_eq(prog_wire_encode(&p, &buf, &len, &err), TRINE_EINVAL);
    strcpy(vars[1].name, "a");
    ck_assert_int_eq(prog_wire_encode(&p, &buf, &len, &err), TRINE_EINVAL);
    ck_assert_str_eq(err.msg, "program variable 1: name 'a' is also variable 0's");
    p.nvars = PROG_VARS_MAX + 1;
    ck_assert_int_eq(prog_wire_encode(&p, &buf, &len, &err), TRINE_EINVAL);
}
END_TEST

START_TEST(wire_truncated_everywhere)
{
    prog_t p = compile_ok(train);
    void *buf;
    size_t len;
    trine_err_t err;
    ck_assert_int_eq(prog_wire_encode(&p, &buf, &len, &err), TRINE_OK);
    for (size_t cut = 0; cut < len; cut++) {
        void *copy = malloc(cut ? cut : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, buf, cut);
        prog_t q;
        ck_assert_msg(prog_wire_decode(&q, copy, cut, &err) == TRINE_EFORMAT, "cut at %zu", cut);
        ck_assert_ptr_null(q.vars);
        ck_assert_ptr_null(q.ops);
        free(copy);
    }
    free(buf);
    prog_clear(&p);
}
END_TEST

/* A packer independent of prog_wire_encode, following WIRE.md, so that
 * hostile programs can break any rule: niattr entries of iattr (past
 * PROG_IATTR_MAX they are 7). */
static void pack_prog_n(msgpack_packer *pk, const prog_t *p, uint32_t niattr)
{
    msgpack_pack_map(pk, 3);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_uint32(pk, 1);
    msgpack_pack_str_with_body(pk, "vars", 4);
    msgpack_pack_array(pk, p->nvars);
    for (size_t i = 0; i < p->nvars; i++) {
        const prog_var_t *v = &p->vars[i];
        msgpack_pack_array(pk, 4);
        msgpack_pack_str_with_body(pk, v->name, strnlen(v->name, PROG_NAME_MAX));
        msgpack_pack_int(pk, (int)v->kind);
        v->output ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        msgpack_pack_array(pk, (size_t)v->ndim);
        for (int d = 0; d < v->ndim; d++) /* past TENSOR_MAX_DIMS: a hostile count */
            msgpack_pack_uint64(pk, d < TENSOR_MAX_DIMS ? v->shape[d] : 1);
    }
    msgpack_pack_str_with_body(pk, "ops", 3);
    msgpack_pack_array(pk, p->nops);
    for (size_t i = 0; i < p->nops; i++) {
        const prog_op_t *op = &p->ops[i];
        msgpack_pack_array(pk, 8);
        msgpack_pack_int(pk, (int)op->code);
        msgpack_pack_int(pk, op->out);
        msgpack_pack_array(pk, 2);
        msgpack_pack_int(pk, op->in[0]);
        msgpack_pack_int(pk, op->in[1]);
        msgpack_pack_array(pk, niattr);
        for (uint32_t k = 0; k < niattr; k++)
            msgpack_pack_int64(pk, k < PROG_IATTR_MAX ? op->iattr[k] : 7);
        msgpack_pack_double(pk, op->fattr);
        msgpack_pack_array(pk, (size_t)op->ndim);
        for (int d = 0; d < op->ndim; d++) /* past TENSOR_MAX_DIMS: a hostile count */
            msgpack_pack_uint64(pk, d < TENSOR_MAX_DIMS ? op->shape[d] : 1);
        msgpack_pack_uint32(pk, op->line);
        msgpack_pack_uint32(pk, op->col);
    }
}

static void pack_prog(msgpack_packer *pk, const prog_t *p)
{
    pack_prog_n(pk, p, 2);
}

static void expect_decode_err(const msgpack_sbuffer *sb, trine_status_t code, const char *want)
{
    void *copy = malloc(sb->size);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, sb->data, sb->size);
    prog_t q;
    trine_err_t err = {0};
    ck_assert_int_eq(prog_wire_decode(&q, copy, sb->size, &err), code);
    ck_assert_str_eq(err.msg, want);
    ck_assert_ptr_null(q.vars);
    ck_assert_ptr_null(q.ops);
    free(copy);
}

/* Twelve variables and one relu, then one field broken per case. */
typedef struct {
    prog_var_t vars[12];
    prog_op_t ops[1];
    prog_t p;
} small_t;

static void small_init(small_t *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 12; i++)
        snprintf(s->vars[i].name, PROG_NAME_MAX, "v%d", i);
    s->vars[11].kind = PROG_VAR_TEMP;
    s->ops[0] = (prog_op_t){.code = PROG_RELU, .out = 11, .in = {0, -1}, .line = 1, .col = 1};
    s->p = (prog_t){.vars = s->vars, .nvars = 12, .ops = s->ops, .nops = 1};
}

static void expect_small_err(const small_t *s, const char *want)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_prog(&pk, &s->p);
    expect_decode_err(&sb, TRINE_EFORMAT, want);
    msgpack_sbuffer_destroy(&sb);
}

START_TEST(wire_hostile_fields)
{
    small_t s;
    small_init(&s);
    { /* the packer agrees with the codec */
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pack_prog(&pk, &s.p);
        prog_t q;
        trine_err_t err;
        ck_assert_msg(prog_wire_decode(&q, sb.data, sb.size, &err) == TRINE_OK, "%s", err.msg);
        expect_same(&s.p, &q);
        prog_clear(&q);
        msgpack_sbuffer_destroy(&sb);
    }
    s.ops[0].in[1] = 77;
    expect_small_err(&s, "program op 0: operand in[1] is 77, past the 12 variables");
    s.ops[0].in[1] = -2;
    expect_small_err(&s, "program op 0: operand in[1] must be a variable index or -1");
    small_init(&s);
    s.ops[0].out = 12;
    expect_small_err(&s, "program op 0: output is 12, past the 12 variables");
    s.ops[0].out = -1;
    expect_small_err(&s, "program op 0: output must be a variable index");
    small_init(&s);
    s.ops[0].code = PROG_OPCODE_COUNT;
    char want[64];
    snprintf(want, sizeof want, "program op 0: code must be an operation, 0 to %d",
             PROG_OPCODE_COUNT - 1);
    expect_small_err(&s, want);
    small_init(&s);
    s.ops[0].fattr = NAN;
    expect_small_err(&s, "program op 0: fattr is not a finite number");
    s.ops[0].fattr = INFINITY;
    expect_small_err(&s, "program op 0: fattr is not a finite number");
    small_init(&s);
    s.ops[0].ndim = 1;
    s.ops[0].shape[0] = 3;
    expect_small_err(&s, "program op 0: relu takes no shape");
    s.ops[0].code = PROG_RESHAPE;
    s.ops[0].ndim = 3;
    s.ops[0].shape[0] = 0;
    s.ops[0].shape[1] = 0;
    s.ops[0].shape[2] = 4;
    expect_small_err(&s, "program op 0: shape extent 1 is 0");
    s.ops[0].ndim = 5;
    expect_small_err(&s, "program op 0: shape must be an array of 0 to 4 extents");
    small_init(&s);
    s.vars[3].ndim = 2;
    s.vars[3].shape[0] = 5;
    expect_small_err(&s, "program variable 3: extent 1 is 0");
    s.vars[3].ndim = 5;
    expect_small_err(&s, "program variable 3: shape must be an array of 0 to 4 extents");
    small_init(&s);
    s.vars[4].kind = 3;
    expect_small_err(&s, "program variable 4: kind must be 0 (input), 1 (batch) or 2 (temp)");
    small_init(&s);
    strcpy(s.vars[5].name, "v1");
    expect_small_err(&s, "program variable 5: name 'v1' is also variable 1's");
    strcpy(s.vars[5].name, "");
    expect_small_err(&s, "program variable 5: name is not 1-63 letters, digits, '_', '-' or '.' "
                         "(not starting with '.')");
    strcpy(s.vars[5].name, "a b");
    expect_small_err(&s, "program variable 5: name is not 1-63 letters, digits, '_', '-' or '.' "
                         "(not starting with '.')");
    memset(s.vars[5].name, 'a', PROG_NAME_MAX); /* 64 bytes: one too many */
    expect_small_err(&s, "program variable 5: name must be a string of at most 63 bytes without "
                         "NUL");
}
END_TEST

START_TEST(wire_iattr_lengths)
{
    small_t s;
    small_init(&s);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* the decoder takes 0 to 10 entries, the missing ones 0 */
    for (uint32_t n = 0; n <= PROG_IATTR_MAX; n++) {
        for (int k = 0; k < PROG_IATTR_MAX; k++)
            s.ops[0].iattr[k] = k < (int)n ? -(int64_t)k - 1 : 99;
        msgpack_sbuffer_clear(&sb);
        pack_prog_n(&pk, &s.p, n);
        prog_t q;
        trine_err_t err;
        ck_assert_msg(prog_wire_decode(&q, sb.data, sb.size, &err) == TRINE_OK, "%s", err.msg);
        for (int k = 0; k < PROG_IATTR_MAX; k++)
            ck_assert_int_eq(q.ops[0].iattr[k], k < (int)n ? -(int64_t)k - 1 : 0);
        prog_clear(&q);
    }
    msgpack_sbuffer_clear(&sb);
    pack_prog_n(&pk, &s.p, PROG_IATTR_MAX + 1);
    expect_decode_err(&sb, TRINE_EFORMAT,
                      "program op 0: iattr must be an array of at most 10 integers");

    /* the encoder writes 2 entries, or up to the last nonzero one: the
     * same bytes as the independent packer with that many */
    const struct {
        int64_t iattr[PROG_IATTR_MAX];
        uint32_t n;
    } cases[] = {
        {{0}, 2},
        {{1, 1}, 2},
        {{0, 0, 0, 4}, 4},
        {{3, 1, 3, 1, 0, 0, 0, 0, 1}, 9},
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, INT64_MIN}, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(s.ops[0].iattr, cases[i].iattr, sizeof s.ops[0].iattr);
        void *buf;
        size_t len;
        trine_err_t err;
        ck_assert_int_eq(prog_wire_encode(&s.p, &buf, &len, &err), TRINE_OK);
        msgpack_sbuffer_clear(&sb);
        pack_prog_n(&pk, &s.p, cases[i].n);
        ck_assert_uint_eq(len, sb.size);
        ck_assert_mem_eq(buf, sb.data, len);
        free(buf);
    }

    /* a transpose's permutation may hold 0 anywhere; a reshape's not */
    small_init(&s);
    s.ops[0].code = PROG_TRANSPOSE;
    s.ops[0].ndim = 3;
    s.ops[0].shape[0] = 1, s.ops[0].shape[1] = 2, s.ops[0].shape[2] = 0;
    msgpack_sbuffer_clear(&sb);
    pack_prog(&pk, &s.p);
    prog_t q;
    trine_err_t err;
    ck_assert_msg(prog_wire_decode(&q, sb.data, sb.size, &err) == TRINE_OK, "%s", err.msg);
    expect_same(&s.p, &q);
    prog_clear(&q);
    s.ops[0].code = PROG_RESHAPE;
    expect_small_err(&s, "program op 0: shape extent 2 is 0");
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

static void pack_fixed(msgpack_sbuffer *sb, const char *vkey, unsigned version, int nvars, int nops)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, vkey, strlen(vkey));
    msgpack_pack_uint32(&pk, version);
    msgpack_pack_str_with_body(&pk, "vars", 4);
    msgpack_pack_array(&pk, (size_t)nvars);
    for (int i = 0; i < nvars; i++)
        msgpack_pack_nil(&pk);
    msgpack_pack_str_with_body(&pk, "ops", 3);
    msgpack_pack_array(&pk, (size_t)nops);
    for (int i = 0; i < nops; i++)
        msgpack_pack_nil(&pk);
}

START_TEST(wire_hostile_structure)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_fixed(&sb, "v", 2, 0, 0);
    expect_decode_err(&sb, TRINE_EUNSUPPORTED,
                      "program version 2 is not supported: this build reads 1");
    pack_fixed(&sb, "w", 1, 0, 0);
    expect_decode_err(&sb, TRINE_EFORMAT, "program has an unknown field 'w' (want v, vars, ops)");
    pack_fixed(&sb, "vars", 1, 0, 0);
    expect_decode_err(&sb, TRINE_EFORMAT, "program field 'vars' appears twice");
    pack_fixed(&sb, "v", 1, PROG_VARS_MAX + 1, 0);
    expect_decode_err(&sb, TRINE_EFORMAT,
                      "program field 'vars' must be an array of at most 1024 variables");
    pack_fixed(&sb, "v", 1, 0, PROG_OPS_MAX + 1);
    expect_decode_err(&sb, TRINE_EFORMAT,
                      "program field 'ops' must be an array of at most 1024 ops");
    pack_fixed(&sb, "v", 1, 1, 0);
    expect_decode_err(&sb, TRINE_EFORMAT,
                      "program variable 0: must be an array [name, kind, output, shape]");
    pack_fixed(&sb, "v", 1, 0, 1);
    expect_decode_err(&sb, TRINE_EFORMAT,
                      "program op 0: must be an array [code, out, in, iattr, fattr, shape, line, "
                      "col]");

    /* an array, a map lacking ops, a version that is not a number */
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 0);
    expect_decode_err(&sb, TRINE_EFORMAT, "a program must be a msgpack map");
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "vars", 4);
    msgpack_pack_array(&pk, 0);
    expect_decode_err(&sb, TRINE_EFORMAT, "program lacks field 'ops'");
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_str_with_body(&pk, "1", 1);
    msgpack_pack_str_with_body(&pk, "vars", 4);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_str_with_body(&pk, "ops", 3);
    msgpack_pack_map(&pk, 0);
    expect_decode_err(&sb, TRINE_EFORMAT, "field 'v' must be an unsigned integer <= 4294967295");
    msgpack_sbuffer_destroy(&sb);

    /* a count far beyond the bytes: refused before anything is allocated */
    const uint8_t huge[] = {0x83, 0xa1, 'v',  0x01, 0xa4, 'v',  'a',
                            'r',  's',  0xdd, 0xff, 0xff, 0xff, 0xff};
    prog_t q;
    trine_err_t err;
    ck_assert_int_eq(prog_wire_decode(&q, huge, sizeof huge, &err), TRINE_EFORMAT);
    ck_assert_ptr_null(q.vars);
    /* nested deeper than the layout allows */
    const uint8_t deep[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x90};
    ck_assert_int_eq(prog_wire_decode(&q, deep, sizeof deep, &err), TRINE_EFORMAT);
    ck_assert_int_eq(prog_wire_decode(&q, deep, 0, &err), TRINE_EFORMAT);
}
END_TEST

/* Wrong types in every position of a var and an op. */
START_TEST(wire_hostile_types)
{
    small_t s;
    small_init(&s);
    void *buf;
    size_t len;
    trine_err_t err;
    ck_assert_int_eq(prog_wire_encode(&s.p, &buf, &len, &err), TRINE_OK);
    /* Replace each byte in turn by nil, true, a string or -5; whatever the
     * decoder says, it says it without crashing. */
    const uint8_t subst[] = {0xc0, 0xc3, 0xa1, 0xfb, 0xcb};
    uint8_t *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    int failed = 0;
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(copy, buf, len);
            copy[i] = subst[k];
            prog_t q;
            err.msg[0] = '\0';
            if (prog_wire_decode(&q, copy, len, &err) != TRINE_OK) {
                ck_assert(err.msg[0] != '\0');
                ck_assert_ptr_null(q.vars);
                failed++;
            }
            prog_clear(&q);
        }
    ck_assert_int_gt(failed, (int)len);
    free(copy);
    free(buf);
}
END_TEST

/* The policy hash: the same op list hashes alike whatever the layout of
 * its text and the shapes of its inputs; any change of an op, a constant,
 * an output or a name changes it; batch and epochs count only for a
 * program that mixes rows. */
static void hash_of(uint8_t out[WIRE_PROGRAM_HASH_BYTES], const char *text, unsigned frac,
                    uint64_t batch, uint64_t epochs)
{
    prog_t p = compile_ok(text);
    trine_err_t err;
    ck_assert_msg(prog_wire_policy_hash(out, &p, frac, 0, batch, epochs, false, &err) == TRINE_OK,
                  "%s", err.msg);
    prog_clear(&p);
}

static bool hash_same(const char *a, const char *b, uint64_t batch_b, uint64_t epochs_b)
{
    uint8_t ha[WIRE_PROGRAM_HASH_BYTES], hb[WIRE_PROGRAM_HASH_BYTES];
    hash_of(ha, a, 13, 128, 1);
    hash_of(hb, b, 13, batch_b, epochs_b);
    return memcmp(ha, hb, sizeof ha) == 0;
}

START_TEST(policy_hash)
{
    static const char *base = "batch x\ninput w b\noutput y = relu(matmul(x, w) + b)\n";
    ck_assert(hash_same(base, "# the same\nbatch x\n\ninput w b\noutput y = relu( matmul(x,w)+b )\n",
                        128, 1));
    ck_assert(hash_same(base, base, 1, 7)); /* rows stay apart: batch, epochs count not */
    static const char *other[] = {
        "batch x\ninput w b\noutput y = matmul(x, w) + b\n",       /* no relu */
        "batch x\ninput w b\noutput y = relu(matmul(x, w) - b)\n", /* another op */
        "batch x\ninput b w\noutput y = relu(matmul(x, w) + b)\n", /* inputs swapped */
        "batch x\ninput w c\noutput y = relu(matmul(x, w) + c)\n", /* a slot renamed */
        "batch x\ninput w b\noutput z = relu(matmul(x, w) + b)\n", /* output renamed */
        "batch x\ninput w b\noutput y = relu(matmul(x, w) + b)\noutput w\n",
        "batch x\ninput w b\noutput y = relu(matmul(x, w) + b) * 1\n",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        ck_assert_msg(!hash_same(base, other[i], 128, 1), "%s hashes like the base", other[i]);
    /* training mixes rows: batch and epochs are part of what is approved */
    ck_assert(hash_same(train, train, 128, 1));
    ck_assert(!hash_same(train, train, 1, 1));
    ck_assert(!hash_same(train, train, 128, 2));
    uint8_t h13[WIRE_PROGRAM_HASH_BYTES], h16[WIRE_PROGRAM_HASH_BYTES];
    hash_of(h13, base, 13, 128, 1);
    hash_of(h16, base, 16, 128, 1);
    ck_assert(memcmp(h13, h16, sizeof h13) != 0);
    /* shapes are the stored tensors': setting them changes nothing */
    prog_t p = compile_ok(base);
    trine_err_t err;
    hash_of(h13, base, 13, 128, 1);
    set_shape(&p, "x", 2, 5, 3, 0, 0);
    set_shape(&p, "w", 2, 3, 4, 0, 0);
    ck_assert_int_eq(prog_wire_policy_hash(h16, &p, 13, 0, 128, 1, false, &err), TRINE_OK);
    ck_assert(memcmp(h13, h16, sizeof h13) == 0);
    ck_assert_int_eq(prog_wire_policy_hash(h16, &p, 13, 1, 128, 1, false, &err), TRINE_OK);
    ck_assert(memcmp(h13, h16, sizeof h13) != 0); /* local truncation computes otherwise */
    ck_assert_int_eq(prog_wire_policy_hash(h16, &p, 13, 0, 128, 1, false, &err), TRINE_OK);
    ck_assert(memcmp(h13, h16, sizeof h13) == 0);
    /* shuffling the rows changes what training computes, not inference */
    ck_assert_int_eq(prog_wire_policy_hash(h16, &p, 13, 0, 128, 1, true, &err), TRINE_OK);
    ck_assert(memcmp(h13, h16, sizeof h13) == 0);
    prog_clear(&p);
    p = compile_ok(train);
    ck_assert_int_eq(prog_wire_policy_hash(h13, &p, 13, 0, 128, 1, false, &err), TRINE_OK);
    ck_assert_int_eq(prog_wire_policy_hash(h16, &p, 13, 0, 128, 1, true, &err), TRINE_OK);
    ck_assert(memcmp(h13, h16, sizeof h13) != 0);
    prog_clear(&p);
}
END_TEST

/* Rows stay apart through row-wise ops; sums, gradients and writes of
 * inputs from the batch mix them. */
START_TEST(mixes_rows)
{
    static const struct {
        const char *text;
        bool mixes;
    } cases[] = {
        {"batch x\ninput w b\noutput y = argmax(relu(matmul(x, w) + b))\n", false},
        {"batch x\ninput k\noutput y = maxpool(relu(conv2d(x, k)), 2)\n", false},
        {"batch x\noutput y = flatten(x) * 3\n", false},
        {"batch x\noutput y = sum(x)\n", true},
        {"batch x\ninput w\noutput y = matmul(t(x), w)\n", true},
        {"batch x\ninput w\noutput y = matmul(w, x)\n", true},
        {"batch x\noutput y = transpose(x)\n", true},
        {"batch x\noutput y = reshape(x, [4, 4])\n", true},
        {"input a b\noutput y = sum(a) + b\n", false}, /* no batch input at all */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prog_t p = compile_ok(cases[i].text);
        ck_assert_msg(prog_mixes_rows(&p) == cases[i].mixes, "%s", cases[i].text);
        prog_clear(&p);
    }
    prog_t p = compile_ok(train);
    ck_assert(prog_mixes_rows(&p));
    prog_clear(&p);
}
END_TEST

Suite *prog_text_suite(void)
{
    
Suite *s = suite_create("prog_text");
    TCase *tc = tcase_create("compile");
    tcase_add_test(tc, text_exact_ops);
    tcase_add_test(tc, text_numbers_fold);
    tcase_add_test(tc, text_network_a);
    tcase_add_test(tc, text_training_step);
    tcase_add_test(tc, text_conv_pool);
    tcase_add_test(tc, text_geometry_fills_every_slot);
    tcase_add_test(tc, text_transpose_perm);
    tcase_add_test(tc, text_div_gt);
    tcase_add_test(tc, text_transpose_outside_matmul);
    tcase_add_test(tc, text_empty_and_comments);
    tcase_add_test(tc, text_set_shape);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, text_errors_names);
    tcase_add_test(tc, text_errors_calls);
    tcase_add_test(tc, text_errors_expressions);
    tcase_add_test(tc, text_errors_limits);
    tcase_add_test(tc, text_mutations_do_not_crash);
    suite_add_tcase(s, tc);
    tc = tcase_create("wire");
    tcase_add_test(tc, wire_round_trips);
    tcase_add_test(tc, wire_encode_refuses_what_decode_would);
    tcase_add_test(tc, wire_truncated_everywhere);
    tcase_add_test(tc, wire_hostile_fields);
    tcase_add_test(tc, wire_iattr_lengths);
    tcase_add_test(tc, wire_hostile_structure);
    tcase_add_test(tc, wire_hostile_types);
    tcase_add_test(tc, policy_hash);
    tcase_add_test(tc, mixes_rows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(prog_text_suite());
}
