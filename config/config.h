/* config.h — cluster.ini, parsed with libinih into a validated struct.
 *
 * One file describes the whole cluster and is the same on every host
 * (DESIGN section 8); cluster.example.ini documents every key. Loading
 * checks syntax, ranges and endpoint forms, applies defaults and resolves
 * relative paths against the file's folder, but does not open the key files
 * it names: the daemon does that and reports on them.
 *
 * Rules a config writer meets: keys and section headers start in column 1
 * (an indented line would be read as a continuation of the previous value),
 * comments are whole lines starting with ';' or '#' or the tail of a line
 * after " ;" or " #", and a line is at most CONFIG_LINE_MAX characters.
 */
#ifndef TRINE_CONFIG_H
#define TRINE_CONFIG_H

#include "tensor/status.h"

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_PARTIES      3
#define CONFIG_NAME_MAX     64   /* bytes of a cluster name with its NUL */
#define CONFIG_ENDPOINT_MAX 256  /* bytes of an endpoint with its NUL */
#define CONFIG_PATH_MAX     4096 /* bytes of a resolved path with its NUL */
#define CONFIG_LINE_MAX     197  /* libinih's fixed line buffer, less CR, LF and NUL */
#define CONFIG_JOBS_MAX     4    /* jobs a party runs at once (JOBS_MAX in daemon/party/jobs.h) */

typedef struct {
    char peer[CONFIG_ENDPOINT_MAX];   /* party-to-party endpoint, tcp://HOST:PORT */
    char client[CONFIG_ENDPOINT_MAX]; /* client endpoint, tcp://HOST:PORT */
    char public_key[CONFIG_PATH_MAX]; /* the party's .pub file, resolved */
} config_party_t;

/* [cluster] truncation: how fixed-point products are divided by 2^f
 * (protocol/trunc.c). */
typedef enum { CONFIG_TRUNC_EXACT = 0, CONFIG_TRUNC_LOCAL } config_trunc_t;

/* "exact" or "local"; and back: false for any other name. */
const char *config_trunc_name(config_trunc_t t);
TRINE_NODISCARD bool config_trunc_parse(config_trunc_t *out, const char *name);

/* [cluster] protocol: how comparisons (DReLU, ReLU and what is built on
 * them) are computed (protocol/ctx.h): SecureNN's, with P2 online,
 * function secret sharing, with P2 dealing keys, carry: the carry of the
 * shares' sum, with P2 dealing, or auto: comparisons of at most fss_max
 * values by fss, larger ones by carry. */
typedef enum {
    CONFIG_PROTOCOL_SECURENN = 0,
    CONFIG_PROTOCOL_FSS,
    CONFIG_PROTOCOL_AUTO,
    CONFIG_PROTOCOL_CARRY
} config_protocol_t;

/* "securenn", "fss", "auto" or "carry"; and back: false for any other
 * name. */
const char *config_protocol_name(config_protocol_t p);
TRINE_NODISCARD bool config_protocol_parse(config_protocol_t *out, const char *name);

typedef struct {
    char path[CONFIG_PATH_MAX];           /* the file it came from, as given */
    char name[CONFIG_NAME_MAX];           /* [cluster] name, [A-Za-z0-9_.-]{1,63} */
    unsigned frac_bits;                   /* fixed-point fraction bits, 0..30 */
    config_trunc_t truncation;            /* exact (default) or local */
    config_protocol_t protocol;           /* securenn (default), fss, auto or carry */
    unsigned fss_max;                     /* auto: fss for comparisons of at most this many */
    unsigned timeout_ms;                  /* peer silence that aborts a job */
    unsigned heartbeat_ms;                /* keep-alive period, < timeout_ms */
    uint64_t memory_limit;                /* bytes of share storage per party */
    uint64_t max_message;                 /* largest accepted wire message, bytes */
    config_party_t party[CONFIG_PARTIES]; /* [party0] .. [party2] */
    char clients_allow[CONFIG_PATH_MAX];  /* [clients] allow: a .pub file or a folder of them */
    char secret_key[CONFIG_PATH_MAX];     /* [local] secret_key, resolved; "" when absent */
    char store_dir[CONFIG_PATH_MAX];      /* [store] dir, resolved; "" keeps shares in memory */
    /* [limits], host-local: what one job or one client may take of a party */
    uint64_t job_memory;    /* peak bytes of one job; 0: a quarter of the host's memory */
    uint64_t jobs_memory;   /* peak bytes of all running jobs; 0: half the host's memory */
    unsigned client_jobs;   /* jobs of one client at once, 1..CONFIG_JOBS_MAX */
    uint64_t client_staged; /* bytes of one client's staged uploads */
    uint64_t client_stored; /* bytes of one client's stored tensors; 0: memory_limit / 2 */
    unsigned job_max_ms;    /* longest run of a job */
    uint64_t mask_cache;    /* bytes of weights' masked forms kept between jobs; 0: none */
} config_cluster_t;

/* Reads and validates the INI file at path into *out. Returns TRINE_EIO when
 * the file cannot be read, TRINE_EFORMAT for a malformed file or value and
 * TRINE_ERANGE for a number or path out of range, with err naming file, line
 * and key; *out is zeroed then. Nothing is allocated that outlives the call. */
TRINE_NODISCARD trine_status_t config_cluster_load(config_cluster_t *out, const char *path,
                                                   trine_err_t *err);

#endif
