/*
 * backend_fixture: what the webhook backends' unit tests share. The
 * example job of docs/dispatch.md and what it renders to, and helpers that
 * build a request from it and read the result, failing the test on any
 * error.
 */
#ifndef ONOTIFY_BACKEND_FIXTURE_H
#define ONOTIFY_BACKEND_FIXTURE_H

#include "backend.h"
#include "backend_int.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "support.h"

#define BACKEND_FX_JOB                                                  \
        "{\"delivery\": \"3f2a9c0d5e\", \"lease\": 17, \"attempt\": 2," \
        " \"channel\": \"leaders\", \"type\": \"teams\","               \
        " \"alert\": " SUPPORT_ALERT "}"

#define BACKEND_FX_URL "https://hooks.example/webhook/abc"
#define BACKEND_FX_NOW 1709566200 /* 2024-03-04T15:30:00Z */
#define BACKEND_FX_TITLE \
        "Oak Primary: deferral_cutoff — due Mon 4 Mar 2024 16:30 GMT"
#define BACKEND_FX_TEXT "Ask before 16:30.\nDeadline: Mon 4 Mar 2024 16:30 GMT."

/* The job's "alert" object, borrowed. */
json_t *backend_fx_alert_of(json_t *job);

/* Sets alert.`key` of the job to the string `value`. */
void backend_fx_set_alert(json_t *job, const char *key, const char *value);

/* An input for `job` and `url` with the rendered title and text, at NOW. */
void backend_fx_input(struct backend_input *in, json_t *job, const char *url);

/* Builds with `type`, which must succeed. */
void backend_fx_build(const char *type, const struct backend_input *in,
                      struct http_request *r);

/* The value of header `name`, or NULL; the header must appear once. */
const char *backend_fx_header(const struct http_request *r, const char *name);

/* The string member `key` of `obj`, which must be there. */
const char *backend_fx_sget(const json_t *obj, const char *key);

/* The string member `key` of `obj` is `want`. */
void backend_fx_assert_str(const json_t *obj, const char *key,
                           const char *want);

/* Code points in UTF-8 text: the unit the services' limits are written
 * in. */
size_t backend_fx_chars(const char *s);

#endif
