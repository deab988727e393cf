/* check_plain.c — tests for tensor/plain.c, the .npy and .csv reader/writer.
 *
 * Each test case writes its files into its own mkdtemp directory, made and
 * removed by an unchecked fixture so that cleanup also happens after a
 * failing test (Check skips a checked teardown then). Malformed inputs are
 * built byte by byte so that each fault sits exactly where the test says;
 * each must fail with the right status, leave *out NULL and name the file
 * in its message. Huge declared shapes are expected to fail with
 * TRINE_EFORMAT: an attempt to allocate them would surface as TRINE_ENOMEM
 * (or as an AddressSanitizer report) instead.
 */
#include "check_util.h"

#include "tensor/plain.h"

#include <check.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH_CAP  512
#define IMAGE_CAP 4096

static char tmp_dir[64];

static void make_tmp_dir(void)
{
    strcpy(tmp_dir, "/tmp/check_plain.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

/* Tests create flat files and at most empty directories, so one level of
 * cleanup is enough. */
static void remove_tmp_dir(void)
{
    DIR *d = opendir(tmp_dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    char path[PATH_CAP];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        ck_assert_int_eq(remove(path), 0);
    }
    closedir(d);
    ck_assert_int_eq(rmdir(tmp_dir), 0);
}

static char *tmp_path(char *buf, const char *name)
{
    snprintf(buf, PATH_CAP, "%s/%s", tmp_dir, name);
    return buf;
}

static void write_bytes(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* Builds a .npy image the way NumPy lays it out: magic, version, header
 * length (2 bytes for v1, 4 for v2/v3), the dict padded with spaces and a
 * newline to a multiple of 64, then the data. Returns its length. */
static size_t npy_image(unsigned char *buf, int major, const char *dict, const void *data,
                        size_t data_len)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t total = (pre + strlen(dict) + 1 + 63) / 64 * 64;
    size_t header_len = total - pre;
    ck_assert_uint_le(total + data_len, IMAGE_CAP);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) {
        buf[8 + i] = (unsigned char)(header_len >> (8 * i));
    }
    memset(buf + pre, ' ', header_len - 1);
    memcpy(buf + pre, dict, strlen(dict));
    buf[total - 1] = '\n';
    memcpy(buf + total, data, data_len);
    return total + data_len;
}

static void write_npy(const char *path, int major, const char *dict, const void *data,
                      size_t data_len)
{
    unsigned char image[IMAGE_CAP];
    write_bytes(path, image, npy_image(image, major, dict, data, data_len));
}

typedef trine_status_t (*reader_t)(plain_t **out, const char *path, trine_err_t *err);

/* The reader must fail with want, leave out NULL, and give a message that
 * starts with the path and contains needle. */
static void check_fails(reader_t reader, const char *path, trine_status_t want, const char *needle)
{
    plain_t sentinel;
    plain_t *out = &sentinel;
    trine_err_t err = {.code = TRINE_OK, .msg = ""};
    trine_status_t st = reader(&out, path, &err);
    ck_assert_msg(st == want, "status %s, want %s: %s", trine_strerror(st), trine_strerror(want),
                  err.msg);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(err.code, want);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "message lacks path: %s", err.msg);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
}

static plain_t *read_ok(reader_t reader, const char *path)
{
    plain_t *p = NULL;
    trine_err_t err = {.code = TRINE_OK, .msg = ""};
    trine_status_t st = reader(&p, path, &err);
    ck_assert_msg(st == TRINE_OK, "%s: %s", trine_strerror(st), err.msg);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void check_shape(const plain_t *p, plain_dtype_t dtype, int ndim, const size_t *shape)
{
    size_t count = 1;
    ck_assert_int_eq(p->dtype, dtype);
    ck_assert_int_eq(p->ndim, ndim);
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) {
        ck_assert_uint_eq(p->shape[i], i < ndim ? shape[i] : 1);
        count *= p->shape[i];
    }
    ck_assert_uint_eq(p->count, count);
    ck_assert(plain_dtype_is_float(dtype) ? p->real && !p->ints : p->ints && !p->real);
}

/* ---- round trips through the writer ---- */

static const size_t roundtrip_shapes[5][TENSOR_MAX_DIMS] = {
    {0}, {7}, {2, 5}, {2, 1, 3}, {2, 3, 1, 2},
};

/* The file the writer made must match NumPy's layout: v1.0, data aligned
 * to 64, header ending in '\n', 1-d shapes written as "(n,)". */
static void check_written_layout(const char *path, const char *shape_text, size_t count)
{
    unsigned char buf[IMAGE_CAP];
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_mem_eq(buf, "\x93NUMPY\x01\x00", 8);
    size_t data_at = 10 + (buf[8] | (size_t)buf[9] << 8);
    ck_assert_uint_eq(data_at % 64, 0);
    ck_assert_uint_eq(len, data_at + count * 8);
    ck_assert_int_eq(buf[data_at - 1], '\n');
    char header[IMAGE_CAP];
    memcpy(header, buf + 10, data_at - 10);
    header[data_at - 10] = '\0';
    ck_assert_msg(strstr(header, shape_text) != NULL, "header '%s' lacks '%s'", header, shape_text);
    ck_assert_ptr_nonnull(strstr(header, "'fortran_order': False"));
}

