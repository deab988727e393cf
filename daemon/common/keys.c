/* keys.c — CurveZMQ key pairs as files (see keys.h). */
#include "daemon/common/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEYS_FILE_MAX 4096 /* a key file is a line or two; refuse anything big */

bool keys_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > KEYS_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

void keys_wipe(keys_secret_t *secret)
{
    sodium_memzero(secret, sizeof *secret);
}

static trine_status_t keys_write_file(const char *path, const char *comment, const char *z85,
                                      mode_t mode, trine_err_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return trine_err_set(err, TRINE_EIO, "%s: %s", path,
                             errno == EEXIST ? "exists already; not overwriting it"
                                             : strerror(errno));
    char buf[256];
    int len = snprintf(buf, sizeof buf, "# %s\n%s\n", comment, z85);
    int ok = fchmod(fd, mode) == 0 && write(fd, buf, (size_t)len) == len;
    ok = close(fd) == 0 && ok;
    sodium_memzero(buf, sizeof buf);
    if (!ok) {
        unlink(path);
        return trine_err_set(err, TRINE_EIO, "%s: cannot write: %s", path, strerror(errno));
    }
    return TRINE_OK;
}

trine_status_t keys_generate(const char *dir, const char *name, trine_err_t *err)
{
    if (!keys_name_valid(name))
        return trine_err_set(err, TRINE_EINVAL,
                             "'%s' is not a key name: use 1-64 letters, digits, '_', '-' or "
                             "'.', not starting with '.'",
                             name);
    char pub_path[4096], key_path[4096];
    if ((size_t)snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, name) >= sizeof pub_path ||
        (size_t)snprintf(key_path, sizeof key_path, "%s/%s.key", dir, name) >= sizeof key_path)
        return trine_err_set(err, TRINE_EINVAL, "%s: directory name too long", dir);
    struct stat st;
    if (stat(pub_path, &st) == 0 || stat(key_path, &st) == 0)
        return trine_err_set(err, TRINE_EINVAL,
                             "%s/%s.pub or .key exists already; not "
                             "overwriting a key pair",
                             dir, name);

    keys_public_t pub;
    keys_secret_t sec;
    if (zmq_curve_keypair(pub.z85, sec.z85) != 0)
        return trine_err_set(err, TRINE_EUNSUPPORTED,
                             "cannot make a CURVE key pair: %s (libzmq built without CURVE?)",
                             zmq_strerror(zmq_errno()));
    trine_status_t rc = keys_write_file(key_path, "trine CurveZMQ secret key: keep it on this host",
                                        sec.z85, 0600, err);
    keys_wipe(&sec);
    if (rc != TRINE_OK)
        return rc;
    rc = keys_write_file(pub_path, "trine CurveZMQ public key", pub.z85, 0644, err);
    if (rc != TRINE_OK)
        unlink(key_path);
    return rc;
}

/* The first non-comment line of a key file, which must be a Z85 key. */
static trine_status_t keys_read_z85(char out[KEYS_Z85_LEN + 1], const char *path, trine_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return trine_err_set(err, TRINE_EIO, "%s: %s", path, strerror(errno));
    char buf[KEYS_FILE_MAX + 1];
    size_t n = fread(buf, 1, KEYS_FILE_MAX + 1, f);
    int bad_read = ferror(f);
    fclose(f);
    trine_status_t rc = TRINE_OK;
    if (bad_read)
        rc = trine_err_set(err, TRINE_EIO, "%s: cannot read", path);
    else if (n > KEYS_FILE_MAX)
        rc = trine_err_set(err, TRINE_EFORMAT, "%s: too large for a key file", path);
    buf[n < KEYS_FILE_MAX ? n : KEYS_FILE_MAX] = '\0';
    char *line = buf, *key = NULL;
    while (rc == TRINE_OK && line && !key) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strcspn(line, "\r");
        line[len] = '\0';
        if (len > 0 && line[0] != '#')
            key = line;
        line = next;
    }
    uint8_t raw[32];
    if (rc == TRINE_OK && (!key || strlen(key) != KEYS_Z85_LEN || !zmq_z85_decode(raw, key)))
        rc = trine_err_set(err, TRINE_EFORMAT,
                           "%s: no key found (expected one line of %d Z85 characters, as "
                           "written by 'trine keygen')",
                           path, KEYS_Z85_LEN);
    if (rc == TRINE_OK)
        memcpy(out, key, KEYS_Z85_LEN + 1);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

trine_status_t keys_read_public(keys_public_t *out, const char *path, trine_err_t *err)
{
    return keys_read_z85(out->z85, path, err);
}

/* True when path is a public key file as keygen writes it. */
static bool keys_is_public_file(const char *path)
{
    static const char head[] = "# trine CurveZMQ public key";
    char buf[sizeof head] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof head - 1, f);
    fclose(f);
    return n == sizeof head - 1 && !memcmp(buf, head, n);
}

trine_status_t keys_read_secret(keys_secret_t *secret, keys_public_t *pub, const char *path,
                                trine_err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return trine_err_set(err, TRINE_EIO, "%s: %s", path, strerror(errno));
    if (keys_is_public_file(path))
        return trine_err_set(err, TRINE_EINVAL,
                             "%s is a public key; give the secret key (the .key file that "
                             "keygen wrote beside it)",
                             path);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return trine_err_set(err, TRINE_EINVAL,
                             "%s: secret key is accessible to group or others (mode %03o); "
                             "fix it with: chmod 600 %s",
                             path, (unsigned)(st.st_mode & 0777), path);
    trine_status_t rc = keys_read_z85(secret->z85, path, err);
    if (rc == TRINE_OK && pub && zmq_curve_public(pub->z85, secret->z85) != 0)
        rc = trine_err_set(err, TRINE_EFORMAT, "%s: not a valid CURVE secret key", path);
    if (rc != TRINE_OK)
        keys_wipe(secret);
    return rc;
}
