/*
 * dproto: the dispatch protocol between ofsted-notifyd and its workers
 * (docs/dispatch.md), in one place for both peers.
 *
 * A message is [DPROTO_ID][type][body]: the protocol name and version, the
 * message type and a JSON object. This module holds the version, the times
 * both peers keep, the message types and a typed struct for each body, and
 * a pure encoder and decoder per message. It does no I/O and never logs:
 * the daemon (daemon/dispatch.c) and the worker (workers/worker.c) receive
 * frames with zframes_recv(), decode them here, and log what a decoder
 * refused with the reason it gives.
 *
 * A decoder validates every field it knows and ignores fields it does
 * not, so a newer peer may add one. Strings in a decoded message point
 * into its `root`: they live until dproto_msg_clear().
 */
#ifndef ONOTIFY_DPROTO_H
#define ONOTIFY_DPROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DPROTO_ID "ofsted-notify-dispatch/2"
/* Both peers send a HEARTBEAT this often. */
#define DPROTO_HEARTBEAT_MS 2000
/* A peer not heard from for this long is taken for gone. */
#define DPROTO_SILENCE_MS 10000
/* A worker repeats an unacknowledged OUTCOME or RECEIPT this often. */
#define DPROTO_RESEND_MS 2000
/* How an OUTCOME's error begins when the email worker could not sign in
 * (email.oauth2): a local retry the scheduler counts apart. */
#define DPROTO_SIGNIN_ERROR "email sign-in: "
/* The most credit a worker may announce. */
#define DPROTO_MAX_CREDIT 1000

/* The message types; dproto_type_names[] spells them on the wire. */
enum dproto_type {
        DPROTO_READY,     /* worker: I am here, with this credit */
        DPROTO_OUTCOME,   /* worker: what became of a job */
        DPROTO_HEARTBEAT, /* both: still here (a worker's has its credit) */
        DPROTO_JOB,       /* daemon: deliver this */
        DPROTO_ACK,       /* daemon: the outcome (or receipt) is done */
        DPROTO_HELLO,     /* daemon: I do not know you, say READY */
        DPROTO_REFUSE,    /* daemon: wrong version or key, exit */
        DPROTO_RECEIPT,   /* worker: a person acknowledged a delivery */
        DPROTO_WATCH,     /* daemon: poll this delivery's receipt */
        DPROTO_NTYPES
};
extern const char *const dproto_type_names[DPROTO_NTYPES];

/* What a worker delivers. */
enum dproto_kind { DPROTO_KIND_EMAIL, DPROTO_KIND_WEBHOOK, DPROTO_NKINDS };
extern const char *const dproto_kind_names[DPROTO_NKINDS];

/* What became of a job. */
enum dproto_result {
        DPROTO_DELIVERED,
        DPROTO_RETRY,
        DPROTO_FAILED,
        DPROTO_NRESULTS
};
extern const char *const dproto_result_names[DPROTO_NRESULTS];

struct dproto_ready {
        enum dproto_kind kind;
        int credit; /* 0 .. DPROTO_MAX_CREDIT */
};

/* The longest receipt: Pushover's are 30 letters and digits. */
#define DPROTO_RECEIPT_MAX 64
/* Whether `s` is a receipt: 1 .. DPROTO_RECEIPT_MAX letters and digits. */
bool dproto_receipt_valid(const char *s);

struct dproto_outcome {
        const char *delivery; /* not empty */
        int64_t lease;
        enum dproto_result result;
        long code;         /* the HTTP or SMTP status, or 0 for none */
        long retry_after;  /* seconds the server asked for, or -1 */
        bool local;        /* a retry for a problem on our side */
        const char *error; /* or NULL */
        /* A delivered emergency's receipt ("receipt": {"id", "expires_at"}),
         * which the scheduler keeps with the delivery; NULL for none. */
        const char *receipt;
        int64_t receipt_expires; /* Unix seconds, > 0 with a receipt */
};

/*
 * A delivered emergency acknowledged at the service (Pushover's receipt):
 * by whom there (the service's key for the person, as the daemon writes
 * the acknowledgement's actor) and when. Sent after its OUTCOME, and
 * again every DPROTO_RESEND_MS until the daemon ACKs it (ack.receipt).
 */
struct dproto_receipt {
        const char *delivery;        /* not empty */
        const char *acknowledged_by; /* 1 .. DPROTO_MAX_ACKED_BY bytes */
        int64_t acknowledged_at;     /* Unix seconds, > 0 */
};
/* The longest acknowledged_by: a Pushover user key is 30 characters. */
#define DPROTO_MAX_ACKED_BY 64

/*
 * A receipt the daemon hands to a worker to poll (docs/dispatch.md,
 * "Pushover receipts"): its delivery, the delivery's channel, the receipt
 * and when it expires. The worker keeps it once, by delivery.
 */
struct dproto_watch {
        const char *delivery; /* not empty */
        const char *channel;  /* not empty */
        const char *receipt;  /* dproto_receipt_valid() */
        int64_t expires_at;   /* Unix seconds, > 0 */
};

