/* wire.h — client requests as msgpack (DESIGN section 7; schema in
 * daemon/wire/WIRE.md).
 *
 * A request is one msgpack map with string keys. Decoding first walks the
 * raw bytes (wire_scan) so that no container may declare more entries than
 * bytes remain and nesting stays shallow; only then does msgpack-c build
 * objects, so a hostile length costs nothing. Every field is then checked
 * for type, range and consistency (a tensor's data is exactly its shape's
 * element count times 8 bytes) before the request reaches the daemon.
 */
#ifndef TRINE_WIRE_H
#define TRINE_WIRE_H

#include "daemon/common/keys.h"
#include "tensor/status.h"
#include "tensor/tensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION   1
#define WIRE_NAME_MAX  KEYS_NAME_MAX /* tensor names follow the key-name rule */
#define WIRE_DEPTH_MAX 4             /* nesting of maps and arrays */

#define WIRE_PROGRAM_HASH_BYTES 32 /* a program's policy hash (prog_wire_policy_hash) */
#define WIRE_SLOT_MAX           64 /* bytes of an input slot's name, NUL included */
#define WIRE_BIND_NAMES_MAX     16   /* tensors whose rows one batch input concatenates */
#define WIRE_BIND_VARS_MAX      1024 /* bind entries: PROG_VARS_MAX */
/* Bytes of a put or of a get's reply beside its data, at most (envelope,
 * name, kind, frac, shape, offset, upload): a part of n elements fits a
 * message of 8 n + WIRE_PART_OVERHEAD bytes. */
#define WIRE_PART_OVERHEAD      1024
/* Ends the message of a RUN refused (TRINE_ELIMIT) because the party runs
 * as many jobs as it may already (JOBS_MAX, or the caller's client_jobs, or
 * the memory they leave); the other parties' replies quote it. Parties send
 * it (daemon/party/jobs.c) and clients wait and send the run again when
 * they see it (client_run_wait), so it is part of the wire: keep it stable. */
#define WIRE_BUSY "try again later"
typedef enum {
    WIRE_OP_STATUS = 1, /* party state: no fields */
    WIRE_OP_PUT,        /* stage a part of a share: name, kind, frac (fixed only),
                           shape, offset, data, upload; invisible until committed */
    WIRE_OP_LS,         /* list visible tensors: no fields */
    WIRE_OP_RM,         /* delete and wipe: name */
    WIRE_OP_GRANT,      /* approve a program for another client's use of a
                           tensor: name, grantee, approve, slot, outputs_to */
    WIRE_OP_GET,        /* fetch a part of a share to reveal: name, offset, count */
    WIRE_OP_RUN,        /* run a program: job, program, batch, epochs, prefix,
                           bind, to, optionally shuffle; the reply comes
                           when the job ends */
    WIRE_OP_JOB,        /* a running job's progress: job */
    WIRE_OP_CANCEL,     /* stop a running job: job */
    WIRE_OP_COMMIT,     /* make a staged put a stored tensor: name, upload */
    WIRE_OP_REVOKE,     /* withdraw approvals: name, grantee, approve */
    WIRE_OP_JOBS        /* the caller's running jobs: no fields */
} wire_op_t;

/* One approval of a tensor for another client (a grant): the grantee may
 * read the tensor as input slot `slot` of the program whose policy hash
 * is `program`, or as any input of any program when `any`; when
 * outputs_to is set (z85[0] != 0), only in jobs whose outputs go to that
 * client. */
typedef struct {
    keys_public_t grantee;
    bool any;
    uint8_t program[WIRE_PROGRAM_HASH_BYTES]; /* zero when any */
    char slot[WIRE_SLOT_MAX];                 /* empty when any */
    keys_public_t outputs_to;                 /* z85 empty: wherever the caller says */
} wire_approval_t;

/* The stored tensors one input variable of a run reads: one, or for a
 * batch input several whose rows are concatenated in this order. */
typedef struct {
    char names[WIRE_BIND_NAMES_MAX][WIRE_NAME_MAX + 1];
    unsigned count; /* 1 .. WIRE_BIND_NAMES_MAX */
} wire_bind_t;

/* How the plaintext behind a share is read back. */
typedef enum {
    WIRE_KIND_INT = 1, /* integers, ring elements as two's complement */
    WIRE_KIND_FIXED    /* reals in fixed point with frac fractional bits */
} wire_kind_t;

