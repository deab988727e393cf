/* check_prog_grad.c — training programs derived from forward models
 * (daemon/models/prog_grad.c): every gradient against central finite differences
 * of the loss, on the plaintext backend (prog_plain); the optimizers'
 * arithmetic over several steps; the same program from the same options;
 * and forward models that cannot be trained, refused with a reason. */
#include "check_util.h"

#include "daemon/models/prog_grad.h"
#include "daemon/models/prog_text.h"
#include "daemon/wire/prog_wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NV PROG_VARS_MAX /* every variable a program may have */

/* A forward model with its plaintext inputs (weights, data, labels). */
typedef struct {
    prog_t fwd;
    prog_plain_t *in[NV]; /* by the forward program's variable index */
    prog_plain_t *labels;
    size_t rows;
} model_t;

static uint64_t rng_state = 88172645463325252ull;

static double rnd(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2 - 1;
}

static prog_plain_t *plain_new(int ndim, const size_t *shape, double lo, double hi)
{
    prog_plain_t *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->ndim = ndim;
    t->size = 1;
    for (int d = 0; d < TENSOR_MAX_DIMS; d++)
        t->shape[d] = d < ndim ? shape[d] : 1, t->size *= t->shape[d];
    t->data = malloc(t->size * sizeof *t->data);
    ck_assert_ptr_nonnull(t->data);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = lo + (hi - lo) * (rnd() + 1) / 2;
    return t;
}

/* Compiles text; "NAME:d0,d1,..." specs give the inputs' shapes. */
static void model_init(model_t *m, const char *text, const char *const *specs, int nspecs)
{
    memset(m, 0, sizeof *m);
    trine_err_t err = {0};
    ck_assert_msg(prog_text_compile(&m->fwd, text, strlen(text), "m.prog", &err) == TRINE_OK,
                  "%s", err.msg);
    for (int k = 0; k < nspecs; k++) {
        char name[PROG_NAME_MAX];
        size_t shape[TENSOR_MAX_DIMS];
        int ndim = 0;
        const char *colon = strchr(specs[k], ':');
        snprintf(name, sizeof name, "%.*s", (int)(colon - specs[k]), specs[k]);
        for (const char *at = colon + 1; *at; at += strspn(at, ","))
            shape[ndim++] = strtoull(at, (char **)&at, 10);
        ck_assert_int_eq(prog_text_set_shape(&m->fwd, name, ndim, shape, &err), TRINE_OK);
        for (size_t i = 0; i < m->fwd.nvars; i++)
            if (!strcmp(m->fwd.vars[i].name, name)) {
                m->in[i] = plain_new(ndim, shape, -1, 1);
                if (m->fwd.vars[i].kind == PROG_VAR_BATCH)
                    m->rows = shape[0];
            }
    }
}

static void model_clear(model_t *m)
{
    for (int i = 0; i < NV; i++)
        prog_plain_destroy(&m->in[i]);
    prog_plain_destroy(&m->labels);
    prog_clear(&m->fwd);
}

static int out_var(const prog_t *p)
{
    for (size_t i = 0; i < p->nvars; i++)
        if (p->vars[i].output)
            return (int)i;
    return -1;
}

