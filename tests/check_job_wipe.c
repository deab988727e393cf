/* check_job_wipe.c — a job's secrets are wiped before they are freed, on
 * success and on every way a job can fail (daemon/party/job.c).
 *
 * Three real job threads (job_start) run a small program; the test is
 * their main loop and forwards their frames. It stops them mid-protocol as
 * the daemon would: a peer goes silent (STOP to the others, the silent
 * party's own wait runs out), a peer sends ABORT, the client cancels, the
 * party shuts down. Two things are watched:
 *  - every protocol context job.c creates is destroyed, and the context and
 *    its PRGs (the pairwise seeds) are all zeros when free() gets them:
 *    the link wraps proto_ctx_new, proto_ctx_destroy and free
 *    (-Wl,--wrap), so the check sees the memory just before it is freed;
 *  - every DATA payload handed to a job (the seeds of proto_ctx_new, then
 *    masked shares) is all zeros when ZeroMQ frees it, whether the job
 *    consumed it, queued it or never read it: the test gives each one its
 *    own buffer with a free function that checks it (zmq_msg_init_data).
 * Not covered: buffers libzmq copies internally (what a job sends), and
 * the protocol layer's temporaries (triples, masks), freed in protocol/.
 */
#include "check_util.h"

#include "daemon/common/sock.h"
#include "daemon/models/prog_text.h"
#include "daemon/party/job.h"
#include "protocol/internal.h"

#include <check.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <zmq.h>

#define WIPE_TIMEOUT_MS 200 /* the jobs' timeout_ms: a silent party gives up after 0.4 s */
#define WIPE_WATCH_MAX  64

/* ---- blocks watched until free() ------------------------------------------ */

typedef struct {
    const void *p;
    size_t len;
} watch_t;

static mtx_t watch_mtx;
static watch_t watched[WIPE_WATCH_MAX];
static size_t nwatched;
static unsigned freed_dirty, ctx_created, ctx_destroyed;
static bool watch_overflow;

void __real_free(void *p);
trine_status_t __real_proto_ctx_new(proto_ctx_t **out, proto_party_t role, const link_t *link,
                                    unsigned frac_bits, trine_err_t *err);
void __real_proto_ctx_destroy(proto_ctx_t **ctx);

static bool all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return false;
    return true;
}

/* No ck_assert while the lock is held: Check itself calls free(). */
static void watch(const void *p, size_t len)
{
    mtx_lock(&watch_mtx);
    if (nwatched < WIPE_WATCH_MAX)
        watched[nwatched++] = (watch_t){p, len};
    else
        watch_overflow = true;
    mtx_unlock(&watch_mtx);
}

void __wrap_free(void *p)
{
    if (p && nwatched) {
        mtx_lock(&watch_mtx);
        for (size_t i = 0; i < nwatched; i++)
            if (watched[i].p == p) {
                freed_dirty += !all_zero(p, watched[i].len);
                watched[i] = watched[--nwatched];
                break;
            }
        mtx_unlock(&watch_mtx);
    }
    __real_free(p);
}

trine_status_t __wrap_proto_ctx_new(proto_ctx_t **out, proto_party_t role, const link_t *link,
                                    unsigned frac_bits, trine_err_t *err)
{
    trine_status_t st = __real_proto_ctx_new(out, role, link, frac_bits, err);
    mtx_lock(&watch_mtx);
    ctx_created += st == TRINE_OK;
    mtx_unlock(&watch_mtx);
    return st;
}

void __wrap_proto_ctx_destroy(proto_ctx_t **ctx)
{
    if (ctx && *ctx) {
        watch(*ctx, sizeof **ctx);
        for (int i = 0; i < PROTO_PARTIES; i++)
            if ((*ctx)->prg[i])
                watch((*ctx)->prg[i], PRG_SEED_BYTES); /* a prg_t is its seed (tensor/prg.c) */
        mtx_lock(&watch_mtx);
        ctx_destroyed++;
        mtx_unlock(&watch_mtx);
    }
    __real_proto_ctx_destroy(ctx);
}

/* ---- payloads handed to the jobs ------------------------------------------ */

static atomic_uint data_sent, data_freed, data_dirty;

static void payload_free(void *data, void *hint)
{
    atomic_fetch_add(&data_dirty, !all_zero(data, (size_t)(uintptr_t)hint));
    atomic_fetch_add(&data_freed, 1);
    free(data);
}

/* ---- the test's main loop ------------------------------------------------- */

typedef enum { FAULT_NONE, FAULT_SILENT, FAULT_ABORT, FAULT_CANCEL, FAULT_SHUTDOWN } fault_t;

#define WIPE_JOB_ID 0x5eedULL

