/* fmnist.c — the Fashion-MNIST example's data tool: IDX files to .npy,
 * seeded initial weights, and accuracy of predictions. No numpy needed.
 *
 *   fmnist idx IMAGES.idx LABELS.idx OUTDIR PREFIX [--skip K] [--limit N] [--classes A,B]
 *       raw (decompressed) IDX files, '-' for stdin, to OUTDIR/PREFIX_x.npy
 *       (float64 [N,784], pixel / 255), PREFIX_y.npy (float64 one-hot [N,10];
 *       with --classes only images of classes A and B, [N,1] with 1 for B)
 *       and PREFIX_labels.npy (int64 [N]: the class, or 0/1 with --classes);
 *       --skip passes over the first K images (of those classes)
 *   fmnist init OUTDIR SEED [--sizes 784,128,128,10]
 *       OUTDIR/w1.npy b1.npy ... for a fully connected network: hidden
 *       layers He-uniform, the last layer Glorot-uniform, biases zero
 *   fmnist acc PRED.npy LABELS.npy
 *       PRED [N,K>1] scores (argmax, first maximum on ties) or [N] / [N,1]
 *       classes or probabilities (rounded: p >= 0.5 is class 1); prints
 *       accuracy=, correct=, of=, and precision=, recall= for two classes
 *   fmnist agree A.npy B.npy
 *       the share of rows whose predicted class (as for acc) is the same
 *   fmnist onnx WEIGHTS_DIR OUT.onnx
 *       Network A with the weights WEIGHTS_DIR/w1.npy b1.npy ... w3 b3 as
 *       an ONNX model (opset 13): input x [N,784], MatMul + Add, Relu, Gemm,
 *       Relu, Gemm, output class = ArgMax(axis 1) [N] (INT64); what
 *       network_a.prog computes
 *
 * Exit status: 0 success, 1 bad data or I/O error, 2 bad command line.
 */
#include "daemon/models/onnx.pb-c.h"

#include "tensor/plain.h"
#include "tensor/prg.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FM_CLASSES      10
#define FM_IDX_IMAGES   0x00000803u /* unsigned byte, 3 dimensions */
#define FM_IDX_LABELS   0x00000801u /* unsigned byte, 1 dimension */
#define FM_LAYERS_MAX   8
#define FM_EXIT_FAIL    1
#define FM_EXIT_USAGE   2
#define FM_PIXELS_MAX   (1u << 20) /* per image: refuse absurd headers */
#define FM_PATH_MAX     4096
#define FM_SEED_CONTEXT "fmnist init"

static const char usage_text[] =
    "usage: fmnist idx IMAGES.idx LABELS.idx OUTDIR PREFIX [--skip K] [--limit N] [--classes A,B]\n"
    "       fmnist init OUTDIR SEED [--sizes 784,128,128,10]\n"
    "       fmnist acc PRED.npy LABELS.npy\n"
    "       fmnist agree A.npy B.npy\n"
    "       fmnist onnx WEIGHTS_DIR OUT.onnx\n"
    "IDX files are the raw (gunzipped) Fashion-MNIST files; '-' reads stdin.\n";

static int usage_error(const char *what)
{
    fprintf(stderr, "fmnist: %s\n%s", what, usage_text);
    return FM_EXIT_USAGE;
}

/* ---- IDX ------------------------------------------------------------------ */

typedef struct {
    uint32_t magic;
    uint32_t dims[3];
    size_t count; /* dims[0] */
    size_t item;  /* bytes per item: rows * cols for images, 1 for labels */
    uint8_t *data;
} idx_t;

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads a whole IDX file of unsigned bytes with the expected magic (images
 * or labels) and checks that its size matches the header. */
