/* api.c — one client request in, one reply out (see api.h). */
#include "daemon/party/api.h"
#include "daemon/common/sock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "share data travels as little-endian uint64 and is stored as such"
#endif

static void api_info(wire_tensor_info_t *t, const store_entry_t *e, const keys_public_t *caller)
{
    snprintf(t->name, sizeof t->name, "%s", e->name);
    t->kind = e->kind;
    t->frac = e->frac;
    t->ndim = e->share->ndim;
    memcpy(t->shape, e->share->shape, sizeof t->shape);
    t->mine = !strcmp(e->owner->z85, caller->z85);
    t->grants = (uint32_t)e->grants;
    t->owner = *e->owner;
}

/* The approvals of e that caller may see, copied into t (allocated):
 * all of them for the owner, those naming caller for anyone else. */
static trine_status_t api_approvals(wire_tensor_info_t *t, const store_entry_t *e,
                                    const keys_public_t *caller, trine_err_t *err)
{
    wire_approval_t *a = calloc(e->grants ? e->grants : 1, sizeof *a);
    if (!a)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory listing '%s'", e->name);
    size_t n = 0;
    for (size_t i = 0; i < e->grants; i++)
        if (t->mine || !strcmp(e->approvals[i].grantee.z85, caller->z85))
            a[n++] = e->approvals[i];
    t->approvals = a;
    t->napprovals = n;
    return TRINE_OK;
}

static trine_status_t api_status(const api_t *api, const keys_public_t *caller, wire_reply_t *r)
{
    size_t tensors;
    r->party = (unsigned)api->self;
    snprintf(r->cluster, sizeof r->cluster, "%s", api->cluster->cfg.name);
    snprintf(r->software, sizeof r->software, "%s", TRINE_VERSION);
    r->uptime_ms = sock_now_ms() - api->started_ms;
    uint64_t stored, staged;
    store_usage(api->store, caller, &tensors, &stored, &staged);
    r->bytes = stored + staged;
    r->tensors = tensors;
    r->memory_limit = api->cluster->cfg.memory_limit;
    for (int p = 0; p < CONFIG_PARTIES; p++)
        r->peers[p] = links_state(api->links, p);
    return TRINE_OK;
}

static trine_status_t api_put(const api_t *api, const wire_request_t *q,
                              const keys_public_t *caller, trine_err_t *err)
{
    if (api->self == 2)
        return trine_err_set(err, TRINE_EPERM,
                             "party2 is the helper and holds no shares; shares go to party0 and "
                             "party1");
    if (q->kind == WIRE_KIND_FIXED && q->frac != api->cluster->cfg.frac_bits)
        return trine_err_set(err, TRINE_EINVAL,
                             "tensor '%s' has %u fractional bits; this cluster computes with %u",
                             q->name, q->frac, api->cluster->cfg.frac_bits);
    store_part_t part = {.kind = q->kind,
                         .frac = q->kind == WIRE_KIND_FIXED ? q->frac : 0,
                         .ndim = q->ndim,
                         .offset = (size_t)q->offset,
                         .data = q->data,
                         .count = q->data_len / sizeof(uint64_t)};
    memcpy(part.shape, q->shape, sizeof part.shape);
    /* The first part reserves the whole tensor against the caller's quota
     * and the memory limit, so parts cannot pile up past either. */
    size_t count = 1;
    for (int i = 0; i < q->ndim; i++)
        count *= q->shape[i]; /* the decoder checked it fits */
    trine_status_t st =
        q->offset ? TRINE_OK
                  : budget_client_bytes(api->budget, api->self, api->store, caller, 0,
                                        (uint64_t)count * sizeof(uint64_t), err);
    /* Staged until the client commits it (store.h): a client that dies
     * between its puts to party0 and party1, or between two parts, leaves
     * no half tensor; each part gives the upload timeout_ms more. */
    if (st == TRINE_OK)
        st = store_stage(api->store, q->name, caller, q->upload, &part,
                         sock_now_ms() + api->cluster->cfg.timeout_ms, err);
    return st;
}

static trine_status_t api_ls(const api_t *api, const keys_public_t *caller, wire_reply_t *r,
                             trine_err_t *err)
{
    size_t n = store_list(api->store, caller, NULL, 0);
    store_entry_t *e = n ? calloc(n, sizeof *e) : NULL;
    if (n && (!e || !(r->list = calloc(n, sizeof *r->list)))) {
        free(e);
        return trine_err_set(err, TRINE_ENOMEM, "out of memory listing %zu tensors", n);
    }
    store_list(api->store, caller, e, n);
    trine_status_t st = TRINE_OK;
    for (size_t i = 0; i < n; i++) {
        api_info(&r->list[i], &e[i], caller);
        r->count = i + 1; /* wire_reply_clear frees what is filled */
        if ((st = api_approvals(&r->list[i], &e[i], caller, err)) != TRINE_OK)
            break;
    }
    free(e);
    return st;
}

/* A part of the caller's tensor: from q->offset, at most q->count
 * elements, and no more than one message of max_message carries. */
static trine_status_t api_get(const api_t *api, const wire_request_t *q,
                              const keys_public_t *caller, wire_reply_t *r, trine_err_t *err)
{
    store_entry_t e;
    trine_status_t st = store_get(api->store, q->name, caller, &e, err);
    if (st != TRINE_OK)
        return st;
    size_t size = e.share->size;
    if (q->offset >= size)
        return trine_err_set(err, TRINE_ERANGE,
                             "tensor '%s' has %zu elements; there is none at offset %llu",
                             q->name, size, (unsigned long long)q->offset);
    uint64_t n = size - q->offset, fit = (api->cluster->cfg.max_message - WIRE_PART_OVERHEAD) /
                                         sizeof(uint64_t);
    n = n < q->count ? n : q->count;
    n = n < fit ? n : fit;
    api_info(&r->info, &e, caller);
    r->offset = q->offset;
    r->data = (const uint8_t *)(e.share->data + q->offset);
    r->data_len = (size_t)n * sizeof(uint64_t);
    return TRINE_OK;
}

