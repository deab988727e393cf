/* cli.h — what the verbs of the `trine` client share (trine.c holds the
 * basic verbs and main(), cli_prog.c the verbs that run programs).
 *
 * Every verb returns its exit code: 0 success, TRINE_EXIT_FAIL when the
 * operation failed (the reason printed on stderr under the verb's name),
 * TRINE_EXIT_USAGE for a wrong command line.
 */
#ifndef TRINE_CLI_H
#define TRINE_CLI_H

#include "daemon/client/client.h"
#include "daemon/common/cluster.h"
#include "daemon/models/onnx_compile.h"
#include "tensor/plain.h"

#include <stdbool.h>

#define TRINE_EXIT_FAIL  1
#define TRINE_EXIT_USAGE 2

#define SHARE_PARTIES 3u /* party0 and party1 hold the shares */

/* What a tensor name may be (wire_name_valid), for messages. */
#define CLI_NAME_RULE                                                                              \
    "a tensor name is 1 to 64 letters, digits, '_', '-' or '.', not starting with '.'"

typedef struct {
    const char *config; /* -c, else $TRINE_CONFIG; NULL when neither */
    const char *key;    /* -i, else $TRINE_KEY; NULL when neither */
} client_opts_t;

/* A verb's connection to the cluster. */
typedef struct {
    cluster_t cluster;
    client_t *client;
    client_result_t res[CONFIG_PARTIES];
} session_t;

/* Prints "trine VERB: msg" and the verb's usage line; returns
 * TRINE_EXIT_USAGE. */
int verb_usage_error(const char *verb, const char *msg);

/* Loads the config and key named by opts and connects; on failure prints
 * why under the verb's name and returns false. */
bool session_open(session_t *s, const client_opts_t *opts, const char *verb);
void session_close(session_t *s);

/* Prints every failing party's message under the verb's name, once when
 * the parties said the same thing; mask chooses the parties. */
void session_report(const session_t *s, const char *verb, unsigned mask);

/* One request, the same to every party in mask (bit p: party p). */
TRINE_NODISCARD trine_status_t session_call(session_t *s, unsigned mask, const wire_request_t *q);

/* Removes the tensor name from party0 and party1, printing the parties'
 * messages under the verb's name when that fails. */
void session_rm(session_t *s, const char *name, const char *verb);

/* cli_stream.c: tensors of any size, sent and fetched in parts of at
 * most one message (max_message) each. */

/* Encodes pl (read from file), splits it and stores it as name on party0
 * and party1, leaving nothing behind on failure. Prints a line unless
 * quiet; a tensor of several parts gets a bar on a terminal. Returns an
 * exit code. */
int session_share(session_t *s, const char *name, const plain_t *pl, const char *file,
                  const char *verb, bool quiet);

/* session_share of the file at path: a .npy file (or pipe) is read a part
 * at a time as the parts go out, so the client holds a part, never the
 * whole file; a .csv is read whole. fixed: integers become fixed point
 * too (share --fixed). A value out of range is named by its index in the
 * file. Returns an exit code. */
int session_share_file(session_t *s, const char *name, const char *path, bool fixed,
                       const char *verb, bool quiet);

/* Reconstructs the tensor name: *values (count of info's shape, malloc'd;
 * the caller wipes and frees it) and its description. Returns an exit
 * code, printing why under the verb's name; warns as reveal does of
 * fixed-point values at the ring's edge. */
int session_fetch(session_t *s, const char *name, uint64_t **values, wire_tensor_info_t *info,
                  const char *verb);

/* Reconstructs the tensor name a part at a time: into the .npy file out
 * (removed again if the reveal fails), or printed
 * when out is NULL. Warns of values at the ring's edge. Returns an exit
 * code. */
int session_reveal(session_t *s, const char *name, const char *out, const char *verb);

/* As session_reveal, for a fixed-point tensor of whole numbers (an ONNX
 * ArgMax): written as int64, rounded, and printed without a fraction. */
