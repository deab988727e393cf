/* bench_progs.h — what `trine bench` runs for one measurement: a private
 * program and seeded random values for its inputs.
 *
 * Every measurement is an ordinary job: the client shares the inputs,
 * runs the program on the three parties and reads the job's figures. The
 * programs (one op each; the networks as below) are:
 *   matmul m x n x v   y = matmul(a, b), a [m,n], b [n,v]
 *   conv2d m x f x i x o, batch B
 *                      y = conv2d(x, w, stride=1, pad=(f-1)/2),
 *                      x [B,i,m,m], w [o,i,f,f] -> [B,o,m,m]
 *   relu, drelu, sigmoid SHAPE   y = relu(x) ...
 *   compare SHAPE      y = gt(a, b)
 *   division SHAPE     y = div(a, b, int_bits=K), 0 <= a < 2^K b, b in [0.5, 2)
 *   maxpool H x W x C / k, batch B   y = maxpool(x, k), x [B,C,H,W]
 *   network_a .. network_d, batch B: SecureNN's Networks A-D (whitepaper
 *   Appendix C) for inference, ending in the class (argmax), with maxpool
 *   before ReLU where both follow a layer, as SecureNN's code does (the
 *   same function, a quarter of the ReLUs):
 *     A  784-128-128-10 fully connected, ReLU
 *     B  conv 1->16 5x5, maxpool 2, ReLU; conv 16->16 5x5, maxpool 2, ReLU;
 *        256-100 ReLU; 100-10
 *     C  conv 1->20 5x5, maxpool 2, ReLU; conv 20->50 5x5, maxpool 2, ReLU;
 *        800-500 ReLU; 500-10
 *     D  conv 1->5 5x5 stride 2 pad 2, ReLU; 980-100 ReLU; 100-10
 * Values: data in [0, 1), weights uniform in +-1/sqrt(fan-in), other
 * operands in [-1, 1); seeded by the measurement's place in the config, so
 * that runs repeat.
 */
#ifndef TRINE_BENCH_PROGS_H
#define TRINE_BENCH_PROGS_H

#include "config/bench.h"
#include "protocol/program.h"
#include "tensor/plain.h"

#include <stdbool.h>

#define BENCH_INPUTS_MAX 12

typedef struct {
    prog_t prog;    /* compiled, with the inputs' shapes, checked */
    size_t ninputs; /* the program's inputs, in declaration order */
    plain_t *inputs[BENCH_INPUTS_MAX];
    double securenn_bytes; /* prog_securenn_bytes of one call */
} bench_prog_t;

/* Network measurements also time a job of this many batches, whose steps
 * after the first reuse the weights' mask: a batch's cost within a job. */
#define BENCH_JOB_BATCHES 3

/* Builds the program and input values of item (seed: which measurement it
 * is). batches 1: one call, the program as measured; for a network,
 * batches > 1 reads x as a batch input of that many batches of
 * item->batch rows (one job, one step per batch). On failure *out is
 * cleared. */
TRINE_NODISCARD trine_status_t bench_prog_build(bench_prog_t *out, const bench_item_t *item,
                                                unsigned seed, unsigned frac_bits,
                                                unsigned batches, trine_err_t *err);

/* Frees what bench_prog_build made; accepts a cleared *b. */
void bench_prog_clear(bench_prog_t *b);

/* SecureNN's reference implementation as measured on the 2-core
 * development machine, not on the machine running the bench (networks:
 * shared/peers, interleaved with trine, DESIGN section 11) for this
 * measurement: seconds and bytes (all parties). False when there is no
 * such figure. */
bool bench_reference(const bench_item_t *item, double *secs, double *bytes);

#endif
