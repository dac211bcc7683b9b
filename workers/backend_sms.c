/*
 * SMS through an HTTP gateway, one number a channel, by profile:
 *
 *   twilio    POST {url}/2010-04-01/Accounts/{account}/Messages.json, a
 *             form To, From (or MessagingServiceSid), Body; basic auth
 *             account:token. 201 {"sid", "status": "queued", ...}; errors
 *             {"code", "message", "more_info", "status"} (the shared
 *             classification reads "message"); 429 retried.
 *   firetext  POST {url}/api/sendsms/json, a form apiKey, from, to (the
 *             number without '+'), message. Answers 200 with JSON
 *             {"code": 0, "description": ...}; any other code is a
 *             refusal, failed for good with its description.
 *   generic   POST the channel's URL with the channel's body template
 *             rendered: the alert's placeholders and {{to}} and
 *             {{message}}, each JSON-escaped, so the template is JSON;
 *             Authorization: Bearer with a token_file.
 *
 * The text is the title, a newline and the text, with the typographic
 * characters that have a plain equivalent (dashes, quotes, the ellipsis)
 * made plain so most English alerts stay in GSM-7, then cut at a
 * character to fit two segments, "..." marking the cut; the
 * acknowledgement link, when the job carries one, ends it uncut.
 *
 * Segments (3GPP TS 23.038 and 23.040): GSM-7 when every character is in
 * the default alphabet or its extension table (each extension character
 * costs 2 septets), 160 septets in one segment or 153 a segment when
 * concatenated; else UCS-2, counted in UTF-16 code units, 70 in one or 67
 * a segment. A character (an escape pair, a surrogate pair) never spans
 * two segments: handsets would show it broken.
 */
#include "backend_int.h"

#include "template.h"
#include "xalloc.h"

#include <sodium.h>
#include <string.h>

#define SMS_SEGMENTS 2 /* at most, for one alert */
#define ELLIPSIS3    "..."

/* --- Counting ------------------------------------------------------------ */

/* The code point at *p (valid UTF-8), and *p moved past it. */
static uint32_t
next_cp(const unsigned char **p)
{
        const unsigned char *s = *p;
        uint32_t c = s[0];
        size_t n = 1;

        if (c >= 0xf0) {
                c = ((c & 0x07) << 18) | ((s[1] & 0x3fu) << 12) |
                    ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu);
                n = 4;
        } else if (c >= 0xe0) {
                c = ((c & 0x0f) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
                n = 3;
        } else if (c >= 0xc0) {
                c = ((c & 0x1f) << 6) | (s[1] & 0x3fu);
                n = 2;
        }
        for (size_t i = 0; i < n && **p != '\0'; i++)
                (*p)++;
        return c;
}

/* GSM 03.38's default alphabet beyond printable ASCII, and the ASCII it
 * lacks ('`' only; '$' and '@' are in it). */
static const uint32_t gsm_basic_more[] = {
        0x00a3, 0x00a5, 0x00e8, 0x00e9, 0x00f9, 0x00ec, 0x00f2, 0x00c7,
        0x00d8, 0x00f8, 0x00c5, 0x00e5, 0x0394, 0x03a6, 0x0393, 0x039b,
        0x03a9, 0x03a0, 0x03a8, 0x03a3, 0x0398, 0x039e, 0x00c6, 0x00e6,
        0x00df, 0x00c9, 0x00a4, 0x00a1, 0x00c4, 0x00d6, 0x00d1, 0x00dc,
        0x00a7, 0x00bf, 0x00e4, 0x00f6, 0x00f1, 0x00fc, 0x00e0, 0x005f,
};

/* Septets for c in GSM-7: 1, 2 (the extension table), 0 (not in it). */
static int
gsm_septets(uint32_t c)
{
        if (c == '\n' || c == '\r')
                return 1;
        if (c == 0x0c || c == '^' || c == '{' || c == '}' || c == '\\' ||
            c == '[' || c == '~' || c == ']' || c == '|' || c == 0x20ac)
                return 2;
        if (c >= 0x20 && c < 0x7f && c != '`')
                return 1;
        for (size_t i = 0; i < sizeof(gsm_basic_more) / sizeof(*gsm_basic_more);
             i++) {
                if (gsm_basic_more[i] == c)
                        return 1;
        }
        return 0;
}

