/* links.c — party-to-party links: hello, heartbeats, liveness (links.h). */
#include "daemon/party/links.h"
#include "daemon/common/sock.h"
#include "daemon/party/zap.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINKS_MONITOR_EVENTS                                                                       \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |                             \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                  \
     ZMQ_EVENT_DISCONNECTED)

typedef struct {
    void *dealer;                     /* our messages to this party */
    void *monitor;                    /* the DEALER's connection events */
    bool hello_ok;                    /* its last hello matched ours */
    bool held;                        /* we hold a hello of its current incarnation */
    uint64_t incarnation;             /* of its last hello */
    bool holds_ours;                  /* its last heartbeat said it holds our hello */
    bool mismatch;                    /* its last hello differed */
    bool ever_up;                     /* for the log: "came up" once, "is back" later */
    bool reported;                    /* its absence has been logged since it was last heard */
    bool closed;                      /* its connection closed and is not back yet */
    uint64_t last_heard;              /* ms, any frame from it */
    char why[TRINE_ERR_MSG_MAX + 64]; /* the mismatch, for clients */
} links_peer_t;

struct links {
    const cluster_t *cluster;
    const log_t *log;
    int self;
    void *router;
    uint64_t started, next_beat, last_tick;
    links_peer_t peer[CONFIG_PARTIES];
    void *hello; /* our hello payload, encoded once */
    size_t hello_len;
    uint64_t incarnation;
    links_job_fn job_fn;
    void *job_arg;
};

static int links_setsockopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

static trine_status_t links_fail(trine_err_t *err, const char *what, const char *endpoint)
{
    return trine_err_set(err, TRINE_EIO, "%s %s: %s", what, endpoint, zmq_strerror(zmq_errno()));
}

static trine_status_t links_open_router(links_t *l, void *zctx, const keys_secret_t *secret,
                                        trine_err_t *err)
{
    const char *ep = l->cluster->cfg.party[l->self].peer;
    int64_t maxmsg = (int64_t)l->cluster->cfg.max_message;
    l->router = zmq_socket(zctx, ZMQ_ROUTER);
    if (!l->router || links_setsockopt_int(l->router, ZMQ_CURVE_SERVER, 1) != 0 ||
        zmq_setsockopt(l->router, ZMQ_CURVE_SECRETKEY, secret->z85, KEYS_Z85_LEN) != 0 ||
        zmq_setsockopt(l->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN_PEER, strlen(ZAP_DOMAIN_PEER)) != 0 ||
        zmq_setsockopt(l->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        links_setsockopt_int(l->router, ZMQ_RCVHWM, 0) != 0)
        return links_fail(err, "cannot set up the peer socket for", ep);
    if (zmq_bind(l->router, ep) != 0)
        return links_fail(err, "cannot bind the peer endpoint", ep);
    return TRINE_OK;
}

static trine_status_t links_open_dealer(links_t *l, void *zctx, int p, const keys_secret_t *secret,
                                        const keys_public_t *pub, trine_err_t *err)
{
    links_peer_t *peer = &l->peer[p];
    const config_cluster_t *cfg = &l->cluster->cfg;
    const char *ep = cfg->party[p].peer;
    char monitor[64];
    snprintf(monitor, sizeof monitor, "inproc://trine-link-%d", p);
    peer->dealer = zmq_socket(zctx, ZMQ_DEALER);
    if (!peer->dealer ||
        zmq_setsockopt(peer->dealer, ZMQ_CURVE_SERVERKEY, l->cluster->party_key[p].z85,
                       KEYS_Z85_LEN) != 0 ||
        zmq_setsockopt(peer->dealer, ZMQ_CURVE_PUBLICKEY, pub->z85, KEYS_Z85_LEN) != 0 ||
        zmq_setsockopt(peer->dealer, ZMQ_CURVE_SECRETKEY, secret->z85, KEYS_Z85_LEN) != 0 ||
        links_setsockopt_int(peer->dealer, ZMQ_IMMEDIATE, 1) != 0 ||
        /* job data must not be dropped at a high-water mark: no limit */
        links_setsockopt_int(peer->dealer, ZMQ_SNDHWM, 0) != 0 ||
        links_setsockopt_int(peer->dealer, ZMQ_RECONNECT_IVL_MAX, 2000) != 0 ||
        /* A connection whose link went dead (a cut cable, not a closed
         * process) would otherwise stay open, its retransmissions backing
         * off for minutes: after a long cut the link would flow again only
         * that long after it is mended. ZeroMQ's own PINGs drop a connection
         * that answers none for timeout_ms, and a connect attempt hanging
         * as long is given up; the reconnects that follow find the mended
         * link within RECONNECT_IVL_MAX. */
        links_setsockopt_int(peer->dealer, ZMQ_HEARTBEAT_IVL, (int)cfg->heartbeat_ms) != 0 ||
        links_setsockopt_int(peer->dealer, ZMQ_HEARTBEAT_TIMEOUT, (int)cfg->timeout_ms) != 0 ||
        links_setsockopt_int(peer->dealer, ZMQ_CONNECT_TIMEOUT, (int)cfg->timeout_ms) != 0 ||
        !(peer->monitor = sock_monitor_new(zctx, peer->dealer, monitor, LINKS_MONITOR_EVENTS)))
        return links_fail(err, "cannot set up the link to", ep);
    if (zmq_connect(peer->dealer, ep) != 0)
        return links_fail(err, "cannot connect to", ep);
    return TRINE_OK;
}

links_t *links_new(void *zctx, const cluster_t *cluster, int self, const keys_secret_t *secret,
                   const keys_public_t *pub, const log_t *log, trine_err_t *err)
{
    links_t *l = calloc(1, sizeof *l);
    if (!l) {
        trine_err_set(err, TRINE_ENOMEM, "out of memory");
        return NULL;
    }
    l->cluster = cluster;
    l->log = log;
    l->self = self;
    l->started = l->next_beat = l->last_tick = sock_now_ms();
    randombytes_buf(&l->incarnation, sizeof l->incarnation);
    wire_hello_t hello = {.version = WIRE_VERSION,
                          .party = (unsigned)self,
                          .incarnation = l->incarnation,
                          .nlines = cluster->nlines,
                          .lines = cluster->lines};
    snprintf(hello.software, sizeof hello.software, "%s", TRINE_VERSION);
    memcpy(hello.fingerprint, cluster->fingerprint, WIRE_FINGERPRINT_BYTES);
    trine_status_t rc = wire_hello_encode(&l->hello, &l->hello_len, &hello);
    if (rc != TRINE_OK)
        trine_err_set(err, rc, "out of memory");
    if (rc == TRINE_OK)
        rc = links_open_router(l, zctx, secret, err);
    for (int p = 0; rc == TRINE_OK && p < CONFIG_PARTIES; p++)
        if (p != self)
            rc = links_open_dealer(l, zctx, p, secret, pub, err);
    if (rc != TRINE_OK)
        links_destroy(&l);
    return l;
}

void links_destroy(links_t **links)
{
    if (!links || !*links)
        return;
    links_t *l = *links;
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        if (l->peer[p].dealer)
            zmq_socket_monitor(l->peer[p].dealer, NULL, 0);
        sock_close(&l->peer[p].dealer);
        sock_close(&l->peer[p].monitor);
    }
    sock_close(&l->router);
    free(l->hello);
    free(l);
    *links = NULL;
}

