/* cli_prog.c — the client verbs that run programs: run, infer, train.
 *
 * All three compile the program text (prog_text.h), bind its inputs to
 * stored tensors (or, with --plaintext, to DIR/NAME.npy files), check it
 * for the batch sizes it will see, and then either send it to the three
 * parties as one job (client_run) or run it here on doubles (prog_plain).
 * infer and train are run with a fixed shape: infer binds the program's
 * one batch input to --input and reveals its one output; train binds two
 * batch inputs to --data and --labels, in the order they are declared.
 * A binding travels beside the program (the run's `bind`), which keeps
 * its own input names: the parties check approvals against the program
 * as compiled, whatever tensors the caller binds. Compiling, binding,
 * running and inferring on the cluster are libtrine's (lib_run.c); here
 * are the command line, its lines and bars, plaintext runs and training.
 */
#include "daemon/client/cli.h"
#include "daemon/common/log.h"
#include "daemon/common/sock.h"
#include "daemon/models/prog_grad.h"
#include "daemon/models/prog_text.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG_BINDS_MAX 32

typedef struct {
    const char *program, *dir, *prefix, *input, *output, *data, *labels, *stats, *to;
    const char *loss, *optimizer; /* train on a forward model: prog_grad.h */
    const char *val_data, *val_labels; /* train --loss: accuracy after each epoch */
    const char *export_onnx;           /* train an ONNX model: write it trained */
    double lr, momentum, weight_decay;
    bool plaintext, keep, quiet;
    bool class_labels; /* train --loss cross-entropy: labels are class indices */
    bool shuffle;      /* train: each epoch's rows in a random order */
    uint64_t batch, epochs;
    const char *bind[PROG_BINDS_MAX];
    int nbind;
} prog_opts_t;

/* ---- progress ----------------------------------------------------------- */

void progress_init(progress_t *p, bool bytes)
{
    *p = (progress_t){isatty(STDERR_FILENO) == 1, bytes, sock_now_ms(), 0, false};
}

void progress_show(void *arg, uint64_t step, uint64_t steps)
{
    progress_t *p = arg;
    uint64_t now = sock_now_ms();
    if (!p->tty || !steps || (now - p->last_ms < 100 && step < steps))
        return;
    p->last_ms = now;
    double secs = (double)(now - p->start_ms) / 1000, rate = secs > 0 ? (double)step / secs : 0;
    int width = 30, fill = (int)(width * step / steps);
    fprintf(stderr, "\r  [%.*s%*s] ", fill, "==============================", width - fill, "");
    if (p->bytes)
        fprintf(stderr, "%.0f/%.0f MB  %.1f MB/s", (double)step / 1e6, (double)steps / 1e6,
                rate / 1e6);
    else
        fprintf(stderr, "%llu/%llu steps  %.1f/s", (unsigned long long)step,
                (unsigned long long)steps, rate);
    if (rate > 0 && step < steps)
        fprintf(stderr, "  ETA %.0f s ", (double)(steps - step) / rate);
    else
        fprintf(stderr, "          ");
    p->shown = true;
}

void progress_end(progress_t *p)
{
    if (p->shown)
        fprintf(stderr, "\n");
    p->shown = false;
}

/* Says on a terminal that the parties are busy and when the run goes
 * again; the bar then counts from that moment. */
static void progress_busy(void *arg, const char *why, uint64_t pause_ms, unsigned tries)
{
    progress_t *p = arg;
    p->start_ms = sock_now_ms() + pause_ms;
    if (!p->tty)
        return;
    fprintf(stderr, "\r  busy: %s; trying again in %.1f s (try %u)        ", why,
            (double)pause_ms / 1000, tries + 1);
    p->shown = true;
}

/* ---- compiling and binding ---------------------------------------------- */

static int prog_load(prog_t *prog, const char *path, const char *verb)
{
    trine_err_t err;
    return cli_status(lib_prog_text_file(prog, path, &err), &err, verb, TRINE_EXIT_FAIL);
}

int prog_binds_set(wire_bind_t *binds, const prog_t *prog, int var, const char *names,
                   const char *verb)
{
    trine_err_t err;
    return cli_status(lib_binds_set(binds, prog, var, names, &err), &err, verb, TRINE_EXIT_USAGE);
}

/* Binds input VAR to NAME (or NAME,NAME... for a batch input) for each
 * "VAR=NAME". */
static int prog_bind(const prog_t *prog, wire_bind_t *binds, const char *const *args, int n,
                     const char *verb)
{
    trine_err_t err;
    return cli_status(lib_bind(prog, binds, args, (size_t)n, &err), &err, verb, TRINE_EXIT_USAGE);
}

/* The stored tensor (the first, for several) input var reads. */
static const char *prog_bound(const prog_t *prog, const wire_bind_t *binds, size_t var)
{
    return binds && binds[var].count ? binds[var].names[0] : prog->vars[var].name;
}

int prog_compile_file(prog_t *prog, const char *path, const char *verb)
{
    trine_err_t err;
    return cli_status(lib_prog_file(prog, path, &err), &err, verb, TRINE_EXIT_FAIL);
}

