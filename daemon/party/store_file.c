/* store_file.c — one tensor, one file, written atomically (see store_file.h). */
#include "daemon/party/store_file.h"

#include "tensor/fixed.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "share files are little-endian and written straight from memory"
#endif

#define STORE_FILE_MAGIC      "trnshare"
#define STORE_FILE_HEADER     160
#define STORE_FILE_SUM        crypto_generichash_BYTES /* 32 */
#define STORE_FILE_OFF_NAME   16
#define STORE_FILE_OFF_OWNER  80
#define STORE_FILE_OFF_GRANTS 120
#define STORE_FILE_OFF_SHAPE  128
#define STORE_FILE_V1         1  /* grants were bare grantee keys */
#define STORE_FILE_V1_GRANT   40 /* bytes of a version 1 grant */

_Static_assert(WIRE_NAME_MAX == 64, "the header holds a name of 64 bytes");
_Static_assert(KEYS_Z85_LEN == 40, "the header holds keys of 40 characters");
_Static_assert(TENSOR_MAX_DIMS == 4, "the header holds four extents");
_Static_assert(STORE_FILE_OFF_SHAPE + 8 * TENSOR_MAX_DIMS == STORE_FILE_HEADER, "header layout");
_Static_assert(KEYS_Z85_LEN + 8 + WIRE_PROGRAM_HASH_BYTES + WIRE_SLOT_MAX + KEYS_Z85_LEN ==
                   STORE_FILE_GRANT_BYTES,
               "approval layout");

void store_record_clear(store_record_t *r)
{
    tensor_destroy(&r->share); /* wipes */
    free(r->grants);
    r->grants = NULL;
    r->ngrants = 0;
}

static void store_file_put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

static uint32_t store_file_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Writes all of buf and adds it to the checksum; false with errno set. */
static bool store_file_out(int fd, crypto_generichash_state *h, const void *buf, size_t len)
{
    if (h)
        crypto_generichash_update(h, buf, len);
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads exactly len bytes and adds them to the checksum; false at the end
 * of the file or on an error (errno 0 for the end). */
static bool store_file_in(int fd, crypto_generichash_state *h, void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t want = len;
    while (want) {
        ssize_t n = read(fd, p, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return false;
        }
        p += n;
        want -= (size_t)n;
    }
    if (h)
        crypto_generichash_update(h, buf, len);
    return true;
}

static void store_file_pack_grant(uint8_t out[STORE_FILE_GRANT_BYTES], const wire_approval_t *a)
{
    memset(out, 0, STORE_FILE_GRANT_BYTES);
    memcpy(out, a->grantee.z85, KEYS_Z85_LEN);
    out[40] = a->any;
    memcpy(out + 48, a->program, WIRE_PROGRAM_HASH_BYTES);
    memcpy(out + 80, a->slot, strnlen(a->slot, WIRE_SLOT_MAX - 1));
    memcpy(out + 144, a->outputs_to.z85, strnlen(a->outputs_to.z85, KEYS_Z85_LEN));
}

/* Fills *a from a packed approval, checking every field. */
static bool store_file_unpack_grant(wire_approval_t *a, const uint8_t in[STORE_FILE_GRANT_BYTES])
{
    static const uint8_t zero[7];
    memset(a, 0, sizeof *a);
    memcpy(a->grantee.z85, in, KEYS_Z85_LEN);
    a->any = in[40] == 1;
    memcpy(a->program, in + 48, WIRE_PROGRAM_HASH_BYTES);
    memcpy(a->slot, in + 80, WIRE_SLOT_MAX);
    memcpy(a->outputs_to.z85, in + 144, KEYS_Z85_LEN);
    size_t to = strnlen(a->outputs_to.z85, KEYS_Z85_LEN + 1);
    return strnlen(a->grantee.z85, KEYS_Z85_LEN + 1) == KEYS_Z85_LEN && in[40] <= 1 &&
           !memcmp(in + 41, zero, sizeof zero) && a->slot[WIRE_SLOT_MAX - 1] == '\0' &&
           (to == 0 || to == KEYS_Z85_LEN) && (a->any == !a->slot[0]) &&
           (!a->slot[0] || wire_name_valid(a->slot));
}

static trine_status_t store_file_sync_dir(const char *dir, trine_err_t *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        trine_status_t st = trine_err_set(err, TRINE_EIO, "cannot sync the store folder %s: %s",
                                          dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    close(fd);
    return TRINE_OK;
}

trine_status_t store_file_write(const char *dir, const store_record_t *r, trine_err_t *err)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s" STORE_FILE_SUFFIX, dir, r->name) >=
            sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/" STORE_FILE_TMP_PREFIX "%s.XXXXXX", dir, r->name) >=
            sizeof tmp)
        return trine_err_set(err, TRINE_EIO, "store folder path %s is too long", dir);
    uint8_t head[STORE_FILE_HEADER] = STORE_FILE_MAGIC;
    size_t name_len = strlen(r->name);
    store_file_put32(head + 8, STORE_FILE_VERSION);
    head[12] = (uint8_t)r->kind;
    head[13] = (uint8_t)r->frac;
    head[14] = (uint8_t)r->share->ndim;
    head[15] = (uint8_t)name_len;
    memcpy(head + STORE_FILE_OFF_NAME, r->name, name_len);
    memcpy(head + STORE_FILE_OFF_OWNER, r->owner.z85, KEYS_Z85_LEN);
    store_file_put32(head + STORE_FILE_OFF_GRANTS, (uint32_t)r->ngrants);
    for (int d = 0; d < r->share->ndim; d++) {
        uint64_t e = r->share->shape[d];
        memcpy(head + STORE_FILE_OFF_SHAPE + 8 * d, &e, 8);
    }

    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        return trine_err_set(err, TRINE_EIO, "cannot create a file in the store folder %s: %s", dir,
                             strerror(errno));
    crypto_generichash_state h;
    uint8_t sum[STORE_FILE_SUM];
    crypto_generichash_init(&h, NULL, 0, sizeof sum);
    bool ok = store_file_out(fd, &h, head, sizeof head);
    for (size_t i = 0; ok && i < r->ngrants; i++) {
        uint8_t g[STORE_FILE_GRANT_BYTES];
        store_file_pack_grant(g, &r->grants[i]);
        ok = store_file_out(fd, &h, g, sizeof g);
    }
    ok = ok && store_file_out(fd, &h, r->share->data, r->share->size * sizeof(uint64_t));
    crypto_generichash_final(&h, sum, sizeof sum);
    ok = ok && store_file_out(fd, NULL, sum, sizeof sum) && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        return trine_err_set(err, TRINE_EIO, "cannot write %s: %s", path, strerror(saved));
    }
    return store_file_sync_dir(dir, err);
}

