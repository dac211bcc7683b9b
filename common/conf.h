/*
 * conf: the ofsted-notify configuration file, loaded and validated.
 *
 * conf_load() reads the libconfig file, the bank holidays file it names and
 * the time zone, checks everything, and either returns a complete struct conf
 * or NULL with every problem found, each as "path:line: message" (tmux and
 * OpenSMTPD style), so an admin fixes them all in one go. (The prefix is conf_
 * because libconfig already owns config_.)
 *
 * The struct is plain data, read by every process; it owns all its strings,
 * the calendar and the zone, and is released with conf_destroy().
 */
#ifndef ONOTIFY_CONF_H
#define ONOTIFY_CONF_H

#include "calendar.h"
#include "roles.h"
#include "rules.h"
#include "tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONF_DEFAULT_PATH "/etc/ofsted-notify/ofsted-notify.conf"
#define CONF_ENV          "OFSTED_NOTIFY_CONF"
#define CONF_EXIT         78 /* EX_CONFIG */

enum channel_type {
        CHANNEL_EMAIL,
        CHANNEL_TEAMS,
        CHANNEL_GOOGLE_CHAT,
        CHANNEL_SLACK,
        CHANNEL_DISCORD,
        CHANNEL_MATTERMOST,
        CHANNEL_WEBHOOK,
        CHANNEL_NTFY,
        CHANNEL_PUSHOVER,
        CHANNEL_SMS,
        CHANNEL_NTYPES
};

enum catch_up {
        CATCH_UP_LATE,
        CATCH_UP_SKIP,
};

enum email_tls {
        EMAIL_TLS_STARTTLS,
        EMAIL_TLS_IMPLICIT,
        EMAIL_TLS_NONE,
};

/* ntfy's priorities, by its names (min = 1 ... urgent = 5). */
enum ntfy_priority {
        NTFY_MIN = 1,
        NTFY_LOW,
        NTFY_DEFAULT,
        NTFY_HIGH,
        NTFY_URGENT,
};

/* The SMS gateways an sms channel may go through. */
enum sms_profile {
        SMS_TWILIO,
        SMS_FIRETEXT,
        SMS_GENERIC,
};

/* How the email worker hands a message over. */
enum email_transport {
        EMAIL_TRANSPORT_SMTP,  /* to the relay email.smtp names */
        EMAIL_TRANSPORT_GRAPH, /* Microsoft Graph's sendMail */
};

/* Who issues the email worker's OAuth2 tokens (email.oauth2). */
enum oauth2_provider {
        OAUTH2_NONE, /* no oauth2 group */
        OAUTH2_MICROSOFT,
        OAUTH2_GOOGLE,
        OAUTH2_GENERIC,
};

/* How often a channel's check goes (daemon.check_time); zero: weekly. */
enum channel_check {
        CHECK_WEEKLY,
        CHECK_DAILY,
        CHECK_MONTHLY,
        CHECK_OFF,
};

struct channel {
        char *name;
        enum channel_type type;
        enum channel_check check;
        char **to; /* email recipients; an sms channel's one number */
        size_t nto;
        /* Optional strings below are "" when absent, never NULL. */
        char *url;         /* webhook URL written in the config */
        char *url_file;    /* or a file holding it (a secret) */
        char *secret_file; /* "whsec_..." signing key file */
        /* "path:line" of the url_file and secret_file settings, or "". */
        char *url_file_at, *secret_file_at;
        /* ntfy, pushover, sms (conf_phone.c); strings "" when absent. */
        char *token_file;    /* access token, app token, API key */
        char *user_key_file; /* pushover: the user or group key */
        char *token_file_at, *user_key_file_at;
        enum ntfy_priority priority; /* ntfy: default NTFY_HIGH */
        int retry, expire;           /* pushover emergencies, seconds */
        enum sms_profile profile;
        char *account;           /* twilio: the Account SID */
        char *from;              /* sms: the sender, a number or a name */
        char *messaging_service; /* twilio: instead of from */
        char *body;              /* generic sms: the body template */
};

