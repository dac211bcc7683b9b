/*
 * api: one handler per resource of /api/v1 (docs/api.md). Each checks the
 * query it was given, asks the scheduler through web_ask(), and keeps to
 * the schools the principal may see; the scheduler is the authority on
 * everything else (kinds, times, what a case's state takes).
 */
#include "web.h"

#include "case.h"
#include "conf.h"
#include "ics.h"
#include "rules.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_URN "000000" /* a test alert's school (store.h) */

/*
 * Asks the scheduler; on a refusal or no answer sets *r and returns NULL.
 * A refusal's "reason" picks the status: the case's state refuses it or a
 * name is taken (409), no such thing (404), the state database cannot be
 * written (503); else the scheduler judged the input wrong (422).
 */
static json_t *
ask(struct web *w, json_t *req, struct reply *r)
{
        json_t *reply = NULL;
        const char *reason, *error;
        int status = 422;

        if (web_ask(w, req, &reply) < 0) {
                json_decref(req);
                web_error(r, 503, "the scheduler does not answer");
                return NULL;
        }
        json_decref(req);
        if (json_is_true(json_object_get(reply, "ok")))
                return reply;
        reason = json_string_value(json_object_get(reply, "reason"));
        error = json_string_value(json_object_get(reply, "error"));
        if (reason != NULL &&
            (strcmp(reason, "state") == 0 || strcmp(reason, "conflict") == 0))
                status = 409;
        else if (reason != NULL && strcmp(reason, "not_found") == 0)
                status = 404;
        else if (reason != NULL && strcmp(reason, "auth") == 0)
                status = 401; /* a token judged with the request */
        else if (error != NULL && strstr(error, "nothing was recorded"))
                status = 503;
        web_error(r, status, "%s", error != NULL ? error : "refused");
        r->authenticate = status == 401;
        json_decref(reply);
        return NULL;
}

static const char *
query(const struct call *c, const char *key)
{
        return json_string_value(json_object_get(c->query, key));
}

/*
 * The ?school= of a call: *urn NULL when absent (refused when required),
 * else a school of the config that the principal sees. false with *r set
 * when refused: 400 not a URN, 404 not a school, 403 not the caller's.
 */
static bool
school_param(struct web *w, const struct call *c, bool required,
             const char **urn, struct reply *r)
{
        *urn = query(c, "school");
        if (*urn == NULL) {
                if (required)
                        web_error(r, 400, "'school' is required");
                return !required;
        }
        if (!names_valid_urn(*urn)) {
                web_error(r, 400, "school '%.16s' is not a URN (6 digits)",
                          *urn);
                return false;
        }
        if (conf_school(w->conf, *urn) == NULL) {
                web_error(r, 404, "unknown school %s", *urn);
                return false;
        }
        if (!auth_sees(c->who, *urn)) {
                web_error(r, 403, "school %s is not one of yours", *urn);
                return false;
        }
        return true;
}

/* Keeps the rows of `arr` whose "school" the principal sees (the test
 * alerts' school only for an admin). */
static void
keep_visible(const struct principal *p, json_t *arr)
{
        for (size_t i = json_array_size(arr); i-- > 0;) {
                const char *urn = json_string_value(
                    json_object_get(json_array_get(arr, i), "school"));

                if (urn == NULL ||
                    (strcmp(urn, TEST_URN) == 0 ? p->role != ROLE_ADMIN
                                                : !auth_sees(p, urn)))
                        json_array_remove(arr, i);
        }
}

/* Answers `key` of a scheduler reply, filtered, as {key: [...]}. */
static void
send_rows(const struct call *c, json_t *reply, const char *key, struct reply *r)
{
        json_t *rows = json_incref(json_object_get(reply, key));

        keep_visible(c->who, rows);
        r->status = 200;
        r->json = json_pack("{s:o}", key, rows);
        json_decref(reply);
}

/*
 * GET /api/v1/schools: each school the caller sees, in the config's
 * order, with its current case, its next deadline and its next alert,
 * from a `schools` reply.
 */
static void
schools_answer(struct web *w, const struct principal *who, json_t *reply,
               struct reply *r)
{
        json_t *byurn = json_object(), *out = json_array(), *v;
        size_t i;

