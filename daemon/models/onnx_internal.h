/* onnx_internal.h — what the parts of the ONNX compiler share:
 * onnx_compile.c (values, variables, emitting operations, attributes,
 * operands, and the graph: initializers, inputs, outputs, the node walk)
 * and the operators: onnx_ops.c (one function per ONNX operator),
 * onnx_ops_shape.c (shapes and axes), onnx_ops_conv.c (convolution and
 * pooling), onnx_ops_rnn.c (recurrent layers).
 * Not for other modules: the interface is onnx_compile.h.
 */
#ifndef TRINE_ONNX_INTERNAL_H
#define TRINE_ONNX_INTERNAL_H

#include "daemon/models/onnx_compile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name; /* the ONNX name, in the model */
    int var;          /* program variable, -1 when none yet */
    int rank;         /* ONNX rank; ndim is max(rank, 1) */
    int ndim;
    size_t shape[TENSOR_MAX_DIMS];
    bool constant; /* an initializer or a Constant's output */
    plain_t *data; /* a constant's values when known (NULL when
                      trine keeps them), owned */
    bool batch0;   /* axis 0 is the batch */
} ox_val_t;

typedef struct {
    const onnx_model_t *m;
    const char *what;
    const onnx_compile_opts_t *o;
    onnx_prog_t *out;
    trine_err_t *err;
    ox_val_t *vals;
    size_t nvals;
    prog_shapes_t *shapes;
    int *fold;   /* per node: the BatchNormalization folded into it, or -1 */
    bool *skip;  /* per node: folded into an earlier node */
    size_t node; /* the node being compiled */
    const Onnx__NodeProto *n;
    size_t ndata;           /* graph inputs that are not initializers */
    const char *folded_out; /* output 0's name when a BatchNormalization
                               folds into the node: the BN's output */
    unsigned temps;
    size_t export_batch; /* the first data input's declared first extent
                            when it is the batch and fixed, else 0 */
} ox_t;

/* ---- onnx_compile.c ---------------------------------------------------------- */

const char *ox_str(const char *s);

