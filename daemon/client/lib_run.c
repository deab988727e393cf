/* lib_run.c — programs and models on the cluster (lib.h, trine.h).
 *
 * A run compiles the program text (prog_text.h) or ONNX model
 * (onnx_compile.h), binds its inputs to stored tensors, checks it for the
 * batch sizes it will see and sends it to the three parties as one job
 * (client_run_wait). An inference binds a model's one batch input to a
 * stored tensor (or to one it shares for the job) and reveals its one
 * output. A binding travels beside the program (the run's `bind`), which
 * keeps its own input names: the parties check approvals against the
 * program as compiled, whatever tensors the caller binds.
 */
#include "daemon/client/lib.h"
#include "daemon/common/keys.h"
#include "daemon/common/sock.h"
#include "daemon/models/prog_text.h"
#include "daemon/wire/prog_wire.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG_TEXT_MAX (1u << 20) /* bytes of a program file */

/* ---- compiling and binding ---------------------------------------------- */

trine_status_t lib_prog_text_file(prog_t *prog, const char *path, trine_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "cannot open %s: %s", path, strerror(errno));
    char *text = malloc(PROG_TEXT_MAX);
    size_t len = text ? fread(text, 1, PROG_TEXT_MAX, f) : 0;
    bool too_long = text && len == PROG_TEXT_MAX;
    fclose(f);
    trine_status_t st;
    if (!text || too_long)
        st = trine_err_set(err, text ? TRINE_ELIMIT : TRINE_ENOMEM, "%s: %s", path,
                           text ? "longer than 1 MiB; is it a program?" : "out of memory");
    else
        st = prog_text_compile(prog, text, len, path, err);
    free(text);
    return st;
}

bool lib_is_onnx(const char *path)
{
    size_t n = strlen(path);
    return n > 5 && !strcmp(path + n - 5, ".onnx");
}

trine_status_t lib_prog_file(prog_t *prog, const char *path, trine_err_t *err)
{
    if (!lib_is_onnx(path))
        return lib_prog_text_file(prog, path, err);
    onnx_model_t m;
    onnx_prog_t op;
    trine_status_t st = onnx_model_read(&m, path, err);
    if (st != TRINE_OK)
        return st;
    onnx_compile_opts_t co = {.prefix = "", .batch = true};
    st = onnx_compile(&m, path, &co, &op, err);
    onnx_model_clear(&m);
    if (st != TRINE_OK)
        return st;
    *prog = op.prog; /* the program alone: the weights' values stay behind */
    op.prog = (prog_t){0};
    onnx_prog_clear(&op);
    return TRINE_OK;
}

trine_status_t lib_policy_hash(uint8_t out[WIRE_PROGRAM_HASH_BYTES], const prog_t *prog,
                               const cluster_t *c, uint64_t batch, uint64_t epochs, bool shuffle,
                               trine_err_t *err)
{
    return prog_wire_policy_hash(out, prog, c->cfg.frac_bits, c->cfg.truncation, batch, epochs,
                                 shuffle, err);
}

trine_status_t lib_binds_set(wire_bind_t *binds, const prog_t *prog, int var, const char *names,
                             trine_err_t *err)
{
    wire_bind_t *b = &binds[var];
    *b = (wire_bind_t){0};
    for (const char *at = names; *at;) {
        size_t len = strcspn(at, ",");
        if (b->count == WIRE_BIND_NAMES_MAX || len == 0 || len > WIRE_NAME_MAX)
            return trine_err_set(err, TRINE_EINVAL, "'%s': give 1 to %d tensor names, comma-separated",
                                 names, WIRE_BIND_NAMES_MAX);
        memcpy(b->names[b->count], at, len);
        b->names[b->count][len] = '\0';
        if (!wire_name_valid(b->names[b->count]))
            return trine_err_set(err, TRINE_EINVAL,
                                 "'%s' is not a tensor name: 1-%d letters, digits, '_', '-' or '.', "
                                 "not starting with '.'",
                                 b->names[b->count], WIRE_NAME_MAX);
        b->count++;
        at += len + (at[len] == ',');
    }
    if (b->count > 1 && prog->vars[var].kind != PROG_VAR_BATCH)
        return trine_err_set(err, TRINE_EINVAL,
                             "'%s' names several tensors, but '%s' is not a batch input", names,
                             prog->vars[var].name);
    return b->count ? TRINE_OK : trine_err_set(err, TRINE_EINVAL, "no tensor name given");
}