void
sms_count(const char *text, struct sms_count *out)
{
        const unsigned char *p = (const unsigned char *)text;
        size_t single, each, used = 0, septets = 0, units = 0, segments = 1;
        bool gsm = true;

        while (*p != '\0') {
                uint32_t c = next_cp(&p);
                int w = gsm_septets(c);

                if (w == 0)
                        gsm = false;
                septets += (size_t)(w > 0 ? w : 1);
                units += c > 0xffff ? 2 : 1;
        }
        out->gsm7 = gsm;
        out->units = gsm ? septets : units;
        single = gsm ? 160 : 70;
        each = gsm ? 153 : 67;
        if (out->units <= single) {
                out->segments = out->units > 0 ? 1 : 0;
                return;
        }
        /* Concatenated: packed a character at a time, none split. */
        p = (const unsigned char *)text;
        while (*p != '\0') {
                uint32_t c = next_cp(&p);
                size_t w = gsm ? (size_t)gsm_septets(c) : (c > 0xffff ? 2 : 1);

                if (used + w > each) {
                        segments++;
                        used = 0;
                }
                used += w;
        }
        out->segments = segments;
}

/* --- Fitting ------------------------------------------------------------- */

/* Plain equivalents of typographic characters outside GSM-7. */
static const struct {
        uint32_t cp;
        const char *plain;
} plain[] = {
        { 0x2013, "-" },  { 0x2014, "-" },  { 0x2018, "'" },   { 0x2019, "'" },
        { 0x201c, "\"" }, { 0x201d, "\"" }, { 0x2026, "..." }, { 0x00a0, " " },
        { 0x2022, "-" },  { '\t', " " },
};

char *
sms_plain(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        char *out = xmalloc(3 * strlen(s) + 1), *o = out;

        while (*p != '\0') {
                const unsigned char *start = p;
                uint32_t c = next_cp(&p);
                const char *rep = NULL;

                for (size_t i = 0; i < sizeof(plain) / sizeof(*plain); i++) {
                        if (plain[i].cp == c)
                                rep = plain[i].plain;
                }
                if (rep != NULL) {
                        memcpy(o, rep, strlen(rep));
                        o += strlen(rep);
                } else {
                        memcpy(o, start, (size_t)(p - start));
                        o += p - start;
                }
        }
        *o = '\0';
        return out;
}

/* body's first `bytes` bytes, "..." and the tail; caller frees. */
static char *
joined(const char *body, size_t bytes, bool cut, const char *tail)
{
        char *out;

        xasprintf(&out, "%.*s%s%s", (int)bytes, body, cut ? ELLIPSIS3 : "",
                  tail);
        return out;
}

static size_t
segments_of(const char *s)
{
        struct sms_count c;

        sms_count(s, &c);
        return c.segments;
}

char *
sms_fit(const char *title, const char *text, const char *link)
{
        char *raw, *body, *tail = NULL, *out;
        size_t *bounds = NULL, nb = 0, lo, hi;
        const unsigned char *p;

        xasprintf(&raw, "%s\n%s", title, text);
        body = sms_plain(raw);
        free(raw);
        if (link != NULL && link[0] != '\0')
                xasprintf(&tail, "\n%s", link);
        else
                tail = xstrdup("");
        out = joined(body, strlen(body), false, tail);
        if (segments_of(out) <= SMS_SEGMENTS)
                goto done;
        free(out);
        /* The character boundaries: a cut falls on one of them only. */
        bounds = xcalloc(strlen(body) + 1, sizeof(*bounds));
        for (p = (const unsigned char *)body; *p != '\0';) {
                next_cp(&p);
                bounds[nb++] = (size_t)(p - (const unsigned char *)body);
        }
        out = joined(body, 0, true, tail);
        if (segments_of(out) > SMS_SEGMENTS) {
                /* A link too long to fit even alone: the text goes first. */
                free(tail);
                tail = xstrdup("");
                free(out);
                out = joined(body, 0, true, tail);
        }
        /* The longest prefix that fits: fitting shrinks as it grows. */
        lo = 0;
        hi = nb;
        while (lo < hi) {
                size_t mid = (lo + hi + 1) / 2;
                char *c = joined(body, bounds[mid - 1], true, tail);

                if (segments_of(c) <= SMS_SEGMENTS) {
                        lo = mid;
                        free(out);
                        out = c;
                } else {
                        hi = mid - 1;
                        free(c);
                }
        }
done:
        free(bounds);
        free(body);
        free(tail);
        return out;
}

/* --- Profiles ------------------------------------------------------------ */

static char *
basic_auth(const char *user, const char *password)
{
        char *pair, *b64, *out;
        size_t len, blen;

        xasprintf(&pair, "%s:%s", user, password);
        len = strlen(pair);
        blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        b64 = xmalloc(blen);
        sodium_bin2base64(b64, blen, (const unsigned char *)pair, len,
                          sodium_base64_VARIANT_ORIGINAL);
        xasprintf(&out, "Basic %s", b64);
        sodium_memzero(pair, len);
        sodium_memzero(b64, blen);
        free(pair);
        free(b64);
        return out;
}