/* lib_check_sizes, printing why it failed. */
static int prog_check_sizes(const prog_t *prog, uint64_t batch, const char *path,
                            const char *verb)
{
    trine_err_t err;
    return cli_status(lib_check_sizes(prog, batch, path, &err), &err, verb, TRINE_EXIT_FAIL);
}

/* ---- plaintext ------------------------------------------------------------ */

/* DIR/PREFIXNAME.npy in path (one '/' between folder and file); for an
 * input, the .csv of that name when only it exists. */
static void plain_path(char *path, size_t cap, const char *dir, const char *prefix,
                       const char *name, bool input)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    snprintf(path, cap, "%.*s/%s%s.npy", (int)n, dir, prefix, name);
    size_t len = strlen(path);
    if (input && access(path, F_OK) != 0 && len > 4) {
        memcpy(path + len - 4, ".csv", 4);
        if (access(path, F_OK) != 0)
            memcpy(path + len - 4, ".npy", 4);
    }
}

/* The values of pl as doubles, or NULL out of memory. */
static prog_plain_t *plain_to_prog(const plain_t *pl)
{
    prog_plain_t *t = calloc(1, sizeof *t);
    double *d = malloc(pl->count * sizeof *d);
    if (!t || !d) {
        free(t);
        free(d);
        return NULL;
    }
    for (size_t k = 0; k < pl->count; k++)
        d[k] = pl->real ? pl->real[k] : (double)(int64_t)pl->ints[k];
    *t = (prog_plain_t){pl->ndim, {1, 1, 1, 1}, pl->count, d};
    memcpy(t->shape, pl->shape, sizeof t->shape);
    return t;
}

/* Reads every input not in in[] yet from DIR/NAME.npy (or .csv), NAME the
 * tensor it is bound to, but variable file_var from file. */
static int plain_inputs(prog_t *prog, const wire_bind_t *binds, prog_plain_t **in,
                        const char *dir, int file_var, const char *file, const char *verb)
{
    for (size_t i = 0; i < prog->nvars; i++) {
        prog_var_t *v = &prog->vars[i];
        if (v->kind == PROG_VAR_TEMP || in[i]) /* in[i]: given by the caller */
            continue;
        char path[4096];
        if (binds && binds[i].count > 1) {
            fprintf(stderr, "trine %s: --plaintext reads one file per input; '%s' names %u\n",
                    verb, v->name, binds[i].count);
            return TRINE_EXIT_USAGE;
        }
        if ((int)i == file_var)
            snprintf(path, sizeof path, "%s", file);
        else
            plain_path(path, sizeof path, dir, "", prog_bound(prog, binds, i), true);
        plain_t *pl = NULL;
        trine_err_t err;
        if (plain_read(&pl, path, &err) != TRINE_OK) {
            fprintf(stderr, "trine %s: input '%s': %s\n", verb, v->name, err.msg);
            return TRINE_EXIT_FAIL;
        }
        prog_plain_t *t = plain_to_prog(pl);
        if (!t) {
            plain_destroy(&pl);
            fprintf(stderr, "trine %s: out of memory for '%s'\n", verb, v->name);
            return TRINE_EXIT_FAIL;
        }
        in[i] = t;
        if (prog_text_set_shape(prog, v->name, pl->ndim, pl->shape, &err) != TRINE_OK) {
            plain_destroy(&pl);
            fprintf(stderr, "trine %s: %s: %s\n", verb, path, err.msg);
            return TRINE_EXIT_FAIL;
        }
        plain_destroy(&pl);
    }
    return 0;
}

/* Warns on stderr, as reveal warns of values at the ring's edge, when an
 * output holds NaN or infinities. */
static void plain_warn_nonfinite(const char *verb, const char *name, const prog_plain_t *t)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < t->size; i++)
        if (!isfinite(t->data[i]) && bad++ == 0)
            first = i;
    if (bad)
        fprintf(stderr,
                "trine %s: warning: '%s' has %zu of %zu values NaN or infinite (the first "
                "element %zu = %g): the computation overflowed or diverged\n",
                verb, name, bad, t->size, first, t->data[first]);
}

/* Runs prog here on doubles and writes its outputs (out_var's alone to
 * -o when out_var >= 0 and -o was given); file_var as for plain_inputs. */
