/* lib_stream.c — tensors of any size to and from the cluster (lib.h).
 *
 * max_message bounds one message, not a tensor: a share travels as puts
 * of at most stream_part() elements each, all under one upload number,
 * then one commit to each compute party (daemon/wire/WIRE.md, Uploads); a
 * reveal asks each party for its share a part at a time (get with an
 * offset). The client holds a part or two, never the whole tensor: a
 * .npy file is read in pieces as they go out, and a revealed one written
 * as the parts come back. A failure at any part removes whatever either
 * party took.
 */
#include "daemon/client/lib.h"
#include "tensor/fixed.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Elements a part at most: 16 MiB, so the client's buffers and the time a
 * party's main loop spends on one message stay small whatever
 * max_message allows. */
#define STREAM_PART_MAX ((size_t)2 << 20)

/* Elements in one put or get of cluster c: what a message of max_message
 * carries beside its envelope, at most STREAM_PART_MAX. */
static size_t stream_part(const cluster_t *c)
{
    uint64_t fit = (c->cfg.max_message - WIRE_PART_OVERHEAD) / sizeof(uint64_t);
    return fit < STREAM_PART_MAX ? (size_t)fit : STREAM_PART_MAX;
}

static size_t info_count(const wire_tensor_info_t *t)
{
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++)
        count *= t->shape[i];
    return count;
}

/* ---- share ---------------------------------------------------------------- */

/* Where a share's values come from: memory of a dtype, or a .npy file
 * read a part at a time. */
typedef struct {
    const char *file;       /* for messages */
    const plain_t *info;    /* dtype, shape, count */
    const void *mem;        /* the values in memory, as mem_dtype, or NULL */
    plain_dtype_t mem_dtype;
    plain_reader_t *reader; /* else read from here */
    bool fixed;             /* integers encoded as fixed point too */
} share_src_t;

/* Elements at..at+n-1 of src's memory: doubles into real for a float
 * dtype, ring elements (sign-extended) into x otherwise. */
static void share_src_copy(uint64_t *x, double *real, const share_src_t *src, size_t at, size_t n)
{
    switch (src->mem_dtype) {
    case PLAIN_F8:
        memcpy(real, (const double *)src->mem + at, n * sizeof *real);
        break;
    case PLAIN_F4:
        for (size_t i = 0; i < n; i++)
            real[i] = ((const float *)src->mem)[at + i];
        break;
    case PLAIN_I8:
    case PLAIN_U8:
        memcpy(x, (const uint64_t *)src->mem + at, n * sizeof *x);
        break;
    case PLAIN_I4:
        for (size_t i = 0; i < n; i++)
            x[i] = (uint64_t)(int64_t)((const int32_t *)src->mem)[at + i];
        break;
    case PLAIN_U1:
        for (size_t i = 0; i < n; i++)
            x[i] = ((const uint8_t *)src->mem)[at + i];
        break;
    }
}

/* The ring elements at..at+n-1 of src into x: fixed point for reals
 * (real is a buffer of n doubles), as they are for integers. */
static trine_status_t share_src_encode(uint64_t *x, double *real, const share_src_t *src,
                                       size_t at, size_t n, unsigned frac, trine_err_t *err)
{
    bool is_float = plain_dtype_is_float(src->info->dtype);
    trine_status_t st = TRINE_OK;
    if (src->mem)
        share_src_copy(x, real, src, at, n);
    else
        st = plain_reader_read(src->reader, is_float ? (void *)real : (void *)x, n, err);
    if (st != TRINE_OK || (!is_float && !src->fixed))
        return st; /* the reader's messages name the file */
    if (!is_float) /* --fixed: exact below 2^53, as plain_to_real */
        for (size_t i = 0; i < n; i++)
            real[i] = (double)(int64_t)x[i];
    trine_err_t why;
    if (fixed_encode_piece(x, real, n, at, frac, &why) != TRINE_OK)
        return trine_err_set(err, why.code, "%s: %s", src->file, why.msg);
    return TRINE_OK;
}