START_TEST(test_roundtrip_f8)
{
    const double edges[] = {0.0, -0.0, 1.5, -1e300, DBL_MIN / 4, DBL_MAX, -INFINITY, NAN, 3.25e-5};
    int ndim = _i;
    const size_t *shape = roundtrip_shapes[ndim];
    double values[32];
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        count *= shape[i];
    }
    for (size_t i = 0; i < count; i++) {
        values[i] = edges[i % 9] + (i >= 9 ? (double)i : 0.0);
    }
    char path[PATH_CAP];
    trine_err_t err;
    tmp_path(path, "f8.npy");
    ck_assert_int_eq(plain_write_npy(path, PLAIN_F8, ndim, shape, values, &err), TRINE_OK);
    check_written_layout(path, ndim == 1 ? "'shape': (7,)" : "'descr': '<f8'", count);
    plain_t *p = read_ok(plain_read_npy, path);
    check_shape(p, PLAIN_F8, ndim, shape);
    ck_assert_mem_eq(p->real, values, count * sizeof *values);
    plain_destroy(&p);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_roundtrip_i8)
{
    const int64_t edges[] = {0, -1, 1, INT64_MIN, INT64_MAX, -123456789012345, 42};
    int ndim = _i;
    const size_t *shape = roundtrip_shapes[ndim];
    int64_t values[32];
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        count *= shape[i];
    }
    for (size_t i = 0; i < count; i++) {
        values[i] = edges[i % 7] / (i >= 7 ? 2 : 1);
    }
    char path[PATH_CAP];
    trine_err_t err;
    tmp_path(path, "i8.npy");
    ck_assert_int_eq(plain_write_npy(path, PLAIN_I8, ndim, shape, values, &err), TRINE_OK);
    check_written_layout(path, ndim == 2 ? "'shape': (2, 5)" : "'descr': '<i8'", count);
    plain_t *p = read_ok(plain_read_npy, path);
    check_shape(p, PLAIN_I8, ndim, shape);
    for (size_t i = 0; i < count; i++) {
        ck_assert_uint_eq(p->ints[i], (uint64_t)values[i]);
    }
    plain_destroy(&p);
}
END_TEST

START_TEST(test_roundtrip_u8)
{
    int ndim = _i;
    const size_t *shape = roundtrip_shapes[ndim];
    uint64_t values[32];
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        count *= shape[i];
    }
    for (size_t i = 0; i < count; i++) {
        values[i] = UINT64_MAX - i * 0x0123456789ABCDEFu;
    }
    values[0] = 0;
    values[count - 1] = UINT64_C(1) << 63;
    char path[PATH_CAP];
    trine_err_t err;
    tmp_path(path, "u8.npy");
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, ndim, shape, values, &err), TRINE_OK);
    check_written_layout(path, ndim == 4 ? "'shape': (2, 3, 1, 2)" : "'descr': '<u8'", count);
    plain_t *p = read_ok(plain_read_npy, path);
    check_shape(p, PLAIN_U8, ndim, shape);
    ck_assert_mem_eq(p->ints, values, count * sizeof *values);
    plain_destroy(&p);
}
END_TEST

/* More elements than one conversion chunk inside plain.c. */
START_TEST(test_roundtrip_large)
{
    size_t shape[2] = {100, 123};
    size_t count = shape[0] * shape[1];
    uint64_t *values = malloc(count * sizeof *values);
    ck_assert_ptr_nonnull(values);
    for (size_t i = 0; i < count; i++) {
        values[i] = i * 0x9E3779B97F4A7C15u;
    }
    char path[PATH_CAP];
    trine_err_t err;
    tmp_path(path, "large.npy");
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, 2, shape, values, &err), TRINE_OK);
    plain_t *p = read_ok(plain_read, path);
    check_shape(p, PLAIN_U8, 2, shape);
    ck_assert_mem_eq(p->ints, values, count * sizeof *values);
    plain_destroy(&p);
    free(values);
}
END_TEST

START_TEST(test_write_rejects)
{
    char path[PATH_CAP];
    trine_err_t err;
    uint64_t data[4] = {0};
    size_t shape5[5] = {1, 1, 1, 1, 1};
    size_t zero[2] = {2, 0};
    tmp_path(path, "w.npy");
    ck_assert_int_eq(plain_write_npy(path, PLAIN_F4, 1, shape5, data, &err), TRINE_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_int_eq(plain_write_npy(path, PLAIN_I4, 1, shape5, data, &err), TRINE_EINVAL);
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U1, 1, shape5, data, &err), TRINE_EINVAL);
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, 0, shape5, data, &err), TRINE_EINVAL);
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, 5, shape5, data, &err), TRINE_EINVAL);
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, 2, zero, data, &err), TRINE_EINVAL);
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, 1, shape5, NULL, &err), TRINE_EINVAL);
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, 1, NULL, data, NULL), TRINE_EINVAL);
    ck_assert_int_eq(access(path, F_OK), -1); /* nothing was created */
}
END_TEST

START_TEST(test_write_io_errors)
{
    char path[PATH_CAP];
    trine_err_t err;
    uint64_t data[4] = {0};
    size_t shape[1] = {4};
    tmp_path(path, "no/such/dir.npy");
    ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, 1, shape, data, &err), TRINE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file or directory"));
    /* /dev/full accepts the open and fails the flush at close. */
    if (access("/dev/full", W_OK) == 0) {
        ck_assert_int_eq(plain_write_npy("/dev/full", PLAIN_U8, 1, shape, data, &err), TRINE_EIO);
        ck_assert_ptr_nonnull(strstr(err.msg, "/dev/full: "));
        ck_assert_ptr_nonnull(strstr(err.msg, "No space left on device"));
    }
}
END_TEST

/* Files that receive revealed values: never written through a symlink or
 * into another user's file, always left mode 0600; whole files replace
 * their target atomically from an exclusively created temporary file. */
