/* wire.h — client requests as msgpack (DESIGN section 7; schema in
 * daemon/WIRE.md).
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

#include "keys.h"
#include "tensor/status.h"
#include "tensor/tensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION   1
#define WIRE_NAME_MAX  KEYS_NAME_MAX /* tensor names follow the key-name rule */
#define WIRE_DEPTH_MAX 4             /* nesting of maps and arrays */

typedef enum {
    WIRE_OP_STATUS = 1, /* party state: no fields */
    WIRE_OP_PUT,        /* store a share: name, kind, frac (fixed only), shape, data */
    WIRE_OP_LS,         /* list visible tensors: no fields */
    WIRE_OP_RM,         /* delete and wipe: name */
    WIRE_OP_GRANT,      /* let another client use a tensor: name, grantee */
    WIRE_OP_GET         /* fetch a share to reveal: name */
} wire_op_t;

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
    keys_public_t grantee;         /* WIRE_OP_GRANT */
    wire_kind_t kind;              /* WIRE_OP_PUT */
    unsigned frac;                 /* WIRE_OP_PUT with WIRE_KIND_FIXED */
    int ndim;                      /* WIRE_OP_PUT: 1 .. TENSOR_MAX_DIMS */
    size_t shape[TENSOR_MAX_DIMS]; /* WIRE_OP_PUT */
    const uint8_t *data;           /* WIRE_OP_PUT: points into the decoded buffer, */
    size_t data_len;               /* little-endian uint64, 8 * element count bytes */
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

/* Encodes req as a new buffer (*buf, *len) the caller frees with free(). */
TRINE_NODISCARD trine_status_t wire_request_encode(void **buf, size_t *len,
                                                   const wire_request_t *req);

/* The op's name on the wire ("status", "put", ...), or NULL. */
const char *wire_op_name(wire_op_t op);

/* True when name can name a tensor: the rule of keys_name_valid. */
bool wire_name_valid(const char *name);

#endif
