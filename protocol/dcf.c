/* dcf.c — distributed comparison functions on fixed-key AES (dcf.h).
 *
 * Key layout, element after element: DCF_BITS levels of [seed correction
 * (16 bytes) | words value corrections (8 bytes each, little-endian)],
 * then the words final corrections, then the level control-bit
 * corrections, two bits a level (t_L at bit 2i, t_R at 2i + 1).
 *
 * The dealer expands both keys' seeds of a level together (8 or 10
 * blocks); the evaluators go DCF_LANES elements at a time, level by level
 * (2 for three words: 6 blocks that stay in registers), so that the AES
 * rounds of independent blocks overlap.
 */
#include "dcf.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define DCF_AES __attribute__((target("aes,sse4.1")))
#define DCF_HAVE_AESNI 1
#else
#define DCF_HAVE_AESNI 0
#endif

/* Evaluator paths followed together: 8 blocks a level. */
#define DCF_LANES 4u

/* The bytes of one level's corrections. */
static size_t dcf_level_bytes(unsigned words)
{
    return DCF_SEED_BYTES + 8u * words;
}

size_t dcf_key_bytes(unsigned words)
{
    return DCF_BITS * dcf_level_bytes(words) + 8u * words + (2u * DCF_BITS + 7u) / 8u;
}

#if DCF_HAVE_AESNI

/* Little-endian words of the key (this code runs on x86-64 only). */
static uint64_t dcf_get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void dcf_put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof v);
}

/* Bit i (from the top) of a DCF_BITS-bit input. */
static unsigned dcf_bit(uint64_t x, unsigned i)
{
    return (unsigned)(x >> (DCF_BITS - 1u - i)) & 1u;
}

bool dcf_available(void)
{
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
}

/* The round keys of the fixed public key. */
typedef struct {
    __m128i rk[11];
} dcf_aes_t;

DCF_AES static __m128i dcf_key_step(__m128i key, __m128i gen)
{
    gen = _mm_shuffle_epi32(gen, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, gen);
}

DCF_AES static void dcf_aes_init(dcf_aes_t *k)
{
    static const uint8_t fixed[16] = "trine dcf prg k0";
    __m128i *rk = k->rk;
    rk[0] = _mm_loadu_si128((const __m128i *)fixed);
    rk[1] = dcf_key_step(rk[0], _mm_aeskeygenassist_si128(rk[0], 0x01));
    rk[2] = dcf_key_step(rk[1], _mm_aeskeygenassist_si128(rk[1], 0x02));
    rk[3] = dcf_key_step(rk[2], _mm_aeskeygenassist_si128(rk[2], 0x04));
    rk[4] = dcf_key_step(rk[3], _mm_aeskeygenassist_si128(rk[3], 0x08));
    rk[5] = dcf_key_step(rk[4], _mm_aeskeygenassist_si128(rk[4], 0x10));
    rk[6] = dcf_key_step(rk[5], _mm_aeskeygenassist_si128(rk[5], 0x20));
    rk[7] = dcf_key_step(rk[6], _mm_aeskeygenassist_si128(rk[6], 0x40));
    rk[8] = dcf_key_step(rk[7], _mm_aeskeygenassist_si128(rk[7], 0x80));
    rk[9] = dcf_key_step(rk[8], _mm_aeskeygenassist_si128(rk[8], 0x1b));
    rk[10] = dcf_key_step(rk[9], _mm_aeskeygenassist_si128(rk[9], 0x36));
}

/* b[i] = AES_K(b[i]) xor b[i] for n <= DCF_BLOCKS_MAX blocks
 * (Matyas-Meyer-Oseas), the rounds of all blocks interleaved. */