START_TEST(test_write_secrets)
{
    char path[PATH_CAP], target[PATH_CAP], link[PATH_CAP], tmp[PATH_CAP + 16];
    trine_err_t err;
    uint64_t data[4] = {1, 2, 3, 4};
    size_t shape[1] = {4};
    struct stat sb;
    tmp_path(path, "old.npy");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("someone else's view", f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_msg(plain_write_npy(path, PLAIN_U8, 1, shape, data, &err) == TRINE_OK, "%s",
                  err.msg);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    plain_t *back;
    ck_assert_int_eq(plain_read_npy(&back, path, &err), TRINE_OK);
    ck_assert_mem_eq(back->ints, data, sizeof data);
    plain_destroy(&back);
    if (geteuid() == 0) { /* another user's file is left as it is */
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        ck_assert_int_eq(plain_write_npy(path, PLAIN_U8, 1, shape, data, &err), TRINE_EIO);
        ck_assert_ptr_nonnull(strstr(err.msg, "belongs to another user"));
        ck_assert_int_eq(stat(path, &sb), 0);
        ck_assert_int_eq(sb.st_uid, 65534);
    }

    tmp_path(target, "target.txt");
    tmp_path(link, "link.npy");
    f = fopen(target, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_int_eq(plain_write_npy(link, PLAIN_U8, 1, shape, data, &err), TRINE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "is a symbolic link"));
    ck_assert_int_eq(stat(target, &sb), 0);
    ck_assert_int_eq(sb.st_size, 0);

    /* a whole file over the symlink: the link is replaced, not followed */
    ck_assert_int_eq(plain_file_create(link, tmp, sizeof tmp, &f, &err), TRINE_OK);
    ck_assert_int_eq(fstat(fileno(f), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    fputs("model", f);
    ck_assert_int_eq(plain_file_commit(&f, tmp, link, true, &err), TRINE_OK);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    ck_assert_int_eq(sb.st_size, 5);
    ck_assert_int_eq(stat(target, &sb), 0);
    ck_assert_int_eq(sb.st_size, 0);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    /* a failed write leaves neither the temporary file nor a new target */
    ck_assert_int_eq(plain_file_create(path, tmp, sizeof tmp, &f, &err), TRINE_OK);
    ck_assert_int_eq(plain_file_commit(&f, tmp, path, false, &err), TRINE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_int_eq(access(tmp, F_OK), -1);
    tmp_path(path, "no/such/dir.npy");
    ck_assert_int_eq(plain_file_create(path, tmp, sizeof tmp, &f, &err), TRINE_EIO);
    ck_assert_ptr_null(f);
}
END_TEST

/* ---- hand-built .npy files ---- */

START_TEST(test_read_f4)
{
    const float values[] = {1.5f, -2.25f, 0.1f, -0.0f, FLT_MAX, 16777217.0f};
    char path[PATH_CAP];
    tmp_path(path, "f4.npy");
    write_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", values,
              sizeof values);
    plain_t *p = read_ok(plain_read_npy, path);
    check_shape(p, PLAIN_F4, 2, (size_t[]){2, 3});
    for (size_t i = 0; i < 6; i++) {
        ck_assert_double_eq(p->real[i], (double)values[i]);
    }
    ck_assert(signbit(p->real[3]));
    plain_destroy(&p);
}
END_TEST

START_TEST(test_read_i4_sign_extends)
{
    const int32_t values[] = {-1, INT32_MIN, INT32_MAX, 0, 5, -7};
    char path[PATH_CAP];
    tmp_path(path, "i4.npy");
    write_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", values,
              sizeof values);
    plain_t *p = read_ok(plain_read_npy, path);
    check_shape(p, PLAIN_I4, 1, (size_t[]){6});
    ck_assert_uint_eq(p->ints[0], UINT64_MAX);
    ck_assert_uint_eq(p->ints[1], UINT64_C(0xFFFFFFFF80000000));
    ck_assert_uint_eq(p->ints[2], UINT64_C(0x7FFFFFFF));
    ck_assert_uint_eq(p->ints[3], 0);
    ck_assert_uint_eq(p->ints[4], 5);
    ck_assert_uint_eq(p->ints[5], (uint64_t)-7);
    plain_destroy(&p);
}
END_TEST

START_TEST(test_read_u1)
{
    const unsigned char values[] = {0, 255, 7, 128};
    char path[PATH_CAP];
    tmp_path(path, "u1.npy");
    write_npy(path, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", values,
              sizeof values);
    plain_t *p = read_ok(plain_read_npy, path);
    check_shape(p, PLAIN_U1, 2, (size_t[]){2, 2});
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(p->ints[i], values[i]);
    }
    plain_destroy(&p);
}
END_TEST

START_TEST(test_read_v2_v3)
{
    const int64_t values[] = {-3, 4};
    char path[PATH_CAP];
    for (int major = 2; major <= 3; major++) {
        tmp_path(path, major == 2 ? "v2.npy" : "v3.npy");
        write_npy(path, major, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", values,
                  sizeof values);
        plain_t *p = read_ok(plain_read_npy, path);
        check_shape(p, PLAIN_I8, 1, (size_t[]){2});
        ck_assert_uint_eq(p->ints[0], (uint64_t)-3);
        ck_assert_uint_eq(p->ints[1], 4);
        plain_destroy(&p);
    }
}
END_TEST

START_TEST(test_read_zero_d)
{
    const double value = -2.5;
    char path[PATH_CAP];
    tmp_path(path, "scalar.npy");
    write_npy(path, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &value,
              sizeof value);
    plain_t *p = read_ok(plain_read_npy, path);
    check_shape(p, PLAIN_F8, 1, (size_t[]){1});
    ck_assert_double_eq(p->real[0], -2.5);
    plain_destroy(&p);
}
END_TEST

/* Dicts NumPy never writes but a Python literal allows. */
static const char *const lenient_dicts[] = {
    "{'shape': (3,), 'descr': '<u8', 'fortran_order': False}",
    "{\"fortran_order\":False,\"shape\":(3,),\"descr\":\"<u8\",}",
    " {\n\t'descr' : '<u8' ,\r\n 'fortran_order' : False , 'shape' : ( 3 , ) , } \t",
    "{'descr': \"<u8\", 'fortran_order': False, 'shape': (3)}",
};

START_TEST(test_read_lenient_header)
{
    const uint64_t values[] = {1, 2, UINT64_MAX};
    char path[PATH_CAP];
    tmp_path(path, "lenient.npy");
    write_npy(path, 1, lenient_dicts[_i], values, sizeof values);
    plain_t *p = read_ok(plain_read_npy, path);
    check_shape(p, PLAIN_U8, 1, (size_t[]){3});
    ck_assert_mem_eq(p->ints, values, sizeof values);
    plain_destroy(&p);
}
END_TEST

/* ---- malformed .npy files ---- */

typedef struct {
    const char *dict;
    trine_status_t want;
    const char *needle;
} bad_header_t;

#define DICT(descr, fortran, shape)                                                                \
    "{'descr': '" descr "', 'fortran_order': " fortran ", 'shape': " shape ", }"

/* Short enough that magic, version, length and header take 64 bytes. */
#define SHORT_F8_DICT "{'descr':'<f8','fortran_order':False,'shape':(3,)}"

/* Each dict comes with 24 bytes of data, three <f8 values. */
static const bad_header_t bad_headers[] = {
    {DICT(">f8", "False", "(3,)"), TRINE_EUNSUPPORTED,
     "big-endian data not supported, save with dtype '<f8'"},
    {DICT(">i4", "False", "(6,)"), TRINE_EUNSUPPORTED,
     "big-endian data not supported, save with dtype '<i4'"},
    {DICT("|O", "False", "(3,)"), TRINE_EUNSUPPORTED, "object arrays not supported"},
    {DICT("<c16", "False", "(3,)"), TRINE_EUNSUPPORTED,
     "dtype '<c16' not supported; supported dtypes: <f8 <f4 <i8 <i4 |u1 <u8"},
    {DICT("<u1", "False", "(24,)"), TRINE_EUNSUPPORTED, "dtype '<u1' not supported"},
    {DICT("|i1", "False", "(24,)"), TRINE_EUNSUPPORTED, "dtype '|i1' not supported"},
    {"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,)}", TRINE_EUNSUPPORTED,
     "structured dtypes not supported"},
    {DICT("<f8", "True", "(3,)"), TRINE_EUNSUPPORTED,
     "Fortran-order arrays not supported; save with np.ascontiguousarray"},
    {"{'fortran_order': False, 'shape': (3,)}", TRINE_EFORMAT, "missing key 'descr'"},
    {"{'descr': '<f8', 'shape': (3,)}", TRINE_EFORMAT, "missing key 'fortran_order'"},
    {"{'descr': '<f8', 'fortran_order': False}", TRINE_EFORMAT, "missing key 'shape'"},
    {"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", TRINE_EFORMAT,
     "duplicate key 'descr'"},
    {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'order': 'C'}", TRINE_EFORMAT,
     "unknown key 'order'"},
    {DICT("<f8", "False", "(1, 1, 1, 1, 3)"), TRINE_EUNSUPPORTED,
     "5 dimensions, at most 4 are supported"},
    {DICT("<f8", "False", "(3, 0)"), TRINE_EUNSUPPORTED, "empty arrays not supported"},
    {DICT("<f8", "False", "(0,)"), TRINE_EUNSUPPORTED, "empty arrays not supported"},
    {DICT("<f8", "False", "(-3,)"), TRINE_EFORMAT, "negative extent '-3'"},
    {DICT("<f8", "False", "(1.5, 2)"), TRINE_EFORMAT,
     "extent '1.5' in .npy shape is not an integer"},
    {DICT("<f8", "False", "(3L,)"), TRINE_EFORMAT, "not an integer"},
    {DICT("<f8", "False", "(1000000000000, 1000000000000)"), TRINE_EFORMAT,
     "more elements than memory can address"},
    {DICT("<f8", "False", "(4611686018427387904,)"), TRINE_EFORMAT,
     "more elements than memory can address"},
    {DICT("<f8", "False", "(99999999999999999999999,)"), TRINE_EFORMAT, "too large"},
    {DICT("<f8", "False", "(1000000000000,)"), TRINE_EFORMAT,
     "header declares 1000000000000 elements (8000000000000 bytes) but the file holds 24 bytes"},
    {"hello world", TRINE_EFORMAT, "expected '{'"},
    {"", TRINE_EFORMAT, "malformed .npy header"},
    {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,)", TRINE_EFORMAT,
     "malformed .npy header"},
    {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} x", TRINE_EFORMAT,
     "only whitespace after the header dict"},
    {DICT("<f8", "0", "(3,)"), TRINE_EFORMAT, "True or False"},
    {DICT("<f8", "False", "3"), TRINE_EFORMAT, "'(' starting the shape"},
    {DICT("<f8", "False", "(3 3)"), TRINE_EFORMAT, "',' or ')'"},
    {DICT("<f8", "False", "(,)"), TRINE_EFORMAT, "an extent"},
    {"{'descr' '<f8', 'fortran_order': False, 'shape': (3,)}", TRINE_EFORMAT, "':'"},
    {"{'descr: '<f8', 'fortran_order': False, 'shape': (3,)}", TRINE_EFORMAT,
     "malformed .npy header"},
    {"{descr: '<f8', 'fortran_order': False, 'shape': (3,)}", TRINE_EFORMAT, "a quoted string"},
    {"{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}", TRINE_EFORMAT, "',' or '}'"},
};

