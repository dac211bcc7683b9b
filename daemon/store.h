/*
 * store: the scheduler's durable state in SQLite.
 *
 * The daemon is the only writer. The database runs in WAL mode with
 * foreign keys on and synchronous=FULL: a committed row survives kill -9
 * and power loss. The schema is versioned through PRAGMA user_version and
 * migrated forward on open, inside one transaction. Every statement is a
 * prepared statement with bound parameters, prepared once in store_open().
 * A store is used from one thread at a time (SQLITE_OPEN_NOMUTEX).
 *
 * Tables: cases (one inspection of one school), events (what was recorded),
 * alerts (what the rules scheduled; the pending ones indexed by time), and
 * deliveries (one per channel of a fired alert). Times are UTC seconds.
 * Cases are indexed by URN and each table by its reference to the one
 * above, so a read of one school or one case costs its own rows.
 *
 * Functions return 0 (or a row id > 0) on success and -1 on an SQLite error,
 * with *cause set (caller frees) where they take one. The store does not
 * log. Functions that return JSON return a new reference the caller owns;
 * they take the zone to write times as RFC 3339 with the local offset.
 *
 * Faults: when the file cannot be written (the disk is full, the file
 * system read-only, another process holds the write lock, an I/O error),
 * the store remembers why (store_fault()). Until store_probe() finds the
 * file writable again, every write fails at once with that reason, without
 * touching the file: a caller that retries on every pass costs nothing, and
 * only the probe waits for a lock. Reads go on as usual.
 */
#ifndef ONOTIFY_STORE_H
#define ONOTIFY_STORE_H

#include "case.h"  /* enum case_state */
#include "names.h" /* enum delivery_status, the sizes */
#include "tz.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 11
/* A delivery's public id: 32 hex digits. */
#define STORE_UID_LEN 32

struct store;

enum alert_state {
        ALERT_PENDING,
        ALERT_FIRED,
        ALERT_CANCELLED,
        ALERT_MISSED, /* its time passed while the daemon was down */
};

struct store_case {
        int64_t id;
        char urn[NAMES_URN_LEN + 1];
        enum case_state state;
        int64_t opened_at;
};

/* A pending alert as the scheduler needs it. */
struct store_alert {
        int64_t id;
        int64_t case_id;
        int64_t event_id;
        char urn[NAMES_URN_LEN + 1];
        char rule[NAMES_KIND_LEN + 1];
        char offset[NAMES_OFFSET_LEN + 1];
        int64_t at;
        int64_t due;
        int64_t opens;  /* 0 when the rule has no window */
        int escalation; /* 0: a reminder; n: the rule's nth escalation */
};

/*
 * Tells SQLite the process uses it from one thread and keeps no memory
 * statistics: no mutex around each of its allocations and calls. Call it
 * from main, before any other store function; returns -1 if SQLite was
 * already in use.
 */
int store_one_thread(void);

/*
 * The database holds contact details: it is made mode STORE_MODE (0600)
 * whatever the umask, or the mode the caller gives store_open_mode() (the
 * tests try others; the daemon always gives STORE_MODE). SQLite gives its
 * -wal and -shm the database file's mode.
 */
#define STORE_MODE 0600

/* Opens (creating when absent) and migrates the database at `path`. */
struct store *store_open(const char *path, char **cause);
/*
 * store_open() with the file's mode: a new database gets `mode` (and
 * SQLite its -wal and -shm the same); an existing one whose file, -wal or
 * -shm grants more than `mode` is narrowed to it, and *notice (when not
 * NULL) then says what was narrowed, for the caller to log; else NULL.
 * The caller frees it. A file that cannot be narrowed is refused.
 */
struct store *store_open_mode(const char *path, unsigned mode, char **notice,
                              char **cause);
void store_close(struct store **stp);

enum store_fault {
        STORE_OK,       /* writes reach the file */
        STORE_FULL,     /* no space left (or over quota) */
        STORE_READONLY, /* a read-only file system or file */
        STORE_LOCKED,   /* another process holds the write lock */
        STORE_IOERR,    /* another I/O error */
};

/*
 * Why the file cannot be written: STORE_OK, or the fault, with *text (when
 * text is not NULL) saying so for people, e.g. "state database
 * /var/lib/ofsted-notify/state.db: disk full". The text is the store's,
 * valid until its next write.
 */
