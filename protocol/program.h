/* program.h — private programs: a straight-line list of operations over
 * named tensors, run by the three parties on shares (prog_exec) or on
 * plaintext doubles (prog_plain), one flag apart for the user.
 *
 * The client compiles the text form (daemon/models/prog_text.h) to a prog_t and
 * sends it as msgpack (daemon/wire/prog_wire.h); the daemons never parse text.
 *
 * Variables. Every variable has a name and a kind:
 * - PROG_VAR_INPUT: a stored tensor read whole (weights, biases). An op may
 *   write to it (an SGD step): the new value is kept for the next step.
 * - PROG_VAR_BATCH: a stored tensor read batch by batch along axis 0 (the
 *   data). Its declared shape is the whole tensor's ([N, ...]); during a
 *   step its first extent is the rows of the current batch. All batch
 *   inputs of a program have the same N. Ops may not write to it.
 * - PROG_VAR_TEMP: written by an op of the program. A temp is written by
 *   exactly one op, before it is read (the compiler enforces it).
 * Any variable may be marked output: its value is stored under its name,
 * owned by the caller, when the job ends. An output that depends on a
 * batch input (prog_check's `batched`) is the rows of every step of the
 * last epoch concatenated along axis 0 (a job fails with TRINE_ESHAPE when
 * its extents past axis 0 differ between the full and the short batch);
 * any other output is its value after the last step.
 *
 * Steps. A job runs the whole op list once per step: with batch inputs,
 * epochs * ceil(N / batch) steps over consecutive row ranges (the last
 * batch of an epoch may be shorter); without, exactly one step.
 *
 * Values. Every value is a real number, in fixed point with the context's
 * frac_bits on shares and a double in the plaintext backend. Products are
 * truncated once. Bits (drelu, gt) and indices (argmax) are real numbers
 * too: 1.0, 3.0.
 */
#ifndef TRINE_PROGRAM_H
#define TRINE_PROGRAM_H

#include "ctx.h"
#include "proto.h"

#include "tensor/conv.h"
#include "tensor/status.h"
#include "tensor/tensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROG_NAME_MAX  64   /* bytes of a variable name, NUL included */
#define PROG_ARGS_MAX  2    /* tensor operands of one op */
#define PROG_VARS_MAX  1024 /* variables in one program */
#define PROG_OPS_MAX   1024 /* operations in one program */
#define PROG_IATTR_MAX 10   /* integer attributes of one op */

/* The largest distance of the fine sigmoid (PROG_SIGMOID, iattr[0] 1) to
 * the logistic 1/(1 + e^-x) on shares with frac_bits >= 11: 0.0055 for
 * the function itself (prog_plain's), plus at most 6.25 fixed-point steps
 * (proto_sigmoid_fine). */
#define PROG_SIGMOID_FINE_ERROR 0.01

/* Error bounds of the smooth functions on shares with frac_bits >= 13
 * (proto.h gives each algorithm; tests/check_proto_fn.c holds them), with
 * u = 2^-f one fixed-point step: |exp - e^a| <= PROG_EXP_ERROR e^a + u for
 * a <= 16; |recip - 1/a| <= PROG_RECIP_ERROR / a + 2u for a in [1/64,
 * 512]; |rsqrt - a^-1/2| <= PROG_RSQRT_ERROR a^-1/2 + 4u for a in [1/256,
 * 128]; each softmax probability within PROG_SOFTMAX_ERROR. Measured at
 * f = 13: exp 0.0073 relative, recip 0.0011, rsqrt 0.0007 (plus the
 * steps). prog_plain computes the exact functions. */
#define PROG_EXP_ERROR     0.01
#define PROG_RECIP_ERROR   0.002
#define PROG_RSQRT_ERROR   0.002
#define PROG_SOFTMAX_ERROR 0.004

