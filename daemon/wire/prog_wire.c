/* prog_wire.c — msgpack codec of programs (see prog_wire.h, WIRE.md).
 *
 * Decoding reads types into a prog_t, then pw_validate checks ranges on
 * the result; encoding runs the same pw_validate first, so the two sides
 * cannot drift apart.
 */
#include "daemon/wire/prog_wire.h"
#include "daemon/wire/wire.h"
#include "daemon/wire/wire_msgpack.h"

#include <limits.h>
#include <math.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PW_VAR_FIELDS 4
#define PW_OP_FIELDS  8

/* "program op 3: ..." */
static trine_status_t pw_fail(trine_err_t *err, const char *what, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static trine_status_t pw_fail(trine_err_t *err, const char *what, size_t i, const char *fmt, ...)
{
    char msg[TRINE_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return trine_err_set(err, TRINE_EFORMAT, "program %s %zu: %s", what, i, msg);
}

/* ---- ranges, shared by both directions -------------------------------- */

static trine_status_t pw_validate_var(const prog_t *p, size_t i, trine_err_t *err)
{
    const prog_var_t *v = &p->vars[i];
    if (memchr(v->name, '\0', PROG_NAME_MAX) == NULL || !wire_name_valid(v->name))
        return pw_fail(err, "variable", i,
                       "name is not 1-%d letters, digits, '_', '-' or '.' (not starting "
                       "with '.')",
                       PROG_NAME_MAX - 1);
    for (size_t j = 0; j < i; j++)
        if (!strcmp(p->vars[j].name, v->name))
            return pw_fail(err, "variable", i, "name '%s' is also variable %zu's", v->name, j);
    if ((unsigned)v->kind > PROG_VAR_TEMP)
        return pw_fail(err, "variable", i, "kind is %u, not 0 (input), 1 (batch) or 2 (temp)",
                       (unsigned)v->kind);
    if (v->ndim < 0 || v->ndim > TENSOR_MAX_DIMS)
        return pw_fail(err, "variable", i, "has %d dimensions, not 0 to %d", v->ndim,
                       TENSOR_MAX_DIMS);
    for (int d = 0; d < v->ndim; d++)
        if (v->shape[d] == 0)
            return pw_fail(err, "variable", i, "extent %d is 0", d);
    return TRINE_OK;
}

static trine_status_t pw_validate_op(const prog_t *p, size_t i, trine_err_t *err)
{
    const prog_op_t *op = &p->ops[i];
    if ((unsigned)op->code >= PROG_OPCODE_COUNT)
        return pw_fail(err, "op", i, "code %u is not an operation (0 to %d)", (unsigned)op->code,
                       PROG_OPCODE_COUNT - 1);
    if (op->out < 0 || (size_t)op->out >= p->nvars)
        return pw_fail(err, "op", i, "output is %d, past the %zu variables", op->out, p->nvars);
    for (int k = 0; k < PROG_ARGS_MAX; k++)
        if (op->in[k] < -1 || (op->in[k] >= 0 && (size_t)op->in[k] >= p->nvars))
            return pw_fail(err, "op", i, "operand in[%d] is %d, past the %zu variables", k,
                           op->in[k], p->nvars);
    if (!isfinite(op->fattr))
        return pw_fail(err, "op", i, "fattr is not a finite number");
    if (op->code != PROG_RESHAPE && op->code != PROG_TRANSPOSE && op->ndim != 0)
        return pw_fail(err, "op", i, "%s takes no shape", prog_opcode_name(op->code));
    if (op->ndim < 0 || op->ndim > TENSOR_MAX_DIMS)
        return pw_fail(err, "op", i, "shape has %d dimensions, not 0 to %d", op->ndim,
                       TENSOR_MAX_DIMS);
    /* reshape: the first extent may be 0 (the batch), and {0, 0} is flatten;
     * a transpose's axes are prog_check's */
    bool flatten = op->ndim == 2 && op->shape[0] == 0 && op->shape[1] == 0;
    for (int d = 1; op->code == PROG_RESHAPE && d < op->ndim; d++)
        if (op->shape[d] == 0 && !flatten)
            return pw_fail(err, "op", i, "shape extent %d is 0", d);
    return TRINE_OK;
}

static trine_status_t pw_validate(const prog_t *p, trine_err_t *err)
{
    if (p->nvars > PROG_VARS_MAX || p->nops > PROG_OPS_MAX)
        return trine_err_set(err, TRINE_EFORMAT,
                             "program has %zu variables and %zu ops, at most %d and %d", p->nvars,
                             p->nops, PROG_VARS_MAX, PROG_OPS_MAX);
    trine_status_t st = TRINE_OK;
    for (size_t i = 0; i < p->nvars && st == TRINE_OK; i++)
        st = pw_validate_var(p, i, err);
    for (size_t i = 0; i < p->nops && st == TRINE_OK; i++)
        st = pw_validate_op(p, i, err);
    return st;
}

/* ---- encoding --------------------------------------------------------- */

static int pw_pack_shape(msgpack_packer *pk, int ndim, const size_t *shape)
{
    int rc = msgpack_pack_array(pk, (size_t)ndim);
    for (int d = 0; d < ndim; d++)
        rc |= msgpack_pack_uint64(pk, shape[d]);
    return rc;
}

trine_status_t prog_wire_encode(const prog_t *p, void **buf, size_t *len, trine_err_t *err)
{
    if (pw_validate(p, err) != TRINE_OK) { /* the caller's fault, not a message's */
        if (err)
            err->code = TRINE_EINVAL;
        return TRINE_EINVAL;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 3);
    rc |= wire_pack_str(&pk, "v");
    rc |= msgpack_pack_uint32(&pk, PROG_WIRE_VERSION);
    rc |= wire_pack_str(&pk, "vars");
    rc |= msgpack_pack_array(&pk, p->nvars);
    for (size_t i = 0; i < p->nvars; i++) {
        const prog_var_t *v = &p->vars[i];
        rc |= msgpack_pack_array(&pk, PW_VAR_FIELDS);
        rc |= wire_pack_str(&pk, v->name);
        rc |= msgpack_pack_uint32(&pk, (uint32_t)v->kind);
        rc |= v->output ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
        rc |= pw_pack_shape(&pk, v->ndim, v->shape);
    }
    rc |= wire_pack_str(&pk, "ops");
    rc |= msgpack_pack_array(&pk, p->nops);
    for (size_t i = 0; i < p->nops; i++) {
        const prog_op_t *op = &p->ops[i];
        rc |= msgpack_pack_array(&pk, PW_OP_FIELDS);
        rc |= msgpack_pack_uint32(&pk, (uint32_t)op->code);
        rc |= msgpack_pack_uint32(&pk, (uint32_t)op->out);
        rc |= msgpack_pack_array(&pk, PROG_ARGS_MAX);
        for (int k = 0; k < PROG_ARGS_MAX; k++)
            rc |= msgpack_pack_int(&pk, op->in[k]);
        /* at least two, up to the last nonzero: older programs keep their bytes */
        size_t niattr = PROG_IATTR_MAX;
        while (niattr > 2 && op->iattr[niattr - 1] == 0)
            niattr--;
        rc |= msgpack_pack_array(&pk, niattr);
        for (size_t k = 0; k < niattr; k++)
            rc |= msgpack_pack_int64(&pk, op->iattr[k]);
        rc |= msgpack_pack_double(&pk, op->fattr);
        rc |= pw_pack_shape(&pk, op->ndim, op->shape);
        rc |= msgpack_pack_uint32(&pk, op->line);
        rc |= msgpack_pack_uint32(&pk, op->col);
    }
    if (rc != 0) {
        msgpack_sbuffer_destroy(&sb);
        return trine_err_set(err, TRINE_ENOMEM, "out of memory encoding a program");
    }
    *buf = sb.data;
    *len = sb.size;
    return TRINE_OK;
}

/* ---- decoding: types -------------------------------------------------- */

static bool pw_int(const msgpack_object *o, int64_t min, int64_t max, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)max &&
        (int64_t)o->via.u64 >= min) {
        *out = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= min && o->via.i64 <= max) {
        *out = o->via.i64;
        return true;
    }
    return false;
}

