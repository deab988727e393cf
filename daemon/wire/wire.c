/* wire.c — msgpack codec of client requests (see wire.h, WIRE.md). */
#include "daemon/wire/wire.h"
#include "daemon/wire/wire_msgpack.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---- structural scan ------------------------------------------------ */

static uint64_t wire_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

typedef struct {
    const uint8_t *start, *end;
    int depth_max;
    size_t fault; /* offset of the first fault */
} wire_scanner_t;

/* The end of the value at p, or NULL (with s->fault set). */
static const uint8_t *wire_scan_value(wire_scanner_t *s, const uint8_t *p, int depth)
{
    if (p >= s->end) {
        s->fault = (size_t)(p - s->start);
        return NULL;
    }
    uint8_t b = *p++;
    size_t left = (size_t)(s->end - p);
    uint64_t skip = 0, children = 0;
    int lenbytes = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        skip = 0;
    else if (b >= 0x80 && b <= 0x9f)
        children = (uint64_t)(b & 0x0f) << (b <= 0x8f ? 1 : 0);
    else if (b >= 0xa0 && b <= 0xbf)
        skip = b & 0x1f;
    else if (b == 0xc4 || b == 0xd9)
        lenbytes = 1;
    else if (b == 0xc5 || b == 0xda)
        lenbytes = 2;
    else if (b == 0xc6 || b == 0xdb)
        lenbytes = 4;
    else if (b >= 0xc7 && b <= 0xc9) /* ext: length, then a type byte */
        lenbytes = 1 << (b - 0xc7), skip = 1;
    else if (b == 0xca || b == 0xce || b == 0xd2)
        skip = 4;
    else if (b == 0xcb || b == 0xcf || b == 0xd3)
        skip = 8;
    else if (b == 0xcc || b == 0xd0)
        skip = 1;
    else if (b == 0xcd || b == 0xd1)
        skip = 2;
    else if (b >= 0xd4 && b <= 0xd8) /* fixext: type byte and 1..16 bytes */
        skip = 1 + ((uint64_t)1 << (b - 0xd4));
    else if (b == 0xdc || b == 0xdd || b == 0xde || b == 0xdf) {
        int n = b == 0xdc || b == 0xde ? 2 : 4;
        if (left < (size_t)n) {
            s->fault = (size_t)(s->end - s->start);
            return NULL;
        }
        children = wire_be(p, n) << (b >= 0xde ? 1 : 0);
        p += n;
        left -= (size_t)n;
    } else { /* 0xc1 is never used */
        s->fault = (size_t)(p - 1 - s->start);
        return NULL;
    }
    if (lenbytes) {
        if (left < (size_t)lenbytes) {
            s->fault = (size_t)(s->end - s->start);
            return NULL;
        }
        skip += wire_be(p, lenbytes);
        p += lenbytes;
        left -= (size_t)lenbytes;
    }
    /* Every entry takes at least one byte: a larger count is a lie. */
    if (skip > left || children > left || (children && depth >= s->depth_max)) {
        s->fault = (size_t)(p - s->start);
        return NULL;
    }
    p += skip;
    for (uint64_t i = 0; i < children && p; i++)
        p = wire_scan_value(s, p, depth + 1);
    return p;
}

trine_status_t wire_scan(const void *buf, size_t len, int depth_max, trine_err_t *err)
{
    wire_scanner_t s = {buf, (const uint8_t *)buf + len, depth_max, 0};
    const uint8_t *end = wire_scan_value(&s, buf, 0);
    if (!end)
        return trine_err_set(err, TRINE_EFORMAT,
                             "malformed msgpack at byte %zu of %zu (truncated, a length beyond "
                             "the message, or nested deeper than %d)",
                             s.fault, len, depth_max);
    if (end != s.end)
        return trine_err_set(err, TRINE_EFORMAT, "%zu bytes after the message",
                             (size_t)(s.end - end));
    return TRINE_OK;
}

/* ---- requests ------------------------------------------------------- */

