/* cli_jobs.c — the client verbs about running jobs: jobs, cancel, and the
 * caller's jobs under status. */
#include "daemon/client/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cli_jobs_states[] = {"?", "starting", "running", "stopping"};

/* A job as one party lists it, or NULL. */
static const wire_job_info_t *cli_jobs_find(const client_result_t *r, uint64_t id)
{
    for (size_t i = 0; r->code == TRINE_OK && i < r->reply.njobs; i++)
        if (r->reply.jobs[i].job == id)
            return &r->reply.jobs[i];
    return NULL;
}

int session_print_jobs(session_t *s, const char *verb)
{
    wire_request_t q = {.op = WIRE_OP_JOBS};
    trine_status_t st = session_call(s, 7u, &q);
    if (st != TRINE_OK && verb)
        session_report(s, verb, 7u);
    size_t shown = 0;
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        const client_result_t *r = &s->res[p];
        for (size_t i = 0; r->code == TRINE_OK && i < r->reply.njobs; i++) {
            const wire_job_info_t *j = &r->reply.jobs[i];
            bool earlier = false;
            for (int o = 0; o < p; o++)
                earlier = earlier || cli_jobs_find(&s->res[o], j->job);
            if (earlier)
                continue;
            printf("job %016llx  %-8s  step %llu of %llu  %.1f s  on", (unsigned long long)j->job,
                   cli_jobs_states[j->state <= WIRE_JOBS_STOPPING ? j->state : 0],
                   (unsigned long long)j->step, (unsigned long long)j->steps,
                   (double)j->elapsed_ms / 1000);
            for (int o = 0; o < CONFIG_PARTIES; o++)
                if (cli_jobs_find(&s->res[o], j->job))
                    printf(" party%d", o);
            printf("\n");
            shown++;
        }
    }
    if (!shown)
        printf("no jobs of yours run\n");
    return st == TRINE_OK ? 0 : TRINE_EXIT_FAIL;
}

int verb_jobs(const client_opts_t *opts, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return verb_usage_error("jobs", "takes no arguments");
    session_t s;
    if (!session_open(&s, opts, "jobs"))
        return TRINE_EXIT_FAIL;
    int rc = session_print_jobs(&s, "jobs");
    session_close(&s);
    return rc;
}

int verb_cancel(const client_opts_t *opts, int argc, char **argv)
{
    if (argc != 2)
        return verb_usage_error("cancel", "takes one job id (trine jobs lists them)");
    char *end;
    unsigned long long id = strtoull(argv[1], &end, 16);
    if (*end || !id || strlen(argv[1]) > 16)
        return verb_usage_error("cancel", "a job id is up to 16 hexadecimal digits, not 0");
    session_t s;
    if (!session_open(&s, opts, "cancel"))
        return TRINE_EXIT_FAIL;
    wire_request_t q = {.op = WIRE_OP_CANCEL, .job = id};
    /* A party that stops a job tells the others, which may then answer
     * that they run no such job: one cancel is enough. */
    bool everywhere = session_call(&s, 7u, &q) == TRINE_OK;
    int cancelled = 0, rc = 0;
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        cancelled += s.res[p].code == TRINE_OK;
        if (s.res[p].code != TRINE_OK && s.res[p].code != TRINE_ENOENT) {
            fprintf(stderr, "trine cancel: %s\n", s.res[p].msg);
            rc = TRINE_EXIT_FAIL;
        }
    }
    if (cancelled)
        printf("job %016llx cancelled%s\n", id,
               everywhere ? " on all three parties" : "; it stops on every party");
    else if (!rc)
        fprintf(stderr, "trine cancel: no job %016llx of yours runs (trine jobs lists them)\n",
                id);
    session_close(&s);
    return cancelled ? rc : TRINE_EXIT_FAIL;
}
