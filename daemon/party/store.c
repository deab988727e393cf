/* store.c — named share tensors (see store.h).
 *
 * The items sit behind an array of pointers sorted by name, so lookups are
 * a binary search and store_list walks in order; each item is allocated on
 * its own so that the views handed out survive other puts and removals.
 * Staged uploads are few and short-lived: an unsorted array.
 */
#include "daemon/party/store.h"
#include "daemon/common/log.h"

#include "tensor/fixed.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef store_record_t store_item_t;

typedef struct {
    store_record_t rec;
    uint64_t upload;     /* the client's number for it */
    uint64_t expires_ms; /* sock_now_ms time */
    size_t received;     /* elements of rec.share sent so far, in order */
} store_staged_t;

struct store {
    store_item_t **items; /* sorted by name */
    size_t count, cap;
    store_staged_t **staged; /* unsorted */
    size_t nstaged, staged_cap;
    uint64_t limit, used; /* bytes of share data, staged included; used <= limit */
    uint64_t serials;     /* the last serial given */
    char *dir;            /* the folder of a persistent store, else NULL */
};

static bool store_key_eq(const keys_public_t *a, const keys_public_t *b)
{
    return strcmp(a->z85, b->z85) == 0;
}

static uint64_t store_share_bytes(const tensor_t *share)
{
    return (uint64_t)share->size * sizeof(uint64_t);
}

static void store_item_free(store_item_t *item)
{
    store_record_clear(item);
    free(item);
}

/* True when name is stored, at *pos; else *pos is where it would go. */
static bool store_find(const store_t *s, const char *name, size_t *pos)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->items[mid]->name, name);
        if (c == 0) {
            *pos = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return false;
}

/* True when an approval of item names client. */
static bool store_granted(const store_item_t *item, const keys_public_t *client)
{
    for (size_t i = 0; i < item->ngrants; i++)
        if (store_key_eq(&item->grants[i].grantee, client))
            return true;
    return false;
}

static void store_entry_of(store_entry_t *out, const store_item_t *item)
{
    *out = (store_entry_t){.name = item->name,
                           .owner = &item->owner,
                           .kind = item->kind,
                           .frac = item->frac,
                           .share = item->share,
                           .approvals = item->grants,
                           .grants = item->ngrants,
                           .serial = item->serial};
}

/* Finds the item called name and checks that caller owns it; action names
 * what only the owner may do, for the message. */
static trine_status_t store_check(const store_t *s, const char *name, const keys_public_t *caller,
                                  const char *action, size_t *pos, trine_err_t *err)
{
    if (!store_find(s, name, pos))
        return trine_err_set(err, TRINE_ENOENT, "no tensor named '%s'", name);
    const store_item_t *item = s->items[*pos];
    if (store_key_eq(&item->owner, caller))
        return TRINE_OK;
    if (store_granted(item, caller))
        return trine_err_set(err, TRINE_EPERM,
                             "tensor '%s' belongs to another client; it approved programs that "
                             "may read it, but only its owner can %s it",
                             name, action);
    return trine_err_set(err, TRINE_EPERM,
                         "tensor '%s' belongs to another client; only its owner can %s it", name,
                         action);
}

store_t *store_new(uint64_t memory_limit)
{
    store_t *s = calloc(1, sizeof *s);
    if (s)
        s->limit = memory_limit;
    return s;
}

static void store_staged_drop(store_t *s, size_t i)
{
    if (s->staged[i]->rec.share) /* else a job's reservation */
        s->used -= store_share_bytes(s->staged[i]->rec.share);
    store_record_clear(&s->staged[i]->rec);
    free(s->staged[i]);
    s->staged[i] = s->staged[--s->nstaged];
}

void store_destroy(store_t **store)
{
    if (!store || !*store)
        return;
    store_t *s = *store;
    for (size_t i = 0; i < s->count; i++)
        store_item_free(s->items[i]);
    while (s->nstaged)
        store_staged_drop(s, 0);
    free(s->items);
    free(s->staged);
    free(s->dir);
    free(s);
    *store = NULL;
}