enum store_fault store_fault(const struct store *st, const char **text);
/*
 * Tries a write that must reach the file (one page: the schema version
 * rewritten with its own value). Returns 0 and clears the fault when it
 * did; -1 (the fault set or renewed, *cause its text) when not. Waits for
 * another process's lock only as long as the busy timeout allows: 5 s at
 * the start of a fault, not at all while one lasts.
 */
int store_probe(struct store *st, char **cause);

const char *store_case_state_name(enum case_state state);
const char *store_alert_state_name(enum alert_state state);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int store_begin(struct store *st, char **cause);
int store_commit(struct store *st, char **cause);
void store_rollback(struct store *st);
/*
 * One step inside a transaction that must be written whole or not at all
 * (a receipt's acknowledgement in the dispatch's batch): SAVEPOINT, then
 * RELEASE when it all went, or ROLLBACK TO (and RELEASE), which undoes
 * the step's writes and keeps the transaction's others. One step at a
 * time: they do not nest. Outside a transaction, SAVEPOINT begins one
 * (refused while the store has a fault) and RELEASE commits it.
 */
int store_savepoint(struct store *st, char **cause);
int store_release(struct store *st, char **cause);
void store_rollback_to(struct store *st);

/* --- Cases and events ----------------------------------------------------- */

/* Opens a case for `urn` at `at`; returns its id. contact/note may be NULL. */
int64_t store_case_open(struct store *st, const char *urn, const char *contact,
                        const char *note, int64_t at, char **cause);
/*
 * The school's current case: the newest one that is not closed. Returns 0
 * and fills *out, 1 when there is none, -1 on error.
 */
int store_case_current(struct store *st, const char *urn,
                       struct store_case *out, char **cause);
int store_case_get(struct store *st, int64_t id, struct store_case *out,
                   char **cause);
/* Sets the state; CASE_CLOSED also records closed_at = at. */
int store_case_set_state(struct store *st, int64_t id, enum case_state state,
                         int64_t at, char **cause);
/* Replaces the case's contact details (when a new event brings them). */
int store_case_set_contact(struct store *st, int64_t id, const char *contact,
                           char **cause);
/* The case's contact details into *contact ("" when none; caller frees). */
int store_case_contact(struct store *st, int64_t id, char **contact,
                       char **cause);
/* Records an event; returns its id. contact, note and actor (who
 * recorded it: "token:NAME", "unix:USER"...) may be NULL. */
int64_t store_event_add(struct store *st, int64_t case_id, const char *kind,
                        int64_t at, int64_t recorded_at, const char *contact,
                        const char *note, const char *actor, char **cause);

/* --- Alerts ----------------------------------------------------------------
 */

/*
 * Schedules an alert (state pending). `sig` is the rule's signature at
 * planning time (see rules_signature()), kept to notice a changed rule on
 * reload; `warning` (may be NULL) is the plan's warning text for this rule.
 * Returns the alert id.
 */
int64_t store_alert_add(struct store *st, const struct store_alert *a,
                        const char *sig, const char *warning, char **cause);
/*
 * Cancels the pending alerts of case `case_id`, of `rule` only when rule is
 * not NULL. Returns how many were cancelled, or -1.
 */
int store_alerts_cancel(struct store *st, int64_t case_id, const char *rule,
                        int64_t at, char **cause);
/*
 * The same for the alerts that event `event_id` scheduled only: a case may
 * have several events that started one rule (re-planning goes event by
 * event). Returns how many were cancelled, or -1.
 */
int store_alerts_cancel_event(struct store *st, int64_t case_id,
                              int64_t event_id, const char *rule, int64_t at,
                              char **cause);
/*
 * The time of the soonest pending alert: 0 and *at when there is one, 1
 * when none. Uses the partial index on pending alerts, not a scan.
 */
int store_next_alert(struct store *st, int64_t *at, char **cause);
/*
 * Pending alerts with at <= `now`, soonest first, at most `max` into out[].
 * Returns how many, or -1.
 */
int store_due_alerts(struct store *st, int64_t now, struct store_alert *out,
                     int max, char **cause);
