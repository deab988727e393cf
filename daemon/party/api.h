/* api.h — what a party does with one client request.
 *
 * The daemon's main loop receives a request with the caller's public key
 * (the ZAP User-Id, so already authenticated and allowed) and gets back the
 * encoded reply. Malformed requests get an error reply naming the problem;
 * every request is logged with its op, name and size, never its data.
 */
#ifndef TRINE_API_H
#define TRINE_API_H

#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "daemon/common/log.h"
#include "daemon/party/budget.h"
#include "daemon/party/jobs.h"
#include "daemon/party/links.h"
#include "daemon/party/store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const cluster_t *cluster;
    int self;
    store_t *store;
    const links_t *links;
    jobs_t *jobs;
    const budget_t *budget;
    const log_t *log;
    uint64_t started_ms; /* sock_now_ms() at start, for uptime */
} api_t;

/* Handles the request in buf from caller, who is reached through the
 * routing id route, and sets *reply (freed with free()) to the encoded
 * reply, or to NULL when the reply comes later (a job started: jobs.h).
 * TRINE_ENOMEM when no reply could be built, in which case the caller
 * logs and drops the request. */
TRINE_NODISCARD trine_status_t api_handle(const api_t *api, const keys_public_t *caller,
                                          const void *route, size_t route_len, const void *buf,
                                          size_t len, void **reply, size_t *reply_len);

#endif
