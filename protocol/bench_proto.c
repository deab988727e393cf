/* bench_proto.c — runs each protocol at fixed sizes with the three parties
 * as three threads over the in-process link and prints one line per
 * protocol and size:
 *   proto op=drelu n=16384 rounds=7 bytes_total=... bytes_per_elem=...
 *         securenn_bytes_per_elem=664 time_s=...
 * bytes_total is what all three parties sent in one call, rounds the
 * call's rounds (ctx.h), time_s the best wall time over the repetitions.
 * Elements are values, except: matmul and conv per output element, maxpool
 * and avgpool per window. securenn_bytes_per_elem is SecureNN's cost of the
 * same call from its Tables 1 and 2 (ell = 64, p = 67, one byte per Z_p
 * element); sigmoid's is that of its two DReLUs and two products,
 * sigmoid_fine's that of its eight ReLUs. avgpool, sigmoid_fine and
 * trunc_exact truncate exactly (trunc.c), trunc_local by SecureML's local
 * rule (SecureNN's choice: no messages); both by 13 bits. exp, recip,
 * rsqrt, log (over ONNX Log's range, PROG_LOG_*_DEFAULT), tanh, erf,
 * softmax and log_softmax (one row of n values) have no SecureNN
 * counterpart: 0.
 * --check exits 1 when a target of DESIGN section 5 is missed. */
#include "protocol/link_local.h"
#include "protocol/program.h"
#include "protocol/proto.h"

#include "tensor/prg.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum {
    K_RECONSTRUCT,
    K_MUL,
    K_SELECT,
    K_MATMUL,
    K_MATMUL_MASKED,
    K_CONV,
    K_PC,
    K_SC,
    K_MSB,
    K_DRELU,
    K_RELU,
    K_COMPARE,
    K_MAXPOOL,
    K_AVGPOOL,
    K_DIV,
    K_SIGMOID,
    K_SIGMOID_FINE,
    K_TRUNC_EXACT,
    K_TRUNC_LOCAL,
    K_EXP,
    K_RECIP,
    K_RSQRT,
    K_SOFTMAX,
    K_LOG,
    K_TANH,
    K_ERF,
    K_LOG_SOFTMAX
} kind_t;

typedef struct {
    const char *name;
    kind_t kind;
    size_t d[4]; /* n; or m, n, v; or conv m, f, i, o; or pool h(=w), c, k */
} spec_t;

static const spec_t full_specs[] = {
    {"reconstruct", K_RECONSTRUCT, {16384}},
    {"mul", K_MUL, {16384}},
    {"select", K_SELECT, {16384}},
    {"matmul", K_MATMUL, {1, 100, 1}},
    {"matmul", K_MATMUL, {1, 500, 100}},
    {"matmul", K_MATMUL, {784, 128, 10}},
    {"matmul", K_MATMUL, {128, 784, 128}},
    {"matmul_masked", K_MATMUL_MASKED, {1, 784, 128}},
    {"matmul_masked", K_MATMUL_MASKED, {128, 784, 128}},
    {"conv", K_CONV, {8, 5, 16, 50}},
    {"conv", K_CONV, {28, 3, 1, 20}},
    {"conv", K_CONV, {28, 5, 1, 20}},
    {"private_compare", K_PC, {16384}},
    {"share_convert", K_SC, {16384}},
    {"msb", K_MSB, {16384}},
    {"drelu", K_DRELU, {1024}},
    {"drelu", K_DRELU, {11520}},
    {"drelu", K_DRELU, {16384}},
    {"relu", K_RELU, {1024}},
    {"relu", K_RELU, {16384}},
    {"compare", K_COMPARE, {16384}},
    {"maxpool", K_MAXPOOL, {8, 50, 4}},
    {"maxpool", K_MAXPOOL, {24, 16, 2}},
    {"maxpool", K_MAXPOOL, {24, 20, 2}},
    {"avgpool", K_AVGPOOL, {24, 16, 2}},
    {"div", K_DIV, {1024}},
    {"sigmoid", K_SIGMOID, {16384}},
    {"sigmoid_fine", K_SIGMOID_FINE, {16384}},
    {"trunc_exact", K_TRUNC_EXACT, {16384}},
    {"trunc_local", K_TRUNC_LOCAL, {16384}},
    {"exp", K_EXP, {16384}},
    {"recip", K_RECIP, {16384}},
    {"rsqrt", K_RSQRT, {16384}},
    {"softmax", K_SOFTMAX, {16}},
    {"softmax", K_SOFTMAX, {1024}},
    {"log", K_LOG, {16384}},
    {"tanh", K_TANH, {16384}},
    {"erf", K_ERF, {16384}},
    {"log_softmax", K_LOG_SOFTMAX, {16}},
    {"log_softmax", K_LOG_SOFTMAX, {1024}},
};