START_TEST(test_bad_header)
{
    const double data[3] = {1, 2, 3};
    char path[PATH_CAP];
    tmp_path(path, "bad.npy");
    write_npy(path, 1, bad_headers[_i].dict, data, sizeof data);
    check_fails(plain_read_npy, path, bad_headers[_i].want, bad_headers[_i].needle);
}
END_TEST

START_TEST(test_data_size_mismatch)
{
    unsigned char data[96] = {0};
    char path[PATH_CAP];
    tmp_path(path, "lies.npy");
    write_npy(path, 1, DICT("<f8", "False", "(12,)"), data, 40);
    check_fails(plain_read_npy, path, TRINE_EFORMAT,
                "header declares 12 elements (96 bytes) but the file holds 40 bytes of data");
    write_npy(path, 1, DICT("<i4", "False", "(2, 3)"), data, 96);
    check_fails(plain_read_npy, path, TRINE_EFORMAT,
                "header declares 6 elements (24 bytes) but the file holds 96 bytes of data");
}
END_TEST

START_TEST(test_bad_preamble)
{
    unsigned char image[IMAGE_CAP];
    const double data[3] = {1, 2, 3};
    size_t len = npy_image(image, 1, SHORT_F8_DICT, data, sizeof data);
    char path[PATH_CAP];
    tmp_path(path, "pre.npy");

    image[5] = 'X';
    write_bytes(path, image, len);
    check_fails(plain_read_npy, path, TRINE_EFORMAT, "not a .npy file (bad magic string)");
    write_text(path, "1,2,3\n");
    check_fails(plain_read_npy, path, TRINE_EFORMAT, "bad magic");
    write_text(path, "abc");
    check_fails(plain_read_npy, path, TRINE_EFORMAT, "bad magic");
    image[5] = 'Y';

    image[6] = 4;
    write_bytes(path, image, len);
    check_fails(plain_read_npy, path, TRINE_EUNSUPPORTED, ".npy version 4.0 not supported");
    image[6] = 1;
    image[7] = 1;
    write_bytes(path, image, len);
    check_fails(plain_read_npy, path, TRINE_EUNSUPPORTED, ".npy version 1.1 not supported");
    image[7] = 0;

    /* A v1 header length of 1000 in a file of 88 bytes. */
    image[8] = 0xE8;
    image[9] = 0x03;
    write_bytes(path, image, len);
    check_fails(plain_read_npy, path, TRINE_EFORMAT,
                "truncated .npy file: it ends inside the header");
}
END_TEST

