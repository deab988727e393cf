/* trine.h — libtrine, the client library of a trine cluster.
 *
 * A trine_client_t is one client's connection to the three parties of a
 * cluster: it shares tensors (from memory or a file), reveals the caller's
 * own, lists, removes, approves programs for other clients and withdraws
 * approvals, runs programs and ONNX models on stored tensors, lists and
 * cancels the caller's jobs, and reads the last job's report. The `trine`
 * program is a command line over the same functions.
 *
 * Errors: every fallible function returns a trine_code_t; on failure
 * trine_errmsg() says why, in the parties' words where they refused (one
 * line per party that said something different, '\n' between lines). The
 * library never prints and never exits.
 *
 * Memory: a function that hands out memory says who frees it; everything
 * a client holds is wiped and freed by trine_close().
 *
 * Threads: a client is used by one thread at a time; distinct clients
 * are independent. The library keeps no global state.
 *
 * Link with `pkg-config --cflags --libs trine`.
 */
#ifndef TRINE_PUBLIC_H
#define TRINE_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRINE_MAX_DIMS   4  /* a tensor's extents at most */
#define TRINE_NAME_MAX   64 /* a tensor name's characters at most */
#define TRINE_KEY_CHARS  40 /* a public key in Z85 */
#define TRINE_HASH_CHARS 64 /* a program's policy hash in hexadecimal */

/* Why an operation failed; TRINE_CODE_OK (0) is success. The values are
 * those of the parties' replies. */
typedef enum {
    TRINE_CODE_OK = 0,
    TRINE_CODE_EINVAL,      /* an argument is out of its contract */
    TRINE_CODE_ENOMEM,      /* an allocation failed */
    TRINE_CODE_ESHAPE,      /* tensor shapes do not fit together */
    TRINE_CODE_ERANGE,      /* a value is not representable (NaN, inf, too large) */
    TRINE_CODE_EIO,         /* the operating system refused a file operation */
    TRINE_CODE_EFORMAT,     /* malformed file or message */
    TRINE_CODE_EUNSUPPORTED, /* well formed, but not something trine handles */
    TRINE_CODE_ENOENT,      /* no such tensor, file, job or party */
    TRINE_CODE_EEXIST,      /* the name is already taken */
    TRINE_CODE_EPERM,       /* the caller may not do this (not the owner, not approved) */
    TRINE_CODE_ELIMIT,      /* a configured limit would be exceeded */
    TRINE_CODE_ETIMEOUT,    /* a party did not answer within the configured time */
    TRINE_CODE_EPEER        /* a party failed, left or disagrees */
} trine_code_t;

/* The element types of tensors in memory. */
typedef enum {
    TRINE_FLOAT64 = 0, /* double */
    TRINE_FLOAT32,     /* float */
    TRINE_INT64,       /* int64_t */
    TRINE_INT32,       /* int32_t */
    TRINE_UINT8        /* uint8_t */
} trine_dtype_t;

/* A dense tensor in C order. Tensors the library returns hold a buffer
 * it allocated (trine_tensor_clear frees it); tensors the caller passes in
 * are only read. */
typedef struct {
    trine_dtype_t dtype;
    int ndim;                     /* 1 .. TRINE_MAX_DIMS */
    size_t shape[TRINE_MAX_DIMS]; /* entries past ndim are ignored */
    void *data;
} trine_tensor_t;

/* Wipes and frees t->data of a tensor the library returned and zeroes
 * *t; accepts a zeroed tensor. */
void trine_tensor_clear(trine_tensor_t *t);

typedef struct trine_client trine_client_t;

/* Connects to the cluster that the INI file config describes (as
 * `trine -c`) with the client's secret key file key (as `trine -i`). The
 * parties are reached lazily, on the first operation. Returns a new
 * client, to be closed with trine_close, or NULL when memory runs out; a
 * client whose config or key could not be read is returned too, with
 * trine_code() not TRINE_CODE_OK, and refuses every operation. */
trine_client_t *trine_connect(const char *config, const char *key);

/* Closes the connections, wipes and frees *c and sets *c to NULL;
 * accepts NULL and *c NULL. */
void trine_close(trine_client_t **c);

/* The outcome of c's last operation (or of trine_connect). */
trine_code_t trine_code(const trine_client_t *c);

/* What went wrong in c's last operation, or "" after a success; valid
 * until c's next call. Never NULL (c NULL: a fixed text). */
const char *trine_errmsg(const trine_client_t *c);

/* What a progress callback counts. */
typedef enum {
    TRINE_PROGRESS_BYTES = 0, /* a tensor sent or received, in bytes */
    TRINE_PROGRESS_STEPS      /* a job's steps */
} trine_progress_t;