static const spec_t small_specs[] = {
    {"reconstruct", K_RECONSTRUCT, {64}},
    {"mul", K_MUL, {64}},
    {"select", K_SELECT, {64}},
    {"matmul", K_MATMUL, {4, 8, 3}},
    {"matmul_masked", K_MATMUL_MASKED, {4, 8, 3}},
    {"conv", K_CONV, {6, 3, 2, 4}},
    {"private_compare", K_PC, {64}},
    {"share_convert", K_SC, {64}},
    {"msb", K_MSB, {64}},
    {"drelu", K_DRELU, {64}},
    {"relu", K_RELU, {64}},
    {"compare", K_COMPARE, {64}},
    {"maxpool", K_MAXPOOL, {4, 2, 2}},
    {"avgpool", K_AVGPOOL, {4, 2, 2}},
    {"div", K_DIV, {16}},
    {"sigmoid", K_SIGMOID, {64}},
    {"sigmoid_fine", K_SIGMOID_FINE, {64}},
    {"trunc_exact", K_TRUNC_EXACT, {64}},
    {"trunc_local", K_TRUNC_LOCAL, {64}},
    {"exp", K_EXP, {64}},
    {"recip", K_RECIP, {64}},
    {"rsqrt", K_RSQRT, {64}},
    {"softmax", K_SOFTMAX, {16}},
    {"log", K_LOG, {64}},
    {"tanh", K_TANH, {64}},
    {"erf", K_ERF, {64}},
    {"log_softmax", K_LOG_SOFTMAX, {16}},
};

/* ell log p + k ell bits in bytes, ell = 64, log p = 8 */
#define SNN(lp, l) ((double)(64 * 8 * (lp) + 64 * (l)) / 8.0)

typedef struct {
    const spec_t *spec;
    unsigned reps;
    proto_protocol_t protocol;
    pthread_barrier_t barrier;
    double secs[PROTO_PARTIES];
    proto_counters_t call[PROTO_PARTIES];
} job_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Inputs: random shares at P0 and P1 (values as SecureNN's benchmark
 * uses them: any ring element), zeros at P2; public values from a seed
 * both compute parties know. */
static tensor_t *input(int ndim, const size_t *shape, proto_party_t p, uint64_t purpose,
                       const prg_t *own, unsigned shift)
{
    tensor_t *t = tensor_new(ndim, shape);
    if (t && p != PROTO_P2) {
        prg_tensor_ring(own, purpose, 0, t);
        for (size_t i = 0; i < t->size; i++)
            t->data[i] = (uint64_t)((int64_t)t->data[i] >> shift);
    }
    return t;
}

#define NT 6

typedef struct {
    tensor_t *t[NT];
    proto_masked_t *masked;
    conv_geom_t g;
    proto_pool_t pool;
} inputs_t;

