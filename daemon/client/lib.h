/* lib.h — libtrine's inside: the client behind trine.h, and the
 * operations the `trine` program (cli_*.c) calls beside the public ones.
 *
 * Every operation here reports failure as trine.h's functions do: a
 * status, and a message in s->err (lib_fail appends a line); none prints.
 * The command line prints s->err under its verb's name (cli.h).
 */
#ifndef TRINE_LIB_H
#define TRINE_LIB_H

#include "daemon/client/client.h"
#include "daemon/client/trine.h"
#include "daemon/common/cluster.h"
#include "daemon/models/onnx_compile.h"
#include "tensor/plain.h"

#include <signal.h>
#include <stdbool.h>

#define LIB_ERR_MAX 4096

#define SHARE_PARTIES 3u /* party0 and party1 hold the shares */

struct trine_client {
    cluster_t cluster;
    client_t *client;
    client_result_t res[CONFIG_PARTIES];
    trine_status_t code;   /* the last operation's */
    char err[LIB_ERR_MAX]; /* its message: lines joined by '\n' */
    trine_progress_fn progress;
    void *progress_arg;
    trine_warning_fn warning;
    void *warning_arg;
    volatile sig_atomic_t cancel; /* set: the running job is cancelled */
    bool reported;                /* report holds the last job's */
    trine_report_t report;
};

/* Loads config and key (paths) into s, zeroed first, and makes its
 * client; s must not move afterwards. On failure s holds the message
 * and lib_close still applies. */
TRINE_NODISCARD trine_status_t lib_open(struct trine_client *s, const char *config,
                                        const char *key);

/* Closes and frees what s holds (not s itself); s is zeroed. */
void lib_close(struct trine_client *s);

/* Starts an operation: clears the last one's status and message. */
void lib_begin(struct trine_client *s);

/* lib_begin for a trine.h function: a NULL client, or NULL for one of a
 * and b (the arguments it cannot do without; s for none), is TRINE_EINVAL;
 * a client that failed to connect refuses with the reason it failed (its
 * status, message kept). */
TRINE_NODISCARD trine_status_t lib_enter(struct trine_client *s, const void *a, const void *b);

/* Appends a line to s's message, records code when it is the first
 * failure, and returns code. */