static int idx_read(idx_t *out, const char *path, uint32_t magic)
{
    bool in = !strcmp(path, "-");
    const char *name = in ? "stdin" : path;
    const char *what = magic == FM_IDX_IMAGES ? "images" : "labels";
    int ndim = (int)(magic & 0xff);
    FILE *f = in ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fmnist: cannot open %s: %s\n", path, strerror(errno));
        return FM_EXIT_FAIL;
    }
    *out = (idx_t){0};
    uint8_t head[16];
    size_t hlen = 4 + 4 * (size_t)ndim;
    int rc = FM_EXIT_FAIL;
    if (fread(head, 1, hlen, f) != hlen) {
        fprintf(stderr, "fmnist: %s: shorter than an IDX header; is it gunzipped?\n", name);
        goto done;
    }
    out->magic = be32(head);
    if (out->magic != magic) {
        fprintf(stderr, "fmnist: %s: IDX magic 0x%08x, want 0x%08x (%s)%s\n", name, out->magic,
                magic, what,
                head[0] == 0x1f && head[1] == 0x8b ? "; it is gzipped: gzip -dc it first" : "");
        goto done;
    }
    out->item = 1;
    for (int d = 0; d < ndim; d++) {
        out->dims[d] = be32(head + 4 + 4 * d);
        if (d > 0)
            out->item *= out->dims[d];
    }
    out->count = out->dims[0];
    if (out->count == 0 || out->item == 0 || out->item > FM_PIXELS_MAX) {
        fprintf(stderr, "fmnist: %s: IDX header says %zu %s of %zu bytes each\n", name, out->count,
                what, out->item);
        goto done;
    }
    size_t bytes = out->count * out->item;
    out->data = malloc(bytes + 1);
    if (!out->data) {
        fprintf(stderr, "fmnist: %s: no memory for %zu bytes\n", name, bytes);
        goto done;
    }
    size_t got = fread(out->data, 1, bytes + 1, f);
    if (ferror(f)) {
        fprintf(stderr, "fmnist: %s: read error: %s\n", name, strerror(errno));
    } else if (got != bytes) {
        fprintf(stderr, "fmnist: %s: the header promises %zu %s (%zu bytes) but %s\n", name,
                out->count, what, bytes,
                got < bytes ? "the file is shorter" : "the file is longer");
    } else {
        rc = 0;
    }
done:
    if (!in)
        fclose(f);
    if (rc) {
        free(out->data);
        out->data = NULL;
    }
    return rc;
}

/* Makes the output folder when missing (one level, like mkdir). */
static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "fmnist: cannot make the folder %s: %s\n", dir, strerror(errno));
    return FM_EXIT_FAIL;
}

static int write_npy(const char *dir, const char *prefix, const char *suffix, plain_dtype_t dtype,
                     int ndim, const size_t *shape, const void *data)
{
    char path[FM_PATH_MAX];
    trine_err_t err;
    snprintf(path, sizeof path, "%s/%s%s.npy", dir, prefix, suffix);
    if (plain_write_npy(path, dtype, ndim, shape, data, &err) != TRINE_OK) {
        fprintf(stderr, "fmnist: %s\n", err.msg);
        return FM_EXIT_FAIL;
    }
    return 0;
}

/* A whole number in [lo, hi] from text, or -1. */
static long long parse_count(const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    return v;
}

