/* onnx_model.c — ONNX files in and out (see onnx_model.h). */
#include "daemon/models/onnx_model.h"

#include "tensor/plain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the whole file path (at most ONNX_FILE_MAX bytes). */
static trine_status_t onnx_slurp(const char *path, uint8_t **buf, size_t *len, trine_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return trine_err_set(err, TRINE_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > ONNX_FILE_MAX) {
        fclose(f);
        return trine_err_set(err, TRINE_ELIMIT, "%s: %lld bytes, more than trine reads (%zu)", path,
                             (long long)st.st_size, ONNX_FILE_MAX);
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len ? *len : 1);
    if (!*buf) {
        fclose(f);
        return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory for %zu bytes", path, *len);
    }
    bool ok = fread(*buf, 1, *len, f) == *len;
    fclose(f);
    if (!ok) {
        free(*buf);
        return trine_err_set(err, TRINE_EIO, "cannot read %s", path);
    }
    return TRINE_OK;
}

static bool onnx_default_domain(const char *d)
{
    return !d || !d[0] || !strcmp(d, "ai.onnx");
}

trine_status_t onnx_model_read(onnx_model_t *m, const char *path, trine_err_t *err)
{
    memset(m, 0, sizeof *m);
    uint8_t *buf;
    size_t len;
    trine_status_t st = onnx_slurp(path, &buf, &len, err);
    if (st != TRINE_OK)
        return st;
    m->proto = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!m->proto)
        return trine_err_set(err, TRINE_EFORMAT, "%s: not an ONNX model (protobuf does not parse)",
                             path);
    const Onnx__GraphProto *g = m->proto->graph;
    if (!g) {
        onnx_model_clear(m);
        return trine_err_set(err, TRINE_EFORMAT, "%s: the model has no graph", path);
    }
    for (size_t i = 0; i < m->proto->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->proto->opset_import[i];
        if (onnx_default_domain(o->domain))
            m->opset = o->has_version ? o->version : 0;
    }
    if (m->opset < ONNX_OPSET_MIN || m->opset > ONNX_OPSET_MAX) {
        long long v = (long long)m->opset;
        onnx_model_clear(m);
        if (!v)
            return trine_err_set(err, TRINE_EUNSUPPORTED,
                                 "%s: the model imports no default-domain ONNX opset (operator "
                                 "domains outside ONNX's are not supported)",
                                 path);
        return trine_err_set(
            err, TRINE_EUNSUPPORTED,
            "%s: ONNX opset %lld is not supported (trine compiles opsets %d to %d)", path, v,
            ONNX_OPSET_MIN, ONNX_OPSET_MAX);
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (!n->op_type || !n->op_type[0]) {
            onnx_model_clear(m);
            return trine_err_set(err, TRINE_EFORMAT, "%s: node %zu has no operator type", path, i);
        }
        if (!onnx_default_domain(n->domain)) {
            trine_err_set(err, TRINE_EUNSUPPORTED,
                          "%s: node %zu '%s' (%s): operator domain '%s' is not supported "
                          "(only the default ONNX domain)",
                          path, i, n->name ? n->name : "", n->op_type, n->domain);
            onnx_model_clear(m);
            return TRINE_EUNSUPPORTED;
        }
    }
    return TRINE_OK;
}

trine_status_t onnx_model_set_initializer(onnx_model_t *m, const char *name, const double *v,
                                          size_t count, trine_err_t *err)
{
    Onnx__GraphProto *g = m->proto->graph;
    Onnx__TensorProto *t = NULL;
    for (size_t i = 0; !t && i < g->n_initializer; i++)
        if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, name))
            t = g->initializer[i];
    if (!t)
        return trine_err_set(err, TRINE_ENOENT, "the model has no initializer '%s'", name);
    bool is_float = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if ((!is_float && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) ||
        (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "initializer '%s' is not FLOAT or DOUBLE held in the model", name);
    size_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++)
        n *= t->dims[d] > 0 ? (size_t)t->dims[d] : 0;
    if (n != count)
        return trine_err_set(err, TRINE_ESHAPE, "initializer '%s' has %zu values, not %zu", name, n,
                             count);
    void *data = malloc((count ? count : 1) * (is_float ? sizeof(float) : sizeof(double)));
    if (!data)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for initializer '%s'", name);
    for (size_t i = 0; i < count; i++)
        if (is_float)
            ((float *)data)[i] = (float)v[i];
        else
            ((double *)data)[i] = v[i];
    free(t->raw_data.data);
    t->raw_data = (ProtobufCBinaryData){0};
    t->has_raw_data = false;
    free(t->float_data), free(t->double_data);
    t->float_data = is_float ? data : NULL;
    t->n_float_data = is_float ? count : 0;
    t->double_data = is_float ? NULL : data;
    t->n_double_data = is_float ? 0 : count;
    return TRINE_OK;
}

