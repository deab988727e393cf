/* bench_gemm.c — times the exact ring GEMM against a plain uint64_t loop
 * and one OpenBLAS dgemm of the same shape, all in one run, and prints one
 * line per shape for scripts:
 *   gemm m=.. n=.. k=.. ring_s=.. loop_s=.. dgemm_s=.. ring_vs_loop=.. ring_vs_dgemm=..
 * Times are medians over repetitions; ring_vs_loop is the loop's time over
 * the ring GEMM's, ring_vs_dgemm the ring GEMM's over dgemm's. */
#include "tensor/gemm.h"
#include "tensor/prg.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    size_t m, n, k;
} shape_t;

/* Square 256..1024 and the Network A layers (batch 1 and 128). */
static const shape_t bench_default_shapes[] = {
    {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024},
    {1, 128, 784},   {128, 128, 784}, {128, 128, 128},
};

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum { BENCH_RING, BENCH_LOOP, BENCH_DGEMM } bench_kind_t;

typedef struct {
    const shape_t *s;
    const uint64_t *a, *b;
    uint64_t *c;
    const double *da, *db;
    double *dc;
} bench_args_t;

static int bench_once(bench_kind_t kind, const bench_args_t *x)
{
    const shape_t *s = x->s;
    switch (kind) {
    case BENCH_RING:
        return gemm_ring(x->c, x->a, GEMM_NOTRANS, x->b, GEMM_NOTRANS, s->m, s->n, s->k);
    case BENCH_LOOP:
        return gemm_ring_ref(x->c, x->a, GEMM_NOTRANS, x->b, GEMM_NOTRANS, s->m, s->n, s->k);
    case BENCH_DGEMM:
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->m, (int)s->n, (int)s->k, 1.0,
                    x->da, (int)s->k, x->db, (int)s->n, 0.0, x->dc, (int)s->n);
        return 0;
    }
    return -1;
}

/* The median of reps timed runs after one warm-up; negative on failure. */
static double bench_median(bench_kind_t kind, const bench_args_t *x, int reps)
{
    double t[64];
    if (bench_once(kind, x) != 0)
        return -1;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        if (bench_once(kind, x) != 0)
            return -1;
        t[r] = bench_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], bench_cmp);
    return t[reps / 2];
}

static int bench_shape(const shape_t *s, const prg_t *prg)
{
    size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    uint64_t *a = malloc(na * 8), *b = malloc(nb * 8), *c = malloc(nc * 8);
    double *da = malloc(na * 8), *db = malloc(nb * 8), *dc = malloc(nc * 8);
    int rc = -1;
    if (!a || !b || !c || !da || !db || !dc)
        goto out;
    prg_fill_ring(prg, 1, 0, a, na);
    prg_fill_ring(prg, 2, 0, b, nb);
    for (size_t i = 0; i < na; i++)
        da[i] = (double)(a[i] >> 40);
    for (size_t i = 0; i < nb; i++)
        db[i] = (double)(b[i] >> 40);

    /* About 2^31 multiply-adds of each kind per shape, 3 to 31 runs. */
    double work = (double)s->m * (double)s->n * (double)s->k;
    int reps = work > 0 ? (int)(2147483648.0 / work) : 31;
    reps = reps < 3 ? 3 : reps > 31 ? 31 : reps;
    bench_args_t x = {s, a, b, c, da, db, dc};
    double ring = bench_median(BENCH_RING, &x, reps);
    double loop = bench_median(BENCH_LOOP, &x, reps);
    double dg = bench_median(BENCH_DGEMM, &x, reps);
    if (ring < 0 || loop < 0 || dg < 0) {
        fprintf(stderr, "trine-bench-gemm: %zux%zux%zu failed: out of memory\n", s->m, s->n, s->k);
        goto out;
    }
    printf("gemm m=%zu n=%zu k=%zu ring_s=%.6f loop_s=%.6f dgemm_s=%.6f ring_vs_loop=%.2f "
           "ring_vs_dgemm=%.2f\n",
           s->m, s->n, s->k, ring, loop, dg, loop / ring, ring / dg);
    fflush(stdout);
    rc = 0;
out:
    free(a), free(b), free(c), free(da), free(db), free(dc);
    return rc;
}

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: trine-bench-gemm [MxNxK ...]\n"
               "Times C = A B over Z_2^64 (A is M x K, B is K x N) three ways: trine's exact\n"
               "ring GEMM on OpenBLAS, a plain uint64 triple loop, and one OpenBLAS dgemm of\n"
               "the same shape. Prints one line per shape with median times in seconds.\n"
               "Without shapes: 256^3, 512^3, 1024^3 and the Network A layers\n"
               "1x128x784, 128x128x784, 128x128x128 (MxNxK).\n");
}

int main(int argc, char **argv)
{
    shape_t shapes[64];
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            bench_usage(stdout);
            return 0;
        }
        shape_t s;
        char extra;
        if (count == 64 || sscanf(argv[i], "%zux%zux%zu%c", &s.m, &s.n, &s.k, &extra) != 3 ||
            !s.m || !s.n || !s.k) {
            fprintf(stderr, "trine-bench-gemm: '%s' is not a shape MxNxK (or too many)\n", argv[i]);
            bench_usage(stderr);
            return 2;
        }
        shapes[count++] = s;
    }
    if (count == 0) {
        count = sizeof bench_default_shapes / sizeof bench_default_shapes[0];
        memcpy(shapes, bench_default_shapes, sizeof bench_default_shapes);
    }
    prg_t *prg = prg_new_random();
    if (!prg) {
        fprintf(stderr, "trine-bench-gemm: cannot start libsodium\n");
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = bench_shape(&shapes[i], prg);
    prg_destroy(&prg);
    return rc ? 1 : 0;
}
