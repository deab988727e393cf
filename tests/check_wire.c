/* check_wire.c — the wire codecs: client requests and replies, party frame
 * headers, heartbeats and hellos. Round trips, and hostile or malformed
 * messages rejected with a reason, never a crash or a leak. */
#include "check_util.h"

#include "daemon/wire/wire.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static const char *pubkey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

static wire_request_t put_request(uint64_t *data, size_t rows, size_t cols)
{
    wire_request_t r = {.version = WIRE_VERSION,
                        .id = 77,
                        .op = WIRE_OP_PUT,
                        .kind = WIRE_KIND_FIXED,
                        .frac = 13,
                        .ndim = 2,
                        .shape = {rows, cols},
                        .data = (const uint8_t *)data,
                        .data_len = rows * cols * 8,
                        .upload = 0x8000000000000001};
    strcpy(r.name, "x_train.0");
    return r;
}

static trine_status_t decode(wire_request_t *out, const void *buf, size_t len, trine_err_t *err)
{
    return wire_request_decode(out, buf, len, err);
}

START_TEST(wire_round_trips)
{
    uint64_t data[6] = {1, 2, 3, UINT64_MAX, 0, 1ULL << 63};
    wire_request_t reqs[6] = {put_request(data, 2, 3)};
    reqs[1] = (wire_request_t){.version = WIRE_VERSION, .id = 1, .op = WIRE_OP_STATUS};
    reqs[2] = (wire_request_t){.version = WIRE_VERSION, .id = 2, .op = WIRE_OP_LS};
    reqs[3] = (wire_request_t){.version = WIRE_VERSION, .id = 3, .op = WIRE_OP_RM, .name = "w1"};
    reqs[4] = (wire_request_t){.version = WIRE_VERSION,
                               .id = UINT64_MAX,
                               .op = WIRE_OP_GRANT,
                               .name = "w2",
                               .approval = {.program = {7, 8, 9}, .slot = "w2"}};
    strcpy(reqs[4].grantee.z85, pubkey);
    strcpy(reqs[4].approval.outputs_to.z85, pubkey);
    reqs[5] = (wire_request_t){
        .version = WIRE_VERSION, .id = 5, .op = WIRE_OP_GET, .name = "y", .offset = 9, .count = 3};
    reqs[0].offset = 0;
    for (int i = 0; i < 6; i++) {
        void *buf;
        size_t len;
        ck_assert_int_eq(wire_request_encode(&buf, &len, &reqs[i]), TRINE_OK);
        wire_request_t got;
        trine_err_t err;
        ck_assert_msg(decode(&got, buf, len, &err) == TRINE_OK, "%s: %s", wire_op_name(reqs[i].op),
                      err.msg);
        ck_assert_int_eq(got.op, reqs[i].op);
        ck_assert_uint_eq(got.id, reqs[i].id);
        ck_assert_str_eq(got.name, reqs[i].name);
        ck_assert_str_eq(got.grantee.z85, reqs[i].grantee.z85);
        if (reqs[i].op == WIRE_OP_GRANT) {
            ck_assert(!got.approval.any);
            ck_assert_mem_eq(got.approval.program, reqs[i].approval.program,
                             WIRE_PROGRAM_HASH_BYTES);
            ck_assert_str_eq(got.approval.slot, "w2");
            ck_assert_str_eq(got.approval.outputs_to.z85, pubkey);
        }
        if (reqs[i].op == WIRE_OP_PUT) {
            ck_assert_int_eq(got.kind, WIRE_KIND_FIXED);
            ck_assert_uint_eq(got.frac, 13);
            ck_assert_int_eq(got.ndim, 2);
            ck_assert_uint_eq(got.shape[1], 3);
            ck_assert_uint_eq(got.data_len, 48);
            /* zero copy: the payload is read where it lies */
            ck_assert(got.data > (const uint8_t *)buf && got.data + 48 <= (uint8_t *)buf + len);
            ck_assert_mem_eq(got.data, data, 48);
            ck_assert_uint_eq(got.upload, 0x8000000000000001);
            ck_assert_uint_eq(got.offset, 0);
        }
        if (reqs[i].op == WIRE_OP_GET) {
            ck_assert_uint_eq(got.offset, 9);
            ck_assert_uint_eq(got.count, 3);
        }
        free(buf);
    }
}
END_TEST

START_TEST(wire_job_requests)
{
    static const uint8_t program[] = {0x81, 0xa1, 'v', 1};
    wire_request_t run = {.version = WIRE_VERSION,
                          .id = 9,
                          .op = WIRE_OP_RUN,
                          .job = UINT64_MAX,
                          .program = program,
                          .program_len = sizeof program,
                          .batch = 128,
                          .epochs = 3,
                          .prefix = "net-"};
    wire_bind_t bind[2] = {{.names = {"x_a", "x_b"}, .count = 2}, {.names = {"w1"}, .count = 1}};
    run.bind = bind;
    run.nbind = 2;
    strcpy(run.to.z85, pubkey);
    void *buf;
    size_t len;
    wire_request_t got;
    trine_err_t err = {0};
    ck_assert_int_eq(wire_request_encode(&buf, &len, &run), TRINE_OK);
    ck_assert_msg(decode(&got, buf, len, &err) == TRINE_OK, "%s", err.msg);
    ck_assert_uint_eq(got.nbind, 2);
    ck_assert_uint_eq(got.bind[0].count, 2);
    ck_assert_str_eq(got.bind[0].names[1], "x_b");
    ck_assert_str_eq(got.bind[1].names[0], "w1");
    ck_assert_str_eq(got.to.z85, pubkey);
    wire_request_clear(&got);
    ck_assert_int_eq(got.op, WIRE_OP_RUN);
    ck_assert_uint_eq(got.job, UINT64_MAX);
    ck_assert_uint_eq(got.program_len, sizeof program);
    ck_assert_mem_eq(got.program, program, sizeof program);
    ck_assert_uint_eq(got.batch, 128);
    ck_assert_uint_eq(got.epochs, 3);
    ck_assert_str_eq(got.prefix, "net-");
    ck_assert(!got.shuffle);
    free(buf);
    /* shuffle: sent only when true, and then read back */
    size_t unshuffled = len;
    run.shuffle = true;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &run), TRINE_OK);
    ck_assert_uint_gt(len, unshuffled);
    ck_assert_msg(decode(&got, buf, len, &err) == TRINE_OK, "%s", err.msg);
    ck_assert(got.shuffle);
    ck_assert(!got.fresh_masks);
    wire_request_clear(&got);
    free(buf);
    run.shuffle = false;
    /* fresh_masks likewise */
    run.fresh_masks = true;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &run), TRINE_OK);
    ck_assert_uint_gt(len, unshuffled);
    ck_assert_msg(decode(&got, buf, len, &err) == TRINE_OK, "%s", err.msg);
    ck_assert(got.fresh_masks && !got.shuffle);
    wire_request_clear(&got);
    free(buf);
    run.fresh_masks = false;
    /* An empty prefix, recipient and binding are allowed; a zero batch,
     * epoch count or job id, a bad name or an empty bind entry are not. */
    run.prefix[0] = '\0';
    run.to.z85[0] = '\0';
    run.nbind = 0;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &run), TRINE_OK);
    ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_OK);
    ck_assert_uint_eq(got.nbind, 0);
    ck_assert_str_eq(got.to.z85, "");
    free(buf);
    run.nbind = 1;
    bind[0].count = 0;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &run), TRINE_OK);
    ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_EFORMAT);
    ck_assert_msg(strstr(err.msg, "bind entry 0 must be an array of 1 to"), "%s", err.msg);
    ck_assert_ptr_null(got.bind);
    free(buf);
    bind[0].count = 1;
    strcpy(bind[0].names[0], "../x");
    ck_assert_int_eq(wire_request_encode(&buf, &len, &run), TRINE_OK);
    ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_EFORMAT);
    ck_assert_msg(strstr(err.msg, "'../x' is not a tensor name"), "%s", err.msg);
    free(buf);
    strcpy(run.to.z85, "short");
    run.nbind = 0;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &run), TRINE_OK);
    ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_EFORMAT);
    ck_assert_msg(strstr(err.msg, "field 'to' must be an empty string or a 40-character"), "%s",
                  err.msg);
    free(buf);
    run.to.z85[0] = '\0';
    static const struct {
        uint64_t job, batch, epochs;
        const char *part;
    } bad[] = {{0, 1, 1, "field 'job' must not be 0"},
               {1, 0, 1, "field 'batch' must be at least 1"},
               {1, 1, 0, "field 'epochs' must be at least 1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run.job = bad[i].job;
        run.batch = bad[i].batch;
        run.epochs = bad[i].epochs;
        ck_assert_int_eq(wire_request_encode(&buf, &len, &run), TRINE_OK);
        ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_EFORMAT);
        ck_assert_msg(strstr(err.msg, bad[i].part), "'%s' lacks '%s'", err.msg, bad[i].part);
        free(buf);
    }
    static const wire_op_t ops[] = {WIRE_OP_JOB, WIRE_OP_CANCEL};
    for (size_t i = 0; i < 2; i++) {
        wire_request_t q = {.version = WIRE_VERSION, .id = 1, .op = ops[i], .job = 42};
        ck_assert_int_eq(wire_request_encode(&buf, &len, &q), TRINE_OK);
        ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_OK);
        ck_assert_int_eq(got.op, ops[i]);
        ck_assert_uint_eq(got.job, 42);
        free(buf);
    }
}
END_TEST


