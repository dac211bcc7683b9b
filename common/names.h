/*
 * names: the names and sizes every process shares, defined once.
 *
 * The longest text of each identifier that crosses a process or the store
 * (a school's URN, a rule or event kind, a channel's name and type, a
 * worker's routing id as text), so that every buffer holding one has the
 * same size and every check the same bound; and the states of a delivery,
 * an enum that becomes text only where the code meets SQL or JSON, with
 * the names the store's CHECK constraint and the control replies use; and
 * what a number people give (an id, a limit) must look like. The
 * dispatch protocol's own names (worker kinds, outcome results) are in
 * dproto.h; a case's states in case.h. Pure: no I/O.
 */
#ifndef ONOTIFY_NAMES_H
#define ONOTIFY_NAMES_H

#include <stdbool.h>

/* A school's Unique Reference Number: 6 digits. */
#define NAMES_URN_LEN 6
/* A rule's name or an event kind: [a-z][a-z0-9_]* (rules_valid_kind()). */
#define NAMES_KIND_LEN 31
/* A channel's name (letters, digits, '_', '-', '.'). */
#define NAMES_CHANNEL_LEN 64
/* A channel type's name: "google_chat" is the longest. */
#define NAMES_TYPE_LEN 15
/* An alert offset as written: "deadline", "-90m", "+30s". */
#define NAMES_OFFSET_LEN 15
/* A worker's routing id as text: ZeroMQ's 255 bytes, each at most \xNN. */
#define NAMES_WORKER_LEN (255 * 4)

/* Whether `s` is a URN: exactly NAMES_URN_LEN digits. */
bool names_valid_urn(const char *s);

/*
 * `s` as a plain decimal number in [min, max] (digits only: no sign, no
 * space), as people give one: a case id in a URL, a query's limit, a
 * count on ctl's command line. 0 and *out, or -1 when it is not one.
 */
int names_number(const char *s, long long min, long long max, long long *out);

/* Where a delivery stands (docs/dispatch.md). */
enum delivery_status {
        DELIVERY_PENDING,   /* waiting for a worker */
        DELIVERY_SENDING,   /* leased to a worker */
        DELIVERY_DELIVERED, /* settled: the receiver took it */
        DELIVERY_RETRY,     /* waiting for its next try */
        DELIVERY_FAILED,    /* settled: failed for good, or given up */
};
#define DELIVERY_NSTATUS (DELIVERY_FAILED + 1)

/* "pending", "sending", "delivered", "retry", "failed": the text of each. */
extern const char *const names_delivery_status[DELIVERY_NSTATUS];

/* The status named `text` in *out; -1 when none has that name. */
int names_delivery_status_parse(const char *text, enum delivery_status *out);

/* Whether nothing will change `status` any more (delivered or failed). */
bool names_delivery_settled(enum delivery_status status);

#endif