#define DCF_BLOCKS_MAX 12u
__attribute__((always_inline)) DCF_AES static inline void dcf_mmo(const dcf_aes_t *k, __m128i *b, unsigned n)
{
    __m128i x[DCF_BLOCKS_MAX];
    for (unsigned i = 0; i < n; i++)
        x[i] = _mm_xor_si128(b[i], k->rk[0]);
    for (unsigned r = 1; r < 10; r++)
        for (unsigned i = 0; i < n; i++)
            x[i] = _mm_aesenc_si128(x[i], k->rk[r]);
    for (unsigned i = 0; i < n; i++)
        b[i] = _mm_xor_si128(_mm_aesenclast_si128(x[i], k->rk[10]), b[i]);
}

DCF_AES static __m128i dcf_tweak(__m128i s, unsigned j)
{
    return _mm_xor_si128(s, _mm_set_epi64x(0, (long long)j));
}

/* The control bit of an expanded seed, which is then cleared. */
DCF_AES static unsigned dcf_take_t(__m128i *s)
{
    unsigned t = (unsigned)_mm_cvtsi128_si64(*s) & 1u;
    *s = _mm_and_si128(*s, _mm_set_epi64x(-1, ~1LL));
    return t;
}

DCF_AES static uint64_t dcf_word(__m128i v, unsigned k)
{
    return (uint64_t)(k ? _mm_extract_epi64(v, 1) : _mm_cvtsi128_si64(v));
}

DCF_AES static __m128i dcf_load_root(const uint64_t *root)
{
    return _mm_set_epi64x((long long)root[1], (long long)root[0]);
}

/* The expansions G_j of a seed: j = 0, 1 the left and right seeds, 2 and
 * 3 the left and right value words 0 and 1, 4 word 2 of both sides (left
 * low, right high); 5 and 6 the final Convert's words. */
#define DCF_EXP_SEEDS 2u
#define DCF_CONVERT   5u
static unsigned dcf_exp_blocks(unsigned words)
{
    return words > 2 ? 5u : 4u;
}

/* Word k of the value of `side`, v pointing at the expansions G_2 ... */
DCF_AES static uint64_t dcf_value(const __m128i *v, unsigned side, unsigned k)
{
    return k < 2 ? dcf_word(v[side], k) : dcf_word(v[2], side);
}

/* Everything the dealer tracks for one key pair. */
typedef struct {
    __m128i s[2];
    unsigned t[2];
    uint64_t va[DCF_WORDS_MAX]; /* the evaluators' running sum on alpha's path */
} dcf_pair_t;

/* One level of one key pair: x holds s0's dcf_exp_blocks(words)
 * expansions, then s1's. */
DCF_AES static void dcf_gen_level(dcf_pair_t *p, uint8_t *key, unsigned i, const __m128i *x,
                                  unsigned a, const uint64_t *beta, unsigned words)
{
    unsigned nb = dcf_exp_blocks(words);
    __m128i s[2][2];
    unsigned t[2][2];
    for (unsigned b = 0; b < 2; b++)
        for (unsigned side = 0; side < 2; side++) {
            s[b][side] = x[nb * b + side];
            t[b][side] = dcf_take_t(&s[b][side]);
        }
    const __m128i *v0 = x + DCF_EXP_SEEDS, *v1 = x + nb + DCF_EXP_SEEDS;
    unsigned keep = a, lose = 1u - a;
    __m128i scw = _mm_xor_si128(s[0][lose], s[1][lose]);
    uint64_t sign = p->t[1] ? UINT64_MAX : 1u;
    uint8_t *lvl = key + i * dcf_level_bytes(words);
    _mm_storeu_si128((__m128i *)lvl, scw);
    for (unsigned k = 0; k < words; k++) {
        uint64_t vl0 = dcf_value(v0, lose, k), vl1 = dcf_value(v1, lose, k);
        uint64_t vk0 = dcf_value(v0, keep, k), vk1 = dcf_value(v1, keep, k);
        uint64_t vcw = sign * (vl1 - vl0 - p->va[k]);
        if (a) /* the lost side is the left one: x < alpha there */
            vcw += sign * beta[k];
        p->va[k] = p->va[k] - vk1 + vk0 + sign * vcw;
        dcf_put64(lvl + DCF_SEED_BYTES + 8u * k, vcw);
    }
    unsigned tcw[2] = {t[0][0] ^ t[1][0] ^ a ^ 1u, t[0][1] ^ t[1][1] ^ a};
    uint8_t *tb = key + DCF_BITS * dcf_level_bytes(words) + 8u * words;
    tb[(2 * i) / 8] |= (uint8_t)(tcw[0] << ((2 * i) % 8));
    tb[(2 * i + 1) / 8] |= (uint8_t)(tcw[1] << ((2 * i + 1) % 8));
    for (unsigned b = 0; b < 2; b++) {
        __m128i mask = _mm_set1_epi64x(-(long long)p->t[b]);
        p->s[b] = _mm_xor_si128(s[b][keep], _mm_and_si128(scw, mask));
        p->t[b] = t[b][keep] ^ (p->t[b] & tcw[keep]);
    }
}