void links_pollitems(const links_t *l, zmq_pollitem_t *items)
{
    int n = 0;
    items[n++] = (zmq_pollitem_t){l->router, 0, ZMQ_POLLIN, 0};
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if (p != l->self)
            items[n++] = (zmq_pollitem_t){l->peer[p].monitor, 0, ZMQ_POLLIN, 0};
}

/* Sends a header and payload to party p without waiting; a link that is
 * down drops it (ZMQ_IMMEDIATE), which heartbeats and hellos tolerate. */
static void links_send(links_t *l, int p, wire_frame_type_t type, const void *payload, size_t len)
{
    uint8_t head[WIRE_FRAME_HEADER_BYTES];
    wire_frame_pack(head, &(wire_frame_t){type, (unsigned)l->self, 0, 0, 0});
    if (zmq_send(l->peer[p].dealer, head, sizeof head, ZMQ_DONTWAIT | ZMQ_SNDMORE) == sizeof head)
        zmq_send(l->peer[p].dealer, payload, len, ZMQ_DONTWAIT);
}

static void links_on_monitor(links_t *l, int p)
{
    int event = sock_monitor_event(l->peer[p].monitor);
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        log_line(l->log, LOG_DEBUG, "link to party%d connected; sending hello", p);
        l->peer[p].closed = false;
        links_send(l, p, WIRE_FRAME_HELLO, l->hello, l->hello_len);
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        /* The kernel closes a dead process's sockets: no need to wait out
         * timeout_ms for what the connection says at once. */
        if (l->peer[p].hello_ok && !l->peer[p].closed)
            log_line(l->log, LOG_WARN, "party%d (%s) closed its connection: its process ended "
                     "or its host reset the link", p, l->cluster->cfg.party[p].peer);
        l->peer[p].holds_ours = false;
        l->peer[p].closed = true;
    } else if (event >= 0) {
        log_line(l->log, LOG_ERROR,
                 "party%d (%s) refused our handshake: its cluster config must list this "
                 "party's public key",
                 p, l->cluster->cfg.party[p].peer);
    }
}