/* Error bounds of log, tanh, erf and log-softmax on shares with frac_bits
 * >= 13 (the algorithms in log.c, tanh.c, erf.c, logsoftmax.c;
 * tests/check_proto_fn.c holds them): |log - ln a| <= PROG_LOG_ERROR for a
 * in the op's range; |tanh - tanh a| <= PROG_TANH_ERROR; |erf - erf a| <=
 * PROG_ERF_ERROR; each log-probability within PROG_LOG_SOFTMAX_ERROR.
 * Measured at f = 13: log 2.3e-4, tanh 0.0021, erf 0.0032, log-softmax
 * 0.0020. */
#define PROG_LOG_ERROR         0.001
#define PROG_TANH_ERROR        0.006
#define PROG_ERF_ERROR         0.007
#define PROG_LOG_SOFTMAX_ERROR 0.015

/* The iattr slots of PROG_LOG: its range [2^lo, 2^hi) / sqrt 2, -40 <= lo
 * < hi <= 40 and hi - lo <= 40 (and lo >= 1 - frac_bits when it runs);
 * the text form's defaults. */
enum { PROG_LOG_LO = 0, PROG_LOG_HI };
#define PROG_LOG_LO_DEFAULT (-10)
#define PROG_LOG_HI_DEFAULT 20

/* The largest stride, pad and window extent of conv2d and the pools: far
 * past any image (a pad beyond the window's extent only adds zeros), and
 * padded extents stay far from overflowing size_t. The memory a job needs
 * (prog_job_memory) bounds the rest. */
#define PROG_GEOM_MAX 65535

/* The iattr slots of PROG_CONV2D: strides and zero padding (ONNX's pads,
 * top and left then bottom and right). Slots 0 and 1 are the vertical
 * stride and pad, as they were when both axes shared them. */
enum {
    PROG_CONV_SH = 0, /* stride down, >= 1 */
    PROG_CONV_PT,     /* zero rows above, >= 0 */
    PROG_CONV_SW,     /* stride across, >= 1 */
    PROG_CONV_PL,     /* zero columns on the left */
    PROG_CONV_PB,     /* zero rows below */
    PROG_CONV_PR,     /* zero columns on the right */
    PROG_CONV_GROUP,  /* groups: 0 or 1 for one; else the channels of a and
                         the filters (b's first extent) split into that
                         many groups, each convolved with its own */
    PROG_CONV_RH,     /* conv2d_grad_input: the input's height; */
    PROG_CONV_RW      /* _grad_weights: the filter's; width likewise */
};

/* The iattr slots of PROG_SLICE and PROG_PAD. */
enum { PROG_SLICE_AXIS = 0, PROG_SLICE_START, PROG_SLICE_STEP, PROG_SLICE_COUNT };
enum { PROG_PAD_AXIS = 0, PROG_PAD_BEFORE, PROG_PAD_AFTER };

/* The iattr slots of PROG_MAXPOOL, PROG_AVGPOOL and PROG_MAXPOOL_GRAD
 * (proto_pool_t); slots 0 and 1 are the window and stride of the vertical
 * axis, as they were when both axes shared them. */
enum {
    PROG_POOL_KH = 0,    /* window height, >= 1 */
    PROG_POOL_SH,        /* stride down, >= 1 */
    PROG_POOL_KW,        /* window width, >= 1 */
    PROG_POOL_SW,        /* stride across, >= 1 */
    PROG_POOL_PT,        /* padding rows above, 0 <= pt < kh */
    PROG_POOL_PL,        /* padding columns on the left, 0 <= pl < kw */
    PROG_POOL_PB,        /* padding rows below, 0 <= pb < kh */
    PROG_POOL_PR,        /* padding columns on the right, 0 <= pr < kw */
    PROG_POOL_COUNT_PAD, /* avgpool: 1 divides by kh kw, 0 by the window's
                            elements of a (ONNX count_include_pad); 0 for
                            maxpool and maxpool_grad */
    PROG_POOL_SLOTS
};

/* Operations. Shapes: a, b are the operands in[0], in[1]. Unless said, the
 * result has a's shape. "Truncated" means one fixed-point rescale. The
 * values are the codes on the wire (daemon/wire/WIRE.md): append, never reorder. */
