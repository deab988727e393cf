/* wire_reply.c — replies to clients, party frame headers and the hello
 * (see wire.h and WIRE.md). */
#include "daemon/wire/wire.h"
#include "daemon/wire/wire_msgpack.h"

#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    trine_status_t code;
    const char *name;
} wire_codes[] = {
    {TRINE_EINVAL, "invalid"},
    {TRINE_ENOMEM, "memory"},
    {TRINE_ESHAPE, "shape"},
    {TRINE_ERANGE, "range"},
    {TRINE_EIO, "io"},
    {TRINE_EFORMAT, "format"},
    {TRINE_EUNSUPPORTED, "unsupported"},
    {TRINE_ENOENT, "not-found"},
    {TRINE_EEXIST, "exists"},
    {TRINE_EPERM, "denied"},
    {TRINE_ELIMIT, "limit"},
    {TRINE_ETIMEOUT, "timeout"},
    {TRINE_EPEER, "peer"},
};
#define WIRE_CODE_COUNT (sizeof wire_codes / sizeof wire_codes[0])

const char *wire_code_name(trine_status_t code)
{
    for (size_t i = 0; i < WIRE_CODE_COUNT; i++)
        if (wire_codes[i].code == code)
            return wire_codes[i].name;
    return "peer";
}

trine_status_t wire_code_of(const char *name, size_t len)
{
    for (size_t i = 0; i < WIRE_CODE_COUNT; i++)
        if (strlen(wire_codes[i].name) == len && !memcmp(wire_codes[i].name, name, len))
            return wire_codes[i].code;
    return TRINE_EPEER;
}

static const char *const wire_peer_names[] = {"self", "up", "down", "mismatch"};
static const char *const wire_job_states[] = {"running", "done", "unknown"};
static const char *const wire_jobs_states[] = {"starting", "running", "stopping"};

/* The run reply's per-peer counters, in wire order. */
static const char *const wire_stats_arrays[] = {"sent", "recv", "msgs"};

/* ---- encoding --------------------------------------------------------- */

static int wire_pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    return wire_pack_str(pk, k) | wire_pack_str(pk, v);
}

static int wire_pack_kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
    return wire_pack_str(pk, k) | msgpack_pack_uint64(pk, v);
}

static int wire_pack_shape(msgpack_packer *pk, const wire_tensor_info_t *t)
{
    int rc = wire_pack_str(pk, "shape") | msgpack_pack_array(pk, (size_t)t->ndim);
    for (int i = 0; i < t->ndim; i++)
        rc |= msgpack_pack_uint64(pk, t->shape[i]);
    return rc;
}

/* An approval travels as 4 strings: grantee, program hash in hex (empty
 * for any program), slot, outputs_to (empty for none). */
#define WIRE_APPROVAL_STRS 4

static int wire_pack_info(msgpack_packer *pk, const wire_tensor_info_t *t)
{
    int rc = msgpack_pack_map(pk, 8) | wire_pack_kv_str(pk, "name", t->name) |
             wire_pack_kv_str(pk, "kind", t->kind == WIRE_KIND_FIXED ? "fixed" : "int") |
             wire_pack_kv_uint(pk, "frac", t->frac) | wire_pack_shape(pk, t) |
             wire_pack_str(pk, "mine") |
             (t->mine ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) |
             wire_pack_kv_uint(pk, "grants", t->grants) |
             wire_pack_kv_str(pk, "owner", t->owner.z85) | wire_pack_str(pk, "approvals") |
             msgpack_pack_array(pk, WIRE_APPROVAL_STRS * t->napprovals);
    for (size_t i = 0; i < t->napprovals; i++) {
        const wire_approval_t *a = &t->approvals[i];
        char hex[2 * WIRE_PROGRAM_HASH_BYTES + 1] = "";
        if (!a->any)
            sodium_bin2hex(hex, sizeof hex, a->program, sizeof a->program);
        rc |= wire_pack_str(pk, a->grantee.z85) | wire_pack_str(pk, hex) |
              wire_pack_str(pk, a->slot) | wire_pack_str(pk, a->outputs_to.z85);
    }
    return rc;
}