/* A removed tensor's kept masked forms go with it. */
static trine_status_t api_rm(const api_t *api, const wire_request_t *q,
                             const keys_public_t *caller, trine_err_t *err)
{
    trine_status_t st = store_rm(api->store, q->name, caller, err);
    if (st == TRINE_OK)
        jobs_forget(api->jobs, q->name);
    return st;
}

static trine_status_t api_grant(const api_t *api, const wire_request_t *q,
                                const keys_public_t *caller, trine_err_t *err)
{
    if (!cluster_client_allowed(api->cluster, &q->grantee))
        return trine_err_set(err, TRINE_EINVAL,
                             "the grantee key %.8s... is not an allowed client of this cluster",
                             q->grantee.z85);
    if (q->approval.outputs_to.z85[0] &&
        !cluster_client_allowed(api->cluster, &q->approval.outputs_to))
        return trine_err_set(err, TRINE_EINVAL,
                             "the recipient key %.8s... is not an allowed client of this cluster",
                             q->approval.outputs_to.z85);
    wire_approval_t a = q->approval;
    a.grantee = q->grantee;
    return store_grant(api->store, q->name, caller, &a, err);
}

static trine_status_t api_dispatch(const api_t *api, const wire_request_t *q,
                                   const keys_public_t *caller, const void *route,
                                   size_t route_len, wire_reply_t *r, trine_err_t *err)
{
    const char *refusal = links_refusal(api->links);
    if (q->op != WIRE_OP_STATUS && refusal)
        return trine_err_set(err, TRINE_EPEER, "%s", refusal);
    switch (q->op) {
    case WIRE_OP_STATUS: return api_status(api, caller, r);
    case WIRE_OP_PUT: return api_put(api, q, caller, err);
    case WIRE_OP_LS: return api_ls(api, caller, r, err);
    case WIRE_OP_RM: return api_rm(api, q, caller, err);
    case WIRE_OP_GRANT: return api_grant(api, q, caller, err);
    case WIRE_OP_REVOKE:
        return store_revoke(api->store, q->name, caller, &q->grantee,
                            q->approval.any ? NULL : q->approval.program, err);
    case WIRE_OP_GET: return api_get(api, q, caller, r, err);
    case WIRE_OP_RUN: return jobs_run(api->jobs, caller, q, route, route_len, err);
    case WIRE_OP_JOB: jobs_progress(api->jobs, caller, q->job, r); return TRINE_OK;
    case WIRE_OP_CANCEL: return jobs_cancel(api->jobs, caller, q->job, err);
    case WIRE_OP_COMMIT: return store_commit(api->store, q->name, caller, q->upload, err);
    case WIRE_OP_JOBS: return jobs_list(api->jobs, caller, r, err);
    }
    return trine_err_set(err, TRINE_EINVAL, "no such op");
}

trine_status_t api_handle(const api_t *api, const keys_public_t *caller, const void *route,
                          size_t route_len, const void *buf, size_t len, void **reply,
                          size_t *reply_len)
{
    wire_request_t q;
    wire_reply_t r = {0};
    trine_err_t err = {0};
    char who[LOG_KEY_CHARS], shape[LOG_SHAPE_CHARS + 1] = "";
    log_key(who, caller);
    trine_status_t st = wire_request_decode(&q, buf, len, &err);
    r.id = q.id;
    if (st != TRINE_OK) {
        log_line(api->log, LOG_WARN, "client %s: rejected a %zu-byte request: %s", who, len,
                 err.msg);
    } else {
        st = api_dispatch(api, &q, caller, route, route_len, &r, &err);
        if (q.op == WIRE_OP_PUT && q.offset)
            snprintf(shape, sizeof shape, " part at element %llu", (unsigned long long)q.offset);
        else if (q.op == WIRE_OP_PUT)
            log_shape(shape + 1, q.ndim, q.shape), shape[0] = ' ';
        if (q.op == WIRE_OP_RUN || q.op == WIRE_OP_CANCEL)
            snprintf(shape, sizeof shape, " job %016llx (its job %016llx)",
                     (unsigned long long)jobs_key(caller, q.job), (unsigned long long)q.job);
        /* JOB is polled for progress, JOBS by scripts: a line each would
         * drown the log */
        log_line(api->log,
                 q.op == WIRE_OP_JOB || q.op == WIRE_OP_JOBS ? LOG_DEBUG : st == TRINE_OK ? LOG_INFO : LOG_WARN,
                 "client %s: %s%s%s%s%s%s%s", who,
                 wire_op_name(q.op), q.name[0] ? " '" : "", q.name, q.name[0] ? "'" : "", shape,
                 st == TRINE_OK ? "" : " refused: ", st == TRINE_OK ? "" : err.msg);
    }
    if (st == TRINE_OK && q.op == WIRE_OP_RUN) {
        wire_request_clear(&q);
        *reply = NULL; /* the job replies when it ends */
        *reply_len = 0;
        return TRINE_OK;
    }
    wire_request_clear(&q);
    if (st != TRINE_OK) {
        r.code = st;
        snprintf(r.msg, sizeof r.msg, "%s", err.msg);
    }
    trine_status_t enc = wire_reply_encode(reply, reply_len, q.op, &r);
    wire_reply_clear(&r);
    return enc;
}