/* A grant names a program and a slot, or neither (any program); revoke
 * names a program or none (every approval). */
START_TEST(wire_grant_revoke)
{
    wire_request_t q = {.version = WIRE_VERSION, .id = 3, .op = WIRE_OP_GRANT, .name = "w"};
    strcpy(q.grantee.z85, pubkey);
    void *buf;
    size_t len;
    wire_request_t got;
    trine_err_t err;
    q.approval.any = true;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &q), TRINE_OK);
    ck_assert_msg(decode(&got, buf, len, &err) == TRINE_OK, "%s", err.msg);
    ck_assert(got.approval.any);
    free(buf);
    strcpy(q.approval.slot, "x"); /* any program, yet a slot */
    ck_assert_int_eq(wire_request_encode(&buf, &len, &q), TRINE_OK);
    ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_EFORMAT);
    ck_assert_msg(strstr(err.msg, "exactly when it names a program"), "%s", err.msg);
    free(buf);
    q.approval.any = false, q.approval.slot[0] = '\0'; /* a program, no slot */
    ck_assert_int_eq(wire_request_encode(&buf, &len, &q), TRINE_OK);
    ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_EFORMAT);
    free(buf);
    strcpy(q.approval.slot, "no slot"); /* not a variable name */
    ck_assert_int_eq(wire_request_encode(&buf, &len, &q), TRINE_OK);
    ck_assert_int_eq(decode(&got, buf, len, &err), TRINE_EFORMAT);
    ck_assert_msg(strstr(err.msg, "input slot 'no slot'"), "%s", err.msg);
    free(buf);
    wire_request_t r = {.version = WIRE_VERSION, .id = 4, .op = WIRE_OP_REVOKE, .name = "w"};
    strcpy(r.grantee.z85, pubkey);
    r.approval.program[0] = 5;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &r), TRINE_OK);
    ck_assert_msg(decode(&got, buf, len, &err) == TRINE_OK, "%s", err.msg);
    ck_assert_int_eq(got.op, WIRE_OP_REVOKE);
    ck_assert(!got.approval.any);
    ck_assert_uint_eq(got.approval.program[0], 5);
    free(buf);
}
END_TEST

START_TEST(wire_truncated_everywhere)
{
    uint64_t data[4] = {9, 8, 7, 6};
    wire_request_t r = put_request(data, 2, 2);
    void *buf;
    size_t len;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &r), TRINE_OK);
    for (size_t cut = 0; cut < len; cut++) {
        void *copy = malloc(cut ? cut : 1); /* exact size, so valgrind sees overreads */
        memcpy(copy, buf, cut);
        wire_request_t got;
        trine_err_t err;
        ck_assert_int_eq(decode(&got, copy, cut, &err), TRINE_EFORMAT);
        free(copy);
    }
    free(buf);
}
END_TEST

/* Lengths that promise more than the message holds, and deep nesting. */
START_TEST(wire_hostile_lengths)
{
    static const struct {
        uint8_t bytes[16];
        size_t len;
    } bad[] = {
        {{0xdd, 0xff, 0xff, 0xff, 0xff}, 5},             /* array of 4G entries */
        {{0xdf, 0x10, 0x00, 0x00, 0x00, 0xc0, 0xc0}, 7}, /* map of 256M pairs */
        {{0xde, 0x00, 0x02, 0xc0, 0xc0, 0xc0}, 6},       /* map16 of 2 pairs, 3 bytes */
        {{0xc6, 0xff, 0xff, 0xff, 0xff, 0x00}, 6},       /* bin32 of 4 GiB */
        {{0xdb, 0x00, 0x00, 0x01, 0x00, 'a'}, 6},        /* str32 of 256 bytes */
        {{0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01}, 6},       /* ext32 */
        {{0xc1}, 1},                                     /* never used */
        {{0x80, 0x00}, 2},                               /* trailing byte */
        {{0xcf, 0x00}, 2},                               /* uint64 cut short */
        {{0xdc, 0x00}, 2},                               /* array16 header cut short */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wire_request_t got;
        trine_err_t err;
        ck_assert_msg(decode(&got, bad[i].bytes, bad[i].len, &err) == TRINE_EFORMAT, "case %zu", i);
        /* stopped by the scan, before msgpack-c allocates for the count */
        ck_assert_msg(strstr(err.msg, "at byte") || strstr(err.msg, "after the message"),
                      "case %zu: %s", i, err.msg);
    }
    uint8_t deep[64];
    memset(deep, 0x91, sizeof deep); /* arrays of one array of one ... */
    deep[63] = 0xc0;
    trine_err_t err;
    ck_assert_int_eq(wire_scan(deep, sizeof deep, WIRE_DEPTH_MAX, &err), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "nested deeper"));
    ck_assert_int_eq(wire_scan(deep + 64 - 4, 4, WIRE_DEPTH_MAX, &err), TRINE_OK);
}
END_TEST

/* Builds a map from alternating keys and values packed by the caller. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} builder_t;

static void builder_start(builder_t *b, size_t pairs)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&b->pk, pairs);
}

static void key(builder_t *b, const char *k)
{
    msgpack_pack_str_with_body(&b->pk, k, strlen(k));
}

static void str(builder_t *b, const char *k, const char *v)
{
    key(b, k);
    msgpack_pack_str_with_body(&b->pk, v, strlen(v));
}

static void uint(builder_t *b, const char *k, uint64_t v)
{
    key(b, k);
    msgpack_pack_uint64(&b->pk, v);
}

/* Decodes the builder's message, expecting status and a message part. */
static void builder_expect(builder_t *b, trine_status_t want, const char *part)
{
    wire_request_t got;
    trine_err_t err = {0};
    trine_status_t st = decode(&got, b->sb.data, b->sb.size, &err);
    ck_assert_msg(st == want, "status %d (%s), want %d", st, err.msg, want);
    ck_assert_msg(strstr(err.msg, part), "'%s' lacks '%s'", err.msg, part);
    msgpack_sbuffer_destroy(&b->sb);
}

START_TEST(wire_bad_envelopes)
{
    builder_t b;
    builder_start(&b, 3), uint(&b, "v", 2), uint(&b, "id", 9), str(&b, "op", "ls");
    builder_expect(&b, TRINE_EUNSUPPORTED, "version 2");
    /* shuffle is optional for run alone, and true when present */
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "ls");
    key(&b, "shuffle"), msgpack_pack_true(&b.pk);
    builder_expect(&b, TRINE_EFORMAT, "ls request has no field 'shuffle'");
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "run");
    key(&b, "shuffle"), msgpack_pack_false(&b.pk);
    builder_expect(&b, TRINE_EFORMAT, "field 'shuffle' must be true when present");
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "run");
    key(&b, "fresh_masks"), msgpack_pack_false(&b.pk);
    builder_expect(&b, TRINE_EFORMAT, "field 'fresh_masks' must be true when present");
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "ls");
    key(&b, "fresh_masks"), msgpack_pack_true(&b.pk);
    builder_expect(&b, TRINE_EFORMAT, "ls request has no field 'fresh_masks'");
    builder_start(&b, 2), uint(&b, "v", 1), str(&b, "op", "ls");
    builder_expect(&b, TRINE_EFORMAT, "lacks field 'id'");
    builder_start(&b, 3), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "format_disk");
    builder_expect(&b, TRINE_EFORMAT, "field 'op' must be one of");
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "ls"),
        uint(&b, "id", 2);
    builder_expect(&b, TRINE_EFORMAT, "appears twice");
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "ls"),
        str(&b, "colour", "red");
    builder_expect(&b, TRINE_EFORMAT, "unknown field 'colour'");
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "ls"),
        str(&b, "name", "x");
    builder_expect(&b, TRINE_EFORMAT, "ls request has no field 'name'");
    builder_start(&b, 3), uint(&b, "v", 1), str(&b, "id", "1"), str(&b, "op", "ls");
    builder_expect(&b, TRINE_EFORMAT, "'id' must be an unsigned integer");
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "rm"),
        str(&b, "name", "../etc");
    builder_expect(&b, TRINE_EFORMAT, "is not 1-64");
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "rm"),
        uint(&b, "name", 5);
    builder_expect(&b, TRINE_EFORMAT, "'name' must be a string");
    builder_start(&b, 5), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "grant"),
        str(&b, "name", "w"), str(&b, "grantee", "short");
    builder_expect(&b, TRINE_EFORMAT, "Z85 public key");

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 0);
    wire_request_t got;
    trine_err_t err;
    ck_assert_int_eq(decode(&got, sb.data, sb.size, &err), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "must be a msgpack map"));
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* A put with the given shape, kind, frac (when >= 0) and data bytes. */
/* A put of data_len zero bytes at element offset of a tensor of shape. */
static void put_case(const uint64_t *shape, size_t ndim, const char *kind, int frac,
                     uint64_t offset, size_t data_len, trine_status_t want, const char *part)
{
    builder_t b;
    builder_start(&b, 9 + (frac >= 0));
    uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "put"), str(&b, "name", "t");
    uint(&b, "upload", 5);
    str(&b, "kind", kind);
    if (frac >= 0)
        uint(&b, "frac", (uint64_t)frac);
    key(&b, "shape");
    msgpack_pack_array(&b.pk, ndim);
    for (size_t i = 0; i < ndim; i++)
        msgpack_pack_uint64(&b.pk, shape[i]);
    uint(&b, "offset", offset);
    key(&b, "data");
    uint8_t *zeros = calloc(1, data_len + 1);
    msgpack_pack_bin_with_body(&b.pk, zeros, data_len);
    free(zeros);
    builder_expect(&b, want, part);
}

