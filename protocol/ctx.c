/* ctx.c — the party context: seed agreement, counted messaging with round
 * stamps, pairwise randomness (see ctx.h and internal.h). */
#include "internal.h"

#include "dcf.h"

#include "tensor/fixed.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const op_names[PROTO_OP_COUNT] = {
    [PROTO_OP_SETUP] = "setup",
    [PROTO_OP_RECONSTRUCT] = "reconstruct",
    [PROTO_OP_MUL] = "mul",
    [PROTO_OP_MATMUL] = "matmul",
    [PROTO_OP_MASK] = "mask",
    [PROTO_OP_MATMUL_MASKED] = "matmul_masked",
    [PROTO_OP_CONV] = "conv",
    [PROTO_OP_CONV_MASKED] = "conv_masked",
    [PROTO_OP_PRIVATE_COMPARE] = "private_compare",
    [PROTO_OP_SHARE_CONVERT] = "share_convert",
    [PROTO_OP_MSB] = "msb",
    [PROTO_OP_DRELU] = "drelu",
    [PROTO_OP_RELU] = "relu",
    [PROTO_OP_SELECT] = "select",
    [PROTO_OP_COMPARE] = "compare",
    [PROTO_OP_MAXPOOL] = "maxpool",
    [PROTO_OP_ARGMAX] = "argmax",
    [PROTO_OP_AVGPOOL] = "avgpool",
    [PROTO_OP_DIV] = "div",
    [PROTO_OP_SIGMOID] = "sigmoid",
    [PROTO_OP_SIGMOID_FINE] = "sigmoid_fine",
    [PROTO_OP_TRUNC] = "trunc",
    [PROTO_OP_EXP] = "exp",
    [PROTO_OP_RECIP] = "recip",
    [PROTO_OP_RSQRT] = "rsqrt",
    [PROTO_OP_SOFTMAX] = "softmax",
    [PROTO_OP_LOG] = "log",
    [PROTO_OP_TANH] = "tanh",
    [PROTO_OP_ERF] = "erf",
    [PROTO_OP_LOG_SOFTMAX] = "log_softmax",
    [PROTO_OP_CONV_GRAD] = "conv_grad",
    [PROTO_OP_PACE] = "pace",
};

const char *proto_op_name(proto_op_t op)
{
    return op < PROTO_OP_COUNT && op_names[op] ? op_names[op] : "unknown";
}

/* The lower-numbered party of each pair draws the pair's seed and sends it;
 * all sends go before the receives, so that agreement takes one round. */
static trine_status_t ctx_agree_seeds(proto_ctx_t *ctx, trine_err_t *err)
{
    for (int pass = 0; pass < 2; pass++)
        for (int peer = 0; peer < PROTO_PARTIES; peer++) {
            bool draws = (int)ctx->role < peer;
            if (peer == (int)ctx->role || draws != (pass == 0))
                continue;
            uint8_t seed[PRG_SEED_BYTES];
            trine_status_t st;
            if (draws) {
                st = prg_seed_random(seed);
                if (st != TRINE_OK)
                    trine_err_set(err, st, "P%d: no random seed (libsodium)", (int)ctx->role);
                else
                    st = proto_send(ctx, (proto_party_t)peer, seed, sizeof seed, err);
            } else {
                st = proto_recv(ctx, (proto_party_t)peer, seed, sizeof seed, err);
            }
            if (st == TRINE_OK) {
                ctx->prg[peer] = prg_new(seed);
                if (!ctx->prg[peer])
                    st = trine_err_set(err, TRINE_ENOMEM, "P%d: no memory for a PRG",
                                       (int)ctx->role);
            }
            sodium_memzero(seed, sizeof seed);
            if (st != TRINE_OK)
                return st;
        }
    return TRINE_OK;
}

