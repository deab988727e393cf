/* bench_report.c — the benchmark's table, summaries, records and charts. */
#define _POSIX_C_SOURCE 200809L
#include "daemon/client/bench_report.h"

#include "tensor/plain.h"

#include <errno.h>
#include <sodium.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BENCH_MB 1e6

uint64_t bench_record_bytes(const bench_record_t *r)
{
    return r->sent[0] + r->sent[1] + r->sent[2];
}

static double bench_ratio(const bench_record_t *r)
{
    return r->securenn_bytes > 0 ? (double)bench_record_bytes(r) / r->securenn_bytes : 0;
}

static const char *bench_size(const bench_record_t *r)
{
    return r->size[0] ? r->size : "-";
}

void bench_table_header(FILE *f)
{
    fprintf(f, "%-11s %-14s %5s %10s %-21s %9s %8s %8s %8s %6s %7s %6s %11s %6s\n", "op", "size",
            "batch", "time ms", "  (min - max)", "MB all", "P0 MB", "P1 MB", "P2 MB", "P2 %",
            "msgs", "rounds", "SecureNN MB", "ratio");
}

void bench_table_row(FILE *f, const bench_record_t *r)
{
    char range[48];
    snprintf(range, sizeof range, "  (%.3f - %.3f)", r->time_min_s * 1e3, r->time_max_s * 1e3);
    double all = (double)bench_record_bytes(r);
    fprintf(
        f,
        "%-11s %-14s %5zu %10.3f %-21s %9.3f %8.3f %8.3f %8.3f %5.1f%% %7llu %6llu %11.3f %6.2f\n",
        bench_op_name(r->op), bench_size(r), r->batch, r->time_median_s * 1e3, range,
        all / BENCH_MB, (double)r->sent[0] / BENCH_MB, (double)r->sent[1] / BENCH_MB,
        (double)r->sent[2] / BENCH_MB, all > 0 ? 100 * (double)r->sent[2] / all : 0,
        (unsigned long long)r->messages, (unsigned long long)r->rounds,
        r->securenn_bytes / BENCH_MB, bench_ratio(r));
    fflush(f);
}

void bench_mpspdz(FILE *f, const bench_record_t *r)
{
    fprintf(f, "# %s %s batch %zu\n", bench_op_name(r->op), bench_size(r), r->batch);
    fprintf(f, "Time = %.6f seconds\n", r->time_median_s);
    fprintf(f, "Data sent = %.6f MB in ~%llu rounds (party 0)\n", (double)r->sent[0] / BENCH_MB,
            (unsigned long long)r->rounds);
    fprintf(f, "Global data sent = %.6f MB (all parties)\n",
            (double)bench_record_bytes(r) / BENCH_MB);
    char offline[32] = "-";
    if (r->offline_median_s >= 0)
        snprintf(offline, sizeof offline, "%.6f", r->offline_median_s);
    fprintf(f,
            "Spent %.6f seconds (%.6f MB, %llu rounds) on the online phase and %s seconds "
            "(%.6f MB, 1 rounds) on the offline phase\n",
            r->online_median_s, (double)(bench_record_bytes(r) - r->offline_bytes) / BENCH_MB,
            (unsigned long long)r->rounds, offline, (double)r->offline_bytes / BENCH_MB);
}

void bench_against_reference(FILE *f, const bench_record_t *r, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].has_reference)
            continue;
        if (!any)
            fprintf(f, "Against SecureNN's code as measured on the 2-core development machine "
                       "(DESIGN section 11), not on this machine: times compare only as far "
                       "as the machines do; bytes compare exactly\n");
        any = true;
        double bytes = (double)bench_record_bytes(&r[i]);
        double speed = r[i].reference_s / r[i].time_median_s;
        fprintf(f,
                "  %-10s %-9s batch %3zu: %9.3f ms vs %9.3f ms (%.2fx %s), %9.3f MB vs "
                "%8.3f MB (%.2fx the bytes)\n",
                bench_op_name(r[i].op), bench_size(&r[i]), r[i].batch, r[i].time_median_s * 1e3,
                r[i].reference_s * 1e3, speed >= 1 ? speed : 1 / speed,
                speed >= 1 ? "faster" : "slower", bytes / BENCH_MB,
                r[i].reference_bytes / BENCH_MB, bytes / r[i].reference_bytes);
    }
}