/* The mean loss of the forward model at its current weights. */
static double model_loss(const model_t *m, prog_loss_t loss)
{
    prog_plain_t *out[NV] = {0};
    prog_job_t job = {.prog = &m->fwd, .batch = m->rows, .epochs = 1};
    trine_err_t err = {0};
    ck_assert_msg(prog_plain(&job, (const prog_plain_t *const *)m->in, out, &err) == TRINE_OK,
                  "%s", err.msg);
    int z = out_var(&m->fwd);
    const prog_plain_t *p = out[z];
    double sum = 0;
    if (loss == PROG_LOSS_CE) { /* rows of logits: -sum y log softmax, mean over rows */
        size_t k = p->shape[p->ndim - 1], rows = p->size / k;
        for (size_t r = 0; r < rows; r++) {
            const double *zr = p->data + r * k, *yr = m->labels->data + r * k;
            double mx = zr[0], se = 0;
            for (size_t j = 1; j < k; j++)
                mx = fmax(mx, zr[j]);
            for (size_t j = 0; j < k; j++)
                se += exp(zr[j] - mx);
            for (size_t j = 0; j < k; j++)
                sum -= yr[j] * (zr[j] - mx - log(se));
        }
        prog_plain_destroy(&out[z]);
        return sum / (double)rows;
    }
    for (size_t i = 0; i < p->size; i++) {
        double y = m->labels->data[i], v = p->data[i];
        if (loss == PROG_LOSS_BCE) /* z is the logits: the logistic itself */
            v = 1 / (1 + exp(-v));
        sum += loss == PROG_LOSS_MSE ? (v - y) * (v - y) : -(y * log(v) + (1 - y) * log(1 - v));
    }
    sum /= (double)p->size;
    prog_plain_destroy(&out[z]);
    return sum;
}

/* Runs the training program t (one SGD step of rate lr over all rows) and
 * checks each weight's step against -lr times the finite-difference
 * gradient of the mean loss. For BCE the loss is that of the logistic of
 * the logits: the program's gradient p - y takes the fine sigmoid's p,
 * within PROG_SIGMOID_FINE_ERROR of the logistic, hence tol. */
static void check_gradients(model_t *m, prog_loss_t loss, double tol)
{
    prog_train_t opts = {.loss = loss, .opt = PROG_OPT_SGD, .lr = 0.5, .batch = m->rows};
    prog_t t;
    trine_err_t err = {0};
    ck_assert_msg(prog_grad_train(&t, &m->fwd, &opts, &err) == TRINE_OK, "%s", err.msg);
    int z = out_var(&m->fwd), y = -1;
    if (loss == PROG_LOSS_BCE) { /* finite differences of the exact BCE of the logits */
        m->fwd.vars[z].output = false;
        m->fwd.vars[m->fwd.ops[m->fwd.nops - 1].in[0]].output = true;
    }
    for (size_t i = 0; i < t.nvars; i++)
        if (!strcmp(t.vars[i].name, PROG_GRAD_LABELS))
            y = (int)i;
    ck_assert_int_ge(y, 0);
    prog_plain_t *tin[NV] = {0}, *tout[NV] = {0};
    m->labels = plain_new(t.vars[y].ndim, t.vars[y].shape, loss == PROG_LOSS_MSE ? -1 : 0, 1);
    if (loss == PROG_LOSS_CE) { /* rows of probabilities */
        size_t k = m->labels->shape[m->labels->ndim - 1];
        for (size_t r = 0; r < m->labels->size / k; r++) {
            double s = 0;
            for (size_t j = 0; j < k; j++)
                s += m->labels->data[r * k + j];
            for (size_t j = 0; j < k; j++)
                m->labels->data[r * k + j] /= s;
        }
    }
    memcpy(tin, m->in, sizeof m->in);
    tin[y] = m->labels;
    prog_plain_t zero = {1, {1, 1, 1, 1}, 1, (double[]){0}};
    for (size_t i = m->fwd.nvars; i < t.nvars; i++)
        if (!strcmp(t.vars[i].name, PROG_GRAD_LOSS))
            tin[i] = &zero;
    prog_job_t job = {.prog = &t, .batch = m->rows, .epochs = 1};
    ck_assert_msg(prog_plain(&job, (const prog_plain_t *const *)tin, tout, &err) == TRINE_OK,
                  "%s", err.msg);
    (void)z;
    size_t checked = 0;
    for (size_t v = 0; v < m->fwd.nvars; v++) {
        if (m->fwd.vars[v].kind != PROG_VAR_INPUT)
            continue;
        ck_assert_msg(tout[v] != NULL, "%s not trained", m->fwd.vars[v].name);
        for (size_t i = 0; i < m->in[v]->size; i++) {
            double keep = m->in[v]->data[i], h = 1e-5;
            m->in[v]->data[i] = keep + h;
            double up = model_loss(m, loss);
            m->in[v]->data[i] = keep - h;
            double down = model_loss(m, loss);
            m->in[v]->data[i] = keep;
            double fd = (up - down) / (2 * h), got = (keep - tout[v]->data[i]) / opts.lr;
            ck_assert_msg(fabs(got - fd) <= tol * (1 + fabs(fd)),
                          "d loss / d %s[%zu]: backward %.9f, finite differences %.9f",
                          m->fwd.vars[v].name, i, got, fd);
            checked++;
        }
    }
    ck_assert_uint_gt(checked, 0);
    if (loss == PROG_LOSS_MSE) {
        int l = -1;
        for (size_t i = 0; i < t.nvars; i++)
            if (!strcmp(t.vars[i].name, PROG_GRAD_LOSS))
                l = (int)i;
        ck_assert_double_eq_tol(tout[l]->data[0] * prog_grad_loss_scale(&t, m->rows),
                                model_loss(m, loss), 1e-9);
    }
    for (size_t v = 0; v < t.nvars; v++)
        prog_plain_destroy(&tout[v]);
    prog_clear(&t);
}

