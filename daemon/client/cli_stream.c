/* cli_stream.c — tensors of any size to and from the cluster (cli.h).
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
#include "daemon/client/cli.h"
#include "daemon/common/log.h"
#include "tensor/fixed.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Elements a part at most: 16 MiB, so the client's buffers and the time a
 * party's main loop spends on one message stay small whatever
 * max_message allows. */
#define STREAM_PART_MAX ((size_t)2 << 20)

#define REVEAL_PRINT_MAX 1000 /* values printed before pointing at -o */

/* Elements in one put or get of cluster c: what a message of max_message
 * carries beside its envelope, at most STREAM_PART_MAX. */
static size_t stream_part(const cluster_t *c)
{
    uint64_t fit = (c->cfg.max_message - WIRE_PART_OVERHEAD) / sizeof(uint64_t);
    return fit < STREAM_PART_MAX ? (size_t)fit : STREAM_PART_MAX;
}

/* ---- share ---------------------------------------------------------------- */

/* Where a share's values come from: a plain_t in memory, or a .npy file
 * read a part at a time. */
typedef struct {
    const char *file;       /* for messages */
    const plain_t *info;    /* dtype, shape, count */
    const plain_t *mem;     /* the values, or NULL */
    plain_reader_t *reader; /* else read from here */
    bool fixed;             /* integers encoded as fixed point too */
} share_src_t;

/* The ring elements at..at+n-1 of src into x: fixed point for reals
 * (real is a buffer of n doubles), as they are for integers. */