typedef enum {
    PROG_MATMUL = 0,   /* 2-D op(a) op(b) with iattr[0], iattr[1] the transpose
                          flags of a and b (0 or 1); [m,n]x[n,v] -> [m,v];
                          truncated. The right operand, when an input no op
                          writes, is masked once per job and reused. */
    PROG_ADD,          /* a + b; b's shape broadcasts to a's: right-aligned,
                          each extent of b equal to a's or 1 (b may have fewer
                          dims: a bias [v] over [m,v], [c,1,1] over [n,c,h,w]) */
    PROG_SUB,          /* a - b, broadcasting as for add */
    PROG_MUL,          /* elementwise a * b, same shapes; truncated */
    PROG_SCALE,        /* a * fattr for a public real constant; exact shift for
                          powers of two, an exact product for integers, else
                          a product with fattr to f significant bits (its
                          relative error below 2^-f, however small it is)
                          and one truncation */
    PROG_SUM,          /* sum over axis 0: [m, ...] -> [...] (1-D [m] -> [1]) */
    PROG_CONV2D,       /* a NCHW [n,c,h,w], b filters [oc,c/g,kh,kw] for g
                          groups; strides, zero padding and groups in iattr
                          (PROG_CONV_*): strides >= 1,
                          pads >= 0 (a window may lie wholly in the padding);
                          -> [n,oc,oh,ow], oh = (h + pt + pb - kh) / sh + 1,
                          ow likewise; truncated; b masked once as for matmul */
    PROG_RELU,         /* max(a, 0) */
    PROG_DRELU,        /* 1 where a >= 0 else 0 (ReLU's derivative); after a
                          relu of the same variable it costs nothing */
    PROG_MAXPOOL,      /* a NCHW, window, strides and padding in iattr
                          (PROG_POOL_*); padding counts as minus infinity and
                          every window holds an element of a; -> [n,c,oh,ow],
                          oh = (h + pt + pb - kh) / sh + 1, ow likewise */
    PROG_MAXPOOL_GRAD, /* a = the gradient at maxpool's output, b = maxpool's
                          input x (the same iattr, no padding); -> x's shape:
                          each window's gradient goes to its maximum (the
                          first on ties), summed where windows overlap. After
                          a maxpool of b it reuses that maxpool's argmax. */
    PROG_AVGPOOL,      /* as maxpool, the window mean: padding adds 0 to the
                          sum, divided as PROG_POOL_COUNT_PAD says */
    PROG_RESHAPE,      /* same element count; ndim/shape give the new shape,
                          shape[0] == 0 means "a's first extent" (the batch);
                          ndim 2 with shape {0, 0} is flatten: [a's first
                          extent, product of the others] */
    PROG_TRANSPOSE,    /* ndim 0: 2-D [m,n] -> [n,m]. Else ndim is a's rank
                          and shape[0..ndim) a permutation of its axes, as
                          numpy's: the result's extent i is a's extent
                          shape[i]. Local */
    PROG_SIGMOID,      /* iattr[0] 0: piecewise linear, 0 below -1/2, x + 1/2,
                          1 above 1/2 (SecureML's, proto_sigmoid); 1: the
                          logistic within 0.0055 by 8 ReLUs
                          (proto_sigmoid_fine) */
    PROG_ARGMAX,       /* 2-D [m,k] -> [m]: the index of each row's maximum
                          (the first on ties) as a real number */
    PROG_SGD,          /* a - fattr * b for a learning rate fattr = 2^-j
                          (1 <= j <= frac_bits); same shapes. Typically written
                          back to a: w = sgd(w, dw, 2^-7) */
    PROG_DIV,          /* elementwise a / b rounded down to a fixed-point
                          step (proto_div); same shapes, iattr[0] = int_bits
                          (0 to 30). Needs 0 <= a < 2^int_bits b and b > 0
                          with b 2^int_bits < 2^(61-f): outside that the
                          result is wrong, not an error. int_bits + f steps
                          of 8 rounds */
    PROG_GT,           /* 1 where a > b else 0, same shapes (no broadcast);
                          exact for |a - b| < 2^(62-f) */
    PROG_CONCAT,       /* a and b joined along axis iattr[0]: same rank, equal
                          extents on the other axes. Local */
    PROG_SLICE,        /* along axis iattr[0], the iattr[3] elements at
                          start iattr[1] and every iattr[2]-th after
                          (PROG_SLICE_*); the other axes whole. Local */
    PROG_PAD,          /* along axis iattr[0], iattr[1] elements of the public
                          value fattr before a and iattr[2] after (PROG_PAD_*).
                          Local */
    PROG_OFFSET,       /* a + fattr, a public real constant. Local */
    PROG_EXP,          /* e^a within PROG_EXP_ERROR (proto_exp) for a <= 16;
                          above, wrong, not an error */
    PROG_RECIP,        /* 1 / a within PROG_RECIP_ERROR for a in [1/64, 2^12]
                          (proto_recip); outside, wrong, not an error */
    PROG_RSQRT,        /* 1 / sqrt(a) within PROG_RSQRT_ERROR for a in
                          [1/256, 2^12] (proto_rsqrt) */
    PROG_SOFTMAX,      /* e^a / sum e^a along the last axis, the maximum
                          subtracted first (proto_softmax); within
                          PROG_SOFTMAX_ERROR of the probabilities */
    PROG_LOG,          /* ln a within PROG_LOG_ERROR for a in [2^lo, 2^hi) /
                          sqrt 2 (PROG_LOG_LO, PROG_LOG_HI; proto_log); outside,
                          wrong, not an error. hi - lo - 1 comparisons */
    PROG_TANH,         /* tanh a within PROG_TANH_ERROR (proto_tanh) */
    PROG_ERF,          /* erf a within PROG_ERF_ERROR (proto_erf) for |a| <
                          2^((62 - 2f) / 3) */
    PROG_LOG_SOFTMAX,  /* a - max - ln sum e^(a - max) along the last axis
                          (proto_log_softmax); within PROG_LOG_SOFTMAX_ERROR */
    /* a = dy [n,oc,oh,ow], the gradient at the output of y = conv2d(x, w),
     * b = w [oc,c,kh,kw]; conv2d's iattr (one group) and x's h, w in
     * PROG_CONV_RH, _RW, for which oh, ow must be conv2d's -> dx
     * [n,c,h,w]; truncated */
    PROG_CONV2D_GRAD_INPUT,
    /* a = dy as above, b = x [n,c,h,w], the filter's kh, kw in
     * PROG_CONV_RH, _RW -> dw [oc,c,kh,kw], summed over the batch;
     * truncated */
    PROG_CONV2D_GRAD_WEIGHTS,
    PROG_OPCODE_COUNT
} prog_opcode_t;

