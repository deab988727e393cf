/* trined.c — one party of a trine cluster, in the foreground.
 *
 * main() reads, in order: arguments, the cluster config and keys, then
 * starts the ZAP handler, the party links and the client endpoint, serves
 * until SIGTERM or SIGINT, and tears down (every share is wiped from memory;
 * with [store] dir set, the stored ones stay on disk for the next start).
 * Only start-up failures exit early; the exit codes are in usage().
 */
#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "daemon/common/log.h"
#include "daemon/common/sock.h"
#include "daemon/party/api.h"
#include "daemon/party/budget.h"
#include "daemon/party/jobs.h"
#include "daemon/party/links.h"
#include "daemon/party/store.h"
#include "daemon/party/zap.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* A connection that has not finished its CURVE handshake this long after
 * it was accepted is closed: idle connections cannot pile up and take
 * every file descriptor (libzmq caps neither connections nor their rate). */
#define TRINED_HANDSHAKE_MS 3000

/* glibc's largest mmap threshold on 64 bits, and a trim threshold above it. */
#define TRINED_MMAP_THRESHOLD (32 * 1024 * 1024)
#define TRINED_TRIM_THRESHOLD (256 * 1024 * 1024)

enum {
    TRINED_EXIT_OK = 0,      /* stopped by SIGTERM or SIGINT */
    TRINED_EXIT_RUNTIME = 1, /* could not bind, or failed while serving */
    TRINED_EXIT_USAGE = 2,   /* bad command line */
    TRINED_EXIT_CONFIG = 3   /* the config or a key file is unusable */
};

static void usage(FILE *f)
{
    fprintf(f, "usage: trined -c CLUSTER.ini -p N [-k SECRET_KEY] [-t THREADS] [-v]\n\n"
               "Runs party N (0, 1 or 2) of a trine cluster in the foreground. Party 0 and 1\n"
               "hold the shares; party 2 is the helper. Logs go to stderr.\n\n"
               "options:\n"
               "  -c FILE      the cluster configuration, the same file on every host\n"
               "  -p N         which party this is: 0, 1 or 2\n"
               "  -k FILE      this party's secret key (mode 0600); default: [local]\n"
               "               secret_key in the config\n"
               "  -t N         threads for matrix products (OpenBLAS); default: one per\n"
               "               core. Use 1 when the three parties share one machine\n"
               "  -v           log debug lines too\n"
               "  -h, --help   show this help\n"
               "  --version    print the version\n\n"
               "exit status:\n"
               "  0  stopped by SIGTERM or SIGINT (shares are wiped from memory; with\n"
               "     [store] dir set, stored ones stay on disk and load at the next start)\n"
               "  1  could not bind an endpoint or failed while serving\n"
               "  2  bad command line\n"
               "  3  the configuration or a key file is unusable\n");
}

typedef struct {
    const char *config, *key;
    int party;
    int threads; /* 0: OpenBLAS's default */
    bool verbose;
} trined_opts_t;

/* Returns -1 to go on, else the exit code. */
static int trined_args(trined_opts_t *o, int argc, char **argv)
{
    *o = (trined_opts_t){NULL, NULL, -1, 0, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return TRINED_EXIT_OK;
        }
        if (!strcmp(a, "--version")) {
            printf("trined %s (wire protocol %d)\n", TRINE_VERSION, WIRE_VERSION);
            return TRINED_EXIT_OK;
        }
        if (!strcmp(a, "-v")) {
            o->verbose = true;
        } else if (!strcmp(a, "-t") && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 1024) {
                fprintf(stderr, "trined: -t takes a thread count from 1 to 1024, not '%s'\n",
                        argv[i]);
                return TRINED_EXIT_USAGE;
            }
            o->threads = (int)t;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "-k") || !strcmp(a, "-p")) && i + 1 < argc) {
            const char *v = argv[++i];
            if (a[1] == 'c')
                o->config = v;
            else if (a[1] == 'k')
                o->key = v;
            else if (v[0] >= '0' && v[0] <= '2' && !v[1])
                o->party = v[0] - '0';
            else {
                fprintf(stderr, "trined: -p takes 0, 1 or 2, not '%s'\n", v);
                return TRINED_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "trined: unknown option '%s' or missing value\n", a);
            usage(stderr);
            return TRINED_EXIT_USAGE;
        }
    }
    if (!o->config || o->party < 0) {
        fprintf(stderr, "trined: -c CLUSTER.ini and -p N are required ('trined --help')\n");
        return TRINED_EXIT_USAGE;
    }
    return -1;
}

