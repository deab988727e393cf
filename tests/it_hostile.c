/* it_hostile.c — integration test: malformed client messages sent to a
 * running party over CURVE each get an error reply naming the problem, and
 * the party keeps serving (and keeps what it stores). With "staged NAME",
 * instead: the first part of NAME put to party0 and never finished nor
 * committed (a client gone mid-upload) holds the whole tensor's bytes, is
 * invisible to ls and get, refuses a commit and hostile parts, and is
 * dropped after timeout_ms.
 * With "jobid ID": this client, having learnt another client's job id
 * (hex), cancels it and sends a run under it to party0; both must miss
 * the other client's job (the caller gets not-found and a refusal).
 * With "run PROG VAR=NAME:SHAPE...": a client that skips every check of
 * the trine client (which stops before sending a run over a tensor it
 * cannot see) compiles program file PROG with the shapes given (SHAPE as
 * 8x4), binds each VAR to the stored tensor NAME (every other input to
 * its own name) and sends the run to party0, which must refuse it; the
 * refusal is printed as "refused: MESSAGE".
 *
 *   it_hostile CLUSTER.ini CLIENT.key [staged NAME | jobid ID | run PROG VAR=NAME:SHAPE...]
 */
#include "daemon/common/cluster.h"
#include "daemon/common/keys.h"
#include "daemon/models/prog_text.h"
#include "daemon/wire/prog_wire.h"
#include "daemon/wire/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <zmq.h>

typedef struct {
    const char *what;
    const char *bytes;
    size_t len;
    const char *expect; /* substring of the error message */
} hostile_t;

#define H(what, lit, expect)                                                                       \
    {                                                                                              \
        what, lit, sizeof lit - 1, expect                                                          \
    }

static const hostile_t cases[] = {
    H("empty message", "", "malformed msgpack"),
    H("not a map", "\x93\x01\x02\x03", "must be a msgpack map"),
    H("truncated map", "\x83\xa1v\x01", "malformed msgpack"),
    H("bin longer than the message",
      "\x81\xa4"
      "data"
      "\xc6\x7f\xff\xff\xff",
      "malformed msgpack"),
    H("array claiming 2^32-1 entries", "\xdd\xff\xff\xff\xff", "malformed msgpack"),
    H("nested too deep", "\x91\x91\x91\x91\x91\x91\x01", "nested deeper"),
    H("unknown op",
      "\x83\xa1v\x01\xa2id\x07\xa2op\xa4"
      "frob",
      "field 'op' must be one of"),
    H("wrong version",
      "\x83\xa1v\x09\xa2id\x07\xa2op\xa6"
      "status",
      "version 9 is not supported"),
    H("unknown field",
      "\x84\xa1v\x01\xa2id\x07\xa2op\xa6"
      "status\xa3"
      "bad\x01",
      "unknown field 'bad'"),
    H("rm without a name", "\x83\xa1v\x01\xa2id\x07\xa2op\xa2rm", "lacks field 'name'"),
    H("bad tensor name", "\x84\xa1v\x01\xa2id\x07\xa2op\xa2rm\xa4name\xa3../", "tensor name"),
    H("a name that would forge a log line",
      "\x84\xa1v\x01\xa2id\x07\xa2op\xa2rm\xa4name\xb1x\nFORGED party0: ",
      "tensor name"),
    H("put of a part past the end of its shape",
      "\x89\xa1v\x01\xa2id\x07\xa2op\xa3put\xa4name\xa1x\xa4kind\xa3int\xa5shape\x92\x02\x02"
      "\xa6offset\x04\xa4"
      "data\xc4\x08"
      "01234567\xa6upload\x01",
      "at offset 4 pass the end of the shape's 4 elements"),
    H("put with a zero extent",
      "\x89\xa1v\x01\xa2id\x07\xa2op\xa3put\xa4name\xa1x\xa4kind\xa3int\xa5shape\x91\x00"
      "\xa6offset\x00\xa4"
      "data\xc4\x00\xa6upload\x01",
      "zero extent"),
    H("put without an upload number",
      "\x88\xa1v\x01\xa2id\x07\xa2op\xa3put\xa4name\xa1x\xa4kind\xa3int\xa5shape\x91\x01"
      "\xa6offset\x00\xa4"
      "data\xc4\x08"
      "01234567",
      "put request lacks field 'upload'"),
    H("commit of upload 0",
      "\x85\xa1v\x01\xa2id\x07\xa2op\xa6"
      "commit\xa4name\xa1x\xa6upload\x00",
      "field 'upload' must not be 0"),
};
#define CASES (sizeof cases / sizeof cases[0])