/*
 * The longest texts the config may hold, in characters (UTF-8 code points),
 * so that an alert fits the smallest channel it may go to: a Teams card
 * must stay under 28 KB. With the default templates an alert holds a name
 * of each kind, the action, the contact (PROTO_MAX_TEXT, twice) and a few
 * dates: under 4,000 characters, at most 16 KB of UTF-8 (4 bytes to a
 * character) besides the card's own 1 KB. docs/man/ofsted-notify.conf.5
 * lists the limits.
 * An SMS channel will need shorter texts still: keep names short.
 */
#define CONF_MAX_NAME     120  /* trust.name, a school's name */
#define CONF_MAX_ACTION   1000 /* a rule's action */
#define CONF_MAX_TITLE    200  /* a template's title, as written */
#define CONF_MAX_TEMPLATE 2000 /* a template's text, as written */

/* What an allow-listed CURVE client may connect as (a bit mask). */
#define CONF_KIND_EMAIL   (1u << 0)
#define CONF_KIND_WEBHOOK (1u << 1)
#define CONF_KIND_CONTROL (1u << 2) /* ofsted-notifyctl: control and feed */
#define CONF_KEY_LEN      40        /* a Z85 CURVE key */

struct conf_client {
        char *name;
        char key[CONF_KEY_LEN + 1]; /* Z85 public key */
        unsigned kinds;             /* CONF_KIND_* */
};

struct school {
        char *urn; /* six digits */
        char *name;
        size_t *channels; /* indexes into conf->channels */
        size_t nchannels;
        enum remit remit;  /* which rules apply; REMIT_SCHOOL by default */
        int32_t *closures; /* its own closures, day numbers, ranges spread */
        size_t nclosures;
        /* The trust's calendar and the school's closures, for rules with
         * calendar = "school" (calendar_new_over()); never NULL once
         * loaded. Owned; it borrows conf->calendar. */
        struct calendar *calendar;
};

/* The browser sign-ins of web.signin. */
#define CONF_SIGNIN_PROXY (1u << 0)
#define CONF_SIGNIN_EMAIL (1u << 1)

/* An address or network of web.proxy_trusted. */
struct conf_cidr {
        int family; /* AF_INET or AF_INET6 */
        unsigned char addr[16];
        int bits;
};

/* A person of the `users` list (ofsted-notify-web's sign-in). */
struct conf_user {
        char *email;
        enum role role;
        char **schools; /* URNs; none for trust and admin */
        size_t nschools;
};

