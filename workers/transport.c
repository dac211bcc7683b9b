#include "transport.h"

#include "backend_int.h"
#include "ics.h"
#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

void
transport_job_clear(struct transport_job *j)
{
        curl_slist_free_all(j->headers);
        j->headers = NULL;
        http_request_free(&j->req);
        email_msg_free(&j->mail);
}

/* An HTTP flavour: its backend builds the request. */
static int
http_prepare(const struct transport *tp, CURL *easy, struct transport_job *j,
             const struct transport_input *in, enum outcome *fail, bool *local,
             char **cause)
{
        const struct channel *ch = in->ch;
        const struct wsecrets_channel *cs;
        struct backend_input bi;

        *fail = OUTCOME_FAILED;
        if ((cs = wsecrets_channel(in->secrets, ch, cause)) == NULL) {
                *fail = OUTCOME_RETRY;
                *local = true;
                return -1;
        }
        bi = (struct backend_input){
                in->job,      ch->url[0] != '\0' ? ch->url : cs->url.value,
                cs->keybytes, cs->keylen,
                in->title,    in->text,
                in->now
        };
        if (tp->be->build(&bi, &j->req, cause) < 0)
                return -1;
        for (size_t i = 0; i < j->req.nheaders; i++)
                j->headers = curl_slist_append(j->headers, j->req.headers[i]);
        curl_easy_setopt(easy, CURLOPT_URL, j->req.url);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, j->req.body);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, j->headers);
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                         (long)CURL_HTTP_VERSION_2TLS);
        return 0;
}

static enum outcome
http_classify(const struct transport *tp, CURLcode rc,
              const struct http_response *r, long code, long *retry_after,
              char **error)
{
        (void)rc; /* in r: no status, and the transport error */
        (void)code;
        return tp->be->classify(r, retry_after, error);
}

/*
 * libcurl's trace of an SMTP transfer (CURLOPT_DEBUGFUNCTION): a recipient
 * the relay refuses is left out while the others get the message, and
 * libcurl reports nothing per recipient, so each refusal is logged here.
 * Nothing else of the trace is kept or logged (it holds the AUTH line).
 */
static int
on_smtp_trace(CURL *easy, curl_infotype type, char *data, size_t size,
              void *arg)
{
        struct transport_job *j = arg;
        char *refused;

        (void)easy;
        refused = email_trace(&j->mail, type, data, size);
        if (refused != NULL)
                log_warnx("delivery %s: the relay refused recipient %s", j->uid,
                          refused);
        free(refused);
        return 0;
}

/* Email: the relay, TLS and credentials from the email group. */
static int
smtp_prepare(const struct transport *tp, CURL *easy, struct transport_job *j,
             const struct transport_input *in, enum outcome *fail, bool *local,
             char **cause)
{
        const struct conf *c = in->conf;
        struct email_input ei;
        const json_t *message = json_object_get(in->job, "message");
        char *rcpt[1];
        const char *secret = NULL;
        char *host = NULL;
        int rc = -1;

        (void)tp;
        *fail = OUTCOME_FAILED;
        if (!c->email.present) {
                xasprintf(cause, "this worker's config has no email group");
                log_warnx("delivery %s: %s", j->uid, *cause);
                *fail = OUTCOME_RETRY;
                *local = true;
                goto out;
        }
        /* The From domain names every Message-ID, so any worker sending a
         * delivery again gives it the same id. */
        host = ics_uid_host(c->email.from);
        ei.job = in->job;
        ei.from = c->email.from;
        ei.to = in->ch->to;
        ei.nto = in->ch->nto;
        ei.subject = in->title;
        ei.text = in->text;
        ei.plain = message != NULL;
        /* A one-off message goes to its one address, as it is written. */
        if (message != NULL) {
                rcpt[0] =
                    (char *)json_string_value(json_object_get(message, "to"));
                ei.to = rcpt;
                ei.nto = 1;
                ei.subject =
                    json_string_value(json_object_get(message, "subject"));
                ei.text = json_string_value(json_object_get(message, "text"));
        }
        ei.host = host != NULL ? host : "ofsted-notify.invalid";
        ei.now = in->now;
        if (email_build(easy, &ei, &j->mail, cause) < 0)
                goto out;
        curl_easy_setopt(easy, CURLOPT_URL, c->email.smtp);
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(easy, CURLOPT_MAIL_FROM, j->mail.mail_from);
        curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, j->mail.rcpt);
        /* One refused recipient (someone who left) must not cost the
         * others their alert: libcurl goes on with the accepted ones and
         * fails only when the relay refuses them all. 8.2 fixed the name. */
