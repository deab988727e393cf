/* bench_report.h — what `trine bench` prints and writes per measurement:
 * an aligned table row, MP-SPDZ summary lines, the comparison with
 * SecureNN's measured figures, JSON and CSV records, and gnuplot charts.
 *
 * Figures are per call (one job running the measurement's program once):
 * time is the job's steps as the slowest party timed them, from after the
 * job's seed agreement to its end (what SecureNN's and MP-SPDZ's timers
 * cover); bytes are payload bytes each party sent, without the seed
 * agreement (three 32-byte seeds); rounds are the longest chain of
 * messages, as the parties counted them (protocol/ctx.h). The dealer's
 * share is the fraction of all bytes that P2 sent. 1 MB = 10^6 bytes.
 */
#ifndef TRINE_BENCH_REPORT_H
#define TRINE_BENCH_REPORT_H

#include "config/bench.h"
#include "tensor/status.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    bench_op_t op;
    char size[48]; /* as the config gave it; "" for networks */
    size_t batch;
    unsigned repetitions;
    double time_median_s, time_min_s, time_max_s;
    double client_median_s;    /* request to reply at the client, job start included */
    uint64_t sent[3], recv[3]; /* per party */
    uint64_t messages, rounds;
    double securenn_bytes; /* SecureNN's formulas for the same program */
    bool has_reference;    /* SecureNN's code measured here (bench_reference) */
    double reference_s, reference_bytes;
    /* Networks: a batch within a job of job_batches batches (0: not
     * measured), the weights masked once for the job: the time of a step
     * after the first, the bytes of a step without the masking. */
    uint64_t job_batches;
    double job_batch_s, job_batch_bytes;
    /* The phases (MP-SPDZ's "online" and "offline"): offline_bytes is what
     * P2 dealt (input-independent, of sent[2]); online_median_s the time
     * less what P0 and P1 waited for the dealing; offline_median_s P2's
     * own time when it only deals (protocol fss), else negative. */
    uint64_t offline_bytes;
    double online_median_s, offline_median_s;
} bench_record_t;

/* Bytes all parties sent. */
uint64_t bench_record_bytes(const bench_record_t *r);

/* The table: a header, then a row per record as it is measured. */
void bench_table_header(FILE *f);
void bench_table_row(FILE *f, const bench_record_t *r);

/* MP-SPDZ's summary lines for one record, after a "# op size batch" line:
 *   Time = X seconds
 *   Data sent = X MB in ~N rounds (party 0)
 *   Global data sent = X MB (all parties)
 *   Spent X seconds (Y MB, N rounds) on the online phase and X seconds
 *   (Y MB, 1 rounds) on the offline phase
 * (the offline time "-" when P2 takes part online, protocol securenn). */
void bench_mpspdz(FILE *f, const bench_record_t *r);

/* One line per record that has a SecureNN reference: time and bytes
 * against it. Nothing when none has. */
void bench_against_reference(FILE *f, const bench_record_t *r, size_t n);

/* One line per network record: a call (one job of one batch, masking the
 * weights) beside a batch within a job. Nothing when none has. */
void bench_per_batch(FILE *f, const bench_record_t *r, size_t n);

/* What every record of a run carries besides its figures, so that a
 * published record says where it came from. */
typedef struct {
    unsigned frac_bits;
    const char *truncation;  /* "exact" or "local" */
    const char *protocol;    /* "securenn", "fss", "carry" or "auto" */
    unsigned fss_max;        /* under auto, else 0 */
    const char *cluster;     /* "local" or the cluster.ini path */
    const char *version;     /* trine's */
    const char *date;        /* the run's start, UTC, ISO 8601 */
    const char *host;        /* the machine's name */
    unsigned cores;          /* online processors */
    const char *config_hash; /* BLAKE2b-256 (hex) of the bench file's bytes */
} bench_meta_t;

/* Fills m for a run of the bench file path now; the strings live in m's
 * buffers (bench_meta_buf_t), which the caller keeps. */
typedef struct {
    char date[32], host[256], hash[65];
} bench_meta_buf_t;
TRINE_NODISCARD trine_status_t bench_meta_init(bench_meta_t *m, bench_meta_buf_t *buf,
                                               const char *path, trine_err_t *err);

/* Writes all n records to path, replacing it atomically (temporary file,
 * rename): JSON as an array of objects, CSV with a header line. The fields
 * (both formats): op, size, batch, repetitions, time_median_s, time_min_s,
 * time_max_s, client_time_median_s, bytes_total, bytes_party0..2 (sent),
 * recv_party0..2, dealer_share, messages, rounds, securenn_bytes,
 * securenn_ratio (bytes_total / securenn_bytes), securenn_ref_time_s,
 * securenn_ref_bytes (SecureNN measured on the development machine),
 * job_batches, job_batch_time_s, job_batch_bytes (networks: a batch within
 * a job; null in JSON, empty in CSV, when unknown), then meta's
 * frac_bits, cluster, truncation, version, date, host, cores and
 * config_hash, then protocol (meta's), online_time_median_s,
 * offline_time_median_s (null / empty under securenn) and offline_bytes,
 * then fss_max (meta's; null / empty unless protocol auto). */
TRINE_NODISCARD trine_status_t bench_write_json(const char *path, const bench_record_t *r, size_t n,
                                                const bench_meta_t *meta, trine_err_t *err);
TRINE_NODISCARD trine_status_t bench_write_csv(const char *path, const bench_record_t *r, size_t n,
                                               const bench_meta_t *meta, trine_err_t *err);

/* Charts in dir (made if missing): for each operation measured, OP.dat
 * and OP.gp, and when gnuplot is on PATH, OP-time.png (median time with
 * min-max bars, a point per measurement, beside SecureNN's measured time
 * where known) and OP-bytes.png (trine against the SecureNN formula and
 * measured bytes), both on log scales. *plotted says whether gnuplot ran; without it
 * the data and scripts are still written. */
TRINE_NODISCARD trine_status_t bench_plot(const char *dir, const bench_record_t *r, size_t n,
                                          bool *plotted, trine_err_t *err);

#endif