typedef struct {
    void *zctx;
    job_t *job[PROTO_PARTIES];
    void *pipe[PROTO_PARTIES];
    job_result_t res[PROTO_PARTIES];
    fault_t fault;
    unsigned after; /* DATA frames forwarded before the fault */
    int cut;        /* the party whose frames are dropped after the fault, or -1 */
    bool faulted;
} loop_t;

static void send_stop(loop_t *l, int p, const char *why)
{
    uint8_t code = JOB_PIPE_STOP;
    ck_assert_int_eq(zmq_send(l->pipe[p], &code, 1, ZMQ_SNDMORE), 1);
    ck_assert_int_eq(zmq_send(l->pipe[p], why, strlen(why), 0), (int)strlen(why));
}

static void send_abort(loop_t *l, int from, int to)
{
    uint8_t head[WIRE_FRAME_HEADER_BYTES];
    wire_frame_pack(head, &(wire_frame_t){WIRE_FRAME_ABORT, (unsigned)from, WIPE_JOB_ID, 0, 0});
    ck_assert_int_eq(zmq_send(l->pipe[to], head, sizeof head, ZMQ_SNDMORE), (int)sizeof head);
    ck_assert_int_eq(zmq_send(l->pipe[to], "test abort", 10, 0), 10);
}

static void inject_fault(loop_t *l)
{
    l->faulted = true;
    switch (l->fault) {
    case FAULT_SILENT: /* party2 stops answering; the others' main loops notice */
        l->cut = 2;
        send_stop(l, 0, "party2 went silent");
        send_stop(l, 1, "party2 went silent");
        break;
    case FAULT_ABORT: /* party1 fails and tells the others */
        l->cut = 1;
        send_abort(l, 1, 0);
        send_abort(l, 1, 2);
        send_stop(l, 1, "failed here");
        break;
    case FAULT_CANCEL:
        for (int p = 0; p < PROTO_PARTIES; p++)
            send_stop(l, p, "cancelled by the client");
        break;
    case FAULT_SHUTDOWN: /* one party stops; its ABORTs stop the others */
        send_stop(l, 0, "the party is shutting down");
        break;
    case FAULT_NONE: break;
    }
}

/* Forwards [dest][head][body] from job `from`, the body in a watched buffer. */
static void forward(loop_t *l, int from, zmq_msg_t *f)
{
    int to = *(const uint8_t *)zmq_msg_data(&f[0]);
    wire_frame_t frame;
    ck_assert_int_eq(wire_frame_unpack(&frame, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), NULL),
                     TRINE_OK);
    if (l->faulted && (from == l->cut || to == l->cut))
        return;
    if (!l->job[to])
        return; /* a finished party: its late frames go nowhere */
    ck_assert_int_eq(zmq_send(l->pipe[to], zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE),
                     (int)zmq_msg_size(&f[1]));
    size_t len = zmq_msg_size(&f[2]);
    zmq_msg_t body;
    void *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, zmq_msg_data(&f[2]), len);
    bool data = frame.type == WIRE_FRAME_DATA;
    ck_assert_int_eq(
        zmq_msg_init_data(&body, copy, len, data ? payload_free : NULL, (void *)(uintptr_t)len), 0);
    if (!data) { /* BEGIN (the public hash) and ABORT need no wiping */
        zmq_msg_close(&body);
        ck_assert_int_eq(zmq_msg_init_size(&body, len), 0);
        memcpy(zmq_msg_data(&body), copy, len);
        free(copy);
    }
    ck_assert_int_ge(zmq_msg_send(&body, l->pipe[to], 0), 0);
    if (data && atomic_fetch_add(&data_sent, 1) + 1 == l->after && l->fault != FAULT_NONE)
        inject_fault(l);
}

static job_params_t params(int self)
{
    static const char text[] = "batch x\ninput w\noutput y = relu(matmul(x, w))\n";
    job_params_t p = {.id = WIPE_JOB_ID,
                      .self = self,
                      .frac_bits = 13,
                      .timeout_ms = WIPE_TIMEOUT_MS,
                      .batch = 4,
                      .epochs = 1};
    memset(p.hash, 0xab, sizeof p.hash);
    ck_assert_int_eq(prog_text_compile(&p.prog, text, strlen(text), "wipe.prog", NULL), TRINE_OK);
    const size_t xs[] = {16, 8}, ws[] = {8, 4};
    ck_assert_int_eq(prog_text_set_shape(&p.prog, "x", 2, xs, NULL), TRINE_OK);
    ck_assert_int_eq(prog_text_set_shape(&p.prog, "w", 2, ws, NULL), TRINE_OK);
    ck_assert_int_eq(prog_check_job(&p.prog, p.batch, NULL), TRINE_OK);
    p.inputs = calloc(p.prog.nvars, sizeof *p.inputs);
    ck_assert_ptr_nonnull(p.inputs);
    for (size_t v = 0; self != 2 && v < p.prog.nvars; v++) {
        const prog_var_t *var = &p.prog.vars[v];
        if (var->kind == PROG_VAR_TEMP)
            continue;
        p.inputs[v] = tensor_new(var->ndim, var->shape);
        ck_assert_ptr_nonnull(p.inputs[v]);
        randombytes_buf(p.inputs[v]->data, p.inputs[v]->size * sizeof *p.inputs[v]->data);
    }
    return p;
}