START_TEST(test_grad_mlp_mse)
{
    model_t m;
    const char *shapes[] = {"x:5,4", "w1:4,6", "b1:6", "w2:6,3", "b2:3"};
    model_init(&m,
               "batch x\ninput w1 b1 w2 b2\n"
               "h = relu(matmul(x, w1) + b1)\n"
               "output z = matmul(h, w2) + b2\n",
               shapes, 5);
    check_gradients(&m, PROG_LOSS_MSE, 1e-5);
    model_clear(&m);
}
END_TEST

/* transposed operands, mul, scale, sub, sum, a 2-D
 * transpose and a permutation, a reshape */
START_TEST(test_grad_ops)
{
    model_t m;
    const char *shapes[] = {"x:4,6", "w1:3,6", "w2:2,3", "s:3", "w3:6,3"};
    model_init(&m,
               "batch x\ninput w1 w2 s w3\n"
               "a = matmul(x, t(w1))\n"
               "b = a * a - s\n"
               "c = matmul(b, t(w2)) * 0.7\n"
               "d = transpose(reshape(matmul(c, w2), [0, 3, 1]), perm=[0, 2, 1])\n"
               "e = flatten(d) + sum(w3) * 0.1\n"
               "f = matmul(t(transpose(w3)), t(e))\n"
               "output z = matmul(transpose(f), w3) - b\n",
               shapes, 5);
    check_gradients(&m, PROG_LOSS_MSE, 1e-5);
    model_clear(&m);
}
END_TEST

START_TEST(test_grad_bce)
{
    model_t m;
    const char *shapes[] = {"x:6,3", "w:3,2", "b:2"};
    model_init(&m, "batch x\ninput w b\nl = matmul(x, w) + b\noutput p = sigmoid(l, fine=1)\n",
               shapes, 3);
    check_gradients(&m, PROG_LOSS_BCE, 6e-3);
    model_clear(&m);
}
END_TEST

/* cross-entropy of a model's logits, and of a model that ends in its
 * softmax (the gradient at the softmax's input) */
START_TEST(test_grad_cross_entropy)
{
    model_t m;
    const char *shapes[] = {"x:5,4", "w:4,3", "b:3"};
    model_init(&m, "batch x\ninput w b\noutput z = matmul(x, w) + b\n", shapes, 3);
    check_gradients(&m, PROG_LOSS_CE, 1e-5);
    model_clear(&m);
}
END_TEST

/* the operators of the ONNX work: offset, exp, reciprocal, pad, slice,
 * concat */