        /* Newest case first: the first seen of a school is its current. */
        json_array_foreach(json_object_get(reply, "schools"), i, v)
        {
                const char *urn =
                    json_string_value(json_object_get(v, "school"));

                if (urn != NULL && json_object_get(byurn, urn) == NULL)
                        json_object_set(byurn, urn, v);
        }
        for (i = 0; i < w->conf->nschools; i++) {
                const struct school *sc = &w->conf->schools[i];
                json_t *s = json_object_get(byurn, sc->urn), *cs = json_null();

                if (!auth_sees(who, sc->urn))
                        continue;
                if (s != NULL)
                        cs = json_pack("{s:O, s:O, s:O}", "id",
                                       json_object_get(s, "case"), "state",
                                       json_object_get(s, "state"), "opened",
                                       json_object_get(s, "opened"));
                json_array_append_new(
                    out,
                    json_pack(
                        "{s:s, s:s, s:o, s:O, s:O, s:b, s:O}", "urn", sc->urn,
                        "name", sc->name, "case", cs, "next_deadline",
                        s ? json_object_get(s, "next_deadline") : json_null(),
                        "next_deadline_rule",
                        s ? json_object_get(s, "next_deadline_rule")
                          : json_null(),
                        "acknowledged",
                        s != NULL &&
                            json_is_true(json_object_get(s, "acknowledged")),
                        "next_alert",
                        s ? json_object_get(s, "next_alert") : json_null()));
        }
        r->status = 200;
        r->json = json_pack("{s:O}", "schools", out);
        json_decref(byurn);
        json_decref(out);
}

/* GET /api/v1/schools for a signed-in person: one `schools` request, for
 * the caller's schools only unless it sees every school. */
static void
get_schools(struct web *w, const struct call *c, struct reply *r)
{
        json_t *req = json_pack("{s:s}", "cmd", "schools"), *reply;

        if (!roles_every_school(c->who->role)) {
                json_t *mine = json_array();

                for (size_t i = 0; i < c->who->nschools; i++)
                        json_array_append_new(mine,
                                              json_string(c->who->schools[i]));
                json_object_set_new(req, "schools", mine);
        }
        reply = ask(w, req, r);
        if (reply == NULL)
                return;
        schools_answer(w, c->who, reply, r);
        json_decref(reply);
}

void
api_schools_by_token(struct web *w, const char *token, struct reply *r)
{
        struct principal who;
        json_t *reply;

        /* The shape is checked here, as auth_request() does: nothing else
         * goes to the scheduler. */
        if (!token_well_formed(token)) {
                web_error(r, 401, "unknown or revoked token");
                r->authenticate = true;
                return;
        }
        reply = ask(
            w, json_pack("{s:s, s:s}", "cmd", "schools", "token", token), r);
        if (reply == NULL)
                return;
        if (auth_holder(json_object_get(reply, "token"), token, &who) < 0) {
                web_error(r, 401, "unknown or revoked token");
                r->authenticate = true;
        } else
                schools_answer(w, &who, reply, r);
        json_decref(reply);
}

/* POST /api/v1/schools/{urn}/events: recorded as "token:NAME". */
static void
post_event(struct web *w, const struct call *c, struct reply *r)
{
        const char *urn = c->route->urn;
        json_t *req, *reply;

        if (conf_school(w->conf, urn) == NULL) {
                web_error(r, 404, "unknown school %s", urn);
                return;
        }
        if (!auth_may_record(c->who, urn)) {
                web_error(r, 403,
                          auth_sees(c->who, urn)
                              ? (auth_is_browser(c->who)
                                     ? "a %s may not record events"
                                     : "a %s token may not record events")
                              : "school %s is not one of yours",
                          auth_sees(c->who, urn) ? roles_name(c->who->role)
                                                 : urn);
                return;
        }
        req = json_deep_copy(c->body);
        json_object_set_new(req, "cmd", json_string("event"));
        json_object_set_new(req, "school", json_string(urn));
        json_object_set_new(req, "actor", json_string(c->who->actor));
        reply = ask(w, req, r);
        if (reply == NULL)
                return;
        r->status = 201;
        r->json = reply;
}