static int wire_pack_job_info(msgpack_packer *pk, const wire_job_info_t *j)
{
    wire_jobs_state_t s = j->state >= WIRE_JOBS_STARTING && j->state <= WIRE_JOBS_STOPPING
                              ? j->state
                              : WIRE_JOBS_STOPPING;
    return msgpack_pack_map(pk, 5) | wire_pack_kv_uint(pk, "job", j->job) |
           wire_pack_kv_str(pk, "state", wire_jobs_states[s - 1]) |
           wire_pack_kv_uint(pk, "step", j->step) | wire_pack_kv_uint(pk, "steps", j->steps) |
           wire_pack_kv_uint(pk, "elapsed_ms", j->elapsed_ms);
}

static int wire_pack_body(msgpack_packer *pk, wire_op_t op, const wire_reply_t *r)
{
    int rc = 0;
    switch (op) {
    case WIRE_OP_STATUS:
        rc |= wire_pack_kv_uint(pk, "party", r->party) |
              wire_pack_kv_str(pk, "cluster", r->cluster) |
              wire_pack_kv_str(pk, "software", r->software) |
              wire_pack_kv_uint(pk, "uptime_ms", r->uptime_ms) |
              wire_pack_kv_uint(pk, "tensors", r->tensors) |
              wire_pack_kv_uint(pk, "bytes", r->bytes) |
              wire_pack_kv_uint(pk, "memory_limit", r->memory_limit);
        rc |= wire_pack_str(pk, "peers") | msgpack_pack_array(pk, 3);
        for (int p = 0; p < 3; p++)
            rc |= wire_pack_str(
                pk,
                wire_peer_names[r->peers[p] >= WIRE_PEER_SELF && r->peers[p] <= WIRE_PEER_MISMATCH
                                    ? r->peers[p] - 1
                                    : WIRE_PEER_DOWN - 1]);
        return rc;
    case WIRE_OP_LS:
        rc |= wire_pack_str(pk, "tensors") | msgpack_pack_array(pk, r->count);
        for (size_t i = 0; i < r->count; i++)
            rc |= wire_pack_info(pk, &r->list[i]);
        return rc;
    case WIRE_OP_GET:
        return wire_pack_kv_str(pk, "name", r->info.name) |
               wire_pack_kv_str(pk, "kind", r->info.kind == WIRE_KIND_FIXED ? "fixed" : "int") |
               wire_pack_kv_uint(pk, "frac", r->info.frac) | wire_pack_shape(pk, &r->info) |
               wire_pack_kv_uint(pk, "offset", r->offset) | wire_pack_str(pk, "data") | msgpack_pack_bin_with_body(pk, r->data, r->data_len);
    case WIRE_OP_RUN: {
        const wire_job_stats_t *st = &r->stats;
        const uint64_t *arrays[] = {st->sent, st->recv, st->msgs};
        rc |= wire_pack_kv_uint(pk, "steps", st->steps) |
              wire_pack_kv_uint(pk, "time_us", st->time_us) |
              wire_pack_kv_uint(pk, "exec_us", st->exec_us) |
              wire_pack_kv_uint(pk, "first_step_us", st->first_step_us) |
              wire_pack_kv_uint(pk, "rounds", st->rounds) |
              wire_pack_kv_uint(pk, "mask_bytes", st->mask_bytes) |
              wire_pack_kv_uint(pk, "offline_bytes", st->offline_bytes) |
              wire_pack_kv_uint(pk, "offline_wait_us", st->offline_wait_us) |
              wire_pack_kv_uint(pk, "setup_bytes", st->setup_bytes);
        for (int a = 0; a < 3; a++) {
            rc |= wire_pack_str(pk, wire_stats_arrays[a]) | msgpack_pack_array(pk, 3);
            for (int p = 0; p < 3; p++)
                rc |= msgpack_pack_uint64(pk, arrays[a][p]);
        }
        return rc;
    }
    case WIRE_OP_JOB:
        return wire_pack_kv_str(pk, "state",
                                wire_job_states[r->state >= WIRE_JOB_RUNNING &&
                                                        r->state <= WIRE_JOB_UNKNOWN
                                                    ? r->state - 1
                                                    : WIRE_JOB_UNKNOWN - 1]) |
               wire_pack_kv_uint(pk, "step", r->step) | wire_pack_kv_uint(pk, "steps", r->steps);
    case WIRE_OP_JOBS:
        rc |= wire_pack_str(pk, "jobs") | msgpack_pack_array(pk, r->njobs);
        for (size_t i = 0; i < r->njobs; i++)
            rc |= wire_pack_job_info(pk, &r->jobs[i]);
        return rc;
    case WIRE_OP_PUT:
    case WIRE_OP_RM:
    case WIRE_OP_GRANT:
    case WIRE_OP_REVOKE:
    case WIRE_OP_COMMIT:
    case WIRE_OP_CANCEL: return 0;
    }
    return -1;
}