struct dproto_heartbeat {
        int credit; /* a worker's: 0 .. DPROTO_MAX_CREDIT; -1: none */
};

/*
 * A JOB's envelope. The alert is the object docs/dispatch.md describes;
 * the decoder checks it is an object, and the worker's backends read it.
 */
struct dproto_job {
        const char *delivery; /* not empty */
        int64_t lease;
        int64_t attempt; /* >= 1; 1 when the JOB does not say */
        const char *channel;
        const char *type;
        json_t *alert; /* borrowed from the message's root */
        /* A one-off email (a sign-in link), sent instead of the alert's
         * rendering: {"to", "subject", "text"}, NULL for an alert's JOB.
         * Borrowed, as alert. */
        json_t *message;
};

/*
 * The dead-man's switch (daemon.heartbeat): a JOB of channel and type
 * DPROTO_BEAT, delivery DPROTO_BEAT "-<n>", lease n and an empty alert,
 * which a webhook worker turns into a GET of the heartbeat URL. It has no
 * delivery row: its OUTCOME is acknowledged and noted, never retried.
 */
#define DPROTO_BEAT "heartbeat"
/* Whether a JOB's or an OUTCOME's delivery is the heartbeat's. */
bool dproto_is_beat(const char *delivery);

/*
 * An OUTCOME's ACK names its delivery and lease; a RECEIPT's its delivery
 * with `receipt` true, and no lease on the wire (0 when decoded).
 */
struct dproto_ack {
        const char *delivery;
        int64_t lease;
        bool receipt;
};

struct dproto_refuse {
        const char *error;
};

/* A frame as bytes, whatever socket it came from. */
struct dproto_frame {
        const void *data;
        size_t len;
};

/* Why dproto_decode() refused a message: each peer answers differently. */
enum dproto_fault {
        DPROTO_FAULT_NONE,
        DPROTO_FAULT_FRAMES,  /* not 2 or 3 frames */
        DPROTO_FAULT_FOREIGN, /* frame 1 is not DPROTO_ID */
        DPROTO_FAULT_BODY,    /* the body is not a JSON object */
        DPROTO_FAULT_TYPE,    /* no such message type */
        DPROTO_FAULT_FIELDS,  /* a field is missing or wrong; type is set */
};

/* A decoded message. HELLO has no fields. */
struct dproto_msg {
        enum dproto_type type;
        enum dproto_fault fault;
        union {
                struct dproto_ready ready;
                struct dproto_outcome outcome;
                struct dproto_receipt receipt;
                struct dproto_heartbeat heartbeat;
                struct dproto_job job;
                struct dproto_ack ack;
                struct dproto_refuse refuse;
                struct dproto_watch watch;
        } u;
        json_t *root; /* the body, owning every string above */
};

/*
 * Decodes one message: `f` the frames after any routing id, [DPROTO_ID]
 * [type][body], where a message without a body is one with "{}". Returns
 * 0, or -1 with m->fault and *cause (caller frees) saying what is wrong.
 * Either way the caller calls dproto_msg_clear(m).
 */
int dproto_decode(const struct dproto_frame *f, int n, struct dproto_msg *m,
                  char **cause);
/* The type a frame names, or -1. */
int dproto_type_parse(const void *data, size_t len);
void dproto_msg_clear(struct dproto_msg *m);

/*
 * The decoders of each body, from a parsed JSON object `body` (borrowed:
 * the strings in *out point into it). Return 0, or -1 with *cause.
 */
int dproto_ready_decode(const json_t *body, struct dproto_ready *out,
                        char **cause);
int dproto_outcome_decode(const json_t *body, struct dproto_outcome *out,
                          char **cause);
int dproto_receipt_decode(const json_t *body, struct dproto_receipt *out,
                          char **cause);
int dproto_heartbeat_decode(const json_t *body, struct dproto_heartbeat *out,
                            char **cause);
int dproto_job_decode(const json_t *body, struct dproto_job *out, char **cause);
int dproto_ack_decode(const json_t *body, struct dproto_ack *out, char **cause);
int dproto_refuse_decode(const json_t *body, struct dproto_refuse *out,
                         char **cause);
int dproto_watch_decode(const json_t *body, struct dproto_watch *out,
                        char **cause);

/*
 * The encoders: each returns the body as compact JSON text (the caller
 * frees it), written by format with every string escaped as JSON needs;
 * bytes that are not UTF-8 become U+FFFD. They do not check their input:
 * the caller sends what it built.
 */
char *dproto_ready_encode(const struct dproto_ready *r);
char *dproto_outcome_encode(const struct dproto_outcome *o);
char *dproto_receipt_encode(const struct dproto_receipt *r);
char *dproto_heartbeat_encode(const struct dproto_heartbeat *h);
/* `alert_json` is the alert object already encoded as JSON text. */
char *dproto_job_encode(const struct dproto_job *j, const char *alert_json);
char *dproto_ack_encode(const struct dproto_ack *a);
char *dproto_hello_encode(void);
char *dproto_refuse_encode(const struct dproto_refuse *r);
char *dproto_watch_encode(const struct dproto_watch *w);

#endif