trine_status_t onnx_model_write(const onnx_model_t *m, const char *path, trine_err_t *err)
{
    size_t len = onnx__model_proto__get_packed_size(m->proto);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory for %zu bytes", path, len);
    onnx__model_proto__pack(m->proto, buf);
    char tmp[4096];
    FILE *f;
    trine_status_t st = plain_file_create(path, tmp, sizeof tmp, &f, err);
    if (st == TRINE_OK)
        st = plain_file_commit(&f, tmp, path, fwrite(buf, 1, len, f) == len, err);
    free(buf);
    return st;
}

void onnx_model_clear(onnx_model_t *m)
{
    if (m->proto)
        onnx__model_proto__free_unpacked(m->proto, NULL);
    memset(m, 0, sizeof *m);
}

const char *onnx_type_name(int32_t data_type)
{
    static const char *const names[] = {
        [ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT] = "FLOAT",
        [ONNX__TENSOR_PROTO__DATA_TYPE__UINT8] = "UINT8",
        [ONNX__TENSOR_PROTO__DATA_TYPE__INT8] = "INT8",
        [ONNX__TENSOR_PROTO__DATA_TYPE__UINT16] = "UINT16",
        [ONNX__TENSOR_PROTO__DATA_TYPE__INT16] = "INT16",
        [ONNX__TENSOR_PROTO__DATA_TYPE__INT32] = "INT32",
        [ONNX__TENSOR_PROTO__DATA_TYPE__INT64] = "INT64",
        [ONNX__TENSOR_PROTO__DATA_TYPE__STRING] = "STRING",
        [ONNX__TENSOR_PROTO__DATA_TYPE__BOOL] = "BOOL",
        [ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16] = "FLOAT16",
        [ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE] = "DOUBLE",
        [ONNX__TENSOR_PROTO__DATA_TYPE__UINT32] = "UINT32",
        [ONNX__TENSOR_PROTO__DATA_TYPE__UINT64] = "UINT64",
        [ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64] = "COMPLEX64",
        [ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128] = "COMPLEX128",
        [ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16] = "BFLOAT16",
    };
    if (data_type < 0 || (size_t)data_type >= sizeof names / sizeof names[0] || !names[data_type])
        return "?";
    return names[data_type];
}

/* The value of the external-data entry key of t, or NULL. */
static const char *onnx_external(const Onnx__TensorProto *t, const char *key)
{
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (e->key && e->value && !strcmp(e->key, key))
            return e->value;
    }
    return NULL;
}

/* The bytes of one of t's values (of a supported type) as raw data. */
static size_t onnx_tensor_width(const Onnx__TensorProto *t)
{
    int32_t type = t->data_type;
    return type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                   type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32
               ? 4
               : 8;
}

/* Checks that t holds exactly count values, in its typed field or as raw
 * bytes, before anything of count's size is allocated. */
static trine_status_t onnx_tensor_count(const Onnx__TensorProto *t, const char *what, size_t count,
                                        trine_err_t *err)
{
    int32_t type = t->data_type;
    size_t width = onnx_tensor_width(t);
    size_t typed = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT    ? t->n_float_data
                   : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                   : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32  ? t->n_int32_data
                                                                   : t->n_int64_data;
    bool raw = t->has_raw_data && t->raw_data.len > 0;
    if (raw ? t->raw_data.len % width || t->raw_data.len / width != count : typed != count)
        return trine_err_set(err, TRINE_EFORMAT, "%s: %zu values for dims holding %zu", what,
                             raw ? t->raw_data.len / width : typed, count);
    return TRINE_OK;
}

/* Fills p's values from t's typed field or raw little-endian bytes, which
 * onnx_tensor_count found to hold p->count values. */