trine_status_t lib_fail(struct trine_client *s, trine_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* lib_fail of what each failing party of mask said in s->res (once when
 * party0 and party1 said the same); returns the first failure's code. */
trine_status_t lib_fail_parties(struct trine_client *s, unsigned mask);

/* Hands a formatted warning to s's warning callback, if any. */
void lib_warn(struct trine_client *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tells s's progress callback (if any) done of total; returns its answer. */
int lib_progress(struct trine_client *s, trine_progress_t what, uint64_t done, uint64_t total);

/* One request, the same to every party in mask (bit p: party p). */
TRINE_NODISCARD trine_status_t lib_call(struct trine_client *s, unsigned mask,
                                        const wire_request_t *q);

/* ---- lib_stream.c: tensors in parts of at most one message ------------- */

/* Shares pl (read from file, for messages) as name. */
TRINE_NODISCARD trine_status_t lib_share(struct trine_client *s, const char *name,
                                         const plain_t *pl, const char *file);

/* Shares the .npy (a part at a time) or .csv file at path as name; fixed:
 * integers become fixed point too. *info (may be NULL) gets the file's
 * dtype, shape and count (no values). */
TRINE_NODISCARD trine_status_t lib_share_file(struct trine_client *s, const char *name,
                                              const char *path, bool fixed, plain_t *info);

/* Shares t (trine.h) as name, converting a part at a time. */
TRINE_NODISCARD trine_status_t lib_share_tensor(struct trine_client *s, const char *name,
                                                const trine_tensor_t *t, bool fixed);

/* Told each reconstructed part of the tensor t: elements at..at+n-1.
 * Non-zero stops the reveal (the callee has said why with lib_fail). */
typedef trine_status_t (*lib_part_fn)(void *arg, const wire_tensor_info_t *t, size_t at,
                                      const uint64_t *x, size_t n);

/* Where a reveal goes: a .npy file, each part to a function, or memory. */
typedef struct {
    const char *path;
    lib_part_fn each;
    void *arg;
    trine_tensor_t *mem;
    bool integers; /* a fixed-point tensor of whole numbers: int64 */
} lib_sink_t;

/* Reconstructs the tensor name into sink; warns of values at the ring's
 * edge. */
TRINE_NODISCARD trine_status_t lib_reveal(struct trine_client *s, const char *name,
                                          const lib_sink_t *sink);

/* Reconstructs the tensor name: *values (count of info's shape, malloc'd;
 * the caller wipes and frees it) and its description. */
TRINE_NODISCARD trine_status_t lib_fetch(struct trine_client *s, const char *name,
                                         uint64_t **values, wire_tensor_info_t *info);

/* ---- lib_store.c: the store and the jobs --------------------------------- */

/* Removes name from party0 and party1; a share gone from one only is
 * what rm wants. */
TRINE_NODISCARD trine_status_t lib_rm(struct trine_client *s, const char *name);

/* Removes name after an operation, failed or not: a failure becomes a
 * warning, s's status is kept. */
void lib_rm_after(struct trine_client *s, const char *name);

/* The approval request of grant (op WIRE_OP_GRANT) or revoke into *q, and
 * sends it. */
TRINE_NODISCARD trine_status_t lib_grant(struct trine_client *s, wire_op_t op, const char *name,
                                         const char *grantee, const trine_grant_t *g,
                                         wire_request_t *q);

/* Cancels job id; *everywhere: every party said it stopped it. */
TRINE_NODISCARD trine_status_t lib_cancel(struct trine_client *s, uint64_t id, bool *everywhere);

/* ---- lib_run.c: programs and models ------------------------------------------- */

/* Compiles the text program in the file path. */
TRINE_NODISCARD trine_status_t lib_prog_text_file(prog_t *prog, const char *path,
                                                  trine_err_t *err);

/* Compiles a program file: a text program, or an ONNX model (PATH.onnx)
 * whose weights are named as the model says (their values stay behind). */
TRINE_NODISCARD trine_status_t lib_prog_file(prog_t *prog, const char *path, trine_err_t *err);

/* True for a path that names an ONNX model (PATH.onnx). */
bool lib_is_onnx(const char *path);

/* The policy hash a job of prog with batch, epochs and shuffle gets on
 * cluster c (prog_wire_policy_hash). */
TRINE_NODISCARD trine_status_t lib_policy_hash(uint8_t out[WIRE_PROGRAM_HASH_BYTES],
                                               const prog_t *prog, const cluster_t *c,
                                               uint64_t batch, uint64_t epochs, bool shuffle,
                                               trine_err_t *err);

/* Binds input var of prog to the tensors names lists (one, or several
 * comma-separated for a batch input, whose rows are stacked), into
 * binds[var]. TRINE_EINVAL says why. */
TRINE_NODISCARD trine_status_t lib_binds_set(wire_bind_t *binds, const prog_t *prog, int var,
                                             const char *names, trine_err_t *err);

/* lib_binds_set for each "VAR=NAME" of args. */
TRINE_NODISCARD trine_status_t lib_bind(const prog_t *prog, wire_bind_t *binds,
                                        const char *const *args, size_t n, trine_err_t *err);

/* The index of the k-th batch input of prog (0-based), or -1. */
int lib_batch_var(const prog_t *prog, int k);

/* The one output of prog (an inference program's), or -1. */
int lib_single_output(const prog_t *prog);

/* Checks prog's shapes for every batch size a job of batch rows a step
 * will see; a message at "line L col C" of the text program path (or
 * NULL) becomes "PATH:L:C". A program without outputs is refused: its job
 * would keep nothing. */
TRINE_NODISCARD trine_status_t lib_check_sizes(const prog_t *prog, uint64_t batch,
                                               const char *path, trine_err_t *err);

/* Fills q->bind (allocated; the caller frees it) and q->nbind with one
 * entry per input and batch input of prog, in variable order: binds[i]
 * when binds is not NULL and binds[i] names tensors, else the variable's
 * own name. TRINE_ENOMEM. */
TRINE_NODISCARD trine_status_t lib_run_binds(wire_request_t *q, const prog_t *prog,
                                             const wire_bind_t *binds, trine_err_t *err);

/* Fills the shapes of prog's inputs from party0's listing of the tensors
 * binds (NULL: each input's own name) names. */
TRINE_NODISCARD trine_status_t lib_input_shapes(struct trine_client *s, prog_t *prog,
                                                const wire_bind_t *binds);

/* A job as lib_run runs it. */
typedef struct {
    const char *path; /* the program's file, for messages, or NULL */
    const char *prefix, *to;
    uint64_t batch, epochs;
    bool shuffle;
    client_busy_fn busy; /* told of each pause while the parties are busy, or NULL */
    void *busy_arg;
} lib_run_t;

/* Runs prog on the cluster, its inputs bound by binds (NULL: each its
 * own name); the outputs are stored as prefix + name, owned by the caller
 * or by o->to; outputs some parties stored when others failed are
 * removed. s->report (and s->res) hold the job's figures. */
TRINE_NODISCARD trine_status_t lib_run(struct trine_client *s, prog_t *prog,
                                       const wire_bind_t *binds, const lib_run_t *o);

/* The ONNX model's compiled weights shared under their names (on failure
 * removed again), and removed. */
TRINE_NODISCARD trine_status_t lib_share_weights(struct trine_client *s, const onnx_prog_t *op);
void lib_rm_weights(struct trine_client *s, const onnx_prog_t *op, size_t count);

/* An inference as lib_infer runs it: the model (a program file or .onnx),
 * its input (a stored tensor, a .npy file or a tensor in memory), binds
 * of a text program, the job, and where the output goes. */
typedef struct {
    const char *model;
    const char *input_name;          /* or */
    const char *input_file;          /* or */
    const trine_tensor_t *input_mem;
    const char *const *binds;
    size_t nbinds;
    lib_run_t run;
    bool keep; /* the stored output stays (its name in lib_infer's out) */
    /* Told once the job succeeded, before the reveal (may be NULL); a
     * failure it returns (having said why) ends the inference. */
    trine_status_t (*ran)(struct trine_client *s, void *arg);
    void *ran_arg;
} lib_infer_t;

/* Runs an inference; the output, unless it went to o->run.to, is revealed
 * into sink (an ONNX ArgMax as integers). outname gets the output's
 * stored name. */
TRINE_NODISCARD trine_status_t lib_infer(struct trine_client *s, lib_infer_t *o,
                                         const lib_sink_t *sink,
                                         char outname[WIRE_NAME_MAX + 1]);

/* ---- lib_train.c: training ---------------------------------------------------- */

/* A training as lib_train runs it. */
typedef struct {
    const char *model;                 /* the forward model (.prog or .onnx); without a
                                          loss, a training program */
    const char *data, *labels;         /* NAME[,NAME...] each */
    const char *const *binds;          /* "VAR=NAME" of a text model */
    size_t nbinds;
    const char *loss, *optimizer;      /* prog_grad.h's names; optimizer NULL: sgd */
    double lr, momentum, weight_decay;
    bool class_labels;                 /* cross-entropy labels are class indices */
    const char *val_data, *val_labels; /* validation rows after each epoch, or NULL */
    const char *export_onnx;           /* the trained ONNX model written here, or NULL */
    lib_run_t run;                     /* prefix: the trained weights' names; epochs */
    /* Told before (done false) and after (done true, s->report the job's)
     * each epoch's job; a failure it returns (having said why) stops the
     * training. May be NULL. */
    trine_status_t (*job)(void *arg, struct trine_client *s, uint64_t epoch, bool done);
    /* Told each epoch's mean loss (NAN when unknown: outputs to another
     * client) and validation count, correct of rows (rows 0: none). */
    void (*epoch)(void *arg, uint64_t epoch, double loss, double correct, size_t rows);
    void *arg;
} lib_train_t;

/* A forward model loaded for training: a text program's weights bound
 * to their names (or binds), an ONNX model's to PREFIX "init-" NAME once
 * shared. Its variables are named as in the file (an ONNX weight by its
 * initializer), whatever the run's prefix, so that the training program
 * and its hash depend on the model, the options and the shapes alone. */
typedef struct {
    prog_t text;
    onnx_prog_t onnx;
    prog_t *fwd;
    wire_bind_t binds[PROG_VARS_MAX];
    bool is_onnx;
    bool dropped_argmax; /* the ONNX model's final ArgMax was left out */
    bool trained[PROG_VARS_MAX]; /* after lib_train: the weights it stored */
    onnx_model_t model;  /* export_onnx: the file's model, to hold the trained weights */
} lib_model_t;

/* Checks t's loss, optimizer and rates, and that its options go together. */
TRINE_NODISCARD trine_status_t lib_train_check(const lib_train_t *t, trine_err_t *err);

/* Loads t->model into m (zeroed first by the caller; lib_model_clear). */
TRINE_NODISCARD trine_status_t lib_model_load(lib_model_t *m, const lib_train_t *t,
                                              trine_err_t *err);
void lib_model_clear(lib_model_t *m);

/* The training program of fwd with t's loss and optimizer into tp. */
TRINE_NODISCARD trine_status_t lib_train_derive(prog_t *tp, const prog_t *fwd,
                                                const lib_train_t *t, trine_err_t *err);

/* The validation program of m (prog_grad_validation) and its binds: the
 * validation data and labels (no weights yet); its PROG_GRAD_CORRECT
 * variable in *c. */
TRINE_NODISCARD trine_status_t lib_val_derive(prog_t *vp, wire_bind_t **vb, int *c,
                                              const lib_model_t *m, const lib_train_t *t,
                                              trine_err_t *err);

/* export_onnx: the trained value of weight var (count doubles) into m's
 * model; the model written to path. */
TRINE_NODISCARD trine_status_t lib_export_set(lib_model_t *m, int var, const double *v,
                                              size_t count, trine_err_t *err);
TRINE_NODISCARD trine_status_t lib_export_write(const lib_model_t *m, const char *path,
                                                trine_err_t *err);

/* Trains m on the cluster as t says: one job per epoch; the weights are
 * stored as t->run.prefix + name, everything else removed. */
TRINE_NODISCARD trine_status_t lib_train(struct trine_client *s, lib_model_t *m,
                                         const lib_train_t *t);

/* Without a loss: compiles the training program t->model into *prog with
 * *binds (allocated) of t's binds, data and labels (its two batch inputs). */
TRINE_NODISCARD trine_status_t lib_train_program(prog_t *prog, wire_bind_t **binds,
                                                 const lib_train_t *t, trine_err_t *err);

#endif
