#!/usr/bin/python3
"""oauth2proxysink: a stand-in for oauth2-proxy on loopback, for the test
of the README's nginx recipe (test_web_nginx.c). It answers the two
endpoints nginx's auth_request recipe uses as oauth2-proxy documents them
for `reverse_proxy = true` and `set_xauthrequest = true`, and reads those
settings from the same config file an admin gives oauth2-proxy (the
README's, TOML), so that a change there shows here.

  oauth2proxysink.py --config CFG --sessions FILE --port-file FILE
                     --log FILE

GET /oauth2/auth
    202 when the request carries a session cookie (cookie_name, default
    "_oauth2_proxy") that FILE names, with X-Auth-Request-User and
    X-Auth-Request-Email (only under set_xauthrequest); 401 otherwise.
GET /oauth2/start?rd=URL
    302 to the identity provider's authorize URL: the v2.0 endpoint of
    oidc_issuer_url's tenant, with client_id, response_type=code, scope,
    redirect_uri (the callback, built as oauth2-proxy builds it: the
    request's scheme and host, from X-Forwarded-Proto and
    X-Forwarded-Host under reverse_proxy, else plain http and Host; https
    whatever the request under cookie_secure) and state NONCE:REDIRECT,
    REDIRECT being where the callback will land: rd when oauth2-proxy
    would take it (a path on this site, or an http(s) URL whose host is
    one of whitelist_domains, "." for a domain and its subdomains, with
    ":PORT" or ":*" when the URL has a port), else "/".
Anything else: 404.

The session (mock-only; a real oauth2-proxy gets it from the identity
provider's callback): FILE is a JSON object, cookie value -> email,
read at each request, written by the test.

Listens on 127.0.0.1, a port the kernel picks, written with a newline to
FILE.tmp and renamed to --port-file. Each request is one JSON line in
--log: method, path, the headers nginx sent, the status. SIGTERM: exit 0.
"""
import argparse
import json
import secrets
import signal
import sys
import tomllib
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sinkfile import publish_port


def redirect_allowed(rd, domains):
    """Whether oauth2-proxy takes `rd` as where to land after sign-in."""
    if rd.startswith("/"):
        return not rd.startswith("//") and "/\\" not in rd
    if not rd.startswith(("http://", "https://")):
        return False
    url = urllib.parse.urlsplit(rd)
    host, port = url.hostname or "", url.port
    for d in domains:
        dhost, _, dport = d.rpartition(":") if ":" in d else (d, "", "")
        if not (host == dhost.lstrip(".") or
                (dhost.startswith(".") and host.endswith(dhost))):
            continue
        if dport == "*" or dport == (str(port) if port else ""):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-cache, no-store, "
                         "must-revalidate, max-age=0")
        self.end_headers()
        with open(self.server.args.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "headers": dict(self.headers.items()),
                                "status": status}) + "\n")

    def session_email(self):
        cfg = self.server.cfg
        name = cfg.get("cookie_name", "_oauth2_proxy")
        try:
            with open(self.server.args.sessions) as f:
                sessions = json.load(f)
        except FileNotFoundError:
            sessions = {}
        for part in self.headers.get_all("Cookie", []):
            for item in part.split(";"):
                k, _, v = item.strip().partition("=")
                if k == name and v in sessions:
                    return sessions[v]
        return None

    def auth(self):
        email = self.session_email()
        if email is None:
            self.reply(401)
            return
        headers = []
        if self.server.cfg.get("set_xauthrequest", False):
            headers = [("X-Auth-Request-User", email.split("@")[0]),
                       ("X-Auth-Request-Email", email)]
        self.reply(202, headers)

    def start(self, query):
        cfg = self.server.cfg
        rev = cfg.get("reverse_proxy", False)
        scheme = (self.headers.get("X-Forwarded-Proto") if rev else None) \
            or "http"
        if cfg.get("cookie_secure", True):
            scheme = "https"
        host = (self.headers.get("X-Forwarded-Host") if rev else None) \
            or self.headers.get("Host", "")
        rd = query.get("rd", [""])[0] or \
            self.headers.get("X-Auth-Request-Redirect", "")
        if not redirect_allowed(rd, cfg.get("whitelist_domains", [])):
            rd = "/"
        issuer = cfg["oidc_issuer_url"]
        if not issuer.endswith("/v2.0"):
            self.reply(500)
            return
        params = urllib.parse.urlencode({
            "client_id": cfg["client_id"],
            "redirect_uri": f"{scheme}://{host}/oauth2/callback",
            "response_type": "code",
            "scope": "openid email profile",
            "state": f"{secrets.token_hex(16)}:{rd}",
        })
        self.reply(302, [("Location", issuer[:-len("/v2.0")] +
                          "/oauth2/v2.0/authorize?" + params)])

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/oauth2/auth":
            self.auth()
        elif url.path == "/oauth2/start":
            self.start(urllib.parse.parse_qs(url.query))
        else:
            self.reply(404)


def main():
    ap = argparse.ArgumentParser(prog="oauth2proxysink.py")
    ap.add_argument("--config", required=True)
    ap.add_argument("--sessions", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    with open(args.config, "rb") as f:
        cfg = tomllib.load(f)
    if cfg.get("provider") not in ("entra-id", "azure", "oidc"):
        sys.exit(f"oauth2proxysink: provider {cfg.get('provider')!r}: "
                 "not Entra ID's")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.args, srv.cfg = args, cfg
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    publish_port(args.port_file, srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
