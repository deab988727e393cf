/* onnx_model.h — reading and writing ONNX files for the client.
 *
 * An ONNX model is a protobuf ModelProto (onnx/onnx.proto from Debian's
 * libonnx-dev, compiled by protoc-c at build time: onnx.pb-c.h). This
 * module reads a file whole, unpacks it with protobuf-c (which checks the
 * wire format) and checks what the compiler relies on: a graph, named
 * nodes' operator types, and one default-domain opset version. Tensors
 * (initializers, Constant nodes, the test data sets' .pb files) decode to
 * plain_t values.
 *
 * Weights kept by trine. A model whose weights the model owner has shared
 * (`trine share-model`) keeps every weight initializer's type and dims but
 * not its values: its data_location is EXTERNAL with the one entry
 * location = "trine:PREFIX", meaning "stored on the cluster as PREFIX +
 * name". onnx_tensor_plain tells such tensors apart (TRINE_ENOENT), the
 * compiler binds them to those stored tensors.
 */
#ifndef TRINE_ONNX_MODEL_H
#define TRINE_ONNX_MODEL_H

#include "daemon/models/onnx.pb-c.h"

#include "tensor/plain.h"
#include "tensor/status.h"

#include <stddef.h>
#include <stdint.h>

#define ONNX_FILE_MAX     ((size_t)1 << 31) /* bytes of a model or tensor file */
#define ONNX_OPSET_MIN    1                 /* default-domain opsets compiled */
#define ONNX_OPSET_MAX    17
#define ONNX_TRINE_PREFIX "trine:" /* external location of shared weights */

typedef struct {
    Onnx__ModelProto *proto; /* owned; NULL when cleared */
    int64_t opset;           /* the default domain's version */
} onnx_model_t;

/* Reads and checks the model file path. Errors name the file: not
 * protobuf, no graph, a node without an operator type, no default-domain
 * opset or one outside ONNX_OPSET_MIN..ONNX_OPSET_MAX, another domain
 * used by a node. */
TRINE_NODISCARD trine_status_t onnx_model_read(onnx_model_t *m, const char *path, trine_err_t *err);

/* Writes m to path atomically (a temporary file in the same folder, then
 * rename). */
TRINE_NODISCARD trine_status_t onnx_model_write(const onnx_model_t *m, const char *path,
                                                trine_err_t *err);

/* Replaces the values of m's initializer `name` (FLOAT or DOUBLE, stored
 * in the model) with the count values v, kept in its type (FLOAT rounds
 * to float): for writing trained weights back. TRINE_ENOENT when m has no
 * such initializer, TRINE_EUNSUPPORTED for another type or values kept
 * elsewhere, TRINE_ESHAPE when count is not its element count,
 * TRINE_ENOMEM. */
TRINE_NODISCARD trine_status_t onnx_model_set_initializer(onnx_model_t *m, const char *name,
                                                          const double *v, size_t count,
                                                          trine_err_t *err);

/* Frees the model; accepts a cleared one. */
void onnx_model_clear(onnx_model_t *m);

/* The ONNX name of a TensorProto data type ("FLOAT", "INT64"), or "?". */
const char *onnx_type_name(int32_t data_type);

/* Decodes t: FLOAT and DOUBLE to a float plain_t (PLAIN_F8), INT32 and
 * INT64 to an integer one (PLAIN_I8); a scalar (no dims) becomes shape [1].
 * *rank (may be NULL) receives the ONNX rank, 0 for a scalar. what names
 * the tensor in messages. TRINE_ENOENT when t's values are kept by trine
 * (see above; *prefix, when not NULL, then points into t at PREFIX);
 * TRINE_EUNSUPPORTED for other types, rank above TENSOR_MAX_DIMS, an empty
 * tensor, or data in an external file; TRINE_EFORMAT when the data does
 * not match the dims. */
TRINE_NODISCARD trine_status_t onnx_tensor_plain(const Onnx__TensorProto *t, const char *what,
                                                 plain_t **out, int *rank, const char **prefix,
                                                 trine_err_t *err);

/* Reads a TensorProto file (a test data set's input_N.pb / output_N.pb)
 * and decodes it as onnx_tensor_plain does. */
TRINE_NODISCARD trine_status_t onnx_tensor_read(const char *path, plain_t **out, int *rank,
                                                trine_err_t *err);

#endif
