/* ini_file.c — the line reader and messages config/'s INI parsers share. */
#include "ini_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void ini_file_show_n(char *out, const char *s, size_t n)
{
    if (n <= INI_FILE_SHOW_MAX) {
        memcpy(out, s, n);
        out[n] = '\0';
        return;
    }
    size_t head = (INI_FILE_SHOW_MAX - 3) / 2, tail = INI_FILE_SHOW_MAX - 3 - head;
    memcpy(out, s, head);
    memcpy(out + head, "...", 3);
    memcpy(out + head + 3, s + n - tail, tail);
    out[INI_FILE_SHOW_MAX] = '\0';
}

void ini_file_show(char *out, const char *s)
{
    ini_file_show_n(out, s, strlen(s));
}

trine_status_t ini_file_fail(ini_file_t *f, trine_status_t code, unsigned line, const char *fmt,
                             ...)
{
    if (f->status != TRINE_OK)
        return f->status;
    char text[TRINE_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (line)
        trine_err_set(f->err, code, "%s:%u: %s", f->file, line, text);
    else
        trine_err_set(f->err, code, "%s: %s", f->file, text);
    f->status = code;
    f->fail_line = line;
    return code;
}

bool ini_file_decimal(uint64_t *value, bool *overflow, const char **end, const char *s)
{
    uint64_t v = 0;
    const char *p = s;
    *overflow = false;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            *overflow = true;
        v = v * 10 + d;
    }
    *value = v;
    *end = p;
    return p != s;
}

bool ini_file_header(const char *line, size_t *len)
{
    if (line[0] != '[')
        return false;
    /* libinih's end of a section name: ']', or a ';' after white space. */
    size_t n = 1;
    while (line[n] && line[n] != ']' && !(line[n] == ';' && strchr(" \t", line[n - 1])))
        n++;
    *len = n - 1;
    return line[n] == ']';
}

/* The folder of path as an absolute path ending in '/', so that paths
 * resolved against it survive a later chdir. */
static trine_status_t ini_file_dir(ini_file_t *f, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t keep = slash ? (size_t)(slash - path) + 1 : 0; /* the folder part, with its '/' */
    int n;
    if (path[0] == '/') {
        n = snprintf(f->dir, sizeof f->dir, "%.*s", (int)keep, path);
    } else {
        char cwd[CONFIG_PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return ini_file_fail(f, TRINE_EIO, 0, "cannot find the working directory: %s",
                                 strerror(errno));
        if (keep >= 2 && strncmp(path, "./", 2) == 0) {
            path += 2;
            keep -= 2;
        }
        bool root = strcmp(cwd, "/") == 0;
        n = snprintf(f->dir, sizeof f->dir, "%s%s%.*s", cwd, root ? "" : "/", (int)keep, path);
    }
    if (n < 0 || (size_t)n >= sizeof f->dir)
        return ini_file_fail(f, TRINE_ERANGE, 0, "the folder's path is too long");
    return TRINE_OK;
}

trine_status_t ini_file_begin(ini_file_t *f, const char *path, char *copy, size_t copy_size,
                              ini_file_check_fn check, const char *long_hint, trine_err_t *err)
{
    *f = (ini_file_t){.err = err, .status = TRINE_OK, .check = check, .long_hint = long_hint};
    ini_file_show(f->file, path);
    size_t len = strlen(path);
    if (len >= copy_size)
        return ini_file_fail(f, TRINE_ERANGE, 0, "path longer than %zu bytes", copy_size - 1);
    memcpy(copy, path, len + 1);
    return ini_file_dir(f, path);
}

/* libinih's reader: one whole line per call, like fgets, or NULL to stop. */
static char *ini_file_read_line(char *str, int num, void *stream)
{
    ini_file_t *f = stream;
    if (f->status != TRINE_OK)
        return NULL;
    errno = 0;
    ssize_t n = getline(&f->line, &f->line_cap, f->stream);
    if (n < 0) {
        if (ferror(f->stream))
            ini_file_fail(f, TRINE_EIO, 0, "cannot read: %s", strerror(errno ? errno : EIO));
        return NULL;
    }
    f->lineno++;
    size_t len = (size_t)n;
    if (strlen(f->line) != len) {
        ini_file_fail(f, TRINE_EFORMAT, f->lineno, "NUL byte in line; is this a text file?");
        return NULL;
    }
    size_t text = strcspn(f->line, "\r\n");
    if (num < 4 || text > (size_t)num - 3 || len >= (size_t)num) {
        ini_file_fail(f, TRINE_EFORMAT, f->lineno, "line is %zu characters long; at most %d fit%s",
                      text, num - 3, f->long_hint ? f->long_hint : "");
        return NULL;
    }
    const char *line = f->line;
    if (f->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3; /* libinih skips a UTF-8 byte order mark */
    if (f->check(f, line) != TRINE_OK)
        return NULL;
    memcpy(str, f->line, len + 1);
    return str;
}

trine_status_t ini_file_parse(ini_file_t *f, const char *path, ini_handler handler, void *user)
{
    if (f->status != TRINE_OK)
        return f->status;
    f->stream = fopen(path, "r");
    if (!f->stream)
        return ini_file_fail(f, TRINE_EIO, 0, "cannot open: %s", strerror(errno));
    int rc = ini_parse_stream(ini_file_read_line, f, handler, user);
    fclose(f->stream);
    f->stream = NULL;
    free(f->line);
    f->line = NULL;
    /* libinih goes on after a syntax error, so an error of ours may lie
     * below its first one; the first line wins. */
    if (rc > 0 && (f->status == TRINE_OK || (unsigned)rc < f->fail_line)) {
        f->status = TRINE_OK;
        ini_file_fail(f, TRINE_EFORMAT, (unsigned)rc,
                      "syntax error; expected [section], key = value, or a ; or # comment");
    } else if (rc < 0 && f->status == TRINE_OK) {
        ini_file_fail(f, TRINE_ENOMEM, 0, "libinih could not allocate its line buffer");
    }
    return f->status;
}