/*
 * POST /api/v1/cases/{id}/acks {"rule", "note"?}: a school, trust or admin
 * token for the case's school acknowledges one of its rules; a viewer
 * may not. 201 for a new acknowledgement, 200 for the one already there.
 */
static void
post_ack(struct web *w, const struct call *c, struct reply *r)
{
        json_t *req, *reply = ask(w,
                                  json_pack("{s:s, s:I}", "cmd", "show", "case",
                                            (json_int_t)c->route->case_id),
                                  r);
        const char *school;
        char urn[NAMES_URN_LEN + 1];

        if (reply == NULL)
                return;
        /* A copy: the reply it is read from goes before it is used. */
        school = json_string_value(
            json_object_get(json_object_get(reply, "case"), "school"));
        snprintf(urn, sizeof(urn), "%s", school != NULL ? school : "");
        json_decref(reply);
        if (school == NULL || strcmp(urn, TEST_URN) == 0 ||
            !auth_sees(c->who, urn)) {
                web_error(r, 403, "case %lld is not of one of your schools",
                          (long long)c->route->case_id);
                return;
        }
        if (!auth_may_record(c->who, urn)) {
                web_error(r, 403, "a %s token may not acknowledge",
                          roles_name(c->who->role));
                return;
        }
        req = json_deep_copy(c->body);
        json_object_set_new(req, "cmd", json_string("ack"));
        json_object_set_new(req, "case",
                            json_integer((json_int_t)c->route->case_id));
        json_object_set_new(req, "actor", json_string(c->who->actor));
        reply = ask(w, req, r);
        if (reply == NULL)
                return;
        r->status =
            json_is_true(json_object_get(json_object_get(reply, "ack"), "new"))
                ? 201
                : 200;
        r->json = reply;
}

/*
 * The daemon's `show` of the route's case when the principal may read it:
 * a case of one of its schools (a test alert's: admins only). Else NULL,
 * the error in r (403 for a case it may not read). Caller releases.
 */
static json_t *
visible_case(struct web *w, const struct call *c, struct reply *r)
{
        json_t *show = ask(w,
                           json_pack("{s:s, s:I}", "cmd", "show", "case",
                                     (json_int_t)c->route->case_id),
                           r);
        const char *urn = json_string_value(
            json_object_get(json_object_get(show, "case"), "school"));

        if (show == NULL)
                return NULL;
        if (urn == NULL ||
            (strcmp(urn, TEST_URN) == 0 ? c->who->role != ROLE_ADMIN
                                        : !auth_sees(c->who, urn))) {
                web_error(r, 403, "case %lld is not of one of your schools",
                          (long long)c->route->case_id);
                json_decref(show);
                return NULL;
        }
        return show;
}

/* GET /api/v1/cases/{id} */
static void
get_case(struct web *w, const struct call *c, struct reply *r)
{
        json_t *reply = visible_case(w, c, r);

        if (reply == NULL)
                return;
        r->status = 200;
        r->json = json_pack("{s:O}", "case", json_object_get(reply, "case"));
        json_decref(reply);
}

/* GET /api/v1/cases/{id}/audit: the case's trail, to whoever may read it. */
static void
get_case_audit(struct web *w, const struct call *c, struct reply *r)
{
        json_t *reply = visible_case(w, c, r);

        if (reply == NULL)
                return;
        json_decref(reply);
        reply = ask(w,
                    json_pack("{s:s, s:I}", "cmd", "audit", "case",
                              (json_int_t)c->route->case_id),
                    r);
        if (reply == NULL)
                return;
        r->status = 200;
        r->json = json_pack("{s:I, s:O}", "case", (json_int_t)c->route->case_id,
                            "audit", json_object_get(reply, "audit"));
        json_decref(reply);
}

/* GET /api/v1/cases[?all=true] */
static void
get_cases(struct web *w, const struct call *c, struct reply *r)
{
        const char *all = query(c, "all");
        bool every = false;
        json_t *reply;

        if (all != NULL && request_bool(all, &every) < 0) {
                web_error(r, 400, "'all' must be true or false");
                return;
        }
        reply = ask(w, json_pack("{s:s, s:b}", "cmd", "list", "all", every), r);
        if (reply != NULL)
                send_rows(c, reply, "cases", r);
}

