/* client.c — requests to the parties, replies back (see client.h). */
#include "daemon/client/client.h"
#include "daemon/common/sock.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define CLIENT_BYTES_PER_MS 50000 /* extra wait per byte moved: 50 MB/s */
#define CLIENT_POLL_MS      200   /* how often a running job is asked about */

struct client {
    const cluster_t *cluster;
    void *zctx;
    void *sock[CONFIG_PARTIES], *monitor[CONFIG_PARTIES];
    zmq_msg_t last[CONFIG_PARTIES]; /* the buffers replies point into */
    bool closed[CONFIG_PARTIES];    /* the connection closed and is not made again yet */
    uint64_t next_id;
};

static trine_status_t client_open(client_t *cl, int p, const keys_secret_t *secret,
                                  const keys_public_t *pub, trine_err_t *err)
{
    char monitor[64];
    int zero = 0;
    snprintf(monitor, sizeof monitor, "inproc://trine-client-%d", p);
    void *s = cl->sock[p] = zmq_socket(cl->zctx, ZMQ_DEALER);
    if (!s || zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, cl->cluster->party_key[p].z85, KEYS_Z85_LEN) ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub->z85, KEYS_Z85_LEN) ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret->z85, KEYS_Z85_LEN) ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) ||
        !(cl->monitor[p] = sock_monitor_new(cl->zctx, s, monitor,
                                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                                ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                                ZMQ_EVENT_DISCONNECTED)) ||
        zmq_connect(s, cl->cluster->cfg.party[p].client))
        return trine_err_set(err, TRINE_EIO, "cannot set up the connection to party%d: %s", p,
                             zmq_strerror(zmq_errno()));
    return TRINE_OK;
}

client_t *client_new(const cluster_t *c, const keys_secret_t *secret, trine_err_t *err)
{
    client_t *cl = calloc(1, sizeof *cl);
    keys_public_t pub;
    if (!cl || !(cl->zctx = zmq_ctx_new())) {
        free(cl);
        trine_err_set(err, TRINE_ENOMEM, "cannot start ZeroMQ");
        return NULL;
    }
    cl->cluster = c;
    randombytes_buf(&cl->next_id, sizeof cl->next_id);
    cl->next_id >>= 1; /* room to count up */
    for (int p = 0; p < CONFIG_PARTIES; p++)
        zmq_msg_init(&cl->last[p]);
    trine_status_t st = zmq_curve_public(pub.z85, secret->z85) == 0
                            ? TRINE_OK
                            : trine_err_set(err, TRINE_EFORMAT, "not a CURVE secret key");
    for (int p = 0; st == TRINE_OK && p < CONFIG_PARTIES; p++)
        st = client_open(cl, p, secret, &pub, err);
    if (st != TRINE_OK)
        client_destroy(&cl);
    return cl;
}

void client_destroy(client_t **clp)
{
    if (!clp || !*clp)
        return;
    client_t *cl = *clp;
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        if (cl->sock[p])
            zmq_socket_monitor(cl->sock[p], NULL, 0);
        sock_close(&cl->sock[p]);
        sock_close(&cl->monitor[p]);
        zmq_msg_close(&cl->last[p]);
    }
    zmq_ctx_term(cl->zctx);
    free(cl);
    *clp = NULL;
}

