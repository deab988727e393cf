/* lib_train.c — training on the cluster (lib.h, trine.h).
 *
 * A forward model (a text program or an ONNX model) with a loss: trine
 * derives the training program (prog_grad.h) and runs one job per epoch,
 * each reading the weights and velocities the last one stored (under
 * PREFIX "eK-" until the last epoch, which stores the weights as PREFIX
 * NAME); with validation rows, a job of the validation program after each
 * epoch counts the rows whose largest score is their label's. Without a
 * loss the model is a training program already: one job of all epochs.
 * The command line's plaintext training (cli_prog.c) shares the model's
 * loading and derivation here.
 */
#include "daemon/client/lib.h"
#include "daemon/models/prog_grad.h"
#include "daemon/models/prog_text.h"
#include "tensor/fixed.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tensor name prefix + name in out. */
static trine_status_t train_name(char out[WIRE_NAME_MAX + 1], const char *prefix,
                                 const char *name, trine_err_t *err)
{
    if (strlen(prefix) + strlen(name) > WIRE_NAME_MAX)
        return trine_err_set(err, TRINE_EINVAL,
                             "'%s%s' is longer than %d bytes: take a shorter prefix", prefix, name,
                             WIRE_NAME_MAX);
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    memcpy(out + n, name, strlen(name) + 1);
    return TRINE_OK;
}

void lib_model_clear(lib_model_t *m)
{
    prog_clear(&m->text);
    onnx_prog_clear(&m->onnx);
    onnx_model_clear(&m->model);
}

/* export: every weight must be its initializer as the file holds it (not
 * folded by the compiler), so that trained values can go back. */
static trine_status_t export_check(const lib_model_t *m, const char *path, trine_err_t *err)
{
    for (size_t k = 0; k < m->onnx.nweights; k++) {
        const char *name = m->onnx.prog.vars[m->onnx.weights[k].var].name;
        const plain_t *w = m->onnx.weights[k].value;
        const Onnx__GraphProto *g = m->model.proto->graph;
        plain_t *f = NULL;
        bool same;
        for (size_t i = 0; i < g->n_initializer; i++)
            if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, name) &&
                onnx_tensor_plain(g->initializer[i], name, &f, NULL, NULL, err) == TRINE_OK)
                break;
        same = f && f->ndim == w->ndim && !memcmp(f->shape, w->shape, sizeof f->shape) && f->real &&
               w->real && !memcmp(f->real, w->real, w->count * sizeof *w->real);
        plain_destroy(&f);
        if (!same)
            return trine_err_set(err, TRINE_EUNSUPPORTED,
                                 "--export: %s's weight '%s' is not an initializer as the file "
                                 "holds it (the compiler folded it), so its trained values "
                                 "cannot be written back",
                                 path, name);
    }
    return TRINE_OK;
}

trine_status_t lib_export_set(lib_model_t *m, int var, const double *v, size_t count,
                              trine_err_t *err)
{
    trine_err_t why;
    if (onnx_model_set_initializer(&m->model, m->fwd->vars[var].name, v, count, &why) != TRINE_OK)
        return trine_err_set(err, why.code, "--export: %s", why.msg);
    return TRINE_OK;
}

trine_status_t lib_export_write(const lib_model_t *m, const char *path, trine_err_t *err)
{
    trine_err_t why;
    if (onnx_model_write(&m->model, path, &why) != TRINE_OK)
        return trine_err_set(err, why.code, "--export: %s", why.msg);
    return TRINE_OK;
}

/* A final ArgMax of m's ONNX model, and reshapes of it, dropped: training
 * takes the logits before it (a final Softmax or LogSoftmax stays:
 * cross-entropy takes it). */
static trine_status_t drop_argmax(lib_model_t *m, const char *path, trine_err_t *err)
{
    prog_t *p = m->fwd;
    size_t j = p->nops;
    int out = m->onnx.noutputs == 1 ? m->onnx.outputs[0].var : -1;
    while (out >= 0 && j > 0 && p->ops[j - 1].out == out && p->ops[j - 1].code == PROG_RESHAPE)
        out = p->ops[--j].in[0];
    if (out < 0 || j == 0 || p->ops[j - 1].out != out || p->ops[j - 1].code != PROG_ARGMAX)
        return TRINE_OK;
    /* the dropped ops' variables are the last ones */
    size_t first = p->nvars;
    for (size_t k = j - 1; k < p->nops; k++)
        first = (size_t)p->ops[k].out < first ? (size_t)p->ops[k].out : first;
    if (first + (p->nops - j + 1) != p->nvars)
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s: give the model without its final argmax", path);
    p->vars[p->ops[j - 1].in[0]].output = true;
    p->nops = j - 1, p->nvars = first;
    m->dropped_argmax = true;
    return TRINE_OK;
}

