/* check_bench_config.c — bench file loading: the shipped samples, defaults,
 * the order lists expand in, continuation lines, paths, and one case per
 * kind of error, each checked for its status and its whole message (file,
 * line and key). */
#include "check_util.h"

#include "config/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A valid file with sections out of enum order and keys out of table
 * order; the cases below edit it, so its line numbers are part of their
 * expectations. */
static const char bench_base[] = "# test bench\n"                 /* 1 */
                                 "[bench]\n"                      /* 2 */
                                 "cluster = local\n"              /* 3 */
                                 "\n"                             /* 4 */
                                 "[network_c]\n"                  /* 5 */
                                 "batch = 1, 128\n"               /* 6 */
                                 "\n"                             /* 7 */
                                 "[conv2d]\n"                     /* 8 */
                                 "batch = 1, 128\n"               /* 9 */
                                 "sizes = 8x5x16x50, 28x3x1x20\n" /* 10 */
                                 "\n"                             /* 11 */
                                 "[matmul]\n"                     /* 12 */
                                 "sizes = 1x100x1,784x128x10\n"   /* 13 */
                                 "\n"                             /* 14 */
                                 "[maxpool]\n"                    /* 15 */
                                 "sizes = 24x24x16/2\n"           /* 16 */
                                 "\n"                             /* 17 */
                                 "[division]\n"                   /* 18 */
                                 "sizes = 1024\n"                 /* 19 */
                                 "int_bits = 3\n";                /* 20 */

