/* store: the statement table, opening, faults, transactions. */
#include "store_int.h"

#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

#define XSTR(x) STR(x)
#define STR(x)  #x

/*
 * Every statement the store runs. The queries on pending alerts by time
 * say "state = 'pending'" literally so that SQLite can use the partial
 * index alerts_pending; the two the scheduler runs on every wake-up are
 * tagged with a comment so the tests can find them and check their plan.
 */
/*
 * A standing deadline: the alert `a` is its group's newest (one event's
 * rule, its alerts sharing `due`; re-planning a changed rule adds alerts
 * with the new deadline beside the old, fired or cancelled), its due is
 * after ?2 (now), and no later event of the case ends its rule
 * (temp.rule_ends, from the config's cancel_on), whatever its alerts'
 * states. `schools` and `deadlines` share it so that they cannot differ.
 */
#define STANDING_SQL(a)                                                      \
        a ".due > ?2 AND NOT EXISTS (SELECT 1 FROM alerts AS n "             \
          "WHERE n.case_id = " a ".case_id AND n.event_id = " a ".event_id " \
          "AND n.rule = " a ".rule AND n.id > " a ".id) AND NOT EXISTS "     \
          "(SELECT 1 FROM events AS e JOIN temp.rule_ends AS r "             \
          "ON r.kind = e.kind AND r.rule = " a ".rule WHERE e.case_id = " a  \
          ".case_id AND e.id > " a ".event_id)"

/* Whether the deadline of alert `a` was acknowledged (for its event). */
#define ACKED_SQL(a)                                                       \
        "EXISTS (SELECT 1 FROM acks AS k WHERE k.case_id = " a ".case_id " \
        "AND k.rule = " a ".rule AND k.event_id = " a ".event_id)"

/*
 * The `schools` view: a school's current case (the one not closed), its
 * soonest pending alert, and its soonest standing deadline with that
 * deadline's rule and whether it was acknowledged. Each part is read
 * from the case by alerts_case and events_case. `tag` names the
 * statement for the plan tests; `where` narrows it.
 */
/* clang-format off */
#define SCHOOLS_SQL(tag, where)                                              \
        tag " SELECT c.id, c.urn, c.state, c.opened_at, d.due, a.at, "       \
            "a.rule, a.offset, d.rule, " ACKED_SQL("d") " "                  \
            "FROM cases AS c LEFT JOIN alerts AS a ON a.id = "               \
            "(SELECT id FROM alerts WHERE case_id = c.id "                   \
            "AND state = 'pending' ORDER BY at, id LIMIT 1) "                \
            "LEFT JOIN alerts AS d ON d.id = (SELECT s.id FROM alerts AS s " \
            "WHERE s.case_id = c.id AND " STANDING_SQL("s") " "              \
            "ORDER BY s.due, s.id LIMIT 1) "                                 \
            "WHERE " where " c.state <> 'closed' ORDER BY c.id DESC"

/*
 * The `deadlines` view: every standing deadline of the current cases,
 * soonest first, with whether it was acknowledged; one school's from
 * cases_urn, then by alerts_case, events_case and acks_rule.
 */
#define DEADLINES_SQL(tag, where)                                            \
        tag " SELECT s.case_id, c.urn, s.rule, s.due, s.opens, "             \
            ACKED_SQL("s") " FROM cases AS c JOIN alerts AS s "              \
            "ON s.case_id = c.id WHERE " where " c.state <> 'closed' AND "   \
            STANDING_SQL("s") " ORDER BY s.due, s.case_id, s.id"
/* clang-format on */

/* Which rule which event kind ends, as the config in force says: a TEMP
 * table, the connection's own, refilled by store_rule_ends_set(). */
#define RULE_ENDS_SQL                                                     \
        "CREATE TEMP TABLE IF NOT EXISTS rule_ends (rule TEXT NOT NULL, " \
        "kind TEXT NOT NULL, PRIMARY KEY (rule, kind)) WITHOUT ROWID"