START_TEST(test_header_nul)
{
    unsigned char image[IMAGE_CAP];
    const double data[3] = {1, 2, 3};
    size_t len = npy_image(image, 1, SHORT_F8_DICT, data, sizeof data);
    char path[PATH_CAP];
    tmp_path(path, "nul.npy");
    ck_assert_int_eq(image[13], 'e'); /* in {'descr' */
    image[13] = '\0';
    write_bytes(path, image, len);
    check_fails(plain_read_npy, path, TRINE_EFORMAT, "at byte 3: expected the end of the string");
}
END_TEST

START_TEST(test_header_too_long)
{
    unsigned char image[IMAGE_CAP];
    const double data[3] = {1, 2, 3};
    size_t len = npy_image(image, 2, DICT("<f8", "False", "(3,)"), data, sizeof data);
    char path[PATH_CAP];
    tmp_path(path, "long.npy");
    image[8] = 0x70; /* 70000 = 0x11170 */
    image[9] = 0x11;
    image[10] = 0x01;
    write_bytes(path, image, len);
    check_fails(plain_read_npy, path, TRINE_EUNSUPPORTED, "exceeds the 64 KiB limit");
    image[8] = image[9] = image[10] = image[11] = 0xFF;
    write_bytes(path, image, len);
    check_fails(plain_read_npy, path, TRINE_EUNSUPPORTED, "exceeds the 64 KiB limit");
}
END_TEST

/* Cut points in a 64-byte-header file of three <f8: inside the magic, the
 * version, the header length, the header, and the data. */
static const struct {
    size_t keep;
    const char *needle;
} truncations[] = {
    {0, "ends inside the magic string"},  {1, "ends inside the magic string"},
    {5, "ends inside the magic string"},  {6, "ends inside the version"},
    {7, "ends inside the version"},       {8, "ends inside the header length"},
    {9, "ends inside the header length"}, {10, "ends inside the header"},
    {30, "ends inside the header"},       {63, "ends inside the header"},
    {64, "but the file holds 0 bytes"},   {65, "but the file holds 1 bytes"},
    {80, "but the file holds 16 bytes"},  {87, "but the file holds 23 bytes"},
};

START_TEST(test_truncated)
{
    unsigned char image[IMAGE_CAP];
    const double data[3] = {1, 2, 3};
    size_t len = npy_image(image, 1, SHORT_F8_DICT, data, sizeof data);
    ck_assert_uint_eq(len, 88);
    char path[PATH_CAP];
    tmp_path(path, "cut.npy");
    write_bytes(path, image, truncations[_i].keep);
    check_fails(plain_read_npy, path, TRINE_EFORMAT, truncations[_i].needle);
}
END_TEST