static trine_status_t store_validate(const char *name, wire_kind_t kind, unsigned frac,
                                     trine_err_t *err)
{
    if (!wire_name_valid(name))
        return trine_err_set(err, TRINE_EINVAL,
                             "'%s' is not a tensor name: use 1-%d letters, digits, '_', '-' or "
                             "'.', not starting with '.'",
                             name, WIRE_NAME_MAX);
    if (kind != WIRE_KIND_INT && kind != WIRE_KIND_FIXED)
        return trine_err_set(err, TRINE_EINVAL, "tensor '%s' has unknown kind %d", name, (int)kind);
    if (kind == WIRE_KIND_INT && frac != 0)
        return trine_err_set(err, TRINE_EINVAL,
                             "tensor '%s' holds integers, so it has no fractional bits (got %u)",
                             name, frac);
    if (kind == WIRE_KIND_FIXED && frac > FIXED_FRAC_BITS_MAX)
        return trine_err_set(err, TRINE_EINVAL,
                             "tensor '%s' has %u fractional bits; fixed point allows at most %d",
                             name, frac, FIXED_FRAC_BITS_MAX);
    return TRINE_OK;
}

/* The staged upload of name, or -1. */
static long store_staged_find(const store_t *s, const char *name)
{
    for (size_t i = 0; i < s->nstaged; i++)
        if (!strcmp(s->staged[i]->rec.name, name))
            return (long)i;
    return -1;
}

/* The name must be free of tensors and of other owners' uploads. */
static trine_status_t store_name_free(const store_t *s, const char *name,
                                      const keys_public_t *owner, trine_err_t *err)
{
    size_t pos;
    if (store_find(s, name, &pos)) {
        if (store_key_eq(&s->items[pos]->owner, owner))
            return trine_err_set(err, TRINE_EEXIST,
                                 "you already have a tensor named '%s'; rm it first to replace it",
                                 name);
        return trine_err_set(err, TRINE_EEXIST,
                             "the name '%s' is taken by a tensor owned by another client; "
                             "choose another name",
                             name);
    }
    long at = store_staged_find(s, name);
    if (at >= 0 && !s->staged[at]->rec.share)
        return trine_err_set(err, TRINE_EEXIST,
                             "the name '%s' is reserved for the output of a running job; choose "
                             "another name",
                             name);
    if (at >= 0 && !store_key_eq(&s->staged[at]->rec.owner, owner))
        return trine_err_set(err, TRINE_EEXIST,
                             "another client is uploading a tensor named '%s'; choose another "
                             "name",
                             name);
    return TRINE_OK;
}

static trine_status_t store_room(const store_t *s, const char *name, uint64_t bytes,
                                 trine_err_t *err)
{
    if (bytes <= s->limit - s->used)
        return TRINE_OK;
    char need[LOG_BYTES_CHARS], used[LOG_BYTES_CHARS], limit[LOG_BYTES_CHARS];
    log_bytes(need, bytes);
    log_bytes(used, s->used);
    log_bytes(limit, s->limit);
    return trine_err_set(err, TRINE_ELIMIT,
                         "storing '%s' needs %s; %s of %s in use: rm tensors no longer "
                         "needed, or raise memory_limit in the cluster config",
                         name, need, used, limit);
}

/* Inserts the record r (taken) as a tensor; its bytes are counted already. */
static trine_status_t store_insert(store_t *s, store_item_t *item, trine_err_t *err)
{
    size_t pos;
    store_find(s, item->name, &pos);
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        store_item_t **items = realloc(s->items, cap * sizeof *items);
        if (!items)
            return trine_err_set(err, TRINE_ENOMEM, "out of memory storing tensor '%s'",
                                 item->name);
        s->items = items;
        s->cap = cap;
    }
    memmove(&s->items[pos + 1], &s->items[pos], (s->count - pos) * sizeof *s->items);
    item->serial = ++s->serials;
    s->items[pos] = item;
    s->count++;
    return TRINE_OK;
}