/* The final Convert: words of the expansions G_5 (words 0, 1) and G_6
 * (word 2) of a seed, into conv. */
DCF_AES static void dcf_convert(const dcf_aes_t *k, __m128i s, uint64_t *conv, unsigned words)
{
    __m128i blk[2] = {dcf_tweak(s, DCF_CONVERT), dcf_tweak(s, DCF_CONVERT + 1)};
    dcf_mmo(k, blk, words > 2 ? 2u : 1u);
    for (unsigned w = 0; w < words; w++)
        conv[w] = dcf_word(blk[w / 2], w % 2);
}

DCF_AES void dcf_gen(uint8_t *cw, const uint64_t *root0, const uint64_t *root1,
                     const uint64_t *alpha, const uint64_t *beta, unsigned words, size_t n)
{
    dcf_aes_t k;
    dcf_aes_init(&k);
    size_t kb = dcf_key_bytes(words);
    unsigned nb = dcf_exp_blocks(words);
    memset(cw, 0, n * kb);
    for (size_t e = 0; e < n; e++) {
        dcf_pair_t p = {.s = {dcf_load_root(&root0[e * DCF_SEED_WORDS]),
                              dcf_load_root(&root1[e * DCF_SEED_WORDS])},
                        .t = {0, 1}};
        for (unsigned i = 0; i < DCF_BITS; i++) {
            __m128i x[2 * 5];
            for (unsigned b = 0; b < 2; b++)
                for (unsigned j = 0; j < nb; j++)
                    x[nb * b + j] = dcf_tweak(p.s[b], j);
            if (nb == 5)
                dcf_mmo(&k, x, 10);
            else
                dcf_mmo(&k, x, 8);
            dcf_gen_level(&p, cw + e * kb, i, x, dcf_bit(alpha[e], i), &beta[e * words], words);
        }
        uint64_t c0[DCF_WORDS_MAX], c1[DCF_WORDS_MAX];
        dcf_convert(&k, p.s[0], c0, words);
        dcf_convert(&k, p.s[1], c1, words);
        uint64_t sign = p.t[1] ? UINT64_MAX : 1u;
        uint8_t *fin = cw + e * kb + DCF_BITS * dcf_level_bytes(words);
        for (unsigned w = 0; w < words; w++)
            dcf_put64(fin + 8u * w, sign * (c1[w] - c0[w] - p.va[w]));
        memset(&p, 0, sizeof p);
    }
}

/* dcf_eval with per = 2 or 3 blocks a lane expands a level, a constant
 * where it is inlined so that the blocks stay in registers. */