static bool pw_array(const msgpack_object *o, uint32_t min, uint32_t max)
{
    return o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size >= min && o->via.array.size <= max;
}

static trine_status_t pw_shape(const msgpack_object *o, int *ndim, size_t *shape, const char *what,
                               size_t i, trine_err_t *err)
{
    if (!pw_array(o, 0, TENSOR_MAX_DIMS))
        return pw_fail(err, what, i, "shape must be an array of 0 to %d extents", TENSOR_MAX_DIMS);
    for (uint32_t d = 0; d < o->via.array.size; d++) {
        const msgpack_object *e = &o->via.array.ptr[d];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 > SIZE_MAX)
            return pw_fail(err, what, i, "extent %u must be an unsigned integer", (unsigned)d);
        shape[d] = (size_t)e->via.u64;
    }
    *ndim = (int)o->via.array.size;
    return TRINE_OK;
}

static trine_status_t pw_var(prog_var_t *v, const msgpack_object *o, size_t i, trine_err_t *err)
{
    if (!pw_array(o, PW_VAR_FIELDS, PW_VAR_FIELDS))
        return pw_fail(err, "variable", i, "must be an array [name, kind, output, shape]");
    const msgpack_object *f = o->via.array.ptr;
    if (f[0].type != MSGPACK_OBJECT_STR || f[0].via.str.size >= PROG_NAME_MAX ||
        memchr(f[0].via.str.ptr, '\0', f[0].via.str.size))
        return pw_fail(err, "variable", i, "name must be a string of at most %d bytes without NUL",
                       PROG_NAME_MAX - 1);
    memcpy(v->name, f[0].via.str.ptr, f[0].via.str.size);
    int64_t kind;
    if (!pw_int(&f[1], 0, PROG_VAR_TEMP, &kind))
        return pw_fail(err, "variable", i, "kind must be 0 (input), 1 (batch) or 2 (temp)");
    v->kind = (prog_var_kind_t)kind;
    if (f[2].type != MSGPACK_OBJECT_BOOLEAN)
        return pw_fail(err, "variable", i, "output must be a bool");
    v->output = f[2].via.boolean;
    return pw_shape(&f[3], &v->ndim, v->shape, "variable", i, err);
}

