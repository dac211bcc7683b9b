/*
 * conf_ops: the daemon group's keys for running the service for years
 * (backups_keep, retention, check_time, channel_stale_after, heartbeat)
 * and each channel's `check`.
 */
#include "conf_int.h"

#include "duration.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BACKUPS_KEEP_DEFAULT 14
#define STALE_DEFAULT        (14 * 86400)
#define HEARTBEAT_DEFAULT    300
#define HEARTBEAT_MIN        60
/* For the test suite only: a shorter least heartbeat period, in seconds
 * (ofsted-notifyd(8), ENVIRONMENT). */
#define HEARTBEAT_MIN_ENV  "OFSTED_NOTIFY_TEST_HEARTBEAT_MIN"
#define CHECK_TIME_DEFAULT "Mon 08:00"

const char *const ld_ops_keys[] = { "backups_keep", "retention",
                                    "check_time",   "channel_stale_after",
                                    "heartbeat",    NULL };

static const char *const checks[] = { "weekly", "daily", "monthly", "off",
                                      NULL };

const char *
conf_channel_check_name(enum channel_check check)
{
        return checks[check];
}

/*
 * A duration setting `key` of group g, from `min` to `max` seconds, into
 * *out; left as it is when absent. Reported at its line when bad.
 */
static void
get_duration(struct loader *ld, const config_setting_t *g, const char *key,
             int64_t min, int64_t max, int64_t *out)
{
        const config_setting_t *m =
            g != NULL ? config_setting_get_member(g, key) : NULL;
        const char *text;
        int64_t v;

        if (m == NULL)
                return;
        text = config_setting_get_string(m);
        if (text == NULL) {
                ld_error_at(ld, m,
                            "'%s' must be a length of time in quotes, such "
                            "as \"180d\"",
                            key);
                return;
        }
        if (duration_parse(text, &v) < 0) {
                ld_error_at(ld, m,
                            "%s '%s' is not a length of time: a whole number "
                            "and one unit (" DURATION_UNITS "), such as "
                            "\"180d\"",
                            key, text);
                return;
        }
        if (v < min || v > max) {
                ld_error_at(ld, m,
                            "%s '%s' must be from %lld to %lld seconds long",
                            key, text, (long long)min, (long long)max);
                return;
        }
        *out = v;
}

static void
load_retention(struct loader *ld, const config_setting_t *g)
{
        static const char *const keys[] = { "closed_cases", "personal", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *r =
            g != NULL ? ld_get_group(ld, g, "retention") : NULL;

        if (r == NULL)
                return;
        ld_check_keys(ld, r, keys, "daemon.retention");
        /* At least a day: a typo of "2m" for two months must not empty
         * the database within minutes. */
        get_duration(ld, r, "closed_cases", 86400, 100LL * 365 * 86400,
                     &c->daemon.retention_closed);
        get_duration(ld, r, "personal", 86400, 100LL * 365 * 86400,
                     &c->daemon.retention_personal);
        if (c->daemon.retention_closed > 0 &&
            c->daemon.retention_personal > c->daemon.retention_closed)
                ld_error_at(ld, config_setting_get_member(r, "personal"),
                            "retention: personal is longer than "
                            "closed_cases, which deletes the whole case "
                            "first");
}

static void
load_heartbeat(struct loader *ld, const config_setting_t *g)
{
        static const char *const keys[] = { "url_file", "every", NULL };
        struct conf *c = ld->conf;
        const config_setting_t *h =
            g != NULL ? ld_get_group(ld, g, "heartbeat") : NULL;
        int64_t every = HEARTBEAT_DEFAULT;

        c->daemon.heartbeat_every = HEARTBEAT_DEFAULT;
        if (h == NULL) {
                c->daemon.heartbeat_url_file = xstrdup("");
                c->daemon.heartbeat_url_file_at = xstrdup("");
                return;
        }
        ld_check_keys(ld, h, keys, "daemon.heartbeat");
        c->daemon.heartbeat_url_file =
            ld_dup_string(ld, h, "url_file", NULL, "daemon.heartbeat");
        if (c->daemon.heartbeat_url_file == NULL)
                c->daemon.heartbeat_url_file = xstrdup("");
        c->daemon.heartbeat_url_file_at = ld_setting_at(ld, h, "url_file");
        get_duration(ld, h, "every",
                     ld_test_min(HEARTBEAT_MIN_ENV, HEARTBEAT_MIN), 86400,
                     &every);
        c->daemon.heartbeat_every = (int)every;
}

void
ld_load_ops(struct loader *ld, const config_setting_t *g)
{
        struct conf *c = ld->conf;
        const char *when;
        const config_setting_t *m;

        c->daemon.backups_keep = BACKUPS_KEEP_DEFAULT;
        ld_get_int(ld, g, "backups_keep", 1, 1000, &c->daemon.backups_keep);
        load_retention(ld, g);
        c->daemon.stale_after = STALE_DEFAULT;
        get_duration(ld, g, "channel_stale_after", 3600, 365 * 86400,
                     &c->daemon.stale_after);
        when = ld_get_string(ld, g, "check_time", false, "daemon");
        m = g != NULL ? config_setting_get_member(g, "check_time") : NULL;
        if (duration_weekly(when != NULL ? when : CHECK_TIME_DEFAULT,
                            &c->daemon.check_wday, &c->daemon.check_minute) < 0)
                ld_error_at(ld, m,
                            "check_time '%s': want a day and a time of the "
                            "trust's zone, such as \"Mon 08:00\"",
                            when);
        load_heartbeat(ld, g);
}

void
ld_free_ops(struct conf *c)
{
        free(c->daemon.heartbeat_url_file);
        free(c->daemon.heartbeat_url_file_at);
}

void
ld_load_check(struct loader *ld, const config_setting_t *g, struct channel *ch)
{
        ch->check = (enum channel_check)ld_get_enum(ld, g, "check", checks,
                                                    CHECK_WEEKLY, "channel");
}
