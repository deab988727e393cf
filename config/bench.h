/* bench.h — benchmark configs for `trine bench BENCH.ini`, parsed with
 * libinih into a flat list of measurements.
 *
 * A bench file says where to run (a local cluster started for the run, or
 * a cluster.ini), how often to measure, where to write results, and what to
 * measure: one section per operation, each listing sizes (and batches),
 * expanded into one bench_item_t per measurement in file order. Loading
 * checks syntax, names, ranges and shapes; it does not open the cluster.ini
 * or the output files (the client does, and reports on them).
 * config/bench-small.ini, bench-table8.ini and bench-networks.ini are
 * commented samples.
 *
 * THE FILE FORMAT
 *
 * INI as in cluster.ini: keys and section headers start in column 1;
 * comments are whole lines starting with ';' or '#', or the tail of a line
 * after " ;" or " #"; a line is at most CONFIG_LINE_MAX characters. Each
 * section and each key may appear once. Sections come in any order and are
 * measured in file order.
 *
 *   [bench]               required
 *   cluster = local       required: 'local' (three parties on this machine,
 *                         started for the run and stopped after) or the path
 *                         of a cluster.ini, relative to this file's folder
 *                         (write ./local for a cluster.ini named "local")
 *   frac_bits = 13        fixed-point fraction bits, 0..30, default 13; with
 *                         a cluster.ini it must match the cluster's
 *   truncation = exact    exact (default) or local: the local cluster's
 *                         [cluster] truncation; a cluster.ini must match
 *   protocol = securenn   securenn (default), fss, carry or auto: the local cluster's
 *                         [cluster] protocol; a cluster.ini must match
 *   fss_max = 64          under auto, the local cluster's [cluster] fss_max,
 *                         1..2^30, default 64; a cluster.ini under auto
 *                         must match
 *   repetitions = 5       measured runs per measurement, 1..1000, default 5
 *   warmup = 1            unrecorded runs before them, 0..100, default 1
 *   json = bench.json     result files, relative to the current directory
 *   csv = bench.csv       (not this file's); absent, empty or "" = not
 *                         written; a path may be written in double quotes
 *   timeout_ms = 30000    the local cluster's peer timeout, 100..3600000,
 *                         default 30000; only with cluster = local (a
 *                         cluster.ini has its own)
 *
 *   [matmul]      sizes = m x n x v, ...    an [m,n] by [n,v] product
 *   [conv2d]      sizes = m x f x i x o, ...  SecureNN Table 8: an m x m
 *                 image with i channels, o filters of f x f (f odd),
 *                 stride 1, zero padding (f-1)/2, output m x m x o
 *                 batch = 1, ...            images per call, default 1
 *   [relu] [drelu] [sigmoid]  sizes = a tensor shape of 1 to 4 extents, ...
 *   [exp] [recip] [rsqrt] [log] [tanh] [erf] [softmax] [log_softmax]
 *                 sizes = shape, ...        the smooth functions (program.h
 *                                           gives their bounds); recip,
 *                                           rsqrt and log on [0.5, 2),
 *                                           the others on [-1, 1); softmax
 *                                           and log_softmax along the last
 *                                           extent
 *   [compare]     sizes = shape, ...        a > b of two tensors of it
 *   [division]    sizes = shape, ...        a / b elementwise
 *                 int_bits = 0              quotient bits above the point,
 *                                           0..30, default 0
 *   [maxpool]     sizes = H x W x C / k, ...  k x k windows, stride k,
 *                                           H and W multiples of k
 *                 batch = 1, ...            default 1
 *   [network_a] .. [network_d]  batch = 1, 128, ...  required; SecureNN's
 *                 Appendix C networks on 28 x 28 MNIST images (no sizes)
 *
 * A list is comma separated, white space around items allowed, a trailing
 * comma ignored; a long list may go on over lines indented by white space.
 * A size is whole numbers (plain decimal digits) joined by 'x', no spaces:
 * 784x128x10; maxpool adds /k: 24x24x16/2. Every extent and batch is
 * 1..2^31, and no tensor of a measurement (operands, output, a whole batch
 * of images) may exceed 2^28 elements. Every operation section needs sizes,
 * every network section batch, and the file at least one of them. Each
 * size is measured at each batch: sizes = a, b with batch = 1, 128 gives
 * a at 1, a at 128, b at 1, b at 128.
 */
