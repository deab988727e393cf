/* budget.h — what one job or one client may take of a party ([limits] in
 * cluster.ini), so that no client, careless or hostile, takes the party
 * down for the others.
 *
 * - A job's memory: before a job allocates anything, its peak at this
 *   party is estimated from its shapes (prog_job_memory); a job above
 *   job_memory, or above what the running jobs leave of jobs_memory, is
 *   refused, naming the op and the bytes.
 * - A client's share: at most client_jobs jobs at once (jobs.c counts
 *   them), client_staged bytes of uploads not yet committed and
 *   client_stored bytes of stored tensors (its own, outputs included).
 * - Time: a job runs at most job_max_ms; it must be accepted by all three
 *   parties (their BEGIN) within accept_ms of its request, and is
 *   cancelled when its client stops polling it for abandon_ms.
 * Memory budgets left at 0 in the file come from the host's memory: the
 * smaller of the physical memory and this process's cgroup memory.max.
 */
#ifndef TRINE_BUDGET_H
#define TRINE_BUDGET_H

#include "daemon/common/keys.h"
#include "daemon/party/store.h"

#include "config/config.h"
#include "protocol/program.h"
#include "tensor/status.h"

#include <stdint.h>

/* The client polls a running job every 200 ms (client.c); a job whose
 * client is silent for BUDGET_ABANDON_BEATS heartbeats, and at least
 * BUDGET_ABANDON_MIN_MS, is abandoned. All three parties must accept a job
 * within BUDGET_ACCEPT_MS (at most timeout_ms). */
#define BUDGET_ABANDON_BEATS  5
#define BUDGET_ABANDON_MIN_MS 2000
#define BUDGET_ACCEPT_MS      3000

typedef struct {
    uint64_t job_memory, jobs_memory; /* resolved: never 0 */
    unsigned client_jobs;
    uint64_t client_staged, client_stored;
    uint64_t job_max_ms, accept_ms, abandon_ms;
    uint64_t host_memory; /* what the defaults were derived from */
    uint64_t mask_cache;  /* bytes of masked forms kept between jobs (kept.h) */
    uint64_t fss_max;     /* comparisons whose keys count (prog_mem.c): 0 under securenn */
    bool carry;           /* the others' records count (prog_mem.c): carry and auto */
} budget_t;

/* The limits of cfg, with the budgets it leaves at 0 derived from the
 * host's memory. */
void budget_init(budget_t *l, const config_cluster_t *cfg);

/* Checks a job of the checked prog with `batch` rows per step against the
 * per-job budget and what `reserved` bytes of running jobs leave of the
 * party's; *need gets its estimate and *outputs the bytes its outputs
 * will take in the store. TRINE_ELIMIT naming the op and the bytes, or
 * prog_job_memory's error. */
TRINE_NODISCARD trine_status_t budget_job(const budget_t *l, int self, const prog_t *prog,
                                          uint64_t batch, uint64_t reserved, uint64_t *need,
                                          uint64_t *outputs, trine_err_t *err);

/* Checks that caller may add `stored` bytes of tensors and `staged` bytes
 * of uploads to what it holds in s. TRINE_ELIMIT naming the quota and
 * its key. */
TRINE_NODISCARD trine_status_t budget_client_bytes(const budget_t *l, int self, const store_t *s,
                                                   const keys_public_t *caller, uint64_t stored,
                                                   uint64_t staged, trine_err_t *err);

#endif
