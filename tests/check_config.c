/* check_config.c — cluster.ini loading: the shipped sample, defaults, path
 * resolution, comments and line endings, and one case per kind of error,
 * each checked for its status and for file, line and key in the message. */
#include "check_util.h"

#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A valid cluster with every required key and no optional one; the cases
 * below edit it, so its line numbers are part of their expectations. */
static const char config_base[] = "# test cluster\n"                /* 1 */
                                  "[cluster]\n"                     /* 2 */
                                  "name = test\n"                   /* 3 */
                                  "\n"                              /* 4 */
                                  "[party0]\n"                      /* 5 */
                                  "peer = tcp://127.0.0.1:7100\n"   /* 6 */
                                  "client = tcp://127.0.0.1:7200\n" /* 7 */
                                  "public_key = keys/party0.pub\n"  /* 8 */
                                  "\n"                              /* 9 */
                                  "[party1]\n"                      /* 10 */
                                  "peer = tcp://127.0.0.1:7101\n"   /* 11 */
                                  "client = tcp://127.0.0.1:7201\n" /* 12 */
                                  "public_key = keys/party1.pub\n"  /* 13 */
                                  "\n"                              /* 14 */
                                  "[party2]\n"                      /* 15 */
                                  "peer = tcp://127.0.0.1:7102\n"   /* 16 */
                                  "client = tcp://127.0.0.1:7202\n" /* 17 */
                                  "public_key = keys/party2.pub\n"  /* 18 */
                                  "\n"                              /* 19 */
                                  "[clients]\n"                     /* 20 */
                                  "allow = keys/clients/\n";        /* 21 */

