/* bench.c — bench files through libinih: one key table, one error, a flat
 * list of measurements.
 *
 * Read through ini_file.h, as cluster.ini is. The line check decides on
 * indentation before libinih sees the line: here an indented line may
 * continue a sizes or batch list, and any other indented line is an error;
 * it also checks section headers. The handler
 * parses one key (or one continuation line) through the key table; lists
 * append, so every size and batch keeps its own line. After the file come
 * defaults, required keys and cross-checks, then the sections are expanded
 * in file order into items, sizes outer and batches inner. The first error
 * stops the parse.
 */
#include "bench.h"
#include "ini_file.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sections: [bench] is 0, an operation's section is 1 + its bench_op_t. */
#define BENCH_SECTION_COUNT (1 + BENCH_OP_COUNT)
#define BENCH_IN_BENCH      1u
#define BENCH_IN(op)        (1u << (1 + (op)))
#define BENCH_IN_NETWORKS                                                                          \
    (BENCH_IN(BENCH_OP_NETWORK_A) | BENCH_IN(BENCH_OP_NETWORK_B) | BENCH_IN(BENCH_OP_NETWORK_C) |  \
     BENCH_IN(BENCH_OP_NETWORK_D))
#define BENCH_IN_ALL     ((1u << BENCH_SECTION_COUNT) - 1)
#define BENCH_IN_SIZED   (BENCH_IN_ALL & ~BENCH_IN_BENCH & ~BENCH_IN_NETWORKS)
#define BENCH_IN_BATCHED (BENCH_IN(BENCH_OP_CONV2D) | BENCH_IN(BENCH_OP_MAXPOOL))

static const char *const bench_op_names[] = {
    "matmul",  "conv2d",      "relu",      "drelu",     "compare",   "maxpool",   "division",
    "sigmoid", "exp",         "recip",     "rsqrt",     "log",       "tanh",      "erf",
    "softmax", "log_softmax", "network_a", "network_b", "network_c", "network_d",
};
_Static_assert(sizeof bench_op_names / sizeof bench_op_names[0] == BENCH_OP_COUNT,
               "one name per bench_op_t");

#define BENCH_EXPECTED                                                                             \
    "expected [bench], [matmul], [conv2d], [relu], [drelu], [compare], [maxpool], [division], "    \
    "[sigmoid], [exp], [recip], [rsqrt], [log], [tanh], [erf], [softmax], [log_softmax], "         \
    "[network_a]..[network_d]"

/* A growing array of items; a section's sizes and batches are kept as
 * items too (a batch in .batch) with the line each was written on. */
typedef struct {
    bench_item_t *v;
    size_t n, cap;
} bench_list_t;

/* What one section of the file said, before defaults and expansion. */
typedef struct {
    unsigned line; /* of its header, 0 until seen */
    bench_list_t sizes;
    bench_list_t batches;
    unsigned int_bits;
} bench_section_t;

typedef struct bench_key bench_key_t;

/* Where and for whom a value is parsed. */
typedef struct {
    void *field;
    const bench_key_t *key;
    bench_config_t *config;
    int section;
    const char *dir; /* the file's folder, with its '/' */
    unsigned line;
} bench_target_t;

/* Parses value into t->field or writes to why the rest of the message:
 * "'value': what is wrong". */
typedef trine_status_t (*bench_parse_fn)(const bench_target_t *t, const char *value, char *why,
                                         size_t why_size);

struct bench_key {
    unsigned in; /* the sections it belongs to, BENCH_IN bits */
    const char *name;
    bench_parse_fn parse;
    const char *fallback; /* the default as written in the file; NULL when required */
    uint64_t min, max;
    bool list;     /* may go on over indented lines */
    bool empty_ok; /* an empty value is the default "" */
    bool in_state; /* offset is into bench_section_t, not bench_config_t */
    size_t offset;
    size_t size; /* bytes of the field */
};

static trine_status_t bench_parse_cluster(const bench_target_t *t, const char *value, char *why,
                                          size_t why_size);
static trine_status_t bench_parse_uint(const bench_target_t *t, const char *value, char *why,
                                       size_t why_size);
static trine_status_t bench_parse_output(const bench_target_t *t, const char *value, char *why,
                                         size_t why_size);
static trine_status_t bench_parse_trunc(const bench_target_t *t, const char *value, char *why,
                                        size_t why_size);
static trine_status_t bench_parse_protocol(const bench_target_t *t, const char *value, char *why,
                                           size_t why_size);