void bench_per_batch(FILE *f, const bench_record_t *r, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].job_batches)
            continue;
        if (!any)
            fprintf(f, "A call is one job of one batch; the parties keep the weights' masked "
                       "forms between jobs (mask_cache in [limits]), so the first call, a "
                       "warm-up, masks them for the others. Against a job of several batches:\n");
        any = true;
        double per = r[i].batch ? (double)r[i].batch : 1;
        fprintf(f,
                "  %-10s batch %3zu: a call %9.3f ms, %8.3f MB; a batch within a job of %llu "
                "%9.3f ms, %8.3f MB (%.3f ms, %.4f MB an image)\n",
                bench_op_name(r[i].op), r[i].batch, r[i].time_median_s * 1e3,
                (double)bench_record_bytes(&r[i]) / BENCH_MB,
                (unsigned long long)r[i].job_batches, r[i].job_batch_s * 1e3,
                r[i].job_batch_bytes / BENCH_MB, r[i].job_batch_s * 1e3 / per,
                r[i].job_batch_bytes / BENCH_MB / per);
    }
}

/* ---- records ------------------------------------------------------------- */

/* A JSON string: quotes, backslashes and control characters escaped. */
static void bench_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void bench_csv_str(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

typedef enum { BENCH_JSON, BENCH_CSV } bench_format_t;

static const char *const bench_fields[] = {"op",
                                           "size",
                                           "batch",
                                           "repetitions",
                                           "time_median_s",
                                           "time_min_s",
                                           "time_max_s",
                                           "client_time_median_s",
                                           "bytes_total",
                                           "bytes_party0",
                                           "bytes_party1",
                                           "bytes_party2",
                                           "recv_party0",
                                           "recv_party1",
                                           "recv_party2",
                                           "dealer_share",
                                           "messages",
                                           "rounds",
                                           "securenn_bytes",
                                           "securenn_ratio",
                                           "securenn_ref_time_s",
                                           "securenn_ref_bytes",
                                           "job_batches",
                                           "job_batch_time_s",
                                           "job_batch_bytes",
                                           "frac_bits",
                                           "cluster",
                                           "truncation",
                                           "version",
                                           "date",
                                           "host",
                                           "cores",
                                           "config_hash",
                                           "protocol",
                                           "online_time_median_s",
                                           "offline_time_median_s",
                                           "offline_bytes",
                                           "fss_max"};

#define BENCH_FIELDS (sizeof bench_fields / sizeof bench_fields[0])

/* Field k of record r: a string (quoted in JSON), a number, or NULL for
 * an unknown value. */
static const char *bench_field(char *buf, size_t size, const bench_record_t *r, size_t k,
                               const bench_meta_t *m, bool *is_str)
{
    double all = (double)bench_record_bytes(r);
    *is_str = k <= 1 || (k >= 26 && k != 31 && k <= 33);
    switch (k) {
    case 0: return bench_op_name(r->op);
    case 1: return r->size;
    case 2: snprintf(buf, size, "%zu", r->batch); break;
    case 3: snprintf(buf, size, "%u", r->repetitions); break;
    case 4: snprintf(buf, size, "%.9f", r->time_median_s); break;
    case 5: snprintf(buf, size, "%.9f", r->time_min_s); break;
    case 6: snprintf(buf, size, "%.9f", r->time_max_s); break;
    case 7: snprintf(buf, size, "%.9f", r->client_median_s); break;
    case 8: snprintf(buf, size, "%llu", (unsigned long long)bench_record_bytes(r)); break;
    case 9:
    case 10:
    case 11: snprintf(buf, size, "%llu", (unsigned long long)r->sent[k - 9]); break;
    case 12:
    case 13:
    case 14: snprintf(buf, size, "%llu", (unsigned long long)r->recv[k - 12]); break;
    case 15: snprintf(buf, size, "%.6f", all > 0 ? (double)r->sent[2] / all : 0); break;
    case 16: snprintf(buf, size, "%llu", (unsigned long long)r->messages); break;
    case 17: snprintf(buf, size, "%llu", (unsigned long long)r->rounds); break;
    case 18: snprintf(buf, size, "%.0f", r->securenn_bytes); break;
    case 19: snprintf(buf, size, "%.6f", bench_ratio(r)); break;
    case 20:
        if (!r->has_reference)
            return NULL;
        snprintf(buf, size, "%.6f", r->reference_s);
        break;
    case 21:
        if (!r->has_reference)
            return NULL;
        snprintf(buf, size, "%.0f", r->reference_bytes);
        break;
    case 22:
        if (!r->job_batches)
            return NULL;
        snprintf(buf, size, "%llu", (unsigned long long)r->job_batches);
        break;
    case 23:
        if (!r->job_batches)
            return NULL;
        snprintf(buf, size, "%.9f", r->job_batch_s);
        break;
    case 24:
        if (!r->job_batches)
            return NULL;
        snprintf(buf, size, "%.0f", r->job_batch_bytes);
        break;
    case 25: snprintf(buf, size, "%u", m->frac_bits); break;
    case 26: return m->cluster;
    case 27: return m->truncation;
    case 28: return m->version;
    case 29: return m->date;
    case 30: return m->host;
    case 31: snprintf(buf, size, "%u", m->cores); break;
    case 32: return m->config_hash;
    case 33: return m->protocol;
    case 34: snprintf(buf, size, "%.9f", r->online_median_s); break;
    case 35:
        if (r->offline_median_s < 0)
            return NULL;
        snprintf(buf, size, "%.9f", r->offline_median_s);
        break;
    case 36: snprintf(buf, size, "%llu", (unsigned long long)r->offline_bytes); break;
    default:
        if (!m->fss_max)
            return NULL;
        snprintf(buf, size, "%u", m->fss_max);
        break;
    }
    return buf;
}

static void bench_records(FILE *f, bench_format_t fmt, const bench_record_t *r, size_t n,
                          const bench_meta_t *m)
{
    char buf[64];
    bool is_str;
    if (fmt == BENCH_CSV)
        for (size_t k = 0; k < BENCH_FIELDS; k++)
            fprintf(f, "%s%s", k ? "," : "", bench_fields[k]);
    else
        fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        fputs(fmt == BENCH_CSV ? "\n" : i ? ",\n {" : "\n {", f);
        for (size_t k = 0; k < BENCH_FIELDS; k++) {
            const char *v = bench_field(buf, sizeof buf, &r[i], k, m, &is_str);
            if (fmt == BENCH_CSV) {
                if (k)
                    fputc(',', f);
                if (v)
                    bench_csv_str(f, v);
                continue;
            }
            fprintf(f, "%s\"%s\": ", k ? ", " : "", bench_fields[k]);
            if (!v)
                fputs("null", f);
            else if (is_str)
                bench_json_str(f, v);
            else
                fputs(v, f);
        }
        if (fmt == BENCH_JSON)
            fputc('}', f);
    }
    fputs(fmt == BENCH_CSV ? "\n" : "\n]\n", f);
}