START_TEST(test_grad_onnx_ops)
{
    model_t m;
    const char *shapes[] = {"x:4,3", "w:3,3", "v:3,2"};
    model_init(&m,
               "batch x\ninput w v\n"
               "a = matmul(x, w)\n"
               "e = exp(a * 0.3)\n"
               "r = recip(offset(e, by=1))\n"
               "c = concat(r, a, axis=1)\n"
               "s = slice(c, axis=1, start=1, step=1, count=3)\n"
               "p = pad(s, axis=1, before=1, after=0)\n"
               "output z = matmul(slice(p, axis=1, start=0, step=1, count=3), v)\n",
               shapes, 3);
    check_gradients(&m, PROG_LOSS_MSE, 1e-4);
    model_clear(&m);
}
END_TEST

/* log, tanh and erf; cross-entropy of a model that ends in a log-softmax */
START_TEST(test_grad_smooth)
{
    model_t m;
    const char *shapes[] = {"x:4,3", "w:3,3", "v:3,3"};
    model_init(&m,
               "batch x\ninput w v\n"
               "a = tanh(matmul(x, w))\n"
               "b = log(offset(exp(a), by=1))\n"
               "output z = matmul(erf(b * 0.8), v)\n",
               shapes, 3);
    check_gradients(&m, PROG_LOSS_MSE, 1e-4);
    model_clear(&m);
    const char *s2[] = {"x:5,4", "w:4,3"};
    model_init(&m, "batch x\ninput w\noutput z = log_softmax(matmul(x, w))\n", s2, 2);
    check_gradients(&m, PROG_LOSS_CE, 1e-4);
    model_clear(&m);
}
END_TEST

/* maxpool, a bias per channel, flatten */
START_TEST(test_grad_pool)
{
    model_t m;
    const char *shapes[] = {"x:3,5", "w1:5,32", "b1:2,1,1", "w2:8,2"};
    model_init(&m,
               "batch x\ninput w1 b1 w2\n"
               "c = relu(reshape(matmul(x, w1), [0, 2, 4, 4]) + b1)\n"
               "p = maxpool(c, 2)\n"
               "output z = matmul(flatten(p), w2)\n",
               shapes, 4);
    check_gradients(&m, PROG_LOSS_MSE, 1e-5);
    model_clear(&m);
}
END_TEST

/* conv2d with stride 2 and padding 2 (Network D's) on the data, a padded
 * conv2d of a hidden value (both gradients), a bias per channel, an
 * avgpool of 2x2 windows and a global one */
START_TEST(test_grad_conv)
{
    model_t m;
    const char *shapes[] = {"x:3,1,8,8", "w1:2,1,5,5", "b1:2,1,1", "w2:3,2,3,3", "w3:3,2"};
    model_init(&m,
               "batch x\ninput w1 b1 w2 w3\n"
               "c = relu(conv2d(x, w1, stride=2, pad=2) + b1)\n"
               "d = avgpool(conv2d(c, w2, stride=1, pad=1), 2)\n"
               "output z = matmul(flatten(avgpool(d, 2)), w3)\n",
               shapes, 5);
    check_gradients(&m, PROG_LOSS_MSE, 1e-5);
    model_clear(&m);
    /* avgpool with overlapping windows, with strides, with counted padding */
    const char *s3[] = {"x:2,2,7,7", "w1:3,2,3,3", "w2:12,2"};
    model_init(&m,
               "batch x\ninput w1 w2\n"
               "c = avgpool(relu(conv2d(x, w1, stride=1, pad=1)), 3, stride=1)\n"
               "d = avgpool(c, 3, stride=2, pad=1, count_include_pad=1)\n"
               "output z = matmul(flatten(avgpool(d, 2, stride=1)), w2)\n",
               s3, 3);
    check_gradients(&m, PROG_LOSS_MSE, 1e-5);
    model_clear(&m);
    /* grouped: two groups of 2 channels, then depthwise (4 groups) */
    const char *s2[] = {"x:2,4,6,6", "w1:4,2,3,3", "w2:4,1,3,3", "w3:36,2"};
    model_init(&m,
               "batch x\ninput w1 w2 w3\n"
               "c = relu(conv2d(x, w1, stride=1, pad=1, group=2))\n"
               "d = conv2d(c, w2, stride=2, pad=1, group=4)\n"
               "output z = matmul(flatten(d), w3)\n",
               s2, 4);
    check_gradients(&m, PROG_LOSS_MSE, 1e-5);
    model_clear(&m);
}
END_TEST