START_TEST(wire_bad_puts)
{
    const uint64_t s23[] = {2, 3}, s0[] = {2, 0}, s5[] = {1, 1, 1, 1, 1};
    const uint64_t huge[] = {1ULL << 40, 1ULL << 40};
    put_case(s23, 2, "int", -1, 0, 48, TRINE_OK, "");
    put_case(s23, 2, "fixed", 13, 0, 48, TRINE_OK, "");
    put_case(s23, 2, "int", -1, 0, 40, TRINE_OK, ""); /* a part: 5 of the 6 elements */
    put_case(s23, 2, "int", -1, 5, 8, TRINE_OK, "");  /* the last element alone */
    put_case(s23, 2, "int", -1, 0, 44, TRINE_EFORMAT, "not a whole number");
    put_case(s23, 2, "int", -1, 0, 0, TRINE_EFORMAT, "not a whole number (>= 1)");
    put_case(s23, 2, "int", -1, 0, 56, TRINE_EFORMAT,
             "the part's 7 elements at offset 0 pass the end of the shape's 6");
    put_case(s23, 2, "int", -1, 5, 16, TRINE_EFORMAT, "at offset 5 pass the end");
    put_case(s23, 2, "int", -1, 6, 8, TRINE_EFORMAT, "at offset 6 pass the end");
    put_case(s23, 2, "int", -1, UINT64_MAX, 8, TRINE_EFORMAT, "pass the end");
    put_case(s23, 2, "fixed", -1, 0, 48, TRINE_EFORMAT, "lacks field 'frac'");
    put_case(s23, 2, "int", 13, 0, 48, TRINE_EFORMAT, "has no field 'frac'");
    put_case(s23, 2, "fixed", 63, 0, 48, TRINE_EFORMAT, "'frac' must be");
    put_case(s23, 2, "float", -1, 0, 48, TRINE_EFORMAT, "'kind' must be");
    put_case(s0, 2, "int", -1, 0, 0, TRINE_EFORMAT, "zero extent");
    put_case(s5, 5, "int", -1, 0, 8, TRINE_EFORMAT, "array of 1 to 4");
    put_case(s23, 0, "int", -1, 0, 8, TRINE_EFORMAT, "array of 1 to 4");
    put_case(huge, 2, "int", -1, 0, 8, TRINE_EFORMAT, "more elements than fit");

    /* a get names where to start and how many at most, at least one */
    builder_t b;
    builder_start(&b, 5), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "get"),
        str(&b, "name", "t"), uint(&b, "offset", 0);
    builder_expect(&b, TRINE_EFORMAT, "get request lacks field 'count'");
    builder_start(&b, 6), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "get"),
        str(&b, "name", "t"), uint(&b, "offset", 0), uint(&b, "count", 0);
    builder_expect(&b, TRINE_EFORMAT, "field 'count' must be at least 1");
    builder_start(&b, 6), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "commit"),
        str(&b, "name", "t"), uint(&b, "upload", 3), uint(&b, "offset", 0);
    builder_expect(&b, TRINE_EFORMAT, "commit request has no field 'offset'");
}
END_TEST

/* Two-phase uploads: put carries an upload number, commit names it. */
START_TEST(wire_commit_requests)
{
    wire_request_t q = {.version = WIRE_VERSION, .id = 4, .op = WIRE_OP_COMMIT, .upload = 77};
    strcpy(q.name, "x_train.0");
    void *buf;
    size_t len;
    wire_request_t got;
    trine_err_t err = {0};
    ck_assert_int_eq(wire_request_encode(&buf, &len, &q), TRINE_OK);
    /* the exact bytes: a map of v, id, op, name, upload */
    static const char want[] = "\x85\xa1v\x01\xa2id\x04\xa2op\xa6"
                               "commit\xa4name\xa9x_train.0\xa6upload\x4d";
    ck_assert_uint_eq(len, sizeof want - 1);
    ck_assert_mem_eq(buf, want, len);
    ck_assert_msg(decode(&got, buf, len, &err) == TRINE_OK, "%s", err.msg);
    ck_assert_int_eq(got.op, WIRE_OP_COMMIT);
    ck_assert_str_eq(got.name, "x_train.0");
    ck_assert_uint_eq(got.upload, 77);
    ck_assert_str_eq(wire_op_name(WIRE_OP_COMMIT), "commit");
    free(buf);

    builder_t b;
    builder_start(&b, 4), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "commit"),
        str(&b, "name", "x");
    builder_expect(&b, TRINE_EFORMAT, "commit request lacks field 'upload'");
    builder_start(&b, 5), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "commit"),
        str(&b, "name", "x"), uint(&b, "upload", 0);
    builder_expect(&b, TRINE_EFORMAT, "field 'upload' must not be 0");
    builder_start(&b, 6), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "commit"),
        str(&b, "name", "x"), uint(&b, "upload", 3), str(&b, "kind", "int");
    builder_expect(&b, TRINE_EFORMAT, "commit request has no field 'kind'");
    builder_start(&b, 5), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "rm"),
        str(&b, "name", "x"), uint(&b, "upload", 3);
    builder_expect(&b, TRINE_EFORMAT, "rm request has no field 'upload'");
    const uint64_t s23[] = {2, 3};
    builder_start(&b, 7), uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "put"),
        str(&b, "name", "t"), str(&b, "kind", "int"), key(&b, "shape");
    msgpack_pack_array(&b.pk, 2);
    msgpack_pack_uint64(&b.pk, s23[0]), msgpack_pack_uint64(&b.pk, s23[1]);
    key(&b, "data");
    static const uint8_t zeros[48];
    msgpack_pack_bin_with_body(&b.pk, zeros, sizeof zeros);
    builder_expect(&b, TRINE_EFORMAT, "put request lacks field 'upload'");
}
END_TEST

/* Random corruptions of a valid request: any answer but a crash. */
START_TEST(wire_mutations_do_not_crash)
{
    uint64_t data[6] = {0};
    wire_request_t r = put_request(data, 3, 2);
    void *buf;
    size_t len;
    ck_assert_int_eq(wire_request_encode(&buf, &len, &r), TRINE_OK);
    uint64_t rnd[3000];
    check_util_random(rnd, 3000, 99);
    uint8_t *copy = malloc(len);
    for (int i = 0; i < 1000; i++) {
        memcpy(copy, buf, len);
        for (int j = 0; j < 3; j++) {
            uint64_t x = rnd[i * 3 + j];
            copy[x % len] = (uint8_t)(x >> 32);
        }
        wire_request_t got;
        trine_err_t err;
        trine_status_t st = decode(&got, copy, len, &err);
        if (st == TRINE_OK && got.op == WIRE_OP_PUT)
            ck_assert(got.data >= copy && got.data + got.data_len <= copy + len);
    }
    free(copy);
    free(buf);
}
END_TEST

/* ---- replies --------------------------------------------------------- */

static void boolean(builder_t *b, const char *k, bool v)
{
    key(b, k);
    if (v)
        msgpack_pack_true(&b->pk);
    else
        msgpack_pack_false(&b->pk);
}

/* Starts a reply map of pairs entries with its envelope (v, id, ok). */
static void reply_start(builder_t *b, size_t pairs, bool ok)
{
    builder_start(b, pairs);
    uint(b, "v", WIRE_VERSION), uint(b, "id", 7), boolean(b, "ok", ok);
}

/* Decodes the builder's message as a reply to op, expecting status and a
 * message part; a failed decode must leave no list behind. */
static void reply_expect(builder_t *b, wire_op_t op, trine_status_t want, const char *part)
{
    wire_reply_t got;
    trine_err_t err = {0};
    trine_status_t st = wire_reply_decode(&got, op, b->sb.data, b->sb.size, &err);
    ck_assert_msg(st == want, "status %d (%s), want %d", st, err.msg, want);
    ck_assert_msg(strstr(err.msg, part), "'%s' lacks '%s'", err.msg, part);
    ck_assert_ptr_null(got.list);
    ck_assert_uint_eq(got.count, 0);
    msgpack_sbuffer_destroy(&b->sb);
}

/* Encodes r as the reply to op and decodes it into *got; *buf holds the
 * encoding, which got->data points into, until the caller frees it. */
static void reply_round_trip(wire_reply_t *got, void **buf, size_t *len, wire_op_t op,
                             const wire_reply_t *r)
{
    ck_assert_int_eq(wire_reply_encode(buf, len, op, r), TRINE_OK);
    trine_err_t err = {0};
    ck_assert_msg(wire_reply_decode(got, op, *buf, *len, &err) == TRINE_OK, "%s: %s",
                  wire_op_name(op), err.msg);
    ck_assert_uint_eq(got->version, WIRE_VERSION);
    ck_assert_uint_eq(got->id, r->id);
    ck_assert_int_eq(got->code, r->code);
}

static wire_reply_t status_reply(void)
{
    wire_reply_t r = {.id = 41,
                      .party = 2,
                      .uptime_ms = UINT64_MAX,
                      .tensors = 3,
                      .bytes = 1ULL << 40,
                      .memory_limit = 1ULL << 30,
                      .peers = {WIRE_PEER_SELF, WIRE_PEER_UP, WIRE_PEER_MISMATCH}};
    strcpy(r.cluster, "local-demo");
    strcpy(r.software, "0.1.0");
    return r;
}

