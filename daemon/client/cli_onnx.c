/* cli_onnx.c — the client verbs for ONNX models: share-model (the model
 * owner shares the weights and publishes the graph without them) and
 * onnx-test (ONNX backend test directories run through the parties).
 * `trine infer --model X.onnx` is in cli_prog.c; the compiler is
 * onnx_compile.h.
 */
#include "daemon/client/cli.h"
#include "daemon/client/local_cluster.h"
#include "daemon/common/keys.h"

#include "tensor/fixed.h"

#include <dirent.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ONNX_GRANTS_MAX 16
#define ONNX_SETS_MAX   8 /* test data sets run per test */

int onnx_share_weights(session_t *s, const onnx_prog_t *op, bool quiet, const char *verb)
{
    lib_begin(s);
    progress_init(session_bar(s), true);
    trine_status_t st = lib_share_weights(s, op);
    progress_end(session_bar(s));
    if (st != TRINE_OK)
        return session_fail(s, verb);
    for (size_t i = 0; !quiet && i < op->nweights; i++) {
        const plain_t *pl = op->weights[i].value;
        session_share_line(op->prog.vars[op->weights[i].var].name, pl->dtype, pl->ndim,
                           pl->shape, pl->count, plain_dtype_is_float(pl->dtype),
                           s->cluster.cfg.frac_bits);
    }
    return 0;
}

/* ---- share-model ---------------------------------------------------------------- */

/* Replaces the values of t (a float tensor) by the external location
 * trine:prefix. */
static trine_status_t onnx_strip(Onnx__TensorProto *t, const char *prefix, trine_err_t *err)
{
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
        t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        return TRINE_OK;
    Onnx__StringStringEntryProto *e = malloc(sizeof *e);
    Onnx__StringStringEntryProto **list = malloc(sizeof *list);
    char *key = strdup("location"), *value = malloc(strlen(ONNX_TRINE_PREFIX) + strlen(prefix) + 1);
    if (!e || !list || !key || !value) {
        free(e), free(list), free(key), free(value);
        return trine_err_set(err, TRINE_ENOMEM, "out of memory");
    }
    sprintf(value, "%s%s", ONNX_TRINE_PREFIX, prefix);
    onnx__string_string_entry_proto__init(e);
    e->key = key;
    e->value = value;
    list[0] = e;
    for (size_t i = 0; i < t->n_external_data; i++)
        onnx__string_string_entry_proto__free_unpacked(t->external_data[i], NULL);
    free(t->external_data);
    t->external_data = list;
    t->n_external_data = 1;
    t->has_data_location = true;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    free(t->raw_data.data);
    t->raw_data = (ProtobufCBinaryData){0};
    t->has_raw_data = false;
    free(t->float_data);
    t->float_data = NULL;
    t->n_float_data = 0;
    free(t->double_data);
    t->double_data = NULL;
    t->n_double_data = 0;
    return TRINE_OK;
}

/* The model without its weights' values: every float initializer and
 * Constant tensor points at trine:prefix instead. */
static trine_status_t onnx_publish(onnx_model_t *m, const char *prefix, const char *path,
                                   trine_err_t *err)
{
    Onnx__GraphProto *g = m->proto->graph;
    trine_status_t st = TRINE_OK;
    for (size_t i = 0; st == TRINE_OK && i < g->n_initializer; i++)
        st = onnx_strip(g->initializer[i], prefix, err);
    for (size_t i = 0; st == TRINE_OK && i < g->n_node; i++)
        for (size_t k = 0; st == TRINE_OK && k < g->node[i]->n_attribute; k++)
            if (!strcmp(g->node[i]->op_type, "Constant") && g->node[i]->attribute[k]->t)
                st = onnx_strip(g->node[i]->attribute[k]->t, prefix, err);
    return st == TRINE_OK ? onnx_model_write(m, path, err) : st;
}

