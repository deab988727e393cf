/* client.h — the client's connections to the three parties.
 *
 * One CURVE DEALER per party, connected lazily on first use, each with a
 * monitor so that a refused key is reported as such rather than as silence.
 * A call sends one request to each chosen party at once and waits for all
 * replies, at most timeout_ms (plus time for large messages); it reports
 * per party what happened.
 */
#ifndef TRINE_CLIENT_H
#define TRINE_CLIENT_H

#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "tensor/status.h"
#include "daemon/wire/wire.h"

#include <signal.h>
#include <stdbool.h>

typedef struct client client_t;

/* The outcome of a call at one party: code is the transport's failure or
 * the party's reply code, msg says why for the user. reply is valid when
 * the party answered; its data and list live until the next call. */
typedef struct {
    trine_status_t code;
    char msg[TRINE_ERR_MSG_MAX + 128];
    bool answered;
    wire_reply_t reply;
} client_result_t;

/* A client of cluster c with the given secret key (copied into sockets,
 * not kept). NULL with err when ZeroMQ cannot start. */
client_t *client_new(const cluster_t *c, const keys_secret_t *secret, trine_err_t *err);

/* Closes the connections and frees *cl; accepts NULL. */
void client_destroy(client_t **cl);

/* Sends req[p] to every party p whose bit is set in mask (bit p) and waits
 * for their replies. Returns TRINE_OK when every chosen party answered
 * with success, else the first failing party's code; res[p] tells each.
 * res starts zeroed; each call reuses it, client_results_clear frees it. */
TRINE_NODISCARD trine_status_t client_call(client_t *cl, unsigned mask,
                                           const wire_request_t req[CONFIG_PARTIES],
                                           client_result_t res[CONFIG_PARTIES]);

/* Called with a running job's progress (as party0 reports it). */
typedef void (*client_progress_fn)(void *arg, uint64_t step, uint64_t steps);

/* Sends the RUN request to all three parties and waits for the job to end,
 * however long it runs, as long as every party keeps answering: every
 * 200 ms each is asked how the job goes (JOB), and a party silent for
 * timeout_ms fails the wait. progress (may be NULL) gets party0's answers.
 * Once *cancel (may be NULL) is set, e.g. by a SIGINT handler, the job is
 * cancelled (CANCEL) and its failure awaited. Returns and fills res as
 * client_call does. */
TRINE_NODISCARD trine_status_t client_run(client_t *cl, const wire_request_t *run,
                                          client_result_t res[CONFIG_PARTIES],
                                          client_progress_fn progress, void *arg,
                                          const volatile sig_atomic_t *cancel);

/* True when res (of client_run) says only that parties were busy: at
 * least one party refused the run because it already runs as many jobs as
 * it may (WIRE_BUSY in daemon/wire/wire.h), and every other party failed
 * by passing that refusal on. Such a run may simply be sent again later. */
bool client_run_busy(const client_result_t res[CONFIG_PARTIES]);

/* Told before client_run_wait pauses: a busy party's message, the pause
 * and how many tries were refused so far. */
typedef void (*client_busy_fn)(void *arg, const char *why, uint64_t pause_ms, unsigned tries);

/* client_run, waiting for a free job slot: a run refused only because
 * parties were busy (client_run_busy) is sent again under a new job id
 * (written to run->job) after a pause that doubles from CLIENT_BUSY_FIRST_MS
 * to CLIENT_BUSY_MAX_MS (each drawn between half and all of that), for as
 * long as the cluster's timeout_ms since the first try allows. busy (may
 * be NULL) hears of each pause, with arg; *retries (may be NULL) gets how
 * many runs were sent again. A cancel during a pause ends the wait. Returns
 * and fills res as client_run does, for the last try. */
TRINE_NODISCARD trine_status_t client_run_wait(client_t *cl, wire_request_t *run,
                                               client_result_t res[CONFIG_PARTIES],
                                               client_progress_fn progress, client_busy_fn busy,
                                               void *arg, const volatile sig_atomic_t *cancel,
                                               unsigned *retries);

#define CLIENT_BUSY_FIRST_MS 100
#define CLIENT_BUSY_MAX_MS   2000

/* Frees what the last call left in res. */
void client_results_clear(client_result_t res[CONFIG_PARTIES]);

#endif