enum {
    WIRE_F_V = 1 << 0,
    WIRE_F_ID = 1 << 1,
    WIRE_F_OP = 1 << 2,
    WIRE_F_NAME = 1 << 3,
    WIRE_F_GRANTEE = 1 << 4,
    WIRE_F_KIND = 1 << 5,
    WIRE_F_FRAC = 1 << 6,
    WIRE_F_SHAPE = 1 << 7,
    WIRE_F_DATA = 1 << 8,
    WIRE_F_JOB = 1 << 9,
    WIRE_F_PROGRAM = 1 << 10,
    WIRE_F_BATCH = 1 << 11,
    WIRE_F_EPOCHS = 1 << 12,
    WIRE_F_PREFIX = 1 << 13,
    WIRE_F_UPLOAD = 1 << 14,
    WIRE_F_APPROVE = 1 << 15,
    WIRE_F_SLOT = 1 << 16,
    WIRE_F_OUTPUTS_TO = 1 << 17,
    WIRE_F_BIND = 1 << 18,
    WIRE_F_TO = 1 << 19,
    WIRE_F_OFFSET = 1 << 20,
    WIRE_F_COUNT = 1 << 21,
    WIRE_F_SHUFFLE = 1 << 22,
    WIRE_F_FRESH = 1 << 23,
    WIRE_F_LAST = WIRE_F_FRESH,
    WIRE_F_ENVELOPE = WIRE_F_V | WIRE_F_ID | WIRE_F_OP
};

/* Fields each op needs beyond the envelope, and those it may have; frac
 * is needed with kind "fixed" only. */
static const struct {
    wire_op_t op;
    const char *name;
    unsigned fields, optional;
} wire_ops[] = {
    {WIRE_OP_STATUS, "status", 0, 0},
    {WIRE_OP_PUT, "put",
     WIRE_F_NAME | WIRE_F_KIND | WIRE_F_SHAPE | WIRE_F_OFFSET | WIRE_F_DATA | WIRE_F_UPLOAD, 0},
    {WIRE_OP_LS, "ls", 0, 0},
    {WIRE_OP_RM, "rm", WIRE_F_NAME, 0},
    {WIRE_OP_GRANT, "grant",
     WIRE_F_NAME | WIRE_F_GRANTEE | WIRE_F_APPROVE | WIRE_F_SLOT | WIRE_F_OUTPUTS_TO, 0},
    {WIRE_OP_GET, "get", WIRE_F_NAME | WIRE_F_OFFSET | WIRE_F_COUNT, 0},
    {WIRE_OP_RUN, "run",
     WIRE_F_JOB | WIRE_F_PROGRAM | WIRE_F_BATCH | WIRE_F_EPOCHS | WIRE_F_PREFIX | WIRE_F_BIND |
         WIRE_F_TO,
     WIRE_F_SHUFFLE | WIRE_F_FRESH},
    {WIRE_OP_JOB, "job", WIRE_F_JOB, 0},
    {WIRE_OP_CANCEL, "cancel", WIRE_F_JOB, 0},
    {WIRE_OP_COMMIT, "commit", WIRE_F_NAME | WIRE_F_UPLOAD, 0},
    {WIRE_OP_REVOKE, "revoke", WIRE_F_NAME | WIRE_F_GRANTEE | WIRE_F_APPROVE, 0},
    {WIRE_OP_JOBS, "jobs", 0, 0},
};
#define WIRE_OP_COUNT (sizeof wire_ops / sizeof wire_ops[0])

const char *wire_op_name(wire_op_t op)
{
    for (size_t i = 0; i < WIRE_OP_COUNT; i++)
        if (wire_ops[i].op == op)
            return wire_ops[i].name;
    return NULL;
}

bool wire_name_valid(const char *name)
{
    return keys_name_valid(name); /* tensors are named like keys */
}