static int plain_run(prog_t *prog, const wire_bind_t *binds, const prog_opts_t *o,
                     const char *verb, int out_var, int file_var, const char *file)
{
    prog_plain_t **in = calloc(prog->nvars, sizeof *in), **out = calloc(prog->nvars, sizeof *out);
    int rc = in && out ? plain_inputs(prog, binds, in, o->dir, file_var, file, verb)
                       : TRINE_EXIT_FAIL;
    if (rc == 0)
        rc = prog_check_sizes(prog, o->batch, o->program, verb);
    progress_t bar;
    progress_init(&bar, false);
    prog_job_t job = {.prog = prog,
                      .batch = (size_t)o->batch,
                      .epochs = (unsigned)o->epochs,
                      .progress = progress_show,
                      .progress_arg = &bar,
                      .shuffle = o->shuffle};
    randombytes_buf(&job.shuffle_seed, sizeof job.shuffle_seed);
    trine_err_t err;
    if (rc == 0 && prog_plain(&job, (const prog_plain_t *const *)in, out, &err) != TRINE_OK) {
        progress_end(&bar);
        fprintf(stderr, "trine %s: %s\n", verb, err.msg);
        rc = TRINE_EXIT_FAIL;
    } else if (rc == 0) {
        progress_end(&bar);
        printf("ran %s in plaintext: %llu steps in %.3f s\n", o->program,
               (unsigned long long)prog_job_steps(&job),
               (double)(sock_now_ms() - bar.start_ms) / 1000);
    }
    for (size_t i = 0; rc == 0 && i < prog->nvars; i++) {
        if (!out[i] || (out_var >= 0 && (int)i != out_var))
            continue;
        char path[4096];
        if (out_var >= 0 && o->output)
            snprintf(path, sizeof path, "%s", o->output);
        else
            plain_path(path, sizeof path, o->dir, o->prefix, prog->vars[i].name, false);
        plain_warn_nonfinite(verb, prog->vars[i].name, out[i]);
        if (plain_write_npy(path, PLAIN_F8, out[i]->ndim, out[i]->shape, out[i]->data, &err) !=
            TRINE_OK) {
            fprintf(stderr, "trine %s: %s\n", verb, err.msg);
            rc = TRINE_EXIT_FAIL;
        } else {
            printf("wrote %s\n", path);
        }
    }
    for (size_t i = 0; i < prog->nvars; i++) {
        if (in)
            prog_plain_destroy(&in[i]);
        if (out)
            prog_plain_destroy(&out[i]);
    }
    free(in);
    free(out);
    return rc;
}

/* ---- on the cluster -------------------------------------------------------- */

int prog_run_binds(wire_request_t *q, const prog_t *prog, const wire_bind_t *binds,
                   const char *verb)
{
    trine_err_t err;
    return cli_status(lib_run_binds(q, prog, binds, &err), &err, verb, TRINE_EXIT_FAIL);
}

/* Writes the job's figures as KEY=VALUE lines, for scripts; retries:
 * how often the run was sent again because parties were busy. */
static int private_stats(const session_t *s, const char *path, const char *verb)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "trine %s: cannot write %s: %s\n", verb, path, strerror(errno));
        return TRINE_EXIT_FAIL;
    }
    const wire_job_stats_t *st0 = &s->res[0].reply.stats;
    const trine_report_t *r = &s->report;
    uint64_t total = 0;
    fprintf(f, "steps=%llu\ntime_s=%.6f\nexec_s=%.6f\nfirst_step_s=%.6f\n",
            (unsigned long long)st0->steps, (double)st0->time_us / 1e6,
            (double)st0->exec_us / 1e6, (double)st0->first_step_us / 1e6);
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        fprintf(f, "sent_party%d=%llu\n", p, (unsigned long long)r->sent[p]);
        total += r->sent[p];
    }
    fprintf(f,
            "sent_total=%llu\nmask_bytes=%llu\noffline_bytes=%llu\nrounds=%llu\n"
            "busy_retries=%u\n",
            (unsigned long long)total, (unsigned long long)r->mask_bytes,
            (unsigned long long)r->offline_bytes, (unsigned long long)r->rounds,
            r->busy_retries);
    return fclose(f) == 0 ? 0 : TRINE_EXIT_FAIL;
}

static void private_report(const session_t *s)
{
    const trine_report_t *r = &s->report;
    char b[LOG_BYTES_CHARS];
    printf("job %016llx: %llu steps in %.3f s (first step %.3f s", (unsigned long long)r->job,
           (unsigned long long)r->steps, r->time_s, r->first_step_s);
    printf(", masking weights %s)\n", log_bytes(b, r->mask_bytes));
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        const wire_job_stats_t *st = &s->res[p].reply.stats;
        char to[2][LOG_BYTES_CHARS], in[LOG_BYTES_CHARS];
        int a = (p + 1) % 3, c = (p + 2) % 3;
        printf("  party%d sent %s to party%d, %s to party%d; received %s; %llu rounds\n", p,
               log_bytes(to[0], st->sent[a]), a, log_bytes(to[1], st->sent[c]), c,
               log_bytes(in, st->recv[0] + st->recv[1] + st->recv[2]),
               (unsigned long long)st->rounds);
    }
    printf("  all parties sent %s\n", log_bytes(b, r->sent[0] + r->sent[1] + r->sent[2]));
    if (r->busy_retries)
        printf("  sent %u time%s more: the parties were busy with other jobs\n",
               r->busy_retries, r->busy_retries == 1 ? "" : "s");
}

/* The running job's client, whose cancel flag SIGINT sets (a handler can
 * only reach a global). */
static session_t *private_running;

static void private_on_sigint(int sig)
{
    (void)sig;
    private_running->cancel = 1;
}

/* lib_run_t of the command line's options. */
static lib_run_t private_opts(const prog_opts_t *o, session_t *s)
{
    return (lib_run_t){.path = o->program,
                       .prefix = o->prefix,
                       .to = o->to,
                       .batch = o->batch,
                       .epochs = o->epochs,
                       .shuffle = o->shuffle,
                       .busy = progress_busy,
                       .busy_arg = session_bar(s)};
}

/* Runs f(s, arg) with a bar for the job's steps (unless quiet) and Ctrl-C
 * cancelling the job on the parties instead of leaving it running. */
