#include "phone.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const secrets[] = { NTFY_TOKEN, PO_APP, PO_USER, TW_TOKEN,
                                       FT_KEY };
/* A secret file of the test's own, mode 0600, in the config's directory. */
static void
write_secret(struct cluster *c, const char *name, const char *value)
{
        char path[256];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", c->dir, name);
        fp = fopen(path, "w");
        if (fp == NULL)
                fail_msg("cannot write %s: %s", path, strerror(errno));
        fprintf(fp, "%s\n", value);
        fclose(fp);
        assert_int_equal(chmod(path, 0600), 0);
}

static void
write_conf(struct cluster *c)
{
        FILE *fp = cluster_conf_begin(
            c, &(struct cluster_conf){ .retry_base = 1, .lease = 10 });

        write_secret(c, "ntfy.token", NTFY_TOKEN);
        write_secret(c, "po.app", PO_APP);
        write_secret(c, "po.user", PO_USER);
        write_secret(c, "tw.token", TW_TOKEN);
        write_secret(c, "ft.key", FT_KEY);
        fprintf(fp,
                "channels = (\n"
                "  { name = \"ntfy\"; type = \"ntfy\";\n"
                "    url = \"http://127.0.0.1:%d/oak-alerts\";\n"
                "    token_file = \"ntfy.token\"; },\n"
                "  { name = \"po\"; type = \"pushover\";\n"
                "    url = \"http://127.0.0.1:%d\";\n"
                "    token_file = \"po.app\"; user_key_file = \"po.user\"; },\n"
                "  { name = \"tw\"; type = \"sms\"; profile = \"twilio\";\n"
                "    url = \"http://127.0.0.1:%d\"; account = \"" TW_SID "\";\n"
                "    from = \"+447700900999\"; to = [ \"+447700900123\" ];\n"
                "    token_file = \"tw.token\"; },\n"
                "  { name = \"ft\"; type = \"sms\"; profile = \"firetext\";\n"
                "    url = \"http://127.0.0.1:%d\"; from = \"OakTrust\";\n"
                "    to = [ \"+447700900124\" ]; token_file = \"ft.key\"; },\n"
                "  { name = \"gen\"; type = \"sms\"; profile = \"generic\";\n"
                "    url = \"http://127.0.0.1:%d/gw/send\";\n"
                "    to = [ \"+447700900125\" ];\n"
                "    body = \"{\\\"number\\\": \\\"{{to}}\\\", "
                "\\\"text\\\": \\\"{{message}}\\\"}\"; }\n"
                ");\n"
                "schools = ( { urn = \"100001\"; name = \"Oak Primary\";\n"
                "  channels = [ \"ntfy\", \"po\", \"tw\", \"ft\", \"gen\" ]; "
                "} );\n"
                "rules = ( { name = \"drill\"; event = \"drill\";\n"
                "    action = \"Drill.\";\n"
                "    deadline = { working_days = 10; time = \"17:00\"; };\n"
                "    alerts = [ \"event\", \"-60m\" ];\n"
                "    escalate = ( { at = \"+1s\"; "
                "channels = [ \"ntfy\", \"po\" ]; } ); } );\n"
                "web = { base_url = \"" LINK_BASE "\"; };\n",
                c->port, c->port, c->port, c->port, c->port);
        cluster_conf_end(fp);
}

int
phone_setup(void **state)
{
        struct cluster *c;

        if (cluster_setup(state) < 0)
                return -1;
        c = *state;
        if (cluster_httpsink_start(c) < 0)
                return -1;
        write_conf(c);
        return 0;
}

void
phone_start(struct cluster *c, const char *script)
{
        static const char *const args[] = { "--timeout", "8", NULL };

        cluster_httpsink_script(c, script);
        cluster_daemon_start(c, NULL);
        cluster_worker_start(c, 0, "webhook", NULL, args);
        cluster_wait_workers(c, "webhook", 1);
}
const char *
phone_header(json_t *req, const char *name)
{
        return json_string_value(json_object_get(jobj(req, "headers"), name));
}
/* No secret in the daemon's or the workers' logs. */
static void
assert_no_secret_logged(struct cluster *c)
{
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
                assert_int_equal(cluster_log_count(c->dlog, secrets[i]), 0);
                /* Slot 1: the worker started after slot 0's was killed. */
                for (int w = 0; w < 2; w++)
                        assert_int_equal(
                            cluster_log_count(c->wlog[w], secrets[i]), 0);
        }
}

void
phone_finish(struct cluster *c)
{
        assert_no_secret_logged(c);
        cluster_pass(c);
}