static trine_status_t bench_write(const char *path, bench_format_t fmt, const bench_record_t *r,
                                  size_t n, const bench_meta_t *m, trine_err_t *err)
{
    char tmp[4096];
    FILE *f;
    trine_status_t st = plain_file_create(path, tmp, sizeof tmp, &f, err);
    if (st != TRINE_OK)
        return st;
    bench_records(f, fmt, r, n, m);
    return plain_file_commit(&f, tmp, path, !ferror(f), err);
}

trine_status_t bench_write_json(const char *path, const bench_record_t *r, size_t n,
                                const bench_meta_t *meta, trine_err_t *err)
{
    return bench_write(path, BENCH_JSON, r, n, meta, err);
}

trine_status_t bench_write_csv(const char *path, const bench_record_t *r, size_t n,
                               const bench_meta_t *meta, trine_err_t *err)
{
    return bench_write(path, BENCH_CSV, r, n, meta, err);
}

trine_status_t bench_meta_init(bench_meta_t *m, bench_meta_buf_t *buf, const char *path,
                               trine_err_t *err)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf->date, sizeof buf->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (gethostname(buf->host, sizeof buf->host) != 0)
        snprintf(buf->host, sizeof buf->host, "unknown");
    buf->host[sizeof buf->host - 1] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "cannot read %s: %s", path, strerror(errno));
    crypto_generichash_state h;
    uint8_t chunk[4096], sum[32];
    crypto_generichash_init(&h, NULL, 0, sizeof sum);
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        crypto_generichash_update(&h, chunk, got);
    bool bad = ferror(f);
    fclose(f);
    if (bad)
        return trine_err_set(err, TRINE_EIO, "cannot read %s", path);
    crypto_generichash_final(&h, sum, sizeof sum);
    sodium_bin2hex(buf->hash, sizeof buf->hash, sum, sizeof sum);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    m->version = TRINE_VERSION;
    m->date = buf->date;
    m->host = buf->host;
    m->cores = cores > 0 ? (unsigned)cores : 0;
    m->config_hash = buf->hash;
    return TRINE_OK;
}

/* ---- charts ---------------------------------------------------------------- */

/* OP.dat: one line per measurement of op: index, label, time median, min,
 * max (ms), trine MB, SecureNN formula MB, SecureNN measured ms and MB
 * (NaN when unknown). */