static trine_status_t private_job(session_t *s, bool quiet,
                                  trine_status_t (*f)(session_t *s, void *arg), void *arg)
{
    progress_t *bar = session_bar(s);
    progress_init(bar, false);
    bar->tty = bar->tty && !quiet;
    struct sigaction sa = {0}, old;
    sa.sa_handler = private_on_sigint;
    sigemptyset(&sa.sa_mask);
    private_running = s;
    sigaction(SIGINT, &sa, &old);
    lib_begin(s);
    trine_status_t st = f(s, arg);
    sigaction(SIGINT, &old, NULL);
    progress_end(bar);
    return st;
}

typedef struct {
    prog_t *prog;
    const wire_bind_t *binds;
    lib_run_t run;
} private_run_t;

static trine_status_t private_run_job(session_t *s, void *arg)
{
    private_run_t *r = arg;
    return lib_run(s, r->prog, r->binds, &r->run);
}

/* Runs prog on the cluster, its inputs bound by binds (NULL: each its
 * own name); the outputs are stored as prefix + name, owned by the caller
 * or by o->to. */
static int private_run(session_t *s, prog_t *prog, const wire_bind_t *binds, const prog_opts_t *o,
                       const char *verb)
{
    private_run_t r = {prog, binds, private_opts(o, s)};
    if (private_job(s, o->quiet, private_run_job, &r) != TRINE_OK)
        return session_fail(s, verb);
    if (!o->quiet)
        private_report(s);
    return o->stats ? private_stats(s, o->stats, verb) : 0;
}

int session_run(session_t *s, prog_t *prog, const char *prefix, uint64_t batch, bool quiet,
                const char *verb)
{
    prog_opts_t o = {.prefix = prefix, .batch = batch, .epochs = 1, .quiet = quiet};
    return private_run(s, prog, NULL, &o, verb);
}

/* ---- the verbs ---------------------------------------------------------------- */

/* Reads the options of run, infer and train; -1 to go on, else an exit code. */
static int prog_args(prog_opts_t *o, int argc, char **argv, const char *verb)
{
    *o = (prog_opts_t){.dir = ".", .prefix = "", .batch = 128, .epochs = 1, .momentum = 0.9};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--plaintext")) {
            o->plaintext = true;
            continue;
        }
        if (!strcmp(a, "--keep")) {
            o->keep = true;
            continue;
        }
        if (!strcmp(verb, "train") && !strcmp(a, "--class-labels")) {
            o->class_labels = true;
            continue;
        }
        if (!strcmp(verb, "train") && !strcmp(a, "--shuffle")) {
            o->shuffle = true;
            continue;
        }
        if (!v || a[0] != '-') {
            if (a[0] != '-' && !o->program && !strcmp(verb, "run")) {
                o->program = a;
                continue;
            }
            return verb_usage_error(verb, "unknown argument or missing value");
        }
        i++;
        if (!strcmp(a, "--model"))
            o->program = v;
        else if (!strcmp(a, "--dir"))
            o->dir = v;
        else if (!strcmp(a, "--prefix"))
            o->prefix = v;
        else if (!strcmp(a, "--input"))
            o->input = v;
        else if (!strcmp(a, "-o"))
            o->output = v;
        else if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--labels"))
            o->labels = v;
        else if (!strcmp(a, "--stats"))
            o->stats = v;
        else if (!strcmp(a, "--to"))
            o->to = v;
        else if (!strcmp(verb, "train") && !strcmp(a, "--loss"))
            o->loss = v;
        else if (!strcmp(verb, "train") && !strcmp(a, "--optimizer"))
            o->optimizer = v;
        else if (!strcmp(verb, "train") && !strcmp(a, "--val-data"))
            o->val_data = v;
        else if (!strcmp(verb, "train") && !strcmp(a, "--export"))
            o->export_onnx = v;
        else if (!strcmp(verb, "train") && !strcmp(a, "--val-labels"))
            o->val_labels = v;
        else if (!strcmp(verb, "train") &&
                 (!strcmp(a, "--lr") || !strcmp(a, "--momentum") || !strcmp(a, "--weight-decay"))) {
            double x = strtod(v, &end);
            if (*end || !isfinite(x) || x < 0)
                return verb_usage_error(verb, "--lr, --momentum and --weight-decay take a number >= 0");
            *(a[2] == 'l' ? &o->lr : a[2] == 'm' ? &o->momentum : &o->weight_decay) = x;
        } else if (!strcmp(a, "--bind") && o->nbind < PROG_BINDS_MAX)
            o->bind[o->nbind++] = v;
        else if (!strcmp(a, "--batch") || !strcmp(a, "--epochs")) {
            errno = 0;
            unsigned long long n = strtoull(v, &end, 10);
            if (errno || *end || n == 0 || n > UINT32_MAX || v[0] == '-')
                return verb_usage_error(verb, "--batch and --epochs take a whole number >= 1");
            *(a[2] == 'b' ? &o->batch : &o->epochs) = n;
        } else
            return verb_usage_error(verb, "unknown option");
    }
    if (!o->program)
        return verb_usage_error(verb, "name the program");
    if (o->prefix[0] && !wire_name_valid(o->prefix))
        return verb_usage_error(verb, "--prefix must be letters, digits, '_', '-' or '.'");
    return -1;
}