/* GET /api/v1/upcoming[?school=] */
static void
get_upcoming(struct web *w, const struct call *c, struct reply *r)
{
        const char *urn;
        json_t *reply;

        if (!school_param(w, c, false, &urn, r))
                return;
        reply = ask(
            w, json_pack("{s:s, s:s*}", "cmd", "upcoming", "school", urn), r);
        if (reply != NULL)
                send_rows(c, reply, "alerts", r);
}

/* GET /api/v1/history[?school=][&limit=] */
static void
get_history(struct web *w, const struct call *c, struct reply *r)
{
        const char *urn, *lim = query(c, "limit");
        long long limit = 100;
        json_t *reply;

        if (lim != NULL && names_number(lim, 1, 1000, &limit) < 0) {
                web_error(r, 400,
                          "'limit' must be a whole number from 1 to "
                          "1000");
                return;
        }
        if (!school_param(w, c, false, &urn, r))
                return;
        reply = ask(w,
                    json_pack("{s:s, s:s*, s:i}", "cmd", "history", "school",
                              urn, "limit", (int)limit),
                    r);
        if (reply != NULL)
                send_rows(c, reply, "deliveries", r);
}

/*
 * GET /api/v1/plan?school=&event=[&at=]: what recording the event now
 * would do to the school's current case, before it is recorded: the
 * state it would leave, or the refusal; its deadlines and alerts. Worked
 * out here from the config (case.h, rules.h), as ofsted-notifyctl plan
 * does, from the case's state the scheduler gives.
 */
static void
get_plan(struct web *w, const struct call *c, struct reply *r)
{
        const struct conf *conf = w->conf;
        const char *urn, *kind = query(c, "event"), *at = query(c, "at");
        struct case_decision d = { 0 };
        struct plan plan = { 0 };
        struct rules_env env;
        enum case_state state = CASE_NONE;
        json_t *reply, *deadlines, *alerts, *warnings, *out;
        char buf[TIMEFMT_LEN], *cause = NULL, *refusal;
        enum tz_fold fold;
        int64_t t = w->now();
        const char *s;

        if (!school_param(w, c, true, &urn, r))
                return;
        if (kind == NULL || !rules_valid_kind(kind) ||
            !conf_known_kind(conf, kind)) {
                web_error(r, kind == NULL ? 400 : 422,
                          kind == NULL ? "'event' is required"
                                       : "unknown event kind '%.32s'",
                          kind);
                return;
        }
        if (at != NULL && timefmt_parse(conf->tz, at, &t, &fold, &cause) < 0) {
                web_error(r, 422, "at: %s", cause);
                free(cause);
                return;
        }
        reply =
            ask(w, json_pack("{s:s, s:s}", "cmd", "show", "school", urn), r);
        if (reply == NULL && r->status != 404)
                return;
        if (reply != NULL) {
                s = json_string_value(
                    json_object_get(json_object_get(reply, "case"), "state"));
                if (s == NULL || case_state_parse(s, &state) < 0)
                        state = CASE_NONE;
                json_decref(reply);
        }
        json_decref(r->json);
        r->json = NULL;
        timefmt_rfc3339(conf->tz, t, buf, sizeof(buf));
        out = json_pack("{s:s, s:s, s:s, s:s}", "school", urn, "event", kind,
                        "at", buf, "state", case_state_name(state));
        /* The school's remit and calendars, as the scheduler plans it. */
        conf_rules_env(conf, conf_school(conf, urn), &env);
        if (case_decide(kind, state, false, env.remit, conf->rules,
                        conf->nrules, &d) < 0) {
                refusal = case_refusal_text(&d, urn, 0);
                json_object_set_new(out, "refused", json_string(refusal));
                free(refusal);
        } else {
                json_object_set_new(out, "next",
                                    json_string(case_state_name(d.next)));
        }
        case_plan(&d, conf->rules, &env, t, &plan);
        deadlines = json_array();
        for (size_t i = 0; i < plan.ndeadlines; i++) {
                const struct plan_deadline *pd = &plan.deadlines[i];
                char opens[TIMEFMT_LEN];
                json_t *o;

                timefmt_rfc3339(conf->tz, pd->due, buf, sizeof(buf));
                o = json_pack("{s:s, s:s}", "rule", pd->rule->name, "due", buf);
                if (pd->has_opens) {
                        timefmt_rfc3339(conf->tz, pd->opens, opens,
                                        sizeof(opens));
                        json_object_set_new(o, "opens", json_string(opens));
                }
                json_array_append_new(deadlines, o);
        }
        alerts = json_array();
        for (size_t i = 0; i < plan.nalerts; i++) {
                timefmt_rfc3339(conf->tz, plan.alerts[i].at, buf, sizeof(buf));
                json_array_append_new(
                    alerts, json_pack("{s:s, s:s, s:s}", "rule",
                                      plan.alerts[i].rule->name, "at", buf,
                                      "offset", plan.alerts[i].offset->text));
        }
        warnings = json_array();
        for (size_t i = 0; i < plan.nwarnings; i++)
                json_array_append_new(warnings, json_string(plan.warnings[i]));
        json_object_set_new(out, "deadlines", deadlines);
        json_object_set_new(out, "alerts", alerts);
        json_object_set_new(out, "warnings", warnings);
        r->status = 200;
        r->json = out;
        case_decision_free(&d);
        plan_free(&plan);
}