static trine_status_t pw_op(prog_op_t *op, const msgpack_object *o, size_t i, trine_err_t *err)
{
    if (!pw_array(o, PW_OP_FIELDS, PW_OP_FIELDS))
        return pw_fail(err, "op", i,
                       "must be an array [code, out, in, iattr, fattr, shape, line, col]");
    const msgpack_object *f = o->via.array.ptr;
    int64_t v;
    if (!pw_int(&f[0], 0, PROG_OPCODE_COUNT - 1, &v))
        return pw_fail(err, "op", i, "code must be an operation, 0 to %d", PROG_OPCODE_COUNT - 1);
    op->code = (prog_opcode_t)v;
    if (!pw_int(&f[1], 0, INT_MAX, &v))
        return pw_fail(err, "op", i, "output must be a variable index");
    op->out = (int)v;
    if (!pw_array(&f[2], PROG_ARGS_MAX, PROG_ARGS_MAX))
        return pw_fail(err, "op", i, "in must be an array of %d operands", PROG_ARGS_MAX);
    for (int k = 0; k < PROG_ARGS_MAX; k++) {
        if (!pw_int(&f[2].via.array.ptr[k], -1, INT_MAX, &v))
            return pw_fail(err, "op", i, "operand in[%d] must be a variable index or -1", k);
        op->in[k] = (int)v;
    }
    if (!pw_array(&f[3], 0, PROG_IATTR_MAX))
        return pw_fail(err, "op", i, "iattr must be an array of at most %d integers",
                       PROG_IATTR_MAX);
    for (uint32_t k = 0; k < f[3].via.array.size; k++) /* missing ones stay 0 */
        if (!pw_int(&f[3].via.array.ptr[k], INT64_MIN, INT64_MAX, &op->iattr[k]))
            return pw_fail(err, "op", i, "iattr[%u] must be an integer", (unsigned)k);
    if (f[4].type != MSGPACK_OBJECT_FLOAT64 && f[4].type != MSGPACK_OBJECT_FLOAT32)
        return pw_fail(err, "op", i, "fattr must be a float");
    op->fattr = f[4].via.f64;
    trine_status_t st = pw_shape(&f[5], &op->ndim, op->shape, "op", i, err);
    if (st != TRINE_OK)
        return st;
    if (!pw_int(&f[6], 0, UINT32_MAX, &v))
        return pw_fail(err, "op", i, "line must be an unsigned 32-bit integer");
    op->line = (uint32_t)v;
    if (!pw_int(&f[7], 0, UINT32_MAX, &v))
        return pw_fail(err, "op", i, "col must be an unsigned 32-bit integer");
    op->col = (uint32_t)v;
    return TRINE_OK;
}