typedef enum { PROG_VAR_INPUT = 0, PROG_VAR_BATCH, PROG_VAR_TEMP } prog_var_kind_t;

typedef struct {
    char name[PROG_NAME_MAX];
    prog_var_kind_t kind;
    bool output;
    int ndim;                      /* inputs: declared; temps: 0 until prog_check */
    size_t shape[TENSOR_MAX_DIMS]; /* batch inputs: the whole tensor */
} prog_var_t;

typedef struct {
    prog_opcode_t code;
    int out;                       /* index of the variable written */
    int in[PROG_ARGS_MAX];         /* operand variable indices; -1 when unused */
    int64_t iattr[PROG_IATTR_MAX]; /* integer attributes (see the opcode) */
    double fattr;                  /* real attribute (scale, sgd) */
    int ndim;                      /* reshape target, transpose permutation */
    size_t shape[TENSOR_MAX_DIMS];
    uint32_t line, col; /* source position for messages; 0 if unknown */
} prog_op_t;

typedef struct {
    prog_var_t *vars; /* nvars, owned */
    size_t nvars;
    prog_op_t *ops; /* nops, owned */
    size_t nops;
} prog_t;

/* Frees the arrays of p and zeroes it; accepts an already cleared p. */
void prog_clear(prog_t *p);

/* The lowercase name of an opcode as the text form spells it ("matmul",
 * "maxpool_grad"), and back (-1 when unknown). */
const char *prog_opcode_name(prog_opcode_t code);
int prog_opcode_find(const char *name);