/* The right-hand side of the calendar's UIDs, as the email's .ics has. */
static char *
uid_host(const struct conf *conf)
{
        char name[256];
        char *h = conf->email.present ? ics_uid_host(conf->email.from) : NULL;

        if (h != NULL)
                return h;
        if (gethostname(name, sizeof(name)) == 0 && name[0] != '\0') {
                name[sizeof(name) - 1] = '\0';
                return xstrdup(name);
        }
        return xstrdup("localhost");
}

/*
 * GET /api/v1/calendar.ics[?school=]: the standing deadlines the caller
 * sees (`deadlines`: until their time or an event that ends them, whether
 * their alerts fired or were acknowledged), one event per (case, rule),
 * as the email's attachment has them.
 */
static void
get_calendar(struct web *w, const struct call *c, struct reply *r)
{
        const struct conf *conf = w->conf;
        struct ics_event *events = NULL;
        const char *urn;
        json_t *reply, *a;
        char *host;
        size_t n = 0, i;

        if (!school_param(w, c, false, &urn, r))
                return;
        reply = ask(
            w, json_pack("{s:s, s:s*}", "cmd", "deadlines", "school", urn), r);
        if (reply == NULL)
                return;
        keep_visible(c->who, json_object_get(reply, "deadlines"));
        host = uid_host(conf);
        json_array_foreach(json_object_get(reply, "deadlines"), i, a)
        {
                const char *rule =
                    json_string_value(json_object_get(a, "rule"));
                const char *school =
                    json_string_value(json_object_get(a, "school"));
                const char *due = json_string_value(json_object_get(a, "due"));
                const char *opens =
                    json_string_value(json_object_get(a, "opens"));
                const struct school *sc;
                const struct rule *ru;
                struct ics_deadline d = { 0 };
                enum tz_fold fold;
                char *cause = NULL;

                if (rule == NULL || school == NULL || due == NULL ||
                    timefmt_parse(conf->tz, due, &d.due, &fold, &cause) < 0 ||
                    (opens != NULL && timefmt_parse(conf->tz, opens, &d.opens,
                                                    &fold, &cause) < 0)) {
                        free(cause);
                        continue;
                }
                sc = conf_school(conf, school);
                ru = conf_rule(conf, rule);
                d.case_id = json_integer_value(json_object_get(a, "case"));
                d.rule = rule;
                d.school = sc != NULL ? sc->name : school;
                d.host = host;
                d.has_opens = opens != NULL;
                d.action = ru != NULL ? ru->action : NULL;
                ics_add_deadline(&events, &n, &d);
        }
        r->status = 200;
        r->text = ics_calendar(events, n, ICS_PRODID, w->now());
        r->type = "text/calendar; charset=utf-8";
        for (i = 0; i < n; i++)
                ics_event_clear(&events[i]);
        free(events);
        free(host);
        json_decref(reply);
}