/* Told, from the calling thread, how a long operation goes: done of total
 * (both > 0 as soon as total is known). Returning non-zero cancels a
 * running job (the run then fails with TRINE_CODE_EPEER, stored nothing);
 * transfers ignore it. */
typedef int (*trine_progress_fn)(void *arg, trine_progress_t what, uint64_t done, uint64_t total);

/* Told a warning the caller may want to show (values revealed at the
 * ring's edge, a model run as one batch); msg lives for the call. */
typedef void (*trine_warning_fn)(void *arg, const char *msg);

/* Sets c's callbacks (NULL: none), kept until changed. */
void trine_set_progress(trine_client_t *c, trine_progress_fn fn, void *arg);
void trine_set_warning(trine_client_t *c, trine_warning_fn fn, void *arg);

/* ---- tensors ---------------------------------------------------------- */

/* How trine_share encodes values. */
#define TRINE_SHARE_FIXED 1u /* integers become fixed point too (labels for programs) */

/* Secret-shares t as name, owned by c's key: floats in fixed point
 * (the cluster's frac_bits), integers as integers unless TRINE_SHARE_FIXED.
 * t->data is read, never kept; it is sent in parts below max_message.
 * TRINE_CODE_EINVAL for a bad name, dtype or shape; TRINE_CODE_ERANGE for
 * a value out of the fixed-point range (named by its index). On failure
 * the parties keep nothing. */
trine_code_t trine_share(trine_client_t *c, const char *name, const trine_tensor_t *t,
                         unsigned flags);

/* trine_share of a .npy file (read a part at a time) or a .csv file. */
trine_code_t trine_share_file(trine_client_t *c, const char *name, const char *path,
                              unsigned flags);

/* Reconstructs the tensor name, owned by c's key, into *out (the caller
 * clears it with trine_tensor_clear): TRINE_FLOAT64 for fixed point,
 * TRINE_INT64 for integers. *out is zeroed on failure. */
trine_code_t trine_reveal(trine_client_t *c, const char *name, trine_tensor_t *out);

/* Reconstructs the tensor name into the .npy file path (float64 or int64),
 * a part at a time; an incomplete file is removed. */
trine_code_t trine_reveal_file(trine_client_t *c, const char *name, const char *path);

/* Removes the tensor name, owned by c's key; the parties wipe its shares. */
trine_code_t trine_rm(trine_client_t *c, const char *name);

/* An approval of a tensor, as trine_ls lists it. */
typedef struct {
    char grantee[TRINE_KEY_CHARS + 1];    /* the client it approves */
    int any;                              /* any program (the grantee can learn the tensor) */
    char program[TRINE_HASH_CHARS + 1];   /* else the program's policy hash */
    char slot[TRINE_NAME_MAX + 1];        /* and the input that reads the tensor */
    char outputs_to[TRINE_KEY_CHARS + 1]; /* "" or the jobs' required recipient */
} trine_approval_t;

/* A stored tensor c may use: its own, or one approved for it. */
typedef struct {
    char name[TRINE_NAME_MAX + 1];
    int ndim;
    size_t shape[TRINE_MAX_DIMS];
    int fixed;                       /* fixed point (else integers) */
    unsigned frac_bits;              /* of fixed point */
    int mine;                        /* owned by c (else approved for c) */
    char owner[TRINE_KEY_CHARS + 1]; /* the owner's public key */
    int missing;                     /* -1, or the party (0 or 1) that lacks its share: rm it */
    trine_approval_t *approvals;
    size_t napprovals;
} trine_entry_t;

typedef struct {
    trine_entry_t *entries; /* sorted by name */
    size_t count;
} trine_list_t;

/* Lists the tensors c owns or may use, into *out (trine_list_free). */
trine_code_t trine_ls(trine_client_t *c, trine_list_t *out);

/* Frees what trine_ls put in *l and zeroes it; accepts a zeroed list. */
void trine_list_free(trine_list_t *l);

/* What a grant or revoke approves: one program (a text program or an ONNX
 * model file) reading the tensor as its input slot (NULL: the input named
 * as the tensor), in jobs of batch rows a step and epochs epochs (0: 128
 * and 1), shuffled or not; or, knowingly, any program. outputs_to (a .pub
 * file, or NULL): only jobs whose outputs go to that client. */
typedef struct {
    const char *program;
    const char *slot;
    uint64_t batch, epochs;
    int shuffle;
    int any;
    const char *outputs_to;
} trine_grant_t;

/* Approves g for the client whose public key file is grantee on the tensor
 * name that c owns. */
trine_code_t trine_grant(trine_client_t *c, const char *name, const char *grantee,
                         const trine_grant_t *g);

/* Withdraws c's approvals of name for grantee: that program's (as g
 * names it), or every one when g is NULL or names no program. */
trine_code_t trine_revoke(trine_client_t *c, const char *name, const char *grantee,
                          const trine_grant_t *g);