/* A fresh folder under /tmp; dir must hold 64 bytes. */
static void scratch_new(char *dir)
{
    strcpy(dir, "/tmp/check-config-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char sub[96];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
}

/* Removes what the tests write: cluster.ini in dir and in dir/sub. */
static void scratch_free(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/cluster.ini", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/sub/cluster.ini", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/sub", dir);
    ck_assert_int_eq(rmdir(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}

/* Writes text to dir/name and stores the file's path in path (128 bytes). */
static void scratch_write(char *path, const char *dir, const char *name, const char *text)
{
    snprintf(path, 128, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
}

/* A new copy of base with the first find replaced by with; find must occur. */
static char *text_edit(const char *base, const char *find, const char *with)
{
    const char *at = strstr(base, find);
    ck_assert_msg(at != NULL, "'%s' is not in the base config", find);
    size_t head = (size_t)(at - base), n = strlen(base) - strlen(find) + strlen(with);
    char *out = malloc(n + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, base, head);
    strcpy(out + head, with);
    strcat(out, at + strlen(find));
    return out;
}

/* Loads base edited as given from a scratch cluster.ini into *c. */
static trine_status_t load_edited(config_cluster_t *c, trine_err_t *err, const char *find,
                                  const char *with)
{
    char dir[64], path[128];
    scratch_new(dir);
    char *text = text_edit(config_base, find, with);
    scratch_write(path, dir, "cluster.ini", text);
    free(text);
    trine_status_t rc = config_cluster_load(c, path, err);
    scratch_free(dir);
    return rc;
}

START_TEST(config_sample_loads)
{
    const char *path = getenv("TRINE_CONFIG_EXAMPLE");
    ck_assert_msg(path != NULL, "meson sets TRINE_CONFIG_EXAMPLE to config/cluster.example.ini");
    config_cluster_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    ck_assert_int_eq(config_cluster_load(c, path, &err), TRINE_OK);
    ck_assert_str_eq(c->path, path);
    ck_assert_str_eq(c->name, "local-demo");
    ck_assert_uint_eq(c->frac_bits, 13);
    ck_assert_int_eq(c->truncation, CONFIG_TRUNC_EXACT);
    ck_assert_int_eq(c->protocol, CONFIG_PROTOCOL_SECURENN);
    ck_assert_uint_eq(c->fss_max, 64);
    ck_assert_uint_eq(c->timeout_ms, 30000);
    ck_assert_uint_eq(c->heartbeat_ms, 1000);
    ck_assert_uint_eq(c->memory_limit, (uint64_t)1 << 30);
    ck_assert_uint_eq(c->max_message, (uint64_t)256 << 20);
    ck_assert_str_eq(c->party[0].peer, "tcp://127.0.0.1:7100");
    ck_assert_str_eq(c->party[1].client, "tcp://127.0.0.1:7201");
    ck_assert_str_eq(c->party[2].peer, "tcp://127.0.0.1:7102");
    /* Key paths come out next to the sample (meson passes an absolute path). */
    ck_assert_int_eq(path[0], '/');
    char want[CONFIG_PATH_MAX + 32];
    snprintf(want, sizeof want, "%.*s/keys/party2.pub", (int)(strrchr(path, '/') - path), path);
    ck_assert_str_eq(c->party[2].public_key, want);
    const char *tail = "/keys/clients/";
    ck_assert_str_eq(c->clients_allow + strlen(c->clients_allow) - strlen(tail), tail);
    tail = "/keys/party0.key";
    ck_assert_str_eq(c->secret_key + strlen(c->secret_key) - strlen(tail), tail);
    free(c);
}
END_TEST

START_TEST(config_defaults)
{
    config_cluster_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    ck_assert_int_eq(load_edited(c, &err, "", ""), TRINE_OK);
    ck_assert_str_eq(c->name, "test");
    ck_assert_uint_eq(c->frac_bits, 13);
    ck_assert_uint_eq(c->timeout_ms, 30000);
    ck_assert_uint_eq(c->heartbeat_ms, 1000);
    ck_assert_uint_eq(c->memory_limit, (uint64_t)1 << 30);
    ck_assert_uint_eq(c->max_message, (uint64_t)256 << 20);
    ck_assert_str_eq(c->secret_key, "");
    ck_assert_str_eq(c->store_dir, "");
    free(c);
}
END_TEST

START_TEST(config_relative_paths)
{
    config_cluster_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    char dir[64], path[128], old_cwd[CONFIG_PATH_MAX], cwd[CONFIG_PATH_MAX];
    char want[CONFIG_PATH_MAX + 64];
    scratch_new(dir);
    char *text = text_edit(config_base, "public_key = keys/party2.pub",
                           "public_key = /etc/trine/party2.pub\n[local]\nsecret_key = ../p0.key\n"
                           "[store]\ndir = shares");
    scratch_write(path, dir, "sub/cluster.ini", text);
    free(text);

    ck_assert_int_eq(config_cluster_load(c, path, &err), TRINE_OK);
    snprintf(want, sizeof want, "%s/sub/keys/party0.pub", dir);
    ck_assert_str_eq(c->party[0].public_key, want);
    ck_assert_str_eq(c->party[2].public_key, "/etc/trine/party2.pub");
    snprintf(want, sizeof want, "%s/sub/keys/clients/", dir);
    ck_assert_str_eq(c->clients_allow, want);
    snprintf(want, sizeof want, "%s/sub/../p0.key", dir);
    ck_assert_str_eq(c->secret_key, want);
    snprintf(want, sizeof want, "%s/sub/shares", dir);
    ck_assert_str_eq(c->store_dir, want);

    /* A relative config path is taken from the working directory once, and
     * the result is absolute so that it survives a later chdir. */
    ck_assert_ptr_nonnull(getcwd(old_cwd, sizeof old_cwd));
    ck_assert_int_eq(chdir(dir), 0);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s/sub/keys/party1.pub", cwd);
    const char *relative[] = {"sub/cluster.ini", "./sub/cluster.ini"};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(config_cluster_load(c, relative[i], &err), TRINE_OK);
        ck_assert_str_eq(c->party[1].public_key, want);
        ck_assert_str_eq(c->path, relative[i]);
    }
    ck_assert_int_eq(chdir("sub"), 0);
    ck_assert_int_eq(config_cluster_load(c, "cluster.ini", &err), TRINE_OK);
    ck_assert_str_eq(c->party[1].public_key, want);
    ck_assert_int_eq(chdir(old_cwd), 0);
    scratch_free(dir);
    free(c);
}
END_TEST

START_TEST(config_comments_crlf_bom)
{
    config_cluster_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    ck_assert_int_eq(load_edited(c, &err, "name = test\n",
                                 "; a whole-line comment\n"
                                 "name = test   ; inline, as in DESIGN\n"
                                 "# another\n"
                                 "frac_bits = 16 # inline hash\n"
                                 "truncation = local\n"
                                 "protocol = auto\n"
                                 "fss_max = 1000\n"
                                 "  ; an indented comment\n"
                                 "timeout_ms=500\n"
                                 "heartbeat_ms : 100\n"),
                     TRINE_OK);
    ck_assert_str_eq(c->name, "test");
    ck_assert_uint_eq(c->frac_bits, 16);
    ck_assert_int_eq(c->truncation, CONFIG_TRUNC_LOCAL);
    ck_assert_int_eq(c->protocol, CONFIG_PROTOCOL_AUTO);
    ck_assert_uint_eq(c->fss_max, 1000);
    ck_assert_uint_eq(c->timeout_ms, 500);
    ck_assert_uint_eq(c->heartbeat_ms, 100);
    /* A '#' or ';' inside a value, not after white space, is part of it. */
    ck_assert_int_eq(load_edited(c, &err, "allow = keys/clients/", "allow = keys/#1;2.pub"),
                     TRINE_OK);
    ck_assert_str_eq(c->clients_allow + strlen(c->clients_allow) - 14, "/keys/#1;2.pub");

    /* The same file with CRLF endings and a byte order mark. */
    size_t n = strlen(config_base);
    char *crlf = malloc(3 + 2 * n + 64);
    ck_assert_ptr_nonnull(crlf);
    size_t j = 0;
    memcpy(crlf, "\xEF\xBB\xBF", 3);
    j = 3;
    for (size_t i = 0; i < n; i++) {
        if (config_base[i] == '\n')
            crlf[j++] = '\r';
        crlf[j++] = config_base[i];
    }
    strcpy(crlf + j, "[local]\r\nsecret_key = k.key ; c\r\n");
    char dir[64], path[128];
    scratch_new(dir);
    scratch_write(path, dir, "cluster.ini", crlf);
    ck_assert_int_eq(config_cluster_load(c, path, &err), TRINE_OK);
    ck_assert_str_eq(c->name, "test");
    ck_assert_str_eq(c->party[2].client, "tcp://127.0.0.1:7202");
    ck_assert_str_eq(c->secret_key + strlen(c->secret_key) - 6, "/k.key");
    ck_assert_ptr_null(strchr(c->clients_allow, '\r'));

    /* Errors in a CRLF file still name the right line. */
    strcpy(crlf + j, "[local]\r\nsecret_key =\r\n");
    scratch_write(path, dir, "cluster.ini", crlf);
    ck_assert_int_eq(config_cluster_load(c, path, &err), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "cluster.ini:23: [local] secret_key: empty value"));
    scratch_free(dir);
    free(crlf);
    free(c);
}
END_TEST

START_TEST(config_values_accepted)
{
    config_cluster_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    ck_assert_int_eq(load_edited(c, &err, "name = test\n",
                                 "name = A.b_c-9\nmemory_limit = 2000000\nmax_message = 64K\n"
                                 "frac_bits = 0\ntimeout_ms = 3600000\nheartbeat_ms = 60000\n"),
                     TRINE_OK);
    ck_assert_str_eq(c->name, "A.b_c-9");
    ck_assert_uint_eq(c->memory_limit, 2000000);
    ck_assert_uint_eq(c->max_message, 65536);
    ck_assert_uint_eq(c->frac_bits, 0);
    ck_assert_uint_eq(c->timeout_ms, 3600000);
    ck_assert_uint_eq(c->heartbeat_ms, 60000);

    const struct {
        const char *text;
        uint64_t bytes;
    } sizes[] = {{"1M", 1 << 20},
                 {"512M", (uint64_t)512 << 20},
                 {"4G", (uint64_t)4 << 30},
                 {"4g", (uint64_t)4 << 30},
                 {"2048k", (uint64_t)2 << 20},
                 {"17179869183G", (uint64_t)17179869183 << 30},
                 {"18446744073709551615", UINT64_MAX}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "name = test\nmemory_limit = %s\n", sizes[i].text);
        ck_assert_int_eq(load_edited(c, &err, "name = test\n", line), TRINE_OK);
        ck_assert_uint_eq(c->memory_limit, sizes[i].bytes);
    }

    const char *endpoints[] = {"tcp://[::1]:1", "tcp://[2001:db8::7]:65535",
                               "tcp://party-1.example.org:7100", "tcp://localhost:9",
                               "tcp://10.0.0.255:7100"};
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        char line[96];
        snprintf(line, sizeof line, "peer = %s", endpoints[i]);
        ck_assert_int_eq(load_edited(c, &err, "peer = tcp://127.0.0.1:7101", line), TRINE_OK);
        ck_assert_str_eq(c->party[1].peer, endpoints[i]);
    }
    free(c);
}
END_TEST