trine_status_t proto_ctx_new(proto_ctx_t **out, proto_party_t role, const link_t *link,
                             unsigned frac_bits, trine_err_t *err)
{
    *out = NULL;
    if (role > PROTO_P2 || !link || !link->send || !link->recv)
        return trine_err_set(err, TRINE_EINVAL, "proto_ctx_new: bad role or link");
    if (frac_bits > FIXED_FRAC_BITS_MAX)
        return trine_err_set(err, TRINE_EINVAL, "frac_bits %u is above %u", frac_bits,
                             FIXED_FRAC_BITS_MAX);
    proto_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return trine_err_set(err, TRINE_ENOMEM, "no memory for a protocol context");
    ctx->role = role;
    ctx->link = *link;
    ctx->frac_bits = frac_bits;
    ctx->fss_max = PROTO_FSS_MAX_DEFAULT;
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_SETUP, err);
    if (st == TRINE_OK)
        st = proto_op_end(ctx, ctx_agree_seeds(ctx, err));
    if (st != TRINE_OK) {
        proto_ctx_destroy(&ctx);
        return st;
    }
    *out = ctx;
    return TRINE_OK;
}

void proto_ctx_destroy(proto_ctx_t **ctx)
{
    if (!ctx || !*ctx)
        return;
    for (int i = 0; i < PROTO_PARTIES; i++)
        prg_destroy(&(*ctx)->prg[i]);
    sodium_memzero(*ctx, sizeof **ctx);
    free(*ctx);
    *ctx = NULL;
}

proto_party_t proto_ctx_role(const proto_ctx_t *ctx)
{
    return ctx->role;
}

unsigned proto_ctx_frac_bits(const proto_ctx_t *ctx)
{
    return ctx->frac_bits;
}

void proto_ctx_set_truncation(proto_ctx_t *ctx, proto_trunc_t mode)
{
    ctx->trunc = mode;
}

proto_trunc_t proto_ctx_truncation(const proto_ctx_t *ctx)
{
    return ctx->trunc;
}

const char *proto_trunc_name(proto_trunc_t mode)
{
    return mode == PROTO_TRUNC_LOCAL ? "local" : "exact";
}

trine_status_t proto_ctx_set_protocol(proto_ctx_t *ctx, proto_protocol_t p, trine_err_t *err)
{
    if ((p == PROTO_FSS || p == PROTO_AUTO) && !dcf_available())
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "P%d: protocol %s needs a CPU with AES-NI, which this host lacks; "
                             "use protocol = securenn",
                             (int)ctx->role, proto_protocol_name(p));
    ctx->protocol = p;
    return TRINE_OK;
}

proto_protocol_t proto_ctx_protocol(const proto_ctx_t *ctx)
{
    return ctx->protocol;
}

void proto_ctx_set_fss_max(proto_ctx_t *ctx, uint64_t n)
{
    ctx->fss_max = n;
}

bool proto_ctx_fss(const proto_ctx_t *ctx, size_t n)
{
    return ctx->protocol == PROTO_FSS || (ctx->protocol == PROTO_AUTO && n <= ctx->fss_max);
}

bool proto_ctx_carry(const proto_ctx_t *ctx, size_t n)
{
    return ctx->protocol == PROTO_CARRY || (ctx->protocol == PROTO_AUTO && n > ctx->fss_max);
}

const char *proto_protocol_name(proto_protocol_t p)
{
    return p == PROTO_FSS    ? "fss"
           : p == PROTO_AUTO  ? "auto"
           : p == PROTO_CARRY ? "carry"
                              : "securenn";
}

void proto_ctx_stats(const proto_ctx_t *ctx, proto_stats_t *out)
{
    *out = ctx->stats;
}

uint64_t proto_counters_bytes_sent(const proto_counters_t *c)
{
    return c->bytes_sent[0] + c->bytes_sent[1] + c->bytes_sent[2];
}

uint64_t proto_counters_msgs_sent(const proto_counters_t *c)
{
    return c->msgs_sent[0] + c->msgs_sent[1] + c->msgs_sent[2];
}

uint64_t proto_stats_call_rounds(const proto_counters_t *p0, const proto_counters_t *p1,
                                 const proto_counters_t *p2)
{
    uint64_t r = p0->rounds;
    r = p1->rounds > r ? p1->rounds : r;
    return p2->rounds > r ? p2->rounds : r;
}

