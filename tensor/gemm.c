/* gemm.c — exact Z_2^64 matrix products on OpenBLAS dgemm (DESIGN section 6).
 *
 * Each 64-bit operand a is written as three signed limbs,
 *     a = l0 + 2^21 l1 + 2^42 l2   (mod 2^64),
 * taken from bits 0..20, 21..42 and 43..63 (21, 22 and 21 bits) and
 * sign-extended; the top one sits at bit 43 = 2*21 + 1, so it is stored
 * doubled at virtual offset 42. The product is then
 *     sum over g = 0, 1, 2 of 2^(21 g) G_g,   G_g = sum_{i+j=g} A_i B_j;
 * pairs with i + j = 3 are shifted by 63 bits, and vanish because the
 * doubled top limb is even; higher ones are shifted out of the ring.
 *
 * Each G_g is one dgemm: the A limbs lie side by side along k, [A0|A1|A2],
 * the B limbs stacked in reverse, [B2; B1; B0], so G_g is the first g+1
 * A blocks times the B blocks 2-g .. 2, with no copies. The cost is
 * k + 2k + 3k = 6k multiply-adds per output, the fewest for 64-bit words
 * (two limbs cannot work: their products alone exceed 2^53).
 *
 * dgemm is exact while every partial sum is an integer of magnitude at most
 * 2^53. With |l0| <= 2^20, |l1| <= 2^21 and |2 l2| <= 2^21,
 *     |G_2| <= k (2^41 + 2^42 + 2^41) = k 2^43,
 * so k <= 1024 = GEMM_KMAX; a longer k is cut into chunks of at most that,
 * each exact on its own, summed in uint64_t. The choice made from k is the
 * number of chunks: a 4 x 16-bit split (k <= 2^21, 10k per output in four
 * calls) was measured against this one in chunks and lost at every shape
 * tried, from 32x32x65536 (3.7x slower) to 256x256x4096 (1.6x slower).
 */
#include "gemm.h"

#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#define GEMM_LIMBS 3
#define GEMM_SHIFT 21 /* virtual offset between limbs */
#define GEMM_KMAX  1024

static const int gemm_width[GEMM_LIMBS] = {21, 22, 21}; /* bits per limb */
static const int gemm_scale[GEMM_LIMBS] = {0, 0, 1};    /* stored << scale */

/* The limb split costs a few ns per operand element, the loop about 0.35 ns
 * per multiply-add and dgemm a fifteenth of that: the loop wins for small
 * products and for thin ones (m or n below about 32, as in a batch-1
 * layer), where the split of the big operand cannot be amortised. */
#define GEMM_BLAS_MIN_WORK ((size_t)1 << 15)
#define GEMM_BLAS_MIN_SIDE 32

/* Workspaces up to this size stay with their thread for the next call:
 * a fresh allocation of that size costs more in page faults than the limb
 * conversions do. */
#define GEMM_WS_KEEP_BYTES ((size_t)128 << 20)

typedef struct {
    void *buf;
    size_t cap;
} gemm_ws_t;

static once_flag gemm_ws_once = ONCE_FLAG_INIT;
static tss_t gemm_ws_key;
static int gemm_ws_ready;

static void gemm_ws_free(void *p)
{
    gemm_ws_t *ws = p;
    free(ws->buf);
    free(ws);
}

static void gemm_ws_init(void)
{
    gemm_ws_ready = tss_create(&gemm_ws_key, gemm_ws_free) == thrd_success;
}

/* A buffer of at least bytes: the calling thread's kept workspace when the
 * size allows, else a new allocation; release it with gemm_ws_release. */
static void *gemm_ws_acquire(size_t bytes)
{
    call_once(&gemm_ws_once, gemm_ws_init);
    if (!gemm_ws_ready || bytes > GEMM_WS_KEEP_BYTES)
        return malloc(bytes);
    gemm_ws_t *ws = tss_get(gemm_ws_key);
    if (!ws) {
        ws = calloc(1, sizeof *ws);
        if (!ws)
            return NULL;
        if (tss_set(gemm_ws_key, ws) != thrd_success) {
            free(ws);
            return malloc(bytes);
        }
    }
    if (ws->cap < bytes) {
        free(ws->buf);
        ws->buf = malloc(bytes);
        ws->cap = ws->buf ? bytes : 0;
    }
    return ws->buf;
}

