/* ctx.h — one party's protocol context for one job.
 *
 * A context holds the party's role, its link to the other two parties, the
 * pairwise PRG seeds (P0-P1, P0-P2, P1-P2) agreed afresh when it is created
 * and wiped when it is destroyed, the fixed-point precision, and the
 * communication counters. There are no globals: every protocol takes the
 * context of the party that runs it. A context is used by one thread.
 *
 * All three parties call the same protocols in the same order with tensors
 * of the same shapes. P0 and P1 pass their shares; P2 passes tensors of the
 * right shape whose contents are ignored, and its outputs are set to zero.
 * After any failure the job is lost (the parties' streams no longer agree):
 * every later call on the context returns TRINE_EPEER.
 *
 * Accounting. Every payload sent or received is counted (bytes without the
 * link header, and messages) per peer, both in running totals and in a
 * table indexed by the protocol (proto_op_t) that the application called;
 * a protocol used inside another is charged to the outer one.
 * Rounds follow SecureNN: the number of sequential communication steps on
 * the critical path of a call. Each message carries a causal stamp: a
 * party's stamp starts at 0 when a call begins, becomes the maximum of its
 * own and each received message's stamp, and a message is sent with the
 * sender's stamp plus one. A party's rounds for a call are its final
 * stamp, the longest chain of messages that ended at it; the call's rounds
 * are the maximum over the three parties (proto_stats_call_rounds).
 * Messages that do not wait for each other share a round: a Beaver
 * product's triple correction from P2 and the exchange of masked operands
 * travel together in one round.
 */
#ifndef TRINE_PROTO_CTX_H
#define TRINE_PROTO_CTX_H

#include "link.h"

#include "tensor/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct proto_ctx proto_ctx_t;

/* The protocols the accounting tells apart. */
typedef enum {
    PROTO_OP_SETUP = 0, /* seed agreement in proto_ctx_new */
    PROTO_OP_RECONSTRUCT,
    PROTO_OP_MUL, /* elementwise Beaver product */
    PROTO_OP_MATMUL,
    PROTO_OP_MASK, /* opening W - B of a mask-once operand */
    PROTO_OP_MATMUL_MASKED,
    PROTO_OP_CONV,
    PROTO_OP_CONV_MASKED,
    PROTO_OP_PRIVATE_COMPARE,
    PROTO_OP_SHARE_CONVERT,
    PROTO_OP_MSB,
    PROTO_OP_DRELU,
    PROTO_OP_RELU,
    PROTO_OP_SELECT,
    PROTO_OP_COMPARE,
    PROTO_OP_MAXPOOL,
    PROTO_OP_ARGMAX,
    PROTO_OP_AVGPOOL, /* local but for its truncation */
    PROTO_OP_DIV,
    PROTO_OP_SIGMOID,
    PROTO_OP_SIGMOID_FINE,
    PROTO_OP_TRUNC, /* fixed-point truncation (trunc.c) */
    PROTO_OP_EXP,
    PROTO_OP_RECIP,
    PROTO_OP_RSQRT,
    PROTO_OP_SOFTMAX,
    PROTO_OP_LOG,
    PROTO_OP_TANH,
    PROTO_OP_ERF,
    PROTO_OP_LOG_SOFTMAX,
    PROTO_OP_CONV_GRAD, /* conv2d_grad_input and conv2d_grad_weights */
    PROTO_OP_PACE,      /* the dealer's pace across a job's steps (pace.c) */
    PROTO_OP_COUNT
} proto_op_t;

/* How fixed-point values are divided by a power of two (trunc.c): exactly,
 * with one round and a dealing from P2 (the default), or by SecureML's
 * local rule, which is wrong by 2^(64-d) now and then. */
typedef enum { PROTO_TRUNC_EXACT = 0, PROTO_TRUNC_LOCAL } proto_trunc_t;

/* Which protocols compute DReLU and ReLU, and with them everything built
 * on comparisons (maxpool, argmax, division, the smooth functions):
 * SecureNN's (drelu.c: P2 takes part online, 7 rounds and 392 bytes an
 * element), function secret sharing (relu_fss.c: P2 deals comparison
 * keys, 1 round and 16 bytes an element online, 1.5 to 2.5 KB of keys an
 * element to each of P0 and P1; needs AES-NI), carry (relu_carry.c: the
 * carry of a sum of the opened value and P2's mask, P2 dealing, 4 rounds
 * and 26.25 bytes an element online, 84.9 dealt; ReLU in the same rounds
 * and bytes online), or auto: each
 * comparison call over at most the context's fss_max values by fss,
 * larger ones by carry (rounds cost more than keys for few values, keys
 * more than rounds for many). */