static trine_status_t bench_parse_sizes(const bench_target_t *t, const char *value, char *why,
                                        size_t why_size);
static trine_status_t bench_parse_batches(const bench_target_t *t, const char *value, char *why,
                                          size_t why_size);

#define BENCH_FIELD(f)   false, offsetof(bench_config_t, f), sizeof(((bench_config_t *)0)->f)
#define SECTION_FIELD(f) true, offsetof(bench_section_t, f), sizeof(((bench_section_t *)0)->f)

/* Every key of a bench file. Defaults go through the same parser as the
 * file, so a default can never escape its own range. */
static const bench_key_t bench_keys[] = {
    {BENCH_IN_BENCH, "cluster", bench_parse_cluster, NULL, 0, 0, false, false,
     BENCH_FIELD(cluster)},
    {BENCH_IN_BENCH, "frac_bits", bench_parse_uint, "13", 0, 30, false, false,
     BENCH_FIELD(frac_bits)},
    {BENCH_IN_BENCH, "truncation", bench_parse_trunc, "exact", 0, 0, false, false,
     BENCH_FIELD(truncation)},
    {BENCH_IN_BENCH, "protocol", bench_parse_protocol, "securenn", 0, 0, false, false,
     BENCH_FIELD(protocol)},
    {BENCH_IN_BENCH, "fss_max", bench_parse_uint, "64", 1, 1u << 30, false, false,
     BENCH_FIELD(fss_max)},
    {BENCH_IN_BENCH, "repetitions", bench_parse_uint, "5", 1, 1000, false, false,
     BENCH_FIELD(repetitions)},
    {BENCH_IN_BENCH, "warmup", bench_parse_uint, "1", 0, 100, false, false, BENCH_FIELD(warmup)},
    {BENCH_IN_BENCH, "json", bench_parse_output, "", 0, 0, false, true, BENCH_FIELD(json)},
    {BENCH_IN_BENCH, "csv", bench_parse_output, "", 0, 0, false, true, BENCH_FIELD(csv)},
    {BENCH_IN_BENCH, "timeout_ms", bench_parse_uint, "30000", 100, 3600000, false, false,
     BENCH_FIELD(timeout_ms)},
    {BENCH_IN_SIZED, "sizes", bench_parse_sizes, NULL, 0, 0, true, false, SECTION_FIELD(sizes)},
    {BENCH_IN_BATCHED, "batch", bench_parse_batches, "1", 1, BENCH_EXTENT_MAX, true, false,
     SECTION_FIELD(batches)},
    {BENCH_IN_NETWORKS, "batch", bench_parse_batches, NULL, 1, BENCH_EXTENT_MAX, true, false,
     SECTION_FIELD(batches)},
    {BENCH_IN(BENCH_OP_DIVISION), "int_bits", bench_parse_uint, "0", 0, 30, false, false,
     SECTION_FIELD(int_bits)},
};

#define BENCH_KEY_COUNT (sizeof bench_keys / sizeof bench_keys[0])

/* Room for the part of a message after "[section] key: ". */
#define BENCH_WHY_MAX 192

typedef struct {
    ini_file_t ini; /* first: the line check gets &ini */
    bench_config_t *out;
    int list_key;   /* the list key an indented line would continue, -1 when none */
    bool continued; /* the current line continues that list */
    bench_section_t section[BENCH_SECTION_COUNT];
    unsigned key_line[BENCH_SECTION_COUNT][BENCH_KEY_COUNT]; /* 0 until set */
} bench_state_t;

const char *bench_op_name(bench_op_t op)
{
    return (unsigned)op < BENCH_OP_COUNT ? bench_op_names[op] : "unknown";
}

static const char *bench_section_name(int section)
{
    return section == 0 ? "bench" : bench_op_names[section - 1];
}

/* Writes "'text': reason" to why, text being s[0..n) shown. */
__attribute__((format(printf, 5, 6))) static void
bench_why(char *why, size_t why_size, const char *s, size_t n, const char *fmt, ...)
{
    char shown[INI_FILE_SHOW_MAX + 1], reason[BENCH_WHY_MAX];
    ini_file_show_n(shown, s, n);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(why, why_size, "'%s': %s", shown, reason);
}

static int bench_section_find(const char *name)
{
    if (strcmp(name, "bench") == 0)
        return 0;
    for (int op = 0; op < BENCH_OP_COUNT; op++)
        if (strcmp(bench_op_names[op], name) == 0)
            return 1 + op;
    return -1;
}

