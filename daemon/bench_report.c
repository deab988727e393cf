/* bench_report.c — the benchmark's table, summaries, records and charts. */
#define _POSIX_C_SOURCE 200809L
#include "bench_report.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
    fprintf(f, "%-10s %-14s %5s %10s %-21s %9s %8s %8s %8s %6s %7s %6s %11s %6s\n", "op", "size",
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
        "%-10s %-14s %5zu %10.3f %-21s %9.3f %8.3f %8.3f %8.3f %5.1f%% %7llu %6llu %11.3f %6.2f\n",
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
}

void bench_against_reference(FILE *f, const bench_record_t *r, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].has_reference)
            continue;
        if (!any)
            fprintf(f, "Against SecureNN's code measured on the development machine "
                       "(DESIGN section 11):\n");
        any = true;
        double bytes = (double)bench_record_bytes(&r[i]);
        fprintf(f,
                "  %-10s %-9s batch %3zu: %9.3f ms vs %9.3f ms (%.2fx faster), %9.3f MB vs "
                "%8.3f MB (%.2fx the bytes)\n",
                bench_op_name(r[i].op), bench_size(&r[i]), r[i].batch, r[i].time_median_s * 1e3,
                r[i].reference_s * 1e3, r[i].reference_s / r[i].time_median_s, bytes / BENCH_MB,
                r[i].reference_bytes / BENCH_MB, bytes / r[i].reference_bytes);
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
                                           "frac_bits",
                                           "cluster"};

#define BENCH_FIELDS (sizeof bench_fields / sizeof bench_fields[0])

/* Field k of record r: a string (quoted in JSON), a number, or NULL for
 * an unknown value. */
static const char *bench_field(char *buf, size_t size, const bench_record_t *r, size_t k,
                               unsigned frac_bits, const char *cluster, bool *is_str)
{
    double all = (double)bench_record_bytes(r);
    *is_str = k == 0 || k == 1 || k == 23;
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
    case 22: snprintf(buf, size, "%u", frac_bits); break;
    default: return cluster;
    }
    return buf;
}

static void bench_records(FILE *f, bench_format_t fmt, const bench_record_t *r, size_t n,
                          unsigned frac_bits, const char *cluster)
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
            const char *v = bench_field(buf, sizeof buf, &r[i], k, frac_bits, cluster, &is_str);
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
                                  size_t n, unsigned frac_bits, const char *cluster,
                                  trine_err_t *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return trine_err_set(err, TRINE_ERANGE, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", tmp, strerror(errno));
    bench_records(f, fmt, r, n, frac_bits, cluster);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return TRINE_OK;
}

trine_status_t bench_write_json(const char *path, const bench_record_t *r, size_t n,
                                unsigned frac_bits, const char *cluster, trine_err_t *err)
{
    return bench_write(path, BENCH_JSON, r, n, frac_bits, cluster, err);
}

trine_status_t bench_write_csv(const char *path, const bench_record_t *r, size_t n,
                               unsigned frac_bits, const char *cluster, trine_err_t *err)
{
    return bench_write(path, BENCH_CSV, r, n, frac_bits, cluster, err);
}

/* ---- charts ---------------------------------------------------------------- */

/* OP.dat: one line per measurement of op: index, label, time median, min,
 * max (ms), trine MB, SecureNN formula MB. */
static trine_status_t bench_plot_data(const char *path, const bench_record_t *r, size_t n,
                                      bench_op_t op, trine_err_t *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "# index label time_ms time_min_ms time_max_ms trine_MB securenn_MB\n");
    for (size_t i = 0, k = 0; i < n; i++)
        if (r[i].op == op)
            fprintf(f, "%zu \"%s%sb%zu\" %.6f %.6f %.6f %.6f %.6f\n", k++, r[i].size,
                    r[i].size[0] ? " " : "", r[i].batch, r[i].time_median_s * 1e3,
                    r[i].time_min_s * 1e3, r[i].time_max_s * 1e3,
                    (double)bench_record_bytes(&r[i]) / BENCH_MB, r[i].securenn_bytes / BENCH_MB);
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
    fprintf(f,
            "# trine bench: %s. Run with: gnuplot %s\n"
            "set terminal pngcairo size 900,500 noenhanced\n"
            "set grid ytics\nset key top left\nset xtics rotate by -25\nset xrange [-0.5:%zu.5]\n"
            "set output '%s/%s-time.png'\n"
            "set title 'trine %s: time per call (median, min-max bars)'\n"
            "set ylabel 'ms'\nset yrange [0:*]\n"
            "plot '%s/%s.dat' using 1:3:4:5:xtic(2) with yerrorlines lw 2 title 'trine'\n"
            "set output '%s/%s-bytes.png'\n"
            "set title 'trine %s: bytes per call, all parties'\n"
            "set ylabel 'MB'\nset logscale y\nset yrange [*:*]\n"
            "plot '%s/%s.dat' using 1:6:xtic(2) with linespoints lw 2 pt 7 title 'trine', \\\n"
            "     '' using 1:7 with linespoints lw 2 pt 5 dt 2 title 'SecureNN formula'\n",
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
