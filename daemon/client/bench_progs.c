/* bench_progs.c — the benchmark's programs and their seeded inputs. */
#include "daemon/client/bench_progs.h"

#include "daemon/models/prog_text.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How an input's values are drawn. */
typedef enum {
    BENCH_VAL_DATA,    /* [0, 1) */
    BENCH_VAL_SIGNED,  /* [-1, 1) */
    BENCH_VAL_WEIGHT,  /* +-1/sqrt(fan-in), fan-in: the extents after the first
                          (conv filters [o,i,f,f]) or the first (matrices [n,v]) */
    BENCH_VAL_DIVISOR, /* [0.5, 2) */
    BENCH_VAL_DIVIDEND /* u * 2^int_bits * the divisor (input 1), u in [0, 0.99) */
} bench_val_t;

/* An input as a table gives it: extent 0 of shape[0] is the batch. */
typedef struct {
    const char *name;
    int ndim;
    size_t shape[4];
    bench_val_t val;
} bench_input_t;

typedef struct {
    const char *text;
    bench_input_t in[BENCH_INPUTS_MAX];
} bench_net_t;

/* Networks B and C differ only in their layers' sizes. */
#define BENCH_NET_TWO_CONV                                                                         \
    "input x c1 d1 c2 d2 w3 b3 w4 b4\n"                                                            \
    "h1 = relu(maxpool(conv2d(x, c1) + d1, 2))\n"                                                  \
    "h2 = relu(maxpool(conv2d(h1, c2) + d2, 2))\n"                                                 \
    "h3 = relu(matmul(flatten(h2), w3) + b3)\n"                                                    \
    "output class = argmax(matmul(h3, w4) + b4)\n"

/* Networks A-D (see the header); biases are [c,1,1] over conv outputs. */
static const bench_net_t bench_nets[4] = {
    {"input x w1 b1 w2 b2 w3 b3\n"
     "h1 = relu(matmul(x, w1) + b1)\n"
     "h2 = relu(matmul(h1, w2) + b2)\n"
     "output class = argmax(matmul(h2, w3) + b3)\n",
     {{"x", 2, {0, 784}, BENCH_VAL_DATA},
      {"w1", 2, {784, 128}, BENCH_VAL_WEIGHT},
      {"b1", 1, {128}, BENCH_VAL_SIGNED},
      {"w2", 2, {128, 128}, BENCH_VAL_WEIGHT},
      {"b2", 1, {128}, BENCH_VAL_SIGNED},
      {"w3", 2, {128, 10}, BENCH_VAL_WEIGHT},
      {"b3", 1, {10}, BENCH_VAL_SIGNED}}},
    {BENCH_NET_TWO_CONV,
     {{"x", 4, {0, 1, 28, 28}, BENCH_VAL_DATA},
      {"c1", 4, {16, 1, 5, 5}, BENCH_VAL_WEIGHT},
      {"d1", 3, {16, 1, 1}, BENCH_VAL_SIGNED},
      {"c2", 4, {16, 16, 5, 5}, BENCH_VAL_WEIGHT},
      {"d2", 3, {16, 1, 1}, BENCH_VAL_SIGNED},
      {"w3", 2, {256, 100}, BENCH_VAL_WEIGHT},
      {"b3", 1, {100}, BENCH_VAL_SIGNED},
      {"w4", 2, {100, 10}, BENCH_VAL_WEIGHT},
      {"b4", 1, {10}, BENCH_VAL_SIGNED}}},
    {BENCH_NET_TWO_CONV,
     {{"x", 4, {0, 1, 28, 28}, BENCH_VAL_DATA},
      {"c1", 4, {20, 1, 5, 5}, BENCH_VAL_WEIGHT},
      {"d1", 3, {20, 1, 1}, BENCH_VAL_SIGNED},
      {"c2", 4, {50, 20, 5, 5}, BENCH_VAL_WEIGHT},
      {"d2", 3, {50, 1, 1}, BENCH_VAL_SIGNED},
      {"w3", 2, {800, 500}, BENCH_VAL_WEIGHT},
      {"b3", 1, {500}, BENCH_VAL_SIGNED},
      {"w4", 2, {500, 10}, BENCH_VAL_WEIGHT},
      {"b4", 1, {10}, BENCH_VAL_SIGNED}}},
    {"input x c1 d1 w2 b2 w3 b3\n"
     "h1 = relu(conv2d(x, c1, stride=2, pad=2) + d1)\n"
     "h2 = relu(matmul(flatten(h1), w2) + b2)\n"
     "output class = argmax(matmul(h2, w3) + b3)\n",
     {{"x", 4, {0, 1, 28, 28}, BENCH_VAL_DATA},
      {"c1", 4, {5, 1, 5, 5}, BENCH_VAL_WEIGHT},
      {"d1", 3, {5, 1, 1}, BENCH_VAL_SIGNED},
      {"w2", 2, {980, 100}, BENCH_VAL_WEIGHT},
      {"b2", 1, {100}, BENCH_VAL_SIGNED},
      {"w3", 2, {100, 10}, BENCH_VAL_WEIGHT},
      {"b3", 1, {10}, BENCH_VAL_SIGNED}}},
};