static void client_fail(client_result_t *r, trine_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void client_fail(client_result_t *r, trine_status_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->code = code;
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

static void client_closed(client_t *cl, int p, client_result_t *r)
{
    client_fail(r, TRINE_EPEER,
                "party%d (%s) closed the connection: its process ended or its host reset the "
                "link",
                p, cl->cluster->cfg.party[p].client);
}

/* A handshake failure, or the connection's end, reported by party p's
 * monitor. A party whose process ends has its connections closed by the
 * kernel: that is known at once, without waiting out timeout_ms. */
static void client_on_monitor(client_t *cl, int p, client_result_t *r)
{
    int event = sock_monitor_event(cl->monitor[p]);
    cl->closed[p] = event == ZMQ_EVENT_DISCONNECTED ||
                    (cl->closed[p] && event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (event == ZMQ_EVENT_DISCONNECTED)
        client_closed(cl, p, r);
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        client_fail(r, TRINE_EPERM,
                    "party%d refused this client's key: it is not in the cluster's [clients] "
                    "allow list (give the operator your .pub file)",
                    p);
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) /* also a party that dies */
        client_fail(r, TRINE_EPEER,
                    "party%d (%s) closed the connection during the CURVE handshake: it may "
                    "be going down, or its public key in the cluster config is not the one it "
                    "runs with",
                    p, cl->cluster->cfg.party[p].client);
    else if (event >= 0 && event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        client_fail(r, TRINE_EPEER,
                    "party%d (%s): the CURVE handshake failed: is its public key in the "
                    "cluster config the one it runs with?",
                    p, cl->cluster->cfg.party[p].client);
}

/* Decodes the reply to request id (of op) held in cl->last[p] into r. */
static void client_take_reply(client_t *cl, int p, wire_op_t op, uint64_t id, client_result_t *r)
{
    zmq_msg_t *m = &cl->last[p];
    trine_err_t err;
    r->answered = true;
    if (zmq_msg_more(m))
        client_fail(r, TRINE_EFORMAT, "party%d sent a reply of several frames", p);
    else if (wire_reply_decode(&r->reply, op, zmq_msg_data(m), zmq_msg_size(m), &err) != TRINE_OK)
        client_fail(r, err.code, "party%d sent a malformed reply: %s", p, err.msg);
    else if (r->reply.id != id)
        client_fail(r, TRINE_EFORMAT, "party%d answered another request", p);
    else if (r->reply.code != TRINE_OK)
        client_fail(r, r->reply.code, "party%d: %s", p, r->reply.msg);
    else
        r->code = TRINE_OK;
}

/* True when the message in cl->last[p] answers a request sent before the
 * one with this id: a job poll answered after the job's own reply. Ids
 * count up, so it is not the answer awaited and is dropped. */
static bool client_stale(client_t *cl, int p, uint64_t id)
{
    uint64_t got;
    trine_err_t err;
    zmq_msg_t *m = &cl->last[p];
    return wire_reply_id(&got, zmq_msg_data(m), zmq_msg_size(m), &err) == TRINE_OK && got < id;
}

static void client_on_reply(client_t *cl, int p, wire_op_t op, uint64_t id, client_result_t *r)
{
    if (zmq_msg_recv(&cl->last[p], cl->sock[p], ZMQ_DONTWAIT) >= 0 && !client_stale(cl, p, id))
        client_take_reply(cl, p, op, id, r);
}

/* Sends the encoded request to party p once its connection takes it:
 * a DEALER whose handshake was refused has no connection and would block
 * for good, so the monitor is watched meanwhile, and timeout_ms bounds
 * the wait. False with res filled when it was not sent. */
static bool client_send_wait(client_t *cl, int p, const void *buf, size_t len,
                             client_result_t *res)
{
    const config_cluster_t *cfg = &cl->cluster->cfg;
    uint64_t deadline = sock_now_ms() + cfg->timeout_ms;
    trine_status_t before = res->code;
    for (;;) {
        if (zmq_send(cl->sock[p], buf, len, ZMQ_DONTWAIT) == (int)len)
            return true;
        if (zmq_errno() != EAGAIN) {
            client_fail(res, TRINE_EIO, "cannot send to party%d: %s", p, zmq_strerror(zmq_errno()));
            return false;
        }
        uint64_t now = sock_now_ms();
        if (now >= deadline) {
            client_fail(res, TRINE_ETIMEOUT,
                        "party%d (%s) took no request within timeout_ms (%u ms): it cannot be "
                        "reached",
                        p, cfg->party[p].client, cfg->timeout_ms);
            return false;
        }
        zmq_pollitem_t items[2] = {{cl->sock[p], 0, ZMQ_POLLOUT, 0},
                                   {cl->monitor[p], 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, (long)(deadline - now)) < 0 && zmq_errno() != EINTR) {
            client_fail(res, TRINE_EIO, "cannot send to party%d: %s", p, zmq_strerror(zmq_errno()));
            return false;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            client_on_monitor(cl, p, res);
            if (res->code != before)
                return false;
        }
    }
}

/* Sends q to party p under a new id (*id); false with res filled when it
 * could not be sent. *len gets the encoded size. */
static bool client_send(client_t *cl, int p, const wire_request_t *req, uint64_t *id, size_t *len,
                        client_result_t *res)
{
    const config_cluster_t *cfg = &cl->cluster->cfg;
    wire_request_t q = *req;
    q.version = WIRE_VERSION;
    q.id = *id = cl->next_id++;
    void *buf;
    bool sent = false;
    if (wire_request_encode(&buf, len, &q) != TRINE_OK) {
        client_fail(res, TRINE_ENOMEM, "out of memory encoding a request");
        return false;
    }
    if (cl->closed[p])
        client_closed(cl, p, res);
    else if (*len > cfg->max_message)
        client_fail(res, TRINE_ELIMIT,
                    "the request to party%d is %zu bytes; the cluster accepts at most %llu "
                    "(max_message in %s)",
                    p, *len, (unsigned long long)cfg->max_message, cfg->path);
    else
        sent = client_send_wait(cl, p, buf, *len, res);
    sodium_memzero(buf, *len);
    free(buf);
    return sent;
}

/* Fills items with the socket and the monitor of each party in waiting;
 * who[i] is the party, plus CONFIG_PARTIES for a monitor. Returns the count. */
static int client_pollitems(const client_t *cl, unsigned waiting, zmq_pollitem_t *items, int *who)
{
    int n = 0;
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if (waiting & 1u << p) {
            who[n] = p;
            items[n++] = (zmq_pollitem_t){cl->sock[p], 0, ZMQ_POLLIN, 0};
            who[n] = p + CONFIG_PARTIES;
            items[n++] = (zmq_pollitem_t){cl->monitor[p], 0, ZMQ_POLLIN, 0};
        }
    return n;
}

/* Forgets the replies of the last call, and reads the connection events
 * since: whether a closed connection was made again. */
static void client_reset(client_t *cl, client_result_t res[CONFIG_PARTIES])
{
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        client_result_t ignored;
        zmq_pollitem_t item = {cl->monitor[p], 0, ZMQ_POLLIN, 0};
        while (zmq_poll(&item, 1, 0) > 0)
            client_on_monitor(cl, p, &ignored);
        wire_reply_clear(&res[p].reply);
        memset(&res[p], 0, sizeof res[p]);
        zmq_msg_close(&cl->last[p]);
        zmq_msg_init(&cl->last[p]);
    }
}

static trine_status_t client_first_failure(unsigned mask, const client_result_t *res)
{
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if ((mask & 1u << p) && res[p].code != TRINE_OK)
            return res[p].code;
    return TRINE_OK;
}

trine_status_t client_call(client_t *cl, unsigned mask, const wire_request_t req[CONFIG_PARTIES],
                           client_result_t res[CONFIG_PARTIES])
{
    const config_cluster_t *cfg = &cl->cluster->cfg;
    uint64_t ids[CONFIG_PARTIES] = {0}, bytes = 0;
    unsigned waiting = 0;
    client_reset(cl, res);
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        size_t len;
        if ((mask & 1u << p) && client_send(cl, p, &req[p], &ids[p], &len, &res[p])) {
            waiting |= 1u << p;
            bytes += len + req[p].data_len; /* what goes out and, for get, comes back */
        }
    }
    uint64_t deadline = sock_now_ms() + cfg->timeout_ms + bytes / CLIENT_BYTES_PER_MS;
    while (waiting) {
        uint64_t now = sock_now_ms();
        if (now >= deadline)
            break;
        zmq_pollitem_t items[2 * CONFIG_PARTIES];
        int who[2 * CONFIG_PARTIES], n = client_pollitems(cl, waiting, items, who);
        if (zmq_poll(items, n, (long)(deadline - now)) < 0)
            break;
        for (int i = 0; i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int p = who[i] % CONFIG_PARTIES;
            if (who[i] >= CONFIG_PARTIES)
                client_on_monitor(cl, p, &res[p]);
            else
                client_on_reply(cl, p, req[p].op, ids[p], &res[p]);
            if (res[p].answered || res[p].code != TRINE_OK)
                waiting &= ~(1u << p);
        }
    }
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if (waiting & 1u << p)
            client_fail(&res[p], TRINE_ETIMEOUT,
                        "party%d (%s) did not answer within %.1f s; is trined -p %d running "
                        "there?",
                        p, cfg->party[p].client,
                        (double)(cfg->timeout_ms + bytes / CLIENT_BYTES_PER_MS) / 1000, p);
    return client_first_failure(mask, res);
}

/* A reply that came while a job runs: the job's end, or a progress answer
 * (*alive set when the party still runs the job). Ids count up: the polls
 * sent so far have ids after run_id, up to poll_id, the latest. */
static void client_on_job_reply(client_t *cl, int p, uint64_t run_id, uint64_t poll_id,
                                uint64_t cancel_id, client_result_t *r, wire_reply_t *poll,
                                bool *alive)
{
    zmq_msg_t *m = &cl->last[p];
    if (zmq_msg_recv(m, cl->sock[p], ZMQ_DONTWAIT) < 0 || client_stale(cl, p, run_id))
        return;
    uint64_t id;
    trine_err_t err;
    bool read = wire_reply_id(&id, zmq_msg_data(m), zmq_msg_size(m), &err) == TRINE_OK;
    if (read && id == cancel_id && id != run_id) { /* the job's own reply tells the outcome */
        *alive = true;
        return;
    }
    /* Any other id is a poll: a busy party may answer one after the next
     * was sent, so an earlier poll's answer is no job reply either. */
    if (read && id > run_id && id <= poll_id) {
        if (wire_reply_decode(poll, WIRE_OP_JOB, zmq_msg_data(m), zmq_msg_size(m), &err) !=
            TRINE_OK) {
            r->answered = true;
            client_fail(r, err.code, "party%d sent a malformed reply: %s", p, err.msg);
        } else if (poll->code == TRINE_OK && poll->state == WIRE_JOB_UNKNOWN) {
            r->answered = true;
            client_fail(r, TRINE_EPEER, "party%d no longer knows the job (was it restarted?)", p);
        }
        *alive = true;
        return;
    }
    client_take_reply(cl, p, WIRE_OP_RUN, run_id, r); /* the job's own reply */
}

trine_status_t client_run(client_t *cl, const wire_request_t *run,
                          client_result_t res[CONFIG_PARTIES], client_progress_fn progress,
                          void *arg, const volatile sig_atomic_t *cancel)
{
    const config_cluster_t *cfg = &cl->cluster->cfg;
    uint64_t ids[CONFIG_PARTIES] = {0}, poll_ids[CONFIG_PARTIES] = {0};
    uint64_t cancel_ids[CONFIG_PARTIES] = {0};
    bool cancelled = false;
    uint64_t heard[CONFIG_PARTIES], asked[CONFIG_PARTIES] = {0};
    unsigned waiting = 0;
    client_reset(cl, res);
    uint64_t start = sock_now_ms();
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        size_t len;
        heard[p] = start;
        if (client_send(cl, p, run, &ids[p], &len, &res[p]))
            waiting |= 1u << p;
    }
    wire_request_t job = {.op = WIRE_OP_JOB, .job = run->job};
    wire_request_t stop = {.op = WIRE_OP_CANCEL, .job = run->job};
    while (waiting) {
        uint64_t now = sock_now_ms();
        for (int p = 0; cancel && *cancel && !cancelled && p < CONFIG_PARTIES; p++) {
            size_t len;
            if ((waiting & 1u << p) && !client_send(cl, p, &stop, &cancel_ids[p], &len, &res[p]))
                waiting &= ~(1u << p);
        }
        cancelled = cancelled || (cancel && *cancel);
        for (int p = 0; p < CONFIG_PARTIES; p++) {
            if (!(waiting & 1u << p))
                continue;
            if (now - heard[p] >= cfg->timeout_ms) {
                client_fail(&res[p], TRINE_ETIMEOUT,
                            "party%d (%s) stopped answering for %.1f s while the job ran", p,
                            cfg->party[p].client, (double)cfg->timeout_ms / 1000);
                waiting &= ~(1u << p);
            } else if (now - asked[p] >= CLIENT_POLL_MS) {
                size_t len;
                asked[p] = now;
                if (!client_send(cl, p, &job, &poll_ids[p], &len, &res[p]))
                    waiting &= ~(1u << p);
            }
        }
        zmq_pollitem_t items[2 * CONFIG_PARTIES];
        int who[2 * CONFIG_PARTIES], n = client_pollitems(cl, waiting, items, who);
        if (n && zmq_poll(items, n, CLIENT_POLL_MS) < 0 && zmq_errno() != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int p = who[i] % CONFIG_PARTIES;
            wire_reply_t poll = {0};
            bool alive = false;
            if (who[i] >= CONFIG_PARTIES)
                client_on_monitor(cl, p, &res[p]);
            else
                client_on_job_reply(cl, p, ids[p], poll_ids[p], cancel_ids[p], &res[p], &poll,
                                    &alive);
            if (alive)
                heard[p] = sock_now_ms();
            if (alive && progress && poll.state == WIRE_JOB_RUNNING && p == 0)
                progress(arg, poll.step, poll.steps);
            if (res[p].answered || res[p].code != TRINE_OK)
                waiting &= ~(1u << p);
        }
    }
    return client_first_failure(7u, res);
}

