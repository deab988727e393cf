/* local_cluster.c — three trined children on 127.0.0.1 (see the header). */
#define _GNU_SOURCE /* nftw's FTW_DEPTH|FTW_PHYS, prctl */
#include "daemon/client/local_cluster.h"

#include "daemon/client/client.h"
#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "daemon/common/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sodium.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_PARTIES   3
#define LOCAL_ATTEMPTS  3
#define LOCAL_UP_MS     10000
#define LOCAL_PORT_LOW  20000 /* below Linux's ephemeral range (32768 up) */
#define LOCAL_PORT_SPAN 12000

static bool local_port_free(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Six consecutive free ports: peers at base..base+2, clients base+3..base+5. */
static trine_status_t local_pick_ports(unsigned *base, trine_err_t *err)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        unsigned b = LOCAL_PORT_LOW + randombytes_uniform(LOCAL_PORT_SPAN);
        unsigned i = 0;
        while (i < 6 && local_port_free(b + i))
            i++;
        if (i == 6) {
            *base = b;
            return TRINE_OK;
        }
    }
    return trine_err_set(err, TRINE_EIO, "no six free consecutive ports on 127.0.0.1");
}

static trine_status_t local_write_config(const local_cluster_t *lc, unsigned base,
                                         const local_settings_t *set, trine_err_t *err)
{
    FILE *f = fopen(lc->config, "w");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", lc->config, strerror(errno));
    fprintf(f,
            "# Written by trine for one run: three parties on 127.0.0.1.\n"
            "[cluster]\nname = local\nfrac_bits = %u\ntruncation = %s\nprotocol = %s\n"
            "timeout_ms = %u\nheartbeat_ms = %u\n",
            set->frac_bits, config_trunc_name(set->truncation), config_protocol_name(set->protocol),
            set->timeout_ms, set->timeout_ms / 10 < 1000 ? set->timeout_ms / 10 : 1000);
    if (set->fss_max)
        fprintf(f, "fss_max = %u\n", set->fss_max);
    for (unsigned p = 0; p < LOCAL_PARTIES; p++)
        fprintf(f,
                "\n[party%u]\npeer = tcp://127.0.0.1:%u\nclient = tcp://127.0.0.1:%u\n"
                "public_key = keys/party%u.pub\n",
                p, base + p, base + 3 + p, p);
    fprintf(f, "\n[clients]\nallow = keys/client.pub\n");
    if (fclose(f) != 0)
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", lc->config, strerror(errno));
    return TRINE_OK;
}

/* trined next to the running executable, else the name for execvp. */
static void local_trined_path(char *out, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        snprintf(out, size, "%s/trined", dirname(self));
        if (access(out, X_OK) == 0)
            return;
    }
    snprintf(out, size, "trined");
}

