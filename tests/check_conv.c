/* check_conv.c — im2col + GEMM against a direct convolution, col2im as the
 * adjoint of im2col, and the layout changes around them. */
#include "check_util.h"

#include "tensor/conv.h"
#include "tensor/gemm.h"

static void conv_direct(uint64_t *y, const uint64_t *x, const uint64_t *f, const conv_geom_t *g,
                        size_t oc, size_t oh, size_t ow)
{
    for (size_t n = 0; n < g->n; n++)
        for (size_t o = 0; o < oc; o++)
            for (size_t oy = 0; oy < oh; oy++)
                for (size_t ox = 0; ox < ow; ox++) {
                    uint64_t acc = 0;
                    for (size_t c = 0; c < g->c; c++)
                        for (size_t i = 0; i < g->kh; i++)
                            for (size_t j = 0; j < g->kw; j++) {
                                long yy = (long)(oy * g->sh + i) - (long)g->pt;
                                long xx = (long)(ox * g->sw + j) - (long)g->pl;
                                if (yy < 0 || xx < 0 || yy >= (long)g->h || xx >= (long)g->w)
                                    continue;
                                acc += f[((o * g->c + c) * g->kh + i) * g->kw + j] *
                                       x[((n * g->c + c) * g->h + (size_t)yy) * g->w + (size_t)xx];
                            }
                    y[((n * oc + o) * oh + oy) * ow + ox] = acc;
                }
}

static void conv_check_geom(conv_geom_t g, size_t oc, uint64_t seed)
{
    size_t oh, ow;
    ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_OK);
    size_t ckk = g.c * g.kh * g.kw, cols_n = g.n * oh * ow;
    tensor_t *x = tensor_new(4, (size_t[]){g.n, g.c, g.h, g.w});
    tensor_t *f = tensor_new_2d(oc, ckk), *cols = tensor_new_2d(ckk, cols_n);
    tensor_t *prod = tensor_new_2d(oc, cols_n), *y = tensor_new(4, (size_t[]){g.n, oc, oh, ow});
    tensor_t *want = tensor_new_like(y);
    check_util_random(x->data, x->size, seed);
    check_util_random(f->data, f->size, seed + 1);
    ck_assert_int_eq(conv_im2col(cols, x, &g), TRINE_OK);
    ck_assert_int_eq(tensor_matmul(prod, f, GEMM_NOTRANS, cols, GEMM_NOTRANS), TRINE_OK);
    ck_assert_int_eq(conv_cnhw_to_nchw(y, prod, g.n), TRINE_OK);
    conv_direct(want->data, x->data, f->data, &g, oc, oh, ow);
    ck_assert_mem_eq(y->data, want->data, y->size * 8);

    /* back to the product's layout */
    tensor_t *back = tensor_new_like(prod);
    ck_assert_int_eq(conv_nchw_to_cnhw(back, y), TRINE_OK);
    ck_assert_mem_eq(back->data, prod->data, prod->size * 8);

    /* <im2col(x), r> = <x, col2im(r)> in the ring */
    tensor_t *r = tensor_new_like(cols), *xr = tensor_new_like(x);
    check_util_random(r->data, r->size, seed + 2);
    ck_assert_int_eq(conv_col2im(xr, r, &g), TRINE_OK);
    uint64_t lhs = 0, rhs = 0;
    for (size_t i = 0; i < cols->size; i++)
        lhs += cols->data[i] * r->data[i];
    for (size_t i = 0; i < x->size; i++)
        rhs += x->data[i] * xr->data[i];
    ck_assert_uint_eq(lhs, rhs);
    tensor_destroy(&x), tensor_destroy(&f), tensor_destroy(&cols), tensor_destroy(&prod);
    tensor_destroy(&y), tensor_destroy(&want), tensor_destroy(&back), tensor_destroy(&r);
    tensor_destroy(&xr);
}

/* n, c, h, w, kh, kw, stride and pad on both axes and sides */
static conv_geom_t geom(size_t n, size_t c, size_t h, size_t w, size_t kh, size_t kw, size_t s,
                        size_t p)
{
    return (conv_geom_t){n, c, h, w, kh, kw, s, s, p, p, p, p, 1};
}