int verb_share_model(const client_opts_t *opts, int argc, char **argv)
{
    const char *model = NULL, *prefix = NULL, *out = NULL, *grants[ONNX_GRANTS_MAX];
    size_t ngrants = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--grant") && v && ngrants < ONNX_GRANTS_MAX)
            grants[ngrants++] = argv[++i];
        else if (!strcmp(a, "-o") && v)
            out = argv[++i];
        else if (a[0] != '-' && !model)
            model = a;
        else if (a[0] != '-' && !prefix)
            prefix = a;
        else
            return verb_usage_error("share-model", "unknown argument or missing value");
    }
    if (!model || !prefix)
        return verb_usage_error("share-model", "give the model and the prefix of its tensors");
    if (!wire_name_valid(prefix) || strlen(prefix) > 24)
        return verb_usage_error("share-model", "PREFIX is 1-24 letters, digits, '_', '-' or '.'");
    char outbuf[4096];
    if (!out) {
        size_t n = strlen(model);
        if (n > 5 && !strcmp(model + n - 5, ".onnx"))
            n -= 5;
        snprintf(outbuf, sizeof outbuf, "%.*s.public.onnx", (int)n, model);
        out = outbuf;
    }
    trine_err_t err;
    keys_public_t keys[ONNX_GRANTS_MAX];
    for (size_t i = 0; i < ngrants; i++)
        if (keys_read_public(&keys[i], grants[i], &err) != TRINE_OK) {
            fprintf(stderr, "trine share-model: %s\n", err.msg);
            return TRINE_EXIT_FAIL;
        }
    onnx_model_t m;
    if (onnx_model_read(&m, model, &err) != TRINE_OK) {
        fprintf(stderr, "trine share-model: %s\n", err.msg);
        return TRINE_EXIT_FAIL;
    }
    onnx_prog_t op;
    onnx_compile_opts_t co = {.prefix = prefix, .batch = true};
    if (onnx_compile(&m, model, &co, &op, &err) != TRINE_OK) {
        fprintf(stderr, "trine share-model: %s\n", err.msg);
        onnx_model_clear(&m);
        return TRINE_EXIT_FAIL;
    }
    int rc = 0;
    session_t s;
    if (op.stored[0]) {
        fprintf(stderr, "trine share-model: %s: its weights are already kept by trine under '%s'\n",
                model, op.stored);
        rc = TRINE_EXIT_FAIL;
    } else if (!session_open(&s, opts, "share-model")) {
        rc = TRINE_EXIT_FAIL;
    } else {
        /* Each weight is approved as its own input of exactly this graph, as
         * infer compiles it (batch 128 and one epoch, which count only for
         * a model that mixes rows). */
        wire_approval_t a = {0};
        rc = cli_policy_hash(a.program, &op.prog, &s.cluster, 128, 1, false, "share-model");
        if (rc == 0)
            rc = onnx_share_weights(&s, &op, false, "share-model");
        for (size_t k = 0; rc == 0 && k < ngrants; k++)
            for (size_t i = 0; rc == 0 && i < op.nweights; i++) {
                wire_request_t q = {.op = WIRE_OP_GRANT, .grantee = keys[k], .approval = a};
                snprintf(q.name, sizeof q.name, "%s", op.prog.vars[op.weights[i].var].name);
                memcpy(q.approval.slot, q.name, sizeof q.approval.slot - 1); /* names <= 64 */
                if (session_call(&s, SHARE_PARTIES, &q) != TRINE_OK) {
                    session_report(&s, "share-model", SHARE_PARTIES);
                    rc = TRINE_EXIT_FAIL;
                } else if (i + 1 == op.nweights) {
                    char hex[2 * WIRE_PROGRAM_HASH_BYTES + 1];
                    sodium_bin2hex(hex, sizeof hex, a.program, sizeof a.program);
                    printf("approved this model (program %.16s...) reading the %zu weights for "
                           "%.8s... (%s)\n",
                           hex, op.nweights, keys[k].z85, grants[k]);
                }
            }
        if (rc == 0 && onnx_publish(&m, prefix, out, &err) != TRINE_OK) {
            fprintf(stderr, "trine share-model: %s\n", err.msg);
            rc = TRINE_EXIT_FAIL;
        }
        if (rc)
            lib_rm_weights(&s, &op, op.nweights);
        else
            printf("wrote %s: the graph, with its weights kept by trine as %s*; give it to "
                   "the data owners\n",
                   out, prefix);
        session_close(&s);
    }
    onnx_prog_clear(&op);
    onnx_model_clear(&m);
    return rc;
}

