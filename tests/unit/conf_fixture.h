/*
 * conf_fixture: what conf's unit tests share. The shipped example and
 * holidays file, a scratch directory for small configs (cmocka setup and
 * teardown), writing and loading a config there, and assertions that fail
 * the test on a mismatch.
 */
#ifndef ONOTIFY_CONF_FIXTURE_H
#define ONOTIFY_CONF_FIXTURE_H

#include "conf.h"
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_FX_EXAMPLE   SOURCE_DIR "/config/ofsted-notify.conf"
#define CONF_FX_HOLIDAYS  SOURCE_DIR "/config/bank-holidays.json"
#define CONF_FX_MAX_FILES 8

/* A scratch directory and the files written into it. */
struct conf_fx_scratch {
        char dir[64];
        char *files[CONF_FX_MAX_FILES];
        size_t nfiles;
};

/* cmocka setup and teardown: a new scratch directory in *state; teardown
 * removes it and the files written into it, failing if it cannot. */
int conf_fx_scratch_setup(void **state);

int conf_fx_scratch_teardown(void **state);

/* Writes `text` to `name` in the scratch directory; the path is borrowed. */
const char *conf_fx_scratch_write(struct conf_fx_scratch *s, const char *name,
                                  const char *text);

/* Absent optional strings: the loader may leave NULL or "" (see conf.h). */
void conf_fx_assert_absent(const char *v);

/* `o` has this anchor, amount (seconds, or whole days when `days`), unit
 * and text. */
void conf_fx_assert_offset(const struct alert_offset *o,
                           enum alert_anchor anchor, int64_t amount, bool days,
                           const char *text);

/* Message i of errs starts with "path:line: ". */
void conf_fx_assert_error_at(const struct conf_errors *errs, size_t i,
                             const char *path, int line);

/* A message conf_load() is to give: at `line`, containing `text` (NULL:
 * any text). */
struct conf_fx_error {
        int line;
        const char *text;
};

/*
 * Writes `text` as `name` in the scratch directory and loads it: it must be
 * refused with exactly the n messages of `want`, in order. A failure names
 * the message; the messages are freed (and conf_errors_free() checked).
 */
void conf_fx_assert_refused(struct conf_fx_scratch *s, const char *name,
                            const char *text, const struct conf_fx_error *want,
                            size_t n);

/* Writes `text` as `name` in the scratch directory and loads it: it must
 * load without a message (each is printed if not). The caller destroys it. */
struct conf *conf_fx_load_ok(struct conf_fx_scratch *s, const char *name,
                             const char *text);

#endif