#ifndef TRINE_BENCH_H
#define TRINE_BENCH_H

#include "config/config.h"
#include "tensor/status.h"

#include <stdbool.h>
#include <stddef.h>

#define BENCH_DIM_MAX      4                 /* extents of a size */
#define BENCH_SIZE_MAX     48                /* bytes of a size as text with its NUL */
#define BENCH_EXTENT_MAX   ((size_t)1 << 31) /* largest extent or batch */
#define BENCH_ELEMENTS_MAX ((size_t)1 << 28) /* largest tensor of a measurement */

/* What a section measures; the order of the enum is the order of names in
 * messages, not of measurements. */
typedef enum {
    BENCH_OP_MATMUL,
    BENCH_OP_CONV2D,
    BENCH_OP_RELU,
    BENCH_OP_DRELU,
    BENCH_OP_COMPARE,
    BENCH_OP_MAXPOOL,
    BENCH_OP_DIVISION,
    BENCH_OP_SIGMOID,
    BENCH_OP_EXP,
    BENCH_OP_RECIP,
    BENCH_OP_RSQRT,
    BENCH_OP_LOG,
    BENCH_OP_TANH,
    BENCH_OP_ERF,
    BENCH_OP_SOFTMAX,
    BENCH_OP_LOG_SOFTMAX,
    BENCH_OP_NETWORK_A,
    BENCH_OP_NETWORK_B,
    BENCH_OP_NETWORK_C,
    BENCH_OP_NETWORK_D,
    BENCH_OP_COUNT
} bench_op_t;

/* One measurement: an operation at one size and one batch. */
typedef struct {
    bench_op_t op;
    int ndim;                  /* extents in dim: matmul 3 (m, n, v), conv2d 4 (m, f, i, o),
                                  maxpool 3 (H, W, C), relu .. division 1 to 4, networks 0 */
    size_t dim[BENCH_DIM_MAX]; /* unused ones 0 */
    size_t window;             /* maxpool's k; 0 for the others */
    size_t batch;              /* images per call for conv2d, maxpool and networks; 1 else */
    unsigned int_bits;         /* division's int_bits; 0 for the others */
    char size[BENCH_SIZE_MAX]; /* the size normalised: "784x128x10", "24x24x16/2"; "" for
                                  networks */
    unsigned line;             /* the line of its size (of its batch for networks) */
} bench_item_t;

typedef struct {
    char path[CONFIG_PATH_MAX];    /* the file it came from, as given */
    bool local;                    /* cluster = local */
    char cluster[CONFIG_PATH_MAX]; /* else the cluster.ini, resolved; "" when local */
    unsigned frac_bits;            /* 0..30 */
    config_trunc_t truncation;     /* exact or local */
    config_protocol_t protocol;    /* securenn, fss, carry or auto */
    unsigned fss_max;              /* under auto: fss for comparisons of at most this many */
    unsigned repetitions;          /* measured runs per item, 1..1000 */
    unsigned warmup;               /* unrecorded runs before them, 0..100 */
    unsigned timeout_ms;           /* the local cluster's peer timeout */
    char json[CONFIG_PATH_MAX];    /* results as JSON, as given; "" for none */
    char csv[CONFIG_PATH_MAX];     /* results as CSV, as given; "" for none */
    unsigned cluster_line;         /* lines of cluster and frac_bits, for the client's */
    unsigned frac_bits_line;       /* messages; frac_bits_line is 0 when it took the default */
    bench_item_t *items;           /* the measurements, in file order; owned */
    size_t nitems;                 /* at least 1 */
} bench_config_t;

/* The section name of op as written in the file: "matmul" .. "network_d";
 * "unknown" for a value out of the enum. Never NULL. */
const char *bench_op_name(bench_op_t op);

/* Reads and validates the bench file at path into *out, which is
 * overwritten (clear a previous result first). Returns TRINE_EIO when the
 * file cannot be read, TRINE_EFORMAT for a malformed file or value,
 * TRINE_ERANGE for a number, size or path out of range and TRINE_ENOMEM,
 * with err naming file, line and key; *out is zeroed then. On success the
 * caller owns out->items and frees them with bench_config_clear. */
TRINE_NODISCARD trine_status_t bench_config_load(bench_config_t *out, const char *path,
                                                 trine_err_t *err);

/* Frees c's items and zeroes *c; accepts NULL and a zeroed config. */
void bench_config_clear(bench_config_t *c);

#endif
