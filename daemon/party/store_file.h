/* store_file.h — one stored tensor as one file in a party's store folder
 * (internal to the store; see store.h).
 *
 * A tensor called NAME lives in DIR/NAME.share (mode 0600), all fields
 * little-endian:
 *
 *   0    8  magic "trnshare"
 *   8    4  format version, STORE_FILE_VERSION
 *   12   1  kind (wire_kind_t)        13  1  frac
 *   14   1  ndim                      15  1  length of the name, 1..64
 *   16   64 the name, zero-padded
 *   80   40 the owner's Z85 public key
 *   120  4  number of approvals G      124 4  zero
 *   128  32 shape: four uint64 extents, unused ones 0
 *   160  G approvals of STORE_FILE_GRANT_BYTES (184) each:
 *        0 40 grantee's Z85 key, 40 1 any program (0 or 1), 41 7 zero,
 *        48 32 program hash (zero when any), 80 64 slot (NUL-padded),
 *        144 40 outputs_to's Z85 key (zero when none)
 *   ...  8  x elements: the share
 *   ...  32 BLAKE2b-256 (crypto_generichash) of every byte before it
 *
 * A write goes to a temporary file in the same folder (".tmp.NAME.XXXXXX",
 * never a tensor's file name, since tensor names do not start with '.'),
 * is fsynced, renamed over DIR/NAME.share, and the folder is fsynced: a
 * crash leaves the old file or the new one, and perhaps a temporary file
 * that the next start removes. The files hold secret shares.
 *
 * Version 1 files held 40-byte grantee keys, each a right to use the
 * tensor in any program; they are read, and those grants dropped.
 */
#ifndef TRINE_STORE_FILE_H
#define TRINE_STORE_FILE_H

#include "daemon/common/keys.h"
#include "tensor/status.h"
#include "tensor/tensor.h"
#include "daemon/wire/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_FILE_VERSION    2
#define STORE_FILE_SUFFIX     ".share"
#define STORE_FILE_TMP_PREFIX ".tmp."
#define STORE_FILE_GRANTS_MAX 4096 /* approvals of one tensor */
#define STORE_FILE_GRANT_BYTES 184

/* One tensor as the store keeps it and a file records it. */
typedef struct {
    char name[WIRE_NAME_MAX + 1];
    keys_public_t owner;
    wire_kind_t kind;
    unsigned frac;
    tensor_t *share;
    wire_approval_t *grants; /* other clients only; no two alike */
    size_t ngrants;
    uint64_t serial; /* the store's number for it (store_insert); not in the file */
} store_record_t;

/* Wipes the share and frees what the record holds; the record itself is
 * the caller's. Accepts a record with NULL share and grantees. */
void store_record_clear(store_record_t *r);

/* Writes r atomically as dir/NAME.share (see above). TRINE_EIO with the
 * path and the system's reason when any step fails; no temporary file is
 * left behind then, and an older file of that name is untouched. */
TRINE_NODISCARD trine_status_t store_file_write(const char *dir, const store_record_t *r,
                                                trine_err_t *err);

/* Unlinks dir/NAME.share and fsyncs the folder; a missing file is fine.
 * TRINE_EIO when the file stays. */
TRINE_NODISCARD trine_status_t store_file_remove(const char *dir, const char *name,
                                                 trine_err_t *err);

/* Reads the file dir/file (a NAME.share) into *out, which the caller
 * clears with store_record_clear. Everything is checked before it is
 * trusted: size, magic, version, checksum, that the name inside is valid
 * and is the NAME of the file name, kind, frac, shape and grantees; a
 * share of more than max_bytes is not read. On failure *out is empty and
 * err->msg is the reason, without the file name (TRINE_EFORMAT for a bad
 * file, TRINE_EUNSUPPORTED for another version, TRINE_ELIMIT past
 * max_bytes, TRINE_EIO or TRINE_ENOMEM). *dropped counts the grants of
 * a version 1 file, which are not kept. */
TRINE_NODISCARD trine_status_t store_file_read(store_record_t *out, const char *dir,
                                               const char *file, uint64_t max_bytes,
                                               size_t *dropped, trine_err_t *err);

/* True when a folder entry is one of our temporary files. */
bool store_file_is_tmp(const char *file);

#endif