/* SIGTERM and SIGINT are written to a pipe the main loop polls (the self-
 * pipe trick). A handler, not a signalfd: a signalfd sees a signal only if
 * every thread blocks it, and libraries such as OpenBLAS start threads
 * before main() could block anything. */
static int trined_sigpipe[2] = {-1, -1};

static void trined_on_signal(int sig)
{
    unsigned char b = (unsigned char)sig;
    int saved = errno;
    if (write(trined_sigpipe[1], &b, 1) < 0) {
        /* the pipe is full: a stop is already pending */
    }
    errno = saved;
}

/* Returns the read end of the signal pipe, or -1. */
static int trined_signals(void)
{
    if (pipe(trined_sigpipe) != 0)
        return -1;
    fcntl(trined_sigpipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa = {0};
    sa.sa_handler = trined_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return trined_sigpipe[0];
}

static int trined_client_socket(void **out, void *zctx, const cluster_t *c, int self,
                                const keys_secret_t *secret, trine_err_t *err)
{
    const char *ep = c->cfg.party[self].client;
    int64_t maxmsg = (int64_t)c->cfg.max_message;
    int one = 1, zero = 0, handshake = TRINED_HANDSHAKE_MS;
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    *out = s;
    if (!s || zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret->z85, KEYS_Z85_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN_CLIENT, strlen(ZAP_DOMAIN_CLIENT)) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(s, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake) != 0 ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0)
        return trine_err_set(err, TRINE_EIO, "cannot set up the client socket: %s",
                             zmq_strerror(zmq_errno()));
    if (zmq_bind(s, ep) != 0)
        return trine_err_set(err, TRINE_EIO, "cannot bind the client endpoint %s: %s", ep,
                             zmq_strerror(zmq_errno()));
    return TRINE_OK;
}

/* One client message: routing id, then the request. Anything else is
 * dropped with a log line (there is no request id to answer). */
static void trined_on_client(void *sock, const api_t *api)
{
    zmq_msg_t f[2]; /* routing id, request */
    int frames = sock_recv_frames(sock, f, 2, ZMQ_DONTWAIT);
    if (frames < 0)
        return;
    const char *user = frames == 2 ? zmq_msg_gets(&f[1], "User-Id") : NULL;
    if (!user || strlen(user) != KEYS_Z85_LEN) {
        log_line(api->log, LOG_WARN, "dropped a client message of %d frames (want 2)", frames);
    } else {
        keys_public_t caller;
        memcpy(caller.z85, user, KEYS_Z85_LEN + 1);
        void *reply;
        size_t len;
        if (api_handle(api, &caller, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]),
                       zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &reply, &len) != TRINE_OK) {
            log_line(api->log, LOG_ERROR, "out of memory building a reply; request dropped");
        } else {
            /* The body may hold a share: wipe and free it before replying. */
            sodium_memzero(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]));
            zmq_msg_close(&f[1]);
            zmq_msg_init(&f[1]);
            if (reply && (zmq_msg_send(&f[0], sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
                          zmq_send(sock, reply, len, ZMQ_DONTWAIT) < 0))
                log_line(api->log, LOG_WARN, "could not send a reply: %s",
                         zmq_strerror(zmq_errno()));
            if (reply)
                sodium_memzero(reply, len);
            free(reply);
        }
    }
    sock_close_frames(f, frames, 2);
}

static void trined_on_skipped(void *arg, const char *file, const char *why)
{
    log_line(arg, LOG_WARN, "store: %s: %s", file, why);
}

static void trined_on_expired(void *arg, const char *name, const char *why)
{
    log_line(arg, LOG_INFO, "store: dropped the upload of '%s': %s", name, why);
}

/* The party's store: in memory, or persistent in [store] dir/partyN with
 * what is there loaded. NULL with err on failure. */
