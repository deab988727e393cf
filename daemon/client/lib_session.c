/* lib_session.c — a libtrine client: the connection, its errors and
 * callbacks (lib.h, trine.h). */
#include "daemon/client/lib.h"
#include "daemon/common/keys.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* trine.h's codes are the status codes the parties send (tensor/status.h). */
_Static_assert((int)TRINE_CODE_OK == (int)TRINE_OK && (int)TRINE_CODE_EINVAL == (int)TRINE_EINVAL &&
                   (int)TRINE_CODE_ENOMEM == (int)TRINE_ENOMEM &&
                   (int)TRINE_CODE_ESHAPE == (int)TRINE_ESHAPE &&
                   (int)TRINE_CODE_ERANGE == (int)TRINE_ERANGE &&
                   (int)TRINE_CODE_EIO == (int)TRINE_EIO &&
                   (int)TRINE_CODE_EFORMAT == (int)TRINE_EFORMAT &&
                   (int)TRINE_CODE_EUNSUPPORTED == (int)TRINE_EUNSUPPORTED &&
                   (int)TRINE_CODE_ENOENT == (int)TRINE_ENOENT &&
                   (int)TRINE_CODE_EEXIST == (int)TRINE_EEXIST &&
                   (int)TRINE_CODE_EPERM == (int)TRINE_EPERM &&
                   (int)TRINE_CODE_ELIMIT == (int)TRINE_ELIMIT &&
                   (int)TRINE_CODE_ETIMEOUT == (int)TRINE_ETIMEOUT &&
                   (int)TRINE_CODE_EPEER == (int)TRINE_EPEER,
               "trine.h's trine_code_t follows tensor/status.h");
_Static_assert(TRINE_MAX_DIMS == TENSOR_MAX_DIMS && TRINE_NAME_MAX == WIRE_NAME_MAX &&
                   TRINE_KEY_CHARS == KEYS_Z85_LEN &&
                   TRINE_HASH_CHARS == 2 * WIRE_PROGRAM_HASH_BYTES,
               "trine.h's sizes are the wire's");

trine_status_t lib_open(struct trine_client *s, const char *config, const char *key)
{
    memset(s, 0, sizeof *s);
    trine_err_t err;
    if (!config)
        return lib_fail(s, TRINE_EINVAL, "no cluster config given");
    if (!key)
        return lib_fail(s, TRINE_EINVAL, "no client key given");
    if (cluster_load(&s->cluster, config, &err) != TRINE_OK)
        return lib_fail(s, err.code, "%s", err.msg);
    keys_secret_t secret;
    if (keys_read_secret(&secret, NULL, key, &err) != TRINE_OK)
        return lib_fail(s, err.code, "%s", err.msg);
    s->client = client_new(&s->cluster, &secret, &err);
    keys_wipe(&secret);
    if (!s->client)
        return lib_fail(s, err.code, "%s", err.msg);
    return TRINE_OK;
}

void lib_close(struct trine_client *s)
{
    client_results_clear(s->res);
    client_destroy(&s->client);
    cluster_clear(&s->cluster);
    sodium_memzero(s, sizeof *s);
}

void lib_begin(struct trine_client *s)
{
    s->code = TRINE_OK;
    s->err[0] = '\0';
}

trine_status_t lib_enter(struct trine_client *s, const void *a, const void *b)
{
    if (!s)
        return TRINE_EINVAL; /* trine_errmsg(NULL) says so */
    if (!s->client)
        return s->code != TRINE_OK ? s->code : TRINE_EINVAL;
    lib_begin(s);
    if (!a || !b)
        return lib_fail(s, TRINE_EINVAL, "an argument that must be given is NULL");
    return TRINE_OK;
}

static void lib_vappend(struct trine_client *s, const char *fmt, va_list ap)
{
    size_t len = strlen(s->err);
    if (len && len + 1 < sizeof s->err)
        s->err[len++] = '\n';
    if (len < sizeof s->err)
        vsnprintf(s->err + len, sizeof s->err - len, fmt, ap);
}

trine_status_t lib_fail(struct trine_client *s, trine_status_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lib_vappend(s, fmt, ap);
    va_end(ap);
    if (s->code == TRINE_OK)
        s->code = code;
    return code;
}

trine_status_t lib_fail_parties(struct trine_client *s, unsigned mask)
{
    const client_result_t *r = s->res;
    trine_status_t first = TRINE_OK;
    if ((mask & 3u) == 3u && r[0].code != TRINE_OK && r[0].answered && r[1].answered &&
        r[0].code == r[1].code && !strcmp(r[0].reply.msg, r[1].reply.msg)) {
        first = lib_fail(s, r[0].code, "%s", r[0].reply.msg);
        mask &= ~3u;
    }
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if ((mask & 1u << p) && r[p].code != TRINE_OK) {
            trine_status_t code = lib_fail(s, r[p].code, "%s", r[p].msg);
            first = first != TRINE_OK ? first : code;
        }
    return first != TRINE_OK ? first : lib_fail(s, TRINE_EPEER, "the parties failed");
}

void lib_warn(struct trine_client *s, const char *fmt, ...)
{
    if (!s->warning)
        return;
    char msg[TRINE_ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->warning(s->warning_arg, msg);
}

int lib_progress(struct trine_client *s, trine_progress_t what, uint64_t done, uint64_t total)
{
    return s->progress ? s->progress(s->progress_arg, what, done, total) : 0;
}

trine_status_t lib_call(struct trine_client *s, unsigned mask, const wire_request_t *q)
{
    wire_request_t req[CONFIG_PARTIES] = {*q, *q, *q};
    return client_call(s->client, mask, req, s->res);
}

/* ---- trine.h -------------------------------------------------------------- */

trine_client_t *trine_connect(const char *config, const char *key)
{
    trine_client_t *c = malloc(sizeof *c);
    if (c && lib_open(c, config, key) != TRINE_OK)
        return c; /* the failure stays in c */
    return c;
}

void trine_close(trine_client_t **c)
{
    if (!c || !*c)
        return;
    lib_close(*c);
    free(*c);
    *c = NULL;
}

trine_code_t trine_code(const trine_client_t *c)
{
    return c ? (trine_code_t)c->code : TRINE_CODE_EINVAL;
}

const char *trine_errmsg(const trine_client_t *c)
{
    return c ? c->err : "no client (NULL: trine_connect ran out of memory)";
}

void trine_set_progress(trine_client_t *c, trine_progress_fn fn, void *arg)
{
    if (!c)
        return;
    c->progress = fn;
    c->progress_arg = arg;
}

void trine_set_warning(trine_client_t *c, trine_warning_fn fn, void *arg)
{
    if (!c)
        return;
    c->warning = fn;
    c->warning_arg = arg;
}

trine_code_t trine_report(const trine_client_t *c, trine_report_t *out)
{
    if (!out)
        return TRINE_CODE_EINVAL;
    memset(out, 0, sizeof *out);
    if (!c || !c->reported)
        return TRINE_CODE_ENOENT;
    *out = c->report;
    return TRINE_CODE_OK;
}
