/* cli_grant.c — the client verbs of access control: grant (approve one
 * program, or any, for another client's use of a tensor) and revoke.
 *
 * An approval names the program by its policy hash (prog_wire.h), which
 * the client computes here from the program file exactly as the parties
 * do from the job they are asked to run, with the batch size and epochs
 * the job will use where they change what it computes.
 */
#include "daemon/client/cli.h"
#include "daemon/wire/prog_wire.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_policy_hash(uint8_t out[WIRE_PROGRAM_HASH_BYTES], const prog_t *prog, const cluster_t *c,
                    uint64_t batch, uint64_t epochs, bool shuffle, const char *verb)
{
    trine_err_t err;
    if (prog_wire_policy_hash(out, prog, c->cfg.frac_bits, c->cfg.truncation, batch, epochs,
                              shuffle, &err) != TRINE_OK) {
        fprintf(stderr, "trine %s: %s\n", verb, err.msg);
        return TRINE_EXIT_FAIL;
    }
    return 0;
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

/* The input of prog that reads the granted tensor: --slot, else the
 * input of the tensor's own name. */
static int grant_slot(char slot[WIRE_SLOT_MAX], const prog_t *prog, const grant_opts_t *o)
{
    const char *want = o->slot ? o->slot : o->name;
    for (size_t i = 0; i < prog->nvars; i++)
        if (prog->vars[i].kind != PROG_VAR_TEMP && !strcmp(prog->vars[i].name, want)) {
            snprintf(slot, WIRE_SLOT_MAX, "%s", want);
            return 0;
        }
    fprintf(stderr,
            "trine grant: %s has no input '%s'; name the input that reads '%s' with "
            "--slot, one of:",
            o->program, want, o->name);
    for (size_t i = 0; i < prog->nvars; i++)
        if (prog->vars[i].kind != PROG_VAR_TEMP)
            fprintf(stderr, " %s", prog->vars[i].name);
    fprintf(stderr, "\n");
    return TRINE_EXIT_USAGE;
}

/* The approval's program hash and slot from o->program. */
static int grant_program(wire_approval_t *a, const grant_opts_t *o, const cluster_t *c,
                         const char *verb, bool with_slot)
{
    prog_t prog = {0};
    int rc = prog_compile_file(&prog, o->program, verb);
    if (rc == 0 && with_slot)
        rc = grant_slot(a->slot, &prog, o);
    if (rc == 0)
        rc = cli_policy_hash(a->program, &prog, c, o->batch, o->epochs, o->shuffle, verb);
    prog_clear(&prog);
    return rc;
}

int verb_grant(const client_opts_t *opts, int argc, char **argv)
{
    grant_opts_t o;
    int rc = grant_args(&o, argc, argv, "grant");
    if (rc >= 0)
        return rc;
    rc = 0;
    wire_request_t q = {.op = WIRE_OP_GRANT};
    trine_err_t err;
    snprintf(q.name, sizeof q.name, "%s", o.name);
    if (keys_read_public(&q.grantee, o.grantee, &err) != TRINE_OK ||
        (o.outputs_to &&
         keys_read_public(&q.approval.outputs_to, o.outputs_to, &err) != TRINE_OK)) {
        fprintf(stderr, "trine grant: %s\n", err.msg);
        return TRINE_EXIT_FAIL;
    }
    q.approval.any = o.any;
    session_t s;
    if (!session_open(&s, opts, "grant"))
        return TRINE_EXIT_FAIL;
    if (!o.any)
        rc = grant_program(&q.approval, &o, &s.cluster, "grant", true);
    if (rc == 0 && session_call(&s, SHARE_PARTIES, &q) != TRINE_OK) {
        session_report(&s, "grant", SHARE_PARTIES);
        rc = TRINE_EXIT_FAIL;
    }
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
    rc = 0;
    wire_request_t q = {.op = WIRE_OP_REVOKE};
    trine_err_t err;
    snprintf(q.name, sizeof q.name, "%s", o.name);
    if (keys_read_public(&q.grantee, o.grantee, &err) != TRINE_OK) {
        fprintf(stderr, "trine revoke: %s\n", err.msg);
        return TRINE_EXIT_FAIL;
    }
    q.approval.any = !o.program; /* every approval of that client */
    session_t s;
    if (!session_open(&s, opts, "revoke"))
        return TRINE_EXIT_FAIL;
    if (o.program)
        rc = grant_program(&q.approval, &o, &s.cluster, "revoke", false);
    if (rc == 0 && session_call(&s, SHARE_PARTIES, &q) != TRINE_OK) {
        session_report(&s, "revoke", SHARE_PARTIES);
        rc = TRINE_EXIT_FAIL;
    }
    if (rc == 0)
        printf("revoked %s of '%s' for %.8s... (%s); jobs that start from now on are refused\n",
               o.program ? "the approval of that program" : "every approval", q.name, q.grantee.z85,
               o.grantee);
    session_close(&s);
    return rc;
}