/* Writes text to dir/name and stores the file's path in path (128 bytes). */
static void scratch_write(char *path, const char *dir, const char *name, const char *text)
{
    snprintf(path, 128, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
}

/* A new copy of base with the first find replaced by with; find must occur. */
static char *text_edit(const char *base, const char *find, const char *with)
{
    const char *at = strstr(base, find);
    ck_assert_msg(at != NULL, "'%s' is not in the base file", find);
    size_t head = (size_t)(at - base), n = strlen(base) - strlen(find) + strlen(with);
    char *out = malloc(n + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, base, head);
    strcpy(out + head, with);
    strcat(out, at + strlen(find));
    return out;
}

/* Loads text from a scratch bench.ini into *c. */
static trine_status_t load_text(bench_config_t *c, trine_err_t *err, const char *text)
{
    char dir[CHECK_UTIL_TMPDIR_MAX], path[128];
    check_util_tmpdir(dir, "check-bench");
    scratch_write(path, dir, "bench.ini", text);
    trine_status_t rc = bench_config_load(c, path, err);
    check_util_rmtree(dir);
    return rc;
}

/* Loads bench_base edited as given into *c. */
static trine_status_t load_edited(bench_config_t *c, trine_err_t *err, const char *find,
                                  const char *with)
{
    char *text = text_edit(bench_base, find, with);
    trine_status_t rc = load_text(c, err, text);
    free(text);
    return rc;
}

/* Loads config/NAME from the source tree (meson sets TRINE_BENCH_SAMPLES). */
static void load_sample(bench_config_t *c, const char *name)
{
    const char *dir = getenv("TRINE_BENCH_SAMPLES");
    ck_assert_msg(dir != NULL, "meson sets TRINE_BENCH_SAMPLES to the config folder");
    char path[CONFIG_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    trine_err_t err = {0};
    trine_status_t rc = bench_config_load(c, path, &err);
    ck_assert_msg(rc == TRINE_OK, "%s: %s", name, err.msg);
}

static void item_is(const bench_item_t *it, bench_op_t op, const char *size, size_t batch,
                    unsigned line)
{
    ck_assert_str_eq(bench_op_name(it->op), bench_op_name(op));
    ck_assert_str_eq(it->size, size);
    ck_assert_uint_eq(it->batch, batch);
    ck_assert_uint_eq(it->line, line);
}

START_TEST(bench_samples_load)
{
    bench_config_t *c = malloc(sizeof *c);
    ck_assert_ptr_nonnull(c);

    load_sample(c, "bench-table8.ini");
    ck_assert(c->local);
    ck_assert_str_eq(c->cluster, "");
    ck_assert_str_eq(c->json, "table8.json");
    ck_assert_str_eq(c->csv, "table8.csv");
    ck_assert_uint_eq(c->repetitions, 5);
    ck_assert_uint_eq(c->nitems, 18);
    static const struct {
        bench_op_t op;
        int count;
    } table8[] = {{BENCH_OP_CONV2D, 3},   {BENCH_OP_MATMUL, 3}, {BENCH_OP_MAXPOOL, 3},
                  {BENCH_OP_DRELU, 3},    {BENCH_OP_RELU, 3},   {BENCH_OP_COMPARE, 1},
                  {BENCH_OP_DIVISION, 1}, {BENCH_OP_SIGMOID, 1}};
    size_t at = 0;
    for (size_t i = 0; i < sizeof table8 / sizeof table8[0]; i++)
        for (int j = 0; j < table8[i].count; j++, at++) {
            ck_assert_int_eq(c->items[at].op, table8[i].op);
            ck_assert_uint_eq(c->items[at].batch, 1);
        }
    ck_assert_str_eq(c->items[0].size, "8x5x16x50");
    ck_assert_str_eq(c->items[5].size, "784x128x10");
    ck_assert_uint_eq(c->items[5].dim[0], 784);
    ck_assert_uint_eq(c->items[5].dim[2], 10);
    ck_assert_str_eq(c->items[6].size, "8x8x50/4");
    ck_assert_uint_eq(c->items[6].window, 4);
    ck_assert_str_eq(c->items[11].size, "576x20");
    ck_assert_int_eq(c->items[11].ndim, 2);
    ck_assert_str_eq(c->items[16].size, "1024");
    bench_config_clear(c);

    load_sample(c, "bench-networks.ini");
    ck_assert(c->local);
    ck_assert_uint_eq(c->repetitions, 5);
    ck_assert_uint_eq(c->warmup, 1);
    ck_assert_uint_eq(c->nitems, 8);
    for (size_t i = 0; i < 8; i++) {
        ck_assert_int_eq(c->items[i].op, BENCH_OP_NETWORK_A + (int)(i / 2));
        ck_assert_uint_eq(c->items[i].batch, i % 2 ? 128 : 1);
        ck_assert_int_eq(c->items[i].ndim, 0);
        ck_assert_str_eq(c->items[i].size, "");
    }
    bench_config_clear(c);

    load_sample(c, "bench-small.ini");
    ck_assert(c->local);
    ck_assert_uint_eq(c->repetitions, 2);
    ck_assert_uint_eq(c->warmup, 1);
    ck_assert_str_eq(c->json, "");
    ck_assert_uint_eq(c->nitems, 20);
    bool seen[BENCH_OP_COUNT] = {false};
    for (size_t i = 0; i < c->nitems; i++) {
        seen[c->items[i].op] = true;
        ck_assert_uint_le(c->items[i].batch, 2);
    }
    for (int op = 0; op < BENCH_OP_COUNT; op++)
        ck_assert_msg(seen[op] == (op != BENCH_OP_NETWORK_B && op != BENCH_OP_NETWORK_C),
                      "bench-small.ini and %s", bench_op_name((bench_op_t)op));
    bench_config_clear(c);
    ck_assert_ptr_null(c->items);
    ck_assert_uint_eq(c->nitems, 0);
    free(c);
}
END_TEST

START_TEST(bench_defaults)
{
    bench_config_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    ck_assert_int_eq(load_text(c, &err, "[bench]\ncluster = local\n[relu]\nsizes = 4\n"), TRINE_OK);
    ck_assert(c->local);
    ck_assert_str_eq(c->cluster, "");
    ck_assert_uint_eq(c->frac_bits, 13);
    ck_assert_uint_eq(c->repetitions, 5);
    ck_assert_uint_eq(c->warmup, 1);
    ck_assert_uint_eq(c->timeout_ms, 30000);
    ck_assert_str_eq(c->json, "");
    ck_assert_str_eq(c->csv, "");
    ck_assert_uint_eq(c->cluster_line, 2);
    ck_assert_uint_eq(c->frac_bits_line, 0);
    ck_assert_uint_eq(c->nitems, 1);
    const bench_item_t *it = &c->items[0];
    item_is(it, BENCH_OP_RELU, "4", 1, 4);
    ck_assert_int_eq(it->ndim, 1);
    ck_assert_uint_eq(it->dim[0], 4);
    ck_assert_uint_eq(it->dim[1], 0);
    ck_assert_uint_eq(it->window, 0);
    ck_assert_uint_eq(it->int_bits, 0);
    bench_config_clear(c);
    free(c);
}
END_TEST

START_TEST(bench_expansion_order)
{
    bench_config_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    ck_assert_int_eq(load_edited(c, &err, "", ""), TRINE_OK);
    ck_assert_uint_eq(c->nitems, 10);
    /* File order of sections; sizes outer, batches inner; the size's line. */
    item_is(&c->items[0], BENCH_OP_NETWORK_C, "", 1, 6);
    item_is(&c->items[1], BENCH_OP_NETWORK_C, "", 128, 6);
    item_is(&c->items[2], BENCH_OP_CONV2D, "8x5x16x50", 1, 10);
    item_is(&c->items[3], BENCH_OP_CONV2D, "8x5x16x50", 128, 10);
    item_is(&c->items[4], BENCH_OP_CONV2D, "28x3x1x20", 1, 10);
    item_is(&c->items[5], BENCH_OP_CONV2D, "28x3x1x20", 128, 10);
    item_is(&c->items[6], BENCH_OP_MATMUL, "1x100x1", 1, 13);
    item_is(&c->items[7], BENCH_OP_MATMUL, "784x128x10", 1, 13);
    item_is(&c->items[8], BENCH_OP_MAXPOOL, "24x24x16/2", 1, 16);
    item_is(&c->items[9], BENCH_OP_DIVISION, "1024", 1, 19);
    ck_assert_int_eq(c->items[4].ndim, 4);
    ck_assert_uint_eq(c->items[4].dim[0], 28);
    ck_assert_uint_eq(c->items[4].dim[1], 3);
    ck_assert_uint_eq(c->items[4].dim[2], 1);
    ck_assert_uint_eq(c->items[4].dim[3], 20);
    ck_assert_int_eq(c->items[8].ndim, 3);
    ck_assert_uint_eq(c->items[8].dim[2], 16);
    ck_assert_uint_eq(c->items[8].window, 2);
    ck_assert_uint_eq(c->items[9].int_bits, 3);
    ck_assert_uint_eq(c->items[7].int_bits, 0);
    bench_config_clear(c);

    /* Sizes normalised; a list going on over indented lines, with comments
     * between and a trailing comma, keeps each size's own line. */
    ck_assert_int_eq(load_edited(c, &err, "sizes = 1x100x1,784x128x10\n",
                                 "sizes = 0001x100x1 ,\t784x128x10,   ; the first two\n"
                                 "  2x3x4, 5x6x7, # two more\n"
                                 "; a comment between\n"
                                 "\n"
                                 "\t8x9x10,\n"),
                     TRINE_OK);
    ck_assert_uint_eq(c->nitems, 13);
    item_is(&c->items[6], BENCH_OP_MATMUL, "1x100x1", 1, 13);
    item_is(&c->items[7], BENCH_OP_MATMUL, "784x128x10", 1, 13);
    item_is(&c->items[8], BENCH_OP_MATMUL, "2x3x4", 1, 14);
    item_is(&c->items[9], BENCH_OP_MATMUL, "5x6x7", 1, 14);
    item_is(&c->items[10], BENCH_OP_MATMUL, "8x9x10", 1, 17);
    item_is(&c->items[11], BENCH_OP_MAXPOOL, "24x24x16/2", 1, 20);
    bench_config_clear(c);

    /* Batches continue too, and every shape of 1 to 4 extents is a tensor. */
    ck_assert_int_eq(load_edited(c, &err, "[division]\nsizes = 1024\n",
                                 "[sigmoid]\nsizes = 7, 7x6, 7x6x5, 7x6x5x4\n[division]\n"
                                 "sizes = 2\n  3\n"),
                     TRINE_OK);
    ck_assert_uint_eq(c->nitems, 15);
    item_is(&c->items[9], BENCH_OP_SIGMOID, "7", 1, 19);
    item_is(&c->items[12], BENCH_OP_SIGMOID, "7x6x5x4", 1, 19);
    ck_assert_int_eq(c->items[12].ndim, 4);
    item_is(&c->items[13], BENCH_OP_DIVISION, "2", 1, 21);
    item_is(&c->items[14], BENCH_OP_DIVISION, "3", 1, 22);
    ck_assert_uint_eq(c->items[14].int_bits, 3);
    bench_config_clear(c);
    ck_assert_int_eq(
        load_edited(c, &err, "batch = 1, 128\n\n[conv2d]", "batch = 1,\n  2\n\n[conv2d]"),
        TRINE_OK);
    item_is(&c->items[1], BENCH_OP_NETWORK_C, "", 2, 7);
    bench_config_clear(c);
    free(c);
}
END_TEST

START_TEST(bench_paths_comments_crlf)
{
    bench_config_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    char dir[CHECK_UTIL_TMPDIR_MAX], sub[96], path[128], want[CONFIG_PATH_MAX + 64];
    check_util_tmpdir(dir, "check-bench");
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);

    /* cluster is taken from the file's folder; json and csv are kept as
     * written, for the client to take from its working directory. */
    char *text = text_edit(bench_base, "cluster = local\n",
                           "cluster = ../cluster.ini   ; a path\n"
                           "frac_bits = 16 # inline hash\n"
                           "truncation = local\n"
                           "protocol = fss\n"
                           "json = out/r.json\n"
                           "csv = \"my results.csv\"\n"
                           "repetitions=1000\n"
                           "warmup : 0\n");
    scratch_write(path, dir, "sub/bench.ini", text);
    free(text);
    ck_assert_int_eq(bench_config_load(c, path, &err), TRINE_OK);
    ck_assert(!c->local);
    snprintf(want, sizeof want, "%s/sub/../cluster.ini", dir);
    ck_assert_str_eq(c->cluster, want);
    ck_assert_str_eq(c->path, path);
    ck_assert_uint_eq(c->cluster_line, 3);
    ck_assert_uint_eq(c->frac_bits, 16);
    ck_assert_uint_eq(c->frac_bits_line, 4);
    ck_assert_int_eq(c->truncation, CONFIG_TRUNC_LOCAL);
    ck_assert_int_eq(c->protocol, CONFIG_PROTOCOL_FSS);
    ck_assert_str_eq(c->json, "out/r.json");
    ck_assert_str_eq(c->csv, "my results.csv");
    ck_assert_uint_eq(c->repetitions, 1000);
    ck_assert_uint_eq(c->warmup, 0);
    bench_config_clear(c);

    /* A relative bench path is resolved from the working directory once. */
    char old_cwd[CONFIG_PATH_MAX], cwd[CONFIG_PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(old_cwd, sizeof old_cwd));
    ck_assert_int_eq(chdir(sub), 0);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s/../cluster.ini", cwd);
    ck_assert_int_eq(bench_config_load(c, "./bench.ini", &err), TRINE_OK);
    ck_assert_str_eq(c->cluster, want);
    bench_config_clear(c);
    ck_assert_int_eq(chdir(old_cwd), 0);

    /* An absolute cluster path stays; "" and an empty value write nothing;
     * a quoted "local" is a file of that name. */
    text = text_edit(bench_base, "cluster = local\n",
                     "cluster = /etc/trine/cluster.ini\njson = \"\"\ncsv =\n");
    scratch_write(path, dir, "bench.ini", text);
    free(text);
    ck_assert_int_eq(bench_config_load(c, path, &err), TRINE_OK);
    ck_assert_str_eq(c->cluster, "/etc/trine/cluster.ini");
    ck_assert_str_eq(c->json, "");
    ck_assert_str_eq(c->csv, "");
    bench_config_clear(c);
    text = text_edit(bench_base, "cluster = local\n", "cluster = \"local\"\n");
    scratch_write(path, dir, "bench.ini", text);
    free(text);
    ck_assert_int_eq(bench_config_load(c, path, &err), TRINE_OK);
    ck_assert(!c->local);
    snprintf(want, sizeof want, "%s/local", dir);
    ck_assert_str_eq(c->cluster, want);
    bench_config_clear(c);

    /* The base with CRLF endings and a byte order mark; errors in it still
     * name the right line. */
    size_t n = strlen(bench_base);
    char *crlf = malloc(3 + 2 * n + 64);
    ck_assert_ptr_nonnull(crlf);
    memcpy(crlf, "\xEF\xBB\xBF", 3);
    size_t j = 3;
    for (size_t i = 0; i < n; i++) {
        if (bench_base[i] == '\n')
            crlf[j++] = '\r';
        crlf[j++] = bench_base[i];
    }
    strcpy(crlf + j, "[relu]\r\nsizes = 3x3 ; c\r\n  4x4\r\n");
    scratch_write(path, dir, "bench.ini", crlf);
    ck_assert_int_eq(bench_config_load(c, path, &err), TRINE_OK);
    ck_assert_uint_eq(c->nitems, 12);
    item_is(&c->items[11], BENCH_OP_RELU, "4x4", 1, 23);
    bench_config_clear(c);
    strcpy(crlf + j, "[relu]\r\nsizes =\r\n");
    scratch_write(path, dir, "bench.ini", crlf);
    ck_assert_int_eq(bench_config_load(c, path, &err), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "bench.ini:22: [relu] sizes: empty value"));
    free(crlf);
    check_util_rmtree(dir);
    free(c);
}
END_TEST