static void links_on_hello(links_t *l, int p, const void *buf, size_t len)
{
    links_peer_t *peer = &l->peer[p];
    wire_hello_t h;
    trine_err_t err;
    if (wire_hello_decode(&h, buf, len, &err) != TRINE_OK) {
        log_line(l->log, LOG_WARN, "party%d sent a malformed hello: %s", p, err.msg);
        return;
    }
    char diff[TRINE_ERR_MSG_MAX] = "";
    peer->held = true;
    peer->incarnation = h.incarnation;
    if (h.version != WIRE_VERSION || h.party != (unsigned)p)
        snprintf(diff, sizeof diff, "it speaks protocol version %u as party%u, we %d as party%d",
                 (unsigned)h.version, h.party, WIRE_VERSION, l->self);
    else if (memcmp(h.fingerprint, l->cluster->fingerprint, WIRE_FINGERPRINT_BYTES)) {
        cluster_describe_difference(l->cluster, (const char *const *)h.lines, h.nlines, diff,
                                    sizeof diff);
        if (!diff[0]) /* same lines, other hash: a peer that hashes differently */
            snprintf(diff, sizeof diff, "its config fingerprint differs from its own summary");
    }
    if (diff[0]) {
        peer->hello_ok = false;
        peer->mismatch = true;
        snprintf(peer->why, sizeof peer->why, "party%d's cluster config or version differs: %s", p,
                 diff);
        log_line(l->log, LOG_ERROR, "%s; refusing client work until they agree", peer->why);
    } else {
        bool back = peer->ever_up;
        peer->hello_ok = peer->ever_up = true;
        peer->reported = false;
        peer->mismatch = false;
        log_line(l->log, LOG_INFO, "party%d is %s (trine %s, same cluster config)", p,
                 back ? "back" : "up", h.software);
    }
    wire_hello_clear(&h);
}

static void links_on_heartbeat(links_t *l, int p, const void *buf, size_t len)
{
    links_peer_t *peer = &l->peer[p];
    wire_heartbeat_t hb;
    trine_err_t err;
    if (wire_heartbeat_unpack(&hb, buf, len, &err) != TRINE_OK) {
        log_line(l->log, LOG_WARN, "party%d: %s", p, err.msg);
        return;
    }
    peer->holds_ours = hb.holds & 1u << l->self;
    if (peer->incarnation != hb.incarnation) /* restarted: its new hello is due */
        peer->held = peer->hello_ok = false;
    if (peer->hello_ok && peer->reported) {
        log_line(l->log, LOG_INFO, "party%d is heard from again", p);
        peer->reported = false;
    }
}

/* Reads one header+payload message from the ROUTER. The routing id frame
 * comes first; the sender's identity is the ZAP User-Id of the payload. */
static void links_on_router(links_t *l, uint64_t now)
{
    zmq_msg_t part[3];
    int n = sock_recv_frames(l->router, part, 3, ZMQ_DONTWAIT);
    if (n < 0)
        return;
    const char *user = n == 3 ? zmq_msg_gets(&part[2], "User-Id") : NULL;
    int p = user && user[0] >= '0' && user[0] <= '2' && !user[1] ? user[0] - '0' : -1;
    wire_frame_t f;
    trine_err_t err;
    if (p < 0 || n != 3) {
        log_line(l->log, LOG_WARN, "dropped a party message of %d frames (want 3)", n);
    } else if (wire_frame_unpack(&f, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), &err) !=
               TRINE_OK) {
        log_line(l->log, LOG_WARN, "dropped a message from party%d: %s", p, err.msg);
    } else if (f.sender != (unsigned)p) {
        log_line(l->log, LOG_WARN, "dropped a message from party%d claiming to be party%u", p,
                 f.sender);
    } else {
        l->peer[p].last_heard = now;
        if (f.type == WIRE_FRAME_HEARTBEAT)
            links_on_heartbeat(l, p, zmq_msg_data(&part[2]), zmq_msg_size(&part[2]));
        else if (f.type == WIRE_FRAME_HELLO)
            links_on_hello(l, p, zmq_msg_data(&part[2]), zmq_msg_size(&part[2]));
        else if (l->job_fn)
            l->job_fn(l->job_arg, p, &f, &part[1], &part[2]);
        else
            log_line(l->log, LOG_WARN, "dropped a job frame from party%d: jobs are not running", p);
    }
    sock_close_frames(part, n, 3);
}