/* ---- onnx-test ------------------------------------------------------------------ */

typedef struct {
    session_t s;
    unsigned frac;
    double atol, rtol;
    unsigned passed, failed, skipped;
    uint64_t tag;
    unsigned seq;
} onnx_test_t;

/* The test data set folders of a test, sorted; returns how many. */
static size_t onnx_test_sets(const char *dir, char sets[ONNX_SETS_MAX][4096])
{
    size_t n = 0;
    for (unsigned k = 0; k < ONNX_SETS_MAX; k++) {
        struct stat st;
        snprintf(sets[n], sizeof sets[n], "%s/test_data_set_%u", dir, k);
        if (stat(sets[n], &st) == 0 && S_ISDIR(st.st_mode))
            n++;
    }
    return n;
}

/* Reads set/prefix_K.pb for K = 0, 1, ... into list; returns how many or
 * -1 on a read error (err set). */
static int onnx_test_tensors(const char *set, const char *prefix, plain_t **list, int *ranks,
                             trine_err_t *err)
{
    int n = 0;
    for (; n < ONNX_IO_MAX; n++) {
        char path[4200];
        struct stat st;
        if ((size_t)snprintf(path, sizeof path, "%s/%s_%d.pb", set, prefix, n) >= sizeof path ||
            stat(path, &st) != 0)
            break;
        if (onnx_tensor_read(path, &list[n], &ranks[n], err) != TRINE_OK) {
            for (int k = 0; k < n; k++)
                plain_destroy(&list[k]);
            return -1;
        }
    }
    return n;
}

/* Compares output o's revealed values with the expected tensor; on a
 * mismatch writes why into msg. */
static bool onnx_test_compare(const onnx_test_t *t, const onnx_io_t *o, const double *got,
                              size_t count, const plain_t *want, const double extra[2],
                              char *msg, size_t size)
{
    if (want->count != count) {
        snprintf(msg, size, "output '%s': %zu values, expected %zu", o->name, count, want->count);
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        double w = want->real ? want->real[i] : (double)(int64_t)want->ints[i];
        double tol = t->atol + extra[0] + (t->rtol + extra[1]) * fabs(w);
        if (!(fabs(got[i] - w) <= tol)) {
            snprintf(msg, size, "output '%s' [%zu]: got %.6g, expected %.6g (tolerance %.3g)",
                     o->name, i, got[i], w, tol);
            return false;
        }
    }
    return true;
}

/* The widening of the tolerance for the approximations a program uses,
 * absolute (extra[0]) and relative (extra[1]): the fine sigmoid's error
 * (relative too, for a product with it), softmax's, the largest of log,
 * tanh, erf and log-softmax's (both ways), exp's (both ways: its bound is
 * relative to e^x, not to e^x - 1), and the relative bound of recip and
 * rsqrt (program.h). */