int verb_run(const client_opts_t *opts, int argc, char **argv)
{
    prog_opts_t o;
    int rc = prog_args(&o, argc, argv, "run");
    if (rc >= 0)
        return rc;
    prog_t prog = {0};
    wire_bind_t *binds = NULL;
    if ((rc = prog_load(&prog, o.program, "run")) == 0 &&
        !(binds = calloc(prog.nvars ? prog.nvars : 1, sizeof *binds)))
        rc = TRINE_EXIT_FAIL;
    if (rc == 0 && (rc = prog_bind(&prog, binds, o.bind, o.nbind, "run")) == 0) {
        session_t s;
        if (o.plaintext)
            rc = plain_run(&prog, binds, &o, "run", -1, -1, NULL);
        else if (!session_open(&s, opts, "run"))
            rc = TRINE_EXIT_FAIL;
        else {
            rc = private_run(&s, &prog, binds, &o, "run");
            for (size_t i = 0; rc == 0 && i < prog.nvars; i++)
                if (prog.vars[i].output)
                    printf("stored '%s%s' (%s: trine reveal %s%s)\n", o.prefix,
                           prog.vars[i].name, o.to ? "the recipient's" : "yours", o.prefix,
                           prog.vars[i].name);
            session_close(&s);
        }
    }
    free(binds);
    prog_clear(&prog);
    return rc;
}

typedef struct {
    lib_infer_t in;
    lib_sink_t sink;
    char outname[WIRE_NAME_MAX + 1];
    const char *stats;
} private_infer_t;

/* The job's report and --stats, before the output is revealed. */
static trine_status_t private_infer_ran(session_t *s, void *arg)
{
    const private_infer_t *r = arg;
    private_report(s);
    return r->stats && private_stats(s, r->stats, "infer") ? TRINE_EIO : TRINE_OK;
}

static trine_status_t private_infer_job(session_t *s, void *arg)
{
    private_infer_t *r = arg;
    return lib_infer(s, &r->in, &r->sink, r->outname);
}

/* infer --plaintext: the text program on doubles, here. */
static int plain_infer(prog_opts_t *o)
{
    if (lib_is_onnx(o->program) || o->nbind)
        return verb_usage_error("infer", "--plaintext and --bind take a program, not an ONNX model");
    size_t n = strlen(o->input);
    if (n <= 4 || strcmp(o->input + n - 4, ".npy")) {
        fprintf(stderr, "trine infer: --plaintext reads --input from a .npy file\n");
        return TRINE_EXIT_FAIL;
    }
    prog_t prog = {0};
    wire_bind_t *binds = NULL;
    int rc = prog_load(&prog, o->program, "infer");
    if (rc == 0 && !(binds = calloc(prog.nvars ? prog.nvars : 1, sizeof *binds)))
        rc = TRINE_EXIT_FAIL;
    if (rc == 0)
        rc = prog_bind(&prog, binds, o->bind, o->nbind, "infer");
    int x = lib_batch_var(&prog, 0), y = lib_single_output(&prog);
    if (rc == 0 && (x < 0 || lib_batch_var(&prog, 1) >= 0 || y < 0)) {
        fprintf(stderr, "trine infer: %s must have exactly one batch input and one output\n",
                o->program);
        rc = TRINE_EXIT_FAIL;
    }
    if (rc == 0)
        rc = plain_run(&prog, binds, o, "infer", y, x, o->input);
    free(binds);
    prog_clear(&prog);
    return rc;
}

int verb_infer(const client_opts_t *opts, int argc, char **argv)
{
    prog_opts_t o;
    int rc = prog_args(&o, argc, argv, "infer");
    if (rc >= 0)
        return rc;
    if (!o.input)
        return verb_usage_error("infer", "name the --input (a stored tensor or a .npy file)");
    if (o.plaintext)
        return plain_infer(&o);
    if (lib_is_onnx(o.program) && o.nbind)
        return verb_usage_error("infer", "--plaintext and --bind take a program, not an ONNX model");
    bool file = strlen(o.input) > 4 && !strcmp(o.input + strlen(o.input) - 4, ".npy");
    session_t s;
    if (!session_open(&s, opts, "infer"))
        return TRINE_EXIT_FAIL;
    private_infer_t r = {.in = {.model = o.program,
                                .input_name = file ? NULL : o.input,
                                .input_file = file ? o.input : NULL,
                                .binds = o.bind,
                                .nbinds = (size_t)o.nbind,
                                .run = private_opts(&o, &s),
                                .keep = o.keep,
                                .ran = private_infer_ran},
                         .sink = session_sink(o.output, false),
                         .stats = o.stats};
    r.in.ran_arg = &r;
    if (private_job(&s, o.quiet, private_infer_job, &r) != TRINE_OK) {
        rc = session_fail(&s, "infer");
    } else {
        rc = 0;
        if (o.to)
            printf("stored '%s' for the recipient %s, who alone can reveal it\n", r.outname,
                   o.to);
        else if (o.output)
            printf("wrote %s\n", o.output);
        if (o.keep && !o.to)
            printf("kept '%s' (yours: trine reveal %s)\n", r.outname, r.outname);
    }
    session_close(&s);
    return rc;
}