/* Sends bytes and returns the decoded reply to a request of op (0) or -1. */
static int hostile_call_op(void *sock, wire_op_t op, const void *bytes, size_t len, wire_reply_t *r,
                           zmq_msg_t *m)
{
    trine_err_t err;
    int timeout = 5000;
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_send(sock, bytes, len, 0) != (int)len || zmq_msg_recv(m, sock, 0) < 0) {
        fprintf(stderr, "no reply: %s\n", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (wire_reply_decode(r, op, zmq_msg_data(m), zmq_msg_size(m), &err) != TRINE_OK) {
        fprintf(stderr, "undecodable reply: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int hostile_call(void *sock, const void *bytes, size_t len, wire_reply_t *r, zmq_msg_t *m)
{
    return hostile_call_op(sock, WIRE_OP_STATUS, bytes, len, r, m);
}

/* Encodes q, sends it and decodes the reply into *r (list freed here);
 * -1 when there is none. */
static int hostile_request(void *sock, wire_request_t *q, wire_reply_t *r)
{
    static uint64_t id = 1000;
    void *buf;
    size_t len;
    zmq_msg_t m;
    zmq_msg_init(&m);
    q->version = WIRE_VERSION;
    q->id = ++id;
    int rc = wire_request_encode(&buf, &len, q) == TRINE_OK ? 0 : -1;
    if (rc == 0) {
        rc = hostile_call_op(sock, q->op, buf, len, r, &m);
        free(buf);
    }
    zmq_msg_close(&m);
    return rc;
}

/* True when the caller's ls at party0 lists name. */
static bool hostile_listed(void *sock, const char *name)
{
    wire_request_t q = {.op = WIRE_OP_LS};
    wire_reply_t r;
    bool found = false;
    if (hostile_request(sock, &q, &r) != 0 || r.code != TRINE_OK)
        return true; /* fails the check: the listing is unknown */
    for (size_t i = 0; i < r.count; i++)
        found |= !strcmp(r.list[i].name, name);
    wire_reply_clear(&r);
    return found;
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok   " __VA_ARGS__);                                                           \
        } else {                                                                                   \
            printf("FAIL " __VA_ARGS__);                                                           \
            failures++;                                                                            \
        }                                                                                          \
        printf("\n");                                                                              \
    } while (0)

/* A put to party0 alone, never committed: a client that died between its
 * puts. It must never be visible and must be dropped after timeout_ms. */
static int hostile_staged(void *sock, const cluster_t *c, const char *name)
{
    int failures = 0;
    uint64_t data[32] = {1, 2, 3};
    /* the first half of a 64-element tensor: a client gone mid-upload */
    wire_request_t put = {.op = WIRE_OP_PUT,
                          .kind = WIRE_KIND_INT,
                          .ndim = 1,
                          .shape = {64},
                          .data = (const uint8_t *)data,
                          .data_len = sizeof data,
                          .upload = 0x5eed};
    snprintf(put.name, sizeof put.name, "%s", name);
    wire_request_t status = {.op = WIRE_OP_STATUS}, get = {.op = WIRE_OP_GET, .count = 1};
    wire_request_t commit = {.op = WIRE_OP_COMMIT, .upload = 0x5eee};
    snprintf(get.name, sizeof get.name, "%s", name);
    snprintf(commit.name, sizeof commit.name, "%s", name);
    wire_reply_t r;
    if (hostile_request(sock, &status, &r) != 0 || r.code != TRINE_OK)
        return 1;
    uint64_t before = r.bytes, tensors = r.tensors;
    CHECK(hostile_request(sock, &put, &r) == 0 && r.code == TRINE_OK, "put of '%s' accepted: %s",
          name, r.msg);
    CHECK(hostile_request(sock, &status, &r) == 0 && r.bytes == before + 2 * sizeof data &&
              r.tensors == tensors,
          "staged: the whole tensor's %zu bytes held at its first part, still %llu tensors",
          2 * sizeof data, (unsigned long long)r.tensors);
    CHECK(!hostile_listed(sock, name), "ls does not list the uncommitted '%s'", name);
    CHECK(hostile_request(sock, &get, &r) == 0 && r.code == TRINE_ENOENT,
          "get of the uncommitted '%s' is refused: %s", name, r.msg);
    CHECK(hostile_request(sock, &commit, &r) == 0 && r.code == TRINE_ENOENT,
          "a commit with another upload number is refused: %s", r.msg);
    commit.upload = put.upload;
    CHECK(hostile_request(sock, &commit, &r) == 0 && r.code == TRINE_EINVAL &&
              strstr(r.msg, "has 32 of its 64 elements"),
          "a commit of half the parts is refused: %s", r.msg);
    put.offset = 40, put.data_len = 8;
    CHECK(hostile_request(sock, &put, &r) == 0 && r.code == TRINE_EINVAL &&
              strstr(r.msg, "parts go in order"),
          "a part that skips elements is refused: %s", r.msg);
    put.offset = 64;
    CHECK(hostile_request(sock, &put, &r) == 0 && r.code == TRINE_EFORMAT &&
              strstr(r.msg, "pass the end"),
          "a part past the tensor's end is refused: %s", r.msg);
    CHECK(hostile_request(sock, &status, &r) == 0 && r.bytes == before + 2 * sizeof data,
          "the refused parts hold nothing more");
    /* expiry is checked on each pass of the main loop: at least every heartbeat */
    unsigned wait_ms = c->cfg.timeout_ms + 2 * c->cfg.heartbeat_ms + 500;
    nanosleep(&(struct timespec){wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L}, NULL);
    commit.upload = put.upload;
    CHECK(hostile_request(sock, &commit, &r) == 0 && r.code == TRINE_ENOENT &&
              strstr(r.msg, "expired"),
          "after timeout_ms the upload is gone; its commit is refused: %s", r.msg);
    CHECK(hostile_request(sock, &status, &r) == 0 && r.bytes == before && r.tensors == tensors,
          "its %zu bytes are freed", sizeof data);
    CHECK(!hostile_listed(sock, name), "ls still does not list '%s'", name);
    return failures;
}

/* Another client's job id, learnt: cancel and a run under it reach only
 * this client's own (absent) job. */
static int hostile_jobid(void *sock, uint64_t id)
{
    int failures = 0;
    wire_request_t cancel = {.op = WIRE_OP_CANCEL, .job = id};
    wire_reply_t r;
    CHECK(hostile_request(sock, &cancel, &r) == 0 && r.code == TRINE_ENOENT,
          "cancel of another client's job %016llx: %s", (unsigned long long)id, r.msg);
    static const uint8_t junk[] = {0x80}; /* refused: the refusal goes to the peers */
    wire_request_t run = {.op = WIRE_OP_RUN, .job = id, .batch = 1, .epochs = 1,
                          .program = junk, .program_len = sizeof junk};
    CHECK(hostile_request(sock, &run, &r) == 0 && r.code != TRINE_OK,
          "a run under another client's job id is refused as this client's own: %s", r.msg);
    return failures;
}

/* Parses "VAR=NAME:D1xD2..." into var (cut at '='), name and shape. */
static bool hostile_bind_arg(char *arg, char **var, char **name, int *ndim, size_t *shape)
{
    char *eq = strchr(arg, '='), *colon = eq ? strchr(eq, ':') : NULL;
    if (!colon)
        return false;
    *eq = *colon = '\0';
    *var = arg, *name = eq + 1, *ndim = 0;
    for (char *d = colon + 1, *end; *ndim < TENSOR_MAX_DIMS; d = end + 1) {
        shape[(*ndim)++] = strtoull(d, &end, 10);
        if (*end != 'x')
            return *end == '\0';
    }
    return false;
}

static int hostile_run(void *sock, const char *path, int nargs, char **args)
{
    int failures = 0;
    char text[65536];
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f)
        fclose(f);
    static prog_t p; /* large */
    trine_err_t err;
    if (!len || prog_text_compile(&p, text, len, path, &err) != TRINE_OK) {
        printf("FAIL %s: %s\n", path, len ? err.msg : "cannot read it");
        return 1;
    }
    char *vars[PROG_VARS_MAX], *names[PROG_VARS_MAX];
    for (int a = 0; a < nargs && a < PROG_VARS_MAX; a++) {
        int ndim;
        size_t shape[TENSOR_MAX_DIMS];
        if (!hostile_bind_arg(args[a], &vars[a], &names[a], &ndim, shape) ||
            prog_text_set_shape(&p, vars[a], ndim, shape, &err) != TRINE_OK) {
            printf("FAIL bad binding '%s'\n", args[a]);
            prog_clear(&p);
            return 1;
        }
    }
    /* one binding per input, in the order of p.vars: the tensor an
     * argument names, else the input's own name */
    static wire_bind_t bind[PROG_VARS_MAX];
    size_t nbind = 0;
    for (size_t i = 0; i < p.nvars; i++) {
        if (p.vars[i].kind == PROG_VAR_TEMP)
            continue;
        const char *use = p.vars[i].name;
        for (int a = 0; a < nargs && a < PROG_VARS_MAX; a++)
            if (!strcmp(vars[a], p.vars[i].name))
                use = names[a];
        bind[nbind] = (wire_bind_t){.count = 1};
        snprintf(bind[nbind++].names[0], sizeof bind[0].names[0], "%s", use);
    }
    void *buf = NULL;
    size_t blen;
    if (prog_wire_encode(&p, &buf, &blen, &err) != TRINE_OK) {
        printf("FAIL encode %s: %s\n", path, err.msg);
        prog_clear(&p);
        return 1;
    }
    prog_clear(&p);
    wire_request_t run = {.op = WIRE_OP_RUN, .batch = 1, .epochs = 1, .program = buf,
                          .program_len = blen, .bind = bind, .nbind = nbind};
    randombytes_buf(&run.job, sizeof run.job);
    snprintf(run.prefix, sizeof run.prefix, "hostile-");
    wire_reply_t r;
    CHECK(hostile_request(sock, &run, &r) == 0 && r.code != TRINE_OK, "refused: %s", r.msg);
    free(buf);
    return failures;
}

int main(int argc, char **argv)
{
    if (argc != 3 && !(argc == 5 && (!strcmp(argv[3], "staged") || !strcmp(argv[3], "jobid"))) &&
        !(argc >= 5 && !strcmp(argv[3], "run"))) {
        fprintf(stderr, "usage: it_hostile CLUSTER.ini CLIENT.key [staged NAME | jobid ID | run "
                        "PROG VAR=NAME:SHAPE...]\n");
        return 2;
    }
    cluster_t c;
    trine_err_t err;
    keys_secret_t secret;
    keys_public_t pub;
    if (cluster_load(&c, argv[1], &err) != TRINE_OK ||
        keys_read_secret(&secret, &pub, argv[2], &err) != TRINE_OK) {
        fprintf(stderr, "it_hostile: %s\n", err.msg);
        return 1;
    }
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, failures = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c.party_key[0].z85, KEYS_Z85_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub.z85, KEYS_Z85_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret.z85, KEYS_Z85_LEN);
    keys_wipe(&secret);
    zmq_connect(sock, c.cfg.party[0].client);
    if (argc >= 5) {
        failures = !strcmp(argv[3], "run")      ? hostile_run(sock, argv[4], argc - 5, argv + 5)
                   : !strcmp(argv[3], "staged") ? hostile_staged(sock, &c, argv[4])
                                                : hostile_jobid(sock, strtoull(argv[4], NULL, 16));
        zmq_close(sock);
        zmq_ctx_term(ctx);
        cluster_clear(&c);
        return failures ? 1 : 0;
    }
    for (size_t i = 0; i < CASES; i++) {
        wire_reply_t r;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (hostile_call(sock, cases[i].bytes, cases[i].len, &r, &m) != 0 || r.code == TRINE_OK ||
            !strstr(r.msg, cases[i].expect)) {
            printf("FAIL %s: got '%s', want '%s'\n", cases[i].what, r.msg, cases[i].expect);
            failures++;
        } else {
            printf("ok   %s: %s\n", cases[i].what, r.msg);
        }
        zmq_msg_close(&m);
    }
    /* Two frames in one message: no request id to answer, so no reply;
     * the party must simply carry on. */
    zmq_send(sock, "\x80", 1, ZMQ_SNDMORE);
    zmq_send(sock, "\x80", 1, 0);
    wire_request_t q = {.version = WIRE_VERSION, .id = 42, .op = WIRE_OP_STATUS};
    void *buf;
    size_t len;
    wire_reply_t r;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (wire_request_encode(&buf, &len, &q) != TRINE_OK || hostile_call(sock, buf, len, &r, &m) ||
        r.code != TRINE_OK || r.id != 42) {
        printf("FAIL the party does not serve a good request after the bad ones\n");
        failures++;
    } else {
        printf("ok   status after %zu malformed messages: %llu tensors stored\n", CASES + 1,
               (unsigned long long)r.tensors);
    }
    free(buf);
    zmq_msg_close(&m);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    cluster_clear(&c);
    return failures ? 1 : 0;
}
