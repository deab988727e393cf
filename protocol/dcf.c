/* dcf.c — distributed comparison functions on fixed-key AES (dcf.h).
 *
 * Key layout, element after element: DCF_BITS levels of [seed correction
 * (16 bytes) | words value corrections (8 bytes each, little-endian)],
 * then the words final corrections, then the level control-bit
 * corrections, two bits a level (t_L at bit 2i, t_R at 2i + 1).
 *
 * The evaluators' and the dealer's work goes DCF_LANES elements at a time,
 * level by level, so that the AES rounds of independent blocks overlap.
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

/* Elements processed together: 4 evaluator paths (8 blocks a level) or
 * 4 key pairs of the dealer (32 blocks). */
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

/* b[i] = AES_K(b[i]) xor b[i] for 8 blocks (Matyas-Meyer-Oseas). */
DCF_AES static void dcf_mmo8(const dcf_aes_t *k, __m128i b[8])
{
    __m128i x[8];
    for (unsigned i = 0; i < 8; i++)
        x[i] = _mm_xor_si128(b[i], k->rk[0]);
    for (unsigned r = 1; r < 10; r++)
        for (unsigned i = 0; i < 8; i++)
            x[i] = _mm_aesenc_si128(x[i], k->rk[r]);
    for (unsigned i = 0; i < 8; i++)
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

/* Everything the dealer tracks for one key pair. */
typedef struct {
    __m128i s[2];
    unsigned t[2];
    uint64_t va[DCF_WORDS_MAX]; /* the evaluators' running sum on alpha's path */
} dcf_pair_t;

/* One level of one key pair: the expansions x[0..8) are s0's four blocks
 * (s_L, s_R, v_L, v_R), then s1's. */
DCF_AES static void dcf_gen_level(dcf_pair_t *p, uint8_t *key, unsigned i, const __m128i x[8],
                                  unsigned a, const uint64_t *beta, unsigned words)
{
    __m128i s[2][2];
    unsigned t[2][2];
    for (unsigned b = 0; b < 2; b++)
        for (unsigned side = 0; side < 2; side++) {
            s[b][side] = x[4 * b + side];
            t[b][side] = dcf_take_t(&s[b][side]);
        }
    unsigned keep = a, lose = 1u - a;
    __m128i scw = _mm_xor_si128(s[0][lose], s[1][lose]);
    uint64_t sign = p->t[1] ? UINT64_MAX : 1u;
    uint8_t *lvl = key + i * dcf_level_bytes(words);
    _mm_storeu_si128((__m128i *)lvl, scw);
    for (unsigned k = 0; k < words; k++) {
        uint64_t vl0 = dcf_word(x[2 + lose], k), vl1 = dcf_word(x[6 + lose], k);
        uint64_t vk0 = dcf_word(x[2 + keep], k), vk1 = dcf_word(x[6 + keep], k);
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

DCF_AES void dcf_gen(uint8_t *cw, const uint64_t *root0, const uint64_t *root1,
                     const uint64_t *alpha, const uint64_t *beta, unsigned words, size_t n)
{
    dcf_aes_t k;
    dcf_aes_init(&k);
    size_t kb = dcf_key_bytes(words);
    memset(cw, 0, n * kb);
    for (size_t e0 = 0; e0 < n; e0 += DCF_LANES) {
        size_t m = n - e0 < DCF_LANES ? n - e0 : DCF_LANES;
        dcf_pair_t p[DCF_LANES];
        memset(p, 0, sizeof p);
        for (size_t l = 0; l < m; l++) {
            p[l].s[0] = dcf_load_root(&root0[(e0 + l) * DCF_SEED_WORDS]);
            p[l].s[1] = dcf_load_root(&root1[(e0 + l) * DCF_SEED_WORDS]);
            p[l].t[1] = 1;
        }
        for (unsigned i = 0; i < DCF_BITS; i++)
            for (size_t l = 0; l < m; l++) {
                __m128i x[8];
                for (unsigned b = 0; b < 2; b++)
                    for (unsigned j = 0; j < 4; j++)
                        x[4 * b + j] = dcf_tweak(p[l].s[b], j);
                dcf_mmo8(&k, x);
                size_t e = e0 + l;
                dcf_gen_level(&p[l], cw + e * kb, i, x, dcf_bit(alpha[e], i), &beta[e * words],
                              words);
            }
        __m128i x[8];
        for (size_t l = 0; l < DCF_LANES; l++)
            for (unsigned b = 0; b < 2; b++)
                x[2 * l + b] = dcf_tweak(l < m ? p[l].s[b] : _mm_setzero_si128(), 4);
        dcf_mmo8(&k, x);
        for (size_t l = 0; l < m; l++) {
            uint64_t sign = p[l].t[1] ? UINT64_MAX : 1u;
            uint8_t *fin = cw + (e0 + l) * kb + DCF_BITS * dcf_level_bytes(words);
            for (unsigned w = 0; w < words; w++)
                dcf_put64(fin + 8u * w, sign * (dcf_word(x[2 * l + 1], w) -
                                                dcf_word(x[2 * l], w) - p[l].va[w]));
        }
        memset(p, 0, sizeof p);
    }
}

DCF_AES void dcf_eval(uint64_t *out, unsigned b, const uint64_t *root, const uint8_t *cw,
                      const uint64_t *x, unsigned words, size_t n)
{
    dcf_aes_t k;
    dcf_aes_init(&k);
    size_t kb = dcf_key_bytes(words), lb = dcf_level_bytes(words);
    uint64_t sign = b ? UINT64_MAX : 1u;
    for (size_t e0 = 0; e0 < n; e0 += DCF_LANES) {
        size_t m = n - e0 < DCF_LANES ? n - e0 : DCF_LANES;
        __m128i s[DCF_LANES];
        unsigned t[DCF_LANES];
        uint64_t v[DCF_LANES][DCF_WORDS_MAX] = {{0}};
        for (size_t l = 0; l < DCF_LANES; l++) {
            s[l] = l < m ? dcf_load_root(&root[(e0 + l) * DCF_SEED_WORDS]) : _mm_setzero_si128();
            t[l] = b;
        }
        for (unsigned i = 0; i < DCF_BITS; i++) {
            __m128i blk[8];
            unsigned xi[DCF_LANES];
            for (size_t l = 0; l < DCF_LANES; l++) {
                xi[l] = l < m ? dcf_bit(x[e0 + l], i) : 0;
                blk[2 * l] = dcf_tweak(s[l], xi[l]);
                blk[2 * l + 1] = dcf_tweak(s[l], 2 + xi[l]);
            }
            dcf_mmo8(&k, blk);
            for (size_t l = 0; l < m; l++) {
                const uint8_t *key = cw + (e0 + l) * kb, *lvl = key + i * lb;
                const uint8_t *tb = key + DCF_BITS * lb + 8u * words;
                unsigned bit = 2 * i + xi[l];
                unsigned tcw = (tb[bit / 8] >> (bit % 8)) & 1u;
                __m128i ns = blk[2 * l];
                unsigned nt = dcf_take_t(&ns);
                __m128i mask = _mm_set1_epi64x(-(long long)t[l]);
                ns = _mm_xor_si128(ns, _mm_and_si128(_mm_loadu_si128((const __m128i *)lvl), mask));
                nt ^= t[l] & tcw;
                uint64_t tm = 0 - (uint64_t)t[l];
                for (unsigned w = 0; w < words; w++)
                    v[l][w] += sign * (dcf_word(blk[2 * l + 1], w) +
                                       (tm & dcf_get64(lvl + DCF_SEED_BYTES + 8u * w)));
                s[l] = ns;
                t[l] = nt;
            }
        }
        __m128i blk[8];
        for (size_t l = 0; l < DCF_LANES; l++) {
            blk[l] = dcf_tweak(s[l], 4);
            blk[DCF_LANES + l] = _mm_setzero_si128();
        }
        dcf_mmo8(&k, blk);
        for (size_t l = 0; l < m; l++) {
            const uint8_t *fin = cw + (e0 + l) * kb + DCF_BITS * lb;
            uint64_t tm = 0 - (uint64_t)t[l];
            for (unsigned w = 0; w < words; w++)
                out[(e0 + l) * words + w] =
                    v[l][w] + sign * (dcf_word(blk[l], w) + (tm & dcf_get64(fin + 8u * w)));
        }
    }
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
