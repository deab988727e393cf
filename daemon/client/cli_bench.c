/* cli_bench.c — `trine bench BENCH.ini`: protocol and network benchmarks on
 * a running cluster or on three local parties started for the run.
 *
 * Each measurement (config/bench.h) is a program (bench_progs.h) whose
 * inputs the client shares under names unique to the run; the program then
 * runs as one job per call, warm-up calls first, and its outputs are
 * removed after each call and its inputs after the measurement. Records
 * are rewritten after every measurement, so that an interrupted run keeps
 * what it finished. The first Ctrl-C stops after the current measurement,
 * a second one cancels it.
 */
#include "daemon/client/bench_progs.h"
#include "daemon/client/bench_report.h"
#include "daemon/client/cli.h"
#include "daemon/client/local_cluster.h"
#include "daemon/wire/prog_wire.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_EXIT_INTERRUPTED 130

typedef struct {
    const char *config, *json, *csv, *plot;
} bench_opts_t;

/* What one run of the verb works with. */
typedef struct {
    const bench_config_t *cfg;
    session_t s;
    char tag[24]; /* prefix of every tensor name of this run */
    bool tty;
    size_t done, total; /* measurements, for the progress line */
    bench_meta_t meta;  /* where and when, for the records */
    bench_meta_buf_t meta_buf;
} bench_run_t;

/* Ctrl-C: 1 stops after the current measurement, 2 cancels it. */
static volatile sig_atomic_t bench_interrupts;
static volatile sig_atomic_t bench_cancel;

static void bench_on_sigint(int sig)
{
    (void)sig;
    static const char msg[] = "\ntrine bench: stopping after this measurement "
                              "(Ctrl-C again cancels it)\n";
    if (bench_interrupts++ == 0) {
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    } else {
        bench_cancel = 1;
    }
}

static void bench_progress(const bench_run_t *b, const bench_item_t *it, unsigned call,
                           unsigned calls, unsigned warmup)
{
    if (!b->tty)
        return;
    fprintf(stderr, "\r\033[K[%zu/%zu] %s %s batch %zu: %s %u of %u", b->done + 1, b->total,
            bench_op_name(it->op), it->size, it->batch, call < warmup ? "warm-up" : "call",
            call < warmup ? call + 1 : call - warmup + 1, call < warmup ? warmup : calls - warmup);
}

static void bench_progress_clear(const bench_run_t *b)
{
    if (b->tty)
        fprintf(stderr, "\r\033[K");
}

/* Removes prefix + name of the program's outputs, or of its inputs, from
 * party0 and party1; a name that is not there (a failed call stores no
 * output) is fine, any other failure is reported. */
static void bench_rm(bench_run_t *b, const char *prefix, const prog_t *prog, bool outputs)
{
    for (size_t i = 0; i < prog->nvars; i++) {
        const prog_var_t *v = &prog->vars[i];
        if (outputs ? !v->output : v->kind == PROG_VAR_TEMP)
            continue;
        wire_request_t rm = {.op = WIRE_OP_RM};
        snprintf(rm.name, sizeof rm.name, "%.*s%s", (int)(sizeof rm.name - 1 - strlen(v->name)),
                 prefix, v->name);
        if (session_call(&b->s, SHARE_PARTIES, &rm) == TRINE_OK)
            continue;
        for (int p = 0; p < 2; p++)
            if (b->s.res[p].code != TRINE_OK && b->s.res[p].code != TRINE_ENOENT)
                fprintf(stderr, "trine bench: could not remove '%s' from party%d: %s\n", rm.name, p,
                        b->s.res[p].msg);
    }
}

static uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs the shared program warm-up + repetitions times and fills rec. */
static int bench_calls(bench_run_t *b, const bench_item_t *it, bench_prog_t *bp,
                       bench_record_t *rec)
{
    const bench_config_t *cfg = b->cfg;
    char prefix[PROG_NAME_MAX];
    snprintf(prefix, sizeof prefix, "%sout.", b->tag);
    trine_err_t err;
    void *buf = NULL;
    size_t len;
    if (prog_wire_encode(&bp->prog, &buf, &len, &err) != TRINE_OK) {
        fprintf(stderr, "trine bench: %s\n", err.msg);
        return TRINE_EXIT_FAIL;
    }
    unsigned calls = cfg->warmup + cfg->repetitions;
    double *secs = calloc(4 * cfg->repetitions, sizeof *secs), *client = secs + cfg->repetitions;
    double *online = client + cfg->repetitions, *offline = online + cfg->repetitions;
    int rc = secs ? 0 : TRINE_EXIT_FAIL;
    for (unsigned c = 0; rc == 0 && c < calls; c++) {
        bench_progress(b, it, c, calls, cfg->warmup);
        /* a single op measures its whole protocol: no masked operand kept
         * from the call before; a network keeps its weights' as a deployed
         * model does */
        wire_request_t q = {.op = WIRE_OP_RUN,
                            .batch = 1,
                            .epochs = 1,
                            .fresh_masks = it->op < BENCH_OP_NETWORK_A};
        while (!q.job)
            randombytes_buf(&q.job, sizeof q.job);
        q.program = buf;
        q.program_len = len;
        snprintf(q.prefix, sizeof q.prefix, "%s", prefix);
        if ((rc = prog_run_binds(&q, &bp->prog, NULL, "bench")) != 0)
            break;
        uint64_t t0 = bench_now_ns();
        trine_status_t st = client_run(b->s.client, &q, b->s.res, NULL, NULL, &bench_cancel);
        free(q.bind);
        double wall = (double)(bench_now_ns() - t0) / 1e9;
        if (st != TRINE_OK) {
            bench_progress_clear(b);
            session_report(&b->s, "bench", 7u);
            rc = TRINE_EXIT_FAIL;
        }
        if (st != TRINE_OK || c < cfg->warmup) {
            bench_rm(b, prefix, &bp->prog, true);
            continue;
        }
        unsigned k = c - cfg->warmup;
        memset(rec->sent, 0, sizeof rec->sent);
        memset(rec->recv, 0, sizeof rec->recv);
        rec->messages = rec->rounds = rec->offline_bytes = 0;
        secs[k] = online[k] = 0;
        for (int p = 0; p < CONFIG_PARTIES; p++) {
            const wire_job_stats_t *st = &b->s.res[p].reply.stats;
            double t = (double)st->exec_us / 1e6;
            uint64_t wait = st->offline_wait_us < st->exec_us ? st->offline_wait_us : st->exec_us;
            double on = (double)(st->exec_us - wait) / 1e6;
            secs[k] = t > secs[k] ? t : secs[k];
            if (p < 2)
                online[k] = on > online[k] ? on : online[k];
            else
                offline[k] = t;
            rec->offline_bytes += st->offline_bytes;
            for (int o = 0; o < CONFIG_PARTIES; o++) {
                rec->sent[p] += st->sent[o];
                rec->recv[p] += st->recv[o];
                rec->messages += st->msgs[o];
            }
            rec->rounds = st->rounds > rec->rounds ? st->rounds : rec->rounds;
        }
        client[k] = wall;
        bench_rm(b, prefix, &bp->prog, true);
    }
    free(buf);
    if (rc == 0) {
        unsigned n = cfg->repetitions;
        double lo = secs[0], hi = secs[0];
        for (unsigned k = 1; k < n; k++) {
            lo = secs[k] < lo ? secs[k] : lo;
            hi = secs[k] > hi ? secs[k] : hi;
        }
        rec->time_min_s = lo;
        rec->time_max_s = hi;
        rec->time_median_s = bench_median(secs, n);
        rec->client_median_s = bench_median(client, n);
        rec->online_median_s = bench_median(online, n);
        rec->offline_median_s =
            cfg->protocol != CONFIG_PROTOCOL_SECURENN ? bench_median(offline, n) : -1;
    }
    free(secs);
    return rc;
}