/* Records a new tensor: its file first (persistent), then memory. */
static trine_status_t store_add(store_t *s, store_item_t *item, trine_err_t *err)
{
    if (s->dir && store_file_write(s->dir, item, err) != TRINE_OK)
        return err ? err->code : TRINE_EIO;
    trine_status_t st = store_insert(s, item, err);
    if (st != TRINE_OK && s->dir && store_file_remove(s->dir, item->name, NULL) != TRINE_OK)
        st = trine_err_set(err, TRINE_EIO, "out of memory storing '%s', and its file stays",
                           item->name);
    return st;
}

trine_status_t store_put(store_t *s, const char *name, const keys_public_t *owner, wire_kind_t kind,
                         unsigned frac, tensor_t **share, trine_err_t *err)
{
    trine_status_t st = store_validate(name, kind, frac, err);
    if (st == TRINE_OK && store_staged_find(s, name) >= 0)
        st = trine_err_set(err, TRINE_EEXIST, "a tensor named '%s' is being uploaded", name);
    if (st == TRINE_OK)
        st = store_name_free(s, name, owner, err);
    uint64_t bytes = store_share_bytes(*share);
    if (st == TRINE_OK)
        st = store_room(s, name, bytes, err);
    if (st != TRINE_OK)
        return st;
    store_item_t *item = calloc(1, sizeof *item);
    if (!item)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory storing tensor '%s'", name);
    strcpy(item->name, name);
    item->owner = *owner;
    item->kind = kind;
    item->frac = frac;
    item->share = *share;
    if ((st = store_add(s, item, err)) != TRINE_OK) {
        free(item); /* the share stays the caller's */
        return st;
    }
    *share = NULL;
    s->used += bytes;
    return TRINE_OK;
}

/* Starts an upload with an empty share of part's shape, all of its bytes
 * counted. */
static trine_status_t store_stage_start(store_t *s, const char *name, const keys_public_t *owner,
                                        uint64_t upload, const store_part_t *part,
                                        trine_err_t *err)
{
    trine_status_t st = store_validate(name, part->kind, part->frac, err);
    if (st == TRINE_OK)
        st = store_name_free(s, name, owner, err);
    if (st != TRINE_OK)
        return st;
    long old = store_staged_find(s, name);
    if (old >= 0) /* the owner's own earlier upload: given up */
        store_staged_drop(s, (size_t)old);
    size_t count;
    if (tensor_shape_check(part->ndim, part->shape, &count) != TRINE_OK)
        return trine_err_set(err, TRINE_EINVAL, "tensor '%s' has a bad shape", name);
    uint64_t bytes = (uint64_t)count * sizeof(uint64_t);
    if ((st = store_room(s, name, bytes, err)) != TRINE_OK)
        return st;
    if (s->nstaged == s->staged_cap) {
        size_t cap = s->staged_cap ? 2 * s->staged_cap : 8;
        store_staged_t **staged = realloc(s->staged, cap * sizeof *staged);
        if (!staged)
            return trine_err_set(err, TRINE_ENOMEM, "out of memory staging tensor '%s'", name);
        s->staged = staged;
        s->staged_cap = cap;
    }
    store_staged_t *u = calloc(1, sizeof *u);
    tensor_t *share = u ? tensor_new(part->ndim, part->shape) : NULL;
    if (!share) {
        free(u);
        return trine_err_set(err, TRINE_ENOMEM, "out of memory staging tensor '%s' (%llu bytes)",
                             name, (unsigned long long)bytes);
    }
    strcpy(u->rec.name, name);
    u->rec.owner = *owner;
    u->rec.kind = part->kind;
    u->rec.frac = part->frac;
    u->rec.share = share;
    u->upload = upload;
    s->staged[s->nstaged++] = u;
    s->used += bytes;
    return TRINE_OK;
}