/* One error each: an edit of config_base, its status, and a piece of the
 * message that holds the file name, the line where one applies, and the key. */
static const struct {
    const char *find, *with;
    trine_status_t status;
    const char *expect;
} config_errors[] = {
    /* INI syntax, reported by libinih, even when our own error follows it */
    {"name = test\n", "name = test\nthis is not ini\n", TRINE_EFORMAT,
     "cluster.ini:4: syntax error"},
    {"[party1]\n", "[party1\n", TRINE_EFORMAT, "cluster.ini:10: syntax error"},
    {"[clients]\n", "[clients]\n\tallow = x\n", TRINE_EFORMAT, "cluster.ini:21: indented line"},
    /* libinih reads lines into 200 bytes: 197 characters, CR, LF */
    {"public_key = keys/party0.pub",
     "public_key = "
     "keys/party0-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxx.pub\r",
     TRINE_OK, ""},
    {"public_key = keys/party0.pub",
     "public_key = "
     "keys/party0-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxx.pub",
     TRINE_EFORMAT, "cluster.ini:8: line is 198 characters long; at most 197 fit"},
    {"# test cluster\n", "name = early\n", TRINE_EFORMAT,
     "cluster.ini:1: name: key before any section"},
    /* sections and keys */
    {"[party2]", "[party3]", TRINE_EFORMAT,
     "cluster.ini:15: unknown section [party3]; expected [cluster], [party0]..[party2], "
     "[clients], [local], [store], [limits]"},
    {"allow = keys/clients/\n", "allow = keys/clients/\n[party0]\n", TRINE_EFORMAT,
     "cluster.ini:22: section [party0] appears again (first on line 5)"},
    {"client = tcp://127.0.0.1:7201", "cliend = tcp://127.0.0.1:7201", TRINE_EFORMAT,
     "cluster.ini:12: [party1] unknown key 'cliend'; expected peer, client, public_key"},
    {"name = test\n", "name = test\nname = again\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] name: duplicate key (first set on line 3)"},
    {"client = tcp://127.0.0.1:7201\n", "", TRINE_EFORMAT,
     "cluster.ini:10: [party1] client: missing required key"},
    {"name = test\n", "", TRINE_EFORMAT, "cluster.ini:2: [cluster] name: missing required key"},
    {"[clients]\nallow = keys/clients/\n", "", TRINE_EFORMAT,
     "cluster.ini: missing section [clients] with its required keys allow"},
    {"[party2]\npeer = tcp://127.0.0.1:7102\nclient = tcp://127.0.0.1:7202\n"
     "public_key = keys/party2.pub\n",
     "", TRINE_EFORMAT,
     "cluster.ini: missing section [party2] with its required keys peer, client, public_key"},
    /* empty values */
    {"peer = tcp://127.0.0.1:7102", "peer =", TRINE_EFORMAT,
     "cluster.ini:16: [party2] peer: empty value"},
    {"public_key = keys/party1.pub", "public_key = ; later", TRINE_EFORMAT,
     "cluster.ini:13: [party1] public_key: empty value"},
    {"allow = keys/clients/", "allow = keys/clients/\n[local]\nsecret_key = # none", TRINE_EFORMAT,
     "cluster.ini:23: [local] secret_key: empty value"},
    {"allow = keys/clients/", "allow = keys/clients/\n[store]\ndir =", TRINE_EFORMAT,
     "cluster.ini:23: [store] dir: empty value"},
    {"allow = keys/clients/", "allow = keys/clients/\n[store]\nfolder = s", TRINE_EFORMAT,
     "cluster.ini:23: [store] unknown key 'folder'; expected dir"},
    /* names and numbers */
    {"name = test", "name = my cluster", TRINE_EFORMAT,
     "cluster.ini:3: [cluster] name: 'my cluster' is not a name"},
    {"name = test", "name = 0123456789012345678901234567890123456789012345678901234567890123",
     TRINE_EFORMAT,
     "cluster.ini:3: [cluster] name: '012345678901234567890123...9012345678901234567890123' is "
     "not"},
    {"name = test\n", "name = test\ntruncation = fast\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] truncation: 'fast' is neither exact nor local"},
    {"name = test\n", "name = test\nprotocol = falcon\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] protocol: 'falcon' is not securenn, fss, auto or carry"},
    {"name = test\n", "name = test\nfss_max = 0\n", TRINE_ERANGE, "[cluster] fss_max"},
    {"name = test\n", "name = test\nfrac_bits = 12abc\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] frac_bits: '12abc' is not a whole number"},
    {"name = test\n", "name = test\nfrac_bits = -1\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] frac_bits: '-1' is not a whole number"},
    {"name = test\n", "name = test\nfrac_bits = 0x10\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] frac_bits: '0x10' is not a whole number"},
    {"name = test\n", "name = test\nfrac_bits = 31\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] frac_bits: '31' is out of range 0..30"},
    {"name = test\n", "name = test\nfrac_bits = 99999999999999999999999\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] frac_bits: '99999999999999999999999' is out of range 0..30"},
    {"name = test\n", "name = test\ntimeout_ms = 99\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] timeout_ms: '99' is out of range 100..3600000"},
    {"name = test\n", "name = test\nheartbeat_ms = 49\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] heartbeat_ms: '49' is out of range 50..60000"},
    {"name = test\n", "name = test\n\nheartbeat_ms = 30000\n", TRINE_ERANGE,
     "cluster.ini:5: [cluster] heartbeat_ms: heartbeat_ms (30000) must be less than timeout_ms "
     "(30000)"},
    {"name = test\n", "name = test\ntimeout_ms = 1000\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] timeout_ms: heartbeat_ms (1000) must be less than timeout_ms "
     "(1000)"},
    /* sizes */
    {"name = test\n", "name = test\nmemory_limit = 99999999999G\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] memory_limit: '99999999999G' is too large"},
    {"name = test\n", "name = test\nmemory_limit = 18446744073709551616\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] memory_limit: '18446744073709551616' is too large"},
    {"name = test\n", "name = test\nmemory_limit = 1.5G\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] memory_limit: '1.5G' is not a size"},
    {"name = test\n", "name = test\nmemory_limit = 12X\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] memory_limit: '12X' is not a size"},
    {"name = test\n", "name = test\nmemory_limit = 1GB\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] memory_limit: '1GB' is not a size"},
    {"name = test\n", "name = test\nmemory_limit = G\n", TRINE_EFORMAT,
     "cluster.ini:4: [cluster] memory_limit: 'G' is not a size"},
    {"name = test\n", "name = test\nmemory_limit = 1023K\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] memory_limit: '1023K' is below the minimum of 1M"},
    {"name = test\n", "name = test\nmax_message = 123\n", TRINE_ERANGE,
     "cluster.ini:4: [cluster] max_message: '123' is below the minimum of 64K"},
    /* endpoints */
    {"peer = tcp://127.0.0.1:7101", "peer = tcp//x", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp//x' is not an endpoint of the form tcp://HOST:PORT"},
    {"peer = tcp://127.0.0.1:7101", "peer = udp://127.0.0.1:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'udp://127.0.0.1:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://127.0.0.1", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://127.0.0.1' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://127.0.0.1:0", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://127.0.0.1:0' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://127.0.0.1:65536", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://127.0.0.1:65536' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://*:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://*:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://10.0.0:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://10.0.0:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://256.0.0.1:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://256.0.0.1:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://bad_host:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://bad_host:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://-a.b:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://-a.b:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://::1:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://::1:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://[zz::1]:7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://[zz::1]:7101' is not an endpoint"},
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://127.0.0.1:+7101", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://127.0.0.1:+7101' is not an endpoint"},
    /* endpoints two parties share */
    {"peer = tcp://127.0.0.1:7101", "peer = tcp://127.0.0.1:7100", TRINE_EFORMAT,
     "cluster.ini:11: [party1] peer: 'tcp://127.0.0.1:7100' is also [party0] peer (line 6)"},
    {"client = tcp://127.0.0.1:7202", "client = tcp://127.0.0.1:07101", TRINE_EFORMAT,
     "cluster.ini:17: [party2] client: 'tcp://127.0.0.1:07101' is also [party1] peer (line 11)"},
    {"client = tcp://127.0.0.1:7200", "client = tcp://LocalHost:7200", TRINE_OK, ""},
    {"client = tcp://127.0.0.1:7201", "client = tcp://localhost:7200", TRINE_OK, ""},
};

START_TEST(config_error_cases)
{
    config_cluster_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    trine_status_t rc = load_edited(c, &err, config_errors[_i].find, config_errors[_i].with);
    ck_assert_msg(rc == config_errors[_i].status, "case %d: status %d, message '%s'", _i, rc,
                  err.msg);
    if (rc != TRINE_OK) {
        ck_assert_int_eq(err.code, rc);
        ck_assert_msg(strstr(err.msg, config_errors[_i].expect) != NULL,
                      "case %d: message '%s' lacks '%s'", _i, err.msg, config_errors[_i].expect);
        /* A failed load leaves nothing half-filled behind. */
        ck_assert_str_eq(c->name, "");
        ck_assert_str_eq(c->party[0].peer, "");
    }
    free(c);
}
END_TEST

START_TEST(config_endpoint_case_clash)
{
    /* Hosts compare without case, so two spellings of one endpoint clash. */
    config_cluster_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    ck_assert_int_eq(load_edited(c, &err,
                                 "peer = tcp://127.0.0.1:7100\nclient = tcp://127.0.0.1:7200",
                                 "peer = tcp://LocalHost:7100\nclient = tcp://localhost:7100"),
                     TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "cluster.ini:7: [party0] client: 'tcp://localhost:7100' "
                                          "is also [party0] peer (line 6)"));
    free(c);
}
END_TEST

START_TEST(config_io_and_arguments)
{
    config_cluster_t *c = malloc(sizeof *c);
    trine_err_t err = {0};
    char dir[64], path[128];
    scratch_new(dir);
    snprintf(path, sizeof path, "%s/absent.ini", dir);
    ck_assert_int_eq(config_cluster_load(c, path, &err), TRINE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "absent.ini: cannot open: No such file or directory"));
    ck_assert_int_eq(config_cluster_load(c, dir, &err), TRINE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, ": cannot read: Is a directory"));
    scratch_write(path, dir, "cluster.ini", "");
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("[cluster]\nname = a\0b\n", 1, 20, f), 20);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(config_cluster_load(c, path, &err), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "cluster.ini:2: NUL byte in line"));
    ck_assert_int_eq(config_cluster_load(c, path, NULL), TRINE_EFORMAT);
    /* A long path is shortened in messages, both ends kept. */
    char long_path[300];
    snprintf(long_path, sizeof long_path, "%s/%0200d/cluster.ini", dir, 0);
    ck_assert_int_eq(config_cluster_load(c, long_path, &err), TRINE_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/tmp/check-config-"));
    ck_assert_ptr_nonnull(strstr(err.msg, "...0000000000000/cluster.ini: cannot open"));
    ck_assert_int_eq(config_cluster_load(NULL, path, &err), TRINE_EINVAL);
    ck_assert_int_eq(config_cluster_load(c, NULL, &err), TRINE_EINVAL);
    scratch_free(dir);
    free(c);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, config_sample_loads);
    tcase_add_test(tc, config_defaults);
    tcase_add_test(tc, config_relative_paths);
    tcase_add_test(tc, config_comments_crlf_bom);
    tcase_add_test(tc, config_values_accepted);
    tcase_add_loop_test(tc, config_error_cases, 0,
                        (int)(sizeof config_errors / sizeof config_errors[0]));
    tcase_add_test(tc, config_endpoint_case_clash);
    tcase_add_test(tc, config_io_and_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(config_suite());
}
