/*
 * Discord execute webhook. The URL gets ?wait=true (&wait=true after an
 * existing query): without it Discord answers 204 and hides errors; with it
 * 200 and the message. The body: content (the title, at most 2000
 * characters) and one embed with title (256), description (4096), fields
 * (at most 25; name 256, value 1024), the deadline as its timestamp and the
 * trust in its footer (2048); all embed texts together at most 6000.
 * allowed_mentions with an empty parse list keeps any "@everyone" in a
 * text from pinging anyone. A 429 carries retry_after (fractional seconds)
 * in its JSON body, used when the Retry-After header is absent.
 */
#include "backend_int.h"

#include "xalloc.h"

#include <curl/curl.h>
#include <string.h>

#define CONTENT_UNITS 2000
#define TITLE_UNITS   256
#define DESC_UNITS    4096
#define NAME_UNITS    256
#define VALUE_UNITS   1024
#define FOOTER_UNITS  2048
#define FIELDS_MAX    25
#define EMBED_UNITS   6000
#define COLOUR_DUE    0xf2a900 /* amber */
#define COLOUR_LATE   0xd13438 /* red */

/*
 * The URL with wait=true as its only "wait" parameter; the rest of the
 * query, and any thread_id, kept. -1 with *cause (never quoting the URL).
 */
static int
discord_url(const char *url, char **out, char **cause)
{
        CURLU *u = curl_url();
        char *query = NULL, *full = NULL, *kept = NULL;
        size_t klen = 0;
        int rc = -1;

        *out = NULL;
        if (u == NULL)
                abort();
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
                *cause = xstrdup("the webhook URL is not a valid URL");
                goto out;
        }
        if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
                query = NULL;
        kept = xstrdup("");
        for (char *p = query; p != NULL && *p != '\0';) {
                size_t n = strcspn(p, "&");

                if (n > 0 && strncmp(p, "wait=", 5) != 0 &&
                    !(n == 4 && strncmp(p, "wait", 4) == 0)) {
                        kept = xreallocarray(kept, klen + n + 2, 1);
                        if (klen > 0)
                                kept[klen++] = '&';
                        memcpy(kept + klen, p, n);
                        klen += n;
                        kept[klen] = '\0';
                }
                p += n;
                if (*p == '&')
                        p++;
        }
        kept = xreallocarray(kept, klen + sizeof("&wait=true"), 1);
        strcpy(kept + klen, klen > 0 ? "&wait=true" : "wait=true");
        if (curl_url_set(u, CURLUPART_QUERY, kept, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
                *cause = xstrdup("cannot add wait=true to the webhook URL");
                goto out;
        }
        *out = xstrdup(full);
        rc = 0;
out:
        curl_free(query);
        curl_free(full);
        free(kept);
        curl_url_cleanup(u);
        return rc;
}

/* parts[0] description, [1] footer, [2 + i] field values, all cut to fit. */
struct discord {
        const struct job_view *j;
        char *title;
        struct fact facts[FACTS_MAX];
        size_t nfacts;
        char *parts[2 + FACTS_MAX];
};

static size_t
embed_units(const struct discord *d)
{
        size_t n = text_units(d->title) + text_units(d->parts[0]) +
                   text_units(d->parts[1]);

        for (size_t i = 0; i < d->nfacts; i++)
                n += text_units(d->facts[i].name) + text_units(d->parts[2 + i]);
        return n;
}

/* Cuts the longest embed texts until all of them fit EMBED_UNITS. */
static void
fit_embed(struct discord *d)
{
        size_t total;

        while ((total = embed_units(d)) > EMBED_UNITS) {
                size_t longest = 0, lu = 0, np = 2 + d->nfacts;
                char *cut;

                for (size_t i = 0; i < np; i++) {
                        if (text_units(d->parts[i]) > lu) {
                                lu = text_units(d->parts[i]);
                                longest = i;
                        }
                }
                /* Titles and names alone are far under the limit. */
                cut = text_cut(
                    d->parts[longest],
                    lu > total - EMBED_UNITS ? lu - (total - EMBED_UNITS) : 0);
                free(d->parts[longest]);
                d->parts[longest] = cut;
        }
}

