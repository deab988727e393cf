/* config.c — cluster.ini through libinih (read as ini_file.h says), one
 * key table, one error. The line check rejects indented lines before
 * libinih can take them for continuations and checks section headers
 * (libinih tells the handler nothing about a section without keys).
 */
#include "config.h"
#include "ini_file.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Kinds of section; [party0] .. [party2] share one kind and one set of keys. */
typedef enum {
    CONFIG_IN_CLUSTER,
    CONFIG_IN_PARTY,
    CONFIG_IN_CLIENTS,
    CONFIG_IN_LOCAL,
    CONFIG_IN_STORE,
    CONFIG_IN_LIMITS
} config_in_t;

static const struct {
    const char *name;
    config_in_t in;
    int party; /* index into config_cluster_t.party, -1 outside [partyN] */
} config_sections[] = {
    {"cluster", CONFIG_IN_CLUSTER, -1}, {"party0", CONFIG_IN_PARTY, 0},
    {"party1", CONFIG_IN_PARTY, 1},     {"party2", CONFIG_IN_PARTY, 2},
    {"clients", CONFIG_IN_CLIENTS, -1}, {"local", CONFIG_IN_LOCAL, -1},
    {"store", CONFIG_IN_STORE, -1},     {"limits", CONFIG_IN_LIMITS, -1},
};

#define CONFIG_SECTION_COUNT (sizeof config_sections / sizeof config_sections[0])
#define CONFIG_EXPECTED                                                                            \
    "expected [cluster], [party0]..[party2], [clients], [local], [store], [limits]"

typedef struct config_key config_key_t;

/* Parses value into field or says in why (completing "'value' ...") what is
 * wrong with it. Each type of key is one of these; min and max bound it. */
typedef trine_status_t (*config_parse_fn)(void *field, const config_key_t *key, const char *value,
                                          const char *dir, char *why, size_t why_size);

struct config_key {
    config_in_t in;
    const char *name;
    config_parse_fn parse;
    const char *fallback; /* the default, written as in the file; NULL when required */
    uint64_t min, max;
    size_t offset; /* into config_cluster_t, or into config_party_t for party keys */
    size_t size;   /* bytes of the field */
};

static trine_status_t config_parse_name(void *field, const config_key_t *key, const char *value,
                                        const char *dir, char *why, size_t why_size);
static trine_status_t config_parse_uint(void *field, const config_key_t *key, const char *value,
                                        const char *dir, char *why, size_t why_size);
static trine_status_t config_parse_size(void *field, const config_key_t *key, const char *value,
                                        const char *dir, char *why, size_t why_size);
static trine_status_t config_parse_trunc(void *field, const config_key_t *key, const char *value,
                                         const char *dir, char *why, size_t why_size);
static trine_status_t config_parse_protocol(void *field, const config_key_t *key,
                                            const char *value, const char *dir, char *why,
                                            size_t why_size);
static trine_status_t config_parse_endpoint(void *field, const config_key_t *key, const char *value,
                                            const char *dir, char *why, size_t why_size);
static trine_status_t config_parse_path(void *field, const config_key_t *key, const char *value,
                                        const char *dir, char *why, size_t why_size);

#define CLUSTER_FIELD(f) offsetof(config_cluster_t, f), sizeof(((config_cluster_t *)0)->f)
#define PARTY_FIELD(f)   offsetof(config_party_t, f), sizeof(((config_party_t *)0)->f)

/* Every key trine reads from cluster.ini. Defaults go through the same
 * parser as the file, so a default can never escape its own range. */