trine_status_t lib_bind(const prog_t *prog, wire_bind_t *binds, const char *const *args, size_t n,
                        trine_err_t *err)
{
    for (size_t k = 0; k < n; k++) {
        const char *eq = strchr(args[k], '=');
        size_t vlen = eq ? (size_t)(eq - args[k]) : 0;
        int var = -1;
        for (size_t i = 0; eq && i < prog->nvars && var < 0; i++)
            if (prog->vars[i].kind != PROG_VAR_TEMP && strlen(prog->vars[i].name) == vlen &&
                !strncmp(prog->vars[i].name, args[k], vlen))
                var = (int)i;
        if (var < 0)
            return trine_err_set(err, TRINE_EINVAL,
                                 "--bind %s: want VAR=NAME with VAR an input of the program "
                                 "and NAME a tensor name",
                                 args[k]);
        trine_status_t st = lib_binds_set(binds, prog, var, eq + 1, err);
        if (st != TRINE_OK)
            return st;
    }
    return TRINE_OK;
}

int lib_batch_var(const prog_t *prog, int k)
{
    for (size_t i = 0; i < prog->nvars; i++)
        if (prog->vars[i].kind == PROG_VAR_BATCH && k-- == 0)
            return (int)i;
    return -1;
}

trine_status_t lib_check_sizes(const prog_t *prog, uint64_t batch, const char *path,
                               trine_err_t *err)
{
    bool outputs = false;
    for (size_t i = 0; i < prog->nvars; i++)
        outputs |= prog->vars[i].output;
    if (!outputs)
        return trine_err_set(err, TRINE_EINVAL,
                             "%s has no output: mark what to keep with 'output NAME'",
                             path ? path : "the program");
    trine_status_t st = prog_check_job(prog, batch, err);
    if (st == TRINE_OK)
        return TRINE_OK;
    unsigned line, col;
    int at = 0;
    if (path && sscanf(err->msg, "line %u col %u: %n", &line, &col, &at) == 2 && at > 0) {
        char msg[TRINE_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg + at);
        return trine_err_set(err, st, "%s:%u:%u: %s", path, line, col, msg);
    }
    return st;
}

trine_status_t lib_run_binds(wire_request_t *q, const prog_t *prog, const wire_bind_t *binds,
                             trine_err_t *err)
{
    q->bind = calloc(prog->nvars ? prog->nvars : 1, sizeof *q->bind);
    if (!q->bind)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory");
    q->nbind = 0;
    for (size_t i = 0; i < prog->nvars; i++) {
        if (prog->vars[i].kind == PROG_VAR_TEMP)
            continue;
        wire_bind_t *b = &q->bind[q->nbind++];
        if (binds && binds[i].count)
            *b = binds[i];
        else
            *b = (wire_bind_t){.count = 1}, snprintf(b->names[0], sizeof b->names[0], "%s",
                                                     prog->vars[i].name);
    }
    return TRINE_OK;
}

/* ---- on the cluster -------------------------------------------------------- */

/* The entry of r (an ls reply) named name, or NULL. */
static const wire_tensor_info_t *ls_find(const wire_reply_t *r, const char *name)
{
    for (size_t k = 0; k < r->count; k++)
        if (!strcmp(r->list[k].name, name))
            return &r->list[k];
    return NULL;
}

/* The shape of input var as bound: its tensor's, or the rows of several
 * stacked (the same extents past the first). */
static trine_status_t input_shape(struct trine_client *s, const wire_reply_t *r,
                                  const prog_t *prog, const wire_bind_t *binds, size_t var,
                                  int *ndim, size_t shape[TENSOR_MAX_DIMS])
{
    wire_bind_t one = {.count = 1};
    snprintf(one.names[0], sizeof one.names[0], "%s", prog->vars[var].name);
    const wire_bind_t *b = binds && binds[var].count ? &binds[var] : &one;
    for (unsigned k = 0; k < b->count; k++) {
        const wire_tensor_info_t *t = ls_find(r, b->names[k]);
        if (!t)
            return lib_fail(s, TRINE_ENOENT,
                            "no tensor '%s' of yours or approved for you: share it first "
                            "(trine ls lists what you can use)",
                            b->names[k]);
        bool same = k == 0 || t->ndim == *ndim;
        for (int d = 1; k > 0 && same && d < t->ndim; d++)
            same = t->shape[d] == shape[d];
        if (!same)
            return lib_fail(s, TRINE_ESHAPE,
                            "'%s' and '%s' differ past their first extent: their rows "
                            "cannot be stacked",
                            b->names[0], b->names[k]);
        if (k == 0) {
            *ndim = t->ndim;
            memcpy(shape, t->shape, sizeof t->shape);
        } else {
            shape[0] += t->shape[0];
        }
    }
    return TRINE_OK;
}