typedef enum { PROTO_SECURENN = 0, PROTO_FSS, PROTO_AUTO, PROTO_CARRY } proto_protocol_t;

/* fss_max of a new context: under auto, comparisons of up to 64 values
 * go by fss (on loopback a round costs about what 50 to 100 values'
 * keys do; over a WAN many more: raise it there). */
#define PROTO_FSS_MAX_DEFAULT 64

/* Counters of one party; arrays are indexed by the peer's party number
 * (the party's own entry stays 0). */
typedef struct {
    uint64_t bytes_sent[PROTO_PARTIES];
    uint64_t bytes_recv[PROTO_PARTIES];
    uint64_t msgs_sent[PROTO_PARTIES];
    uint64_t msgs_recv[PROTO_PARTIES];
    uint64_t rounds; /* summed over calls, as this party saw them */
    uint64_t calls;
    /* Of bytes_sent, what the party dealt: correlated randomness that does
     * not depend on any input (Beaver triples, truncation pairs, comparison
     * keys), which a preprocessing phase could send ahead of the inputs. */
    uint64_t offline_bytes;
    /* Nanoseconds spent waiting for dealt messages to arrive: with the
     * dealing prepared ahead, the online phase would not wait them. */
    uint64_t offline_wait_ns;
} proto_counters_t;

typedef struct {
    proto_counters_t total;
    proto_counters_t op[PROTO_OP_COUNT];
    proto_op_t last_op;         /* the last completed call */
    proto_counters_t last_call; /* what it cost this party */
} proto_stats_t;

/* Creates the context of party role over link and agrees fresh pairwise
 * seeds with the peers (P0 draws the P0-P1 and P0-P2 seeds, P1 the P1-P2
 * seed, each sent over the link). frac_bits is the fixed-point precision
 * (<= FIXED_FRAC_BITS_MAX). On success *out owns the context; the link is
 * copied and must stay usable until proto_ctx_destroy. */
TRINE_NODISCARD trine_status_t proto_ctx_new(proto_ctx_t **out, proto_party_t role,
                                             const link_t *link, unsigned frac_bits,
                                             trine_err_t *err);

/* Wipes the seeds, frees *ctx and sets it to NULL; accepts NULL. */
void proto_ctx_destroy(proto_ctx_t **ctx);

/* The party the context belongs to, and its fixed-point precision. */
proto_party_t proto_ctx_role(const proto_ctx_t *ctx);
unsigned proto_ctx_frac_bits(const proto_ctx_t *ctx);

/* Chooses the truncation of every later proto_truncate; a new context has
 * PROTO_TRUNC_EXACT. All three parties must choose the same (cluster.ini's
 * [cluster] truncation, part of the config fingerprint). */
void proto_ctx_set_truncation(proto_ctx_t *ctx, proto_trunc_t mode);
proto_trunc_t proto_ctx_truncation(const proto_ctx_t *ctx);

/* "exact" or "local". */
const char *proto_trunc_name(proto_trunc_t mode);

/* Chooses the protocols of every later comparison; a new context has
 * PROTO_SECURENN. TRINE_EUNSUPPORTED when this CPU cannot run them (fss
 * without AES-NI). All three parties must choose the same (cluster.ini's
 * [cluster] protocol). */
TRINE_NODISCARD trine_status_t proto_ctx_set_protocol(proto_ctx_t *ctx, proto_protocol_t p,
                                                      trine_err_t *err);
proto_protocol_t proto_ctx_protocol(const proto_ctx_t *ctx);

/* Under PROTO_AUTO, the most values a comparison call computes by fss
 * (default PROTO_FSS_MAX_DEFAULT); the same at all three parties. */
void proto_ctx_set_fss_max(proto_ctx_t *ctx, uint64_t n);

/* True when a comparison call over n values goes by fss in ctx, and by
 * carry. */
bool proto_ctx_fss(const proto_ctx_t *ctx, size_t n);
bool proto_ctx_carry(const proto_ctx_t *ctx, size_t n);

/* "securenn", "fss", "auto" or "carry". */
const char *proto_protocol_name(proto_protocol_t p);

/* Copies the party's counters into *out. */
void proto_ctx_stats(const proto_ctx_t *ctx, proto_stats_t *out);

/* A short lowercase name of op ("drelu", "matmul"); never NULL. */
const char *proto_op_name(proto_op_t op);

/* Bytes and messages one party sent, summed over its peers. */
uint64_t proto_counters_bytes_sent(const proto_counters_t *c);
uint64_t proto_counters_msgs_sent(const proto_counters_t *c);

/* The rounds of a call given the three parties' counters for it: the
 * maximum of their views (see the accounting note above). */
uint64_t proto_stats_call_rounds(const proto_counters_t *p0, const proto_counters_t *p1,
                                 const proto_counters_t *p2);

#endif
