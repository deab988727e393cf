/* conv.h — 2-D convolution as a matrix product (im2col / col2im).
 *
 * Input x is NCHW: n images of c channels, h x w. A filter bank is
 * oc x (c * kh * kw) as a matrix. im2col writes the patch matrix
 *     cols: (c * kh * kw) x (n * oh * ow),
 * row (ci, ki, kj), column (image, oy, ox), zero where the patch reaches
 * into the padding (which may differ on each side, as ONNX's pads do), so
 * that filters * cols is oc x (n * oh * ow), which conv_cnhw_to_nchw turns
 * into the NCHW output. col2im is the adjoint of im2col (it adds
 * overlapping patch entries back), which is what the gradient of a
 * convolution with respect to its input needs.
 */
#ifndef TRINE_CONV_H
#define TRINE_CONV_H

#include "status.h"
#include "tensor.h"

#include <stddef.h>

typedef struct {
    size_t n, c, h, w; /* input: images, channels, height, width */
    size_t kh, kw;     /* filter height and width */
    size_t sh, sw;     /* strides down and across, >= 1 */
    size_t pt, pl;     /* zero rows added above, zero columns on the left */
    size_t pb, pr;     /* zero rows added below, zero columns on the right */
    size_t groups;     /* 0 or 1: one; else c and the filters split into
                          that many groups (conv_im2col ignores it: it
                          expands whatever channels x has) */
} conv_geom_t;

/* Checks g (extents >= 1, strides >= 1, padded extents that fit size_t,
 * filter no larger than the padded input: TRINE_EINVAL or TRINE_ESHAPE)
 * and stores the output height and width,
 *     oh = (h + pt + pb - kh) / sh + 1,  ow = (w + pl + pr - kw) / sw + 1. */
TRINE_NODISCARD trine_status_t conv_out_size(const conv_geom_t *g, size_t *oh, size_t *ow);

/* cols = im2col(x); x is n x c x h x w, cols (c kh kw) x (n oh ow). */
TRINE_NODISCARD trine_status_t conv_im2col(tensor_t *cols, const tensor_t *x, const conv_geom_t *g);

/* x = col2im(cols), overwriting x; shapes as for conv_im2col. */
TRINE_NODISCARD trine_status_t conv_col2im(tensor_t *x, const tensor_t *cols, const conv_geom_t *g);

/* out (n x oc x oh x ow) from y (oc x (n oh ow)), the filters * cols
 * product; and back, for gradients arriving in NCHW. */
TRINE_NODISCARD trine_status_t conv_cnhw_to_nchw(tensor_t *out, const tensor_t *y, size_t n);
TRINE_NODISCARD trine_status_t conv_nchw_to_cnhw(tensor_t *out, const tensor_t *x);

#endif
