/*
 * phone: the fixture of the tests of the channels that reach a phone
 * (test_delivery_phone.c, test_delivery_receipts.c): a config whose
 * school Oak (URN) has an ntfy, a Pushover and three SMS channels, all
 * pointed at httpsink, with their secrets in files of their own; the
 * daemon and one webhook worker; and the check that no secret was logged.
 */
#ifndef ONOTIFY_TEST_PHONE_H
#define ONOTIFY_TEST_PHONE_H

#include "cluster.h"

#include <jansson.h>

#define NTFY_TOKEN  "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
#define PO_APP      "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
#define PO_USER     "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
#define TW_SID      "AC0123456789abcdef0123456789abcdef"
#define TW_TOKEN    "f0e1d2c3b4a5968778695a4b3c2d1e0f"
#define FT_KEY      "FTKEY-9f8e7d6c5b4a39281706"
#define WAIT_MS     30000
#define TWILIO_PATH "/2010-04-01/Accounts/" TW_SID "/Messages.json"
#define URN         "100001"
/* A member of the group whose key user_key_file holds: who acknowledges. */
#define PO_MEMBER "gznej3rKEVAvPUxu9vvNnqpmZpokzF"
#define RECEIPT   "rLqQ5ZBe2w5nd3Rs"
#define LINK_BASE "https://alerts.test.example"

/* cmocka setup: a cluster (*state) with httpsink and the config. */
int phone_setup(void **state);
/* A case run with it (and cluster_teardown()). */
#define PHONE_TEST(t) \
        cmocka_unit_test_setup_teardown(t, phone_setup, cluster_teardown)
/* Starts the daemon and a webhook worker, httpsink answering `script`. */
void phone_start(struct cluster *c, const char *script);
/* Header `name` of a request httpsink logged, or NULL. */
const char *phone_header(json_t *req, const char *name);
/* A case's end: no secret in the daemon's or the workers' logs (slots 0
 * and 1), everything stopped, the case passed. */
void phone_finish(struct cluster *c);

#endif
