/*
 * support: helpers shared by the unit tests, so each suite loads the shipped
 * data the same way and fails with the same clear message when it cannot.
 */
#ifndef ONOTIFY_TEST_SUPPORT_H
#define ONOTIFY_TEST_SUPPORT_H

#include "calendar.h"
#include "conf.h"
#include "tz.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A unit test program's whole main(), from the list of its tests, at the
 * end of a file: UNIT_MAIN({ cmocka_unit_test(a), cmocka_unit_test(b), }),
 * or UNIT_MAIN_GROUP(gsetup, gteardown, { ... }) with a group setup and
 * teardown. The list is variadic only because the preprocessor splits a
 * braced list at its commas.
 */
#define UNIT_MAIN(...) UNIT_MAIN_GROUP(NULL, NULL, __VA_ARGS__)
#define UNIT_MAIN_GROUP(gsetup, gteardown, ...)                          \
        int main(void)                                                   \
        {                                                                \
                const struct CMUnitTest tests[] = __VA_ARGS__;           \
                return cmocka_run_group_tests(tests, gsetup, gteardown); \
        }

/* The example alert of docs/dispatch.md's JOB, as JSON text. */
#define SUPPORT_ALERT                                                    \
        "{\"trust\": \"Example Learning Trust\", \"case\": 7,"           \
        " \"school\": {\"urn\": \"100001\", \"name\": \"Oak Primary\"}," \
        " \"rule\": \"deferral_cutoff\", \"offset\": \"-60m\","          \
        " \"late\": false,"                                              \
        " \"action\": \"If you need to ask for a deferral, ask before "  \
        "16:30.\","                                                      \
        " \"contact\": \"Senior Ofsted leader: 0300 123 4231\","         \
        " \"at\": \"2024-03-04T15:30:00+00:00\","                        \
        " \"due\": \"2024-03-04T16:30:00+00:00\","                       \
        " \"due_utc\": \"2024-03-04T16:30:00Z\","                        \
        " \"due_human\": \"Mon 4 Mar 2024 16:30 GMT\","                  \
        " \"opens\": null, \"opens_human\": null, \"warning\": null}"

/* Parses `text`, which must be JSON (else the test fails); caller decrefs. */
json_t *support_json(const char *text);
/* Whether [s, s + n) is whole, valid UTF-8 (no overlongs or surrogates
 * are produced by the code under test, so the shape of each sequence is
 * enough): written here, not the modules' own check. */
bool support_utf8_whole(const unsigned char *s, size_t n);

/* `text` with its folds (CRLF and a space, as RFC 5545 section 3.1 folds a
 * calendar's lines) undone. Caller frees. */
char *support_unfold(const char *text);

/* `n` copies of `unit` (a character of one or more bytes); caller frees. */
char *support_repeat(const char *unit, size_t n);

/* The zone from the system tz database; fails the test if it cannot. */
struct tz *support_tz(const char *name);
/* "YYYY-MM-DDTHH:MM:SSZ" to a UTC instant, by glibc's timegm (an oracle
 * independent of civil.h); fails the test on any other text. */
int64_t support_utc(const char *s);
/* A calendar holding `division` of config/bank-holidays.json. */
struct calendar *support_calendar(const char *division);

/* Removes the scratch directory `dir` and all below it: 0, or -1. */
int support_rmtree(const char *dir);
/*
 * A config in `dir` with one channel `name` of `type` and no secret files,
 * as conf_load() leaves it; ch is the channel, conf points to it.
 */
void support_one_channel(struct conf *conf, struct channel *ch, const char *dir,
                         const char *name, enum channel_type type);

#endif