/* ---- train (lib_train.c) ------------------------------------------------------- */

static void train_print_loss(uint64_t epoch, const prog_opts_t *o, double loss)
{
    printf("epoch %llu/%llu: mean training loss %.6f\n", (unsigned long long)epoch,
           (unsigned long long)o->epochs, loss);
}

static void train_print_accuracy(uint64_t epoch, const prog_opts_t *o, double correct, size_t rows)
{
    printf("epoch %llu/%llu: validation accuracy %.4f (%.0f of %zu rows)\n",
           (unsigned long long)epoch, (unsigned long long)o->epochs, correct / (double)rows,
           correct, rows);
}

/* --export: the model written, and said so. */
static int export_write(const lib_model_t *m, const prog_opts_t *o)
{
    trine_err_t err;
    if (lib_export_write(m, o->export_onnx, &err) != TRINE_OK)
        return cli_status(err.code, &err, "train", TRINE_EXIT_FAIL);
    printf("wrote %s, the model with its trained weights\n", o->export_onnx);
    return 0;
}

/* The validation accuracy of epoch e on doubles: vin's weights (the
 * first nfwd variables) are the epoch's, in. */
static int val_plain(const prog_t *vp, prog_plain_t **vin, prog_plain_t *const *in, size_t nfwd,
                     int c, uint64_t e, const prog_opts_t *o)
{
    for (size_t i = 0; i < nfwd; i++)
        if (vp->vars[i].kind == PROG_VAR_INPUT)
            vin[i] = in[i];
    prog_plain_t **out = calloc(vp->nvars, sizeof *out);
    prog_job_t job = {.prog = vp, .batch = (size_t)o->batch, .epochs = 1};
    trine_err_t err;
    int rc = out ? 0 : TRINE_EXIT_FAIL;
    if (rc == 0 && prog_plain(&job, (const prog_plain_t *const *)vin, out, &err) != TRINE_OK) {
        fprintf(stderr, "trine train: validation: %s\n", err.msg);
        rc = TRINE_EXIT_FAIL;
    }
    if (rc == 0)
        train_print_accuracy(e, o, out[c]->data[0], prog_batch_rows(vp));
    for (size_t i = 0; out && i < vp->nvars; i++)
        prog_plain_destroy(&out[i]);
    free(out);
    return rc;
}

/* --plaintext: the same epochs on doubles, the weights written to
 * DIR/PREFIX NAME.npy. */