/* Operands each opcode takes (1 or 2). */
int prog_opcode_arity(prog_opcode_t code);

/* The geometry of a conv2d op with input shape x [n,c,h,w] and filters w
 * [oc,c,kh,kw], and the window of a pooling op, from their iattr; for ops
 * that passed prog_check. */
conv_geom_t prog_conv_geom(const prog_op_t *op, const size_t *x, const size_t *w);
proto_pool_t prog_pool_geom(const prog_op_t *op);

/* The copies of a checked concat, slice or pad op along its axis, on
 * 8-byte elements (ring words, or doubles as their bits): a of ndim
 * extents as, b's extent nb on the axis (concat), the result's no; a
 * pad's padding is left as out held it. */
void prog_axis_copy(const prog_op_t *op, int ndim, const size_t *as, size_t nb, size_t no,
                    const uint64_t *a, const uint64_t *b, uint64_t *out);

/* The shapes of one step, filled by prog_check. About 40 KB: allocate it
 * on the heap, not the stack. Extents past ndim are 1. */
typedef struct {
    int ndim[PROG_VARS_MAX];
    size_t shape[PROG_VARS_MAX][TENSOR_MAX_DIMS];
    bool batched[PROG_VARS_MAX]; /* depends on a batch input; false for a
                                    PROG_VAR_INPUT, even one an SGD step
                                    writes */
} prog_shapes_t;

/* Checks p for a step of `rows` batch rows (1 to N; ignored without batch inputs):
 * opcodes, arities, operand indices, attributes, that temps are written
 * once before being read and batch inputs never, that batch inputs agree
 * on N, and every op's shapes. Fills *s (may be NULL). Errors are
 * TRINE_EFORMAT or TRINE_ESHAPE with "line L col C: op: what" (the
 * position omitted when 0). */
TRINE_NODISCARD trine_status_t prog_check(const prog_t *p, size_t rows, prog_shapes_t *s,
                                          trine_err_t *err);

/* Checks p (prog_check) for every step a job with `batch` rows per step
 * will run: the full batch (at most N) and the short last one, if any. */
TRINE_NODISCARD trine_status_t prog_check_job(const prog_t *p, uint64_t batch, trine_err_t *err);

/* Whether p may let one batch row's value reach another row's result, so
 * that the rows per step or the epochs change what a job computes; read
 * from the op list alone (no shapes), conservatively: a value depends on
 * the batch when it reads a batch input or such a value, and rows stay
 * apart only through elementwise ops, activations, pools and conv2d along
 * axis 0, matmul and conv2d with the batch on the left only, reshapes and
 * transposes that keep axis 0, and row-wise argmax. Any sum, sgd,
 * maxpool_grad of such a value, and any write of an input from one, mix.
 * For a program that passed prog_wire_decode. */
bool prog_mixes_rows(const prog_t *p);

/* The rows N of the batch inputs, or 0 when the program has none. */
size_t prog_batch_rows(const prog_t *p);

/* The earlier op whose by-product ops[j] of a checked p takes instead of
 * computing it again, or -1: for a drelu, the latest relu of the same
 * variable (its DReLU bits); for maxpool_grad(dy, x), the latest maxpool of
 * x with the same iattr (its one-hot argmax). Only while no op from
 * that one on writes the variable. */
int prog_op_reuses(const prog_t *p, size_t j);

/* The bytes SecureNN (whitepaper 2019, Tables 1-2; DESIGN.md section 5)
 * would send for one step of a checked p, all three parties together, at
 * ell = 64, p = 67 and one byte per Z_p element; s holds that step's
 * shapes from prog_check and frac_bits sets the quotient bits of a div.
 * The baseline prog_exec's traffic is measured against; prog_cost.c gives
 * the formula of each op. */
double prog_securenn_bytes(const prog_t *p, const prog_shapes_t *s, unsigned frac_bits);