static json_t *
discord_body(const struct discord *d)
{
        json_t *body = json_object(), *embeds = json_array(),
               *e = json_object();
        json_t *fields = json_array(), *mentions = json_object();
        /* Room in the content for the link's line, when there is one. */
        char *content = text_cut(
            d->j->title, d->j->ack_url[0] != '\0'
                             ? CONTENT_UNITS - 64 - text_units(d->j->ack_url)
                             : CONTENT_UNITS);

        for (size_t i = 0; i < d->nfacts && i < FIELDS_MAX; i++) {
                json_t *f = json_object();

                jset(f, "name", jstr(d->facts[i].name));
                jset(f, "value", jstr(d->parts[2 + i]));
                jset(f, "inline",
                     json_boolean(strcmp(d->facts[i].name, "Warning") != 0));
                json_array_append_new(fields, f);
        }
        jset(e, "title", jstr(d->title));
        /* The embed's title links to the acknowledgement page, and the
         * content says so. */
        if (d->j->ack_url[0] != '\0')
                jset(e, "url", jstr(d->j->ack_url));
        jset(e, "description", jstr(d->parts[0]));
        jset(e, "color", json_integer(d->j->late ? COLOUR_LATE : COLOUR_DUE));
        jset(e, "fields", fields);
        jset(e, "timestamp", jstr(d->j->due_utc));
        if (d->parts[1][0] != '\0') {
                json_t *footer = json_object();

                jset(footer, "text", jstr(d->parts[1]));
                jset(e, "footer", footer);
        }
        json_array_append_new(embeds, e);
        jset(mentions, "parse", json_array());
        if (d->j->ack_url[0] != '\0') {
                char *with;

                xasprintf(&with, "%s\n%s: <%s>", content, BACKEND_ACK_LABEL,
                          d->j->ack_url);
                free(content);
                content = with;
        }
        jset(body, "content", jstr(content));
        jset(body, "embeds", embeds);
        jset(body, "allowed_mentions", mentions);
        free(content);
        return body;
}

static int
discord_build(const struct backend_input *in, struct http_request *out,
              char **cause)
{
        struct discord d = { 0 };
        struct job_view j;
        char *title = NULL, *text = NULL, *url = NULL, *trimmed = NULL;
        json_t *body = NULL;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (backend_job(in, &j, &title, &text, cause) < 0)
                goto out;
        trimmed = backend_url(in->url, cause);
        if (trimmed == NULL || discord_url(trimmed, &url, cause) < 0)
                goto out;

        d.j = &j;
        d.title = text_cut(j.title, TITLE_UNITS);
        d.nfacts = backend_facts(&j, d.facts);
        d.parts[0] = text_cut(j.text, DESC_UNITS);
        d.parts[1] = text_cut(j.trust, FOOTER_UNITS);
        for (size_t i = 0; i < d.nfacts; i++)
                d.parts[2 + i] = text_cut(d.facts[i].value, VALUE_UNITS);
        fit_embed(&d);
        body = discord_body(&d);
        rc = backend_request(out, url, body, j.delivery, cause);
out:
        json_decref(body);
        free(d.title);
        for (size_t i = 0; i < 2 + FACTS_MAX; i++)
                free(d.parts[i]);
        facts_free(d.facts, d.nfacts);
        free(url);
        free(trimmed);
        free(title);
        free(text);
        return rc;
}

/* retry_after from a 429's JSON body, whole seconds rounded up, or -1. */
static long
body_retry_after(const struct http_response *r)
{
        json_t *doc, *v;
        long secs = -1;

        if (r->body == NULL || r->len == 0)
                return -1;
        doc = json_loadb(r->body, r->len, 0, NULL);
        v = json_object_get(doc, "retry_after");
        if (json_is_number(v)) {
                double x = json_number_value(v);

                if (x >= 0 && x <= 86400) {
                        secs = (long)x;
                        if ((double)secs < x)
                                secs++;
                }
        }
        json_decref(doc);
        return secs;
}

static enum outcome
discord_classify(const struct http_response *r, long *retry_after, char **error)
{
        enum outcome o = backend_classify_http(r, retry_after, error);

        if (r->status == 429 && *retry_after < 0)
                *retry_after = body_retry_after(r);
        return o;
}

const struct backend_ops backend_discord = {
        .type = "discord",
        .build = discord_build,
        .classify = discord_classify,
};
