/*
 * daemon: the world the daemon tests (test_daemon_*.c) share.
 *
 * ofsted-notifyd, run as systemd runs it: the real daemon in a fresh
 * directory (STATE_DIRECTORY, RUNTIME_DIRECTORY, NOTIFY_SOCKET), stopped
 * with signals or killed, and driven through the real ofsted-notifyctl and,
 * for hostile requests, a raw ZeroMQ socket on its control endpoint.
 *
 * Expected values come from the config the test writes, from the clock, or
 * from `ofsted-notifyctl plan`, the offline planner, which is the oracle for
 * which alerts an event schedules. Every wait is bounded.
 */
#ifndef ONOTIFY_TEST_DAEMON_H
#define ONOTIFY_TEST_DAEMON_H

#include "cluster.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define EXAMPLE_CONF SOURCE_DIR "/config/ofsted-notify.conf"
#define HOLIDAYS     CLUSTER_HOLIDAYS
/* The example config's trust.timezone (write_conf checks it is). */
#define TRUST_TZ "Europe/London"
#define URN      "100001"
#define WAIT_MS  10000 /* the longest any single wait may take */

/* Fast rules for timing tests: alerts seconds after the event. */
#define RULE_DRILL                                                      \
        "{ name = \"drill\"; event = \"drill\"; action = \"Drill.\";\n" \
        "    deadline = { working_days = 10; time = \"17:00\"; };\n"    \
        "    alerts = [ \"+2s\", \"+4s\" ]; }"

/* A rule the notification starts, with alerts whose times the test works
 * out by hand: an hour and two hours after the event. */
#define RULE_FOLLOWUP                                                \
        "{ name = \"followup\"; event = \"notification\";\n"         \
        "    action = \"Follow up.\";\n"                             \
        "    deadline = { working_days = 10; time = \"17:00\"; };\n" \
        "    alerts = [ \"+1h\", \"+2h\" ]; }"

/*
 * One test's world: the cluster (a directory, its config, at most one
 * daemon, a webhook worker 0 and httpsink where a test wants them;
 * c.ctlconf is ofsted-notifyctl's config, good when c.conf is not) and
 * the daemon's NOTIFY_SOCKET.
 */
struct fx {
        struct cluster c;
        char notify[192];
        char env_notify[224];
        int nfd;
};

/* The test's own local times are the trust's; SIGPIPE ignored. */
int group_setup(void **state);

/* --- Files and text --------------------------------------------------- */

/* `text` with the last occurrence of `old` (which must be there) replaced;
 * frees text. */
char *replace_last(char *text, const char *old, const char *new);

/*
 * The shipped example config, adjusted: the holidays file by absolute
 * path, `daemon` (may be NULL) in place of its catch_up line, `rules` (may
 * be NULL) appended to its rules. Caller frees.
 */
char *conf_text(const char *daemon, const char *rules);

/* Writes the config for both the daemon and ofsted-notifyctl. */
void write_conf(struct fx *f, const char *daemon, const char *rules);

/* --- JSON -------------------------------------------------------------- */
int64_t jtime(json_t *obj, const char *key);

/*
 * The alerts of `alerts` (objects with rule, offset, at) as sorted lines
 * "rule offset epoch", keeping those after `after`, of rule `only` when
 * not NULL and of no rule in `skip` (an array of names, may be NULL).
 * Comparing two such texts compares sets of alerts. Caller frees.
 */
char *alert_keys(json_t *alerts, int64_t after, const char *only, json_t *skip);

/* `upcoming --json`, which must list exactly the alerts whose
 * alert_keys() text is `want`. Returns the reply (new reference). */
json_t *upcoming_is(struct fx *f, const char *want);

bool has_string(json_t *arr, const char *s);

/* The alerts of a `show` reply's case whose rule is `rule`, new array. */
json_t *case_alerts(json_t *show, const char *rule);

/* Starts the daemon and waits for READY=1; `extra` is an env entry. */
void daemon_start_env(struct fx *f, const char *extra);

void daemon_start(struct fx *f);
/* Starts it on a clock the test steps (cluster_clock_env()), at `at` as
 * it starts, and waits for READY=1. */
void daemon_start_at(struct fx *f, time_t at);

/* Records a notification an hour ahead: an open case with nothing due
 * soon. Returns the case number. */
json_int_t open_case(struct fx *f);

/* `show --case id --json`, polled until no alert of `rule` is pending or
 * WAIT_MS passed. */
json_t *show_settled(struct fx *f, json_int_t id, const char *rule);

int setup(void **state);

/* Kills the daemon, worker and sink whatever happened; shows their logs
 * when the test failed. */
int teardown(void **state);

/* The channels the example config gives school URN, as an array. */
json_t *school_channels(struct fx *f);

/* Deliveries in a history reply for `rule` and `offset` (NULL: any). */
size_t count_deliveries(json_t *history, const char *rule, const char *offset,
                        json_t *channels);

/* Records a drill for URN now: alerts at +2 s and +4 s. Returns "now". */
time_t record_drill(struct fx *f);

#endif
