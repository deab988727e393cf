/* jobs.c — starting, feeding and finishing jobs in the main loop (jobs.h). */
#include "daemon/party/jobs.h"
#include "daemon/common/sock.h"
#include "daemon/party/job.h"
#include "daemon/party/kept.h"
#include "daemon/wire/prog_wire.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_RECENT      32 /* finished ids remembered, to drop their late frames */
#define JOBS_OUTPUT_NAME (WIRE_NAME_MAX + PROG_NAME_MAX + 1) /* prefix + variable name */

/* What a job holds of the kept masked forms for one input variable. */
typedef struct {
    char name[WIRE_NAME_MAX + 1]; /* its tensor; "" for other variables */
    uint64_t serial;              /* store_serial of it at the start (0 at P2) */
    kept_entry_t *ref;            /* the form kept for it, or NULL */
} jobs_kept_t;

typedef struct {
    job_t *job; /* NULL: free slot */
    void *pipe;
    uint64_t id;        /* the party's key of the job (jobs_key) */
    uint64_t client_id; /* the caller's id of it */
    uint64_t request_id;
    keys_public_t caller;
    keys_public_t owner; /* of the outputs: the caller or its `to` */
    uint8_t route[256];
    size_t route_len;
    char prefix[WIRE_NAME_MAX + 1];
    bool stopping;                  /* a STOP was sent */
    uint64_t started_ms, polled_ms; /* its request, the caller's last JOB (sock_now_ms) */
    uint64_t memory;                /* its estimate (budget_job), held of jobs_memory */
    unsigned begun;                 /* bit p: party p's BEGIN came */
    jobs_kept_t *kept;              /* per variable of its program */
    size_t nkept;
} jobs_slot_t;

typedef struct {
    uint64_t job, at_ms;
    int from;
    wire_frame_type_t type;
    zmq_msg_t head, body;
} jobs_pending_t;

struct jobs {
    void *zctx;
    const cluster_t *cluster;
    int self;
    links_t *links;
    store_t *store;
    const budget_t *budget;
    const log_t *log;
    void *client;
    uint64_t last_tick; /* sock_now_ms of the last jobs_tick */
    jobs_slot_t slot[JOBS_MAX];
    jobs_pending_t pending[JOBS_PENDING_MAX];
    size_t npending;
    uint64_t recent[JOBS_RECENT];
    size_t nrecent;
    kept_t *kept; /* masked forms kept between jobs */
};

static jobs_slot_t *jobs_find(const jobs_t *j, uint64_t id)
{
    for (int i = 0; i < JOBS_MAX; i++)
        if (j->slot[i].job && j->slot[i].id == id)
            return (jobs_slot_t *)&j->slot[i];
    return NULL;
}

static bool jobs_recent(const jobs_t *j, uint64_t id)
{
    for (size_t i = 0; i < j->nrecent && i < JOBS_RECENT; i++)
        if (j->recent[i] == id)
            return true;
    return false;
}

/* Wipes a job frame's payload before it is dropped: it may be a seed or a
 * masked share. */
static void jobs_wipe(zmq_msg_t *body)
{
    sodium_memzero(zmq_msg_data(body), zmq_msg_size(body));
}

static void jobs_pending_drop(jobs_t *j, size_t i)
{
    jobs_wipe(&j->pending[i].body);
    zmq_msg_close(&j->pending[i].head);
    zmq_msg_close(&j->pending[i].body);
    memmove(&j->pending[i], &j->pending[i + 1], (j->npending - i - 1) * sizeof j->pending[0]);
    j->npending--;
}

/* Sends a pair of frames to a job's thread. */
static void jobs_to_thread(jobs_slot_t *s, zmq_msg_t *head, zmq_msg_t *body)
{
    if (zmq_msg_send(head, s->pipe, ZMQ_SNDMORE) >= 0)
        zmq_msg_send(body, s->pipe, 0);
}

static void jobs_stop(jobs_t *j, jobs_slot_t *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = true;
    log_line(j->log, LOG_WARN, "job %016llx: stopping: %s", (unsigned long long)s->id, why);
    uint8_t code = JOB_PIPE_STOP;
    zmq_send(s->pipe, &code, 1, ZMQ_SNDMORE);
    zmq_send(s->pipe, why, strlen(why), 0);
}

/* A peer's BEGIN is its acceptance of the job (budget.h: accept_ms). */
static void jobs_note_begin(jobs_slot_t *s, wire_frame_type_t type, int from)
{
    if (type == WIRE_FRAME_BEGIN)
        s->begun |= 1u << from;
}

