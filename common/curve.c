#include "curve.h"

#include "fileio.h"
#include "secret.h"
#include "xalloc.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Hidden behind the draft API in libzmq 4.3.4's header; the library has it. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

int
curve_key_generate(struct curve_key *k)
{
        return zmq_curve_keypair(k->public_key, k->secret_key) == 0 ? 0 : -1;
}

/* A Z85 key member of `root`, or NULL with *cause. */
static const char *
key_member(const config_setting_t *root, const char *path, const char *name,
           char **cause)
{
        const config_setting_t *m = config_setting_get_member(root, name);
        const char *v;
        uint8_t raw[32];

        if (m == NULL) {
                xasprintf(cause, "%s:1: missing '%s'", path, name);
                return NULL;
        }
        v = config_setting_get_string(m);
        if (v == NULL || strlen(v) != CONF_KEY_LEN ||
            zmq_z85_decode(raw, v) == NULL) {
                xasprintf(cause,
                          "%s:%u: '%s' is not a CURVE key (40 Z85 "
                          "characters)",
                          path, config_setting_source_line(m), name);
                return NULL;
        }
        return v;
}

int
curve_key_parse(const char *text, const char *path, bool secret,
                struct curve_key *k, char **cause)
{
        config_t cfg;
        const config_setting_t *root;
        const char *pub, *sec = NULL;
        char derived[CONF_KEY_LEN + 1];
        int rc = -1;

        memset(k, 0, sizeof(*k));
        config_init(&cfg);
        if (config_read_string(&cfg, text) != CONFIG_TRUE) {
                xasprintf(cause, "%s:%d: %s", path, config_error_line(&cfg),
                          config_error_text(&cfg));
                goto out;
        }
        root = config_root_setting(&cfg);
        pub = key_member(root, path, "public_key", cause);
        if (pub == NULL)
                goto out;
        if (secret) {
                sec = key_member(root, path, "secret_key", cause);
                if (sec == NULL)
                        goto out;
                if (zmq_curve_public(derived, sec) != 0 ||
                    strcmp(derived, pub) != 0) {
                        xasprintf(cause,
                                  "%s: secret_key and public_key are not "
                                  "one pair",
                                  path);
                        goto out;
                }
                memcpy(k->secret_key, sec, CONF_KEY_LEN + 1);
        }
        memcpy(k->public_key, pub, CONF_KEY_LEN + 1);
        rc = 0;
out:
        config_destroy(&cfg);
        if (rc < 0)
                memset(k, 0, sizeof(*k));
        return rc;
}

bool
curve_key_has_secret(const char *text)
{
        config_t cfg;
        bool has;

        config_init(&cfg);
        has = config_read_string(&cfg, text) == CONFIG_TRUE &&
              config_setting_get_member(config_root_setting(&cfg),
                                        "secret_key") != NULL;
        config_destroy(&cfg);
        return has;
}

int
curve_key_load(const char *confdir, const char *name, bool secret,
               struct curve_key *k, char **cause)
{
        char *path = secret_path(confdir, name), *text = NULL, *why = NULL;
        size_t len;
        int rc = -1;

        /* A credential's group read is systemd's ACL for our user. */
        if ((secret ? fileio_read_private(path, SECRET_MAX,
                                          secret_is_credential(path), &text,
                                          &len, &why)
                    : fileio_read(path, SECRET_MAX, &text, &len, &why)) < 0) {
                xasprintf(cause, "cannot read the CURVE key: %s", why);
                goto out;
        }
        rc = curve_key_parse(text, path, secret, k, cause);
out:
        if (text != NULL)
                explicit_bzero(text, len);
        free(text);
        free(why);
        free(path);
        return rc;
}

char *
curve_key_text(const struct curve_key *k, bool secret, const char *stamp)
{
        char *text;

        if (secret)
                xasprintf(&text,
                          "# ofsted-notify CURVE key pair, made %s.\n"
                          "# A secret: keep it mode 0600; hand out the .pub "
                          "file instead.\n"
                          "public_key = \"%s\";\n"
                          "secret_key = \"%s\";\n",
                          stamp, k->public_key, k->secret_key);
        else
                xasprintf(&text,
                          "# ofsted-notify CURVE public key, made %s.\n"
                          "public_key = \"%s\";\n",
                          stamp, k->public_key);
        return text;
}

int
curve_server(void *sock, const struct curve_key *server, const char *domain,
             char **cause)
{
        int one = 1;

        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, server->secret_key,
                           CONF_KEY_LEN) < 0 ||
            zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) < 0 ||
            zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)) <
                0) {
                xasprintf(cause, "CURVE server options: %s",
                          zmq_strerror(zmq_errno()));
                return -1;
        }
        return 0;
}

