/* prog_grad.h — training programs derived from forward models: the client
 * appends to a forward program (text or ONNX, compiled to a prog_t) its
 * loss, its backward pass (reverse mode over the op list, at compile
 * time) and the optimizer's update of every weight. The parties see only
 * the resulting op list and its hash, as for any program, so approvals
 * name training exactly; the same options and shapes always give the same
 * program, byte for byte.
 *
 * The forward program: one batch input (the data, [N, ...]), one output
 * (the prediction z, [N, k] or [N]), its inputs are the weights (each one
 * the output depends on is trained), and no op writes an input. Every
 * input's shape is set. Gradients exist for matmul, add and sub (with
 * broadcasting: a bias), mul, scale, sum, relu, the fine sigmoid,
 * maxpool (no padding), conv2d (strides and padding: the ops
 * conv2d_grad_input and conv2d_grad_weights; a grouped one group by
 * group, on slices), avgpool (a padded one only when it counts its
 * padding), reshape, flatten,
 * transpose, offset, exp, recip, rsqrt, log, tanh, erf, pad, slice (step
 * 1) and concat;
 * an op that has no
 * gradient (argmax, gt, div, drelu, the piecewise sigmoid inside the
 * model) on the path to a weight is refused, naming the op.
 *
 * The training program keeps the forward ops and variables (indices and
 * names unchanged, no longer outputs) and adds:
 * - batch input PROG_GRAD_LABELS, the targets, z's shape; with
 *   class_labels (cross-entropy, z [N, k]) a column [N, 1] of class
 *   indices 0 to k-1 instead, which the program turns into one-hot rows:
 *   bit j of a row is DReLU(y - j + 1/2) for j = 0..k (exact for whole
 *   y), and its one-hot entry j the difference of bits j and j + 1 (a
 *   value outside 0..k-1 gives a row of zeros);
 * - for momentum, an input PROG_GRAD_STATE + weight per weight (the
 *   velocity, zero before the first step, weight's shape);
 * - for MSE, an input PROG_GRAD_LOSS [1] to which each step adds the sum
 *   of its squared errors (zero before the first step);
 * and marks outputs every weight, every velocity and the loss sum.
 *
 * Losses, for a batch of B rows of k values (kk = k, or 1 when z is 1-D):
 * - MSE: mean over the elements of (z - y)^2 (PyTorch's MSELoss);
 * - BCE: z must be a sigmoid's output p; mean over the elements of
 *   -(y log p + (1 - y) log(1 - p)); its gradient at the sigmoid's input
 *   is (p - y) / (B kk), which the program uses (no log is computed);
 * - cross-entropy: y one-hot rows, p = softmax(z) along the last axis (or
 *   z itself when the model ends in a softmax); mean over the rows of
 *   -sum y log p (PyTorch's CrossEntropyLoss on logits); its gradient at
 *   the logits is (p - y) / B. p is the softmax protocol's, within
 *   PROG_SOFTMAX_ERROR of the probabilities.
 * The backward pass carries d = z - y (or p - y) unscaled, which keeps
 * the gradients well above the fixed-point step; the factor c = 2 / (B kk)
 * (MSE), 1 / (B kk) (BCE) or 1 / B (cross-entropy) goes into the update's
 * constant. B is the
 * batch size the job was compiled for: the short last batch of an epoch
 * is averaged over B as well, as if padded with rows of zero gradient.
 *
 * Optimizers, with g = c G + wd w the gradient of the mean loss plus
 * weight decay (G the backward pass's sum over the batch):
 * - SGD: w = w - lr g;
 * - momentum (PyTorch's): v = mu v + g, w = w - lr v; the program keeps
 *   V = v / c, so that V = mu V + G + (wd / c) w and w = w - (lr c) V.
 * - Adam (PyTorch's, betas 0.9 and 0.999): m = b1 m + (1 - b1) g,
 *   v = b2 v + (1 - b2) g^2, w = w - lr (m / q1) / (sqrt(v / q2) + eps)
 *   with q1 = 1 - b1^t, q2 = 1 - b2^t at step t. The program keeps sums,
 *   not means, so that no value shrinks below the fixed-point step: M =
 *   m / (c (1 - b1)), V = v / (c^2 (1 - b2)) (inputs PROG_GRAD_ADAM_M and
 *   _V + weight), Q1 = q1 / (1 - b1), Q2 = q2 / (1 - b2) (inputs
 *   PROG_GRAD_ADAM_Q "1" and "2", [1]), all zero before the first step,
 *   each step M = b1 M + G, V = b2 V + G^2, Q = b Q + 1; then m / q1 =
 *   c M / Q1, v / q2 = c^2 V / Q2 and w = w - lr (M / Q1) rsqrt(min(V /
 *   Q2 + 2^-8, 127)): c cancels. The floor 2^-8 (eps in effect c / 16
 *   inside the root, where PyTorch's 1e-8 is below the step of V) and the
 *   ceiling 127 (one ReLU) keep the root within its domain [1/256, 128]:
 *   Adam's step lr m_hat / sqrt(v_hat) holds for a weight whose batch
 *   gradient G (the sum over the batch) has a running root mean square
 *   from about 1/16 to 11; below, its step shrinks in proportion (as
 *   momentum's), above, it grows in proportion, never wrong by wrapping.
 *   1 / Q1 and 1 / Q2 (Q in 1 to 1 / (1 - b)) are recip's, within
 *   PROG_RECIP_ERROR; the root within PROG_RSQRT_ERROR. Cost per weight
 *   and step: the rsqrt (89 rounds, about 3.2 KB), a ReLU, two products.
 * Each real constant is a scale op (prog_exec: relative error below
 * 2^-(f-1) of the constant, then one truncation).
 */
