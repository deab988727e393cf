/* it_libtrine_hostile.c — libtrine's contract on bad input, against a real
 * cluster (tests/it_libtrine.sh starts it): NULL clients and arguments,
 * dtypes, shapes and names out of range, a client that failed to connect,
 * unknown tensors and jobs. Every call returns a code and a message; none
 * crashes, and (under ASan) none leaks. Uses trine.h alone.
 *   it_libtrine_hostile CLUSTER.ini CLIENT.key
 */
#include <trine.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* Checks that got is want and, when part is not NULL, that c's message
 * holds part. */
static void expect(int line, trine_client_t *c, trine_code_t got, trine_code_t want,
                   const char *part)
{
    const char *msg = trine_errmsg(c);
    if (got != want || (part && !strstr(msg, part))) {
        printf("FAIL line %d: code %d, want %d; message '%s', want '%s'\n", line, (int)got,
               (int)want, msg, part ? part : "");
        failures++;
    }
}
#define EXPECT(c, call, want, part) expect(__LINE__, c, call, want, part)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: it_libtrine_hostile CLUSTER.ini CLIENT.key\n");
        return 2;
    }
    /* no client */
    trine_tensor_t out = {0};
    EXPECT(NULL, trine_rm(NULL, "x"), TRINE_CODE_EINVAL, "NULL");
    EXPECT(NULL, trine_reveal(NULL, "x", &out), TRINE_CODE_EINVAL, "NULL");
    trine_close(NULL);
    trine_tensor_clear(NULL);
    trine_set_progress(NULL, NULL, NULL);

    /* a client that failed to connect refuses, with the reason */
    trine_client_t *bad = trine_connect(argv[1], "/nonexistent/client.key");
    EXPECT(bad, trine_code(bad), TRINE_CODE_EIO, "/nonexistent/client.key");
    EXPECT(bad, trine_rm(bad, "x"), TRINE_CODE_EIO, "/nonexistent/client.key");
    trine_close(&bad);
    trine_close(&bad); /* NULL now */
    trine_client_t *none = trine_connect(NULL, NULL);
    EXPECT(none, trine_code(none), TRINE_CODE_EINVAL, "no cluster config");
    trine_close(&none);

    trine_client_t *c = trine_connect(argv[1], argv[2]);
    EXPECT(c, trine_code(c), TRINE_CODE_OK, "");
    double v[6] = {1, 2, 3, 4, 5, 6};
    trine_tensor_t t = {TRINE_FLOAT64, 2, {2, 3}, v};

    /* arguments */
    EXPECT(c, trine_share(c, NULL, &t, 0), TRINE_CODE_EINVAL, "NULL");
    EXPECT(c, trine_share(c, "x", NULL, 0), TRINE_CODE_EINVAL, "NULL");
    EXPECT(c, trine_reveal(c, "x", NULL), TRINE_CODE_EINVAL, "NULL");
    EXPECT(c, trine_infer(c, NULL, "x", NULL, NULL, &out), TRINE_CODE_EINVAL, "NULL");
    EXPECT(c, trine_grant(c, "x", NULL, NULL), TRINE_CODE_EINVAL, "NULL");
    EXPECT(c, trine_jobs(c, NULL, NULL), TRINE_CODE_EINVAL, "NULL");
    EXPECT(c, trine_ls(c, NULL), TRINE_CODE_EINVAL, "NULL");

    /* tensors out of the contract: nothing is stored */
    trine_tensor_t b = t;
    b.dtype = (trine_dtype_t)99;
    EXPECT(c, trine_share(c, "x", &b, 0), TRINE_CODE_EINVAL, "dtype 99");
    b = t, b.ndim = 0;
    EXPECT(c, trine_share(c, "x", &b, 0), TRINE_CODE_ESHAPE, "0 dimensions");
    b = t, b.ndim = 5;
    EXPECT(c, trine_share(c, "x", &b, 0), TRINE_CODE_ESHAPE, "5 dimensions");
    b = t, b.shape[1] = 0;
    EXPECT(c, trine_share(c, "x", &b, 0), TRINE_CODE_ESHAPE, "extent 1 is 0");
    b = t, b.shape[0] = (size_t)1 << 62;
    EXPECT(c, trine_share(c, "x", &b, 0), TRINE_CODE_ESHAPE, "below 2^61");
    b = t, b.data = NULL;
    EXPECT(c, trine_share(c, "x", &b, 0), TRINE_CODE_EINVAL, "no data");
    EXPECT(c, trine_share(c, "../x", &t, 0), TRINE_CODE_EINVAL, "not a tensor name");
    v[4] = 1e300;
    EXPECT(c, trine_share(c, "x", &t, 0), TRINE_CODE_ERANGE, "element 4");
    v[4] = 5;
    trine_list_t l;
    EXPECT(c, trine_ls(c, &l), TRINE_CODE_OK, "");
    if (l.count != 0)
        printf("FAIL: %zu tensors stored after refused shares\n", l.count), failures++;
    trine_list_free(&l);
    trine_list_free(&l); /* zeroed: fine */

    /* unknown things */
    out.data = v; /* zeroed on failure, not freed */
    EXPECT(c, trine_reveal(c, "nosuch", &out), TRINE_CODE_ENOENT, "nosuch");
    if (out.data)
        printf("FAIL: a failed reveal left data\n"), failures++;
    EXPECT(c, trine_reveal_file(c, "nosuch", "/nonexistent/out.npy"), TRINE_CODE_ENOENT,
           "nosuch");
    EXPECT(c, trine_cancel(c, 0xff), TRINE_CODE_ENOENT, "no job 00000000000000ff");
    trine_report_t rep;
    EXPECT(c, trine_report(c, &rep), TRINE_CODE_ENOENT, NULL);
    EXPECT(c, trine_run(c, "/nonexistent.prog", NULL), TRINE_CODE_EIO, "nonexistent.prog");
    EXPECT(c, trine_infer(c, "/nonexistent.prog", "x", &t, NULL, &out), TRINE_CODE_EINVAL,
           "not both");
    const char *binds[] = {"nosuch=x"};
    trine_run_t r = {.binds = binds, .nbinds = 1};
    EXPECT(c, trine_infer(c, "/nonexistent.prog", NULL, &t, &r, &out),
           TRINE_CODE_EIO, "nonexistent.prog");
    EXPECT(c, trine_share_file(c, "x", "/nonexistent.npy", 0), TRINE_CODE_EIO, "nonexistent.npy");
    trine_grant_t g = {.program = "/nonexistent.prog"};
    EXPECT(c, trine_grant(c, "x", "/nonexistent.pub", &g), TRINE_CODE_EIO, "nonexistent.pub");
    EXPECT(c, trine_grant(c, "x", argv[2], &g), TRINE_CODE_EIO, "nonexistent.prog");
    g = (trine_grant_t){0}; /* neither a program nor any */
    EXPECT(c, trine_grant(c, "x", argv[2], &g), TRINE_CODE_EINVAL, "approve one program");
    trine_train_t tr = {.loss = "hinge", .lr = 0.1, .prefix = "t-"};
    EXPECT(c, trine_train(c, "/nonexistent.prog", "x", "y", NULL), TRINE_CODE_EINVAL, "NULL");
    EXPECT(c, trine_train(c, "/nonexistent.prog", "x", "y", &tr), TRINE_CODE_EINVAL,
           "the loss is");
    tr.loss = "mse", tr.lr = 0;
    EXPECT(c, trine_train(c, "/nonexistent.prog", "x", "y", &tr), TRINE_CODE_EINVAL,
           "learning rate");
    tr.lr = 0.1, tr.prefix = NULL;
    EXPECT(c, trine_train(c, "/nonexistent.prog", "x", "y", &tr), TRINE_CODE_EINVAL, "prefix");
    tr.prefix = "t-";
    EXPECT(c, trine_train(c, "/nonexistent.prog", "x", "y", &tr), TRINE_CODE_EIO,
           "nonexistent.prog");
    tr.loss = NULL; /* a training program */
    EXPECT(c, trine_train(c, "/nonexistent.prog", "x", "y", &tr), TRINE_CODE_EIO,
           "nonexistent.prog");
    trine_close(&c);
    if (!failures)
        printf("libtrine: every bad input refused with its message\n");
    return failures ? 1 : 0;
}