static const char *const stmt_sql[S_COUNT] = {
        [S_BEGIN] = "BEGIN IMMEDIATE",
        [S_COMMIT] = "COMMIT",
        [S_ROLLBACK] = "ROLLBACK",
        /* store_savepoint(): one step at a time, so one name. */
        [S_SAVEPOINT] = "SAVEPOINT step",
        [S_RELEASE] = "RELEASE step",
        [S_ROLLBACK_TO] = "ROLLBACK TO step",
        [S_CASE_OPEN] = "INSERT INTO cases (urn, state, contact, note, "
                        "opened_at) VALUES (?1, 'open', ?2, ?3, ?4)",
        [S_CASE_CURRENT] =
            "/* case_current */ SELECT id, urn, state, opened_at FROM cases "
            "WHERE urn = ?1 AND state <> 'closed' "
            "ORDER BY id DESC LIMIT 1",
        [S_CASE_GET] = "SELECT id, urn, state, opened_at FROM cases "
                       "WHERE id = ?1",
        [S_CASE_SET_STATE] = "UPDATE cases SET state = ?2, closed_at = "
                             "CASE WHEN ?2 = 'closed' THEN ?3 END "
                             "WHERE id = ?1",
        [S_CASE_SET_CONTACT] = "UPDATE cases SET contact = ?2 WHERE id = ?1",
        [S_CASE_CONTACT] = "SELECT contact FROM cases WHERE id = ?1",
        [S_EVENT_ADD] = "INSERT INTO events (case_id, kind, at, recorded_at, "
                        "contact, note, actor) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [S_ALERT_ADD] = "INSERT INTO alerts (case_id, event_id, rule, offset, "
                        "at, due, opens, sig, warning, state, escalation) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                        "'pending', ?10)",
        [S_ALERTS_CANCEL] =
            "/* alerts_cancel */ UPDATE alerts SET state = 'cancelled', "
            "done_at = ?3 WHERE state = 'pending' "
            "AND case_id = ?1 AND (?2 IS NULL OR rule = ?2) "
            "AND (?4 IS NULL OR event_id = ?4)",
        [S_NEXT_ALERT] = "/* next_alert */ SELECT at FROM alerts "
                         "WHERE state = 'pending' ORDER BY at LIMIT 1",
        [S_DUE_ALERTS] = "/* due_alerts */ SELECT a.id, a.case_id, "
                         "a.event_id, c.urn, a.rule, a.offset, a.at, a.due, "
                         "a.opens, a.escalation FROM alerts AS a "
                         "JOIN cases AS c ON c.id = a.case_id "
                         "WHERE a.state = 'pending' AND a.at <= ?1 "
                         "ORDER BY a.at, a.id LIMIT ?2",
        [S_ALERT_FIRE] = "UPDATE alerts SET state = 'fired', late = ?3, "
                         "done_at = ?2 WHERE id = ?1 AND state = 'pending'",
        [S_ALERT_MISS] = "UPDATE alerts SET state = 'missed', done_at = ?2 "
                         "WHERE id = ?1 AND state = 'pending'",
        [S_PENDING_GROUPS] = "SELECT DISTINCT a.case_id, a.event_id, e.at, "
                             "c.urn, a.rule, a.sig FROM alerts AS a "
                             "JOIN events AS e ON e.id = a.event_id "
                             "JOIN cases AS c ON c.id = a.case_id "
                             "WHERE a.state = 'pending' "
                             "ORDER BY a.case_id, a.event_id, a.rule, a.sig",
        [S_DELIVERY_ADD] = "INSERT INTO deliveries (alert_id, channel, type, "
                           "status, next_at, created_at, updated_at) "
                           "VALUES (?1, ?2, ?3, 'pending', ?4, ?4, ?4)",
        [S_JSON_CASES] =
            "WITH last AS (SELECT case_id, max(id) AS id FROM events "
            "GROUP BY case_id), "
            "pending AS (SELECT case_id, count(*) AS n FROM alerts "
            "WHERE state = 'pending' GROUP BY case_id) "
            "SELECT c.id, c.urn, c.state, c.opened_at, e.kind, e.at, "
            "coalesce(p.n, 0), c.contact FROM cases AS c "
            "LEFT JOIN last AS l ON l.case_id = c.id "
            "LEFT JOIN events AS e ON e.id = l.id "
            "LEFT JOIN pending AS p ON p.case_id = c.id "
            "WHERE ?1 OR c.state <> 'closed' ORDER BY c.id DESC",
        [S_JSON_CASE] = "SELECT id, urn, state, opened_at, closed_at, "
                        "contact, note FROM cases WHERE id = ?1",
        [S_JSON_CASE_EVENTS] =
            "/* case_events */ SELECT id, kind, at, recorded_at, contact, "
            "note, actor FROM events WHERE case_id = ?1 "
            "ORDER BY id",
        [S_JSON_CASE_ALERTS] =
            "/* case_alerts */ SELECT id, rule, offset, at, due, state, "
            "late, done_at, escalation FROM alerts WHERE case_id = ?1 "
            "ORDER BY at, id",
        [S_JSON_UPCOMING] = "SELECT a.case_id, c.urn, a.rule, a.at, "
                            "a.offset, a.due, a.opens, a.escalation "
                            "FROM alerts AS a "
                            "JOIN cases AS c ON c.id = a.case_id "
                            "WHERE a.state = 'pending' "
                            "ORDER BY a.at, a.id",
        [S_JSON_HISTORY] = "SELECT d.uid, a.case_id, c.urn, a.rule, a.offset, "
                           "d.channel, d.type, d.status, d.attempts, "
                           "d.last_error, a.late, d.created_at, d.updated_at "
                           "FROM deliveries AS d "
                           "JOIN alerts AS a ON a.id = d.alert_id "
                           "JOIN cases AS c ON c.id = a.case_id "
                           "ORDER BY d.id DESC LIMIT ?2",
        [S_COUNT_CASES] = "SELECT state, count(*) FROM cases GROUP BY state",
        [S_COUNT_ALERTS] = "SELECT state, count(*) FROM alerts "
                           "GROUP BY state",
        [S_COUNT_DELIVERIES] = "SELECT status, count(*) FROM deliveries "
                               "GROUP BY status",
        [S_MISSED] = "SELECT a.case_id, c.urn, a.rule, a.at, a.offset "
                     "FROM alerts AS a JOIN cases AS c ON c.id = a.case_id "
                     "WHERE a.state = 'missed' "
                     "ORDER BY a.done_at DESC, a.id DESC LIMIT ?1",
        [S_METRIC_ALERTS] = "SELECT rule, state, count(*) FROM alerts "
                            "GROUP BY rule, state ORDER BY rule, state",
        [S_METRIC_DELIVERIES] = "SELECT type, status, count(*) FROM "
                                "deliveries GROUP BY type, status "
                                "ORDER BY type, status",
        [S_LAST_DELIVERED] = "SELECT max(updated_at) FROM deliveries "
                             "WHERE status = 'delivered'",
        /* A raised lease makes a late outcome of the old one recognisable. */
        [S_DELIVERIES_REQUEUE] = "UPDATE deliveries SET status = 'pending', "
                                 "prev_worker = worker, prev_lease = lease, "
                                 "lease = lease + 1, lease_until = NULL, "
                                 "worker = NULL, updated_at = ?1 "
                                 "WHERE status = 'sending'",
        /* One row per lease that ran out, naming its worker. */
        [S_DELIVERIES_EXPIRE] = "UPDATE deliveries SET status = 'pending', "
                                "prev_worker = worker, prev_lease = lease, "
                                "lease = lease + 1, lease_until = NULL, "
                                "worker = NULL, updated_at = ?1 "
                                "WHERE status = 'sending' "
                                "AND lease_until <= ?1 "
                                "RETURNING prev_worker",
        [S_DELIVERIES_RELEASE] = "UPDATE deliveries SET status = 'pending', "
                                 "prev_worker = worker, prev_lease = lease, "
                                 "lease = lease + 1, lease_until = NULL, "
                                 "worker = NULL, updated_at = ?2 "
                                 "WHERE status = 'sending' AND worker = ?1",
        [S_DELIVERIES_READY] = "/* deliveries_ready */ SELECT d.id, "
                               "d.channel, d.type, d.lease, c.urn, a.rule "
                               "FROM deliveries AS d "
                               "INDEXED BY deliveries_ready "
                               "JOIN alerts AS a ON a.id = d.alert_id "
                               "JOIN cases AS c ON c.id = a.case_id "
                               "WHERE (d.status = 'pending' OR "
                               "d.status = 'retry') "
                               "AND d.next_at <= ?1 "
                               "AND (d.type = 'email') = ?2 "
                               "AND d.channel NOT IN "
                               "(SELECT value FROM json_each(?4)) "
                               "ORDER BY d.next_at, d.id LIMIT ?3",
        /* The worker of the last outcome (a retry's) becomes the
         * previous holder; after an expiry it already is. */
        [S_DELIVERY_LEASE] = "UPDATE deliveries SET status = 'sending', "
                             "lease = ?5 + 1, sent = sent + 1, "
                             "prev_worker = coalesce(worker, prev_worker), "
                             "prev_lease = CASE WHEN worker IS NULL "
                             "THEN prev_lease ELSE lease END, "
                             "worker = ?2, lease_until = ?3, updated_at = ?4 "
                             "WHERE id = ?1 AND lease = ?5 AND "
                             "(status = 'pending' OR status = 'retry')",
        [S_DELIVERY_FIND] = "SELECT d.id, d.status, d.lease, d.attempts, "
                            "a.done_at, d.channel, d.type, d.worker, "
                            "d.prev_worker, d.prev_lease, d.held "
                            "FROM deliveries "
                            "AS d JOIN alerts AS a ON a.id = d.alert_id "
                            "WHERE d.uid = ?1",
        /* The worker stays: the holder of the lease the outcome settled. */
        [S_DELIVERY_FINISH] = "UPDATE deliveries SET status = ?2, "
                              "next_at = ?3, last_error = ?4, "
                              "updated_at = ?5, lease_until = NULL, "
                              "attempts = attempts + ?6, "
                              "held = CASE WHEN ?7 THEN held + 1 ELSE 0 END, "
                              "receipt = coalesce(?8, receipt), "
                              "receipt_expires = "
                              "coalesce(?9, receipt_expires) "
                              "WHERE id = ?1",
        /* The receipts to poll: off deliveries_receipts, a few rows. */
        [S_RECEIPTS_OUTSTANDING] =
            "/* receipts_outstanding */ SELECT d.uid, d.channel, d.receipt, "
            "d.receipt_expires, d.worker FROM deliveries AS d "
            "JOIN alerts AS a ON a.id = d.alert_id "
            "WHERE d.receipt IS NOT NULL AND d.receipt_expires > ?1 "
            "AND +d.status = 'delivered' AND NOT EXISTS (SELECT 1 FROM acks "
            "AS k WHERE k.case_id = a.case_id AND k.rule = a.rule "
            "AND k.event_id >= a.event_id) ORDER BY d.receipt_expires",
        [S_NEXT_DELIVERY] = "/* next_delivery */ SELECT min(t) FROM ("
                            "SELECT min(next_at) AS t FROM deliveries "
                            "WHERE status = 'retry' UNION ALL "
                            "SELECT min(lease_until) FROM deliveries "
                            "INDEXED BY deliveries_leased "
                            "WHERE status = 'sending')",
        /* A JOB's rows: the delivery, then its alert as S_ALERT_READ
         * reads it. */
        [S_JOB_READ] = "SELECT d.uid, d.lease, d.sent, d.channel, d.type, "
                       "a.id, a.case_id, a.event_id, c.urn, a.rule, "
                       "a.offset, a.at, a.due, a.opens, a.late, c.contact, "
                       "a.warning, a.escalation "
                       "FROM deliveries AS d "
                       "JOIN alerts AS a ON a.id = d.alert_id "
                       "JOIN cases AS c ON c.id = a.case_id WHERE d.id = ?1",
        [S_MESSAGE_ADD] = "INSERT INTO messages (delivery_id, rcpt, subject, "
                          "body) VALUES (?1, ?2, ?3, ?4)",
        [S_MESSAGE_READ] = "SELECT rcpt, subject, body FROM messages "
                           "WHERE delivery_id = ?1",
        [S_LEASES_DUE] = "/* leases_due */ SELECT 1 FROM deliveries "
                         "INDEXED BY deliveries_leased "
                         "WHERE status = 'sending' "
                         "AND lease_until <= ?1 LIMIT 1",
        [S_DELIVERIES_SHIFT] = "UPDATE deliveries SET next_at = next_at + ?1, "
                               "lease_until = lease_until + ?1 "
                               "WHERE status IN ('pending', 'sending', "
                               "'retry')",
        /* After a reload: what waits for a local problem goes now. */
        [S_DELIVERIES_UNHOLD] = "UPDATE deliveries SET next_at = ?1 "
                                "WHERE status = 'retry' AND held > 0 "
                                "AND next_at > ?1",
        [S_JSON_HELD] = "SELECT channel, count(*), last_error "
                        "FROM deliveries WHERE held > 0 AND "
                        "(status = 'pending' OR status = 'sending' OR "
                        "status = 'retry') GROUP BY channel ORDER BY channel",
        /* `schools`: each current case with its soonest pending alert and
         * standing deadline; all of them, or one school's (from
         * cases_urn). */
        [S_JSON_SCHOOLS] = SCHOOLS_SQL("/* schools */", ""),
        [S_JSON_SCHOOLS_ONE] =
            SCHOOLS_SQL("/* schools_one */", "c.urn = ?1 AND"),
        /* `deadlines`: every standing deadline, or one school's. */
        [S_JSON_DEADLINES] = DEADLINES_SQL("/* deadlines */", ""),
        [S_JSON_DEADLINES_ONE] =
            DEADLINES_SQL("/* deadlines_one */", "c.urn = ?1 AND"),
        [S_RULE_ENDS_CLEAR] = "DELETE FROM temp.rule_ends",
        [S_RULE_ENDS_ADD] = "INSERT OR IGNORE INTO temp.rule_ends (rule, "
                            "kind) VALUES (?1, ?2)",
        /* A one-page write that changes nothing (see store_probe()). */
        [S_PROBE] = "PRAGMA user_version = " XSTR(STORE_SCHEMA_VERSION),
        /* The reads of one school or one delivery: from the case by
         * cases_urn, or the delivery by its uid, then down (or up) the
         * foreign keys by index (see migration 5 -> 6). Same columns and
         * order as S_JSON_UPCOMING and S_JSON_HISTORY. */
        [S_JSON_UPCOMING_SCHOOL] = "/* upcoming_school */ SELECT a.case_id, "
                                   "c.urn, a.rule, a.at, a.offset, a.due, "
                                   "a.opens, a.escalation FROM cases AS c "
                                   "JOIN alerts AS a ON a.case_id = c.id "
                                   "WHERE c.urn = ?1 "
                                   "AND a.state = 'pending' "
                                   "ORDER BY a.at, a.id",
        [S_JSON_HISTORY_SCHOOL] = "/* history_school */ SELECT d.uid, "
                                  "a.case_id, c.urn, a.rule, a.offset, "
                                  "d.channel, d.type, d.status, d.attempts, "
                                  "d.last_error, a.late, d.created_at, "
                                  "d.updated_at FROM cases AS c "
                                  "JOIN alerts AS a ON a.case_id = c.id "
                                  "JOIN deliveries AS d ON d.alert_id = a.id "
                                  "WHERE c.urn = ?1 "
                                  "AND (?3 IS NULL OR d.uid = ?3) "
                                  "ORDER BY d.id DESC LIMIT ?2",
        [S_JSON_HISTORY_UID] = "/* history_uid */ SELECT d.uid, a.case_id, "
                               "c.urn, a.rule, a.offset, d.channel, d.type, "
                               "d.status, d.attempts, d.last_error, a.late, "
                               "d.created_at, d.updated_at "
                               "FROM deliveries AS d "
                               "JOIN alerts AS a ON a.id = d.alert_id "
                               "JOIN cases AS c ON c.id = a.case_id "
                               "WHERE d.uid = ?3 "
                               "AND (?1 IS NULL OR c.urn = ?1) LIMIT ?2",
        /* An alert as it is told; the same columns as S_JOB_READ's from
         * a.id on. */
        [S_ALERT_READ] = "SELECT a.id, a.case_id, a.event_id, c.urn, a.rule, "
                         "a.offset, a.at, a.due, a.opens, a.late, c.contact, "
                         "a.warning, a.escalation "
                         "FROM alerts AS a "
                         "JOIN cases AS c ON c.id = a.case_id WHERE a.id = ?1",
        /* API tokens (store_tokens.c); a live one by its name, by the
         * hash of its text or of its feed key. */
        /* Acknowledgements and links (store_acks.c). The event whose
         * alerts of the rule are the newest: the deadline an
         * acknowledgement is of. */
        [S_ACK_EVENT] = "/* ack_event */ SELECT event_id, due FROM alerts "
                        "WHERE case_id = ?1 AND rule = ?2 "
                        "ORDER BY event_id DESC, id DESC LIMIT 1",
        [S_ACK_GET] = "SELECT actor, note, at FROM acks WHERE case_id = ?1 "
                      "AND rule = ?2 AND event_id = ?3",
        [S_ACK_ADD] = "INSERT INTO acks (case_id, event_id, rule, actor, "
                      "note, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        /* What an acknowledgement cancels: every escalation, and the
         * reminders whose offset is not in ?5 (a JSON array). */
        [S_ALERTS_ACK] = "UPDATE alerts SET state = 'cancelled', done_at = ?4 "
                         "WHERE state = 'pending' AND case_id = ?1 "
                         "AND rule = ?2 AND event_id = ?3 "
                         "AND (escalation > 0 OR offset NOT IN "
                         "(SELECT value FROM json_each(?5)))",
        [S_JSON_CASE_ACKS] = "SELECT rule, event_id, actor, note, at "
                             "FROM acks WHERE case_id = ?1 ORDER BY id",
        [S_LINK_ADD] = "INSERT INTO links (hash, case_id, rule, channel, "
                       "expires, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [S_LINK_FIND] = "SELECT l.case_id, c.urn, l.rule, l.channel, "
                        "l.expires FROM links AS l "
                        "JOIN cases AS c ON c.id = l.case_id "
                        "WHERE l.hash = ?1",
        /* What a service's acknowledgement of a delivery acknowledges. */
        [S_DELIVERY_CASE] = "SELECT a.case_id, c.urn, a.rule, d.channel, "
                            "d.type FROM deliveries AS d "
                            "JOIN alerts AS a ON a.id = d.alert_id "
                            "JOIN cases AS c ON c.id = a.case_id "
                            "WHERE d.uid = ?1",
        /* Links that stopped working before ?1: nobody can use them. */
        [S_LINKS_PRUNE] = "/* links_prune */ DELETE FROM links "
                          "WHERE expires < ?1",
        [S_TOKEN_ADD] = "INSERT INTO tokens (name, hash, feed_hash, role, "
                        "schools, created_at, created_by) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [S_TOKEN_LIVE] = "SELECT id FROM tokens WHERE name = ?1 "
                         "AND revoked_at IS NULL",
        [S_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = ?2 "
                           "WHERE name = ?1 AND revoked_at IS NULL",
        [S_TOKEN_LIST] = "SELECT name, role, schools, created_at, "
                         "created_by FROM tokens WHERE revoked_at IS NULL "
                         "ORDER BY name",
        [S_TOKEN_AUTH] = "SELECT name, role, schools FROM tokens "
                         "WHERE hash = ?1 AND revoked_at IS NULL",
        [S_TOKEN_FEED] = "SELECT name, role, schools FROM tokens "
                         "WHERE feed_hash = ?1 AND revoked_at IS NULL",
        /* Running it for years (store_ops.c). */
        [S_AUDIT_ADD] = "INSERT INTO audit (at, actor, source, action, urn, "
                        "case_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [S_AUDIT_LIST] = "SELECT id, at, actor, source, action, urn, case_id, "
                         "detail FROM audit WHERE at >= ?1 "
                         "AND (?2 IS NULL OR urn = ?2) "
                         "AND (?3 IS NULL OR case_id = ?3) "
                         "ORDER BY id LIMIT ?4",
        [S_BACKUP] = "VACUUM INTO ?1",
        /* Retention: what a closed case held, then the case. */
        [S_PURGE_DELIVERIES] = "DELETE FROM deliveries WHERE alert_id IN "
                               "(SELECT a.id FROM cases AS c "
                               "JOIN alerts AS a ON a.case_id = c.id "
                               "WHERE c.state = 'closed' "
                               "AND c.closed_at <= ?1)",
        [S_PURGE_ACKS] = "DELETE FROM acks WHERE case_id IN "
                         "(SELECT id FROM cases WHERE state = 'closed' "
                         "AND closed_at <= ?1)",
        [S_PURGE_LINKS] = "DELETE FROM links WHERE case_id IN "
                          "(SELECT id FROM cases WHERE state = 'closed' "
                          "AND closed_at <= ?1)",
        [S_PURGE_ALERTS] = "DELETE FROM alerts WHERE case_id IN "
                           "(SELECT id FROM cases WHERE state = 'closed' "
                           "AND closed_at <= ?1)",
        [S_PURGE_EVENTS] = "DELETE FROM events WHERE case_id IN "
                           "(SELECT id FROM cases WHERE state = 'closed' "
                           "AND closed_at <= ?1)",
        [S_PURGE_CASES] = "DELETE FROM cases WHERE state = 'closed' "
                          "AND closed_at <= ?1",
        [S_BLANK_EVENTS] = "UPDATE events SET contact = NULL, note = NULL "
                           "WHERE (contact IS NOT NULL OR note IS NOT NULL) "
                           "AND case_id IN (SELECT id FROM cases "
                           "WHERE state = 'closed' AND closed_at <= ?1)",
        [S_BLANK_CASES] = "UPDATE cases SET contact = NULL, note = NULL "
                          "WHERE state = 'closed' AND closed_at <= ?1 "
                          "AND (contact IS NOT NULL OR note IS NOT NULL)",
        [S_SCHOOL_CASES] = "SELECT id FROM cases WHERE (?1 IS NULL AND "
                           "urn <> '" STORE_TEST_URN "') OR urn = ?1 "
                           "ORDER BY urn, id",
        /* Each channel's last delivery that settled, and its last one
         * delivered. */
        [S_CHANNEL_LAST] = "SELECT status, updated_at FROM deliveries "
                           "WHERE channel = ?1 AND (status = 'delivered' OR "
                           "status = 'failed') ORDER BY id DESC LIMIT 1",
        [S_CHANNEL_DELIVERED] = "SELECT max(updated_at) FROM deliveries "
                                "WHERE channel = ?1 "
                                "AND status = 'delivered'",
        [S_CHANNEL_HEALTH] = "SELECT checked_at, confirmed_at "
                             "FROM channel_health WHERE channel = ?1",
        [S_CHANNEL_CHECKED] = "INSERT INTO channel_health (channel, "
                              "checked_at) VALUES (?1, ?2) "
                              "ON CONFLICT (channel) "
                              "DO UPDATE SET checked_at = ?2",
        /* A channel first seen counts as checked then: its first check
         * is at the next check time, not at once. */
        [S_CHANNEL_SEEN] = "INSERT INTO channel_health (channel, checked_at) "
                           "VALUES (?1, ?2) ON CONFLICT (channel) DO NOTHING",
        [S_CHANNEL_CONFIRMED] = "INSERT INTO channel_health (channel, "
                                "confirmed_at) VALUES (?1, ?2) "
                                "ON CONFLICT (channel) "
                                "DO UPDATE SET confirmed_at = ?2",
};

/* --- Helpers -------------------------------------------------------------- */

/*
 * Whether the connection's last error means the file cannot be written,
 * and why, in words (*why is static or the connection's message). `sys` is
 * errno as the failed call left it: for a failed write SQLite says only
 * "disk I/O error" and keeps no errno (sqlite3_system_errno() is 0), but
 * errno still holds the kernel's reason.
 */
static enum store_fault
classify(struct store *st, int sys, const char **why)
{
        int err;

        switch (sqlite3_extended_errcode(st->db) & 0xff) {
        case SQLITE_FULL:
                *why = "disk full";
                return STORE_FULL;
        case SQLITE_BUSY:
                *why = "locked by another process";
                return STORE_LOCKED;
        case SQLITE_READONLY:
                *why = "read-only";
                return STORE_READONLY;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
                err = sqlite3_system_errno(st->db);
                if (err == 0)
                        err = sys;
                if (err == ENOSPC) {
                        *why = "disk full";
                        return STORE_FULL;
                }
                if (err == EDQUOT) {
                        *why = "disk quota exceeded";
                        return STORE_FULL;
                }
                if (err == EROFS) {
                        *why = "read-only file system";
                        return STORE_READONLY;
                }
                if (err == EACCES || err == EPERM) {
                        *why = "permission denied";
                        return STORE_READONLY;
                }
                *why = err != 0 ? strerror(err) : sqlite3_errmsg(st->db);
                return STORE_IOERR;
        default:
                return STORE_OK;
        }
}

/*
 * Records a fault. While another process holds the lock, writes stop
 * waiting for it: one bounded wait an episode, not one a statement.
 */
static void
set_fault(struct store *st, enum store_fault fault, const char *why)
{
        char *text;

        xasprintf(&text, "state database %s: %s", st->path, why);
        free(st->fault_text);
        st->fault_text = text;
        st->fault = fault;
        sqlite3_busy_timeout(st->db,
                             fault == STORE_LOCKED ? 0 : BUSY_TIMEOUT_MS);
}

static void
clear_fault(struct store *st)
{
        free(st->fault_text);
        st->fault_text = NULL;
        st->fault = STORE_OK;
        sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
}

/*
 * Sets *cause to "what: <the connection's last error>", and notes a fault
 * when the error is one; returns -1.
 */
int
store_fail(struct store *st, const char *what, char **cause)
{
        int sys = errno;
        const char *why = NULL;
        enum store_fault fault = classify(st, sys, &why);

        if (fault != STORE_OK)
                set_fault(st, fault, why);
        if (cause != NULL)
                xasprintf(cause, "%s: %s", what,
                          fault != STORE_OK ? st->fault_text
                                            : sqlite3_errmsg(st->db));
        return -1;
}

/* While a fault lasts, a write fails at once with its reason. */
static int
gate(struct store *st, const char *what, char **cause)
{
        if (st->fault == STORE_OK)
                return 0;
        if (cause != NULL)
                xasprintf(cause, "%s: %s", what, st->fault_text);
        return -1;
}

/*
 * Steps: 1 on a row, 0 when done, -1 (cause set) on an error. A write
 * outside a transaction passes the gate first (inside one, store_begin()
 * did).
 */
int
store_step(struct store *st, sqlite3_stmt *s, const char *what, char **cause)
{
        int rc;

        if (!sqlite3_stmt_readonly(s) && sqlite3_get_autocommit(st->db) &&
            gate(st, what, cause) < 0)
                return -1;
        errno = 0; /* see classify() */
        rc = sqlite3_step(s);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return store_fail(st, what, cause);
}

int
store_step_text(struct store *st, sqlite3_stmt *s, const char *key,
                const char *what, char **cause)
{
        if (bind_text(s, 1, key) != SQLITE_OK) {
                done(s);
                return store_fail(st, what, cause);
        }
        return store_step(st, s, what, cause);
}

/* Runs a statement that returns no rows, then readies it again. */
int
store_run(struct store *st, sqlite3_stmt *s, const char *what, char **cause)
{
        int rc = store_step(st, s, what, cause);

        done(s);
        return rc < 0 ? -1 : 0;
}

int
store_write(struct store *st, sqlite3_stmt *s, bool bind_failed,
            const char *what, char **cause)
{
        if (bind_failed) {
                done(s);
                return store_fail(st, what, cause);
        }
        return store_run(st, s, what, cause);
}

/* --- Opening and closing -------------------------------------------------- */

/* Runs a PRAGMA that answers one value; its text is copied into buf. */
int
store_pragma(struct store *st, const char *sql, char *buf, size_t len)
{
        sqlite3_stmt *s = NULL;
        int rc = -1;

        if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
                goto out;
        if (sqlite3_step(s) != SQLITE_ROW)
                goto out;
        copy_col(buf, len, s, 0);
        rc = 0;
out:
        sqlite3_finalize(s);
        return rc;
}

/* The connection's settings; journal_mode must answer "wal". */
static int
configure(struct store *st, const char *path, char **cause)
{
        char mode[16];

        if (sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
                goto fail;
        if (store_pragma(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) <
            0)
                goto fail;
        if (strcmp(mode, "wal") != 0) {
                xasprintf(cause, "%s: journal mode is '%s', not 'wal'", path,
                          mode);
                return -1;
        }
        if (sqlite3_exec(st->db, "PRAGMA synchronous = FULL", NULL, NULL,
                         NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL,
                         NULL) != SQLITE_OK)
                goto fail;
        return 0;
fail:
        xasprintf(cause, "%s: %s", path, sqlite3_errmsg(st->db));
        return -1;
}

int
store_one_thread(void)
{
        if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) != SQLITE_OK ||
            sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
                return -1;
        return 0;
}

/*
 * Narrows the file `file` to `mode` when its mode grants more; adds what
 * it did to *notice. 0, or -1 with *cause when it cannot.
 */
static int
narrow_mode(const char *file, mode_t mode, char **notice, char **cause)
{
        struct stat sb;
        mode_t had, want;
        char *next;

        if (stat(file, &sb) < 0)
                return 0; /* absent: SQLite makes it, or says why not */
        had = sb.st_mode & 07777;
        want = had & mode;
        if (had == want)
                return 0;
        if (chmod(file, want) < 0) {
                xasprintf(cause,
                          "%s: mode %04o is wider than %04o, and it cannot "
                          "be narrowed: %s",
                          file, (unsigned)had, (unsigned)mode, strerror(errno));
                return -1;
        }
        xasprintf(&next, "%s%s%s mode %04o narrowed to %04o",
                  *notice ? *notice : "", *notice ? "; " : "", file,
                  (unsigned)had, (unsigned)want);
        free(*notice);
        *notice = next;
        return 0;
}

/*
 * Gives the database at `path` the mode `mode`, whatever the umask. An
 * absent file is made empty with it (an empty file is a new database to
 * SQLite, which gives the -wal and -shm it makes the database file's mode);
 * an existing one, and its -wal and -shm, are narrowed to it, *notice
 * saying so. -1 with *cause when a file cannot be made so.
 */
static int
secure_files(const char *path, mode_t mode, char **notice, char **cause)
{
        static const char *const suffixes[] = { "", "-wal", "-shm" };
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0) {
                if (fchmod(fd, mode) < 0) {
                        xasprintf(cause, "%s: chmod %04o: %s", path,
                                  (unsigned)mode, strerror(errno));
                        close(fd);
                        unlink(path);
                        return -1;
                }
                close(fd);
        } else if (errno != EEXIST) {
                return 0; /* SQLite will fail too, and say it its way */
        }
        for (size_t i = 0; i < NELEM(suffixes); i++) {
                char *file;
                int rc;

                xasprintf(&file, "%s%s", path, suffixes[i]);
                rc = narrow_mode(file, mode, notice, cause);
                free(file);
                if (rc < 0)
                        return -1;
        }
        return 0;
}