static void gemm_ws_release(void *buf)
{
    gemm_ws_t *ws = gemm_ws_ready ? tss_get(gemm_ws_key) : NULL;
    if (!ws || ws->buf != buf)
        free(buf);
}

static inline uint64_t gemm_elem(const uint64_t *x, gemm_trans_t t, size_t rows, size_t cols,
                                 size_t r, size_t c)
{
    return t == GEMM_TRANS ? x[c * rows + r] : x[r * cols + c];
}

trine_status_t gemm_ring_ref(uint64_t *c, const uint64_t *a, gemm_trans_t ta, const uint64_t *b,
                             gemm_trans_t tb, size_t m, size_t n, size_t k)
{
    if (m == 0 || n == 0 || k == 0)
        return TRINE_EINVAL;
    memset(c, 0, m * n * sizeof *c);
    for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < k; p++) {
            uint64_t aip = gemm_elem(a, ta, m, k, i, p);
            uint64_t *crow = c + i * n;
            if (tb == GEMM_NOTRANS) {
                const uint64_t *brow = b + p * n;
                for (size_t j = 0; j < n; j++)
                    crow[j] += aip * brow[j];
            } else {
                for (size_t j = 0; j < n; j++)
                    crow[j] += aip * b[j * k + p];
            }
        }
    return TRINE_OK;
}

/* Sign-extends the low `bits` bits of x. */
static inline int64_t gemm_sext(uint64_t x, int bits)
{
    return (int64_t)(x << (64 - bits)) >> (64 - bits);
}

/* Splits a rows x cols block of src (row stride ld_src) into limbs as
 * doubles. Limb l goes to dst + slot(l) * limb_stride, where
 * slot(l) is l, or 2-l when reversed; rows are ld_dst apart there. */
static void gemm_split(double *dst, size_t ld_dst, size_t limb_stride, int reversed,
                       const uint64_t *src, size_t ld_src, size_t rows, size_t cols)
{
    double *out[GEMM_LIMBS];
    for (int l = 0; l < GEMM_LIMBS; l++)
        out[l] = dst + (size_t)(reversed ? GEMM_LIMBS - 1 - l : l) * limb_stride;
    for (size_t r = 0; r < rows; r++) {
        const uint64_t *s = src + r * ld_src;
        for (size_t c = 0; c < cols; c++) {
            /* a = l0 + 2^width0 * rest: each limb is the sign-extended low
             * bits of what the lower limbs leave. */
            uint64_t rest = s[c];
            for (int l = 0; l < GEMM_LIMBS; l++) {
                int64_t v = gemm_sext(rest, gemm_width[l]);
                out[l][r * ld_dst + c] = (double)(v * ((int64_t)1 << gemm_scale[l]));
                rest = (rest - (uint64_t)v) >> gemm_width[l];
            }
        }
    }
}

/* c (+)= the exact product of one k-chunk [k0, k0+kc) of the operands.
 * ws holds L*(m + n)*kc + L*m*n doubles. */
