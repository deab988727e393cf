/* proto_harness.c — see proto_harness.h. */
#include "proto_harness.h"

#include "check_util.h"

#include "protocol/link_local.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    harness_body_fn body;
    void *arg;
    harness_result_t *res;
} job_t;

proto_protocol_t harness_protocol(void)
{
    const char *p = getenv("TRINE_TEST_PROTOCOL");
    return p && strcmp(p, "fss") == 0     ? PROTO_FSS
           : p && strcmp(p, "carry") == 0 ? PROTO_CARRY
                                          : PROTO_SECURENN;
}

static trine_status_t party(const link_t *link, proto_party_t p, void *arg, trine_err_t *err)
{
    job_t *job = arg;
    proto_ctx_t *ctx = NULL;
    trine_status_t st = proto_ctx_new(&ctx, p, link, FB, err);
    if (st == TRINE_OK)
        st = proto_ctx_set_protocol(ctx, harness_protocol(), err);
    if (st != TRINE_OK) {
        proto_ctx_destroy(&ctx);
        return st;
    }
    st = job->body(ctx, job->arg, err);
    proto_ctx_stats(ctx, &job->res->stats[p]);
    proto_ctx_destroy(&ctx);
    return st;
}

void harness_run(harness_body_fn body, void *arg, unsigned timeout_ms, harness_result_t *res)
{
    job_t job = {body, arg, res};
    link_local_t *hub = link_local_new(timeout_ms);
    ck_assert_ptr_nonnull(hub);
    ck_assert_int_eq(link_local_run(hub, party, &job, res->status, res->err), TRINE_OK);
    link_local_destroy(&hub);
}

void harness_run_ok(harness_body_fn body, void *arg, harness_result_t *res)
{
    harness_run(body, arg, 10000, res);
    for (int p = 0; p < PROTO_PARTIES; p++)
        ck_assert_msg(res->status[p] == TRINE_OK, "P%d: %s (%s)", p, trine_strerror(res->status[p]),
                      res->err[p].msg);
}

void harness_alloc(tensor_t *sh[PROTO_PARTIES], const tensor_t *like)
{
    for (int p = 0; p < PROTO_PARTIES; p++) {
        sh[p] = tensor_new_like(like);
        ck_assert_ptr_nonnull(sh[p]);
    }
}

void harness_share(tensor_t *sh[PROTO_PARTIES], const tensor_t *x, uint64_t seed)
{
    harness_alloc(sh, x);
    check_util_random(sh[0]->data, x->size, seed ^ 0x5eed5eed5eedULL);
    for (size_t i = 0; i < x->size; i++)
        sh[1]->data[i] = x->data[i] - sh[0]->data[i];
}

tensor_t *harness_open(tensor_t *const sh[PROTO_PARTIES])
{
    tensor_t *x = tensor_new_like(sh[0]);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < x->size; i++) {
        ck_assert_uint_eq(sh[2]->data[i], 0);
        x->data[i] = sh[0]->data[i] + sh[1]->data[i];
    }
    return x;
}

void harness_free(tensor_t *sh[PROTO_PARTIES])
{
    for (int p = 0; p < PROTO_PARTIES; p++)
        tensor_destroy(&sh[p]);
}

uint64_t harness_bytes(const harness_result_t *res)
{
    uint64_t b = 0;
    for (int p = 0; p < PROTO_PARTIES; p++)
        b += proto_counters_bytes_sent(&res->stats[p].last_call);
    return b;
}

uint64_t harness_rounds(const harness_result_t *res)
{
    return proto_stats_call_rounds(&res->stats[0].last_call, &res->stats[1].last_call,
                                   &res->stats[2].last_call);
}

uint64_t harness_cost_bytes(const harness_result_t *res)
{
    uint64_t b = harness_bytes(res);
    if (harness_protocol() != PROTO_SECURENN)
        for (int p = 0; p < PROTO_PARTIES; p++)
            b -= res->stats[p].last_call.offline_bytes;
    return b;
}

uint64_t harness_pick(uint64_t securenn, uint64_t fss, uint64_t carry)
{
    proto_protocol_t p = harness_protocol();
    return p == PROTO_FSS ? fss : p == PROTO_CARRY ? carry : securenn;
}

uint64_t harness_carry_bytes(uint64_t n, bool relu)
{
    (void)relu; /* ReLU's product needs no byte more */
    return 16 * n + 656 * ((n + 63) / 64);
}

uint64_t harness_carry_dealt(uint64_t n, bool relu)
{
    return (relu ? 80 : 72) * n + 824 * ((n + 63) / 64);
}

tensor_t *harness_values(size_t n, unsigned bits, uint64_t seed)
{
    tensor_t *t = tensor_new_1d(n);
    ck_assert_ptr_nonnull(t);
    check_util_random(t->data, n, seed);
    int64_t hi = (int64_t)(((uint64_t)1 << (bits - 1)) - 1), lo = -hi - 1;
    int64_t edges[] = {0, 1, -1, hi, lo, hi - 1, lo + 1, 1 << FB, -(1 << FB), 2, -2};
    size_t ne = sizeof edges / sizeof edges[0];
    for (size_t i = 0; i < n; i++) {
        if (i < ne) {
            t->data[i] = (uint64_t)edges[i];
            continue;
        }
        /* mixed magnitudes: shift by a random amount within the range */
        unsigned shift = 64 - bits + (unsigned)(t->data[i] % bits);
        t->data[i] = (uint64_t)((int64_t)t->data[i] >> shift);
    }
    return t;
}
