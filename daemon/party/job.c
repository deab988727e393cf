/* job.c — a job's thread and its link over the main loop's pipe (job.h). */
#include "daemon/party/job.h"
#include "daemon/common/sock.h"

#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <zmq.h>

/* A wait first polls the pipe this many times, yielding the processor in
 * between, before it blocks: a peer's next message on a fast link comes
 * within about as long as a blocked thread takes to wake, so a round on
 * loopback is 10-20% faster (Network A at batch 1: 4.4 ms against 5.4;
 * at batch 128 no slower). A waiting party spins for well under a
 * millisecond, then sleeps. */
#define JOB_SPIN_POLLS 200

/* A message from a peer that arrived before the protocol asked for it. */
typedef struct job_msg {
    wire_frame_t frame;
    zmq_msg_t body;
    struct job_msg *next;
} job_msg_t;

struct job {
    job_params_t p;
    void *pipe_main, *pipe_job;
    thrd_t thread;
    job_msg_t *head[PROTO_PARTIES], *tail[PROTO_PARTIES];
    char stop[TRINE_ERR_MSG_MAX]; /* why the job must stop, once known */
    trine_status_t stop_code;
    uint64_t frozen_us; /* how late a wait of this thread ended, when it was not run */
    _Atomic uint64_t step, steps;
    uint64_t started_us, first_step_us, exec_us;
    uint8_t nonce[PROTO_PARTIES][KEPT_TAG_BYTES]; /* each party's, from BEGIN */
    bool keep_all;                                 /* all three keep masked forms */
    bool *use;                                     /* per variable: all hold its kept form */
    job_result_t result;
};

