/* trine.c — the client tool: `trine [-c CONFIG] [-i KEY] VERB ...`.
 *
 * main() reads the global options, then hands the rest of the command line
 * to the verb's function from one table. Verbs that talk to the cluster
 * open a session (config, key, connections) first. Exit codes: 0 success,
 * 1 the operation failed, 2 the command line is wrong.
 */
#include "daemon/client/cli.h"
#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "daemon/common/log.h"
#include "tensor/plain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(WIRE_NAME_MAX == 64, "CLI_NAME_RULE says 64");

typedef int (*verb_fn)(const client_opts_t *opts, int argc, char **argv);

typedef struct {
    const char *name;
    verb_fn run;
    const char *usage;
    const char *summary;
} verb_t;

static int verb_keygen(const client_opts_t *opts, int argc, char **argv);
static int verb_status(const client_opts_t *opts, int argc, char **argv);
static int verb_share(const client_opts_t *opts, int argc, char **argv);
static int verb_ls(const client_opts_t *opts, int argc, char **argv);
static int verb_rm(const client_opts_t *opts, int argc, char **argv);
static int verb_reveal(const client_opts_t *opts, int argc, char **argv);

static const verb_t verbs[] = {
    {"keygen", verb_keygen, "keygen [--dir DIR] NAME...",
     "write CurveZMQ key pairs DIR/NAME.pub and DIR/NAME.key (mode 0600); DIR\n"
     "                     defaults to the current directory and is made if missing"},
    {"status", verb_status, "status",
     "each party: up, version, uptime, your tensors and their bytes against its\n"
     "                     memory limit, and how it sees the others; then your running jobs"},
    {"jobs", verb_jobs, "jobs",
     "your running jobs: id, state, step, time, and the parties that run it"},
    {"cancel", verb_cancel, "cancel ID", "stop your running job ID on every party (nothing is stored)"},
    {"share", verb_share, "share NAME FILE.npy|FILE.csv [--fixed]",
     "read a tensor (a .csv may start with a header row of column names), encode\n"
     "                     floats in fixed point (integers stay integers; --fixed makes them\n"
     "                     fixed point too, as programs want: 0/1 labels), split it with a\n"
     "                     CSPRNG and store share 0 on party0, share 1 on party1; any size:\n"
     "                     a .npy file (or pipe) is read and sent in parts below max_message"},
    {"ls", verb_ls, "ls",
     "list the tensors you own, with the programs you approved for others, and\n"
     "                     those others approved for you, with the program and input"},
    {"rm", verb_rm, "rm NAME", "delete a tensor you own; the parties wipe its shares"},
    {"grant", verb_grant, "grant NAME CLIENT.pub --program FILE [--slot VAR] [--batch N] "
                          "[--epochs E] [--shuffle] [--outputs-to KEY.pub] | --any-program",
     "approve exactly one program (a program file or ONNX model, hashed as the\n"
     "                     parties hash the jobs they run) reading NAME as its input VAR\n"
     "                     (default NAME) for the client with this key; every other job of\n"
     "                     that client reading NAME is refused. --batch and --epochs (default\n"
     "                     128 and 1) and --shuffle (train --shuffle) count for programs\n"
     "                     that mix rows, as training does.\n"
     "                     --outputs-to: only jobs whose outputs go to KEY (run --to).\n"
     "                     --any-program lets the client run ANY program on NAME, one that\n"
     "                     copies it too: it can then learn NAME; use it only for that"},
    {"revoke", verb_revoke,
     "revoke NAME CLIENT.pub [--program FILE [--batch N] [--epochs E] [--shuffle]]",
     "withdraw your approvals of NAME for that client (only that program's with\n"
     "                     --program); jobs that start afterwards are refused"},
    {"reveal", verb_reveal, "reveal NAME [-o OUT.npy]",
     "fetch both shares of a tensor you own and reconstruct it: to OUT.npy\n"
     "                     (float64 for fixed point, int64 for integers), else printed"},
    {"run", verb_run, "run PROGRAM [--plaintext] [--dir DIR] [--batch N] [--epochs E] "
                      "[--prefix P] [--bind VAR=NAME]... [--to CLIENT.pub]",
     "run a program (a text file, see examples/) on the cluster; its inputs are\n"
     "                     tensors you own or whose owners approved this program for you\n"
     "                     (--bind VAR=NAME reads tensor NAME as input VAR), its outputs are\n"
     "                     stored as P+name, owned by you, or with --to by that client alone\n"
     "                     (then you cannot reveal them). --plaintext runs it here on doubles\n"
     "                     instead, reading DIR/NAME.npy and writing DIR/P+name.npy (DIR\n"
     "                     defaults to .). run, infer and train take --to and --stats FILE:\n"
     "                     the job's time, bytes per party and rounds as KEY=VALUE lines"},
    {"infer", verb_infer, "infer --model MODEL --input NAME|FILE.npy [-o OUT.npy] [--batch N] "
                          "[--keep] [--prefix P] [--bind VAR=NAME]... [--to CLIENT.pub] "
                          "[--stats FILE] [--plaintext] [--dir DIR]",
     "run a model program, or an ONNX model (MODEL.onnx), over the rows of one\n"
     "                     input, batch by batch (default 128), and reveal its output to\n"
     "                     you: to OUT.npy, else printed. A FILE.npy input is shared for the\n"
     "                     job and removed after it; the stored output too, unless --keep\n"
     "                     (its name, P+name, is printed). With --to the output is stored\n"
     "                     for that client, not revealed.\n"
     "                     An ONNX model's weights are shared for the job, unless the model\n"
     "                     came from share-model: then the stored ones are used"},
    {"share-model", verb_share_model, "share-model MODEL.onnx PREFIX [--grant CLIENT.pub]... "
                                      "[-o PUBLIC.onnx]",
     "share an ONNX model's weights as PREFIX+name, owned by you, and approve\n"
     "                     exactly this model's graph reading them for each CLIENT.pub; write\n"
     "                     the graph without them to PUBLIC.onnx (default MODEL.public.onnx),\n"
     "                     for data owners to run with infer --model (a changed graph is\n"
     "                     refused)"},
    {"train", verb_train, "train --model PROGRAM --data NAME[,NAME...] --labels NAME[,NAME...] "
                          "[--epochs E] [--batch N] [--prefix P] [--bind VAR=NAME]... [--to "
                          "CLIENT.pub] [--plaintext] [--dir DIR] [--loss L --lr R "
                          "[--optimizer O] [--momentum M] [--weight-decay W] [--class-labels] "
                          "[--val-data NAME --val-labels NAME] [--export OUT.onnx]] [--shuffle]",
     "run a training program over the rows of data and labels for E epochs\n"
     "                     (default 1); several tensors (of several owners) are stacked row\n"
     "                     by row. The updated weights are stored as P+name (default prefix\n"
     "                     'trained-XXXXXXXX-', printed), or written to DIR/P+name.npy with\n"
     "                     --plaintext (default prefix 'trained_'). --shuffle: each epoch\n"
     "                     takes the rows in a fresh order that party0 and party1 draw from\n"
     "                     the seed they share (no one else knows it).\n"
     "                     With --loss mse|bce|cross-entropy PROGRAM is the forward model\n"
     "                     (.prog or .onnx) and trine derives the training program: --optimizer\n"
     "                     sgd|momentum|adam (sgd), --lr R, --momentum M (0.9), --weight-decay\n"
     "                     W (0); one job per epoch, printing its mean training loss. adam:\n"
     "                     PyTorch's (betas 0.9, 0.999) while a weight's batch gradient has\n"
     "                     a root mean square from about 1/16 to 11, its root's domain; a\n"
     "                     rsqrt per weight and step (README: Training).\n"
     "                     --class-labels (cross-entropy): labels are a column of class\n"
     "                     indices, turned into one-hot rows by the program. --val-data and\n"
     "                     --val-labels: after each epoch, the share of those rows whose\n"
     "                     largest score is their label's (only the count is revealed).\n"
     "                     --export OUT.onnx (an ONNX model): the model with its trained\n"
     "                     weights, revealed to you"},
    {"bench", verb_bench, "bench BENCH.ini [--json FILE] [--csv FILE] [--plot DIR]",
     "measure the operations and networks BENCH.ini lists (config/bench-*.ini) on\n"
     "                     its cluster or on three local parties started for the run: time,\n"
     "                     bytes per party, rounds, beside SecureNN's formulas; MP-SPDZ\n"
     "                     summary lines; JSON and CSV records; PNG charts with gnuplot"},
    {"onnx-test", verb_onnx_test, "onnx-test [--local] [--frac-bits F] [--atol A] [--rtol R] DIR...",
     "run ONNX backend test folders (model.onnx, test_data_set_N/*.pb) through\n"
     "                     the parties and compare with their expected outputs; pass, fail\n"
     "                     and skip (with the reason) per folder, then the counts"},
};
#define VERB_COUNT (sizeof verbs / sizeof verbs[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: trine [-c CLUSTER.ini] [-i CLIENT_KEY] VERB [ARGS]\n\n"
               "The client of a trine cluster.\n\n"
               "options:\n"
               "  -c FILE            cluster configuration (default: $TRINE_CONFIG)\n"
               "  -i FILE            this client's secret key (default: $TRINE_KEY)\n"
               "  -h, --help         show this help (trine VERB --help: that verb's)\n"
               "  --version          print the version\n\n"
               "verbs:\n");
    for (size_t i = 0; i < VERB_COUNT; i++)
        fprintf(f, "  %s\n                     %s\n", verbs[i].usage, verbs[i].summary);
    fprintf(f, "\nexit status: 0 success, 1 the operation failed, 2 bad command line\n");
}