#ifndef TRINE_PROG_GRAD_H
#define TRINE_PROG_GRAD_H

#include "protocol/program.h"

#include <stdbool.h>
#include <stdint.h>

#define PROG_GRAD_LABELS "labels"
#define PROG_GRAD_LOSS   "loss_sum"
#define PROG_GRAD_STATE  "mom_"
#define PROG_GRAD_CORRECT "val_correct"
#define PROG_GRAD_ADAM_M  "adam_m_"
#define PROG_GRAD_ADAM_V  "adam_v_"
#define PROG_GRAD_ADAM_Q  "adam_q"
#define PROG_GRAD_ADAM_BETA1 0.9
#define PROG_GRAD_ADAM_BETA2 0.999
#define PROG_GRAD_ADAM_FLOOR 0x1p-8 /* added to V / Q2 before its rsqrt */
#define PROG_GRAD_ADAM_CEIL  127.0  /* and that sum clamped to it */

typedef enum { PROG_LOSS_MSE = 0, PROG_LOSS_BCE, PROG_LOSS_CE } prog_loss_t;
typedef enum { PROG_OPT_SGD = 0, PROG_OPT_MOMENTUM, PROG_OPT_ADAM } prog_opt_t;

typedef struct {
    prog_loss_t loss;
    prog_opt_t opt;
    double lr;           /* > 0 */
    double momentum;     /* 0 <= mu < 1, for PROG_OPT_MOMENTUM */
    double weight_decay; /* >= 0 */
    uint64_t batch;      /* rows per step, >= 1 */
    bool class_labels;   /* cross-entropy: the labels are class indices */
} prog_train_t;

/* The loss and optimizer names of the command line ("mse", "bce"; "sgd",
 * "momentum", "adam") to their enums; -1 when unknown. */
int prog_grad_loss_find(const char *name);
int prog_grad_opt_find(const char *name);

/* Derives the training program of the forward program fwd (see above)
 * into *out, which is overwritten; the caller frees it with prog_clear.
 * TRINE_EFORMAT for a forward program of the wrong form or an op without
 * a gradient, TRINE_EINVAL for bad options, TRINE_ELIMIT past
 * PROG_VARS_MAX or PROG_OPS_MAX, TRINE_ENOMEM; err says which. */
TRINE_NODISCARD trine_status_t prog_grad_train(prog_t *out, const prog_t *fwd,
                                               const prog_train_t *t, trine_err_t *err);

/* Derives from the forward program fwd (of the form above, its output z
 * [N, k] scores) the validation program into *out (freed with
 * prog_clear): the forward ops, batch input PROG_GRAD_LABELS (one-hot rows
 * [N, k], or with class_labels a column [N, 1] of class indices), and an
 * input and only output PROG_GRAD_CORRECT [1] to which each step adds the
 * count of its rows whose argmax of z (the first on ties) is the label's
 * class: exact, by two DReLUs of the difference of the two indices. Start
 * it at zero; after a job it holds the correct rows of all. Errors as for
 * prog_grad_train. */
TRINE_NODISCARD trine_status_t prog_grad_validation(prog_t *out, const prog_t *fwd,
                                                    bool class_labels, trine_err_t *err);

/* The factor that turns the loss sum PROG_GRAD_LOSS of an epoch of
 * `rows` rows into the mean loss: 1 / (rows kk), kk as above, for the
 * training program p. */
double prog_grad_loss_scale(const prog_t *p, uint64_t rows);

#endif
