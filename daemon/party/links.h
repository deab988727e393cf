/* links.h — a party's CurveZMQ links to the other two parties.
 *
 * Each party binds one ROUTER on its peer endpoint (CURVE server, ZAP
 * domain ZAP_DOMAIN_PEER) for what the others send it, and connects one
 * DEALER to each other party's peer endpoint for what it sends them. Every
 * message is a header frame (wire_frame_t) and a payload frame. When a
 * DEALER completes its handshake the party sends a hello (version, cluster
 * fingerprint and summary); after that, heartbeats every heartbeat_ms. A
 * peer is up once its hello matched ours and while it has been heard from
 * within timeout_ms, and its DEALER's monitor has not seen the connection
 * close; a hello that differs marks it mismatched, with the difference
 * logged, and the party refuses client work until it is fixed.
 */
#ifndef TRINE_LINKS_H
#define TRINE_LINKS_H

#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "daemon/common/log.h"
#include "tensor/status.h"
#include "daemon/wire/wire.h"

#include <stdint.h>
#include <zmq.h>

#define LINKS_POLLITEMS 3 /* the ROUTER and one monitor per DEALER */

typedef struct links links_t;

/* Binds and connects the links of party self; cluster and log must outlive
 * the result. The secret key is copied into the sockets only. NULL with
 * err when an endpoint cannot be bound. */
links_t *links_new(void *zctx, const cluster_t *cluster, int self, const keys_secret_t *secret,
                   const keys_public_t *pub, const log_t *log, trine_err_t *err);

/* Closes every socket (linger 0) and frees *links; accepts NULL. */
void links_destroy(links_t **links);

/* Fills items[0 .. LINKS_POLLITEMS) with the sockets to poll for input. */
void links_pollitems(const links_t *links, zmq_pollitem_t *items);

/* Handles whatever is readable in items (as polled), at time now_ms. */
void links_handle(links_t *links, const zmq_pollitem_t *items, uint64_t now_ms);

/* Sends due heartbeats and notices silent peers; returns the milliseconds
 * until it next needs to run. */
long links_tick(links_t *links, uint64_t now_ms);

/* Receives the job frames (BEGIN, DATA, ABORT) that arrive from party
 * `from`, its sender checked; it may move head and body out (zmq_msg_move)
 * to keep them. */
typedef void (*links_job_fn)(void *arg, int from, const wire_frame_t *f, zmq_msg_t *head,
                             zmq_msg_t *body);

/* Routes job frames to fn (until then they are dropped with a log line). */
void links_set_job_hook(links_t *links, links_job_fn fn, void *arg);

/* Sends a job frame (packed header and payload) to party p without
 * waiting, taking both messages. TRINE_EPEER when party p is not
 * connected. */
TRINE_NODISCARD trine_status_t links_forward(links_t *links, int p, zmq_msg_t *head,
                                             zmq_msg_t *body);

/* What party p looks like from here (WIRE_PEER_SELF for self). A party
 * whose connection closed (its process ended: the kernel closes or resets
 * its sockets) is down at once, until its link is up again; one that goes
 * silent without a word (a cut cable) after timeout_ms. */
wire_peer_t links_state(const links_t *links, int p);

/* Why party p is down, as a sentence naming it, in out (cap bytes);
 * returns out. */
const char *links_why_down(const links_t *links, int p, char *out, size_t cap);

/* A sentence on why client work is refused (a mismatched peer), or NULL. */
const char *links_refusal(const links_t *links);

#endif