/* Fails the current node: "WHAT: node N 'NAME' (OP): message". */
trine_status_t ox_fail(ox_t *c, trine_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ox_fail for an allocation that failed. */
trine_status_t ox_nomem(ox_t *c);

/* The latest value named name, or NULL. */
ox_val_t *ox_find(ox_t *c, const char *name);

/* A new value named name (pointing into the model) with no variable; NULL
 * when memory runs out. Pointers from ox_find or ox_add stay valid only
 * until the next ox_add. */
ox_val_t *ox_add(ox_t *c, const char *name);

/* A weight named after base + suffix with the shape of ndim/shape and the
 * value *value (taken; NULL when trine keeps it). Returns the variable or
 * -1. */
int ox_new_weight(ox_t *c, const char *base, const char *suffix, int ndim, const size_t *shape,
                  plain_t *value);

/* A copy of p as reals. */
plain_t *ox_real_copy(const plain_t *p);

/* How often the graph reads value name: as a node's input or as a graph
 * output. */
int ox_uses(const ox_t *c, const char *name);

/* The program variable of value v, making a constant a weight. */
int ox_var(ox_t *c, ox_val_t *v);

/* Sets v's shape from its variable: declared for an input, else from the
 * program's checked shapes. */
void ox_shape_from_var(ox_t *c, ox_val_t *v, int rank);

/* Appends op (its out set here to a new temp) and checks the program so
 * far; returns the temp or -1. */
int ox_emit(ox_t *c, prog_op_t op);

/* ox_emit of one op with one or two operands and no attributes, and of
 * PROG_SCALE by factor. */
int ox_op1(ox_t *c, prog_opcode_t code, int a);
int ox_op2(ox_t *c, prog_opcode_t code, int a, int b);
int ox_scale(ox_t *c, int a, double factor);

/* Reshapes variable var of shape from[0..nfrom) (batch0: its axis 0 is the
 * batch) to ndim/shape, as ox_reshape; -1 on failure (also when var is). */
int ox_reshape_var(ox_t *c, int var, int nfrom, const size_t *from, bool batch0, int ndim,
                   const size_t *shape, bool *b0);

/* ox_emit of PROG_SLICE: count elements of variable a along axis, from
 * start, every step-th; -1 when a is -1. */
int ox_slice_var(ox_t *c, int a, int axis, int64_t start, int64_t step, int64_t count);

/* The product of the first ndim extents. */
size_t ox_count(int ndim, const size_t *shape);

/* Reshapes value v (its variable) to ndim/shape. Axis 0 stays the batch
 * when the first extent is unchanged (rows map to rows); a reshape of a
 * batch value that changes it makes the model one batch. */
int ox_reshape(ox_t *c, ox_val_t *v, int ndim, const size_t *shape, bool *batch0);

/* The current node's attribute name, or NULL. */
const Onnx__AttributeProto *ox_attr(const ox_t *c, const char *name);

/* Fails on an attribute not in the NULL-terminated list of known names. */
trine_status_t ox_known(ox_t *c, ...);

/* An INT or FLOAT attribute, dflt when absent. */
trine_status_t ox_int(ox_t *c, const char *name, int64_t dflt, int64_t *v);
trine_status_t ox_float(ox_t *c, const char *name, double dflt, double *v);

/* An INTS attribute of exactly n entries (any count when n < 0, at most
 * max); *count 0 when absent. */
trine_status_t ox_ints(ox_t *c, const char *name, int n, int64_t *v, size_t max, size_t *count);

/* A STRING attribute into buf ("" when absent). */
void ox_string(ox_t *c, const char *name, char *buf, size_t size);

/* Input k of the current node (NULL when absent or empty; optional says
 * whether that is allowed). */
trine_status_t ox_in(ox_t *c, size_t k, bool optional, ox_val_t **v);

/* Checks the node's input and output counts. */
trine_status_t ox_arity(ox_t *c, size_t in_min, size_t in_max, size_t outs);

/* Defines the node's output k as variable var of the given rank. */
trine_status_t ox_define(ox_t *c, size_t k, int var, int rank, bool batch0);

/* Defines output 0 as the same value as src (Identity, Dropout). */
trine_status_t ox_alias(ox_t *c, const ox_val_t *src);

/* True when b's shape broadcasts to a's as prog's add does: right-aligned,
 * each extent of b equal to a's or 1, b no longer than a. */
bool ox_broadcasts(const ox_val_t *b, const ox_val_t *a);

/* True when a and b have the same extents. */
bool ox_same_shape(const ox_val_t *a, const ox_val_t *b);

/* Makes v a constant whose values trine keeps under prefix (t's dims). */
trine_status_t ox_held(ox_t *c, ox_val_t *v, const Onnx__TensorProto *t, const char *prefix,
                       const char *what);

/* ---- onnx_ops_shape.c ---------------------------------------------------------- */

typedef struct {
    const char *op;
    trine_status_t (*fn)(ox_t *c);
} ox_handler_t;

/* True when v is a public integer tensor (a constant with known values). */
bool ox_is_ints(const ox_val_t *v);

/* The handler of a shape or axis operator op, or NULL. */
const ox_handler_t *ox_shape_handler(const char *op);

/* For Add, Sub, Mul, Div of two public integer tensors: computes the
 * result (*st) and returns true; false for any other node. */
bool ox_int_arith(ox_t *c, trine_status_t *st);

/* ---- onnx_ops.c: BatchNormalization folded into the layer before ---------------- */

/* The folding of a BatchNormalization node into the layer before it with
 * output channels: per channel, scale s = gamma / sqrt(var + eps) and
 * shift beta - mean s (NULL values when trine keeps them). */
typedef struct {
    plain_t *s, *t;
} ox_bn_t;

/* Starts folding BatchNormalization node bn into a layer with weight w,
 * bias b (may be NULL; n values or one) and n output channels: *f its
 * per-channel scale and shift, *ww a copy of w's values and *wb n zeros for
 * the new bias, all NULL when trine keeps the values. */
trine_status_t ox_fold_begin(ox_t *c, int bn, const ox_val_t *w, const ox_val_t *b, size_t n,
                             ox_bn_t *f, plain_t **ww, plain_t **wb);

/* Ends a folding begun by ox_fold_begin: the folded weight *vw (named
 * after w) and bias *vb of n values (named after b, else w) as new weights
 * holding ww and wb (taken; NULL when trine keeps them). */
void ox_fold_end(ox_t *c, ox_bn_t *f, const ox_val_t *w, const ox_val_t *b, size_t n,
                 plain_t *ww, plain_t *wb, int *vw, int *vb);

/* ---- onnx_ops_conv.c, onnx_ops_rnn.c: the layers of their own files -------------- */

/* Conv, MaxPool, AveragePool, GlobalAveragePool (onnx_ops_conv.c); GRU,
 * LSTM, RNN (onnx_ops_rnn.c: what they support and their error). */
trine_status_t ox_conv(ox_t *c);
trine_status_t ox_maxpool(ox_t *c);
trine_status_t ox_avgpool(ox_t *c);
trine_status_t ox_global_avg(ox_t *c);
trine_status_t ox_gru(ox_t *c);
trine_status_t ox_lstm(ox_t *c);
trine_status_t ox_rnn(ox_t *c);

/* ---- onnx_ops.c ------------------------------------------------------------- */

/* Compiles the current node c->n (index c->node): its operator's function,
 * or, for a BatchNormalization folded into an earlier node (c->skip), the
 * check of its own attributes. */
trine_status_t ox_compile_node(ox_t *c);

#endif