static trine_status_t share_src_encode(uint64_t *x, double *real, const share_src_t *src,
                                       size_t at, size_t n, unsigned frac, trine_err_t *err)
{
    bool is_float = plain_dtype_is_float(src->info->dtype);
    trine_status_t st = TRINE_OK;
    if (src->mem && is_float)
        memcpy(real, src->mem->real + at, n * sizeof *real);
    else if (src->mem)
        memcpy(x, src->mem->ints + at, n * sizeof *x);
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
static void share_undo(session_t *s, unsigned done, const char *name, const char *verb)
{
    wire_request_t undo = {.op = WIRE_OP_RM};
    snprintf(undo.name, sizeof undo.name, "%s", name);
    if (done && session_call(s, done, &undo) != TRINE_OK)
        fprintf(stderr,
                "trine %s: could not remove what one party took of '%s'; it drops an "
                "uncommitted upload after timeout_ms, else run 'trine rm %s'\n",
                verb, name, name);
}

/* Sends the parts of src as the put template req[0] says and commits
 * them; *done gets the parties that took any of it. x and x0 hold part
 * elements, real as many doubles. */
static int share_parts(session_t *s, wire_request_t req[CONFIG_PARTIES], const share_src_t *src,
                       uint64_t *x, uint64_t *x0, double *real, unsigned *done, const char *verb)
{
    size_t count = src->info->count, part = stream_part(&s->cluster);
    trine_err_t err;
    progress_t bar;
    progress_init(&bar, true);
    for (size_t at = 0, n; at < count; at += n) {
        n = count - at < part ? count - at : part;
        if (share_src_encode(x, real, src, at, n, req[0].frac, &err) != TRINE_OK) {
            progress_end(&bar);
            fprintf(stderr, "trine %s: %s\n", verb, err.msg);
            return TRINE_EXIT_FAIL;
        }
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
        if (st != TRINE_OK) {
            progress_end(&bar);
            session_report(s, verb, SHARE_PARTIES);
            return TRINE_EXIT_FAIL;
        }
        if (count > part) /* a bar only for a tensor of several parts */
            progress_show(&bar, (at + n) * sizeof *x, count * sizeof *x);
    }
    progress_end(&bar);
    wire_request_t commit = {.op = WIRE_OP_COMMIT, .upload = req[0].upload};
    snprintf(commit.name, sizeof commit.name, "%s", req[0].name);
    if (session_call(s, SHARE_PARTIES, &commit) != TRINE_OK) {
        session_report(s, verb, SHARE_PARTIES);
        return TRINE_EXIT_FAIL;
    }
    return 0;
}

/* Encodes, splits and stores src as name, in parts; on failure removes
 * what either party took. */
static int share_stream(session_t *s, const char *name, const share_src_t *src, const char *verb,
                        bool quiet)
{
    const plain_t *pl = src->info;
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
    int rc = TRINE_EXIT_FAIL;
    unsigned done = 0;
    if (!x || !x0 || (fixed && !real))
        fprintf(stderr, "trine %s: out of memory for a part of %zu values\n", verb, n);
    else
        rc = share_parts(s, req, src, x, x0, real, &done, verb);
    if (rc != 0)
        share_undo(s, done, name, verb); /* rm drops a staged upload too */
    if (rc == 0 && !quiet) {
        char shape[LOG_SHAPE_CHARS], size[LOG_BYTES_CHARS];
        printf("shared '%s' %s %s as ", name, log_shape(shape, pl->ndim, pl->shape),
               plain_dtype_name(pl->dtype));
        if (fixed)
            printf("fixed point (%u fractional bits): ", req[0].frac);
        else
            printf("integers: ");
        printf("%s to each of party0 and party1\n", log_bytes(size, pl->count * sizeof *x));
    }
    if (x0)
        sodium_memzero(x0, n * sizeof *x0);
    if (x)
        sodium_memzero(x, n * sizeof *x);
    if (real)
        sodium_memzero(real, n * sizeof *real);
    free(x0);
    free(x);
    free(real);
    return rc;
}

int session_share(session_t *s, const char *name, const plain_t *pl, const char *file,
                  const char *verb, bool quiet)
{
    share_src_t src = {.file = file, .info = pl, .mem = pl};
    return share_stream(s, name, &src, verb, quiet);
}

int session_share_file(session_t *s, const char *name, const char *path, bool fixed,
                       const char *verb, bool quiet)
{
    trine_err_t err;
    const char *base = strrchr(path, '/'), *dot = strrchr(base ? base : path, '.');
    int rc = TRINE_EXIT_FAIL;
    if (dot && !strcasecmp(dot, ".npy")) {
        plain_reader_t *r;
        if (plain_reader_open(&r, path, &err) != TRINE_OK) {
            fprintf(stderr, "trine %s: %s\n", verb, err.msg);
            return TRINE_EXIT_FAIL;
        }
        share_src_t src = {
            .file = path, .info = plain_reader_info(r), .reader = r, .fixed = fixed};
        rc = share_stream(s, name, &src, verb, quiet);
        plain_reader_close(&r);
        return rc;
    }
    plain_t *pl = NULL; /* .csv: read whole, sent in parts */
    if (plain_read(&pl, path, &err) != TRINE_OK ||
        (fixed && plain_to_real(pl, &err) != TRINE_OK))
        fprintf(stderr, "trine %s: %s\n", verb, err.msg);
    else
        rc = session_share(s, name, pl, path, verb, quiet);
    plain_destroy(&pl);
    return rc;
}

/* ---- fetch and reveal ----------------------------------------------------- */

/* Told each reconstructed part: elements at..at+n-1 of the tensor t.
 * Returns an exit code (printed already); non-zero stops the fetch. */
typedef int (*fetch_fn)(void *arg, const wire_tensor_info_t *t, size_t at, const uint64_t *x,
                        size_t n);

static bool fetch_same(const wire_tensor_info_t *a, const wire_tensor_info_t *b)
{
    return a->kind == b->kind && a->frac == b->frac && a->ndim == b->ndim &&
           !memcmp(a->shape, b->shape, sizeof a->shape);
}

/* Checks the replies of party0 and party1 to the get of the part at `at`
 * (against *t, or filling it for the first part); *n gets the part's
 * elements. */
static int fetch_check(const session_t *s, const char *name, size_t at, wire_tensor_info_t *t,
                       size_t part, size_t *n, const char *verb)
{
    const wire_reply_t *r0 = &s->res[0].reply, *r1 = &s->res[1].reply;
    if (at == 0)
        *t = r0->info;
    if (!fetch_same(&r0->info, &r1->info) || !fetch_same(&r0->info, t)) {
        fprintf(stderr,
                "trine %s: party0 and party1 hold different tensors named '%s' (shape or "
                "encoding differ%s); rm it and share it again\n",
                verb, name, at ? ", or it was replaced while it was read" : "");
        return TRINE_EXIT_FAIL;
    }
    *n = r0->data_len / sizeof(uint64_t);
    if (r0->offset != at || r1->offset != at || r0->data_len != r1->data_len || *n > part) {
        fprintf(stderr, "trine %s: party0 and party1 sent different parts of '%s' at element %zu\n",
                verb, name, at);
        return TRINE_EXIT_FAIL;
    }
    return 0;
}

/* Reconstructs the tensor name a part at a time, telling each part to
 * each; *t gets its description. A bar on a terminal for a tensor of
 * several parts. */
static int fetch_stream(session_t *s, const char *name, wire_tensor_info_t *t, fetch_fn each,
                        void *arg, const char *verb)
{
    size_t part = stream_part(&s->cluster), count = 1, n = 0;
    uint64_t *x = malloc(part * sizeof *x);
    if (!x) {
        fprintf(stderr, "trine %s: out of memory for a part of %zu values\n", verb, part);
        return TRINE_EXIT_FAIL;
    }
    wire_request_t q = {.op = WIRE_OP_GET, .count = part};
    snprintf(q.name, sizeof q.name, "%s", name);
    progress_t bar;
    progress_init(&bar, true);
    int rc = 0;
    for (size_t at = 0; rc == 0 && at < count; at += n) {
        q.offset = at;
        if (session_call(s, SHARE_PARTIES, &q) != TRINE_OK) {
            progress_end(&bar);
            session_report(s, verb, SHARE_PARTIES);
            rc = TRINE_EXIT_FAIL;
            break;
        }
        if ((rc = fetch_check(s, name, at, t, part, &n, verb)) != 0)
            break;
        if (at == 0)
            for (int i = 0; i < t->ndim; i++)
                count *= t->shape[i];
        const uint8_t *d0 = s->res[0].reply.data, *d1 = s->res[1].reply.data;
        for (size_t i = 0; i < n; i++) {
            uint64_t a, b;
            memcpy(&a, d0 + 8 * i, 8);
            memcpy(&b, d1 + 8 * i, 8);
            x[i] = a + b;
        }
        rc = each(arg, t, at, x, n);
        if (count > part)
            progress_show(&bar, (at + n) * sizeof *x, count * sizeof *x);
    }
    progress_end(&bar);
    sodium_memzero(x, part * sizeof *x);
    free(x);
    return rc;
}

typedef struct {
    uint64_t *values;
    const char *verb;
} fetch_all_t;

static int fetch_all_part(void *arg, const wire_tensor_info_t *t, size_t at, const uint64_t *x,
                          size_t n)
{
    fetch_all_t *f = arg;
    if (at == 0) {
        size_t count = 1;
        for (int i = 0; i < t->ndim; i++)
            count *= t->shape[i];
        if (!(f->values = malloc(count * sizeof *f->values))) {
            fprintf(stderr, "trine %s: out of memory for %zu values\n", f->verb, count);
            return TRINE_EXIT_FAIL;
        }
    }
    memcpy(f->values + at, x, n * sizeof *x);
    return 0;
}

/* Says on stderr that edge of count values of tensor name, revealed, sit at
 * the ring's edge (fixed_count_edge), the first at index first. */
static void reveal_warn_edge(const char *verb, const char *name, size_t edge, size_t count,
                             unsigned frac, size_t first, double value)
{
    fprintf(stderr,
            "trine %s: warning: '%s' has %zu of %zu values at the edge of the ring "
            "(|x| >= 2^%d, the first element %zu = %.6g): they wrapped or overflowed, so "
            "they and what was computed from them are wrong\n",
            verb, name, edge, count, FIXED_SHARE_BITS - (int)frac, first, value);
}

int session_fetch(session_t *s, const char *name, uint64_t **values, wire_tensor_info_t *info,
                  const char *verb)
{
    fetch_all_t f = {NULL, verb};
    int rc = fetch_stream(s, name, info, fetch_all_part, &f, verb);
    if (rc != 0 && f.values) {
        size_t count = 1;
        for (int i = 0; i < info->ndim; i++)
            count *= info->shape[i];
        sodium_memzero(f.values, count * sizeof *f.values);
        free(f.values);
        f.values = NULL;
    }
    *values = f.values;
    if (rc == 0 && info->kind == WIRE_KIND_FIXED) {
        size_t count = 1, first;
        for (int i = 0; i < info->ndim; i++)
            count *= info->shape[i];
        size_t edge = fixed_count_edge(f.values, count, &first);
        if (edge)
            reveal_warn_edge(verb, name, edge, count, info->frac, first,
                             fixed_decode(f.values[first], info->frac));
    }
    return rc;
}

/* A reveal as its parts come: written to a .npy file or printed (the
 * first REVEAL_PRINT_MAX values), counting the values at the ring's edge. */
typedef struct {
    const char *out, *verb;
    bool integers; /* a fixed-point tensor of whole numbers, written as int64 */
    plain_writer_t *w;
    double *real; /* a part's decoded values, for a fixed-point tensor written */
    size_t nreal;
    size_t edge, first_edge; /* values at the ring's edge, the first one's index */
    double first_value;
} reveal_t;

static void reveal_print(const wire_tensor_info_t *t, size_t at, const uint64_t *x, size_t n)
{
    size_t row = t->shape[t->ndim - 1], count = 1;
    for (int i = 0; i < t->ndim; i++)
        count *= t->shape[i];
    size_t shown = count < REVEAL_PRINT_MAX ? count : REVEAL_PRINT_MAX;
    for (size_t i = at; i < at + n && i < shown; i++) {
        if (t->kind == WIRE_KIND_FIXED)
            printf("%.10g", fixed_decode(x[i - at], t->frac));
        else
            printf("%lld", (long long)(int64_t)x[i - at]);
        putchar((i + 1) % row == 0 || i + 1 == shown ? '\n' : ' ');
    }
    if (at + n == count && shown < count)
        fprintf(stderr, "(%zu of %zu values shown; write them all with -o FILE.npy)\n", shown,
                count);
}

static int reveal_part(void *arg, const wire_tensor_info_t *t, size_t at, const uint64_t *x,
                       size_t n)
{
    reveal_t *r = arg;
    trine_err_t err;
    bool fixed = t->kind == WIRE_KIND_FIXED;
    size_t first;
    size_t edge = fixed ? fixed_count_edge(x, n, &first) : 0;
    if (edge && !r->edge) {
        r->first_edge = at + first;
        r->first_value = fixed_decode(x[first], t->frac);
    }
    r->edge += edge;
    if (!r->out) {
        reveal_print(t, at, x, n);
        return 0;
    }
    trine_status_t st = TRINE_OK;
    bool real = fixed && !r->integers;
    if (at == 0) {
        st = plain_writer_open(&r->w, r->out, real ? PLAIN_F8 : PLAIN_I8, t->ndim, t->shape, &err);
        if (st == TRINE_OK && fixed && !(r->real = malloc(n * sizeof *r->real)))
            st = trine_err_set(&err, TRINE_ENOMEM, "out of memory for %zu values", n);
        r->nreal = n; /* the first part is the largest */
    }
    if (st == TRINE_OK && fixed) {
        fixed_decode_array(r->real, x, n, t->frac);
        if (r->integers) { /* in place: each int64 from its own double */
            int64_t *k = (int64_t *)r->real;
            for (size_t i = 0; i < n; i++)
                k[i] = (int64_t)llround(r->real[i]);
        }
        st = plain_writer_write(r->w, r->real, n, &err);
    } else if (st == TRINE_OK) {
        st = plain_writer_write(r->w, x, n, &err);
    }
    if (st != TRINE_OK) {
        fprintf(stderr, "trine %s: %s\n", r->verb, err.msg);
        return TRINE_EXIT_FAIL;
    }
    return 0;
}

static int reveal_as(session_t *s, const char *name, const char *out, bool integers,
                     const char *verb)
{
    reveal_t r = {.out = out, .verb = verb, .integers = integers};
    wire_tensor_info_t t;
    int rc = fetch_stream(s, name, &t, reveal_part, &r, verb);
    trine_err_t err;
    /* an incomplete file is removed */
    if (r.w && plain_writer_close(&r.w, &err) != TRINE_OK && rc == 0) {
        fprintf(stderr, "trine %s: %s\n", verb, err.msg);
        rc = TRINE_EXIT_FAIL;
    }
    if (r.real)
        sodium_memzero(r.real, r.nreal * sizeof *r.real);
    free(r.real);
    if (rc == 0 && r.edge) {
        size_t count = 1;
        for (int i = 0; i < t.ndim; i++)
            count *= t.shape[i];
        reveal_warn_edge(verb, name, r.edge, count, t.frac, r.first_edge, r.first_value);
    }
    return rc;
}

int session_reveal(session_t *s, const char *name, const char *out, const char *verb)
{
    return reveal_as(s, name, out, false, verb);
}

int session_reveal_integers(session_t *s, const char *name, const char *out, const char *verb)
{
    return reveal_as(s, name, out, true, verb);
}
