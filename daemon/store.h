/* store.h — a party's named share tensors, with owners and grants.
 *
 * Each party keeps its additive share of every private tensor under a name
 * that is unique on the party (names follow wire_name_valid). The client
 * that stores a tensor owns it, identified by its CurveZMQ public key. The
 * owner may reveal (fetch its share back), remove and grant a tensor; a
 * grantee may use it in programs but never reveal it; other clients may do
 * nothing with it and see it in no listing. Share data (8 bytes an element)
 * counts against the store's memory limit, and is wiped before it is freed.
 * Single-threaded: the daemon's main loop owns the store.
 */
#ifndef TRINE_STORE_H
#define TRINE_STORE_H

#include "keys.h"
#include "tensor/status.h"
#include "tensor/tensor.h"
#include "wire.h"

#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

/* A read-only view of one stored tensor. Its pointers stay valid until
 * that tensor is removed or the store destroyed. */
typedef struct {
    const char *name;
    const keys_public_t *owner;
    wire_kind_t kind;      /* WIRE_KIND_INT or WIRE_KIND_FIXED */
    unsigned frac;         /* fractional bits when fixed, else 0 */
    const tensor_t *share; /* this party's share; owned by the store */
    size_t grants;         /* how many other clients were granted use */
} store_entry_t;

/* What a caller wants to do with a tensor. */
typedef enum {
    STORE_REVEAL, /* fetch the share to reconstruct it: owner only */
    STORE_USE     /* read it as a program input: owner or grantee */
} store_access_t;

/* A new empty store, owned by the caller, that holds at most memory_limit
 * bytes of share data; NULL when out of memory. */
store_t *store_new(uint64_t memory_limit);

/* Wipes every share, frees the store and sets *store to NULL; accepts NULL
 * and *store == NULL. */
void store_destroy(store_t **store);

/* Stores *share under name, owned by owner, and takes it (*share = NULL);
 * on failure *share is untouched. TRINE_EINVAL for a bad name, kind or
 * frac (0 for int, at most FIXED_FRAC_BITS_MAX for fixed), TRINE_EEXIST
 * when the name is taken, TRINE_ELIMIT past the memory limit, TRINE_ENOMEM. */
TRINE_NODISCARD trine_status_t store_put(store_t *s, const char *name, const keys_public_t *owner,
                                         wire_kind_t kind, unsigned frac, tensor_t **share,
                                         trine_err_t *err);

/* Fills *out with a view of the tensor called name when caller may access
 * it that way. TRINE_ENOENT when there is none, TRINE_EPERM when caller is
 * not its owner (STORE_REVEAL) or neither owner nor grantee (STORE_USE). */
TRINE_NODISCARD trine_status_t store_get(const store_t *s, const char *name,
                                         const keys_public_t *caller, store_access_t access,
                                         store_entry_t *out, trine_err_t *err);

/* Removes the tensor called name, wiping its share, when caller owns it;
 * its name and bytes are free again. TRINE_ENOENT or TRINE_EPERM as for
 * store_get with STORE_REVEAL. */
TRINE_NODISCARD trine_status_t store_rm(store_t *s, const char *name, const keys_public_t *caller,
                                        trine_err_t *err);

/* Lets grantee use the tensor called name, when caller owns it. Granting
 * twice, or to the owner, changes nothing and succeeds. TRINE_ENOENT or
 * TRINE_EPERM as for store_rm, TRINE_ENOMEM when out of memory. */
TRINE_NODISCARD trine_status_t store_grant(store_t *s, const char *name,
                                           const keys_public_t *caller,
                                           const keys_public_t *grantee, trine_err_t *err);

/* Writes views of the tensors caller owns or was granted, sorted by name,
 * into out[0 .. cap-1] and returns how many there are in all, which may
 * exceed cap (out may be NULL when cap is 0, to size the array). */
size_t store_list(const store_t *s, const keys_public_t *caller, store_entry_t *out, size_t cap);

/* Reports how many tensors the store holds, of all owners, and the bytes
 * of share data they take against the memory limit. */
void store_usage(const store_t *s, size_t *tensors, uint64_t *bytes);

#endif