trine_status_t store_stage(store_t *s, const char *name, const keys_public_t *owner,
                           uint64_t upload, const store_part_t *part, uint64_t expires_ms,
                           trine_err_t *err)
{
    if (part->offset == 0) {
        trine_status_t st = store_stage_start(s, name, owner, upload, part, err);
        if (st != TRINE_OK)
            return st;
    }
    long at = store_staged_find(s, name);
    store_staged_t *u = at >= 0 ? s->staged[at] : NULL;
    if (!u || !u->rec.share || !store_key_eq(&u->rec.owner, owner) || u->upload != upload)
        return trine_err_set(err, TRINE_ENOENT,
                             "no upload of '%s' to add a part to: its first part (offset 0) "
                             "was not sent, it was replaced by another upload, or it expired "
                             "(timeout_ms after its last part)",
                             name);
    const tensor_t *t = u->rec.share;
    if (part->kind != u->rec.kind || part->frac != u->rec.frac || part->ndim != t->ndim ||
        memcmp(part->shape, t->shape, (size_t)t->ndim * sizeof *t->shape))
        return trine_err_set(err, TRINE_EINVAL,
                             "a part of the upload of '%s' declares another kind, frac or shape "
                             "than its first part",
                             name);
    if (part->offset != u->received || part->count > t->size - u->received)
        return trine_err_set(err, TRINE_EINVAL,
                             "the part of '%s' at element %zu (%zu elements) does not continue "
                             "the upload, which has %zu of %zu elements: parts go in order",
                             name, part->offset, part->count, u->received, t->size);
    memcpy(u->rec.share->data + u->received, part->data, part->count * sizeof(uint64_t));
    u->received += part->count;
    u->expires_ms = expires_ms;
    return TRINE_OK;
}

trine_status_t store_commit(store_t *s, const char *name, const keys_public_t *caller,
                            uint64_t upload, trine_err_t *err)
{
    long at = store_staged_find(s, name);
    if (at < 0 || !s->staged[at]->rec.share || !store_key_eq(&s->staged[at]->rec.owner, caller) ||
        s->staged[at]->upload != upload)
        return trine_err_set(err, TRINE_ENOENT,
                             "no upload of '%s' to commit: it was not sent, was replaced by "
                             "another upload, or expired (timeout_ms)",
                             name);
    store_staged_t *u = s->staged[at];
    if (u->received < u->rec.share->size)
        return trine_err_set(err, TRINE_EINVAL,
                             "the upload of '%s' has %zu of its %zu elements; send the rest "
                             "before the commit",
                             name, u->received, u->rec.share->size);
    store_item_t *item = malloc(sizeof *item);
    trine_status_t st =
        item ? TRINE_OK : trine_err_set(err, TRINE_ENOMEM, "out of memory storing '%s'", name);
    if (st == TRINE_OK) {
        *item = u->rec;
        if ((st = store_add(s, item, err)) != TRINE_OK)
            free(item);
    }
    if (st != TRINE_OK) {
        store_staged_drop(s, (size_t)at);
        return st;
    }
    free(u); /* its record now lives in item; its bytes stay counted */
    s->staged[at] = s->staged[--s->nstaged];
    return TRINE_OK;
}

size_t store_expire(store_t *s, uint64_t now_ms, store_notice_fn expired, void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nstaged;) {
        if (s->staged[i]->expires_ms > now_ms) {
            i++;
            continue;
        }
        if (expired) {
            char who[LOG_KEY_CHARS], why[96];
            snprintf(why, sizeof why, "upload by %s was not committed in time; wiped",
                     log_key(who, &s->staged[i]->rec.owner));
            expired(arg, s->staged[i]->rec.name, why);
        }
        store_staged_drop(s, i);
        n++;
    }
    return n;
}

trine_status_t store_get(const store_t *s, const char *name, const keys_public_t *caller,
                         store_entry_t *out, trine_err_t *err)
{
    size_t pos;
    trine_status_t rc = store_check(s, name, caller, "reveal", &pos, err);
    if (rc == TRINE_OK)
        store_entry_of(out, s->items[pos]);
    return rc;
}

/* Whether approval a lets caller read the tensor as use says; *to_only
 * is set when it would but for its recipient. */