/* One error each: an edit of bench_base, its status, and the message after
 * the scratch folder ("bench.ini:LINE: ..."). */
static const struct {
    const char *find, *with;
    trine_status_t status;
    const char *expect;
} bench_errors[] = {
    /* INI syntax and lines */
    {"cluster = local\n", "cluster = local\nthis is not ini\n", TRINE_EFORMAT,
     "bench.ini:4: syntax error; expected [section], key = value, or a ; or # comment"},
    {"[matmul]\n", "[matmul\n", TRINE_EFORMAT,
     "bench.ini:12: syntax error; expected [section], key = value, or a ; or # comment"},
    {"# test bench\n", "sizes = 1\n", TRINE_EFORMAT,
     "bench.ini:1: sizes: key before any section; expected [bench], [matmul], [conv2d], [relu], "
     "[drelu], [compare], [maxpool], [division], [sigmoid], [exp], [recip], [rsqrt], [log], [tanh], "
     "[erf], [softmax], [log_softmax], [network_a]..[network_d]"},
    {"cluster = local\n", "cluster = local\n  repetitions = 3\n", TRINE_EFORMAT,
     "bench.ini:4: indented line; start keys and sections in column 1 (only a sizes or batch "
     "list may go on over indented lines)"},
    {"sizes = 1024\n", "sizes = 1024\n  [relu]\n", TRINE_EFORMAT,
     "bench.ini:20: indented line; start keys and sections in column 1"},
    {"sizes = 1024\n", "sizes = 1024\n  int_bits = 2\n", TRINE_EFORMAT,
     "bench.ini:20: indented line; start keys and sections in column 1"},
    {"sizes = 1024\n",
     "sizes = 1024, "
     "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
     "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
     "111111111111\n",
     TRINE_EFORMAT,
     "bench.ini:19: line is 199 characters long; at most 197 fit (a long list may go on over "
     "indented lines)"},
    /* sections and keys */
    {"[matmul]", "[matmult]", TRINE_EFORMAT,
     "bench.ini:12: unknown section [matmult]; expected [bench], [matmul], [conv2d], [relu], "
     "[drelu], [compare], [maxpool], [division], [sigmoid], [exp], [recip], [rsqrt], [log], [tanh], "
     "[erf], [softmax], [log_softmax], [network_a]..[network_d]"},
    {"[maxpool]", "[network_e]", TRINE_EFORMAT, "bench.ini:15: unknown section [network_e]; "},
    {"int_bits = 3\n", "int_bits = 3\n[conv2d]\nsizes = 4x3x1x1\n", TRINE_EFORMAT,
     "bench.ini:21: section [conv2d] appears again (first on line 8); merge the two"},
    {"cluster = local\n", "cluster = local\nrepetition = 3\n", TRINE_EFORMAT,
     "bench.ini:4: [bench] unknown key 'repetition'; expected cluster, frac_bits, truncation, "
     "protocol, fss_max, repetitions, warmup, json, csv, timeout_ms"},
    {"sizes = 1x100x1,784x128x10\n", "sizes = 1x100x1\nbatch = 2\n", TRINE_EFORMAT,
     "bench.ini:14: [matmul] unknown key 'batch'; expected sizes"},
    {"sizes = 8x5x16x50", "size = 8x5x16x50", TRINE_EFORMAT,
     "bench.ini:10: [conv2d] unknown key 'size'; expected sizes, batch"},
    {"int_bits = 3\n", "int_bits = 3\nbatch = 1\n", TRINE_EFORMAT,
     "bench.ini:21: [division] unknown key 'batch'; expected sizes, int_bits"},
    {"sizes = 1024\n", "sizes = 1024\nsizes = 2048\n", TRINE_EFORMAT,
     "bench.ini:20: [division] sizes: duplicate key (first set on line 19)"},
    {"batch = 1, 128\n\n[conv2d]", "batch = 1, 128\nsizes = 1x784x1\n\n[conv2d]", TRINE_EFORMAT,
     "bench.ini:7: [network_c] sizes: a network has fixed layer sizes (SecureNN Appendix C); "
     "give only batch"},
    /* required keys and sections */
    {"sizes = 24x24x16/2\n", "batch = 2\n", TRINE_EFORMAT,
     "bench.ini:15: [maxpool] sizes: missing required key"},
    {"sizes = 1x100x1,784x128x10\n", "", TRINE_EFORMAT,
     "bench.ini:12: [matmul] sizes: missing required key"},
    {"batch = 1, 128\n\n[conv2d]", "\n\n[conv2d]", TRINE_EFORMAT,
     "bench.ini:5: [network_c] batch: missing required key"},
    {"cluster = local\n", "warmup = 0\n", TRINE_EFORMAT,
     "bench.ini:2: [bench] cluster: missing required key; write cluster = local or cluster = the "
     "path of a cluster.ini"},
    {"[bench]\ncluster = local\n", "", TRINE_EFORMAT,
     "bench.ini: missing section [bench] with its required key cluster"},
    /* empty values */
    {"cluster = local", "cluster =", TRINE_EFORMAT, "bench.ini:3: [bench] cluster: empty value"},
    {"cluster = local", "cluster = \"\"", TRINE_EFORMAT,
     "bench.ini:3: [bench] cluster: '\"\"': not 'local' or the path of a cluster.ini"},
    {"sizes = 1024", "sizes = ; later", TRINE_EFORMAT,
     "bench.ini:19: [division] sizes: empty value"},
    {"batch = 1, 128\n\n[conv2d]", "batch = # none\n\n[conv2d]", TRINE_EFORMAT,
     "bench.ini:6: [network_c] batch: empty value"},
    /* numbers */
    {"cluster = local\n", "cluster = local\nfrac_bits = 31\n", TRINE_ERANGE,
     "bench.ini:4: [bench] frac_bits: '31': out of range 0..30"},
    {"cluster = local\n", "cluster = local\ntruncation = exactly\n", TRINE_EFORMAT,
     "bench.ini:4: [bench] truncation: 'exactly': neither exact nor local"},
    {"cluster = local\n", "cluster = local\nprotocol = aby\n", TRINE_EFORMAT,
     "bench.ini:4: [bench] protocol: 'aby': not securenn, fss, auto or carry"},
    {"cluster = local\n", "cluster = local\nfrac_bits = 12abc\n", TRINE_EFORMAT,
     "bench.ini:4: [bench] frac_bits: '12abc': not a whole number (plain decimal digits)"},
    {"cluster = local\n", "cluster = local\nrepetitions = -1\n", TRINE_EFORMAT,
     "bench.ini:4: [bench] repetitions: '-1': not a whole number (plain decimal digits)"},
    {"cluster = local\n", "cluster = local\nrepetitions = 0\n", TRINE_ERANGE,
     "bench.ini:4: [bench] repetitions: '0': out of range 1..1000"},
    {"cluster = local\n", "cluster = local\nrepetitions = 1001\n", TRINE_ERANGE,
     "bench.ini:4: [bench] repetitions: '1001': out of range 1..1000"},
    {"cluster = local\n", "cluster = local\nwarmup = 101\n", TRINE_ERANGE,
     "bench.ini:4: [bench] warmup: '101': out of range 0..100"},
    {"cluster = local\n", "cluster = local\ntimeout_ms = 99\n", TRINE_ERANGE,
     "bench.ini:4: [bench] timeout_ms: '99': out of range 100..3600000"},
    {"cluster = local\n", "cluster = local\ntimeout_ms = 99999999999999999999999\n", TRINE_ERANGE,
     "bench.ini:4: [bench] timeout_ms: '99999999999999999999999': out of range 100..3600000"},
    {"int_bits = 3", "int_bits = 31", TRINE_ERANGE,
     "bench.ini:20: [division] int_bits: '31': out of range 0..30"},
    {"batch = 1, 128\n\n[conv2d]", "batch = 1, 0\n\n[conv2d]", TRINE_ERANGE,
     "bench.ini:6: [network_c] batch: '0': a batch must be 1..2147483648"},
    {"batch = 1, 128\nsizes", "batch = 1, 2147483649\nsizes", TRINE_ERANGE,
     "bench.ini:9: [conv2d] batch: '2147483649': a batch must be 1..2147483648"},
    {"batch = 1, 128\nsizes", "batch = 1, 12 8\nsizes", TRINE_EFORMAT,
     "bench.ini:9: [conv2d] batch: '12 8': not a whole number (plain decimal digits)"},
    /* sizes */
    {"sizes = 1x100x1,", "sizes = 1x100x1, 12x0x3,", TRINE_ERANGE,
     "bench.ini:13: [matmul] sizes: '12x0x3': every extent must be at least 1"},
    {"sizes = 1x100x1,", "sizes = 1x2147483649x1,", TRINE_ERANGE,
     "bench.ini:13: [matmul] sizes: '1x2147483649x1': every extent must be at most 2147483648 "
     "(2^31)"},
    {"sizes = 1x100x1,", "sizes = 1x100,", TRINE_EFORMAT,
     "bench.ini:13: [matmul] sizes: '1x100': not a size m x n x v: three whole numbers joined by "
     "'x', like 784x128x10"},
    {"sizes = 1x100x1,", "sizes = 1 x 100 x 1,", TRINE_EFORMAT,
     "bench.ini:13: [matmul] sizes: '1 x 100 x 1': not a size m x n x v"},
    {"sizes = 1x100x1,", "sizes = 1x100xx1,", TRINE_EFORMAT,
     "bench.ini:13: [matmul] sizes: '1x100xx1': not a size m x n x v"},
    {"sizes = 1x100x1,", "sizes = 1X100X1,", TRINE_EFORMAT,
     "bench.ini:13: [matmul] sizes: '1X100X1': not a size m x n x v"},
    {"sizes = 1x100x1,", "sizes = 1x100x1,,", TRINE_EFORMAT,
     "bench.ini:13: [matmul] sizes: '1x100x1,,784x128x10': empty item in the list"},
    {"sizes = 1x100x1,", "sizes = ,1x100x1,", TRINE_EFORMAT,
     "bench.ini:13: [matmul] sizes: ',1x100x1,784x128x10': empty item in the list"},
    {"sizes = 1x100x1,", "sizes = 16384x16385x1,", TRINE_ERANGE,
     "bench.ini:13: [matmul] sizes: '16384x16385x1': the [m,n] operand 16384x16385 has more than "
     "268435456 (2^28) elements"},
    {"sizes = 1x100x1,", "sizes = 1x16384x16385,", TRINE_ERANGE,
     "bench.ini:13: [matmul] sizes: '1x16384x16385': the [n,v] operand 16384x16385 has more than"},
    {"sizes = 1x100x1,", "sizes = 16384x1x16385,", TRINE_ERANGE,
     "bench.ini:13: [matmul] sizes: '16384x1x16385': the [m,v] product 16384x16385 has more than"},
    {"sizes = 8x5x16x50", "sizes = 8x4x16x50", TRINE_ERANGE,
     "bench.ini:10: [conv2d] sizes: '8x4x16x50': the filter size f must be odd (padding (f-1)/2 "
     "keeps the output m x m)"},
    {"sizes = 8x5x16x50", "sizes = 8x5x16", TRINE_EFORMAT,
     "bench.ini:10: [conv2d] sizes: '8x5x16': not a size m x f x i x o: four whole numbers joined "
     "by 'x', like 28x5x1x20"},
    {"sizes = 8x5x16x50", "sizes = 8x5x16x50/2", TRINE_EFORMAT,
     "bench.ini:10: [conv2d] sizes: '8x5x16x50/2': not a size m x f x i x o"},
    {"sizes = 8x5x16x50", "sizes = 8x129x16384x2", TRINE_ERANGE,
     "bench.ini:10: [conv2d] sizes: '8x129x16384x2': the filter bank 129x129x16384x2 has more "
     "than"},
    {"sizes = 8x5x16x50", "sizes = 16384x1x1x2", TRINE_ERANGE,
     "bench.ini:10: [conv2d] sizes: '16384x1x1x2': the output 16384x16384x2 has more than"},
    {"sizes = 24x24x16/2", "sizes = 25x24x16/2", TRINE_ERANGE,
     "bench.ini:16: [maxpool] sizes: '25x24x16/2': H (25) must be a multiple of k (2)"},
    {"sizes = 24x24x16/2", "sizes = 24x24x16/5", TRINE_ERANGE,
     "bench.ini:16: [maxpool] sizes: '24x24x16/5': H (24) must be a multiple of k (5)"},
    {"sizes = 24x24x16/2", "sizes = 24x26x16/3", TRINE_ERANGE,
     "bench.ini:16: [maxpool] sizes: '24x26x16/3': W (26) must be a multiple of k (3)"},
    {"sizes = 24x24x16/2", "sizes = 24x24x16", TRINE_EFORMAT,
     "bench.ini:16: [maxpool] sizes: '24x24x16': not a size H x W x C / k: three whole numbers "
     "joined by 'x', then /k, like 24x24x16/2"},
    {"sizes = 24x24x16/2", "sizes = 24x24x16/2/2", TRINE_EFORMAT,
     "bench.ini:16: [maxpool] sizes: '24x24x16/2/2': not a size H x W x C / k"},
    {"sizes = 24x24x16/2", "sizes = 24x24x16/0", TRINE_ERANGE,
     "bench.ini:16: [maxpool] sizes: '24x24x16/0': the window k must be 1..2147483648"},
    {"sizes = 1024", "sizes = 1x2x3x4x5", TRINE_EFORMAT,
     "bench.ini:19: [division] sizes: '1x2x3x4x5': not a tensor shape: 1 to 4 whole numbers "
     "joined by 'x', like 128x128"},
    {"sizes = 1024", "sizes = 65536x4097", TRINE_ERANGE,
     "bench.ini:19: [division] sizes: '65536x4097': the tensor 65536x4097 has more than 268435456 "
     "(2^28) elements"},
    {"sizes = 1024", "sizes = 65536x4096", TRINE_OK, ""},
    /* a batch that makes an operation's tensors too large */
    {"batch = 1, 128\nsizes", "batch = 1,\n  300000\nsizes", TRINE_ERANGE,
     "bench.ini:10: [conv2d] batch: '300000': with size 8x5x16x50, the input 300000x8x8x16 has "
     "more "
     "than 268435456 (2^28) elements"},
    {"sizes = 24x24x16/2\n", "sizes = 24x24x16/2\nbatch = 30000\n", TRINE_ERANGE,
     "bench.ini:17: [maxpool] batch: '30000': with size 24x24x16/2, the input 30000x24x24x16 has"},
    {"batch = 1, 128\n\n[conv2d]", "batch = 342393\n\n[conv2d]", TRINE_ERANGE,
     "bench.ini:6: [network_c] batch: '342393': the input 342393x28x28 has more than 268435456 "
     "(2^28) elements"},
    {"batch = 1, 128\n\n[conv2d]", "batch = 342392\n\n[conv2d]", TRINE_OK, ""},
    /* keys that tie together */
    {"cluster = local\n", "cluster = c.ini\ntimeout_ms = 1000\n", TRINE_EFORMAT,
     "bench.ini:4: [bench] timeout_ms: only for cluster = local; a cluster.ini sets its own "
     "[cluster] timeout_ms"},
    {"cluster = local\n", "cluster = local\njson = r.out\ncsv = r.out\n", TRINE_EFORMAT,
     "bench.ini:5: [bench] csv: 'r.out': also the json file (line 4); give them different names"},
};

