/* it_hold.c — integration test helper: fills one party's job slots, alone.
 *
 *   it_hold CLUSTER.ini CLIENT.key PARTY COUNT HOLD_MS PROGRAM
 *
 * Sends COUNT runs of PROGRAM (its inputs: tensors the key owns, shapes as
 * PARTY, 0 or 1, lists them) to PARTY only, so that they start there and wait for
 * the other parties, which never got them. Prints "holding COUNT jobs on
 * partyN" once none was refused, keeps them HOLD_MS, cancels them, waits
 * for their (failed) replies and exits 0; 1 when a run was refused or a
 * reply did not come. Lets a test see a run refused by one busy party
 * while the other two were free.
 */
#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "daemon/models/prog_text.h"
#include "daemon/wire/prog_wire.h"
#include "daemon/wire/wire.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define HOLD_MAX       16
#define HOLD_TEXT_MAX  (1u << 16)
#define HOLD_REPLY_MS  5000
#define HOLD_REFUSE_MS 300 /* a refusal comes at once; an accepted run is silent */

typedef struct {
    void *sock;
    uint64_t next_id;
    wire_bind_t bind[HOLD_MAX]; /* each input reads the tensor of its name */
    size_t nbind;
} hold_t;

/* Sends q under a new id; 0 or -1. */
static int hold_send(hold_t *h, wire_request_t *q)
{
    void *buf;
    size_t len;
    q->version = WIRE_VERSION;
    q->id = h->next_id++;
    if (wire_request_encode(&buf, &len, q) != TRINE_OK)
        return -1;
    int rc = zmq_send(h->sock, buf, len, 0) == (int)len ? 0 : -1;
    free(buf);
    return rc;
}

