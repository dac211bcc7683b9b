/*
 * proto: the control protocol between ofsted-notifyctl and ofsted-notifyd.
 *
 * A request is two ZeroMQ frames: PROTO_CONTROL_ID (the protocol name and
 * version) and one JSON object {"cmd": "...", ...}. The reply is the same two
 * frames with a JSON object {"ok": true, ...} or {"ok": false, "error":
 * "..."}. docs/protocol.md lists every command and reply. A peer that sends
 * another protocol id gets an error reply naming the one expected.
 *
 * The client uses a REQ socket; the daemon a ROUTER, so its replies carry
 * the envelope back. This header holds only the constants and the two pure
 * helpers both sides share.
 */
#ifndef ONOTIFY_PROTO_H
#define ONOTIFY_PROTO_H

#include <jansson.h>
#include <stddef.h>

#define PROTO_CONTROL_ID "ofsted-notify-control/1"
/* The largest request body the daemon reads; larger ones are refused. */
#define PROTO_MAX_REQUEST 16384
/* The longest free text (contact, note) a request may carry. */
#define PROTO_MAX_TEXT 1000

/* {"ok": false, "error": msg}; caller owns the result. */
json_t *proto_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* {"ok": true}; caller owns the result. */
json_t *proto_ok(void);

#endif
