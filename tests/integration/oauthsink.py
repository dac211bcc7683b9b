#!/usr/bin/python3
"""oauthsink: a token endpoint and a Graph sendMail endpoint on loopback,
shaped like Microsoft Entra ID's v2.0 endpoint, Google's, and Microsoft
Graph, for the email worker's tests.

  oauthsink.py --port-file F --state F [--port P] [--lifetime S]
               [--claim S] [--client-id ID] [--client-secret-file F]
               [--cert PEM] [--google-email E --google-key-pub PEM
               --sender ADDR] [--graph-script F] [--stall S]
               [--hold-file F]

POST /{tenant}/oauth2/v2.0/token   Entra: a form with grant_type
    client_credentials, client_id (checked), scope, and client_secret
    (checked against the file, read at each request) or client_assertion
    (a JWT: PS256, "x5t#S256" the SHA-256 of --cert's DER, signature
    checked with openssl against --cert, aud = this URL, iss = sub =
    client_id, exp in the future). Answers {"token_type": "Bearer",
    "expires_in": --claim (default --lifetime), "access_token": ...} or
    Entra's error JSON: 401 invalid_client with AADSTS7000215 (secret) or
    AADSTS700027 (assertion), 400 unauthorized_client (client id).
POST /token   Google: grant_type urn:ietf:params:oauth:grant-type:
    jwt-bearer and assertion (RS256 checked with --google-key-pub, iss the
    service account, sub --sender, scope https://mail.google.com/, aud this
    URL); 400 invalid_grant otherwise.
POST /v1.0/users/{addr}/sendMail   Graph: Authorization: Bearer <a token
    valid now>, Content-Type text/plain, a base64 MIME message. The next
    line of --graph-script (a status: 202, 401, 429, 403, ...) decides,
    202 once the script is used up; 401 carries WWW-Authenticate, 429
    Retry-After: 1, 4xx Graph's error JSON. Each is recorded with the
    index in "issued" of the token it came with ("token"; -1: none).

--stall S: a token request that arrives in the endpoint's first S
seconds is answered only S seconds later (an identity provider that
hangs, then recovers); "stalled" in the state counts them.
--hold-file F: while F exists, a token request is held unanswered
("holding" in the state counts those held now); the test removes F to
let them go, answered as usual.

--state is a JSON file rewritten after each request: "calls" (token
requests, each with its grant, ok, error and when: "at"), "valid" (token -> the
epoch second it stops being valid, --lifetime after issue), "issued"
(every token), "assertions" (every assertion received), "graph" (each
sendMail: status, user, and the decoded message). smtpsink's
--auth-token-file reads it. Tokens are never printed.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sinkfile import publish_port, write_atomic

LOCK = threading.Lock()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sig_ok(jwt, pub_pem, pss):
    """Whether jwt's signature verifies with the public key, by the openssl
    command (no Python crypto library needed): RS256, or with pss PS256
    (RSASSA-PSS, SHA-256, salt as long as the digest)."""
    head, claims, sig = jwt.split(".")
    with tempfile.TemporaryDirectory() as d:
        data, sigf, key = (os.path.join(d, n) for n in ("d", "s", "k"))
        with open(data, "wb") as f:
            f.write((head + "." + claims).encode())
        with open(sigf, "wb") as f:
            f.write(b64url_decode(sig))
        with open(key, "w") as f:
            f.write(pub_pem)
        pad = (["-sigopt", "rsa_padding_mode:pss",
                "-sigopt", "rsa_pss_saltlen:digest"] if pss else [])
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", key]
                           + pad + ["-signature", sigf, data],
                           capture_output=True, check=False)
        return r.returncode == 0


def cert_facts(path):
    """The certificate's public key (PEM) and base64url SHA-256 of DER."""
    der = subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    pub = subprocess.run(["openssl", "x509", "-in", path, "-noout",
                          "-pubkey"], capture_output=True, check=True,
                         text=True).stdout
    thumb = base64.urlsafe_b64encode(hashlib.sha256(der).digest())
    return pub, thumb.decode().rstrip("=")


class State:
    def __init__(self, path):
        self.path = path
        self.doc = {"calls": [], "valid": {}, "issued": [], "assertions": [],
                    "graph": [], "stalled": 0, "holding": 0}

    def save(self):
        write_atomic(self.path, json.dumps(self.doc).encode())