/* Marks a pending alert fired at `at` (late when it fired after downtime). */
int store_alert_fire(struct store *st, int64_t id, int64_t at, bool late,
                     char **cause);
/* Marks a pending alert missed at `at`. */
int store_alert_miss(struct store *st, int64_t id, int64_t at, char **cause);

/*
 * The distinct (case, event, rule, signature) groups that still have
 * pending alerts, for re-planning after a reload: calls fn for each; fn
 * returns 0 to go on, -1 to stop (store_pending_groups then returns -1).
 */
struct store_group {
        int64_t case_id;
        int64_t event_id;
        int64_t event_at;
        char urn[NAMES_URN_LEN + 1];
        char rule[NAMES_KIND_LEN + 1];
        const char *sig;
};
int store_pending_groups(struct store *st,
                         int (*fn)(const struct store_group *, void *),
                         void *arg, char **cause);

/* --- Deliveries ------------------------------------------------------------
 */

/*
 * Creates a pending delivery of alert `alert_id` to `channel` (of type
 * `type`, e.g. "email") and returns its row id; its stable public id is 32
 * random hex digits, made by SQLite (lower(hex(randomblob(16)))).
 */
int64_t store_delivery_add(struct store *st, int64_t alert_id,
                           const char *channel, const char *type, int64_t at,
                           char **cause);

/* --- Views for the control socket (JSON shapes in docs/protocol.md) ------- */

/* `list`: cases newest first; closed ones only when `all`. */
json_t *store_json_cases(struct store *st, const struct tz *tz, bool all,
                         char **cause);
/* `show`: one case with its events and alerts; NULL and *cause if none. */
json_t *store_json_case(struct store *st, const struct tz *tz, int64_t id,
                        char **cause);
/* `upcoming`: pending alerts soonest first, of one school when urn. */
json_t *store_json_upcoming(struct store *st, const struct tz *tz,
                            const char *urn, char **cause);
/*
 * `schools`: for each school with a current case (not closed), newest
 * case first: {"school", "case", "state", "opened", "next_deadline",
 * "next_deadline_rule", "acknowledged", "next_alert": {"at", "rule",
 * "offset"}}. next_deadline is the soonest deadline standing at `now`:
 * one of the case's alert groups, due after now, whose rule no later
 * event of the case ended (store_rule_ends_set()), whatever its alerts'
 * states; next_deadline_rule its rule, acknowledged whether that rule was
 * acknowledged for that event. The first two are null, acknowledged
 * false, when no deadline stands; next_alert, the soonest pending alert,
 * null when there is none. Only the `n` schools `urns` when urns is not
 * NULL.
 */
json_t *store_json_schools(struct store *st, const struct tz *tz,
                           const char *const *urns, size_t n, int64_t now,
                           char **cause);
/*
 * `deadlines`: every deadline standing at `now` (as `schools` defines
 * one) of the current cases, of one school when urn, soonest first:
 * {"case", "school", "rule", "due", "opens" (null when the rule has no
 * window), "acknowledged"}.
 */
json_t *store_json_deadlines(struct store *st, const struct tz *tz,
                             const char *urn, int64_t now, char **cause);
/*
 * Tells the store which event kinds end which rules (each rule's
 * cancel_on), for `schools` to know which deadlines still stand. Called
 * after opening and after each reload; the previous set is replaced. The
 * set is the connection's own, not in the file, so it is set while the
 * file has a fault too.
 */
int store_rule_ends_set(struct store *st, const struct rule *rules,
                        size_t nrules, char **cause);
/* `history`: deliveries newest first, of one school when urn, the one
 * delivery `uid` when not NULL. */
json_t *store_json_history(struct store *st, const struct tz *tz,
                           const char *urn, const char *uid, int limit,
                           char **cause);
/*
 * `status` counts: {"cases": {...}, "alerts": {...}, "deliveries": {...},
 * "missed": [... the 20 most recent missed alerts], "held": [{"channel",
 * "deliveries", "error"}: deliveries held by a problem on our side]}.
 */
json_t *store_json_counts(struct store *st, const struct tz *tz, char **cause);

/*
 * Numbers for metrics: {"alerts": [[rule, state, n], ...], "deliveries":
 * [[type, status, n], ...], "last_delivered": UTC seconds (absent if none)}.
 */
