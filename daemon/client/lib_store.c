/* lib_store.c — the store's operations (list, remove, approve, withdraw)
 * and the caller's jobs (list, cancel); lib.h, trine.h.
 *
 * An approval names the program by its policy hash (prog_wire.h), which
 * the client computes from the program file exactly as the parties do
 * from the job they are asked to run, with the batch size and epochs the
 * job will use where they change what it computes.
 */
#include "daemon/client/lib.h"
#include "daemon/common/keys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

trine_status_t lib_rm(struct trine_client *s, const char *name)
{
    if (!wire_name_valid(name))
        return lib_fail(s, TRINE_EINVAL, "'%s' is not a tensor name", name);
    wire_request_t q = {.op = WIRE_OP_RM};
    snprintf(q.name, sizeof q.name, "%s", name);
    if (lib_call(s, SHARE_PARTIES, &q) == TRINE_OK)
        return TRINE_OK;
    /* A share already gone from one party is what rm wants. */
    bool one_removed = s->res[0].code == TRINE_OK || s->res[1].code == TRINE_OK;
    for (int p = 0; p < 2; p++)
        if (s->res[p].code != TRINE_OK && !(one_removed && s->res[p].code == TRINE_ENOENT))
            return lib_fail_parties(s, SHARE_PARTIES);
    return TRINE_OK;
}

void lib_rm_after(struct trine_client *s, const char *name)
{
    wire_request_t q = {.op = WIRE_OP_RM};
    snprintf(q.name, sizeof q.name, "%s", name);
    if (lib_call(s, SHARE_PARTIES, &q) == TRINE_OK)
        return;
    const client_result_t *r = s->res;
    bool same = r[0].code != TRINE_OK && r[1].code != TRINE_OK && !strcmp(r[0].msg, r[1].msg);
    for (int p = 0; p < (same ? 1 : 2); p++) /* once when both said the same */
        if (r[p].code != TRINE_OK)
            lib_warn(s, "%s", r[p].msg);
}

/* The input of prog that reads the granted tensor: g->slot, else the
 * input of the tensor's own name. */
static trine_status_t grant_slot(struct trine_client *s, char slot[WIRE_SLOT_MAX],
                                 const prog_t *prog, const char *name, const trine_grant_t *g)
{
    const char *want = g->slot ? g->slot : name;
    char inputs[512] = "";
    for (size_t i = 0; i < prog->nvars; i++)
        if (prog->vars[i].kind != PROG_VAR_TEMP) {
            if (!strcmp(prog->vars[i].name, want)) {
                snprintf(slot, WIRE_SLOT_MAX, "%s", want);
                return TRINE_OK;
            }
            size_t len = strlen(inputs);
            snprintf(inputs + len, sizeof inputs - len, " %s", prog->vars[i].name);
        }
    return lib_fail(s, TRINE_EINVAL,
                    "%s has no input '%s'; name the input that reads '%s' with --slot, one of:%s",
                    g->program, want, name, inputs);
}

trine_status_t lib_grant(struct trine_client *s, wire_op_t op, const char *name,
                         const char *grantee, const trine_grant_t *g, wire_request_t *q)
{
    static const trine_grant_t every = {0};
    g = g ? g : &every;
    *q = (wire_request_t){.op = op};
    trine_err_t err;
    if (!wire_name_valid(name))
        return lib_fail(s, TRINE_EINVAL, "'%s' is not a tensor name", name);
    snprintf(q->name, sizeof q->name, "%s", name);
    if (!grantee || keys_read_public(&q->grantee, grantee, &err) != TRINE_OK)
        return lib_fail(s, grantee ? err.code : TRINE_EINVAL, "%s",
                        grantee ? err.msg : "no grantee key given");
    if (op == WIRE_OP_GRANT) {
        if ((g->any != 0) == (g->program != NULL))
            return lib_fail(s, TRINE_EINVAL,
                            "approve one program or, knowingly, any (not both, not none)");
        if (g->any && (g->slot || g->outputs_to))
            return lib_fail(s, TRINE_EINVAL, "an approval of any program takes no slot or "
                                             "outputs_to");
        if (g->outputs_to &&
            keys_read_public(&q->approval.outputs_to, g->outputs_to, &err) != TRINE_OK)
            return lib_fail(s, err.code, "%s", err.msg);
        q->approval.any = g->any;
    } else {
        q->approval.any = !g->program; /* every approval of that client */
    }
    if (g->program) {
        prog_t prog = {0};
        trine_status_t st = lib_prog_file(&prog, g->program, &err);
        if (st == TRINE_OK)
            st = lib_policy_hash(q->approval.program, &prog, &s->cluster,
                                 g->batch ? g->batch : 128, g->epochs ? g->epochs : 1,
                                 g->shuffle, &err);
        if (st != TRINE_OK)
            (void)lib_fail(s, st, "%s", err.msg);
        else if (op == WIRE_OP_GRANT)
            st = grant_slot(s, q->approval.slot, &prog, name, g);
        prog_clear(&prog);
        if (st != TRINE_OK)
            return st;
    }
    if (lib_call(s, SHARE_PARTIES, q) != TRINE_OK)
        return lib_fail_parties(s, SHARE_PARTIES);
    return TRINE_OK;
}

