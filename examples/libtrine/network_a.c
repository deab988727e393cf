/* network_a.c — Network A (784-128-128-10, ReLU) on a trine cluster through
 * libtrine alone: seeded weights and images are shared, the scores program
 * runs as one job, the scores are revealed and compared with the same
 * network computed here in plaintext.
 *
 *   network_a CLUSTER.ini CLIENT.key network_a_scores.prog [IMAGES]
 *
 * Build against an installed libtrine:
 *   cc network_a.c $(pkg-config --cflags --libs trine) -lm -o network_a
 * Exit status 0 when every score is within 0.05 of plaintext.
 */
#include <trine.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define IN     784
#define HIDDEN 128
#define OUT    10
#define TOL    0.05

/* A uniform value in [lo, hi) from a 64-bit LCG (Knuth's MMIX constants). */
static double uniform(uint64_t *state, double lo, double hi)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(*state >> 11) / 9007199254740992.0;
}

static void fill(double *v, size_t n, uint64_t *state, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        v[i] = uniform(state, lo, hi);
}

/* out[n, m] = relu?(a[n, k] b[k, m] + bias[m]) */
static void layer(double *out, const double *a, const double *b, const double *bias, size_t n,
                  size_t k, size_t m, int relu)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double sum = bias[j];
            for (size_t t = 0; t < k; t++)
                sum += a[i * k + t] * b[t * m + j];
            out[i * m + j] = relu && sum < 0 ? 0 : sum;
        }
}

static size_t argmax(const double *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        best = v[i] > v[best] ? i : best;
    return best;
}

/* Says what failed and why, in the parties' words. */
static int failed(trine_client_t *c, const char *what)
{
    fprintf(stderr, "network_a: %s: %s\n", what, trine_errmsg(c));
    return 1;
}

typedef struct {
    const char *name;
    double *v;
    size_t rows, cols;
} tensor_t;

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: network_a CLUSTER.ini CLIENT.key network_a_scores.prog [IMAGES]\n");
        return 2;
    }
    size_t n = argc == 5 ? (size_t)strtoul(argv[4], NULL, 10) : 64;
    if (n == 0 || n > 100000) {
        fprintf(stderr, "network_a: IMAGES is 1 to 100000\n");
        return 2;
    }
    tensor_t t[] = {{"x", NULL, n, IN},          {"w1", NULL, IN, HIDDEN}, {"b1", NULL, 1, HIDDEN},
                    {"w2", NULL, HIDDEN, HIDDEN}, {"b2", NULL, 1, HIDDEN},  {"w3", NULL, HIDDEN, OUT},
                    {"b3", NULL, 1, OUT}};
    size_t nt = sizeof t / sizeof t[0];
    uint64_t seed = 42;
    int rc = 1;
    for (size_t i = 0; i < nt; i++) {
        if (!(t[i].v = malloc(t[i].rows * t[i].cols * sizeof *t[i].v)))
            goto out;
        double r = i == 0 ? 1 : 1 / sqrt((double)t[i].rows); /* pixels in [0, 1) */
        fill(t[i].v, t[i].rows * t[i].cols, &seed, i == 0 ? 0 : -r, r);
    }

    trine_client_t *c = trine_connect(argv[1], argv[2]);
    if (!c || trine_code(c) != TRINE_CODE_OK) {
        rc = failed(c, "connect");
        trine_close(&c);
        goto out;
    }
    size_t shared = 0;
    for (; shared < nt; shared++) {
        /* biases as vectors: the program adds them to every row */
        trine_tensor_t tt = {TRINE_FLOAT64, t[shared].rows == 1 ? 1 : 2,
                             {t[shared].rows == 1 ? t[shared].cols : t[shared].rows,
                              t[shared].cols},
                             t[shared].v};
        if (trine_share(c, t[shared].name, &tt, 0) != TRINE_CODE_OK) {
            rc = failed(c, t[shared].name);
            break;
        }
    }
    trine_tensor_t scores = {0};
    trine_run_t run = {.prefix = "a-", .batch = 128};
    trine_report_t rep;
    if (shared == nt) {
        if (trine_run(c, argv[3], &run) != TRINE_CODE_OK)
            rc = failed(c, "run");
        else if (trine_report(c, &rep) != TRINE_CODE_OK ||
                 trine_reveal(c, "a-scores", &scores) != TRINE_CODE_OK)
            rc = failed(c, "reveal");
        else if (trine_rm(c, "a-scores") != TRINE_CODE_OK)
            rc = failed(c, "rm");
        else
            rc = 0;
    }
    for (size_t i = 0; i < shared; i++)
        if (trine_rm(c, t[i].name) != TRINE_CODE_OK)
            rc = failed(c, "rm");

    if (rc == 0) {
        double *h1 = malloc(n * HIDDEN * sizeof *h1), *h2 = malloc(n * HIDDEN * sizeof *h2),
               *plain = malloc(n * OUT * sizeof *plain);
        if (!h1 || !h2 || !plain || scores.dtype != TRINE_FLOAT64 || scores.ndim != 2 ||
            scores.shape[0] != n || scores.shape[1] != OUT) {
            fprintf(stderr, "network_a: the scores are not [%zu,%d] float64\n", n, OUT);
            rc = 1;
        } else {
            layer(h1, t[0].v, t[1].v, t[2].v, n, IN, HIDDEN, 1);
            layer(h2, h1, t[3].v, t[4].v, n, HIDDEN, HIDDEN, 1);
            layer(plain, h2, t[5].v, t[6].v, n, HIDDEN, OUT, 0);
            const double *priv = scores.data;
            double worst = 0;
            size_t same = 0;
            for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < OUT; j++)
                    worst = fmax(worst, fabs(priv[i * OUT + j] - plain[i * OUT + j]));
                same += argmax(priv + i * OUT, OUT) == argmax(plain + i * OUT, OUT);
            }
            printf("Network A through libtrine: %zu images, job %016llx of %llu steps in "
                   "%.3f s, %.2f MB all parties; max |private - plaintext| = %.2g; same class "
                   "on %zu of %zu\n",
                   n, (unsigned long long)rep.job, (unsigned long long)rep.steps, rep.time_s,
                   (double)(rep.sent[0] + rep.sent[1] + rep.sent[2]) / 1e6, worst, same, n);
            rc = worst <= TOL ? 0 : 1;
        }
        free(h1);
        free(h2);
        free(plain);
    }
    trine_tensor_clear(&scores);
    trine_close(&c);
out:
    for (size_t i = 0; i < nt; i++)
        free(t[i].v);
    return rc;
}
