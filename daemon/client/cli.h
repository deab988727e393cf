/* cli.h — what the verbs of the `trine` client share (trine.c holds the
 * basic verbs and main(), cli_prog.c the verbs that run programs).
 *
 * Every verb returns its exit code: 0 success, TRINE_EXIT_FAIL when the
 * operation failed (the reason printed on stderr under the verb's name),
 * TRINE_EXIT_USAGE for a wrong command line.
 */
#ifndef TRINE_CLI_H
#define TRINE_CLI_H

#include "daemon/client/lib.h"
#include "daemon/common/cluster.h"
#include "daemon/models/onnx_compile.h"
#include "tensor/plain.h"

#include <stdbool.h>

#define TRINE_EXIT_FAIL  1
#define TRINE_EXIT_USAGE 2

/* What a tensor name may be (wire_name_valid), for messages. */
#define CLI_NAME_RULE                                                                              \
    "a tensor name is 1 to 64 letters, digits, '_', '-' or '.', not starting with '.'"

typedef struct {
    const char *config; /* -c, else $TRINE_CONFIG; NULL when neither */
    const char *key;    /* -i, else $TRINE_KEY; NULL when neither */
} client_opts_t;

/* A verb's connection to the cluster: a libtrine client (lib.h), whose
 * progress goes to a bar on stderr and warnings to stderr under the
 * verb's name. */
typedef struct trine_client session_t;

/* Prints "trine VERB: msg" and the verb's usage line; returns
 * TRINE_EXIT_USAGE. */
int verb_usage_error(const char *verb, const char *msg);

/* 0 when st is TRINE_OK; else prints err's message under the verb's name
 * and returns rc (an exit code). */
int cli_status(trine_status_t st, const trine_err_t *err, const char *verb, int rc);

/* Loads the config and key named by opts and connects; on failure prints
 * why under the verb's name and returns false. */
bool session_open(session_t *s, const client_opts_t *opts, const char *verb);
void session_close(session_t *s);

/* Prints each line of s's last failure (s->err) under the verb's name;
 * returns TRINE_EXIT_FAIL. */
int session_fail(session_t *s, const char *verb);

/* Prints every failing party's message under the verb's name, once when
 * the parties said the same thing; mask chooses the parties. */
void session_report(session_t *s, const char *verb, unsigned mask);

/* One request, the same to every party in mask (bit p: party p). */
TRINE_NODISCARD trine_status_t session_call(session_t *s, unsigned mask, const wire_request_t *q);

/* Removes the tensor name from party0 and party1, printing the parties'
 * messages under the session's verb when that fails (lib_rm_after). */
void session_rm(session_t *s, const char *name);

/* cli_stream.c: lib_stream.c's sharing and revealing, with the lines
 * and bars of the command line. */

/* Shares pl (read from file) as name (lib_share); prints a line unless
 * quiet, a bar on a terminal. Returns an exit code. */
int session_share(session_t *s, const char *name, const plain_t *pl, const char *file,
                  const char *verb, bool quiet);

/* Prints the line of a share of a tensor of dtype and shape, fixed point
 * with frac fraction bits or integers. */
void session_share_line(const char *name, plain_dtype_t dtype, int ndim, const size_t *shape,
                        size_t count, bool fixed, unsigned frac);

/* session_share of the file at path (lib_share_file). Returns an exit
 * code. */
int session_share_file(session_t *s, const char *name, const char *path, bool fixed,
                       const char *verb, bool quiet);

/* Reconstructs the tensor name (lib_fetch): *values (count of info's
 * shape, malloc'd; the caller wipes and frees it) and its description.
 * Returns an exit code, printing why under the verb's name. */
int session_fetch(session_t *s, const char *name, uint64_t **values, wire_tensor_info_t *info,
                  const char *verb);

/* Reconstructs the tensor name a part at a time: into the .npy file out
 * (removed again if the reveal fails), or printed when out is NULL.
 * integers: a fixed-point tensor of whole numbers (an ONNX ArgMax),
 * written as int64 and printed without a fraction. Returns an exit code. */
int session_reveal(session_t *s, const char *name, const char *out, bool integers,
                   const char *verb);

/* lib_sink_t of session_reveal: the .npy file out, or printed. */
lib_sink_t session_sink(const char *out, bool integers);

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

/* The bar session_open gave s (its progress callback's). */
progress_t *session_bar(session_t *s);

/* Runs prog on the cluster as one job, batch rows a step and one epoch,
 * storing its outputs as prefix + name (removing them if a party fails).
 * Prints the job's report unless quiet. Returns an exit code. */
int session_run(session_t *s, prog_t *prog, const char *prefix, uint64_t batch, bool quiet,
                const char *verb);

/* Compiles a program file: a text program, or an ONNX model (PATH.onnx)
 * as infer compiles it (lib_prog_file). Returns an exit code, printing
 * why under the verb's name. */
int prog_compile_file(prog_t *prog, const char *path, const char *verb);

/* Binds input var of prog to the tensors names lists (lib_binds_set),
 * into binds[var]. Returns an exit code, printing why. */
int prog_binds_set(wire_bind_t *binds, const prog_t *prog, int var, const char *names,
                   const char *verb);

/* lib_run_binds, printing why it failed. Returns an exit code. */
int prog_run_binds(wire_request_t *q, const prog_t *prog, const wire_bind_t *binds,
                   const char *verb);

/* cli_grant.c: grant and revoke. */
int verb_grant(const client_opts_t *opts, int argc, char **argv);
int verb_revoke(const client_opts_t *opts, int argc, char **argv);

/* The policy hash a job of prog with batch, epochs and shuffle gets on
 * cluster c (lib_policy_hash), printing why under the verb's name when it
 * cannot be computed. Returns an exit code. */
int cli_policy_hash(uint8_t out[WIRE_PROGRAM_HASH_BYTES], const prog_t *prog, const cluster_t *c,
                    uint64_t batch, uint64_t epochs, bool shuffle, const char *verb);

/* Prints the caller's running jobs as the parties list them (trine_jobs),
 * one line each: id, state, step, time, and which parties run it. Returns
 * an exit code; failures are printed under the verb's name (not when verb
 * is NULL: status has said which parties are down). */
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
 * their variable names (lib_share_weights), a line each unless quiet. On
 * failure removes what it stored. Returns an exit code. */
int onnx_share_weights(session_t *s, const onnx_prog_t *op, bool quiet, const char *verb);

#endif
