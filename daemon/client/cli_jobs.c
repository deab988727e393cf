/* cli_jobs.c — the client verbs about running jobs: jobs, cancel, and the
 * caller's jobs under status (the operations are libtrine's, lib_store.c). */
#include "daemon/client/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int session_print_jobs(session_t *s, const char *verb)
{
    trine_job_t *jobs;
    size_t n;
    trine_code_t st = trine_jobs(s, &jobs, &n);
    if (st != TRINE_CODE_OK && verb)
        (void)session_fail(s, verb);
    for (size_t i = 0; i < n; i++) {
        const trine_job_t *j = &jobs[i];
        printf("job %016llx  %-8s  step %llu of %llu  %.1f s  on", (unsigned long long)j->job,
               j->state, (unsigned long long)j->step, (unsigned long long)j->steps, j->elapsed_s);
        for (int o = 0; o < CONFIG_PARTIES; o++)
            if (j->parties & 1u << o)
                printf(" party%d", o);
        printf("\n");
    }
    if (!n)
        printf("no jobs of yours run\n");
    free(jobs);
    return st == TRINE_CODE_OK ? 0 : TRINE_EXIT_FAIL;
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
    bool everywhere;
    lib_begin(&s);
    trine_status_t st = lib_cancel(&s, id, &everywhere);
    int cancelled = 0;
    for (int p = 0; p < CONFIG_PARTIES; p++)
        cancelled += s.res[p].code == TRINE_OK;
    int rc = st == TRINE_OK ? 0 : session_fail(&s, "cancel");
    if (cancelled)
        printf("job %016llx cancelled%s\n", id,
               everywhere ? " on all three parties" : "; it stops on every party");
    session_close(&s);
    return rc;
}
