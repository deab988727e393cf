/* npy_tool.c — test helper: writes seeded random .npy files and compares
 * two .npy files, so that the integration tests need no numpy.
 *
 *   npy_tool gen f8|f1|i8 SEED OUT.npy D0 [D1 ...]  values uniform in [-1000, 1000]
 *                                                 (f8), in [-1, 1] (f1, float64 too)
 *                                                 or over all of int64 (i8)
 *   npy_tool cmp A.npy B.npy TOL                  same shape; |a-b| <= TOL each
 *   npy_tool cat OUT.npy A.npy B.npy ...          float rows of A, then B, ... (same
 *                                                 extents past the first)
 */
#include "tensor/plain.h"
#include "tensor/prg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int npy_gen(int argc, char **argv)
{
    size_t shape[TENSOR_MAX_DIMS], count = 1;
    int ndim = argc - 5;
    if (ndim < 1 || ndim > TENSOR_MAX_DIMS)
        return 2;
    for (int i = 0; i < ndim; i++)
        count *= shape[i] = strtoull(argv[5 + i], NULL, 10);
    uint64_t *r = malloc(count * sizeof *r);
    if (!r)
        return 1;
    uint8_t seed[PRG_SEED_BYTES] = {0};
    snprintf((char *)seed, sizeof seed, "npy_tool %s", argv[3]);
    prg_t *prg = prg_new(seed);
    if (!prg) {
        free(r);
        return 1;
    }
    prg_fill_ring(prg, 0, 0, r, count);
    prg_destroy(&prg);
    trine_err_t err;
    trine_status_t st;
    if (!strcmp(argv[2], "f8") || !strcmp(argv[2], "f1")) {
        double *d = (double *)r, half = argv[2][1] == '8' ? 1000.0 : 1.0;
        for (size_t i = 0; i < count; i++) /* in place: each value read before written */
            d[i] = (double)(r[i] >> 11) / (double)(1ull << 53) * 2 * half - half;
        st = plain_write_npy(argv[4], PLAIN_F8, ndim, shape, d, &err);
    } else {
        st = plain_write_npy(argv[4], PLAIN_I8, ndim, shape, r, &err);
    }
    free(r);
    if (st != TRINE_OK)
        fprintf(stderr, "npy_tool: %s\n", err.msg);
    return st == TRINE_OK ? 0 : 1;
}

static int npy_cmp(char **argv)
{
    plain_t *a = NULL, *b = NULL;
    trine_err_t err;
    int rc = 1;
    double tol = strtod(argv[4], NULL), worst = 0;
    if (plain_read_npy(&a, argv[2], &err) != TRINE_OK || plain_read_npy(&b, argv[3], &err) != TRINE_OK)
        fprintf(stderr, "npy_tool: %s\n", err.msg);
    else if (a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof a->shape))
        fprintf(stderr, "npy_tool: shapes differ\n");
    else {
        size_t bad = 0;
        for (size_t i = 0; i < a->count; i++) {
            double d;
            if (a->ints && b->ints)
                d = a->ints[i] == b->ints[i] ? 0 : INFINITY;
            else
                d = fabs((a->real ? a->real[i] : (double)(int64_t)a->ints[i]) -
                         (b->real ? b->real[i] : (double)(int64_t)b->ints[i]));
            worst = d > worst ? d : worst;
            bad += !(d <= tol);
        }
        printf("npy_tool: %zu values, %zu beyond %g, largest difference %g\n", a->count, bad, tol,
               worst);
        rc = bad ? 1 : 0;
    }
    plain_destroy(&a);
    plain_destroy(&b);
    return rc;
}

static int npy_cat(int argc, char **argv)
{
    plain_t *in[8] = {0};
    int n = argc - 3, rc = 1;
    size_t shape[TENSOR_MAX_DIMS] = {0}, count = 0;
    trine_err_t err;
    if (n < 1 || n > 8)
        return 2;
    for (int k = 0; k < n; k++) {
        if (plain_read_npy(&in[k], argv[3 + k], &err) != TRINE_OK || !in[k]->real) {
            fprintf(stderr, "npy_tool: %s: %s\n", argv[3 + k], in[k] ? "not floats" : err.msg);
            goto out;
        }
        if (k && (in[k]->ndim != in[0]->ndim ||
                  memcmp(in[k]->shape + 1, in[0]->shape + 1, sizeof shape - sizeof shape[0]))) {
            fprintf(stderr, "npy_tool: %s: other extents past the first\n", argv[3 + k]);
            goto out;
        }
        count += in[k]->count;
    }
    for (int d = 1; d < in[0]->ndim; d++)
        shape[d] = in[0]->shape[d];
    double *d = malloc(count * sizeof *d), *at = d;
    for (int k = 0; d && k < n; k++) {
        memcpy(at, in[k]->real, in[k]->count * sizeof *d);
        at += in[k]->count;
        shape[0] += in[k]->shape[0];
    }
    if (d && plain_write_npy(argv[2], PLAIN_F8, in[0]->ndim, shape, d, &err) == TRINE_OK)
        rc = 0;
    else
        fprintf(stderr, "npy_tool: %s\n", d ? err.msg : "out of memory");
    free(d);
out:
    for (int k = 0; k < n; k++)
        plain_destroy(&in[k]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && argc <= 11 && !strcmp(argv[1], "cat"))
        return npy_cat(argc, argv);
    if (argc >= 6 && !strcmp(argv[1], "gen"))
        return npy_gen(argc, argv);
    if (argc == 5 && !strcmp(argv[1], "cmp"))
        return npy_cmp(argv);
    fprintf(stderr, "usage: npy_tool gen f8|i8 SEED OUT.npy D0 [D1 ...] | cmp A.npy B.npy TOL | "
                    "cat OUT.npy A.npy [B.npy ...]\n");
    return 2;
}