START_TEST(bench_error_cases)
{
    bench_config_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    trine_status_t rc = load_edited(c, &err, bench_errors[_i].find, bench_errors[_i].with);
    ck_assert_msg(rc == bench_errors[_i].status, "case %d: status %d, message '%s'", _i, rc,
                  err.msg);
    if (rc != TRINE_OK) {
        ck_assert_int_eq(err.code, rc);
        /* The message is the scratch file's path, then exactly the expected text. */
        const char *at = strstr(err.msg, "/bench.ini");
        ck_assert_msg(
            at && strncmp(at + 1, bench_errors[_i].expect, strlen(bench_errors[_i].expect)) == 0,
            "case %d: message '%s' lacks '%s'", _i, err.msg, bench_errors[_i].expect);
        /* A failed load leaves nothing behind. */
        ck_assert_ptr_null(c->items);
        ck_assert_uint_eq(c->nitems, 0);
        ck_assert_str_eq(c->path, "");
    }
    bench_config_clear(c);
    free(c);
}
END_TEST

START_TEST(bench_nothing_to_measure)
{
    bench_config_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    ck_assert_int_eq(load_text(c, &err, "[bench]\ncluster = local\n; no measurements\n"),
                     TRINE_EFORMAT);
    const char *at = strstr(err.msg, "/bench.ini: ");
    ck_assert_ptr_nonnull(at);
    ck_assert_str_eq(at + 1, "bench.ini: nothing to measure; add a section such as [matmul] with "
                             "sizes = 1x100x1 (see config/bench-small.ini)");
    ck_assert_int_eq(load_text(c, &err, ""), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "bench.ini: missing section [bench]"));
    free(c);
}
END_TEST