typedef struct {
    uint32_t version;
    uint64_t id;
    wire_op_t op;
    char name[WIRE_NAME_MAX + 1];
    keys_public_t grantee;         /* GRANT, REVOKE */
    /* GRANT: approve (any, program), slot, outputs_to; REVOKE: approve,
     * where any means every approval of grantee. grantee is unused here. */
    wire_approval_t approval;
    wire_kind_t kind;              /* WIRE_OP_PUT */
    unsigned frac;                 /* WIRE_OP_PUT with WIRE_KIND_FIXED */
    int ndim;                      /* WIRE_OP_PUT: 1 .. TENSOR_MAX_DIMS */
    size_t shape[TENSOR_MAX_DIMS]; /* WIRE_OP_PUT */
    const uint8_t *data;           /* WIRE_OP_PUT: points into the decoded buffer, */
    size_t data_len;               /* little-endian uint64, 8 bytes an element: the
                                      elements offset .. offset + data_len / 8 - 1 of
                                      the tensor of shape (a part ending inside it) */
    uint64_t offset;               /* PUT: the part's first element; GET: the first
                                      element wanted (in C order) */
    uint64_t count;                /* GET: at most this many elements back, >= 1 */
    uint64_t job;                  /* RUN, JOB, CANCEL: the client's job id, not 0 */
    const uint8_t *program;        /* RUN: daemon/wire/prog_wire.h bytes, into the buffer */
    size_t program_len;
    uint64_t batch;                /* RUN: rows per step, >= 1 */
    uint64_t epochs;               /* RUN: >= 1 */
    bool shuffle;                  /* RUN: each epoch's rows in a random order (the
                                      field is sent only when true) */
    bool fresh_masks;              /* RUN: read no masked forms kept between jobs and
                                      keep none (sent only when true) */
    char prefix[WIRE_NAME_MAX + 1]; /* RUN: outputs are stored as prefix + name */
    uint64_t upload;                /* PUT, COMMIT: the client's upload number, not 0 */
    /* RUN: the tensors of each input and batch input, in variable order
     * (allocated by the decoder: wire_request_clear). */
    wire_bind_t *bind;
    size_t nbind;
    keys_public_t to; /* RUN: the outputs' owner; z85 empty: the caller */
} wire_request_t;

/* Checks that buf holds exactly one well-formed msgpack value, nested at
 * most depth_max deep, whose containers declare no more entries than bytes
 * remain. Returns TRINE_EFORMAT with the offset of the first fault. */
TRINE_NODISCARD trine_status_t wire_scan(const void *buf, size_t len, int depth_max,
                                         trine_err_t *err);

/* Decodes and validates one request. out->data points into buf, which must
 * outlive its use. A request whose version differs from WIRE_VERSION gets
 * TRINE_EUNSUPPORTED; any other fault TRINE_EFORMAT; err says which field
 * and why. out->id is set whenever the id could be read, so that an error
 * reply can name the request. */
TRINE_NODISCARD trine_status_t wire_request_decode(wire_request_t *out, const void *buf, size_t len,
                                                   trine_err_t *err);

/* Frees out->bind; accepts a request never decoded (zeroed). */
void wire_request_clear(wire_request_t *out);

/* Encodes req as a new buffer (*buf, *len) the caller frees with free(). */
TRINE_NODISCARD trine_status_t wire_request_encode(void **buf, size_t *len,
                                                   const wire_request_t *req);

/* The op's name on the wire ("status", "put", ...), or NULL. */
const char *wire_op_name(wire_op_t op);

/* True when name can name a tensor: the rule of keys_name_valid. */
bool wire_name_valid(const char *name);

/* ---- replies --------------------------------------------------------- */

/* A party's view of another party, as `status` reports it. */
typedef enum {
    WIRE_PEER_SELF = 1, /* the party answering */
    WIRE_PEER_UP,       /* linked, same version and cluster config */
    WIRE_PEER_DOWN,     /* never came up, or silent for longer than timeout_ms */
    WIRE_PEER_MISMATCH  /* linked but running another version or config */
} wire_peer_t;

