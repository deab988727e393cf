/* link_local.h — the link of link.h for three parties as three threads of
 * one process: one FIFO queue per ordered pair, guarded by a mutex and a
 * condition variable. Receives wait at most the hub's timeout. A party can
 * be marked failed: receives from it then fail with TRINE_EPEER once its
 * queued messages are consumed, so tests can check that a dead or silent
 * party gives an error, not a hang. Used by the tests and the benchmark.
 */
#ifndef TRINE_LINK_LOCAL_H
#define TRINE_LINK_LOCAL_H

#include "link.h"

#include "tensor/status.h"

typedef struct link_local link_local_t;

/* A new hub for three parties whose receives wait at most timeout_ms
 * (>= 1); owned by the caller; NULL when out of memory or timeout_ms is 0. */
link_local_t *link_local_new(unsigned timeout_ms);

/* Frees *hub with any undelivered messages and sets it to NULL; accepts
 * NULL. No thread may still use one of its endpoints. */
void link_local_destroy(link_local_t **hub);

/* Fills *link with party's endpoint of hub; the link borrows the hub, which
 * must outlive it. */
void link_local_endpoint(link_local_t *hub, proto_party_t party, link_t *link);

/* Marks party as gone: its later sends fail, receives from it fail with
 * TRINE_EPEER once its queue is empty, and its own receives fail. */
void link_local_fail(link_local_t *hub, proto_party_t party);

/* What one party runs in link_local_run: its protocol code over link. */
typedef trine_status_t (*link_local_party_fn)(const link_t *link, proto_party_t party, void *arg,
                                              trine_err_t *err);

/* Runs fn for P0, P1 and P2 on three threads over hub's endpoints and
 * waits for all three. status[i] and err[i] receive party i's result; a
 * party that fails is marked failed so the others stop waiting for it.
 * Returns TRINE_OK when the threads ran (whatever they returned), or
 * TRINE_ENOMEM when a thread could not be started. */
TRINE_NODISCARD trine_status_t link_local_run(link_local_t *hub, link_local_party_fn fn, void *arg,
                                              trine_status_t status[PROTO_PARTIES],
                                              trine_err_t err[PROTO_PARTIES]);

#endif