/* Stores bp's inputs as the run's tag + name, renaming them in its
 * program. Returns an exit code. */
static int bench_share(bench_run_t *b, bench_prog_t *bp)
{
    int rc = 0;
    size_t k = 0;
    for (size_t i = 0; i < bp->prog.nvars && rc == 0; i++) {
        prog_var_t *v = &bp->prog.vars[i];
        if (v->kind == PROG_VAR_TEMP)
            continue;
        char name[PROG_NAME_MAX];
        snprintf(name, sizeof name, "%s%.*s", b->tag, (int)(sizeof name - 1 - strlen(b->tag)),
                 v->name);
        memcpy(v->name, name, sizeof name);
        rc = session_share(&b->s, v->name, bp->inputs[k++], v->name, "bench", true);
    }
    return rc;
}

/* A network's batch within a job: one job of BENCH_JOB_BATCHES batches,
 * whose later steps reuse the weights' mask; fills rec's job figures. */
static int bench_job(bench_run_t *b, const bench_item_t *it, size_t index, bench_record_t *rec)
{
    bench_prog_t bp;
    trine_err_t err;
    if (bench_prog_build(&bp, it, (unsigned)index, b->cfg->frac_bits, BENCH_JOB_BATCHES, &err) !=
        TRINE_OK) {
        fprintf(stderr, "trine bench: %s:%u: %s\n", b->cfg->path, it->line, err.msg);
        return TRINE_EXIT_FAIL;
    }
    char prefix[PROG_NAME_MAX];
    snprintf(prefix, sizeof prefix, "%sjob.", b->tag);
    void *buf = NULL;
    size_t len = 0;
    int rc = bench_share(b, &bp);
    wire_request_t q = {.op = WIRE_OP_RUN, .batch = it->batch, .epochs = 1};
    if (rc == 0 && prog_wire_encode(&bp.prog, &buf, &len, &err) != TRINE_OK) {
        fprintf(stderr, "trine bench: %s\n", err.msg);
        rc = TRINE_EXIT_FAIL;
    }
    if (rc == 0)
        rc = prog_run_binds(&q, &bp.prog, NULL, "bench");
    if (rc == 0) {
        while (!q.job)
            randombytes_buf(&q.job, sizeof q.job);
        q.program = buf;
        q.program_len = len;
        snprintf(q.prefix, sizeof q.prefix, "%s", prefix);
        if (client_run(b->s.client, &q, b->s.res, NULL, NULL, &bench_cancel) != TRINE_OK) {
            session_report(&b->s, "bench", 7u);
            rc = TRINE_EXIT_FAIL;
        }
    }
    if (rc == 0) {
        /* the first step's own time: to its end, less the job's start */
        uint64_t exec = 0, first = 0, sent = 0, mask = 0, steps = b->s.res[0].reply.stats.steps;
        for (int p = 0; p < CONFIG_PARTIES; p++) {
            const wire_job_stats_t *st = &b->s.res[p].reply.stats;
            uint64_t f = st->first_step_us - (st->time_us - st->exec_us);
            exec = st->exec_us > exec ? st->exec_us : exec;
            first = f > first ? f : first;
            sent += st->sent[0] + st->sent[1] + st->sent[2];
            mask += st->mask_bytes;
        }
        rec->job_batches = steps;
        rec->job_batch_s =
            steps > 1 && exec > first ? (double)(exec - first) / 1e6 / (double)(steps - 1) : 0;
        rec->job_batch_bytes = steps ? (double)(sent - mask) / (double)steps : 0;
        bench_rm(b, prefix, &bp.prog, true);
    }
    free(q.bind);
    free(buf);
    bench_rm(b, "", &bp.prog, false);
    bench_prog_clear(&bp);
    return rc;
}

