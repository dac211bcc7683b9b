/* ops: retention, channel checks and channel health (ops.h). */
#include "ops.h"

#include "duration.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETENTION_EVERY 86400
/* How soon a pass looks again at the check times (they are minutes). */
#define CHECK_LOOK_MS 60000

struct ops {
        /* The minute (UTC seconds / 60) whose checks are done: they are
         * looked at once a minute, not on every pass of the loop (two
         * statements a channel); -1: at the next pass. */
        int64_t checks_minute;
        int64_t retention_next; /* UTC seconds; 0: at the first pass */
        int64_t retention_last; /* when it last ran; 0: never */
        struct store_retention last;
};

struct ops *
ops_new(void)
{
        struct ops *o = xcalloc(1, sizeof(struct ops));

        o->checks_minute = -1;
        return o;
}

void
ops_reloaded(struct ops *o)
{
        o->checks_minute = -1;
}

void
ops_destroy(struct ops **op)
{
        if (op == NULL || *op == NULL)
                return;
        free(*op);
        *op = NULL;
}

/* Retention, logged with its counts; the trail notes what it removed. */
static void
retention(struct ops *o, struct store *st, const struct conf *conf, int64_t now)
{
        int64_t closed = conf->daemon.retention_closed,
                personal = conf->daemon.retention_personal;
        struct store_retention r;
        struct store_audit a = {
                now, "daemon", "daemon", "purge", NULL, 0, NULL
        };
        char *cause = NULL, detail[256];

        if (closed == 0 && personal == 0) {
                o->retention_next = now + RETENTION_EVERY;
                return;
        }
        if (store_retention(st, closed ? now - closed : 0,
                            personal ? now - personal : 0, &r, &cause) < 0) {
                /* Tried again on a later pass (a fault is logged by main). */
                if (store_fault(st, NULL) == STORE_OK)
                        log_warnx("retention: %s", cause);
                free(cause);
                return;
        }
        o->retention_next = now + RETENTION_EVERY;
        o->retention_last = now;
        o->last = r;
        snprintf(detail, sizeof(detail),
                 "%d closed cases deleted with %d events, %d alerts and %d "
                 "deliveries; contact and note blanked in %d cases and events",
                 r.cases, r.events, r.alerts, r.deliveries, r.blanked);
        log_info("retention: %s", detail);
        if (r.cases + r.events + r.alerts + r.deliveries + r.blanked == 0)
                return;
        a.detail = detail;
        if (store_audit_add(st, &a, &cause) < 0) {
                log_warnx("audit: retention not recorded: %s", cause);
                free(cause);
        }
}

/*
 * A check of each channel whose check time came since its last one;
 * *ok false when the store failed on the way (tried again next pass).
 */
static int
checks(struct store *st, const struct conf *conf, int64_t now, bool *ok)
{
        struct store_channel_health h;
        char *cause = NULL;
        int n = 0;

        for (size_t i = 0; i < conf->nchannels; i++) {
                const struct channel *ch = &conf->channels[i];
                int64_t slot;

                /* Seen: the count of days without a delivery starts. */
                if (store_channel_seen(st, ch->name, now, &cause) < 0)
                        goto fail;
                if (ch->check == CHECK_OFF)
                        continue;
                if (store_channel_health(st, ch->name, &h, &cause) < 0)
                        goto fail;
                slot = duration_last_slot(
                    conf->tz, now, (enum duration_every)ch->check,
                    conf->daemon.check_wday, conf->daemon.check_minute);
                if (h.checked_at >= slot)
                        continue;
                if (store_check_delivery(
                        st, ch->name, conf_channel_type_name(ch->type),
                        conf_channel_check_name(ch->check), now, &cause) < 0)
                        goto fail;
                log_info("channel '%s': %s check sent", ch->name,
                         conf_channel_check_name(ch->check));
                n++;
        }
        *ok = true;
        return n;
fail:
        *ok = false;
        if (store_fault(st, NULL) == STORE_OK)
                log_warnx("channel checks: %s", cause);
        free(cause);
        return n;
}

int
ops_tick(struct ops *o, struct store *st, const struct conf *conf, int64_t now)
{
        bool ok;
        int n;

        if (store_fault(st, NULL) != STORE_OK)
                return 0;
        if (now >= o->retention_next)
                retention(o, st, conf, now);
        if (now / 60 == o->checks_minute)
                return 0;
        n = checks(st, conf, now, &ok);
        if (ok)
                o->checks_minute = now / 60;
        return n;
}