START_TEST(reply_status_round_trips)
{
    wire_reply_t r = status_reply(), got;
    void *buf;
    size_t len;
    reply_round_trip(&got, &buf, &len, WIRE_OP_STATUS, &r);
    ck_assert_uint_eq(got.party, 2);
    ck_assert_str_eq(got.cluster, "local-demo");
    ck_assert_str_eq(got.software, "0.1.0");
    ck_assert_uint_eq(got.uptime_ms, UINT64_MAX);
    ck_assert_uint_eq(got.tensors, 3);
    ck_assert_uint_eq(got.bytes, 1ULL << 40);
    ck_assert_uint_eq(got.memory_limit, 1ULL << 30);
    ck_assert_int_eq(got.peers[0], WIRE_PEER_SELF);
    ck_assert_int_eq(got.peers[1], WIRE_PEER_UP);
    ck_assert_int_eq(got.peers[2], WIRE_PEER_MISMATCH);
    free(buf);

    /* the fourth state, party 0, and a cluster name of the longest kind */
    r = (wire_reply_t){.id = 0, .peers = {WIRE_PEER_SELF, WIRE_PEER_DOWN, WIRE_PEER_DOWN}};
    memset(r.cluster, 'c', WIRE_CLUSTER_MAX - 1);
    reply_round_trip(&got, &buf, &len, WIRE_OP_STATUS, &r);
    ck_assert_uint_eq(got.party, 0);
    ck_assert_uint_eq(strlen(got.cluster), WIRE_CLUSTER_MAX - 1);
    ck_assert_str_eq(got.software, "");
    ck_assert_int_eq(got.peers[1], WIRE_PEER_DOWN);
    ck_assert_int_eq(got.peers[2], WIRE_PEER_DOWN);
    free(buf);
}
END_TEST

static const wire_approval_t approvals[2] = {
    {.grantee = {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"}, .any = true},
    {.grantee = {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"},
     .program = {1, 2, 255},
     .slot = "w1",
     .outputs_to = {"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"}},
};

static const wire_tensor_info_t infos[3] = {
    {.name = "x_train.0",
     .approvals = approvals,
     .napprovals = 2,
     .owner = {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"},
     .kind = WIRE_KIND_FIXED,
     .frac = 13,
     .ndim = 2,
     .shape = {60000, 784},
     .mine = true,
     .grants = 2},
    {.name = "w1",
     .kind = WIRE_KIND_INT,
     .ndim = 1,
     .shape = {1},
     .owner = {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"}},
    {.name = "img-batch",
     .kind = WIRE_KIND_FIXED,
     .frac = 62,
     .ndim = 4,
     .shape = {64, 3, 32, 32},
     .mine = true,
     .grants = UINT32_MAX,
     .owner = {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"}},
};

static void info_eq(const wire_tensor_info_t *got, const wire_tensor_info_t *want)
{
    ck_assert_str_eq(got->name, want->name);
    ck_assert_int_eq(got->kind, want->kind);
    ck_assert_uint_eq(got->frac, want->frac);
    ck_assert_int_eq(got->ndim, want->ndim);
    for (int d = 0; d < want->ndim; d++)
        ck_assert_uint_eq(got->shape[d], want->shape[d]);
}

START_TEST(reply_ls_round_trips)
{
    wire_tensor_info_t list[3] = {infos[0], infos[1], infos[2]};
    static const size_t counts[] = {0, 1, 3};
    for (size_t i = 0; i < 3; i++) {
        wire_reply_t r = {.id = i, .count = counts[i], .list = list}, got;
        void *buf;
        size_t len;
        reply_round_trip(&got, &buf, &len, WIRE_OP_LS, &r);
        ck_assert_uint_eq(got.count, counts[i]);
        if (counts[i] == 0)
            ck_assert_ptr_null(got.list);
        for (size_t j = 0; j < counts[i]; j++) {
            info_eq(&got.list[j], &infos[j]);
            ck_assert(got.list[j].mine == infos[j].mine);
            ck_assert_uint_eq(got.list[j].grants, infos[j].grants);
            ck_assert_str_eq(got.list[j].owner.z85, infos[j].owner.z85);
            ck_assert_uint_eq(got.list[j].napprovals, infos[j].napprovals);
            for (size_t k = 0; k < infos[j].napprovals; k++) {
                const wire_approval_t *a = &got.list[j].approvals[k], *w = &approvals[k];
                ck_assert(a->any == w->any);
                ck_assert_mem_eq(a->program, w->program, sizeof a->program);
                ck_assert_str_eq(a->slot, w->slot);
                ck_assert_str_eq(a->grantee.z85, w->grantee.z85);
                ck_assert_str_eq(a->outputs_to.z85, w->outputs_to.z85);
            }
        }
        wire_reply_clear(&got);
        ck_assert_ptr_null(got.list);
        ck_assert_uint_eq(got.count, 0);
        ck_assert_uint_eq(got.id, i); /* the rest stays readable */
        free(buf);
    }
}
END_TEST

START_TEST(reply_get_round_trips)
{
    uint64_t data[6] = {1, UINT64_MAX, 0, 1ULL << 63, 42, 7};
    wire_reply_t r = {.id = 5, .info = infos[0], .data = (const uint8_t *)data, .data_len = 48};
    r.info.shape[0] = 2, r.info.shape[1] = 3;
    wire_reply_t got;
    void *buf;
    size_t len;
    reply_round_trip(&got, &buf, &len, WIRE_OP_GET, &r);
    info_eq(&got.info, &r.info);
    ck_assert_uint_eq(got.data_len, 48);
    /* zero copy: the shares are read where they lie */
    ck_assert(got.data > (const uint8_t *)buf && got.data + 48 <= (const uint8_t *)buf + len);
    ck_assert_mem_eq(got.data, data, 48);
    ck_assert_ptr_null(got.list);
    free(buf);

    r = (wire_reply_t){.id = 6, .info = infos[1], .data = (const uint8_t *)data, .data_len = 8};
    reply_round_trip(&got, &buf, &len, WIRE_OP_GET, &r);
    info_eq(&got.info, &infos[1]);
    ck_assert_mem_eq(got.data, data, 8);
    free(buf);

    /* a part: elements 4 and 5 of the 2 x 3 tensor */
    r = (wire_reply_t){
        .id = 7, .info = infos[0], .offset = 4, .data = (const uint8_t *)data, .data_len = 16};
    r.info.shape[0] = 2, r.info.shape[1] = 3;
    reply_round_trip(&got, &buf, &len, WIRE_OP_GET, &r);
    ck_assert_uint_eq(got.offset, 4);
    ck_assert_uint_eq(got.data_len, 16);
    ck_assert_mem_eq(got.data, data, 16);
    free(buf);
}
END_TEST

START_TEST(reply_job_round_trips)
{
    wire_reply_t r = {.id = 7,
                      .stats = {.steps = 79,
                                .time_us = 1234567,
                                .exec_us = 1200000,
                                .first_step_us = 8910,
                                .sent = {0, 1ULL << 40, 3},
                                .recv = {4, 0, 6},
                                .msgs = {7, 8, 0},
                                .rounds = 1500,
                                .mask_bytes = 99,
                                .setup_bytes = 64}},
                 got;
    void *buf;
    size_t len;
    reply_round_trip(&got, &buf, &len, WIRE_OP_RUN, &r);
    ck_assert_mem_eq(&got.stats, &r.stats, sizeof r.stats);
    uint64_t id = 0;
    trine_err_t err = {0};
    ck_assert_int_eq(wire_reply_id(&id, buf, len, &err), TRINE_OK);
    ck_assert_uint_eq(id, 7);
    /* a run reply is no job reply */
    ck_assert_int_eq(wire_reply_decode(&got, WIRE_OP_JOB, buf, len, &err), TRINE_EFORMAT);
    free(buf);
    for (wire_job_state_t s = WIRE_JOB_RUNNING; s <= WIRE_JOB_UNKNOWN; s++) {
        r = (wire_reply_t){.id = s, .state = s, .step = 3, .steps = 79};
        reply_round_trip(&got, &buf, &len, WIRE_OP_JOB, &r);
        ck_assert_int_eq(got.state, s);
        ck_assert_uint_eq(got.step, 3);
        ck_assert_uint_eq(got.steps, 79);
        free(buf);
    }
    r = (wire_reply_t){.id = 5};
    reply_round_trip(&got, &buf, &len, WIRE_OP_CANCEL, &r);
    free(buf);
    wire_job_info_t jobs[3] = {{1, WIRE_JOBS_STARTING, 0, 9, 12},
                               {UINT64_MAX, WIRE_JOBS_RUNNING, 4, 9, 1ULL << 40},
                               {7, WIRE_JOBS_STOPPING, 9, 9, 0}};
    for (size_t n = 0; n <= 3; n++) {
        r = (wire_reply_t){.id = 6, .njobs = n, .jobs = jobs};
        reply_round_trip(&got, &buf, &len, WIRE_OP_JOBS, &r);
        ck_assert_uint_eq(got.njobs, n);
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_eq(got.jobs[i].job, jobs[i].job);
            ck_assert_int_eq(got.jobs[i].state, jobs[i].state);
            ck_assert_uint_eq(got.jobs[i].step, jobs[i].step);
            ck_assert_uint_eq(got.jobs[i].steps, jobs[i].steps);
            ck_assert_uint_eq(got.jobs[i].elapsed_ms, jobs[i].elapsed_ms);
        }
        wire_reply_clear(&got);
        /* a jobs reply is no job reply */
        ck_assert_int_eq(wire_reply_decode(&got, WIRE_OP_JOB, buf, len, &err), TRINE_EFORMAT);
        wire_reply_clear(&got);
        free(buf);
    }
    /* an entry with an unknown state or a missing field is refused */
    static const char bad_state[] = "\x84\xa1v\x01\xa2id\x01\xa2ok\xc3\xa4jobs\x91\x85"
                                    "\xa3job\x01\xa5state\xa4" "done\xa4step\x00\xa5steps\x00"
                                    "\xaa" "elapsed_ms\x00";
    ck_assert_int_eq(wire_reply_decode(&got, WIRE_OP_JOBS, bad_state, sizeof bad_state - 1, &err),
                     TRINE_EFORMAT);
    ck_assert_str_eq(err.msg, "unknown job state in a job entry");
    wire_reply_clear(&got);
    static const char missing[] = "\x84\xa1v\x01\xa2id\x01\xa2ok\xc3\xa4jobs\x91\x84"
                                  "\xa3job\x01\xa5state\xa7running\xa4step\x00\xa5steps\x00";
    ck_assert_int_eq(wire_reply_decode(&got, WIRE_OP_JOBS, missing, sizeof missing - 1, &err),
                     TRINE_EFORMAT);
    wire_reply_clear(&got);
}
END_TEST

START_TEST(reply_bare_round_trips)
{
    static const wire_op_t ops[] = {WIRE_OP_PUT, WIRE_OP_RM, WIRE_OP_GRANT, WIRE_OP_COMMIT};
    for (size_t i = 0; i < 4; i++) {
        wire_reply_t r = {.id = UINT64_MAX - i}, got;
        void *buf;
        size_t len;
        reply_round_trip(&got, &buf, &len, ops[i], &r);
        /* the op decides the shape: a bare reply is no status reply */
        trine_err_t err = {0};
        ck_assert_int_eq(wire_reply_decode(&got, WIRE_OP_STATUS, buf, len, &err), TRINE_EFORMAT);
        ck_assert_str_eq(err.msg, "status reply lacks field 'party'");
        free(buf);
    }
}
END_TEST

START_TEST(reply_error_codes)
{
    static const struct {
        trine_status_t code;
        const char *name;
    } codes[] = {
        {TRINE_EINVAL, "invalid"},
        {TRINE_ENOMEM, "memory"},
        {TRINE_ESHAPE, "shape"},
        {TRINE_ERANGE, "range"},
        {TRINE_EIO, "io"},
        {TRINE_EFORMAT, "format"},
        {TRINE_EUNSUPPORTED, "unsupported"},
        {TRINE_ENOENT, "not-found"},
        {TRINE_EEXIST, "exists"},
        {TRINE_EPERM, "denied"},
        {TRINE_ELIMIT, "limit"},
        {TRINE_ETIMEOUT, "timeout"},
        {TRINE_EPEER, "peer"},
    };
    char longest[TRINE_ERR_MSG_MAX];
    memset(longest, 'm', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        ck_assert_str_eq(wire_code_name(codes[i].code), codes[i].name);
        ck_assert_int_eq(wire_code_of(codes[i].name, strlen(codes[i].name)), codes[i].code);
        /* an error reply has the same shape whatever the op */
        wire_op_t op = (wire_op_t)(WIRE_OP_STATUS + i % 6);
        wire_reply_t r = {.id = 100 + i, .code = codes[i].code}, got;
        strcpy(r.msg, i % 2 ? longest : "no tensor named 'w'");
        void *buf;
        size_t len;
        reply_round_trip(&got, &buf, &len, op, &r);
        ck_assert_str_eq(got.msg, r.msg);
        ck_assert_ptr_null(got.list);
        free(buf);
    }
    /* names are compared whole; a newer party's code reads as a peer fault */
    ck_assert_int_eq(wire_code_of("not-found-at-all", 9), TRINE_ENOENT);
    ck_assert_int_eq(wire_code_of("denie", 5), TRINE_EPEER);
    ck_assert_int_eq(wire_code_of("on-fire", 7), TRINE_EPEER);
    builder_t b;
    reply_start(&b, 5, false), str(&b, "err", "on-fire"), str(&b, "msg", "smoke");
    wire_reply_t got;
    trine_err_t err;
    ck_assert_int_eq(wire_reply_decode(&got, WIRE_OP_RM, b.sb.data, b.sb.size, &err), TRINE_OK);
    ck_assert_int_eq(got.code, TRINE_EPEER);
    ck_assert_str_eq(got.msg, "smoke");
    msgpack_sbuffer_destroy(&b.sb);
}
END_TEST

START_TEST(reply_bad_envelopes)
{
    builder_t b;
    msgpack_sbuffer_init(&b.sb);
    msgpack_packer_init(&b.pk, &b.sb, msgpack_sbuffer_write);
    msgpack_pack_array(&b.pk, 0);
    reply_expect(&b, WIRE_OP_LS, TRINE_EFORMAT, "a reply must be a msgpack map");
    builder_start(&b, 2), uint(&b, "id", 1), boolean(&b, "ok", true);
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "needs fields v, id and ok");
    builder_start(&b, 3), uint(&b, "v", 1), uint(&b, "id", 1), uint(&b, "ok", 1);
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "needs fields v, id and ok (boolean)");
    builder_start(&b, 3), uint(&b, "v", 2), uint(&b, "id", 1), boolean(&b, "ok", true);
    reply_expect(&b, WIRE_OP_RM, TRINE_EUNSUPPORTED, "protocol version 2");
    builder_start(&b, 3), str(&b, "v", "1"), uint(&b, "id", 1), boolean(&b, "ok", true);
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "'v' must be an unsigned integer");
    builder_start(&b, 3), uint(&b, "v", 1), str(&b, "id", "1"), boolean(&b, "ok", true);
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "'id' must be an unsigned integer");
    reply_start(&b, 4, true), str(&b, "colour", "red");
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "reply has 4 fields, expected 3");
    reply_start(&b, 4, false), str(&b, "err", "denied");
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "error reply lacks field 'msg'");
    reply_start(&b, 5, false), uint(&b, "err", 10), str(&b, "msg", "no");
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "field 'err' must be a string");
    reply_start(&b, 5, false), str(&b, "err", "denied"), uint(&b, "msg", 0);
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "field 'msg' must be a string");
    reply_start(&b, 6, false), str(&b, "err", "denied"), str(&b, "msg", "no"),
        str(&b, "hint", "ask");
    reply_expect(&b, WIRE_OP_RM, TRINE_EFORMAT, "error reply has 6 fields, expected 5");
    reply_start(&b, 3, true);
    reply_expect(&b, (wire_op_t)0, TRINE_EINVAL, "no such op");
}
END_TEST

