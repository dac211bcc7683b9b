/*
 * curve: CURVE keys for tcp:// endpoints, and who may connect with them.
 *
 * An ipc:// socket is guarded by its file mode; a tcp:// one by CURVE: the
 * scheduler is the CURVE server with a key pair of its own, and admits a
 * client (a worker, or ofsted-notifyctl) only when the client's public key
 * is on the allow-list (conf.h's curve.clients) for what it connects to.
 *
 * Key files are libconfig text, as `ofsted-notifyctl keygen` writes them:
 * NAME.key holds public_key and secret_key and is a secret (mode 0600,
 * read through secret.h); NAME.pub holds public_key only and is handed to
 * the other side. Keys are Z85 text, 40 characters.
 */
#ifndef ONOTIFY_CURVE_H
#define ONOTIFY_CURVE_H

#include "conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* The ZAP domains of the scheduler's three sockets. */
#define CURVE_DOMAIN_CONTROL  "control"
#define CURVE_DOMAIN_DISPATCH "dispatch"
#define CURVE_DOMAIN_FEED     "feed"

struct curve_key {
        char public_key[CONF_KEY_LEN + 1];
        char
            secret_key[CONF_KEY_LEN + 1]; /* "" when only the public is known */
};

/* A new key pair from libzmq (libsodium underneath). 0, or -1 with errno. */
int curve_key_generate(struct curve_key *k);

/*
 * Parses a key file's text (`path` names it in errors). With `secret`, the
 * file must hold a secret_key whose public key is the public_key it holds.
 * Returns 0, or -1 with *cause ("path:line: message"; caller frees).
 */
int curve_key_parse(const char *text, const char *path, bool secret,
                    struct curve_key *k, char **cause);

/*
 * Whether a key file's text holds a secret_key at all, valid or not: a pair
 * file (NAME.key) rather than a public one (NAME.pub). false when the text
 * is not libconfig. Pure.
 */
bool curve_key_has_secret(const char *text);

/*
 * Reads the key file the config names `name` (secret.h finds it: under
 * systemd in $CREDENTIALS_DIRECTORY, else relative to `confdir`). With
 * `secret`, the file must be the owner's alone. 0, or -1 with *cause.
 */
int curve_key_load(const char *confdir, const char *name, bool secret,
                   struct curve_key *k, char **cause);

/*
 * The text of a key file for `k`: with `secret` both keys (NAME.key),
 * else the public key only (NAME.pub). `stamp` ends up in a comment.
 * Returns a new string the caller frees.
 */
char *curve_key_text(const struct curve_key *k, bool secret, const char *stamp);

/*
 * Makes `sock` the CURVE server for ZAP domain `domain` with `server`'s
 * keys, failing closed when no ZAP handler answers. Call before bind.
 * 0, or -1 with *cause.
 */
int curve_server(void *sock, const struct curve_key *server, const char *domain,
                 char **cause);

/*
 * Makes `sock` a CURVE client of the scheduler when `endpoint` is tcp://:
 * reads the config's client_key (a secret) and server_key (its public
 * key). Does nothing for ipc://. Call before connect. 0, or -1 with
 * *cause.
 */
int curve_client(void *sock, const struct conf *conf, const char *endpoint,
                 char **cause);

/*
 * The ZAP decision (RFC 27) for a client of the socket with ZAP domain
 * `domain` that offers `mechanism` and the 32-byte public key `key`:
 * returns the allow-list entry that admits it, or NULL with *why (static
 * text). A worker's key must allow "email" or "webhook" on the dispatch
 * socket (which of the two is checked when it says READY), an admin's
 * "control" on the control and feed sockets. `z85` receives the key as
 * text either way, for the log. Pure.
 */
const struct conf_client *curve_admit(const struct conf *conf,
                                      const char *domain, const char *mechanism,
                                      const unsigned char *key, size_t keylen,
                                      char z85[CONF_KEY_LEN + 1],
                                      const char **why);

/*
 * Socket monitors for failed handshakes. curve_monitor() starts one on
 * `sock` and returns the PAIR socket (in `zctx`) that receives its
 * events, or NULL with *cause; `name` makes its inproc endpoint unique.
 * curve_monitor_recv() reads one event without blocking: 0 with *event
 * and *value, or -1 when none is waiting (or it was malformed).
 * curve_handshake_text() says what an event means, for the log.
 */
#define CURVE_MONITOR_EVENTS                    \
        (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | \
         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |  \
         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
void *curve_monitor(void *zctx, void *sock, const char *name, char **cause);
int curve_monitor_recv(void *pair, uint16_t *event, uint32_t *value);
const char *curve_handshake_text(uint16_t event, uint32_t value);

/* Whether `client` may say READY as a worker of kind "email"/"webhook". */
bool curve_allows_kind(const struct conf_client *client, const char *kind);

#endif
