/* trine.c — the client tool: `trine [-c CONFIG] [-i KEY] VERB ...`.
 *
 * main() reads the global options, then hands the rest of the command line
 * to the verb's function from one table. Exit codes: 0 success, 1 the
 * operation failed, 2 the command line is wrong.
 */
#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TRINE_EXIT_FAIL  1
#define TRINE_EXIT_USAGE 2

typedef struct {
    const char *config; /* -c, else $TRINE_CONFIG; NULL when neither */
    const char *key;    /* -i, else $TRINE_KEY; NULL when neither */
} client_opts_t;

typedef int (*verb_fn)(const client_opts_t *opts, int argc, char **argv);

typedef struct {
    const char *name;
    verb_fn run;
    const char *usage;
    const char *summary;
} verb_t;

static int verb_keygen(const client_opts_t *opts, int argc, char **argv);

static const verb_t verbs[] = {
    {"keygen", verb_keygen, "keygen [--dir DIR] NAME...",
     "write CurveZMQ key pairs DIR/NAME.pub and DIR/NAME.key (mode 0600); DIR\n"
     "                     defaults to the current directory and is made if missing"},
};
#define VERB_COUNT (sizeof verbs / sizeof verbs[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: trine [-c CLUSTER.ini] [-i CLIENT_KEY] VERB [ARGS]\n\n"
               "The client of a trine cluster.\n\n"
               "options:\n"
               "  -c FILE            cluster configuration (default: $TRINE_CONFIG)\n"
               "  -i FILE            this client's secret key (default: $TRINE_KEY)\n"
               "  -h, --help         show this help\n\n"
               "verbs:\n");
    for (size_t i = 0; i < VERB_COUNT; i++)
        fprintf(f, "  %s\n                     %s\n", verbs[i].usage, verbs[i].summary);
    fprintf(f, "\nexit status: 0 success, 1 the operation failed, 2 bad command line\n");
}

static int verb_usage_error(const char *verb, const char *msg)
{
    for (size_t i = 0; i < VERB_COUNT; i++)
        if (!strcmp(verbs[i].name, verb))
            fprintf(stderr, "trine %s: %s\nusage: trine %s\n", verb, msg, verbs[i].usage);
    return TRINE_EXIT_USAGE;
}

static int verb_keygen(const client_opts_t *opts, int argc, char **argv)
{
    (void)opts;
    const char *dir = ".";
    int first = 1;
    while (first < argc && argv[first][0] == '-') {
        if (!strcmp(argv[first], "--dir") && first + 1 < argc) {
            dir = argv[first + 1];
            first += 2;
        } else if (!strcmp(argv[first], "--")) {
            first++;
            break;
        } else {
            return verb_usage_error("keygen", "unknown option or missing value");
        }
    }
    if (first == argc)
        return verb_usage_error("keygen", "name at least one key pair");
    for (int i = first; i < argc; i++)
        if (!keys_name_valid(argv[i]))
            return verb_usage_error("keygen", "key names are 1-64 letters, digits, '_', '-' "
                                              "or '.', not starting with '.'");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "trine keygen: cannot make %s: %s\n", dir, strerror(errno));
        return TRINE_EXIT_FAIL;
    }
    for (int i = first; i < argc; i++) {
        trine_err_t err;
        if (keys_generate(dir, argv[i], &err) != TRINE_OK) {
            fprintf(stderr, "trine keygen: %s\n", err.msg);
            return TRINE_EXIT_FAIL;
        }
        printf("%s/%s.pub\n%s/%s.key\n", dir, argv[i], dir, argv[i]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    client_opts_t opts = {getenv("TRINE_CONFIG"), getenv("TRINE_KEY")};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "-i")) && i + 1 < argc) {
            *(argv[i][1] == 'c' ? &opts.config : &opts.key) = argv[i + 1];
            i++;
            continue;
        }
        fprintf(stderr, "trine: unknown option '%s' or missing value\n", argv[i]);
        usage(stderr);
        return TRINE_EXIT_USAGE;
    }
    if (i == argc) {
        usage(stderr);
        return TRINE_EXIT_USAGE;
    }
    for (size_t v = 0; v < VERB_COUNT; v++)
        if (!strcmp(argv[i], verbs[v].name))
            return verbs[v].run(&opts, argc - i, argv + i);
    fprintf(stderr, "trine: unknown verb '%s'; 'trine --help' lists them\n", argv[i]);
    return TRINE_EXIT_USAGE;
}
