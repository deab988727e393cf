/* plain.c — reading and writing plaintext arrays as .npy and .csv files.
 *
 * These files come from users, so every reader treats its input as hostile:
 * the .npy header is parsed by hand with a cursor that never leaves its
 * buffer, and the size it declares is checked against the size of the file
 * before anything is allocated, so a lying shape costs nothing. Values are
 * decoded byte by byte as little-endian, which keeps the code free of
 * unaligned or type-punned loads. Every message starts with the file name
 * (and line, for .csv) because it ends up in front of a user who has to find
 * the offending file.
 */
#include "plain.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#define NPY_MAGIC        "\x93NUMPY"
#define NPY_MAGIC_LEN    6
#define NPY_HEADER_MAX   65536 /* read whole; NumPy's own default limit is 10000 */
#define NPY_ALIGN        64
#define NPY_DESCR_MAX    32
#define CHUNK_ELEMS      4096 /* elements converted per fread/fwrite */
#define SUPPORTED_DTYPES "<f8 <f4 <i8 <i4 |u1 <u8"

typedef struct {
    const char *descr;
    plain_dtype_t dtype;
    size_t itemsize;
} npy_type_t;

static const npy_type_t npy_types[] = {
    {"<f8", PLAIN_F8, 8}, {"<f4", PLAIN_F4, 4}, {"<i8", PLAIN_I8, 8},
    {"<i4", PLAIN_I4, 4}, {"|u1", PLAIN_U1, 1}, {"<u8", PLAIN_U8, 8},
};
#define NPY_TYPES_LEN (sizeof npy_types / sizeof npy_types[0])

bool plain_dtype_is_float(plain_dtype_t dtype)
{
    return dtype == PLAIN_F8 || dtype == PLAIN_F4;
}

const char *plain_dtype_name(plain_dtype_t dtype)
{
    for (size_t i = 0; i < NPY_TYPES_LEN; i++) {
        if (npy_types[i].dtype == dtype) {
            return npy_types[i].descr;
        }
    }
    return "?";
}

void plain_destroy(plain_t **p)
{
    if (!p || !*p) {
        return;
    }
    free((*p)->real);
    free((*p)->ints);
    free(*p);
    *p = NULL;
}

trine_status_t plain_to_real(plain_t *p, trine_err_t *err)
{
    if (p->real) {
        return TRINE_OK;
    }
    double *d = malloc(p->count * sizeof *d);
    if (!d) {
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for %zu values", p->count);
    }
    for (size_t i = 0; i < p->count; i++) {
        d[i] = p->dtype == PLAIN_U8 ? (double)p->ints[i] : (double)(int64_t)p->ints[i];
    }
    free(p->ints);
    p->ints = NULL;
    p->real = d;
    p->dtype = PLAIN_F8;
    return TRINE_OK;
}

/* A new plain_t with its shape set and no value buffer yet; NULL when
 * memory runs out. */
static plain_t *plain_new(plain_dtype_t dtype, int ndim, const size_t *shape, size_t count)
{
    plain_t *p = calloc(1, sizeof *p);
    if (!p) {
        return NULL;
    }
    p->dtype = dtype;
    p->ndim = ndim;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) {
        p->shape[i] = i < ndim ? shape[i] : 1;
    }
    p->count = count;
    return p;
}

plain_t *plain_alloc(plain_dtype_t dtype, int ndim, const size_t *shape)
{
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0 || count > SIZE_MAX / sizeof(double) / shape[i]) {
            return NULL;
        }
        count *= shape[i];
    }
    plain_t *p = plain_new(dtype, ndim, shape, count);
    if (!p) {
        return NULL;
    }
    if (plain_dtype_is_float(dtype)) {
        p->real = calloc(count, sizeof *p->real);
    } else {
        p->ints = calloc(count, sizeof *p->ints);
    }
    if (!p->real && !p->ints) {
        plain_destroy(&p);
    }
    return p;
}

static uint64_t load_le(const unsigned char *b, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) {
        v = v << 8 | b[i];
    }
    return v;
}