/* Fields of a successful reply beyond the envelope. */
static size_t wire_body_fields(wire_op_t op)
{
    switch (op) {
    case WIRE_OP_STATUS: return 8;
    case WIRE_OP_LS: return 1;
    case WIRE_OP_GET: return 6;
    case WIRE_OP_RUN: return 12;
    case WIRE_OP_JOB: return 3;
    case WIRE_OP_JOBS: return 1;
    default: return 0;
    }
}

trine_status_t wire_reply_encode(void **buf, size_t *len, wire_op_t op, const wire_reply_t *r)
{
    bool ok = r->code == TRINE_OK;
    if (ok && !wire_op_name(op))
        return TRINE_EINVAL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 3 + (ok ? wire_body_fields(op) : 2));
    rc |= wire_pack_kv_uint(&pk, "v", WIRE_VERSION) | wire_pack_kv_uint(&pk, "id", r->id);
    rc |= wire_pack_str(&pk, "ok") | (ok ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
    if (ok)
        rc |= wire_pack_body(&pk, op, r);
    else
        rc |= wire_pack_kv_str(&pk, "err", wire_code_name(r->code)) |
              wire_pack_kv_str(&pk, "msg", r->msg);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&sb);
        return TRINE_ENOMEM;
    }
    *buf = sb.data;
    *len = sb.size;
    return TRINE_OK;
}

/* ---- decoding --------------------------------------------------------- */

