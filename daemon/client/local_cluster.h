/* local_cluster.h — three trined processes on 127.0.0.1 for the length of
 * one client command (`trine bench` with `cluster = local`).
 *
 * Start makes a fresh folder under $TMPDIR (default /tmp) holding keys/
 * (party0..2 and a client key pair), cluster.ini on free ports and
 * logs/partyN.log, starts `trined -t 1` for each party (three parties
 * share this machine's cores) in its own process group, so that a Ctrl-C
 * meant for the client does not reach them, and waits until every party
 * sees the other two. The daemons get SIGTERM when the client process
 * dies. trined is looked up next to the running executable, else on PATH.
 *
 * This is deploy/local-cluster for a program that must clean up after
 * itself; the script stays the way to keep a cluster running.
 */
#ifndef TRINE_LOCAL_CLUSTER_H
#define TRINE_LOCAL_CLUSTER_H

#include "config/config.h"
#include "tensor/status.h"

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    char dir[PATH_MAX - 64]; /* the folder */
    char config[PATH_MAX];   /* dir/cluster.ini */
    char key[PATH_MAX];      /* dir/keys/client.key, the client's secret key */
    pid_t pid[3];            /* 0 when not running */
} local_cluster_t;

/* What the local cluster's [cluster] section says. */
typedef struct {
    unsigned frac_bits;
    config_trunc_t truncation;
    config_protocol_t protocol;
    unsigned timeout_ms;
    unsigned fss_max; /* [cluster] fss_max; 0: the default */
} local_settings_t;

/* Starts the three parties with the given settings and waits (at most
 * 10 s) until they are linked. A port taken
 * between choosing and binding it is retried on other ports, three times.
 * On failure nothing runs, err says why (quoting a party's log when it
 * exited) and the folder is kept for its logs, named in the message. */
TRINE_NODISCARD trine_status_t local_cluster_start(local_cluster_t *lc,
                                                   const local_settings_t *set, trine_err_t *err);

/* Stops the parties (SIGTERM, SIGKILL after 5 s) and removes the folder,
 * unless keep_logs, when it is left for its logs. Accepts a cluster that
 * failed to start or was already stopped. */
void local_cluster_stop(local_cluster_t *lc, bool keep_logs);

#endif
