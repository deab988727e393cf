/* cluster.h — a cluster.ini together with the keys it names.
 *
 * config/ checks the file; this adds what a running party or client needs
 * from it: the three parties' public keys, the allowed client keys, and a
 * canonical summary of everything the parties must agree on. The summary is
 * a list of "key=value" lines whose BLAKE2b hash is the cluster fingerprint
 * the parties exchange; when fingerprints differ, comparing the lines says
 * what differs. Host-local settings (secret key, store folder, memory limit)
 * are left out.
 */
#ifndef TRINE_CLUSTER_H
#define TRINE_CLUSTER_H

#include "config/config.h"
#include "daemon/common/keys.h"
#include "tensor/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLUSTER_FINGERPRINT_BYTES 32
#define CLUSTER_CLIENTS_MAX       4096 /* allowed client keys */

typedef struct {
    config_cluster_t cfg;
    keys_public_t party_key[CONFIG_PARTIES];
    keys_public_t *clients; /* allowed client keys, sorted */
    size_t nclients;
    char **lines; /* the canonical summary, see above */
    size_t nlines;
    uint8_t fingerprint[CLUSTER_FINGERPRINT_BYTES];
} cluster_t;

/* Loads cluster.ini at path and reads the party keys and every allowed
 * client key ([clients] allow: one .pub file, or every *.pub in a folder).
 * On failure *out is left empty and err names the file at fault. */
TRINE_NODISCARD trine_status_t cluster_load(cluster_t *out, const char *path, trine_err_t *err);

/* Frees what cluster_load allocated; safe on an empty or zeroed cluster. */
void cluster_clear(cluster_t *c);

/* True when key is one of the allowed client keys. */
bool cluster_client_allowed(const cluster_t *c, const keys_public_t *key);

/* The party whose public key this is, or -1. */
int cluster_party_of(const cluster_t *c, const keys_public_t *key);

/* Describes in out (a sentence, cut to cap bytes) the first differences
 * between the local summary and a peer's lines. */
void cluster_describe_difference(const cluster_t *c, const char *const *peer_lines, size_t npeer,
                                 char *out, size_t cap);

#endif