static const msgpack_object *wire_get(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (wire_str_is(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

/* The map must hold exactly the keys listed (NULL-terminated), each once. */
static trine_status_t wire_keys_exactly(const msgpack_object *map, const char *const *keys,
                                        const char *what, trine_err_t *err)
{
    size_t want = 0;
    for (; keys[want]; want++)
        if (!wire_get(map, keys[want]))
            return trine_err_set(err, TRINE_EFORMAT, "%s lacks field '%s'", what, keys[want]);
    if (map->via.map.size != want)
        return trine_err_set(err, TRINE_EFORMAT, "%s has %u fields, expected %zu", what,
                             (unsigned)map->via.map.size, want);
    return TRINE_OK;
}

static trine_status_t wire_approvals(wire_tensor_info_t *t, const msgpack_object *v,
                                     trine_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size % WIRE_APPROVAL_STRS)
        return trine_err_set(err, TRINE_EFORMAT,
                             "field 'approvals' must be an array of %d strings per approval",
                             WIRE_APPROVAL_STRS);
    size_t n = v->via.array.size / WIRE_APPROVAL_STRS;
    wire_approval_t *a = n ? calloc(n, sizeof *a) : NULL;
    if (n && !a)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for %zu approvals", n);
    t->approvals = a;
    t->napprovals = n;
    const msgpack_object *s = v->via.array.ptr;
    trine_status_t st = TRINE_OK;
    for (size_t i = 0; st == TRINE_OK && i < n; i++, s += WIRE_APPROVAL_STRS) {
        char hex[2 * WIRE_PROGRAM_HASH_BYTES + 1];
        st = wire_key(&a[i].grantee, &s[0], "approvals", false, err);
        if (st == TRINE_OK)
            st = wire_str(hex, sizeof hex, &s[1], "approvals", err);
        a[i].any = st == TRINE_OK && !hex[0];
        if (st == TRINE_OK && !a[i].any &&
            sodium_hex2bin(a[i].program, sizeof a[i].program, hex, strlen(hex), NULL, NULL,
                           NULL) != 0)
            st = trine_err_set(err, TRINE_EFORMAT, "an approval's program is not a hex hash");
        if (st == TRINE_OK)
            st = wire_str(a[i].slot, sizeof a[i].slot, &s[2], "approvals", err);
        if (st == TRINE_OK)
            st = wire_key(&a[i].outputs_to, &s[3], "approvals", true, err);
    }
    return st;
}

static trine_status_t wire_info(wire_tensor_info_t *t, const msgpack_object *m, bool listed,
                                trine_err_t *err)
{
    static const char *const get_keys[] = {"v",     "id",     "ok",   "name", "kind",
                                           "frac",  "shape",  "offset", "data", NULL};
    static const char *const ls_keys[] = {"name",  "kind",  "frac",      "shape", "mine",
                                          "grants", "owner", "approvals", NULL};
    if (m->type != MSGPACK_OBJECT_MAP)
        return trine_err_set(err, TRINE_EFORMAT, "a tensor entry must be a map");
    trine_status_t st = wire_keys_exactly(m, listed ? ls_keys : get_keys, "tensor entry", err);
    uint64_t u = 0;
    if (st == TRINE_OK &&
        (st = wire_str(t->name, sizeof t->name, wire_get(m, "name"), "name", err)) == TRINE_OK &&
        !wire_name_valid(t->name))
        st = trine_err_set(err, TRINE_EFORMAT, "invalid tensor name in reply");
    const msgpack_object *kind = wire_get(m, "kind");
    if (st == TRINE_OK && !wire_str_is(kind, "int") && !wire_str_is(kind, "fixed"))
        st = trine_err_set(err, TRINE_EFORMAT, "field 'kind' must be \"int\" or \"fixed\"");
    if (st == TRINE_OK) {
        t->kind = wire_str_is(kind, "fixed") ? WIRE_KIND_FIXED : WIRE_KIND_INT;
        st = wire_uint(&u, wire_get(m, "frac"), t->kind == WIRE_KIND_INT ? 0 : 62, "frac", err);
        t->frac = (unsigned)u;
    }
    if (st == TRINE_OK)
        st = wire_shape(&t->ndim, t->shape, wire_get(m, "shape"), "shape", err);
    if (st == TRINE_OK && listed) {
        const msgpack_object *mine = wire_get(m, "mine");
        if (mine->type != MSGPACK_OBJECT_BOOLEAN)
            return trine_err_set(err, TRINE_EFORMAT, "field 'mine' must be a boolean");
        t->mine = mine->via.boolean;
        st = wire_uint(&u, wire_get(m, "grants"), UINT32_MAX, "grants", err);
        t->grants = (uint32_t)u;
        if (st == TRINE_OK)
            st = wire_key(&t->owner, wire_get(m, "owner"), "owner", false, err);
        if (st == TRINE_OK)
            st = wire_approvals(t, wire_get(m, "approvals"), err);
    }
    return st;
}

static trine_status_t wire_status_body(wire_reply_t *r, const msgpack_object *m, trine_err_t *err)
{
    static const char *const keys[] = {"v",       "id",           "ok",        "party",
                                       "cluster", "software",     "uptime_ms", "tensors",
                                       "bytes",   "memory_limit", "peers",     NULL};
    trine_status_t st = wire_keys_exactly(m, keys, "status reply", err);
    uint64_t party = 0;
    if (st == TRINE_OK)
        st = wire_uint(&party, wire_get(m, "party"), 2, "party", err);
    r->party = (unsigned)party;
    if (st == TRINE_OK)
        st = wire_str(r->cluster, sizeof r->cluster, wire_get(m, "cluster"), "cluster", err);
    if (st == TRINE_OK)
        st = wire_str(r->software, sizeof r->software, wire_get(m, "software"), "software", err);
    if (st == TRINE_OK)
        st = wire_uint(&r->uptime_ms, wire_get(m, "uptime_ms"), UINT64_MAX, "uptime_ms", err);
    if (st == TRINE_OK)
        st = wire_uint(&r->tensors, wire_get(m, "tensors"), UINT64_MAX, "tensors", err);
    if (st == TRINE_OK)
        st = wire_uint(&r->bytes, wire_get(m, "bytes"), UINT64_MAX, "bytes", err);
    if (st == TRINE_OK)
        st = wire_uint(&r->memory_limit, wire_get(m, "memory_limit"), UINT64_MAX, "memory_limit",
                       err);
    const msgpack_object *peers = wire_get(m, "peers");
    if (st == TRINE_OK && (peers->type != MSGPACK_OBJECT_ARRAY || peers->via.array.size != 3))
        st = trine_err_set(err, TRINE_EFORMAT, "field 'peers' must be an array of 3 states");
    for (int p = 0; st == TRINE_OK && p < 3; p++) {
        r->peers[p] = 0;
        for (int s = 0; s < 4; s++)
            if (wire_str_is(&peers->via.array.ptr[p], wire_peer_names[s]))
                r->peers[p] = (wire_peer_t)(s + 1);
        if (!r->peers[p])
            st = trine_err_set(err, TRINE_EFORMAT, "unknown peer state in 'peers'");
    }
    return st;
}

static trine_status_t wire_ls_body(wire_reply_t *r, const msgpack_object *m, trine_err_t *err)
{
    static const char *const keys[] = {"v", "id", "ok", "tensors", NULL};
    trine_status_t st = wire_keys_exactly(m, keys, "ls reply", err);
    const msgpack_object *list = wire_get(m, "tensors");
    if (st != TRINE_OK)
        return st;
    if (list->type != MSGPACK_OBJECT_ARRAY)
        return trine_err_set(err, TRINE_EFORMAT, "field 'tensors' must be an array");
    r->count = list->via.array.size;
    if (r->count && !(r->list = calloc(r->count, sizeof *r->list)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for %zu entries", r->count);
    for (size_t i = 0; st == TRINE_OK && i < r->count; i++)
        st = wire_info(&r->list[i], &list->via.array.ptr[i], true, err);
    return st;
}

static trine_status_t wire_get_body(wire_reply_t *r, const msgpack_object *m, trine_err_t *err)
{
    trine_status_t st = wire_info(&r->info, m, false, err);
    const msgpack_object *data = wire_get(m, "data");
    if (st == TRINE_OK)
        st = wire_uint(&r->offset, wire_get(m, "offset"), UINT64_MAX, "offset", err);
    if (st != TRINE_OK)
        return st;
    if (data->type != MSGPACK_OBJECT_BIN)
        return trine_err_set(err, TRINE_EFORMAT, "field 'data' must be msgpack bin");
    size_t count, n = data->via.bin.size / sizeof(uint64_t);
    if (tensor_shape_check(r->info.ndim, r->info.shape, &count) != TRINE_OK ||
        data->via.bin.size % sizeof(uint64_t) || n == 0 || r->offset > count ||
        n > count - r->offset)
        return trine_err_set(err, TRINE_EFORMAT,
                             "the reply's data is not a part of at least one element within its "
                             "shape");
    r->data = (const uint8_t *)data->via.bin.ptr;
    r->data_len = data->via.bin.size;
    return TRINE_OK;
}

static trine_status_t wire_run_body(wire_reply_t *r, const msgpack_object *m, trine_err_t *err)
{
    static const char *const keys[] = {"v",           "id",          "ok",      "steps",
                                       "time_us",     "exec_us",     "first_step_us",
                                       "rounds",      "mask_bytes",  "offline_bytes",
                                       "offline_wait_us", "setup_bytes", "sent",
                                       "recv",        "msgs",        NULL};
    wire_job_stats_t *s = &r->stats;
    trine_status_t st = wire_keys_exactly(m, keys, "run reply", err);
    struct {
        const char *key;
        uint64_t *to;
    } scalars[] = {{"steps", &s->steps},
                   {"time_us", &s->time_us},
                   {"exec_us", &s->exec_us},
                   {"first_step_us", &s->first_step_us},
                   {"rounds", &s->rounds},
                   {"mask_bytes", &s->mask_bytes},
                   {"offline_bytes", &s->offline_bytes},
                   {"offline_wait_us", &s->offline_wait_us},
                   {"setup_bytes", &s->setup_bytes}};
    for (size_t i = 0; st == TRINE_OK && i < sizeof scalars / sizeof scalars[0]; i++)
        st = wire_uint(scalars[i].to, wire_get(m, scalars[i].key), UINT64_MAX, scalars[i].key,
                       err);
    uint64_t *arrays[] = {s->sent, s->recv, s->msgs};
    for (int a = 0; st == TRINE_OK && a < 3; a++) {
        const msgpack_object *v = wire_get(m, wire_stats_arrays[a]);
        if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != 3)
            return trine_err_set(err, TRINE_EFORMAT, "field '%s' must be an array of 3 counts",
                                 wire_stats_arrays[a]);
        for (int p = 0; st == TRINE_OK && p < 3; p++)
            st = wire_uint(&arrays[a][p], &v->via.array.ptr[p], UINT64_MAX, wire_stats_arrays[a],
                           err);
    }
    return st;
}

static trine_status_t wire_job_body(wire_reply_t *r, const msgpack_object *m, trine_err_t *err)
{
    static const char *const keys[] = {"v", "id", "ok", "state", "step", "steps", NULL};
    trine_status_t st = wire_keys_exactly(m, keys, "job reply", err);
    if (st != TRINE_OK)
        return st;
    r->state = 0;
    for (int i = 0; i < 3; i++)
        if (wire_str_is(wire_get(m, "state"), wire_job_states[i]))
            r->state = (wire_job_state_t)(i + 1);
    if (!r->state)
        return trine_err_set(err, TRINE_EFORMAT, "unknown job state in 'state'");
    if ((st = wire_uint(&r->step, wire_get(m, "step"), UINT64_MAX, "step", err)) != TRINE_OK)
        return st;
    return wire_uint(&r->steps, wire_get(m, "steps"), UINT64_MAX, "steps", err);
}

static trine_status_t wire_job_info(wire_job_info_t *j, const msgpack_object *m, trine_err_t *err)
{
    static const char *const keys[] = {"job", "state", "step", "steps", "elapsed_ms", NULL};
    if (m->type != MSGPACK_OBJECT_MAP)
        return trine_err_set(err, TRINE_EFORMAT, "a job entry must be a map");
    trine_status_t st = wire_keys_exactly(m, keys, "job entry", err);
    if (st != TRINE_OK)
        return st;
    j->state = 0;
    for (int i = 0; i < 3; i++)
        if (wire_str_is(wire_get(m, "state"), wire_jobs_states[i]))
            j->state = (wire_jobs_state_t)(i + 1);
    if (!j->state)
        return trine_err_set(err, TRINE_EFORMAT, "unknown job state in a job entry");
    struct {
        const char *key;
        uint64_t *to;
    } f[] = {{"job", &j->job}, {"step", &j->step}, {"steps", &j->steps},
             {"elapsed_ms", &j->elapsed_ms}};
    for (size_t i = 0; st == TRINE_OK && i < sizeof f / sizeof f[0]; i++)
        st = wire_uint(f[i].to, wire_get(m, f[i].key), UINT64_MAX, f[i].key, err);
    return st;
}

static trine_status_t wire_jobs_body(wire_reply_t *r, const msgpack_object *m, trine_err_t *err)
{
    static const char *const keys[] = {"v", "id", "ok", "jobs", NULL};
    trine_status_t st = wire_keys_exactly(m, keys, "jobs reply", err);
    const msgpack_object *list = wire_get(m, "jobs");
    if (st != TRINE_OK)
        return st;
    if (list->type != MSGPACK_OBJECT_ARRAY)
        return trine_err_set(err, TRINE_EFORMAT, "field 'jobs' must be an array");
    r->njobs = list->via.array.size;
    if (r->njobs && !(r->jobs = calloc(r->njobs, sizeof *r->jobs)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for %zu entries", r->njobs);
    for (size_t i = 0; st == TRINE_OK && i < r->njobs; i++)
        st = wire_job_info(&r->jobs[i], &list->via.array.ptr[i], err);
    return st;
}

static trine_status_t wire_reply_read(wire_reply_t *out, wire_op_t op, const msgpack_object *m,
                                      trine_err_t *err)
{
    if (m->type != MSGPACK_OBJECT_MAP)
        return trine_err_set(err, TRINE_EFORMAT, "a reply must be a msgpack map");
    const msgpack_object *v = wire_get(m, "v"), *id = wire_get(m, "id"), *ok = wire_get(m, "ok");
    uint64_t u = 0;
    if (!v || !id || !ok || ok->type != MSGPACK_OBJECT_BOOLEAN)
        return trine_err_set(err, TRINE_EFORMAT, "a reply needs fields v, id and ok (boolean)");
    trine_status_t st = wire_uint(&u, v, UINT32_MAX, "v", err);
    if (st != TRINE_OK)
        return st;
    out->version = (uint32_t)u;
    if (out->version != WIRE_VERSION)
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "the party speaks protocol version %u, this client %d",
                             (unsigned)out->version, WIRE_VERSION);
    if ((st = wire_uint(&out->id, id, UINT64_MAX, "id", err)) != TRINE_OK)
        return st;
    if (!ok->via.boolean) {
        static const char *const keys[] = {"v", "id", "ok", "err", "msg", NULL};
        const msgpack_object *code = wire_get(m, "err");
        if ((st = wire_keys_exactly(m, keys, "error reply", err)) != TRINE_OK ||
            (st = wire_str(out->msg, sizeof out->msg, wire_get(m, "msg"), "msg", err)) != TRINE_OK)
            return st;
        if (code->type != MSGPACK_OBJECT_STR)
            return trine_err_set(err, TRINE_EFORMAT, "field 'err' must be a string");
        out->code = wire_code_of(code->via.str.ptr, code->via.str.size);
        return TRINE_OK;
    }
    out->code = TRINE_OK;
    static const char *const bare[] = {"v", "id", "ok", NULL};
    switch (op) {
    case WIRE_OP_STATUS: return wire_status_body(out, m, err);
    case WIRE_OP_LS: return wire_ls_body(out, m, err);
    case WIRE_OP_GET: return wire_get_body(out, m, err);
    case WIRE_OP_RUN: return wire_run_body(out, m, err);
    case WIRE_OP_JOB: return wire_job_body(out, m, err);
    case WIRE_OP_JOBS: return wire_jobs_body(out, m, err);
    case WIRE_OP_PUT:
    case WIRE_OP_RM:
    case WIRE_OP_GRANT:
    case WIRE_OP_REVOKE:
    case WIRE_OP_COMMIT:
    case WIRE_OP_CANCEL: return wire_keys_exactly(m, bare, "reply", err);
    }
    return trine_err_set(err, TRINE_EINVAL, "no such op");
}

trine_status_t wire_reply_decode(wire_reply_t *out, wire_op_t op, const void *buf, size_t len,
                                 trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    trine_status_t st = wire_unpack(&u, buf, len, err);
    if (st == TRINE_OK)
        st = wire_reply_read(out, op, &u.data, err);
    msgpack_unpacked_destroy(&u);
    if (st != TRINE_OK)
        wire_reply_clear(out);
    return st;
}

trine_status_t wire_reply_id(uint64_t *id, const void *buf, size_t len, trine_err_t *err)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    trine_status_t st = wire_unpack(&u, buf, len, err);
    const msgpack_object *v = NULL;
    if (st == TRINE_OK && (u.data.type != MSGPACK_OBJECT_MAP || !(v = wire_get(&u.data, "id"))))
        st = trine_err_set(err, TRINE_EFORMAT, "a reply must be a map with an id");
    if (st == TRINE_OK)
        st = wire_uint(id, v, UINT64_MAX, "id", err);
    msgpack_unpacked_destroy(&u);
    return st;
}

void wire_reply_clear(wire_reply_t *out)
{
    for (size_t i = 0; out->list && i < out->count; i++)
        free((wire_approval_t *)out->list[i].approvals);
    free(out->list);
    out->list = NULL;
    free(out->jobs);
    out->jobs = NULL;
    out->count = 0;
}

/* ---- party frames ----------------------------------------------------- */

/* Little-endian integers of n bytes. */
static void wire_le_put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t wire_le_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void wire_frame_pack(uint8_t out[WIRE_FRAME_HEADER_BYTES], const wire_frame_t *f)
{
    memcpy(out, "trn", 3);
    out[3] = WIRE_VERSION;
    out[4] = (uint8_t)f->type;
    out[5] = (uint8_t)f->sender;
    out[6] = out[7] = 0;
    wire_le_put(out + 8, f->job, 8);
    wire_le_put(out + 16, f->step, 8);
    wire_le_put(out + 24, f->round, 4);
    memset(out + 28, 0, 4);
}

trine_status_t wire_frame_unpack(wire_frame_t *out, const void *buf, size_t len, trine_err_t *err)
{
    const uint8_t *p = buf;
    if (len != WIRE_FRAME_HEADER_BYTES || memcmp(p, "trn", 3))
        return trine_err_set(err, TRINE_EFORMAT, "not a trine party frame (%zu bytes)", len);
    if (p[3] != WIRE_VERSION)
        return trine_err_set(err, TRINE_EUNSUPPORTED, "party frame of protocol version %u, not %d",
                             p[3], WIRE_VERSION);
    if (p[4] < WIRE_FRAME_HELLO || p[4] > WIRE_FRAME_ABORT || p[5] > 2 || p[6] || p[7] ||
        p[28] || p[29] || p[30] || p[31])
        return trine_err_set(err, TRINE_EFORMAT, "party frame with unknown type or sender");
    out->type = (wire_frame_type_t)p[4];
    out->sender = p[5];
    out->job = wire_le_get(p + 8, 8);
    out->step = wire_le_get(p + 16, 8);
    out->round = (uint32_t)wire_le_get(p + 24, 4);
    return TRINE_OK;
}

void wire_heartbeat_pack(uint8_t out[WIRE_HEARTBEAT_BYTES], const wire_heartbeat_t *h)
{
    wire_le_put(out, h->incarnation, 8);
    out[8] = (uint8_t)h->holds;
}

trine_status_t wire_heartbeat_unpack(wire_heartbeat_t *out, const void *buf, size_t len,
                                     trine_err_t *err)
{
    const uint8_t *p = buf;
    if (len != WIRE_HEARTBEAT_BYTES || p[8] > 7)
        return trine_err_set(err, TRINE_EFORMAT, "malformed heartbeat (%zu bytes)", len);
    out->incarnation = wire_le_get(p, 8);
    out->holds = p[8];
    return TRINE_OK;
}

trine_status_t wire_hello_encode(void **buf, size_t *len, const wire_hello_t *h)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 6) | wire_pack_kv_uint(&pk, "v", h->version) |
             wire_pack_kv_uint(&pk, "party", h->party) |
             wire_pack_kv_uint(&pk, "incarnation", h->incarnation) |
             wire_pack_kv_str(&pk, "software", h->software) | wire_pack_str(&pk, "fingerprint") |
             msgpack_pack_bin_with_body(&pk, h->fingerprint, WIRE_FINGERPRINT_BYTES) |
             wire_pack_str(&pk, "lines") | msgpack_pack_array(&pk, h->nlines);
    for (size_t i = 0; i < h->nlines; i++)
        rc |= wire_pack_str(&pk, h->lines[i]);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&sb);
        return TRINE_ENOMEM;
    }
    *buf = sb.data;
    *len = sb.size;
    return TRINE_OK;
}