trine_status_t lib_model_load(lib_model_t *m, const lib_train_t *t, trine_err_t *err)
{
    trine_status_t st;
    m->is_onnx = lib_is_onnx(t->model);
    if (!m->is_onnx) {
        m->fwd = &m->text;
        if ((st = lib_prog_text_file(&m->text, t->model, err)) != TRINE_OK ||
            (st = lib_bind(m->fwd, m->binds, t->binds, t->nbinds, err)) != TRINE_OK)
            return st;
    } else {
        if (t->nbinds)
            return trine_err_set(err, TRINE_EINVAL, "bindings take a program, not an ONNX model");
        onnx_model_t om;
        if ((st = onnx_model_read(&om, t->model, err)) != TRINE_OK)
            return st;
        onnx_compile_opts_t co = {.prefix = "", .batch = true};
        st = onnx_compile(&om, t->model, &co, &m->onnx, err);
        if (t->export_onnx)
            m->model = om;
        else
            onnx_model_clear(&om);
        if (st != TRINE_OK)
            return st;
        if (m->onnx.stored[0])
            return trine_err_set(err, TRINE_EUNSUPPORTED,
                                 "%s refers to weights kept by trine; train the model that holds "
                                 "its weights",
                                 t->model);
        m->fwd = &m->onnx.prog;
        if ((t->export_onnx && (st = export_check(m, t->model, err)) != TRINE_OK) ||
            (st = drop_argmax(m, t->model, err)) != TRINE_OK)
            return st;
    }
    if (lib_batch_var(m->fwd, 0) < 0)
        return trine_err_set(err, TRINE_EINVAL,
                             "%s has no batch input: declare the data with 'batch'", t->model);
    return TRINE_OK;
}

trine_status_t lib_train_derive(prog_t *tp, const prog_t *fwd, const lib_train_t *t,
                                trine_err_t *err)
{
    prog_train_t pt = {.loss = (prog_loss_t)prog_grad_loss_find(t->loss),
                       .opt = (prog_opt_t)prog_grad_opt_find(t->optimizer ? t->optimizer : "sgd"),
                       .lr = t->lr,
                       .momentum = t->momentum,
                       .weight_decay = t->weight_decay,
                       .batch = t->run.batch,
                       .class_labels = t->class_labels};
    trine_err_t why;
    if (prog_grad_train(tp, fwd, &pt, &why) != TRINE_OK)
        return trine_err_set(err, why.code, "%s: %s", t->model, why.msg);
    return TRINE_OK;
}