/* A peers field of n states, all state. */
static void peers(builder_t *b, size_t n, const char *state)
{
    key(b, "peers");
    msgpack_pack_array(&b->pk, n);
    for (size_t p = 0; p < n; p++)
        msgpack_pack_str_with_body(&b->pk, state, strlen(state));
}

/* Packs a status reply's body fields but omit (which the caller may pack
 * with another value). */
static void status_body_except(builder_t *b, const char *omit)
{
    static const char *const names[] = {"party",   "cluster", "software",    "uptime_ms",
                                        "tensors", "bytes",   "memory_limit"};
    for (size_t i = 0; i < 7; i++) {
        if (strcmp(names[i], omit) == 0)
            continue;
        if (i == 1 || i == 2)
            str(b, names[i], "c");
        else
            uint(b, names[i], 1);
    }
    if (strcmp(omit, "peers") != 0)
        peers(b, 3, "up");
}

START_TEST(reply_bad_status)
{
    builder_t b;
    reply_start(&b, 11, true), status_body_except(&b, "");
    reply_expect(&b, WIRE_OP_STATUS, TRINE_OK, ""); /* the base case is valid */
    reply_start(&b, 10, true), status_body_except(&b, "bytes");
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "status reply lacks field 'bytes'");
    reply_start(&b, 12, true), status_body_except(&b, ""), uint(&b, "load", 1);
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "status reply has 12 fields, expected 11");
    reply_start(&b, 11, true), status_body_except(&b, "party"), str(&b, "party", "two");
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "'party' must be an unsigned integer <= 2");
    reply_start(&b, 11, true), status_body_except(&b, "party"), uint(&b, "party", 3);
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "'party' must be an unsigned integer <= 2");
    char name[WIRE_CLUSTER_MAX + 1] = {0};
    memset(name, 'c', WIRE_CLUSTER_MAX);
    reply_start(&b, 11, true), status_body_except(&b, "cluster"), str(&b, "cluster", name);
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "'cluster' must be a string of at most 63");
    reply_start(&b, 11, true), status_body_except(&b, "tensors"), str(&b, "tensors", "3");
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "'tensors' must be an unsigned integer");
    reply_start(&b, 11, true), status_body_except(&b, "peers"), peers(&b, 2, "up");
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "'peers' must be an array of 3 states");
    reply_start(&b, 11, true), status_body_except(&b, "peers"), str(&b, "peers", "up");
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "'peers' must be an array of 3 states");
    reply_start(&b, 11, true), status_body_except(&b, "peers"), peers(&b, 3, "sideways");
    reply_expect(&b, WIRE_OP_STATUS, TRINE_EFORMAT, "unknown peer state in 'peers'");
}
END_TEST