/* GET /api/v1/feed: the caller's secret calendar feed URL. */
static void
get_feed(struct web *w, const struct call *c, struct reply *r)
{
        char *url;

        if (c->who->kind != PRINCIPAL_TOKEN) {
                web_error(r, 403, "only an API token has a feed");
                return;
        }
        xasprintf(&url, "%s/api/v1/calendar.ics?key=%s", w->conf->web.base_url,
                  c->who->feed_key);
        r->status = 200;
        r->json = json_pack("{s:s%}", "url", url, strlen(url));
        free(url);
}

/*
 * GET /api/v1/me: who the caller is, for the pages' header: the actor,
 * the role, the schools of a school or viewer, and how it signed in.
 */
static void
get_me(struct web *w, const struct call *c, struct reply *r)
{
        static const char *const how[] = {
                [PRINCIPAL_TOKEN] = "token",
                [PRINCIPAL_FEED] = "feed",
                [PRINCIPAL_SESSION] = "email",
                [PRINCIPAL_PROXY] = "proxy",
        };
        json_t *schools = json_array();

        (void)w;
        for (size_t i = 0; i < c->who->nschools; i++)
                json_array_append_new(schools, json_string(c->who->schools[i]));
        r->status = 200;
        r->json = json_pack("{s:s, s:s, s:o, s:s, s:b}", "actor", c->who->actor,
                            "role", roles_name(c->who->role), "schools",
                            schools, "signin", how[c->who->kind], "may_record",
                            roles_may_record(c->who->role));
}

/*
 * GET /api/v1/channels: each channel's health and the heartbeat, as
 * `status` tells them (docs/protocol.md), for the trust's and the admins'
 * warning on the pages. The channels serve every school: other roles are
 * refused.
 */
static void
get_channels(struct web *w, const struct call *c, struct reply *r)
{
        json_t *reply, *chans, *beat;

        if (!roles_every_school(c->who->role)) {
                web_error(r, 403,
                          "the channels are for the trust and admin roles");
                return;
        }
        reply = ask(w, json_pack("{s:s}", "cmd", "status"), r);
        if (reply == NULL)
                return;
        chans = json_object_get(reply, "channels");
        beat = json_object_get(reply, "heartbeat");
        /* Both new references, taken by the pack. */
        chans = chans != NULL ? json_incref(chans) : json_array();
        beat = beat != NULL ? json_incref(beat) : json_null();
        r->status = 200;
        r->json = json_pack("{s:o, s:o}", "channels", chans, "heartbeat", beat);
        json_decref(reply);
}

typedef void (*handler_fn)(struct web *, const struct call *, struct reply *);

static const handler_fn handlers[ROUTE_COUNT] = {
        [ROUTE_SCHOOLS] = get_schools,
        [ROUTE_SCHOOL_EVENTS] = post_event,
        [ROUTE_CASE] = get_case,
        [ROUTE_CASES] = get_cases,
        [ROUTE_CASE_ACKS] = post_ack,
        [ROUTE_UPCOMING] = get_upcoming,
        [ROUTE_HISTORY] = get_history,
        [ROUTE_PLAN] = get_plan,
        [ROUTE_CALENDAR] = get_calendar,
        [ROUTE_FEED] = get_feed,
        [ROUTE_CASE_AUDIT] = get_case_audit,
        [ROUTE_ME] = get_me,
        [ROUTE_CHANNELS] = get_channels,
};

void
api_handle(struct web *w, const struct call *c, struct reply *r)
{
        /* A feed key reads its calendar and nothing else. */
        if (c->who->kind == PRINCIPAL_FEED && c->route->id != ROUTE_CALENDAR) {
                web_error(r, 403, "a feed key reads only its calendar");
                return;
        }
        handlers[c->route->id](w, c, r);
}

void
api_healthz(struct web *w, struct reply *r)
{
        json_t *req = json_pack("{s:s}", "cmd", "token_list"), *reply = NULL;
        bool up = web_ask(w, req, &reply) == 0;

        json_decref(req);
        json_decref(reply);
        r->status = 200;
        r->json = json_pack("{s:b, s:b}", "ok", 1, "daemon", up);
}