struct store *
store_open(const char *path, char **cause)
{
        return store_open_mode(path, STORE_MODE, NULL, cause);
}

struct store *
store_open_mode(const char *path, unsigned mode, char **notice, char **cause)
{
        struct store *st = xcalloc(1, sizeof(*st));
        char *dummy = NULL, *said = NULL;

        st->path = xstrdup(path);

        /* Every failure below sets a cause, so give it somewhere to go. */
        if (cause == NULL)
                cause = &dummy;
        if (notice != NULL)
                *notice = NULL;
        if (secure_files(path, (mode_t)mode & 0777, &said, cause) < 0)
                goto fail;
        /* A store belongs to one thread: no mutex around each call. */
        if (sqlite3_open_v2(path, &st->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK) {
                xasprintf(cause, "%s: %s", path,
                          st->db == NULL ? "out of memory"
                                         : sqlite3_errmsg(st->db));
                goto fail;
        }
        if (configure(st, path, cause) < 0 ||
            store_migrate(st, path, cause) < 0)
                goto fail;
        if (sqlite3_exec(st->db, RULE_ENDS_SQL, NULL, NULL, NULL) !=
            SQLITE_OK) {
                xasprintf(cause, "%s: %s", path, sqlite3_errmsg(st->db));
                goto fail;
        }
        for (int i = 0; i < S_COUNT; i++) {
                if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
                                       SQLITE_PREPARE_PERSISTENT, &st->stmts[i],
                                       NULL) != SQLITE_OK) {
                        xasprintf(cause, "%s: prepare '%s': %s", path,
                                  stmt_sql[i], sqlite3_errmsg(st->db));
                        goto fail;
                }
        }
        if (notice != NULL)
                *notice = said;
        else
                free(said);
        return st;