static int bench_key_find(int section, const char *name)
{
    for (size_t i = 0; i < BENCH_KEY_COUNT; i++)
        if ((bench_keys[i].in & (1u << section)) && strcmp(bench_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The names of a section's keys (only the required ones when asked), as
 * "a, b, c" for error messages. */
static void bench_key_list(char *out, size_t size, int section, bool required)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < BENCH_KEY_COUNT && used < size; i++)
        if ((bench_keys[i].in & (1u << section)) && (!required || !bench_keys[i].fallback))
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                                     bench_keys[i].name);
}

static void *bench_field(bench_state_t *st, const bench_key_t *key, int section)
{
    char *base = key->in_state ? (char *)&st->section[section] : (char *)st->out;
    return base + key->offset;
}

static trine_status_t bench_parse_uint(const bench_target_t *t, const char *value, char *why,
                                       size_t why_size)
{
    uint64_t v;
    bool overflow;
    const char *end;
    if (!ini_file_decimal(&v, &overflow, &end, value) || *end != '\0') {
        bench_why(why, why_size, value, strlen(value), "not a whole number (plain decimal digits)");
        return TRINE_EFORMAT;
    }
    if (overflow || v < t->key->min || v > t->key->max) {
        bench_why(why, why_size, value, strlen(value), "out of range %llu..%llu",
                  (unsigned long long)t->key->min, (unsigned long long)t->key->max);
        return TRINE_ERANGE;
    }
    *(unsigned *)t->field = (unsigned)v;
    return TRINE_OK;
}

/* value without one pair of enclosing double quotes, into out (size bytes);
 * false when it does not fit. */
static bool bench_unquote(char *out, size_t size, const char *value)
{
    size_t n = strlen(value);
    if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
        value++;
        n -= 2;
    }
    if (n >= size)
        return false;
    memcpy(out, value, n);
    out[n] = '\0';
    return true;
}

static trine_status_t bench_parse_cluster(const bench_target_t *t, const char *value, char *why,
                                          size_t why_size)
{
    char path[CONFIG_PATH_MAX];
    char *field = t->field;
    if (!bench_unquote(path, sizeof path, value) || path[0] == '\0') {
        bench_why(why, why_size, value, strlen(value), "not 'local' or the path of a cluster.ini");
        return TRINE_EFORMAT;
    }
    t->config->local = strcmp(value, "local") == 0; /* a quoted "local" is a path */
    if (t->config->local) {
        field[0] = '\0';
        return TRINE_OK;
    }
    int n = snprintf(field, t->key->size, "%s%s", path[0] == '/' ? "" : t->dir, path);
    if (n < 0 || (size_t)n >= t->key->size) {
        field[0] = '\0';
        bench_why(why, why_size, value, strlen(value), "resolves to a path longer than %zu bytes",
                  t->key->size - 1);
        return TRINE_ERANGE;
    }
    return TRINE_OK;
}

/* An output file, kept as written: the client takes it from its working
 * directory. */
static trine_status_t bench_parse_output(const bench_target_t *t, const char *value, char *why,
                                         size_t why_size)
{
    if (!bench_unquote(t->field, t->key->size, value)) {
        bench_why(why, why_size, value, strlen(value), "longer than %zu bytes", t->key->size - 1);
        return TRINE_ERANGE;
    }
    return TRINE_OK;
}

static trine_status_t bench_parse_trunc(const bench_target_t *t, const char *value, char *why,
                                        size_t why_size)
{
    if (config_trunc_parse(t->field, value))
        return TRINE_OK;
    bench_why(why, why_size, value, strlen(value), "neither exact nor local");
    return TRINE_EFORMAT;
}

static trine_status_t bench_parse_protocol(const bench_target_t *t, const char *value, char *why,
                                           size_t why_size)
{
    if (config_protocol_parse(t->field, value))
        return TRINE_OK;
    bench_why(why, why_size, value, strlen(value), "not securenn, fss, auto or carry");
    return TRINE_EFORMAT;
}

static trine_status_t bench_list_push(bench_list_t *list, const bench_item_t *item)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 8;
        bench_item_t *v = realloc(list->v, cap * sizeof *v);
        if (!v)
            return TRINE_ENOMEM;
        list->v = v;
        list->cap = cap;
    }
    list->v[list->n++] = *item;
    return TRINE_OK;
}

/* Calls each for every item of a comma-separated list, trimmed of white
 * space; a trailing comma ends the list, an empty item elsewhere is an
 * error. */
