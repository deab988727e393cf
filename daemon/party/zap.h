/* zap.h — who may connect: the ZAP handler (ZeroMQ RFC 27) of a party.
 *
 * CURVE encrypts every link; this handler decides which public keys may
 * complete the handshake. Sockets with ZAP domain ZAP_DOMAIN_PEER accept the
 * other two parties' keys and tag their messages with User-Id "0", "1" or
 * "2"; sockets with ZAP_DOMAIN_CLIENT accept the allowed client keys and tag
 * messages with the key's Z85 text. Everything else is refused and logged.
 * The handler runs in its own thread so that handshakes proceed while the
 * main loop is busy; it stops when the ZeroMQ context terminates.
 */
#ifndef TRINE_ZAP_H
#define TRINE_ZAP_H

#include "daemon/common/cluster.h"
#include "daemon/common/log.h"
#include "tensor/status.h"

#define ZAP_DOMAIN_PEER   "trine-peer"
#define ZAP_DOMAIN_CLIENT "trine-client"

typedef struct zap zap_t;

/* Binds the handler in zctx and starts its thread; cluster and log must
 * outlive it. NULL (with err) when the socket or thread cannot start. */
zap_t *zap_new(void *zctx, const cluster_t *cluster, int self, const log_t *log, trine_err_t *err);

/* Joins the thread, which ends once zmq_ctx_shutdown or zmq_ctx_term has
 * been called on its context, and frees *zap; accepts NULL. */
void zap_destroy(zap_t **zap);

#endif