/* The fields a request of this op and kind carries, envelope included. */
static unsigned wire_fields_of(wire_op_t op, wire_kind_t kind)
{
    unsigned fields = WIRE_F_ENVELOPE;
    for (size_t i = 0; i < WIRE_OP_COUNT; i++)
        if (wire_ops[i].op == op)
            fields |= wire_ops[i].fields;
    if (op == WIRE_OP_PUT && kind == WIRE_KIND_FIXED)
        fields |= WIRE_F_FRAC;
    return fields;
}

/* The fields a request of this op may carry beyond those. */
static unsigned wire_optional_of(wire_op_t op)
{
    for (size_t i = 0; i < WIRE_OP_COUNT; i++)
        if (wire_ops[i].op == op)
            return wire_ops[i].optional;
    return 0;
}

/* `bind`: an array of at most PROG_VARS_MAX arrays of 1 to
 * WIRE_BIND_NAMES_MAX tensor names. */
static trine_status_t wire_bind(wire_request_t *r, const msgpack_object *v, trine_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > WIRE_BIND_VARS_MAX)
        return trine_err_set(err, TRINE_EFORMAT,
                             "field 'bind' must be an array of at most %d entries",
                             WIRE_BIND_VARS_MAX);
    r->nbind = v->via.array.size;
    if (r->nbind && !(r->bind = calloc(r->nbind, sizeof *r->bind)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for %zu bindings", r->nbind);
    for (size_t i = 0; i < r->nbind; i++) {
        const msgpack_object *e = &v->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size == 0 ||
            e->via.array.size > WIRE_BIND_NAMES_MAX)
            return trine_err_set(err, TRINE_EFORMAT,
                                 "bind entry %zu must be an array of 1 to %d tensor names", i,
                                 WIRE_BIND_NAMES_MAX);
        wire_bind_t *b = &r->bind[i];
        b->count = e->via.array.size;
        for (unsigned k = 0; k < b->count; k++) {
            trine_status_t st =
                wire_str(b->names[k], sizeof b->names[k], &e->via.array.ptr[k], "bind", err);
            if (st == TRINE_OK && !wire_name_valid(b->names[k]))
                st = trine_err_set(err, TRINE_EFORMAT,
                                   "bind entry %zu: '%s' is not a tensor name (1-%d letters, "
                                   "digits, '_', '-' or '.')",
                                   i, b->names[k], WIRE_NAME_MAX);
            if (st != TRINE_OK)
                return st;
        }
    }
    return TRINE_OK;
}