struct conf {
        char *path;
        char *dir; /* the config file's directory, for relative paths */
        struct {
                char *name;
                char *timezone;
                char *holidays; /* resolved path */
                char *division;
                int32_t *closures; /* day numbers, ranges spread */
                size_t nclosures;
        } trust;
        struct {
                char *state;
                char *control;
                char *dispatch;
                char *feed;
                enum catch_up catch_up;
                int late_after; /* seconds after which an alert is late */
                char *metrics;  /* Prometheus textfile path, "" for none */
                /* Running it for years (conf_ops.c); times in seconds. */
                int backups_keep; /* daily copies the backup timer keeps */
                int64_t retention_closed;   /* closed cases kept; 0: ever */
                int64_t retention_personal; /* contact, note after closing */
                int check_wday;             /* daemon.check_time: 0 Monday */
                int check_minute;           /* its minute of the day */
                int64_t stale_after; /* a channel silent so long is stale */
                char *heartbeat_url_file;    /* resolved; "" for none */
                char *heartbeat_url_file_at; /* "path:line" or "" */
                int heartbeat_every;
        } daemon;
        /* Keys for tcp:// endpoints (curve.h); strings "" when absent. */
        struct {
                char *server_key;            /* the scheduler's key pair, or its
                                                public key elsewhere (a file name) */
                char *client_key;            /* this host's client key pair */
                char *allow;                 /* the allow-list file, resolved */
                struct conf_client *clients; /* read from it */
                size_t nclients;
        } curve;
        struct {
                int lease;         /* seconds a worker holds a job */
                int max_attempts;  /* then a delivery is given up */
                int give_up_after; /* seconds after its alert fired */
                int retry_base;    /* first backoff, seconds; doubles */
        } delivery;
        struct {
                bool present;
                char *smtp;
                char *smtp_host; /* smtp's host, by libcurl's parser */
                enum email_tls tls;
                char *from;
                /* Optional strings below are "" when absent. */
                char *username;
                char *password_file;
                char *bearer_token_file;
                /* "path:line" of the two settings above, or "". */
                char *password_file_at, *bearer_token_file_at;
                char *ca_file;
                int connections; /* to the relay at once */
                enum email_transport transport;
                char *graph_url; /* Graph's base URL, without a final '/' */
                /*
                 * email.oauth2: the worker signs in itself. Optional
                 * strings are "" when absent; the files are resolved as
                 * secret files are (secret_path()), at use. token_url and
                 * scope are the provider's defaults when not given
                 * (oauth2 module of the worker).
                 */
                struct conf_oauth2 {
                        enum oauth2_provider provider;
                        char *tenant, *client_id;
                        char *client_secret_file;
                        char *certificate_file, *private_key_file;
                        char *service_account_file;
                        char *token_url, *scope;
                        /* "path:line" of the files, or "". */
                        char *client_secret_file_at, *private_key_file_at;
                        char *service_account_file_at, *certificate_file_at;
                } oauth2;
        } email;
        /* ofsted-notify-web (conf_web.c); strings "" or NULL when
         * absent as noted. */
        struct {
                char *listen;            /* "ADDRESS:PORT" */
                char *tls_cert_file;     /* resolved; NULL: plain HTTP */
                char *tls_key_file;      /* resolved; NULL: plain HTTP */
                char *base_url;          /* no trailing '/'; "" when absent */
                char *user;              /* the system user the web runs as */
                int timeout_ms;          /* to wait for the scheduler */
                unsigned signin;         /* CONF_SIGNIN_* bits; 0: none */
                char *proxy_user_header; /* the proxy's user header */
                struct conf_cidr *proxy_trusted; /* peers it counts from */
                size_t nproxy_trusted;
                int session_idle;        /* seconds a session lasts idle */
                int session_max;         /* seconds a session lasts at most */
                int signin_link_seconds; /* a sign-in link's life */
                char *pages;             /* the pages' directory; NULL:
                                            the installed one */
        } web;
        struct conf_user *users;
        size_t nusers;
        struct channel *channels;
        size_t nchannels;
        struct school *schools;
        size_t nschools;
        struct rule *rules;
        size_t nrules;
        /* Message templates by channel type (template.h); NULL: default. */
        struct {
                char *title;
                char *text;
        } templates[CHANNEL_NTYPES];
        struct calendar *calendar;
        struct tz *tz;
        /* The channels by name and the schools by URN, sorted, made by
         * conf_load() for conf_channel() and conf_school(); NULL (a conf
         * made otherwise): those walk the arrays. */
        const struct channel **channels_by_name;
        const struct school **schools_by_urn;
};

/* Messages "path:line: message", owned by the struct. */
struct conf_errors {
        char **msgs;
        size_t n;
};

/*
 * Loads and validates `path`. Returns NULL when anything is wrong, with
 * every message in *errs (release with conf_errors_free()).
 */
struct conf *conf_load(const char *path, struct conf_errors *errs);
void conf_destroy(struct conf **confp);
void conf_errors_free(struct conf_errors *errs);

/* The path to use: `arg` if given, else $OFSTED_NOTIFY_CONF, else default. */
const char *conf_default_path(const char *arg);
/*
 * web.listen's "ADDRESS:PORT" (numeric, IPv6 in brackets) as a socket
 * address: 0, or -1 when it is not one.
 */