static bool store_approves(const wire_approval_t *a, const keys_public_t *caller,
                           const store_use_t *use, bool *to_only)
{
    if (!store_key_eq(&a->grantee, caller))
        return false;
    if (!a->any && (sodium_memcmp(a->program, use->program, WIRE_PROGRAM_HASH_BYTES) != 0 ||
                    strcmp(a->slot, use->slot) != 0))
        return false;
    if (a->outputs_to.z85[0] && !store_key_eq(&a->outputs_to, use->to)) {
        *to_only = true;
        return false;
    }
    return true;
}

trine_status_t store_use(const store_t *s, const char *name, const keys_public_t *caller,
                         const store_use_t *use, store_entry_t *out, trine_err_t *err)
{
    size_t pos;
    if (!store_find(s, name, &pos))
        return trine_err_set(err, TRINE_ENOENT, "no tensor named '%s'", name);
    const store_item_t *item = s->items[pos];
    bool ok = store_key_eq(&item->owner, caller), to_only = false;
    for (size_t i = 0; !ok && i < item->ngrants; i++)
        ok = store_approves(&item->grants[i], caller, use, &to_only);
    if (ok) {
        store_entry_of(out, item);
        return TRINE_OK;
    }
    char hex[2 * WIRE_PROGRAM_HASH_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, use->program, WIRE_PROGRAM_HASH_BYTES);
    if (to_only)
        return trine_err_set(err, TRINE_EPERM,
                             "tensor '%s' (owner %s) is approved for program %.16s as input "
                             "'%s' only with its outputs going to another client: run with --to "
                             "that client's key",
                             name, item->owner.z85, hex, use->slot);
    return trine_err_set(err, TRINE_EPERM,
                         "tensor '%s' belongs to client %s, who has not approved program %s "
                         "reading it as input '%s' for you; ask its owner to grant it for "
                         "exactly that program (trine grant %s YOUR.pub --program FILE)",
                         name, item->owner.z85, hex, use->slot, name);
}

trine_status_t store_rm(store_t *s, const char *name, const keys_public_t *caller, trine_err_t *err)
{
    size_t pos;
    long at = store_staged_find(s, name);
    if (at >= 0 && s->staged[at]->rec.share && store_key_eq(&s->staged[at]->rec.owner, caller)) {
        store_staged_drop(s, (size_t)at);
        return TRINE_OK;
    }
    trine_status_t rc = store_check(s, name, caller, "remove", &pos, err);
    if (rc != TRINE_OK)
        return rc;
    if (s->dir && (rc = store_file_remove(s->dir, name, err)) != TRINE_OK)
        return rc;
    store_item_t *item = s->items[pos];
    s->used -= store_share_bytes(item->share);
    store_item_free(item);
    memmove(&s->items[pos], &s->items[pos + 1], (s->count - pos - 1) * sizeof *s->items);
    s->count--;
    return TRINE_OK;
}

static bool store_approval_eq(const wire_approval_t *a, const wire_approval_t *b)
{
    return store_key_eq(&a->grantee, &b->grantee) && a->any == b->any &&
           !memcmp(a->program, b->program, sizeof a->program) && !strcmp(a->slot, b->slot) &&
           store_key_eq(&a->outputs_to, &b->outputs_to);
}

/* Rewrites a persistent store's file of item after a change of its
 * approvals. */
static trine_status_t store_rewrite(store_t *s, const store_item_t *item, trine_err_t *err)
{
    return s->dir ? store_file_write(s->dir, item, err) : TRINE_OK;
}

