/* wire_msgpack.h — helpers the wire codecs share (daemon-internal).
 *
 * Each reads one msgpack object and checks its type and range, saying in
 * err which field is wrong; wire_unpack is the only way a codec turns bytes
 * into objects, so every decoder gets wire_scan's length checks first.
 */
#ifndef TRINE_WIRE_MSGPACK_H
#define TRINE_WIRE_MSGPACK_H

#include "daemon/common/keys.h"
#include "tensor/status.h"
#include "tensor/tensor.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Scans buf (wire_scan, WIRE_DEPTH_MAX) and unpacks its one value into *u,
 * which the caller initialised and destroys. Strings and bins in *u point
 * into buf. */
TRINE_NODISCARD trine_status_t wire_unpack(msgpack_unpacked *u, const void *buf, size_t len,
                                           trine_err_t *err);

/* True when o is the string s. */
bool wire_str_is(const msgpack_object *o, const char *s);

/* An unsigned integer at most max. */
TRINE_NODISCARD trine_status_t wire_uint(uint64_t *out, const msgpack_object *v, uint64_t max,
                                         const char *key, trine_err_t *err);

/* A string of at most cap-1 bytes without NULs, copied into out. */
TRINE_NODISCARD trine_status_t wire_str(char *out, size_t cap, const msgpack_object *v,
                                        const char *key, trine_err_t *err);

/* An array of 1 to TENSOR_MAX_DIMS extents. */
TRINE_NODISCARD trine_status_t wire_shape(int *ndim, size_t shape[TENSOR_MAX_DIMS],
                                          const msgpack_object *v, const char *key,
                                          trine_err_t *err);

/* A Z85 public key (KEYS_Z85_LEN characters); with optional, also the
 * empty string (out->z85 empty). */
TRINE_NODISCARD trine_status_t wire_key(keys_public_t *out, const msgpack_object *v,
                                        const char *key, bool optional, trine_err_t *err);

/* Packs a NUL-terminated string; 0 on success like msgpack-c. */
int wire_pack_str(msgpack_packer *pk, const char *s);

#endif