trine_status_t store_file_remove(const char *dir, const char *name, trine_err_t *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s" STORE_FILE_SUFFIX, dir, name) >= sizeof path)
        return trine_err_set(err, TRINE_EIO, "store folder path %s is too long", dir);
    if (unlink(path) != 0 && errno != ENOENT)
        return trine_err_set(err, TRINE_EIO, "cannot remove %s: %s", path, strerror(errno));
    return store_file_sync_dir(dir, err);
}

bool store_file_is_tmp(const char *file)
{
    return strncmp(file, STORE_FILE_TMP_PREFIX, strlen(STORE_FILE_TMP_PREFIX)) == 0;
}

/* Checks the header's fields and fills out's name, owner, kind, frac and
 * the shape into shape/ndim; the reason in err. */
static trine_status_t store_file_header(store_record_t *out, int *ndim, size_t *shape,
                                        const uint8_t *head, const char *file, trine_err_t *err)
{
    size_t name_len = head[15];
    if (name_len < 1 || name_len > WIRE_NAME_MAX)
        return trine_err_set(err, TRINE_EFORMAT, "bad name length %zu", name_len);
    memcpy(out->name, head + STORE_FILE_OFF_NAME, name_len);
    out->name[name_len] = '\0';
    if (strlen(out->name) != name_len || !wire_name_valid(out->name))
        return trine_err_set(err, TRINE_EFORMAT, "the name inside is not a valid tensor name");
    size_t stem = strlen(file) - strlen(STORE_FILE_SUFFIX);
    if (stem != name_len || memcmp(file, out->name, stem) != 0)
        return trine_err_set(err, TRINE_EFORMAT,
                             "it holds tensor '%s', not the one its file name says", out->name);
    memcpy(out->owner.z85, head + STORE_FILE_OFF_OWNER, KEYS_Z85_LEN);
    out->owner.z85[KEYS_Z85_LEN] = '\0';
    if (strlen(out->owner.z85) != KEYS_Z85_LEN)
        return trine_err_set(err, TRINE_EFORMAT, "bad owner key");
    out->kind = (wire_kind_t)head[12];
    out->frac = head[13];
    if (!(out->kind == WIRE_KIND_INT && out->frac == 0) &&
        !(out->kind == WIRE_KIND_FIXED && out->frac <= FIXED_FRAC_BITS_MAX))
        return trine_err_set(err, TRINE_EFORMAT, "bad kind %u or fractional bits %u", head[12],
                             head[13]);
    *ndim = head[14];
    for (int d = 0; d < TENSOR_MAX_DIMS; d++) {
        uint64_t e;
        memcpy(&e, head + STORE_FILE_OFF_SHAPE + 8 * d, 8);
        if ((d >= *ndim && e != 0) || e > SIZE_MAX)
            return trine_err_set(err, TRINE_EFORMAT, "bad shape");
        shape[d] = (size_t)e;
    }
    size_t count;
    if (tensor_shape_check(*ndim, shape, &count) != TRINE_OK)
        return trine_err_set(err, TRINE_EFORMAT, "bad shape");
    if (store_file_get32(head + STORE_FILE_OFF_GRANTS) > STORE_FILE_GRANTS_MAX ||
        store_file_get32(head + STORE_FILE_OFF_GRANTS + 4) != 0)
        return trine_err_set(err, TRINE_EFORMAT, "bad grant count");
    return TRINE_OK;
}

/* Reads the approvals (dropping a version 1 file's) and the share,
 * checking the size and the checksum. */
