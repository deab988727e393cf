/* store.c — named share tensors (see store.h).
 *
 * The items sit behind an array of pointers sorted by name, so lookups are
 * a binary search and store_list walks in order; each item is allocated on
 * its own so that the views handed out survive other puts and removals.
 */
#include "store.h"
#include "log.h"

#include "tensor/fixed.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[WIRE_NAME_MAX + 1];
    keys_public_t owner;
    wire_kind_t kind;
    unsigned frac;
    tensor_t *share;
    keys_public_t *grantees; /* other clients only, each once */
    size_t ngrantees;
} store_item_t;

struct store {
    store_item_t **items; /* sorted by name */
    size_t count, cap;
    uint64_t limit, used; /* bytes of share data; used <= limit */
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
    sodium_memzero(item->share->data, item->share->size * sizeof(uint64_t));
    tensor_destroy(&item->share);
    free(item->grantees);
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

static bool store_granted(const store_item_t *item, const keys_public_t *client)
{
    for (size_t i = 0; i < item->ngrantees; i++)
        if (store_key_eq(&item->grantees[i], client))
            return true;
    return false;
}

/* Finds the item called name and checks that caller may access it that
 * way; action names what an owner-only access does, for the message. */
static trine_status_t store_check(const store_t *s, const char *name, const keys_public_t *caller,
                                  store_access_t access, const char *action, size_t *pos,
                                  trine_err_t *err)
{
    if (!store_find(s, name, pos))
        return trine_err_set(err, TRINE_ENOENT, "no tensor named '%s'", name);
    const store_item_t *item = s->items[*pos];
    if (store_key_eq(&item->owner, caller))
        return TRINE_OK;
    bool granted = store_granted(item, caller);
    if (access == STORE_USE) {
        if (granted)
            return TRINE_OK;
        return trine_err_set(err, TRINE_EPERM,
                             "tensor '%s' belongs to another client, who has not granted it to "
                             "you; ask its owner to grant it",
                             name);
    }
    if (granted)
        return trine_err_set(err, TRINE_EPERM,
                             "tensor '%s' belongs to another client; you may use it in programs "
                             "but only its owner can %s it",
                             name, action);
    return trine_err_set(err, TRINE_EPERM,
                         "tensor '%s' belongs to another client; only its owner can %s it", name,
                         action);
}

static void store_entry_of(store_entry_t *out, const store_item_t *item)
{
    *out = (store_entry_t){.name = item->name,
                           .owner = &item->owner,
                           .kind = item->kind,
                           .frac = item->frac,
                           .share = item->share,
                           .grants = item->ngrantees};
}

store_t *store_new(uint64_t memory_limit)
{
    store_t *s = calloc(1, sizeof *s);
    if (s)
        s->limit = memory_limit;
    return s;
}

void store_destroy(store_t **store)
{
    if (!store || !*store)
        return;
    store_t *s = *store;
    for (size_t i = 0; i < s->count; i++)
        store_item_free(s->items[i]);
    free(s->items);
    free(s);
    *store = NULL;
}

trine_status_t store_put(store_t *s, const char *name, const keys_public_t *owner, wire_kind_t kind,
                         unsigned frac, tensor_t **share, trine_err_t *err)
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

    uint64_t bytes = store_share_bytes(*share);
    if (bytes > s->limit - s->used) {
        char need[LOG_BYTES_CHARS], used[LOG_BYTES_CHARS], limit[LOG_BYTES_CHARS];
        log_bytes(need, bytes);
        log_bytes(used, s->used);
        log_bytes(limit, s->limit);
        return trine_err_set(err, TRINE_ELIMIT,
                             "storing '%s' needs %s; %s of %s in use: rm tensors no longer "
                             "needed, or raise memory_limit in the cluster config",
                             name, need, used, limit);
    }

    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        store_item_t **items = realloc(s->items, cap * sizeof *items);
        if (!items)
            return trine_err_set(err, TRINE_ENOMEM, "out of memory storing tensor '%s'", name);
        s->items = items;
        s->cap = cap;
    }
    store_item_t *item = calloc(1, sizeof *item);
    if (!item)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory storing tensor '%s'", name);
    strcpy(item->name, name);
    item->owner = *owner;
    item->kind = kind;
    item->frac = frac;
    item->share = *share;
    *share = NULL;

    memmove(&s->items[pos + 1], &s->items[pos], (s->count - pos) * sizeof *s->items);
    s->items[pos] = item;
    s->count++;
    s->used += bytes;
    return TRINE_OK;
}

trine_status_t store_get(const store_t *s, const char *name, const keys_public_t *caller,
                         store_access_t access, store_entry_t *out, trine_err_t *err)
{
    size_t pos;
    trine_status_t rc = store_check(s, name, caller, access, "reveal", &pos, err);
    if (rc == TRINE_OK)
        store_entry_of(out, s->items[pos]);
    return rc;
}

trine_status_t store_rm(store_t *s, const char *name, const keys_public_t *caller, trine_err_t *err)
{
    size_t pos;
    trine_status_t rc = store_check(s, name, caller, STORE_REVEAL, "remove", &pos, err);
    if (rc != TRINE_OK)
        return rc;
    store_item_t *item = s->items[pos];
    s->used -= store_share_bytes(item->share);
    store_item_free(item);
    memmove(&s->items[pos], &s->items[pos + 1], (s->count - pos - 1) * sizeof *s->items);
    s->count--;
    return TRINE_OK;
}

trine_status_t store_grant(store_t *s, const char *name, const keys_public_t *caller,
                           const keys_public_t *grantee, trine_err_t *err)
{
    size_t pos;
    trine_status_t rc = store_check(s, name, caller, STORE_REVEAL, "grant", &pos, err);
    if (rc != TRINE_OK)
        return rc;
    store_item_t *item = s->items[pos];
    if (store_key_eq(&item->owner, grantee) || store_granted(item, grantee))
        return TRINE_OK;
    keys_public_t *grantees =
        realloc(item->grantees, (item->ngrantees + 1) * sizeof *item->grantees);
    if (!grantees)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory granting tensor '%s'", name);
    grantees[item->ngrantees++] = *grantee;
    item->grantees = grantees;
    return TRINE_OK;
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

void store_usage(const store_t *s, size_t *tensors, uint64_t *bytes)
{
    *tensors = s->count;
    *bytes = s->used;
}