static void gemm_chunk(uint64_t *c, int accumulate, const uint64_t *a, gemm_trans_t ta,
                       const uint64_t *b, gemm_trans_t tb, size_t m, size_t n, size_t k, size_t k0,
                       size_t kc, double *ws)
{
    const size_t L = GEMM_LIMBS;
    double *la = ws, *lb = la + L * m * kc, *g = lb + L * kc * n;

    if (ta == GEMM_NOTRANS) /* m x (L kc): limb blocks side by side */
        gemm_split(la, L * kc, kc, 0, a + k0, k, m, kc);
    else /* (L kc) x m: limb blocks stacked */
        gemm_split(la, m, kc * m, 0, a + k0 * m, m, kc, m);
    if (tb == GEMM_NOTRANS) /* (L kc) x n: stacked, highest limb first */
        gemm_split(lb, n, kc * n, 1, b + k0 * n, n, kc, n);
    else /* n x (L kc): side by side, highest limb first */
        gemm_split(lb, L * kc, kc, 1, b + k0, k, n, kc);

    for (size_t gi = 0; gi < L; gi++) {
        size_t kk = (gi + 1) * kc, first = L - 1 - gi;
        const double *bg = tb == GEMM_NOTRANS ? lb + first * kc * n : lb + first * kc;
        cblas_dgemm(CblasRowMajor, ta == GEMM_TRANS ? CblasTrans : CblasNoTrans,
                    tb == GEMM_TRANS ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
                    (blasint)kk, 1.0, la, (blasint)(ta == GEMM_TRANS ? m : L * kc), bg,
                    (blasint)(tb == GEMM_TRANS ? L * kc : n), 0.0, g + gi * m * n, (blasint)n);
    }

    /* Every G_g is an exact integer below 2^53: convert and shift in. */
    size_t mn = m * n;
    for (size_t i = 0; i < mn; i++) {
        uint64_t sum = accumulate ? c[i] : 0;
        for (size_t gi = 0; gi < L; gi++)
            sum += (uint64_t)(int64_t)g[gi * mn + i] << (gi * GEMM_SHIFT);
        c[i] = sum;
    }
}

trine_status_t gemm_ring_blas(uint64_t *c, const uint64_t *a, gemm_trans_t ta, const uint64_t *b,
                              gemm_trans_t tb, size_t m, size_t n, size_t k)
{
    const size_t L = GEMM_LIMBS;
    size_t kc = k < GEMM_KMAX ? k : GEMM_KMAX;
    if (m == 0 || n == 0 || k == 0 || m > INT_MAX || n > INT_MAX || L * kc > INT_MAX)
        return TRINE_EINVAL;
    size_t bytes, mk, nk, mn;
    if (__builtin_mul_overflow(m, kc, &mk) || __builtin_mul_overflow(n, kc, &nk) ||
        __builtin_mul_overflow(m, n, &mn) || __builtin_add_overflow(mk, nk, &bytes) ||
        __builtin_add_overflow(bytes, mn, &bytes) ||
        __builtin_mul_overflow(bytes, L * sizeof(double), &bytes))
        return TRINE_ENOMEM;
    double *ws = gemm_ws_acquire(bytes);
    if (!ws)
        return TRINE_ENOMEM;
    for (size_t k0 = 0; k0 < k; k0 += kc) {
        size_t len = k - k0 < kc ? k - k0 : kc;
        gemm_chunk(c, k0 > 0, a, ta, b, tb, m, n, k, k0, len, ws);
    }
    gemm_ws_release(ws);
    return TRINE_OK;
}

trine_status_t gemm_ring(uint64_t *c, const uint64_t *a, gemm_trans_t ta, const uint64_t *b,
                         gemm_trans_t tb, size_t m, size_t n, size_t k)
{
    if (m != 0 && n != 0 && k != 0 &&
        (m < GEMM_BLAS_MIN_SIDE || n < GEMM_BLAS_MIN_SIDE || m * n <= GEMM_BLAS_MIN_WORK / k))
        return gemm_ring_ref(c, a, ta, b, tb, m, n, k);
    return gemm_ring_blas(c, a, ta, b, tb, m, n, k);
}

trine_status_t tensor_matmul(tensor_t *out, const tensor_t *a, gemm_trans_t ta, const tensor_t *b,
                             gemm_trans_t tb)
{
    if (a->ndim != 2 || b->ndim != 2 || out->ndim != 2)
        return TRINE_ESHAPE;
    if (out == a || out == b)
        return TRINE_EINVAL;
    size_t m = ta == GEMM_TRANS ? a->shape[1] : a->shape[0];
    size_t k = ta == GEMM_TRANS ? a->shape[0] : a->shape[1];
    size_t kb = tb == GEMM_TRANS ? b->shape[1] : b->shape[0];
    size_t n = tb == GEMM_TRANS ? b->shape[0] : b->shape[1];
    if (k != kb || out->shape[0] != m || out->shape[1] != n)
        return TRINE_ESHAPE;
    return gemm_ring(out->data, a->data, ta, b->data, tb, m, n, k);
}