static int train_plain(lib_model_t *m, const lib_train_t *t, const prog_opts_t *o)
{
    prog_t *fwd = m->fwd, tp = {0};
    trine_err_t err;
    prog_plain_t **in = calloc(PROG_VARS_MAX, sizeof *in), **out = calloc(PROG_VARS_MAX, sizeof *out);
    int x = lib_batch_var(fwd, 0), rc = in && out && x >= 0 ? 0 : TRINE_EXIT_FAIL;
    for (size_t k = 0; rc == 0 && k < m->onnx.nweights; k++)
        if (!(in[m->onnx.weights[k].var] = plain_to_prog(m->onnx.weights[k].value)))
            rc = TRINE_EXIT_FAIL;
    if (rc == 0 && (rc = prog_binds_set(m->binds, fwd, x, o->data, "train")) == 0)
        rc = plain_inputs(fwd, m->binds, in, o->dir, -1, NULL, "train");
    if (rc == 0)
        rc = cli_status(lib_train_derive(&tp, fwd, t, &err), &err, "train", TRINE_EXIT_FAIL);
    int y = rc ? -1 : lib_batch_var(&tp, 1);
    char path[4096];
    plain_t *pl = NULL;
    if (rc == 0) {
        plain_path(path, sizeof path, o->dir, "", o->labels, true);
        if (plain_read(&pl, path, &err) != TRINE_OK ||
            prog_text_set_shape(&tp, tp.vars[y].name, pl->ndim, pl->shape, &err) != TRINE_OK) {
            fprintf(stderr, "trine train: labels: %s\n", err.msg);
            rc = TRINE_EXIT_FAIL;
        } else if (!(in[y] = plain_to_prog(pl))) {
            rc = TRINE_EXIT_FAIL;
        }
    }
    /* the velocities and the loss sum start at zero */
    for (size_t i = fwd->nvars; rc == 0 && i < tp.nvars; i++) {
        const prog_var_t *v = &tp.vars[i];
        if (v->kind != PROG_VAR_INPUT)
            continue;
        prog_plain_t *z = calloc(1, sizeof *z);
        size_t n = 1;
        for (int d = 0; d < v->ndim; d++)
            n *= v->shape[d];
        if (!z || !(z->data = calloc(n, sizeof *z->data))) {
            free(z);
            rc = TRINE_EXIT_FAIL;
            break;
        }
        *z = (prog_plain_t){v->ndim, {1, 1, 1, 1}, n, z->data};
        memcpy(z->shape, v->shape, (size_t)v->ndim * sizeof *v->shape);
        in[i] = z;
    }
    if (rc == 0)
        rc = prog_check_sizes(&tp, o->batch, o->program, "train");
    /* --val-data: the validation program reads the epoch's weights (in,
     * borrowed) and its own data and labels (vin, loaded once) */
    prog_t vp = {0};
    wire_bind_t *vb = NULL;
    prog_plain_t **vin = NULL, vzero = {1, {1, 1, 1, 1}, 1, (double[]){0}};
    int vc = -1;
    if (rc == 0 && o->val_data &&
        (rc = cli_status(lib_val_derive(&vp, &vb, &vc, m, t, &err), &err, "train",
                         TRINE_EXIT_FAIL)) == 0 &&
        !(vin = calloc(PROG_VARS_MAX, sizeof *vin)))
        rc = TRINE_EXIT_FAIL;
    if (vin) {
        vin[vc] = &vzero;
        for (size_t i = 0; i < fwd->nvars; i++)
            vin[i] = fwd->vars[i].kind == PROG_VAR_INPUT ? in[i] : NULL;
        rc = plain_inputs(&vp, vb, vin, o->dir, -1, NULL, "train");
    }
    int loss = -1;
    for (size_t i = 0; i < tp.nvars; i++)
        if (!strcmp(tp.vars[i].name, PROG_GRAD_LOSS))
            loss = (int)i;
    for (uint64_t e = 1; rc == 0 && e <= o->epochs; e++) {
        progress_t bar;
        progress_init(&bar, false);
        uint64_t seed; /* a fresh order each epoch, as the parties draw */
        randombytes_buf(&seed, sizeof seed);
        prog_job_t job = {.prog = &tp,
                          .batch = (size_t)o->batch,
                          .epochs = 1,
                          .progress = progress_show,
                          .progress_arg = &bar,
                          .shuffle = o->shuffle,
                          .shuffle_seed = seed};
        if (prog_plain(&job, (const prog_plain_t *const *)in, out, &err) != TRINE_OK) {
            progress_end(&bar);
            fprintf(stderr, "trine train: %s\n", err.msg);
            rc = TRINE_EXIT_FAIL;
            break;
        }
        progress_end(&bar);
        if (loss >= 0)
            train_print_loss(e, o, out[loss]->data[0] *
                                       prog_grad_loss_scale(&tp, tp.vars[x].shape[0]));
        else
            printf("epoch %llu/%llu done\n", (unsigned long long)e, (unsigned long long)o->epochs);
        /* the weights and velocities carry over; the loss starts again */
        for (size_t i = 0; i < tp.nvars; i++) {
            if (!out[i])
                continue;
            if ((int)i == loss) {
                prog_plain_destroy(&out[i]);
                continue;
            }
            prog_plain_destroy(&in[i]);
            in[i] = out[i], out[i] = NULL;
        }
        if (vin)
            rc = val_plain(&vp, vin, in, fwd->nvars, vc, e, o);
    }
    for (size_t i = 0; rc == 0 && o->export_onnx && i < fwd->nvars; i++)
        if (tp.vars[i].output)
            rc = cli_status(lib_export_set(m, (int)i, in[i]->data, in[i]->size, &err), &err,
                            "train", TRINE_EXIT_FAIL);
    if (rc == 0 && o->export_onnx)
        rc = export_write(m, o);
    for (size_t i = 0; rc == 0 && i < fwd->nvars; i++) {
        if (!tp.vars[i].output)
            continue;
        plain_path(path, sizeof path, o->dir, o->prefix, tp.vars[i].name, false);
        plain_warn_nonfinite("train", tp.vars[i].name, in[i]);
        if (plain_write_npy(path, PLAIN_F8, in[i]->ndim, in[i]->shape, in[i]->data, &err) !=
            TRINE_OK) {
            fprintf(stderr, "trine train: %s\n", err.msg);
            rc = TRINE_EXIT_FAIL;
        } else {
            printf("wrote %s\n", path);
        }
    }
    for (size_t i = 0; in && out && i < PROG_VARS_MAX; i++)
        prog_plain_destroy(&in[i]), prog_plain_destroy(&out[i]);
    for (int k = 0; vin && k < 2; k++) /* the data and labels it loaded */
        prog_plain_destroy(&vin[lib_batch_var(&vp, k)]);
    free(in), free(out), free(vin), free(vb);
    prog_clear(&vp);
    plain_destroy(&pl);
    prog_clear(&tp);
    return rc;
}

/* The training's lines: "epoch e/E" before each job (of several epochs),
 * the job's report after it (and --stats after the last), each epoch's
 * validation accuracy and mean loss. */
static trine_status_t train_job(void *arg, session_t *s, uint64_t epoch, bool done)
{
    const prog_opts_t *o = arg;
    if (!done && o->epochs > 1)
        printf("epoch %llu/%llu\n", (unsigned long long)epoch, (unsigned long long)o->epochs);
    if (!done)
        return TRINE_OK;
    progress_end(session_bar(s));
    private_report(s);
    return epoch == o->epochs && o->stats && private_stats(s, o->stats, "train") ? TRINE_EIO
                                                                                  : TRINE_OK;
}

static void train_epoch(void *arg, uint64_t epoch, double loss, double correct, size_t rows)
{
    const prog_opts_t *o = arg;
    if (rows)
        train_print_accuracy(epoch, o, correct, rows);
    if (!isnan(loss))
        train_print_loss(epoch, o, loss);
}