trine_status_t lib_input_shapes(struct trine_client *s, prog_t *prog, const wire_bind_t *binds)
{
    wire_request_t ls = {.op = WIRE_OP_LS};
    if (lib_call(s, 1u, &ls) != TRINE_OK)
        return lib_fail_parties(s, 1u);
    const wire_reply_t *r = &s->res[0].reply;
    for (size_t i = 0; i < prog->nvars; i++) {
        const prog_var_t *v = &prog->vars[i];
        if (v->kind == PROG_VAR_TEMP)
            continue;
        int ndim = 0;
        size_t shape[TENSOR_MAX_DIMS];
        trine_err_t err;
        trine_status_t st = input_shape(s, r, prog, binds, i, &ndim, shape);
        if (st != TRINE_OK)
            return st;
        if (prog_text_set_shape(prog, v->name, ndim, shape, &err) != TRINE_OK)
            return lib_fail(s, err.code, "'%s': %s", v->name, err.msg);
    }
    return TRINE_OK;
}

/* Removes outputs that some parties stored when others failed. */
static void run_undo(struct trine_client *s, const prog_t *prog, const char *prefix,
                     unsigned stored)
{
    for (size_t i = 0; stored && i < prog->nvars; i++) {
        if (!prog->vars[i].output)
            continue;
        wire_request_t rm = {.op = WIRE_OP_RM};
        snprintf(rm.name, sizeof rm.name, "%s%s", prefix, prog->vars[i].name);
        if (lib_call(s, stored, &rm) != TRINE_OK)
            (void)lib_fail(s, TRINE_EPEER,
                           "could not remove the partial output '%s'; run 'trine rm %s'", rm.name,
                           rm.name);
    }
}

/* What client_run_wait's callbacks are told about. */
typedef struct {
    struct trine_client *s;
    const lib_run_t *o;
} run_wait_t;

/* A job's progress, told to the caller, who may cancel it. */
static void run_progress(void *arg, uint64_t step, uint64_t steps)
{
    run_wait_t *w = arg;
    if (lib_progress(w->s, TRINE_PROGRESS_STEPS, step, steps))
        w->s->cancel = 1;
}

/* A pause while the parties are busy, told to o->busy. */
static void run_busy(void *arg, const char *why, uint64_t pause_ms, unsigned tries)
{
    run_wait_t *w = arg;
    if (w->o->busy)
        w->o->busy(w->o->busy_arg, why, pause_ms, tries);
}

/* The report of the job q that res describes. */
static void run_report(trine_report_t *r, const wire_request_t *q,
                       const client_result_t res[CONFIG_PARTIES], unsigned retries)
{
    const wire_job_stats_t *st0 = &res[0].reply.stats;
    *r = (trine_report_t){.job = q->job,
                          .steps = st0->steps,
                          .time_s = (double)st0->time_us / 1e6,
                          .first_step_s = (double)st0->first_step_us / 1e6,
                          .busy_retries = retries};
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        const wire_job_stats_t *st = &res[p].reply.stats;
        r->sent[p] = st->sent[0] + st->sent[1] + st->sent[2];
        r->mask_bytes += st->mask_bytes;
        r->offline_bytes += st->offline_bytes;
        r->rounds = st->rounds > r->rounds ? st->rounds : r->rounds;
    }
}