static void store_le64(unsigned char *b, uint64_t v)
{
    for (size_t i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

/* ---- .npy header: a Python dict literal, parsed by a bounded cursor ---- */

typedef struct {
    const char *path;
    const char *text;
    size_t len;
    size_t pos;
    trine_err_t *err;
} hdr_cursor_t;

typedef struct {
    char descr[NPY_DESCR_MAX];
    bool fortran_order;
    int ndim; /* as declared, so may exceed TENSOR_MAX_DIMS */
    size_t shape[TENSOR_MAX_DIMS];
} npy_header_t;

static int cur_peek(const hdr_cursor_t *c)
{
    return c->pos < c->len ? (unsigned char)c->text[c->pos] : -1;
}

static void cur_skip_space(hdr_cursor_t *c)
{
    int ch;
    while ((ch = cur_peek(c)) == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
        c->pos++;
    }
}

static trine_status_t cur_syntax(const hdr_cursor_t *c, const char *expected)
{
    return trine_err_set(c->err, TRINE_EFORMAT,
                         "%s: malformed .npy header at byte %zu: expected %s", c->path, c->pos,
                         expected);
}

/* Skips whitespace, then consumes ch or fails naming what was expected. */
static trine_status_t cur_expect(hdr_cursor_t *c, char ch, const char *expected)
{
    cur_skip_space(c);
    if (cur_peek(c) != (unsigned char)ch) {
        return cur_syntax(c, expected);
    }
    c->pos++;
    return TRINE_OK;
}

/* A quoted string without escapes, which no valid key or descr needs. A NUL
 * would let 'descr\0junk' compare equal to 'descr', so it ends nothing. */
static trine_status_t parse_string(hdr_cursor_t *c, char *buf, size_t cap)
{
    cur_skip_space(c);
    int quote = cur_peek(c);
    if (quote != '\'' && quote != '"') {
        return cur_syntax(c, "a quoted string");
    }
    size_t start = ++c->pos;
    int ch;
    while ((ch = cur_peek(c)) != quote) {
        if (ch == -1 || ch == '\n' || ch == '\0') {
            return cur_syntax(c, "the end of the string");
        }
        c->pos++;
    }
    size_t n = c->pos - start;
    c->pos++;
    if (n >= cap) {
        return trine_err_set(c->err, TRINE_EFORMAT,
                             "%s: .npy header string at byte %zu is too long", c->path, start);
    }
    memcpy(buf, c->text + start, n);
    buf[n] = '\0';
    return TRINE_OK;
}

/* Consumes the longest run of characters that could form a Python number
 * or name, so that messages can quote it whole. */
static size_t cur_word(hdr_cursor_t *c, const char **word)
{
    cur_skip_space(c);
    *word = c->text + c->pos;
    size_t start = c->pos;
    int ch;
    while ((ch = cur_peek(c)) != -1 &&
           (ch == '_' || ch == '.' || ch == '+' || ch == '-' || (ch >= '0' && ch <= '9') ||
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
        c->pos++;
    }
    return c->pos - start;
}

static trine_status_t parse_descr(hdr_cursor_t *c, npy_header_t *h)
{
    cur_skip_space(c);
    if (cur_peek(c) == '[') {
        return trine_err_set(c->err, TRINE_EUNSUPPORTED,
                             "%s: structured dtypes not supported; supported dtypes: %s", c->path,
                             SUPPORTED_DTYPES);
    }
    return parse_string(c, h->descr, sizeof h->descr);
}

static trine_status_t parse_fortran_order(hdr_cursor_t *c, npy_header_t *h)
{
    const char *word;
    size_t n = cur_word(c, &word);
    if (n == 4 && memcmp(word, "True", 4) == 0) {
        h->fortran_order = true;
    } else if (n == 5 && memcmp(word, "False", 5) == 0) {
        h->fortran_order = false;
    } else {
        c->pos -= n;
        return cur_syntax(c, "True or False");
    }
    return TRINE_OK;
}

static trine_status_t parse_extent(hdr_cursor_t *c, size_t *extent)
{
    const char *word;
    size_t n = cur_word(c, &word);
    if (n == 0) {
        return cur_syntax(c, "an extent or ')'");
    }
    if (word[0] == '-') {
        return trine_err_set(c->err, TRINE_EFORMAT, "%s: negative extent '%.*s' in .npy shape",
                             c->path, (int)n, word);
    }
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (word[i] < '0' || word[i] > '9') {
            return trine_err_set(c->err, TRINE_EFORMAT,
                                 "%s: extent '%.*s' in .npy shape is not an integer", c->path,
                                 (int)n, word);
        }
        size_t digit = (size_t)(word[i] - '0');
        if (v > (SIZE_MAX - digit) / 10) {
            return trine_err_set(c->err, TRINE_EFORMAT,
                                 "%s: extent '%.*s' in .npy shape is too large", c->path, (int)n,
                                 word);
        }
        v = v * 10 + digit;
    }
    *extent = v;
    return TRINE_OK;
}

/* A tuple of extents; only the first TENSOR_MAX_DIMS are kept, but all are
 * counted so the error can say how many there were. */
static trine_status_t parse_shape(hdr_cursor_t *c, npy_header_t *h)
{
    trine_status_t st = cur_expect(c, '(', "'(' starting the shape");
    h->ndim = 0;
    while (st == TRINE_OK) {
        cur_skip_space(c);
        if (cur_peek(c) == ')') {
            break;
        }
        size_t extent = 0;
        st = parse_extent(c, &extent);
        if (st != TRINE_OK) {
            break;
        }
        if (h->ndim < TENSOR_MAX_DIMS) {
            h->shape[h->ndim] = extent;
        }
        h->ndim++; /* bounded by the header size, far below INT_MAX */
        cur_skip_space(c);
        if (cur_peek(c) == ',') {
            c->pos++;
        } else if (cur_peek(c) != ')') {
            st = cur_syntax(c, "',' or ')' in the shape");
        }
    }
    if (st == TRINE_OK) {
        c->pos++; /* the ')' */
    }
    return st;
}

typedef trine_status_t (*hdr_value_parser_t)(hdr_cursor_t *c, npy_header_t *h);

static const struct {
    const char *name;
    hdr_value_parser_t parse;
} npy_keys[] = {
    {"descr", parse_descr},
    {"fortran_order", parse_fortran_order},
    {"shape", parse_shape},
};
#define NPY_KEYS_LEN (sizeof npy_keys / sizeof npy_keys[0])

static trine_status_t parse_entry(hdr_cursor_t *c, npy_header_t *h, unsigned *seen)
{
    char key[NPY_DESCR_MAX];
    trine_status_t st = parse_string(c, key, sizeof key);
    if (st == TRINE_OK) {
        st = cur_expect(c, ':', "':' after a key");
    }
    if (st != TRINE_OK) {
        return st;
    }
    for (size_t i = 0; i < NPY_KEYS_LEN; i++) {
        if (strcmp(key, npy_keys[i].name) != 0) {
            continue;
        }
        if (*seen & 1u << i) {
            return trine_err_set(c->err, TRINE_EFORMAT, "%s: duplicate key '%s' in .npy header",
                                 c->path, key);
        }
        *seen |= 1u << i;
        return npy_keys[i].parse(c, h);
    }
    return trine_err_set(
        c->err, TRINE_EFORMAT,
        "%s: unknown key '%s' in .npy header; expected descr, fortran_order, shape", c->path, key);
}

static trine_status_t parse_header_dict(hdr_cursor_t *c, npy_header_t *h)
{
    unsigned seen = 0;
    trine_status_t st = cur_expect(c, '{', "'{' starting the header dict");
    while (st == TRINE_OK) {
        cur_skip_space(c);
        if (cur_peek(c) == '}') {
            break;
        }
        st = parse_entry(c, h, &seen);
        cur_skip_space(c);
        if (st == TRINE_OK && cur_peek(c) == ',') {
            c->pos++;
        } else if (st == TRINE_OK && cur_peek(c) != '}') {
            st = cur_syntax(c, "',' or '}' after a value");
        }
    }
    if (st != TRINE_OK) {
        return st;
    }
    c->pos++; /* the '}' */
    cur_skip_space(c);
    if (c->pos != c->len) {
        return cur_syntax(c, "only whitespace after the header dict");
    }
    for (size_t i = 0; i < NPY_KEYS_LEN; i++) {
        if (!(seen & 1u << i)) {
            return trine_err_set(c->err, TRINE_EFORMAT, "%s: missing key '%s' in .npy header",
                                 c->path, npy_keys[i].name);
        }
    }
    return TRINE_OK;
}

/* ---- .npy header: what it declares, checked against what trine reads ---- */

static trine_status_t npy_lookup_descr(const char *path, const char *descr, const npy_type_t **type,
                                       trine_err_t *err)
{
    for (size_t i = 0; i < NPY_TYPES_LEN; i++) {
        if (strcmp(descr, npy_types[i].descr) == 0) {
            *type = &npy_types[i];
            return TRINE_OK;
        }
    }
    if (descr[0] == '>') {
        for (size_t i = 0; i < NPY_TYPES_LEN; i++) {
            if (npy_types[i].descr[0] == '<' && strcmp(descr + 1, npy_types[i].descr + 1) == 0) {
                return trine_err_set(err, TRINE_EUNSUPPORTED,
                                     "%s: big-endian data not supported, save with dtype '%s'",
                                     path, npy_types[i].descr);
            }
        }
    }
    const char *kind = descr[0] && strchr("<>|=", descr[0]) ? descr + 1 : descr;
    if (kind[0] == 'O') {
        return trine_err_set(err, TRINE_EUNSUPPORTED, "%s: object arrays not supported", path);
    }
    return trine_err_set(err, TRINE_EUNSUPPORTED,
                         "%s: dtype '%s' not supported; supported dtypes: %s", path, descr,
                         SUPPORTED_DTYPES);
}

/* Validates the parsed header and derives the element type and count; a
 * 0-d array becomes shape [1]. */
static trine_status_t npy_check_header(const char *path, npy_header_t *h, const npy_type_t **type,
                                       size_t *count, trine_err_t *err)
{
    trine_status_t st = npy_lookup_descr(path, h->descr, type, err);
    if (st != TRINE_OK) {
        return st;
    }
    if (h->fortran_order) {
        return trine_err_set(
            err, TRINE_EUNSUPPORTED,
            "%s: Fortran-order arrays not supported; save with np.ascontiguousarray", path);
    }
    if (h->ndim > TENSOR_MAX_DIMS) {
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s: array has %d dimensions, at most %d are supported", path, h->ndim,
                             TENSOR_MAX_DIMS);
    }
    if (h->ndim == 0) {
        h->ndim = 1;
        h->shape[0] = 1;
    }
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] == 0) {
            return trine_err_set(err, TRINE_EUNSUPPORTED,
                                 "%s: extent %d of the shape is 0; empty arrays not supported",
                                 path, i + 1);
        }
    }
    /* ndim and extents are valid by now, so any failure is an overflow. */
    if (tensor_shape_check(h->ndim, h->shape, count) != TRINE_OK) {
        return trine_err_set(err, TRINE_EFORMAT,
                             "%s: shape declares more elements than memory can address", path);
    }
    return TRINE_OK;
}

