/* receipts: the Pushover emergencies polled until acknowledged
 * (receipts.h). */
#include "receipts.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
receipts_add(struct receipts *rs, const char *uid, const char *channel,
             const char *id, int64_t expires_at, int64_t now_ms)
{
        struct receipt *r = receipts_find(rs, uid);

        /* The same delivery sent again: its newer receipt counts. */
        if (r == NULL) {
                rs->v = xreallocarray(rs->v, rs->n + 1, sizeof(*rs->v));
                r = &rs->v[rs->n++];
                memset(r, 0, sizeof(*r));
                r->uid = xstrdup(uid);
                r->channel = xstrdup(channel);
        }
        snprintf(r->id, sizeof(r->id), "%s", id);
        r->next_ms = now_ms + RECEIPTS_POLL_MS;
        r->expires_at = expires_at;
}

struct receipt *
receipts_find(struct receipts *rs, const char *uid)
{
        for (size_t i = 0; i < rs->n; i++)
                if (strcmp(rs->v[i].uid, uid) == 0)
                        return &rs->v[i];
        return NULL;
}

void
receipts_drop(struct receipts *rs, struct receipt *r)
{
        free(r->uid);
        free(r->channel);
        *r = rs->v[--rs->n];
}

int64_t
receipts_next_ms(const struct receipts *rs)
{
        int64_t next = -1;

        for (size_t i = 0; i < rs->n; i++)
                if (!rs->v[i].polling && (next < 0 || rs->v[i].next_ms < next))
                        next = rs->v[i].next_ms;
        return next;
}

void
receipts_clear(struct receipts *rs)
{
        while (rs->n > 0)
                receipts_drop(rs, &rs->v[rs->n - 1]);
        free(rs->v);
        rs->v = NULL;
}

enum receipt_step
receipts_polled(struct receipt *r, enum outcome o, long retry_after,
                const char *body, size_t len, int64_t now, int64_t now_ms,
                struct pushover_receipt *out, char **why)
{
        char *cause = NULL;
        int64_t wait = RECEIPTS_POLL_MS;

        r->polling = false;
        if (o == OUTCOME_FAILED) {
                /* A 4xx: Pushover no longer knows the receipt. */
                *why = xstrdup("Pushover refused the receipt's poll");
                return RECEIPT_DROP;
        }
        if (o == OUTCOME_DELIVERED &&
            pushover_receipt_parse(body, len, out, &cause) == 0) {
                if (out->acknowledged)
                        return RECEIPT_ACKED;
                if (out->expired) {
                        *why = xstrdup("it expired unacknowledged");
                        return RECEIPT_DROP;
                }
                if (out->expires_at > 0)
                        r->expires_at = out->expires_at;
        }
        free(cause);
        if (now > r->expires_at) {
                *why = xstrdup("it is past its expiry");
                return RECEIPT_DROP;
        }
        if (retry_after > 0 && retry_after * 1000 > wait)
                wait = retry_after * 1000;
        r->next_ms = now_ms + wait;
        return RECEIPT_WAIT;
}