static void jobs_on_frame(void *arg, int from, const wire_frame_t *f, zmq_msg_t *head,
                          zmq_msg_t *body)
{
    jobs_t *j = arg;
    jobs_slot_t *s = jobs_find(j, f->job);
    if (s) {
        jobs_note_begin(s, f->type, from);
        jobs_to_thread(s, head, body);
        return;
    }
    if (jobs_recent(j, f->job)) { /* a finished job's late ABORT or data */
        jobs_wipe(body);
        return;
    }
    if (j->npending == JOBS_PENDING_MAX) {
        log_line(j->log, LOG_WARN, "dropped a frame of job %016llx from party%d: %d frames "
                 "already wait for jobs not started here",
                 (unsigned long long)j->pending[0].job, j->pending[0].from, JOBS_PENDING_MAX);
        jobs_pending_drop(j, 0);
    }
    jobs_pending_t *p = &j->pending[j->npending++];
    p->job = f->job;
    p->from = from;
    p->type = f->type;
    p->at_ms = sock_now_ms();
    zmq_msg_init(&p->head);
    zmq_msg_init(&p->body);
    zmq_msg_move(&p->head, head);
    zmq_msg_move(&p->body, body);
}

jobs_t *jobs_new(void *zctx, const cluster_t *cluster, int self, links_t *links, store_t *store,
                 const budget_t *budget, const log_t *log, void *client)
{
    jobs_t *j = calloc(1, sizeof *j);
    kept_t *kept = kept_new(budget->mask_cache, KEPT_ENTRIES_MAX);
    if (!j || !kept) {
        free(j);
        kept_destroy(&kept);
        return NULL;
    }
    *j = (jobs_t){.zctx = zctx, .cluster = cluster, .self = self, .links = links,
                  .store = store, .budget = budget, .log = log, .client = client,
                  .last_tick = sock_now_ms(), .kept = kept};
    links_set_job_hook(links, jobs_on_frame, j);
    return j;
}

/* Tells the other parties that this party will not run job id. */
static void jobs_refuse(jobs_t *j, uint64_t id, const char *why)
{
    uint8_t head[WIRE_FRAME_HEADER_BYTES];
    wire_frame_pack(head, &(wire_frame_t){WIRE_FRAME_ABORT, (unsigned)j->self, id, 0, 0});
    size_t len = strlen(why) < WIRE_ABORT_MAX ? strlen(why) : WIRE_ABORT_MAX;
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        zmq_msg_t h, b;
        if (p == j->self || zmq_msg_init_size(&h, sizeof head) != 0)
            continue;
        memcpy(zmq_msg_data(&h), head, sizeof head);
        if (zmq_msg_init_size(&b, len ? len : 1) != 0) {
            zmq_msg_close(&h);
            continue;
        }
        memcpy(zmq_msg_data(&b), len ? why : "?", len ? len : 1);
        if (links_forward(j->links, p, &h, &b) != TRINE_OK) {
            zmq_msg_close(&h);
            zmq_msg_close(&b);
        }
    }
}

/* The share of one input variable v: its one bound tensor, or the rows
 * of several concatenated (a batch input only). Each must be a fixed-point
 * tensor of the cluster's precision that the caller may read as this
 * slot of this program (store_use). */
