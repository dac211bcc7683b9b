#include "dproto.h"

#include "jtext.h"
#include "xalloc.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const dproto_type_names[DPROTO_NTYPES] = {
        [DPROTO_READY] = "READY",
        [DPROTO_OUTCOME] = "OUTCOME",
        [DPROTO_HEARTBEAT] = "HEARTBEAT",
        [DPROTO_JOB] = "JOB",
        [DPROTO_ACK] = "ACK",
        [DPROTO_HELLO] = "HELLO",
        [DPROTO_REFUSE] = "REFUSE",
        [DPROTO_RECEIPT] = "RECEIPT",
        [DPROTO_WATCH] = "WATCH",
};

const char *const dproto_kind_names[DPROTO_NKINDS] = {
        [DPROTO_KIND_EMAIL] = "email",
        [DPROTO_KIND_WEBHOOK] = "webhook",
};

const char *const dproto_result_names[DPROTO_NRESULTS] = {
        [DPROTO_DELIVERED] = "delivered",
        [DPROTO_RETRY] = "retry",
        [DPROTO_FAILED] = "failed",
};

/* --- Decoding ----------------------------------------------------------- */

/* The index of `s` in names[0..n), or -1. */
static int
name_index(const char *const *names, int n, const char *s)
{
        for (int i = 0; s != NULL && i < n; i++) {
                if (strcmp(names[i], s) == 0)
                        return i;
        }
        return -1;
}

int
dproto_type_parse(const void *data, size_t len)
{
        for (int i = 0; i < DPROTO_NTYPES; i++) {
                if (strlen(dproto_type_names[i]) == len &&
                    memcmp(dproto_type_names[i], data, len) == 0)
                        return i;
        }
        return -1;
}

/* Field `key` of `body` as a string: required, or NULL when absent. */
static int
get_string(const json_t *body, const char *key, bool required, bool nonempty,
           const char **out, char **cause)
{
        const json_t *v = json_object_get(body, key);

        *out = NULL;
        if (v == NULL && !required)
                return 0;
        if (!json_is_string(v)) {
                xasprintf(cause, "'%s' is %s", key,
                          v == NULL ? "missing" : "not a string");
                return -1;
        }
        if (nonempty && json_string_length(v) == 0) {
                xasprintf(cause, "'%s' is empty", key);
                return -1;
        }
        *out = json_string_value(v);
        return 0;
}

/*
 * Field `key` as an integer in [min, max]; when absent, `dflt` if it is
 * optional.
 */
static int
get_int(const json_t *body, const char *key, bool required, int64_t min,
        int64_t max, int64_t dflt, int64_t *out, char **cause)
{
        const json_t *v = json_object_get(body, key);

        *out = dflt;
        if (v == NULL && !required)
                return 0;
        if (!json_is_integer(v)) {
                xasprintf(cause, "'%s' is %s", key,
                          v == NULL ? "missing" : "not an integer");
                return -1;
        }
        if (json_integer_value(v) < min || json_integer_value(v) > max) {
                xasprintf(cause,
                          "'%s' is %" JSON_INTEGER_FORMAT ", not %" PRId64
                          " to %" PRId64,
                          key, json_integer_value(v), min, max);
                return -1;
        }
        *out = json_integer_value(v);
        return 0;
}

/* Field `key`, one of names[0..n). */
static int
get_name(const json_t *body, const char *key, const char *const *names, int n,
         int *out, char **cause)
{
        const char *s;

        if (get_string(body, key, true, false, &s, cause) < 0)
                return -1;
        *out = name_index(names, n, s);
        if (*out < 0) {
                xasprintf(cause, "'%s' is '%s', which is unknown", key, s);
                return -1;
        }
        return 0;
}