/* Starts an ls entry map of pairs entries with the fields but omit. */
static void ls_entry_except(builder_t *b, size_t pairs, const char *omit)
{
    msgpack_pack_map(&b->pk, pairs);
    static const char *const names[] = {"name", "kind",  "frac",     "shape",
                                        "mine", "grants", "owner", "approvals"};
    for (size_t i = 0; i < 8; i++) {
        if (strcmp(names[i], omit) == 0)
            continue;
        switch (i) {
        case 0: str(b, "name", "w1"); break;
        case 1: str(b, "kind", "int"); break;
        case 3:
            key(b, "shape");
            msgpack_pack_array(&b->pk, 1);
            msgpack_pack_uint64(&b->pk, 4);
            break;
        case 4: boolean(b, "mine", true); break;
        case 6: str(b, "owner", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"); break;
        case 7:
            key(b, "approvals");
            msgpack_pack_array(&b->pk, 0);
            break;
        default: uint(b, names[i], 0);
        }
    }
}

/* An ls reply whose second entry has omit replaced by key = value (a
 * string, or an unsigned integer when value is NULL), so that the
 * decoder fails after it allocated the list. */
static void ls_case(const char *omit, const char *value, uint64_t number, const char *part)
{
    builder_t b;
    reply_start(&b, 4, true);
    key(&b, "tensors");
    msgpack_pack_array(&b.pk, 2);
    ls_entry_except(&b, 8, "");
    ls_entry_except(&b, 8, omit);
    if (value)
        str(&b, omit, value);
    else
        uint(&b, omit, number);
    reply_expect(&b, WIRE_OP_LS, TRINE_EFORMAT, part);
}

START_TEST(reply_bad_ls)
{
    builder_t b;
    reply_start(&b, 4, true), str(&b, "tensors", "w1");
    reply_expect(&b, WIRE_OP_LS, TRINE_EFORMAT, "field 'tensors' must be an array");
    reply_start(&b, 3, true);
    reply_expect(&b, WIRE_OP_LS, TRINE_EFORMAT, "ls reply lacks field 'tensors'");
    reply_start(&b, 4, true), key(&b, "tensors"), msgpack_pack_array(&b.pk, 2);
    ls_entry_except(&b, 8, "");
    msgpack_pack_str_with_body(&b.pk, "w2", 2);
    reply_expect(&b, WIRE_OP_LS, TRINE_EFORMAT, "a tensor entry must be a map");
    reply_start(&b, 4, true), key(&b, "tensors"), msgpack_pack_array(&b.pk, 1);
    ls_entry_except(&b, 7, "grants");
    reply_expect(&b, WIRE_OP_LS, TRINE_EFORMAT, "tensor entry lacks field 'grants'");
    ls_case("grants", "many", 0, "'grants' must be an unsigned integer <= 4294967295");
    ls_case("grants", NULL, 1ULL << 32, "'grants' must be an unsigned integer <= 4294967295");
    ls_case("mine", NULL, 1, "field 'mine' must be a boolean");
    ls_case("kind", "float", 0, "field 'kind' must be \"int\" or \"fixed\"");
    ls_case("kind", NULL, 1, "field 'kind' must be \"int\" or \"fixed\"");
    ls_case("name", "../w", 0, "invalid tensor name in reply");
    ls_case("name", NULL, 1, "field 'name' must be a string");
    ls_case("frac", NULL, 1, "field 'frac' must be an unsigned integer <= 0"); /* int entry */
    ls_case("shape", NULL, 4, "field 'shape' must be an array of 1 to 4 extents");
    ls_case("owner", "someone", 0, "field 'owner' must be a 40-character Z85 public key");
    ls_case("approvals", "all", 0, "field 'approvals' must be an array of 4 strings");
}
END_TEST

/* A get reply of the given shape with data_len bytes of data. */
/* A get reply of data_len zero bytes at element offset of a tensor of
 * shape. */
static void get_case(const uint64_t *shape, size_t ndim, uint64_t offset, size_t data_len,
                     trine_status_t want, const char *part)
{
    builder_t b;
    reply_start(&b, 9, true);
    str(&b, "name", "y"), str(&b, "kind", "fixed"), uint(&b, "frac", 13);
    key(&b, "shape");
    msgpack_pack_array(&b.pk, ndim);
    for (size_t i = 0; i < ndim; i++)
        msgpack_pack_uint64(&b.pk, shape[i]);
    uint(&b, "offset", offset);
    key(&b, "data");
    uint8_t *zeros = calloc(1, data_len + 1);
    msgpack_pack_bin_with_body(&b.pk, zeros, data_len);
    free(zeros);
    reply_expect(&b, WIRE_OP_GET, want, part);
}

START_TEST(reply_bad_get)
{
    const uint64_t s23[] = {2, 3}, s0[] = {2, 0}, huge[] = {1ULL << 40, 1ULL << 40};
    const char *bad = "the reply's data is not a part of at least one element within its shape";
    get_case(s23, 2, 0, 48, TRINE_OK, "");
    get_case(s23, 2, 0, 40, TRINE_OK, ""); /* a part */
    get_case(s23, 2, 4, 16, TRINE_OK, "");
    get_case(s23, 2, 4, 24, TRINE_EFORMAT, bad);
    get_case(s23, 2, 6, 8, TRINE_EFORMAT, bad);
    get_case(s23, 2, UINT64_MAX, 8, TRINE_EFORMAT, bad);
    get_case(s23, 2, 0, 44, TRINE_EFORMAT, bad);
    get_case(s23, 2, 0, 56, TRINE_EFORMAT, bad);
    get_case(s23, 2, 0, 0, TRINE_EFORMAT, bad);
    get_case(s0, 2, 0, 0, TRINE_EFORMAT, bad);
    get_case(huge, 2, 0, 8, TRINE_EFORMAT, bad); /* more elements than fit memory */
    get_case(s23, 0, 0, 8, TRINE_EFORMAT, "'shape' must be an array of 1 to 4 extents");

    builder_t b;
    reply_start(&b, 9, true);
    str(&b, "name", "y"), str(&b, "kind", "int"), uint(&b, "frac", 0);
    key(&b, "shape"), msgpack_pack_array(&b.pk, 1), msgpack_pack_uint64(&b.pk, 1);
    uint(&b, "offset", 0), str(&b, "data", "8 bytes!");
    reply_expect(&b, WIRE_OP_GET, TRINE_EFORMAT, "field 'data' must be msgpack bin");
    reply_start(&b, 8, true);
    str(&b, "name", "y"), str(&b, "kind", "int"), uint(&b, "frac", 0);
    key(&b, "shape"), msgpack_pack_array(&b.pk, 1), msgpack_pack_uint64(&b.pk, 1);
    uint(&b, "offset", 0);
    reply_expect(&b, WIRE_OP_GET, TRINE_EFORMAT, "tensor entry lacks field 'data'");
    reply_start(&b, 8, true);
    str(&b, "name", "y"), str(&b, "kind", "int"), uint(&b, "frac", 0);
    key(&b, "shape"), msgpack_pack_array(&b.pk, 1), msgpack_pack_uint64(&b.pk, 1);
    str(&b, "data", "8 bytes!");
    reply_expect(&b, WIRE_OP_GET, TRINE_EFORMAT, "tensor entry lacks field 'offset'");
}
END_TEST

START_TEST(reply_truncated_everywhere)
{
    uint64_t data[6] = {9, 8, 7, 6, 5, 4};
    wire_tensor_info_t list[3] = {infos[0], infos[1], infos[2]};
    wire_reply_t replies[4] = {status_reply()};
    replies[1] = (wire_reply_t){.id = 2, .count = 3, .list = list};
    replies[2] = (wire_reply_t){.id = 3, .info = infos[1], .data = (const uint8_t *)data};
    replies[2].info.shape[0] = 6, replies[2].data_len = 48;
    replies[3] = (wire_reply_t){.id = 4, .code = TRINE_ENOENT, .msg = "no tensor named 'y'"};
    static const wire_op_t ops[4] = {WIRE_OP_STATUS, WIRE_OP_LS, WIRE_OP_GET, WIRE_OP_RM};
    for (int i = 0; i < 4; i++) {
        void *buf;
        size_t len;
        ck_assert_int_eq(wire_reply_encode(&buf, &len, ops[i], &replies[i]), TRINE_OK);
        for (size_t cut = 0; cut < len; cut++) {
            void *copy = malloc(cut ? cut : 1); /* exact size, so valgrind sees overreads */
            memcpy(copy, buf, cut);
            wire_reply_t got;
            trine_err_t err;
            ck_assert_msg(wire_reply_decode(&got, ops[i], copy, cut, &err) == TRINE_EFORMAT,
                          "%s cut at %zu", wire_op_name(ops[i]), cut);
            ck_assert_ptr_null(got.list);
            free(copy);
        }
        free(buf);
    }
}
END_TEST

/* Random corruptions of a valid ls reply: any answer but a crash or a
 * leak, and on success entries that pass the same checks. */
START_TEST(reply_mutations_do_not_crash)
{
    wire_tensor_info_t list[3] = {infos[0], infos[1], infos[2]};
    wire_reply_t r = {.id = 1, .count = 3, .list = list};
    void *buf;
    size_t len;
    ck_assert_int_eq(wire_reply_encode(&buf, &len, WIRE_OP_LS, &r), TRINE_OK);
    uint64_t rnd[3000];
    check_util_random(rnd, 3000, 7);
    uint8_t *copy = malloc(len);
    for (int i = 0; i < 1000; i++) {
        memcpy(copy, buf, len);
        for (int j = 0; j < 3; j++) {
            uint64_t x = rnd[i * 3 + j];
            copy[x % len] = (uint8_t)(x >> 32);
        }
        wire_reply_t got;
        trine_err_t err;
        if (wire_reply_decode(&got, WIRE_OP_LS, copy, len, &err) == TRINE_OK) {
            for (size_t k = 0; k < got.count; k++)
                ck_assert(wire_name_valid(got.list[k].name));
            wire_reply_clear(&got);
        }
    }
    free(copy);
    free(buf);
}
END_TEST

/* ---- party frames ---------------------------------------------------- */

/* Unpacks len bytes of hdr, expecting status want and, on failure, part. */
static void frame_expect(const uint8_t *hdr, size_t len, trine_status_t want, const char *part)
{
    uint8_t *copy = malloc(len ? len : 1); /* exact size, so valgrind sees overreads */
    memcpy(copy, hdr, len);
    wire_frame_t f;
    trine_err_t err = {0};
    trine_status_t st = wire_frame_unpack(&f, copy, len, &err);
    free(copy);
    ck_assert_msg(st == want, "status %d (%s), want %d", st, err.msg, want);
    ck_assert_msg(strstr(err.msg, part), "'%s' lacks '%s'", err.msg, part);
}

START_TEST(frame_round_trips)
{
    wire_frame_t f = {.type = WIRE_FRAME_DATA,
                      .sender = 2,
                      .job = 0x0102030405060708,
                      .step = UINT64_MAX,
                      .round = 0xa1b2c3d4};
    uint8_t hdr[WIRE_FRAME_HEADER_BYTES];
    wire_frame_pack(hdr, &f);
    static const uint8_t want[WIRE_FRAME_HEADER_BYTES] = {
        't',  'r',  'n',  WIRE_VERSION, 3,    2,    0,    0,    8,    7,    6,
        5,    4,    3,    2,            1,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xd4, 0xc3,         0xb2, 0xa1, 0,    0,    0,    0};
    ck_assert_mem_eq(hdr, want, sizeof want);
    for (int type = WIRE_FRAME_HELLO; type <= WIRE_FRAME_ABORT; type++)
        for (unsigned sender = 0; sender < 3; sender++) {
            f = (wire_frame_t){.type = (wire_frame_type_t)type,
                               .sender = sender,
                               .job = (uint64_t)type << 60,
                               .step = sender,
                               .round = (uint32_t)type << 24 | sender};
            wire_frame_pack(hdr, &f);
            wire_frame_t got;
            trine_err_t err;
            ck_assert_int_eq(wire_frame_unpack(&got, hdr, sizeof hdr, &err), TRINE_OK);
            ck_assert_int_eq(got.type, f.type);
            ck_assert_uint_eq(got.sender, sender);
            ck_assert_uint_eq(got.job, f.job);
            ck_assert_uint_eq(got.step, f.step);
            ck_assert_uint_eq(got.round, f.round);
        }
}
END_TEST

START_TEST(frame_bad_headers)
{
    wire_frame_t f = {.type = WIRE_FRAME_HELLO, .sender = 1};
    uint8_t good[WIRE_FRAME_HEADER_BYTES + 1] = {0};
    wire_frame_pack(good, &f);
    frame_expect(good, WIRE_FRAME_HEADER_BYTES, TRINE_OK, "");
    frame_expect(good, WIRE_FRAME_HEADER_BYTES - 1, TRINE_EFORMAT,
                 "not a trine party frame (31 bytes)");
    frame_expect(good, WIRE_FRAME_HEADER_BYTES + 1, TRINE_EFORMAT,
                 "not a trine party frame (33 bytes)");
    frame_expect(good, 0, TRINE_EFORMAT, "not a trine party frame (0 bytes)");
    static const struct {
        size_t at;
        uint8_t value;
        trine_status_t want;
        const char *part;
    } cases[] = {
        {0, 'T', TRINE_EFORMAT, "not a trine party frame"},
        {2, 'x', TRINE_EFORMAT, "not a trine party frame"},
        {3, WIRE_VERSION + 1, TRINE_EUNSUPPORTED, "party frame of protocol version 2, not 1"},
        {3, 0, TRINE_EUNSUPPORTED, "party frame of protocol version 0"},
        {4, 0, TRINE_EFORMAT, "unknown type or sender"},
        {4, WIRE_FRAME_ABORT + 1, TRINE_EFORMAT, "unknown type or sender"},
        {5, 3, TRINE_EFORMAT, "unknown type or sender"},
        {5, 0xff, TRINE_EFORMAT, "unknown type or sender"},
        {6, 1, TRINE_EFORMAT, "unknown type or sender"},
        {7, 0x80, TRINE_EFORMAT, "unknown type or sender"},
        {28, 1, TRINE_EFORMAT, "unknown type or sender"},
        {31, 0x80, TRINE_EFORMAT, "unknown type or sender"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t bad[WIRE_FRAME_HEADER_BYTES];
        memcpy(bad, good, sizeof bad);
        bad[cases[i].at] = cases[i].value;
        frame_expect(bad, sizeof bad, cases[i].want, cases[i].part);
    }
}
END_TEST

START_TEST(heartbeat_round_trips)
{
    wire_heartbeat_t h = {.incarnation = 0x1122334455667788, .holds = 5};
    uint8_t out[WIRE_HEARTBEAT_BYTES];
    wire_heartbeat_pack(out, &h);
    static const uint8_t want[WIRE_HEARTBEAT_BYTES] = {0x88, 0x77, 0x66, 0x55, 0x44,
                                                       0x33, 0x22, 0x11, 5};
    ck_assert_mem_eq(out, want, sizeof want);
    for (unsigned holds = 0; holds <= 7; holds++) {
        h = (wire_heartbeat_t){.incarnation = UINT64_MAX - holds, .holds = holds};
        wire_heartbeat_pack(out, &h);
        wire_heartbeat_t got;
        trine_err_t err;
        ck_assert_int_eq(wire_heartbeat_unpack(&got, out, sizeof out, &err), TRINE_OK);
        ck_assert_uint_eq(got.incarnation, h.incarnation);
        ck_assert_uint_eq(got.holds, holds);
    }
}
END_TEST

START_TEST(heartbeat_bad)
{
    uint8_t buf[WIRE_HEARTBEAT_BYTES + 1] = {0};
    wire_heartbeat_t got;
    trine_err_t err = {0};
    ck_assert_int_eq(wire_heartbeat_unpack(&got, buf, WIRE_HEARTBEAT_BYTES - 1, &err),
                     TRINE_EFORMAT);
    ck_assert_str_eq(err.msg, "malformed heartbeat (8 bytes)");
    ck_assert_int_eq(wire_heartbeat_unpack(&got, buf, WIRE_HEARTBEAT_BYTES + 1, &err),
                     TRINE_EFORMAT);
    ck_assert_str_eq(err.msg, "malformed heartbeat (10 bytes)");
    /* three parties: only bits 0 to 2 may be set */
    static const uint8_t holds[] = {8, 9, 0x80, 0xff};
    for (size_t i = 0; i < sizeof holds; i++) {
        buf[8] = holds[i];
        err.msg[0] = '\0';
        ck_assert_int_eq(wire_heartbeat_unpack(&got, buf, WIRE_HEARTBEAT_BYTES, &err),
                         TRINE_EFORMAT);
        ck_assert_str_eq(err.msg, "malformed heartbeat (9 bytes)");
    }
}
END_TEST

/* ---- hello ----------------------------------------------------------- */

static wire_hello_t hello_of(char **lines, size_t nlines)
{
    wire_hello_t h = {.version = WIRE_VERSION,
                      .party = 2,
                      .incarnation = UINT64_MAX,
                      .nlines = nlines,
                      .lines = lines};
    strcpy(h.software, "0.1.0");
    for (int i = 0; i < WIRE_FINGERPRINT_BYTES; i++)
        h.fingerprint[i] = (uint8_t)(0xa0 + i);
    return h;
}

/* Encodes h, decodes it into *got and checks the fixed fields. */
static void hello_round_trip(wire_hello_t *got, const wire_hello_t *h)
{
    void *buf;
    size_t len;
    ck_assert_int_eq(wire_hello_encode(&buf, &len, h), TRINE_OK);
    trine_err_t err = {0};
    ck_assert_msg(wire_hello_decode(got, buf, len, &err) == TRINE_OK, "%s", err.msg);
    free(buf);
    ck_assert_uint_eq(got->version, h->version);
    ck_assert_uint_eq(got->party, h->party);
    ck_assert_uint_eq(got->incarnation, h->incarnation);
    ck_assert_str_eq(got->software, h->software);
    ck_assert_mem_eq(got->fingerprint, h->fingerprint, WIRE_FINGERPRINT_BYTES);
    ck_assert_uint_eq(got->nlines, h->nlines);
}

START_TEST(hello_round_trips)
{
    char longest[4096];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    char *lines[] = {"cluster.name=test", "", longest, "clients.allow=rq:rM>}U?@Lns47E1%kR"};
    wire_hello_t h = hello_of(lines, 4), got;
    hello_round_trip(&got, &h);
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(got.lines[i], lines[i]);
    wire_hello_clear(&got);
    ck_assert_ptr_null(got.lines);
    ck_assert_uint_eq(got.nlines, 0);

    h = hello_of(NULL, 0);
    h.party = 0;
    h.version = WIRE_VERSION + 6; /* decodes, so that the caller can name it */
    hello_round_trip(&got, &h);
    ck_assert_ptr_null(got.lines);
    wire_hello_clear(&got);

    /* the most lines a hello may carry */
    char **many = malloc(WIRE_HELLO_LINES_MAX * sizeof *many);
    for (size_t i = 0; i < WIRE_HELLO_LINES_MAX; i++)
        many[i] = lines[0];
    h = hello_of(many, WIRE_HELLO_LINES_MAX);
    hello_round_trip(&got, &h);
    ck_assert_str_eq(got.lines[WIRE_HELLO_LINES_MAX - 1], lines[0]);
    wire_hello_clear(&got);
    free(many);
}
END_TEST

/* Packs a hello's fields but omit (which the caller may pack with another
 * value); lines holds nlines entries of "a=1". */
static void hello_except(builder_t *b, size_t pairs, const char *omit, size_t nlines)
{
    builder_start(b, pairs);
    static const char *const names[] = {"v",        "party",       "incarnation",
                                        "software", "fingerprint", "lines"};
    static const uint8_t fp[WIRE_FINGERPRINT_BYTES] = {0};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(names[i], omit) == 0)
            continue;
        switch (i) {
        case 3: str(b, "software", "0.1.0"); break;
        case 4:
            key(b, "fingerprint");
            msgpack_pack_bin_with_body(&b->pk, fp, sizeof fp);
            break;
        case 5:
            key(b, "lines");
            msgpack_pack_array(&b->pk, nlines);
            for (size_t j = 0; j < nlines; j++)
                msgpack_pack_str_with_body(&b->pk, "a=1", 3);
            break;
        default: uint(b, names[i], 1);
        }
    }
}