int verb_usage_error(const char *verb, const char *msg)
{
    for (size_t i = 0; i < VERB_COUNT; i++)
        if (!strcmp(verbs[i].name, verb))
            fprintf(stderr, "trine %s: %s\nusage: trine %s\n", verb, msg, verbs[i].usage);
    return TRINE_EXIT_USAGE;
}

static int verb_keygen(const client_opts_t *opts, int argc, char **argv)
{
    (void)opts;
    const char *dir = ".";
    int first = 1;
    while (first < argc && argv[first][0] == '-') {
        if (!strcmp(argv[first], "--dir") && first + 1 < argc) {
            dir = argv[first + 1];
            first += 2;
        } else if (!strcmp(argv[first], "--")) {
            first++;
            break;
        } else {
            return verb_usage_error("keygen", "unknown option or missing value");
        }
    }
    if (first == argc)
        return verb_usage_error("keygen", "name at least one key pair");
    for (int i = first; i < argc; i++)
        if (!keys_name_valid(argv[i]))
            return verb_usage_error("keygen", "key names are 1-64 letters, digits, '_', '-' "
                                              "or '.', not starting with '.'");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "trine keygen: cannot make %s: %s\n", dir, strerror(errno));
        return TRINE_EXIT_FAIL;
    }
    for (int i = first; i < argc; i++) {
        trine_err_t err;
        if (keys_generate(dir, argv[i], &err) != TRINE_OK) {
            fprintf(stderr, "trine keygen: %s\n", err.msg);
            return TRINE_EXIT_FAIL;
        }
        printf("%s/%s.pub\n%s/%s.key\n", dir, argv[i], dir, argv[i]);
    }
    return 0;
}