static trine_status_t prepare(proto_ctx_t *ctx, const spec_t *s, inputs_t *in, trine_err_t *err)
{
    proto_party_t p = proto_ctx_role(ctx);
    prg_t *own = prg_new_random();
    uint8_t zero[PRG_SEED_BYTES] = {0};
    prg_t *common = prg_new(zero); /* public values */
    if (!own || !common) {
        prg_destroy(&own), prg_destroy(&common);
        return TRINE_ENOMEM;
    }
    const size_t *d = s->d;
    size_t n1[] = {d[0]}, two[] = {2 * d[0]};
    trine_status_t st = TRINE_OK;
    switch (s->kind) {
    case K_MATMUL:
    case K_MATMUL_MASKED: {
        size_t a[] = {d[0], d[1]}, b[] = {d[1], d[2]}, o[] = {d[0], d[2]};
        in->t[0] = input(2, a, p, 1, own, 0);
        in->t[1] = input(2, b, p, 2, own, 0);
        in->t[2] = tensor_new(2, o);
        if (s->kind == K_MATMUL_MASKED && in->t[1])
            st = proto_masked_new(ctx, &in->masked, in->t[1], err);
        break;
    }
    case K_CONV: { /* m x m input, f x f filter, i in, o out channels, same size out */
        in->g = (conv_geom_t){.n = 1,
                              .c = d[2],
                              .h = d[0],
                              .w = d[0],
                              .kh = d[1],
                              .kw = d[1],
                              .sh = 1,
                              .sw = 1,
                              .pt = (d[1] - 1) / 2,
                              .pl = (d[1] - 1) / 2,
                              .pb = (d[1] - 1) / 2,
                              .pr = (d[1] - 1) / 2};
        size_t xs[] = {1, d[2], d[0], d[0]}, ws[] = {d[3], d[2] * d[1] * d[1]}, oh, ow;
        if (conv_out_size(&in->g, &oh, &ow) != TRINE_OK) {
            st = TRINE_EINVAL;
            break;
        }
        size_t os[] = {1, d[3], oh, ow};
        in->t[0] = input(4, xs, p, 1, own, 0);
        in->t[1] = input(2, ws, p, 2, own, 0);
        in->t[2] = tensor_new(4, os);
        break;
    }
    case K_MAXPOOL:
    case K_AVGPOOL: {
        in->pool = (proto_pool_t){.kh = d[2], .kw = d[2], .sh = d[2], .sw = d[2]};
        size_t xs[] = {1, d[1], d[0], d[0]}, oh = d[0] / d[2];
        size_t os[] = {1, d[1], oh, oh};
        in->t[0] = input(4, xs, p, 1, own, 4);
        in->t[1] = tensor_new(4, os);
        in->t[2] = tensor_new_2d(d[1] * oh * oh, d[2] * d[2]);
        break;
    }
    case K_PC: {
        size_t bs[] = {64 * d[0]};
        in->t[0] = input(1, bs, p, 1, own, 0);
        in->t[1] = input(1, n1, PROTO_P0, 2, common, 0);
        in->t[2] = tensor_new(1, n1);
        for (size_t i = 0; in->t[0] && i < in->t[0]->size; i++)
            in->t[0]->data[i] %= 67;
        break;
    }
    default:
        for (int i = 0; i < 3; i++)
            in->t[i] = input(1, n1, p, (uint64_t)i + 1, own, s->kind == K_DIV ? 36 : 2);
        in->t[3] = tensor_new(1, n1);
        in->t[4] = tensor_new(1, two);
        if (s->kind == K_DIV && in->t[1]) /* a positive divisor */
            for (size_t i = 0; i < d[0]; i++)
                in->t[1]->data[i] |= (uint64_t)1 << 28;
        break;
    }
    prg_destroy(&own), prg_destroy(&common);
    for (int i = 0; st == TRINE_OK && i < 3; i++)
        if (!in->t[i])
            st = TRINE_ENOMEM;
    return st;
}