static const config_key_t config_keys[] = {
    {CONFIG_IN_CLUSTER, "name", config_parse_name, NULL, 1, CONFIG_NAME_MAX - 1,
     CLUSTER_FIELD(name)},
    {CONFIG_IN_CLUSTER, "frac_bits", config_parse_uint, "13", 0, 30, CLUSTER_FIELD(frac_bits)},
    {CONFIG_IN_CLUSTER, "truncation", config_parse_trunc, "exact", 0, 0,
     CLUSTER_FIELD(truncation)},
    {CONFIG_IN_CLUSTER, "protocol", config_parse_protocol, "securenn", 0, 0,
     CLUSTER_FIELD(protocol)},
    {CONFIG_IN_CLUSTER, "fss_max", config_parse_uint, "64", 1, 1u << 30, CLUSTER_FIELD(fss_max)},
    {CONFIG_IN_CLUSTER, "timeout_ms", config_parse_uint, "30000", 100, 3600000,
     CLUSTER_FIELD(timeout_ms)},
    {CONFIG_IN_CLUSTER, "heartbeat_ms", config_parse_uint, "1000", 50, 60000,
     CLUSTER_FIELD(heartbeat_ms)},
    {CONFIG_IN_CLUSTER, "memory_limit", config_parse_size, "1G", (uint64_t)1 << 20, UINT64_MAX,
     CLUSTER_FIELD(memory_limit)},
    {CONFIG_IN_CLUSTER, "max_message", config_parse_size, "256M", (uint64_t)64 << 10, UINT64_MAX,
     CLUSTER_FIELD(max_message)},
    {CONFIG_IN_PARTY, "peer", config_parse_endpoint, NULL, 0, 0, PARTY_FIELD(peer)},
    {CONFIG_IN_PARTY, "client", config_parse_endpoint, NULL, 0, 0, PARTY_FIELD(client)},
    {CONFIG_IN_PARTY, "public_key", config_parse_path, NULL, 0, 0, PARTY_FIELD(public_key)},
    {CONFIG_IN_CLIENTS, "allow", config_parse_path, NULL, 0, 0, CLUSTER_FIELD(clients_allow)},
    {CONFIG_IN_LOCAL, "secret_key", config_parse_path, "", 0, 0, CLUSTER_FIELD(secret_key)},
    {CONFIG_IN_STORE, "dir", config_parse_path, "", 0, 0, CLUSTER_FIELD(store_dir)},
    /* Host-local like memory_limit; 0 derives a budget from the host's
     * memory at start (daemon/limits.h). */
    {CONFIG_IN_LIMITS, "job_memory", config_parse_size, "0", 0, UINT64_MAX,
     CLUSTER_FIELD(job_memory)},
    {CONFIG_IN_LIMITS, "jobs_memory", config_parse_size, "0", 0, UINT64_MAX,
     CLUSTER_FIELD(jobs_memory)},
    {CONFIG_IN_LIMITS, "client_jobs", config_parse_uint, "2", 1, CONFIG_JOBS_MAX,
     CLUSTER_FIELD(client_jobs)},
    {CONFIG_IN_LIMITS, "client_staged", config_parse_size, "512M", (uint64_t)1 << 20, UINT64_MAX,
     CLUSTER_FIELD(client_staged)},
    {CONFIG_IN_LIMITS, "client_stored", config_parse_size, "0", 0, UINT64_MAX,
     CLUSTER_FIELD(client_stored)},
    {CONFIG_IN_LIMITS, "mask_cache", config_parse_size, "256M", 0, UINT64_MAX,
     CLUSTER_FIELD(mask_cache)},
    {CONFIG_IN_LIMITS, "job_max_ms", config_parse_uint, "86400000", 1000, 4000000000u,
     CLUSTER_FIELD(job_max_ms)},
};

#define CONFIG_KEY_COUNT (sizeof config_keys / sizeof config_keys[0])

typedef struct {
    ini_file_t ini; /* first: the line check gets &ini */
    config_cluster_t *out;
    unsigned section_line[CONFIG_SECTION_COUNT];               /* 0 until seen */
    unsigned key_line[CONFIG_SECTION_COUNT][CONFIG_KEY_COUNT]; /* 0 until set */
} config_state_t;