/* Runs one job at three parties with the fault; returns how many failed. */
static int run_job(fault_t fault, unsigned after)
{
    loop_t l = {.zctx = zmq_ctx_new(), .fault = fault, .after = after, .cut = -1};
    ck_assert_ptr_nonnull(l.zctx);
    atomic_store(&data_sent, 0), atomic_store(&data_freed, 0), atomic_store(&data_dirty, 0);
    freed_dirty = ctx_created = ctx_destroyed = 0;
    watch_overflow = false;
    for (int p = 0; p < PROTO_PARTIES; p++) {
        job_params_t jp = params(p);
        l.job[p] = job_start(l.zctx, &jp, &l.pipe[p], NULL);
        ck_assert_ptr_nonnull(l.job[p]);
    }
    int running = PROTO_PARTIES, failed = 0;
    while (running) {
        zmq_pollitem_t items[PROTO_PARTIES];
        int who[PROTO_PARTIES], n = 0;
        for (int p = 0; p < PROTO_PARTIES; p++)
            if (l.job[p]) {
                who[n] = p;
                items[n++] = (zmq_pollitem_t){l.pipe[p], 0, ZMQ_POLLIN, 0};
            }
        ck_assert_int_ge(zmq_poll(items, n, 5000), 1);
        for (int i = 0; i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int p = who[i];
            zmq_msg_t f[3];
            int k = sock_recv_frames(l.pipe[p], f, 3, 0);
            if (k == 1 && *(const uint8_t *)zmq_msg_data(&f[0]) == JOB_PIPE_DONE) {
                job_join(&l.job[p], &l.res[p]);
                failed += l.res[p].status != TRINE_OK;
                job_result_clear(&l.res[p]);
                running--;
            } else {
                ck_assert_int_eq(k, 3);
                forward(&l, p, f);
            }
            sock_close_frames(f, k, 3);
        }
    }
    zmq_ctx_term(l.zctx); /* every message is closed by now */
    ck_assert_uint_eq(ctx_created, PROTO_PARTIES);
    ck_assert_uint_eq(ctx_destroyed, ctx_created);
    ck_assert(!watch_overflow);
    ck_assert_uint_eq(nwatched, 0); /* the contexts and their PRGs were freed */
    ck_assert_uint_eq(freed_dirty, 0);
    unsigned sent = atomic_load(&data_sent), freed = atomic_load(&data_freed);
    unsigned dirty = atomic_load(&data_dirty);
    ck_assert(l.faulted == (fault != FAULT_NONE)); /* mid-protocol: after `after` DATA frames */
    ck_assert_uint_ge(sent, after);
    ck_assert_uint_eq(freed, sent);
    ck_assert_uint_eq(dirty, 0);
    return failed;
}

/* Seeds take 3 DATA messages; the fault comes well inside the program. */
#define WIPE_MID 12

START_TEST(test_success)
{
    ck_assert_int_eq(run_job(FAULT_NONE, 0), 0);
}
END_TEST

START_TEST(test_silent)
{
    ck_assert_int_eq(run_job(FAULT_SILENT, WIPE_MID), PROTO_PARTIES);
}
END_TEST

START_TEST(test_abort)
{
    ck_assert_int_eq(run_job(FAULT_ABORT, WIPE_MID), PROTO_PARTIES);
}
END_TEST

START_TEST(test_cancel)
{
    ck_assert_int_eq(run_job(FAULT_CANCEL, WIPE_MID), PROTO_PARTIES);
}
END_TEST

START_TEST(test_shutdown)
{
    ck_assert_int_eq(run_job(FAULT_SHUTDOWN, WIPE_MID), PROTO_PARTIES);
}
END_TEST

Suite *job_wipe_suite(void)
{
    Suite *s = suite_create("job_wipe");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_success);
    tcase_add_test(tc, test_silent);
    tcase_add_test(tc, test_abort);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_shutdown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (sodium_init() < 0 || mtx_init(&watch_mtx, mtx_plain) != thrd_success)
        return 1;
    return check_util_run(job_wipe_suite());
}