__attribute__((always_inline)) DCF_AES static inline void
dcf_eval_lanes(const dcf_aes_t *kp, uint64_t *out, unsigned b, const uint64_t *root,
               const uint8_t *cw, const uint64_t *x, unsigned words, size_t n, const unsigned per,
               const size_t lanes)
{
    dcf_aes_t k = *kp;
    size_t kb = dcf_key_bytes(words), lb = dcf_level_bytes(words);
    uint64_t sign = b ? UINT64_MAX : 1u;
    for (size_t e0 = 0; e0 < n; e0 += lanes) {
        size_t m = n - e0 < lanes ? n - e0 : lanes;
        __m128i s[DCF_LANES];
        unsigned t[DCF_LANES];
        uint64_t v[DCF_LANES][DCF_WORDS_MAX] = {{0}};
        for (size_t l = 0; l < lanes; l++) {
            s[l] = l < m ? dcf_load_root(&root[(e0 + l) * DCF_SEED_WORDS]) : _mm_setzero_si128();
            t[l] = b;
        }
        for (unsigned i = 0; i < DCF_BITS; i++) {
            __m128i blk[DCF_LANES * 3];
            unsigned xi[DCF_LANES];
            for (size_t l = 0; l < lanes; l++) {
                xi[l] = l < m ? dcf_bit(x[e0 + l], i) : 0;
                blk[per * l] = dcf_tweak(s[l], xi[l]);
                blk[per * l + 1] = dcf_tweak(s[l], DCF_EXP_SEEDS + xi[l]);
                if (per == 3)
                    blk[per * l + 2] = dcf_tweak(s[l], DCF_EXP_SEEDS + 2);
            }
            dcf_mmo(&k, blk, per * lanes);
            for (size_t l = 0; l < m; l++) {
                const uint8_t *key = cw + (e0 + l) * kb, *lvl = key + i * lb;
                const uint8_t *tb = key + DCF_BITS * lb + 8u * words;
                unsigned bit = 2 * i + xi[l];
                unsigned tcw = (tb[bit / 8] >> (bit % 8)) & 1u;
                __m128i ns = blk[per * l];
                unsigned nt = dcf_take_t(&ns);
                __m128i mask = _mm_set1_epi64x(-(long long)t[l]);
                ns = _mm_xor_si128(ns, _mm_and_si128(_mm_loadu_si128((const __m128i *)lvl), mask));
                nt ^= t[l] & tcw;
                uint64_t tm = 0 - (uint64_t)t[l];
                /* this side's values: G_2 or G_3, and G_4's half for a third word */
                for (unsigned w = 0; w < words; w++) {
                    uint64_t val = w < 2 ? dcf_word(blk[per * l + 1], w)
                                         : dcf_word(blk[per * l + 2], xi[l]);
                    v[l][w] += sign * (val + (tm & dcf_get64(lvl + DCF_SEED_BYTES + 8u * w)));
                }
                s[l] = ns;
                t[l] = nt;
            }
        }
        for (size_t l = 0; l < m; l++) {
            const uint8_t *fin = cw + (e0 + l) * kb + DCF_BITS * lb;
            uint64_t tm = 0 - (uint64_t)t[l], conv[DCF_WORDS_MAX];
            dcf_convert(&k, s[l], conv, words);
            for (unsigned w = 0; w < words; w++)
                out[(e0 + l) * words + w] =
                    v[l][w] + sign * (conv[w] + (tm & dcf_get64(fin + 8u * w)));
        }
    }
}

DCF_AES void dcf_eval(uint64_t *out, unsigned b, const uint64_t *root, const uint8_t *cw,
                      const uint64_t *x, unsigned words, size_t n)
{
    dcf_aes_t k;
    dcf_aes_init(&k);
    if (words > 2)
        dcf_eval_lanes(&k, out, b, root, cw, x, words, n, 3, 2);
    else
        dcf_eval_lanes(&k, out, b, root, cw, x, words, n, 2, DCF_LANES);
}

#else /* no AES-NI: dcf_available() says so and nothing else is called */

bool dcf_available(void)
{
    return false;
}

void dcf_gen(uint8_t *cw, const uint64_t *root0, const uint64_t *root1, const uint64_t *alpha,
             const uint64_t *beta, unsigned words, size_t n)
{
    (void)cw, (void)root0, (void)root1, (void)alpha, (void)beta, (void)words, (void)n;
}

void dcf_eval(uint64_t *out, unsigned b, const uint64_t *root, const uint8_t *cw,
              const uint64_t *x, unsigned words, size_t n)
{
    (void)out, (void)b, (void)root, (void)cw, (void)x, (void)words, (void)n;
}

#endif
