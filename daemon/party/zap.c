/* zap.c — the ZAP handler thread (see zap.h). */
#include "daemon/party/zap.h"
#include "daemon/common/sock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <zmq.h>

#define ZAP_FRAMES_MAX 8
#define ZAP_SOURCES    64   /* sources whose refusals are counted, not each logged */
#define ZAP_LOG_MS     1000 /* at most one refusal line per source this often */

/* A source of refused handshakes: when its last line was logged and how
 * many refusals since went unlogged. */
typedef struct {
    char address[64];
    uint64_t logged_ms;
    unsigned quiet;
} zap_source_t;

struct zap {
    void *sock;
    thrd_t thread;
    const cluster_t *cluster;
    int self;
    const log_t *log;
    zap_source_t source[ZAP_SOURCES];
};

/* The User-Id for key in domain, or NULL when the key is refused. */
static const char *zap_decide(const zap_t *z, const char *domain, const keys_public_t *key,
                              char user[KEYS_Z85_LEN + 1])
{
    if (!strcmp(domain, ZAP_DOMAIN_PEER)) {
        int p = cluster_party_of(z->cluster, key);
        if (p < 0 || p == z->self)
            return NULL;
        snprintf(user, KEYS_Z85_LEN + 1, "%d", p);
        return user;
    }
    if (!strcmp(domain, ZAP_DOMAIN_CLIENT) && cluster_client_allowed(z->cluster, key)) {
        memcpy(user, key->z85, KEYS_Z85_LEN + 1);
        return user;
    }
    return NULL;
}

static void zap_reply(const zap_t *z, const zmq_msg_t *req_id, const char *code, const char *text,
                      const char *user)
{
    zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(z->sock, zmq_msg_data((zmq_msg_t *)req_id), zmq_msg_size((zmq_msg_t *)req_id),
             ZMQ_SNDMORE);
    zmq_send(z->sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(z->sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(z->sock, "", 0, 0);
}

/* True when a refusal from address is to be logged now, with *quiet the
 * refusals from there left unlogged since its last line; false counts
 * this one among them. A flood of bad handshakes costs a line a second
 * per source (the least recently logged source gives its entry up). */
static bool zap_throttle(zap_t *z, const char *address, unsigned *quiet)
{
    uint64_t now = sock_now_ms();
    zap_source_t *src = &z->source[0];
    for (int i = 0; i < ZAP_SOURCES; i++) {
        if (!strcmp(z->source[i].address, address)) {
            src = &z->source[i];
            break;
        }
        if (z->source[i].logged_ms < src->logged_ms)
            src = &z->source[i];
    }
    if (!strcmp(src->address, address) && now - src->logged_ms < ZAP_LOG_MS) {
        src->quiet++;
        return false;
    }
    *quiet = strcmp(src->address, address) ? 0 : src->quiet;
    snprintf(src->address, sizeof src->address, "%s", address);
    src->logged_ms = now;
    src->quiet = 0;
    return true;
}

/* Frames: version, request id, domain, address, routing id, mechanism,
 * credentials (the 32-byte CURVE public key). */
static void zap_handle(zap_t *z, zmq_msg_t *f, int n)
{
    char domain[64] = "", address[64] = "", user[KEYS_Z85_LEN + 1];
    keys_public_t key = {{0}};
    bool curve = n == 7 && zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
                 zmq_msg_size(&f[6]) == 32;
    if (n >= 4) {
        snprintf(domain, sizeof domain, "%.*s", (int)zmq_msg_size(&f[2]),
                 (char *)zmq_msg_data(&f[2]));
        snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&f[3]),
                 (char *)zmq_msg_data(&f[3]));
    }
    if (curve)
        zmq_z85_encode(key.z85, zmq_msg_data(&f[6]), 32);
    const char *who = curve ? zap_decide(z, domain, &key, user) : NULL;
    if (n < 2)
        return; /* not even a request id to answer */
    if (who) {
        zap_reply(z, &f[1], "200", "OK", who);
        return;
    }
    unsigned quiet;
    if (!zap_throttle(z, address, &quiet)) {
        zap_reply(z, &f[1], "400", "key not allowed", "");
        return;
    }
    char abbrev[LOG_KEY_CHARS], more[64] = "";
    if (quiet)
        snprintf(more, sizeof more, " (and %u more from there in the last %.0f s)", quiet,
                 ZAP_LOG_MS / 1000.0);
    log_line(z->log, LOG_WARN, "refused a %s connection from %s with key %s: %s%s",
             !strcmp(domain, ZAP_DOMAIN_PEER) ? "party" : "client", address,
             curve ? log_key(abbrev, &key) : "(none)",
             !curve                             ? "not a CURVE handshake"
             : !strcmp(domain, ZAP_DOMAIN_PEER) ? "not another party's key in the cluster config"
                                                : "not in the config's [clients] allow list",
             more);
    zap_reply(z, &f[1], "400", "key not allowed", "");
}

static int zap_main(void *arg)
{
    zap_t *z = arg;
    for (;;) {
        zmq_msg_t f[ZAP_FRAMES_MAX];
        int n = sock_recv_frames(z->sock, f, ZAP_FRAMES_MAX, 0);
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n < 0) {
            zmq_close(z->sock); /* ETERM: the daemon is stopping */
            return 0;
        }
        zap_handle(z, f, n);
        sock_close_frames(f, n, ZAP_FRAMES_MAX);
    }
}

zap_t *zap_new(void *zctx, const cluster_t *cluster, int self, const log_t *log, trine_err_t *err)
{
    zap_t *z = calloc(1, sizeof *z);
    if (!z) {
        trine_err_set(err, TRINE_ENOMEM, "out of memory");
        return NULL;
    }
    *z = (zap_t){.sock = zmq_socket(zctx, ZMQ_REP), .cluster = cluster, .self = self, .log = log};
    int linger = 0;
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0) {
        trine_err_set(err, TRINE_EIO, "cannot start the ZAP handler: %s",
                      zmq_strerror(zmq_errno()));
        if (z->sock)
            zmq_close(z->sock);
        free(z);
        return NULL;
    }
    if (thrd_create(&z->thread, zap_main, z) != thrd_success) {
        trine_err_set(err, TRINE_ENOMEM, "cannot start the ZAP thread");
        zmq_close(z->sock);
        free(z);
        return NULL;
    }
    return z;
}

void zap_destroy(zap_t **zap)
{
    if (!zap || !*zap)
        return;
    thrd_join((*zap)->thread, NULL);
    free(*zap);
    *zap = NULL;
}