/* s as the inside of a JSON string. Caller frees. */
static char *
json_inner(const char *s)
{
        json_t *v = jstr(s);
        char *d = json_dumps(v, JSON_ENCODE_ANY), *out;

        json_decref(v);
        if (d == NULL)
                return xstrdup("");
        out = xstrndup(d + 1, strlen(d) - 2);
        free(d);
        return out;
}

/* The generic profile's body: the template with JSON-escaped values. */
static int
generic_body(const struct job_view *j, const char *tmpl, const char *to,
             const char *msg, char **body, char **cause)
{
        json_t *vars = template_vars(j->alert), *v, *doc;
        const char *key;
        void *tmp;

        json_object_set_new(vars, "to", jstr(to));
        json_object_set_new(vars, "message", jstr(msg));
        json_object_foreach_safe(vars, tmp, key, v)
        {
                char *e = json_inner(json_string_value(v));

                json_object_set_new(vars, key, jstr(e));
                free(e);
        }
        *body = template_render(tmpl, vars);
        json_decref(vars);
        doc = json_loads(*body, 0, NULL);
        if (doc == NULL) {
                *cause = xstrdup("the channel's body template does not "
                                 "render to JSON");
                free(*body);
                *body = NULL;
                return -1;
        }
        json_decref(doc);
        return 0;
}

static int
sms_build(const struct backend_input *in, struct http_request *out,
          char **cause)
{
        const struct channel *ch = in->ch;
        struct job_view j;
        char *title = NULL, *text = NULL, *msg = NULL, *form = NULL;
        char *url = NULL, *path = NULL, *auth = NULL;
        const char *ctype = "application/x-www-form-urlencoded";
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (ch == NULL || ch->nto != 1) {
                *cause = xstrdup("an sms channel needs its one number");
                goto out;
        }
        if (backend_job(in, &j, &title, &text, cause) < 0)
                goto out;
        msg = sms_fit(j.title, j.text, j.ack_url);
        switch (ch->profile) {
        case SMS_TWILIO:
                xasprintf(&path, "/2010-04-01/Accounts/%s/Messages.json",
                          ch->account);
                url = backend_endpoint(in->url, "https://api.twilio.com", path);
                form_add(&form, "To", ch->to[0]);
                if (ch->messaging_service[0] != '\0')
                        form_add(&form, "MessagingServiceSid",
                                 ch->messaging_service);
                else
                        form_add(&form, "From", ch->from);
                form_add(&form, "Body", msg);
                auth = basic_auth(ch->account, in->token ? in->token : "");
                break;
        case SMS_FIRETEXT:
                url = backend_endpoint(in->url, "https://www.firetext.co.uk",
                                       "/api/sendsms/json");
                form_add(&form, "apiKey", in->token ? in->token : "");
                form_add(&form, "from", ch->from);
                form_add(&form, "to", ch->to[0] + 1); /* no '+' */
                form_add(&form, "message", msg);
                break;
        case SMS_GENERIC:
                url = xstrdup(in->url != NULL ? in->url : "");
                if (generic_body(&j, ch->body, ch->to[0], msg, &form, cause) <
                    0)
                        goto out;
                ctype = "application/json";
                if (in->token != NULL && in->token[0] != '\0')
                        xasprintf(&auth, "Bearer %s", in->token);
                break;
        }
        if (backend_request_text(out, url, form, ctype, j.delivery, cause) < 0)
                goto out;
        if (auth != NULL)
                backend_add_header(out, "Authorization", auth);
        rc = 0;
out:
        if (form != NULL)
                sodium_memzero(form, strlen(form));
        if (auth != NULL)
                sodium_memzero(auth, strlen(auth));
        free(form);
        free(auth);
        free(url);
        free(path);
        free(msg);
        free(title);
        free(text);
        return rc;
}

/* Firetext answers 200 with {"code", "description"}: code 0 is sent. */
static enum outcome
sms_classify(const struct http_response *r, long *retry_after, char **error)
{
        enum outcome o = backend_classify_http(r, retry_after, error);
        json_t *doc, *code;
        const char *desc;

        if (o != OUTCOME_DELIVERED || r->body == NULL || r->len == 0)
                return o;
        doc = json_loadb(r->body, r->len, 0, NULL);
        code = json_object_get(doc, "code");
        desc = json_string_value(json_object_get(doc, "description"));
        if (json_is_integer(code) && desc != NULL &&
            json_object_get(doc, "sid") == NULL &&
            json_integer_value(code) != 0) {
                char *d = text_cut_bytes(desc, 100);

                xasprintf(error, "HTTP %ld but gateway code %lld: %s",
                          r->status, (long long)json_integer_value(code), d);
                free(d);
                o = OUTCOME_FAILED;
        }
        json_decref(doc);
        return o;
}

const struct backend_ops backend_sms = {
        .type = "sms",
        .build = sms_build,
        .classify = sms_classify,
};