typedef trine_status_t (*bench_item_fn)(const bench_target_t *t, const char *s, size_t n, char *why,
                                        size_t why_size);

static trine_status_t bench_parse_list(const bench_target_t *t, const char *value,
                                       bench_item_fn each, char *why, size_t why_size)
{
    const char *p = value;
    for (;;) {
        size_t n = strcspn(p, ",");
        const char *s = p + strspn(p, " \t");
        size_t len = n - (size_t)(s - p);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len == 0) {
            if (p[n] == '\0' && p != value)
                return TRINE_OK;
            bench_why(why, why_size, value, strlen(value), "empty item in the list");
            return TRINE_EFORMAT;
        }
        trine_status_t rc = each(t, s, len, why, why_size);
        if (rc != TRINE_OK)
            return rc;
        if (p[n] == '\0')
            return TRINE_OK;
        p += n + 1;
    }
}

/* Reads up to max extents joined by 'x' from s[0..n) into dim; returns how
 * many, or -1 when the text is not that (an empty part, another character,
 * more than max parts). Extents beyond BENCH_EXTENT_MAX read as
 * BENCH_EXTENT_MAX + 1. */
static int bench_extents(size_t *dim, int max, const char *s, size_t n)
{
    int count = 0;
    size_t i = 0;
    for (;;) {
        if (count == max || i == n || s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t v = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (v <= BENCH_EXTENT_MAX)
                v = v * 10 + (uint64_t)(s[i] - '0');
        dim[count++] = v > BENCH_EXTENT_MAX ? BENCH_EXTENT_MAX + 1 : (size_t)v;
        if (i == n)
            return count;
        if (s[i++] != 'x')
            return -1;
    }
}

/* One tensor a measurement makes: its name and extents. */
typedef struct {
    const char *name;
    int ndim;
    size_t dim[BENCH_DIM_MAX + 1];
} bench_tensor_t;

/* A tensor named name of extents dim[0..n), a batch of b images of them
 * when b > 1. */
static bench_tensor_t bench_tensor(const char *name, size_t b, int n, const size_t *dim)
{
    bench_tensor_t t = {name, 0, {0}};
    if (b > 1)
        t.dim[t.ndim++] = b;
    for (int i = 0; i < n; i++)
        t.dim[t.ndim++] = dim[i];
    return t;
}

/* The tensors of item at its batch that bound the measurement's size;
 * returns how many (at most 3). */
static int bench_tensors(bench_tensor_t *t, const bench_item_t *it)
{
    const size_t *d = it->dim;
    size_t b = it->batch;
    switch (it->op) {
    case BENCH_OP_MATMUL:
        t[0] = bench_tensor("the [m,n] operand", 1, 2, (size_t[]){d[0], d[1]});
        t[1] = bench_tensor("the [n,v] operand", 1, 2, (size_t[]){d[1], d[2]});
        t[2] = bench_tensor("the [m,v] product", 1, 2, (size_t[]){d[0], d[2]});
        return 3;
    case BENCH_OP_CONV2D:
        t[0] = bench_tensor("the input", b, 3, (size_t[]){d[0], d[0], d[2]});
        t[1] = bench_tensor("the filter bank", 1, 4, (size_t[]){d[1], d[1], d[2], d[3]});
        t[2] = bench_tensor("the output", b, 3, (size_t[]){d[0], d[0], d[3]});
        return 3;
    case BENCH_OP_MAXPOOL: t[0] = bench_tensor("the input", b, 3, d); return 1;
    case BENCH_OP_NETWORK_A:
    case BENCH_OP_NETWORK_B:
    case BENCH_OP_NETWORK_C:
    case BENCH_OP_NETWORK_D: t[0] = bench_tensor("the input", b, 2, (size_t[]){28, 28}); return 1;
    default: t[0] = bench_tensor("the tensor", 1, it->ndim, d); return 1;
    }
}

/* False, with what exceeds written to what ("the input 128x28x28x20"),
 * when a tensor of item has more than BENCH_ELEMENTS_MAX elements. */
static bool bench_item_fits(const bench_item_t *it, char *what, size_t what_size)
{
    bench_tensor_t t[3];
    int count = bench_tensors(t, it);
    for (int i = 0; i < count; i++) {
        uint64_t elements = 1; /* at most 2^28 * 2^31 before the check */
        for (int j = 0; j < t[i].ndim && elements <= BENCH_ELEMENTS_MAX; j++)
            elements *= t[i].dim[j];
        if (elements <= BENCH_ELEMENTS_MAX)
            continue;
        size_t used = (size_t)snprintf(what, what_size, "%s ", t[i].name);
        for (int j = 0; j < t[i].ndim && used < what_size; j++)
            used +=
                (size_t)snprintf(what + used, what_size - used, "%s%zu", j ? "x" : "", t[i].dim[j]);
        return false;
    }
    return true;
}

/* One size of an operation's list: its form, its extents, what the
 * operation asks of them, and the size of its tensors. */
static trine_status_t bench_parse_size(const bench_target_t *t, const char *s, size_t n, char *why,
                                       size_t why_size)
{
    bench_op_t op = (bench_op_t)(t->section - 1);
    bench_item_t it = {.op = op, .batch = 1, .line = t->line};
    const char *form;
    int want_min = 1, want_max = BENCH_DIM_MAX;
    size_t head = n;
    const char *slash;
    switch (op) {
    case BENCH_OP_MATMUL:
        form = "not a size m x n x v: three whole numbers joined by 'x', like 784x128x10";
        want_min = want_max = 3;
        break;
    case BENCH_OP_CONV2D:
        form = "not a size m x f x i x o: four whole numbers joined by 'x', like 28x5x1x20";
        want_min = want_max = 4;
        break;
    case BENCH_OP_MAXPOOL:
        form = "not a size H x W x C / k: three whole numbers joined by 'x', then /k, like "
               "24x24x16/2";
        want_min = want_max = 3;
        slash = memchr(s, '/', n);
        head = slash ? (size_t)(slash - s) : n;
        break;
    default: form = "not a tensor shape: 1 to 4 whole numbers joined by 'x', like 128x128"; break;
    }
    it.ndim = bench_extents(it.dim, want_max, s, head);
    bool window_ok = true;
    if (op == BENCH_OP_MAXPOOL) {
        size_t k[1];
        window_ok = head < n && bench_extents(k, 1, s + head + 1, n - head - 1) == 1;
        it.window = window_ok ? k[0] : 0;
    }
    if (it.ndim < want_min || !window_ok) {
        bench_why(why, why_size, s, n, "%s", form);
        return TRINE_EFORMAT;
    }
    for (int i = 0; i < it.ndim; i++) {
        if (it.dim[i] == 0) {
            bench_why(why, why_size, s, n, "every extent must be at least 1");
            return TRINE_ERANGE;
        }
        if (it.dim[i] > BENCH_EXTENT_MAX) {
            bench_why(why, why_size, s, n, "every extent must be at most %zu (2^31)",
                      BENCH_EXTENT_MAX);
            return TRINE_ERANGE;
        }
    }
    if (op == BENCH_OP_CONV2D && it.dim[1] % 2 == 0) {
        bench_why(why, why_size, s, n,
                  "the filter size f must be odd (padding (f-1)/2 keeps the output m x m)");
        return TRINE_ERANGE;
    }
    if (op == BENCH_OP_MAXPOOL) {
        if (it.window == 0 || it.window > BENCH_EXTENT_MAX) {
            bench_why(why, why_size, s, n, "the window k must be 1..%zu", BENCH_EXTENT_MAX);
            return TRINE_ERANGE;
        }
        for (int i = 0; i < 2; i++)
            if (it.dim[i] % it.window != 0) {
                bench_why(why, why_size, s, n, "%s (%zu) must be a multiple of k (%zu)",
                          i ? "W" : "H", it.dim[i], it.window);
                return TRINE_ERANGE;
            }
    }
    char what[96];
    if (!bench_item_fits(&it, what, sizeof what)) {
        bench_why(why, why_size, s, n, "%s has more than %zu (2^28) elements", what,
                  BENCH_ELEMENTS_MAX);
        return TRINE_ERANGE;
    }
    size_t used = 0;
    for (int i = 0; i < it.ndim; i++)
        used += (size_t)snprintf(it.size + used, sizeof it.size - used, "%s%zu", i ? "x" : "",
                                 it.dim[i]);
    if (op == BENCH_OP_MAXPOOL)
        snprintf(it.size + used, sizeof it.size - used, "/%zu", it.window);
    if (bench_list_push(t->field, &it) != TRINE_OK) {
        bench_why(why, why_size, s, n, "out of memory");
        return TRINE_ENOMEM;
    }
    return TRINE_OK;
}

static trine_status_t bench_parse_sizes(const bench_target_t *t, const char *value, char *why,
                                        size_t why_size)
{
    return bench_parse_list(t, value, bench_parse_size, why, why_size);
}

/* One batch of a list; a network's input is checked here, an operation's
 * tensors when its sizes and batches meet. */
static trine_status_t bench_parse_batch(const bench_target_t *t, const char *s, size_t n, char *why,
                                        size_t why_size)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        if (v <= BENCH_EXTENT_MAX)
            v = v * 10 + (uint64_t)(s[i] - '0');
    if (i == 0 || i < n) {
        bench_why(why, why_size, s, n, "not a whole number (plain decimal digits)");
        return TRINE_EFORMAT;
    }
    if (v < t->key->min || v > t->key->max) {
        bench_why(why, why_size, s, n, "a batch must be %llu..%llu",
                  (unsigned long long)t->key->min, (unsigned long long)t->key->max);
        return TRINE_ERANGE;
    }
    bench_item_t it = {.op = (bench_op_t)(t->section - 1), .batch = (size_t)v, .line = t->line};
    char what[96];
    if (BENCH_IN(it.op) & BENCH_IN_NETWORKS && !bench_item_fits(&it, what, sizeof what)) {
        bench_why(why, why_size, s, n, "%s has more than %zu (2^28) elements", what,
                  BENCH_ELEMENTS_MAX);
        return TRINE_ERANGE;
    }
    if (bench_list_push(t->field, &it) != TRINE_OK) {
        bench_why(why, why_size, s, n, "out of memory");
        return TRINE_ENOMEM;
    }
    return TRINE_OK;
}