static void onnx_test_extra(const prog_t *p, double extra[2])
{
    extra[0] = extra[1] = 0;
    for (size_t i = 0; i < p->nops; i++) {
        prog_opcode_t code = p->ops[i].code;
        if (code == PROG_SIGMOID) /* also relative: a product scales it */
            extra[0] = fmax(extra[0], PROG_SIGMOID_FINE_ERROR),
            extra[1] = fmax(extra[1], PROG_SIGMOID_FINE_ERROR);
        else if (code == PROG_SOFTMAX)
            extra[0] = fmax(extra[0], PROG_SOFTMAX_ERROR);
        else if (code == PROG_LOG || code == PROG_TANH || code == PROG_ERF ||
                 code == PROG_LOG_SOFTMAX) /* absolute; relative too: a product scales it */
            extra[0] = fmax(extra[0], PROG_LOG_SOFTMAX_ERROR),
            extra[1] = fmax(extra[1], PROG_LOG_SOFTMAX_ERROR);
        else if (code == PROG_EXP) /* relative to e^x: absolute too once 1 is taken away
                                      (Elu, Selu, Celu near 0) */
            extra[0] = fmax(extra[0], PROG_EXP_ERROR), extra[1] = fmax(extra[1], PROG_EXP_ERROR);
        else if (code == PROG_RECIP || code == PROG_RSQRT)
            extra[1] = fmax(extra[1], PROG_EXP_ERROR);
    }
}

/* Runs one data set of a compiled test: shares its inputs and the model's
 * weights, runs, reveals and compares, removes everything. Returns true on
 * a pass; else msg says why. */
static bool onnx_test_set(onnx_test_t *t, onnx_prog_t *op, const char *prefix, plain_t **in,
                          plain_t **want, char *msg, size_t size)
{
    bool ok = false;
    int shared = 0;
    for (; (size_t)shared < op->ninputs; shared++) {
        char *name = op->prog.vars[op->inputs[shared].var].name;
        if (snprintf(name, PROG_NAME_MAX, "%sin%d", prefix, shared) >= PROG_NAME_MAX ||
            session_share(&t->s, name, in[op->inputs[shared].index], name, "onnx-test", true)) {
            snprintf(msg, size, "sharing input %d failed", shared);
            goto out;
        }
    }
    if (onnx_share_weights(&t->s, op, true, "onnx-test")) {
        snprintf(msg, size, "sharing the weights failed");
        goto out;
    }
    if (session_run(&t->s, &op->prog, prefix, 1, true, "onnx-test")) {
        snprintf(msg, size, "the job failed");
    } else {
        ok = true;
        double extra[2];
        onnx_test_extra(&op->prog, extra);
        for (size_t k = 0; k < op->noutputs; k++) {
            const onnx_io_t *o = &op->outputs[k];
            char name[WIRE_NAME_MAX + 1];
            if ((size_t)snprintf(name, sizeof name, "%s%s", prefix, op->prog.vars[o->var].name) >=
                sizeof name)
                name[WIRE_NAME_MAX] = 0; /* the parties refused such an output name */
            uint64_t *x = NULL;
            wire_tensor_info_t info;
            if (ok && session_fetch(&t->s, name, &x, &info, "onnx-test")) {
                snprintf(msg, size, "revealing output '%s' failed", o->name);
                ok = false;
            } else if (ok) {
                size_t count = 1;
                for (int d = 0; d < info.ndim; d++)
                    count *= info.shape[d];
                double *got = malloc(count * sizeof *got);
                if (!got) {
                    snprintf(msg, size, "out of memory");
                    ok = false;
                } else {
                    fixed_decode_array(got, x, count, info.frac);
                    ok = onnx_test_compare(t, o, got, count, want[k], extra, msg, size);
                }
                free(got);
            }
            free(x);
            session_rm(&t->s, name);
        }
    }
    lib_rm_weights(&t->s, op, op->nweights);
out:
    for (int k = 0; k < shared; k++)
        session_rm(&t->s, op->prog.vars[op->inputs[k].var].name);
    return ok;
}

