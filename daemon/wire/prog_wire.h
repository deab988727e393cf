/* prog_wire.h — programs (protocol/program.h) as msgpack, the form the
 * client sends and the parties agree on (layout in daemon/wire/WIRE.md,
 * "Programs").
 *
 * One map {"v": 1, "vars": [...], "ops": [...]}:
 *   var: [name, kind, output, [extent...]]
 *        kind 0 input, 1 batch, 2 temp (prog_var_kind_t); output a bool;
 *        0 to TENSOR_MAX_DIMS extents (none: shape not set yet)
 *   op:  [code, out, [in0, in1], [iattr0, ...], fattr, [extent...],
 *         line, col]
 *        code a prog_opcode_t value; in -1 when unused; iattr 0 to
 *        PROG_IATTR_MAX int64 (missing ones 0; written up to the last
 *        nonzero, at least two); fattr float64; extents the reshape
 *        target (0 where program.h allows it) or the transpose axes
 * It nests three deep, within wire_scan's WIRE_DEPTH_MAX.
 */
#ifndef TRINE_PROG_WIRE_H
#define TRINE_PROG_WIRE_H

#include "daemon/wire/wire.h"

#include "protocol/program.h"
#include "tensor/status.h"

#include <stddef.h>
#include <stdint.h>

#define PROG_WIRE_VERSION 1

/* Encodes p as a new buffer (*buf, *len) the caller frees with free().
 * TRINE_EINVAL when p breaks a rule the decoder checks (a count past its
 * limit, an index out of range, a dimension count past TENSOR_MAX_DIMS),
 * so that whatever encodes also decodes; TRINE_ENOMEM. */
TRINE_NODISCARD trine_status_t prog_wire_encode(const prog_t *p, void **buf, size_t *len,
                                                trine_err_t *err);

/* Decodes a program into *out (overwritten, not freed; prog_clear frees
 * it). Checks the msgpack structure before anything is allocated, then
 * every field's type and range: counts within PROG_VARS_MAX and
 * PROG_OPS_MAX, distinct variable names following wire_name_valid,
 * kinds, opcodes, variable indices, dimension counts, extents >= 1 (but
 * for the reshape target's batch placeholders and transpose axes), at most
 * PROG_IATTR_MAX iattr, finite fattr. It does not
 * run prog_check: the caller does, once input shapes are known. On
 * failure *out is cleared; TRINE_EUNSUPPORTED for another version, else
 * TRINE_EFORMAT (or TRINE_ENOMEM) with err naming the field, as in
 * "program op 3: operand in[1] is 77, past the 12 variables". */
TRINE_NODISCARD trine_status_t prog_wire_decode(prog_t *out, const void *buf, size_t len,
                                                trine_err_t *err);

/* The policy hash of a job (daemon/wire/WIRE.md, "Approvals"): what an
 * approval names. BLAKE2b-256 over "trine-policy-1", the encoding of p
 * with every variable's shape left out (the stored tensors' or
 * prog_check's) and no source positions, frac_bits, the truncation
 * (0 exact, 1 local), and batch and epochs when p mixes rows
 * (prog_mixes_rows; else 0 and 0: they change nothing it computes), and
 * then for a shuffled job (prog_job_t) the string "shuffle" after them
 * (an unshuffled job's hash is as it always was). So
 * the client that approves and the party that checks compute it alike
 * from the same op list. TRINE_ENOMEM, or TRINE_EINVAL as for
 * prog_wire_encode. */
TRINE_NODISCARD trine_status_t prog_wire_policy_hash(uint8_t out[WIRE_PROGRAM_HASH_BYTES],
                                                     const prog_t *p, unsigned frac_bits,
                                                     unsigned truncation, uint64_t batch,
                                                     uint64_t epochs, bool shuffle,
                                                     trine_err_t *err);

#endif