def entra_error(code, error, aadsts, text):
    return code, {
        "error": error,
        "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation "
                             "ID: %s\r\nTimestamp: 2026-12-07 10:00:00Z"
                             % (aadsts, text, secrets.token_hex(8),
                                secrets.token_hex(8)),
        "error_codes": [aadsts],
        "timestamp": "2026-12-07 10:00:00Z",
        "trace_id": secrets.token_hex(8),
        "correlation_id": secrets.token_hex(8),
        "error_uri": "https://login.microsoftonline.com/error?code=%d"
                     % aadsts,
    }


def check_claims(claims, want):
    for k, v in want.items():
        if claims.get(k) != v:
            return "claim %s is not as expected" % k
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        return "claim exp is not in the future"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the path only, never a body
        sys.stderr.write("oauthsink: %s\n" % (fmt % args))

    def reply(self, code, doc, headers=()):
        body = json.dumps(doc).encode() if doc is not None else b""
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if doc is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def url(self):
        return "http://%s:%d%s" % (self.server.server_address[0],
                                   self.server.server_address[1], self.path)

    def do_POST(self):
        cfg = self.server.cfg
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.grant = None
        if (cfg.stall and not self.path.startswith("/v1.0/")
                and time.time() - self.server.started < cfg.stall):
            with LOCK:
                self.server.state.doc["stalled"] += 1
                self.server.state.save()
            time.sleep(cfg.stall)
        if cfg.hold_file and not self.path.startswith("/v1.0/"):
            self.hold(cfg.hold_file)
        with LOCK:
            if self.path.endswith("/oauth2/v2.0/token"):
                code, doc = self.entra(cfg, body)
            elif self.path == "/token":
                code, doc = self.google(cfg, body)
            elif self.path.startswith("/v1.0/users/"):
                self.graph(cfg, body)
                return
            else:
                code, doc = 404, {"error": "not_found"}
            ok = code == 200
            if ok:
                tok = "eyJ0.%s" % secrets.token_urlsafe(24)
                st = self.server.state.doc
                st["issued"].append(tok)
                st["valid"][tok] = time.time() + cfg.lifetime
                doc = {"token_type": "Bearer",
                       "expires_in": cfg.claim or cfg.lifetime,
                       "ext_expires_in": cfg.claim or cfg.lifetime,
                       "access_token": tok}
            self.server.state.doc["calls"].append(
                {"path": self.path, "ok": ok, "at": time.time(),
                 "error": None if ok else doc.get("error"),
                 "grant": self.grant})
            self.server.state.save()
        self.reply(code, doc)

    def hold(self, path):
        if not os.path.exists(path):
            return
        with LOCK:
            self.server.state.doc["holding"] += 1
            self.server.state.save()
        while os.path.exists(path):
            time.sleep(0.05)
        with LOCK:
            self.server.state.doc["holding"] -= 1
            self.server.state.save()

    def entra(self, cfg, body):
        form = dict(urllib.parse.parse_qsl(body.decode()))
        self.grant = form.get("grant_type")
        if (self.headers.get("Content-Type") !=
                "application/x-www-form-urlencoded"):
            return 400, {"error": "invalid_request"}
        if form.get("grant_type") != "client_credentials" or "scope" not in form:
            return entra_error(400, "invalid_request", 900144,
                               "The request body must contain the "
                               "following parameter: 'grant_type'.")
        if form.get("client_id") != cfg.client_id:
            return entra_error(400, "unauthorized_client", 700016,
                               "Application with identifier '%s' was not "
                               "found in the directory."
                               % form.get("client_id"))
        if "client_secret" in form:
            self.grant = "client_secret"
            with open(cfg.client_secret_file) as f:
                want = f.read().strip()
            if not cfg.client_secret_file or form["client_secret"] != want:
                return entra_error(401, "invalid_client", 7000215,
                                   "Invalid client secret provided. Ensure "
                                   "the secret being sent in the request is "
                                   "the client secret value, not the client "
                                   "secret ID.")
            return 200, None
        jwt = form.get("client_assertion", "")
        self.server.state.doc["assertions"].append(jwt)
        self.grant = "client_assertion"
        why = None
        if (form.get("client_assertion_type") !=
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                or jwt.count(".") != 2 or not cfg.cert):
            why = "no client assertion"
        else:
            pub, thumb = cert_facts(cfg.cert)
            head = json.loads(b64url_decode(jwt.split(".")[0]))
            claims = json.loads(b64url_decode(jwt.split(".")[1]))
            if head.get("alg") != "PS256" or head.get("x5t#S256") != thumb:
                why = "the header does not name PS256 and the certificate"
            elif not sig_ok(jwt, pub, True):
                why = "the signature does not verify"
            else:
                why = check_claims(claims, {"aud": self.url(),
                                            "iss": cfg.client_id,
                                            "sub": cfg.client_id})
        if why:
            return entra_error(401, "invalid_client", 700027,
                               "Client assertion failed signature "
                               "validation: %s." % why)
        return 200, None

    def google(self, cfg, body):
        form = dict(urllib.parse.parse_qsl(body.decode()))
        self.grant = form.get("grant_type")
        jwt = form.get("assertion", "")
        self.server.state.doc["assertions"].append(jwt)
        if (form.get("grant_type") !=
                "urn:ietf:params:oauth:grant-type:jwt-bearer"
                or jwt.count(".") != 2):
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "Invalid grant_type: "}
        with open(cfg.google_key_pub) as f:
            pub = f.read()
        head = json.loads(b64url_decode(jwt.split(".")[0]))
        claims = json.loads(b64url_decode(jwt.split(".")[1]))
        if head.get("alg") != "RS256" or not sig_ok(jwt, pub, False):
            return 400, {"error": "invalid_grant",
                         "error_description": "Invalid JWT Signature."}
        why = check_claims(claims, {"iss": cfg.google_email,
                                    "sub": cfg.sender,
                                    "scope": "https://mail.google.com/",
                                    "aud": self.url()})
        if why:
            return 400, {"error": "invalid_grant",
                         "error_description": "Invalid JWT: %s" % why}
        return 200, None

    def graph(self, cfg, body):
        st = self.server.state.doc
        auth = self.headers.get("Authorization", "")
        tok = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        status = 202
        if cfg.graph_script and os.path.exists(cfg.graph_script):
            with open(cfg.graph_script) as f:
                lines = f.read().split()
            used = len(st["graph"])
            if used < len(lines):
                status = int(lines[used])
        if st["valid"].get(tok, 0) <= time.time():
            status = 401  # as Graph: an expired or unknown token
        user = urllib.parse.unquote(self.path.split("/")[3])
        try:
            mime = base64.b64decode(body, validate=True).decode()
        except ValueError:
            mime = None
            status = 400
        if self.headers.get("Content-Type") != "text/plain":
            status = 400
        st["graph"].append({"status": status, "user": user, "mime": mime,
                            "token": st["issued"].index(tok)
                            if tok in st["issued"] else -1})
        self.server.state.save()
        if status == 202:
            self.reply(202, None)
        elif status == 401:
            self.reply(401, {"error": {"code": "InvalidAuthenticationToken",
                                       "message": "Lifetime validation "
                                                  "failed, the token is "
                                                  "expired."}},
                       [("WWW-Authenticate", 'Bearer realm="", '
                         'authorization_uri="https://login.microsoftonline'
                         '.com/common/oauth2/authorize", '
                         'client_id="00000003-0000-0000-c000-000000000000"')])
        elif status == 429:
            self.reply(429, {"error": {"code": "ApplicationThrottled",
                                       "message": "Application is over its "
                                                  "MailboxConcurrency "
                                                  "limit."}},
                       [("Retry-After", "1")])
        else:
            self.reply(status, {"error": {"code": "ErrorAccessDenied",
                                          "message": "Access is denied. "
                                                     "Check credentials and "
                                                     "try again."}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=int, default=3600)
    ap.add_argument("--claim", type=int, default=0)
    ap.add_argument("--client-id", default="")
    ap.add_argument("--client-secret-file", default="")
    ap.add_argument("--cert", default="")
    ap.add_argument("--google-email", default="")
    ap.add_argument("--google-key-pub", default="")
    ap.add_argument("--sender", default="")
    ap.add_argument("--graph-script", default="")
    ap.add_argument("--stall", type=float, default=0)
    ap.add_argument("--hold-file", default="")
    cfg = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", cfg.port), Handler)
    srv.cfg = cfg
    srv.started = time.time()
    srv.state = State(cfg.state)
    if os.path.exists(cfg.state):  # restarted: the tokens stay valid
        with open(cfg.state) as f:
            srv.state.doc = json.load(f)
        srv.state.doc.setdefault("stalled", 0)
        srv.state.doc.setdefault("holding", 0)
    srv.state.save()
    publish_port(cfg.port_file, srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
