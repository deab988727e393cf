/* make_corpus.c — writes the seeds of the fuzz targets that come from
 * trine's own encoders and sample files, as tests/fuzz/corpus/ holds them:
 *
 *   make_corpus SRC OUT
 *
 * SRC is the source root (config/ samples, examples/ programs), OUT gets
 * wire/, prog/, npy/ and config/ (made when missing; files overwritten).
 * Seeds carry the first byte their target reads as a selector (fuzz_wire.c,
 * fuzz_config.c). The ONNX seeds are copies of small models (README.md).
 */
#include "config/bench.h"
#include "daemon/client/bench_progs.h"
#include "daemon/models/prog_text.h"
#include "daemon/wire/prog_wire.h"
#include "daemon/wire/wire.h"
#include "tensor/plain.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const char *src, *out;
    unsigned written;
} corpus_t;

static bool corpus_dir(const corpus_t *c, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", c->out, sub);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

/* Writes OUT/sub/name: the selector byte (none when 0), then data. */
static bool corpus_put(corpus_t *c, const char *sub, const char *name, char selector,
                       const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", c->out, sub, name);
    FILE *f = fopen(path, "wb");
    bool ok =
        f && (!selector || fputc(selector, f) != EOF) && (!len || fwrite(data, 1, len, f) == len);
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
    c->written += ok;
    return ok;
}

static bool corpus_request(corpus_t *c, const char *name, const wire_request_t *q)
{
    void *buf = NULL;
    size_t len = 0;
    bool ok = wire_request_encode(&buf, &len, q) == TRINE_OK &&
              corpus_put(c, "wire", name, 'q', buf, len);
    free(buf);
    return ok;
}

static bool corpus_reply(corpus_t *c, const char *name, wire_op_t op, const wire_reply_t *r)
{
    void *buf = NULL;
    size_t len = 0;
    bool ok = wire_reply_encode(&buf, &len, op, r) == TRINE_OK;
    if (ok) { /* 'r', then the op fuzz_wire.c reads back as op - 1 */
        uint8_t *msg = malloc(len + 1);
        ok = msg != NULL;
        if (ok) {
            msg[0] = (uint8_t)(op - 1);
            memcpy(msg + 1, buf, len);
            ok = corpus_put(c, "wire", name, 'r', msg, len + 1);
        }
        free(msg);
    }
    free(buf);
    return ok;
}

static bool corpus_wire(corpus_t *c, const void *program, size_t program_len)
{
    static const uint64_t data[6] = {1, 2, 3, (uint64_t)-1, 0, 1u << 13};
    const wire_request_t put = {.version = WIRE_VERSION,
                                .id = 7,
                                .op = WIRE_OP_PUT,
                                .name = "x",
                                .kind = WIRE_KIND_FIXED,
                                .frac = 13,
                                .ndim = 2,
                                .shape = {2, 3},
                                .data = (const uint8_t *)data,
                                .data_len = sizeof data,
                                .upload = 3};
    wire_request_t put_int = put;
    put_int.kind = WIRE_KIND_INT;
    put_int.ndim = 1;
    put_int.shape[0] = 12; /* the second of two parts */
    put_int.offset = 6;
    wire_bind_t corpus_bind[2] = {{.names = {"x_a", "x_b"}, .count = 2},
                                  {.names = {"w1"}, .count = 1}};
    const wire_request_t reqs[] = {
        {.version = WIRE_VERSION, .id = 1, .op = WIRE_OP_STATUS},
        {.version = WIRE_VERSION, .id = 2, .op = WIRE_OP_LS},
        {.version = WIRE_VERSION, .id = 3, .op = WIRE_OP_RM, .name = "w1"},
        {.version = WIRE_VERSION,
         .id = 4,
         .op = WIRE_OP_GRANT,
         .name = "w1",
         .grantee = {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"},
         .approval = {.program = {1, 2, 3}, .slot = "w1"}},
        {.version = WIRE_VERSION,
         .id = 11,
         .op = WIRE_OP_REVOKE,
         .name = "w1",
         .grantee = {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"},
         .approval = {.any = true}},
        {.version = WIRE_VERSION,
         .id = 5,
         .op = WIRE_OP_GET,
         .name = "net.out",
         .offset = 0,
         .count = 1 << 17},
        {.version = WIRE_VERSION,
         .id = 6,
         .op = WIRE_OP_RUN,
         .job = 9,
         .batch = 128,
         .epochs = 1,
         .prefix = "net.",
         .program = program,
         .program_len = program_len,
         .bind = corpus_bind,
         .nbind = 2,
         .to = {"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"}},
        {.version = WIRE_VERSION, .id = 8, .op = WIRE_OP_JOB, .job = 9},
        {.version = WIRE_VERSION, .id = 9, .op = WIRE_OP_CANCEL, .job = 9},
        {.version = WIRE_VERSION, .id = 10, .op = WIRE_OP_COMMIT, .name = "x", .upload = 3},
    };
    bool ok =
        corpus_request(c, "req-put-fixed", &put) && corpus_request(c, "req-put-int", &put_int);
    for (size_t i = 0; ok && i < sizeof reqs / sizeof reqs[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "req-%s", wire_op_name(reqs[i].op));
        ok = corpus_request(c, name, &reqs[i]);
    }

    wire_tensor_info_t list[2] = {
        {.name = "x",
         .kind = WIRE_KIND_FIXED,
         .frac = 13,
         .ndim = 2,
         .shape = {2, 3},
         .mine = true},
        {.name = "w1", .kind = WIRE_KIND_INT, .ndim = 1, .shape = {4}, .grants = 2}};
    wire_reply_t status = {.version = WIRE_VERSION,
                           .id = 1,
                           .party = 1,
                           .cluster = "demo",
                           .software = "0.1.0",
                           .uptime_ms = 1234,
                           .tensors = 2,
                           .bytes = 80,
                           .memory_limit = 1 << 30,
                           .peers = {WIRE_PEER_UP, WIRE_PEER_SELF, WIRE_PEER_DOWN}};
    wire_reply_t ls = {.version = WIRE_VERSION, .id = 2, .count = 2, .list = list};
    wire_reply_t get = {.version = WIRE_VERSION,
                        .id = 5,
                        .info = list[0],
                        .data = (const uint8_t *)data,
                        .data_len = sizeof data};
    wire_reply_t run = {.version = WIRE_VERSION,
                        .id = 6,
                        .stats = {.steps = 3,
                                  .time_us = 900,
                                  .exec_us = 800,
                                  .first_step_us = 400,
                                  .sent = {0, 100, 50},
                                  .recv = {0, 90, 60},
                                  .msgs = {0, 7, 7},
                                  .rounds = 7,
                                  .mask_bytes = 10,
                                  .setup_bytes = 64}};
    wire_reply_t job = {
        .version = WIRE_VERSION, .id = 8, .state = WIRE_JOB_RUNNING, .step = 1, .steps = 3};
    wire_reply_t fail = {.version = WIRE_VERSION,
                         .id = 3,
                         .code = TRINE_EPERM,
                         .msg = "only the owner may remove 'w1'"};
    ok = ok && corpus_reply(c, "reply-status", WIRE_OP_STATUS, &status) &&
         corpus_reply(c, "reply-ls", WIRE_OP_LS, &ls) &&
         corpus_reply(c, "reply-get", WIRE_OP_GET, &get) &&
         corpus_reply(c, "reply-run", WIRE_OP_RUN, &run) &&
         corpus_reply(c, "reply-job", WIRE_OP_JOB, &job) &&
         corpus_reply(c, "reply-error", WIRE_OP_RM, &fail);

    for (int t = WIRE_FRAME_HELLO; ok && t <= WIRE_FRAME_ABORT; t++) {
        wire_frame_t f = {.type = (wire_frame_type_t)t,
                          .sender = (unsigned)t % 3,
                          .job = t == WIRE_FRAME_DATA ? 9 : 0,
                          .step = 4,
                          .round = 2};
        uint8_t hdr[WIRE_FRAME_HEADER_BYTES];
        wire_frame_pack(hdr, &f);
        char name[32];
        snprintf(name, sizeof name, "frame-%d", t);
        ok = corpus_put(c, "wire", name, 'f', hdr, sizeof hdr);
    }
    uint8_t beat[WIRE_HEARTBEAT_BYTES];
    wire_heartbeat_pack(beat, &(wire_heartbeat_t){.incarnation = 0x1234567890abcdefu, .holds = 5});
    ok = ok && corpus_put(c, "wire", "heartbeat", 'b', beat, sizeof beat);

    char *lines[] = {"name = demo", "frac_bits = 13", "party0.peer = tcp://127.0.0.1:7100"};
    wire_hello_t hello = {.version = WIRE_VERSION,
                          .party = 2,
                          .incarnation = 77,
                          .software = "0.1.0",
                          .nlines = 3,
                          .lines = lines};
    memset(hello.fingerprint, 0xab, sizeof hello.fingerprint);
    void *buf = NULL;
    size_t len = 0;
    ok = ok && wire_hello_encode(&buf, &len, &hello) == TRINE_OK &&
         corpus_put(c, "wire", "hello", 'h', buf, len);
    free(buf);
    return ok;
}

/* Programs: the examples' text programs with shapes, and what `trine
 * bench` runs for the sample bench files' small items. */
static bool corpus_prog_put(corpus_t *c, const char *name, const prog_t *p, void **keep,
                            size_t *keep_len)
{
    void *buf = NULL;
    size_t len = 0;
    trine_err_t err = {0};
    bool ok = prog_wire_encode(p, &buf, &len, &err) == TRINE_OK &&
              corpus_put(c, "prog", name, 0, buf, len);
    if (!ok)
        fprintf(stderr, "make_corpus: program %s: %s\n", name, err.msg);
    if (ok && keep && !*keep) {
        *keep = buf;
        *keep_len = len;
    } else {
        free(buf);
    }
    return ok;
}

static bool corpus_text_prog(corpus_t *c, const char *file, const char *const *names,
                             const size_t (*shapes)[2], void **keep, size_t *keep_len)
{
    char path[4096], text[8192];
    snprintf(path, sizeof path, "%s/examples/fashion-mnist/%s", c->src, file);
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f)
        fclose(f);
    prog_t p = {0};
    trine_err_t err = {0};
    bool ok = len > 0 && prog_text_compile(&p, text, len, file, &err) == TRINE_OK;
    for (size_t i = 0; ok && names[i]; i++)
        ok = prog_text_set_shape(&p, names[i], shapes[i][1] ? 2 : 1, shapes[i], &err) == TRINE_OK;
    ok = ok && prog_check(&p, 1, NULL, &err) == TRINE_OK;
    if (!ok)
        fprintf(stderr, "make_corpus: %s: %s\n", path, err.msg);
    char name[256];
    snprintf(name, sizeof name, "example-%.*s", (int)strcspn(file, "."), file);
    ok = ok && corpus_prog_put(c, name, &p, keep, keep_len);
    prog_clear(&p);
    return ok;
}

static bool corpus_bench_progs(corpus_t *c, const char *ini)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config/%s", c->src, ini);
    bench_config_t b;
    trine_err_t err = {0};
    if (bench_config_load(&b, path, &err) != TRINE_OK) {
        fprintf(stderr, "make_corpus: %s\n", err.msg);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < b.nitems; i++) {
        if (b.items[i].batch > 2)
            continue; /* the same program at another batch */
        bench_prog_t bp = {0};
        ok = bench_prog_build(&bp, &b.items[i], 1, b.frac_bits, 1, &err) == TRINE_OK;
        if (!ok)
            fprintf(stderr, "make_corpus: %s item %zu: %s\n", path, i, err.msg);
        char name[96];
        snprintf(name, sizeof name, "bench-%s-%s-b%zu", bench_op_name(b.items[i].op),
                 b.items[i].size[0] ? b.items[i].size : "net", b.items[i].batch);
        for (char *s = name; *s; s++)
            *s = *s == '/' ? '_' : *s;
        ok = ok && corpus_prog_put(c, name, &bp.prog, NULL, NULL);
        bench_prog_clear(&bp);
    }
    bench_config_clear(&b);
    return ok;
}

static bool corpus_npy(corpus_t *c)
{
    static const double reals[6] = {0.5, -1.25, 3, 0, 1e-3, -7};
    static const int64_t ints[4] = {0, -1, INT64_MIN, 42};
    static const uint64_t ring[8] = {1, 2, 3, 4, 5, 6, 7, (uint64_t)-1};
    const size_t s23[] = {2, 3}, s4[] = {4}, s1222[] = {1, 2, 2, 2};
    char path[4096];
    trine_err_t err = {0};
    bool ok = true;
    static const struct {
        const char *name;
        plain_dtype_t dtype;
        int ndim;
    } w[] = {
        {"f8-2x3.npy", PLAIN_F8, 2}, {"i8-4.npy", PLAIN_I8, 1}, {"u8-1x2x2x2.npy", PLAIN_U8, 4}};
    const size_t *shapes[] = {s23, s4, s1222};
    const void *data[] = {reals, ints, ring};
    for (size_t i = 0; ok && i < 3; i++) {
        snprintf(path, sizeof path, "%s/npy/%s", c->out, w[i].name);
        ok = plain_write_npy(path, w[i].dtype, w[i].ndim, shapes[i], data[i], &err) == TRINE_OK;
        c->written += ok;
    }
    /* The dtypes trine reads but does not write, and header versions 2 and
     * 3: a preamble (magic, version, header length), a header padded with
     * spaces to a multiple of 16 bytes with the preamble, then the data. */
    static const struct {
        const char *name, *descr, *shape;
        unsigned version;
        size_t bytes;
    } h[] = {{"f4-3.npy", "<f4", "(3,)", 1, 12},
             {"i4-2x2.npy", "<i4", "(2, 2)", 1, 16},
             {"u1-5.npy", "|u1", "(5,)", 2, 5},
             {"f8-scalar.npy", "<f8", "()", 3, 8},
             {"i8-1x1x1x1.npy", "<i8", "(1, 1, 1, 1)", 1, 8}};
    static const uint8_t bytes[16] = {0, 0, 0x80, 0x3f, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 7};
    for (size_t i = 0; ok && i < sizeof h / sizeof h[0]; i++) {
        char dict[128], file[256];
        int n =
            snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     h[i].descr, h[i].shape);
        size_t pre = h[i].version == 1 ? 10 : 12;
        size_t hlen = ((pre + (size_t)n + 1 + 15) / 16) * 16 - pre;
        memcpy(file, "\x93NUMPY", 6);
        file[6] = (char)h[i].version;
        file[7] = 0;
        memset(file + 8, 0, 4);
        file[8] = (char)(hlen & 0xff);
        file[9] = (char)(hlen >> 8);
        memset(file + pre, ' ', hlen);
        memcpy(file + pre, dict, (size_t)n);
        file[pre + hlen - 1] = '\n';
        memcpy(file + pre + hlen, bytes, h[i].bytes);
        ok = corpus_put(c, "npy", h[i].name, 0, file, pre + hlen + h[i].bytes);
    }
    return ok;
}