/* One tensor as `ls` lists it and `get` describes it. */
typedef struct {
    char name[WIRE_NAME_MAX + 1];
    wire_kind_t kind;
    unsigned frac; /* 0 for WIRE_KIND_INT */
    int ndim;
    size_t shape[TENSOR_MAX_DIMS];
    bool mine;       /* ls: the caller owns it (else it was granted to the caller) */
    uint32_t grants; /* ls: how many approvals the owner gave */
    keys_public_t owner; /* ls: the owner's key */
    /* ls: the approvals the caller may see: all of its own tensor's, only
     * those naming the caller on another's. Encoding points at the
     * store's; decoding allocates (wire_reply_clear). */
    const wire_approval_t *approvals;
    size_t napprovals;
} wire_tensor_info_t;

#define WIRE_VERSION_STR_MAX 32
#define WIRE_CLUSTER_MAX     64

/* What a job cost one party (the reply to RUN). */
typedef struct {
    uint64_t steps;                  /* steps run */
    uint64_t time_us;                /* from the first message to the last */
    uint64_t exec_us;                /* of which the steps (after BEGIN and seeds) */
    uint64_t first_step_us;          /* from the first message to the end of step 1 */
    uint64_t sent[3], recv[3];       /* the steps' payload bytes per peer (own entry 0) */
    uint64_t msgs[3];                /* the steps' messages sent per peer */
    uint64_t rounds;                 /* the steps' rounds as this party counted them */
    uint64_t mask_bytes;             /* of sent: opening mask-once operands */
    uint64_t offline_bytes;          /* of sent: dealt, input-independent (ctx.h) */
    uint64_t offline_wait_us;        /* of exec_us: waiting for dealt messages */
    uint64_t setup_bytes;            /* sent agreeing the job's seeds, not in sent */
} wire_job_stats_t;

/* A job as JOB reports it. */
typedef enum {
    WIRE_JOB_RUNNING = 1,
    WIRE_JOB_DONE,   /* finished; the RUN reply carries the outcome */
    WIRE_JOB_UNKNOWN /* never started here, or forgotten */
} wire_job_state_t;

/* How a running job goes, as JOBS lists it. */
typedef enum {
    WIRE_JOBS_STARTING = 1, /* waiting for all three parties to accept it */
    WIRE_JOBS_RUNNING,
    WIRE_JOBS_STOPPING      /* cancelled or failed, its thread ending */
} wire_jobs_state_t;

typedef struct {
    uint64_t job;
    wire_jobs_state_t state;
    uint64_t step, steps, elapsed_ms;
} wire_job_info_t;

/* A reply: the envelope, then the fields of the request's op. */
typedef struct {
    uint32_t version;
    uint64_t id;
    trine_status_t code;         /* TRINE_OK, or why the request failed */
    char msg[TRINE_ERR_MSG_MAX]; /* the failure, for the user */
    /* status */
    unsigned party;
    char cluster[WIRE_CLUSTER_MAX];
    char software[WIRE_VERSION_STR_MAX];
    uint64_t uptime_ms, tensors, bytes, memory_limit;
    wire_peer_t peers[3];
    /* ls: count entries in list, which the decoder allocates */
    size_t count;
    wire_tensor_info_t *list;
    /* get: a part of the tensor info describes, from element offset */
    wire_tensor_info_t info;
    uint64_t offset;
    const uint8_t *data; /* points into the encoded buffer; 8 bytes an element, >= 1 */
    size_t data_len;
    /* run */
    wire_job_stats_t stats;
    /* job */
    wire_job_state_t state;
    uint64_t step, steps;
    /* jobs: njobs entries in jobs, which the decoder allocates */
    size_t njobs;
    wire_job_info_t *jobs;
} wire_reply_t;

/* Encodes the reply to a request of op: the envelope and, when r->code is
 * TRINE_OK, op's fields (else the error, whatever op is, so that a request
 * too malformed to have an op is answered). *buf is new, freed with free(). */
TRINE_NODISCARD trine_status_t wire_reply_encode(void **buf, size_t *len, wire_op_t op,
                                                 const wire_reply_t *r);

/* Decodes a reply to a request of op with the same checks as requests.
 * out->data points into buf; out->list and out->jobs are allocated:
 * wire_reply_clear frees them. A failure reply decodes successfully, with out->code set. */
TRINE_NODISCARD trine_status_t wire_reply_decode(wire_reply_t *out, wire_op_t op, const void *buf,
                                                 size_t len, trine_err_t *err);

/* Reads only a reply's id, to tell which request it answers before
 * decoding it as that request's reply. */