static trine_status_t run_op(proto_ctx_t *ctx, const spec_t *s, inputs_t *in, trine_err_t *err)
{
    tensor_t **t = in->t;
    switch (s->kind) {
    case K_RECONSTRUCT: return proto_reconstruct(ctx, t[3], t[0], err);
    case K_MUL: return proto_mul(ctx, t[3], t[0], t[1], err);
    case K_SELECT: return proto_select(ctx, t[3], t[2], t[0], t[1], err);
    case K_MATMUL: return proto_matmul(ctx, t[2], t[0], GEMM_NOTRANS, t[1], GEMM_NOTRANS, err);
    case K_MATMUL_MASKED:
        return proto_matmul_masked(ctx, t[2], t[0], GEMM_NOTRANS, in->masked, GEMM_NOTRANS, err);
    case K_CONV: return proto_conv2d(ctx, t[2], t[0], t[1], &in->g, err);
    case K_PC: return proto_private_compare(ctx, t[2], t[0], t[1], err);
    case K_SC: return proto_share_convert(ctx, t[3], t[0], err);
    case K_MSB: return proto_msb(ctx, t[3], t[0], err);
    case K_DRELU: return proto_drelu(ctx, t[3], t[0], err);
    case K_RELU: return proto_relu(ctx, t[3], NULL, t[0], err);
    case K_COMPARE: return proto_compare(ctx, t[3], t[0], t[1], PROTO_CMP_GT, err);
    case K_MAXPOOL: return proto_maxpool(ctx, t[1], t[2], t[0], &in->pool, err);
    case K_AVGPOOL: return proto_avgpool(ctx, t[1], t[0], &in->pool, err);
    case K_DIV: return proto_div(ctx, t[3], t[0], t[1], 0, err);
    case K_SIGMOID: return proto_sigmoid(ctx, t[3], t[0], err);
    case K_SIGMOID_FINE: return proto_sigmoid_fine(ctx, t[3], t[0], err);
    case K_TRUNC_EXACT:
    case K_TRUNC_LOCAL:
        proto_ctx_set_truncation(ctx, s->kind == K_TRUNC_EXACT ? PROTO_TRUNC_EXACT
                                                               : PROTO_TRUNC_LOCAL);
        return proto_truncate(ctx, t[0], proto_ctx_frac_bits(ctx), err);
    case K_EXP: return proto_exp(ctx, t[3], t[0], err);
    case K_RECIP: return proto_recip(ctx, t[3], t[0], err);
    case K_RSQRT: return proto_rsqrt(ctx, t[3], t[0], err);
    case K_SOFTMAX: return proto_softmax(ctx, t[3], t[0], err);
    case K_LOG:
        return proto_log(ctx, t[3], t[0], PROG_LOG_LO_DEFAULT, PROG_LOG_HI_DEFAULT, err);
    case K_TANH: return proto_tanh(ctx, t[3], t[0], err);
    case K_ERF: return proto_erf(ctx, t[3], t[0], err);
    case K_LOG_SOFTMAX: return proto_log_softmax(ctx, t[3], t[0], err);
    }
    return TRINE_EINVAL;
}

static trine_status_t party(const link_t *link, proto_party_t p, void *arg, trine_err_t *err)
{
    job_t *job = arg;
    proto_ctx_t *ctx = NULL;
    inputs_t in = {0};
    trine_status_t st = proto_ctx_new(&ctx, p, link, 13, err);
    if (st == TRINE_OK)
        st = proto_ctx_set_protocol(ctx, job->protocol, err);
    if (st == TRINE_OK)
        st = prepare(ctx, job->spec, &in, err);
    job->secs[p] = 1e9;
    for (unsigned r = 0; st == TRINE_OK && r < job->reps; r++) {
        pthread_barrier_wait(&job->barrier);
        double t0 = now();
        st = run_op(ctx, job->spec, &in, err);
        double dt = now() - t0;
        job->secs[p] = dt < job->secs[p] ? dt : job->secs[p];
    }
    if (st == TRINE_OK) {
        proto_stats_t stats;
        proto_ctx_stats(ctx, &stats);
        job->call[p] = stats.last_call;
    }
    for (int i = 0; i < NT; i++)
        tensor_destroy(&in.t[i]);
    proto_masked_destroy(&in.masked);
    proto_ctx_destroy(&ctx);
    return st;
}

/* Elements of the call and SecureNN's bytes per element, with the size
 * token printed as n=. */