static void counters_add(proto_counters_t *to, const proto_counters_t *c)
{
    for (int j = 0; j < PROTO_PARTIES; j++) {
        to->bytes_sent[j] += c->bytes_sent[j];
        to->bytes_recv[j] += c->bytes_recv[j];
        to->msgs_sent[j] += c->msgs_sent[j];
        to->msgs_recv[j] += c->msgs_recv[j];
    }
    to->rounds += c->rounds;
    to->calls += c->calls;
    to->offline_bytes += c->offline_bytes;
    to->offline_wait_ns += c->offline_wait_ns;
}

trine_status_t proto_op_begin(proto_ctx_t *ctx, proto_op_t op, trine_err_t *err)
{
    if (ctx->failed)
        return trine_err_set(err, TRINE_EPEER,
                             "P%d: an earlier failure lost this job's protocol state",
                             (int)ctx->role);
    if (ctx->depth++ == 0) {
        ctx->op = op;
        ctx->stamp = 0;
        memset(&ctx->call, 0, sizeof ctx->call);
    }
    return TRINE_OK;
}

trine_status_t proto_op_end(proto_ctx_t *ctx, trine_status_t st)
{
    if (st != TRINE_OK)
        ctx->failed = true;
    if (--ctx->depth == 0) {
        ctx->call.rounds = ctx->stamp;
        ctx->call.calls = 1;
        counters_add(&ctx->stats.total, &ctx->call);
        counters_add(&ctx->stats.op[ctx->op], &ctx->call);
        ctx->stats.last_op = ctx->op;
        ctx->stats.last_call = ctx->call;
    }
    return st;
}

trine_status_t proto_send(proto_ctx_t *ctx, proto_party_t to, const void *buf, size_t len,
                          trine_err_t *err)
{
    link_hdr_t hdr = {.step = ctx->sent_step[to], .round = ctx->stamp + 1};
    trine_status_t st = ctx->link.send(ctx->link.impl, to, &hdr, buf, len, err);
    if (st != TRINE_OK)
        return st;
    ctx->sent_step[to]++;
    ctx->call.bytes_sent[to] += len;
    ctx->call.msgs_sent[to]++;
    return TRINE_OK;
}

trine_status_t proto_send_deal(proto_ctx_t *ctx, proto_party_t to, const void *buf, size_t len,
                               trine_err_t *err)
{
    trine_status_t st = proto_send(ctx, to, buf, len, err);
    if (st == TRINE_OK)
        ctx->call.offline_bytes += len;
    return st;
}

trine_status_t proto_recv(proto_ctx_t *ctx, proto_party_t from, void *buf, size_t len,
                          trine_err_t *err)
{
    link_hdr_t hdr;
    trine_status_t st = ctx->link.recv(ctx->link.impl, from, &hdr, buf, len, err);
    if (st != TRINE_OK)
        return st;
    if (hdr.step != ctx->recv_step[from])
        return trine_err_set(err, TRINE_EPEER, "P%d: message %llu from P%d, expected %llu",
                             (int)ctx->role, (unsigned long long)hdr.step, (int)from,
                             (unsigned long long)ctx->recv_step[from]);
    ctx->recv_step[from]++;
    if (hdr.round > ctx->stamp)
        ctx->stamp = hdr.round;
    ctx->call.bytes_recv[from] += len;
    ctx->call.msgs_recv[from]++;
    return TRINE_OK;
}