static int cmd_idx(int argc, char **argv)
{
    if (argc < 6)
        return usage_error("idx wants IMAGES.idx LABELS.idx OUTDIR PREFIX");
    const char *images = argv[2], *labels = argv[3], *dir = argv[4], *prefix = argv[5];
    long long limit = 0, skip = 0;
    int cls[2] = {-1, -1};
    for (int i = 6; i < argc; i++) {
        if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            if ((limit = parse_count(argv[++i], 1, 1ll << 40)) < 0)
                return usage_error("--limit takes a whole number >= 1");
        } else if (!strcmp(argv[i], "--skip") && i + 1 < argc) {
            if ((skip = parse_count(argv[++i], 0, 1ll << 40)) < 0)
                return usage_error("--skip takes a whole number >= 0");
        } else if (!strcmp(argv[i], "--classes") && i + 1 < argc) {
            char extra;
            if (sscanf(argv[++i], "%d,%d%c", &cls[0], &cls[1], &extra) != 2 || cls[0] < 0 ||
                cls[1] < 0 || cls[0] >= FM_CLASSES || cls[1] >= FM_CLASSES || cls[0] == cls[1])
                return usage_error("--classes takes two different classes A,B in 0..9");
        } else {
            return usage_error("idx: unknown option or missing value");
        }
    }
    if (!strcmp(images, "-") && !strcmp(labels, "-"))
        return usage_error("only one of IMAGES and LABELS can be stdin");
    idx_t im, lb;
    if (make_dir(dir) || idx_read(&im, images, FM_IDX_IMAGES))
        return FM_EXIT_FAIL;
    if (idx_read(&lb, labels, FM_IDX_LABELS)) {
        free(im.data);
        return FM_EXIT_FAIL;
    }
    int rc = FM_EXIT_FAIL;
    bool two = cls[0] >= 0;
    size_t pixels = im.item, n = 0, width = two ? 1 : FM_CLASSES;
    double *x = NULL, *y = NULL;
    int64_t *lab = NULL;
    if (im.count != lb.count) {
        fprintf(stderr, "fmnist: %s has %zu images but %s has %zu labels\n", images, im.count,
                labels, lb.count);
        goto done;
    }
    for (size_t i = 0; i < lb.count; i++)
        if (lb.data[i] >= FM_CLASSES) {
            fprintf(stderr, "fmnist: %s: label %u of item %zu is not a class 0..9\n", labels,
                    lb.data[i], i);
            goto done;
        }
    x = malloc(im.count * pixels * sizeof *x);
    y = calloc(im.count * width, sizeof *y);
    lab = malloc(im.count * sizeof *lab);
    if (!x || !y || !lab) {
        fprintf(stderr, "fmnist: no memory for %zu images\n", im.count);
        goto done;
    }
    for (size_t i = 0; i < im.count && (!limit || n < (size_t)limit); i++) {
        int c = lb.data[i];
        if ((two && c != cls[0] && c != cls[1]) || (skip > 0 && skip--))
            continue;
        for (size_t k = 0; k < pixels; k++)
            x[n * pixels + k] = im.data[i * pixels + k] / 255.0;
        lab[n] = two ? c == cls[1] : c;
        y[n * width + (two ? 0 : (size_t)c)] = two ? (double)lab[n] : 1.0;
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "fmnist: no images of classes %d and %d\n", cls[0], cls[1]);
        goto done;
    }
    if (limit && n < (size_t)limit)
        fprintf(stderr, "fmnist: warning: --limit %lld but only %zu images\n", limit, n);
    size_t xs[2] = {n, pixels}, ys[2] = {n, width}, ls[1] = {n};
    if (write_npy(dir, prefix, "_x", PLAIN_F8, 2, xs, x) ||
        write_npy(dir, prefix, "_y", PLAIN_F8, 2, ys, y) ||
        write_npy(dir, prefix, "_labels", PLAIN_I8, 1, ls, lab))
        goto done;
    printf("fmnist: %s/%s_{x,y,labels}.npy: %zu images of %zu pixels%s\n", dir, prefix, n, pixels,
           two ? ", two classes" : "");
    rc = 0;
done:
    free(im.data);
    free(lb.data);
    free(x);
    free(y);
    free(lab);
    return rc;
}

/* ---- initial weights -------------------------------------------------------- */

static int cmd_init(int argc, char **argv)
{
    if (argc < 4)
        return usage_error("init wants OUTDIR SEED");
    const char *dir = argv[2], *seedtext = argv[3];
    size_t sizes[FM_LAYERS_MAX + 1] = {784, 128, 128, 10};
    int nsizes = 4;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--sizes") || i + 1 >= argc)
            return usage_error("init: unknown option or missing value");
        nsizes = 0;
        for (char *s = argv[++i], *end; *s; s = *end ? end + 1 : end) {
            errno = 0;
            unsigned long long v = strtoull(s, &end, 10);
            if (errno || end == s || (*end && *end != ',') || v == 0 || v > 65536 || *s == '-' ||
                nsizes > FM_LAYERS_MAX)
                return usage_error("--sizes takes 2 to 9 layer widths 1..65536, like 784,128,10");
            sizes[nsizes++] = v;
        }
        if (nsizes < 2)
            return usage_error("--sizes takes at least an input and an output width");
    }
    if (make_dir(dir))
        return FM_EXIT_FAIL;
    uint8_t seed[PRG_SEED_BYTES] = {0};
    snprintf((char *)seed, sizeof seed, "%s %s", FM_SEED_CONTEXT, seedtext);
    prg_t *prg = prg_new(seed);
    if (!prg) {
        fprintf(stderr, "fmnist: cannot start the generator (libsodium)\n");
        return FM_EXIT_FAIL;
    }
    int rc = 0;
    for (int l = 0; l + 1 < nsizes && rc == 0; l++) {
        size_t in = sizes[l], out = sizes[l + 1], n = in * out;
        bool last = l + 2 == nsizes;
        /* He for layers followed by a ReLU, Glorot for the output layer. */
        double bound = last ? sqrt(6.0 / (double)(in + out)) : sqrt(6.0 / (double)in);
        uint64_t *r = malloc(n * sizeof *r);
        double *w = malloc(n * sizeof *w), *b = calloc(out, sizeof *b);
        if (!r || !w || !b) {
            fprintf(stderr, "fmnist: no memory for a %zux%zu layer\n", in, out);
            rc = FM_EXIT_FAIL;
        } else {
            prg_fill_ring(prg, (uint64_t)l, 0, r, n);
            for (size_t k = 0; k < n; k++)
                w[k] = ((double)(r[k] >> 11) / (double)(1ull << 53) * 2 - 1) * bound;
            char wname[16], bname[16];
            size_t ws[2] = {in, out}, bs[1] = {out};
            snprintf(wname, sizeof wname, "w%d", l + 1);
            snprintf(bname, sizeof bname, "b%d", l + 1);
            rc = write_npy(dir, "", wname, PLAIN_F8, 2, ws, w);
            if (rc == 0)
                rc = write_npy(dir, "", bname, PLAIN_F8, 1, bs, b);
        }
        free(r);
        free(w);
        free(b);
    }
    prg_destroy(&prg);
    if (rc == 0)
        printf("fmnist: %d layers of initial weights in %s (seed %s)\n", nsizes - 1, dir, seedtext);
    return rc;
}