/* One test folder: model.onnx and test_data_set_N/{input,output}_K.pb. */
static void onnx_test_dir(onnx_test_t *t, const char *dir)
{
    const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    char model[4200], sets[ONNX_SETS_MAX][4096], msg[512] = "";
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    size_t nsets = onnx_test_sets(dir, sets);
    onnx_model_t m;
    trine_err_t err;
    plain_t *in[ONNX_IO_MAX] = {0}, *want[ONNX_IO_MAX] = {0};
    onnx_shape_t shapes[ONNX_IO_MAX];
    int rin[ONNX_IO_MAX], rwant[ONNX_IO_MAX], nin = -1, nwant = -1;
    enum { PASS, FAIL, SKIP } verdict = PASS;
    if (!nsets) {
        verdict = SKIP;
        snprintf(msg, sizeof msg, "no test_data_set_0 folder");
    } else if (onnx_model_read(&m, model, &err) != TRINE_OK) {
        verdict = err.code == TRINE_EUNSUPPORTED ? SKIP : FAIL;
        snprintf(msg, sizeof msg, "%s", err.msg);
    } else {
        for (size_t k = 0; verdict == PASS && k < nsets; k++) {
            nin = onnx_test_tensors(sets[k], "input", in, rin, &err);
            nwant = nin < 0 ? -1 : onnx_test_tensors(sets[k], "output", want, rwant, &err);
            onnx_prog_t op;
            /* inputs and outputs as PRE + name, weights as PRE + "w." + name */
            char pre[WIRE_NAME_MAX + 1], wpre[WIRE_NAME_MAX + 1];
            snprintf(pre, sizeof pre, "ot-%08llx-%u-", (unsigned long long)(t->tag & 0xffffffffu),
                     ++t->seq);
            snprintf(wpre, sizeof wpre, "%.*sw.", WIRE_NAME_MAX - 2, pre);
            for (int i = 0; i < nin; i++) {
                shapes[i].ndim = in[i]->ndim;
                memcpy(shapes[i].shape, in[i]->shape, sizeof shapes[i].shape);
            }
            onnx_compile_opts_t co = {.prefix = wpre,
                                      .shapes = shapes,
                                      .nshapes = nin > 0 ? (size_t)nin : 0,
                                      .ints = (const plain_t *const *)in};
            if (nin < 0 || nwant < 0) {
                verdict = err.code == TRINE_EUNSUPPORTED ? SKIP : FAIL;
                snprintf(msg, sizeof msg, "%s", err.msg);
            } else if (onnx_compile(&m, base, &co, &op, &err) != TRINE_OK) {
                verdict = err.code == TRINE_EUNSUPPORTED ? SKIP : FAIL;
                snprintf(msg, sizeof msg, "%s", err.msg);
            } else {
                if ((size_t)nin != op.ndata || (size_t)nwant != op.noutputs) {
                    verdict = FAIL;
                    snprintf(msg, sizeof msg, "%d inputs and %d outputs for a graph of %zu and %zu",
                             nin, nwant, op.ndata, op.noutputs);
                } else if (!onnx_test_set(t, &op, pre, in, want, msg, sizeof msg)) {
                    verdict = FAIL;
                }
                onnx_prog_clear(&op);
            }
            for (int i = 0; i < ONNX_IO_MAX; i++) {
                plain_destroy(&in[i]);
                plain_destroy(&want[i]);
            }
        }
        onnx_model_clear(&m);
    }
    static const char *const words[] = {"pass", "FAIL", "skip"};
    unsigned *counts[] = {&t->passed, &t->failed, &t->skipped};
    (*counts[verdict])++;
    printf("%s  %s%s%s\n", words[verdict], base, msg[0] ? ": " : "", msg);
    fflush(stdout);
}