static trine_status_t jobs_input(jobs_t *j, const prog_var_t *v, const wire_bind_t *b,
                                 const keys_public_t *caller, const store_use_t *use,
                                 tensor_t **out, trine_err_t *err)
{
    const tensor_t *part[WIRE_BIND_NAMES_MAX];
    size_t rows = 0;
    if (b->count > 1 && v->kind != PROG_VAR_BATCH)
        return trine_err_set(err, TRINE_EINVAL,
                             "input '%s' reads %u tensors; only batch inputs concatenate rows",
                             v->name, b->count);
    for (unsigned k = 0; k < b->count; k++) {
        store_entry_t e;
        if (store_use(j->store, b->names[k], caller, use, &e, err) != TRINE_OK)
            return err->code;
        if (e.kind != WIRE_KIND_FIXED)
            return trine_err_set(err, TRINE_EINVAL,
                                 "tensor '%s' holds integers; programs compute on reals: share it "
                                 "again with trine share --fixed",
                                 b->names[k]);
        if (e.frac != j->cluster->cfg.frac_bits)
            return trine_err_set(err, TRINE_EINVAL,
                                 "tensor '%s' has %u fractional bits; this cluster computes with "
                                 "%u: share it again",
                                 b->names[k], e.frac, j->cluster->cfg.frac_bits);
        bool same = e.share->ndim == v->ndim;
        for (int d = b->count > 1; same && d < v->ndim; d++)
            same = e.share->shape[d] == v->shape[d];
        if (!same)
            return trine_err_set(err, TRINE_ESHAPE,
                                 "tensor '%s' does not have the shape the program was compiled "
                                 "for; list it again (trine ls) and rerun",
                                 b->names[k]);
        part[k] = e.share;
        rows += e.share->shape[0];
    }
    if (rows != v->shape[0])
        return trine_err_set(err, TRINE_ESHAPE,
                             "input '%s': its tensors have %zu rows in all, the program was "
                             "compiled for %zu",
                             v->name, rows, v->shape[0]);
    if (!(*out = tensor_new(v->ndim, v->shape)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory copying '%s'", v->name);
    uint64_t *at = (*out)->data;
    for (unsigned k = 0; k < b->count; k++) {
        memcpy(at, part[k]->data, part[k]->size * sizeof *at);
        at += part[k]->size;
    }
    return TRINE_OK;
}

/* The shares of the program's inputs (P0, P1), as bound: one entry of
 * q->bind per input and batch input, in variable order. */
static trine_status_t jobs_inputs(jobs_t *j, const prog_t *prog, const wire_request_t *q,
                                  const keys_public_t *caller, const store_use_t *use,
                                  tensor_t **inputs, trine_err_t *err)
{
    size_t k = 0;
    for (size_t i = 0; i < prog->nvars; i++) {
        const prog_var_t *v = &prog->vars[i];
        if (v->kind == PROG_VAR_TEMP)
            continue;
        store_use_t slot = *use;
        slot.slot = v->name;
        if (jobs_input(j, v, &q->bind[k++], caller, &slot, &inputs[i], err) != TRINE_OK)
            return err->code;
    }
    return TRINE_OK;
}

/* Reserves the output names (P0, P1) for owner under the job's key; on
 * failure releases those it reserved. */
static trine_status_t jobs_reserve(jobs_t *j, const prog_t *prog, const char *prefix,
                                   const keys_public_t *owner, uint64_t key, trine_err_t *err)
{
    trine_status_t st = TRINE_OK;
    size_t i = 0;
    char name[JOBS_OUTPUT_NAME];
    for (; st == TRINE_OK && i < prog->nvars; i++) {
        if (!prog->vars[i].output)
            continue;
        int n = snprintf(name, sizeof name, "%s%s", prefix, prog->vars[i].name);
        if (n > WIRE_NAME_MAX || !wire_name_valid(name))
            st = trine_err_set(err, TRINE_EINVAL,
                               "output name '%s%s' is not a tensor name: 1-%d letters, digits, "
                               "'_', '-' or '.' (a shorter --prefix?)",
                               prefix, prog->vars[i].name, WIRE_NAME_MAX);
        else if (j->self != 2 && store_reserve(j->store, name, owner, key, err) != TRINE_OK) {
            char why[TRINE_ERR_MSG_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            st = trine_err_set(err, err->code,
                               "output '%s' would replace a stored tensor or another job's "
                               "output (%s); choose another prefix",
                               name, why);
        }
    }
    for (size_t k = 0; st != TRINE_OK && j->self != 2 && k + 1 < i; k++)
        if (prog->vars[k].output) {
            snprintf(name, sizeof name, "%s%s", prefix, prog->vars[k].name);
            store_release(j->store, name, key);
        }
    return st;
}

/* Releases what jobs_reserve reserved. */
static void jobs_release(jobs_t *j, const prog_t *prog, const char *prefix, uint64_t key)
{
    char name[JOBS_OUTPUT_NAME];
    for (size_t i = 0; j->self != 2 && i < prog->nvars; i++)
        if (prog->vars[i].output) {
            snprintf(name, sizeof name, "%s%s", prefix, prog->vars[i].name);
            store_release(j->store, name, key);
        }
}

uint64_t jobs_key(const keys_public_t *caller, uint64_t id)
{
    uint64_t key = 0;
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, sizeof key);
    crypto_generichash_update(&h, (const unsigned char *)caller->z85, KEYS_Z85_LEN);
    crypto_generichash_update(&h, (const unsigned char *)&id, sizeof id);
    crypto_generichash_final(&h, (unsigned char *)&key, sizeof key);
    return key ? key : 1; /* 0 means no job in frames */
}

/* What the three parties agree on before a job computes: the request as
 * the caller sent it to each. */
static void jobs_hash(uint8_t out[WIRE_JOB_HASH_BYTES], const wire_request_t *q, uint64_t key)
{
    crypto_generichash_state h;
    uint64_t settings[6] = {key, q->batch, q->epochs, q->nbind, q->shuffle, q->fresh_masks};
    crypto_generichash_init(&h, NULL, 0, WIRE_JOB_HASH_BYTES);
    crypto_generichash_update(&h, q->program, q->program_len);
    crypto_generichash_update(&h, (const unsigned char *)settings, sizeof settings);
    crypto_generichash_update(&h, (const unsigned char *)q->prefix, strlen(q->prefix) + 1);
    crypto_generichash_update(&h, (const unsigned char *)q->to.z85, strlen(q->to.z85) + 1);
    for (size_t i = 0; i < q->nbind; i++)
        for (unsigned k = 0; k < q->bind[i].count; k++)
            crypto_generichash_update(&h, (const unsigned char *)q->bind[i].names[k],
                                      strlen(q->bind[i].names[k]) + 1);
    crypto_generichash_final(&h, out, WIRE_JOB_HASH_BYTES);
}

/* The caller's jobs here, and the memory all running jobs hold. */
static unsigned jobs_count(const jobs_t *j, const keys_public_t *caller, uint64_t *memory)
{
    unsigned n = 0;
    *memory = 0;
    for (int i = 0; i < JOBS_MAX; i++) {
        const jobs_slot_t *s = &j->slot[i];
        if (s->job) {
            n += !strcmp(s->caller.z85, caller->z85);
            *memory += s->memory;
        }
    }
    return n;
}

/* The limits of budget.h a new job of caller must pass before it takes
 * anything: the caller's job count, the job's memory, and (at P0 and P1)
 * the quota of owner, who will own the outputs. */
static trine_status_t jobs_admit(jobs_t *j, const keys_public_t *caller,
                                 const keys_public_t *owner, const prog_t *prog, uint64_t batch,
                                 uint64_t *need, trine_err_t *err)
{
    uint64_t held;
    unsigned mine = jobs_count(j, caller, &held);
    if (mine >= j->budget->client_jobs)
        return trine_err_set(err, TRINE_ELIMIT,
                             "party%d already runs %u jobs of yours, as many as one client may "
                             "(client_jobs in [limits]); " WIRE_BUSY,
                             j->self, mine);
    uint64_t outputs;
    trine_status_t st = budget_job(j->budget, j->self, prog, batch, held, need, &outputs, err);
    if (st == TRINE_OK && j->self != 2)
        st = budget_client_bytes(j->budget, j->self, j->store, owner, outputs, 0, err);
    return st;
}

/* True once both other parties sent the job's BEGIN. */
static bool jobs_accepted(const jobs_t *j, const jobs_slot_t *s)
{
    return (s->begun | 1u << j->self) == 7u;
}

/* One bind entry per input and batch input. */
static trine_status_t jobs_check_bind(const prog_t *prog, const wire_request_t *q,
                                      trine_err_t *err)
{
    size_t inputs = 0;
    for (size_t i = 0; i < prog->nvars; i++)
        inputs += prog->vars[i].kind != PROG_VAR_TEMP;
    if (q->nbind != inputs)
        return trine_err_set(err, TRINE_EFORMAT,
                             "the run binds %zu inputs; the program has %zu inputs and batch "
                             "inputs",
                             q->nbind, inputs);
    return TRINE_OK;
}

static trine_status_t jobs_prepare(jobs_t *j, const keys_public_t *caller, const wire_request_t *q,
                                   uint64_t key, job_params_t *p, uint64_t *need, trine_err_t *err)
{
    if (jobs_find(j, key) || jobs_recent(j, key))
        return trine_err_set(err, TRINE_EEXIST, "job id %016llx was used already",
                             (unsigned long long)q->job);
    if (q->to.z85[0] && !cluster_client_allowed(j->cluster, &q->to))
        return trine_err_set(err, TRINE_EINVAL,
                             "the recipient key %.8s... is not an allowed client of this cluster",
                             q->to.z85);
    for (int peer = 0; peer < CONFIG_PARTIES; peer++)
        if (links_state(j->links, peer) == WIRE_PEER_DOWN)
            return trine_err_set(err, TRINE_EPEER, "party%d (%s) is down; no job can run", peer,
                                 j->cluster->cfg.party[peer].peer);
    trine_status_t st = prog_wire_decode(&p->prog, q->program, q->program_len, err);
    if (st == TRINE_OK)
        st = jobs_check_bind(&p->prog, q, err);
    if (st == TRINE_OK)
        st = prog_check_job(&p->prog, q->batch, err);
    const keys_public_t *owner = q->to.z85[0] ? &q->to : caller;
    if (st == TRINE_OK)
        st = jobs_admit(j, caller, owner, &p->prog, q->batch, need, err);
    uint8_t policy[WIRE_PROGRAM_HASH_BYTES];
    if (st == TRINE_OK)
        st =
            prog_wire_policy_hash(policy, &p->prog, j->cluster->cfg.frac_bits,
                                  j->cluster->cfg.truncation, q->batch, q->epochs, q->shuffle, err);
    store_use_t use = {.program = policy, .to = owner};
    if (st == TRINE_OK && !(p->inputs = calloc(p->prog.nvars, sizeof *p->inputs)))
        st = trine_err_set(err, TRINE_ENOMEM, "out of memory");
    if (st == TRINE_OK && j->self != 2)
        st = jobs_inputs(j, &p->prog, q, caller, &use, p->inputs, err);
    if (st == TRINE_OK) /* last: a refusal after it would leave reservations */
        st = jobs_reserve(j, &p->prog, q->prefix, owner, key, err);
    p->id = key;
    p->self = j->self;
    p->frac_bits = j->cluster->cfg.frac_bits;
    p->truncation =
        j->cluster->cfg.truncation == CONFIG_TRUNC_LOCAL ? PROTO_TRUNC_LOCAL : PROTO_TRUNC_EXACT;
    config_protocol_t proto = j->cluster->cfg.protocol;
    p->protocol = proto == CONFIG_PROTOCOL_FSS     ? PROTO_FSS
                  : proto == CONFIG_PROTOCOL_AUTO  ? PROTO_AUTO
                  : proto == CONFIG_PROTOCOL_CARRY ? PROTO_CARRY
                                                   : PROTO_SECURENN;
    p->fss_max = j->cluster->cfg.fss_max;
    p->timeout_ms = j->cluster->cfg.timeout_ms;
    p->batch = q->batch;
    p->epochs = q->epochs;
    p->shuffle = q->shuffle;
    jobs_hash(p->hash, q, key);
    return st;
}

/* Takes references to the masked forms kept for the job's inputs (each
 * bound to one tensor) into the slot, and gives the job the forms and
 * their tags. */
static trine_status_t jobs_kept_take(jobs_t *j, jobs_slot_t *s, const wire_request_t *q,
                                     job_params_t *p, trine_err_t *err)
{
    size_t nv = p->prog.nvars ? p->prog.nvars : 1;
    p->keep = kept_limit(j->kept) > 0 && !q->fresh_masks;
    s->kept = calloc(nv, sizeof *s->kept);
    p->kept = calloc(nv, sizeof *p->kept);
    p->tags = calloc(nv, sizeof *p->tags);
    if (!s->kept || !p->kept || !p->tags)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory");
    s->nkept = p->prog.nvars;
    for (size_t i = 0, k = 0; i < p->prog.nvars; i++) {
        prog_var_kind_t kind = p->prog.vars[i].kind;
        if (kind == PROG_VAR_TEMP)
            continue;
        const wire_bind_t *b = &q->bind[k++];
        if (kind != PROG_VAR_INPUT || b->count != 1 || q->fresh_masks)
            continue;
        jobs_kept_t *e = &s->kept[i];
        snprintf(e->name, sizeof e->name, "%s", b->names[0]);
        e->serial = j->self != 2 ? store_serial(j->store, e->name) : 0;
        if ((e->ref = kept_get(j->kept, e->name, e->serial))) {
            p->kept[i] = kept_masked(e->ref);
            memcpy(p->tags[i], kept_tag(e->ref), KEPT_TAG_BYTES);
        }
    }
    return TRINE_OK;
}

/* Drops the slot's references; after a job that succeeded, first keeps
 * the forms it made for the tensors that are still the ones it read. */
static void jobs_kept_settle(jobs_t *j, jobs_slot_t *s, job_result_t *res, bool ok)
{
    for (size_t v = 0; v < s->nkept; v++) {
        jobs_kept_t *e = &s->kept[v];
        kept_release(&e->ref);
        if (!ok || !res || !res->made || !res->made[v] || !e->name[0])
            continue;
        if (j->self == 2 || store_serial(j->store, e->name) == e->serial)
            kept_put(j->kept, e->name, e->serial, res->made_tags[v], &res->made[v]);
    }
    free(s->kept);
    s->kept = NULL;
    s->nkept = 0;
}

trine_status_t jobs_run(jobs_t *j, const keys_public_t *caller, const wire_request_t *q,
                        const void *route, size_t route_len, trine_err_t *err)
{
    jobs_slot_t *s = NULL;
    for (int i = 0; i < JOBS_MAX && !s; i++)
        if (!j->slot[i].job)
            s = &j->slot[i];
    job_params_t p = {0};
    uint64_t need = 0;
    trine_status_t st = TRINE_OK;
    if (!s)
        st = trine_err_set(err, TRINE_ELIMIT, "party%d already runs %d jobs; " WIRE_BUSY, j->self,
                           JOBS_MAX);
    else if (route_len > sizeof s->route)
        st = trine_err_set(err, TRINE_EINVAL, "client routing id too long");
    uint64_t key = jobs_key(caller, q->job);
    if (st == TRINE_OK)
        st = jobs_prepare(j, caller, q, key, &p, &need, err);
    size_t nops = p.prog.nops; /* job_start takes the program */
    if (st == TRINE_OK)
        snprintf(s->prefix, sizeof s->prefix, "%s", q->prefix);
    if (st == TRINE_OK && jobs_kept_take(j, s, q, &p, err) != TRINE_OK)
        jobs_release(j, &p.prog, q->prefix, key), st = err->code;
    if (st == TRINE_OK && !(s->job = job_start(j->zctx, &p, &s->pipe, err))) {
        jobs_release(j, &p.prog, q->prefix, key);
        st = err->code;
    }
    if (st != TRINE_OK) {
        if (s)
            jobs_kept_settle(j, s, NULL, false);
        char why[WIRE_ABORT_MAX];
        snprintf(why, sizeof why, "party%d refused the job: %.440s", j->self, err->msg);
        jobs_refuse(j, key, why);
        job_params_clear(&p);
        if (st != TRINE_EEXIST) { /* the peers' BEGIN and ABORT for it may still come */
            j->recent[j->nrecent++ % JOBS_RECENT] = key;
            for (size_t i = 0; i < j->npending;)
                if (j->pending[i].job == key)
                    jobs_pending_drop(j, i);
                else
                    i++;
        }
        return st;
    }
    s->id = key;
    s->client_id = q->job;
    s->request_id = q->id;
    s->caller = *caller;
    s->owner = q->to.z85[0] ? q->to : *caller;
    memcpy(s->route, route, route_len);
    s->route_len = route_len;
    s->stopping = false;
    s->started_ms = s->polled_ms = sock_now_ms();
    s->memory = need;
    s->begun = 0;
    /* Frames of this job that came before the request go first, in order. */
    for (size_t i = 0; i < j->npending;) {
        if (j->pending[i].job == key) {
            jobs_note_begin(s, j->pending[i].type, j->pending[i].from);
            jobs_to_thread(s, &j->pending[i].head, &j->pending[i].body);
            jobs_pending_drop(j, i);
        } else {
            i++;
        }
    }
    char who[LOG_KEY_CHARS], to[LOG_KEY_CHARS];
    log_line(j->log, LOG_INFO,
             "job %016llx started for client %s (its job %016llx): %zu ops, batch %llu, %llu "
             "epochs, outputs to %s",
             (unsigned long long)key, log_key(who, caller), (unsigned long long)q->job, nops,
             (unsigned long long)q->batch, (unsigned long long)q->epochs,
             q->to.z85[0] ? log_key(to, &q->to) : "the caller");
    return TRINE_OK;
}

void jobs_progress(jobs_t *j, const keys_public_t *caller, uint64_t id, wire_reply_t *r)
{
    uint64_t key = jobs_key(caller, id);
    jobs_slot_t *s = jobs_find(j, key);
    r->state = WIRE_JOB_UNKNOWN;
    r->step = r->steps = 0;
    if (s) {
        s->polled_ms = sock_now_ms();
        r->state = WIRE_JOB_RUNNING;
        job_progress(s->job, &r->step, &r->steps);
    } else if (jobs_recent(j, key)) {
        r->state = WIRE_JOB_DONE;
    }
}

trine_status_t jobs_list(const jobs_t *j, const keys_public_t *caller, wire_reply_t *r,
                         trine_err_t *err)
{
    uint64_t held, now = sock_now_ms();
    unsigned n = jobs_count(j, caller, &held);
    r->njobs = 0;
    if (n && !(r->jobs = calloc(n, sizeof *r->jobs)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory listing jobs");
    for (int i = 0; i < JOBS_MAX; i++) {
        const jobs_slot_t *s = &j->slot[i];
        if (!s->job || strcmp(s->caller.z85, caller->z85))
            continue;
        wire_job_info_t *o = &r->jobs[r->njobs++];
        o->job = s->client_id; /* the id the client knows */
        o->state = s->stopping ? WIRE_JOBS_STOPPING
                   : jobs_accepted(j, s) ? WIRE_JOBS_RUNNING
                                         : WIRE_JOBS_STARTING;
        job_progress(s->job, &o->step, &o->steps);
        o->elapsed_ms = now - s->started_ms;
    }
    return TRINE_OK;
}

trine_status_t jobs_cancel(jobs_t *j, const keys_public_t *caller, uint64_t id, trine_err_t *err)
{
    jobs_slot_t *s = jobs_find(j, jobs_key(caller, id));
    if (!s)
        return trine_err_set(err, TRINE_ENOENT, "no job %016llx of yours runs on party%d",
                             (unsigned long long)id, j->self);
    jobs_stop(j, s, "cancelled by the client");
    return TRINE_OK;
}

int jobs_pollitems(const jobs_t *j, zmq_pollitem_t *items)
{
    int n = 0;
    for (int i = 0; i < JOBS_MAX; i++)
        if (j->slot[i].job)
            items[n++] = (zmq_pollitem_t){j->slot[i].pipe, 0, ZMQ_POLLIN, 0};
    return n;
}

/* Stores the outputs as prefix + name, owned by the job's owner, in the
 * names the job reserved (released first: the main loop runs nothing in
 * between); on failure removes those stored. */
static trine_status_t jobs_store_outputs(jobs_t *j, jobs_slot_t *s, job_result_t *res,
                                         trine_err_t *err)
{
    size_t done = 0;
    trine_status_t st = TRINE_OK;
    char name[JOBS_OUTPUT_NAME];
    jobs_release(j, &res->prog, s->prefix, s->id);
    for (size_t i = 0; st == TRINE_OK && i < res->prog.nvars; i++) {
        if (!res->prog.vars[i].output)
            continue;
        snprintf(name, sizeof name, "%s%s", s->prefix, res->prog.vars[i].name);
        st = store_put(j->store, name, &s->owner, WIRE_KIND_FIXED, j->cluster->cfg.frac_bits,
                       &res->outputs[i], err);
        done += st == TRINE_OK;
    }
    for (size_t i = 0; st != TRINE_OK && done && i < res->prog.nvars; i++) {
        if (!res->prog.vars[i].output)
            continue;
        snprintf(name, sizeof name, "%s%s", s->prefix, res->prog.vars[i].name);
        if (store_rm(j->store, name, &s->owner, NULL) == TRINE_OK)
            done--;
    }
    return st;
}

static void jobs_reply(jobs_t *j, jobs_slot_t *s, const wire_reply_t *r)
{
    void *buf;
    size_t len;
    if (wire_reply_encode(&buf, &len, WIRE_OP_RUN, r) != TRINE_OK) {
        log_line(j->log, LOG_ERROR, "job %016llx: out of memory for the reply",
                 (unsigned long long)s->id);
        return;
    }
    if (zmq_send(j->client, s->route, s->route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(j->client, buf, len, ZMQ_DONTWAIT) < 0)
        log_line(j->log, LOG_WARN, "job %016llx: could not reply to the client: %s",
                 (unsigned long long)s->id, zmq_strerror(zmq_errno()));
    free(buf);
}

static void jobs_finish(jobs_t *j, jobs_slot_t *s)
{
    job_result_t res;
    job_join(&s->job, &res);
    j->recent[j->nrecent++ % JOBS_RECENT] = s->id;
    wire_reply_t r = {.id = s->request_id, .stats = res.stats};
    trine_err_t err = res.err;
    trine_status_t st = res.status;
    if (st == TRINE_OK && j->self != 2)
        st = jobs_store_outputs(j, s, &res, &err);
    else
        jobs_release(j, &res.prog, s->prefix, s->id);
    jobs_kept_settle(j, s, &res, st == TRINE_OK);
    if (st == TRINE_OK) {
        log_line(j->log, LOG_INFO, "job %016llx done: %llu steps in %.3f s, %llu rounds",
                 (unsigned long long)s->id, (unsigned long long)res.stats.steps,
                 (double)res.stats.time_us / 1e6, (unsigned long long)res.stats.rounds);
    } else {
        r.code = st;
        snprintf(r.msg, sizeof r.msg, "%s", err.msg);
        log_line(j->log, LOG_WARN, "job %016llx failed: %s", (unsigned long long)s->id, err.msg);
    }
    if (j->client)
        jobs_reply(j, s, &r);
    job_result_clear(&res);
    s->pipe = NULL;
}

/* Drains one job's pipe: frames to forward, and the end. */
static void jobs_drain(jobs_t *j, jobs_slot_t *s)
{
    for (;;) {
        zmq_msg_t f[3];
        int n = sock_recv_frames(s->pipe, f, 3, ZMQ_DONTWAIT);
        if (n < 0)
            return;
        const uint8_t *first = zmq_msg_data(&f[0]);
        if (n == 1 && first[0] == JOB_PIPE_DONE) {
            sock_close_frames(f, n, 3);
            jobs_finish(j, s);
            return;
        }
        if (n == 3) {
            int to = first[0];
            if (links_forward(j->links, to, &f[1], &f[2]) != TRINE_OK) {
                jobs_wipe(&f[2]);
                char why[128];
                snprintf(why, sizeof why, "party%d (%s) cannot be reached", to,
                         to >= 0 && to < CONFIG_PARTIES ? j->cluster->cfg.party[to].peer : "?");
                jobs_stop(j, s, why);
            }
        }
        sock_close_frames(f, n, 3);
    }
}

void jobs_handle(jobs_t *j, const zmq_pollitem_t *items, int n)
{
    for (int k = 0; k < n; k++) {
        if (!(items[k].revents & ZMQ_POLLIN))
            continue;
        for (int i = 0; i < JOBS_MAX; i++)
            if (j->slot[i].job && j->slot[i].pipe == items[k].socket)
                jobs_drain(j, &j->slot[i]);
    }
}

/* Stops the jobs past the time limits of budget.h. A main loop that did
 * not run for longer than a heartbeat (stopped, starved of CPU) read no
 * polls meanwhile: the callers get abandon_ms afresh. */
static void jobs_watch(jobs_t *j, uint64_t now)
{
    const budget_t *l = j->budget;
    bool gap = now - j->last_tick > j->cluster->cfg.heartbeat_ms;
    j->last_tick = now;
    for (int i = 0; i < JOBS_MAX; i++) {
        jobs_slot_t *s = &j->slot[i];
        char why[160], who[LOG_KEY_CHARS];
        if (!s->job || s->stopping)
            continue;
        if (gap)
            s->polled_ms = now;
        if (!jobs_accepted(j, s) && now - s->started_ms >= l->accept_ms) {
            snprintf(why, sizeof why,
                     "party%d did not accept the job within %.1f s (did the client send it to "
                     "all three parties?)",
                     !(s->begun & 1u << ((j->self + 1) % 3)) ? (j->self + 1) % 3 : (j->self + 2) % 3,
                     (double)l->accept_ms / 1000);
            jobs_stop(j, s, why);
        } else if (now - s->polled_ms >= l->abandon_ms) {
            snprintf(why, sizeof why,
                     "abandoned: its client %s stopped asking about it %.1f s ago; cancelled",
                     log_key(who, &s->caller), (double)(now - s->polled_ms) / 1000);
            jobs_stop(j, s, why);
        } else if (now - s->started_ms >= l->job_max_ms) {
            snprintf(why, sizeof why, "it ran for %.1f s, the most a job may (job_max_ms in [limits])",
                     (double)(now - s->started_ms) / 1000);
            jobs_stop(j, s, why);
        }
    }
}

void jobs_tick(jobs_t *j, uint64_t now)
{
    for (size_t i = 0; i < j->npending;) {
        if (now - j->pending[i].at_ms >= j->cluster->cfg.timeout_ms) {
            /* A peer's refusal of a job this party never got (its client
             * sent the run to that peer alone) is no fault here. */
            bool refusal = j->pending[i].type == WIRE_FRAME_ABORT;
            log_line(j->log, refusal ? LOG_INFO : LOG_WARN,
                     "%s of job %016llx from party%d: no client asked this party to run it "
                     "within %.1f s",
                     refusal ? "dropped the refusal" : "dropped frames",
                     (unsigned long long)j->pending[i].job, j->pending[i].from,
                     (double)j->cluster->cfg.timeout_ms / 1000);
            jobs_pending_drop(j, i);
        } else {
            i++;
        }
    }
    jobs_watch(j, now);
    for (int i = 0; i < JOBS_MAX; i++) {
        jobs_slot_t *s = &j->slot[i];
        for (int p = 0; s->job && p < CONFIG_PARTIES; p++)
            if (links_state(j->links, p) == WIRE_PEER_DOWN) {
                char why[TRINE_ERR_MSG_MAX];
                jobs_stop(j, s, links_why_down(j->links, p, why, sizeof why));
            }
    }
}

void jobs_destroy(jobs_t **jobs)
{
    jobs_t *j = jobs ? *jobs : NULL;
    if (!j)
        return;
    for (int i = 0; i < JOBS_MAX; i++) {
        jobs_slot_t *s = &j->slot[i];
        if (!s->job)
            continue;
        jobs_stop(j, s, "the party is shutting down");
        /* Wait for the thread's end, forwarding its ABORTs meanwhile. */
        while (s->job) {
            zmq_pollitem_t item = {s->pipe, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&item, 1, 1000) > 0)
                jobs_drain(j, s);
        }
    }
    while (j->npending)
        jobs_pending_drop(j, 0);
    kept_destroy(&j->kept);
    free(j);
    *jobs = NULL;
}

void jobs_forget(jobs_t *j, const char *name)
{
    kept_forget(j->kept, name);
}