/* The program of a single-op measurement, and its inputs. */
static trine_status_t bench_op_prog(const bench_item_t *it, char *text, size_t size,
                                    bench_input_t *in, size_t *n, trine_err_t *err)
{
    const size_t *d = it->dim;
    const char *fn = NULL;
    switch (it->op) {
    case BENCH_OP_MATMUL:
        snprintf(text, size, "input a b\noutput y = matmul(a, b)\n");
        in[0] = (bench_input_t){"a", 2, {d[0], d[1]}, BENCH_VAL_SIGNED};
        in[1] = (bench_input_t){"b", 2, {d[1], d[2]}, BENCH_VAL_WEIGHT};
        *n = 2;
        return TRINE_OK;
    case BENCH_OP_CONV2D:
        snprintf(text, size, "input x w\noutput y = conv2d(x, w, stride=1, pad=%zu)\n",
                 (d[1] - 1) / 2);
        in[0] = (bench_input_t){"x", 4, {it->batch, d[2], d[0], d[0]}, BENCH_VAL_DATA};
        in[1] = (bench_input_t){"w", 4, {d[3], d[2], d[1], d[1]}, BENCH_VAL_WEIGHT};
        *n = 2;
        return TRINE_OK;
    case BENCH_OP_MAXPOOL:
        snprintf(text, size, "input x\noutput y = maxpool(x, %zu)\n", it->window);
        in[0] = (bench_input_t){"x", 4, {it->batch, d[2], d[0], d[1]}, BENCH_VAL_SIGNED};
        *n = 1;
        return TRINE_OK;
    case BENCH_OP_COMPARE:
        snprintf(text, size, "input a b\noutput y = gt(a, b)\n");
        *n = 2;
        break;
    case BENCH_OP_DIVISION:
        snprintf(text, size, "input a b\noutput y = div(a, b, int_bits=%u)\n", it->int_bits);
        *n = 2;
        break;
    case BENCH_OP_RELU: fn = "relu"; break;
    case BENCH_OP_DRELU: fn = "drelu"; break;
    case BENCH_OP_SIGMOID: fn = "sigmoid"; break;
    case BENCH_OP_EXP: fn = "exp"; break;
    case BENCH_OP_RECIP: fn = "recip"; break;
    case BENCH_OP_RSQRT: fn = "rsqrt"; break;
    case BENCH_OP_LOG: fn = "log"; break;
    case BENCH_OP_TANH: fn = "tanh"; break;
    case BENCH_OP_ERF: fn = "erf"; break;
    case BENCH_OP_SOFTMAX: fn = "softmax"; break;
    case BENCH_OP_LOG_SOFTMAX: fn = "log_softmax"; break;
    default: return trine_err_set(err, TRINE_EINVAL, "bench_op_prog: not a single operation");
    }
    if (fn) {
        snprintf(text, size, "input x\noutput y = %s(x)\n", fn);
        *n = 1;
    }
    for (size_t i = 0; i < *n; i++) {
        in[i] = (bench_input_t){i ? "b" : (fn ? "x" : "a"), it->ndim, {0}, BENCH_VAL_SIGNED};
        memcpy(in[i].shape, d, sizeof in[i].shape);
    }
    if (it->op == BENCH_OP_DIVISION)
        in[0].val = BENCH_VAL_DIVIDEND, in[1].val = BENCH_VAL_DIVISOR;
    if (it->op == BENCH_OP_RECIP || it->op == BENCH_OP_RSQRT || it->op == BENCH_OP_LOG)
        in[0].val = BENCH_VAL_DIVISOR; /* within their domains */
    return TRINE_OK;
}

