/*
 * fuzz_control: the daemon's control request decoder, control_handle(),
 * on any requests, against a real state database.
 *
 * Each line of the input is one request body (the JSON object after the
 * ofsted-notify-control/1 frame), handled in order at one-second steps
 * from FUZZ_NOW, at most MAX_REQUESTS of them; the state starts from
 * fuzz_store()'s copy every input. Invariants (docs/protocol.md): every
 * reply is a JSON object with a boolean "ok" that can be sent; a refusal
 * carries an "error" string and changes nothing in the state.
 */
#include "fuzz.h"

#include "control.h"
#include "dispatch.h"
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REQUESTS 8

static json_t *
reload(void *arg)
{
        (void)arg;
        return proto_ok();
}

/* What a refusal must leave as it was. */
static json_t *
snapshot(struct store *st)
{
        char *cause = NULL;
        json_t *counts = store_json_counts(st, fuzz_conf()->tz, &cause);

        FUZZ_CHECK(counts != NULL);
        return counts;
}

static void
handle(struct control_ctx *ctx, const char *body, size_t len, int64_t now)
{
        json_t *before = snapshot(ctx->st), *after, *reply;
        json_t *ok;
        char *text;

        /* A peer over ipc:// as ofsted-notifyctl is: uid 0 is no
         * web.user of the fuzz config, so an 'actor' is refused. */
        struct control_peer peer = { true, 0, NULL };

        reply = control_handle(ctx, &peer, PROTO_CONTROL_ID,
                               strlen(PROTO_CONTROL_ID), body, len, now);
        FUZZ_CHECK(json_is_object(reply));
        ok = json_object_get(reply, "ok");
        FUZZ_CHECK(json_is_boolean(ok));
        text = json_dumps(reply, JSON_COMPACT);
        FUZZ_CHECK(text != NULL);
        if (json_is_false(ok)) {
                FUZZ_CHECK(json_is_string(json_object_get(reply, "error")));
                after = snapshot(ctx->st);
                FUZZ_CHECK(json_equal(before, after));
                json_decref(after);
        }
        free(text);
        json_decref(reply);
        json_decref(before);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dispatch *d = dispatch_new(NULL);
        struct control_ctx ctx = { fuzz_store(), fuzz_conf(), d,    FUZZ_NOW,
                                   reload,       NULL,        NULL, NULL };
        const char *p = (const char *)data, *end = p + size;

        for (int i = 0; i < MAX_REQUESTS && p < end; i++) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

                handle(&ctx, p, len, FUZZ_NOW + i);
                p += len + 1;
        }
        dispatch_destroy(&d);
        store_close(&ctx.st);
        return 0;
}