/* Removes what the parties in done took of the upload of name. */
static void share_undo(struct trine_client *s, unsigned done, const char *name)
{
    wire_request_t undo = {.op = WIRE_OP_RM};
    snprintf(undo.name, sizeof undo.name, "%s", name);
    if (done && lib_call(s, done, &undo) != TRINE_OK)
        (void)lib_fail(s, TRINE_EPEER,
                       "could not remove what one party took of '%s'; it drops an "
                       "uncommitted upload after timeout_ms, else run 'trine rm %s'",
                       name, name);
}

/* Sends the parts of src as the put template req[0] says and commits
 * them; *done gets the parties that took any of it. x and x0 hold part
 * elements, real as many doubles. */
static trine_status_t share_parts(struct trine_client *s, wire_request_t req[CONFIG_PARTIES],
                                  const share_src_t *src, uint64_t *x, uint64_t *x0, double *real,
                                  unsigned *done)
{
    size_t count = src->info->count, part = stream_part(&s->cluster);
    trine_err_t err;
    for (size_t at = 0, n; at < count; at += n) {
        n = count - at < part ? count - at : part;
        if (share_src_encode(x, real, src, at, n, req[0].frac, &err) != TRINE_OK)
            return lib_fail(s, err.code, "%s", err.msg);
        /* x = x0 + x1 with x0 uniform: x1 overwrites x in place. */
        randombytes_buf(x0, n * sizeof *x0);
        for (size_t i = 0; i < n; i++)
            x[i] -= x0[i];
        req[1] = req[0];
        req[0].data = (const uint8_t *)x0;
        req[1].data = (const uint8_t *)x;
        req[0].offset = req[1].offset = at;
        req[0].data_len = req[1].data_len = n * sizeof *x;
        trine_status_t st = client_call(s->client, SHARE_PARTIES, req, s->res);
        for (int p = 0; p < 2; p++)
            if (s->res[p].code == TRINE_OK)
                *done |= 1u << p;
        if (st != TRINE_OK)
            return lib_fail_parties(s, SHARE_PARTIES);
        if (count > part) /* progress only for a tensor of several parts */
            (void)lib_progress(s, TRINE_PROGRESS_BYTES, (at + n) * sizeof *x, count * sizeof *x);
    }
    wire_request_t commit = {.op = WIRE_OP_COMMIT, .upload = req[0].upload};
    snprintf(commit.name, sizeof commit.name, "%s", req[0].name);
    if (lib_call(s, SHARE_PARTIES, &commit) != TRINE_OK)
        return lib_fail_parties(s, SHARE_PARTIES);
    return TRINE_OK;
}

/* Encodes, splits and stores src as name, in parts; on failure removes
 * what either party took. */
static trine_status_t share_stream(struct trine_client *s, const char *name,
                                   const share_src_t *src)
{
    const plain_t *pl = src->info;
    if (!wire_name_valid(name))
        return lib_fail(s, TRINE_EINVAL,
                        "'%s' is not a tensor name: 1 to %d letters, digits, '_', '-' or '.', "
                        "not starting with '.'",
                        name, WIRE_NAME_MAX);
    size_t part = stream_part(&s->cluster), n = pl->count < part ? pl->count : part;
    bool fixed = plain_dtype_is_float(pl->dtype) || src->fixed;
    uint64_t *x = malloc(n * sizeof *x), *x0 = malloc(n * sizeof *x0);
    double *real = fixed ? malloc(n * sizeof *real) : NULL;
    wire_request_t req[CONFIG_PARTIES] = {{.op = WIRE_OP_PUT}};
    snprintf(req[0].name, sizeof req[0].name, "%s", name);
    req[0].ndim = pl->ndim;
    memcpy(req[0].shape, pl->shape, sizeof req[0].shape);
    req[0].kind = fixed ? WIRE_KIND_FIXED : WIRE_KIND_INT;
    req[0].frac = fixed ? s->cluster.cfg.frac_bits : 0;
    /* Two phases: both parties stage every part under one upload number,
     * then both commit it. A client that dies before the commits leaves
     * only staged parts, which the parties drop timeout_ms after the last
     * one; a failure of either phase is undone on both. */
    randombytes_buf(&req[0].upload, sizeof req[0].upload);
    req[0].upload |= 1; /* never 0 */
    trine_status_t st;
    unsigned done = 0;
    if (!x || !x0 || (fixed && !real))
        st = lib_fail(s, TRINE_ENOMEM, "out of memory for a part of %zu values", n);
    else
        st = share_parts(s, req, src, x, x0, real, &done);
    if (st != TRINE_OK)
        share_undo(s, done, name); /* rm drops a staged upload too */
    if (x0)
        sodium_memzero(x0, n * sizeof *x0);
    if (x)
        sodium_memzero(x, n * sizeof *x);
    if (real)
        sodium_memzero(real, n * sizeof *real);
    free(x0);
    free(x);
    free(real);
    return st;
}