static uint64_t job_now_us(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Sends a frame to party `to` through the main loop. */
static trine_status_t job_send_frame(job_t *j, int to, const wire_frame_t *f, const void *buf,
                                     size_t len, trine_err_t *err)
{
    uint8_t dest = (uint8_t)to, head[WIRE_FRAME_HEADER_BYTES];
    wire_frame_pack(head, f);
    if (zmq_send(j->pipe_job, &dest, 1, ZMQ_SNDMORE) != 1 ||
        zmq_send(j->pipe_job, head, sizeof head, ZMQ_SNDMORE) != sizeof head ||
        zmq_send(j->pipe_job, buf, len, 0) != (int)len)
        return trine_err_set(err, TRINE_EIO, "job %016llx: cannot queue a message: %s",
                             (unsigned long long)j->p.id, zmq_strerror(zmq_errno()));
    return TRINE_OK;
}

/* Reads one message from the pipe, waiting until deadline_us at most, and
 * files it: peer frames into their party's queue, ABORT and STOP into
 * j->stop. TRINE_ETIMEOUT when nothing came. */
static trine_status_t job_pump(job_t *j, uint64_t deadline_us)
{
    uint64_t now = job_now_us();
    long wait_ms = deadline_us > now ? (long)((deadline_us - now + 999) / 1000) : 0;
    zmq_pollitem_t item = {j->pipe_job, 0, ZMQ_POLLIN, 0};
    int rc = 0;
    for (int spin = 0; spin < JOB_SPIN_POLLS && (rc = zmq_poll(&item, 1, 0)) == 0; spin++)
        sched_yield();
    if (rc <= 0 && zmq_poll(&item, 1, wait_ms) <= 0)
        return TRINE_ETIMEOUT;
    zmq_msg_t f[2];
    int n = sock_recv_frames(j->pipe_job, f, 2, 0);
    if (n != 2) {
        sock_close_frames(f, n, 2);
        return TRINE_OK; /* the main loop sends only pairs; nothing to file */
    }
    const uint8_t *h = zmq_msg_data(&f[0]);
    wire_frame_t frame;
    if (zmq_msg_size(&f[0]) == 1 && h[0] == JOB_PIPE_STOP) {
        if (!j->stop[0])
            snprintf(j->stop, sizeof j->stop, "%.*s", (int)zmq_msg_size(&f[1]),
                     (const char *)zmq_msg_data(&f[1]));
        j->stop_code = TRINE_EPEER;
    } else if (wire_frame_unpack(&frame, h, zmq_msg_size(&f[0]), NULL) != TRINE_OK) {
        /* the main loop checked it; cannot happen */
    } else if (frame.type == WIRE_FRAME_ABORT) {
        if (!j->stop[0])
            snprintf(
                j->stop, sizeof j->stop, "party%u stopped the job: %.*s", frame.sender,
                (int)(zmq_msg_size(&f[1]) < WIRE_ABORT_MAX ? zmq_msg_size(&f[1]) : WIRE_ABORT_MAX),
                (const char *)zmq_msg_data(&f[1]));
        j->stop_code = TRINE_EPEER;
    } else {
        job_msg_t *m = malloc(sizeof *m);
        if (!m) {
            snprintf(j->stop, sizeof j->stop, "out of memory queueing a message");
            j->stop_code = TRINE_ENOMEM;
        } else {
            m->frame = frame;
            m->next = NULL;
            zmq_msg_init(&m->body);
            zmq_msg_move(&m->body, &f[1]);
            int p = (int)frame.sender;
            if (j->tail[p])
                j->tail[p]->next = m;
            else
                j->head[p] = m;
            j->tail[p] = m;
        }
    }
    sock_close_frames(f, 2, 2);
    return TRINE_OK;
}

/* The reason the job stops, with a note when this party was not run. */
static trine_status_t job_stopped(job_t *j, trine_err_t *err)
{
    if (!j->frozen_us)
        return trine_err_set(err, j->stop_code, "%s", j->stop);
    return trine_err_set(err, j->stop_code,
                         "%s (this party was not run for %.1f s past its wait: stopped, or "
                         "starved of CPU)",
                         j->stop, (double)j->frozen_us / 1e6);
}

/* Waits for the next message from party `from` and unlinks it. A silent
 * party is normally reported by the main loop after timeout_ms (its
 * heartbeats stop), naming it; the job's own limit is twice as long, so
 * that it only catches a peer that is alive but no longer runs the job.
 * A wait that ends more than timeout_ms / 10 late means this thread was
 * not run (SIGSTOP, a suspended host): the peers' frames, most likely
 * their ABORT of a job they gave up on, still wait unread in the main
 * loop, so they get timeout_ms more, once, before the peer is blamed. */
static trine_status_t job_next(job_t *j, int from, job_msg_t **out, trine_err_t *err)
{
    uint64_t timeout_us = (uint64_t)j->p.timeout_ms * 1000u;
    uint64_t deadline = job_now_us() + 2u * timeout_us;
    for (;;) {
        if (j->stop[0])
            return job_stopped(j, err);
        if (j->head[from]) {
            *out = j->head[from];
            j->head[from] = (*out)->next;
            if (!j->head[from])
                j->tail[from] = NULL;
            return TRINE_OK;
        }
        if (job_pump(j, deadline) != TRINE_ETIMEOUT)
            continue;
        uint64_t now = job_now_us();
        if (!j->frozen_us && now > deadline + timeout_us / 10) {
            j->frozen_us = now - deadline;
            deadline = now + timeout_us;
            continue;
        }
        return trine_err_set(err, TRINE_ETIMEOUT,
                             "party%d sent nothing for job %016llx within %.1f s (twice "
                             "timeout_ms)",
                             from, (unsigned long long)j->p.id, (double)j->p.timeout_ms / 500);
    }
}

/* Frees a queued message; its body is wiped first, since it may be a seed
 * (proto_ctx_new) or a masked share. */
static void job_msg_free(job_msg_t *m)
{
    if (m) {
        sodium_memzero(zmq_msg_data(&m->body), zmq_msg_size(&m->body));
        zmq_msg_close(&m->body);
        free(m);
    }
}

/* ---- the link of protocol/link.h ---------------------------------------- */

static trine_status_t job_link_send(void *impl, proto_party_t to, const link_hdr_t *hdr,
                                    const void *buf, size_t len, trine_err_t *err)
{
    job_t *j = impl;
    wire_frame_t f = {WIRE_FRAME_DATA, (unsigned)j->p.self, j->p.id, hdr->step, hdr->round};
    return job_send_frame(j, (int)to, &f, buf, len, err);
}

static trine_status_t job_link_recv(void *impl, proto_party_t from, link_hdr_t *hdr, void *buf,
                                    size_t len, trine_err_t *err)
{
    job_t *j = impl;
    job_msg_t *m;
    trine_status_t st = job_next(j, (int)from, &m, err);
    if (st != TRINE_OK)
        return st;
    if (m->frame.type != WIRE_FRAME_DATA || zmq_msg_size(&m->body) != len)
        st = trine_err_set(err, TRINE_EFORMAT,
                           "party%d sent a %zu-byte %s message where %zu bytes of data belong",
                           (int)from, zmq_msg_size(&m->body),
                           m->frame.type == WIRE_FRAME_BEGIN ? "second BEGIN" : "data", len);
    else {
        memcpy(buf, zmq_msg_data(&m->body), len);
        hdr->step = m->frame.step;
        hdr->round = m->frame.round;
    }
    job_msg_free(m);
    return st;
}

/* ---- the thread ----------------------------------------------------------- */

/* BEGIN's payload: the job's hash, this party's nonce, 1 when it keeps
 * masked forms, and the tag of its kept form of each input variable. */
static size_t job_begin_bytes(const prog_t *prog)
{
    size_t n = WIRE_JOB_HASH_BYTES + KEPT_TAG_BYTES + 1;
    for (size_t v = 0; v < prog->nvars; v++)
        n += prog->vars[v].kind == PROG_VAR_INPUT ? KEPT_TAG_BYTES : 0;
    return n;
}

static void job_begin_pack(job_t *j, uint8_t *out)
{
    static const uint8_t none[KEPT_TAG_BYTES];
    memcpy(out, j->p.hash, WIRE_JOB_HASH_BYTES);
    out += WIRE_JOB_HASH_BYTES;
    randombytes_buf(j->nonce[j->p.self], KEPT_TAG_BYTES);
    memcpy(out, j->nonce[j->p.self], KEPT_TAG_BYTES);
    out += KEPT_TAG_BYTES;
    *out++ = j->p.keep;
    for (size_t v = 0; v < j->p.prog.nvars; v++) {
        if (j->p.prog.vars[v].kind != PROG_VAR_INPUT)
            continue;
        j->use[v] = j->p.tags && j->p.kept && j->p.kept[v];
        memcpy(out, j->use[v] ? j->p.tags[v] : none, KEPT_TAG_BYTES);
        out += KEPT_TAG_BYTES;
    }
}

/* Takes party p's BEGIN payload in: its nonce, whether it keeps, and
 * which of this party's kept forms it holds too. */
static void job_begin_unpack(job_t *j, int p, const uint8_t *in)
{
    in += WIRE_JOB_HASH_BYTES;
    memcpy(j->nonce[p], in, KEPT_TAG_BYTES);
    in += KEPT_TAG_BYTES;
    bool keeps = *in++ == 1; /* read before the &&, which would skip it */
    j->keep_all = j->keep_all && keeps;
    for (size_t v = 0; v < j->p.prog.nvars; v++) {
        if (j->p.prog.vars[v].kind != PROG_VAR_INPUT)
            continue;
        j->use[v] = j->use[v] && !sodium_memcmp(in, j->p.tags[v], KEPT_TAG_BYTES);
        in += KEPT_TAG_BYTES;
    }
}

/* Both peers must announce the same hash before any share moves. */
static trine_status_t job_begin(job_t *j, trine_err_t *err)
{
    size_t len = job_begin_bytes(&j->p.prog);
    uint8_t *mine = malloc(len);
    if (!mine || !(j->use = calloc(j->p.prog.nvars ? j->p.prog.nvars : 1, sizeof *j->use))) {
        free(mine);
        return trine_err_set(err, TRINE_ENOMEM, "out of memory starting job %016llx",
                             (unsigned long long)j->p.id);
    }
    job_begin_pack(j, mine);
    j->keep_all = j->p.keep;
    wire_frame_t f = {WIRE_FRAME_BEGIN, (unsigned)j->p.self, j->p.id, 0, 0};
    trine_status_t st = TRINE_OK;
    for (int p = 0; st == TRINE_OK && p < PROTO_PARTIES; p++)
        if (p != j->p.self)
            st = job_send_frame(j, p, &f, mine, len, err);
    for (int p = 0; st == TRINE_OK && p < PROTO_PARTIES; p++) {
        if (p == j->p.self)
            continue;
        job_msg_t *m;
        if ((st = job_next(j, p, &m, err)) != TRINE_OK)
            break;
        size_t got = zmq_msg_size(&m->body);
        bool same = m->frame.type == WIRE_FRAME_BEGIN && got >= WIRE_JOB_HASH_BYTES &&
                    !sodium_memcmp(zmq_msg_data(&m->body), j->p.hash, WIRE_JOB_HASH_BYTES);
        if (same && got == len)
            job_begin_unpack(j, p, zmq_msg_data(&m->body));
        job_msg_free(m);
        if (!same)
            st = trine_err_set(err, TRINE_EPEER,
                               "party%d got another program or other settings for job "
                               "%016llx (the hashes differ); nothing was computed",
                               p, (unsigned long long)j->p.id);
        else if (got != len)
            st = trine_err_set(err, TRINE_EPEER,
                               "party%d sent a %zu-byte BEGIN for job %016llx where %zu belong "
                               "(another trine version?); nothing was computed",
                               p, got, (unsigned long long)j->p.id, len);
    }
    free(mine);
    return st;
}

/* The tag of the form made for variable v: hashed from the three nonces,
 * so all three parties agree on it and no client chooses it. */
static void job_made_tag(const job_t *j, size_t v, uint8_t out[KEPT_TAG_BYTES])
{
    crypto_generichash_state h;
    uint64_t var = v;
    crypto_generichash_init(&h, NULL, 0, KEPT_TAG_BYTES);
    crypto_generichash_update(&h, (const unsigned char *)j->nonce, sizeof j->nonce);
    crypto_generichash_update(&h, (const unsigned char *)&var, sizeof var);
    crypto_generichash_final(&h, out, KEPT_TAG_BYTES);
}

/* Runs the program with the kept forms all three hold, and collects the
 * forms it made when all three keep. */
static trine_status_t job_exec(job_t *j, proto_ctx_t *ctx, prog_job_t *pj)
{
    job_result_t *r = &j->result;
    size_t nv = j->p.prog.nvars ? j->p.prog.nvars : 1;
    const proto_masked_t **in = calloc(nv, sizeof *in);
    if (!in || (j->keep_all && (!(r->made = calloc(nv, sizeof *r->made)) ||
                                !(r->made_tags = calloc(nv, sizeof *r->made_tags))))) {
        free(in);
        return trine_err_set(&r->err, TRINE_ENOMEM, "out of memory");
    }
    for (size_t v = 0; v < j->p.prog.nvars; v++)
        in[v] = j->use[v] ? j->p.kept[v] : NULL;
    pj->masked_in = in;
    pj->masked_out = r->made;
    trine_status_t st =
        prog_exec(ctx, pj, (const tensor_t *const *)j->p.inputs, r->outputs, &r->err);
    for (size_t v = 0; st == TRINE_OK && r->made && v < j->p.prog.nvars; v++)
        if (r->made[v])
            job_made_tag(j, v, r->made_tags[v]);
    free(in);
    return st;
}

static void job_on_step(void *arg, uint64_t step, uint64_t steps)
{
    job_t *j = arg;
    if (step == 1)
        j->first_step_us = job_now_us() - j->started_us;
    atomic_store(&j->steps, steps);
    atomic_store(&j->step, step);
}

static void job_stats(job_t *j, const proto_ctx_t *ctx)
{
    proto_stats_t s;
    proto_ctx_stats(ctx, &s);
    wire_job_stats_t *o = &j->result.stats;
    o->steps = atomic_load(&j->step);
    const proto_counters_t *t = &s.total, *seeds = &s.op[PROTO_OP_SETUP];
    o->time_us = job_now_us() - j->started_us;
    o->exec_us = j->exec_us;
    o->first_step_us = j->first_step_us;
    for (int p = 0; p < PROTO_PARTIES; p++) {
        o->sent[p] = t->bytes_sent[p] - seeds->bytes_sent[p];
        o->recv[p] = t->bytes_recv[p] - seeds->bytes_recv[p];
        o->msgs[p] = t->msgs_sent[p] - seeds->msgs_sent[p];
    }
    o->rounds = t->rounds - seeds->rounds;
    o->mask_bytes = proto_counters_bytes_sent(&s.op[PROTO_OP_MASK]);
    o->offline_bytes = t->offline_bytes - seeds->offline_bytes;
    o->offline_wait_us = (t->offline_wait_ns - seeds->offline_wait_ns) / 1000;
    o->setup_bytes = proto_counters_bytes_sent(seeds);
}

static int job_main(void *arg)
{
    job_t *j = arg;
    job_result_t *r = &j->result;
    j->started_us = job_now_us();
    link_t link = {j, job_link_send, job_link_recv};
    proto_ctx_t *ctx = NULL;
    prog_job_t pj = {.prog = &j->p.prog,
                     .batch = (size_t)j->p.batch,
                     .epochs = (unsigned)j->p.epochs,
                     .progress = job_on_step,
                     .progress_arg = j,
                     .shuffle = j->p.shuffle};
    atomic_store(&j->steps, prog_job_steps(&pj));
    r->status = job_begin(j, &r->err);
    if (r->status == TRINE_OK)
        r->status = proto_ctx_new(&ctx, (proto_party_t)j->p.self, &link, j->p.frac_bits, &r->err);
    if (r->status == TRINE_OK) {
        proto_ctx_set_truncation(ctx, j->p.truncation);
        r->status = proto_ctx_set_protocol(ctx, j->p.protocol, &r->err);
        proto_ctx_set_fss_max(ctx, j->p.fss_max);
    }
    if (r->status == TRINE_OK && !(r->outputs = calloc(j->p.prog.nvars, sizeof *r->outputs)))
        r->status = trine_err_set(&r->err, TRINE_ENOMEM, "out of memory");
    if (r->status == TRINE_OK) {
        uint64_t t0 = job_now_us();
        r->status = job_exec(j, ctx, &pj);
        j->exec_us = job_now_us() - t0;
    }
    if (ctx)
        job_stats(j, ctx);
    proto_ctx_destroy(&ctx); /* wipes the seeds */
    if (r->status != TRINE_OK) {
        char why[WIRE_ABORT_MAX];
        int n = snprintf(why, sizeof why, "%s", r->err.msg[0] ? r->err.msg : "failed");
        wire_frame_t f = {WIRE_FRAME_ABORT, (unsigned)j->p.self, j->p.id, 0, 0};
        for (int p = 0; p < PROTO_PARTIES; p++)
            if (p != j->p.self)
                (void)job_send_frame(j, p, &f, why,
                                     (size_t)n < sizeof why ? (size_t)n : sizeof why - 1, NULL);
    }
    uint8_t done = JOB_PIPE_DONE;
    zmq_send(j->pipe_job, &done, 1, 0);
    return 0;
}

/* ---- the main loop's side -------------------------------------------------- */

static void job_free_tensors(tensor_t **inputs, size_t n)
{
    for (size_t i = 0; inputs && i < n; i++)
        tensor_destroy(&inputs[i]); /* wipes */
    free(inputs);
}

static void *job_pipe(void *zctx, const char *ep, bool bind)
{
    int zero = 0;
    void *s = zmq_socket(zctx, ZMQ_PAIR);
    if (s && (zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero) != 0 ||
              zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
              zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
              (bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) != 0)) {
        zmq_close(s);
        s = NULL;
    }
    return s;
}