#if CURL_AT_LEAST_VERSION(8, 2, 0)
        curl_easy_setopt(easy, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
        curl_easy_setopt(easy, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
#endif
        /* The trace is the only place libcurl shows which one it was. */
        curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, on_smtp_trace);
        curl_easy_setopt(easy, CURLOPT_DEBUGDATA, j);
        curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, j->mail.headers);
        curl_easy_setopt(easy, CURLOPT_MIMEPOST, j->mail.mime);
        /* Bounds the wait for a reply, QUIT included (else 120 s). */
        curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                         (long)(in->timeout_ms / 1000));
        /* starttls and implicit TLS both insist, never falling back to
         * clear text; none only reaches here for a loopback relay (the
         * config loader sees to that). */
        curl_easy_setopt(easy, CURLOPT_USE_SSL,
                         c->email.tls == EMAIL_TLS_NONE ? (long)CURLUSESSL_NONE
                                                        : (long)CURLUSESSL_ALL);
        if (c->email.ca_file[0] != '\0')
                curl_easy_setopt(easy, CURLOPT_CAINFO, c->email.ca_file);
        if (c->email.username[0] != '\0')
                curl_easy_setopt(easy, CURLOPT_USERNAME, c->email.username);
        secret = wsecrets_mail(in->secrets, cause);
        if (*cause != NULL) {
                *fail = OUTCOME_RETRY;
                *local = true;
                goto out;
        }
        if (c->email.password_file[0] != '\0') {
                curl_easy_setopt(easy, CURLOPT_PASSWORD, secret);
        } else if (c->email.bearer_token_file[0] != '\0') {
                /* XOAUTH2, as Microsoft 365 and Gmail take it (libcurl
                 * would prefer OAUTHBEARER when a server offers both). */
                curl_easy_setopt(easy, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
                curl_easy_setopt(easy, CURLOPT_XOAUTH2_BEARER, secret);
        }
        rc = 0;
out:
        free(host);
        return rc;
}

static enum outcome
smtp_classify(const struct transport *tp, CURLcode rc,
              const struct http_response *r, long code, long *retry_after,
              char **error)
{
        (void)tp;
        (void)r;
        (void)retry_after; /* SMTP has no Retry-After */
        return email_classify(rc, code, error);
}

#define HTTP(t, b) [t] = { t, &b, http_prepare, http_classify }

/* Every channel type, indexed by it. */
static const struct transport transports[CHANNEL_NTYPES] = {
        [CHANNEL_EMAIL] = { CHANNEL_EMAIL, NULL, smtp_prepare, smtp_classify },
        HTTP(CHANNEL_TEAMS, backend_teams),
        HTTP(CHANNEL_GOOGLE_CHAT, backend_google_chat),
        HTTP(CHANNEL_SLACK, backend_slack),
        HTTP(CHANNEL_DISCORD, backend_discord),
        HTTP(CHANNEL_MATTERMOST, backend_mattermost),
        HTTP(CHANNEL_WEBHOOK, backend_webhook),
};

const struct transport *
transport_find(enum channel_type type)
{
        if ((unsigned)type >= CHANNEL_NTYPES ||
            transports[type].prepare == NULL)
                return NULL;
        return &transports[type];
}