/* One SGD step of t on the model's inputs and labels; the trained w. */
static prog_plain_t *step_weight(model_t *m, const prog_t *t, prog_plain_t *labels, int w)
{
    prog_plain_t *tin[NV] = {0}, *tout[NV] = {0};
    memcpy(tin, m->in, sizeof m->in);
    tin[m->fwd.nvars] = labels; /* the labels, the first variable training adds */
    prog_job_t job = {.prog = t, .batch = m->rows, .epochs = 1};
    trine_err_t err = {0};
    ck_assert_msg(prog_plain(&job, (const prog_plain_t *const *)tin, tout, &err) == TRINE_OK,
                  "%s", err.msg);
    prog_plain_t *r = tout[w];
    tout[w] = NULL;
    for (size_t v = 0; v < t->nvars; v++)
        prog_plain_destroy(&tout[v]);
    return r;
}

/* Class indices as labels: the same step as their one-hot rows; an index
 * outside 0..k-1 is a row of zeros. Refused but for cross-entropy. */
START_TEST(test_grad_class_labels)
{
    model_t m;
    const char *shapes[] = {"x:6,4", "w:4,3"};
    model_init(&m, "batch x\ninput w\noutput z = matmul(x, w)\n", shapes, 2);
    prog_train_t o = {PROG_LOSS_CE, PROG_OPT_SGD, 0.5, 0, 0, 6, false};
    prog_t hot, idx;
    trine_err_t err = {0};
    ck_assert_int_eq(prog_grad_train(&hot, &m.fwd, &o, &err), TRINE_OK);
    o.class_labels = true;
    ck_assert_msg(prog_grad_train(&idx, &m.fwd, &o, &err) == TRINE_OK, "%s", err.msg);
    ck_assert_str_eq(idx.vars[m.fwd.nvars].name, PROG_GRAD_LABELS);
    ck_assert_uint_eq(idx.vars[m.fwd.nvars].shape[1], 1);
    double classes[6] = {0, 2, 1, 1, 7, 0};
    prog_plain_t *h = plain_new(2, (size_t[]){6, 3}, 0, 0);
    prog_plain_t c = {2, {6, 1, 1, 1}, 6, classes};
    for (int r = 0; r < 6; r++)
        if (classes[r] < 3)
            h->data[r * 3 + (int)classes[r]] = 1;
    int w = 1;
    ck_assert_str_eq(m.fwd.vars[w].name, "w");
    prog_plain_t *a = step_weight(&m, &hot, h, w), *b = step_weight(&m, &idx, &c, w);
    for (size_t i = 0; i < a->size; i++)
        ck_assert_double_eq_tol(a->data[i], b->data[i], 1e-12);
    prog_plain_destroy(&a), prog_plain_destroy(&b), prog_plain_destroy(&h);
    prog_clear(&hot), prog_clear(&idx);
    o.loss = PROG_LOSS_MSE;
    ck_assert_int_eq(prog_grad_train(&idx, &m.fwd, &o, &err), TRINE_EFORMAT);
    ck_assert_msg(strstr(err.msg, "class-index labels need the cross-entropy loss"), "%s", err.msg);
    model_clear(&m);
}
END_TEST

/* The validation program counts the rows whose largest score is the
 * label's, from one-hot rows or class indices, over steps of a job. */