/* One measurement: build, share, call, clean up. */
static int bench_measure(bench_run_t *b, size_t index, bench_record_t *rec)
{
    const bench_item_t *it = &b->cfg->items[index];
    bench_prog_t bp;
    trine_err_t err;
    if (bench_prog_build(&bp, it, (unsigned)index, b->cfg->frac_bits, 1, &err) != TRINE_OK) {
        fprintf(stderr, "trine bench: %s:%u: %s\n", b->cfg->path, it->line, err.msg);
        return TRINE_EXIT_FAIL;
    }
    *rec = (bench_record_t){.op = it->op,
                            .batch = it->batch,
                            .repetitions = b->cfg->repetitions,
                            .securenn_bytes = bp.securenn_bytes};
    snprintf(rec->size, sizeof rec->size, "%s", it->size);
    rec->has_reference = bench_reference(it, &rec->reference_s, &rec->reference_bytes);
    /* The inputs are stored as tag + name, so the program is renamed too. */
    int rc = bench_share(b, &bp);
    if (rc == 0)
        rc = bench_calls(b, it, &bp, rec);
    bench_rm(b, "", &bp.prog, false);
    bench_prog_clear(&bp);
    if (rc == 0 && it->op >= BENCH_OP_NETWORK_A && it->op <= BENCH_OP_NETWORK_D)
        rc = bench_job(b, it, index, rec);
    return rc;
}

static int bench_save(const bench_run_t *b, const bench_opts_t *o, const bench_record_t *r,
                      size_t n)
{
    const bench_config_t *cfg = b->cfg;
    bench_meta_t meta = b->meta;
    meta.frac_bits = cfg->frac_bits;
    meta.truncation = config_trunc_name(cfg->truncation);
    meta.protocol = config_protocol_name(cfg->protocol);
    meta.fss_max = cfg->protocol == CONFIG_PROTOCOL_AUTO ? cfg->fss_max : 0;
    meta.cluster = cfg->local ? "local" : cfg->cluster;
    trine_err_t err;
    if (o->json && bench_write_json(o->json, r, n, &meta, &err) != TRINE_OK) {
        fprintf(stderr, "trine bench: %s\n", err.msg);
        return TRINE_EXIT_FAIL;
    }
    if (o->csv && bench_write_csv(o->csv, r, n, &meta, &err) != TRINE_OK) {
        fprintf(stderr, "trine bench: %s\n", err.msg);
        return TRINE_EXIT_FAIL;
    }
    return 0;
}

/* Every measurement in order, until done, a failure or Ctrl-C. */
static int bench_all(bench_run_t *b, const bench_opts_t *o, bench_record_t *recs, size_t *n)
{
    const bench_config_t *cfg = b->cfg;
    snprintf(b->tag, sizeof b->tag, "bench-%08x.", (unsigned)randombytes_random());
    b->tty = isatty(STDERR_FILENO) == 1;
    b->total = cfg->nitems;
    char fss_max[32] = "";
    if (cfg->protocol == CONFIG_PROTOCOL_AUTO)
        snprintf(fss_max, sizeof fss_max, ", fss_max %u", cfg->fss_max);
    printf("trine bench %s: %zu measurements, %u calls each after %u warm-up, on %s "
           "(frac_bits %u, truncation %s, protocol %s%s)\n",
           cfg->path, cfg->nitems, cfg->repetitions, cfg->warmup,
           cfg->local ? "three local parties" : cfg->cluster, cfg->frac_bits,
           config_trunc_name(cfg->truncation), config_protocol_name(cfg->protocol), fss_max);
    bench_table_header(stdout);
    int rc = 0;
    for (size_t i = 0; i < cfg->nitems && rc == 0 && !bench_interrupts; i++) {
        b->done = i;
        rc = bench_measure(b, i, &recs[*n]);
        bench_progress_clear(b);
        if (rc == 0) {
            bench_table_row(stdout, &recs[*n]);
            ++*n;
            rc = bench_save(b, o, recs, *n);
        }
    }
    return rc;
}

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: trine [-c CLUSTER.ini] [-i KEY] bench BENCH.ini [--json FILE] [--csv FILE]\n"
               "             [--plot DIR]\n"
               "  Runs the measurements BENCH.ini lists (see config/bench-*.ini) on the cluster\n"
               "  it names, or on three local parties started for the run (cluster = local),\n"
               "  and prints a table: time per call (median, min-max), bytes each party sent,\n"
               "  the dealer's (P2's) share, messages, rounds, SecureNN's formula bytes and the\n"
               "  ratio; then MP-SPDZ-style summary lines per measurement.\n"
               "  --json FILE, --csv FILE  records (override the config's json and csv)\n"
               "  --plot DIR   PNG charts per operation with gnuplot (data and scripts without)\n"
               "  A cluster.ini in BENCH.ini needs a client key: -i KEY or TRINE_KEY.\n"
               "  Ctrl-C stops after the current measurement and keeps the finished records;\n"
               "  a second Ctrl-C cancels the measurement too. Exit 0 when every measurement\n"
               "  ran, 1 on a failure, 2 for usage, 130 when interrupted.\n");
}

