/* keys.h — CurveZMQ key files.
 *
 * A key pair is two text files: NAME.pub holds the Z85-encoded public key
 * and is copied freely between hosts; NAME.key holds the Z85 secret key,
 * mode 0600, and never leaves its host. Lines starting with '#' are
 * comments. Secret keys pass through buffers that are wiped after use.
 */
#ifndef TRINE_KEYS_H
#define TRINE_KEYS_H

#include "tensor/status.h"

#include <stdbool.h>

#define KEYS_Z85_LEN  40 /* a 32-byte Curve25519 key in Z85 */
#define KEYS_NAME_MAX 64 /* see keys_name_valid */

typedef struct {
    char z85[KEYS_Z85_LEN + 1];
} keys_public_t;

typedef struct {
    char z85[KEYS_Z85_LEN + 1];
} keys_secret_t;

/* True when name can name a key: 1-64 of [A-Za-z0-9_.-], not starting
 * with '.'. */
bool keys_name_valid(const char *name);

/* Makes a fresh key pair and writes dir/name.pub (0644) and dir/name.key
 * (0600). Refuses, changing nothing, when either file exists. */
TRINE_NODISCARD trine_status_t keys_generate(const char *dir, const char *name, trine_err_t *err);

/* Reads a public key file into *out. */
TRINE_NODISCARD trine_status_t keys_read_public(keys_public_t *out, const char *path,
                                                trine_err_t *err);

/* Reads a secret key file into *secret and derives its public key into
 * *pub (may be NULL). Refuses a file that group or others can read, with
 * the chmod that fixes it. The caller wipes *secret with keys_wipe. */
TRINE_NODISCARD trine_status_t keys_read_secret(keys_secret_t *secret, keys_public_t *pub,
                                                const char *path, trine_err_t *err);

/* Overwrites a secret key in memory with zeros. */
void keys_wipe(keys_secret_t *secret);

#endif
