/*
 * print: ofsted-notifyctl's online replies as text for people. Every
 * printer takes a reply the daemon sent with "ok": true (its shape is the
 * daemon's, docs/protocol.md; a missing member shows as "-") and writes it
 * to stdout, times in the trust's zone. Text from the daemon goes through
 * print_say(), which shows control characters as '?', so that a terminal
 * takes none of it for an escape sequence.
 */
#ifndef ONOTIFY_CTL_PRINT_H
#define ONOTIFY_CTL_PRINT_H

#include "online.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* A printer: the reply `r` of command `o` for people. */
typedef void (*print_fn)(const struct online *o, json_t *r);

/* printf to `f` with every control character but newline shown as '?'. */
void print_say(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The member `key` of `obj` as text: strings as they are, numbers in
 * decimal, booleans as yes/no, anything else as "-". The result is the
 * string itself or `buf`.
 */
const char *print_field(const json_t *obj, const char *key, char *buf,
                        size_t len);

void print_event(const struct online *o, json_t *r);    /* notify ... event */
void print_list(const struct online *o, json_t *r);     /* list */
void print_show(const struct online *o, json_t *r);     /* show */
void print_upcoming(const struct online *o, json_t *r); /* upcoming */
void print_ack(const struct online *o, json_t *r);      /* ack */
void print_history(const struct online *o, json_t *r);  /* history */
void print_status(const struct online *o, json_t *r);   /* status */
void print_reload(const struct online *o, json_t *r);   /* reload */
void print_token(const struct online *o, json_t *r);    /* token create */
/* Running it for years. */
void print_backup(const struct online *o, json_t *r);  /* backup */
void print_audit(const struct online *o, json_t *r);   /* audit */
void print_export(const struct online *o, json_t *r);  /* export */
void print_tokens(const struct online *o, json_t *r);  /* token list */
void print_revoked(const struct online *o, json_t *r); /* token revoke */

/*
 * ics: the pending alerts of an upcoming reply as one iCalendar, one event
 * per (case, rule), built by ics_deadline_event() as the email attachment
 * is. Alerts without a case, rule, school or due time are counted on
 * stderr and left out.
 */
void print_ics(const struct online *o, json_t *r);

/* One alert from the feed, on one line. */
void print_alert(const struct online *o, json_t *a);

#endif
