/*
 * itest: helpers the integration tests share (files, clocks, JSON
 * accessors that fail the test with a clear message).
 */
#ifndef ONOTIFY_TEST_ITEST_H
#define ONOTIFY_TEST_ITEST_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

void sleep_ms(long ms);
long long mono_ms(void);
/* The wall clock as httpsink logs it: seconds with a fraction. */
double real_s(void);
json_t *member(json_t *obj, const char *key);
const char *jstr(json_t *obj, const char *key);
json_int_t jint(json_t *obj, const char *key);
json_t *jarr(json_t *obj, const char *key);
json_t *jobj(json_t *obj, const char *key);
/* Fails unless `s` contains `part`. */
void assert_contains(const char *s, const char *part);
/* "2024-03-04T10:15:00Z" */
void utc_text(time_t t, char buf[32]);
/* An RFC 3339 time as the daemon writes it ("...+01:00" or "...Z"). */
int64_t rfc3339(const char *s);
/* Writes `text` to path.new and renames it over path (readers never see
 * half of it). */
void spill(const char *path, const char *text);

#endif