START_TEST(test_npy_not_a_file)
{
    char path[PATH_CAP];
    tmp_path(path, "missing.npy");
    check_fails(plain_read_npy, path, TRINE_EIO, "No such file or directory");
    check_fails(plain_read, path, TRINE_EIO, "No such file or directory");
    tmp_path(path, "dir.npy");
    ck_assert_int_eq(mkdir(path, 0700), 0);
    check_fails(plain_read_npy, path, TRINE_EIO, "not a regular file");
}
END_TEST

/* A .npy file read and written in pieces of any size: the same values as
 * whole, a reader that asks past the end or a short pipe fails, and a
 * writer closed early removes its file. */
START_TEST(test_npy_pieces)
{
    char path[PATH_CAP], copy[PATH_CAP];
    tmp_path(path, "pieces.npy");
    tmp_path(copy, "pieces-copy.npy");
    const size_t shape[2] = {7, 5};
    double v[35];
    for (int i = 0; i < 35; i++)
        v[i] = i * 0.5 - 3;
    trine_err_t err;
    ck_assert_int_eq(plain_write_npy(path, PLAIN_F8, 2, shape, v, &err), TRINE_OK);
    plain_reader_t *r;
    ck_assert_int_eq(plain_reader_open(&r, path, &err), TRINE_OK);
    const plain_t *info = plain_reader_info(r);
    ck_assert_int_eq(info->dtype, PLAIN_F8);
    ck_assert_uint_eq(info->count, 35);
    ck_assert_uint_eq(info->shape[1], 5);
    plain_writer_t *w;
    ck_assert_int_eq(plain_writer_open(&w, copy, PLAIN_F8, 2, shape, &err), TRINE_OK);
    double piece[16];
    for (size_t at = 0, n; at < 35; at += n) {
        n = 35 - at < 16 ? 35 - at : 16;
        ck_assert_int_eq(plain_reader_read(r, piece, n, &err), TRINE_OK);
        ck_assert_mem_eq(piece, v + at, n * sizeof *piece);
        ck_assert_int_eq(plain_writer_write(w, piece, n, &err), TRINE_OK);
    }
    ck_assert_int_eq(plain_reader_read(r, piece, 1, &err), TRINE_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "0 of 35 are left"));
    plain_reader_close(&r);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(plain_writer_write(w, piece, 1, &err), TRINE_EINVAL);
    ck_assert_int_eq(plain_writer_close(&w, &err), TRINE_EIO);
    ck_assert_int_eq(access(copy, F_OK), -1); /* removed: it was refused a value */

    ck_assert_int_eq(plain_writer_open(&w, copy, PLAIN_F8, 2, shape, &err), TRINE_OK);
    ck_assert_int_eq(plain_writer_write(w, v, 35, &err), TRINE_OK);
    ck_assert_int_eq(plain_writer_close(&w, &err), TRINE_OK);
    plain_t *back;
    ck_assert_int_eq(plain_read_npy(&back, copy, &err), TRINE_OK);
    ck_assert_mem_eq(back->real, v, sizeof v);
    plain_destroy(&back);

    ck_assert_int_eq(plain_writer_open(&w, copy, PLAIN_I8, 2, shape, &err), TRINE_OK);
    ck_assert_int_eq(plain_writer_write(w, v, 34, &err), TRINE_OK);
    ck_assert_int_eq(plain_writer_close(&w, &err), TRINE_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "34 of 35 values written"));
    ck_assert_int_eq(access(copy, F_OK), -1);

    /* a pipe: read as it comes; one that ends early is a truncated file */
    char fifo[PATH_CAP];
    tmp_path(fifo, "pipe.npy");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) { /* writes the header and 10 of the 35 values */
        FILE *in = fopen(path, "rb"), *out = fopen(fifo, "wb");
        char buf[128 + 80];
        size_t got = in && out ? fread(buf, 1, sizeof buf, in) : 0;
        bool sent = got == sizeof buf && fwrite(buf, 1, got, out) == got;
        _exit(sent && fclose(out) == 0 ? 0 : 1); /* _exit flushes nothing itself */
    }
    ck_assert_msg(plain_reader_open(&r, fifo, &err) == TRINE_OK, "%s", err.msg);
    ck_assert_int_eq(plain_reader_read(r, piece, 10, &err), TRINE_OK);
    ck_assert_mem_eq(piece, v, 10 * sizeof *piece);
    ck_assert_int_eq(plain_reader_read(r, piece, 1, &err), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "truncated .npy file: it ends inside the data"));
    plain_reader_close(&r);
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* ---- .csv ---- */

START_TEST(test_csv_ints)
{
    char path[PATH_CAP];
    tmp_path(path, "ints.csv");
    write_text(path, "1,2,3\n-4, +5 ,\t6\n-9223372036854775808,9223372036854775807,0\n");
    plain_t *p = read_ok(plain_read_csv, path);
    check_shape(p, PLAIN_I8, 2, (size_t[]){3, 3});
    const int64_t want[] = {1, 2, 3, -4, 5, 6, INT64_MIN, INT64_MAX, 0};
    for (size_t i = 0; i < 9; i++) {
        ck_assert_uint_eq(p->ints[i], (uint64_t)want[i]);
    }
    plain_destroy(&p);
}
END_TEST