/* lib_train_t of the command line's options. */
static lib_train_t train_of(prog_opts_t *o, session_t *s)
{
    return (lib_train_t){.model = o->program,
                         .data = o->data,
                         .labels = o->labels,
                         .binds = o->bind,
                         .nbinds = (size_t)o->nbind,
                         .loss = o->loss,
                         .optimizer = o->optimizer,
                         .lr = o->lr,
                         .momentum = o->momentum,
                         .weight_decay = o->weight_decay,
                         .class_labels = o->class_labels,
                         .val_data = o->val_data,
                         .val_labels = o->val_labels,
                         .export_onnx = o->export_onnx,
                         .run = s ? private_opts(o, s)
                                  : (lib_run_t){.path = o->program,
                                                .prefix = o->prefix,
                                                .batch = o->batch,
                                                .epochs = o->epochs},
                         .job = train_job,
                         .epoch = train_epoch,
                         .arg = o};
}

typedef struct {
    lib_model_t *m;
    const lib_train_t *t;
} private_train_t;

static trine_status_t private_train_job(session_t *s, void *arg)
{
    private_train_t *r = arg;
    return lib_train(s, r->m, r->t);
}

/* On the cluster: lib_train, then the weights' names. */
static int train_private(session_t *s, lib_model_t *m, prog_opts_t *o)
{
    lib_train_t t = train_of(o, s);
    private_train_t r = {m, &t};
    if (private_job(s, false, private_train_job, &r) != TRINE_OK)
        return session_fail(s, "train");
    if (o->export_onnx)
        printf("wrote %s, the model with its trained weights\n", o->export_onnx);
    for (size_t i = 0; i < m->fwd->nvars; i++)
        if (m->trained[i])
            printf("stored '%s%s'%s\n", o->prefix, m->fwd->vars[i].name,
                   o->to ? " for the recipient" : "");
    return 0;
}

static int train_forward(const client_opts_t *opts, prog_opts_t *o)
{
    if (!o->optimizer)
        o->optimizer = "sgd";
    lib_train_t t = train_of(o, NULL);
    trine_err_t err;
    if (lib_train_check(&t, &err) != TRINE_OK)
        return verb_usage_error("train", err.msg);
    lib_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return TRINE_EXIT_FAIL;
    int rc = cli_status(lib_model_load(m, &t, &err), &err, "train", TRINE_EXIT_FAIL);
    if (rc == 0 && m->dropped_argmax)
        printf("training the scores before %s's final argmax\n", o->program);
    session_t s;
    if (rc == 0 && o->plaintext)
        rc = train_plain(m, &t, o);
    else if (rc == 0 && !session_open(&s, opts, "train"))
        rc = TRINE_EXIT_FAIL;
    else if (rc == 0) {
        rc = train_private(&s, m, o);
        session_close(&s);
    }
    lib_model_clear(m);
    free(m);
    return rc;
}

int verb_train(const client_opts_t *opts, int argc, char **argv)
{
    prog_opts_t o;
    int rc = prog_args(&o, argc, argv, "train");
    if (rc >= 0)
        return rc;
    if (!o.data || !o.labels)
        return verb_usage_error("train", "name the --data and --labels tensors");
    /* Files in plaintext; on the cluster a fresh prefix by default, as a
     * fixed one would be taken by the last run. */
    char prefix[WIRE_NAME_MAX + 1];
    if (!o.prefix[0] && o.plaintext) {
        o.prefix = "trained_";
    } else if (!o.prefix[0]) {
        uint32_t tag;
        randombytes_buf(&tag, sizeof tag);
        snprintf(prefix, sizeof prefix, "trained-%08x-", tag);
        o.prefix = prefix;
    }
    if (o.loss)
        return train_forward(opts, &o);
    if (o.optimizer || o.lr > 0 || o.class_labels || o.val_data || o.val_labels || o.export_onnx)
        return verb_usage_error(
            "train", "--optimizer, --lr, --class-labels and --val-data come with --loss");
    prog_t prog = {0};
    wire_bind_t *binds = NULL;
    lib_train_t t = train_of(&o, NULL);
    trine_err_t err;
    if (lib_train_program(&prog, &binds, &t, &err) != TRINE_OK)
        rc = cli_status(err.code, &err, "train", /* a binding's fault: usage */
                        err.code == TRINE_EINVAL && prog.nvars ? TRINE_EXIT_USAGE
                                                               : TRINE_EXIT_FAIL);
    else {
        session_t s;
        if (o.plaintext)
            rc = plain_run(&prog, binds, &o, "train", -1, -1, NULL);
        else if (!session_open(&s, opts, "train"))
            rc = TRINE_EXIT_FAIL;
        else {
            rc = private_run(&s, &prog, binds, &o, "train");
            for (size_t i = 0; rc == 0 && i < prog.nvars; i++)
                if (prog.vars[i].output)
                    printf("stored '%s%s'%s\n", o.prefix, prog.vars[i].name,
                           o.to ? " for the recipient" : "");
            session_close(&s);
        }
    }
    free(binds);
    prog_clear(&prog);
    return rc;
}
