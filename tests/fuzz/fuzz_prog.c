/* fuzz_prog.c — libFuzzer target: the program decoder (daemon/wire/prog_wire.c),
 * then what a party does with a program a client sent before running it
 * (daemon/party/jobs.c, protocol/prog_exec.c): prog_check_job for a batch size,
 * the step's shapes, the reuse of earlier results, convolution and pooling
 * geometry (which must give the output shapes prog_check found), and the
 * SecureNN cost estimate.
 *
 * The input is a RUN request's program bytes, run at batch sizes 1 and 3
 * (full and short last steps). A decoded program must also survive a
 * round trip: encoded, decoded and encoded again, the same bytes.
 */
#include "fuzz.h"

#include "daemon/wire/prog_wire.h"
#include "protocol/program.h"
#include "tensor/conv.h"

#include <stdlib.h>
#include <string.h>

static void fuzz_round_trip(const prog_t *p)
{
    prog_t again = {0};
    void *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    trine_err_t err = {0};
    FUZZ_OK(prog_wire_encode(p, &b1, &n1, &err), err);
    FUZZ_OK(prog_wire_decode(&again, b1, n1, &err), err);
    FUZZ_CHECK(again.nvars == p->nvars && again.nops == p->nops);
    FUZZ_OK(prog_wire_encode(&again, &b2, &n2, &err), err);
    FUZZ_CHECK(n1 == n2 && !memcmp(b1, b2, n1));
    free(b1);
    free(b2);
    prog_clear(&again);
}

/* What prog_exec derives from a checked program at one step of rows. */
static void fuzz_step(const prog_t *p, size_t rows)
{
    prog_shapes_t *s = malloc(sizeof *s);
    FUZZ_CHECK(s);
    trine_err_t err = {0};
    FUZZ_OK(prog_check(p, rows, s, &err), err);
    for (size_t j = 0; j < p->nops; j++) {
        const prog_op_t *op = &p->ops[j];
        int reuse = prog_op_reuses(p, j);
        FUZZ_CHECK(reuse >= -1 && reuse < (int)j);
        const size_t *y = s->shape[op->out];
        if (op->code == PROG_CONV2D) {
            conv_geom_t g = prog_conv_geom(op, s->shape[op->in[0]], s->shape[op->in[1]]);
            size_t oh = 0, ow = 0;
            FUZZ_CHECK(conv_out_size(&g, &oh, &ow) == TRINE_OK && y[2] == oh && y[3] == ow);
        } else if (op->code == PROG_MAXPOOL || op->code == PROG_AVGPOOL) {
            proto_pool_t w = prog_pool_geom(op);
            const size_t *x = s->shape[op->in[0]];
            FUZZ_CHECK(w.kh >= 1 && w.kw >= 1 && w.sh >= 1 && w.sw >= 1);
            FUZZ_CHECK(w.pt < w.kh && w.pb < w.kh && w.pl < w.kw && w.pr < w.kw);
            FUZZ_CHECK(y[2] == (x[2] + w.pt + w.pb - w.kh) / w.sh + 1 &&
                       y[3] == (x[3] + w.pl + w.pr - w.kw) / w.sw + 1);
        }
    }
    FUZZ_CHECK(prog_securenn_bytes(p, s, 13) >= 0);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prog_t p;
    trine_err_t err = {0};
    if (prog_wire_decode(&p, data, size, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0] && !p.vars && !p.ops);
        return 0;
    }
    fuzz_round_trip(&p);
    static const uint64_t batches[] = {1, 3};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        if (prog_check_job(&p, batches[i], &err) != TRINE_OK) {
            FUZZ_CHECK(err.msg[0]);
            continue;
        }
        size_t n = prog_batch_rows(&p);
        size_t rows = n && n < batches[i] ? n : batches[i];
        fuzz_step(&p, rows);
        if (n > rows && n % rows)
            fuzz_step(&p, n % rows);
    }
    prog_clear(&p);
    return 0;
}