START_TEST(test_csv_floats)
{
    char path[PATH_CAP];
    tmp_path(path, "floats.csv");
    write_text(path, "1.5,2e3\n-0.25,.5\nnan,-inf\n");
    plain_t *p = read_ok(plain_read_csv, path);
    check_shape(p, PLAIN_F8, 2, (size_t[]){3, 2});
    ck_assert_double_eq(p->real[0], 1.5);
    ck_assert_double_eq(p->real[1], 2000.0);
    ck_assert_double_eq(p->real[2], -0.25);
    ck_assert_double_eq(p->real[3], 0.5);
    ck_assert(isnan(p->real[4]));
    ck_assert(isinf(p->real[5]) && p->real[5] < 0);
    plain_destroy(&p);
}
END_TEST

/* Integers before the first float are converted; many rows make the value
 * buffer grow several times before and after the switch. */
START_TEST(test_csv_mixed)
{
    char path[PATH_CAP];
    tmp_path(path, "mixed.csv");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 300; i++) {
        fprintf(f, i == 200 ? "%d,0.5\n" : "%d,%d\n", -i, i);
    }
    ck_assert_int_eq(fclose(f), 0);
    plain_t *p = read_ok(plain_read, path);
    check_shape(p, PLAIN_F8, 2, (size_t[]){300, 2});
    for (int i = 0; i < 300; i++) {
        ck_assert_double_eq(p->real[2 * i], -i);
        ck_assert_double_eq(p->real[2 * i + 1], i == 200 ? 0.5 : i);
    }
    plain_destroy(&p);
}
END_TEST

START_TEST(test_csv_comments_blank_crlf)
{
    char path[PATH_CAP];
    tmp_path(path, "notes.csv");
    write_text(path, "\xEF\xBB\xBF# x, y\r\n\r\n1, 2\r\n   \r\n  # more\r\n\t\n3,4\r\n5 , 6");
    plain_t *p = read_ok(plain_read_csv, path);
    check_shape(p, PLAIN_I8, 2, (size_t[]){3, 2});
    for (size_t i = 0; i < 6; i++) {
        ck_assert_uint_eq(p->ints[i], i + 1);
    }
    plain_destroy(&p);
}
END_TEST

START_TEST(test_csv_single_column)
{
    char path[PATH_CAP];
    tmp_path(path, "col.csv");
    write_text(path, "7\n");
    plain_t *p = read_ok(plain_read_csv, path);
    check_shape(p, PLAIN_I8, 2, (size_t[]){1, 1});
    ck_assert_uint_eq(p->ints[0], 7);
    plain_destroy(&p);
}
END_TEST

/* A first row of names is a header: skipped, its field count kept. */
START_TEST(test_csv_header)
{
    char path[PATH_CAP];
    tmp_path(path, "header.csv");
    write_text(path, "\xEF\xBB\xBFsepal length, \"width\" ,label\r\n1.5,2,0\r\n3,4,1\r\n");
    plain_t *p = read_ok(plain_read_csv, path);
    check_shape(p, PLAIN_F8, 2, (size_t[]){2, 3});
    ck_assert(p->real[0] == 1.5 && p->real[5] == 1);
    plain_destroy(&p);
    write_text(path, "# a comment first\nx,y\n7,8\n");
    p = read_ok(plain_read_csv, path);
    check_shape(p, PLAIN_I8, 2, (size_t[]){1, 2});
    plain_destroy(&p);
}
END_TEST

static const struct {
    const char *text;
    trine_status_t want;
    const char *needle;
} bad_csvs[] = {
    {"a,b,c\n1,2\n", TRINE_EFORMAT, ":2: 2 fields, expected 3"},
    {"a,b\nc,d\n", TRINE_EFORMAT, ":2: field 1 'c' is not a number"},
    {"x,1\n2,3\n", TRINE_EFORMAT, ":1: field 1 'x' is not a number"},
    {"a,b\n", TRINE_EFORMAT, "no data rows"},
    {"1,2,3,4\n5,6,7,8\n# note\n\n1,2,3,4\n\n1,2,3\n", TRINE_EFORMAT, ":7: 3 fields, expected 4"},
    {"1,2\n3,4,5\n", TRINE_EFORMAT, ":2: 3 fields, expected 2"},
    {"1,2,3\n4,5,abc\n", TRINE_EFORMAT, ":2: field 3 'abc' is not a number"},
    {"1.5,2,3\n4,5,abc\n", TRINE_EFORMAT, ":2: field 3 'abc' is not a number"},
    {"1,,3\n", TRINE_EFORMAT, ":1: field 2 '' is not a number"},
    {"1,2,\n", TRINE_EFORMAT, ":1: field 3 '' is not a number"},
    {"1 2,3\n", TRINE_EFORMAT, ":1: field 1 '1 2' is not a number"},
    {"0x\n", TRINE_EFORMAT, ":1: field 1 '0x' is not a number"},
    {"1,9223372036854775808\n", TRINE_ERANGE, ":1: field 2 '9223372036854775808' does not fit"},
    {"0.5,-9223372036854775809\n", TRINE_ERANGE, "does not fit a 64-bit integer"},
    {"1e999\n", TRINE_ERANGE, ":1: field 1 '1e999' is out of range"},
    {"", TRINE_EFORMAT, "no data rows"},
    {"# only a comment\n\n   \n", TRINE_EFORMAT, "no data rows"},
};

START_TEST(test_csv_bad)
{
    char path[PATH_CAP];
    tmp_path(path, "bad.csv");
    write_text(path, bad_csvs[_i].text);
    check_fails(plain_read_csv, path, bad_csvs[_i].want, bad_csvs[_i].needle);
    check_fails(plain_read, path, bad_csvs[_i].want, bad_csvs[_i].needle);
}
END_TEST