static trine_status_t bench_plot_data(const char *path, const bench_record_t *r, size_t n,
                                      bench_op_t op, trine_err_t *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "# index label time_ms time_min_ms time_max_ms trine_MB securenn_MB "
               "securenn_measured_ms securenn_measured_MB\n");
    for (size_t i = 0, k = 0; i < n; i++) {
        if (r[i].op != op)
            continue;
        fprintf(f, "%zu \"%s%sbatch %zu\" %.6f %.6f %.6f %.6f %.6f", k++, r[i].size,
                r[i].size[0] ? ", " : "", r[i].batch, r[i].time_median_s * 1e3,
                r[i].time_min_s * 1e3, r[i].time_max_s * 1e3,
                (double)bench_record_bytes(&r[i]) / BENCH_MB, r[i].securenn_bytes / BENCH_MB);
        if (r[i].has_reference)
            fprintf(f, " %.6f %.6f\n", r[i].reference_s * 1e3, r[i].reference_bytes / BENCH_MB);
        else
            fprintf(f, " NaN NaN\n");
    }
    if (fclose(f) != 0)
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(errno));
    return TRINE_OK;
}

static trine_status_t bench_plot_script(const char *path, const char *dir, const char *name,
                                        size_t points, trine_err_t *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(errno));
    /* One point per measurement (sizes and batches are not a series to
     * join), log scales so that batch 1 and batch 128 both read, and the
     * SecureNN references on both charts (measured on the development
     * machine, where known). */
    fprintf(f,
            "# trine bench: %s. Run with: gnuplot %s\n"
            "set terminal pngcairo size 900,500 noenhanced\n"
            "set datafile missing 'NaN'\n"
            "set grid ytics\nset key top left\nset xtics rotate by -25\nset xrange [-0.5:%zu.5]\n"
            "set logscale y\n"
            "set output '%s/%s-time.png'\n"
            "set title 'trine %s: time per call (median, min-max bars; log scale)'\n"
            "set ylabel 'ms'\n"
            "plot '%s/%s.dat' using 1:3:4:5:xtic(2) with yerrorbars lw 2 pt 7 title 'trine', \\\n"
            "     '' using 1:8 with points pt 5 ps 1.5 title 'SecureNN (measured on the "
            "development machine)'\n"
            "set output '%s/%s-bytes.png'\n"
            "set title 'trine %s: bytes per call, all parties (log scale)'\n"
            "set ylabel 'MB'\n"
            "plot '%s/%s.dat' using 1:6:xtic(2) with points pt 7 ps 1.5 title 'trine', \\\n"
            "     '' using 1:7 with points pt 4 ps 1.5 title 'SecureNN formula', \\\n"
            "     '' using 1:9 with points pt 5 ps 1.5 title 'SecureNN (measured)'\n",
            name, path, points - 1, dir, name, name, dir, name, dir, name, name, dir, name);
    if (fclose(f) != 0)
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(errno));
    return TRINE_OK;
}

/* Runs gnuplot on script; *missing when it is not on PATH. */
static trine_status_t bench_gnuplot(const char *script, bool *missing, trine_err_t *err)
{
    pid_t pid;
    char *argv[] = {"gnuplot", (char *)script, NULL};
    int rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ), status = 0;
    *missing = rc == ENOENT;
    if (*missing)
        return TRINE_OK;
    if (rc != 0)
        return trine_err_set(err, TRINE_EIO, "cannot run gnuplot: %s", strerror(rc));
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return trine_err_set(err, TRINE_EIO, "gnuplot failed on %s", script);
    return TRINE_OK;
}

trine_status_t bench_plot(const char *dir, const bench_record_t *r, size_t n, bool *plotted,
                          trine_err_t *err)
{
    *plotted = false;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return trine_err_set(err, TRINE_EIO, "cannot make %s: %s", dir, strerror(errno));
    bool missing = false;
    trine_status_t st = TRINE_OK;
    for (int op = 0; st == TRINE_OK && op < BENCH_OP_COUNT; op++) {
        size_t points = 0;
        for (size_t i = 0; i < n; i++)
            points += r[i].op == (bench_op_t)op;
        if (!points)
            continue;
        const char *name = bench_op_name((bench_op_t)op);
        char data[4096], script[4096];
        snprintf(data, sizeof data, "%s/%s.dat", dir, name);
        snprintf(script, sizeof script, "%s/%s.gp", dir, name);
        st = bench_plot_data(data, r, n, (bench_op_t)op, err);
        if (st == TRINE_OK)
            st = bench_plot_script(script, dir, name, points, err);
        if (st == TRINE_OK && !missing)
            st = bench_gnuplot(script, &missing, err);
    }
    *plotted = st == TRINE_OK && !missing;
    return st;
}