/* ---- .npy file: preamble, header, data ---- */

static trine_status_t npy_truncated(const char *path, const char *where, trine_err_t *err)
{
    return trine_err_set(err, TRINE_EFORMAT, "%s: truncated .npy file: it ends %s", path, where);
}

static trine_status_t read_exact(FILE *f, const char *path, void *buf, size_t n, const char *where,
                                 trine_err_t *err)
{
    if (fread(buf, 1, n, f) == n) {
        return TRINE_OK;
    }
    if (ferror(f)) {
        return trine_err_set(err, TRINE_EIO, "%s: %s", path, strerror(errno));
    }
    return npy_truncated(path, where, err);
}

/* Reads magic, version and header length. file_size guards every step, so
 * the header is known to fit the file before it is read; *data_size is what
 * the file holds after the header. */
static trine_status_t npy_read_preamble(FILE *f, const char *path, size_t file_size,
                                        size_t *header_len, size_t *data_size, trine_err_t *err)
{
    unsigned char pre[12];
    size_t have = file_size < NPY_MAGIC_LEN ? file_size : NPY_MAGIC_LEN;
    trine_status_t st = read_exact(f, path, pre, have, "inside the magic string", err);
    if (st != TRINE_OK) {
        return st;
    }
    if (memcmp(pre, NPY_MAGIC, have) != 0) {
        return trine_err_set(err, TRINE_EFORMAT, "%s: not a .npy file (bad magic string)", path);
    }
    if (have < NPY_MAGIC_LEN) {
        return npy_truncated(path, "inside the magic string", err);
    }
    if (file_size < NPY_MAGIC_LEN + 2) {
        return npy_truncated(path, "inside the version", err);
    }
    st = read_exact(f, path, pre, 2, "inside the version", err);
    if (st != TRINE_OK) {
        return st;
    }
    if (pre[0] < 1 || pre[0] > 3 || pre[1] != 0) {
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s: .npy version %u.%u not supported; expected 1.0, 2.0 or 3.0", path,
                             (unsigned)pre[0], (unsigned)pre[1]);
    }
    size_t len_size = pre[0] == 1 ? 2 : 4;
    if (file_size < NPY_MAGIC_LEN + 2 + len_size) {
        return npy_truncated(path, "inside the header length", err);
    }
    st = read_exact(f, path, pre, len_size, "inside the header length", err);
    if (st != TRINE_OK) {
        return st;
    }
    *header_len = (size_t)load_le(pre, len_size);
    if (*header_len > NPY_HEADER_MAX) {
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "%s: .npy header of %zu bytes exceeds the 64 KiB limit", path,
                             *header_len);
    }
    size_t after_len = file_size - (NPY_MAGIC_LEN + 2 + len_size);
    if (*header_len > after_len) {
        return npy_truncated(path, "inside the header", err);
    }
    *data_size = after_len - *header_len;
    return TRINE_OK;
}

