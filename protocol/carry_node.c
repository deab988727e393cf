/* carry_node.c — a node of the carry-lookahead of relu_carry.c, on XOR
 * shares of 64 elements at once (bit e of a word for element e).
 *
 * A node combines 4 digits' or groups' generate and propagate bits, inputs
 * G0..G3 (0..3) and P0..P3 (4..7), into
 *     G' = G3 + P3 G2 + P3 P2 G1 + P3 P2 P1 G0,   P' = P3 P2 P1 P0
 * (the terms of G' are exclusive, so + is xor). The inputs are opened
 * masked, d_i = x_i xor r_i, and a product of inputs is
 *     prod_{i in S} x_i = xor over T subset of S of d_{S - T} r_T,
 * d_U the public product of the openings in U and r_T that of the masks in
 * T, of which P2 deals XOR shares (r_i itself for |T| = 1, 1 for T empty,
 * taken by P0). A group node needs the 22 products r_T, |T| >= 2, of the
 * subsets of its terms, the last node (no P') 15.
 */
#include "internal.h"

#include <string.h>

static bool carry_single(unsigned set)
{
    return set && !(set & (set - 1));
}

void carry_node_init(carry_node_t *nd, bool with_p)
{
    static const uint8_t terms[5] = {
        1u << 3,                               /* G3 */
        1u << 7 | 1u << 2,                     /* P3 G2 */
        1u << 7 | 1u << 6 | 1u << 1,           /* P3 P2 G1 */
        1u << 7 | 1u << 6 | 1u << 5 | 1u << 0, /* P3 P2 P1 G0 */
        1u << 7 | 1u << 6 | 1u << 5 | 1u << 4, /* P3 P2 P1 P0: P */
    };
    unsigned count = with_p ? 5 : 4;
    memset(nd, 0, sizeof *nd);
    for (unsigned set = 1; set < 256; set++)
        for (unsigned k = 0; k < count; k++)
            if ((set & terms[k]) == set) {
                nd->sets[nd->nsets++] = (uint8_t)set;
                if (!carry_single(set))
                    nd->t[nd->nt++] = (uint8_t)set;
                break;
            }
    for (unsigned k = 0; k < count; k++) {
        unsigned o = k == 4, m = terms[k];
        for (unsigned set = m;; set = (set - 1) & m) {
            nd->sum_t[o][nd->nsum[o]] = (uint8_t)set;
            nd->sum_rest[o][nd->nsum[o]++] = (uint8_t)(m & ~set);
            if (set == 0)
                break;
        }
    }
}

void carry_node_eval(const carry_node_t *nd, const uint64_t *d, const uint64_t *r,
                     const uint64_t *t, unsigned stride, uint64_t one, uint64_t out[2])
{
    uint64_t prod[256], share[256];
    prod[0] = ~(uint64_t)0, share[0] = one;
    for (unsigned k = 0, j = 0; k < nd->nsets; k++) {
        unsigned u = nd->sets[k], low = (unsigned)__builtin_ctz(u);
        prod[u] = prod[u & (u - 1)] & d[low];
        share[u] = carry_single(u) ? r[low] : t[stride * j++];
    }
    for (unsigned o = 0; o < 2; o++) {
        uint64_t acc = 0;
        for (unsigned k = 0; k < nd->nsum[o]; k++)
            acc ^= prod[nd->sum_rest[o][k]] & share[nd->sum_t[o][k]];
        out[o] = acc;
    }
}

void carry_node_products(const carry_node_t *nd, const uint64_t *r, unsigned stride, uint64_t *t)
{
    for (unsigned j = 0; j < nd->nt; j++) {
        uint64_t v = ~(uint64_t)0;
        for (unsigned s = nd->t[j]; s; s &= s - 1)
            v &= r[stride * (unsigned)__builtin_ctz(s)];
        t[stride * j] = v;
    }
}
