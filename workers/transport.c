#include "transport.h"

#include "backend_int.h"
#include "graph.h"
#include "ics.h"
#include "log.h"
#include "xalloc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTHORIZATION "Authorization: Bearer "

void
transport_job_clear(struct transport_job *j)
{
        /* Graph's Authorization header holds the token. */
        for (struct curl_slist *h = j->headers; h != NULL; h = h->next) {
                if (strncasecmp(h->data, AUTHORIZATION,
                                strlen(AUTHORIZATION)) == 0)
                        sodium_memzero(h->data, strlen(h->data));
        }
        curl_slist_free_all(j->headers);
        j->headers = NULL;
        http_request_free(&j->req);
        email_msg_free(&j->mail);
        oauth2_destroy(&j->oauth2);
        free(j->bearer_file);
        j->bearer_file = NULL;
        free(j->body);
        j->body = NULL;
}

/*
 * The token for a job of a group with email.oauth2 (j->oauth2), as
 * oauth2_token() answers: 0 with *token, 1 while the sign-in is under
 * way, -1 with *cause when it failed: a problem on our side, retried.
 */
static int
job_token(struct transport_job *j, int64_t now_ms, const char **token,
          enum outcome *fail, bool *local, char **cause)
{
        int rc = oauth2_token(j->oauth2, now_ms, token, &j->gen, cause);

        if (rc < 0) {
                *fail = OUTCOME_RETRY;
                *local = true;
        }
        return rc;
}

/*
 * Whether the server refused the job's token (`refused`) and this job has
 * not had its renewal: then the token is dropped, for sign() to get
 * another.
 */