trine_status_t lib_run(struct trine_client *s, prog_t *prog, const wire_bind_t *binds,
                       const lib_run_t *o)
{
    trine_err_t err;
    trine_status_t st = lib_input_shapes(s, prog, binds);
    if (st != TRINE_OK)
        return st;
    if ((st = lib_check_sizes(prog, o->batch, o->path, &err)) != TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    const char *prefix = o->prefix ? o->prefix : "";
    if (prefix[0] && !wire_name_valid(prefix))
        return lib_fail(s, TRINE_EINVAL, "the prefix '%s' must be letters, digits, '_', '-' or '.'",
                        prefix);
    wire_request_t q = {
        .op = WIRE_OP_RUN, .batch = o->batch, .epochs = o->epochs, .shuffle = o->shuffle};
    if (o->to && keys_read_public(&q.to, o->to, &err) != TRINE_OK)
        return lib_fail(s, err.code, "--to: %s", err.msg);
    void *buf = NULL;
    size_t len;
    if (lib_run_binds(&q, prog, binds, &err) != TRINE_OK ||
        prog_wire_encode(prog, &buf, &len, &err) != TRINE_OK) {
        free(q.bind);
        return lib_fail(s, err.code, "%s", err.msg);
    }
    while (!q.job)
        randombytes_buf(&q.job, sizeof q.job);
    q.program = buf;
    q.program_len = len;
    snprintf(q.prefix, sizeof q.prefix, "%s", prefix);
    unsigned retries;
    uint64_t t0 = sock_now_ms();
    s->cancel = 0;
    s->reported = false;
    run_wait_t w = {s, o};
    st = client_run_wait(s->client, &q, s->res, run_progress, run_busy, &w, &s->cancel, &retries);
    free(buf);
    free(q.bind);
    if (st == TRINE_OK) {
        run_report(&s->report, &q, s->res, retries);
        s->reported = true;
        return TRINE_OK;
    }
    st = lib_fail_parties(s, 7u);
    if (client_run_busy(s->res) && !s->cancel)
        (void)lib_fail(s, st,
                       "the parties stayed busy for %.1f s (%u tries; timeout_ms in %s); try "
                       "again later",
                       (double)(sock_now_ms() - t0) / 1000, retries + 1, s->cluster.cfg.path);
    unsigned stored = 0;
    for (int p = 0; p < 2; p++)
        if (s->res[p].code == TRINE_OK)
            stored |= 1u << p;
    if (!o->to) /* the recipient's: only it may remove them */
        run_undo(s, prog, prefix, stored);
    return st;
}

/* ---- models ------------------------------------------------------------------ */

void lib_rm_weights(struct trine_client *s, const onnx_prog_t *op, size_t count)
{
    for (size_t i = 0; i < count; i++)
        lib_rm_after(s, op->prog.vars[op->weights[i].var].name);
}

trine_status_t lib_share_weights(struct trine_client *s, const onnx_prog_t *op)
{
    for (size_t i = 0; i < op->nweights; i++) {
        const char *name = op->prog.vars[op->weights[i].var].name;
        trine_status_t st = lib_share(s, name, op->weights[i].value, name);
        if (st != TRINE_OK) {
            lib_rm_weights(s, op, i);
            return st;
        }
    }
    return TRINE_OK;
}

int lib_single_output(const prog_t *prog)
{
    int found = -1;
    for (size_t i = 0; i < prog->nvars; i++)
        if (prog->vars[i].output) {
            if (found >= 0)
                return -1;
            found = (int)i;
        }
    return found;
}

/* The shape of the stored tensor name, from party0's listing. */
static trine_status_t infer_stored_shape(struct trine_client *s, const char *name,
                                         onnx_shape_t *shape)
{
    wire_request_t ls = {.op = WIRE_OP_LS};
    if (lib_call(s, 1u, &ls) != TRINE_OK)
        return lib_fail_parties(s, 1u);
    const wire_tensor_info_t *t = ls_find(&s->res[0].reply, name);
    if (!t)
        return lib_fail(s, TRINE_ENOENT, "no tensor '%s' of yours or granted to you", name);
    shape->ndim = t->ndim;
    memcpy(shape->shape, t->shape, sizeof shape->shape);
    return TRINE_OK;
}

/* Compiles the ONNX model o->model for the input of the given shape.
 * Its weights are named tag + name unless trine keeps them already. A
 * model that mixes rows runs as one batch. */
static trine_status_t infer_onnx_compile(struct trine_client *s, onnx_prog_t *op, lib_infer_t *o,
                                         const onnx_shape_t *shape, const char *tag)
{
    onnx_model_t m;
    trine_err_t err;
    if (onnx_model_read(&m, o->model, &err) != TRINE_OK)
        return lib_fail(s, err.code, "%s", err.msg);
    onnx_compile_opts_t co = {.prefix = tag, .batch = true, .shapes = shape, .nshapes = 1};
    trine_status_t st = onnx_compile(&m, o->model, &co, op, &err);
    onnx_model_clear(&m);
    if (st != TRINE_OK)
        return lib_fail(s, err.code, "%s", err.msg);
    if (op->ninputs != 1 || op->noutputs != 1)
        return lib_fail(s, TRINE_EUNSUPPORTED,
                        "%s has %zu data inputs and %zu outputs; infer takes one of each",
                        o->model, op->ninputs, op->noutputs);
    if (!op->rows_independent && o->run.batch < shape->shape[0]) {
        lib_warn(s, "%s mixes rows (across axis 0), so it runs as one batch of %zu", o->model,
                 shape->shape[0]);
        o->run.batch = shape->shape[0];
    }
    return TRINE_OK;
}

/* The input's shape as infer_onnx_compile wants it: a file's or memory's
 * now (their values stream when shared), a stored tensor's from the
 * parties. */
static trine_status_t infer_input_shape(struct trine_client *s, const lib_infer_t *o,
                                        plain_reader_t *rd, onnx_shape_t *shape)
{
    if (rd) {
        shape->ndim = plain_reader_info(rd)->ndim;
        memcpy(shape->shape, plain_reader_info(rd)->shape, sizeof shape->shape);
        return TRINE_OK;
    }
    if (!o->input_mem)
        return infer_stored_shape(s, o->input_name, shape);
    if (o->input_mem->ndim < 1 || o->input_mem->ndim > TENSOR_MAX_DIMS)
        return lib_fail(s, TRINE_ESHAPE, "the input has %d dimensions; a tensor has 1 to %d",
                        o->input_mem->ndim, TENSOR_MAX_DIMS);
    shape->ndim = o->input_mem->ndim;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++)
        shape->shape[i] = i < shape->ndim ? o->input_mem->shape[i] : 1;
    return TRINE_OK;
}