/* A NUL would otherwise end a field early and hide the rest of it. */
START_TEST(test_csv_nul_byte)
{
    static const char text[] = "1,2\n3\0,4\n";
    char path[PATH_CAP];
    tmp_path(path, "nul.csv");
    write_bytes(path, text, sizeof text - 1);
    check_fails(plain_read_csv, path, TRINE_EFORMAT, ":2: line contains a NUL byte");
}
END_TEST

START_TEST(test_csv_missing)
{
    char path[PATH_CAP];
    tmp_path(path, "missing.csv");
    check_fails(plain_read_csv, path, TRINE_EIO, "No such file or directory");
    check_fails(plain_read, path, TRINE_EIO, "No such file or directory");
}
END_TEST

/* ---- dispatch and small helpers ---- */

START_TEST(test_read_dispatch)
{
    char path[PATH_CAP];
    const double values[2] = {1.0, 2.0};
    size_t shape[1] = {2};
    trine_err_t err;
    tmp_path(path, "upper.NPY");
    ck_assert_int_eq(plain_write_npy(path, PLAIN_F8, 1, shape, values, &err), TRINE_OK);
    plain_t *p = read_ok(plain_read, path);
    check_shape(p, PLAIN_F8, 1, shape);
    plain_destroy(&p);
    tmp_path(path, "mixed.Csv");
    write_text(path, "1,2\n");
    p = read_ok(plain_read, path);
    check_shape(p, PLAIN_I8, 2, (size_t[]){1, 2});
    plain_destroy(&p);

    const char *const unknown[] = {"x.txt", "npy", "x.npy.gz", "dir.npy/file", "x.csv~"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        check_fails(plain_read, unknown[i], TRINE_EUNSUPPORTED,
                    ": unknown file type, expected .npy or .csv");
    }
    plain_t *out = NULL;
    ck_assert_int_eq(plain_read(&out, NULL, NULL), TRINE_EINVAL);
    ck_assert_int_eq(plain_read_npy(NULL, path, NULL), TRINE_EINVAL);
    ck_assert_int_eq(plain_read_csv(NULL, path, NULL), TRINE_EINVAL);
}
END_TEST

START_TEST(test_dtype_helpers)
{
    ck_assert_str_eq(plain_dtype_name(PLAIN_F8), "<f8");
    ck_assert_str_eq(plain_dtype_name(PLAIN_F4), "<f4");
    ck_assert_str_eq(plain_dtype_name(PLAIN_I8), "<i8");
    ck_assert_str_eq(plain_dtype_name(PLAIN_I4), "<i4");
    ck_assert_str_eq(plain_dtype_name(PLAIN_U1), "|u1");
    ck_assert_str_eq(plain_dtype_name(PLAIN_U8), "<u8");
    ck_assert(plain_dtype_is_float(PLAIN_F8) && plain_dtype_is_float(PLAIN_F4));
    ck_assert(!plain_dtype_is_float(PLAIN_I8) && !plain_dtype_is_float(PLAIN_U1));
    plain_t *p = NULL;
    plain_destroy(&p);
    plain_destroy(NULL);
}
END_TEST

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *plain_suite(void)
{
    Suite *s = suite_create("plain");
    TCase *npy = tcase_create("npy");
    tcase_add_unchecked_fixture(npy, make_tmp_dir, remove_tmp_dir);
    tcase_add_loop_test(npy, test_roundtrip_f8, 1, 5);
    tcase_add_loop_test(npy, test_roundtrip_i8, 1, 5);
    tcase_add_loop_test(npy, test_roundtrip_u8, 1, 5);
    tcase_add_test(npy, test_roundtrip_large);
    tcase_add_test(npy, test_write_rejects);
    tcase_add_test(npy, test_write_io_errors);
    tcase_add_test(npy, test_write_secrets);
    tcase_add_test(npy, test_read_f4);
    tcase_add_test(npy, test_read_i4_sign_extends);
    tcase_add_test(npy, test_read_u1);
    tcase_add_test(npy, test_read_v2_v3);
    tcase_add_test(npy, test_read_zero_d);
    tcase_add_loop_test(npy, test_read_lenient_header, 0, LEN(lenient_dicts));
    tcase_add_loop_test(npy, test_bad_header, 0, LEN(bad_headers));
    tcase_add_test(npy, test_data_size_mismatch);
    tcase_add_test(npy, test_bad_preamble);
    tcase_add_test(npy, test_header_nul);
    tcase_add_test(npy, test_header_too_long);
    tcase_add_loop_test(npy, test_truncated, 0, LEN(truncations));
    tcase_add_test(npy, test_npy_not_a_file);
    tcase_add_test(npy, test_npy_pieces);
    suite_add_tcase(s, npy);

    TCase *csv = tcase_create("csv");
    tcase_add_unchecked_fixture(csv, make_tmp_dir, remove_tmp_dir);
    tcase_add_test(csv, test_csv_ints);
    tcase_add_test(csv, test_csv_floats);
    tcase_add_test(csv, test_csv_mixed);
    tcase_add_test(csv, test_csv_comments_blank_crlf);
    tcase_add_test(csv, test_csv_single_column);
    tcase_add_test(csv, test_csv_header);
    tcase_add_loop_test(csv, test_csv_bad, 0, LEN(bad_csvs));
    tcase_add_test(csv, test_csv_nul_byte);
    tcase_add_test(csv, test_csv_missing);
    tcase_add_test(csv, test_read_dispatch);
    tcase_add_test(csv, test_dtype_helpers);
    suite_add_tcase(s, csv);
    return s;
}

int main(void)
{
    return check_util_run(plain_suite());
}
