/* onnx_compile.h — ONNX graphs compiled to trine programs, in the client.
 *
 * onnx_compile turns a model's graph into a prog_t (protocol/program.h)
 * the parties run like any program, or fails before any data moves with
 * "node N 'NAME' (OP): what is missing". Operators (ONNX opsets 1 to 17):
 *
 *   Gemm (alpha, beta, transA, transB)   MatMul (ranks 2 to 4, batches broadcast)
 *   Add, Sub (broadcasting one operand to the other's shape)
 *   Mul (two tensors; one may broadcast), Div by a constant (initializer
 *     or Constant: trine multiplies by its reciprocal) or by a private
 *     tensor (times recip, the divisor in [1/64, 512])
 *   Relu, Clip, LeakyRelu, PRelu, HardSigmoid, HardSwish, ThresholdedRelu (exact)
 *   Sigmoid (piecewise linear, |error| <= 0.01: proto_sigmoid fine)
 *   Exp, Reciprocal, Sqrt, Softmax (probabilities, any axis), LogSoftmax
 *     (any axis), Log, Tanh, Erf: the bounds of program.h (PROG_EXP_ERROR
 *     ...); Elu, Selu, Celu, Softplus, Softsign through exp, log, recip
 *   Abs, Neg (exact)
 *   ReduceSum, ReduceMean, ReduceSumSquare, ReduceL1, ReduceMax, ReduceMin
 *     (any axes, keepdims)
 *   LayerNormalization (any axis; Mean and InvStdDev outputs too)
 *   Pow (a constant scalar exponent the model holds: 1, 2, 3, 0.5, -0.5)
 *   Sum, Mean, Max, Min (variadic; max and min exact, by ReLUs)
 *   Conv (1-D or 2-D; strides, pads, auto_pad, any group; dilations 1)
 *   MaxPool, AveragePool (1-D or 2-D; kernel_shape, strides, pads,
 *     auto_pad, ceil_mode, count_include_pad; dilations 1; one output)
 *   GlobalAveragePool   Flatten   Reshape (shape a public constant)
 *   Transpose   Identity   Dropout (inference: identity)   Pad (constant; a
 *     zero Pad feeding only an AveragePool folds into its pads)
 *   Concat, Slice, Split, Gather (public indices; or private ones along axis
 *     0, by one-hot rows), Expand of private tensors
 *   RNN, GRU, LSTM (unrolled: forward or reverse, layout 0 or 1, default
 *     activations, no sequence_lens; LSTM without peepholes)
 *   Resize, Upsample (mode nearest, public scales or sizes: gathers of
 *     public indices)
 *   Shape, Gather, Unsqueeze, Squeeze, Concat, Slice, ConstantOfShape,
 *     Range, Cast and integer Add, Sub, Mul, Div of public integer tensors
 *     (shapes), Expand of constants: evaluated while compiling
 *     (onnx_ops_shape.c)
 *   BatchNormalization (inference): folded into the Conv or Gemm before
 *     it when that layer's weights are initializers and the BN output is
 *     its only use; else, with initializer parameters, a per-channel
 *     product and sum
 *   ArgMax, ArgMin (axis, keepdims; first index on ties), only as graph outputs.
 *
 * Values are real numbers in fixed point; every float tensor of the model
 * is private. Weights (float initializers and Constant tensors) become
 * whole inputs named prefix + a name derived from the initializer (letters,
 * digits, '_', '-', '.'; others become '_'). Folding computes new weights
 * from the model's values: BatchNormalization's into the layer before,
 * Div's reciprocal. Integer initializers (Reshape's shape) are structure,
 * not weights: they stay public.
 *
 * The graph's inputs that are not initializers are the data (integer
 * ones whose values the options give are public constants). With
 * `batch`, the first is a batch input read row by row along axis 0 and
 * reshapes keep axis 0 as the batch; rows_independent says whether the
 * model keeps rows apart (no Transpose, Flatten, Reshape, ArgMax or
 * Softmax across axis 0), without which it must run as one batch.
 */
#ifndef TRINE_ONNX_COMPILE_H
#define TRINE_ONNX_COMPILE_H

#include "daemon/models/onnx_model.h"

#include "protocol/program.h"

#include <stdbool.h>
#include <stddef.h>

#define ONNX_IO_MAX 16 /* graph inputs and outputs compiled */

typedef struct {
    int var;        /* the program's PROG_VAR_INPUT */
    plain_t *value; /* the model's value after folding, owned; NULL when the
                       model's weights are kept by trine */
} onnx_weight_t;

typedef struct {
    char name[256]; /* the ONNX value name, shortened if longer */
    int index;      /* inputs: the position among the graph's data inputs */
    int var;        /* the program variable */
    int rank;       /* ONNX rank (0 for a scalar, shape then [1]) */
    bool integer;   /* outputs: declared an integer tensor (ArgMax's int64):
                       its values are whole numbers, revealed as int64 */
} onnx_io_t;

typedef struct {
    prog_t prog;
    onnx_weight_t *weights; /* nweights, owned */
    size_t nweights;
    onnx_io_t inputs[ONNX_IO_MAX]; /* the data inputs of the program */
    size_t ninputs;
    size_t ndata;                   /* the graph's data inputs, public integer ones included */
    onnx_io_t outputs[ONNX_IO_MAX]; /* graph outputs, in graph order */
    size_t noutputs;
    bool rows_independent;
    char stored[64]; /* the prefix of weights kept by trine, "" when the
                        model holds its values */
} onnx_prog_t;

typedef struct {
    int ndim;
    size_t shape[TENSOR_MAX_DIMS];
} onnx_shape_t;

typedef struct {
    const char *prefix; /* names weights prefix + name; ignored when the
                           model's weights are kept by trine (their prefix
                           is in the model) */
    bool batch;         /* the first data input is read batch by batch */
    /* The extents of the data inputs, in graph order, replacing the
     * model's declared ones; NULL to use those. With batch and no shapes,
     * a symbolic first extent of the first input counts as 1. */
    const onnx_shape_t *shapes;
    size_t nshapes;
    /* Known values of integer data inputs, in the same order (NULL, or
     * NULL entries, for none): such an input is public structure, like a
     * Reshape's shape, not data. */
    const plain_t *const *ints;
} onnx_compile_opts_t;

/* Compiles m; what names the model in messages. On success *out owns the
 * program (already checked by prog_check for the whole data) and the
 * weights. Errors: TRINE_EUNSUPPORTED for an operator, attribute, type or
 * shape outside the list above, naming the node; TRINE_EFORMAT for a
 * malformed graph (an unknown value, a wrong operand count). */
TRINE_NODISCARD trine_status_t onnx_compile(const onnx_model_t *m, const char *what,
                                            const onnx_compile_opts_t *opts, onnx_prog_t *out,
                                            trine_err_t *err);

/* Frees what out owns and zeroes it; accepts a cleared one. */
void onnx_prog_clear(onnx_prog_t *out);

#endif