static bool
token_refused(struct transport_job *j, bool refused)
{
        if (!refused || j->oauth2 == NULL || j->renewed)
                return false;
        j->renewed = true;
        oauth2_refused(j->oauth2, j->gen);
        log_info("delivery %s: the server refused the token: sending again "
                 "with a new one",
                 j->uid);
        return true;
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
                .job = in->job,
                .url = ch->url[0] != '\0' ? ch->url : cs->url.value,
                .key = cs->keybytes,
                .keylen = cs->keylen,
                .title = in->title,
                .text = in->text,
                .now = in->now,
                .ch = ch,
                .token = cs->token.value,
                .user = cs->user.value,
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
http_classify(const struct transport *tp, const struct transport_job *j,
              CURLcode rc, const struct http_response *r, long code,
              long *retry_after, bool *local, char **error)
{
        (void)j;
        (void)rc; /* in r: no status, and the transport error */
        (void)code;
        (void)local;
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

/*
 * What email_build() makes the message of, for SMTP and Graph alike: the
 * alert to the channel's recipients, or a one-off message (the JOB's
 * "message") to its one address, as it is written (rcpt holds that
 * address). Returns the Message-ID's host to free (NULL: a stand-in is
 * used): the From domain names every Message-ID, so any worker sending a
 * delivery again gives it the same id.
 */
static char *
email_input_of(const struct transport_input *in, struct email_input *ei,
               char *rcpt[1])
{
        const struct conf *c = in->conf;
        const json_t *message = json_object_get(in->job, "message");
        char *host = ics_uid_host(c->email.from);

        *ei = (struct email_input){ .job = in->job,
                                    .from = c->email.from,
                                    .to = in->ch->to,
                                    .nto = in->ch->nto,
                                    .subject = in->title,
                                    .text = in->text,
                                    .plain = message != NULL,
                                    .host = host != NULL
                                                ? host
                                                : "ofsted-notify.invalid",
                                    .now = in->now };
        if (message != NULL) {
                rcpt[0] =
                    (char *)json_string_value(json_object_get(message, "to"));
                ei->to = rcpt;
                ei->nto = 1;
                ei->subject =
                    json_string_value(json_object_get(message, "subject"));
                ei->text = json_string_value(json_object_get(message, "text"));
        }
        return host;
}

/* Email: the relay, TLS and credentials from the email group. */
static int
smtp_prepare(const struct transport *tp, CURL *easy, struct transport_job *j,
             const struct transport_input *in, enum outcome *fail, bool *local,
             char **cause)
{
        const struct conf *c = in->conf;
        struct email_input ei;
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
        host = email_input_of(in, &ei, rcpt);
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
        if (in->oauth2 != NULL) {
                /* The token: smtp_sign(). XOAUTH2's user is the mailbox:
                 * the sender's address unless username says otherwise. */
                j->oauth2 = oauth2_hold(in->oauth2);
                if (c->email.username[0] == '\0') {
                        char *addr = email_from_address(c->email.from);

                        curl_easy_setopt(easy, CURLOPT_USERNAME, addr);
                        free(addr);
                }
                curl_easy_setopt(easy, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
                rc = 0;
                goto out;
        }
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
                j->bearer_file = xstrdup(c->email.bearer_token_file);
        }
        rc = 0;
out:
        free(host);
        return rc;
}

/* With email.oauth2: the token, for XOAUTH2. */
static int
smtp_sign(const struct transport *tp, CURL *easy, struct transport_job *j,
          int64_t now_ms, enum outcome *fail, bool *local, char **cause)
{
        const char *token = NULL;
        int rc;

        (void)tp;
        if (j->oauth2 == NULL)
                return 0;
        rc = job_token(j, now_ms, &token, fail, local, cause);
        if (rc == 0)
                curl_easy_setopt(easy, CURLOPT_XOAUTH2_BEARER, token);
        return rc;
}

static enum outcome
smtp_classify(const struct transport *tp, const struct transport_job *j,
              CURLcode rc, const struct http_response *r, long code,
              long *retry_after, bool *local, char **error)
{
        enum outcome o;
        char *e = NULL;

        (void)tp;
        (void)r;
        (void)retry_after; /* SMTP has no Retry-After */
        o = email_classify(rc, code, error);
        if (rc == CURLE_LOGIN_DENIED && j->oauth2 != NULL) {
                /* Refused with a token just renewed: the app's rights. */
                xasprintf(&e,
                          "%s with a new token: does the app have "
                          "SMTP.SendAsApp and the mailbox SMTP AUTH and "
                          "Add-MailboxPermission?",
                          *error);
                free(*error);
                *error = e;
        } else if (rc == CURLE_LOGIN_DENIED && j->bearer_file != NULL) {
                /* The token is ours, written by a refresher that may lag:
                 * held and tried again until the file has a good one
                 * (the secrets module reads it again when it changes). */
                xasprintf(&e,
                          "%s: the relay refused the bearer token in '%s': "
                          "check the refresher that writes it",
                          *error, j->bearer_file);
                free(*error);
                *error = e;
                *local = true;
                o = OUTCOME_RETRY;
        }
        return o;
}

/* SMTP refused the token (535 and friends): once more with a new one. */
static bool
smtp_refused(const struct transport *tp, struct transport_job *j, CURLcode rc,
             long code)
{
        (void)tp;
        (void)code;
        return token_refused(j, rc == CURLE_LOGIN_DENIED);
}

/* Graph: the message as MIME, base64, to sendMail with the token. */
static int
graph_prepare(const struct transport *tp, CURL *easy, struct transport_job *j,
              const struct transport_input *in, enum outcome *fail, bool *local,
              char **cause)
{
        const struct conf *c = in->conf;
        struct email_input ei;
        char *rcpt[1];
        char *host = NULL, *mime = NULL, *addr = NULL, *url = NULL;
        size_t n;
        int rc = -1;

        (void)tp;
        *fail = OUTCOME_FAILED;
        if (!c->email.present || in->oauth2 == NULL) {
                xasprintf(cause, "this worker's config has no email group "
                                 "with oauth2");
                *fail = OUTCOME_RETRY;
                *local = true;
                goto out;
        }
        host = email_input_of(in, &ei, rcpt);
        if (email_build(easy, &ei, &j->mail, cause) < 0)
                goto out;
        j->oauth2 = oauth2_hold(in->oauth2); /* the token: graph_sign() */
        mime = email_mime_text(&j->mail);
        n = sodium_base64_ENCODED_LEN(strlen(mime),
                                      sodium_base64_VARIANT_ORIGINAL);
        j->body = xmalloc(n);
        sodium_bin2base64(j->body, n, (const unsigned char *)mime, strlen(mime),
                          sodium_base64_VARIANT_ORIGINAL);
        addr = email_from_address(c->email.from);
        url = graph_send_url(c->email.graph_url, addr);
        curl_easy_setopt(easy, CURLOPT_URL, url);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
        if (c->email.ca_file[0] != '\0')
                curl_easy_setopt(easy, CURLOPT_CAINFO, c->email.ca_file);
        rc = 0;
out:
        free(host);
        free(mime);
        free(addr);
        free(url);
        return rc;
}

static enum outcome
graph_classify_job(const struct transport *tp, const struct transport_job *j,
                   CURLcode rc, const struct http_response *r, long code,
                   long *retry_after, bool *local, char **error)
{
        (void)tp;
        (void)j;
        (void)rc;
        (void)code;
        (void)local;
        return graph_classify(r, retry_after, error);
}

/* Graph: the request's headers, with the token's Authorization (those of
 * an earlier token wiped). */
static int
graph_sign(const struct transport *tp, CURL *easy, struct transport_job *j,
           int64_t now_ms, enum outcome *fail, bool *local, char **cause)
{
        struct curl_slist *old = j->headers;
        const char *token = NULL;
        char *h;
        int rc;

        (void)tp;
        rc = job_token(j, now_ms, &token, fail, local, cause);
        if (rc != 0)
                return rc;
        j->headers = curl_slist_append(NULL, "Content-Type: text/plain");
        xasprintf(&h, AUTHORIZATION "%s", token);
        j->headers = curl_slist_append(j->headers, h);
        sodium_memzero(h, strlen(h));
        free(h);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, j->headers);
        for (struct curl_slist *s = old; s != NULL; s = s->next)
                sodium_memzero(s->data, strlen(s->data));
        curl_slist_free_all(old);
        return 0;
}

/* Graph refused the token (401): once more with a new one. */
static bool
graph_refused(const struct transport *tp, struct transport_job *j, CURLcode rc,
              long code)
{
        (void)tp;
        return token_refused(j, rc == CURLE_OK && code == 401);
}

/* The HTTP options a GET without a body shares (heartbeat, receipt). */
static void
get_options(CURL *easy, struct transport_job *j)
{
        j->headers = curl_slist_append(
            NULL, "User-Agent: ofsted-notify/" PROJECT_VERSION);
        curl_easy_setopt(easy, CURLOPT_URL, j->req.url);
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, j->headers);
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
}