/* ---- accuracy ----------------------------------------------------------------- */

static plain_t *read_npy(const char *path)
{
    plain_t *p = NULL;
    trine_err_t err;
    if (plain_read_npy(&p, path, &err) != TRINE_OK) {
        fprintf(stderr, "fmnist: %s\n", err.msg);
        return NULL;
    }
    return p;
}

static double plain_at(const plain_t *p, size_t i)
{
    return p->real ? p->real[i] : (double)(int64_t)p->ints[i];
}

/* The predicted class of each row: argmax of [N,K>1] scores (first
 * maximum), else the value rounded half up. Returns a new array of rows
 * ints, or NULL. */
static int64_t *predicted(const plain_t *p, const char *path, size_t *rows)
{
    size_t k = p->ndim == 2 ? p->shape[1] : 1;
    if (p->ndim > 2 || (p->ndim == 2 && k == 0)) {
        fprintf(stderr, "fmnist: %s: want predictions [N], [N,1] or scores [N,K]\n", path);
        return NULL;
    }
    *rows = p->shape[0];
    int64_t *c = malloc(*rows * sizeof *c);
    if (!c) {
        fprintf(stderr, "fmnist: no memory for %zu predictions\n", *rows);
        return NULL;
    }
    for (size_t i = 0; i < *rows; i++) {
        if (k > 1) {
            size_t best = 0;
            for (size_t j = 1; j < k; j++)
                if (plain_at(p, i * k + j) > plain_at(p, i * k + best))
                    best = j;
            c[i] = (int64_t)best;
        } else {
            c[i] = (int64_t)floor(plain_at(p, i) + 0.5);
        }
    }
    return c;
}

static int cmd_acc(int argc, char **argv)
{
    if (argc != 4)
        return usage_error("acc wants PRED.npy LABELS.npy");
    plain_t *pred = read_npy(argv[2]), *lab = pred ? read_npy(argv[3]) : NULL;
    int rc = FM_EXIT_FAIL;
    size_t n = 0;
    int64_t *c = lab ? predicted(pred, argv[2], &n) : NULL;
    if (!c)
        goto done;
    if (lab->ndim != 1 || lab->shape[0] != n) {
        fprintf(stderr, "fmnist: %s has %zu predictions but %s is not %zu labels [N]\n", argv[2], n,
                argv[3], n);
        goto done;
    }
    size_t correct = 0, tp = 0, fp = 0, fn = 0;
    bool binary = true;
    for (size_t i = 0; i < n; i++) {
        int64_t want = (int64_t)llround(plain_at(lab, i));
        binary = binary && (want == 0 || want == 1);
        correct += c[i] == want;
        tp += c[i] == 1 && want == 1;
        fp += c[i] == 1 && want != 1;
        fn += c[i] != 1 && want == 1;
    }
    printf("accuracy=%.4f correct=%zu of=%zu", (double)correct / (double)n, correct, n);
    if (binary)
        printf(" precision=%.4f recall=%.4f", tp + fp ? (double)tp / (double)(tp + fp) : 0.0,
               tp + fn ? (double)tp / (double)(tp + fn) : 0.0);
    printf("\n");
    rc = 0;
done:
    free(c);
    plain_destroy(&pred);
    plain_destroy(&lab);
    return rc;
}