static int config_section_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_SECTION_COUNT; i++)
        if (strcmp(config_sections[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int config_key_find(config_in_t in, const char *name)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
        if (config_keys[i].in == in && strcmp(config_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The names of a section's keys (only the required ones when asked), as
 * "a, b, c" for error messages. */
static void config_key_list(char *out, size_t size, config_in_t in, bool required)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < CONFIG_KEY_COUNT && used < size; i++)
        if (config_keys[i].in == in && (!required || !config_keys[i].fallback))
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                                     config_keys[i].name);
}

static void *config_field(config_cluster_t *out, const config_key_t *key, int section)
{
    int party = config_sections[section].party;
    char *base = party >= 0 ? (char *)&out->party[party] : (char *)out;
    return base + key->offset;
}

static trine_status_t config_parse_name(void *field, const config_key_t *key, const char *value,
                                        const char *dir, char *why, size_t why_size)
{
    (void)dir;
    size_t n = strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    if (value[n] != '\0' || n < key->min || n > key->max) {
        snprintf(why, why_size, "is not a name of %u to %u characters A-Z a-z 0-9 _ . -",
                 (unsigned)key->min, (unsigned)key->max);
        return TRINE_EFORMAT;
    }
    memcpy(field, value, n + 1);
    return TRINE_OK;
}

static trine_status_t config_parse_uint(void *field, const config_key_t *key, const char *value,
                                        const char *dir, char *why, size_t why_size)
{
    (void)dir;
    uint64_t v;
    bool overflow;
    const char *end;
    if (!ini_file_decimal(&v, &overflow, &end, value) || *end != '\0') {
        snprintf(why, why_size, "is not a whole number (plain decimal digits)");
        return TRINE_EFORMAT;
    }
    if (overflow || v < key->min || v > key->max) {
        snprintf(why, why_size, "is out of range %llu..%llu", (unsigned long long)key->min,
                 (unsigned long long)key->max);
        return TRINE_ERANGE;
    }
    *(unsigned *)field = (unsigned)v;
    return TRINE_OK;
}

const char *config_trunc_name(config_trunc_t t)
{
    return t == CONFIG_TRUNC_LOCAL ? "local" : "exact";
}

bool config_trunc_parse(config_trunc_t *out, const char *name)
{
    if (strcmp(name, "exact") == 0)
        *out = CONFIG_TRUNC_EXACT;
    else if (strcmp(name, "local") == 0)
        *out = CONFIG_TRUNC_LOCAL;
    else
        return false;
    return true;
}

static trine_status_t config_parse_trunc(void *field, const config_key_t *key, const char *value,
                                         const char *dir, char *why, size_t why_size)
{
    (void)key, (void)dir;
    if (config_trunc_parse(field, value))
        return TRINE_OK;
    snprintf(why, why_size, "is neither exact nor local");
    return TRINE_EFORMAT;
}

const char *config_protocol_name(config_protocol_t p)
{
    return p == CONFIG_PROTOCOL_FSS     ? "fss"
           : p == CONFIG_PROTOCOL_AUTO  ? "auto"
           : p == CONFIG_PROTOCOL_CARRY ? "carry"
                                        : "securenn";
}

bool config_protocol_parse(config_protocol_t *out, const char *name)
{
    if (strcmp(name, "securenn") == 0)
        *out = CONFIG_PROTOCOL_SECURENN;
    else if (strcmp(name, "fss") == 0)
        *out = CONFIG_PROTOCOL_FSS;
    else if (strcmp(name, "auto") == 0)
        *out = CONFIG_PROTOCOL_AUTO;
    else if (strcmp(name, "carry") == 0)
        *out = CONFIG_PROTOCOL_CARRY;
    else
        return false;
    return true;
}

static trine_status_t config_parse_protocol(void *field, const config_key_t *key,
                                            const char *value, const char *dir, char *why,
                                            size_t why_size)
{
    (void)key, (void)dir;
    if (config_protocol_parse(field, value))
        return TRINE_OK;
    snprintf(why, why_size, "is not securenn, fss, auto or carry");
    return TRINE_EFORMAT;
}

/* A byte count the way the file would write it: 64K rather than 65536. */
static void config_size_show(char *out, size_t size, uint64_t v)
{
    static const char units[] = "GMK";
    for (int i = 0; i < 3; i++) {
        unsigned shift = 30 - 10 * (unsigned)i;
        if (v && v % ((uint64_t)1 << shift) == 0) {
            snprintf(out, size, "%llu%c", (unsigned long long)(v >> shift), units[i]);
            return;
        }
    }
    snprintf(out, size, "%llu", (unsigned long long)v);
}

static trine_status_t config_parse_size(void *field, const config_key_t *key, const char *value,
                                        const char *dir, char *why, size_t why_size)
{
    (void)dir;
    uint64_t v;
    bool overflow;
    const char *end;
    if (!ini_file_decimal(&v, &overflow, &end, value) ||
        (*end != '\0' && (end[1] != '\0' || !strchr("KkMmGg", *end)))) {
        snprintf(why, why_size, "is not a size (decimal digits, then optionally K, M or G)");
        return TRINE_EFORMAT;
    }
    unsigned shift = 0;
    if (*end)
        shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : 30;
    if (overflow || v > (UINT64_MAX >> shift)) {
        snprintf(why, why_size, "is too large (more than 2^64 - 1 bytes)");
        return TRINE_ERANGE;
    }
    v <<= shift;
    if (v < key->min || v > key->max) {
        char bound[32];
        config_size_show(bound, sizeof bound, v < key->min ? key->min : key->max);
        snprintf(why, why_size, "is %s the %s of %s", v < key->min ? "below" : "above",
                 v < key->min ? "minimum" : "maximum", bound);
        return TRINE_ERANGE;
    }
    *(uint64_t *)field = v;
    return TRINE_OK;
}

/* A host name: dot-separated labels of letters, digits and inner hyphens. */
static bool config_hostname_ok(const char *host, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        if (c == '.') {
            if (label == 0 || host[i - 1] == '-')
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && host[n - 1] != '-';
}

/* Checks tcp://HOST:PORT; on success stores where HOST lies in s and the port. */
static bool config_endpoint_split(const char *s, size_t *host_at, size_t *host_len, unsigned *port)
{
    static const char scheme[] = "tcp://";
    if (strncmp(s, scheme, sizeof scheme - 1) != 0)
        return false;
    const char *host = s + sizeof scheme - 1;
    const char *colon = strrchr(host, ':');
    if (!colon)
        return false;
    size_t n = (size_t)(colon - host);
    char buf[CONFIG_ENDPOINT_MAX];
    if (n >= sizeof buf)
        return false;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        unsigned char addr[16];
        if (inet_pton(AF_INET6, buf, addr) != 1)
            return false;
    } else {
        memcpy(buf, host, n);
        buf[n] = '\0';
        unsigned char addr[4];
        /* All digits and dots reads as an address, so 10.0.0 is a typo, not a name. */
        if (n > 0 && strspn(buf, "0123456789.") == n) {
            if (inet_pton(AF_INET, buf, addr) != 1)
                return false;
        } else if (!config_hostname_ok(buf, n)) {
            return false;
        }
    }
    uint64_t v;
    bool overflow;
    const char *end;
    if (!ini_file_decimal(&v, &overflow, &end, colon + 1) || *end != '\0' || overflow || v < 1 ||
        v > 65535)
        return false;
    *host_at = (size_t)(host - s);
    *host_len = n;
    *port = (unsigned)v;
    return true;
}

static trine_status_t config_parse_endpoint(void *field, const config_key_t *key, const char *value,
                                            const char *dir, char *why, size_t why_size)
{
    (void)dir;
    size_t at, n;
    unsigned port;
    size_t len = strlen(value);
    if (len >= key->size || !config_endpoint_split(value, &at, &n, &port)) {
        snprintf(why, why_size,
                 "is not an endpoint of the form tcp://HOST:PORT (HOST a name, IPv4 or [IPv6]; "
                 "PORT 1..65535)");
        return TRINE_EFORMAT;
    }
    memcpy(field, value, len + 1);
    return TRINE_OK;
}

/* Same host (ignoring case) and same port number. */
static bool config_endpoint_same(const char *a, const char *b)
{
    size_t a_at, a_len, b_at, b_len;
    unsigned a_port, b_port;
    if (!config_endpoint_split(a, &a_at, &a_len, &a_port) ||
        !config_endpoint_split(b, &b_at, &b_len, &b_port))
        return false;
    return a_port == b_port && a_len == b_len && strncasecmp(a + a_at, b + b_at, a_len) == 0;
}

static trine_status_t config_parse_path(void *field, const config_key_t *key, const char *value,
                                        const char *dir, char *why, size_t why_size)
{
    int n = snprintf(field, key->size, "%s%s", value[0] == '/' ? "" : dir, value);
    if (n < 0 || (size_t)n >= key->size) {
        ((char *)field)[0] = '\0';
        snprintf(why, why_size, "resolves to a path longer than %zu bytes", key->size - 1);
        return TRINE_ERANGE;
    }
    return TRINE_OK;
}

/* Classifies a raw line the way libinih will, for what it cannot report:
 * indentation, and section headers with no keys or with a wrong name. */
static trine_status_t config_line_check(ini_file_t *f, const char *line)
{
    config_state_t *st = (config_state_t *)f;
    if (line[0] == ' ' || line[0] == '\t') {
        const char *p = line + strspn(line, " \t");
        if (*p != '\0' && !strchr("\r\n;#", *p))
            return ini_file_fail(&st->ini, TRINE_EFORMAT, st->ini.lineno,
                                 "indented line; start keys and sections in column 1 (INI reads "
                                 "an indented line as a continuation of the previous value)");
        return TRINE_OK;
    }
    size_t n;
    if (!ini_file_header(line, &n))
        return TRINE_OK; /* not a header, or libinih reports the syntax error */
    char name[CONFIG_PATH_MAX], shown[INI_FILE_SHOW_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)n, line + 1);
    int s = config_section_find(name);
    if (s < 0) {
        ini_file_show(shown, name);
        return ini_file_fail(&st->ini, TRINE_EFORMAT, st->ini.lineno,
                             "unknown section [%s]; " CONFIG_EXPECTED, shown);
    }
    if (st->section_line[s])
        return ini_file_fail(&st->ini, TRINE_EFORMAT, st->ini.lineno,
                             "section [%s] appears again (first on line %u); merge the two", name,
                             st->section_line[s]);
    st->section_line[s] = st->ini.lineno;
    return TRINE_OK;
}

/* libinih's handler: one key = value of the current line. Returns 0 (an
 * error to libinih) after recording the failure, which also stops the reader. */
static int config_handle(void *user, const char *section, const char *name, const char *raw)
{
    config_state_t *st = user;
    unsigned line = st->ini.lineno;
    char shown[INI_FILE_SHOW_MAX + 1];
    if (st->ini.status != TRINE_OK)
        return 0;
    ini_file_show(shown, name);
    if (section[0] == '\0') {
        ini_file_fail(&st->ini, TRINE_EFORMAT, line, "%s: key before any section; " CONFIG_EXPECTED,
                      shown);
        return 0;
    }
    int s = config_section_find(section);
    if (s < 0) { /* the reader has refused unknown sections; this is a guard */
        ini_file_fail(&st->ini, TRINE_EFORMAT, line, "unknown section [%s]", section);
        return 0;
    }
    int k = config_key_find(config_sections[s].in, name);
    if (k < 0) {
        char keys[128];
        config_key_list(keys, sizeof keys, config_sections[s].in, false);
        ini_file_fail(&st->ini, TRINE_EFORMAT, line, "[%s] unknown key '%s'; expected %s", section,
                      shown, keys);
        return 0;
    }
    const config_key_t *key = &config_keys[k];
    if (st->key_line[s][k]) {
        ini_file_fail(&st->ini, TRINE_EFORMAT, line,
                      "[%s] %s: duplicate key (first set on line %u)", section, name,
                      st->key_line[s][k]);
        return 0;
    }
    /* libinih strips " ;" comments; " #" ones are ours to strip (libinih
     * has already dropped the white space before a value). */
    char value[CONFIG_PATH_MAX];
    snprintf(value, sizeof value, "%s", raw);
    for (char *p = value; *p; p++)
        if (*p == '#' && (p == value || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    size_t n = strlen(value);
    while (n > 0 && strchr(" \t\r", value[n - 1]))
        value[--n] = '\0';
    if (n == 0) {
        ini_file_fail(&st->ini, TRINE_EFORMAT, line, "[%s] %s: empty value", section, name);
        return 0;
    }
    char why[160];
    trine_status_t rc =
        key->parse(config_field(st->out, key, s), key, value, st->ini.dir, why, sizeof why);
    if (rc != TRINE_OK) {
        ini_file_show(shown, value);
        ini_file_fail(&st->ini, rc, line, "[%s] %s: '%s' %s", section, name, shown, why);
        return 0;
    }
    st->key_line[s][k] = line;
    return 1;
}

/* Defaults for what the file left out, or the first required key it lacks. */
static trine_status_t config_fill(config_state_t *st)
{
    for (size_t s = 0; s < CONFIG_SECTION_COUNT; s++) {
        for (size_t k = 0; k < CONFIG_KEY_COUNT; k++) {
            const config_key_t *key = &config_keys[k];
            if (key->in != config_sections[s].in || st->key_line[s][k])
                continue;
            const char *section = config_sections[s].name;
            if (key->fallback == NULL) {
                char keys[128];
                config_key_list(keys, sizeof keys, key->in, true);
                if (!st->section_line[s])
                    return ini_file_fail(&st->ini, TRINE_EFORMAT, 0,
                                         "missing section [%s] with its required keys %s", section,
                                         keys);
                return ini_file_fail(&st->ini, TRINE_EFORMAT, st->section_line[s],
                                     "[%s] %s: missing required key", section, key->name);
            }
            if (key->fallback[0] == '\0')
                continue; /* the field stays "" */
            char why[160];
            trine_status_t rc = key->parse(config_field(st->out, key, (int)s), key, key->fallback,
                                           st->ini.dir, why, sizeof why);
            if (rc != TRINE_OK)
                return ini_file_fail(&st->ini, rc, 0, "[%s] %s: the default '%s' %s", section,
                                     key->name, key->fallback, why);
        }
    }
    return TRINE_OK;
}

/* The line a key was set on, or its section's line when it took a default. */
static unsigned config_line_of(const config_state_t *st, int section, const char *name)
{
    int k = config_key_find(config_sections[section].in, name);
    return st->key_line[section][k] ? st->key_line[section][k] : st->section_line[section];
}

/* What ties keys together: heartbeats inside the timeout, one owner per endpoint. */
static trine_status_t config_cross_check(config_state_t *st)
{
    const config_cluster_t *c = st->out;
    if (c->heartbeat_ms >= c->timeout_ms) {
        bool set = st->key_line[0][config_key_find(CONFIG_IN_CLUSTER, "heartbeat_ms")] != 0;
        const char *name = set ? "heartbeat_ms" : "timeout_ms";
        return ini_file_fail(&st->ini, TRINE_ERANGE, config_line_of(st, 0, name),
                             "[cluster] %s: heartbeat_ms (%u) must be less than timeout_ms (%u)",
                             name, c->heartbeat_ms, c->timeout_ms);
    }
    static const char *const roles[] = {"peer", "client"};
    for (int a = 0; a < 2 * CONFIG_PARTIES; a++) {
        for (int b = 0; b < a; b++) {
            const config_party_t *pa = &c->party[a / 2], *pb = &c->party[b / 2];
            const char *ea = a % 2 ? pa->client : pa->peer, *eb = b % 2 ? pb->client : pb->peer;
            if (!config_endpoint_same(ea, eb))
                continue;
            const char *ra = roles[a % 2], *rb = roles[b % 2];
            char shown[INI_FILE_SHOW_MAX + 1];
            ini_file_show(shown, ea);
            return ini_file_fail(&st->ini, TRINE_EFORMAT, config_line_of(st, 1 + a / 2, ra),
                                 "[party%d] %s: '%s' is also [party%d] %s (line %u); every "
                                 "endpoint needs its own port",
                                 a / 2, ra, shown, b / 2, rb, config_line_of(st, 1 + b / 2, rb));
        }
    }
    return TRINE_OK;
}

trine_status_t config_cluster_load(config_cluster_t *out, const char *path, trine_err_t *err)
{
    if (!out || !path)
        return trine_err_set(err, TRINE_EINVAL, "config_cluster_load: out and path are required");
    memset(out, 0, sizeof *out);
    config_state_t st = {.out = out};
    if (ini_file_begin(&st.ini, path, out->path, sizeof out->path, config_line_check, NULL, err) ==
            TRINE_OK &&
        ini_file_parse(&st.ini, path, config_handle, &st) == TRINE_OK &&
        config_fill(&st) == TRINE_OK)
        config_cross_check(&st);
    if (st.ini.status != TRINE_OK)
        memset(out, 0, sizeof *out);
    return st.ini.status;
}