START_TEST(conv_matches_direct)
{
    conv_check_geom(geom(1, 1, 5, 5, 3, 3, 1, 0), 1, 1);
    conv_check_geom(geom(2, 3, 8, 7, 3, 3, 1, 1), 4, 2);
    conv_check_geom(geom(2, 2, 9, 9, 3, 2, 2, 2), 3, 3);
    conv_check_geom(geom(3, 1, 28, 28, 5, 5, 1, 0), 5, 4); /* Network C's first */
    conv_check_geom(geom(1, 4, 6, 6, 1, 1, 2, 0), 2, 5);
    conv_check_geom(geom(1, 2, 4, 4, 4, 4, 1, 0), 2, 6); /* one patch */
    conv_check_geom(geom(2, 1, 3, 3, 5, 5, 3, 1), 1, 7); /* mostly padding */
}
END_TEST

START_TEST(conv_strides_and_pads_per_side)
{
    /* n, c, h, w, kh, kw, sh, sw, pt, pl, pb, pr, groups */
    const conv_geom_t gs[] = {
        {2, 3, 7, 6, 3, 2, 2, 1, 1, 0, 0, 1, 1}, /* ONNX's SAME_UPPER-like */
        {1, 2, 5, 8, 2, 3, 1, 3, 0, 2, 1, 0, 1}, /* pad on one side only */
        {2, 1, 4, 4, 3, 3, 3, 2, 2, 2, 2, 2, 1}, /* pads past the filter's middle */
        {1, 1, 1, 1, 1, 1, 1, 1, 3, 0, 1, 2, 1}, /* windows wholly in the padding */
        {1, 2, 6, 5, 6, 1, 4, 1, 0, 0, 3, 0, 1}, /* a tall filter, striding down */
        {3, 2, 5, 5, 2, 2, 2, 2, 1, 1, 0, 0, 1}, /* asymmetric, the last row dropped */
    };
    for (size_t i = 0; i < sizeof gs / sizeof gs[0]; i++)
        for (uint64_t seed = 0; seed < 3; seed++)
            conv_check_geom(gs[i], 1 + seed, 100 + 10 * i + seed);
    /* the extents of a few */
    size_t oh, ow;
    ck_assert_int_eq(conv_out_size(&gs[0], &oh, &ow), TRINE_OK);
    ck_assert(oh == 3 && ow == 6);
    ck_assert_int_eq(conv_out_size(&gs[3], &oh, &ow), TRINE_OK);
    ck_assert(oh == 5 && ow == 3);
    ck_assert_int_eq(conv_out_size(&gs[4], &oh, &ow), TRINE_OK);
    ck_assert(oh == 1 && ow == 5);
}
END_TEST

START_TEST(conv_rejects_bad_geometry)
{
    size_t oh, ow;
    conv_geom_t g = geom(1, 1, 4, 4, 5, 5, 1, 0);
    ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_ESHAPE);
    g.pt = 1; /* 5 rows of padded input, but still 4 columns */
    ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_ESHAPE);
    g.pr = 1;
    ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_OK);
    ck_assert(oh == 1 && ow == 1);
    g = geom(1, 1, 4, 4, 3, 3, 0, 0);
    ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_EINVAL);
    g.sh = 1; /* sw still 0 */
    ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_EINVAL);
    g = geom(1, 1, 4, 4, 3, 3, 1, 0);
    g.pb = SIZE_MAX - 2; /* the padded height does not fit size_t */
    ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_EINVAL);
    g.pb = 0;
    g.pl = SIZE_MAX;
    ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_EINVAL);
    g = geom(1, 1, 4, 4, 3, 3, 1, 0);
    tensor_t *x = tensor_new(4, (size_t[]){1, 1, 4, 5}), *cols = tensor_new_2d(9, 4);
    ck_assert_int_eq(conv_im2col(cols, x, &g), TRINE_ESHAPE);
    tensor_t *x2 = tensor_new(4, (size_t[]){1, 1, 4, 4}), *cols2 = tensor_new_2d(9, 5);
    ck_assert_int_eq(conv_im2col(cols2, x2, &g), TRINE_ESHAPE);
    ck_assert_int_eq(conv_col2im(x2, cols2, &g), TRINE_ESHAPE);
    ck_assert_int_eq(conv_im2col(cols, x2, &g), TRINE_OK);
    tensor_destroy(&x), tensor_destroy(&cols), tensor_destroy(&x2), tensor_destroy(&cols2);
}
END_TEST

Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("im2col");
    tcase_add_test(tc, conv_matches_direct);
    tcase_add_test(tc, conv_strides_and_pads_per_side);
    tcase_add_test(tc, conv_rejects_bad_geometry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(conv_suite());
}
