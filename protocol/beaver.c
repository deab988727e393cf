/* beaver.c — the Beaver product engine (see beaver.h). */
#include "beaver.h"

#include <stdlib.h>
#include <string.h>

trine_status_t beaver_draw_mask(proto_ctx_t *ctx, tensor_t *mask)
{
    if (!proto_is_helper(ctx)) {
        proto_draw_ring(ctx, PROTO_P2, mask->data, mask->size);
        return TRINE_OK;
    }
    tensor_t *other = tensor_new_like(mask);
    if (!other)
        return TRINE_ENOMEM;
    proto_draw_ring(ctx, PROTO_P0, mask->data, mask->size);
    proto_draw_ring(ctx, PROTO_P1, other->data, other->size);
    trine_status_t st = tensor_add(mask, mask, other);
    tensor_destroy(&other);
    return st;
}

/* One operand as the engine uses it: share X_j, mask share V_j, opened F. */
typedef struct {
    const tensor_t *share, *mask, *open;
    tensor_t *own_mask, *own_open; /* allocated for a fresh operand */
} side_t;

static trine_status_t side_init(proto_ctx_t *ctx, side_t *s, beaver_operand_t op)
{
    memset(s, 0, sizeof *s);
    if (!op.x) {
        s->share = op.masked->share;
        s->mask = op.masked->mask;
        s->open = op.masked->open;
        return TRINE_OK;
    }
    s->share = op.x;
    s->own_mask = tensor_new_like(op.x);
    if (!proto_is_helper(ctx))
        s->own_open = tensor_new_like(op.x);
    if (!s->own_mask || (!proto_is_helper(ctx) && !s->own_open))
        return TRINE_ENOMEM;
    s->mask = s->own_mask;
    s->open = s->own_open;
    return beaver_draw_mask(ctx, s->own_mask);
}

static void side_free(side_t *s)
{
    tensor_destroy(&s->own_mask);
    tensor_destroy(&s->own_open);
}

/* P0 and P1 open X - U and Y - V of the fresh operands in one message. */
static trine_status_t open_fresh(proto_ctx_t *ctx, side_t *sides, size_t nsides, trine_err_t *err)
{
    size_t words = 0;
    for (size_t i = 0; i < nsides; i++)
        if (sides[i].own_open)
            words += sides[i].share->size;
    if (words == 0)
        return TRINE_OK;
    uint64_t *mine = malloc(words * sizeof *mine), *theirs = malloc(words * sizeof *theirs);
    trine_status_t st = TRINE_OK;
    if (!mine || !theirs)
        st = trine_err_set(err, TRINE_ENOMEM, "Beaver product: no memory for %zu words", words);
    size_t at = 0;
    for (size_t i = 0; st == TRINE_OK && i < nsides; i++) {
        if (!sides[i].own_open)
            continue;
        for (size_t k = 0; k < sides[i].share->size; k++)
            mine[at + k] = sides[i].share->data[k] - sides[i].mask->data[k];
        at += sides[i].share->size;
    }
    if (st == TRINE_OK)
        st = proto_send(ctx, proto_other(ctx), mine, words * sizeof *mine, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), theirs, words * sizeof *theirs, err);
    at = 0;
    for (size_t i = 0; st == TRINE_OK && i < nsides; i++) {
        if (!sides[i].own_open)
            continue;
        for (size_t k = 0; k < sides[i].share->size; k++)
            sides[i].own_open->data[k] = mine[at + k] + theirs[at + k];
        at += sides[i].share->size;
    }
    free(mine);
    free(theirs);
    return st;
}

/* P2: C = f(U, V), C0 from the P0-P2 seed, C1 = C - C0 sent to P1. */
static trine_status_t deal_correction(proto_ctx_t *ctx, tensor_t *out, beaver_map_fn f,
                                      const void *arg, const side_t *sa, const side_t *sb,
                                      trine_err_t *err)
{
    tensor_t *c0 = tensor_new_like(out);
    trine_status_t st = c0 ? TRINE_OK : TRINE_ENOMEM;
    if (st == TRINE_OK)
        st = f(arg, out, sa->mask, sb->mask);
    if (st == TRINE_OK) {
        proto_draw_ring(ctx, PROTO_P0, c0->data, c0->size);
        st = tensor_sub(out, out, c0);
    }
    if (st == TRINE_OK)
        st = proto_send_deal(ctx, PROTO_P1, out->data, out->size * sizeof *out->data, err);
    else
        trine_err_set(err, st, "Beaver product: P2 cannot form the triple");
    tensor_destroy(&c0);
    proto_zero(out);
    return st;
}

trine_status_t beaver_product(proto_ctx_t *ctx, tensor_t *out, beaver_map_fn f, const void *arg,
                              beaver_operand_t a, beaver_operand_t b, trine_err_t *err)
{
    side_t sides[2];
    trine_status_t st = side_init(ctx, &sides[0], a);
    trine_status_t st2 = side_init(ctx, &sides[1], b);
    if (st == TRINE_OK)
        st = st2;
    if (st != TRINE_OK) {
        side_free(&sides[0]), side_free(&sides[1]);
        return trine_err_set(err, st, "Beaver product: no memory for masks");
    }
    if (proto_is_helper(ctx)) {
        st = deal_correction(ctx, out, f, arg, &sides[0], &sides[1], err);
        side_free(&sides[0]), side_free(&sides[1]);
        return st;
    }
    tensor_t *c = tensor_new_like(out), *t = tensor_new_like(out);
    if (!c || !t)
        st = trine_err_set(err, TRINE_ENOMEM, "Beaver product: no memory");
    if (st == TRINE_OK && ctx->role == PROTO_P0)
        proto_draw_ring(ctx, PROTO_P2, c->data, c->size);
    if (st == TRINE_OK)
        st = open_fresh(ctx, sides, 2, err);
    if (st == TRINE_OK && ctx->role == PROTO_P1)
        st = proto_recv_deal(ctx, PROTO_P2, c->data, c->size * sizeof *c->data, err);
    if (st == TRINE_OK) {
        st = f(arg, out, sides[0].share, sides[1].open);
        if (st == TRINE_OK)
            st = f(arg, t, sides[0].open, sides[1].mask);
        if (st == TRINE_OK)
            st = tensor_add(out, out, t);
        if (st == TRINE_OK)
            st = tensor_add(out, out, c);
        if (st != TRINE_OK)
            trine_err_set(err, st, "Beaver product: local product failed");
    }
    tensor_destroy(&c);
    tensor_destroy(&t);
    side_free(&sides[0]), side_free(&sides[1]);
    return st;
}