json_t *store_json_metrics(struct store *st, char **cause);

/*
 * A test alert to `channel` (of `type`), through the real path: a closed
 * case of school TEST_URN, a fired alert of rule TEST_RULE and one pending
 * delivery, in one transaction. Returns the delivery's row id, or -1.
 */
#define STORE_TEST_URN  "000000"
#define STORE_TEST_RULE "ofsted-notify-test"
int64_t store_test_delivery(struct store *st, const char *channel,
                            const char *type, int64_t now, char **cause);

/*
 * A one-off email to one address (a sign-in link): a closed case of
 * school TEST_URN with an event `kind`, a fired alert of rule
 * MESSAGE_RULE, one pending delivery to `channel` (an email channel) and
 * its message, in one transaction. Returns the delivery's row id, or -1.
 */
#define STORE_MESSAGE_RULE "ofsted-notify-message"
struct store_message {
        const char *rcpt;    /* one address */
        const char *subject; /* one line */
        const char *body;    /* the text */
        const char *kind;    /* what it is, for show: "signin" */
        const char *actor;   /* who asked */
};
int64_t store_message_delivery(struct store *st, const char *channel,
                               const char *type, const struct store_message *m,
                               int64_t now, char **cause);
/*
 * The message of delivery `id` into *out (strings the caller frees with
 * store_message_clear()): 1, 0 when it has none (an alert's), -1 and
 * *cause on a store error.
 */
int store_message_read(struct store *st, int64_t id, struct store_message *out,
                       char **cause);
void store_message_clear(struct store_message *m);

/* --- API tokens (common/token.h) ------------------------------------------ */

/* A token as the store keeps it; the strings are borrowed. */
struct store_token {
        const char *name;
        const unsigned char *hash;      /* TOKEN_HASH_LEN bytes */
        const unsigned char *feed_hash; /* TOKEN_HASH_LEN bytes */
        const char *role;
        const char *schools; /* a JSON array of URNs, as text */
        const char *actor;   /* who made it; may be NULL */
};
/* Adds a token; its row id, 0 when a live token has that name, or -1. */
int64_t store_token_add(struct store *st, const struct store_token *t,
                        int64_t now, char **cause);
/* Revokes the live token `name`: 1, 0 when there is none, or -1. */
int store_token_revoke(struct store *st, const char *name, int64_t now,
                       char **cause);
/* The live tokens by name: [{"name", "role", "schools", "created",
 * "created_by"}]; never a hash. */
json_t *store_json_tokens(struct store *st, const struct tz *tz, char **cause);
/*
 * The live token whose hash (or, when `feed`, whose feed key's hash) is
 * `hash`: {"name", "role", "schools"}; NULL with *cause NULL when there is
 * none, with *cause set on an error.
 */
json_t *store_json_token_auth(struct store *st, const unsigned char *hash,
                              bool feed, char **cause);

/* --- Acknowledgements and one-click links (store_acks.c) ----------------- */

/* An acknowledgement of a case's rule; note may be NULL. */
struct store_ack {
        int64_t event_id; /* the event whose deadline it acknowledges */
        int64_t due;      /* that deadline */
        char *actor;      /* owned, as note; store_ack_clear() frees them */
        char *note;
        int64_t at;
        bool fresh;    /* made by this call, not found */
        int cancelled; /* fresh: the alerts it cancelled */
};
void store_ack_clear(struct store_ack *a);
/*
 * Acknowledges rule `rule` of case `case_id` for `actor` at `now`, inside
 * the caller's transaction: the deadline the newest alerts of the rule are
 * of. A fresh one cancels the rule's pending escalations and its reminders
 * but those whose offset is in `keeps` (a JSON array of offsets as text).
 * One already there is read into *out (out->fresh false) and nothing
 * changes. Returns 0, 1 when the case has no alert of that rule, -1.
 */
int store_ack(struct store *st, int64_t case_id, const char *rule,
              const char *keeps, const char *actor, const char *note,
              int64_t now, struct store_ack *out, char **cause);
/*
 * The rule's deadline on the case (out->event_id, out->due) and its
 * acknowledgement, without changing anything: 0 when acknowledged (the
 * rest of *out filled), 1 when not, 2 when the case has no alert of that
 * rule, -1.
 */