/* Reads and parses the header; *data_size is what follows it in the file. */
static trine_status_t npy_read_header(FILE *f, const char *path, size_t file_size, npy_header_t *h,
                                      size_t *data_size, trine_err_t *err)
{
    size_t header_len = 0;
    trine_status_t st = npy_read_preamble(f, path, file_size, &header_len, data_size, err);
    if (st != TRINE_OK) {
        return st;
    }
    char *text = malloc(header_len ? header_len : 1);
    if (!text) {
        return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory for the .npy header", path);
    }
    st = read_exact(f, path, text, header_len, "inside the header", err);
    if (st == TRINE_OK) {
        hdr_cursor_t c = {.path = path, .text = text, .len = header_len, .pos = 0, .err = err};
        st = parse_header_dict(&c, h);
    }
    free(text);
    return st;
}

/* Decodes n elements of raw into values: doubles for the float dtypes,
 * ring elements (sign-extended) for the integer ones. */
static void npy_decode(plain_dtype_t dtype, void *values, const unsigned char *raw, size_t n,
                       size_t itemsize)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = load_le(raw + i * itemsize, itemsize);
        if (dtype == PLAIN_F8) {
            memcpy((double *)values + i, &bits, sizeof(double));
        } else if (dtype == PLAIN_F4) {
            uint32_t b32 = (uint32_t)bits;
            float x;
            memcpy(&x, &b32, sizeof x);
            ((double *)values)[i] = x;
        } else if (dtype == PLAIN_I4 && (bits & 0x80000000u)) {
            ((uint64_t *)values)[i] = bits | 0xFFFFFFFF00000000u;
        } else {
            ((uint64_t *)values)[i] = bits;
        }
    }
}

struct plain_reader {
    FILE *f;
    char *path;
    size_t itemsize;
    size_t done; /* elements read so far */
    plain_t info;
};

/* Everything after the file is open: header and, for a regular file, the
 * size check. A pipe has no size to check: a short one shows as a
 * truncated file when a read passes its end. */
static trine_status_t npy_reader_start(plain_reader_t *r, trine_err_t *err)
{
    struct stat sb;
    if (fstat(fileno(r->f), &sb) != 0) {
        return trine_err_set(err, TRINE_EIO, "%s: %s", r->path, strerror(errno));
    }
    bool sized = S_ISREG(sb.st_mode);
    if (!sized && !S_ISFIFO(sb.st_mode)) {
        return trine_err_set(err, TRINE_EIO, "%s: not a regular file or a pipe", r->path);
    }
    npy_header_t h = {.ndim = 0};
    const npy_type_t *type = NULL;
    size_t data_size = 0, count = 0;
    trine_status_t st = npy_read_header(r->f, r->path, sized ? (size_t)sb.st_size : SIZE_MAX, &h,
                                        &data_size, err);
    if (st == TRINE_OK) {
        st = npy_check_header(r->path, &h, &type, &count, err);
    }
    if (st != TRINE_OK) {
        return st;
    }
    /* count * 8 fits size_t (checked above), so count * itemsize does too. */
    if (sized && count * type->itemsize != data_size) {
        return trine_err_set(err, TRINE_EFORMAT,
                             "%s: header declares %zu elements (%zu bytes) but the file holds %zu "
                             "bytes of data",
                             r->path, count, count * type->itemsize, data_size);
    }
    r->itemsize = type->itemsize;
    r->info = (plain_t){.dtype = type->dtype, .ndim = h.ndim, .count = count};
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) {
        r->info.shape[i] = i < h.ndim ? h.shape[i] : 1;
    }
    return TRINE_OK;
}

