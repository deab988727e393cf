/* ini_file.h — what the INI parsers of config/ (config.c: cluster.ini, bench.c:
 * benchmark files) share around libinih. Internal to config/.
 *
 * libinih (Debian 12, r55) is built without INI_HANDLER_LINENO, with
 * multi-line values on and a fixed 200-byte line buffer. So the file is fed
 * to it line by line through ini_file_parse's own reader, which counts lines
 * (handlers read ini_file_t.lineno), rejects NUL bytes and lines libinih
 * would split, and first hands each raw line to the parser's check (libinih
 * tells a handler nothing about indentation or about a section without
 * keys). The first failure, recorded with ini_file_fail, stops the parse: the
 * reader returns EOF from then on.
 */
#ifndef TRINE_CONFIG_INI_FILE_H
#define TRINE_CONFIG_INI_FILE_H

#include "config.h"

#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Room for a quoted value or file name inside a TRINE_ERR_MSG_MAX message. */
#define INI_FILE_SHOW_MAX 52

typedef struct ini_file ini_file_t;

/* Looks at one raw line (a UTF-8 byte order mark on line 1 already
 * skipped) before libinih does; a failure is recorded with ini_file_fail. */
typedef trine_status_t (*ini_file_check_fn)(ini_file_t *f, const char *line);

struct ini_file {
    trine_err_t *err;
    trine_status_t status;            /* the first failure; TRINE_OK while there is none */
    unsigned fail_line;               /* its line, 0 when none applies */
    unsigned lineno;                  /* of the line being parsed */
    char file[INI_FILE_SHOW_MAX + 1]; /* the path as messages show it */
    char dir[CONFIG_PATH_MAX];        /* its folder, absolute, ending in '/' */
    ini_file_check_fn check;
    const char *long_hint; /* added to the message on a too long line; may be NULL */
    FILE *stream;
    char *line; /* getline's buffer */
    size_t line_cap;
};

/* Copies s[0..n) (or all of s) into out (INI_FILE_SHOW_MAX + 1 bytes), eliding
 * the middle of a long one so that both ends, which tell most, survive. */
void ini_file_show_n(char *out, const char *s, size_t n);
void ini_file_show(char *out, const char *s);

/* Records the first failure as "file:line: text" (no line when 0) and
 * returns its code; later failures return the first one's code. */
__attribute__((format(printf, 4, 5))) trine_status_t
ini_file_fail(ini_file_t *f, trine_status_t code, unsigned line, const char *fmt, ...);

/* Reads the run of plain decimal digits at s (no sign, no space) into
 * *value and sets *end after it and *overflow when it exceeds uint64_t.
 * False when s does not start with a digit. */
bool ini_file_decimal(uint64_t *value, bool *overflow, const char **end, const char *s);

/* Where libinih ends the section name of a header line "[name]": true and
 * the name's length (from line + 1) when it reads line as a header. */
bool ini_file_header(const char *line, size_t *len);

/* Starts f for the file at path: err, check and long_hint as given, the
 * shown name, path copied into copy (copy_size bytes) and the absolute
 * folder. Returns f->status. */
TRINE_NODISCARD trine_status_t ini_file_begin(ini_file_t *f, const char *path, char *copy,
                                              size_t copy_size, ini_file_check_fn check,
                                              const char *long_hint, trine_err_t *err);

/* Parses the file f was started for with handler (user is its first
 * argument) and releases what reading took. A syntax error libinih finds
 * above an error of ours wins. Returns f->status. */
TRINE_NODISCARD trine_status_t ini_file_parse(ini_file_t *f, const char *path, ini_handler handler,
                                              void *user);

#endif