trine_status_t store_grant(store_t *s, const char *name, const keys_public_t *caller,
                           const wire_approval_t *a, trine_err_t *err)
{
    size_t pos;
    trine_status_t rc = store_check(s, name, caller, "grant", &pos, err);
    if (rc != TRINE_OK)
        return rc;
    store_item_t *item = s->items[pos];
    if (store_key_eq(&item->owner, &a->grantee))
        return TRINE_OK;
    for (size_t i = 0; i < item->ngrants; i++)
        if (store_approval_eq(&item->grants[i], a))
            return TRINE_OK;
    if (item->ngrants == STORE_FILE_GRANTS_MAX)
        return trine_err_set(err, TRINE_ELIMIT, "tensor '%s' has %d approvals already; revoke some",
                             name, STORE_FILE_GRANTS_MAX);
    wire_approval_t *grants = realloc(item->grants, (item->ngrants + 1) * sizeof *item->grants);
    if (!grants)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory granting tensor '%s'", name);
    grants[item->ngrants++] = *a;
    item->grants = grants;
    if ((rc = store_rewrite(s, item, err)) != TRINE_OK)
        item->ngrants--; /* the file still has the old approvals */
    return rc;
}

trine_status_t store_revoke(store_t *s, const char *name, const keys_public_t *caller,
                            const keys_public_t *grantee, const uint8_t *program, trine_err_t *err)
{
    size_t pos;
    trine_status_t rc = store_check(s, name, caller, "revoke", &pos, err);
    if (rc != TRINE_OK)
        return rc;
    store_item_t *item = s->items[pos];
    wire_approval_t *kept = malloc((item->ngrants ? item->ngrants : 1) * sizeof *kept);
    if (!kept)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory revoking on '%s'", name);
    size_t n = 0;
    for (size_t i = 0; i < item->ngrants; i++) {
        const wire_approval_t *a = &item->grants[i];
        bool drop = store_key_eq(&a->grantee, grantee) &&
                    (!program || (!a->any && !memcmp(a->program, program, sizeof a->program)));
        if (!drop)
            kept[n++] = *a;
    }
    if (n == item->ngrants) {
        free(kept);
        return trine_err_set(err, TRINE_ENOENT, "tensor '%s' has no approval for %.8s...%s to revoke",
                             name, grantee->z85, program ? " of that program" : "");
    }
    wire_approval_t *old = item->grants;
    size_t nold = item->ngrants;
    item->grants = kept;
    item->ngrants = n;
    if ((rc = store_rewrite(s, item, err)) != TRINE_OK) {
        item->grants = old; /* the file still has them */
        item->ngrants = nold;
        free(kept);
        return rc;
    }
    free(old);
    return TRINE_OK;
}

trine_status_t store_reserve(store_t *s, const char *name, const keys_public_t *owner, uint64_t job,
                             trine_err_t *err)
{
    trine_status_t st = store_name_free(s, name, owner, err);
    if (st == TRINE_OK && store_staged_find(s, name) >= 0)
        st = trine_err_set(err, TRINE_EEXIST,
                           "you are uploading a tensor named '%s'; it cannot be an output too",
                           name);
    if (st != TRINE_OK)
        return st;
    if (s->nstaged == s->staged_cap) {
        size_t cap = s->staged_cap ? 2 * s->staged_cap : 8;
        store_staged_t **staged = realloc(s->staged, cap * sizeof *staged);
        if (!staged)
            return trine_err_set(err, TRINE_ENOMEM, "out of memory reserving '%s'", name);
        s->staged = staged;
        s->staged_cap = cap;
    }
    store_staged_t *u = calloc(1, sizeof *u);
    if (!u)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory reserving '%s'", name);
    strcpy(u->rec.name, name);
    u->rec.owner = *owner;
    u->upload = job;
    u->expires_ms = UINT64_MAX; /* until released */
    s->staged[s->nstaged++] = u;
    return TRINE_OK;
}

void store_release(store_t *s, const char *name, uint64_t job)
{
    long at = store_staged_find(s, name);
    if (at >= 0 && !s->staged[at]->rec.share && s->staged[at]->upload == job)
        store_staged_drop(s, (size_t)at);
}

size_t store_list(const store_t *s, const keys_public_t *caller, store_entry_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++) {
        const store_item_t *item = s->items[i];
        if (!store_key_eq(&item->owner, caller) && !store_granted(item, caller))
            continue;
        if (n < cap)
            store_entry_of(&out[n], item);
        n++;
    }
    return n;
}

