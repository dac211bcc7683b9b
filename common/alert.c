/* alert: the one encoder of an alert (alert.h). */
#include "alert.h"

#include "jtext.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdlib.h>

/* ,"key": */
static void
key(struct strbuf *b, const char *k)
{
        strbuf_printf(b, ",\"%s\":", k);
}

/* ,"key":"text", `otherwise` when text is NULL. */
static void
text(struct strbuf *b, const char *k, const char *s, const char *otherwise)
{
        key(b, k);
        jtext_string(b, s != NULL ? s : otherwise);
}

/* ,"key":"RFC 3339 in tz" */
static void
local_time(struct strbuf *b, const char *k, const struct tz *tz, int64_t utc)
{
        char buf[TIMEFMT_LEN];

        timefmt_rfc3339(tz, utc, buf, sizeof(buf));
        key(b, k);
        jtext_string(b, buf);
}

/* ,"key":"in words, in tz" */
static void
human_time(struct strbuf *b, const char *k, const struct tz *tz, int64_t utc)
{
        char buf[64];

        timefmt_human(tz, utc, buf, sizeof(buf));
        key(b, k);
        jtext_string(b, buf);
}

/* ["a","b"] */
static void
names(struct strbuf *b, const char *const *v, size_t n)
{
        strbuf_add(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strbuf_add(b, ",", 1);
                jtext_string(b, v[i]);
        }
        strbuf_add(b, "]", 1);
}

char *
alert_encode_text(const struct alert *a, const struct tz *tz)
{
        struct strbuf b = { NULL, 0, 0 };
        char utc[TIMEFMT_LEN];

        /* The order docs/dispatch.md shows, which the JOB has always had. */
        strbuf_add(&b, "{\"trust\":", 9);
        jtext_string(&b, a->trust != NULL ? a->trust : "");
        strbuf_printf(&b,
                      ",\"case\":%" PRId64 ",\"school\":{\"urn\":", a->case_id);
        jtext_string(&b, a->urn);
        text(&b, "name", a->school, a->urn);
        strbuf_add(&b, "}", 1);
        text(&b, "rule", a->rule, "");
        text(&b, "offset", a->offset, "");
        key(&b, "late");
        strbuf_printf(&b, "%s", a->late ? "true" : "false");
        text(&b, "action", a->action, "");
        text(&b, "contact", a->contact, "");
        local_time(&b, "at", tz, a->at);
        local_time(&b, "due", tz, a->due);
        timefmt_rfc3339_utc(a->due, utc, sizeof(utc));
        text(&b, "due_utc", utc, "");
        human_time(&b, "due_human", tz, a->due);
        if (a->opens != 0) {
                local_time(&b, "opens", tz, a->opens);
                human_time(&b, "opens_human", tz, a->opens);
        } else {
                strbuf_printf(&b, ",\"opens\":null,\"opens_human\":null");
        }
        if (a->warning != NULL)
                text(&b, "warning", a->warning, "");
        else
                strbuf_printf(&b, ",\"warning\":null");
        if (a->ack_url != NULL)
                text(&b, "ack_url", a->ack_url, "");
        else
                strbuf_printf(&b, ",\"ack_url\":null");
        if (a->base_url != NULL && a->base_url[0] != '\0') {
                key(&b, "case_url");
                strbuf_printf(&b, "\"");
                jtext_escaped(&b, a->base_url);
                strbuf_printf(&b, "/cases/%" PRId64 "\"", a->case_id);
        } else {
                strbuf_printf(&b, ",\"case_url\":null");
        }
        if (a->escalation) {
                strbuf_printf(&b, ",\"escalation\":{\"to\":");
                names(&b, (const char *const *)a->to, a->nto);
                strbuf_printf(&b, ",\"alerted\":");
                names(&b, a->alerted, a->nalerted);
                strbuf_add(&b, "}", 1);
        } else {
                strbuf_printf(&b, ",\"escalation\":null");
        }
        strbuf_add(&b, "}", 1);
        return b.s;
}

json_t *
alert_encode(const struct alert *a, const struct tz *tz)
{
        char *t = alert_encode_text(a, tz);
        json_t *o = json_loads(t, 0, NULL);

        /* The text is ours and valid JSON: only memory can fail here, and
         * that is fatal, as everywhere (xalloc.h). */
        if (o == NULL)
                abort();
        free(t);
        return o;
}