int conf_listen_parse(const char *listen, struct sockaddr_storage *ss,
                      socklen_t *len);
/* Whether the peer address `sa` is one of web.proxy_trusted (an
 * IPv4-mapped IPv6 address counts as its IPv4 address). */
bool conf_proxy_trusted(const struct conf *conf, const struct sockaddr *sa);
/* The user of the `users` list with this e-mail address, or NULL. */
const struct conf_user *conf_user(const struct conf *conf, const char *email);

const char *conf_channel_type_name(enum channel_type type);
/* "weekly", "daily", "monthly" or "off". */
const char *conf_channel_check_name(enum channel_check check);
const struct school *conf_school(const struct conf *conf, const char *urn);
const struct channel *conf_channel(const struct conf *conf, const char *name);
const struct rule *conf_rule(const struct conf *conf, const char *name);
/*
 * The title (subject) or text template for channels of `type`: the
 * config's own from its `templates` group, else the default. Borrowed.
 */
const char *conf_template(const struct conf *conf, enum channel_type type,
                          bool title);
/* What conf_webhook_url() makes of a webhook URL. */
enum conf_url {
        CONF_URL_OK,         /* https, or http to a loopback host */
        CONF_URL_INVALID,    /* not a URL */
        CONF_URL_PLAIN_HTTP, /* http to another host; *part is the host */
        CONF_URL_SCHEME,     /* neither http nor https; *part is the scheme */
};
/*
 * The one rule for a webhook URL, whether written in the config or read
 * from a url_file. *part is set (caller frees) for the two refusals that
 * name something, else NULL; each caller words the refusal its own way.
 */
enum conf_url conf_webhook_url(const char *url, char **part);
/*
 * Whether `s` is a phone number in E.164: '+', a country code that does
 * not start with 0, and 8 to 15 digits in all ("+447700900123").
 */
bool conf_valid_e164(const char *s);
/* The name of an ntfy priority ("high"), of an SMS profile ("twilio"). */
const char *conf_ntfy_priority_name(enum ntfy_priority p);
const char *conf_sms_profile_name(enum sms_profile p);
/* Whether `endpoint` is tcp://, so needs CURVE. */
bool conf_endpoint_tcp(const char *endpoint);
/* The allow-list entry with Z85 public key `z85`, or NULL. Borrowed. */
const struct conf_client *conf_client_by_key(const struct conf *conf,
                                             const char *z85);
/*
 * What the rules are applied with for `school`: its remit, the trust's
 * calendar and its own, the zone. NULL (a school no longer configured):
 * the remit "school" and the trust's calendar for both. Borrows from conf.
 */
void conf_rules_env(const struct conf *conf, const struct school *school,
                    struct rules_env *env);
/* Whether recording `kind` means anything: built in, or a rule's event. */
bool conf_known_kind(const struct conf *conf, const char *kind);

/*
 * Where the daemon's sockets and state live, resolved the same way by every
 * process. conf_endpoint_path() puts a relative ipc:// path under
 * $RUNTIME_DIRECTORY (set by systemd's RuntimeDirectory=; the first entry
 * when it lists several), else under CONF_RUNTIME_DIR, the directory the
 * units give it, so that an admin's ofsted-notifyctl finds the daemon; an
 * absolute or abstract ("ipc://@name") path and any other transport are
 * returned unchanged. conf_state_path() does the same for the state
 * database with $STATE_DIRECTORY and CONF_STATE_DIR. Both return a new
 * string the caller frees, or NULL for NULL. They read the environment and
 * nothing else: no directory is made.
 */
#define CONF_RUNTIME_DIR "/run/ofsted-notify"
#define CONF_STATE_DIR   "/var/lib/ofsted-notify"
char *conf_endpoint_path(const char *endpoint);
char *conf_state_path(const char *state);

#endif