trine_status_t lib_share(struct trine_client *s, const char *name, const plain_t *pl,
                         const char *file)
{
    bool is_float = plain_dtype_is_float(pl->dtype);
    share_src_t src = {.file = file,
                       .info = pl,
                       .mem = is_float ? (const void *)pl->real : (const void *)pl->ints,
                       .mem_dtype = is_float ? PLAIN_F8 : PLAIN_U8};
    return share_stream(s, name, &src);
}

trine_status_t lib_share_file(struct trine_client *s, const char *name, const char *path,
                              bool fixed, plain_t *info)
{
    trine_err_t err;
    const char *base = strrchr(path, '/'), *dot = strrchr(base ? base : path, '.');
    trine_status_t st;
    if (dot && !strcasecmp(dot, ".npy")) {
        plain_reader_t *r;
        if (plain_reader_open(&r, path, &err) != TRINE_OK)
            return lib_fail(s, err.code, "%s", err.msg);
        share_src_t src = {
            .file = path, .info = plain_reader_info(r), .reader = r, .fixed = fixed};
        if (info)
            *info = *src.info;
        st = share_stream(s, name, &src);
        plain_reader_close(&r);
        return st;
    }
    plain_t *pl = NULL; /* .csv: read whole, sent in parts */
    if ((st = plain_read(&pl, path, &err)) != TRINE_OK ||
        (fixed && (st = plain_to_real(pl, &err)) != TRINE_OK))
        (void)lib_fail(s, err.code, "%s", err.msg);
    else
        st = lib_share(s, name, pl, path);
    if (info && pl)
        *info = (plain_t){.dtype = pl->dtype, .ndim = pl->ndim, .count = pl->count};
    if (info && pl)
        memcpy(info->shape, pl->shape, sizeof info->shape);
    plain_destroy(&pl);
    return st;
}

/* The .npy dtype of a trine.h dtype. */
static bool dtype_plain(plain_dtype_t *out, trine_dtype_t d)
{
    static const plain_dtype_t map[] = {
        [TRINE_FLOAT64] = PLAIN_F8, [TRINE_FLOAT32] = PLAIN_F4, [TRINE_INT64] = PLAIN_I8,
        [TRINE_INT32] = PLAIN_I4,   [TRINE_UINT8] = PLAIN_U1};
    if ((unsigned)d >= sizeof map / sizeof map[0])
        return false;
    *out = map[d];
    return true;
}

trine_status_t lib_share_tensor(struct trine_client *s, const char *name, const trine_tensor_t *t,
                                bool fixed)
{
    plain_t info = {.ndim = t->ndim, .count = 1};
    if (!dtype_plain(&info.dtype, t->dtype))
        return lib_fail(s, TRINE_EINVAL,
                        "'%s': dtype %d is not one of float64, float32, int64, int32, uint8",
                        name, (int)t->dtype);
    if (t->ndim < 1 || t->ndim > TENSOR_MAX_DIMS)
        return lib_fail(s, TRINE_ESHAPE, "'%s': %d dimensions; a tensor has 1 to %d", name,
                        t->ndim, TENSOR_MAX_DIMS);
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) {
        info.shape[i] = i < t->ndim ? t->shape[i] : 1;
        if (info.shape[i] == 0 || info.count > SIZE_MAX / 8 / info.shape[i])
            return lib_fail(s, TRINE_ESHAPE,
                            "'%s': extent %d is %zu; every extent is at least 1 and the "
                            "tensor below 2^61 values",
                            name, i, info.shape[i]);
        info.count *= info.shape[i];
    }
    if (!t->data)
        return lib_fail(s, TRINE_EINVAL, "'%s': no data", name);
    share_src_t src = {
        .file = name, .info = &info, .mem = t->data, .mem_dtype = info.dtype, .fixed = fixed};
    return share_stream(s, name, &src);
}