/* ---- jobs ------------------------------------------------------------- */

/* How a job runs: its inputs bound to stored tensors (binds, nbinds of
 * "VAR=NAME", NAME may be "A,B" for a batch input's rows stacked; unbound
 * inputs read the tensor of their own name), batch rows a step (0: 128),
 * epochs (0: 1), shuffled rows, outputs stored as prefix + name, owned by
 * c or, with to (a .pub file), by that client alone. */
typedef struct {
    const char *const *binds;
    size_t nbinds;
    uint64_t batch, epochs;
    int shuffle;
    const char *prefix; /* NULL: "" */
    const char *to;
} trine_run_t;

/* What the last job cost, as the parties measured it. */
typedef struct {
    uint64_t job;                /* its id */
    uint64_t steps;
    double time_s, first_step_s; /* party0's clock */
    uint64_t sent[3];            /* bytes each party sent */
    uint64_t mask_bytes;         /* of which, masking the weights */
    uint64_t rounds;             /* the most any party counted */
    unsigned busy_retries;       /* runs sent again because the parties were busy */
    uint64_t offline_bytes;      /* of sent, what P2 dealt: input-independent correlated
                                    randomness (the offline phase) */
} trine_report_t;

/* Runs the program file (text or .onnx) on the cluster as one job and
 * waits for it, telling progress in steps; the outputs are stored. */
trine_code_t trine_run(trine_client_t *c, const char *program, const trine_run_t *r);

/* Runs a model (a program of one batch input and one output, or an ONNX
 * model whose weights are in the file or shared by its owner) over the
 * rows of input: the stored tensor input_name when input is NULL, else
 * input, shared for the job and removed after it. The output is revealed
 * into *out (trine_tensor_clear), and removed; r may be NULL (defaults;
 * its prefix, to and binds apply; with to the output is stored for that
 * client and *out stays zeroed). */
trine_code_t trine_infer(trine_client_t *c, const char *model, const char *input_name,
                         const trine_tensor_t *input, const trine_run_t *r, trine_tensor_t *out);

/* Told after each epoch of trine_train: its mean training loss and the
 * share of validation rows classified right (NAN when not known). */
typedef void (*trine_epoch_fn)(void *arg, uint64_t epoch, double loss, double accuracy);

/* How trine_train trains. With a loss ("mse", "bce", "cross-entropy") the
 * model is a forward model (text program or ONNX) and trine derives the
 * training program with the optimizer ("sgd", "momentum", "adam"; NULL:
 * sgd), lr (> 0), momentum (0.9 is usual) and weight_decay; class_labels:
 * cross-entropy labels are class indices; one job per epoch. Without one,
 * the model is a training program (two batch inputs: data, labels) run
 * as one job. val_data and val_labels (stored names, or NULL): the share
 * of those rows classified right after each epoch. export_onnx (a path,
 * or NULL): the ONNX model written back with its trained weights. The
 * weights are stored as prefix + name (prefix required). */
typedef struct {
    const char *loss, *optimizer;
    double lr, momentum, weight_decay;
    int class_labels;
    uint64_t epochs, batch; /* 0: 1 and 128 */
    int shuffle;
    const char *prefix, *to;
    const char *const *binds;
    size_t nbinds;
    const char *val_data, *val_labels;
    const char *export_onnx;
    trine_epoch_fn epoch; /* may be NULL */
    void *arg;
} trine_train_t;

/* Trains model on the rows of data and labels (stored names, NAME[,NAME]
 * for rows of several tensors stacked) as t says; the trained weights are
 * stored (trine_reveal them); everything else the training stored is
 * removed. trine_report tells the last job's figures. */
trine_code_t trine_train(trine_client_t *c, const char *model, const char *data,
                         const char *labels, const trine_train_t *t);

/* The report of c's last job that succeeded (trine_run, trine_infer or
 * trine_train's last). */
trine_code_t trine_report(const trine_client_t *c, trine_report_t *out);

/* A running job of c's, as trine_jobs lists it. */
typedef struct {
    uint64_t job;
    const char *state; /* "starting", "running" or "stopping" (static) */
    uint64_t step, steps;
    double elapsed_s;
    unsigned parties; /* bit p: party p runs it */
} trine_job_t;

/* c's running jobs into *out and *count (an array the caller frees with
 * free(); NULL when none runs). When a party fails to answer, the jobs the
 * others list are there all the same, and the code says it failed. */
trine_code_t trine_jobs(trine_client_t *c, trine_job_t **out, size_t *count);

/* Stops c's running job on every party (nothing is stored).
 * TRINE_CODE_ENOENT when no such job of c's runs. */
trine_code_t trine_cancel(trine_client_t *c, uint64_t job);

#ifdef __cplusplus
}
#endif

#endif