/*
 * The heartbeat: a GET of the push monitor's URL, without a body; the
 * monitor counts the request. The URL is a secret: no cause quotes it.
 */
static int
beat_prepare(const struct transport *tp, CURL *easy, struct transport_job *j,
             const struct transport_input *in, enum outcome *fail, bool *local,
             char **cause)
{
        const char *url;

        (void)tp;
        url = wsecrets_heartbeat(in->secrets, cause);
        if (url == NULL) {
                if (*cause == NULL)
                        *cause = xstrdup("daemon.heartbeat is not in this "
                                         "worker's config");
                *fail = OUTCOME_RETRY;
                *local = true;
                return -1;
        }
        *fail = OUTCOME_FAILED;
        j->req.url = backend_url(url, cause);
        if (j->req.url == NULL)
                return -1;
        get_options(easy, j);
        return 0;
}

static const struct transport beat_transport = { CHANNEL_WEBHOOK,
                                                 &backend_webhook,
                                                 beat_prepare,
                                                 http_classify,
                                                 NULL,
                                                 NULL };

const struct transport *
transport_heartbeat(void)
{
        return &beat_transport;
}

static int
receipt_prepare(const struct transport *tp, CURL *easy, struct transport_job *j,
                const struct transport_input *in, enum outcome *fail,
                bool *local, char **cause)
{
        const struct channel *ch = in->ch;
        const struct wsecrets_channel *cs;

        (void)tp;
        *fail = OUTCOME_FAILED;
        if ((cs = wsecrets_channel(in->secrets, ch, cause)) == NULL) {
                *fail = OUTCOME_RETRY;
                *local = true;
                return -1;
        }
        if (cs->token.value == NULL || in->receipt == NULL) {
                *cause = xstrdup("pushover needs token_file");
                return -1;
        }
        j->req.url =
            pushover_receipt_url(ch->url[0] != '\0' ? ch->url : cs->url.value,
                                 in->receipt, cs->token.value);
        get_options(easy, j);
        return 0;
}

static const struct transport receipt_transport = { CHANNEL_PUSHOVER,
                                                    &backend_pushover,
                                                    receipt_prepare,
                                                    http_classify,
                                                    NULL,
                                                    NULL };

const struct transport *
transport_receipt(void)
{
        return &receipt_transport;
}

static const struct transport graph_transport = {
        CHANNEL_EMAIL,      NULL,       graph_prepare,
        graph_classify_job, graph_sign, graph_refused
};

#define HTTP(t, b) [t] = { t, &b, http_prepare, http_classify, NULL, NULL }

/* Every channel type, indexed by it. */
static const struct transport transports[CHANNEL_NTYPES] = {
        [CHANNEL_EMAIL] = { CHANNEL_EMAIL, NULL, smtp_prepare, smtp_classify,
                            smtp_sign, smtp_refused },
        HTTP(CHANNEL_TEAMS, backend_teams),
        HTTP(CHANNEL_GOOGLE_CHAT, backend_google_chat),
        HTTP(CHANNEL_SLACK, backend_slack),
        HTTP(CHANNEL_DISCORD, backend_discord),
        HTTP(CHANNEL_MATTERMOST, backend_mattermost),
        HTTP(CHANNEL_WEBHOOK, backend_webhook),
        HTTP(CHANNEL_NTFY, backend_ntfy),
        HTTP(CHANNEL_PUSHOVER, backend_pushover),
        HTTP(CHANNEL_SMS, backend_sms),
};

const struct transport *
transport_find(enum channel_type type)
{
        if ((unsigned)type >= CHANNEL_NTYPES ||
            transports[type].prepare == NULL)
                return NULL;
        return &transports[type];
}

const struct transport *
transport_for(const struct conf *conf, enum channel_type type)
{
        if (type == CHANNEL_EMAIL && conf->email.present &&
            conf->email.transport == EMAIL_TRANSPORT_GRAPH)
                return &graph_transport;
        return transport_find(type);
}
