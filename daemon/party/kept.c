/* kept.c — masked forms kept across jobs (see kept.h).
 *
 * Few entries (a model's weight tensors): an unsorted array scanned
 * linearly, each entry allocated on its own so that a job's reference
 * survives its eviction. A use stamps the entry from a counter; eviction
 * takes the smallest stamp.
 */
#include "daemon/party/kept.h"

#include "daemon/wire/wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct kept_entry {
    char name[WIRE_NAME_MAX + 1];
    uint64_t serial;
    uint8_t tag[KEPT_TAG_BYTES];
    proto_masked_t *masked;
    uint64_t bytes, used;
    unsigned refs;
    bool listed; /* in the table; else freed with its last reference */
};

struct kept {
    kept_entry_t **e; /* max slots, n used */
    size_t n, max;
    uint64_t limit, bytes, clock;
};

kept_t *kept_new(uint64_t limit, size_t entries)
{
    kept_t *k = calloc(1, sizeof *k);
    if (k) {
        k->limit = limit;
        k->max = entries ? entries : 1;
        k->e = calloc(k->max, sizeof *k->e);
    }
    if (k && !k->e) {
        free(k);
        k = NULL;
    }
    return k;
}

static void kept_free(kept_entry_t *e)
{
    proto_masked_destroy(&e->masked); /* wipes */
    free(e);
}

void kept_destroy(kept_t **k)
{
    if (!k || !*k)
        return;
    for (size_t i = 0; i < (*k)->n; i++)
        kept_free((*k)->e[i]);
    free((*k)->e);
    free(*k);
    *k = NULL;
}

uint64_t kept_limit(const kept_t *k)
{
    return k->limit;
}

/* Takes entry i out of the table; freed now unless referenced. */
static void kept_unlist(kept_t *k, size_t i)
{
    kept_entry_t *e = k->e[i];
    k->e[i] = k->e[--k->n];
    k->bytes -= e->bytes;
    e->listed = false;
    if (!e->refs)
        kept_free(e);
}

static bool kept_find(const kept_t *k, const char *name, size_t *at)
{
    for (size_t i = 0; i < k->n; i++)
        if (!strcmp(k->e[i]->name, name)) {
            *at = i;
            return true;
        }
    return false;
}

kept_entry_t *kept_get(kept_t *k, const char *name, uint64_t serial)
{
    size_t i;
    if (!kept_find(k, name, &i) || k->e[i]->serial != serial)
        return NULL;
    kept_entry_t *e = k->e[i];
    e->refs++;
    e->used = ++k->clock;
    return e;
}

const proto_masked_t *kept_masked(const kept_entry_t *e)
{
    return e->masked;
}

const uint8_t *kept_tag(const kept_entry_t *e)
{
    return e->tag;
}

void kept_release(kept_entry_t **e)
{
    if (!e || !*e)
        return;
    if (--(*e)->refs == 0 && !(*e)->listed)
        kept_free(*e);
    *e = NULL;
}

void kept_forget(kept_t *k, const char *name)
{
    size_t i;
    if (kept_find(k, name, &i))
        kept_unlist(k, i);
}

void kept_put(kept_t *k, const char *name, uint64_t serial, const uint8_t *tag, proto_masked_t **m)
{
    kept_forget(k, name);
    uint64_t bytes = proto_masked_bytes(*m);
    kept_entry_t *e = bytes <= k->limit && strlen(name) <= WIRE_NAME_MAX ? calloc(1, sizeof *e)
                                                                          : NULL;
    if (!e) {
        proto_masked_destroy(m);
        return;
    }
    while (k->bytes + bytes > k->limit || k->n >= k->max) { /* the least recently used first */
        size_t old = 0;
        for (size_t i = 1; i < k->n; i++)
            if (k->e[i]->used < k->e[old]->used)
                old = i;
        kept_unlist(k, old);
    }
    strcpy(e->name, name);
    e->serial = serial;
    memcpy(e->tag, tag, KEPT_TAG_BYTES);
    e->masked = *m;
    *m = NULL;
    e->bytes = bytes;
    e->used = ++k->clock;
    e->listed = true;
    k->e[k->n++] = e;
    k->bytes += bytes;
}

void kept_usage(const kept_t *k, size_t *entries, uint64_t *bytes)
{
    *entries = k->n;
    *bytes = k->bytes;
}
