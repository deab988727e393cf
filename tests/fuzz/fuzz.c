/* fuzz.c — what the fuzz targets share (fuzz.h). */
#include "fuzz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

_Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
    abort();
}

/* libFuzzer's entry point takes no context, so the folder is the one piece
 * of process state; targets run on one thread. */
static struct {
    char dir[4096];
    char path[4096 + 8];
} fuzz_file;

static void fuzz_file_remove(void)
{
    unlink(fuzz_file.path);
    rmdir(fuzz_file.dir);
}

static void fuzz_file_die(const char *what)
{
    perror(what);
    abort();
}

const char *fuzz_file_write(const uint8_t *data, size_t size)
{
    if (!fuzz_file.dir[0]) {
        const char *tmp = getenv("TMPDIR");
        int n = snprintf(fuzz_file.dir, sizeof fuzz_file.dir, "%s/trine-fuzz-XXXXXX",
                         tmp && tmp[0] ? tmp : "/tmp");
        if (n < 0 || (size_t)n >= sizeof fuzz_file.dir || !mkdtemp(fuzz_file.dir))
            fuzz_file_die("fuzz: cannot make a temporary folder");
        snprintf(fuzz_file.path, sizeof fuzz_file.path, "%s/input", fuzz_file.dir);
        atexit(fuzz_file_remove);
    }
    FILE *f = fopen(fuzz_file.path, "wb");
    if (!f)
        fuzz_file_die(fuzz_file.path);
    bool ok = !size || fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok)
        fuzz_file_die(fuzz_file.path);
    return fuzz_file.path;
}
