/* job.h — one job at one party: a thread that runs a program with the
 * protocol layer over the daemon's party links.
 *
 * The protocol layer blocks in its receives, so each job runs on its own
 * thread. ZeroMQ sockets belong to one thread, so the job talks only to its
 * end of an inproc PAIR; the main loop (jobs.h) forwards between that pipe
 * and the party links:
 *   job -> main: [destination party, 1 byte][frame header][payload], or one
 *                frame [JOB_PIPE_DONE] when the thread is about to end;
 *   main -> job: [frame header][payload] from a peer (BEGIN, DATA, ABORT),
 *                or [JOB_PIPE_STOP][reason] when the job must stop (a peer
 *                went silent, the client cancelled, the party shuts down).
 *
 * The thread first sends BEGIN with the job's hash to both peers and waits
 * for theirs: a different hash (another program or other settings) stops
 * the job before any share moves. BEGIN also carries a fresh nonce,
 * whether the party keeps masked forms, and the tag of the form it keeps
 * for each input (kept.h): the job reads a kept form only when all three
 * tags agree, and when all three keep, it hands the forms it made back
 * under a tag hashed from the three nonces, so that all three agree on
 * it. Then it agrees fresh seeds (a new protocol context), runs the
 * program, and wipes the seeds. On failure it
 * sends ABORT with the reason to both peers, so that they stop at once
 * instead of waiting out the timeout. A receive waits at most twice
 * timeout_ms, and timeout_ms more once when this party was itself not run
 * (SIGSTOP), so that the peers' ABORT, not a false blame, ends the job.
 * Received payloads are wiped before they are freed.
 */
#ifndef TRINE_JOB_H
#define TRINE_JOB_H

#include "daemon/party/kept.h"
#include "daemon/wire/wire.h"

#include "protocol/program.h"
#include "tensor/status.h"
#include "tensor/tensor.h"

#include <stdint.h>

#define JOB_PIPE_DONE 0xD0
#define JOB_PIPE_STOP 0x5C

typedef struct job job_t;

/* What a job needs; job_start takes prog and inputs. */
typedef struct {
    uint64_t id;
    int self;
    unsigned frac_bits;
    proto_trunc_t truncation;
    proto_protocol_t protocol;
    uint64_t fss_max; /* under PROTO_AUTO */
    unsigned timeout_ms;
    uint8_t hash[WIRE_JOB_HASH_BYTES];
    prog_t prog;       /* checked for every batch size the job will see */
    uint64_t batch, epochs;
    bool shuffle;      /* each epoch's rows in an order P0 and P1 draw */
    tensor_t **inputs; /* prog.nvars entries: shares of inputs (NULL at P2) */
    /* Masked forms kept across jobs (kept.h): keep, this party keeps what
     * the job makes; kept[i] (prog.nvars entries, or NULL) the form kept
     * for input i's tensor and tags[i] its tag (zeros: none). The job only
     * reads the forms; the caller holds them until job_join. */
    bool keep;
    const proto_masked_t **kept;
    uint8_t (*tags)[KEPT_TAG_BYTES];
} job_params_t;

/* Wipes and frees p's inputs, frees kept and tags, and clears its
 * program; for parameters no job took. */
void job_params_clear(job_params_t *p);

/* Starts the job's thread. On success the job owns p->prog, p->inputs,
 * p->kept and p->tags (cleared in *p) and *pipe is the main loop's end of its pipe, to
 * poll and forward. NULL with err on failure; *p is left to the caller. */
job_t *job_start(void *zctx, job_params_t *p, void **pipe, trine_err_t *err);

/* The job's id. */
uint64_t job_id(const job_t *job);

/* Steps done so far and in all; safe from any thread. */
void job_progress(const job_t *job, uint64_t *step, uint64_t *steps);

/* What a finished job left: its status, the outputs (prog.nvars entries,
 * non-NULL for the output variables on success) and what it cost. */
typedef struct {
    trine_status_t status;
    trine_err_t err;
    prog_t prog;
    tensor_t **outputs;
    wire_job_stats_t stats;
    /* On success, when all three parties keep masked forms: those the job
     * made (prog.nvars entries, NULL where none) and their tags; else NULL. */
    proto_masked_t **made;
    uint8_t (*made_tags)[KEPT_TAG_BYTES];
} job_result_t;

/* Waits for the thread (call after JOB_PIPE_DONE), closes the pipe, fills
 * *out (owned by the caller: job_result_clear) and frees *job. */
void job_join(job_t **job, job_result_t *out);

/* Wipes and frees the outputs and the masked forms made, clears the
 * program. */
void job_result_clear(job_result_t *r);

#endif