/* ---- talking to the cluster ------------------------------------------- */

int cli_status(trine_status_t st, const trine_err_t *err, const char *verb, int rc)
{
    if (st == TRINE_OK)
        return 0;
    fprintf(stderr, "trine %s: %s\n", verb, err->msg);
    return rc;
}

/* The command line's warnings: on stderr under the verb's name. */
static void session_warning(void *verb, const char *msg)
{
    fprintf(stderr, "trine %s: %s\n", (const char *)verb, msg);
}

/* The command line's progress: a bar on a terminal (progress_show), a new
 * one when an operation turns from bytes to steps or back (infer shares,
 * runs, reveals); a job is cancelled once Ctrl-C was pressed (cli_prog.c's
 * handler sets the client's cancel flag directly). */
static int session_progress(void *arg, trine_progress_t what, uint64_t done, uint64_t total)
{
    progress_t *bar = arg;
    bool bytes = what == TRINE_PROGRESS_BYTES, tty = bar->tty;
    if (bar->bytes != bytes) {
        progress_end(bar);
        progress_init(bar, bytes);
        bar->tty = tty; /* a quiet operation stays quiet */
    }
    progress_show(bar, done, total);
    return 0;
}

bool session_open(session_t *s, const client_opts_t *opts, const char *verb)
{
    if (!opts->config || !opts->key) {
        memset(s, 0, sizeof *s);
        fprintf(stderr, "trine %s: %s\n", verb,
                !opts->config ? "no cluster config: pass -c CLUSTER.ini or set TRINE_CONFIG"
                              : "no client key: pass -i KEY or set TRINE_KEY");
        return false;
    }
    progress_t *bar = calloc(1, sizeof *bar);
    if (lib_open(s, opts->config, opts->key) != TRINE_OK || !bar) {
        if (!bar)
            fprintf(stderr, "trine %s: out of memory\n", verb);
        else
            (void)session_fail(s, verb);
        free(bar);
        lib_close(s);
        return false;
    }
    trine_set_warning(s, session_warning, (void *)verb);
    trine_set_progress(s, session_progress, bar);
    return true;
}