int store_ack_read(struct store *st, int64_t case_id, const char *rule,
                   struct store_ack *out, char **cause);
/* Whether the rule's deadline from event `event_id` of the case is
 * acknowledged: 1, 0, or -1. */
int store_acked(struct store *st, int64_t case_id, int64_t event_id,
                const char *rule, char **cause);

/* A one-click link as the store keeps it: its token's hash only. */
struct store_link {
        int64_t case_id;
        char urn[NAMES_URN_LEN + 1];
        char rule[NAMES_KIND_LEN + 1];
        char channel[NAMES_CHANNEL_LEN + 1];
        int64_t expires;
};
/* Adds a link whose token hashes to `hash` (TOKEN_HASH_LEN bytes). */
int store_link_add(struct store *st, const unsigned char *hash,
                   const struct store_link *l, int64_t now, char **cause);
/* The link of `hash`: 0 and *out, 1 when there is none, -1. */
int store_link_find(struct store *st, const unsigned char *hash,
                    struct store_link *out, char **cause);
/* Deletes the links that expired before `before`: how many, or -1. */
int store_links_prune(struct store *st, int64_t before, char **cause);

/*
 * What delivery `uid` was of, as an acknowledgement made at its service
 * (a Pushover receipt) needs it: its alert's case and rule, the case's
 * school, the delivery's channel and type. 0 and *out, 1 when there is no
 * such delivery, -1.
 */
struct store_delivery_case {
        int64_t case_id;
        char urn[NAMES_URN_LEN + 1];
        char rule[NAMES_KIND_LEN + 1];
        char channel[NAMES_CHANNEL_LEN + 1];
        char type[NAMES_TYPE_LEN + 1];
};
int store_delivery_case(struct store *st, const char *uid,
                        struct store_delivery_case *out, char **cause);

/* --- Dispatch (docs/dispatch.md) ------------------------------------------ */

/*
 * A delivery as an outcome needs it. worker holds lease `lease` while its
 * status is DELIVERY_SENDING, and keeps it after
 * its outcome; prev_worker held prev_lease before it ("" and -1: none).
 */
struct store_delivery {
        int64_t id;
        enum delivery_status status;
        int64_t lease;
        int attempts;     /* the receiver's answers so far */
        int64_t fired_at; /* when its alert fired */
        char channel[NAMES_CHANNEL_LEN + 1];
        char type[NAMES_TYPE_LEN + 1];
        char worker[NAMES_WORKER_LEN + 1];
        char prev_worker[NAMES_WORKER_LEN + 1];
        int64_t prev_lease;
        int held; /* retries in a row for a problem on our side */
};

/*
 * Every delivery 'sending' back to 'pending' (at start: no worker holds
 * anything of ours), its lease raised. Returns how many, or -1.
 */
int store_deliveries_requeue(struct store *st, int64_t now, char **cause);
/*
 * The same for leases that ran out by `now`; writes (and so takes the
 * write lock) only when there are some. Calls fn (when not NULL) with the
 * worker of each lease that ran out. Returns how many, or -1.
 */
int store_deliveries_expire(struct store *st, int64_t now,
                            void (*fn)(const char *worker, void *arg),
                            void *arg, char **cause);
/* The same for the leases held by `worker` (it went silent). */
int store_deliveries_release(struct store *st, const char *worker, int64_t now,
                             char **cause);
/*
 * Up to `max` ids of deliveries ready to send at `now` (pending, or retry
 * whose time has come), email ones when `email`, webhook ones otherwise,
 * oldest first, leaving out the channels named in `skip` (a JSON array of
 * strings, or NULL). Returns how many, or -1.
 */
struct store_ready {
        int64_t id;
        char channel[NAMES_CHANNEL_LEN + 1];
        char type[NAMES_TYPE_LEN + 1];
        int64_t lease;               /* its lease number when read */
        char urn[NAMES_URN_LEN + 1]; /* its alert's school */
        char rule[NAMES_KIND_LEN + 1];
};
int store_deliveries_ready(struct store *st, bool email, int64_t now,
                           const char *skip, struct store_ready *out, int max,
                           char **cause);