static int bench_args(bench_opts_t *o, int argc, char **argv)
{
    *o = (bench_opts_t){0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            bench_usage(stdout);
            return 0;
        }
        const char **slot = !strcmp(a, "--json")   ? &o->json
                            : !strcmp(a, "--csv")  ? &o->csv
                            : !strcmp(a, "--plot") ? &o->plot
                                                   : NULL;
        if (slot && v) {
            *slot = v;
            i++;
        } else if (slot || a[0] == '-' || o->config) {
            fprintf(stderr, "trine bench: %s %s\n", a,
                    slot          ? "needs a value"
                    : a[0] == '-' ? "is not an option"
                                  : "is one too many");
            bench_usage(stderr);
            return TRINE_EXIT_USAGE;
        } else {
            o->config = a;
        }
    }
    if (!o->config) {
        fprintf(stderr, "trine bench: which BENCH.ini?\n");
        bench_usage(stderr);
        return TRINE_EXIT_USAGE;
    }
    return -1;
}

int verb_bench(const client_opts_t *opts, int argc, char **argv)
{
    bench_opts_t o;
    int rc = bench_args(&o, argc, argv);
    if (rc >= 0)
        return rc;
    bench_config_t cfg;
    trine_err_t err;
    if (bench_config_load(&cfg, o.config, &err) != TRINE_OK) {
        fprintf(stderr, "trine bench: %s\n", err.msg);
        return TRINE_EXIT_FAIL;
    }
    o.json = o.json ? o.json : cfg.json[0] ? cfg.json : NULL;
    o.csv = o.csv ? o.csv : cfg.csv[0] ? cfg.csv : NULL;
    bench_run_t b = {.cfg = &cfg};
    local_cluster_t lc = {0};
    client_opts_t copts = {cfg.cluster, opts->key};
    if (cfg.local) {
        printf("trine bench: starting three local parties\n");
        fflush(stdout);
        local_settings_t set = {cfg.frac_bits, cfg.truncation, cfg.protocol, cfg.timeout_ms,
                                cfg.fss_max};
        if (local_cluster_start(&lc, &set, &err) != TRINE_OK) {
            fprintf(stderr, "trine bench: cannot start the local parties: %s\n", err.msg);
            bench_config_clear(&cfg);
            return TRINE_EXIT_FAIL;
        }
        copts = (client_opts_t){lc.config, lc.key};
    }
    bench_record_t *recs = calloc(cfg.nitems, sizeof *recs);
    size_t n = 0;
    if (!recs) {
        fprintf(stderr, "trine bench: out of memory\n");
        rc = TRINE_EXIT_FAIL;
    } else if (bench_meta_init(&b.meta, &b.meta_buf, cfg.path, &err) != TRINE_OK) {
        fprintf(stderr, "trine bench: %s\n", err.msg);
        rc = TRINE_EXIT_FAIL;
    } else if (!session_open(&b.s, &copts, "bench")) {
        rc = TRINE_EXIT_FAIL;
    } else if (b.s.cluster.cfg.frac_bits != cfg.frac_bits) {
        fprintf(stderr,
                "trine bench: %s sets frac_bits = %u but cluster %s has %u; make them agree\n",
                cfg.path, cfg.frac_bits, b.s.cluster.cfg.path, b.s.cluster.cfg.frac_bits);
        rc = TRINE_EXIT_FAIL;
    } else if (b.s.cluster.cfg.truncation != cfg.truncation) {
        fprintf(stderr,
                "trine bench: %s sets truncation = %s but cluster %s has %s; make them agree\n",
                cfg.path, config_trunc_name(cfg.truncation), b.s.cluster.cfg.path,
                config_trunc_name(b.s.cluster.cfg.truncation));
        rc = TRINE_EXIT_FAIL;
    } else if (b.s.cluster.cfg.protocol != cfg.protocol) {
        fprintf(stderr,
                "trine bench: %s sets protocol = %s but cluster %s has %s; make them agree\n",
                cfg.path, config_protocol_name(cfg.protocol), b.s.cluster.cfg.path,
                config_protocol_name(b.s.cluster.cfg.protocol));
        rc = TRINE_EXIT_FAIL;
    } else if (cfg.protocol == CONFIG_PROTOCOL_AUTO && b.s.cluster.cfg.fss_max != cfg.fss_max) {
        fprintf(stderr,
                "trine bench: %s sets fss_max = %u but cluster %s has %u; make them agree\n",
                cfg.path, cfg.fss_max, b.s.cluster.cfg.path, b.s.cluster.cfg.fss_max);
        rc = TRINE_EXIT_FAIL;
    } else {
        struct sigaction sa = {0}, old;
        sa.sa_handler = bench_on_sigint;
        sigemptyset(&sa.sa_mask);
        bench_interrupts = bench_cancel = 0;
        sigaction(SIGINT, &sa, &old);
        rc = bench_all(&b, &o, recs, &n);
        sigaction(SIGINT, &old, NULL);
    }
    if (b.s.client)
        session_close(&b.s);
    bool keep_logs = rc != 0 && !bench_interrupts;
    if (cfg.local)
        local_cluster_stop(&lc, keep_logs);
    if (n > 0) {
        printf("\n");
        for (size_t i = 0; i < n; i++)
            bench_mpspdz(stdout, &recs[i]);
        printf("\n");
        bench_against_reference(stdout, recs, n);
        bench_per_batch(stdout, recs, n);
    }
    if (o.plot && n > 0) {
        bool plotted;
        if (bench_plot(o.plot, recs, n, &plotted, &err) != TRINE_OK) {
            fprintf(stderr, "trine bench: %s\n", err.msg);
            rc = rc ? rc : TRINE_EXIT_FAIL;
        } else if (!plotted) {
            fprintf(stderr,
                    "trine bench: --plot wrote the data and gnuplot scripts to %s but no "
                    "charts: gnuplot is not installed (sudo apt-get install gnuplot-nox)\n",
                    o.plot);
        } else {
            printf("charts in %s/\n", o.plot);
        }
    }
    if (o.json && n > 0)
        printf("records: %s%s%s\n", o.json, o.csv ? ", " : "", o.csv ? o.csv : "");
    else if (o.csv && n > 0)
        printf("records: %s\n", o.csv);
    if (bench_interrupts) {
        fprintf(stderr, "trine bench: interrupted after %zu of %zu measurements\n", n, cfg.nitems);
        rc = BENCH_EXIT_INTERRUPTED;
    }
    if (cfg.local && keep_logs)
        fprintf(stderr, "trine bench: the local parties' logs are in %s/logs\n", lc.dir);
    free(recs);
    bench_config_clear(&cfg);
    return rc;
}