static trine_status_t wire_field(wire_request_t *r, unsigned bit, const char *key,
                                 const msgpack_object *v, trine_err_t *err)
{
    uint64_t u = 0;
    trine_status_t st = TRINE_OK;
    switch (bit) {
    case WIRE_F_V:
        if ((st = wire_uint(&u, v, UINT32_MAX, key, err)) == TRINE_OK)
            r->version = (uint32_t)u;
        return st;
    case WIRE_F_ID: return wire_uint(&r->id, v, UINT64_MAX, key, err);
    case WIRE_F_OP:
        for (size_t i = 0; i < WIRE_OP_COUNT; i++)
            if (wire_str_is(v, wire_ops[i].name)) {
                r->op = wire_ops[i].op;
                return TRINE_OK;
            }
        return trine_err_set(err, TRINE_EFORMAT,
                             "field 'op' must be one of status, put, ls, rm, grant, get, run, "
                             "job, cancel, commit, revoke");
    case WIRE_F_NAME:
        if ((st = wire_str(r->name, sizeof r->name, v, key, err)) == TRINE_OK &&
            !wire_name_valid(r->name))
            st = trine_err_set(err, TRINE_EFORMAT,
                               "tensor name '%s' is not 1-%d letters, digits, '_', '-' or '.' "
                               "(not starting with '.')",
                               r->name, WIRE_NAME_MAX);
        return st;
    case WIRE_F_GRANTEE: return wire_key(&r->grantee, v, key, false, err);
    case WIRE_F_OUTPUTS_TO: return wire_key(&r->approval.outputs_to, v, key, true, err);
    case WIRE_F_TO: return wire_key(&r->to, v, key, true, err);
    case WIRE_F_APPROVE:
        if (v->type != MSGPACK_OBJECT_BIN ||
            (v->via.bin.size != 0 && v->via.bin.size != WIRE_PROGRAM_HASH_BYTES))
            return trine_err_set(err, TRINE_EFORMAT,
                                 "field 'approve' must be msgpack bin of 0 (any program) or %d "
                                 "bytes (a program's hash)",
                                 WIRE_PROGRAM_HASH_BYTES);
        r->approval.any = v->via.bin.size == 0;
        if (!r->approval.any)
            memcpy(r->approval.program, v->via.bin.ptr, WIRE_PROGRAM_HASH_BYTES);
        return TRINE_OK;
    case WIRE_F_SLOT:
        if ((st = wire_str(r->approval.slot, sizeof r->approval.slot, v, key, err)) == TRINE_OK &&
            r->approval.slot[0] && !wire_name_valid(r->approval.slot))
            st = trine_err_set(err, TRINE_EFORMAT, "input slot '%s' is not a variable name",
                               r->approval.slot);
        return st;
    case WIRE_F_BIND: return wire_bind(r, v, err);
    case WIRE_F_KIND:
        if (wire_str_is(v, "int") || wire_str_is(v, "fixed")) {
            r->kind = wire_str_is(v, "int") ? WIRE_KIND_INT : WIRE_KIND_FIXED;
            return TRINE_OK;
        }
        return trine_err_set(err, TRINE_EFORMAT, "field 'kind' must be \"int\" or \"fixed\"");
    case WIRE_F_FRAC:
        if ((st = wire_uint(&u, v, 62, key, err)) == TRINE_OK)
            r->frac = (unsigned)u;
        return st;
    case WIRE_F_SHAPE: return wire_shape(&r->ndim, r->shape, v, key, err);
    case WIRE_F_DATA:
        if (v->type != MSGPACK_OBJECT_BIN)
            return trine_err_set(err, TRINE_EFORMAT, "field 'data' must be msgpack bin");
        r->data = (const uint8_t *)v->via.bin.ptr;
        r->data_len = v->via.bin.size;
        return TRINE_OK;
    case WIRE_F_JOB:
        if ((st = wire_uint(&r->job, v, UINT64_MAX, key, err)) == TRINE_OK && r->job == 0)
            st = trine_err_set(err, TRINE_EFORMAT, "field 'job' must not be 0");
        return st;
    case WIRE_F_UPLOAD:
        if ((st = wire_uint(&r->upload, v, UINT64_MAX, key, err)) == TRINE_OK && r->upload == 0)
            st = trine_err_set(err, TRINE_EFORMAT, "field 'upload' must not be 0");
        return st;
    case WIRE_F_OFFSET: return wire_uint(&r->offset, v, UINT64_MAX, key, err);
    case WIRE_F_COUNT:
        if ((st = wire_uint(&r->count, v, UINT64_MAX, key, err)) == TRINE_OK && r->count == 0)
            st = trine_err_set(err, TRINE_EFORMAT, "field 'count' must be at least 1");
        return st;
    case WIRE_F_PROGRAM:
        if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size == 0)
            return trine_err_set(err, TRINE_EFORMAT, "field 'program' must be non-empty msgpack bin");
        r->program = (const uint8_t *)v->via.bin.ptr;
        r->program_len = v->via.bin.size;
        return TRINE_OK;
    case WIRE_F_BATCH:
    case WIRE_F_EPOCHS:
        if ((st = wire_uint(&u, v, UINT32_MAX, key, err)) == TRINE_OK && u == 0)
            st = trine_err_set(err, TRINE_EFORMAT, "field '%s' must be at least 1", key);
        *(bit == WIRE_F_BATCH ? &r->batch : &r->epochs) = u;
        return st;
    case WIRE_F_SHUFFLE:
    case WIRE_F_FRESH:
        if (v->type != MSGPACK_OBJECT_BOOLEAN || !v->via.boolean)
            return trine_err_set(err, TRINE_EFORMAT, "field '%s' must be true when present", key);
        *(bit == WIRE_F_SHUFFLE ? &r->shuffle : &r->fresh_masks) = true;
        return TRINE_OK;
    case WIRE_F_PREFIX:
        if ((st = wire_str(r->prefix, sizeof r->prefix, v, key, err)) == TRINE_OK && r->prefix[0] &&
            !wire_name_valid(r->prefix))
            st = trine_err_set(err, TRINE_EFORMAT,
                               "output prefix '%s' is not letters, digits, '_', '-' or '.'",
                               r->prefix);
        return st;
    }
    return trine_err_set(err, TRINE_EFORMAT, "internal: no parser for field '%s'", key);
}