/* Receives one reply to op within ms into *r (m holds its bytes); 0 or -1. */
static int hold_recv(hold_t *h, wire_op_t op, long ms, wire_reply_t *r, zmq_msg_t *m)
{
    zmq_pollitem_t item = {h->sock, 0, ZMQ_POLLIN, 0};
    trine_err_t err;
    if (zmq_poll(&item, 1, ms) <= 0 || zmq_msg_recv(m, h->sock, 0) < 0)
        return -1;
    if (wire_reply_decode(r, op, zmq_msg_data(m), zmq_msg_size(m), &err) != TRINE_OK) {
        fprintf(stderr, "it_hold: undecodable reply: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Compiles the program and sets its inputs' shapes from the party's ls. */
static int hold_program(hold_t *h, const char *path, void **buf, size_t *len)
{
    char *text = malloc(HOLD_TEXT_MAX);
    FILE *f = fopen(path, "rb");
    size_t n = text && f ? fread(text, 1, HOLD_TEXT_MAX, f) : 0;
    if (f)
        fclose(f);
    prog_t prog = {0};
    trine_err_t err = {0};
    wire_request_t ls = {.op = WIRE_OP_LS};
    wire_reply_t r = {0};
    zmq_msg_t m;
    zmq_msg_init(&m);
    int rc = -1;
    if (!n || n == HOLD_TEXT_MAX)
        fprintf(stderr, "it_hold: cannot read %s\n", path);
    else if (prog_text_compile(&prog, text, n, path, &err) != TRINE_OK)
        fprintf(stderr, "it_hold: %s\n", err.msg);
    else if (hold_send(h, &ls) || hold_recv(h, WIRE_OP_LS, HOLD_REPLY_MS, &r, &m) || r.code)
        fprintf(stderr, "it_hold: ls failed: %s\n", r.msg);
    else
        rc = 0;
    for (size_t i = 0; rc == 0 && i < prog.nvars; i++) {
        if (prog.vars[i].kind == PROG_VAR_TEMP)
            continue;
        rc = -1;
        for (size_t k = 0; k < r.count; k++)
            if (!strcmp(r.list[k].name, prog.vars[i].name) &&
                prog_text_set_shape(&prog, prog.vars[i].name, r.list[k].ndim, r.list[k].shape,
                                    &err) == TRINE_OK)
                rc = 0;
        if (rc)
            fprintf(stderr, "it_hold: no usable tensor '%s'\n", prog.vars[i].name);
        else if (h->nbind == HOLD_MAX)
            rc = -1, fprintf(stderr, "it_hold: more than %d inputs\n", HOLD_MAX);
        else
            h->bind[h->nbind] = (wire_bind_t){.count = 1},
            snprintf(h->bind[h->nbind++].names[0], WIRE_NAME_MAX + 1, "%s", prog.vars[i].name);
    }
    if (rc == 0 && (prog_check_job(&prog, 1, &err) != TRINE_OK ||
                    prog_wire_encode(&prog, buf, len, &err) != TRINE_OK)) {
        fprintf(stderr, "it_hold: %s\n", err.msg);
        rc = -1;
    }
    wire_reply_clear(&r);
    zmq_msg_close(&m);
    prog_clear(&prog);
    free(text);
    return rc;
}

/* Runs count jobs on the party, holds them ms, cancels them. */
static int hold_jobs(hold_t *h, int party, int count, long ms, const void *prog, size_t len)
{
    uint64_t jobs[HOLD_MAX];
    wire_reply_t r = {0};
    zmq_msg_t m;
    zmq_msg_init(&m);
    for (int k = 0; k < count; k++) {
        wire_request_t run = {.op = WIRE_OP_RUN, .batch = 1, .epochs = 1};
        randombytes_buf(&jobs[k], sizeof jobs[k]);
        jobs[k] |= 1;
        run.job = jobs[k];
        run.program = prog;
        run.program_len = len;
        run.bind = h->bind;
        run.nbind = h->nbind;
        /* each holder's own names: a job's output names are reserved */
        snprintf(run.prefix, sizeof run.prefix, "hold%08x-%d-", (unsigned)(jobs[k] >> 32), k);
        if (hold_send(h, &run))
            return 1;
    }
    if (hold_recv(h, WIRE_OP_RUN, HOLD_REFUSE_MS, &r, &m) == 0) {
        fprintf(stderr, "it_hold: party%d answered a run at once: %s\n", party, r.msg);
        zmq_msg_close(&m);
        return 1;
    }
    printf("holding %d jobs on party%d\n", count, party);
    fflush(stdout);
    nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000L}, NULL);
    for (int k = 0; k < count; k++) {
        wire_request_t cancel = {.op = WIRE_OP_CANCEL, .job = jobs[k]};
        if (hold_send(h, &cancel))
            return 1;
    }
    /* count answers to the cancels and count failed runs, in any order */
    int rc = 0;
    for (int k = 0; k < 2 * count && rc == 0; k++) {
        zmq_pollitem_t item = {h->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, HOLD_REPLY_MS) <= 0 || zmq_msg_recv(&m, h->sock, 0) < 0) {
            fprintf(stderr, "it_hold: party%d did not answer the cancels\n", party);
            rc = 1;
        }
    }
    zmq_msg_close(&m);
    if (rc == 0)
        printf("released them\n");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: it_hold CLUSTER.ini CLIENT.key PARTY COUNT HOLD_MS PROGRAM\n");
        return 2;
    }
    int party = atoi(argv[3]), count = atoi(argv[4]);
    long ms = atol(argv[5]);
    if (party < 0 || party > 1 || count < 1 || count > HOLD_MAX || ms < 0) {
        fprintf(stderr,
                "it_hold: PARTY 0 or 1 (party2 lists no tensors), COUNT 1-%d, "
                "HOLD_MS >= 0\n",
                HOLD_MAX);
        return 2;
    }
    cluster_t c;
    trine_err_t err;
    keys_secret_t secret;
    keys_public_t pub;
    if (sodium_init() < 0 || cluster_load(&c, argv[1], &err) != TRINE_OK ||
        keys_read_secret(&secret, &pub, argv[2], &err) != TRINE_OK) {
        fprintf(stderr, "it_hold: %s\n", err.msg);
        return 1;
    }
    void *ctx = zmq_ctx_new();
    hold_t h = {.sock = zmq_socket(ctx, ZMQ_DEALER), .next_id = 1};
    int zero = 0;
    zmq_setsockopt(h.sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(h.sock, ZMQ_CURVE_SERVERKEY, c.party_key[party].z85, KEYS_Z85_LEN);
    zmq_setsockopt(h.sock, ZMQ_CURVE_PUBLICKEY, pub.z85, KEYS_Z85_LEN);
    zmq_setsockopt(h.sock, ZMQ_CURVE_SECRETKEY, secret.z85, KEYS_Z85_LEN);
    keys_wipe(&secret);
    zmq_connect(h.sock, c.cfg.party[party].client);
    void *prog = NULL;
    size_t len = 0;
    int rc =
        hold_program(&h, argv[6], &prog, &len) ? 1 : hold_jobs(&h, party, count, ms, prog, len);
    free(prog);
    zmq_close(h.sock);
    zmq_ctx_term(ctx);
    cluster_clear(&c);
    return rc;
}