static trine_status_t store_file_body(store_record_t *out, int fd, crypto_generichash_state *h,
                                      int ndim, const size_t *shape, uint64_t file_size,
                                      uint32_t version, uint32_t ngrants, uint64_t max_bytes,
                                      trine_err_t *err)
{
    size_t grant_bytes = version == STORE_FILE_V1 ? STORE_FILE_V1_GRANT : STORE_FILE_GRANT_BYTES;
    size_t count;
    if (tensor_shape_check(ndim, shape, &count) != TRINE_OK)
        return trine_err_set(err, TRINE_EFORMAT, "bad shape");
    uint64_t bytes = (uint64_t)count * sizeof(uint64_t);
    uint64_t want = STORE_FILE_HEADER + (uint64_t)ngrants * grant_bytes + bytes + STORE_FILE_SUM;
    if (file_size != want)
        return trine_err_set(err, TRINE_EFORMAT,
                             "%llu bytes where its header makes %llu: truncated or corrupt",
                             (unsigned long long)file_size, (unsigned long long)want);
    if (bytes > max_bytes)
        return trine_err_set(err, TRINE_ELIMIT, "its share of %llu bytes is past the memory limit",
                             (unsigned long long)bytes);
    if (ngrants && version != STORE_FILE_V1 && !(out->grants = calloc(ngrants, sizeof *out->grants)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory");
    bool grants_ok = true;
    for (uint32_t i = 0; i < ngrants; i++) {
        uint8_t g[STORE_FILE_GRANT_BYTES];
        if (!store_file_in(fd, h, g, grant_bytes))
            return trine_err_set(err, TRINE_EIO, "read failed: %s", strerror(errno));
        if (version != STORE_FILE_V1)
            grants_ok &= store_file_unpack_grant(&out->grants[out->ngrants++], g);
    }
    if (!(out->share = tensor_new(ndim, shape)))
        return trine_err_set(err, TRINE_ENOMEM, "out of memory for %llu bytes",
                             (unsigned long long)bytes);
    uint8_t sum[STORE_FILE_SUM], got[STORE_FILE_SUM];
    if (!store_file_in(fd, h, out->share->data, bytes) || !store_file_in(fd, NULL, sum, sizeof sum))
        return trine_err_set(err, TRINE_EIO, "read failed: %s", strerror(errno));
    crypto_generichash_final(h, got, sizeof got);
    if (sodium_memcmp(sum, got, sizeof sum) != 0)
        return trine_err_set(err, TRINE_EFORMAT, "checksum mismatch: the file is corrupt");
    if (!grants_ok)
        return trine_err_set(err, TRINE_EFORMAT, "a bad approval record");
    return TRINE_OK;
}

trine_status_t store_file_read(store_record_t *out, const char *dir, const char *file,
                               uint64_t max_bytes, size_t *dropped, trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    *dropped = 0;
    char path[PATH_MAX];
    size_t flen = strlen(file), slen = strlen(STORE_FILE_SUFFIX);
    if (flen <= slen || strcmp(file + flen - slen, STORE_FILE_SUFFIX) != 0)
        return trine_err_set(err, TRINE_EFORMAT,
                             "not a share file (no " STORE_FILE_SUFFIX " suffix)");
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return trine_err_set(err, TRINE_EIO, "path too long");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        trine_status_t st = trine_err_set(err, TRINE_EIO, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    uint8_t head[STORE_FILE_HEADER];
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, STORE_FILE_SUM);
    trine_status_t st;
    int ndim = 0;
    size_t shape[TENSOR_MAX_DIMS];
    if (!S_ISREG(sb.st_mode))
        st = trine_err_set(err, TRINE_EFORMAT, "not a regular file");
    else if ((uint64_t)sb.st_size < STORE_FILE_HEADER + STORE_FILE_SUM ||
             !store_file_in(fd, &h, head, sizeof head))
        st = trine_err_set(err, TRINE_EFORMAT, "truncated: %lld bytes, fewer than a header",
                           (long long)sb.st_size);
    else if (memcmp(head, STORE_FILE_MAGIC, 8) != 0)
        st = trine_err_set(err, TRINE_EFORMAT, "not a trine share file (bad magic)");
    else if (store_file_get32(head + 8) != STORE_FILE_VERSION &&
             store_file_get32(head + 8) != STORE_FILE_V1)
        st = trine_err_set(err, TRINE_EUNSUPPORTED,
                           "format version %u; this trined reads versions 1 and %d",
                           store_file_get32(head + 8), STORE_FILE_VERSION);
    else if ((st = store_file_header(out, &ndim, shape, head, file, err)) == TRINE_OK)
        st = store_file_body(out, fd, &h, ndim, shape, (uint64_t)sb.st_size,
                             store_file_get32(head + 8),
                             store_file_get32(head + STORE_FILE_OFF_GRANTS), max_bytes, err);
    if (st == TRINE_OK && store_file_get32(head + 8) == STORE_FILE_V1)
        *dropped = store_file_get32(head + STORE_FILE_OFF_GRANTS);
    close(fd);
    if (st != TRINE_OK)
        store_record_clear(out);
    return st;
}
