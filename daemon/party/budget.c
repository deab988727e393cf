/* budget.c — a party's budgets and quotas (budget.h). */
#include "daemon/party/budget.h"
#include "daemon/common/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The memory.max of this process's cgroup (v2), or UINT64_MAX when there
 * is none or it says "max". */
static uint64_t budget_cgroup_max(void)
{
    char line[512], path[600];
    uint64_t max = UINT64_MAX;
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return max;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
        FILE *m = fopen(path, "r");
        unsigned long long v;
        if (m && fscanf(m, "%llu", &v) == 1)
            max = v;
        if (m)
            fclose(m);
    }
    fclose(f);
    return max;
}

static uint64_t budget_host_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t phys = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : (uint64_t)1 << 30;
    uint64_t cg = budget_cgroup_max();
    return cg < phys ? cg : phys;
}

void budget_init(budget_t *l, const config_cluster_t *cfg)
{
    uint64_t host = budget_host_memory();
    *l = (budget_t){
        .job_memory = cfg->job_memory ? cfg->job_memory : host / 4,
        .jobs_memory = cfg->jobs_memory ? cfg->jobs_memory : host / 2,
        .client_jobs = cfg->client_jobs,
        .client_staged = cfg->client_staged,
        .client_stored = cfg->client_stored ? cfg->client_stored : cfg->memory_limit / 2,
        .job_max_ms = cfg->job_max_ms,
        .accept_ms = BUDGET_ACCEPT_MS < cfg->timeout_ms ? BUDGET_ACCEPT_MS : cfg->timeout_ms,
        .abandon_ms = (uint64_t)BUDGET_ABANDON_BEATS * cfg->heartbeat_ms,
        .host_memory = host,
        .mask_cache = cfg->mask_cache,
        .fss_max = cfg->protocol == CONFIG_PROTOCOL_FSS    ? UINT64_MAX
                   : cfg->protocol == CONFIG_PROTOCOL_AUTO ? cfg->fss_max
                                                           : 0,
        .carry = cfg->protocol == CONFIG_PROTOCOL_CARRY || cfg->protocol == CONFIG_PROTOCOL_AUTO,
    };
    if (l->abandon_ms < BUDGET_ABANDON_MIN_MS)
        l->abandon_ms = BUDGET_ABANDON_MIN_MS;
}

/* Bytes as a double, capped where uint64_t ends. */
static uint64_t budget_bytes(double b)
{
    return b >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)b;
}

trine_status_t budget_job(const budget_t *l, int self, const prog_t *prog, uint64_t batch,
                          uint64_t reserved, uint64_t *need, uint64_t *outputs, trine_err_t *err)
{
    prog_mem_t m;
    trine_status_t st = prog_job_memory(prog, batch, l->fss_max, l->carry, &m, err);
    if (st != TRINE_OK)
        return st;
    *need = budget_bytes(m.peak);
    *outputs = budget_bytes(m.outputs);
    uint64_t left = reserved < l->jobs_memory ? l->jobs_memory - reserved : 0;
    if (*need <= l->job_memory && *need <= left)
        return TRINE_OK;
    const prog_op_t *op = &prog->ops[m.op];
    char need_s[LOG_BYTES_CHARS], op_s[LOG_BYTES_CHARS], cap_s[LOG_BYTES_CHARS];
    char all_s[LOG_BYTES_CHARS];
    char where[48] = "";
    if (op->line)
        snprintf(where, sizeof where, " (line %u col %u)", (unsigned)op->line, (unsigned)op->col);
    log_bytes(need_s, *need);
    log_bytes(op_s, budget_bytes(m.op_bytes));
    if (*need > l->job_memory && m.keys > m.op_bytes)
        return trine_err_set(err, TRINE_ELIMIT,
                             "the job needs about %s of memory at party%d, of which %s for the "
                             "comparison keys of protocol fss (%d steps of them may be under "
                             "way); a job may take %s there (job_memory in [limits]): a smaller "
                             "batch needs fewer",
                             need_s, self, log_bytes(op_s, budget_bytes(m.keys)),
                             PROTO_PACE_AHEAD + 1, log_bytes(cap_s, l->job_memory));
    if (*need > l->job_memory)
        return trine_err_set(err, TRINE_ELIMIT,
                             "the job needs about %s of memory at party%d, of which %s for op %zu "
                             "%s%s; a job may take %s there (job_memory in [limits])",
                             need_s, self, op_s, m.op + 1, prog_opcode_name(op->code), where,
                             log_bytes(cap_s, l->job_memory));
    return trine_err_set(err, TRINE_ELIMIT,
                         "the job needs about %s of memory at party%d (op %zu %s%s takes %s); the "
                         "jobs running there leave %s of its %s for jobs (jobs_memory in "
                         "[limits]); try again later",
                         need_s, self, m.op + 1, prog_opcode_name(op->code), where, op_s,
                         log_bytes(cap_s, left), log_bytes(all_s, l->jobs_memory));
}

trine_status_t budget_client_bytes(const budget_t *l, int self, const store_t *s,
                                   const keys_public_t *caller, uint64_t stored, uint64_t staged,
                                   trine_err_t *err)
{
    uint64_t has_stored, has_staged;
    char a[LOG_BYTES_CHARS], b[LOG_BYTES_CHARS], c[LOG_BYTES_CHARS];
    size_t tensors;
    store_usage(s, caller, &tensors, &has_stored, &has_staged);
    if (staged && has_staged + staged > l->client_staged)
        return trine_err_set(err, TRINE_ELIMIT,
                             "this upload (%s) and your uploads not yet committed (%s) pass "
                             "party%d's %s per client (client_staged in [limits])",
                             log_bytes(a, staged), log_bytes(b, has_staged), self,
                             log_bytes(c, l->client_staged));
    if (has_stored + stored + staged > l->client_stored)
        return trine_err_set(err, TRINE_ELIMIT,
                             "%s more would pass your quota at party%d: you store %s of %s "
                             "(client_stored in [limits]); rm what you no longer need",
                             log_bytes(a, stored + staged), self, log_bytes(b, has_stored),
                             log_bytes(c, l->client_stored));
    return TRINE_OK;
}