static double elems(const spec_t *s, double *snn, char *tok, size_t toklen)
{
    const size_t *d = s->d;
    double m = (double)d[0], n = (double)d[1], v = (double)d[2];
    switch (s->kind) {
    case K_MATMUL:
    case K_MATMUL_MASKED:
        snprintf(tok, toklen, "%zux%zux%zu", d[0], d[1], d[2]);
        *snn = 8 * (2 * m * n + 2 * n * v + m * v) / (m * v);
        return m * v;
    case K_CONV: { /* SecureNN's Conv2d m, i, f, o with an m x m output */
        double f = n, i = v, o = (double)d[3];
        snprintf(tok, toklen, "%zux%zux%zux%zu", d[0], d[1], d[2], d[3]);
        *snn = 8 * (2 * m * m * f * f * i + 2 * f * f * o * i + m * m * o) / (m * m * o);
        return m * m * o;
    }
    case K_MAXPOOL:
    case K_AVGPOOL: {
        double k2 = v * v, win = (m / v) * (m / v) * n;
        snprintf(tok, toklen, "%zux%zux%zu_%zux%zu", d[0], d[0], d[1], d[2], d[2]);
        *snn = s->kind == K_MAXPOOL ? SNN(8, 29) * (k2 - 1) : 0;
        return win;
    }
    default: snprintf(tok, toklen, "%zu", d[0]); break;
    }
    switch (s->kind) {
    case K_RECONSTRUCT: *snn = 16; break;
    case K_MUL:
    case K_SELECT: *snn = 40; break;
    case K_PC: *snn = SNN(2, 0); break;
    case K_SC: *snn = SNN(4, 6); break;
    case K_MSB: *snn = SNN(4, 13); break;
    case K_DRELU:
    case K_COMPARE: *snn = SNN(8, 19); break;
    case K_RELU: *snn = SNN(8, 24); break;
    case K_DIV: *snn = SNN(8, 24) * 13; break; /* l_D = 13 quotient bits */
    case K_SIGMOID: *snn = 2 * SNN(8, 19) + 2 * 40; break;
    case K_SIGMOID_FINE: *snn = PROTO_SIGMOID_FINE_KNOTS * SNN(8, 24); break; /* ReLUs */
    default: break;
    }
    return m;
}

/* The targets of DESIGN section 5; prints the miss and returns false. */
static bool meets_target(const spec_t *s, uint64_t rounds, uint64_t bytes, double per)
{
    const size_t *d = s->d;
    double m = (double)d[0], n = (double)d[1], v = (double)d[2];
    bool ok = true;
    switch (s->kind) {
    case K_DRELU: ok = per <= 500 && rounds <= 8; break;
    case K_RELU: ok = per <= 540 && rounds <= 10; break;
    case K_MATMUL: ok = (double)bytes <= 8 * (2 * m * n + 2 * n * v + m * v); break;
    case K_MATMUL_MASKED: ok = (double)bytes <= 8 * (2 * m * n + m * v); break;
    case K_MAXPOOL: ok = d[2] != 2 || (per <= 1700 && rounds <= 2 * 8); break;
    default: break;
    }
    if (!ok)
        fprintf(stderr, "trine-bench-proto: %s misses its target\n", s->name);
    return ok;
}