trine_status_t plain_reader_open(plain_reader_t **out, const char *path, trine_err_t *err)
{
    *out = NULL;
    plain_reader_t *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory", path);
    }
    trine_status_t st = TRINE_OK;
    if (!(r->f = fopen(path, "rb"))) {
        st = trine_err_set(err, TRINE_EIO, "%s: %s", path, strerror(errno));
    } else {
        st = npy_reader_start(r, err);
    }
    if (st != TRINE_OK) {
        plain_reader_close(&r);
        return st;
    }
    *out = r;
    return TRINE_OK;
}

const plain_t *plain_reader_info(const plain_reader_t *r)
{
    return &r->info;
}

trine_status_t plain_reader_read(plain_reader_t *r, void *values, size_t n, trine_err_t *err)
{
    if (n > r->info.count - r->done) {
        return trine_err_set(err, TRINE_EINVAL,
                             "%s: %zu more elements asked for, but %zu of %zu are left", r->path,
                             n, r->info.count - r->done, r->info.count);
    }
    unsigned char raw[CHUNK_ELEMS * 8];
    size_t isz = plain_dtype_is_float(r->info.dtype) ? sizeof(double) : sizeof(uint64_t);
    for (size_t at = 0; at < n; at += CHUNK_ELEMS) {
        size_t k = n - at < CHUNK_ELEMS ? n - at : CHUNK_ELEMS;
        trine_status_t st = read_exact(r->f, r->path, raw, k * r->itemsize, "inside the data", err);
        if (st != TRINE_OK) {
            return st;
        }
        npy_decode(r->info.dtype, (unsigned char *)values + at * isz, raw, k, r->itemsize);
    }
    r->done += n;
    return TRINE_OK;
}

void plain_reader_close(plain_reader_t **r)
{
    if (!r || !*r) {
        return;
    }
    if ((*r)->f) {
        fclose((*r)->f); /* read-only: a failing close loses nothing */
    }
    free((*r)->path);
    free(*r);
    *r = NULL;
}

trine_status_t plain_read_npy(plain_t **out, const char *path, trine_err_t *err)
{
    if (!out || !path) {
        return trine_err_set(err, TRINE_EINVAL, "plain_read_npy: out and path must not be NULL");
    }
    *out = NULL;
    plain_reader_t *r;
    trine_status_t st = plain_reader_open(&r, path, err);
    if (st != TRINE_OK) {
        return st;
    }
    const plain_t *info = plain_reader_info(r);
    plain_t *p = plain_new(info->dtype, info->ndim, info->shape, info->count);
    if (p && plain_dtype_is_float(p->dtype)) {
        p->real = malloc(p->count * sizeof *p->real);
    } else if (p) {
        p->ints = malloc(p->count * sizeof *p->ints);
    }
    if (!p || !(p->real || p->ints)) {
        st = trine_err_set(err, TRINE_ENOMEM, "%s: out of memory for %zu elements", path,
                           info->count);
    } else {
        st = plain_reader_read(r, p->real ? (void *)p->real : (void *)p->ints, p->count, err);
    }
    plain_reader_close(&r);
    if (st != TRINE_OK) {
        plain_destroy(&p);
        return st;
    }
    *out = p;
    return TRINE_OK;
}

/* ---- .npy writer ---- */

/* Formats a version 1.0 preamble and header padded so that the data starts
 * at a multiple of NPY_ALIGN, as NumPy does; returns its length. */
static size_t npy_format_header(char *buf, size_t cap, const char *descr, int ndim,
                                const size_t *shape)
{
    char dims[TENSOR_MAX_DIMS * 24 + 4] = "(";
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        n += (size_t)snprintf(dims + n, sizeof dims - n, i + 1 < ndim ? "%zu, " : "%zu", shape[i]);
    }
    snprintf(dims + n, sizeof dims - n, ndim == 1 ? ",)" : ")");
    size_t pre = NPY_MAGIC_LEN + 4;
    size_t len = pre + (size_t)snprintf(buf + pre, cap - pre,
                                        "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                                        descr, dims);
    size_t total = (len + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    memset(buf + len, ' ', total - 1 - len);
    buf[total - 1] = '\n';
    memcpy(buf, NPY_MAGIC "\x01\x00", NPY_MAGIC_LEN + 2);
    buf[NPY_MAGIC_LEN + 2] = (char)((total - pre) & 0xFF);
    buf[NPY_MAGIC_LEN + 3] = (char)((total - pre) >> 8);
    return total;
}

struct plain_writer {
    FILE *f;
    char *path;
    plain_dtype_t dtype;
    size_t count, done; /* elements declared, written */
    bool failed;
    bool regular; /* a regular file, which a failure removes (never /dev/full) */
};

/* Opens path to receive revealed values, which are secrets: a new file is
 * made mode 0600, a symlink planted at path is refused, not followed, and
 * an existing file is written only if it is the caller's own, made 0600
 * before it is truncated; a FIFO or a device (/dev/stdout) is written as
 * it is (*regular false). -1 with errno set, and *why for a refusal of
 * our own. */
static int plain_open_private(const char *path, bool *regular, const char **why)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == ELOOP)
            *why = "is a symbolic link; not written through it";
        return -1;
    }
    struct stat sb;
    bool ok = fstat(fd, &sb) == 0;
    *regular = ok && S_ISREG(sb.st_mode);
    if (*regular && sb.st_uid != geteuid()) {
        *why = "belongs to another user; not written (it could read what is written)";
        ok = false;
    } else if (*regular) {
        ok = (!(sb.st_mode & 077) || fchmod(fd, 0600) == 0) && ftruncate(fd, 0) == 0;
    }
    if (!ok) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