/* Compiles o->model into *text or *op (ONNX, its weights shared under
 * wtag unless the model owner's are stored: *weights of them) with
 * binds (allocated) for its variables; *prog is the program. */
static trine_status_t infer_compile(struct trine_client *s, lib_infer_t *o, plain_reader_t *rd,
                                    prog_t *text, onnx_prog_t *op, prog_t **prog,
                                    wire_bind_t **binds, const char *wtag, size_t *weights)
{
    trine_err_t err;
    bool onnx = lib_is_onnx(o->model);
    if (onnx && o->nbinds)
        return lib_fail(s, TRINE_EINVAL, "bindings take a program, not an ONNX model");
    trine_status_t st;
    if (!onnx) {
        *prog = text;
        if ((st = lib_prog_text_file(text, o->model, &err)) != TRINE_OK)
            return lib_fail(s, st, "%s", err.msg);
    } else {
        onnx_shape_t shape = {0};
        *prog = &op->prog;
        if ((st = infer_input_shape(s, o, rd, &shape)) != TRINE_OK ||
            (st = infer_onnx_compile(s, op, o, &shape, wtag)) != TRINE_OK)
            return st;
    }
    if (!(*binds = calloc((*prog)->nvars ? (*prog)->nvars : 1, sizeof **binds)))
        return lib_fail(s, TRINE_ENOMEM, "out of memory");
    if ((st = lib_bind(*prog, *binds, o->binds, o->nbinds, &err)) != TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    int x = lib_batch_var(*prog, 0), y = lib_single_output(*prog);
    if (x < 0 || lib_batch_var(*prog, 1) >= 0 || y < 0)
        return lib_fail(s, TRINE_EUNSUPPORTED,
                        "%s must have exactly one batch input and one output", o->model);
    if (onnx && !op->stored[0] && (st = lib_share_weights(s, op)) == TRINE_OK)
        *weights = op->nweights;
    return st;
}

trine_status_t lib_infer(struct trine_client *s, lib_infer_t *o, const lib_sink_t *sink,
                         char outname[WIRE_NAME_MAX + 1])
{
    uint64_t tag;
    randombytes_buf(&tag, sizeof tag);
    char tmp[WIRE_NAME_MAX + 1] = "", prefix[WIRE_NAME_MAX + 1], wtag[WIRE_NAME_MAX + 1];
    snprintf(wtag, sizeof wtag, "infer-%016llx-w-", (unsigned long long)tag);
    prog_t text = {0}, *prog = &text;
    onnx_prog_t op = {0};
    plain_reader_t *rd = NULL;
    wire_bind_t *binds = NULL;
    size_t weights = 0;
    trine_err_t err;
    outname[0] = '\0';
    trine_status_t st = TRINE_OK;
    if (o->input_file && (st = plain_reader_open(&rd, o->input_file, &err)) != TRINE_OK)
        (void)lib_fail(s, st, "%s", err.msg);
    if (st == TRINE_OK)
        st = infer_compile(s, o, rd, &text, &op, &prog, &binds, wtag, &weights);
    plain_reader_close(&rd); /* the shape only: lib_share_file reads it again */
    if (st == TRINE_OK && (o->input_file || o->input_mem)) {
        snprintf(tmp, sizeof tmp, "infer-%016llx", (unsigned long long)tag);
        st = o->input_file ? lib_share_file(s, tmp, o->input_file, true, NULL) /* a program reads reals */
                           : lib_share_tensor(s, tmp, o->input_mem, true);
        if (st != TRINE_OK)
            tmp[0] = '\0'; /* share_stream removed what it took */
    }
    int x = st == TRINE_OK ? lib_batch_var(prog, 0) : -1;
    if (st == TRINE_OK &&
        (st = lib_binds_set(binds, prog, x, tmp[0] ? tmp : o->input_name, &err)) != TRINE_OK)
        (void)lib_fail(s, st, "%s", err.msg);
    lib_run_t run = o->run;
    if (!run.prefix || !run.prefix[0]) {
        snprintf(prefix, sizeof prefix, "infer-%016llx-", (unsigned long long)tag);
        run.prefix = prefix;
    }
    if (st == TRINE_OK && (st = lib_run(s, prog, binds, &run)) == TRINE_OK && o->ran)
        st = o->ran(s, o->ran_arg);
    if (st == TRINE_OK) {
        /* The parties stored it, so prefix + name is a valid name. */
        const char *y = prog->vars[lib_single_output(prog)].name;
        snprintf(outname, WIRE_NAME_MAX + 1, "%.*s%.*s", (int)strlen(run.prefix), run.prefix,
                 (int)(WIRE_NAME_MAX - strlen(run.prefix)), y);
    }
    if (st == TRINE_OK && !run.to) {
        lib_sink_t out = *sink;
        out.integers = lib_is_onnx(o->model) && op.outputs[0].integer; /* ArgMax */
        st = lib_reveal(s, outname, &out);
        if (!o->keep)
            lib_rm_after(s, outname);
    }
    if (tmp[0])
        lib_rm_after(s, tmp);
    if (weights)
        lib_rm_weights(s, &op, weights);
    free(binds);
    prog_clear(&text);
    onnx_prog_clear(&op);
    return st;
}

/* ---- trine.h -------------------------------------------------------------- */

/* lib_run_t of the caller's r (NULL: the defaults). */
static lib_run_t run_opts(const trine_run_t *r, const char *path)
{
    static const trine_run_t none = {0};
    r = r ? r : &none;
    return (lib_run_t){.path = path,
                       .prefix = r->prefix,
                       .to = r->to,
                       .batch = r->batch ? r->batch : 128,
                       .epochs = r->epochs ? r->epochs : 1,
                       .shuffle = r->shuffle};
}

trine_code_t trine_run(trine_client_t *c, const char *program, const trine_run_t *r)
{
    trine_status_t st = lib_enter(c, program, c);
    if (st != TRINE_OK)
        return (trine_code_t)st;
    prog_t prog = {0};
    wire_bind_t *binds = NULL;
    trine_err_t err;
    lib_run_t o = run_opts(r, program);
    if ((st = lib_prog_file(&prog, program, &err)) != TRINE_OK)
        (void)lib_fail(c, st, "%s", err.msg);
    else if (!(binds = calloc(prog.nvars ? prog.nvars : 1, sizeof *binds)))
        st = lib_fail(c, TRINE_ENOMEM, "out of memory");
    else if (r && (st = lib_bind(&prog, binds, r->binds, r->nbinds, &err)) != TRINE_OK)
        (void)lib_fail(c, st, "%s", err.msg);
    else
        st = lib_run(c, &prog, binds, &o);
    free(binds);
    prog_clear(&prog);
    return (trine_code_t)st;
}

trine_code_t trine_infer(trine_client_t *c, const char *model, const char *input_name,
                         const trine_tensor_t *input, const trine_run_t *r, trine_tensor_t *out)
{
    trine_status_t st = lib_enter(c, model, out);
    if (out)
        *out = (trine_tensor_t){0};
    if (st != TRINE_OK)
        return (trine_code_t)st;
    if (!input == !input_name)
        return (trine_code_t)lib_fail(c, TRINE_EINVAL,
                                      "trine_infer: give the input by name or in memory, not both");
    lib_infer_t o = {.model = model,
                     .input_name = input_name,
                     .input_mem = input,
                     .binds = r ? r->binds : NULL,
                     .nbinds = r ? r->nbinds : 0,
                     .run = run_opts(r, model)};
    lib_sink_t sink = {.mem = out};
    char outname[WIRE_NAME_MAX + 1];
    return (trine_code_t)lib_infer(c, &o, &sink, outname);
}
