/*
 * Delivery end to end (delivery.h): The payload of every chat flavour against
 * the shape its service documents, with the idempotency key and the Standard
 * Webhooks signature; a webhook and an email worker (with smtpsink) on one
 * daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "delivery.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* --- Files, text, time ------------------------------------------------ */

/* Characters (code points) in UTF-8 text. */
static size_t
chars(const char *s)
{
        size_t n = 0;

        for (; *s != '\0'; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

/* --- Payload shapes, as each service documents them ------------------- */

/* What every flavour's message must say: from the config and the event. */
struct expect {
        const char *id;   /* the delivery, from history */
        const char *due;  /* the deadline, from the planner */
        char due_utc[32]; /* the same in UTC */
        time_t at;        /* the event */
        time_t recorded;  /* when the test had recorded it */
        /* The one-click link each payload carried, one per delivery. */
        char links[8][128];
        size_t nlinks;
};

/* The label the link carries wherever a service shows one. */
#define ACK_LABEL "Done \xe2\x80\x94 stop the reminders"

/*
 * `url` is a one-click link under the config's web.base_url (LINK_BASE
 * "/a/" and a token: "ont_" and 43 base64url characters), not one another
 * payload carried; kept in e->links.
 */
static void
check_link(struct expect *e, const char *url)
{
        const char *tok = LINK_BASE "/a/ont_";

        assert_non_null(url);
        if (strncmp(url, tok, strlen(tok)) != 0 ||
            strlen(url) != strlen(tok) + 43 ||
            strspn(url + strlen(tok),
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "abcdefghijklmnopqrstuvwxyz0123456789-_") != 43)
                fail_msg("not a one-click link: '%s'", url);
        for (size_t i = 0; i < e->nlinks; i++)
                assert_string_not_equal(e->links[i], url);
        assert_true(e->nlinks < sizeof(e->links) / sizeof(e->links[0]));
        snprintf(e->links[e->nlinks++], sizeof(e->links[0]), "%s", url);
}

/*
 * Teams (Workflows webhook): {"type": "message", "attachments": [{
 * "contentType": "application/vnd.microsoft.card.adaptive", "content":
 * an AdaptiveCard}]}; the card's body holds TextBlocks and a FactSet.
 */
static void
check_teams(json_t *b, struct expect *e)
{
        json_t *att, *card, *el, *fact, *open;
        size_t i, j;
        bool title = false, facts = false, contact = false;

        assert_string_equal(jstr(b, "type"), "message");
        assert_int_equal(json_array_size(jarr(b, "attachments")), 1);
        att = json_array_get(jarr(b, "attachments"), 0);
        assert_string_equal(jstr(att, "contentType"),
                            "application/vnd.microsoft.card.adaptive");
        if (json_object_get(att, "contentUrl") != NULL)
                assert_true(json_is_null(json_object_get(att, "contentUrl")));
        card = jobj(att, "content");
        assert_string_equal(jstr(card, "type"), "AdaptiveCard");
        assert_true(strncmp(jstr(card, "version"), "1.", 2) == 0);
        assert_true(json_array_size(jarr(card, "body")) >= 2);
        json_array_foreach(jarr(card, "body"), i, el)
        {
                const char *type = jstr(el, "type");

                if (strcmp(type, "TextBlock") == 0) {
                        const char *text = jstr(el, "text");

                        title = title || (strstr(text, NAME_ALL) != NULL &&
                                          strstr(text, "drill") != NULL);
                } else if (strcmp(type, "FactSet") == 0) {
                        assert_true(json_array_size(jarr(el, "facts")) > 0);
                        json_array_foreach(jarr(el, "facts"), j, fact)
                        {
                                const char *v = jstr(fact, "value");

                                assert_true(strlen(jstr(fact, "title")) > 0);
                                facts = facts || (strstr(v, NAME_ALL) != NULL &&
                                                  strstr(v, URN_ALL) != NULL);
                                contact = contact || strcmp(v, CONTACT) == 0;
                        }
                } else {
                        fail_msg("Teams card element of type '%s'", type);
                }
        }
        assert_true(title);
        assert_true(facts);
        assert_true(contact);
        /* The link: the card's one action, Action.OpenUrl. */
        assert_int_equal(json_array_size(jarr(card, "actions")), 1);
        open = json_array_get(jarr(card, "actions"), 0);
        assert_string_equal(jstr(open, "type"), "Action.OpenUrl");
        assert_string_equal(jstr(open, "title"), ACK_LABEL);
        check_link(e, jstr(open, "url"));
}

/*
 * Google Chat: {"text", "cardsV2": [{"cardId", "card": {"header":
 * {"title"}, "sections": [{"widgets": [...]}]}}]}.
 */
static void
check_google_chat(json_t *b, struct expect *e)
{
        json_t *cards, *card, *sec, *w;
        size_t i, j;
        bool school = false;
        int buttons = 0;

        assert_contains(jstr(b, "text"), ACTION);
        cards = jarr(b, "cardsV2");
        assert_int_equal(json_array_size(cards), 1);
        assert_true(strlen(jstr(json_array_get(cards, 0), "cardId")) > 0);
        card = jobj(json_array_get(cards, 0), "card");
        assert_contains(jstr(jobj(card, "header"), "title"), NAME_ALL);
        assert_true(json_array_size(jarr(card, "sections")) > 0);
        json_array_foreach(jarr(card, "sections"), i, sec)
        {
                assert_true(json_array_size(jarr(sec, "widgets")) > 0);
                json_array_foreach(jarr(sec, "widgets"), j, w)
                {
                        json_t *dt;

                        /* A widget is one kind of widget. */
                        assert_int_equal(json_object_size(w), 1);
                        dt = json_object_get(w, "decoratedText");
                        if (dt != NULL)
                                school = school ||
                                         strstr(jstr(dt, "text"), NAME_ALL);
                        /* The link: a buttonList of one button whose
                         * onClick opens it. */
                        dt = json_object_get(w, "buttonList");
                        if (dt != NULL) {
                                json_t *btn;

                                assert_int_equal(
                                    json_array_size(jarr(dt, "buttons")), 1);
                                btn = json_array_get(jarr(dt, "buttons"), 0);
                                assert_string_equal(jstr(btn, "text"),
                                                    ACK_LABEL);
                                check_link(e, jstr(jobj(jobj(btn, "onClick"),
                                                        "openLink"),
                                                   "url"));
                                buttons++;
                        }
                }
        }
        assert_true(school);
        assert_int_equal(buttons, 1);
}

/*
 * Slack: {"text" (the notification fallback), "blocks": [{"type":
 * "header", "text": {"type": "plain_text", "text" (<= 150)}}, sections]}.
 */
static void
check_slack(json_t *b, struct expect *e)
{
        json_t *blocks = jarr(b, "blocks"), *bl, *head, *fl, *el;
        size_t i, j;

        assert_contains(jstr(b, "text"), NAME_ALL);
        assert_true(json_array_size(blocks) >= 2 &&
                    json_array_size(blocks) <= 50);
        bl = json_array_get(blocks, 0);
        assert_string_equal(jstr(bl, "type"), "header");
        head = jobj(bl, "text");
        assert_string_equal(jstr(head, "type"), "plain_text");
        assert_contains(jstr(head, "text"), NAME_ALL);
        assert_true(chars(jstr(head, "text")) <= 150);
        json_array_foreach(blocks, i, bl)
        {
                if (i == 0)
                        continue;
                if (strcmp(jstr(bl, "type"), "actions") == 0) {
                        /* The link: the last block, one link button. */
                        assert_int_equal(i, json_array_size(blocks) - 1);
                        assert_int_equal(json_array_size(jarr(bl, "elements")),
                                         1);
                        el = json_array_get(jarr(bl, "elements"), 0);
                        assert_string_equal(jstr(el, "type"), "button");
                        assert_string_equal(jstr(jobj(el, "text"), "type"),
                                            "plain_text");
                        assert_string_equal(jstr(jobj(el, "text"), "text"),
                                            ACK_LABEL);
                        assert_true(strlen(jstr(el, "action_id")) > 0);
                        check_link(e, jstr(el, "url"));
                        continue;
                }
                assert_string_equal(jstr(bl, "type"), "section");
                if (json_object_get(bl, "text") != NULL) {
                        assert_string_equal(jstr(jobj(bl, "text"), "type"),
                                            "mrkdwn");
                        assert_true(chars(jstr(jobj(bl, "text"), "text")) <=
                                    3000);
                        continue;
                }
                assert_true(json_array_size(jarr(bl, "fields")) <= 10);
                json_array_foreach(jarr(bl, "fields"), j, fl)
                {
                        assert_string_equal(jstr(fl, "type"), "mrkdwn");
                        assert_true(chars(jstr(fl, "text")) <= 2000);
                }
        }
        assert_string_equal(
            jstr(json_array_get(blocks, json_array_size(blocks) - 1), "type"),
            "actions");
}

/*
 * Discord (execute webhook, ?wait=true): {"content" (<= 2000), "embeds":
 * [{"title" (<= 256), ...}], "allowed_mentions": {"parse": []}}.
 */
static void
check_discord(json_t *b, struct expect *e)
{
        json_t *embeds = jarr(b, "embeds"), *em, *fl, *ts;
        size_t i;

        assert_contains(jstr(b, "content"), NAME_ALL);
        assert_true(chars(jstr(b, "content")) <= 2000);
        assert_true(json_array_size(embeds) >= 1 &&
                    json_array_size(embeds) <= 10);
        em = json_array_get(embeds, 0);
        assert_contains(jstr(em, "title"), NAME_ALL);
        assert_true(chars(jstr(em, "title")) <= 256);
        if (json_object_get(em, "description") != NULL)
                assert_true(chars(jstr(em, "description")) <= 4096);
        if (json_object_get(em, "fields") != NULL) {
                assert_true(json_array_size(jarr(em, "fields")) <= 25);
                json_array_foreach(jarr(em, "fields"), i, fl)
                {
                        assert_true(chars(jstr(fl, "name")) <= 256);
                        assert_true(chars(jstr(fl, "value")) <= 1024);
                }
        }
        ts = json_object_get(em, "timestamp");
        if (ts != NULL)
                assert_true(rfc3339(json_string_value(ts)) ==
                            rfc3339(e->due_utc));
        /* The link: the embed's title opens it, and a line of the
         * content holds it, <> around it so Discord shows no preview. */
        check_link(e, jstr(em, "url"));
        {
                char line[256];

                snprintf(line, sizeof(line), "\n" ACK_LABEL ": <%s>",
                         jstr(em, "url"));
                assert_contains(jstr(b, "content"), line);
        }
        assert_true(json_is_array(jarr(jobj(b, "allowed_mentions"), "parse")));
        assert_int_equal(
            json_array_size(jarr(jobj(b, "allowed_mentions"), "parse")), 0);
}

/* Mattermost: {"text": markdown}. */
static void
check_mattermost(json_t *b, struct expect *e)
{
        const char *text = jstr(b, "text");
        const char *md = "\n\n[" ACK_LABEL "](";
        const char *link = strstr(text, md);
        char url[256];

        assert_contains(text, NAME_ALL);
        /* The link: a Markdown link, the post's last line. */
        assert_non_null(link);
        link += strlen(md);
        assert_true(strlen(link) > 1 && strlen(link) < sizeof(url));
        assert_int_equal(link[strlen(link) - 1], ')');
        snprintf(url, sizeof(url), "%.*s", (int)strlen(link) - 1, link);
        check_link(e, url);
        assert_contains(text, URN_ALL);
        assert_contains(text, "drill");
        assert_contains(text, ACTION);
        assert_contains(text, CONTACT);
        assert_true(chars(text) <= 4000);
}

/* The generic webhook: the alert itself, as README documents it. */
static void
check_webhook(json_t *b, struct expect *e)
{
        json_t *dl = jobj(b, "deadline");

        assert_string_equal(jstr(b, "type"), "ofsted_notify.alert");
        assert_string_equal(jstr(b, "delivery"), e->id);
        assert_int_equal(jint(b, "attempt"), 1);
        assert_string_equal(jstr(b, "trust"), TRUST);
        assert_string_equal(jstr(jobj(b, "school"), "urn"), URN_ALL);
        assert_string_equal(jstr(jobj(b, "school"), "name"), NAME_ALL);
        assert_string_equal(jstr(b, "rule"), "drill");
        assert_string_equal(jstr(b, "offset"), "event");
        assert_true(json_is_false(member(b, "late")));
        assert_string_equal(jstr(b, "action"), ACTION);
        assert_string_equal(jstr(b, "contact"), CONTACT);
        /* The alert's time: the event's, or its recording's if later. */
        assert_true(rfc3339(jstr(b, "timestamp")) >= (int64_t)e->at);
        assert_true(rfc3339(jstr(b, "timestamp")) <= (int64_t)e->recorded);
        assert_string_equal(jstr(dl, "local"), e->due);
        assert_string_equal(jstr(dl, "utc"), e->due_utc);
        assert_true(strlen(jstr(dl, "human")) > 0);
        assert_true(json_is_null(member(b, "opens")));
        assert_contains(jstr(b, "title"), NAME_ALL);
        assert_contains(jstr(b, "text"), ACTION);
        /* The link as its own member; a reminder, no escalation. */
        check_link(e, jstr(b, "ack_url"));
        assert_true(json_is_null(member(b, "escalation")));
}

/* --- The tests --------------------------------------------------------- */

/*
 * One alert to a channel of every type: each service receives one POST
 * of the shape it documents, keyed with the delivery id history shows,
 * with the one-click link as the service shows one best (Teams
 * Action.OpenUrl, a Google Chat button, a Slack button block, Discord's
 * embed url and a line, a Mattermost link, the webhook's ack_url), a new
 * link for each; the generic webhook's signature verifies under the
 * test's key.
 */
static void
test_flavours(void **state)
{
        static void (*const check[NFLAVOURS])(json_t *, struct expect *) = {
                check_teams,   check_google_chat, check_slack,
                check_discord, check_mattermost,  check_webhook,
        };
        struct fx *f = *state;
        struct expect e = { 0 };
        char at[32], want_path[64];
        json_t *plan, *h, *reqs, *d, *dl = NULL;
        size_t i;

        f->links = true;
        write_conf(f);
        e.at = time(NULL);
        utc_text(e.at, at);
        cluster_daemon_start(&f->c, NULL);
        worker_start(f, 0, NULL, 1);
        plan = cluster_ctl_json(&f->c, "plan", "--event", "drill", "--at", at,
                                "--json", NULL);
        assert_int_equal(json_array_size(jarr(plan, "deadlines")), 1);
        dl = json_array_get(jarr(plan, "deadlines"), 0);
        assert_string_equal(jstr(dl, "rule"), "drill");
        e.due = jstr(dl, "due");
        utc_text((time_t)rfc3339(e.due), e.due_utc);

        record(f, "drill", URN_ALL, at);
        e.recorded = time(NULL);
        cluster_wait_settled(&f->c, NFLAVOURS, 0, WAIT_MS);

        h = cluster_history(&f->c);
        assert_int_equal(json_array_size(h), NFLAVOURS);
        reqs = cluster_sink_requests(&f->c, NULL);
        assert_int_equal(json_array_size(reqs), NFLAVOURS);
        for (size_t k = 0; k < NFLAVOURS; k++) {
                json_t *one = json_array(), *r, *b;

                d = delivery_of(h, flavours[k]);
                assert_string_equal(jstr(d, "type"), flavours[k]);
                assert_string_equal(jstr(d, "school"), URN_ALL);
                assert_string_equal(jstr(d, "rule"), "drill");
                assert_string_equal(jstr(d, "offset"), "event");
                assert_string_equal(jstr(d, "status"), "delivered");
                assert_int_equal(jint(d, "attempts"), 1);
                e.id = jstr(d, "id");
                /* Discord wants ?wait=true to report errors. */
                snprintf(want_path, sizeof(want_path), "/%s%s", flavours[k],
                         strcmp(flavours[k], "discord") == 0 ? "?wait=true"
                                                             : "");
                json_array_foreach(reqs, i, r)
                {
                        if (strcmp(jstr(r, "path"), want_path) == 0)
                                json_array_append(one, r);
                }
                if (json_array_size(one) != 1)
                        fail_msg("%zu requests to %s, not 1",
                                 json_array_size(one), want_path);
                check_keys(one, e.id);
                r = json_array_get(one, 0);
                b = body_of(r);
                check[k](b, &e);
                if (strcmp(flavours[k], "webhook") == 0)
                        check_signature(f, r, e.id);
                json_decref(b);
                json_decref(one);
        }
        /* One link per delivery, each its own. */
        assert_int_equal(e.nlinks, NFLAVOURS);
        json_decref(reqs);
        json_decref(h);
        json_decref(plan);
        cluster_pass(&f->c);
}

/*
 * Webhook and email at once: URN_BOTH's alert goes to "solo" (httpsink)
 * and to MAIL_CHANNEL (smtpsink), with one webhook worker and one email
 * worker on one daemon. Both deliveries are delivered; each sink got its
 * own once, keyed with its delivery's id; each worker delivered only the
 * one of its kind.
 */
static void
test_both_kinds(void **state)
{
        static const char *const no_args[] = { NULL };
        struct fx *f = *state;
        json_t *h, *hook, *mail, *reqs, *rec;
        char at[32], path[256], want[160], *eml;
        const char *hook_id, *mail_id;

        if (cluster_smtpsink_start(&f->c, NULL, no_args) < 0)
                fail_msg("smtpsink did not start");
        write_conf(f);
        cluster_daemon_start(&f->c, NULL);
        worker_start(f, 0, NULL, 1);
        f->kind = "email";
        worker_start(f, 1, NULL, 1);
        f->kind = NULL;
        utc_text(time(NULL), at);
        record(f, "drill", URN_BOTH, at);
        cluster_wait_settled(&f->c, 2, 0, WAIT_MS);

        h = cluster_history(&f->c);
        assert_int_equal(json_array_size(h), 2);
        hook = delivery_of(h, "solo");
        mail = delivery_of(h, MAIL_CHANNEL);
        hook_id = jstr(hook, "id");
        mail_id = jstr(mail, "id");
        assert_string_not_equal(hook_id, mail_id);
        assert_string_equal(jstr(hook, "type"), "webhook");
        assert_string_equal(jstr(mail, "type"), "email");
        for (size_t i = 0; i < 2; i++) {
                json_t *d = i == 0 ? hook : mail;

                assert_string_equal(jstr(d, "school"), URN_BOTH);
                assert_string_equal(jstr(d, "status"), "delivered");
                assert_int_equal(jint(d, "attempts"), 1);
        }

        /* The HTTP sink: the webhook once, and nothing else. */
        reqs = cluster_sink_requests(&f->c, NULL);
        assert_int_equal(json_array_size(reqs), 1);
        assert_string_equal(jstr(json_array_get(reqs, 0), "path"), SOLO_PATH);
        check_keys(reqs, hook_id);
        check_signature(f, json_array_get(reqs, 0), hook_id);
        json_decref(reqs);

        /* The SMTP sink: the email once, to the channel's address. */
        snprintf(path, sizeof(path), "%s/2.json", f->c.spool);
        assert_int_equal(access(path, F_OK), -1);
        snprintf(path, sizeof(path), "%s/1.json", f->c.spool);
        rec = json_load_file(path, 0, NULL);
        if (!json_is_object(rec))
                fail_msg("smtpsink spooled no message at %s", path);
        assert_int_equal(json_array_size(jarr(rec, "rcpt_tos")), 1);
        assert_string_equal(
            json_string_value(json_array_get(jarr(rec, "rcpt_tos"), 0)),
            MAIL_TO);
        assert_string_equal(jstr(rec, "mail_from"), MAIL_FROM);
        snprintf(want, sizeof(want), "<%s@", mail_id);
        assert_true(strncmp(jstr(rec, "message_id"), want, strlen(want)) == 0);
        json_decref(rec);
        snprintf(path, sizeof(path), "%s/1.eml", f->c.spool);
        eml = slurp(path);
        snprintf(want, sizeof(want), "\r\nX-Ofsted-Notify-Delivery: %s\r\n",
                 mail_id);
        assert_contains(eml, want);
        assert_contains(eml, NAME_BOTH);
        free(eml);

        /* Each worker delivered its own, and only that. */
        snprintf(want, sizeof(want), "delivery %s: delivered\n", hook_id);
        assert_int_equal(cluster_log_count(f->c.wlog[0], want), 1);
        assert_int_equal(cluster_log_count(f->c.wlog[1], hook_id), 0);
        snprintf(want, sizeof(want), "delivery %s: delivered\n", mail_id);
        assert_int_equal(cluster_log_count(f->c.wlog[1], want), 1);
        assert_int_equal(cluster_log_count(f->c.wlog[0], mail_id), 0);
        for (int i = 0; i < 2; i++)
                assert_int_equal(
                    cluster_log_count(f->c.wlog[i], ": delivered\n"), 1);
        json_decref(h);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_flavours),
    CLUSTER_TEST(test_both_kinds),
})