int session_reveal_integers(session_t *s, const char *name, const char *out, const char *verb);

/* A bar with rate and ETA on a terminal (stderr), redrawn at most 10
 * times a second, counting steps or, when bytes, bytes as MB. */
typedef struct {
    bool tty, bytes;
    uint64_t start_ms, last_ms;
    bool shown;
} progress_t;

void progress_init(progress_t *p, bool bytes);

/* Draws the bar at done of total (p is a progress_t *: this is a
 * client_progress_fn too). */
void progress_show(void *p, uint64_t done, uint64_t total);

/* Ends the line of a bar that was drawn. */
void progress_end(progress_t *p);

/* Runs prog on the cluster as one job, batch rows a step and one epoch,
 * storing its outputs as prefix + name (removing them if a party fails).
 * Prints the job's report unless quiet. Returns an exit code. */
int session_run(session_t *s, prog_t *prog, const char *prefix, uint64_t batch, bool quiet,
                const char *verb);

/* Compiles a program file: a text program, or an ONNX model (PATH.onnx)
 * as infer compiles it (the weights named as the model says, or prefix
 * ""). Returns an exit code, printing why under the verb's name. */
int prog_compile_file(prog_t *prog, const char *path, const char *verb);

/* Binds input var of prog to the tensors names lists (one, or several
 * comma-separated for a batch input, whose rows are stacked), into
 * binds[var]. Returns an exit code, printing why. */
int prog_binds_set(wire_bind_t *binds, const prog_t *prog, int var, const char *names,
                   const char *verb);

/* Fills q->bind (allocated; the caller frees it) and q->nbind with one
 * entry per input and batch input of prog, in variable order: binds[i]
 * when binds is not NULL and binds[i] names tensors, else the variable's
 * own name. Returns an exit code, printing why. */
int prog_run_binds(wire_request_t *q, const prog_t *prog, const wire_bind_t *binds,
                   const char *verb);

/* cli_grant.c: grant and revoke. */
int verb_grant(const client_opts_t *opts, int argc, char **argv);
int verb_revoke(const client_opts_t *opts, int argc, char **argv);

/* The policy hash a job of prog with batch, epochs and shuffle gets on
 * cluster c (prog_wire_policy_hash), printing why under the verb's name
 * when it cannot be computed. Returns an exit code. */
int cli_policy_hash(uint8_t out[WIRE_PROGRAM_HASH_BYTES], const prog_t *prog, const cluster_t *c,
                    uint64_t batch, uint64_t epochs, bool shuffle, const char *verb);

/* Prints the caller's running jobs as the parties list them (JOBS), one
 * line each: id, state, step, time, and which parties run it. Returns an
 * exit code; failures are printed under the verb's name (not when verb is
 * NULL: status has said which parties are down). */
int session_print_jobs(session_t *s, const char *verb);

/* The verbs of cli_jobs.c. */
int verb_jobs(const client_opts_t *opts, int argc, char **argv);
int verb_cancel(const client_opts_t *opts, int argc, char **argv);

/* The verbs of cli_prog.c. */
int verb_run(const client_opts_t *opts, int argc, char **argv);
int verb_infer(const client_opts_t *opts, int argc, char **argv);
int verb_train(const client_opts_t *opts, int argc, char **argv);

/* cli_bench.c */
int verb_bench(const client_opts_t *opts, int argc, char **argv);

/* cli_onnx.c: ONNX models. */
int verb_share_model(const client_opts_t *opts, int argc, char **argv);
int verb_onnx_test(const client_opts_t *opts, int argc, char **argv);

/* Shares the weights of a compiled model that holds their values, under
 * their variable names; quiet: no line per tensor. On failure removes
 * what it stored. Returns an exit code. */
int onnx_share_weights(session_t *s, const onnx_prog_t *op, bool quiet, const char *verb);

/* Removes the first count weights of op from the cluster (printing
 * failures). */
void onnx_rm_weights(session_t *s, const onnx_prog_t *op, size_t count, const char *verb);

#endif