static void onnx_tensor_values(const Onnx__TensorProto *t, plain_t *p)
{
    int32_t type = t->data_type;
    size_t width = onnx_tensor_width(t);
    bool raw = t->has_raw_data && t->raw_data.len > 0;
    for (size_t i = 0; i < p->count; i++) {
        const uint8_t *b = raw ? t->raw_data.data + i * width : NULL;
        uint64_t bits = 0;
        for (size_t k = 0; b && k < width; k++)
            bits |= (uint64_t)b[k] << (8 * k);
        switch (type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
            float v = 0;
            uint32_t w = (uint32_t)bits;
            if (raw)
                memcpy(&v, &w, sizeof v);
            p->real[i] = raw ? v : t->float_data[i];
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double v = 0;
            if (raw)
                memcpy(&v, &bits, sizeof v);
            p->real[i] = raw ? v : t->double_data[i];
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
            p->ints[i] = (uint64_t)(int64_t)(raw ? (int32_t)(uint32_t)bits : t->int32_data[i]);
            break;
        default: p->ints[i] = raw ? bits : (uint64_t)t->int64_data[i]; break;
        }
    }
}

trine_status_t onnx_tensor_plain(const Onnx__TensorProto *t, const char *what, plain_t **out,
                                 int *rank, const char **prefix, trine_err_t *err)
{
    *out = NULL;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        const char *loc = onnx_external(t, "location");
        size_t n = strlen(ONNX_TRINE_PREFIX);
        if (loc && !strncmp(loc, ONNX_TRINE_PREFIX, n)) {
            if (prefix)
                *prefix = loc + n;
            return TRINE_ENOENT;
        }
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s: its data is in an external file ('%s'); trine reads models "
                             "with the weights inside the .onnx file",
                             what, loc ? loc : "?");
    }
    if (t->segment)
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s: segmented tensors (or sequences) are not supported", what);
    int32_t type = t->has_data_type ? t->data_type : 0;
    bool real = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    if (!real && type != ONNX__TENSOR_PROTO__DATA_TYPE__INT32 &&
        type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s: element type %s is not supported (FLOAT, DOUBLE, INT32, INT64)",
                             what, onnx_type_name(type));
    if (t->n_dims > TENSOR_MAX_DIMS)
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s: rank %zu is not supported (trine tensors have at most %d dims)",
                             what, t->n_dims, TENSOR_MAX_DIMS);
    size_t shape[TENSOR_MAX_DIMS] = {1}, count = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 1 || t->dims[i] > (int64_t)1 << 40)
            return t->dims[i] == 0 ? trine_err_set(err, TRINE_EUNSUPPORTED,
                                                   "%s: empty tensors (dimension %zu is 0) are "
                                                   "not supported",
                                                   what, i)
                                   : trine_err_set(err, TRINE_EFORMAT, "%s: dimension %zu is %lld",
                                                   what, i, (long long)t->dims[i]);
        shape[i] = (size_t)t->dims[i];
        if (__builtin_mul_overflow(count, shape[i], &count))
            return trine_err_set(err, TRINE_EFORMAT, "%s: dims hold more than 2^64 values", what);
    }
    trine_status_t st = onnx_tensor_count(t, what, count, err);
    if (st != TRINE_OK)
        return st;
    plain_t *p = plain_alloc(real ? PLAIN_F8 : PLAIN_I8, t->n_dims ? (int)t->n_dims : 1, shape);
    if (!p)
        return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory", what);
    onnx_tensor_values(t, p);
    if (rank)
        *rank = (int)t->n_dims;
    *out = p;
    return TRINE_OK;
}

trine_status_t onnx_tensor_read(const char *path, plain_t **out, int *rank, trine_err_t *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    trine_status_t st = onnx_slurp(path, &buf, &len, err);
    if (st != TRINE_OK)
        return st;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!t)
        return trine_err_set(err, TRINE_EFORMAT, "%s: not an ONNX tensor (protobuf does not parse)",
                             path);
    st = onnx_tensor_plain(t, path, out, rank, NULL, err);
    if (st == TRINE_ENOENT)
        st = trine_err_set(err, TRINE_EFORMAT, "%s: the tensor holds no values", path);
    onnx__tensor_proto__free_unpacked(t, NULL);
    return st;
}