fail:
        free(said);
        free(dummy);
        store_close(&st);
        return NULL;
}

void
store_close(struct store **stp)
{
        struct store *st;

        if (stp == NULL || *stp == NULL)
                return;
        st = *stp;
        for (int i = 0; i < S_COUNT; i++)
                sqlite3_finalize(st->stmts[i]);
        sqlite3_close_v2(st->db);
        free(st->fault_text);
        free(st->path);
        free(st);
        *stp = NULL;
}

enum store_fault
store_fault(const struct store *st, const char **text)
{
        if (text != NULL)
                *text = st->fault_text;
        return st->fault;
}

int
store_probe(struct store *st, char **cause)
{
        sqlite3_stmt *s = st->stmts[S_PROBE];
        const char *why = NULL;
        int rc;

        if (!sqlite3_get_autocommit(st->db))
                return gate(st, "probe", cause);
        errno = 0; /* see classify() */
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
                done(s);
                clear_fault(st);
                return 0;
        }
        store_fail(st, "probe", cause);
        /* Whatever it is, the file cannot be written. */
        if (classify(st, 0, &why) == STORE_OK)
                set_fault(st, STORE_IOERR, sqlite3_errmsg(st->db));
        done(s);
        return -1;
}

/* --- Transactions --------------------------------------------------------- */

