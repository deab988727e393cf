/* log.c — timestamped log lines on stderr (see log.h). */
#include "daemon/common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const log_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void log_line(const log_t *log, log_level_t level, const char *fmt, ...)
{
    if (level < log->level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ %s party%d: ", ts.tv_nsec / 1000000,
                          log_names[level], log->party);
    char msg[sizeof line];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        msg[0] = '\0';
    va_end(ap);
    /* Messages quote what clients sent (names in refusals): a control
     * character is written as \xNN, so that no client forges a line. */
    for (const unsigned char *c = (const unsigned char *)msg; *c && n < sizeof line - 5; c++) {
        if (*c < 0x20 || *c == 0x7f)
            n += (size_t)snprintf(line + n, 5, "\\x%02x", *c);
        else
            line[n++] = (char)*c;
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nowhere left to report a failing stderr */
}

const char *log_bytes(char out[LOG_BYTES_CHARS], uint64_t bytes)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(out, LOG_BYTES_CHARS, "%u B", (unsigned)bytes);
        return out;
    }
    double v = (double)bytes / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(out, LOG_BYTES_CHARS, "%.1f %s", v, units[u]);
    return out;
}

const char *log_shape(char out[LOG_SHAPE_CHARS], int ndim, const size_t *shape)
{
    size_t n = (size_t)snprintf(out, LOG_SHAPE_CHARS, "[");
    for (int i = 0; i < ndim && n < LOG_SHAPE_CHARS; i++)
        n += (size_t)snprintf(out + n, LOG_SHAPE_CHARS - n, "%s%zu", i ? "," : "", shape[i]);
    if (n < LOG_SHAPE_CHARS)
        snprintf(out + n, LOG_SHAPE_CHARS - n, "]");
    return out;
}

const char *log_key(char out[LOG_KEY_CHARS], const keys_public_t *key)
{
    snprintf(out, LOG_KEY_CHARS, "%.8s...", key->z85);
    return out;
}