/*
 * Leases ready delivery `r` (as store_deliveries_ready() read it) to
 * `worker` until `until`: status sending, sent + 1, lease + 1. Returns
 * the new lease number, or -1 (also when it is no longer as read).
 */
int64_t store_delivery_lease(struct store *st, const struct store_ready *r,
                             const char *worker, int64_t until, int64_t now,
                             char **cause);
/* By public id: 0 and *out, 1 when unknown, -1 on error. */
int store_delivery_find(struct store *st, const char *uid,
                        struct store_delivery *out, char **cause);
/* An outcome to record; the strings are borrowed. */
struct store_outcome {
        enum delivery_status status; /* delivered, retry, failed or pending */
        int64_t next_at;             /* retry: when it may go; else 0 */
        const char *error;           /* may be NULL */
        bool verdict;                /* the receiver answered: attempts + 1 */
        bool local; /* a problem on our side: held + 1, else held 0 */
        /* A delivered emergency's receipt and when it expires (Unix
         * seconds), kept with the delivery; NULL: none (any kept stays). */
        const char *receipt;
        int64_t receipt_expires;
};
/*
 * Records where a delivery stands. Its worker and lease stay, so that the
 * holder's repeat of the outcome is recognised.
 */
int store_delivery_finish(struct store *st, int64_t id,
                          const struct store_outcome *o, int64_t now,
                          char **cause);
/* The longest receipt kept: the dispatch protocol's DPROTO_RECEIPT_MAX. */
#define STORE_RECEIPT_LEN 64
/* A receipt to poll (docs/dispatch.md, "Pushover receipts"). */
struct store_receipt {
        char uid[STORE_UID_LEN + 1];
        char channel[NAMES_CHANNEL_LEN + 1];
        char receipt[STORE_RECEIPT_LEN + 1];
        int64_t expires_at;
        char worker[NAMES_WORKER_LEN + 1]; /* who delivered it */
};
/*
 * The receipts outstanding at `now`: of a delivered delivery, not expired,
 * the rule of its case not acknowledged (for its alert's event or a later
 * one), soonest to expire first. Sets *out (caller frees) and returns how
 * many, or -1.
 */
int store_receipts_outstanding(struct store *st, int64_t now,
                               struct store_receipt **out, char **cause);
/*
 * Makes every delivery waiting to retry for a problem on our side due at
 * `now` (after a reload). Returns how many, or -1.
 */
int store_deliveries_unhold(struct store *st, int64_t now, char **cause);
/*
 * Moves the times of the deliveries still to be sent (when they may go,
 * when their lease runs out) by `seconds`: after the wall clock stepped,
 * waits and leases keep their length. Returns how many, or -1.
 */
int store_deliveries_shift(struct store *st, int64_t seconds, char **cause);
/* The soonest retry time or lease expiry: 0 and *at, 1 when none. */
int store_next_delivery(struct store *st, int64_t *at, char **cause);
/*
 * An alert as it is told (a JOB, the feed): its row, whether it fired
 * late, its case's contact and the plan's warning; times in UTC seconds.
 * contact and warning are the row's own (NULL when absent):
 * store_alert_row_clear() frees them.
 */
struct store_alert_row {
        struct store_alert a;
        bool late;
        char *contact;
        char *warning;
};
/* Alert `id` into *out (caller clears it); -1 and *cause when none. */
int store_alert_read(struct store *st, int64_t id, struct store_alert_row *out,
                     char **cause);
void store_alert_row_clear(struct store_alert_row *r);

/* What a JOB (docs/dispatch.md) says of delivery and alert. */
struct store_job {
        char uid[STORE_UID_LEN + 1];
        int64_t lease;
        int64_t attempt; /* the jobs handed to workers, this one included */
        char channel[NAMES_CHANNEL_LEN + 1];
        char type[NAMES_TYPE_LEN + 1];
        struct store_alert_row alert;
};
/*
 * Delivery `id` as its JOB tells it into *out (the caller clears
 * out->alert); -1 and *cause when there is no such delivery.
 */
int store_job_read(struct store *st, int64_t id, struct store_job *out,
                   char **cause);

/* --- Running it for years (store_ops.c) ----------------------------------- */