bool
dproto_receipt_valid(const char *s)
{
        size_t n = strlen(s);

        return n > 0 && n <= DPROTO_RECEIPT_MAX &&
               strspn(s, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* Field `key`, a receipt (dproto_receipt_valid()). */
static int
get_receipt(const json_t *body, const char *key, const char **out, char **cause)
{
        if (get_string(body, key, true, true, out, cause) < 0)
                return -1;
        if (!dproto_receipt_valid(*out)) {
                xasprintf(cause,
                          "'%s' is not a receipt (1 to %d letters and digits)",
                          key, DPROTO_RECEIPT_MAX);
                *out = NULL;
                return -1;
        }
        return 0;
}

int
dproto_ready_decode(const json_t *body, struct dproto_ready *out, char **cause)
{
        int kind;
        int64_t credit;

        /* 0: a worker busy with what an earlier scheduler gave it. */
        if (get_name(body, "kind", dproto_kind_names, DPROTO_NKINDS, &kind,
                     cause) < 0 ||
            get_int(body, "credit", true, 0, DPROTO_MAX_CREDIT, 0, &credit,
                    cause) < 0)
                return -1;
        out->kind = (enum dproto_kind)kind;
        out->credit = (int)credit;
        return 0;
}

int
dproto_outcome_decode(const json_t *body, struct dproto_outcome *out,
                      char **cause)
{
        const json_t *local = json_object_get(body, "local");
        const json_t *receipt = json_object_get(body, "receipt");
        int64_t code, ra;
        int result;

        memset(out, 0, sizeof(*out));
        if (get_string(body, "delivery", true, true, &out->delivery, cause) <
                0 ||
            get_int(body, "lease", true, INT64_MIN, INT64_MAX, 0, &out->lease,
                    cause) < 0 ||
            get_name(body, "result", dproto_result_names, DPROTO_NRESULTS,
                     &result, cause) < 0 ||
            get_int(body, "code", false, 0, LONG_MAX, 0, &code, cause) < 0 ||
            get_int(body, "retry_after", false, 0, LONG_MAX, -1, &ra, cause) <
                0 ||
            get_string(body, "error", false, false, &out->error, cause) < 0)
                return -1;
        if (local != NULL && !json_is_boolean(local)) {
                xasprintf(cause, "'local' is not a boolean");
                return -1;
        }
        if (json_is_true(local) && result != DPROTO_RETRY) {
                xasprintf(cause, "'local' with result '%s', not 'retry'",
                          dproto_result_names[result]);
                return -1;
        }
        if (receipt != NULL) {
                if (!json_is_object(receipt)) {
                        xasprintf(cause, "'receipt' is not an object");
                        return -1;
                }
                if (result != DPROTO_DELIVERED) {
                        xasprintf(cause,
                                  "'receipt' with result '%s', not "
                                  "'delivered'",
                                  dproto_result_names[result]);
                        return -1;
                }
                if (get_receipt(receipt, "id", &out->receipt, cause) < 0 ||
                    get_int(receipt, "expires_at", true, 1, INT64_MAX, 0,
                            &out->receipt_expires, cause) < 0)
                        return -1;
        }
        out->result = (enum dproto_result)result;
        out->code = (long)code;
        out->retry_after = (long)ra;
        out->local = json_is_true(local);
        return 0;
}

int
dproto_heartbeat_decode(const json_t *body, struct dproto_heartbeat *out,
                        char **cause)
{
        int64_t credit;

        if (get_int(body, "credit", false, 0, DPROTO_MAX_CREDIT, -1, &credit,
                    cause) < 0)
                return -1;
        out->credit = (int)credit;
        return 0;
}

int
dproto_job_decode(const json_t *body, struct dproto_job *out, char **cause)
{
        memset(out, 0, sizeof(*out));
        if (get_string(body, "delivery", true, true, &out->delivery, cause) <
                0 ||
            get_int(body, "lease", true, INT64_MIN, INT64_MAX, 0, &out->lease,
                    cause) < 0 ||
            get_int(body, "attempt", false, 1, INT64_MAX, 1, &out->attempt,
                    cause) < 0 ||
            get_string(body, "channel", true, true, &out->channel, cause) < 0 ||
            get_string(body, "type", true, true, &out->type, cause) < 0)
                return -1;
        out->alert = json_object_get(body, "alert");
        if (!json_is_object(out->alert)) {
                xasprintf(cause, "'alert' is %s",
                          out->alert == NULL ? "missing" : "not an object");
                out->alert = NULL;
                return -1;
        }
        out->message = json_object_get(body, "message");
        if (out->message != NULL) {
                const char *v;

                if (!json_is_object(out->message)) {
                        xasprintf(cause, "'message' is not an object");
                        out->message = NULL;
                        return -1;
                }
                if (get_string(out->message, "to", true, true, &v, cause) < 0 ||
                    get_string(out->message, "subject", true, true, &v, cause) <
                        0 ||
                    get_string(out->message, "text", true, true, &v, cause) <
                        0) {
                        out->message = NULL;
                        return -1;
                }
        }
        return 0;
}

int
dproto_receipt_decode(const json_t *body, struct dproto_receipt *out,
                      char **cause)
{
        memset(out, 0, sizeof(*out));
        if (get_string(body, "delivery", true, true, &out->delivery, cause) <
                0 ||
            get_string(body, "acknowledged_by", true, true,
                       &out->acknowledged_by, cause) < 0 ||
            get_int(body, "acknowledged_at", true, 1, INT64_MAX, 0,
                    &out->acknowledged_at, cause) < 0)
                return -1;
        if (strlen(out->acknowledged_by) > DPROTO_MAX_ACKED_BY) {
                xasprintf(cause, "'acknowledged_by' is longer than %d bytes",
                          DPROTO_MAX_ACKED_BY);
                return -1;
        }
        return 0;
}

int
dproto_ack_decode(const json_t *body, struct dproto_ack *out, char **cause)
{
        const json_t *receipt = json_object_get(body, "receipt");

        memset(out, 0, sizeof(*out));
        if (receipt != NULL && !json_is_boolean(receipt)) {
                xasprintf(cause, "'receipt' is not a boolean");
                return -1;
        }
        out->receipt = json_is_true(receipt);
        /* A RECEIPT has no lease: its ACK names none. */
        return get_string(body, "delivery", true, true, &out->delivery, cause) <
                           0 ||
                       get_int(body, "lease", !out->receipt, INT64_MIN,
                               INT64_MAX, 0, &out->lease, cause) < 0
                   ? -1
                   : 0;
}

int
dproto_refuse_decode(const json_t *body, struct dproto_refuse *out,
                     char **cause)
{
        return get_string(body, "error", true, false, &out->error, cause);
}

int
dproto_watch_decode(const json_t *body, struct dproto_watch *out, char **cause)
{
        memset(out, 0, sizeof(*out));
        return get_string(body, "delivery", true, true, &out->delivery, cause) <
                           0 ||
                       get_string(body, "channel", true, true, &out->channel,
                                  cause) < 0 ||
                       get_receipt(body, "receipt", &out->receipt, cause) < 0 ||
                       get_int(body, "expires_at", true, 1, INT64_MAX, 0,
                               &out->expires_at, cause) < 0
                   ? -1
                   : 0;
}

int
dproto_decode(const struct dproto_frame *f, int n, struct dproto_msg *m,
              char **cause)
{
        json_error_t jerr;
        int type, rc = -1;

        memset(m, 0, sizeof(*m));
        if (n < 2 || n > 3) {
                m->fault = DPROTO_FAULT_FRAMES;
                xasprintf(cause, "%d frames, not 2 or 3", n);
                return -1;
        }
        if (f[0].len != strlen(DPROTO_ID) ||
            memcmp(f[0].data, DPROTO_ID, f[0].len) != 0) {
                m->fault = DPROTO_FAULT_FOREIGN;
                xasprintf(cause, "not %s", DPROTO_ID);
                return -1;
        }
        /* The body before the type, as the daemon always judged them. */
        if (n == 3)
                m->root = json_loadb(f[2].data, f[2].len, 0, &jerr);
        else
                m->root = json_object();
        if (!json_is_object(m->root)) {
                m->fault = DPROTO_FAULT_BODY;
                if (m->root == NULL)
                        xasprintf(cause, "the body is not JSON: %s", jerr.text);
                else
                        xasprintf(cause, "the body is not a JSON object");
                return -1;
        }
        type = dproto_type_parse(f[1].data, f[1].len);
        if (type < 0) {
                m->fault = DPROTO_FAULT_TYPE;
                xasprintf(cause, "no such message type");
                return -1;
        }
        m->type = (enum dproto_type)type;
        switch (m->type) {
        case DPROTO_READY:
                rc = dproto_ready_decode(m->root, &m->u.ready, cause);
                break;
        case DPROTO_OUTCOME:
                rc = dproto_outcome_decode(m->root, &m->u.outcome, cause);
                break;
        case DPROTO_HEARTBEAT:
                rc = dproto_heartbeat_decode(m->root, &m->u.heartbeat, cause);
                break;
        case DPROTO_JOB:
                rc = dproto_job_decode(m->root, &m->u.job, cause);
                break;
        case DPROTO_ACK:
                rc = dproto_ack_decode(m->root, &m->u.ack, cause);
                break;
        case DPROTO_HELLO:
                rc = 0;
                break;
        case DPROTO_REFUSE:
                rc = dproto_refuse_decode(m->root, &m->u.refuse, cause);
                break;
        case DPROTO_RECEIPT:
                rc = dproto_receipt_decode(m->root, &m->u.receipt, cause);
                break;
        case DPROTO_WATCH:
                rc = dproto_watch_decode(m->root, &m->u.watch, cause);
                break;
        case DPROTO_NTYPES:
                break;
        }
        if (rc < 0)
                m->fault = DPROTO_FAULT_FIELDS;
        return rc;
}

void
dproto_msg_clear(struct dproto_msg *m)
{
        if (m == NULL)
                return;
        json_decref(m->root);
        memset(m, 0, sizeof(*m));
}

/* --- Encoding ----------------------------------------------------------- */

/* Whether `s` is written in a JSON string as it is. */
static bool
plain(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;

        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
                p++;
        return *p == '\0';
}

/* `s` escaped for a JSON string: `s` itself when nothing needs it, else
 * a copy in *owned (the caller frees it). */
static const char *
escaped(const char *s, char **owned)
{
        struct strbuf b = { NULL, 0, 0 };

        *owned = NULL;
        if (plain(s))
                return s;
        strbuf_add(&b, "", 0);
        jtext_escaped(&b, s);
        return *owned = b.s;
}

/* `key` (a JSON text such as ",\"type\":") and then `v` as a JSON string. */
static void
add_string(struct strbuf *b, const char *key, const char *v)
{
        strbuf_add(b, key, strlen(key));
        jtext_string(b, v);
}

char *
dproto_ready_encode(const struct dproto_ready *r)
{
        char *text;

        xasprintf(&text, "{\"kind\": \"%s\", \"credit\": %d}",
                  dproto_kind_names[r->kind], r->credit);
        return text;
}

char *
dproto_outcome_encode(const struct dproto_outcome *o)
{
        struct strbuf b = { NULL, 0, 0 };
        char *owned;
        const char *uid = escaped(o->delivery, &owned);
        const char *result = dproto_result_names[o->result];

        /* One format for the common case: delivered, with its status. */
        if (o->code > 0)
                strbuf_printf(&b,
                              "{\"delivery\":\"%s\",\"lease\":%" PRId64
                              ",\"result\":\"%s\",\"code\":%ld",
                              uid, o->lease, result, o->code);
        else
                strbuf_printf(&b,
                              "{\"delivery\":\"%s\",\"lease\":%" PRId64
                              ",\"result\":\"%s\"",
                              uid, o->lease, result);
        if (o->retry_after >= 0)
                strbuf_printf(&b, ",\"retry_after\":%ld", o->retry_after);
        if (o->local && o->result == DPROTO_RETRY)
                strbuf_add(&b, ",\"local\":true", 13);
        if (o->error != NULL)
                add_string(&b, ",\"error\":", o->error);
        if (o->receipt != NULL && o->result == DPROTO_DELIVERED) {
                add_string(&b, ",\"receipt\":{\"id\":", o->receipt);
                strbuf_printf(&b, ",\"expires_at\":%" PRId64 "}",
                              o->receipt_expires);
        }
        strbuf_add(&b, "}", 1);
        free(owned);
        return b.s;
}

char *
dproto_receipt_encode(const struct dproto_receipt *r)
{
        struct strbuf b = { NULL, 0, 0 };

        add_string(&b, "{\"delivery\":", r->delivery);
        add_string(&b, ",\"acknowledged_by\":", r->acknowledged_by);
        strbuf_printf(&b, ",\"acknowledged_at\":%" PRId64 "}",
                      r->acknowledged_at);
        return b.s;
}

char *
dproto_heartbeat_encode(const struct dproto_heartbeat *h)
{
        char *text;

        if (h->credit < 0)
                return xstrdup("{}");
        xasprintf(&text, "{\"credit\": %d}", h->credit);
        return text;
}

bool
dproto_is_beat(const char *delivery)
{
        size_t n = strlen(DPROTO_BEAT);

        return strncmp(delivery, DPROTO_BEAT "-", n + 1) == 0 &&
               delivery[n + 1] != '\0';
}

char *
dproto_job_encode(const struct dproto_job *j, const char *alert_json)
{
        struct strbuf b = { NULL, 0, 0 };

        add_string(&b, "{\"delivery\":", j->delivery);
        strbuf_printf(&b, ",\"lease\":%" PRId64 ",\"attempt\":%" PRId64,
                      j->lease, j->attempt);
        add_string(&b, ",\"channel\":", j->channel);
        add_string(&b, ",\"type\":", j->type);
        strbuf_add(&b, ",\"alert\":", 9);
        strbuf_add(&b, alert_json, strlen(alert_json));
        if (j->message != NULL) {
                add_string(
                    &b, ",\"message\":{\"to\":",
                    json_string_value(json_object_get(j->message, "to")));
                add_string(
                    &b, ",\"subject\":",
                    json_string_value(json_object_get(j->message, "subject")));
                add_string(
                    &b, ",\"text\":",
                    json_string_value(json_object_get(j->message, "text")));
                strbuf_add(&b, "}", 1);
        }
        strbuf_add(&b, "}", 1);
        return b.s;
}

char *
dproto_ack_encode(const struct dproto_ack *a)
{
        char *owned, *text;
        const char *uid = escaped(a->delivery, &owned);

        if (a->receipt)
                xasprintf(&text, "{\"delivery\":\"%s\",\"receipt\":true}", uid);
        else
                xasprintf(&text, "{\"delivery\":\"%s\",\"lease\":%" PRId64 "}",
                          uid, a->lease);
        free(owned);
        return text;
}

char *
dproto_hello_encode(void)
{
        return xstrdup("{}");
}

char *
dproto_refuse_encode(const struct dproto_refuse *r)
{
        struct strbuf b = { NULL, 0, 0 };

        add_string(&b, "{\"error\":", r->error);
        strbuf_add(&b, "}", 1);
        return b.s;
}

char *
dproto_watch_encode(const struct dproto_watch *w)
{
        struct strbuf b = { NULL, 0, 0 };

        add_string(&b, "{\"delivery\":", w->delivery);
        add_string(&b, ",\"channel\":", w->channel);
        add_string(&b, ",\"receipt\":", w->receipt);
        strbuf_printf(&b, ",\"expires_at\":%" PRId64 "}", w->expires_at);
        return b.s;
}
