#include "status.h"

#include <stdarg.h>
#include <stdio.h>

const char *trine_strerror(trine_status_t status)
{
    switch (status) {
    case TRINE_OK: return "success";
    case TRINE_EINVAL: return "invalid argument";
    case TRINE_ENOMEM: return "out of memory";
    case TRINE_ESHAPE: return "shape mismatch";
    case TRINE_ERANGE: return "value out of range";
    case TRINE_EIO: return "input/output error";
    case TRINE_EFORMAT: return "malformed input";
    case TRINE_EUNSUPPORTED: return "unsupported";
    case TRINE_ENOENT: return "not found";
    case TRINE_EEXIST: return "already exists";
    case TRINE_EPERM: return "not permitted";
    case TRINE_ELIMIT: return "limit exceeded";
    case TRINE_ETIMEOUT: return "timed out";
    case TRINE_EPEER: return "party failure";
    }
    return "unknown status";
}

trine_status_t trine_err_set(trine_err_t *err, trine_status_t code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