job_t *job_start(void *zctx, job_params_t *p, void **pipe, trine_err_t *err)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j) {
        trine_err_set(err, TRINE_ENOMEM, "out of memory starting a job");
        return NULL;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://trine-job-%016llx-%p", (unsigned long long)p->id, (void *)j);
    j->pipe_main = job_pipe(zctx, ep, true);
    j->pipe_job = j->pipe_main ? job_pipe(zctx, ep, false) : NULL;
    j->p = *p;
    if (!j->pipe_job || thrd_create(&j->thread, job_main, j) != thrd_success) {
        trine_err_set(err, TRINE_ENOMEM, "cannot start a job thread");
        if (j->pipe_main)
            zmq_close(j->pipe_main);
        if (j->pipe_job)
            zmq_close(j->pipe_job);
        free(j);
        return NULL;
    }
    memset(&p->prog, 0, sizeof p->prog);
    p->inputs = NULL;
    p->kept = NULL;
    p->tags = NULL;
    *pipe = j->pipe_main;
    return j;
}

void job_params_clear(job_params_t *p)
{
    job_free_tensors(p->inputs, p->prog.nvars);
    p->inputs = NULL;
    free(p->kept), free(p->tags);
    p->kept = NULL;
    p->tags = NULL;
    prog_clear(&p->prog);
}

