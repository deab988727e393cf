/* prog_text.h — the text form of programs, compiled by the client to a
 * prog_t (protocol/program.h); the daemons never see text.
 *
 * A program, one statement a line:
 *
 *     # Network A, training step         '#' starts a comment to end of line
 *     batch x y                          batch inputs, read batch by batch
 *     input w1 b1 w2 b2                  whole inputs (weights, biases)
 *     h1 = relu(matmul(x, w1) + b1)
 *     output p = matmul(h1, w2) + b2     define and mark as output
 *     d2 = p - y
 *     dw2 = matmul(t(h1), d2)            t() folds into matmul's flags
 *     d1 = matmul(d2, t(w2)) * drelu(h1)
 *     w2 = sgd(w2, dw2, 2^-7)            assigning an input updates it
 *     b2 = sgd(b2, sum(d2), 2^-7)
 *     w1 = sgd(w1, matmul(t(x), d1), 2^-7)
 *     output w1 w2 b2                    mark existing variables as outputs
 *
 * Statements:
 * - `batch NAME...` and `input NAME...` declare batch inputs and whole
 *   inputs (PROG_VAR_BATCH, PROG_VAR_INPUT), in order of appearance.
 * - `NAME = EXPR` defines a temp, or updates an input. A temp is defined
 *   once; a batch input is never assigned; a name is used only after it is
 *   declared or defined.
 * - `output NAME = EXPR` does the same and marks NAME output;
 *   `output NAME...` marks existing variables.
 * Names are [A-Za-z][A-Za-z0-9_]*, at most PROG_NAME_MAX - 1 bytes, and
 * not batch, input or output. Names starting with '_' are the compiler's
 * temps ("_1", "_2", ...), one for each operation nested in an expression.
 *
 * Expressions: `a + b` (add, b broadcast), `a - b` (sub), `a * b` (mul for
 * two tensors, scale when one side is a number), unary `-` (a number, or
 * scale by -1), parentheses, and calls of every opcode by its name
 * (prog_opcode_name) with the tensor operands first, then attributes,
 * positional or as `name=value`:
 *     matmul(a, b)                   transpose flags come from t()
 *     t(a), transpose(a)             2-D: folded into a matmul it is an
 *                                    operand of, a PROG_TRANSPOSE op elsewhere
 *     transpose(a, perm=[0, 2, 1])   the axes permuted as numpy's: extent i
 *                                    of the result is a's extent perm[i]
 *     conv2d(x, w, stride=1, pad=0)  both optional, these defaults; stride
 *                                    for both axes, pad for all four sides
 *     maxpool(x, k, stride=k, pad=0) k x k windows, stride and pad as for
 *                                    conv2d (pad below k; the padding is
 *                                    minus infinity); also avgpool(x, k,
 *                                    stride=k, pad=0, count_include_pad=0)
 *                                    (1: divide by k^2, 0: by the window's
 *                                    elements of x) and maxpool_grad(dy, x,
 *                                    k, stride=k)
 *     sigmoid(x, fine=0)             fine=1: the logistic within 0.0055
 *                                    (PROG_SIGMOID_FINE_ERROR on shares), 0:
 *                                    SecureML's 3-piece clip(x + 1/2, 0, 1)
 *     reshape(x, [0, 784])           a 0 first extent is x's first (the batch);
 *                                    no other extent may be 0
 *     flatten(x)                     reshape to [x's first extent, the rest]:
 *                                    PROG_RESHAPE with ndim 2, shape {0, 0}
 *     scale(a, factor), sgd(w, g, lr)
 *     div(a, b, int_bits=0)          a / b for 0 <= a < 2^int_bits b, b > 0
 *     gt(a, b)                       1 where a > b, else 0
 *     add sub mul sum relu drelu argmax
 * Numbers: 3, 0.5, 1e-3, and powers 2^-7 (a literal base and exponent);
 * numbers may be combined with + - * before they reach a tensor. Lists
 * [n, ...] of whole numbers appear only as reshape's shape and transpose's
 * perm. Integer attributes (stride, pad, k, count_include_pad, fine,
 * int_bits) are whole numbers 0 .. 2^31 - 1; prog_check judges the rest
 * (such as int_bits <= 30, a pad below k, perm a permutation).
 *
 * Each op records the line and column (1-based, in bytes) of its operator
 * or call, so that prog_check's messages point into the text.
 */
#ifndef TRINE_PROG_TEXT_H
#define TRINE_PROG_TEXT_H

#include "protocol/program.h"

#include <stddef.h>

/* Compiles text (len bytes, NUL not needed) into *out, which is
 * overwritten, not freed; the caller frees it with prog_clear. Inputs and
 * batch inputs get ndim 0: their shapes are not in the text, so the caller
 * sets each with prog_text_set_shape (the variables of kind PROG_VAR_INPUT
 * and PROG_VAR_BATCH in p->vars are exactly the declared names, in order)
 * and then runs prog_check. On failure *out is cleared and err holds
 * "FILE:LINE:COL: what is wrong" (filename may be NULL: "program");
 * TRINE_ELIMIT past PROG_VARS_MAX or PROG_OPS_MAX, TRINE_ENOMEM, else
 * TRINE_EFORMAT. */
TRINE_NODISCARD trine_status_t prog_text_compile(prog_t *out, const char *text, size_t len,
                                                 const char *filename, trine_err_t *err);

/* Sets the shape of the input or batch input `name` (ndim 1 ..
 * TENSOR_MAX_DIMS, every extent >= 1; a batch input's is the whole
 * tensor's). TRINE_ENOENT for no such variable, TRINE_EINVAL for a temp,
 * TRINE_ESHAPE for a bad shape. */
TRINE_NODISCARD trine_status_t prog_text_set_shape(prog_t *p, const char *name, int ndim,
                                                   const size_t *shape, trine_err_t *err);

#endif