void store_usage(const store_t *s, const keys_public_t *owner, size_t *tensors, uint64_t *stored,
                 uint64_t *staged)
{
    *tensors = 0;
    *stored = *staged = 0;
    for (size_t i = 0; i < s->count; i++)
        if (store_key_eq(&s->items[i]->owner, owner)) {
            (*tensors)++;
            *stored += store_share_bytes(s->items[i]->share);
        }
    for (size_t i = 0; i < s->nstaged; i++)
        if (s->staged[i]->rec.share && store_key_eq(&s->staged[i]->rec.owner, owner))
            *staged += store_share_bytes(s->staged[i]->rec.share);
}

/* One entry of the folder: loaded, removed (a temporary file) or skipped. */
static void store_load_entry(store_t *s, const char *file, store_notice_fn skipped, void *arg,
                             size_t *loaded, size_t *nskipped)
{
    char why[TRINE_ERR_MSG_MAX + 64];
    trine_err_t err = {0};
    if (store_file_is_tmp(file)) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", s->dir, file);
        if (unlink(path) == 0)
            snprintf(why, sizeof why,
                     "skipped: a temporary file left by an interrupted write; removed");
        else
            snprintf(why, sizeof why,
                     "skipped: a temporary file left by an interrupted write; cannot "
                     "remove it: %s",
                     strerror(errno));
        (*nskipped)++;
        if (skipped)
            skipped(arg, file, why);
        return;
    }
    store_item_t *item = calloc(1, sizeof *item);
    size_t dropped = 0;
    trine_status_t st = item ? store_file_read(item, s->dir, file, s->limit - s->used, &dropped,
                                               &err)
                             : trine_err_set(&err, TRINE_ENOMEM, "out of memory");
    if (st == TRINE_OK && store_find(s, item->name, &(size_t){0}))
        st = trine_err_set(&err, TRINE_EEXIST, "a tensor of that name is loaded already");
    snprintf(why, sizeof why, "skipped: %s", err.msg);
    if (st == TRINE_ELIMIT) {
        char used[LOG_BYTES_CHARS], limit[LOG_BYTES_CHARS];
        snprintf(why, sizeof why, "skipped: %s (%s of %s in use)", err.msg,
                 log_bytes(used, s->used), log_bytes(limit, s->limit));
    }
    if (st == TRINE_OK && (st = store_insert(s, item, &err)) == TRINE_OK) {
        s->used += store_share_bytes(item->share);
        (*loaded)++;
        if (dropped && skipped) {
            snprintf(why, sizeof why,
                     "loaded without its %zu grants of format version 1: each let its grantee "
                     "run any program on it; the owner approves programs again with trine grant "
                     "--program",
                     dropped);
            skipped(arg, file, why);
        }
        return;
    }
    if (item)
        store_item_free(item);
    (*nskipped)++;
    if (skipped)
        skipped(arg, file, why);
}

trine_status_t store_load(store_t *s, const char *dir, store_notice_fn skipped, void *arg,
                          size_t *loaded, size_t *nskipped, trine_err_t *err)
{
    *loaded = *nskipped = 0;
    if (s->dir || s->count || s->nstaged)
        return trine_err_set(err, TRINE_EINVAL, "store_load: the store is not new");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return trine_err_set(err, TRINE_EIO, "cannot make the store folder %s: %s", dir,
                             strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return trine_err_set(err, TRINE_EIO, "cannot read the store folder %s: %s", dir,
                             strerror(errno));
    if (!(s->dir = strdup(dir))) {
        closedir(d);
        return trine_err_set(err, TRINE_ENOMEM, "out of memory");
    }
    struct dirent *e;
    while ((errno = 0, e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            store_load_entry(s, e->d_name, skipped, arg, loaded, nskipped);
    trine_status_t st = errno ? trine_err_set(err, TRINE_EIO, "cannot read the store folder %s: %s",
                                              dir, strerror(errno))
                              : TRINE_OK;
    closedir(d);
    return st;
}

uint64_t store_serial(const store_t *s, const char *name)
{
    size_t pos;
    return store_find(s, name, &pos) ? s->items[pos]->serial : 0;
}