TRINE_NODISCARD trine_status_t wire_reply_id(uint64_t *id, const void *buf, size_t len,
                                             trine_err_t *err);

/* Frees out->list and out->jobs; the rest of *out stays readable. */
void wire_reply_clear(wire_reply_t *out);

/* ---- party to party -------------------------------------------------- */

/* Every party-to-party ZeroMQ message is a fixed header frame followed by
 * a payload frame: raw share bytes, or msgpack for the hello. */
#define WIRE_FRAME_HEADER_BYTES 32
#define WIRE_JOB_HASH_BYTES     32 /* BLAKE2b-256 of a job's program and settings */
#define WIRE_ABORT_MAX          TRINE_ERR_MSG_MAX /* bytes of an abort's reason */

typedef enum {
    WIRE_FRAME_HELLO = 1, /* payload: msgpack hello, until the peer holds it */
    WIRE_FRAME_HEARTBEAT, /* payload: WIRE_HEARTBEAT_BYTES, see wire_heartbeat_t */
    WIRE_FRAME_DATA,      /* payload: a protocol step's bytes for job and step */
    WIRE_FRAME_BEGIN,     /* payload: the job's WIRE_JOB_HASH_BYTES hash, first */
    WIRE_FRAME_ABORT      /* payload: 1 to WIRE_ABORT_MAX bytes of UTF-8 reason */
} wire_frame_type_t;

typedef struct {
    wire_frame_type_t type;
    unsigned sender; /* party index */
    uint64_t job;    /* 0 outside jobs */
    uint64_t step;   /* DATA: message number within the job, per direction */
    uint32_t round;  /* DATA: the sender's causal round stamp (protocol/ctx.h) */
} wire_frame_t;

/* Writes the header: "trn", WIRE_VERSION, type, sender, 2 zero bytes, job
 * and step as little-endian uint64, round as little-endian uint32, 4 zero
 * bytes. */
void wire_frame_pack(uint8_t out[WIRE_FRAME_HEADER_BYTES], const wire_frame_t *f);

/* Reads a header frame; anything but WIRE_FRAME_HEADER_BYTES bytes of the
 * right magic, version, type and a party index is TRINE_EFORMAT. */
TRINE_NODISCARD trine_status_t wire_frame_unpack(wire_frame_t *out, const void *buf, size_t len,
                                                 trine_err_t *err);

#define WIRE_FINGERPRINT_BYTES 32
#define WIRE_HELLO_LINES_MAX   8192

/* What a party says when a link comes up: who it is, what it runs, and the
 * cluster summary its fingerprint hashes (see daemon/common/cluster.h). */
typedef struct {
    uint32_t version;
    unsigned party;
    uint64_t incarnation; /* random per process start */
    char software[WIRE_VERSION_STR_MAX];
    uint8_t fingerprint[WIRE_FINGERPRINT_BYTES];
    size_t nlines;
    char **lines; /* allocated by the decoder: wire_hello_clear */
} wire_hello_t;

/* A heartbeat says which process sends it and whose hellos (of the
 * incarnations last heard) it holds, so that a lost hello is sent again. */
#define WIRE_HEARTBEAT_BYTES 9
typedef struct {
    uint64_t incarnation; /* the sender's, as in its hello */
    unsigned holds;       /* bit p: the sender holds a matching hello from party p */
} wire_heartbeat_t;

void wire_heartbeat_pack(uint8_t out[WIRE_HEARTBEAT_BYTES], const wire_heartbeat_t *h);
TRINE_NODISCARD trine_status_t wire_heartbeat_unpack(wire_heartbeat_t *out, const void *buf,
                                                     size_t len, trine_err_t *err);

TRINE_NODISCARD trine_status_t wire_hello_encode(void **buf, size_t *len, const wire_hello_t *h);

/* Decodes a hello; every line is a NUL-free string of at most 4095 bytes.
 * A version other than WIRE_VERSION still decodes (so that the caller can
 * name it); the caller compares. */
TRINE_NODISCARD trine_status_t wire_hello_decode(wire_hello_t *out, const void *buf, size_t len,
                                                 trine_err_t *err);

void wire_hello_clear(wire_hello_t *h);

/* The wire name of a failure code ("not-found", "denied", ...) and back;
 * an unknown name reads as TRINE_EPEER. */
const char *wire_code_name(trine_status_t code);
trine_status_t wire_code_of(const char *name, size_t len);

#endif