/* What one party holds at most while it runs a job: peak is the bytes in
 * all (the job's copies of its inputs, every value of a step, the batched
 * outputs whole, and the working memory of the op that needs most), op
 * that op's index and op_bytes its working memory (outputs below). An estimate from the
 * shapes alone, meant to be above what prog_exec allocates; prog_mem.c
 * gives each op's formula. Doubles: no product can wrap. */
typedef struct {
    double peak;
    size_t op;
    double op_bytes;
    double outputs; /* bytes of the output variables as stored at the end */
    double keys;    /* of peak: comparison keys or records dealt ahead (fss, carry) */
    double masked;  /* of peak: the masked forms of the products' fixed operands */
} prog_mem_t;

/* The memory a job of the checked p with `batch` rows per step needs at
 * one party, from the shapes of its full step, without allocating any of
 * it; what P2 deals ahead for comparisons counts too: the keys of those
 * by fss, of ops of at most fss_max elements (0 under protocols securenn
 * and carry, UINT64_MAX under fss, the context's under auto; ctx.h), and
 * when carry is true (protocols carry and auto) the records of the
 * others. TRINE_ENOMEM when the shapes' table cannot be allocated, else
 * the errors of prog_check. */
TRINE_NODISCARD trine_status_t prog_job_memory(const prog_t *p, uint64_t batch, uint64_t fss_max,
                                               bool carry, prog_mem_t *out, trine_err_t *err);

/* A job: the program, the inputs and how to step through them. */
typedef struct {
    const prog_t *prog;
    size_t batch;    /* rows per step (>= 1; ignored without batch inputs) */
    unsigned epochs; /* >= 1; ignored without batch inputs */
    /* Called after each step (may be NULL); step counts from 1. */
    void (*progress)(void *arg, uint64_t step, uint64_t steps);
    void *progress_arg;
    /* Each epoch steps through the rows of the batch inputs (all alike) in
     * a fresh random order rather than in order: prog_exec's from the seed
     * P0 and P1 share (proto_shuffle_draw), prog_plain's from shuffle_seed.
     * Batched outputs hold the last epoch's rows in its order. */
    bool shuffle;
    uint64_t shuffle_seed; /* prog_plain only */
    /* Masked forms kept across jobs (prog_exec only; both may be NULL).
     * masked_in[v], when set, is input v's masked form from an earlier job
     * of the same three parties (all three passing the one made there):
     * products read it instead of masking v again. It must stay unchanged
     * until prog_exec returns. With masked_out set (nvars entries, NULL on
     * entry), every input that no op writes and that a product takes as
     * its fixed operand is masked, even when used once, and on success
     * masked_out[v] receives each masked form the job made (owned by the
     * caller; proto_masked_destroy); on failure all stay NULL. */
    const proto_masked_t *const *masked_in;
    proto_masked_t **masked_out;
} prog_job_t;

/* Steps the job will run. */
uint64_t prog_job_steps(const prog_job_t *job);

/* Runs a checked program on shares. inputs[i] is the share of variable i
 * for inputs and batch inputs (NULL for temps); at P2 every entry may be
 * NULL (shapes come from the program). On success outputs[i] is a new
 * tensor for each output variable (NULL elsewhere), owned by the caller;
 * at P2 they are zeros. All three parties must run the same job. */
TRINE_NODISCARD trine_status_t prog_exec(proto_ctx_t *ctx, const prog_job_t *job,
                                         const tensor_t *const *inputs, tensor_t **outputs,
                                         trine_err_t *err);

/* A plaintext tensor of doubles for the reference backend. */
typedef struct {
    int ndim;
    size_t shape[TENSOR_MAX_DIMS]; /* entries past ndim are 1 */
    size_t size;
    double *data; /* owned */
} prog_plain_t;

void prog_plain_destroy(prog_plain_t **t);

/* Runs the same job on doubles, with the same semantics (ReLU, both
 * piecewise sigmoids, first-maximum ties, maxpool's padding as minus
 * infinity) but no rounding to fixed point.
 * inputs and outputs as for prog_exec. */
TRINE_NODISCARD trine_status_t prog_plain(const prog_job_t *job, const prog_plain_t *const *inputs,
                                          prog_plain_t **outputs, trine_err_t *err);

#endif