trine_status_t plain_writer_open(plain_writer_t **out, const char *path, plain_dtype_t dtype,
                                 int ndim, const size_t *shape, trine_err_t *err)
{
    *out = NULL;
    if (!path || !shape) {
        return trine_err_set(err, TRINE_EINVAL, "plain_write_npy: path and shape must not be NULL");
    }
    if (dtype != PLAIN_F8 && dtype != PLAIN_I8 && dtype != PLAIN_U8) {
        return trine_err_set(err, TRINE_EINVAL,
                             "%s: cannot write dtype '%s'; only <f8, <i8 and <u8", path,
                             plain_dtype_name(dtype));
    }
    size_t count;
    if (tensor_shape_check(ndim, shape, &count) != TRINE_OK) {
        return trine_err_set(err, TRINE_EINVAL,
                             "%s: invalid shape: need 1 to %d extents, each at least 1, and a "
                             "count that fits memory",
                             path, TENSOR_MAX_DIMS);
    }
    plain_writer_t *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return trine_err_set(err, TRINE_ENOMEM, "%s: out of memory", path);
    }
    w->dtype = dtype;
    w->count = count;
    char header[256];
    size_t header_len =
        npy_format_header(header, sizeof header, plain_dtype_name(dtype), ndim, shape);
    const char *why = NULL;
    int fd = plain_open_private(path, &w->regular, &why);
    w->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!w->f) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        free(w->path);
        free(w);
        return trine_err_set(err, TRINE_EIO, "%s: %s", path, why ? why : strerror(saved));
    }
    *out = w;
    if (fwrite(header, 1, header_len, w->f) != header_len) {
        w->failed = true;
        return trine_err_set(err, TRINE_EIO, "%s: %s", path, strerror(errno));
    }
    return TRINE_OK;
}

trine_status_t plain_writer_write(plain_writer_t *w, const void *data, size_t n, trine_err_t *err)
{
    if (n > w->count - w->done) {
        w->failed = true;
        return trine_err_set(err, TRINE_EINVAL, "%s: %zu more values than the shape's %zu",
                             w->path, n - (w->count - w->done), w->count);
    }
    unsigned char raw[CHUNK_ELEMS * 8];
    for (size_t at = 0; at < n; at += CHUNK_ELEMS) {
        size_t k = n - at < CHUNK_ELEMS ? n - at : CHUNK_ELEMS;
        for (size_t i = 0; i < k; i++) {
            uint64_t bits;
            if (w->dtype == PLAIN_F8) {
                memcpy(&bits, (const double *)data + at + i, sizeof bits);
            } else if (w->dtype == PLAIN_I8) {
                bits = (uint64_t)((const int64_t *)data)[at + i];
            } else {
                bits = ((const uint64_t *)data)[at + i];
            }
            store_le64(raw + 8 * i, bits);
        }
        if (fwrite(raw, 8, k, w->f) != k) {
            w->failed = true;
            return trine_err_set(err, TRINE_EIO, "%s: %s", w->path, strerror(errno));
        }
    }
    w->done += n;
    return TRINE_OK;
}

trine_status_t plain_writer_close(plain_writer_t **wp, trine_err_t *err)
{
    if (!wp || !*wp) {
        return TRINE_OK;
    }
    plain_writer_t *w = *wp;
    trine_status_t st = TRINE_OK;
    /* Buffered data reaches the disk at fclose, so its failure counts too. */
    if (fclose(w->f) != 0 && !w->failed) {
        st = trine_err_set(err, TRINE_EIO, "%s: %s", w->path, strerror(errno));
    } else if (!w->failed && w->done < w->count) {
        st = trine_err_set(err, TRINE_EINVAL, "%s: %zu of %zu values written", w->path, w->done,
                           w->count);
    } else if (w->failed) {
        st = TRINE_EIO; /* err says why already */
    }
    if (st != TRINE_OK && w->regular) {
        unlink(w->path); /* no truncated array left behind */
    }
    free(w->path);
    free(w);
    *wp = NULL;
    return st;
}