/* Decodes the builder's message as a hello, expecting status and a message
 * part; a failed decode must leave nothing allocated. */
static void hello_expect(builder_t *b, trine_status_t want, const char *part)
{
    wire_hello_t got;
    trine_err_t err = {0};
    trine_status_t st = wire_hello_decode(&got, b->sb.data, b->sb.size, &err);
    ck_assert_msg(st == want, "status %d (%s), want %d", st, err.msg, want);
    ck_assert_msg(strstr(err.msg, part), "'%s' lacks '%s'", err.msg, part);
    if (st != TRINE_OK) {
        ck_assert_ptr_null(got.lines);
        ck_assert_uint_eq(got.nlines, 0);
    }
    wire_hello_clear(&got); /* a second clear is harmless */
    msgpack_sbuffer_destroy(&b->sb);
}

/* A hello whose lines are "a=1" but line bad_at, which holds bad_len
 * bytes of bad. */
static void hello_bad_line(size_t nlines, size_t bad_at, const char *bad, size_t bad_len)
{
    builder_t b;
    hello_except(&b, 6, "lines", 0);
    key(&b, "lines");
    msgpack_pack_array(&b.pk, nlines);
    for (size_t j = 0; j < nlines; j++)
        if (j == bad_at)
            msgpack_pack_str_with_body(&b.pk, bad, bad_len);
        else
            msgpack_pack_str_with_body(&b.pk, "a=1", 3);
    hello_expect(&b, TRINE_EFORMAT, "field 'lines' must be a string of at most 4095 bytes");
}