/* ---- fetch and reveal ----------------------------------------------------- */

static bool fetch_same(const wire_tensor_info_t *a, const wire_tensor_info_t *b)
{
    return a->kind == b->kind && a->frac == b->frac && a->ndim == b->ndim &&
           !memcmp(a->shape, b->shape, sizeof a->shape);
}

/* Checks the replies of party0 and party1 to the get of the part at `at`
 * (against *t, or filling it for the first part); *n gets the part's
 * elements. */
static trine_status_t fetch_check(struct trine_client *s, const char *name, size_t at,
                                  wire_tensor_info_t *t, size_t part, size_t *n)
{
    const wire_reply_t *r0 = &s->res[0].reply, *r1 = &s->res[1].reply;
    if (at == 0)
        *t = r0->info;
    if (!fetch_same(&r0->info, &r1->info) || !fetch_same(&r0->info, t))
        return lib_fail(s, TRINE_EPEER,
                        "party0 and party1 hold different tensors named '%s' (shape or "
                        "encoding differ%s); rm it and share it again",
                        name, at ? ", or it was replaced while it was read" : "");
    *n = r0->data_len / sizeof(uint64_t);
    if (r0->offset != at || r1->offset != at || r0->data_len != r1->data_len || *n > part)
        return lib_fail(s, TRINE_EPEER,
                        "party0 and party1 sent different parts of '%s' at element %zu", name,
                        at);
    return TRINE_OK;
}

/* Reconstructs the tensor name a part at a time, telling each part to
 * each; *t gets its description. */
static trine_status_t fetch_stream(struct trine_client *s, const char *name,
                                   wire_tensor_info_t *t, lib_part_fn each, void *arg)
{
    if (!wire_name_valid(name))
        return lib_fail(s, TRINE_EINVAL, "'%s' is not a tensor name", name);
    size_t part = stream_part(&s->cluster), count = 1, n = 0;
    uint64_t *x = malloc(part * sizeof *x);
    if (!x)
        return lib_fail(s, TRINE_ENOMEM, "out of memory for a part of %zu values", part);
    wire_request_t q = {.op = WIRE_OP_GET, .count = part};
    snprintf(q.name, sizeof q.name, "%s", name);
    trine_status_t st = TRINE_OK;
    for (size_t at = 0; st == TRINE_OK && at < count; at += n) {
        q.offset = at;
        if (lib_call(s, SHARE_PARTIES, &q) != TRINE_OK) {
            st = lib_fail_parties(s, SHARE_PARTIES);
            break;
        }
        if ((st = fetch_check(s, name, at, t, part, &n)) != TRINE_OK)
            break;
        if (at == 0)
            count = info_count(t);
        const uint8_t *d0 = s->res[0].reply.data, *d1 = s->res[1].reply.data;
        for (size_t i = 0; i < n; i++) {
            uint64_t a, b;
            memcpy(&a, d0 + 8 * i, 8);
            memcpy(&b, d1 + 8 * i, 8);
            x[i] = a + b;
        }
        st = each(arg, t, at, x, n);
        if (count > part)
            (void)lib_progress(s, TRINE_PROGRESS_BYTES, (at + n) * sizeof *x, count * sizeof *x);
    }
    sodium_memzero(x, part * sizeof *x);
    free(x);
    return st;
}

/* A reveal as its parts come: to a .npy file, into memory or to a
 * function, counting the values at the ring's edge. */
typedef struct {
    struct trine_client *s;
    const lib_sink_t *sink;
    plain_writer_t *w;
    double *real; /* a part's decoded values, for a fixed-point tensor written */
    size_t nreal;
    size_t edge, first_edge; /* values at the ring's edge, the first one's index */
    double first_value;
} reveal_t;