static store_t *trined_store(const cluster_t *c, int self, const log_t *log, trine_err_t *err)
{
    store_t *s = store_new(c->cfg.memory_limit);
    if (!s) {
        trine_err_set(err, TRINE_ENOMEM, "out of memory");
        return NULL;
    }
    if (!c->cfg.store_dir[0])
        return s;
    char dir[CONFIG_PATH_MAX + 16];
    size_t loaded, skipped;
    snprintf(dir, sizeof dir, "%s/party%d", c->cfg.store_dir, self);
    if (mkdir(c->cfg.store_dir, 0700) != 0 && errno != EEXIST) {
        trine_err_set(err, TRINE_EIO, "cannot make the store folder %s ([store] dir in %s): %s",
                      c->cfg.store_dir, c->cfg.path, strerror(errno));
        store_destroy(&s);
    } else if (store_load(s, dir, trined_on_skipped, (void *)log, &loaded, &skipped, err) !=
               TRINE_OK) {
        store_destroy(&s);
    } else {
        log_line(log, skipped ? LOG_WARN : LOG_INFO,
                 "store %s: loaded %zu tensors, skipped %zu files", dir, loaded, skipped);
    }
    return s;
}

static void trined_log_budget(const log_t *log, const budget_t *l)
{
    char job[LOG_BYTES_CHARS], jobs[LOG_BYTES_CHARS], host[LOG_BYTES_CHARS];
    char staged[LOG_BYTES_CHARS], stored[LOG_BYTES_CHARS], masks[LOG_BYTES_CHARS];
    log_line(log, LOG_INFO,
             "limits: %s a job, %s all jobs (host memory %s); a client: %u jobs, %s staged, %s "
             "stored; a job: %.0f s at most, accepted within %.1f s, cancelled %.1f s after its "
             "client's last poll; %s of masked weights kept between jobs",
             log_bytes(job, l->job_memory), log_bytes(jobs, l->jobs_memory),
             log_bytes(host, l->host_memory), l->client_jobs, log_bytes(staged, l->client_staged),
             log_bytes(stored, l->client_stored), (double)l->job_max_ms / 1000,
             (double)l->accept_ms / 1000, (double)l->abandon_ms / 1000,
             log_bytes(masks, l->mask_cache));
}

/* Raises the soft limit on open files to the hard one: each connection is
 * a descriptor, and the default soft limit (1024) is what a flood of
 * connections runs into first. */
static void trined_raise_nofile(const log_t *log)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) != 0)
            getrlimit(RLIMIT_NOFILE, &r);
    }
    log_line(log, LOG_INFO, "open files: at most %llu (connections each take one)",
             (unsigned long long)r.rlim_cur);
}

static int trined_serve(const trined_opts_t *o, cluster_t *c, keys_secret_t *secret,
                        const keys_public_t *pub, log_t *log, int sigfd)
{
    trine_err_t err = {0};
    int rc = TRINED_EXIT_RUNTIME;
    void *zctx = zmq_ctx_new(), *client = NULL;
    zap_t *zap = zctx ? zap_new(zctx, c, o->party, log, &err) : NULL;
    links_t *links = zap ? links_new(zctx, c, o->party, secret, pub, log, &err) : NULL;
    store_t *store = links ? trined_store(c, o->party, log, &err) : NULL;
    jobs_t *jobs = NULL;
    budget_t budget;
    budget_init(&budget, &c->cfg);
    if (store && trined_client_socket(&client, zctx, c, o->party, secret, &err) == TRINE_OK &&
        (jobs = jobs_new(zctx, c, o->party, links, store, &budget, log, client))) {
        keys_wipe(secret);
        api_t api = {c, o->party, store, links, jobs, &budget, log, sock_now_ms()};
        trined_log_budget(log, &budget);
        log_line(log, LOG_INFO,
                 "trined %s serving cluster '%s' as party%d: peers on %s, clients "
                 "on %s, %zu client keys allowed",
                 TRINE_VERSION, c->cfg.name, o->party, c->cfg.party[o->party].peer,
                 c->cfg.party[o->party].client, c->nclients);
        for (;;) {
            uint64_t now = sock_now_ms();
            long wait = links_tick(links, now);
            jobs_tick(jobs, now);
            store_expire(store, now, trined_on_expired, (void *)log);
            zmq_pollitem_t items[LINKS_POLLITEMS + 2 + JOBS_MAX];
            links_pollitems(links, items);
            items[LINKS_POLLITEMS] = (zmq_pollitem_t){client, 0, ZMQ_POLLIN, 0};
            items[LINKS_POLLITEMS + 1] = (zmq_pollitem_t){NULL, sigfd, ZMQ_POLLIN, 0};
            int njobs = jobs_pollitems(jobs, items + LINKS_POLLITEMS + 2);
            if (zmq_poll(items, LINKS_POLLITEMS + 2 + njobs, wait) < 0 && zmq_errno() != EINTR) {
                log_line(log, LOG_ERROR, "poll failed: %s", zmq_strerror(zmq_errno()));
                break;
            }
            if (items[LINKS_POLLITEMS + 1].revents & ZMQ_POLLIN) {
                unsigned char sig = 0;
                ssize_t n = read(sigfd, &sig, 1);
                log_line(log, LOG_INFO, "stopping on %s; wiping shares from memory",
                         n == 1 && sig == SIGINT ? "SIGINT" : "SIGTERM");
                rc = TRINED_EXIT_OK;
                break;
            }
            links_handle(links, items, sock_now_ms());
            jobs_handle(jobs, items + LINKS_POLLITEMS + 2, njobs);
            if (items[LINKS_POLLITEMS].revents & ZMQ_POLLIN)
                trined_on_client(client, &api);
        }
    } else {
        log_line(log, LOG_ERROR, "%s", err.msg[0] ? err.msg : "cannot start ZeroMQ");
    }
    keys_wipe(secret);
    jobs_destroy(&jobs);
    if (client)
        zmq_close(client);
    links_destroy(&links);
    store_destroy(&store);
    if (zctx)
        zmq_ctx_term(zctx); /* ends the ZAP thread */
    zap_destroy(&zap);
    return rc;
}

