/* log.h — the daemon's log lines on stderr.
 *
 * One line per event: UTC timestamp with milliseconds, level, the party,
 * then the message, e.g.
 *   2026-11-21T10:00:00.123Z INFO  party0: listening for clients on tcp://...
 * Callers never pass key material, seeds or share bytes; public keys appear
 * abbreviated (log_key). Lines are written with one write() so that the
 * parties' logs interleave cleanly when they share a terminal.
 */
#ifndef TRINE_LOG_H
#define TRINE_LOG_H

#include "daemon/common/keys.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

typedef struct {
    int party;         /* shown in every line */
    log_level_t level; /* lines below this level are dropped */
} log_t;

/* Writes one line at level (when at or above log->level), to stderr, with
 * every control character of the message (a newline in a name a client
 * sent) written as \xNN: one call, one line. */
void log_line(const log_t *log, log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first 8 characters of a public key and an ellipsis, for log lines
 * and messages; out must hold LOG_KEY_CHARS bytes. */
#define LOG_KEY_CHARS 16
const char *log_key(char out[LOG_KEY_CHARS], const keys_public_t *key);

/* Sizes and shapes as people read them in log lines and messages: bytes
 * in binary units with one decimal ("8.0 MiB", plain "8 B" below 1 KiB)
 * and shapes as "[3,4]". Both return out. */
#define LOG_BYTES_CHARS 16
#define LOG_SHAPE_CHARS 96
const char *log_bytes(char out[LOG_BYTES_CHARS], uint64_t bytes);
const char *log_shape(char out[LOG_SHAPE_CHARS], int ndim, const size_t *shape);

#endif