static const struct {
    const char *key;
    unsigned bit;
} wire_fields[] = {
    {"v", WIRE_F_V},
    {"id", WIRE_F_ID},
    {"op", WIRE_F_OP},
    {"name", WIRE_F_NAME},
    {"grantee", WIRE_F_GRANTEE},
    {"kind", WIRE_F_KIND},
    {"frac", WIRE_F_FRAC},
    {"shape", WIRE_F_SHAPE},
    {"data", WIRE_F_DATA},
    {"job", WIRE_F_JOB},
    {"program", WIRE_F_PROGRAM},
    {"batch", WIRE_F_BATCH},
    {"epochs", WIRE_F_EPOCHS},
    {"prefix", WIRE_F_PREFIX},
    {"upload", WIRE_F_UPLOAD},
    {"approve", WIRE_F_APPROVE},
    {"slot", WIRE_F_SLOT},
    {"outputs_to", WIRE_F_OUTPUTS_TO},
    {"bind", WIRE_F_BIND},
    {"to", WIRE_F_TO},
    {"offset", WIRE_F_OFFSET},
    {"count", WIRE_F_COUNT},
    {"shuffle", WIRE_F_SHUFFLE},
    {"fresh_masks", WIRE_F_FRESH},
};
#define WIRE_FIELD_COUNT (sizeof wire_fields / sizeof wire_fields[0])

static const char *wire_field_key(unsigned bit)
{
    for (size_t i = 0; i < WIRE_FIELD_COUNT; i++)
        if (wire_fields[i].bit == bit)
            return wire_fields[i].key;
    return "?";
}

/* Reads every entry of the map into r; *seen gets the fields present. */
static trine_status_t wire_read_map(wire_request_t *r, unsigned *seen, const msgpack_object *map,
                                    trine_err_t *err)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key, *v = &map->via.map.ptr[i].val;
        size_t f = 0;
        while (f < WIRE_FIELD_COUNT && !wire_str_is(k, wire_fields[f].key))
            f++;
        if (f == WIRE_FIELD_COUNT)
            return trine_err_set(
                err, TRINE_EFORMAT, "unknown field%s%.*s%s",
                k->type == MSGPACK_OBJECT_STR ? " '" : " (not a string key)",
                k->type == MSGPACK_OBJECT_STR && k->via.str.size < 40 ? (int)k->via.str.size : 0,
                k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "",
                k->type == MSGPACK_OBJECT_STR ? "'" : "");
        if (*seen & wire_fields[f].bit)
            return trine_err_set(err, TRINE_EFORMAT, "field '%s' appears twice",
                                 wire_fields[f].key);
        *seen |= wire_fields[f].bit;
        trine_status_t st = wire_field(r, wire_fields[f].bit, wire_fields[f].key, v, err);
        if (st != TRINE_OK)
            return st;
    }
    return TRINE_OK;
}