trine_status_t plain_write_npy(const char *path, plain_dtype_t dtype, int ndim, const size_t *shape,
                               const void *data, trine_err_t *err)
{
    if (!data) {
        return trine_err_set(err, TRINE_EINVAL,
                             "plain_write_npy: path, shape and data must not be NULL");
    }
    plain_writer_t *w;
    trine_status_t st = plain_writer_open(&w, path, dtype, ndim, shape, err);
    if (st == TRINE_OK) {
        st = plain_writer_write(w, data, w->count, err);
    }
    trine_status_t closed = plain_writer_close(&w, st == TRINE_OK ? err : NULL);
    return st != TRINE_OK ? st : closed;
}

/* ---- .csv reader ---- */

/* Values collected so far: integers while every field has been one, then
 * doubles from the first field that is not. */
typedef struct {
    uint64_t *ints;
    double *real;
    size_t count;
    size_t cap;
} csv_values_t;

typedef struct {
    const char *path;
    size_t line;
    size_t rows;
    size_t cols; /* fields in the first data row (or the header); 0 before it */
    bool header; /* the first row named the columns */
    csv_values_t values;
    trine_err_t *err;
} csv_reader_t;

static trine_status_t csv_reserve_one(csv_reader_t *r)
{
    csv_values_t *v = &r->values;
    if (v->count < v->cap) {
        return TRINE_OK;
    }
    if (v->cap > SIZE_MAX / 2 / sizeof(uint64_t)) {
        return trine_err_set(r->err, TRINE_ENOMEM, "%s: too many values", r->path);
    }
    size_t cap = v->cap ? 2 * v->cap : 64;
    if (v->real) {
        double *grown = realloc(v->real, cap * sizeof *grown);
        if (!grown) {
            return trine_err_set(r->err, TRINE_ENOMEM, "%s: out of memory", r->path);
        }
        v->real = grown;
    } else {
        uint64_t *grown = realloc(v->ints, cap * sizeof *grown);
        if (!grown) {
            return trine_err_set(r->err, TRINE_ENOMEM, "%s: out of memory", r->path);
        }
        v->ints = grown;
    }
    v->cap = cap;
    return TRINE_OK;
}

/* Switches the collected values to doubles; int64 to double rounds exactly
 * as strtod would have rounded the same digits. */
static trine_status_t csv_switch_to_real(csv_reader_t *r)
{
    csv_values_t *v = &r->values;
    v->real = malloc(v->cap * sizeof *v->real);
    if (!v->real) {
        return trine_err_set(r->err, TRINE_ENOMEM, "%s: out of memory", r->path);
    }
    for (size_t i = 0; i < v->count; i++) {
        v->real[i] = (double)(int64_t)v->ints[i];
    }
    free(v->ints);
    v->ints = NULL;
    return TRINE_OK;
}

/* An optional sign and digits only; anything else goes to strtod. */
static bool csv_is_integer(const char *s)
{
    s += *s == '+' || *s == '-';
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

/* Parses one trimmed field (numbered from 1 for messages) and appends it.
 * Integer fields are range-checked even once the values are doubles, so
 * whether a file is accepted does not depend on the order of its rows. */
static trine_status_t csv_add_field(csv_reader_t *r, const char *s, size_t index)
{
    bool integer = csv_is_integer(s);
    trine_status_t st = csv_reserve_one(r);
    if (st == TRINE_OK && !r->values.real && !integer) {
        st = csv_switch_to_real(r);
    }
    if (st != TRINE_OK) {
        return st;
    }
    char *end;
    errno = 0;
    if (integer) {
        long long x = strtoll(s, &end, 10);
        if (errno == ERANGE) {
            return trine_err_set(r->err, TRINE_ERANGE,
                                 "%s:%zu: field %zu '%.40s' does not fit a 64-bit integer", r->path,
                                 r->line, index, s);
        }
        if (r->values.real) {
            r->values.real[r->values.count++] = (double)x;
        } else {
            r->values.ints[r->values.count++] = (uint64_t)x;
        }
        return TRINE_OK;
    }
    double x = strtod(s, &end);
    if (end == s || *end) {
        return trine_err_set(r->err, TRINE_EFORMAT, "%s:%zu: field %zu '%.40s' is not a number",
                             r->path, r->line, index, s);
    }
    /* Underflow sets ERANGE too, but then x is a fine approximation. */
    if (errno == ERANGE && fabs(x) == HUGE_VAL) {
        return trine_err_set(r->err, TRINE_ERANGE, "%s:%zu: field %zu '%.40s' is out of range",
                             r->path, r->line, index, s);
    }
    r->values.real[r->values.count++] = x;
    return TRINE_OK;
}

static char *csv_trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
    return s;
}

/* True when every field of the line is a name (a letter, '_' or '"'
 * first) and none a number ("nan", "inf"): a header row. */
static bool csv_is_header(const char *line)
{
    for (const char *field = line;;) {
        size_t n = strcspn(field, ",");
        char buf[64];
        size_t len = n < sizeof buf - 1 ? n : sizeof buf - 1;
        memcpy(buf, field, len);
        buf[len] = '\0';
        const char *s = csv_trim(buf);
        char *end;
        strtod(s, &end);
        bool named = isalpha((unsigned char)*s) || *s == '_' || *s == '"';
        if (!named || (end != s && !*csv_trim(end))) {
            return false;
        }
        if (!field[n]) {
            return true;
        }
        field += n + 1;
    }
}