START_TEST(hello_bad)
{
    builder_t b;
    hello_except(&b, 6, "", 2);
    hello_expect(&b, TRINE_OK, ""); /* the base case is valid */
    msgpack_sbuffer_init(&b.sb);
    msgpack_packer_init(&b.pk, &b.sb, msgpack_sbuffer_write);
    msgpack_pack_array(&b.pk, 0);
    hello_expect(&b, TRINE_EFORMAT, "a hello must be a msgpack map");
    hello_except(&b, 5, "incarnation", 1);
    hello_expect(&b, TRINE_EFORMAT, "hello lacks field 'incarnation'");
    hello_except(&b, 7, "", 1), uint(&b, "load", 0);
    hello_expect(&b, TRINE_EFORMAT, "hello has 7 fields, expected 6");
    hello_except(&b, 6, "party", 1), uint(&b, "party", 3);
    hello_expect(&b, TRINE_EFORMAT, "'party' must be an unsigned integer <= 2");
    hello_except(&b, 6, "software", 1), uint(&b, "software", 1);
    hello_expect(&b, TRINE_EFORMAT, "'software' must be a string");

    static const uint8_t fp[WIRE_FINGERPRINT_BYTES + 1] = {0};
    static const size_t fp_sizes[] = {0, WIRE_FINGERPRINT_BYTES - 1, WIRE_FINGERPRINT_BYTES + 1};
    for (size_t i = 0; i < 3; i++) {
        hello_except(&b, 6, "fingerprint", 1), key(&b, "fingerprint");
        msgpack_pack_bin_with_body(&b.pk, fp, fp_sizes[i]);
        hello_expect(&b, TRINE_EFORMAT, "field 'fingerprint' must be 32 bytes of bin");
    }
    hello_except(&b, 6, "fingerprint", 1), key(&b, "fingerprint");
    msgpack_pack_str_with_body(&b.pk, fp, WIRE_FINGERPRINT_BYTES);
    hello_expect(&b, TRINE_EFORMAT, "field 'fingerprint' must be 32 bytes of bin");

    hello_except(&b, 6, "lines", 0), str(&b, "lines", "a=1");
    hello_expect(&b, TRINE_EFORMAT, "field 'lines' must be an array of at most 8192");
    hello_except(&b, 6, "lines", 0), key(&b, "lines");
    msgpack_pack_array(&b.pk, WIRE_HELLO_LINES_MAX + 1);
    for (size_t j = 0; j < WIRE_HELLO_LINES_MAX + 1; j++)
        msgpack_pack_str_with_body(&b.pk, "a=1", 3);
    hello_expect(&b, TRINE_EFORMAT, "field 'lines' must be an array of at most 8192");

    /* a bad line first, and after lines were copied: nothing may leak */
    hello_bad_line(3, 0, "a\0b", 3);
    hello_bad_line(3, 2, "a=1\0", 4);
    char *longer = malloc(4096);
    memset(longer, 'x', 4096);
    hello_bad_line(4, 1, longer, 4096);
    free(longer);
}
END_TEST

START_TEST(hello_truncated_everywhere)
{
    char *lines[] = {"cluster.name=test", "cluster.frac_bits=13"};
    wire_hello_t h = hello_of(lines, 2);
    void *buf;
    size_t len;
    ck_assert_int_eq(wire_hello_encode(&buf, &len, &h), TRINE_OK);
    for (size_t cut = 0; cut < len; cut++) {
        void *copy = malloc(cut ? cut : 1); /* exact size, so valgrind sees overreads */
        memcpy(copy, buf, cut);
        wire_hello_t got;
        trine_err_t err;
        ck_assert_msg(wire_hello_decode(&got, copy, cut, &err) == TRINE_EFORMAT, "cut at %zu", cut);
        ck_assert_ptr_null(got.lines);
        free(copy);
    }
    free(buf);
}
END_TEST

Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("requests");
    tcase_add_test(tc, wire_round_trips);
    tcase_add_test(tc, wire_grant_revoke);
    tcase_add_test(tc, wire_truncated_everywhere);
    tcase_add_test(tc, wire_hostile_lengths);
    tcase_add_test(tc, wire_bad_envelopes);
    tcase_add_test(tc, wire_bad_puts);
    tcase_add_test(tc, wire_commit_requests);
    tcase_add_test(tc, wire_mutations_do_not_crash);
    suite_add_tcase(s, tc);
    tc = tcase_create("replies");
    tcase_add_test(tc, reply_status_round_trips);
    tcase_add_test(tc, reply_ls_round_trips);
    tcase_add_test(tc, reply_get_round_trips);
    tcase_add_test(tc, reply_bare_round_trips);
    tcase_add_test(tc, reply_error_codes);
    tcase_add_test(tc, reply_bad_envelopes);
    tcase_add_test(tc, reply_bad_status);
    tcase_add_test(tc, reply_bad_ls);
    tcase_add_test(tc, reply_bad_get);
    tcase_add_test(tc, reply_truncated_everywhere);
    tcase_add_test(tc, reply_mutations_do_not_crash);
    suite_add_tcase(s, tc);
    tc = tcase_create("party frames");
    tcase_add_test(tc, frame_round_trips);
    tcase_add_test(tc, wire_job_requests);
    tcase_add_test(tc, reply_job_round_trips);
    tcase_add_test(tc, frame_bad_headers);
    tcase_add_test(tc, heartbeat_round_trips);
    tcase_add_test(tc, heartbeat_bad);
    tcase_add_test(tc, hello_round_trips);
    tcase_add_test(tc, hello_bad);
    tcase_add_test(tc, hello_truncated_everywhere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(wire_suite());
}