/* The entries of the top-level map, each present exactly once. */
typedef struct {
    const msgpack_object *v, *vars, *ops;
} pw_fields_t;

static trine_status_t pw_fields(pw_fields_t *f, const msgpack_object *map, trine_err_t *err)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return trine_err_set(err, TRINE_EFORMAT, "a program must be a msgpack map");
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        const msgpack_object **slot = wire_str_is(k, "v")      ? &f->v
                                      : wire_str_is(k, "vars") ? &f->vars
                                      : wire_str_is(k, "ops")  ? &f->ops
                                                               : NULL;
        if (!slot && k->type == MSGPACK_OBJECT_STR && k->via.str.size < 40)
            return trine_err_set(err, TRINE_EFORMAT,
                                 "program has an unknown field '%.*s' (want v, vars, ops)",
                                 (int)k->via.str.size, k->via.str.ptr);
        if (!slot)
            return trine_err_set(err, TRINE_EFORMAT,
                                 "program has an unknown field (want v, vars, ops)");
        if (*slot)
            return trine_err_set(err, TRINE_EFORMAT, "program field '%.*s' appears twice",
                                 (int)k->via.str.size, k->via.str.ptr);
        *slot = &map->via.map.ptr[i].val;
    }
    if (!f->v || !f->vars || !f->ops)
        return trine_err_set(err, TRINE_EFORMAT, "program lacks field '%s'",
                             !f->v      ? "v"
                             : !f->vars ? "vars"
                                        : "ops");
    uint64_t version;
    trine_status_t st = wire_uint(&version, f->v, UINT32_MAX, "v", err);
    if (st == TRINE_OK && version != PROG_WIRE_VERSION)
        st = trine_err_set(err, TRINE_EUNSUPPORTED,
                           "program version %llu is not supported: this build reads %d",
                           (unsigned long long)version, PROG_WIRE_VERSION);
    if (st == TRINE_OK && !pw_array(f->vars, 0, PROG_VARS_MAX))
        st = trine_err_set(err, TRINE_EFORMAT,
                           "program field 'vars' must be an array of at most "
                           "%d variables",
                           PROG_VARS_MAX);
    if (st == TRINE_OK && !pw_array(f->ops, 0, PROG_OPS_MAX))
        st = trine_err_set(err, TRINE_EFORMAT,
                           "program field 'ops' must be an array of at most %d ops", PROG_OPS_MAX);
    return st;
}