/*
 * One entry of the audit trail: who changed what, from where. `source` is
 * one of "ctl" (ofsted-notifyctl, or ofsted-notifyd --restore run by hand),
 * "web" (ofsted-notify-web on a person's or token's behalf), "link" (a
 * link followed from an alert) and "daemon" (the scheduler itself:
 * retention). urn, case_id (0: none) and detail may be absent. The
 * strings are borrowed.
 */
struct store_audit {
        int64_t at;
        const char *actor;
        const char *source;
        const char *action; /* "event", "token_create", "backup"... */
        const char *urn;
        int64_t case_id;
        const char *detail;
};
/* Appends an entry; its id, or -1. */
int64_t store_audit_add(struct store *st, const struct store_audit *a,
                        char **cause);
/*
 * The trail oldest first, from `since` on, of school `urn` and of case
 * `case_id` when given (NULL, 0: all), at most `limit` entries: [{"id",
 * "at", "actor", "source", "action", "school", "case", "detail"}].
 */
json_t *store_json_audit(struct store *st, const struct tz *tz, int64_t since,
                         const char *urn, int64_t case_id, int limit,
                         char **cause);

/*
 * A consistent copy of the database at `path` while it is in use (VACUUM
 * INTO): the file must not exist; it is made mode STORE_MODE, a database
 * of one file (no -wal), and checked (store_verify()) before this returns
 * 0. On failure nothing is left at `path`.
 */
int store_backup(struct store *st, const char *path, char **cause);
/*
 * Whether the file at `path` is a whole state database this program can
 * open: PRAGMA integrity_check says "ok" and its schema version is from 1
 * to STORE_SCHEMA_VERSION (*version when not NULL). Opened read-only.
 */
int store_verify(const char *path, int *version, char **cause);
/*
 * Folds the -wal of the database at `path` (not in use) into the file, so
 * that the file alone holds every committed row. 0, or -1.
 */
int store_checkpoint(const char *path, char **cause);

/* What one pass of retention did. */
struct store_retention {
        int cases, events, alerts, deliveries; /* deleted */
        int acks;                              /* acks and links deleted */
        int blanked;                           /* cases and events blanked */
};
/*
 * Retention (docs: daemon.retention): deletes the cases closed at or
 * before `purge_before` with their events, alerts, deliveries,
 * acknowledgements and one-click links, and
 * blanks the contact and note of cases closed at or before
 * `blank_before` and of their events; either 0: not done. One
 * transaction. *out counts what changed.
 */
int store_retention(struct store *st, int64_t purge_before,
                    int64_t blank_before, struct store_retention *out,
                    char **cause);
/* `export`: every case of school `urn` (NULL: every school's, but not the
 * test alerts') with its events and alerts, as `show` has them. */
json_t *store_json_export(struct store *st, const struct tz *tz,
                          const char *urn, char **cause);

/* A channel's health: times in UTC seconds, 0 when never. */
struct store_channel_health {
        int64_t last_delivered; /* its last delivery delivered */
        int64_t last_settled;   /* its last delivery delivered or failed */
        bool last_failed;       /* and that one failed for good */
        int64_t checked_at;     /* its last scheduled check was made */
        int64_t confirmed_at;   /* a person last confirmed seeing it */
};
int store_channel_health(struct store *st, const char *channel,
                         struct store_channel_health *out, char **cause);
/*
 * Notes `channel` as checked at `now` unless it has been seen before, so
 * that a new channel's first check waits for the next check time.
 */
int store_channel_seen(struct store *st, const char *channel, int64_t now,
                       char **cause);
/* Notes that a person confirmed at `now` seeing `channel` (they followed
 * the one-click link of its check). */
int store_channel_confirmed(struct store *st, const char *channel, int64_t now,
                            char **cause);
/*
 * A scheduled check of `channel` (of `type`) through the real path, as
 * store_test_delivery() makes a test alert but of rule STORE_CHECK_RULE
 * and offset `every` ("weekly", "daily", "monthly"), its time noted as the
 * channel's checked_at, in one transaction. Returns the delivery's row
 * id, or -1.
 */
#define STORE_CHECK_RULE "ofsted-notify-check"
int64_t store_check_delivery(struct store *st, const char *channel,
                             const char *type, const char *every, int64_t now,
                             char **cause);

#endif
