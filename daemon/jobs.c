/* jobs.c — starting, feeding and finishing jobs in the main loop (jobs.h). */
#include "jobs.h"
#include "job.h"
#include "prog_wire.h"
#include "sock.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_RECENT      32 /* finished ids remembered, to drop their late frames */
#define JOBS_OUTPUT_NAME (WIRE_NAME_MAX + PROG_NAME_MAX + 1) /* prefix + variable name */

typedef struct {
    job_t *job; /* NULL: free slot */
    void *pipe;
    uint64_t id, request_id;
    keys_public_t caller;
    uint8_t route[256];
    size_t route_len;
    char prefix[WIRE_NAME_MAX + 1];
    bool stopping; /* a STOP was sent */
} jobs_slot_t;

typedef struct {
    uint64_t job, at_ms;
    int from;
    zmq_msg_t head, body;
} jobs_pending_t;

struct jobs {
    void *zctx;
    const cluster_t *cluster;
    int self;
    links_t *links;
    store_t *store;
    const log_t *log;
    void *client;
    jobs_slot_t slot[JOBS_MAX];
    jobs_pending_t pending[JOBS_PENDING_MAX];
    size_t npending;
    uint64_t recent[JOBS_RECENT];
    size_t nrecent;
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

static void jobs_on_frame(void *arg, int from, const wire_frame_t *f, zmq_msg_t *head,
                          zmq_msg_t *body)
{
    jobs_t *j = arg;
    jobs_slot_t *s = jobs_find(j, f->job);
    if (s) {
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
    p->at_ms = sock_now_ms();
    zmq_msg_init(&p->head);
    zmq_msg_init(&p->body);
    zmq_msg_move(&p->head, head);
    zmq_msg_move(&p->body, body);
}

jobs_t *jobs_new(void *zctx, const cluster_t *cluster, int self, links_t *links, store_t *store,
                 const log_t *log, void *client)
{
    jobs_t *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    *j = (jobs_t){.zctx = zctx, .cluster = cluster, .self = self, .links = links,
                  .store = store, .log = log, .client = client};
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

/* The shares of the program's inputs, checked against the store (P0, P1). */
static trine_status_t jobs_inputs(jobs_t *j, const prog_t *prog, const keys_public_t *caller,
                                  tensor_t **inputs, trine_err_t *err)
{
    for (size_t i = 0; i < prog->nvars; i++) {
        const prog_var_t *v = &prog->vars[i];
        if (v->kind == PROG_VAR_TEMP)
            continue;
        store_entry_t e;
        if (store_get(j->store, v->name, caller, STORE_USE, &e, err) != TRINE_OK)
            return err->code;
        if (e.kind != WIRE_KIND_FIXED)
            return trine_err_set(err, TRINE_EINVAL,
                                 "tensor '%s' holds integers; programs compute on reals (share it "
                                 "from a float .npy or .csv)",
                                 v->name);
        bool same = e.share->ndim == v->ndim;
        for (int d = 0; same && d < v->ndim; d++)
            same = e.share->shape[d] == v->shape[d];
        if (!same)
            return trine_err_set(err, TRINE_ESHAPE,
                                 "tensor '%s' does not have the shape the program was compiled "
                                 "for; list it again (trine ls) and rerun",
                                 v->name);
        if (!(inputs[i] = tensor_copy(e.share)))
            return trine_err_set(err, TRINE_ENOMEM, "out of memory copying '%s'", v->name);
    }
    return TRINE_OK;
}

/* Output names must be free before the job starts. */
static trine_status_t jobs_outputs_free(jobs_t *j, const prog_t *prog, const char *prefix,
                                        const keys_public_t *caller, trine_err_t *err)
{
    for (size_t i = 0; i < prog->nvars; i++) {
        if (!prog->vars[i].output)
            continue;
        char name[JOBS_OUTPUT_NAME];
        int n = snprintf(name, sizeof name, "%s%s", prefix, prog->vars[i].name);
        if (n > WIRE_NAME_MAX || !wire_name_valid(name))
            return trine_err_set(err, TRINE_EINVAL, "output name '%s%s' is not a valid tensor name",
                                 prefix, prog->vars[i].name);
        store_entry_t e;
        if (j->self != 2 && store_get(j->store, name, caller, STORE_USE, &e, NULL) != TRINE_ENOENT)
            return trine_err_set(err, TRINE_EEXIST,
                                 "output '%s' would replace a stored tensor: rm it, or choose "
                                 "another prefix",
                                 name);
    }
    return TRINE_OK;
}

static void jobs_hash(uint8_t out[WIRE_JOB_HASH_BYTES], const wire_request_t *q)
{
    crypto_generichash_state h;
    uint64_t settings[3] = {q->job, q->batch, q->epochs};
    crypto_generichash_init(&h, NULL, 0, WIRE_JOB_HASH_BYTES);
    crypto_generichash_update(&h, q->program, q->program_len);
    crypto_generichash_update(&h, (const unsigned char *)settings, sizeof settings);
    crypto_generichash_update(&h, (const unsigned char *)q->prefix, strlen(q->prefix) + 1);
    crypto_generichash_final(&h, out, WIRE_JOB_HASH_BYTES);
}

static trine_status_t jobs_prepare(jobs_t *j, const keys_public_t *caller, const wire_request_t *q,
                                   job_params_t *p, trine_err_t *err)
{
    if (jobs_find(j, q->job) || jobs_recent(j, q->job))
        return trine_err_set(err, TRINE_EEXIST, "job id %016llx was used already",
                             (unsigned long long)q->job);
    for (int peer = 0; peer < CONFIG_PARTIES; peer++)
        if (links_state(j->links, peer) == WIRE_PEER_DOWN)
            return trine_err_set(err, TRINE_EPEER, "party%d (%s) is down; no job can run", peer,
                                 j->cluster->cfg.party[peer].peer);
    trine_status_t st = prog_wire_decode(&p->prog, q->program, q->program_len, err);
    if (st == TRINE_OK)
        st = prog_check_job(&p->prog, q->batch, err);
    if (st == TRINE_OK)
        st = jobs_outputs_free(j, &p->prog, q->prefix, caller, err);
    if (st == TRINE_OK && !(p->inputs = calloc(p->prog.nvars, sizeof *p->inputs)))
        st = trine_err_set(err, TRINE_ENOMEM, "out of memory");
    if (st == TRINE_OK && j->self != 2)
        st = jobs_inputs(j, &p->prog, caller, p->inputs, err);
    p->id = q->job;
    p->self = j->self;
    p->frac_bits = j->cluster->cfg.frac_bits;
    p->truncation =
        j->cluster->cfg.truncation == CONFIG_TRUNC_LOCAL ? PROTO_TRUNC_LOCAL : PROTO_TRUNC_EXACT;
    p->timeout_ms = j->cluster->cfg.timeout_ms;
    p->batch = q->batch;
    p->epochs = q->epochs;
    jobs_hash(p->hash, q);
    return st;
}

trine_status_t jobs_run(jobs_t *j, const keys_public_t *caller, const wire_request_t *q,
                        const void *route, size_t route_len, trine_err_t *err)
{
    jobs_slot_t *s = NULL;
    for (int i = 0; i < JOBS_MAX && !s; i++)
        if (!j->slot[i].job)
            s = &j->slot[i];
    job_params_t p = {0};
    trine_status_t st = TRINE_OK;
    if (!s)
        st = trine_err_set(err, TRINE_ELIMIT, "party%d already runs %d jobs; " JOBS_BUSY, j->self,
                           JOBS_MAX);
    else if (route_len > sizeof s->route)
        st = trine_err_set(err, TRINE_EINVAL, "client routing id too long");
    if (st == TRINE_OK)
        st = jobs_prepare(j, caller, q, &p, err);
    size_t nops = p.prog.nops; /* job_start takes the program */
    if (st == TRINE_OK && !(s->job = job_start(j->zctx, &p, &s->pipe, err)))
        st = err->code;
    if (st != TRINE_OK) {
        char why[WIRE_ABORT_MAX];
        snprintf(why, sizeof why, "party%d refused the job: %.200s", j->self, err->msg);
        jobs_refuse(j, q->job, why);
        job_params_clear(&p);
        if (st != TRINE_EEXIST) { /* the peers' BEGIN and ABORT for it may still come */
            j->recent[j->nrecent++ % JOBS_RECENT] = q->job;
            for (size_t i = 0; i < j->npending;)
                if (j->pending[i].job == q->job)
                    jobs_pending_drop(j, i);
                else
                    i++;
        }
        return st;
    }
    s->id = q->job;
    s->request_id = q->id;
    s->caller = *caller;
    memcpy(s->route, route, route_len);
    s->route_len = route_len;
    snprintf(s->prefix, sizeof s->prefix, "%s", q->prefix);
    s->stopping = false;
    /* Frames of this job that came before the request go first, in order. */
    for (size_t i = 0; i < j->npending;) {
        if (j->pending[i].job == q->job) {
            jobs_to_thread(s, &j->pending[i].head, &j->pending[i].body);
            jobs_pending_drop(j, i);
        } else {
            i++;
        }
    }
    char who[LOG_KEY_CHARS];
    log_line(j->log, LOG_INFO, "job %016llx started for client %s: %zu ops, batch %llu, %llu epochs",
             (unsigned long long)q->job, log_key(who, caller), nops,
             (unsigned long long)q->batch, (unsigned long long)q->epochs);
    return TRINE_OK;
}

void jobs_progress(const jobs_t *j, const keys_public_t *caller, uint64_t id, wire_reply_t *r)
{
    const jobs_slot_t *s = jobs_find(j, id);
    r->state = WIRE_JOB_UNKNOWN;
    r->step = r->steps = 0;
    if (s && !strcmp(s->caller.z85, caller->z85)) {
        r->state = WIRE_JOB_RUNNING;
        job_progress(s->job, &r->step, &r->steps);
    } else if (!s && jobs_recent(j, id)) {
        r->state = WIRE_JOB_DONE;
    }
}

trine_status_t jobs_cancel(jobs_t *j, const keys_public_t *caller, uint64_t id, trine_err_t *err)
{
    jobs_slot_t *s = jobs_find(j, id);
    if (!s || strcmp(s->caller.z85, caller->z85))
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

/* Stores the outputs as prefix + name; on failure removes those stored. */
static trine_status_t jobs_store_outputs(jobs_t *j, jobs_slot_t *s, job_result_t *res,
                                         trine_err_t *err)
{
    size_t done = 0;
    trine_status_t st = TRINE_OK;
    char name[JOBS_OUTPUT_NAME];
    for (size_t i = 0; st == TRINE_OK && i < res->prog.nvars; i++) {
        if (!res->prog.vars[i].output)
            continue;
        snprintf(name, sizeof name, "%s%s", s->prefix, res->prog.vars[i].name);
        st = store_put(j->store, name, &s->caller, WIRE_KIND_FIXED, j->cluster->cfg.frac_bits,
                       &res->outputs[i], err);
        done += st == TRINE_OK;
    }
    for (size_t i = 0; st != TRINE_OK && done && i < res->prog.nvars; i++) {
        if (!res->prog.vars[i].output)
            continue;
        snprintf(name, sizeof name, "%s%s", s->prefix, res->prog.vars[i].name);
        if (store_rm(j->store, name, &s->caller, NULL) == TRINE_OK)
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

void jobs_tick(jobs_t *j, uint64_t now)
{
    for (size_t i = 0; i < j->npending;) {
        if (now - j->pending[i].at_ms >= j->cluster->cfg.timeout_ms) {
            log_line(j->log, LOG_WARN,
                     "dropped frames of job %016llx from party%d: no client asked this party "
                     "to run it within %.1f s",
                     (unsigned long long)j->pending[i].job, j->pending[i].from,
                     (double)j->cluster->cfg.timeout_ms / 1000);
            jobs_pending_drop(j, i);
        } else {
            i++;
        }
    }
    for (int i = 0; i < JOBS_MAX; i++) {
        jobs_slot_t *s = &j->slot[i];
        for (int p = 0; s->job && p < CONFIG_PARTIES; p++)
            if (links_state(j->links, p) == WIRE_PEER_DOWN) {
                char why[160];
                snprintf(why, sizeof why, "party%d (%s) went silent for %.1f s", p,
                         j->cluster->cfg.party[p].peer, (double)j->cluster->cfg.timeout_ms / 1000);
                jobs_stop(j, s, why);
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
    free(j);
    *jobs = NULL;
}