trine_status_t lib_val_derive(prog_t *vp, wire_bind_t **vb, int *c, const lib_model_t *m,
                              const lib_train_t *t, trine_err_t *err)
{
    trine_err_t why;
    if (prog_grad_validation(vp, m->fwd, t->class_labels, &why) != TRINE_OK)
        return trine_err_set(err, why.code, "%s: %s", t->model, why.msg);
    for (size_t i = 0; i < vp->nvars; i++)
        if (!strcmp(vp->vars[i].name, PROG_GRAD_CORRECT))
            *c = (int)i;
    if (!(*vb = calloc(vp->nvars, sizeof **vb)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory");
    memcpy(*vb, m->binds, m->fwd->nvars * sizeof **vb);
    trine_status_t st = lib_binds_set(*vb, vp, lib_batch_var(vp, 0), t->val_data, err);
    return st != TRINE_OK ? st : lib_binds_set(*vb, vp, lib_batch_var(vp, 1), t->val_labels, err);
}

trine_status_t lib_train_check(const lib_train_t *t, trine_err_t *err)
{
    if (prog_grad_loss_find(t->loss) < 0)
        return trine_err_set(err, TRINE_EINVAL, "the loss is mse, bce or cross-entropy");
    if (prog_grad_opt_find(t->optimizer ? t->optimizer : "sgd") < 0)
        return trine_err_set(err, TRINE_EINVAL, "the optimizer is sgd, momentum or adam");
    if (!(t->lr > 0))
        return trine_err_set(err, TRINE_EINVAL, "give the learning rate: lr > 0");
    if (!(t->momentum >= 0 && t->momentum < 1) || !(t->weight_decay >= 0))
        return trine_err_set(err, TRINE_EINVAL,
                             "the momentum is from 0 to below 1, the weight decay at least 0");
    if (!t->val_data != !t->val_labels)
        return trine_err_set(err, TRINE_EINVAL, "validation data and labels come together");
    if (t->export_onnx && (!lib_is_onnx(t->model) || t->run.to))
        return trine_err_set(err, TRINE_EINVAL,
                             "--export writes a trained ONNX model for the caller: an ONNX "
                             "model, not with a recipient");
    if (t->val_data && t->run.to)
        return trine_err_set(err, TRINE_EINVAL, "validation needs the weights: not with a "
                                                "recipient");
    return TRINE_OK;
}

/* ---- on the cluster ---------------------------------------------------------- */

/* Shares zeros of var's shape as name. */
static trine_status_t share_zeros(struct trine_client *s, const prog_var_t *v, const char *name)
{
    plain_t z = {.dtype = PLAIN_F8, .ndim = v->ndim, .shape = {1, 1, 1, 1}, .count = 1};
    memcpy(z.shape, v->shape, (size_t)v->ndim * sizeof *v->shape);
    for (int d = 0; d < v->ndim; d++)
        z.count *= v->shape[d];
    if (!(z.real = calloc(z.count, sizeof *z.real)))
        return lib_fail(s, TRINE_ENOMEM, "out of memory");
    trine_status_t st = lib_share(s, name, &z, v->name);
    free(z.real);
    return st;
}

/* Removes the tensors prefix + name of the outputs of tp (weights too
 * when weights). */
static void rm_outputs(struct trine_client *s, const prog_t *tp, size_t nfwd, const char *prefix,
                       bool weights)
{
    char name[WIRE_NAME_MAX + 1];
    trine_err_t err;
    for (size_t i = 0; i < tp->nvars; i++)
        if (tp->vars[i].output && (weights || i >= nfwd) &&
            train_name(name, prefix, tp->vars[i].name, &err) == TRINE_OK)
            lib_rm_after(s, name);
}

/* The scalar name revealed into *x, and removed. */
static trine_status_t fetch_scalar(struct trine_client *s, const char *name, double *x)
{
    uint64_t *v;
    wire_tensor_info_t info;
    trine_status_t st = lib_fetch(s, name, &v, &info);
    if (st == TRINE_OK) {
        *x = fixed_decode(v[0], info.frac);
        free(v);
    }
    return st;
}

/* The validation count of an epoch on the cluster: a job of vp reading the
 * weights the epoch stored as cur + name (vb binds the rest), its count
 * stored as cur "v-" PROG_GRAD_CORRECT, revealed into *correct, removed. */
static trine_status_t val_private(struct trine_client *s, prog_t *vp, wire_bind_t *vb, int c,
                                  const prog_t *tp, size_t nfwd, const char *cur,
                                  const lib_train_t *t, double *correct)
{
    char name[WIRE_NAME_MAX + 1], pre[WIRE_NAME_MAX + 1];
    trine_err_t err;
    trine_status_t st = TRINE_OK;
    for (size_t i = 0; st == TRINE_OK && i < nfwd; i++)
        if (tp->vars[i].output && (st = train_name(name, cur, vp->vars[i].name, &err)) == TRINE_OK)
            st = lib_binds_set(vb, vp, (int)i, name, &err);
    if (st != TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    snprintf(pre, sizeof pre, "%.*sv-", WIRE_NAME_MAX - 2, cur);
    lib_run_t ov = t->run;
    ov.prefix = pre, ov.epochs = 1, ov.to = NULL, ov.shuffle = false;
    if ((st = lib_run(s, vp, vb, &ov)) != TRINE_OK)
        return st;
    if ((st = train_name(name, pre, vp->vars[c].name, &err)) != TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    st = fetch_scalar(s, name, correct);
    lib_rm_after(s, name);
    return st;
}

/* What lib_train holds between its steps, freed at the end. */
typedef struct {
    prog_t tp, vp;
    wire_bind_t *binds, *vb;
    size_t shared, zeros; /* ONNX weights shared; velocities shared, to variable zeros */
    bool vzero;           /* the validation count's zero shared */
    int vc, loss;
    char init[WIRE_NAME_MAX + 1], zp[WIRE_NAME_MAX + 1];
} train_t;

/* Shares what the training program reads besides the data: an ONNX
 * model's weights (PREFIX init- NAME), zero velocities and loss (PREFIX
 * zero- NAME), the validation count's zero; binds them; derives tp. */
static trine_status_t train_setup(struct trine_client *s, lib_model_t *m, const lib_train_t *t,
                                  train_t *r)
{
    prog_t *fwd = m->fwd;
    char name[WIRE_NAME_MAX + 1];
    trine_err_t err;
    trine_status_t st = TRINE_OK;
    int x = lib_batch_var(fwd, 0);
    snprintf(r->init, sizeof r->init, "%.*sinit-", WIRE_NAME_MAX - 5, t->run.prefix);
    snprintf(r->zp, sizeof r->zp, "%.*szero-", WIRE_NAME_MAX - 5, t->run.prefix);
    for (size_t k = 0; st == TRINE_OK && k < m->onnx.nweights; k++) {
        int v = m->onnx.weights[k].var;
        if ((st = train_name(name, r->init, fwd->vars[v].name, &err)) != TRINE_OK ||
            (st = lib_binds_set(m->binds, fwd, v, name, &err)) != TRINE_OK)
            return lib_fail(s, st, "%s", err.msg);
        if ((st = lib_share(s, name, m->onnx.weights[k].value, fwd->vars[v].name)) == TRINE_OK)
            r->shared++;
    }
    if (st != TRINE_OK)
        return st;
    if ((st = lib_binds_set(m->binds, fwd, x, t->data, &err)) != TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    if ((st = lib_input_shapes(s, fwd, m->binds)) != TRINE_OK)
        return st;
    if ((st = lib_train_derive(&r->tp, fwd, t, &err)) != TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    if (!(r->binds = calloc(r->tp.nvars, sizeof *r->binds)))
        return lib_fail(s, TRINE_ENOMEM, "out of memory");
    memcpy(r->binds, m->binds, fwd->nvars * sizeof *r->binds);
    if ((st = lib_binds_set(r->binds, &r->tp, lib_batch_var(&r->tp, 1), t->labels, &err)) !=
        TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    for (size_t i = fwd->nvars; i < r->tp.nvars; i++) {
        if (r->tp.vars[i].kind != PROG_VAR_INPUT)
            continue;
        if ((st = train_name(name, r->zp, r->tp.vars[i].name, &err)) != TRINE_OK ||
            (st = lib_binds_set(r->binds, &r->tp, (int)i, name, &err)) != TRINE_OK)
            return lib_fail(s, st, "%s", err.msg);
        if ((st = share_zeros(s, &r->tp.vars[i], name)) != TRINE_OK)
            return st;
        r->zeros = i + 1;
    }
    if ((st = lib_input_shapes(s, &r->tp, r->binds)) != TRINE_OK)
        return st;
    if ((st = lib_check_sizes(&r->tp, t->run.batch, t->model, &err)) != TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    if (t->val_data) {
        if ((st = lib_val_derive(&r->vp, &r->vb, &r->vc, m, t, &err)) != TRINE_OK ||
            (st = train_name(name, r->zp, r->vp.vars[r->vc].name, &err)) != TRINE_OK)
            return lib_fail(s, st, "%s", err.msg);
        if ((st = share_zeros(s, &r->vp.vars[r->vc], name)) != TRINE_OK)
            return st;
        r->vzero = true;
        if ((st = lib_binds_set(r->vb, &r->vp, r->vc, name, &err)) != TRINE_OK)
            return lib_fail(s, st, "%s", err.msg);
    }
    for (size_t i = 0; i < r->tp.nvars; i++)
        if (!strcmp(r->tp.vars[i].name, PROG_GRAD_LOSS))
            r->loss = (int)i;
    return TRINE_OK;
}

/* Removes what train_setup shared. */
static void train_teardown(struct trine_client *s, lib_model_t *m, train_t *r)
{
    char name[WIRE_NAME_MAX + 1];
    trine_err_t err;
    for (size_t i = m->fwd->nvars; i < r->zeros; i++)
        if (r->tp.vars[i].kind == PROG_VAR_INPUT &&
            train_name(name, r->zp, r->tp.vars[i].name, &err) == TRINE_OK)
            lib_rm_after(s, name);
    for (size_t k = 0; k < r->shared; k++)
        lib_rm_after(s, m->binds[m->onnx.weights[k].var].names[0]);
    if (r->vzero && train_name(name, r->zp, PROG_GRAD_CORRECT, &err) == TRINE_OK)
        lib_rm_after(s, name);
    free(r->vb);
    prog_clear(&r->vp);
    free(r->binds);
    prog_clear(&r->tp);
}

/* The trained weight var as stored on the cluster (prefix + name),
 * revealed into the model. */
static trine_status_t export_fetch(struct trine_client *s, lib_model_t *m, int var,
                                   const char *prefix)
{
    char name[WIRE_NAME_MAX + 1];
    uint64_t *v = NULL;
    wire_tensor_info_t info;
    trine_err_t err;
    trine_status_t st = train_name(name, prefix, m->fwd->vars[var].name, &err);
    if (st != TRINE_OK)
        return lib_fail(s, st, "%s", err.msg);
    if ((st = lib_fetch(s, name, &v, &info)) != TRINE_OK)
        return st;
    size_t n = 1;
    for (int d = 0; d < info.ndim; d++)
        n *= info.shape[d];
    double *x = malloc(n * sizeof *x);
    if (!x)
        st = lib_fail(s, TRINE_ENOMEM, "out of memory");
    else {
        fixed_decode_array(x, v, n, info.frac);
        if ((st = lib_export_set(m, var, x, n, &err)) != TRINE_OK)
            (void)lib_fail(s, st, "%s", err.msg);
        sodium_memzero(x, n * sizeof *x);
    }
    sodium_memzero(v, n * sizeof *v);
    free(v), free(x);
    return st;
}

/* One epoch e of r->tp: its job (reading prev's weights and velocities,
 * storing as cur), the validation, the mean loss, told to t->epoch. */
static trine_status_t train_epoch(struct trine_client *s, lib_model_t *m, const lib_train_t *t,
                                  train_t *r, uint64_t e, const char *prev, const char *cur)
{
    bool last = e == t->run.epochs;
    char name[WIRE_NAME_MAX + 1];
    trine_err_t err;
    trine_status_t st = TRINE_OK;
    for (size_t i = 0; e > 1 && i < r->tp.nvars; i++)
        if (r->tp.vars[i].output && (int)i != r->loss &&
            ((st = train_name(name, prev, r->tp.vars[i].name, &err)) != TRINE_OK ||
             (st = lib_binds_set(r->binds, &r->tp, (int)i, name, &err)) != TRINE_OK))
            return lib_fail(s, st, "%s", err.msg);
    lib_run_t oe = t->run;
    oe.prefix = cur, oe.epochs = 1, oe.to = last ? t->run.to : NULL;
    if (t->job && (st = t->job(t->arg, s, e, false)) != TRINE_OK)
        return st;
    if ((st = lib_run(s, &r->tp, r->binds, &oe)) != TRINE_OK ||
        (t->job && (st = t->job(t->arg, s, e, true)) != TRINE_OK))
        return st;
    double correct = NAN, loss = NAN;
    if (r->vb && (st = val_private(s, &r->vp, r->vb, r->vc, &r->tp, m->fwd->nvars, cur, t,
                                   &correct)) != TRINE_OK)
        return st;
    if (e > 1)
        rm_outputs(s, &r->tp, m->fwd->nvars, prev, true);
    if (r->loss >= 0 && !oe.to && train_name(name, cur, PROG_GRAD_LOSS, &err) == TRINE_OK) {
        if ((st = fetch_scalar(s, name, &loss)) != TRINE_OK)
            return st;
        loss *= prog_grad_loss_scale(&r->tp, r->tp.vars[lib_batch_var(m->fwd, 0)].shape[0]);
    }
    if (t->epoch)
        t->epoch(t->arg, e, loss, correct, r->vb ? prog_batch_rows(&r->vp) : 0);
    return TRINE_OK;
}

trine_status_t lib_train(struct trine_client *s, lib_model_t *m, const lib_train_t *t)
{
    train_t r = {.vc = -1, .loss = -1};
    char prev[WIRE_NAME_MAX + 1] = "", cur[WIRE_NAME_MAX + 1];
    trine_err_t err;
    trine_status_t st = train_setup(s, m, t, &r);
    for (uint64_t e = 1; st == TRINE_OK && e <= t->run.epochs; e++) {
        if (e == t->run.epochs)
            snprintf(cur, sizeof cur, "%s", t->run.prefix);
        else
            snprintf(cur, sizeof cur, "%.*se%llu-", WIRE_NAME_MAX - 24, t->run.prefix,
                     (unsigned long long)e);
        st = train_epoch(s, m, t, &r, e, prev, cur);
        snprintf(prev, sizeof prev, "%s", cur);
    }
    if (st == TRINE_OK && !t->run.to)
        rm_outputs(s, &r.tp, m->fwd->nvars, t->run.prefix, false);
    for (size_t i = 0; st == TRINE_OK && i < m->fwd->nvars; i++)
        m->trained[i] = r.tp.vars[i].output;
    for (size_t i = 0; st == TRINE_OK && t->export_onnx && i < m->fwd->nvars; i++)
        if (r.tp.vars[i].output)
            st = export_fetch(s, m, (int)i, t->run.prefix);
    if (st == TRINE_OK && t->export_onnx &&
        (st = lib_export_write(m, t->export_onnx, &err)) != TRINE_OK)
        (void)lib_fail(s, st, "%s", err.msg);
    train_teardown(s, m, &r);
    return st;
}

trine_status_t lib_train_program(prog_t *prog, wire_bind_t **binds, const lib_train_t *t,
                                 trine_err_t *err)
{
    trine_status_t st = lib_prog_text_file(prog, t->model, err);
    if (st != TRINE_OK)
        return st;
    if (!(*binds = calloc(prog->nvars ? prog->nvars : 1, sizeof **binds)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory");
    if ((st = lib_bind(prog, *binds, t->binds, t->nbinds, err)) != TRINE_OK)
        return st;
    int x = lib_batch_var(prog, 0), y = lib_batch_var(prog, 1);
    if (x < 0 || y < 0 || lib_batch_var(prog, 2) >= 0)
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s must declare two batch inputs: data, then labels", t->model);
    if ((st = lib_binds_set(*binds, prog, x, t->data, err)) != TRINE_OK)
        return st;
    return lib_binds_set(*binds, prog, y, t->labels, err);
}

/* ---- trine.h -------------------------------------------------------------- */

typedef struct {
    trine_epoch_fn fn;
    void *arg;
} public_epoch_t;

static void public_epoch(void *arg, uint64_t epoch, double loss, double correct, size_t rows)
{
    public_epoch_t *p = arg;
    p->fn(p->arg, epoch, loss, rows ? correct / (double)rows : NAN);
}

trine_code_t trine_train(trine_client_t *c, const char *model, const char *data,
                         const char *labels, const trine_train_t *t)
{
    trine_status_t st = lib_enter(c, model, data);
    if (st == TRINE_OK && (!labels || !t))
        st = lib_fail(c, TRINE_EINVAL, "an argument that must be given is NULL");
    if (st != TRINE_OK)
        return (trine_code_t)st;
    public_epoch_t pe = {t->epoch, t->arg};
    lib_train_t lt = {.model = model,
                      .data = data,
                      .labels = labels,
                      .binds = t->binds,
                      .nbinds = t->nbinds,
                      .loss = t->loss,
                      .optimizer = t->optimizer,
                      .lr = t->lr,
                      .momentum = t->momentum,
                      .weight_decay = t->weight_decay,
                      .class_labels = t->class_labels,
                      .val_data = t->val_data,
                      .val_labels = t->val_labels,
                      .export_onnx = t->export_onnx,
                      .run = {.path = model,
                              .prefix = t->prefix,
                              .to = t->to,
                              .batch = t->batch ? t->batch : 128,
                              .epochs = t->epochs ? t->epochs : 1,
                              .shuffle = t->shuffle},
                      .epoch = t->epoch ? public_epoch : NULL,
                      .arg = &pe};
    trine_err_t err;
    if (!t->prefix || !t->prefix[0] || !wire_name_valid(t->prefix))
        return (trine_code_t)lib_fail(c, TRINE_EINVAL,
                                      "the trained weights' prefix must be letters, digits, '_', "
                                      "'-' or '.'");
    if (!t->loss) { /* a training program: one job of every epoch */
        prog_t prog = {0};
        wire_bind_t *binds = NULL;
        if ((st = lib_train_program(&prog, &binds, &lt, &err)) != TRINE_OK)
            (void)lib_fail(c, st, "%s", err.msg);
        else
            st = lib_run(c, &prog, binds, &lt.run);
        free(binds);
        prog_clear(&prog);
        return (trine_code_t)st;
    }
    lib_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return (trine_code_t)lib_fail(c, TRINE_ENOMEM, "out of memory");
    if ((st = lib_train_check(&lt, &err)) != TRINE_OK ||
        (st = lib_model_load(m, &lt, &err)) != TRINE_OK)
        (void)lib_fail(c, st, "%s", err.msg);
    else {
        if (m->dropped_argmax)
            lib_warn(c, "training the scores before %s's final argmax", model);
        st = lib_train(c, m, &lt);
    }
    lib_model_clear(m);
    free(m);
    return (trine_code_t)st;
}