/* Splits a data line into fields in place and appends their values; a
 * first row without a single number is the header, skipped. */
static trine_status_t csv_add_row(csv_reader_t *r, char *line)
{
    size_t fields = 1;
    for (const char *s = line; (s = strchr(s, ',')) != NULL; s++) {
        fields++;
    }
    if (!r->cols && !r->header && csv_is_header(line)) {
        r->header = true;
        r->cols = fields;
        return TRINE_OK;
    }
    if (r->cols && fields != r->cols) {
        return trine_err_set(r->err, TRINE_EFORMAT, "%s:%zu: %zu fields, expected %zu", r->path,
                             r->line, fields, r->cols);
    }
    char *field = line;
    for (size_t i = 1;; i++) {
        char *comma = strchr(field, ',');
        if (comma) {
            *comma = '\0';
        }
        trine_status_t st = csv_add_field(r, csv_trim(field), i);
        if (st != TRINE_OK) {
            return st;
        }
        if (!comma) {
            break;
        }
        field = comma + 1;
    }
    r->cols = fields;
    r->rows++;
    return TRINE_OK;
}

static trine_status_t csv_add_line(csv_reader_t *r, char *line, size_t len)
{
    if (strlen(line) != len) {
        return trine_err_set(r->err, TRINE_EFORMAT, "%s:%zu: line contains a NUL byte", r->path,
                             r->line);
    }
    /* Spreadsheets often start UTF-8 CSV files with a byte order mark. */
    if (r->line == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3;
        len -= 3;
    }
    if (len > 0 && line[len - 1] == '\n') {
        line[--len] = '\0';
    }
    if (len > 0 && line[len - 1] == '\r') {
        line[--len] = '\0';
    }
    const char *start = line + strspn(line, " \t");
    if (*start == '\0' || *start == '#') {
        return TRINE_OK;
    }
    return csv_add_row(r, line);
}

static trine_status_t csv_read_lines(FILE *f, csv_reader_t *r)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    trine_status_t st = TRINE_OK;
    while (st == TRINE_OK && (n = getline(&line, &cap, f)) != -1) {
        r->line++;
        st = csv_add_line(r, line, (size_t)n);
    }
    if (st == TRINE_OK && ferror(f)) {
        st = trine_err_set(r->err, TRINE_EIO, "%s: %s", r->path, strerror(errno));
    }
    free(line);
    return st;
}

trine_status_t plain_read_csv(plain_t **out, const char *path, trine_err_t *err)
{
    if (!out || !path) {
        return trine_err_set(err, TRINE_EINVAL, "plain_read_csv: out and path must not be NULL");
    }
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        return trine_err_set(err, TRINE_EIO, "%s: %s", path, strerror(errno));
    }
    csv_reader_t r = {.path = path, .err = err};
    trine_status_t st = csv_read_lines(f, &r);
    fclose(f); /* read-only: a failing close loses nothing */
    if (st == TRINE_OK && r.rows == 0) {
        st = trine_err_set(err, TRINE_EFORMAT, "%s: no data rows", path);
    }
    plain_t *p = NULL;
    if (st == TRINE_OK) {
        size_t shape[2] = {r.rows, r.cols};
        p = plain_new(r.values.real ? PLAIN_F8 : PLAIN_I8, 2, shape, r.values.count);
        if (!p) {
            st = trine_err_set(err, TRINE_ENOMEM, "%s: out of memory", path);
        }
    }
    if (st != TRINE_OK) {
        free(r.values.ints);
        free(r.values.real);
        return st;
    }
    p->ints = r.values.ints;
    p->real = r.values.real;
    *out = p;
    return TRINE_OK;
}

/* ---- dispatch ---- */

trine_status_t plain_read(plain_t **out, const char *path, trine_err_t *err)
{
    if (!out || !path) {
        return trine_err_set(err, TRINE_EINVAL, "plain_read: out and path must not be NULL");
    }
    *out = NULL;
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base : path, '.');
    if (dot && strcasecmp(dot, ".npy") == 0) {
        return plain_read_npy(out, path, err);
    }
    if (dot && strcasecmp(dot, ".csv") == 0) {
        return plain_read_csv(out, path, err);
    }
    return trine_err_set(err, TRINE_EUNSUPPORTED, "%s: unknown file type, expected .npy or .csv",
                         path);
}

trine_status_t plain_file_create(const char *path, char *tmp, size_t cap, FILE **out,
                                 trine_err_t *err)
{
    *out = NULL;
    if ((size_t)snprintf(tmp, cap, "%s.XXXXXX", path) >= cap) {
        return trine_err_set(err, TRINE_ERANGE, "%s: path too long", path);
    }
    int fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
    if (fd < 0 || !(*out = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return TRINE_OK;
}

trine_status_t plain_file_commit(FILE **f, const char *tmp, const char *path, bool ok,
                                 trine_err_t *err)
{
    if (!*f) {
        return TRINE_OK;
    }
    ok = ok && fflush(*f) == 0 && fsync(fileno(*f)) == 0;
    int e = ok ? 0 : errno;
    ok = fclose(*f) == 0 && ok;
    *f = NULL;
    if (ok && rename(tmp, path) != 0) {
        ok = false;
    }
    if (!ok) {
        e = e ? e : errno;
        unlink(tmp);
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return TRINE_OK;
}