void session_close(session_t *s)
{
    free(s->progress_arg);
    lib_close(s);
}

progress_t *session_bar(session_t *s)
{
    return s->progress_arg;
}

int session_fail(session_t *s, const char *verb)
{
    for (const char *l = s->err; *l;) {
        size_t n = strcspn(l, "\n");
        fprintf(stderr, "trine %s: %.*s\n", verb, (int)n, l);
        l += n + (l[n] == '\n');
    }
    lib_begin(s);
    return TRINE_EXIT_FAIL;
}

void session_report(session_t *s, const char *verb, unsigned mask)
{
    lib_begin(s);
    (void)lib_fail_parties(s, mask);
    (void)session_fail(s, verb);
}

trine_status_t session_call(session_t *s, unsigned mask, const wire_request_t *q)
{
    return lib_call(s, mask, q);
}

static int verb_status(const client_opts_t *opts, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return verb_usage_error("status", "takes no arguments");
    session_t s;
    if (!session_open(&s, opts, "status"))
        return TRINE_EXIT_FAIL;
    wire_request_t q = {.op = WIRE_OP_STATUS};
    static const char *const states[] = {"?", "self", "up", "down", "MISMATCH"};
    int rc = session_call(&s, 7, &q) == TRINE_OK ? 0 : TRINE_EXIT_FAIL;
    printf("cluster '%s' (%s)\n", s.cluster.cfg.name, s.cluster.cfg.path);
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        const wire_reply_t *r = &s.res[p].reply;
        if (s.res[p].code != TRINE_OK) {
            printf("party%d  down    %s\n", p, s.res[p].msg);
            continue;
        }
        char used[LOG_BYTES_CHARS], limit[LOG_BYTES_CHARS];
        printf("party%d  up      trine %s, up %llu s, %llu tensors of yours, %s of %s, sees", p,
               r->software,
               (unsigned long long)(r->uptime_ms / 1000), (unsigned long long)r->tensors,
               log_bytes(used, r->bytes), log_bytes(limit, r->memory_limit));
        for (int o = 0; o < CONFIG_PARTIES; o++) {
            if (o == p)
                continue;
            printf(" party%d %s", o, states[r->peers[o] <= 4 ? r->peers[o] : 0]);
            if (r->peers[o] != WIRE_PEER_UP)
                rc = TRINE_EXIT_FAIL;
        }
        printf("\n");
    }
    (void)session_print_jobs(&s, NULL);
    session_close(&s);
    return rc;
}

void session_rm(session_t *s, const char *name)
{
    lib_begin(s);
    lib_rm_after(s, name); /* its failures are warnings, printed under the verb */
}

static int verb_share(const client_opts_t *opts, int argc, char **argv)
{
    const char *name = NULL, *file = NULL;
    bool fixed = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--fixed"))
            fixed = true;
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            return verb_usage_error("share", "unknown option or extra argument");
    }
    if (!name || !file)
        return verb_usage_error("share", "give a tensor name and a .npy or .csv file");
    if (!wire_name_valid(name))
        return verb_usage_error("share", CLI_NAME_RULE);
    session_t s;
    int rc = TRINE_EXIT_FAIL;
    if (session_open(&s, opts, "share")) {
        rc = session_share_file(&s, name, file, fixed, "share", false);
        session_close(&s);
    }
    return rc;
}

