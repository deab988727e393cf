/* store.h — a party's named share tensors, with owners and grants.
 *
 * Each party keeps its additive share of every private tensor under a name
 * that is unique on the party (names follow wire_name_valid). The client
 * that stores a tensor owns it, identified by its CurveZMQ public key. The
 * owner may reveal (fetch its share back), remove, approve and revoke; a
 * grantee may read it only as the input slot of the program an approval
 * names (wire_approval_t: a program's policy hash, one input variable of
 * it, perhaps a required recipient of the outputs), never reveal it;
 * other clients may do nothing with it and see it in no listing. Share
 * data (8 bytes an element) counts against the store's memory limit, and
 * is wiped before it is freed. Single-threaded: the daemon's main loop
 * owns the store.
 *
 * Uploads are two-phase: a client's puts are staged (store_stage), in
 * parts of any size that arrive in order, under a reserved name, invisible
 * to get, list and programs, and become a tensor only when the client
 * commits them (store_commit) after both compute parties took all of
 * their shares; an upload not committed within its time of its last part
 * is wiped (store_expire). So a client that dies between its two puts leaves no
 * tensor that only one party holds.
 *
 * A running job reserves its output names (store_reserve) so that no
 * upload or other job takes them before it stores its results.
 *
 * A persistent store (store_load) keeps each tensor in a file of its
 * folder (store_file.h) and writes it before any change takes effect in
 * memory: a put, commit, grant or rm whose write fails changes nothing,
 * so memory and disk agree. Staged uploads are never written.
 */
#ifndef TRINE_STORE_H
#define TRINE_STORE_H

#include "daemon/common/keys.h"
#include "daemon/party/store_file.h"
#include "tensor/status.h"
#include "tensor/tensor.h"
#include "daemon/wire/wire.h"

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
    const wire_approval_t *approvals; /* the owner's approvals; owned by the store */
    size_t grants;                    /* how many */
    uint64_t serial; /* this tensor's number in the store: never given twice, so a
                        name stored again has another */
} store_entry_t;

/* What a job asks of a tensor it reads as an input. */
typedef struct {
    const uint8_t *program;  /* the job's policy hash, WIRE_PROGRAM_HASH_BYTES */
    const char *slot;        /* the program's input variable that reads it */
    const keys_public_t *to; /* who will own the job's outputs */
} store_use_t;

/* A new empty store, owned by the caller, that holds at most memory_limit
 * bytes of share data; NULL when out of memory. */
store_t *store_new(uint64_t memory_limit);

/* Wipes every share, frees the store and sets *store to NULL; accepts NULL
 * and *store == NULL. The files of a persistent store stay. */
void store_destroy(store_t **store);

/* Told about a file or upload the store dropped or changed: what (a file
 * name or a tensor name) and why, for the log. Never given share data. */
typedef void (*store_notice_fn)(void *arg, const char *what, const char *why);

/* Makes the empty store s persistent in dir, creating it (mode 0700) if
 * missing, and loads every NAME.share there. A file that is unreadable,
 * truncated, of another format version, fails its checksum, holds a bad
 * or mismatching name, a bad shape, or does not fit in the memory limit
 * is skipped, never loaded, and reported to skipped (may be NULL) with
 * its file name and "skipped: " and the reason; so are other entries,
 * which stay. Leftover temporary files of an interrupted write are
 * removed and reported. A version 1 file is loaded without its grants
 * and reported ("loaded without its N grants ..."). *loaded and
 * *nskipped count tensors loaded and entries skipped. TRINE_EIO when dir cannot be made or read, TRINE_EINVAL when s
 * is not empty or already persistent. */
TRINE_NODISCARD trine_status_t store_load(store_t *s, const char *dir, store_notice_fn skipped,
                                          void *arg, size_t *loaded, size_t *nskipped,
                                          trine_err_t *err);

/* Stores *share under name, owned by owner, and takes it (*share = NULL);
 * on failure *share is untouched. TRINE_EINVAL for a bad name, kind or
 * frac (0 for int, at most FIXED_FRAC_BITS_MAX for fixed), TRINE_EEXIST
 * when the name is taken (or reserved by an upload), TRINE_ELIMIT past the
 * memory limit, TRINE_ENOMEM, TRINE_EIO when a persistent store cannot
 * write its file (then nothing is stored). */
TRINE_NODISCARD trine_status_t store_put(store_t *s, const char *name, const keys_public_t *owner,
                                         wire_kind_t kind, unsigned frac, tensor_t **share,
                                         trine_err_t *err);

/* One part of an upload: elements offset .. offset + count - 1 (C order)
 * of a tensor of kind, frac and shape. */
typedef struct {
    wire_kind_t kind;
    unsigned frac;
    int ndim;
    size_t shape[TENSOR_MAX_DIMS];
    size_t offset;
    const uint8_t *data; /* count little-endian uint64 elements */
    size_t count;        /* >= 1, ending within the shape */
} store_part_t;

