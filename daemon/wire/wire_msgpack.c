/* wire_msgpack.c — typed reads of msgpack objects (see wire_msgpack.h). */
#include "daemon/wire/wire_msgpack.h"
#include "daemon/wire/wire.h"

#include <string.h>

trine_status_t wire_unpack(msgpack_unpacked *u, const void *buf, size_t len, trine_err_t *err)
{
    trine_status_t st = wire_scan(buf, len, WIRE_DEPTH_MAX, err);
    if (st != TRINE_OK)
        return st;
    size_t off = 0;
    if (msgpack_unpack_next(u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return trine_err_set(err, TRINE_EFORMAT, "malformed msgpack");
    return TRINE_OK;
}

bool wire_str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && !memcmp(o->via.str.ptr, s, n);
}

trine_status_t wire_uint(uint64_t *out, const msgpack_object *v, uint64_t max, const char *key,
                         trine_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > max)
        return trine_err_set(err, TRINE_EFORMAT, "field '%s' must be an unsigned integer <= %llu",
                             key, (unsigned long long)max);
    *out = v->via.u64;
    return TRINE_OK;
}

trine_status_t wire_str(char *out, size_t cap, const msgpack_object *v, const char *key,
                        trine_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_STR || v->via.str.size >= cap ||
        memchr(v->via.str.ptr, '\0', v->via.str.size))
        return trine_err_set(err, TRINE_EFORMAT, "field '%s' must be a string of at most %zu bytes",
                             key, cap - 1);
    memcpy(out, v->via.str.ptr, v->via.str.size);
    out[v->via.str.size] = '\0';
    return TRINE_OK;
}

trine_status_t wire_shape(int *ndim, size_t shape[TENSOR_MAX_DIMS], const msgpack_object *v,
                          const char *key, trine_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size < 1 ||
        v->via.array.size > TENSOR_MAX_DIMS)
        return trine_err_set(err, TRINE_EFORMAT, "field '%s' must be an array of 1 to %d extents",
                             key, TENSOR_MAX_DIMS);
    *ndim = (int)v->via.array.size;
    for (int i = 0; i < *ndim; i++) {
        uint64_t u;
        trine_status_t st = wire_uint(&u, &v->via.array.ptr[i], SIZE_MAX, key, err);
        if (st != TRINE_OK)
            return st;
        shape[i] = (size_t)u;
    }
    return TRINE_OK;
}

int wire_pack_str(msgpack_packer *pk, const char *s)
{
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

trine_status_t wire_key(keys_public_t *out, const msgpack_object *v, const char *key,
                        bool optional, trine_err_t *err)
{
    trine_status_t st = wire_str(out->z85, sizeof out->z85, v, key, err);
    if (st == TRINE_OK && strlen(out->z85) != KEYS_Z85_LEN && (!optional || out->z85[0]))
        st = trine_err_set(err, TRINE_EFORMAT, "field '%s' must be a%s %d-character Z85 public key",
                           key, optional ? "n empty string or a" : "", KEYS_Z85_LEN);
    return st;
}
