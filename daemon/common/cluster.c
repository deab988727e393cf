/* cluster.c — cluster.ini plus keys, and the fingerprint parties compare. */
#include "daemon/common/cluster.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cluster_key_cmp(const void *a, const void *b)
{
    return strcmp(((const keys_public_t *)a)->z85, ((const keys_public_t *)b)->z85);
}

static trine_status_t cluster_add_client(cluster_t *c, const char *path, trine_err_t *err)
{
    if (c->nclients == CLUSTER_CLIENTS_MAX)
        return trine_err_set(err, TRINE_ELIMIT, "%s: more than %d allowed client keys", path,
                             CLUSTER_CLIENTS_MAX);
    keys_public_t *grown = realloc(c->clients, (c->nclients + 1) * sizeof *grown);
    if (!grown)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory reading %s", path);
    c->clients = grown;
    trine_status_t st = keys_read_public(&c->clients[c->nclients], path, err);
    if (st == TRINE_OK)
        c->nclients++;
    return st;
}

/* [clients] allow names one .pub file or a folder of them. */
static trine_status_t cluster_read_clients(cluster_t *c, trine_err_t *err)
{
    const char *allow = c->cfg.clients_allow;
    struct stat st;
    if (stat(allow, &st) != 0)
        return trine_err_set(err, TRINE_EIO, "%s: [clients] allow = %s: %s", c->cfg.path, allow,
                             strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cluster_add_client(c, allow, err);
    DIR *dir = opendir(allow);
    if (!dir)
        return trine_err_set(err, TRINE_EIO, "%s: %s", allow, strerror(errno));
    trine_status_t rc = TRINE_OK;
    struct dirent *e;
    while (rc == TRINE_OK && (e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || e->d_name[0] == '.' || strcmp(e->d_name + n - 4, ".pub"))
            continue;
        char path[CONFIG_PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", allow, e->d_name);
        rc = cluster_add_client(c, path, err);
    }
    closedir(dir);
    if (rc == TRINE_OK && c->nclients > 1) {
        /* The same key under two file names is one client. */
        qsort(c->clients, c->nclients, sizeof *c->clients, cluster_key_cmp);
        size_t kept = 1;
        for (size_t i = 1; i < c->nclients; i++)
            if (cluster_key_cmp(&c->clients[i], &c->clients[kept - 1]))
                c->clients[kept++] = c->clients[i];
        c->nclients = kept;
    }
    return rc;
}

static trine_status_t cluster_line(cluster_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static trine_status_t cluster_line(cluster_t *c, const char *fmt, ...)
{
    char buf[CONFIG_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **grown = realloc(c->lines, (c->nlines + 1) * sizeof *grown);
    if (!grown)
        return TRINE_ENOMEM;
    c->lines = grown;
    if (!(c->lines[c->nlines] = strdup(buf)))
        return TRINE_ENOMEM;
    c->nlines++;
    return TRINE_OK;
}

/* Everything the parties must agree on, one "key=value" per line. */
static trine_status_t cluster_summarise(cluster_t *c)
{
    const config_cluster_t *g = &c->cfg;
    trine_status_t rc = TRINE_OK;
    rc |= cluster_line(c, "cluster.name=%s", g->name);
    rc |= cluster_line(c, "cluster.frac_bits=%u", g->frac_bits);
    rc |= cluster_line(c, "cluster.truncation=%s", config_trunc_name(g->truncation));
    rc |= cluster_line(c, "cluster.protocol=%s", config_protocol_name(g->protocol));
    rc |= cluster_line(c, "cluster.fss_max=%u", g->fss_max);
    rc |= cluster_line(c, "cluster.timeout_ms=%u", g->timeout_ms);
    rc |= cluster_line(c, "cluster.heartbeat_ms=%u", g->heartbeat_ms);
    rc |= cluster_line(c, "cluster.max_message=%llu", (unsigned long long)g->max_message);
    for (int p = 0; p < CONFIG_PARTIES; p++) {
        rc |= cluster_line(c, "party%d.peer=%s", p, g->party[p].peer);
        rc |= cluster_line(c, "party%d.client=%s", p, g->party[p].client);
        rc |= cluster_line(c, "party%d.public_key=%s", p, c->party_key[p].z85);
    }
    for (size_t i = 0; i < c->nclients; i++)
        rc |= cluster_line(c, "clients.allow=%s", c->clients[i].z85);
    if (rc != TRINE_OK)
        return TRINE_ENOMEM;
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, CLUSTER_FINGERPRINT_BYTES);
    for (size_t i = 0; i < c->nlines; i++)
        crypto_generichash_update(&h, (const unsigned char *)c->lines[i], strlen(c->lines[i]) + 1);
    crypto_generichash_final(&h, c->fingerprint, CLUSTER_FINGERPRINT_BYTES);
    return TRINE_OK;
}

trine_status_t cluster_load(cluster_t *out, const char *path, trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (sodium_init() < 0)
        return trine_err_set(err, TRINE_EUNSUPPORTED, "libsodium cannot start");
    trine_status_t rc = config_cluster_load(&out->cfg, path, err);
    for (int p = 0; rc == TRINE_OK && p < CONFIG_PARTIES; p++)
        rc = keys_read_public(&out->party_key[p], out->cfg.party[p].public_key, err);
    for (int p = 0; rc == TRINE_OK && p < CONFIG_PARTIES; p++)
        for (int q = 0; q < p; q++)
            if (!strcmp(out->party_key[p].z85, out->party_key[q].z85))
                rc = trine_err_set(err, TRINE_EINVAL,
                                   "%s: [party%d] and [party%d] have the same public key; each "
                                   "party needs its own key pair",
                                   path, q, p);
    if (rc == TRINE_OK)
        rc = cluster_read_clients(out, err);
    if (rc == TRINE_OK && cluster_summarise(out) != TRINE_OK)
        rc = trine_err_set(err, TRINE_ENOMEM, "out of memory reading %s", path);
    if (rc != TRINE_OK)
        cluster_clear(out);
    return rc;
}

void cluster_clear(cluster_t *c)
{
    for (size_t i = 0; i < c->nlines; i++)
        free(c->lines[i]);
    free(c->lines);
    free(c->clients);
    memset(c, 0, sizeof *c);
}

bool cluster_client_allowed(const cluster_t *c, const keys_public_t *key)
{
    return c->nclients &&
           bsearch(key, c->clients, c->nclients, sizeof *c->clients, cluster_key_cmp) != NULL;
}

int cluster_party_of(const cluster_t *c, const keys_public_t *key)
{
    for (int p = 0; p < CONFIG_PARTIES; p++)
        if (!strcmp(c->party_key[p].z85, key->z85))
            return p;
    return -1;
}

static bool cluster_has_line(const char *const *lines, size_t n, const char *line)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(lines[i], line))
            return true;
    return false;
}

/* The line among lines[0..n) with this key (text before '=') that is not
 * in others, or NULL. */
static const char *cluster_unmatched(const char *const *lines, size_t n, const char *key,
                                     size_t keylen, const char *const *others, size_t nothers)
{
    for (size_t i = 0; i < n; i++)
        if (!strncmp(lines[i], key, keylen) && lines[i][keylen] == '=' &&
            !cluster_has_line(others, nothers, lines[i]))
            return lines[i];
    return NULL;
}

void cluster_describe_difference(const cluster_t *c, const char *const *peer_lines, size_t npeer,
                                 char *out, size_t cap)
{
    const char *const *mine = (const char *const *)c->lines;
    size_t used = 0, shown = 0, total = 0;
    out[0] = '\0';
#define CLUSTER_SAY(...)                                                                           \
    do {                                                                                           \
        total++;                                                                                   \
        if (shown < 3 && used < cap) {                                                             \
            used += (size_t)snprintf(out + used, cap - used, "%s", shown ? "; " : "");             \
            if (used < cap)                                                                        \
                used += (size_t)snprintf(out + used, cap - used, __VA_ARGS__);                     \
            shown++;                                                                               \
        }                                                                                          \
    } while (0)
    for (size_t i = 0; i < c->nlines; i++) {
        if (cluster_has_line(peer_lines, npeer, mine[i]))
            continue;
        const char *eq = strchr(mine[i], '=');
        size_t keylen = (size_t)(eq - mine[i]);
        const char *theirs = cluster_unmatched(peer_lines, npeer, mine[i], keylen, mine, c->nlines);
        if (theirs && strncmp(mine[i], "clients.allow", keylen))
            CLUSTER_SAY("%.*s is %s here but %s there", (int)keylen, mine[i], eq + 1,
                        strchr(theirs, '=') + 1);
        else
            CLUSTER_SAY("%s here only", mine[i]);
    }
    for (size_t i = 0; i < npeer; i++) {
        const char *eq = strchr(peer_lines[i], '=');
        if (cluster_has_line(mine, c->nlines, peer_lines[i]))
            continue;
        if (!eq) {
            CLUSTER_SAY("'%s' there only", peer_lines[i]);
            continue;
        }
        size_t keylen = (size_t)(eq - peer_lines[i]);
        bool paired =
            strncmp(peer_lines[i], "clients.allow", keylen) &&
            cluster_unmatched(mine, c->nlines, peer_lines[i], keylen, peer_lines, npeer) != NULL;
        if (!paired)
            CLUSTER_SAY("%s there only", peer_lines[i]);
    }
    if (!total && npeer != c->nlines)
        CLUSTER_SAY("%zu summary lines there, %zu here (a line repeats)", npeer, c->nlines);
#undef CLUSTER_SAY
    if (total > shown && used < cap)
        snprintf(out + used, cap - used, "; and %zu more", total - shown);
}