START_TEST(test_grad_validation)
{
    model_t m;
    const char *shapes[] = {"x:7,4", "w:4,3"};
    model_init(&m, "batch x\ninput w\noutput z = matmul(x, w)\n", shapes, 2);
    double classes[7], scores[7 * 3];
    size_t want = 0;
    for (int r = 0; r < 7; r++) {
        size_t best = 0;
        for (int k = 0; k < 3; k++) {
            double s = 0;
            for (int i = 0; i < 4; i++)
                s += m.in[0]->data[r * 4 + i] * m.in[1]->data[i * 3 + k];
            scores[r * 3 + k] = s;
            best = s > scores[r * 3 + best] ? (size_t)k : best;
        }
        classes[r] = r % 2 ? (double)best : (double)((best + 1) % 3); /* odd rows right */
        want += r % 2;
    }
    prog_plain_t hot = {2, {7, 3, 1, 1}, 21, (double[21]){0}}, idx = {2, {7, 1, 1, 1}, 7, classes};
    for (int r = 0; r < 7; r++)
        hot.data[r * 3 + (int)classes[r]] = 1;
    for (int as_index = 0; as_index < 2; as_index++) {
        prog_t v;
        trine_err_t err = {0};
        ck_assert_msg(prog_grad_validation(&v, &m.fwd, as_index, &err) == TRINE_OK, "%s", err.msg);
        prog_plain_t *in[NV] = {0}, *out[NV] = {0}, zero = {1, {1, 1, 1, 1}, 1, (double[]){0}};
        memcpy(in, m.in, sizeof m.in);
        int y = (int)m.fwd.nvars, c = y + 1;
        ck_assert_str_eq(v.vars[c].name, PROG_GRAD_CORRECT);
        in[y] = as_index ? &idx : &hot, in[c] = &zero;
        prog_job_t job = {.prog = &v, .batch = 3, .epochs = 1};
        ck_assert_msg(prog_plain(&job, (const prog_plain_t *const *)in, out, &err) == TRINE_OK,
                      "%s", err.msg);
        for (size_t i = 0; i < v.nvars; i++)
            ck_assert((out[i] != NULL) == ((int)i == c));
        ck_assert_double_eq(out[c]->data[0], (double)want);
        prog_plain_destroy(&out[c]);
        prog_clear(&v);
    }
    model_clear(&m);
}
END_TEST

/* The linear model of the optimizer tests: z = x w on rows x [6, 3], w
 * [3, 2], MSE, two rows a step. */
static const char *const opt_shapes[] = {"x:6,3", "w:3,2"};
#define OPT_MODEL "batch x\ninput w\noutput z = matmul(x, w)\n"

/* Three steps of training o on the linear model in plaintext, each state
 * input (every input training adds but the labels) starting at zero; the
 * trained w into w_out[6], the model (its x, initial w, labels) into *m. */
static void opt_run(model_t *m, const prog_train_t *o, double w_out[6])
{
    model_init(m, OPT_MODEL, opt_shapes, 2);
    prog_t t;
    trine_err_t err = {0};
    ck_assert_msg(prog_grad_train(&t, &m->fwd, o, &err) == TRINE_OK, "%s", err.msg);
    prog_plain_t *tin[NV] = {0}, *tout[NV] = {0}, *zeros[NV] = {0};
    size_t ls[2] = {6, 2};
    m->labels = plain_new(2, ls, -1, 1);
    for (size_t i = 0; i < t.nvars; i++) {
        if (i < m->fwd.nvars && t.vars[i].kind != PROG_VAR_TEMP)
            tin[i] = m->in[i];
        else if (!strcmp(t.vars[i].name, PROG_GRAD_LABELS))
            tin[i] = m->labels;
        else if (t.vars[i].kind == PROG_VAR_INPUT) /* velocities, moments, sums */
            tin[i] = zeros[i] = plain_new(t.vars[i].ndim, t.vars[i].shape, 0, 0);
    }
    prog_job_t job = {.prog = &t, .batch = 2, .epochs = 1};
    ck_assert_msg(prog_plain(&job, (const prog_plain_t *const *)tin, tout, &err) == TRINE_OK,
                  "%s", err.msg);
    memcpy(w_out, tout[1]->data, 6 * sizeof *w_out);
    for (size_t i = 0; i < t.nvars; i++) {
        prog_plain_destroy(&tout[i]);
        prog_plain_destroy(&zeros[i]);
    }
    prog_clear(&t);
}