/* The fields present must be exactly those the op needs. */
static trine_status_t wire_check_fields(const wire_request_t *r, unsigned seen, trine_err_t *err)
{
    if (r->version != WIRE_VERSION)
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "protocol version %u is not supported: this party speaks %d",
                             (unsigned)r->version, WIRE_VERSION);
    unsigned want = wire_fields_of(r->op, r->kind), may = want | wire_optional_of(r->op);
    for (unsigned bit = 1; bit <= WIRE_F_LAST; bit <<= 1) {
        if ((want & bit) && !(seen & bit))
            return trine_err_set(err, TRINE_EFORMAT, "%s request lacks field '%s'",
                                 wire_op_name(r->op), wire_field_key(bit));
        if (!(may & bit) && (seen & bit))
            return trine_err_set(err, TRINE_EFORMAT, "%s request has no field '%s'",
                                 wire_op_name(r->op), wire_field_key(bit));
    }
    return TRINE_OK;
}

/* A put's data is one part of the tensor its shape declares: a whole
 * number of elements, at least one, ending within the tensor. */
static trine_status_t wire_check_data(const wire_request_t *r, trine_err_t *err)
{
    size_t count;
    if (tensor_shape_check(r->ndim, r->shape, &count) != TRINE_OK)
        return trine_err_set(err, TRINE_EFORMAT,
                             "field 'shape' has a zero extent or more elements than fit memory");
    if (r->data_len == 0 || r->data_len % sizeof(uint64_t))
        return trine_err_set(err, TRINE_EFORMAT,
                             "field 'data' holds %zu bytes, not a whole number (>= 1) of 8-byte "
                             "elements",
                             r->data_len);
    size_t n = r->data_len / sizeof(uint64_t);
    if (r->offset > count || n > count - r->offset)
        return trine_err_set(err, TRINE_EFORMAT,
                             "the part's %zu elements at offset %llu pass the end of the shape's "
                             "%zu elements",
                             n, (unsigned long long)r->offset, count);
    return TRINE_OK;
}

trine_status_t wire_request_decode(wire_request_t *out, const void *buf, size_t len,
                                   trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    trine_status_t st = wire_unpack(&u, buf, len, err);
    if (st != TRINE_OK) {
        msgpack_unpacked_destroy(&u);
        return st;
    }
    unsigned seen = 0;
    if (u.data.type != MSGPACK_OBJECT_MAP)
        st = trine_err_set(err, TRINE_EFORMAT, "a request must be a msgpack map");
    else
        st = wire_read_map(out, &seen, &u.data, err);
    if (st == TRINE_OK)
        st = wire_check_fields(out, seen, err);
    if (st == TRINE_OK && out->op == WIRE_OP_PUT)
        st = wire_check_data(out, err);
    if (st == TRINE_OK && out->op == WIRE_OP_GRANT && out->approval.any != !out->approval.slot[0])
        st = trine_err_set(err, TRINE_EFORMAT,
                           "a grant names an input slot exactly when it names a program");
    msgpack_unpacked_destroy(&u);
    if (st != TRINE_OK)
        wire_request_clear(out);
    return st;
}

void wire_request_clear(wire_request_t *out)
{
    free(out->bind);
    out->bind = NULL;
    out->nbind = 0;
}