static trine_status_t pw_decode(prog_t *out, const msgpack_object *root, trine_err_t *err)
{
    pw_fields_t f = {0};
    trine_status_t st = pw_fields(&f, root, err);
    if (st != TRINE_OK)
        return st;
    size_t nvars = f.vars->via.array.size, nops = f.ops->via.array.size;
    /* calloc(0) may return NULL: an empty list stays NULL */
    out->vars = nvars ? calloc(nvars, sizeof *out->vars) : NULL;
    out->ops = nops ? calloc(nops, sizeof *out->ops) : NULL;
    if ((nvars && !out->vars) || (nops && !out->ops))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory decoding a program");
    out->nvars = nvars;
    out->nops = nops;
    for (size_t i = 0; i < nvars && st == TRINE_OK; i++)
        st = pw_var(&out->vars[i], &f.vars->via.array.ptr[i], i, err);
    for (size_t i = 0; i < nops && st == TRINE_OK; i++)
        st = pw_op(&out->ops[i], &f.ops->via.array.ptr[i], i, err);
    return st == TRINE_OK ? pw_validate(out, err) : st;
}

trine_status_t prog_wire_decode(prog_t *out, const void *buf, size_t len, trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    trine_status_t st = wire_unpack(&u, buf, len, err);
    if (st == TRINE_OK)
        st = pw_decode(out, &u.data, err);
    msgpack_unpacked_destroy(&u);
    if (st != TRINE_OK)
        prog_clear(out);
    return st;
}

trine_status_t prog_wire_policy_hash(uint8_t out[WIRE_PROGRAM_HASH_BYTES], const prog_t *p,
                                     unsigned frac_bits, unsigned truncation, uint64_t batch,
                                     uint64_t epochs, bool shuffle, trine_err_t *err)
{
    prog_t bare = *p;
    bare.vars = malloc((p->nvars ? p->nvars : 1) * sizeof *bare.vars);
    bare.ops = malloc((p->nops ? p->nops : 1) * sizeof *bare.ops);
    if (!bare.vars || !bare.ops) {
        free(bare.vars);
        free(bare.ops);
        return trine_err_set(err, TRINE_ENOMEM, "out of memory hashing the program");
    }
    memcpy(bare.vars, p->vars, p->nvars * sizeof *bare.vars);
    memcpy(bare.ops, p->ops, p->nops * sizeof *bare.ops);
    for (size_t i = 0; i < bare.nvars; i++) { /* the stored tensors' or prog_check's */
        bare.vars[i].ndim = 0;
        memset(bare.vars[i].shape, 0, sizeof bare.vars[i].shape);
    }
    for (size_t j = 0; j < bare.nops; j++) /* where the source text had it */
        bare.ops[j].line = bare.ops[j].col = 0;
    void *buf = NULL;
    size_t len = 0;
    trine_status_t st = prog_wire_encode(&bare, &buf, &len, err);
    free(bare.vars);
    free(bare.ops);
    if (st != TRINE_OK)
        return st;
    bool mixes = prog_mixes_rows(p);
    uint64_t settings[4] = {frac_bits, truncation, mixes ? batch : 0, mixes ? epochs : 0};
    static const char domain[] = "trine-policy-1";
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, WIRE_PROGRAM_HASH_BYTES);
    crypto_generichash_update(&h, (const unsigned char *)domain, sizeof domain);
    crypto_generichash_update(&h, buf, len);
    crypto_generichash_update(&h, (const unsigned char *)settings, sizeof settings);
    if (mixes && shuffle) {
        static const char shuffled[] = "shuffle";
        crypto_generichash_update(&h, (const unsigned char *)shuffled, sizeof shuffled);
    }
    crypto_generichash_final(&h, out, WIRE_PROGRAM_HASH_BYTES);
    free(buf);
    return TRINE_OK;
}