static int bench_one(const spec_t *s, unsigned reps, proto_protocol_t protocol, bool check)
{
    job_t job = {.spec = s, .reps = reps, .protocol = protocol};
    pthread_barrier_init(&job.barrier, NULL, PROTO_PARTIES);
    link_local_t *hub = link_local_new(60000);
    trine_status_t status[PROTO_PARTIES];
    trine_err_t err[PROTO_PARTIES];
    if (!hub || link_local_run(hub, party, &job, status, err) != TRINE_OK) {
        fprintf(stderr, "trine-bench-proto: cannot start the parties\n");
        link_local_destroy(&hub);
        pthread_barrier_destroy(&job.barrier);
        return 1;
    }
    link_local_destroy(&hub);
    pthread_barrier_destroy(&job.barrier);
    for (int p = 0; p < PROTO_PARTIES; p++)
        if (status[p] != TRINE_OK) {
            fprintf(stderr, "trine-bench-proto: %s: P%d: %s\n", s->name, p, err[p].msg);
            return 1;
        }
    uint64_t bytes = 0, offline = 0;
    double secs = 0;
    for (int p = 0; p < PROTO_PARTIES; p++) {
        bytes += proto_counters_bytes_sent(&job.call[p]);
        offline += job.call[p].offline_bytes;
        secs = job.secs[p] > secs ? job.secs[p] : secs;
    }
    uint64_t rounds = proto_stats_call_rounds(&job.call[0], &job.call[1], &job.call[2]);
    char tok[64];
    double snn = 0, count = elems(s, &snn, tok, sizeof tok), per = (double)bytes / count;
    printf("proto op=%s n=%s rounds=%llu bytes_total=%llu bytes_per_elem=%.1f "
           "securenn_bytes_per_elem=%.0f time_s=%.3f online_bytes_per_elem=%.1f "
           "offline_bytes_per_elem=%.1f protocol=%s\n",
           s->name, tok, (unsigned long long)rounds, (unsigned long long)bytes, per, snn, secs,
           (double)(bytes - offline) / count, (double)offline / count,
           proto_protocol_name(protocol));
    fflush(stdout);
    double checked = protocol != PROTO_SECURENN ? (double)(bytes - offline) / count : per;
    return check && !meets_target(s, rounds, bytes - (protocol != PROTO_SECURENN ? offline : 0),
                                  checked)
               ? 1
               : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: trine-bench-proto [--small] [--check] [--reps R] [--protocol P]\n"
               "                         [--op NAME]...\n"
               "  Runs the protocols with three parties as threads of this process and\n"
               "  prints one line per protocol and size:\n"
               "    proto op=NAME n=SIZE rounds=R bytes_total=B bytes_per_elem=X\n"
               "          securenn_bytes_per_elem=Y time_s=T online_bytes_per_elem=X1\n"
               "          offline_bytes_per_elem=X2 protocol=P\n"
               "  (offline bytes: what P2 deals, input-independent; X = X1 + X2)\n"
               "  --small    tiny sizes (a smoke test)\n"
               "  --check    exit 1 when a DReLU, ReLU, MatMul or Maxpool target is missed\n"
               "             (under fss and carry, by the online bytes)\n"
               "  --reps R   best time of R calls (default 3)\n"
               "  --protocol securenn|fss|carry|auto  the comparisons' protocols\n"
               "             (default securenn; fss: function secret sharing, needs\n"
               "             AES-NI; carry: the carry of the shares' sum; auto: fss for\n"
               "             at most 64 values, carry above)\n"
               "  --op NAME  only this protocol (repeatable): reconstruct mul select matmul\n"
               "             matmul_masked conv private_compare share_convert msb drelu relu\n"
               "             compare maxpool avgpool div sigmoid sigmoid_fine trunc_exact\n"
               "             trunc_local exp recip rsqrt softmax log tanh erf log_softmax\n");
}

int main(int argc, char **argv)
{
    bool small = false, check = false;
    unsigned reps = 3;
    proto_protocol_t protocol = PROTO_SECURENN;
    const char *ops[32];
    int nops = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--small")) {
            small = true;
        } else if (!strcmp(argv[i], "--check")) {
            check = true;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc && atoi(argv[i + 1]) > 0) {
            reps = (unsigned)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--protocol") && i + 1 < argc &&
                   (!strcmp(argv[i + 1], "securenn") || !strcmp(argv[i + 1], "fss") ||
                    !strcmp(argv[i + 1], "auto") || !strcmp(argv[i + 1], "carry"))) {
            i++;
            protocol = !strcmp(argv[i], "fss")     ? PROTO_FSS
                       : !strcmp(argv[i], "carry") ? PROTO_CARRY
                       : !strcmp(argv[i], "auto") ? PROTO_AUTO
                                                  : PROTO_SECURENN;
        } else if (!strcmp(argv[i], "--op") && i + 1 < argc && nops < 32) {
            ops[nops++] = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    const spec_t *specs = small ? small_specs : full_specs;
    size_t count =
        small ? sizeof small_specs / sizeof *small_specs : sizeof full_specs / sizeof *full_specs;
    int failed = 0, matched = 0;
    for (size_t i = 0; i < count; i++) {
        bool want = nops == 0;
        for (int j = 0; j < nops; j++)
            want |= !strcmp(ops[j], specs[i].name);
        if (want) {
            matched++;
            failed |= bench_one(&specs[i], reps, protocol, check);
        }
    }
    if (matched == 0) {
        fprintf(stderr, "trine-bench-proto: no such protocol\n");
        return 2;
    }
    return failed;
}
