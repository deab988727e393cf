/* cli_stream.c — sharing and revealing on the command line (cli.h): the
 * transfers are libtrine's (lib_stream.c); here are the lines printed
 * about them, the bar, and a reveal printed on stdout.
 */
#include "daemon/client/cli.h"
#include "daemon/common/log.h"
#include "tensor/fixed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REVEAL_PRINT_MAX 1000 /* values printed before pointing at -o */

void session_share_line(const char *name, plain_dtype_t dtype, int ndim, const size_t *shape,
                        size_t count, bool fixed, unsigned frac)
{
    char sh[LOG_SHAPE_CHARS], size[LOG_BYTES_CHARS];
    printf("shared '%s' %s %s as ", name, log_shape(sh, ndim, shape), plain_dtype_name(dtype));
    if (fixed)
        printf("fixed point (%u fractional bits): ", frac);
    else
        printf("integers: ");
    printf("%s to each of party0 and party1\n", log_bytes(size, count * sizeof(uint64_t)));
}

int session_share(session_t *s, const char *name, const plain_t *pl, const char *file,
                  const char *verb, bool quiet)
{
    lib_begin(s);
    progress_init(session_bar(s), true);
    trine_status_t st = lib_share(s, name, pl, file);
    progress_end(session_bar(s));
    if (st != TRINE_OK)
        return session_fail(s, verb);
    if (!quiet)
        session_share_line(name, pl->dtype, pl->ndim, pl->shape, pl->count,
                           plain_dtype_is_float(pl->dtype), s->cluster.cfg.frac_bits);
    return 0;
}

int session_share_file(session_t *s, const char *name, const char *path, bool fixed,
                       const char *verb, bool quiet)
{
    plain_t info;
    lib_begin(s);
    progress_init(session_bar(s), true);
    trine_status_t st = lib_share_file(s, name, path, fixed, &info);
    progress_end(session_bar(s));
    if (st != TRINE_OK)
        return session_fail(s, verb);
    if (!quiet)
        session_share_line(name, info.dtype, info.ndim, info.shape, info.count,
                           fixed || plain_dtype_is_float(info.dtype), s->cluster.cfg.frac_bits);
    return 0;
}

/* Prints the first REVEAL_PRINT_MAX values of the tensor t as its parts
 * come, a row a line. */
static trine_status_t reveal_print(void *arg, const wire_tensor_info_t *t, size_t at,
                                   const uint64_t *x, size_t n)
{
    (void)arg;
    size_t row = t->shape[t->ndim - 1], count = 1;
    for (int i = 0; i < t->ndim; i++)
        count *= t->shape[i];
    size_t shown = count < REVEAL_PRINT_MAX ? count : REVEAL_PRINT_MAX;
    for (size_t i = at; i < at + n && i < shown; i++) {
        if (t->kind == WIRE_KIND_FIXED)
            printf("%.10g", fixed_decode(x[i - at], t->frac));
        else
            printf("%lld", (long long)(int64_t)x[i - at]);
        putchar((i + 1) % row == 0 || i + 1 == shown ? '\n' : ' ');
    }
    if (at + n == count && shown < count)
        fprintf(stderr, "(%zu of %zu values shown; write them all with -o FILE.npy)\n", shown,
                count);
    return TRINE_OK;
}

lib_sink_t session_sink(const char *out, bool integers)
{
    if (out)
        return (lib_sink_t){.path = out, .integers = integers};
    return (lib_sink_t){.each = reveal_print, .integers = integers};
}

int session_reveal(session_t *s, const char *name, const char *out, bool integers,
                   const char *verb)
{
    lib_sink_t sink = session_sink(out, integers);
    lib_begin(s);
    progress_init(session_bar(s), true);
    trine_status_t st = lib_reveal(s, name, &sink);
    progress_end(session_bar(s));
    return st == TRINE_OK ? 0 : session_fail(s, verb);
}

int session_fetch(session_t *s, const char *name, uint64_t **values, wire_tensor_info_t *info,
                  const char *verb)
{
    lib_begin(s);
    progress_init(session_bar(s), true);
    trine_status_t st = lib_fetch(s, name, values, info);
    progress_end(session_bar(s));
    return st == TRINE_OK ? 0 : session_fail(s, verb);
}