void links_handle(links_t *l, const zmq_pollitem_t *items, uint64_t now_ms)
{
    int n = 1;
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if (p != l->self && (items[n++].revents & ZMQ_POLLIN))
            links_on_monitor(l, p);
    if (items[0].revents & ZMQ_POLLIN)
        links_on_router(l, now_ms);
}

/* The main loop ticks at least every heartbeat_ms. A gap longer than
 * timeout_ms means this party itself did not run (SIGSTOP, a suspended
 * host, CPU starvation) while the peers' frames waited unread: their
 * silence is ours, so the peers that were up get timeout_ms afresh. */
static void links_check_gap(links_t *l, uint64_t now)
{
    const config_cluster_t *cfg = &l->cluster->cfg;
    uint64_t gap = now - l->last_tick;
    l->last_tick = now;
    if (gap <= cfg->timeout_ms)
        return;
    log_line(l->log, LOG_WARN,
             "this party did not run for %.1f s (stopped, or starved of CPU): its peers may "
             "have given up on its jobs; they get %.1f s to be heard from again",
             (double)gap / 1000, (double)cfg->timeout_ms / 1000);
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if (p != l->self && l->peer[p].ever_up && !l->peer[p].reported)
            l->peer[p].last_heard = now;
}

long links_tick(links_t *l, uint64_t now)
{
    const config_cluster_t *cfg = &l->cluster->cfg;
    links_check_gap(l, now);
    if (now >= l->next_beat) {
        wire_heartbeat_t hb = {l->incarnation, 0};
        for (int p = 0; p < CONFIG_PARTIES; p++)
            if (p != l->self && l->peer[p].held)
                hb.holds |= 1u << p;
        uint8_t beat[WIRE_HEARTBEAT_BYTES];
        wire_heartbeat_pack(beat, &hb);
        for (int p = 0; p < CONFIG_PARTIES; p++) {
            if (p == l->self)
                continue;
            if (!l->peer[p].holds_ours)
                links_send(l, p, WIRE_FRAME_HELLO, l->hello, l->hello_len);
            links_send(l, p, WIRE_FRAME_HEARTBEAT, beat, sizeof beat);
        }
        l->next_beat = now + cfg->heartbeat_ms;
    }
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        links_peer_t *peer = &l->peer[p];
        uint64_t since = peer->ever_up ? peer->last_heard : l->started;
        if (p == l->self || peer->reported || now - since < cfg->timeout_ms)
            continue;
        peer->reported = true;
        if (peer->ever_up)
            log_line(l->log, LOG_WARN, "party%d (%s) went silent: nothing heard for %.1f s", p,
                     cfg->party[p].peer, (double)(now - since) / 1000);
        else
            log_line(l->log, LOG_WARN,
                     "party%d (%s) has not come up after %.1f s; is trined -p %d running there?", p,
                     cfg->party[p].peer, (double)(now - since) / 1000, p);
    }
    return (long)(l->next_beat - now);
}

void links_set_job_hook(links_t *l, links_job_fn fn, void *arg)
{
    l->job_fn = fn;
    l->job_arg = arg;
}

trine_status_t links_forward(links_t *l, int p, zmq_msg_t *head, zmq_msg_t *body)
{
    /* Once the first part is queued ZeroMQ queues the rest of the message. */
    if (p < 0 || p >= CONFIG_PARTIES || p == l->self ||
        zmq_msg_send(head, l->peer[p].dealer, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0)
        return TRINE_EPEER;
    zmq_msg_send(body, l->peer[p].dealer, ZMQ_DONTWAIT);
    return TRINE_OK;
}

wire_peer_t links_state(const links_t *l, int p)
{
    const links_peer_t *peer = &l->peer[p];
    if (p == l->self)
        return WIRE_PEER_SELF;
    if (peer->mismatch)
        return WIRE_PEER_MISMATCH;
    if (peer->hello_ok && !peer->closed &&
        sock_now_ms() - peer->last_heard < l->cluster->cfg.timeout_ms)
        return WIRE_PEER_UP;
    return WIRE_PEER_DOWN;
}

const char *links_why_down(const links_t *l, int p, char *out, size_t cap)
{
    const links_peer_t *peer = &l->peer[p];
    const char *ep = l->cluster->cfg.party[p].peer;
    if (peer->closed)
        snprintf(out, cap, "party%d (%s) closed its connection: its process ended or its host "
                 "reset the link", p, ep);
    else if (!peer->ever_up)
        snprintf(out, cap, "party%d (%s) has not come up", p, ep);
    else
        snprintf(out, cap, "party%d (%s) went silent for %.1f s", p, ep,
                 (double)(sock_now_ms() - peer->last_heard) / 1000);
    return out;
}

const char *links_refusal(const links_t *l)
{
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if (l->peer[p].mismatch)
            return l->peer[p].why;
    return NULL;
}