/* Decodes n ring elements of t into out (doubles for fixed point, or
 * int64 rounded from them for integers; int64 for an integer tensor). */
static void reveal_decode(void *out, const wire_tensor_info_t *t, const uint64_t *x, size_t n,
                          bool integers)
{
    if (t->kind != WIRE_KIND_FIXED) {
        memcpy(out, x, n * sizeof *x);
        return;
    }
    double *real = out;
    fixed_decode_array(real, x, n, t->frac);
    if (integers) { /* in place: each int64 from its own double */
        int64_t *k = out;
        for (size_t i = 0; i < n; i++)
            k[i] = (int64_t)llround(real[i]);
    }
}

static trine_status_t reveal_mem(reveal_t *r, const wire_tensor_info_t *t, size_t at,
                                 const uint64_t *x, size_t n)
{
    trine_tensor_t *m = r->sink->mem;
    if (at == 0) {
        size_t count = info_count(t);
        *m = (trine_tensor_t){.dtype = t->kind == WIRE_KIND_FIXED && !r->sink->integers
                                           ? TRINE_FLOAT64
                                           : TRINE_INT64,
                              .ndim = t->ndim};
        memcpy(m->shape, t->shape, sizeof m->shape);
        if (!(m->data = malloc(count * sizeof(uint64_t))))
            return lib_fail(r->s, TRINE_ENOMEM, "out of memory for %zu values", count);
    }
    reveal_decode((uint64_t *)m->data + at, t, x, n, r->sink->integers);
    return TRINE_OK;
}

static trine_status_t reveal_file(reveal_t *r, const wire_tensor_info_t *t, size_t at,
                                  const uint64_t *x, size_t n)
{
    trine_err_t err;
    trine_status_t st = TRINE_OK;
    bool fixed = t->kind == WIRE_KIND_FIXED;
    if (at == 0) {
        plain_dtype_t dt = fixed && !r->sink->integers ? PLAIN_F8 : PLAIN_I8;
        st = plain_writer_open(&r->w, r->sink->path, dt, t->ndim, t->shape, &err);
        if (st == TRINE_OK && fixed && !(r->real = malloc(n * sizeof *r->real)))
            st = trine_err_set(&err, TRINE_ENOMEM, "out of memory for %zu values", n);
        r->nreal = n; /* the first part is the largest */
    }
    if (st == TRINE_OK && fixed) {
        reveal_decode(r->real, t, x, n, r->sink->integers);
        st = plain_writer_write(r->w, r->real, n, &err);
    } else if (st == TRINE_OK) {
        st = plain_writer_write(r->w, x, n, &err);
    }
    return st == TRINE_OK ? TRINE_OK : lib_fail(r->s, err.code, "%s", err.msg);
}

static trine_status_t reveal_part(void *arg, const wire_tensor_info_t *t, size_t at,
                                  const uint64_t *x, size_t n)
{
    reveal_t *r = arg;
    bool fixed = t->kind == WIRE_KIND_FIXED;
    size_t first;
    size_t edge = fixed ? fixed_count_edge(x, n, &first) : 0;
    if (edge && !r->edge) {
        r->first_edge = at + first;
        r->first_value = fixed_decode(x[first], t->frac);
    }
    r->edge += edge;
    if (r->sink->each)
        return r->sink->each(r->sink->arg, t, at, x, n);
    return r->sink->mem ? reveal_mem(r, t, at, x, n) : reveal_file(r, t, at, x, n);
}