/* Stages part of upload number upload (the client's, not 0) of name by
 * owner and keeps the upload until expires_ms (sock_now_ms time; each
 * part moves it). A part at offset 0 starts the upload: it reserves the
 * name and the whole tensor's bytes at once, and replaces a staged upload
 * of the same name by the same owner (the client gave it up); by another
 * owner, or a stored tensor of that name, is TRINE_EEXIST; otherwise it
 * fails as store_put. A later part continues the owner's upload of that
 * number: TRINE_ENOENT when there is none (never started, expired or
 * replaced), TRINE_EINVAL when its kind, frac or shape differ or its
 * offset is not the count of elements received so far (parts go in
 * order). Nothing else sees the share; it is never written. */
TRINE_NODISCARD trine_status_t store_stage(store_t *s, const char *name, const keys_public_t *owner,
                                           uint64_t upload, const store_part_t *part,
                                           uint64_t expires_ms, trine_err_t *err);

/* Makes caller's staged upload number upload of name a stored tensor
 * (written first when persistent). TRINE_ENOENT when caller has no such
 * staged upload (never sent, expired, or replaced by another),
 * TRINE_EINVAL when some of its parts have not come (the upload stays),
 * TRINE_EIO when the write fails: then the upload is wiped and dropped. */
TRINE_NODISCARD trine_status_t store_commit(store_t *s, const char *name,
                                            const keys_public_t *caller, uint64_t upload,
                                            trine_err_t *err);

/* Wipes and drops every staged upload whose time ran out by now_ms,
 * telling expired (may be NULL) the name of each; returns how many. */
size_t store_expire(store_t *s, uint64_t now_ms, store_notice_fn expired, void *arg);

/* Fills *out with a view of the tensor called name when caller owns it
 * (to reveal it). TRINE_ENOENT when there is none, TRINE_EPERM when caller
 * is not its owner. */
TRINE_NODISCARD trine_status_t store_get(const store_t *s, const char *name,
                                         const keys_public_t *caller, store_entry_t *out,
                                         trine_err_t *err);

/* Fills *out with a view of the tensor called name when caller may read
 * it as use says: caller owns it, or an approval of its owner names
 * caller and either any program or use's program and slot, and its
 * outputs_to, if set, is use->to. TRINE_ENOENT when there is none,
 * TRINE_EPERM otherwise, the message naming the tensor, its owner's key,
 * the program hash and the slot (what the owner would approve). */
TRINE_NODISCARD trine_status_t store_use(const store_t *s, const char *name,
                                         const keys_public_t *caller, const store_use_t *use,
                                         store_entry_t *out, trine_err_t *err);

/* Removes the tensor called name, wiping its share, when caller owns it
 * (its file first, when persistent); its name and bytes are free again.
 * Without such a tensor, drops caller's staged upload of that name.
 * TRINE_ENOENT or TRINE_EPERM as for store_get with STORE_REVEAL,
 * TRINE_EIO when the file cannot be removed (the tensor stays). */
TRINE_NODISCARD trine_status_t store_rm(store_t *s, const char *name, const keys_public_t *caller,
                                        trine_err_t *err);

/* Adds the approval a of the tensor called name, when caller owns it.
 * The same approval twice, or one to the owner, changes nothing and
 * succeeds. TRINE_ENOENT or TRINE_EPERM as for store_rm, TRINE_ELIMIT
 * past STORE_FILE_GRANTS_MAX approvals, TRINE_ENOMEM, TRINE_EIO when a
 * persistent store cannot rewrite the file (the approval is undone). */
TRINE_NODISCARD trine_status_t store_grant(store_t *s, const char *name,
                                           const keys_public_t *caller, const wire_approval_t *a,
                                           trine_err_t *err);

/* Withdraws the approvals of the tensor called name for grantee: every
 * one when program is NULL, else those of that policy hash. TRINE_ENOENT
 * when none matched (or no such tensor), TRINE_EPERM when caller is not
 * the owner, TRINE_EIO as for store_grant (nothing changes then). */
TRINE_NODISCARD trine_status_t store_revoke(store_t *s, const char *name,
                                            const keys_public_t *caller,
                                            const keys_public_t *grantee, const uint8_t *program,
                                            trine_err_t *err);

/* Reserves name for a job's output, owned by owner, under the party's
 * job key: TRINE_EEXIST when a tensor, upload or another reservation has
 * it. Nothing else may take the name until store_release; the
 * reservation is invisible and holds no bytes. */
TRINE_NODISCARD trine_status_t store_reserve(store_t *s, const char *name,
                                             const keys_public_t *owner, uint64_t job,
                                             trine_err_t *err);

/* The serial of the tensor called name, 0 when there is none. */
uint64_t store_serial(const store_t *s, const char *name);

/* Drops job's reservation of name; nothing when there is none. */
void store_release(store_t *s, const char *name, uint64_t job);

/* Writes views of the tensors caller owns or holds an approval of, sorted
 * by name, into out[0 .. cap-1] and returns how many there are in all,
 * which may exceed cap (out may be NULL when cap is 0, to size the array). */
size_t store_list(const store_t *s, const keys_public_t *caller, store_entry_t *out, size_t cap);

/* Reports how many tensors owner has stored, the bytes of their shares,
 * and the bytes of owner's staged uploads (the quotas of budget.h bound
 * both). Reservations of job outputs hold no bytes. */
void store_usage(const store_t *s, const keys_public_t *owner, size_t *tensors, uint64_t *stored,
                 uint64_t *staged);

#endif
