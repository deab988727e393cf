/* fuzz_wire.c — libFuzzer target: the decoders of daemon/wire/wire*.c, which read
 * what clients send a party (requests), what parties send each other
 * (frame headers, hellos, heartbeats) and what a party answers the client
 * (replies).
 *
 * The first byte picks the decoder, the rest is the message: 'q' request
 * (also any byte not listed), 'f' frame header, 'h' hello, 'b' heartbeat,
 * 'r' reply, whose second byte plus one is the op (wire_op_t) of the
 * request it answers. What
 * decodes must survive a round trip through the matching encoder: encoding
 * it and decoding that again gives the same bytes when encoded once more
 * (frame headers and heartbeats, being fixed layouts, the input itself).
 */
#include "fuzz.h"

#include "daemon/wire/wire.h"

#include <stdlib.h>
#include <string.h>

static void fuzz_same(const void *a, size_t alen, const void *b, size_t blen)
{
    FUZZ_CHECK(alen == blen && (!alen || !memcmp(a, b, alen)));
}

static void fuzz_request(const uint8_t *data, size_t size)
{
    wire_request_t q, again;
    trine_err_t err = {0};
    if (wire_request_decode(&q, data, size, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0]);
        return;
    }
    void *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    FUZZ_CHECK(wire_request_encode(&b1, &n1, &q) == TRINE_OK);
    FUZZ_OK(wire_request_decode(&again, b1, n1, &err), err);
    FUZZ_CHECK(again.op == q.op && again.id == q.id && !strcmp(again.name, q.name));
    fuzz_same(again.data, again.data_len, q.data, q.data_len);
    fuzz_same(again.program, again.program_len, q.program, q.program_len);
    FUZZ_CHECK(wire_request_encode(&b2, &n2, &again) == TRINE_OK);
    fuzz_same(b1, n1, b2, n2);
    FUZZ_CHECK(again.nbind == q.nbind);
    free(b1);
    free(b2);
    wire_request_clear(&q);
    wire_request_clear(&again);
}

static void fuzz_frame(const uint8_t *data, size_t size)
{
    wire_frame_t f;
    trine_err_t err = {0};
    if (wire_frame_unpack(&f, data, size, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0]);
        return;
    }
    uint8_t packed[WIRE_FRAME_HEADER_BYTES];
    wire_frame_pack(packed, &f);
    fuzz_same(packed, sizeof packed, data, size);
}

static void fuzz_heartbeat(const uint8_t *data, size_t size)
{
    wire_heartbeat_t h;
    trine_err_t err = {0};
    if (wire_heartbeat_unpack(&h, data, size, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0]);
        return;
    }
    uint8_t packed[WIRE_HEARTBEAT_BYTES];
    wire_heartbeat_pack(packed, &h);
    fuzz_same(packed, sizeof packed, data, size);
}

static void fuzz_hello(const uint8_t *data, size_t size)
{
    wire_hello_t h, again;
    trine_err_t err = {0};
    if (wire_hello_decode(&h, data, size, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0]);
        wire_hello_clear(&h);
        return;
    }
    void *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    FUZZ_CHECK(wire_hello_encode(&b1, &n1, &h) == TRINE_OK);
    FUZZ_OK(wire_hello_decode(&again, b1, n1, &err), err);
    FUZZ_CHECK(again.nlines == h.nlines && again.party == h.party &&
               again.incarnation == h.incarnation);
    for (size_t i = 0; i < h.nlines; i++)
        FUZZ_CHECK(!strcmp(again.lines[i], h.lines[i]));
    FUZZ_CHECK(wire_hello_encode(&b2, &n2, &again) == TRINE_OK);
    fuzz_same(b1, n1, b2, n2);
    free(b1);
    free(b2);
    wire_hello_clear(&h);
    wire_hello_clear(&again);
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
    if (!size)
        return;
    wire_op_t op = (wire_op_t)(data[0] + 1);
    if (!wire_op_name(op))
        return;
    wire_reply_t r, again;
    trine_err_t err = {0};
    if (wire_reply_decode(&r, op, data + 1, size - 1, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0]);
        wire_reply_clear(&r);
        return;
    }
    void *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    FUZZ_CHECK(wire_reply_encode(&b1, &n1, op, &r) == TRINE_OK);
    FUZZ_OK(wire_reply_decode(&again, op, b1, n1, &err), err);
    FUZZ_CHECK(again.code == r.code && again.id == r.id && again.count == r.count);
    FUZZ_CHECK(wire_reply_encode(&b2, &n2, op, &again) == TRINE_OK);
    fuzz_same(b1, n1, b2, n2);
    free(b1);
    free(b2);
    wire_reply_clear(&r);
    wire_reply_clear(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    switch (data[0]) {
    case 'f': fuzz_frame(data + 1, size - 1); break;
    case 'b': fuzz_heartbeat(data + 1, size - 1); break;
    case 'h': fuzz_hello(data + 1, size - 1); break;
    case 'r': fuzz_reply(data + 1, size - 1); break;
    default: fuzz_request(data + 1, size - 1); break;
    }
    return 0;
}