/* A party's failure that is a busy party's refusal, or passes one on. */
static bool client_busy_reply(const client_result_t *r)
{
    return r->answered && (r->code == TRINE_ELIMIT || r->code == TRINE_EPEER) &&
           strstr(r->reply.msg, WIRE_BUSY);
}

bool client_run_busy(const client_result_t res[CONFIG_PARTIES])
{
    bool refused = false;
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        if (!client_busy_reply(&res[p]))
            return false; /* a success, or a failure of its own */
        refused = refused || res[p].code == TRINE_ELIMIT;
    }
    return refused;
}

/* Sleeps ms, in slices so that a cancel is seen; false when cancelled. */
static bool client_pause(uint64_t ms, const volatile sig_atomic_t *cancel)
{
    uint64_t end = sock_now_ms() + ms;
    for (uint64_t now = sock_now_ms(); now < end && !(cancel && *cancel); now = sock_now_ms()) {
        uint64_t slice = end - now < 50 ? end - now : 50;
        nanosleep(&(struct timespec){0, (long)slice * 1000000L}, NULL);
    }
    return !(cancel && *cancel);
}

trine_status_t client_run_wait(client_t *cl, wire_request_t *run,
                               client_result_t res[CONFIG_PARTIES], client_progress_fn progress,
                               client_busy_fn busy, void *arg, const volatile sig_atomic_t *cancel,
                               unsigned *retries)
{
    uint64_t start = sock_now_ms(), limit = cl->cluster->cfg.timeout_ms;
    uint64_t pause = CLIENT_BUSY_FIRST_MS;
    if (retries)
        *retries = 0;
    for (unsigned tries = 1;; tries++) {
        trine_status_t st = client_run(cl, run, res, progress, arg, cancel);
        uint64_t spent = sock_now_ms() - start;
        if (st == TRINE_OK || (cancel && *cancel) || spent >= limit || !client_run_busy(res))
            return st;
        uint64_t wait = pause / 2 + randombytes_uniform((uint32_t)(pause / 2 + 1));
        wait = wait < limit - spent ? wait : limit - spent;
        const char *why = "";
        for (int p = CONFIG_PARTIES - 1; p >= 0; p--)
            if (res[p].code == TRINE_ELIMIT)
                why = res[p].reply.msg;
        if (busy)
            busy(arg, why, wait, tries);
        if (!client_pause(wait, cancel))
            return st;
        pause = 2 * pause < CLIENT_BUSY_MAX_MS ? 2 * pause : CLIENT_BUSY_MAX_MS;
        /* The parties remember the refused id: a new try needs a new one. */
        uint64_t old = run->job;
        while (run->job == old || !run->job)
            randombytes_buf(&run->job, sizeof run->job);
        if (retries)
            (*retries)++;
    }
}

void client_results_clear(client_result_t res[CONFIG_PARTIES])
{
    for (int p = 0; p < CONFIG_PARTIES; p++)
        wire_reply_clear(&res[p].reply);
}