int64_t
ops_timeout(const struct ops *o, int64_t now)
{
        int64_t ms = (o->retention_next - now) * 1000;

        return ms < CHECK_LOOK_MS ? (ms < 0 ? 0 : ms) : CHECK_LOOK_MS;
}

/*
 * Whether a channel of health `h` is stale at `now`, and what to warn of
 * into `warning` ("" when nothing): nothing delivered for
 * daemon.channel_stale_after (a channel that never delivered counts from
 * when it was first seen), or its last delivery failed for good.
 */
static bool
channel_warning(const struct conf *conf, const struct store_channel_health *h,
                int64_t now, char *warning, size_t len)
{
        int64_t last = h->last_delivered ? h->last_delivered : h->checked_at;
        bool stale = last > 0 && now - last >= conf->daemon.stale_after;

        warning[0] = '\0';
        if (h->last_failed)
                snprintf(warning, len, "its last delivery failed for good");
        else if (stale)
                snprintf(warning, len, "nothing delivered for %lld days",
                         (long long)((now - last) / 86400));
        return stale;
}

void
ops_metrics(struct metrics *m, struct store *st, const struct conf *conf,
            int64_t now)
{
        static const char *const names[] = {
                "ofsted_notify_channel_last_delivered_timestamp_seconds",
                "ofsted_notify_channel_last_confirmed_timestamp_seconds",
                "ofsted_notify_channel_stale",
        };
        static const char *const helps[] = {
                "When each channel last delivered (0: never).",
                "When a person last confirmed seeing each channel's "
                "messages (0: never).",
                "1 when a channel has delivered nothing for "
                "daemon.channel_stale_after or its last delivery failed for "
                "good.",
        };
        struct store_channel_health h;
        char warning[160];

        for (size_t f = 0; f < 3; f++) {
                metrics_family(m, names[f], "gauge", helps[f]);
                for (size_t i = 0; i < conf->nchannels; i++) {
                        const char *name = conf->channels[i].name;
                        double v;

                        if (store_channel_health(st, name, &h, NULL) < 0)
                                continue;
                        if (f == 0)
                                v = (double)h.last_delivered;
                        else if (f == 1)
                                v = (double)h.confirmed_at;
                        else
                                v = channel_warning(conf, &h, now, warning,
                                                    sizeof(warning)) ||
                                    h.last_failed;
                        metrics_sample(m, v, "channel", name, NULL);
                }
        }
}

/* A time as RFC 3339 text, or null when 0. */
static json_t *
jtime_or_null(const struct conf *conf, int64_t t)
{
        char buf[TIMEFMT_LEN];

        if (t == 0)
                return json_null();
        timefmt_rfc3339(conf->tz, t, buf, sizeof(buf));
        return json_string(buf);
}

static json_t *
jseconds(int64_t s)
{
        return s > 0 ? json_integer(s) : json_null();
}

json_t *
ops_json_status(const struct ops *o, struct store *st, const struct conf *conf,
                int64_t now, char **cause)
{
        json_t *out = json_object(), *chans = json_array(), *ret;
        struct store_channel_health h;

        ret = json_pack("{s:o, s:o, s:o, s:{s:i, s:i, s:i, s:i}, s:i}",
                        "closed_cases", jseconds(conf->daemon.retention_closed),
                        "personal", jseconds(conf->daemon.retention_personal),
                        "last_run", jtime_or_null(conf, o->retention_last),
                        "deleted", "cases", o->last.cases, "events",
                        o->last.events, "alerts", o->last.alerts, "deliveries",
                        o->last.deliveries, "blanked", o->last.blanked);
        json_object_set_new(out, "retention", ret);
        json_object_set_new(out, "channels", chans);
        for (size_t i = 0; i < conf->nchannels; i++) {
                const struct channel *ch = &conf->channels[i];
                char warning[160];
                bool stale;

                if (store_channel_health(st, ch->name, &h, cause) < 0) {
                        json_decref(out);
                        return NULL;
                }
                stale =
                    channel_warning(conf, &h, now, warning, sizeof(warning));
                json_array_append_new(
                    chans,
                    json_pack(
                        "{s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:s?}", "channel",
                        ch->name, "check", conf_channel_check_name(ch->check),
                        "last_delivered", jtime_or_null(conf, h.last_delivered),
                        "last_confirmed", jtime_or_null(conf, h.confirmed_at),
                        "last_check", jtime_or_null(conf, h.checked_at),
                        "last_failed", h.last_failed, "stale", stale, "warning",
                        warning[0] ? warning : NULL));
        }
        return out;
}
