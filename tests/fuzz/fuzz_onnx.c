/* fuzz_onnx.c — libFuzzer target: the ONNX reader (daemon/models/onnx_model.c) and
 * compiler (daemon/models/onnx_compile.c), then the way the client sends what it
 * compiled: prog_wire_encode, and the party's prog_wire_decode and
 * prog_check_job on those bytes.
 *
 * The input is a model file, written to this process's input file (fuzz.h),
 * compiled as `trine share-model` does (batch) and as a whole-tensor
 * program. A compiled program has passed prog_check, so it must encode,
 * decode and pass the party's check at a batch of one (of all rows when
 * the model mixes rows); every weight it
 * names is an input variable with a value unless the model's weights are
 * kept by trine.
 */
#include "fuzz.h"

#include "daemon/models/onnx_compile.h"
#include "daemon/wire/prog_wire.h"

#include <stdbool.h>
#include <stdlib.h>

static void fuzz_sent(const onnx_prog_t *op)
{
    prog_t got = {0};
    void *buf = NULL;
    size_t len = 0;
    trine_err_t err = {0};
    FUZZ_OK(prog_wire_encode(&op->prog, &buf, &len, &err), err);
    FUZZ_OK(prog_wire_decode(&got, buf, len, &err), err);
    FUZZ_CHECK(got.nvars == op->prog.nvars && got.nops == op->prog.nops);
    /* A model that mixes rows runs as one batch of all of them (trine infer). */
    size_t rows = prog_batch_rows(&got);
    FUZZ_OK(prog_check_job(&got, !op->rows_independent && rows ? rows : 1, &err), err);
    free(buf);
    prog_clear(&got);
}

static void fuzz_compile(const onnx_model_t *m, bool batch)
{
    onnx_compile_opts_t opts = {.prefix = "m.", .batch = batch};
    onnx_prog_t op;
    trine_err_t err = {0};
    if (onnx_compile(m, "model", &opts, &op, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0]);
        return;
    }
    FUZZ_CHECK(op.ninputs <= ONNX_IO_MAX && op.noutputs <= ONNX_IO_MAX);
    for (size_t i = 0; i < op.nweights; i++) {
        const onnx_weight_t *w = &op.weights[i];
        FUZZ_CHECK(w->var >= 0 && (size_t)w->var < op.prog.nvars);
        FUZZ_CHECK(op.prog.vars[w->var].kind == PROG_VAR_INPUT);
        FUZZ_CHECK(op.stored[0] || w->value);
    }
    fuzz_sent(&op);
    onnx_prog_clear(&op);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size);
    onnx_model_t m;
    trine_err_t err = {0};
    if (onnx_model_read(&m, path, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0] && !m.proto);
        return 0;
    }
    fuzz_compile(&m, true);
    fuzz_compile(&m, false);
    onnx_model_clear(&m);
    return 0;
}