static trine_status_t bench_parse_batches(const bench_target_t *t, const char *value, char *why,
                                          size_t why_size)
{
    return bench_parse_list(t, value, bench_parse_batch, why, why_size);
}

/* Classifies a raw line the way libinih will, for what it cannot report:
 * indentation (a list's continuation or an error), and section headers
 * with no keys or with a wrong name. */
static trine_status_t bench_line_check(ini_file_t *f, const char *line)
{
    bench_state_t *st = (bench_state_t *)f;
    const char *p = line + strspn(line, " \t\v\f");
    st->continued = false;
    if (*p == '\0' || strchr("\r\n;#", *p))
        return TRINE_OK; /* blank or comment: a list may go on after it, as in libinih */
    if (p != line) {
        if (st->list_key < 0 || *p == '[' || strpbrk(p, "=:"))
            return ini_file_fail(&st->ini, TRINE_EFORMAT, st->ini.lineno,
                                 "indented line; start keys and sections in column 1 (only a "
                                 "sizes or batch list may go on over indented lines)");
        st->continued = true;
        return TRINE_OK;
    }
    st->list_key = -1;
    size_t n;
    if (!ini_file_header(line, &n))
        return TRINE_OK; /* not a header, or libinih reports the syntax error */
    char shown[INI_FILE_SHOW_MAX + 1], name[16];
    ini_file_show_n(shown, line + 1, n);
    int s = -1;
    if (n < sizeof name) {
        memcpy(name, line + 1, n);
        name[n] = '\0';
        s = bench_section_find(name);
    }
    if (s < 0)
        return ini_file_fail(&st->ini, TRINE_EFORMAT, st->ini.lineno,
                             "unknown section [%s]; " BENCH_EXPECTED, shown);
    if (st->section[s].line)
        return ini_file_fail(&st->ini, TRINE_EFORMAT, st->ini.lineno,
                             "section [%s] appears again (first on line %u); merge the two", name,
                             st->section[s].line);
    st->section[s].line = st->ini.lineno;
    return TRINE_OK;
}