static trine_status_t local_spawn(local_cluster_t *lc, unsigned p, trine_err_t *err)
{
    char trined[PATH_MAX], party[4], key[PATH_MAX], log[PATH_MAX];
    local_trined_path(trined, sizeof trined);
    snprintf(party, sizeof party, "%u", p);
    snprintf(key, sizeof key, "%s/keys/party%u.key", lc->dir, p);
    snprintf(log, sizeof log, "%s/logs/party%u.log", lc->dir, p);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        return trine_err_set(err, TRINE_EIO, "cannot start party%u: %s", p, strerror(errno));
    if (pid == 0) {
        setpgid(0, 0); /* the terminal's Ctrl-C is the client's alone */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(127);
        execlp(trined, trined, "-c", lc->config, "-p", party, "-k", key, "-t", "1", (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", trined, strerror(errno));
        _exit(127);
    }
    lc->pid[p] = pid;
    return TRINE_OK;
}

/* The last line of party p's log, for a message. */
static void local_log_tail(const local_cluster_t *lc, unsigned p, char *out, size_t size)
{
    char path[PATH_MAX], line[256];
    snprintf(path, sizeof path, "%s/logs/party%u.log", lc->dir, p);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (line[0] != '\n')
            snprintf(out, size, "%s", line);
    if (f)
        fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

static void local_kill(local_cluster_t *lc)
{
    for (unsigned p = 0; p < LOCAL_PARTIES; p++)
        if (lc->pid[p] > 0)
            kill(lc->pid[p], SIGTERM);
    uint64_t deadline = sock_now_ms() + 5000;
    for (unsigned p = 0; p < LOCAL_PARTIES; p++) {
        while (lc->pid[p] > 0) {
            pid_t r = waitpid(lc->pid[p], NULL, WNOHANG);
            if (r == lc->pid[p] || (r < 0 && errno != EINTR)) {
                lc->pid[p] = 0;
            } else if (sock_now_ms() >= deadline) {
                kill(lc->pid[p], SIGKILL);
                waitpid(lc->pid[p], NULL, 0);
                lc->pid[p] = 0;
            } else {
                nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
            }
        }
    }
}

/* True when every party answers and sees the other two. */
static bool local_all_up(client_t *cl)
{
    client_result_t res[CONFIG_PARTIES] = {0};
    wire_request_t q[CONFIG_PARTIES] = {
        {.op = WIRE_OP_STATUS}, {.op = WIRE_OP_STATUS}, {.op = WIRE_OP_STATUS}};
    bool up = client_call(cl, 7u, q, res) == TRINE_OK;
    for (int p = 0; up && p < CONFIG_PARTIES; p++)
        for (int o = 0; o < CONFIG_PARTIES; o++)
            if (o != p && res[p].reply.peers[o] != WIRE_PEER_UP)
                up = false;
    client_results_clear(res);
    return up;
}

/* Waits until the parties are linked; *taken tells a failure because a
 * party's port was taken meanwhile. */
static trine_status_t local_wait(local_cluster_t *lc, bool *taken, trine_err_t *err)
{
    *taken = false;
    cluster_t c;
    keys_secret_t secret;
    if (cluster_load(&c, lc->config, err) != TRINE_OK)
        return err->code;
    if (keys_read_secret(&secret, NULL, lc->key, err) != TRINE_OK) {
        cluster_clear(&c);
        return err->code;
    }
    c.cfg.timeout_ms = 1000; /* each status poll, not the parties' setting */
    client_t *cl = client_new(&c, &secret, err);
    keys_wipe(&secret);
    trine_status_t st = cl ? TRINE_ETIMEOUT : err->code;
    uint64_t deadline = sock_now_ms() + LOCAL_UP_MS;
    while (st == TRINE_ETIMEOUT && sock_now_ms() < deadline) {
        for (unsigned p = 0; st == TRINE_ETIMEOUT && p < LOCAL_PARTIES; p++) {
            if (waitpid(lc->pid[p], NULL, WNOHANG) != lc->pid[p])
                continue;
            lc->pid[p] = 0;
            char tail[400];
            local_log_tail(lc, p, tail, sizeof tail);
            *taken = strstr(tail, "Address already in use") != NULL;
            st = trine_err_set(err, TRINE_EPEER, "party%u exited: %s", p,
                               tail[0] ? tail : "(its log is empty)");
        }
        if (st == TRINE_ETIMEOUT && local_all_up(cl))
            st = TRINE_OK;
        else if (st == TRINE_ETIMEOUT)
            nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    if (st == TRINE_ETIMEOUT)
        trine_err_set(err, st, "the parties did not all link within %d s", LOCAL_UP_MS / 1000);
    client_destroy(&cl);
    cluster_clear(&c);
    return st;
}

static trine_status_t local_keys(local_cluster_t *lc, trine_err_t *err)
{
    char keys[PATH_MAX], logs[PATH_MAX];
    snprintf(keys, sizeof keys, "%s/keys", lc->dir);
    snprintf(logs, sizeof logs, "%s/logs", lc->dir);
    if (mkdir(keys, 0700) != 0 || mkdir(logs, 0700) != 0)
        return trine_err_set(err, TRINE_EIO, "cannot make folders in %s: %s", lc->dir,
                             strerror(errno));
    static const char *const names[] = {"party0", "party1", "party2", "client"};
    for (int i = 0; i < 4; i++)
        if (keys_generate(keys, names[i], err) != TRINE_OK)
            return err->code;
    return TRINE_OK;
}

trine_status_t local_cluster_start(local_cluster_t *lc, const local_settings_t *set,
                                   trine_err_t *err)
{
    memset(lc, 0, sizeof *lc);
    const char *tmp = getenv("TMPDIR");
    snprintf(lc->dir, sizeof lc->dir, "%s/trine-local-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(lc->dir))
        return trine_err_set(err, TRINE_EIO, "cannot make a folder like %s: %s", lc->dir,
                             strerror(errno));
    snprintf(lc->config, sizeof lc->config, "%s/cluster.ini", lc->dir);
    snprintf(lc->key, sizeof lc->key, "%s/keys/client.key", lc->dir);
    trine_status_t st = local_keys(lc, err);
    for (int attempt = 1; st == TRINE_OK && attempt <= LOCAL_ATTEMPTS; attempt++) {
        unsigned base = 0;
        bool taken = false;
        st = local_pick_ports(&base, err);
        if (st == TRINE_OK)
            st = local_write_config(lc, base, set, err);
        for (unsigned p = 0; st == TRINE_OK && p < LOCAL_PARTIES; p++)
            st = local_spawn(lc, p, err);
        if (st == TRINE_OK)
            st = local_wait(lc, &taken, err);
        if (st == TRINE_OK)
            return TRINE_OK;
        local_kill(lc);
        if (taken && attempt < LOCAL_ATTEMPTS)
            st = TRINE_OK; /* a port was taken meanwhile: other ports */
    }
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, " (logs in %s)", lc->dir);
    return st;
}

static int local_rm(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)type, (void)ftw;
    return remove(path);
}

void local_cluster_stop(local_cluster_t *lc, bool keep_logs)
{
    local_kill(lc);
    if (!keep_logs && lc->dir[0])
        nftw(lc->dir, local_rm, 16, FTW_DEPTH | FTW_PHYS);
}
