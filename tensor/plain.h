/* plain.h — plaintext arrays as they come from and go to files.
 *
 * A plain_t is what a user hands in (.npy, .csv) before fixed-point
 * encoding, or gets back after decoding: either floating values or integer
 * values, with a shape of 1 to TENSOR_MAX_DIMS extents. Readers check every
 * header and size against the file before they allocate, and report what is
 * wrong in err with the file name.
 */
#ifndef TRINE_PLAIN_H
#define TRINE_PLAIN_H

#include "status.h"
#include "tensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The element types of .npy files that trine reads; F8, I8 and U8 it writes. */
typedef enum {
    PLAIN_F8, /* '<f8' float64 */
    PLAIN_F4, /* '<f4' float32 */
    PLAIN_I8, /* '<i8' int64 */
    PLAIN_I4, /* '<i4' int32 */
    PLAIN_U1, /* '|u1' uint8 */
    PLAIN_U8  /* '<u8' uint64 (ring elements, e.g. raw shares) */
} plain_dtype_t;

typedef struct {
    plain_dtype_t dtype;           /* as found in the file */
    int ndim;                      /* 1 .. TENSOR_MAX_DIMS */
    size_t shape[TENSOR_MAX_DIMS]; /* entries past ndim are 1 */
    size_t count;                  /* product of the shape, >= 1 */
    double *real;                  /* float dtypes: values as double; else NULL */
    uint64_t *ints;                /* integer dtypes: values as ring elements,
                                      signed ones sign-extended; else NULL */
} plain_t;

/* True for PLAIN_F8 and PLAIN_F4. */
bool plain_dtype_is_float(plain_dtype_t dtype);

/* The .npy descr string of a dtype, e.g. "<f8". */
const char *plain_dtype_name(plain_dtype_t dtype);

/* A new plain_t of this dtype and shape (ndim 1 .. TENSOR_MAX_DIMS, every
 * extent >= 1) with a zeroed value buffer: real for float dtypes, ints
 * otherwise. NULL when memory runs out or the count overflows. */
plain_t *plain_alloc(plain_dtype_t dtype, int ndim, const size_t *shape);

/* Frees *p and its buffers and sets *p to NULL; accepts NULL. */
void plain_destroy(plain_t **p);

/* Makes an integer plain_t real: its values become doubles (exact below
 * 2^53) and its dtype PLAIN_F8; a real one is left as it is.
 * TRINE_ENOMEM. */
TRINE_NODISCARD trine_status_t plain_to_real(plain_t *p, trine_err_t *err);

/* Reads a version 1, 2 or 3 .npy file in C order with one of the dtypes
 * above and 1 to TENSOR_MAX_DIMS extents (a 0-d array reads as shape [1]).
 * On success *out is a new plain_t owned by the caller. */
TRINE_NODISCARD trine_status_t plain_read_npy(plain_t **out, const char *path, trine_err_t *err);

/* Writes values as a version 1 .npy file. dtype is PLAIN_F8 (data is
 * double *), PLAIN_I8 (int64_t *) or PLAIN_U8 (uint64_t *). A new file
 * is made mode 0600; a symbolic link at path, or a file of another user,
 * is refused (TRINE_EIO), never written through; an existing file of the
 * caller's is made 0600 before it is truncated. */
TRINE_NODISCARD trine_status_t plain_write_npy(const char *path, plain_dtype_t dtype, int ndim,
                                               const size_t *shape, const void *data,
                                               trine_err_t *err);

/* ---- .npy in pieces, with memory bounded by the piece ---- */

typedef struct plain_reader plain_reader_t;

/* Opens the .npy file path to read its values in order, in pieces of any
 * size: the header is checked as plain_read_npy checks it, and for a
 * regular file its size; a pipe (e.g. bash's <(...)) is read as it comes,
 * and one that ends early fails the read that passes its end. *out is
 * new (plain_reader_close). */
TRINE_NODISCARD trine_status_t plain_reader_open(plain_reader_t **out, const char *path,
                                                 trine_err_t *err);

/* The array's dtype, ndim, shape and count; real and ints are NULL. */
const plain_t *plain_reader_info(const plain_reader_t *r);

/* Reads the next n values into values: doubles for the float dtypes, ring
 * elements (uint64_t, signed ones sign-extended) otherwise. TRINE_EINVAL
 * when fewer than n are left, TRINE_EFORMAT for a file that ends early,
 * TRINE_EIO. */
TRINE_NODISCARD trine_status_t plain_reader_read(plain_reader_t *r, void *values, size_t n,
                                                 trine_err_t *err);

/* Closes the file and frees *r, setting it to NULL; accepts NULL. */
void plain_reader_close(plain_reader_t **r);

typedef struct plain_writer plain_writer_t;

/* Writing a whole file at once, atomically: plain_file_create opens a new
 * temporary file beside path (path.XXXXXX, created exclusively, mode 0600,
 * its name in tmp of cap bytes); plain_file_commit flushes it to the disk,
 * closes *f (set to NULL; NULL accepted) and renames it over path (a
 * symbolic link at path is replaced, never followed); with ok false, or
 * on any failure, it removes the temporary file instead. TRINE_EIO naming
 * path and the reason. */
TRINE_NODISCARD trine_status_t plain_file_create(const char *path, char *tmp, size_t cap,
                                                 FILE **out, trine_err_t *err);
TRINE_NODISCARD trine_status_t plain_file_commit(FILE **f, const char *tmp, const char *path,
                                                 bool ok, trine_err_t *err);

/* Creates path as plain_write_npy does (mode 0600, never through a
 * symbolic link) and writes the header of an array of dtype (PLAIN_F8,
 * PLAIN_I8 or PLAIN_U8) and shape; the values follow with
 * plain_writer_write. *out is new (plain_writer_close), also on a failed
 * header write. */
TRINE_NODISCARD trine_status_t plain_writer_open(plain_writer_t **out, const char *path,
                                                 plain_dtype_t dtype, int ndim,
                                                 const size_t *shape, trine_err_t *err);

/* Writes the next n values (double, int64_t or uint64_t as the dtype).
 * TRINE_EINVAL past the shape's count, TRINE_EIO. */
TRINE_NODISCARD trine_status_t plain_writer_write(plain_writer_t *w, const void *data, size_t n,
                                                  trine_err_t *err);

/* Flushes and closes the file and frees *w (NULL after; accepts NULL).
 * Unless every value was written and flushed, the file is removed and the
 * result is the failure (TRINE_EINVAL for values missing, TRINE_EIO). */
TRINE_NODISCARD trine_status_t plain_writer_close(plain_writer_t **w, trine_err_t *err);

/* Reads a numeric .csv file: one row per line, fields separated by commas,
 * every row with the same number of fields; blank lines and lines starting
 * with '#' are skipped, and so is a first row in which no field is a
 * number (a header naming the columns). The result is 2-D, rows x fields.
 * When every field is a decimal integer the dtype is PLAIN_I8, otherwise
 * PLAIN_F8. */
TRINE_NODISCARD trine_status_t plain_read_csv(plain_t **out, const char *path, trine_err_t *err);

/* Reads .npy or .csv, chosen by the file name's extension. */
TRINE_NODISCARD trine_status_t plain_read(plain_t **out, const char *path, trine_err_t *err);

#endif