static int cmd_agree(int argc, char **argv)
{
    if (argc != 4)
        return usage_error("agree wants A.npy B.npy");
    plain_t *a = read_npy(argv[2]), *b = a ? read_npy(argv[3]) : NULL;
    size_t na = 0, nb = 0;
    int64_t *ca = b ? predicted(a, argv[2], &na) : NULL,
            *cb = ca ? predicted(b, argv[3], &nb) : NULL;
    int rc = FM_EXIT_FAIL;
    if (cb && na != nb) {
        fprintf(stderr, "fmnist: %s has %zu rows, %s %zu\n", argv[2], na, argv[3], nb);
    } else if (cb) {
        size_t same = 0;
        for (size_t i = 0; i < na; i++)
            same += ca[i] == cb[i];
        printf("agree=%.4f same=%zu of=%zu\n", (double)same / (double)na, same, na);
        rc = 0;
    }
    free(ca);
    free(cb);
    plain_destroy(&a);
    plain_destroy(&b);
    return rc;
}

/* ---- ONNX export ---------------------------------------------------------------- */

#define FM_ONNX_WEIGHTS 6

/* A FLOAT initializer named name holding p's values. */
static void onnx_init_tensor(Onnx__TensorProto *t, const char *name, const plain_t *p,
                             int64_t *dims, float *vals)
{
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = true;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    for (int i = 0; i < p->ndim; i++)
        dims[i] = (int64_t)p->shape[i];
    t->n_dims = (size_t)p->ndim;
    t->dims = dims;
    for (size_t i = 0; i < p->count; i++)
        vals[i] = (float)plain_at(p, i);
    t->n_float_data = p->count;
    t->float_data = vals;
}

/* A value_info for a tensor of element type et and dims (0: symbolic "N"). */
static void onnx_init_value(Onnx__ValueInfoProto *v, Onnx__TypeProto *tp,
                            Onnx__TypeProto__Tensor *tt, Onnx__TensorShapeProto *sp,
                            Onnx__TensorShapeProto__Dimension *d, Onnx__TensorShapeProto__Dimension **dp,
                            const char *name, int32_t et, const int64_t *dims, size_t n)
{
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sp);
    for (size_t i = 0; i < n; i++) {
        onnx__tensor_shape_proto__dimension__init(&d[i]);
        if (dims[i]) {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i].dim_value = dims[i];
        } else {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i].dim_param = (char *)"N";
        }
        dp[i] = &d[i];
    }
    sp->n_dim = n;
    sp->dim = dp;
    tt->has_elem_type = true;
    tt->elem_type = et;
    tt->shape = sp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    v->name = (char *)name;
    v->type = tp;
}

