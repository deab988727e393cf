/* check_wire.c — client request codec: round trips, and hostile or
 * malformed messages rejected with a reason, never a crash. */
#include "check_util.h"

#include "daemon/wire.h"

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
                        .data_len = rows * cols * 8};
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
    reqs[4] = (wire_request_t){
        .version = WIRE_VERSION, .id = UINT64_MAX, .op = WIRE_OP_GRANT, .name = "w2"};
    strcpy(reqs[4].grantee.z85, pubkey);
    reqs[5] = (wire_request_t){.version = WIRE_VERSION, .id = 5, .op = WIRE_OP_GET, .name = "y"};
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
        if (reqs[i].op == WIRE_OP_PUT) {
            ck_assert_int_eq(got.kind, WIRE_KIND_FIXED);
            ck_assert_uint_eq(got.frac, 13);
            ck_assert_int_eq(got.ndim, 2);
            ck_assert_uint_eq(got.shape[1], 3);
            ck_assert_uint_eq(got.data_len, 48);
            /* zero copy: the payload is read where it lies */
            ck_assert(got.data > (const uint8_t *)buf && got.data + 48 <= (uint8_t *)buf + len);
            ck_assert_mem_eq(got.data, data, 48);
        }
        free(buf);
    }
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
static void put_case(const uint64_t *shape, size_t ndim, const char *kind, int frac,
                     size_t data_len, trine_status_t want, const char *part)
{
    builder_t b;
    builder_start(&b, 7 + (frac >= 0));
    uint(&b, "v", 1), uint(&b, "id", 1), str(&b, "op", "put"), str(&b, "name", "t");
    str(&b, "kind", kind);
    if (frac >= 0)
        uint(&b, "frac", (uint64_t)frac);
    key(&b, "shape");
    msgpack_pack_array(&b.pk, ndim);
    for (size_t i = 0; i < ndim; i++)
        msgpack_pack_uint64(&b.pk, shape[i]);
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
    put_case(s23, 2, "int", -1, 48, TRINE_OK, "");
    put_case(s23, 2, "fixed", 13, 48, TRINE_OK, "");
    put_case(s23, 2, "int", -1, 40, TRINE_EFORMAT, "6 elements (48 bytes) but data holds 40");
    put_case(s23, 2, "fixed", -1, 48, TRINE_EFORMAT, "lacks field 'frac'");
    put_case(s23, 2, "int", 13, 48, TRINE_EFORMAT, "has no field 'frac'");
    put_case(s23, 2, "fixed", 63, 48, TRINE_EFORMAT, "'frac' must be");
    put_case(s23, 2, "float", -1, 48, TRINE_EFORMAT, "'kind' must be");
    put_case(s0, 2, "int", -1, 0, TRINE_EFORMAT, "zero extent");
    put_case(s5, 5, "int", -1, 8, TRINE_EFORMAT, "array of 1 to 4");
    put_case(s23, 0, "int", -1, 8, TRINE_EFORMAT, "array of 1 to 4");
    put_case(huge, 2, "int", -1, 8, TRINE_EFORMAT, "more elements than fit");
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

Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("requests");
    tcase_add_test(tc, wire_round_trips);
    tcase_add_test(tc, wire_truncated_everywhere);
    tcase_add_test(tc, wire_hostile_lengths);
    tcase_add_test(tc, wire_bad_envelopes);
    tcase_add_test(tc, wire_bad_puts);
    tcase_add_test(tc, wire_mutations_do_not_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(wire_suite());
}
