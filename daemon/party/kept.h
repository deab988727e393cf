/* kept.h — masked forms of stored tensors kept from one job to the next.
 *
 * A product with a fixed operand W (a model's weights) opens W - B once
 * for a mask B (protocol/mask.c); a job hands the masked forms it made
 * back, and the party keeps them here so that later jobs reading the same
 * tensor open none of W again. P0 and P1 keep theirs per stored tensor:
 * its name and the store's serial of it (store_serial), so a tensor that
 * was removed and stored again under the name never meets the old form;
 * P2 keeps B per bound name (serial 0). A masked form is equivalent to a
 * share (W's share, B's share and W - B), so kept_forget wipes it when its
 * tensor is removed.
 *
 * Each entry carries a tag the three parties agree on when the job that
 * made it ends (job.c: from a nonce each contributes); a job uses a kept
 * form only when all three announce the same tag for that input, so a
 * party that lost, evicted or never kept it (restart, failure at one
 * party only, another limit) makes the job mask afresh, never mix two B.
 *
 * At most `limit` bytes and `entries` forms are kept (lookups scan the
 * entries, so a client cannot make each job's cost grow with a million
 * one-element tensors); the least recently used go first, and a form
 * above the byte limit is not kept. Entries in use by a
 * running job are referenced (kept_get, kept_release) and freed only when
 * the last reference goes. Single-threaded: the daemon's main loop owns
 * it; jobs read the forms they hold references to, which never change.
 */
#ifndef TRINE_KEPT_H
#define TRINE_KEPT_H

#include "protocol/proto.h"

#include <stdint.h>

#define KEPT_TAG_BYTES   16
#define KEPT_ENTRIES_MAX 1024 /* the entries a party keeps (jobs.c) */

typedef struct kept kept_t;
typedef struct kept_entry kept_entry_t;

/* A new empty table holding at most limit bytes (0: keeps nothing) in at
 * most entries forms (>= 1); NULL when out of memory. */
kept_t *kept_new(uint64_t limit, size_t entries);

/* Wipes and frees every entry, referenced or not (after the jobs ended),
 * and the table; sets *k to NULL; accepts NULL. */
void kept_destroy(kept_t **k);

/* The limit kept_new was given. */
uint64_t kept_limit(const kept_t *k);

/* A new reference to the form kept for name at serial, or NULL. */
kept_entry_t *kept_get(kept_t *k, const char *name, uint64_t serial);

/* The entry's masked form and tag (KEPT_TAG_BYTES). */
const proto_masked_t *kept_masked(const kept_entry_t *e);
const uint8_t *kept_tag(const kept_entry_t *e);

/* Drops the reference *e (accepts NULL) and sets it to NULL. */
void kept_release(kept_entry_t **e);

/* Keeps *m for name at serial under tag, in place of what was kept for
 * name, and takes it (*m = NULL; wiped at once when it cannot be kept). */
void kept_put(kept_t *k, const char *name, uint64_t serial, const uint8_t *tag, proto_masked_t **m);

/* Drops (wipes, once unreferenced) what is kept for name. */
void kept_forget(kept_t *k, const char *name);

/* Entries and bytes kept now. */
void kept_usage(const kept_t *k, size_t *entries, uint64_t *bytes);

#endif