/* One line of `ls`, ending with note, then a line per approval. */
static void ls_print(const trine_entry_t *t)
{
    char shape[LOG_SHAPE_CHARS];
    if (t->missing == 0) {
        printf("%-24s (INCOMPLETE: party0 has no share; rm it)\n", t->name);
        return;
    }
    printf("%-24s %s %s", t->name, log_shape(shape, t->ndim, t->shape),
           t->fixed ? "fixed" : "int");
    if (t->fixed)
        printf("(%u)", t->frac_bits);
    if (t->mine)
        printf(" owned");
    else
        printf(" owned by %.8s..., approved for you", t->owner);
    printf("%s\n", t->missing == 1 ? " (INCOMPLETE: party1 has no share; rm it)" : "");
    for (size_t i = 0; i < t->napprovals; i++) {
        const trine_approval_t *a = &t->approvals[i];
        if (a->any)
            printf("    %.8s... may run ANY program on it (it can learn it)\n", a->grantee);
        else
            printf("    %.8s... may run program %.16s... with it as input '%s'%s%.8s%s\n",
                   a->grantee, a->program, a->slot, a->outputs_to[0] ? ", outputs to " : "",
                   a->outputs_to, a->outputs_to[0] ? "..." : "");
    }
}

static int verb_ls(const client_opts_t *opts, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return verb_usage_error("ls", "takes no arguments");
    session_t s;
    if (!session_open(&s, opts, "ls"))
        return TRINE_EXIT_FAIL;
    trine_list_t l;
    int rc = 0;
    if (trine_ls(&s, &l) != TRINE_CODE_OK)
        rc = session_fail(&s, "ls");
    for (size_t i = 0; i < l.count; i++)
        ls_print(&l.entries[i]);
    trine_list_free(&l);
    session_close(&s);
    return rc;
}

static int verb_rm(const client_opts_t *opts, int argc, char **argv)
{
    if (argc != 2)
        return verb_usage_error("rm", "give the name of one tensor");
    if (!wire_name_valid(argv[1]))
        return verb_usage_error("rm", CLI_NAME_RULE);
    session_t s;
    if (!session_open(&s, opts, "rm"))
        return TRINE_EXIT_FAIL;
    int rc = 0;
    if (trine_rm(&s, argv[1]) != TRINE_CODE_OK)
        rc = session_fail(&s, "rm");
    else
        printf("removed '%s'\n", argv[1]);
    session_close(&s);
    return rc;
}

static int verb_reveal(const client_opts_t *opts, int argc, char **argv)
{
    const char *name = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return verb_usage_error("reveal", "unknown option or extra argument");
    }
    if (!name)
        return verb_usage_error("reveal", "give the name of one tensor");
    if (!wire_name_valid(name))
        return verb_usage_error("reveal", CLI_NAME_RULE);
    session_t s;
    if (!session_open(&s, opts, "reveal"))
        return TRINE_EXIT_FAIL;
    int rc = session_reveal(&s, name, out, false, "reveal");
    session_close(&s);
    return rc;
}

int main(int argc, char **argv)
{
    client_opts_t opts = {getenv("TRINE_CONFIG"), getenv("TRINE_KEY")};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("trine %s (wire protocol %d)\n", TRINE_VERSION, WIRE_VERSION);
            return 0;
        }
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "-i")) && i + 1 < argc) {
            *(argv[i][1] == 'c' ? &opts.config : &opts.key) = argv[i + 1];
            i++;
            continue;
        }
        fprintf(stderr, "trine: unknown option '%s' or missing value\n", argv[i]);
        usage(stderr);
        return TRINE_EXIT_USAGE;
    }
    if (i == argc) {
        usage(stderr);
        return TRINE_EXIT_USAGE;
    }
    for (size_t v = 0; v < VERB_COUNT; v++) {
        if (strcmp(argv[i], verbs[v].name))
            continue;
        if (i + 1 < argc && (!strcmp(argv[i + 1], "-h") || !strcmp(argv[i + 1], "--help"))) {
            printf("usage: trine [-c CLUSTER.ini] [-i CLIENT_KEY] %s\n\n", verbs[v].usage);
            for (const char *l = verbs[v].summary; *l;) { /* without the list's indent */
                l += strspn(l, " ");
                size_t n = strcspn(l, "\n");
                printf("%.*s\n", (int)n, l);
                l += n + (l[n] == '\n');
            }
            return 0;
        }
        return verbs[v].run(&opts, argc - i, argv + i);
    }
    fprintf(stderr, "trine: unknown verb '%s'; 'trine --help' lists them\n", argv[i]);
    return TRINE_EXIT_USAGE;
}