uint64_t job_id(const job_t *job)
{
    return job->p.id;
}

void job_progress(const job_t *job, uint64_t *step, uint64_t *steps)
{
    *step = atomic_load(&((job_t *)job)->step);
    *steps = atomic_load(&((job_t *)job)->steps);
}

/* Wipes what the thread left unread in its pipe (a stopped job's late
 * data) before zmq_close drops it. */
static void job_drain_pipe(job_t *j)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, j->pipe_job, ZMQ_DONTWAIT) >= 0)
        sodium_memzero(zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
}

void job_join(job_t **job, job_result_t *out)
{
    job_t *j = *job;
    thrd_join(j->thread, NULL);
    job_drain_pipe(j);
    zmq_close(j->pipe_job);
    zmq_close(j->pipe_main);
    for (int p = 0; p < PROTO_PARTIES; p++)
        while (j->head[p]) {
            job_msg_t *m = j->head[p];
            j->head[p] = m->next;
            job_msg_free(m);
        }
    *out = j->result;
    out->prog = j->p.prog; /* the result keeps the program: outputs are named by it */
    memset(&j->p.prog, 0, sizeof j->p.prog);
    job_free_tensors(j->p.inputs, out->prog.nvars);
    free(j->p.kept), free(j->p.tags), free(j->use);
    free(j);
    *job = NULL;
}

void job_result_clear(job_result_t *r)
{
    job_free_tensors(r->outputs, r->prog.nvars);
    r->outputs = NULL;
    for (size_t v = 0; r->made && v < r->prog.nvars; v++)
        proto_masked_destroy(&r->made[v]); /* wipes */
    free(r->made), free(r->made_tags);
    r->made = NULL;
    r->made_tags = NULL;
    prog_clear(&r->prog);
}