int
curve_client(void *sock, const struct conf *conf, const char *endpoint,
             char **cause)
{
        struct curve_key mine, server;
        int rc = -1;

        if (!conf_endpoint_tcp(endpoint))
                return 0;
        if (conf->curve.client_key[0] == '\0') {
                xasprintf(cause,
                          "%s: '%s' is tcp://, so curve.client_key must name "
                          "this host's key pair",
                          conf->path, endpoint);
                return -1;
        }
        if (curve_key_load(conf->dir, conf->curve.client_key, true, &mine,
                           cause) < 0 ||
            curve_key_load(conf->dir, conf->curve.server_key, false, &server,
                           cause) < 0)
                goto out;
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server.public_key,
                           CONF_KEY_LEN) < 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, mine.public_key,
                           CONF_KEY_LEN) < 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, mine.secret_key,
                           CONF_KEY_LEN) < 0) {
                xasprintf(cause, "CURVE client options: %s",
                          zmq_strerror(zmq_errno()));
                goto out;
        }
        rc = 0;
out:
        explicit_bzero(&mine, sizeof(mine));
        return rc;
}

const struct conf_client *
curve_admit(const struct conf *conf, const char *domain, const char *mechanism,
            const unsigned char *key, size_t keylen, char z85[CONF_KEY_LEN + 1],
            const char **why)
{
        const struct conf_client *c;
        unsigned need;

        z85[0] = '\0';
        if (strcmp(mechanism, "CURVE") != 0 || keylen != 32) {
                *why = "not a CURVE client";
                return NULL;
        }
        zmq_z85_encode(z85, key, 32);
        if (strcmp(domain, CURVE_DOMAIN_DISPATCH) == 0)
                need = CONF_KIND_EMAIL | CONF_KIND_WEBHOOK;
        else if (strcmp(domain, CURVE_DOMAIN_CONTROL) == 0 ||
                 strcmp(domain, CURVE_DOMAIN_FEED) == 0)
                need = CONF_KIND_CONTROL;
        else {
                *why = "unknown ZAP domain";
                return NULL;
        }
        c = conf_client_by_key(conf, z85);
        if (c == NULL) {
                *why = "key not on the allow-list";
                return NULL;
        }
        if ((c->kinds & need) == 0) {
                *why = need == CONF_KIND_CONTROL
                           ? "key not allowed kind \"control\""
                           : "key not allowed kind \"email\" or \"webhook\"";
                return NULL;
        }
        return c;
}

bool
curve_allows_kind(const struct conf_client *client, const char *kind)
{
        if (strcmp(kind, "email") == 0)
                return (client->kinds & CONF_KIND_EMAIL) != 0;
        if (strcmp(kind, "webhook") == 0)
                return (client->kinds & CONF_KIND_WEBHOOK) != 0;
        return false;
}

void *
curve_monitor(void *zctx, void *sock, const char *name, char **cause)
{
        char *endpoint;
        void *pair = NULL;
        int zero = 0;

        xasprintf(&endpoint, "inproc://ofsted-notify-monitor.%s", name);
        if (zmq_socket_monitor(sock, endpoint, CURVE_MONITOR_EVENTS) < 0 ||
            (pair = zmq_socket(zctx, ZMQ_PAIR)) == NULL ||
            zmq_setsockopt(pair, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
            zmq_connect(pair, endpoint) < 0) {
                xasprintf(cause, "%s: socket monitor: %s", name,
                          zmq_strerror(zmq_errno()));
                if (pair != NULL)
                        zmq_close(pair);
                pair = NULL;
        }
        free(endpoint);
        return pair;
}

int
curve_monitor_recv(void *pair, uint16_t *event, uint32_t *value)
{
        zmq_msg_t head, addr;
        int rc = -1;

        zmq_msg_init(&head);
        zmq_msg_init(&addr);
        if (zmq_msg_recv(&head, pair, ZMQ_DONTWAIT) < 0)
                goto out;
        /* The second part, the endpoint, comes with the first. */
        if (!zmq_msg_more(&head) || zmq_msg_recv(&addr, pair, 0) < 0 ||
            zmq_msg_size(&head) != 6)
                goto out;
        memcpy(event, zmq_msg_data(&head), 2);
        memcpy(value, (char *)zmq_msg_data(&head) + 2, 4);
        rc = 0;
out:
        zmq_msg_close(&head);
        zmq_msg_close(&addr);
        return rc;
}

const char *
curve_handshake_text(uint16_t event, uint32_t value)
{
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                return "handshake succeeded";
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                return "the key is not on the scheduler's allow-list for "
                       "this";
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
                return "the connection broke during the handshake";
        if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
                return "one side does not use CURVE (security mechanism "
                       "mismatch)";
        if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
                return "CURVE failed: the client may have the wrong server "
                       "key";
        return "a protocol error in the handshake";
}
