/* fuzz.h — what trine's libFuzzer targets (tests/fuzz/fuzz_*.c) share.
 *
 * Each target feeds one input to a decoder or loader that reads hostile
 * bytes, then checks what a correct decoder promises (a round trip through
 * the matching encoder, counts that match shapes, a message on failure), so
 * that a wrong answer fails as loudly as a crash. Everything a target
 * allocates is freed before it returns: LeakSanitizer runs.
 *
 * Input files. For code under test that reads a path, the input is
 * written to a file in a temporary folder of this process (mkdtemp under
 * $TMPDIR or /tmp, removed at exit), so that parallel fuzzers never share a
 * file. Every input goes to the same file, "input". Loaders that resolve
 * paths named in the input (key files, a bench file's cluster.ini) against
 * the file's folder resolve them inside this folder, which holds nothing
 * else; none of trine's loaders opens them.
 */
#ifndef TRINE_FUZZ_H
#define TRINE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point: 0 always (the input is never rejected). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken promise with its place and aborts, which libFuzzer
 * records as a crash with the input that caused it. */
_Noreturn void fuzz_fail(const char *file, int line, const char *what);
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))
/* The same for a call that returns a trine_status_t and fills the
 * trine_err_t err: the report is err's message. */
#define FUZZ_OK(call, err) ((call) == TRINE_OK ? (void)0 : fuzz_fail(__FILE__, __LINE__, (err).msg))

/* Writes data to this process's input file and returns its path (owned
 * here, the same every call). Aborts when the folder or the file cannot
 * be written: a fuzzer that silently tests nothing is worse than one that
 * stops. */
const char *fuzz_file_write(const uint8_t *data, size_t size);

#endif