trine_status_t proto_recv_deal(proto_ctx_t *ctx, proto_party_t from, void *buf, size_t len,
                               trine_err_t *err)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    trine_status_t st = proto_recv(ctx, from, buf, len, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ctx->call.offline_wait_ns +=
        (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    return st;
}

void proto_draw_ring(proto_ctx_t *ctx, proto_party_t peer, uint64_t *out, size_t n)
{
    prg_fill_ring(ctx->prg[peer], ctx->stream[peer]++, 0, out, n);
}

/* Draws in blocks so that a whole tensor of bits needs no word buffer. */
#define DRAW_BLOCK 512

void proto_draw_bits(proto_ctx_t *ctx, proto_party_t peer, uint8_t *out, size_t n)
{
    uint64_t w[DRAW_BLOCK];
    uint64_t stream = ctx->stream[peer]++;
    for (size_t done = 0; done < n; done += 64 * DRAW_BLOCK) {
        size_t k = n - done < 64 * DRAW_BLOCK ? n - done : 64 * DRAW_BLOCK;
        prg_fill_ring(ctx->prg[peer], stream, done / 64, w, (k + 63) / 64);
        for (size_t i = 0; i < k; i++)
            out[done + i] = (uint8_t)(w[i / 64] >> (i % 64) & 1);
    }
    sodium_memzero(w, sizeof w);
}

trine_status_t proto_check_shapes(const char *what, const tensor_t *const *t, size_t n,
                                  trine_err_t *err)
{
    for (size_t i = 1; i < n; i++)
        if (!tensor_same_shape(t[0], t[i]))
            return trine_err_set(err, TRINE_ESHAPE, "%s: operand %zu has another shape", what, i);
    return TRINE_OK;
}

void proto_wipe_free(void *buf, size_t len)
{
    if (buf)
        sodium_memzero(buf, len);
    free(buf);
}

void proto_put_le(uint8_t *out, uint64_t v, size_t nb)
{
    for (size_t b = 0; b < nb; b++)
        out[b] = (uint8_t)(v >> (8 * b));
}

uint64_t proto_get_le(const uint8_t *in, size_t nb)
{
    uint64_t v = 0;
    for (size_t b = 0; b < nb; b++)
        v |= (uint64_t)in[b] << (8 * b);
    return v;
}

void proto_zero(tensor_t *t)
{
    memset(t->data, 0, t->size * sizeof *t->data);
}

/* Eight digits are 56 bits, seven whole bytes: groups of eight pack and
 * unpack on their own, and the bit-by-bit loops only take a tail. */
#define ZP_GROUP 8

void zp_pack(uint8_t *out, const uint8_t *digits, size_t n)
{
    size_t i = 0, o = 0;
    for (; i + ZP_GROUP <= n; i += ZP_GROUP, o += ZP_GROUP * PROTO_ZP_BITS / 8) {
        uint64_t g = 0;
        for (int k = 0; k < ZP_GROUP; k++)
            g |= (uint64_t)digits[i + k] << (k * PROTO_ZP_BITS);
        for (unsigned b = 0; b < ZP_GROUP * PROTO_ZP_BITS / 8; b++)
            out[o + b] = (uint8_t)(g >> (8 * b));
    }
    uint64_t acc = 0;
    unsigned have = 0;
    for (; i < n; i++) {
        acc |= (uint64_t)digits[i] << have;
        have += PROTO_ZP_BITS;
        while (have >= 8) {
            out[o++] = (uint8_t)acc;
            acc >>= 8;
            have -= 8;
        }
    }
    if (have > 0)
        out[o] = (uint8_t)acc;
}

void zp_unpack(uint8_t *digits, const uint8_t *in, size_t n)
{
    size_t i = 0, o = 0;
    for (; i + ZP_GROUP <= n; i += ZP_GROUP, o += ZP_GROUP * PROTO_ZP_BITS / 8) {
        uint64_t g = 0;
        for (unsigned b = 0; b < ZP_GROUP * PROTO_ZP_BITS / 8; b++)
            g |= (uint64_t)in[o + b] << (8 * b);
        for (int k = 0; k < ZP_GROUP; k++)
            digits[i + k] = (uint8_t)(g >> (k * PROTO_ZP_BITS) & ((1u << PROTO_ZP_BITS) - 1));
    }
    uint64_t acc = 0;
    unsigned have = 0;
    for (; i < n; i++) {
        while (have < PROTO_ZP_BITS) {
            acc |= (uint64_t)in[o++] << have;
            have += 8;
        }
        digits[i] = (uint8_t)(acc & ((1u << PROTO_ZP_BITS) - 1));
        acc >>= PROTO_ZP_BITS;
        have -= PROTO_ZP_BITS;
    }
}