/* Config seeds: the shipped samples, each behind its selector. */
static bool corpus_config(corpus_t *c)
{
    static const struct {
        const char *file;
        char selector;
    } s[] = {{"cluster.example.ini", 'c'},
             {"bench-small.ini", 'b'},
             {"bench-networks.ini", 'b'},
             {"bench-table8.ini", 'b'}};
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof s / sizeof s[0]; i++) {
        char path[4096], text[16384];
        snprintf(path, sizeof path, "%s/config/%s", c->src, s[i].file);
        FILE *f = fopen(path, "rb");
        size_t len = f ? fread(text, 1, sizeof text, f) : 0;
        if (f)
            fclose(f);
        ok = len > 0 && corpus_put(c, "config", s[i].file, s[i].selector, text, len);
    }
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_corpus SRC OUT\n");
        return 2;
    }
    corpus_t c = {.src = argv[1], .out = argv[2]};
    static const char *const subs[] = {"wire", "prog", "npy", "config"};
    bool ok = true;
    for (size_t i = 0; ok && i < 4; i++)
        ok = corpus_dir(&c, subs[i]);

    static const char *const net_a[] = {"x", "w1", "b1", "w2", "b2", "w3", "b3", NULL};
    static const size_t net_a_shapes[][2] = {{4, 784}, {784, 128}, {128, 0}, {128, 128},
                                             {128, 0}, {128, 10},  {10, 0}};
    static const char *const logreg[] = {"x", "w1", "b1", NULL};
    static const size_t logreg_shapes[][2] = {{4, 784}, {784, 1}, {1, 0}};
    void *program = NULL;
    size_t program_len = 0;
    ok = ok && corpus_text_prog(&c, "network_a.prog", net_a, net_a_shapes, &program, &program_len);
    ok = ok && corpus_text_prog(&c, "logreg.prog", logreg, logreg_shapes, NULL, NULL);
    ok = ok && corpus_bench_progs(&c, "bench-small.ini") &&
         corpus_bench_progs(&c, "bench-networks.ini");
    ok = ok && corpus_wire(&c, program, program_len) && corpus_npy(&c) && corpus_config(&c);
    free(program);
    printf("make_corpus: %u seeds in %s\n", c.written, c.out);
    return ok ? 0 : 1;
}