/* Uniform doubles in [0, 1) from the seeded stream, drawn in place. */
static void bench_uniform(double *out, size_t n, const uint8_t seed[randombytes_SEEDBYTES])
{
    randombytes_buf_deterministic(out, n * sizeof *out, seed);
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &out[i], sizeof bits);
        out[i] = (double)(bits >> 11) * 0x1p-53;
    }
}

static trine_status_t bench_values(plain_t **out, const bench_input_t *in, const plain_t *divisor,
                                   unsigned int_bits, unsigned seed, size_t index, trine_err_t *err)
{
    plain_t *p = calloc(1, sizeof *p);
    size_t count = 1;
    for (int k = 0; k < in->ndim; k++)
        count *= in->shape[k];
    if (!p || !(p->real = malloc(count * sizeof *p->real))) {
        free(p);
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for %zu values", count);
    }
    p->dtype = PLAIN_F8;
    p->ndim = in->ndim;
    for (int k = 0; k < TENSOR_MAX_DIMS; k++)
        p->shape[k] = k < in->ndim ? in->shape[k] : 1;
    p->count = count;
    uint8_t s[randombytes_SEEDBYTES] = {0};
    memcpy(s, &seed, sizeof seed);
    memcpy(s + sizeof seed, &index, sizeof index);
    bench_uniform(p->real, count, s);
    double fan = in->ndim == 4 ? (double)(count / in->shape[0]) : (double)in->shape[0];
    for (size_t i = 0; i < count; i++) {
        double u = p->real[i];
        switch (in->val) {
        case BENCH_VAL_DATA: break;
        case BENCH_VAL_SIGNED: p->real[i] = 2 * u - 1; break;
        case BENCH_VAL_WEIGHT: p->real[i] = (2 * u - 1) / sqrt(fan); break;
        case BENCH_VAL_DIVISOR: p->real[i] = 0.5 + 1.5 * u; break;
        case BENCH_VAL_DIVIDEND:
            p->real[i] = 0.99 * u * ldexp(divisor->real[i], (int)int_bits);
            break;
        }
    }
    *out = p;
    return TRINE_OK;
}

