/* jobs.h — the jobs a party runs, seen from its main loop.
 *
 * A client's RUN request names a job id, a program (daemon/wire/prog_wire.h),
 * the batch size, epochs and a prefix for the outputs; all three parties
 * get the same request. Each party checks it (P0 and P1: every input is a
 * fixed-point tensor the caller owns or was granted, with the shape the
 * program declares; no output name is taken), hashes it, and starts a job
 * thread (job.h). The reply is deferred until the job ends: then P0 and P1
 * store the outputs as prefix + name, owned by the caller, and every party
 * answers with what the job cost it. A party that refuses a job tells the
 * other two (ABORT), so that they stop at once.
 *
 * The main loop forwards between job threads and the party links. Job
 * frames that arrive before this party got the request (a peer was faster)
 * wait, at most timeout_ms and JOBS_PENDING_MAX of them. A job stops when a
 * peer goes silent or its connection closes (links_state), when the caller
 * cancels it, or at shutdown; and, by the limits of budget.h, when the
 * other parties have not both accepted it (their BEGIN) within accept_ms,
 * when its caller stopped polling it (JOB) for abandon_ms, or after
 * job_max_ms. At most JOBS_MAX jobs run at once, client_jobs of one client,
 * and each only when its memory estimate fits the party's budgets.
 */
#ifndef TRINE_JOBS_H
#define TRINE_JOBS_H

#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "daemon/common/log.h"
#include "daemon/party/budget.h"
#include "daemon/party/links.h"
#include "daemon/party/store.h"
#include "daemon/wire/wire.h"

#include <stdint.h>
#include <zmq.h>

#define JOBS_MAX         CONFIG_JOBS_MAX
#define JOBS_PENDING_MAX 64

typedef struct jobs jobs_t;

/* The parties' key of a client's job id (what frames and logs carry):
 * clients choose their ids, so two clients' ids may meet; keyed by the
 * caller, one client's RUN or CANCEL never reaches another's job. The
 * same at the three parties, never 0. */
uint64_t jobs_key(const keys_public_t *caller, uint64_t id);

/* A table of no jobs, keeping budget->mask_cache bytes of masked forms
 * between jobs (kept.h); NULL when out of memory. It registers itself as
 * links' job hook; links, store, budget, log and the client socket (for
 * deferred replies) must outlive it. */
jobs_t *jobs_new(void *zctx, const cluster_t *cluster, int self, links_t *links, store_t *store,
                 const budget_t *budget, const log_t *log, void *client);

/* Stops every job (their clients get the failure), wipes the masked forms
 * kept between jobs, frees *jobs and sets it to NULL; accepts NULL. */
void jobs_destroy(jobs_t **jobs);

/* Wipes the masked forms kept for the tensor called name (kept.h), which
 * was removed. */
void jobs_forget(jobs_t *jobs, const char *name);

/* Starts the job of a RUN request q from caller, whose reply goes to the
 * client connection with routing id route. TRINE_OK: the reply will come
 * when the job ends. Otherwise err says why it was refused (the caller
 * replies at once) and the other parties were told. */
TRINE_NODISCARD trine_status_t jobs_run(jobs_t *jobs, const keys_public_t *caller,
                                        const wire_request_t *q, const void *route,
                                        size_t route_len, trine_err_t *err);

/* The state of job id for a JOB request from caller (only the client that
 * started a job sees it); the caller's poll keeps the job from being
 * abandoned. */
void jobs_progress(jobs_t *jobs, const keys_public_t *caller, uint64_t id, wire_reply_t *r);

/* The caller's jobs here, for a JOBS request: r->jobs (allocated, freed
 * by wire_reply_clear) and r->njobs. TRINE_ENOMEM. */
TRINE_NODISCARD trine_status_t jobs_list(const jobs_t *jobs, const keys_public_t *caller,
                                         wire_reply_t *r, trine_err_t *err);

/* Stops job id at the request of caller; TRINE_ENOENT when caller runs no
 * such job here. */
TRINE_NODISCARD trine_status_t jobs_cancel(jobs_t *jobs, const keys_public_t *caller, uint64_t id,
                                           trine_err_t *err);

/* Fills items with the running jobs' pipes; returns how many (<= JOBS_MAX). */
int jobs_pollitems(const jobs_t *jobs, zmq_pollitem_t *items);

/* Forwards what the polled pipes hold; finishes jobs that ended. n as
 * returned by jobs_pollitems for these items. */
void jobs_handle(jobs_t *jobs, const zmq_pollitem_t *items, int n);

/* Drops job frames that waited too long; stops jobs whose peers went
 * silent or away, and jobs past the limits above. */
void jobs_tick(jobs_t *jobs, uint64_t now_ms);

#endif