int
store_begin(struct store *st, char **cause)
{
        if (gate(st, "begin transaction", cause) < 0)
                return -1;
        return store_run(st, st->stmts[S_BEGIN], "begin transaction", cause);
}

int
store_commit(struct store *st, char **cause)
{
        return store_run(st, st->stmts[S_COMMIT], "commit", cause);
}

void
store_rollback(struct store *st)
{
        /* A failed statement may already have ended the transaction. */
        if (sqlite3_get_autocommit(st->db))
                return;
        store_run(st, st->stmts[S_ROLLBACK], "rollback", NULL);
}

int
store_savepoint(struct store *st, char **cause)
{
        /* Outside a transaction it begins one: the gate, as store_begin(). */
        if (sqlite3_get_autocommit(st->db) && gate(st, "savepoint", cause) < 0)
                return -1;
        return store_run(st, st->stmts[S_SAVEPOINT], "savepoint", cause);
}

int
store_release(struct store *st, char **cause)
{
        return store_run(st, st->stmts[S_RELEASE], "release savepoint", cause);
}

void
store_rollback_to(struct store *st)
{
        /* A failed statement may have ended the transaction, and with it
         * the savepoint: nothing is left to undo. */
        if (sqlite3_get_autocommit(st->db))
                return;
        if (store_run(st, st->stmts[S_ROLLBACK_TO], "rollback to savepoint",
                      NULL) == 0)
                store_run(st, st->stmts[S_RELEASE], "release savepoint", NULL);
}