static void onnx_test_usage(FILE *f)
{
    fprintf(f,
            "usage: trine onnx-test [--local] [--frac-bits F] [--protocol P] [--atol A]\n"
            "                       [--rtol R] DIR...\n"
            "  runs each ONNX test folder (model.onnx, test_data_set_N/input_K.pb and\n"
            "  output_K.pb) through the parties and compares with the expected outputs:\n"
            "  |got - expected| <= atol + rtol |expected| (defaults: atol 64 fixed-point\n"
            "  steps, 2^(6-F); rtol 0.001; plus %.2g (absolute and relative) for models\n"
            "  with Sigmoid, %.2g\n"
            "  with Softmax, %.2g (both) with Log, Tanh, Erf or LogSoftmax, %.2g (both)\n"
            "  with Exp, and as much relative with Reciprocal, Sqrt or a Div by a\n"
            "  tensor: their approximation errors).\n"
            "  --local starts three parties on this machine with F fraction bits (default\n"
            "  16) and protocol P (securenn, fss, auto or carry; default securenn); else\n"
            "  the cluster of -c / $TRINE_CONFIG is used.\n",
            PROG_SIGMOID_FINE_ERROR, PROG_SOFTMAX_ERROR, PROG_LOG_SOFTMAX_ERROR, PROG_EXP_ERROR);
}

int verb_onnx_test(const client_opts_t *opts, int argc, char **argv)
{
    onnx_test_t t = {.frac = 16, .atol = -1, .rtol = 1e-3};
    config_protocol_t protocol = CONFIG_PROTOCOL_SECURENN;
    bool local_only = false; /* an option for the parties --local starts */
    bool local = false;
    int first = argc;
    for (int i = 1; i < argc && first == argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--local")) {
            local = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            onnx_test_usage(stdout);
            return 0;
        } else if (v && (!strcmp(a, "--atol") || !strcmp(a, "--rtol"))) {
            double x = strtod(v, &end);
            if (*end || !(x >= 0) || !isfinite(x))
                return verb_usage_error("onnx-test", "--atol and --rtol take a number >= 0");
            *(a[2] == 'a' ? &t.atol : &t.rtol) = x;
            i++;
        } else if (v && !strcmp(a, "--frac-bits")) {
            unsigned long f = strtoul(v, &end, 10);
            if (*end || f > 30)
                return verb_usage_error("onnx-test", "--frac-bits takes 0 to 30");
            t.frac = (unsigned)f;
            local_only = true;
            i++;
        } else if (v && !strcmp(a, "--protocol")) {
            if (!config_protocol_parse(&protocol, v))
                return verb_usage_error("onnx-test", "--protocol is securenn, fss, auto or carry");
            local_only = true;
            i++;
        } else if (a[0] == '-') {
            return verb_usage_error("onnx-test", "unknown option or missing value");
        } else {
            first = i;
        }
    }
    if (first == argc)
        return verb_usage_error("onnx-test", "name at least one test folder");
    if (local_only && !local)
        return verb_usage_error("onnx-test", "--frac-bits and --protocol set the parties that "
                                             "--local starts; a running cluster has its own");
    local_cluster_t lc = {0};
    client_opts_t copts = *opts;
    trine_err_t err;
    if (local) {
        local_settings_t set = {.frac_bits = t.frac, .protocol = protocol, .timeout_ms = 10000};
        if (local_cluster_start(&lc, &set, &err) != TRINE_OK) {
            fprintf(stderr, "trine onnx-test: %s\n", err.msg);
            return TRINE_EXIT_FAIL;
        }
        copts.config = lc.config;
        copts.key = lc.key;
    }
    int rc = 0;
    if (!session_open(&t.s, &copts, "onnx-test")) {
        rc = TRINE_EXIT_FAIL;
    } else {
        t.frac = t.s.cluster.cfg.frac_bits;
        if (t.atol < 0)
            t.atol = ldexp(1.0, 6 - (int)t.frac);
        randombytes_buf(&t.tag, sizeof t.tag);
        for (int i = first; i < argc; i++)
            onnx_test_dir(&t, argv[i]);
        printf("onnx-test: %u passed, %u failed, %u skipped (frac_bits %u, atol %.3g, rtol "
               "%.3g)\n",
               t.passed, t.failed, t.skipped, t.frac, t.atol, t.rtol);
        rc = t.failed ? TRINE_EXIT_FAIL : 0;
        session_close(&t.s);
    }
    if (local)
        local_cluster_stop(&lc, rc != 0);
    return rc;
}