START_TEST(bench_io_and_arguments)
{
    bench_config_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    char dir[CHECK_UTIL_TMPDIR_MAX], path[128];
    check_util_tmpdir(dir, "check-bench");
    snprintf(path, sizeof path, "%s/absent.ini", dir);
    ck_assert_int_eq(bench_config_load(c, path, &err), TRINE_EIO);
    ck_assert_int_eq(err.code, TRINE_EIO);
    char want[200];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    ck_assert_str_eq(err.msg, want);
    ck_assert_ptr_null(c->items);
    ck_assert_int_eq(bench_config_load(c, dir, &err), TRINE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, ": cannot read: Is a directory"));

    scratch_write(path, dir, "bench.ini", "");
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("[bench]\ncluster = a\0b\n", 1, 22, f), 22);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(bench_config_load(c, path, &err), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "bench.ini:2: NUL byte in line"));
    ck_assert_int_eq(bench_config_load(c, path, NULL), TRINE_EFORMAT);

    /* A long path is shortened in messages, both ends kept. */
    char long_path[300];
    snprintf(long_path, sizeof long_path, "%s/%0200d/bench.ini", dir, 0);
    ck_assert_int_eq(bench_config_load(c, long_path, &err), TRINE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/tmp/check-bench-"));
    ck_assert_msg(strstr(err.msg, "...000000000000000/bench.ini: cannot open") != NULL, "%s",
                  err.msg);

    ck_assert_int_eq(bench_config_load(NULL, path, &err), TRINE_EINVAL);
    ck_assert_int_eq(bench_config_load(c, NULL, &err), TRINE_EINVAL);
    bench_config_clear(NULL);
    ck_assert_str_eq(bench_op_name(BENCH_OP_NETWORK_D), "network_d");
    ck_assert_str_eq(bench_op_name(BENCH_OP_COUNT), "unknown");
    check_util_rmtree(dir);
    free(c);
}
END_TEST

Suite *bench_config_suite(void)
{
    Suite *s = suite_create("bench-config");
    TCase *tc = tcase_create("bench-config");
    tcase_add_test(tc, bench_samples_load);
    tcase_add_test(tc, bench_defaults);
    tcase_add_test(tc, bench_expansion_order);
    tcase_add_test(tc, bench_paths_comments_crlf);
    tcase_add_loop_test(tc, bench_error_cases, 0,
                        (int)(sizeof bench_errors / sizeof bench_errors[0]));
    tcase_add_test(tc, bench_nothing_to_measure);
    tcase_add_test(tc, bench_io_and_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(bench_config_suite());
}
