/* cli_grant.c — the client verbs of access control: grant (approve one
 * program, or any, for another client's use of a tensor) and revoke; the
 * approval itself is libtrine's (lib_grant in lib_store.c).
 */
#include "daemon/client/cli.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_policy_hash(uint8_t out[WIRE_PROGRAM_HASH_BYTES], const prog_t *prog, const cluster_t *c,
                    uint64_t batch, uint64_t epochs, bool shuffle, const char *verb)
{
    trine_err_t err;
    return cli_status(lib_policy_hash(out, prog, c, batch, epochs, shuffle, &err), &err, verb,
                      TRINE_EXIT_FAIL);
}

typedef struct {
    const char *name, *grantee, *program, *slot, *outputs_to;
    bool any, shuffle;
    uint64_t batch, epochs;
} grant_opts_t;

/* Reads NAME CLIENT.pub and the options; -1 to go on, else an exit code. */
static int grant_args(grant_opts_t *o, int argc, char **argv, const char *verb)
{
    *o = (grant_opts_t){.batch = 128, .epochs = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--any-program") && !strcmp(verb, "grant")) {
            o->any = true;
            continue;
        }
        if (!strcmp(a, "--shuffle")) {
            o->shuffle = true;
            continue;
        }
        if (a[0] != '-') {
            if (!o->name)
                o->name = a;
            else if (!o->grantee)
                o->grantee = a;
            else
                return verb_usage_error(verb, "one tensor name and one client key");
            continue;
        }
        if (!v)
            return verb_usage_error(verb, "an option lacks its value");
        i++;
        if (!strcmp(a, "--program"))
            o->program = v;
        else if (!strcmp(a, "--slot") && !strcmp(verb, "grant"))
            o->slot = v;
        else if (!strcmp(a, "--outputs-to") && !strcmp(verb, "grant"))
            o->outputs_to = v;
        else if (!strcmp(a, "--batch") || !strcmp(a, "--epochs")) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(v, &end, 10);
            if (errno || *end || n == 0 || n > UINT32_MAX || v[0] == '-')
                return verb_usage_error(verb, "--batch and --epochs take a whole number >= 1");
            *(a[2] == 'b' ? &o->batch : &o->epochs) = n;
        } else
            return verb_usage_error(verb, "unknown option");
    }
    if (!o->name || !o->grantee)
        return verb_usage_error(verb, "give a tensor name and the other client's .pub file");
    if (!wire_name_valid(o->name))
        return verb_usage_error(verb, CLI_NAME_RULE);
    if (!strcmp(verb, "grant") && o->any == (o->program != NULL))
        return verb_usage_error(verb, "approve one program (--program FILE) or, knowingly, any "
                                      "(--any-program)");
    if (o->any && (o->slot || o->outputs_to))
        return verb_usage_error(verb, "--any-program takes no --slot or --outputs-to");
    return -1;
}

/* The approval o asks for, as lib_grant takes it. */
static trine_grant_t grant_of(const grant_opts_t *o)
{
    return (trine_grant_t){.program = o->program,
                           .slot = o->slot,
                           .batch = o->batch,
                           .epochs = o->epochs,
                           .shuffle = o->shuffle,
                           .any = o->any,
                           .outputs_to = o->outputs_to};
}

int verb_grant(const client_opts_t *opts, int argc, char **argv)
{
    grant_opts_t o;
    int rc = grant_args(&o, argc, argv, "grant");
    if (rc >= 0)
        return rc;
    session_t s;
    if (!session_open(&s, opts, "grant"))
        return TRINE_EXIT_FAIL;
    wire_request_t q;
    trine_grant_t g = grant_of(&o);
    rc = 0;
    if (lib_grant(&s, WIRE_OP_GRANT, o.name, o.grantee, &g, &q) != TRINE_OK)
        rc = session_fail(&s, "grant");
    char hex[2 * WIRE_PROGRAM_HASH_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, q.approval.program, sizeof q.approval.program);
    if (rc == 0 && o.any)
        printf("approved ANY program reading '%s' for %.8s... (%s): a program that copies it "
               "lets that client reveal it\n",
               q.name, q.grantee.z85, o.grantee);
    else if (rc == 0)
        printf("approved program %s (%s) reading '%s' as input '%s' for %.8s... (%s)%s%s\n", hex,
               o.program, q.name, q.approval.slot, q.grantee.z85, o.grantee,
               o.outputs_to ? ", outputs only to " : "", o.outputs_to ? o.outputs_to : "");
    session_close(&s);
    return rc;
}

int verb_revoke(const client_opts_t *opts, int argc, char **argv)
{
    grant_opts_t o;
    int rc = grant_args(&o, argc, argv, "revoke");
    if (rc >= 0)
        return rc;
    session_t s;
    if (!session_open(&s, opts, "revoke"))
        return TRINE_EXIT_FAIL;
    wire_request_t q;
    trine_grant_t g = grant_of(&o);
    rc = 0;
    if (lib_grant(&s, WIRE_OP_REVOKE, o.name, o.grantee, &g, &q) != TRINE_OK)
        rc = session_fail(&s, "revoke");
    else
        printf("revoked %s of '%s' for %.8s... (%s); jobs that start from now on are refused\n",
               o.program ? "the approval of that program" : "every approval", q.name, q.grantee.z85,
               o.grantee);
    session_close(&s);
    return rc;
}