trine_status_t lib_cancel(struct trine_client *s, uint64_t id, bool *everywhere)
{
    wire_request_t q = {.op = WIRE_OP_CANCEL, .job = id};
    /* A party that stops a job tells the others, which may then answer
     * that they run no such job: one cancel is enough. */
    *everywhere = lib_call(s, 7u, &q) == TRINE_OK;
    int cancelled = 0;
    trine_status_t st = TRINE_OK;
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        cancelled += s->res[p].code == TRINE_OK;
        if (s->res[p].code != TRINE_OK && s->res[p].code != TRINE_ENOENT)
            st = lib_fail(s, s->res[p].code, "%s", s->res[p].msg);
    }
    if (!cancelled && st == TRINE_OK)
        st = lib_fail(s, TRINE_ENOENT, "no job %016llx of yours runs (trine jobs lists them)",
                      (unsigned long long)id);
    return st;
}

/* ---- trine.h -------------------------------------------------------------- */

trine_code_t trine_rm(trine_client_t *c, const char *name)
{
    trine_status_t st = lib_enter(c, name, c);
    return (trine_code_t)(st == TRINE_OK ? lib_rm(c, name) : st);
}

trine_code_t trine_grant(trine_client_t *c, const char *name, const char *grantee,
                         const trine_grant_t *g)
{
    wire_request_t q;
    trine_status_t st = lib_enter(c, name, grantee);
    if (st == TRINE_OK && !g)
        st = lib_fail(c, TRINE_EINVAL, "trine_grant: no approval given");
    return (trine_code_t)(st == TRINE_OK ? lib_grant(c, WIRE_OP_GRANT, name, grantee, g, &q) : st);
}

trine_code_t trine_revoke(trine_client_t *c, const char *name, const char *grantee,
                          const trine_grant_t *g)
{
    wire_request_t q;
    trine_status_t st = lib_enter(c, name, grantee);
    return (trine_code_t)(st == TRINE_OK ? lib_grant(c, WIRE_OP_REVOKE, name, grantee, g, &q)
                                         : st);
}

/* One entry of trine_ls from the party's description t. */
static trine_status_t ls_entry(trine_entry_t *e, const wire_tensor_info_t *t, int missing)
{
    *e = (trine_entry_t){.ndim = t->ndim,
                         .fixed = t->kind == WIRE_KIND_FIXED,
                         .frac_bits = t->frac,
                         .mine = t->mine,
                         .missing = missing};
    snprintf(e->name, sizeof e->name, "%s", t->name);
    memcpy(e->shape, t->shape, sizeof e->shape);
    snprintf(e->owner, sizeof e->owner, "%s", t->owner.z85);
    if (!t->napprovals)
        return TRINE_OK;
    if (!(e->approvals = calloc(t->napprovals, sizeof *e->approvals)))
        return TRINE_ENOMEM;
    e->napprovals = t->napprovals;
    for (size_t i = 0; i < t->napprovals; i++) {
        const wire_approval_t *a = &t->approvals[i];
        trine_approval_t *o = &e->approvals[i];
        snprintf(o->grantee, sizeof o->grantee, "%s", a->grantee.z85);
        o->any = a->any;
        if (!a->any)
            sodium_bin2hex(o->program, sizeof o->program, a->program, sizeof a->program);
        snprintf(o->slot, sizeof o->slot, "%s", a->slot);
        snprintf(o->outputs_to, sizeof o->outputs_to, "%s", a->outputs_to.z85);
    }
    return TRINE_OK;
}