static trine_status_t wire_hello_read(wire_hello_t *out, const msgpack_object *m, trine_err_t *err)
{
    static const char *const keys[] = {"v",           "party", "incarnation", "software",
                                       "fingerprint", "lines", NULL};
    if (m->type != MSGPACK_OBJECT_MAP)
        return trine_err_set(err, TRINE_EFORMAT, "a hello must be a msgpack map");
    trine_status_t st = wire_keys_exactly(m, keys, "hello", err);
    uint64_t u = 0;
    if (st == TRINE_OK && (st = wire_uint(&u, wire_get(m, "v"), UINT32_MAX, "v", err)) == TRINE_OK)
        out->version = (uint32_t)u;
    if (st == TRINE_OK && (st = wire_uint(&u, wire_get(m, "party"), 2, "party", err)) == TRINE_OK)
        out->party = (unsigned)u;
    if (st == TRINE_OK)
        st = wire_uint(&out->incarnation, wire_get(m, "incarnation"), UINT64_MAX, "incarnation",
                       err);
    if (st == TRINE_OK)
        st =
            wire_str(out->software, sizeof out->software, wire_get(m, "software"), "software", err);
    if (st != TRINE_OK)
        return st;
    const msgpack_object *fp = wire_get(m, "fingerprint"), *lines = wire_get(m, "lines");
    if (fp->type != MSGPACK_OBJECT_BIN || fp->via.bin.size != WIRE_FINGERPRINT_BYTES)
        return trine_err_set(err, TRINE_EFORMAT, "field 'fingerprint' must be %d bytes of bin",
                             WIRE_FINGERPRINT_BYTES);
    memcpy(out->fingerprint, fp->via.bin.ptr, WIRE_FINGERPRINT_BYTES);
    if (lines->type != MSGPACK_OBJECT_ARRAY || lines->via.array.size > WIRE_HELLO_LINES_MAX)
        return trine_err_set(err, TRINE_EFORMAT, "field 'lines' must be an array of at most %d",
                             WIRE_HELLO_LINES_MAX);
    if (lines->via.array.size && !(out->lines = calloc(lines->via.array.size, sizeof(char *))))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for a hello");
    for (uint32_t i = 0; i < lines->via.array.size; i++) {
        char line[4096];
        if ((st = wire_str(line, sizeof line, &lines->via.array.ptr[i], "lines", err)) != TRINE_OK)
            return st;
        if (!(out->lines[i] = strdup(line)))
            return trine_err_set(err, TRINE_ENOMEM, "out of memory for a hello");
        out->nlines = i + 1;
    }
    return TRINE_OK;
}

trine_status_t wire_hello_decode(wire_hello_t *out, const void *buf, size_t len, trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    trine_status_t st = wire_unpack(&u, buf, len, err);
    if (st == TRINE_OK)
        st = wire_hello_read(out, &u.data, err);
    msgpack_unpacked_destroy(&u);
    if (st != TRINE_OK)
        wire_hello_clear(out);
    return st;
}

void wire_hello_clear(wire_hello_t *h)
{
    for (size_t i = 0; i < h->nlines; i++)
        free(h->lines[i]);
    free(h->lines);
    h->lines = NULL;
    h->nlines = 0;
}
