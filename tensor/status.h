/* status.h — the one status enum of trine, and an error carrying a message.
 *
 * Functions that can fail return trine_status_t. Those that can say more
 * than the code (a file, a line, a value) also take a trine_err_t *err,
 * which may be NULL; when given, it is filled on failure.
 */
#ifndef TRINE_STATUS_H
#define TRINE_STATUS_H

#include <stddef.h>

#define TRINE_NODISCARD __attribute__((warn_unused_result))

typedef enum {
    TRINE_OK = 0,
    TRINE_EINVAL,      /* an argument is out of its contract */
    TRINE_ENOMEM,      /* an allocation failed */
    TRINE_ESHAPE,      /* tensor shapes do not fit together */
    TRINE_ERANGE,      /* a value is not representable (NaN, inf, too large) */
    TRINE_EIO,         /* the operating system refused a file operation */
    TRINE_EFORMAT,     /* malformed file or message */
    TRINE_EUNSUPPORTED, /* well formed, but not something trine handles */
    TRINE_ENOENT,       /* no such named thing (tensor, file, party) */
    TRINE_EEXIST,       /* the name is already taken */
    TRINE_EPERM,        /* the caller may not do this (not the owner, key not allowed) */
    TRINE_ELIMIT,       /* a configured limit would be exceeded (memory, message size) */
    TRINE_ETIMEOUT,     /* a party did not answer within the configured time */
    TRINE_EPEER         /* a party failed, left or disagrees (version, config) */
} trine_status_t;

#define TRINE_ERR_MSG_MAX 512

typedef struct {
    trine_status_t code;
    char msg[TRINE_ERR_MSG_MAX];
} trine_err_t;

/* A short static English description of a status; never NULL. */
const char *trine_strerror(trine_status_t status);

/* Fills err (when not NULL) with code and a printf-formatted message, and
 * returns code, so that failures read `return trine_err_set(err, ...);`. */
trine_status_t trine_err_set(trine_err_t *err, trine_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
