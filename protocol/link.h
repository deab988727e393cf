/* link.h — how a party's protocol code talks to the other two parties.
 *
 * The protocol layer never sees sockets: a link is a table of two functions
 * and an opaque implementation pointer. The daemon implements it over its
 * ZeroMQ connections (a header with job id, step and sender in front of the
 * payload); link_local.h implements it for three threads of one process.
 *
 * Contract for implementations:
 * - send queues the payload for party `to` and returns without waiting for
 *   the peer to receive it: both compute parties send before they receive,
 *   so a link that blocked until receipt would deadlock. It copies buf.
 * - recv blocks until the next message from party `from` arrives, or until
 *   the link's own time limit passes (TRINE_ETIMEOUT), or the peer is known
 *   to be gone (TRINE_EPEER); the message says which party. The caller
 *   always knows the exact length it expects: a message of another length
 *   is TRINE_EFORMAT and is consumed.
 * - Messages between one ordered pair arrive in the order sent. The header
 *   must travel with the payload and be returned unchanged by recv: `step`
 *   numbers the messages of one ordered pair (0, 1, 2, ...) within a job, so
 *   the daemon can reject stale or foreign messages and the receiver checks
 *   the order; `round` is the sender's causal round stamp used for the
 *   round accounting of ctx.h. Payload lengths are at least 1 byte.
 */
#ifndef TRINE_LINK_H
#define TRINE_LINK_H

#include "tensor/status.h"

#include <stddef.h>
#include <stdint.h>

/* The three parties: two compute parties holding shares and the helper. */
typedef enum { PROTO_P0 = 0, PROTO_P1 = 1, PROTO_P2 = 2 } proto_party_t;

#define PROTO_PARTIES 3

/* What travels in front of each payload (see the contract above). */
typedef struct {
    uint64_t step;  /* index of this message among those from sender to receiver */
    uint32_t round; /* causal round stamp within the current protocol call */
} link_hdr_t;

typedef struct {
    void *impl;
    trine_status_t (*send)(void *impl, proto_party_t to, const link_hdr_t *hdr, const void *buf,
                           size_t len, trine_err_t *err);
    trine_status_t (*recv)(void *impl, proto_party_t from, link_hdr_t *hdr, void *buf, size_t len,
                           trine_err_t *err);
} link_t;

#endif
