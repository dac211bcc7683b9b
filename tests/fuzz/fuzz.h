/*
 * fuzz: what the fuzz targets in tests/fuzz/ share.
 *
 * Each target is one file fuzz_<name>.c defining LLVMFuzzerTestOneInput()
 * over one input parser of the project. It is linked twice: with libFuzzer
 * (-DFUZZ=ON, clang) to search for crashes, and with driver.c in every
 * build, to replay its corpus as a CTest.
 *
 * A target keeps only read-only setup between inputs (a loaded config, a
 * pristine state database, a scratch directory); anything an input changes
 * is made again for the next one, so every crash replays from its input
 * alone. Setup failures are fatal: a harness that cannot run must not pass.
 */
#ifndef ONOTIFY_FUZZ_H
#define ONOTIFY_FUZZ_H

#include "conf.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer and driver.c call, once per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant of the code under test: when it does not hold, say which
 * and abort, so libFuzzer keeps the input and the replay test fails.
 */
#define FUZZ_CHECK(cond)                                      \
        do {                                                  \
                if (!(cond))                                  \
                        fuzz_fail(__FILE__, __LINE__, #cond); \
        } while (0)

void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

/* The input as a NUL-terminated string (caller frees). */
char *fuzz_cstr(const uint8_t *data, size_t size);

/*
 * A scratch directory private to this process, made on first use (under
 * /dev/shm when there is one, else $TMPDIR or /tmp) and removed at exit.
 * The string is owned by the module.
 */
const char *fuzz_dir(void);

/* `rel` under the source tree (caller frees). */
char *fuzz_source(const char *rel);

/* Writes `len` bytes to `path`, replacing it; fatal on error. */
void fuzz_write(const char *path, const void *data, size_t len);

/* The shipped example config, config/ofsted-notify.conf; owned here. */
const struct conf *fuzz_conf(void);

/*
 * A fresh copy of a state database holding a little of everything: an open
 * case of school 100001 with its notification, pending and fired alerts,
 * and deliveries of every status with the ids 00..01 to 00..06 (see
 * fuzz.c). Close it with store_close(). Copying a pristine file per input
 * keeps inputs independent.
 */
struct store *fuzz_store(void);

/* The clock the store's contents were made at: Mon 22 Mar 2027 09:45 UTC. */
#define FUZZ_NOW 1805708700LL

#endif