trine_code_t trine_ls(trine_client_t *c, trine_list_t *out)
{
    trine_status_t st = lib_enter(c, out, c);
    if (out)
        *out = (trine_list_t){0};
    wire_request_t q = {.op = WIRE_OP_LS};
    if (st != TRINE_OK)
        return (trine_code_t)st;
    if (lib_call(c, SHARE_PARTIES, &q) != TRINE_OK)
        return (trine_code_t)lib_fail_parties(c, SHARE_PARTIES);
    const wire_reply_t *r0 = &c->res[0].reply, *r1 = &c->res[1].reply;
    if (!(out->entries = calloc(r0->count + r1->count + 1, sizeof *out->entries)))
        return (trine_code_t)lib_fail(c, TRINE_ENOMEM, "out of memory");
    /* Both lists are sorted by name: walk them together; a tensor on one
     * party only is incomplete. */
    size_t i = 0, j = 0;
    while (st == TRINE_OK && (i < r0->count || j < r1->count)) {
        int order = i == r0->count   ? 1
                    : j == r1->count ? -1
                                     : strcmp(r0->list[i].name, r1->list[j].name);
        const wire_tensor_info_t *t = order > 0 ? &r1->list[j] : &r0->list[i];
        st = ls_entry(&out->entries[out->count++], t, order == 0 ? -1 : order > 0 ? 0 : 1);
        i += order <= 0;
        j += order >= 0;
    }
    if (st != TRINE_OK) {
        trine_list_free(out);
        return (trine_code_t)lib_fail(c, st, "out of memory");
    }
    return TRINE_CODE_OK;
}

void trine_list_free(trine_list_t *l)
{
    for (size_t i = 0; l && i < l->count; i++)
        free(l->entries[i].approvals);
    if (l)
        free(l->entries);
    if (l)
        *l = (trine_list_t){0};
}

/* A job as one party lists it, or NULL. */
static const wire_job_info_t *jobs_find(const client_result_t *r, uint64_t id)
{
    for (size_t i = 0; r->code == TRINE_OK && i < r->reply.njobs; i++)
        if (r->reply.jobs[i].job == id)
            return &r->reply.jobs[i];
    return NULL;
}

trine_code_t trine_jobs(trine_client_t *c, trine_job_t **out, size_t *count)
{
    static const char *const states[] = {"?", "starting", "running", "stopping"};
    trine_status_t st = lib_enter(c, out, count);
    if (st != TRINE_OK)
        return (trine_code_t)st;
    *out = NULL;
    *count = 0;
    wire_request_t q = {.op = WIRE_OP_JOBS};
    if (lib_call(c, 7u, &q) != TRINE_OK)
        st = lib_fail_parties(c, 7u); /* the others' jobs are listed all the same */
    size_t max = 0;
    for (int p = 0; p < CONFIG_PARTIES; p++)
        max += c->res[p].code == TRINE_OK ? c->res[p].reply.njobs : 0;
    if (max && !(*out = calloc(max, sizeof **out)))
        return (trine_code_t)lib_fail(c, TRINE_ENOMEM, "out of memory");
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        const client_result_t *r = &c->res[p];
        for (size_t i = 0; r->code == TRINE_OK && i < r->reply.njobs; i++) {
            const wire_job_info_t *j = &r->reply.jobs[i];
            bool earlier = false;
            for (int o = 0; o < p; o++)
                earlier = earlier || jobs_find(&c->res[o], j->job);
            if (earlier)
                continue;
            trine_job_t *e = &(*out)[(*count)++];
            *e = (trine_job_t){.job = j->job,
                               .state = states[j->state <= WIRE_JOBS_STOPPING ? j->state : 0],
                               .step = j->step,
                               .steps = j->steps,
                               .elapsed_s = (double)j->elapsed_ms / 1000};
            for (int o = 0; o < CONFIG_PARTIES; o++)
                if (jobs_find(&c->res[o], j->job))
                    e->parties |= 1u << o;
        }
    }
    return (trine_code_t)st;
}

trine_code_t trine_cancel(trine_client_t *c, uint64_t job)
{
    bool everywhere;
    trine_status_t st = lib_enter(c, c, c);
    return (trine_code_t)(st == TRINE_OK ? lib_cancel(c, job, &everywhere) : st);
}