static int cmd_onnx(int argc, char **argv)
{
    if (argc != 4)
        return usage_error("onnx wants WEIGHTS_DIR OUT.onnx");
    static const char *const names[FM_ONNX_WEIGHTS] = {"w1", "b1", "w2", "b2", "w3", "b3"};
    plain_t *w[FM_ONNX_WEIGHTS] = {0};
    Onnx__TensorProto t[FM_ONNX_WEIGHTS], *tp[FM_ONNX_WEIGHTS];
    int64_t dims[FM_ONNX_WEIGHTS][2];
    float *vals[FM_ONNX_WEIGHTS] = {0};
    int rc = FM_EXIT_FAIL;
    for (int i = 0; i < FM_ONNX_WEIGHTS; i++) {
        char path[FM_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s.npy", argv[2], names[i]);
        if (!(w[i] = read_npy(path)))
            goto done;
        if (w[i]->ndim != (i % 2 ? 1 : 2)) {
            fprintf(stderr, "fmnist: %s must be %s\n", path, i % 2 ? "1-D" : "2-D");
            goto done;
        }
        if (!(vals[i] = malloc(w[i]->count * sizeof *vals[i]))) {
            fprintf(stderr, "fmnist: out of memory\n");
            goto done;
        }
        onnx_init_tensor(&t[i], names[i], w[i], dims[i], vals[i]);
        tp[i] = &t[i];
    }
    /* x @ w1 + b1 -> relu -> gemm(w2, b2) -> relu -> gemm(w3, b3) -> argmax */
    static char *const ins[][3] = {{"x", "w1"}, {"xw1", "b1"}, {"z1"}, {"h1", "w2", "b2"},
                                   {"z2"},      {"h2", "w3", "b3"}, {"z3"}};
    static char *const outs[][1] = {{"xw1"}, {"z1"}, {"h1"}, {"z2"}, {"h2"}, {"z3"}, {"class"}};
    static const char *const ops[] = {"MatMul", "Add", "Relu", "Gemm", "Relu", "Gemm", "ArgMax"};
    static const size_t nins[] = {2, 2, 1, 3, 1, 3, 1};
    enum { NODES = 7 };
    Onnx__NodeProto node[NODES], *np[NODES];
    Onnx__AttributeProto axis, keep, *attrs[2] = {&axis, &keep};
    onnx__attribute_proto__init(&axis);
    onnx__attribute_proto__init(&keep);
    axis.name = "axis", keep.name = "keepdims";
    axis.has_type = keep.has_type = true;
    axis.type = keep.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    axis.has_i = keep.has_i = true;
    axis.i = 1, keep.i = 0;
    for (int i = 0; i < NODES; i++) {
        onnx__node_proto__init(&node[i]);
        node[i].op_type = (char *)ops[i];
        node[i].n_input = nins[i];
        node[i].input = (char **)ins[i];
        node[i].n_output = 1;
        node[i].output = (char **)outs[i];
        if (i == NODES - 1) {
            node[i].n_attribute = 2;
            node[i].attribute = attrs;
        }
        np[i] = &node[i];
    }
    Onnx__ValueInfoProto in, out, *inp = &in, *outp = &out;
    Onnx__TypeProto tin, tout;
    Onnx__TypeProto__Tensor ttin, ttout;
    Onnx__TensorShapeProto sin, sout;
    Onnx__TensorShapeProto__Dimension din[2], dout[1], *dpin[2], *dpout[1];
    int64_t xdims[2] = {0, (int64_t)w[0]->shape[0]}, ydims[1] = {0};
    onnx_init_value(&in, &tin, &ttin, &sin, din, dpin, "x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                    xdims, 2);
    onnx_init_value(&out, &tout, &ttout, &sout, dout, dpout, "class",
                    ONNX__TENSOR_PROTO__DATA_TYPE__INT64, ydims, 1);
    Onnx__GraphProto g;
    onnx__graph_proto__init(&g);
    g.name = "network_a";
    g.n_node = NODES, g.node = np;
    g.n_initializer = FM_ONNX_WEIGHTS, g.initializer = tp;
    g.n_input = 1, g.input = &inp;
    g.n_output = 1, g.output = &outp;
    Onnx__OperatorSetIdProto opset, *opsetp = &opset;
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = "";
    opset.has_version = true;
    opset.version = 13;
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = true;
    m.ir_version = 7;
    m.producer_name = "trine fmnist";
    m.n_opset_import = 1, m.opset_import = &opsetp;
    m.graph = &g;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    FILE *f = buf ? fopen(argv[3], "wb") : NULL;
    if (!f) {
        fprintf(stderr, "fmnist: cannot write %s: %s\n", argv[3], strerror(errno));
    } else {
        onnx__model_proto__pack(&m, buf);
        bool ok = fwrite(buf, 1, len, f) == len;
        if (fclose(f) != 0 || !ok)
            fprintf(stderr, "fmnist: cannot write %s\n", argv[3]);
        else
            rc = 0;
    }
    free(buf);
done:
    for (int i = 0; i < FM_ONNX_WEIGHTS; i++) {
        free(vals[i]);
        plain_destroy(&w[i]);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("name a command");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "idx"))
        return cmd_idx(argc, argv);
    if (!strcmp(argv[1], "init"))
        return cmd_init(argc, argv);
    if (!strcmp(argv[1], "acc"))
        return cmd_acc(argc, argv);
    if (!strcmp(argv[1], "agree"))
        return cmd_agree(argc, argv);
    if (!strcmp(argv[1], "onnx"))
        return cmd_onnx(argc, argv);
    return usage_error("unknown command");
}