/* Parses value for key in section into its field, or records the failure. */
static trine_status_t bench_set(bench_state_t *st, int section, const bench_key_t *key,
                                const char *value, unsigned line)
{
    bench_target_t t = {.field = bench_field(st, key, section),
                        .key = key,
                        .config = st->out,
                        .section = section,
                        .dir = st->ini.dir,
                        .line = line};
    char why[BENCH_WHY_MAX];
    trine_status_t rc = key->parse(&t, value, why, sizeof why);
    if (rc != TRINE_OK)
        return ini_file_fail(&st->ini, rc, line, "[%s] %s: %s", bench_section_name(section),
                             key->name, why);
    return TRINE_OK;
}

/* libinih's handler: one key = value, or one continuation of a list, of
 * the current line. Returns 0 (an error to libinih) after recording the
 * failure, which also stops the reader. */
static int bench_handle(void *user, const char *section, const char *name, const char *raw)
{
    bench_state_t *st = user;
    unsigned line = st->ini.lineno;
    char shown[INI_FILE_SHOW_MAX + 1];
    if (st->ini.status != TRINE_OK)
        return 0;
    ini_file_show(shown, name);
    if (section[0] == '\0') {
        ini_file_fail(&st->ini, TRINE_EFORMAT, line, "%s: key before any section; " BENCH_EXPECTED,
                      shown);
        return 0;
    }
    int s = bench_section_find(section);
    if (s < 0) { /* the reader has refused unknown sections; this is a guard */
        ini_file_fail(&st->ini, TRINE_EFORMAT, line, "unknown section [%s]", section);
        return 0;
    }
    int k = st->continued ? st->list_key : bench_key_find(s, name);
    if (k < 0) {
        if (((1u << s) & BENCH_IN_NETWORKS) && strcmp(name, "sizes") == 0) {
            ini_file_fail(&st->ini, TRINE_EFORMAT, line,
                          "[%s] sizes: a network has fixed layer sizes (SecureNN Appendix C); give "
                          "only batch",
                          section);
            return 0;
        }
        char keys[128];
        bench_key_list(keys, sizeof keys, s, false);
        ini_file_fail(&st->ini, TRINE_EFORMAT, line, "[%s] unknown key '%s'; expected %s", section,
                      shown, keys);
        return 0;
    }
    const bench_key_t *key = &bench_keys[k];
    if (!st->continued && st->key_line[s][k]) {
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
    if (n == 0 && !key->empty_ok) {
        ini_file_fail(&st->ini, TRINE_EFORMAT, line, "[%s] %s: empty value", section, key->name);
        return 0;
    }
    if (bench_set(st, s, key, value, line) != TRINE_OK)
        return 0;
    if (!st->continued)
        st->key_line[s][k] = line;
    st->list_key = key->list ? k : -1;
    return 1;
}

/* Defaults for what a seen section left out, or the first required key it
 * lacks; [bench] is required even when unseen. */
static trine_status_t bench_fill(bench_state_t *st, int s)
{
    const char *section = bench_section_name(s);
    for (size_t k = 0; k < BENCH_KEY_COUNT; k++) {
        const bench_key_t *key = &bench_keys[k];
        if (!(key->in & (1u << s)) || st->key_line[s][k])
            continue;
        if (key->fallback == NULL) {
            char keys[128];
            bench_key_list(keys, sizeof keys, s, true);
            if (!st->section[s].line)
                return ini_file_fail(&st->ini, TRINE_EFORMAT, 0,
                                     "missing section [%s] with its required key %s", section,
                                     keys);
            if (s == 0)
                return ini_file_fail(&st->ini, TRINE_EFORMAT, st->section[s].line,
                                     "[bench] %s: missing required key; write cluster = local or "
                                     "cluster = the path of a cluster.ini",
                                     key->name);
            return ini_file_fail(&st->ini, TRINE_EFORMAT, st->section[s].line,
                                 "[%s] %s: missing required key", section, key->name);
        }
        if (key->fallback[0] == '\0')
            continue; /* the field stays "" */
        if (bench_set(st, s, key, key->fallback, st->section[s].line) != TRINE_OK)
            return st->ini.status;
    }
    return TRINE_OK;
}

/* What ties keys together: timeout_ms only for a local cluster, two
 * different result files. */
static trine_status_t bench_cross_check(bench_state_t *st)
{
    const bench_config_t *c = st->out;
    unsigned timeout_line = st->key_line[0][bench_key_find(0, "timeout_ms")];
    if (!c->local && timeout_line)
        return ini_file_fail(&st->ini, TRINE_EFORMAT, timeout_line,
                             "[bench] timeout_ms: only for cluster = local; a cluster.ini sets its "
                             "own [cluster] timeout_ms");
    if (c->json[0] && strcmp(c->json, c->csv) == 0) {
        char shown[INI_FILE_SHOW_MAX + 1];
        ini_file_show(shown, c->csv);
        return ini_file_fail(&st->ini, TRINE_EFORMAT, st->key_line[0][bench_key_find(0, "csv")],
                             "[bench] csv: '%s': also the json file (line %u); give them "
                             "different names",
                             shown, st->key_line[0][bench_key_find(0, "json")]);
    }
    return TRINE_OK;
}

/* The items of one section: each size at each batch, or a network's
 * batches; a batch must not make an operation's tensors too large. */
static trine_status_t bench_expand(bench_state_t *st, bench_list_t *items, int s)
{
    const bench_section_t *sec = &st->section[s];
    bench_op_t op = (bench_op_t)(s - 1);
    bool network = BENCH_IN(op) & BENCH_IN_NETWORKS;
    bool batched = BENCH_IN(op) & (BENCH_IN_NETWORKS | BENCH_IN_BATCHED);
    size_t nsizes = network ? 1 : sec->sizes.n, nbatches = batched ? sec->batches.n : 1;
    for (size_t i = 0; i < nsizes; i++) {
        for (size_t j = 0; j < nbatches; j++) {
            bench_item_t it = network ? sec->batches.v[j] : sec->sizes.v[i];
            if (op == BENCH_OP_DIVISION)
                it.int_bits = sec->int_bits;
            /* A size alone was checked as it was read, a network's batch too. */
            if (batched && !network) {
                const bench_item_t *b = &sec->batches.v[j];
                char what[96];
                it.batch = b->batch;
                if (!bench_item_fits(&it, what, sizeof what))
                    return ini_file_fail(&st->ini, TRINE_ERANGE, b->line,
                                         "[%s] batch: '%zu': with size %s, %s has more than %zu "
                                         "(2^28) elements",
                                         bench_op_names[op], b->batch, it.size, what,
                                         BENCH_ELEMENTS_MAX);
            }
            if (bench_list_push(items, &it) != TRINE_OK)
                return ini_file_fail(&st->ini, TRINE_ENOMEM, 0,
                                     "out of memory for %zu measurements", items->n + 1);
        }
    }
    return TRINE_OK;
}

/* After the file: defaults, required keys and cross-checks, then the
 * measurements, section by section in file order. */
static trine_status_t bench_finish(bench_state_t *st)
{
    int order[BENCH_OP_COUNT], count = 0;
    for (int s = 1; s < BENCH_SECTION_COUNT; s++) {
        if (!st->section[s].line)
            continue;
        int at = count++;
        for (; at > 0 && st->section[order[at - 1]].line > st->section[s].line; at--)
            order[at] = order[at - 1];
        order[at] = s;
    }
    if (bench_fill(st, 0) != TRINE_OK)
        return st->ini.status;
    for (int i = 0; i < count; i++)
        if (bench_fill(st, order[i]) != TRINE_OK)
            return st->ini.status;
    if (bench_cross_check(st) != TRINE_OK)
        return st->ini.status;
    if (count == 0)
        return ini_file_fail(&st->ini, TRINE_EFORMAT, 0,
                             "nothing to measure; add a section such as [matmul] with sizes = "
                             "1x100x1 (see config/bench-small.ini)");
    bench_config_t *c = st->out;
    c->cluster_line = st->key_line[0][bench_key_find(0, "cluster")];
    c->frac_bits_line = st->key_line[0][bench_key_find(0, "frac_bits")];
    bench_list_t items = {0};
    for (int i = 0; i < count; i++)
        if (bench_expand(st, &items, order[i]) != TRINE_OK) {
            free(items.v);
            return st->ini.status;
        }
    c->items = items.v;
    c->nitems = items.n;
    return TRINE_OK;
}

void bench_config_clear(bench_config_t *c)
{
    if (!c)
        return;
    free(c->items);
    memset(c, 0, sizeof *c);
}

trine_status_t bench_config_load(bench_config_t *out, const char *path, trine_err_t *err)
{
    if (!out || !path)
        return trine_err_set(err, TRINE_EINVAL, "bench_config_load: out and path are required");
    memset(out, 0, sizeof *out);
    bench_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return trine_err_set(err, TRINE_ENOMEM, "bench_config_load: out of memory");
    st->out = out;
    st->list_key = -1;
    if (ini_file_begin(&st->ini, path, out->path, sizeof out->path, bench_line_check,
                       " (a long list may go on over indented lines)", err) == TRINE_OK &&
        ini_file_parse(&st->ini, path, bench_handle, st) == TRINE_OK)
        (void)bench_finish(st);
    for (int s = 0; s < BENCH_SECTION_COUNT; s++) {
        free(st->section[s].sizes.v);
        free(st->section[s].batches.v);
    }
    trine_status_t status = st->ini.status;
    free(st);
    if (status != TRINE_OK)
        bench_config_clear(out);
    return status;
}