trine_status_t wire_request_encode(void **buf, size_t *len, const wire_request_t *req)
{
    const char *op = wire_op_name(req->op);
    if (!op)
        return TRINE_EINVAL;
    unsigned fields = wire_fields_of(req->op, req->kind);
    if (req->shuffle && (wire_optional_of(req->op) & WIRE_F_SHUFFLE))
        fields |= WIRE_F_SHUFFLE;
    if (req->fresh_masks && (wire_optional_of(req->op) & WIRE_F_FRESH))
        fields |= WIRE_F_FRESH;

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, (size_t)__builtin_popcount(fields));
#define WIRE_KEY(k) (rc |= wire_pack_str(&pk, k))
    WIRE_KEY("v"), rc |= msgpack_pack_uint32(&pk, WIRE_VERSION);
    WIRE_KEY("id"), rc |= msgpack_pack_uint64(&pk, req->id);
    WIRE_KEY("op"), rc |= wire_pack_str(&pk, op);
    if (fields & WIRE_F_NAME)
        WIRE_KEY("name"), rc |= wire_pack_str(&pk, req->name);
    if (fields & WIRE_F_GRANTEE)
        WIRE_KEY("grantee"),
            rc |= wire_pack_str(&pk, req->grantee.z85);
    if (fields & WIRE_F_KIND) {
        const char *kind = req->kind == WIRE_KIND_FIXED ? "fixed" : "int";
        WIRE_KEY("kind"), rc |= wire_pack_str(&pk, kind);
    }
    if (fields & WIRE_F_FRAC)
        WIRE_KEY("frac"), rc |= msgpack_pack_unsigned_int(&pk, req->frac);
    if (fields & WIRE_F_SHAPE) {
        WIRE_KEY("shape"), rc |= msgpack_pack_array(&pk, (size_t)req->ndim);
        for (int i = 0; i < req->ndim; i++)
            rc |= msgpack_pack_uint64(&pk, req->shape[i]);
    }
    if (fields & WIRE_F_DATA)
        WIRE_KEY("data"), rc |= msgpack_pack_bin_with_body(&pk, req->data, req->data_len);
    if (fields & WIRE_F_JOB)
        WIRE_KEY("job"), rc |= msgpack_pack_uint64(&pk, req->job);
    if (fields & WIRE_F_PROGRAM)
        WIRE_KEY("program"), rc |= msgpack_pack_bin_with_body(&pk, req->program, req->program_len);
    if (fields & WIRE_F_BATCH)
        WIRE_KEY("batch"), rc |= msgpack_pack_uint64(&pk, req->batch);
    if (fields & WIRE_F_EPOCHS)
        WIRE_KEY("epochs"), rc |= msgpack_pack_uint64(&pk, req->epochs);
    if (fields & WIRE_F_PREFIX)
        WIRE_KEY("prefix"), rc |= wire_pack_str(&pk, req->prefix);
    if (fields & WIRE_F_UPLOAD)
        WIRE_KEY("upload"), rc |= msgpack_pack_uint64(&pk, req->upload);
    if (fields & WIRE_F_APPROVE)
        WIRE_KEY("approve"), rc |= msgpack_pack_bin_with_body(
                                 &pk, req->approval.program,
                                 req->approval.any ? 0 : WIRE_PROGRAM_HASH_BYTES);
    if (fields & WIRE_F_SLOT)
        WIRE_KEY("slot"), rc |= wire_pack_str(&pk, req->approval.slot);
    if (fields & WIRE_F_OUTPUTS_TO)
        WIRE_KEY("outputs_to"), rc |= wire_pack_str(&pk, req->approval.outputs_to.z85);
    if (fields & WIRE_F_BIND) {
        WIRE_KEY("bind"), rc |= msgpack_pack_array(&pk, req->nbind);
        for (size_t i = 0; i < req->nbind; i++) {
            rc |= msgpack_pack_array(&pk, req->bind[i].count);
            for (unsigned k = 0; k < req->bind[i].count; k++)
                rc |= wire_pack_str(&pk, req->bind[i].names[k]);
        }
    }
    if (fields & WIRE_F_TO)
        WIRE_KEY("to"), rc |= wire_pack_str(&pk, req->to.z85);
    if (fields & WIRE_F_OFFSET)
        WIRE_KEY("offset"), rc |= msgpack_pack_uint64(&pk, req->offset);
    if (fields & WIRE_F_COUNT)
        WIRE_KEY("count"), rc |= msgpack_pack_uint64(&pk, req->count);
    if (fields & WIRE_F_SHUFFLE)
        WIRE_KEY("shuffle"), rc |= msgpack_pack_true(&pk);
    if (fields & WIRE_F_FRESH)
        WIRE_KEY("fresh_masks"), rc |= msgpack_pack_true(&pk);
#undef WIRE_KEY
    if (rc != 0) {
        msgpack_sbuffer_destroy(&sb);
        return TRINE_ENOMEM;
    }
    *buf = sb.data;
    *len = sb.size;
    return TRINE_OK;
}
