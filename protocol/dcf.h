/* dcf.h — distributed comparison functions (Boyle, Gilboa, Ishai, Kolobov,
 * Ostrovsky, Tyagi, EUROCRYPT 2021, Fig. 1): a dealer splits
 *     f(x) = beta if x < alpha, else 0      (x, alpha < 2^DCF_BITS)
 * into two keys, each of which alone looks random; evaluated at the same
 * public x, the two outputs are additive shares of f(x) in Z_2^64 (beta is
 * a vector of `words` ring elements, 1 to DCF_WORDS_MAX).
 *
 * A key is a 16-byte root seed, which the protocol derives from the seed
 * the dealer shares with the evaluator (so it never travels), and the
 * correction words, which are the same for both evaluators and are what
 * the dealer sends: DCF_BITS levels of a 16-byte seed correction and
 * `words` ring words, two bits per level, and `words` final words.
 *
 * The length-doubling PRG is fixed-key AES-128 in Matyas-Meyer-Oseas form,
 * G_j(s) = AES_K(s xor j) xor s xor j, on the AES-NI instructions. The low
 * bit of an expanded seed is its control bit t and is then cleared, so the
 * seeds carry 127 bits of security. dcf_available() tells whether this CPU
 * has AES-NI; the other functions must not be called when it does not.
 *
 * Costs per element: generation 8 AES blocks a level (10 for 3 words: both
 * evaluators' expansions), evaluation 2 a level (3 for 3 words: only the
 * path of x is followed).
 */
#ifndef TRINE_PROTO_DCF_H
#define TRINE_PROTO_DCF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The input domain: 63 bits, what the sign of a ring element needs. */
#define DCF_BITS 63u

/* Bytes of a root seed, and the ring words drawn to make one. */
#define DCF_SEED_BYTES 16u
#define DCF_SEED_WORDS 2u

/* Output words per element: 1 (a bit's share) to 3. */
#define DCF_WORDS_MAX 3u

/* True when the CPU runs AES-NI (checked once per call, cheap). */
bool dcf_available(void);

/* Bytes of the correction words of one element's key pair. */
size_t dcf_key_bytes(unsigned words);

/* Dealer: the correction words of n key pairs into cw (n dcf_key_bytes
 * each, element after element). root0, root1: the evaluators' root seeds
 * (n * DCF_SEED_WORDS words each); alpha: n values below 2^DCF_BITS; beta:
 * n * words payload words, element e's at beta[e * words]. */
void dcf_gen(uint8_t *cw, const uint64_t *root0, const uint64_t *root1, const uint64_t *alpha,
             const uint64_t *beta, unsigned words, size_t n);

/* Evaluator b (0 or 1): out[e * words + k] = its share of word k of f_e(x[e])
 * for n elements, with its root seeds (n * DCF_SEED_WORDS words) and the
 * correction words cw of dcf_gen. x: n values below 2^DCF_BITS. */
void dcf_eval(uint64_t *out, unsigned b, const uint64_t *root, const uint8_t *cw,
              const uint64_t *x, unsigned words, size_t n);

#endif