int main(int argc, char **argv)
{
    trined_opts_t o;
    int rc = trined_args(&o, argc, argv);
    if (rc >= 0)
        return rc;
    /* Jobs allocate and free megabytes per protocol call: keep freed memory
     * in the heap instead of returning it to the kernel each time, which
     * cost a page fault per 4 KiB page on the next call. */
    mallopt(M_MMAP_THRESHOLD, TRINED_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, TRINED_TRIM_THRESHOLD);
    log_t log = {o.party, o.verbose ? LOG_DEBUG : LOG_INFO};

    cluster_t c;
    trine_err_t err;
    if (cluster_load(&c, o.config, &err) != TRINE_OK) {
        log_line(&log, LOG_ERROR, "%s", err.msg);
        return TRINED_EXIT_CONFIG;
    }
    const char *key = o.key ? o.key : c.cfg.secret_key[0] ? c.cfg.secret_key : NULL;
    keys_secret_t secret;
    keys_public_t pub;
    if (!key) {
        log_line(&log, LOG_ERROR, "no secret key: pass -k FILE or set [local] secret_key in %s",
                 o.config);
        cluster_clear(&c);
        return TRINED_EXIT_CONFIG;
    }
    if (keys_read_secret(&secret, &pub, key, &err) != TRINE_OK) {
        log_line(&log, LOG_ERROR, "%s", err.msg);
        cluster_clear(&c);
        return TRINED_EXIT_CONFIG;
    }
    if (strcmp(pub.z85, c.party_key[o.party].z85)) {
        log_line(&log, LOG_ERROR,
                 "%s is not party%d's key: its public key differs from [party%d] public_key "
                 "in %s",
                 key, o.party, o.party, o.config);
        keys_wipe(&secret);
        cluster_clear(&c);
        return TRINED_EXIT_CONFIG;
    }
    if (c.nclients == 0)
        log_line(&log, LOG_WARN, "no client keys in %s: no client can connect",
                 c.cfg.clients_allow);

    int sigfd = trined_signals();
    if (sigfd < 0) {
        log_line(&log, LOG_ERROR, "cannot set up signal handling: %s", strerror(errno));
        keys_wipe(&secret);
        cluster_clear(&c);
        return TRINED_EXIT_RUNTIME;
    }
    if (o.threads)
        openblas_set_num_threads(o.threads);
    trined_raise_nofile(&log);
    rc = trined_serve(&o, &c, &secret, &pub, &log, sigfd);
    close(trined_sigpipe[0]);
    close(trined_sigpipe[1]);
    cluster_clear(&c);
    log_line(&log, LOG_INFO, "stopped");
    return rc;
}