/* By hand: the summed MSE gradient of the mean loss at w for step's two
 * rows, plus wd w. */
static void opt_grad(const model_t *m, const double w[6], int step, double wd, double g[6])
{
    memset(g, 0, 6 * sizeof *g);
    for (int r = 2 * step; r < 2 * step + 2; r++)
        for (int j = 0; j < 2; j++) {
            double z = 0;
            for (int k = 0; k < 3; k++)
                z += m->in[0]->data[r * 3 + k] * w[k * 2 + j];
            double d = 2 * (z - m->labels->data[r * 2 + j]) / 4;
            for (int k = 0; k < 3; k++)
                g[k * 2 + j] += d * m->in[0]->data[r * 3 + k];
        }
    for (int i = 0; i < 6; i++)
        g[i] += wd * w[i];
}

/* Momentum and weight decay over three steps of two rows, against
 * PyTorch's SGD with momentum written out by hand. */
START_TEST(test_grad_momentum)
{
    model_t m;
    prog_train_t o = {PROG_LOSS_MSE, PROG_OPT_MOMENTUM, 0.1, 0.9, 0.01, 2, false};
    double got[6], w[6], v[6] = {0}, g[6];
    opt_run(&m, &o, got);
    memcpy(w, m.in[1]->data, sizeof w);
    for (int step = 0; step < 3; step++) {
        opt_grad(&m, w, step, 0.01, g);
        for (int i = 0; i < 6; i++) {
            v[i] = 0.9 * v[i] + g[i];
            w[i] -= 0.1 * v[i];
        }
    }
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(got[i], w[i], 1e-12);
    model_clear(&m);
}
END_TEST

/* Adam with weight decay over three steps of two rows, against PyTorch's
 * update written out by hand (with trine's floor under the root, in place
 * of eps, and its ceiling, which these gradients stay below). */
START_TEST(test_grad_adam)
{
    model_t m;
    prog_train_t o = {PROG_LOSS_MSE, PROG_OPT_ADAM, 0.05, 0, 0.01, 2, false};
    double got[6], w[6], mm[6] = {0}, vv[6] = {0}, g[6], c = 2.0 / 4, b1 = 0.9, b2 = 0.999;
    opt_run(&m, &o, got);
    memcpy(w, m.in[1]->data, sizeof w);
    for (int step = 1; step <= 3; step++) {
        opt_grad(&m, w, step - 1, 0.01, g);
        for (int i = 0; i < 6; i++) {
            mm[i] = b1 * mm[i] + (1 - b1) * g[i];
            vv[i] = b2 * vv[i] + (1 - b2) * g[i] * g[i];
            double mh = mm[i] / (1 - pow(b1, step)), vh = vv[i] / (1 - pow(b2, step));
            ck_assert(vh / (c * c) < PROG_GRAD_ADAM_CEIL);
            w[i] -= 0.05 * mh / sqrt(vh + c * c * PROG_GRAD_ADAM_FLOOR);
        }
    }
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(got[i], w[i], 1e-12);
    model_clear(&m);
}
END_TEST