trine_status_t bench_prog_build(bench_prog_t *out, const bench_item_t *item, unsigned seed,
                                unsigned frac_bits, unsigned batches, trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    char text[1024];
    bench_input_t in[BENCH_INPUTS_MAX];
    size_t n = 0;
    trine_status_t st = TRINE_OK;
    if (item->op >= BENCH_OP_NETWORK_A && item->op <= BENCH_OP_NETWORK_D) {
        const bench_net_t *net = &bench_nets[item->op - BENCH_OP_NETWORK_A];
        /* every text opens with "input x ": x becomes the batch input */
        if (batches > 1)
            snprintf(text, sizeof text, "batch x\ninput%s", net->text + strlen("input x"));
        else
            snprintf(text, sizeof text, "%s", net->text);
        for (n = 0; n < BENCH_INPUTS_MAX && net->in[n].name; n++) {
            in[n] = net->in[n];
            if (in[n].shape[0] == 0)
                in[n].shape[0] = item->batch * batches;
        }
    } else {
        st = bench_op_prog(item, text, sizeof text, in, &n, err);
    }
    if (st == TRINE_OK)
        st = prog_text_compile(&out->prog, text, strlen(text), bench_op_name(item->op), err);
    for (size_t i = 0; st == TRINE_OK && i < n; i++)
        st = prog_text_set_shape(&out->prog, in[i].name, in[i].ndim, in[i].shape, err);
    /* Divisors first: a dividend is drawn below its divisor. */
    for (size_t k = n; st == TRINE_OK && k-- > 0;) {
        st = bench_values(&out->inputs[k], &in[k], k + 1 < n ? out->inputs[k + 1] : NULL,
                          item->int_bits, seed, k, err);
        out->ninputs += st == TRINE_OK;
    }
    prog_shapes_t *shapes = st == TRINE_OK ? malloc(sizeof *shapes) : NULL;
    if (st == TRINE_OK && !shapes)
        st = trine_err_set(err, TRINE_ENOMEM, "out of memory");
    if (st == TRINE_OK)
        st = prog_check(&out->prog, 1, shapes, err);
    if (st == TRINE_OK)
        out->securenn_bytes = prog_securenn_bytes(&out->prog, shapes, frac_bits);
    free(shapes);
    if (st != TRINE_OK)
        bench_prog_clear(out);
    return st;
}

void bench_prog_clear(bench_prog_t *b)
{
    for (size_t i = 0; i < BENCH_INPUTS_MAX; i++)
        plain_destroy(&b->inputs[i]);
    prog_clear(&b->prog);
    memset(b, 0, sizeof *b);
}

bool bench_reference(const bench_item_t *item, double *secs, double *bytes)
{
    /* A measurement matches by its size as the config writes it, or, where
     * size is NULL, by its element count (any shape of 16384 ReLUs; 0 for
     * a network, which has no size). */
    static const struct {
        bench_op_t op;
        size_t batch;
        const char *size;
        size_t elems;
        double secs, bytes;
    } refs[] = {
        /* networks: shared/peers' medians, interleaved with trine (DESIGN 11) */
        {BENCH_OP_NETWORK_A, 1, NULL, 0, 0.0130, 2.10e6},
        {BENCH_OP_NETWORK_A, 128, NULL, 0, 0.154, 29.1e6},
        {BENCH_OP_NETWORK_B, 1, NULL, 0, 0.0484, 8.86e6},
        {BENCH_OP_NETWORK_B, 128, NULL, 0, 4.98, 1067e6},
        {BENCH_OP_NETWORK_C, 1, NULL, 0, 0.0917, 18.9e6},
        {BENCH_OP_NETWORK_C, 128, NULL, 0, 7.56, 1550e6},
        {BENCH_OP_NETWORK_D, 1, NULL, 0, 0.0165, 2.46e6},
        {BENCH_OP_NETWORK_D, 128, NULL, 0, 0.543, 114e6},
        /* single protocols: SecureNN's code timed alone, earlier */
        {BENCH_OP_RELU, 1, NULL, 16384, 0.0976, 11.5e6},
        {BENCH_OP_MATMUL, 1, "128x784x128", 0, 0.0446, 3.34e6},
    };
    size_t elems = item->ndim ? 1 : 0;
    for (int k = 0; k < item->ndim; k++)
        elems *= item->dim[k];
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        if (refs[i].op == item->op && refs[i].batch == item->batch &&
            (refs[i].size ? !strcmp(refs[i].size, item->size) : refs[i].elems == elems)) {
            *secs = refs[i].secs;
            *bytes = refs[i].bytes;
            return true;
        }
    return false;
}