trine_status_t lib_reveal(struct trine_client *s, const char *name, const lib_sink_t *sink)
{
    reveal_t r = {.s = s, .sink = sink};
    wire_tensor_info_t t = {0};
    if (sink->mem)
        *sink->mem = (trine_tensor_t){0};
    trine_status_t st = fetch_stream(s, name, &t, reveal_part, &r);
    trine_err_t err;
    /* an incomplete file is removed */
    if (r.w && plain_writer_close(&r.w, &err) != TRINE_OK && st == TRINE_OK)
        st = lib_fail(s, err.code, "%s", err.msg);
    if (r.real)
        sodium_memzero(r.real, r.nreal * sizeof *r.real);
    free(r.real);
    if (st != TRINE_OK && sink->mem)
        trine_tensor_clear(sink->mem);
    if (st == TRINE_OK && r.edge)
        lib_warn(s,
                 "warning: '%s' has %zu of %zu values at the edge of the ring "
                 "(|x| >= 2^%d, the first element %zu = %.6g): they wrapped or overflowed, so "
                 "they and what was computed from them are wrong",
                 name, r.edge, info_count(&t), FIXED_SHARE_BITS - (int)t.frac, r.first_edge,
                 r.first_value);
    return st;
}

typedef struct {
    struct trine_client *s;
    uint64_t *values;
    wire_tensor_info_t info;
} fetch_all_t;

static trine_status_t fetch_all_part(void *arg, const wire_tensor_info_t *t, size_t at,
                                     const uint64_t *x, size_t n)
{
    fetch_all_t *f = arg;
    if (at == 0) {
        size_t count = info_count(t);
        f->info = *t;
        if (!(f->values = malloc(count * sizeof *f->values)))
            return lib_fail(f->s, TRINE_ENOMEM, "out of memory for %zu values", count);
    }
    memcpy(f->values + at, x, n * sizeof *x);
    return TRINE_OK;
}

trine_status_t lib_fetch(struct trine_client *s, const char *name, uint64_t **values,
                         wire_tensor_info_t *info)
{
    fetch_all_t f = {.s = s};
    lib_sink_t sink = {.each = fetch_all_part, .arg = &f};
    trine_status_t st = lib_reveal(s, name, &sink);
    if (st != TRINE_OK && f.values) {
        sodium_memzero(f.values, info_count(&f.info) * sizeof *f.values);
        free(f.values);
        f.values = NULL;
    }
    *values = f.values;
    *info = f.info;
    return st;
}

/* ---- trine.h -------------------------------------------------------------- */

void trine_tensor_clear(trine_tensor_t *t)
{
    if (!t)
        return;
    static const size_t size[] = {[TRINE_FLOAT64] = 8, [TRINE_FLOAT32] = 4, [TRINE_INT64] = 8,
                                  [TRINE_INT32] = 4, [TRINE_UINT8] = 1};
    if (t->data && (unsigned)t->dtype < sizeof size / sizeof size[0]) {
        size_t count = 1;
        for (int i = 0; i < t->ndim && i < TRINE_MAX_DIMS; i++)
            count *= t->shape[i];
        sodium_memzero(t->data, count * size[t->dtype]);
    }
    free(t->data);
    *t = (trine_tensor_t){0};
}

trine_code_t trine_share(trine_client_t *c, const char *name, const trine_tensor_t *t,
                         unsigned flags)
{
    trine_status_t st = lib_enter(c, name, t);
    if (st == TRINE_OK)
        st = lib_share_tensor(c, name, t, flags & TRINE_SHARE_FIXED);
    return (trine_code_t)st;
}

trine_code_t trine_share_file(trine_client_t *c, const char *name, const char *path,
                              unsigned flags)
{
    trine_status_t st = lib_enter(c, name, path);
    if (st == TRINE_OK)
        st = lib_share_file(c, name, path, flags & TRINE_SHARE_FIXED, NULL);
    return (trine_code_t)st;
}

trine_code_t trine_reveal(trine_client_t *c, const char *name, trine_tensor_t *out)
{
    trine_status_t st = lib_enter(c, name, out);
    if (out)
        *out = (trine_tensor_t){0};
    lib_sink_t sink = {.mem = out};
    if (st == TRINE_OK)
        st = lib_reveal(c, name, &sink);
    return (trine_code_t)st;
}

trine_code_t trine_reveal_file(trine_client_t *c, const char *name, const char *path)
{
    trine_status_t st = lib_enter(c, name, path);
    lib_sink_t sink = {.path = path};
    if (st == TRINE_OK)
        st = lib_reveal(c, name, &sink);
    return (trine_code_t)st;
}