/* The same options give the same bytes: approvals name the hash. */
START_TEST(test_grad_deterministic)
{
    model_t m;
    const char *shapes[] = {"x:5,4", "w1:4,6", "b1:6", "w2:6,3", "b2:3"};
    model_init(&m,
               "batch x\ninput w1 b1 w2 b2\n"
               "h = relu(matmul(x, w1) + b1)\n"
               "output z = matmul(h, w2) + b2\n",
               shapes, 5);
    prog_train_t o = {PROG_LOSS_MSE, PROG_OPT_MOMENTUM, 0.05, 0.9, 0, 2, false};
    void *buf[2] = {NULL, NULL};
    size_t len[2];
    trine_err_t err = {0};
    for (int k = 0; k < 2; k++) {
        prog_t t;
        ck_assert_int_eq(prog_grad_train(&t, &m.fwd, &o, &err), TRINE_OK);
        ck_assert_int_eq(prog_check_job(&t, 2, &err), TRINE_OK);
        ck_assert_int_eq(prog_wire_encode(&t, &buf[k], &len[k], &err), TRINE_OK);
        prog_clear(&t);
    }
    ck_assert_uint_eq(len[0], len[1]);
    ck_assert(memcmp(buf[0], buf[1], len[0]) == 0);
    free(buf[0]), free(buf[1]);
    model_clear(&m);
}
END_TEST

static void refused(const char *text, const char *const *shapes, int n, prog_loss_t loss,
                    const char *want)
{
    model_t m;
    model_init(&m, text, shapes, n);
    prog_train_t o = {loss, PROG_OPT_SGD, 0.1, 0, 0, 2, false};
    prog_t t;
    trine_err_t err = {0};
    ck_assert_int_eq(prog_grad_train(&t, &m.fwd, &o, &err), TRINE_EFORMAT);
    ck_assert_msg(strstr(err.msg, want) != NULL, "'%s' lacks '%s'", err.msg, want);
    ck_assert_ptr_null(t.vars);
    model_clear(&m);
}

START_TEST(test_grad_refused)
{
    const char *s2[] = {"x:4,3", "w:3,2"};
    refused("batch x\ninput w\noutput z = argmax(matmul(x, w))\n", s2, 2, PROG_LOSS_MSE,
            "argmax: has no gradient");
    refused("batch x\ninput w\noutput z = matmul(x, w)\n", s2, 2, PROG_LOSS_BCE,
            "ends in a sigmoid");
    refused("batch x\ninput w\nz = matmul(x, w)\noutput z\noutput w\n", s2, 2, PROG_LOSS_MSE,
            "one output");
    refused("batch x\ninput w\noutput z = sigmoid(matmul(x, w)) * 2\n", s2, 2, PROG_LOSS_MSE,
            "fine=1");
    refused("batch x\ninput w\nw = sgd(w, w, 2^-3)\noutput z = matmul(x, w)\n", s2, 2,
            PROG_LOSS_MSE, "may not write");
    refused("batch x labels\ninput w\noutput z = matmul(x, w)\n",
            (const char *[]){"x:4,3", "labels:4,2", "w:3,2"}, 3, PROG_LOSS_MSE,
            "one batch input");
    const char *s4[] = {"x:2,2,4,4", "w:2,1,3,3"};
    refused("batch x\ninput w\noutput z = flatten(avgpool(conv2d(x, w, group=2), 2, pad=1))\n",
            s4, 2, PROG_LOSS_MSE, "counts the padding");
}
END_TEST

Suite *prog_grad_suite(void)
{
    Suite *s = suite_create("prog_grad");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_grad_mlp_mse);
    tcase_add_test(tc, test_grad_ops);
    tcase_add_test(tc, test_grad_bce);
    tcase_add_test(tc, test_grad_cross_entropy);
    tcase_add_test(tc, test_grad_onnx_ops);
    tcase_add_test(tc, test_grad_smooth);
    tcase_add_test(tc, test_grad_pool);
    tcase_add_test(tc, test_grad_conv);
    tcase_add_test(tc, test_grad_class_labels);
    tcase_add_test(tc, test_grad_validation);
    tcase_add_test(tc, test_grad_momentum);
    tcase_add_test(tc, test_grad_adam);
    tcase_add_test(tc, test_grad_deterministic);
    tcase_add_test(tc, test_grad_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(prog_grad_suite());
}
