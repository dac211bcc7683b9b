#!/usr/bin/env python3
"""smtpsink: a scriptable SMTP server on loopback for integration tests.

A real SMTP server (aiosmtpd, Debian's python3-aiosmtpd 1.4) that stores
every message it accepts, so tests can read back what an email worker sent.
Only the Python standard library besides aiosmtpd.

Usage:
  python3 smtpsink.py --port-file FILE --spool DIR
          [--tls-cert CERT --tls-key KEY] [--require-starttls]
          [--no-starttls] [--implicit-tls]
          [--auth-user U --auth-password P] [--auth-token T]
          [--auth-token-file F] [--script FILE]
  python3 smtpsink.py --make-cert DIR [--cert-dns NAME]...

Serving:
  Listens on 127.0.0.1, on a port the kernel picks. When it is ready to
  accept connections it writes the port and a newline to FILE.tmp and
  renames that to FILE, so FILE is there whole or not at all.
  SIGTERM (or SIGINT) closes the listener and every connection; exit 0.

TLS:
  --tls-cert/--tls-key  PEM certificate (chain) and key. STARTTLS is then
                        offered in EHLO (unless --no-starttls).
  --require-starttls    before STARTTLS only EHLO/HELO, NOOP, STARTTLS and
                        QUIT work; anything else (MAIL, AUTH, ...) gets
                        "530 Must issue a STARTTLS command first"; AUTH is
                        not advertised until TLS is up.
  --no-starttls         never offer STARTTLS (a client that insists on TLS
                        must refuse to go on).
  --implicit-tls        TLS from the first byte (smtps); no STARTTLS.

AUTH (SASL), advertised without TLS too unless --require-starttls:
  --auth-user U --auth-password P   PLAIN and LOGIN, checked against U/P.
  --auth-only PLAIN|LOGIN           offer only that one of the two.
  --auth-token T                    XOAUTH2 and OAUTHBEARER, bearer token
                                    checked against T (and the user against
                                    U when --auth-user is given).
  --auth-token-file F               XOAUTH2 and OAUTHBEARER, the token
                                    accepted only while it is valid in F,
                                    oauthsink.py's state ("valid": token ->
                                    the epoch second it ends), read at each
                                    AUTH: a token endpoint's current token.
                                    The connection is closed when the
                                    token it signed in with ends.
  Wrong credentials: "535 5.7.8 Authentication credentials invalid"; for
  XOAUTH2/OAUTHBEARER first a "334 <base64 JSON error>" challenge, which
  the client answers (empty line, or AQ== for OAUTHBEARER), then the 535,
  as Gmail and RFC 7628 do. When any AUTH is configured, MAIL, RCPT and
  DATA before a successful AUTH get "530 5.7.0 Authentication required".
  With no AUTH configured, AUTH is not advertised.

Spool (DIR), for each accepted message, seq counting 1, 2, ... (continuing
after the highest one already in DIR):
  <seq>.eml   the message as received in DATA (bytes, CRLF line ends,
              dot-stuffing removed, without the final ".").
  <seq>.json  {"seq", "mail_from", "rcpt_tos": [...], "tls": bool,
               "auth_mechanism": "PLAIN"|"LOGIN"|"XOAUTH2"|"OAUTHBEARER"|
               null, "auth_user": str|null, "message_id": the Message-ID
               header value, unfolded and trimmed, with its <> (null if
               none), "helo", "mail_options", "size", "received_at" (Unix
               time, float), "tls_version" (null without TLS)}
  Each is written to NAME.tmp and renamed; the .eml before the .json, so a
  test that sees <seq>.json can read both. Rejected messages are not stored.

Script (--script FILE; re-read at every RCPT and every DATA, so a test can
change it between messages; write it to a temporary name and rename it;
a missing file means no rules). One rule a line; blank lines and lines
starting with "#" are ignored; unknown lines are reported on stderr and
ignored.
  rcpt ADDR CODE [TEXT]   answer RCPT TO:<ADDR> (case-insensitive; "*" and
                          "?" are wildcards) with CODE: 5xx is
                          "CODE 5.1.1 <ADDR>: Recipient address rejected"
                          (or "CODE TEXT" when given), 4xx likewise with
                          4.2.0 (temporary), 2xx accepts it. The first rule
                          that matches wins.
  data CODE[,CODE...]     the k-th DATA gets the k-th code, the last one
                          repeating: "data 451,250" = first a temporary
                          failure, then accept. 250 (any 2xx) accepts and
                          stores; 4xx is "CODE 4.3.0 Temporary failure, try
                          again later", 5xx "CODE 5.7.1 Message rejected"
                          (permanent, e.g. "data 550"). DATA is counted over
                          all connections, and the count starts over
                          whenever the data rule's text changes. The last
                          "data" line wins. No data rule: accept all.
  hang SECONDS            sleep SECONDS (may be fractional) after the final
                          "." before answering DATA. If the client hangs up
                          meanwhile, the message is not stored.

Certificates (--make-cert DIR): runs the openssl command to make a fresh
test CA and a server certificate it signed, for CN 127.0.0.1 with
subjectAltName IP:127.0.0.1, DNS:localhost, valid 1 day (EC P-256):
  DIR/ca.pem, DIR/ca.key, DIR/server.pem, DIR/server.key
Each --cert-dns NAME adds DNS:NAME to the subjectAltName (a server that
clients reach by a name, e.g. nginx's with curl --resolve).
Clients verify against DIR/ca.pem (CURLOPT_CAINFO).
"""

import argparse
import asyncio
import fnmatch
import hmac
import json
import logging
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import warnings
from base64 import b64decode
from email.parser import BytesHeaderParser

from sinkfile import publish_port, write_atomic

log = logging.getLogger("smtpsink")


def import_aiosmtpd():
    """aiosmtpd.smtp, also when run by a python3 other than Debian's."""
    try:
        import aiosmtpd.smtp as smtp
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")
        import aiosmtpd.smtp as smtp
    return smtp


# --------------------------------------------------------------------------
# Script


class Script:
    """The rules of --script FILE, as of one reading."""

    def __init__(self):
        self.rcpt = []  # (pattern, code, text)
        self.data = None  # (spec text, [codes])
        self.hang = 0.0

    @classmethod
    def load(cls, path):
        s = cls()
        if path is None:
            return s
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return s
        except OSError as e:
            log.warning("script %s: %s", path, e)
            return s
        for n, line in enumerate(lines, 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            try:
                s._rule(words)
            except ValueError as e:
                log.warning("script %s:%d: %s: %r", path, n, e, line)
        return s

    def _rule(self, words):
        kind = words[0].lower()
        if kind == "rcpt":
            if len(words) < 3:
                raise ValueError("want: rcpt ADDR CODE [TEXT]")
            code = parse_code(words[2])
            self.rcpt.append(
                (words[1].lower(), code, " ".join(words[3:]) or None))
        elif kind == "data":
            if len(words) != 2:
                raise ValueError("want: data CODE[,CODE...]")
            codes = [parse_code(c) for c in words[1].split(",")]
            self.data = (words[1], codes)
        elif kind == "hang":
            if len(words) != 2:
                raise ValueError("want: hang SECONDS")
            secs = float(words[1])
            if not 0 <= secs <= 3600:
                raise ValueError("SECONDS out of range")
            self.hang = secs
        else:
            raise ValueError("unknown rule")

    def rcpt_reply(self, address):
        """The reply to RCPT TO:<address>, or None to accept it."""
        addr = address.lower()
        for pattern, code, text in self.rcpt:
            if fnmatch.fnmatchcase(addr, pattern):
                if code < 400:
                    return None
                if text:
                    return f"{code} {text}"
                if code >= 500:
                    return (f"{code} 5.1.1 <{address}>: Recipient address "
                            "rejected")
                return (f"{code} 4.2.0 <{address}>: Recipient temporarily "
                        "unavailable")
        return None


def parse_code(text):
    if not re.fullmatch(r"[245][0-9][0-9]", text):
        raise ValueError(f"bad reply code {text!r} (want 2xx, 4xx or 5xx)")
    return int(text)


# --------------------------------------------------------------------------
# Spool


def first_free_seq(spool):
    top = 0
    for name in os.listdir(spool):
        m = re.fullmatch(r"([0-9]+)\.(eml|json)", name)
        if m:
            top = max(top, int(m.group(1)))
    return top + 1


def message_id(content):
    try:
        headers = BytesHeaderParser().parsebytes(content)
        value = headers.get("Message-ID")
    except Exception:  # a broken message still gets stored
        return None
    if value is None:
        return None
    return re.sub(r"\s+", " ", str(value)).strip()


def tls_object(server):
    transport = server.transport
    if transport is None:
        return None
    return transport.get_extra_info("ssl_object")


# --------------------------------------------------------------------------
# Server


class Handler:
    """aiosmtpd handler hooks: EHLO filtering, RCPT and DATA scripting."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.seq = first_free_seq(cfg.spool)
        self.data_spec = None
        self.data_count = 0

    async def handle_exception(self, error):
        if type(error).__name__ == "TLSSetupException":
            # The client gave up on the handshake (say, it did not trust
            # the certificate); aiosmtpd closes the connection.
            log.warning("STARTTLS handshake failed: %s", error.__cause__)
        else:
            log.error("SMTP session exception", exc_info=error)
        return f"500 Error: ({type(error).__name__}) {error}"

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        hide_auth = not server.sink_mechanisms or (
            self.cfg.require_starttls and tls_object(server) is None)
        if hide_auth:
            responses = [r for r in responses
                         if not r.upper().startswith("250-AUTH")]
        return responses

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        reply = Script.load(self.cfg.script).rcpt_reply(address)
        if reply is not None:
            log.info("RCPT %s: %s", address, reply)
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        script = Script.load(self.cfg.script)
        if script.hang > 0:
            log.info("DATA: hanging %.3f s", script.hang)
            await asyncio.sleep(script.hang)  # cancelled if the client goes

        code = 250
        spec = script.data[0] if script.data else None
        if spec != self.data_spec:
            self.data_spec, self.data_count = spec, 0
        if script.data:
            codes = script.data[1]
            code = codes[min(self.data_count, len(codes) - 1)]
        self.data_count += 1

        if code >= 500:
            log.info("DATA from %s: rejected %d", envelope.mail_from, code)
            return f"{code} 5.7.1 Message rejected"
        if code >= 400:
            log.info("DATA from %s: deferred %d", envelope.mail_from, code)
            return f"{code} 4.3.0 Temporary failure, try again later"

        seq = self.seq
        self.seq += 1
        content = envelope.original_content or b""
        sslobj = tls_object(server)
        auth = session.auth_data if session.authenticated else None
        record = {
            "seq": seq,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": sslobj is not None,
            "tls_version": sslobj.version() if sslobj is not None else None,
            "auth_mechanism": auth["mechanism"] if auth else None,
            "auth_user": auth["user"] if auth else None,
            "message_id": message_id(content),
            "helo": session.host_name,
            "mail_options": list(envelope.mail_options),
            "size": len(content),
            "received_at": time.time(),
        }
        base = os.path.join(self.cfg.spool, str(seq))
        write_atomic(base + ".eml", content)
        write_atomic(base + ".json",
                     (json.dumps(record, indent=1) + "\n").encode())
        log.info("accepted %d.eml from %s to %s (tls %s, auth %s)", seq,
                 envelope.mail_from, ",".join(envelope.rcpt_tos),
                 record["tls"], record["auth_mechanism"])
        return f"250 2.0.0 Ok: queued as {seq}"


def decode_saslname(value):
    """RFC 5801 saslname: =2C is ",", =3D is "="."""
    return value.replace("=2C", ",").replace("=3D", "=")


def make_server_class(smtp):
    """The aiosmtpd SMTP class with XOAUTH2 and OAUTHBEARER added."""

    class SinkSMTP(smtp.SMTP):
        def __init__(self, handler, cfg, live, **kwargs):
            self.sink_cfg = cfg
            self.sink_live = live
            super().__init__(handler, **kwargs)
            self.sink_mechanisms = sorted(self._auth_methods)

        def connection_made(self, transport):
            if self._original_transport is None:
                self.sink_live.add(self)
            super().connection_made(transport)

        def connection_lost(self, error):
            self.sink_live.discard(self)
            super().connection_lost(error)

        async def _oauth(self, mechanism, args, parse):
            if len(args) == 1:
                blob = await self.challenge_auth("")
                if blob is smtp.MISSING:
                    return smtp.AuthResult(success=False, handled=True)
            else:
                try:
                    blob = b64decode(args[1].encode(), validate=True)
                except Exception:
                    await self.push("501 5.5.2 Can't decode base64")
                    return smtp.AuthResult(success=False, handled=True)
            user, token = parse(blob)
            cfg = self.sink_cfg
            if cfg.auth_token_file:
                valid = token_valid(cfg.auth_token_file, token)
            else:
                valid = token is not None and hmac.compare_digest(
                    token.encode(), cfg.auth_token.encode())
            ok = (user is not None and token is not None and valid
                  and (cfg.auth_user is None or user == cfg.auth_user))
            if ok and cfg.auth_token_file:
                # The session ends with its token, as a provider's does: a
                # client must sign in again, on a new connection.
                left = token_valid_until(cfg.auth_token_file, token)
                loop = asyncio.get_running_loop()
                raw = self._original_transport or self.transport
                loop.call_later(max(0.0, left - time.time()), raw.abort)
            if ok:
                log.info("AUTH %s ok for %s", mechanism, user)
                return smtp.AuthResult(
                    success=True,
                    auth_data={"mechanism": mechanism, "user": user})
            log.info("AUTH %s denied for %r", mechanism, user)
            error = json.dumps({"status": "invalid_token",
                                "schemes": "bearer",
                                "scope": "https://mail.example/"})
            # The failure as a challenge; the client's answer ends it.
            answer = await self.challenge_auth(error)
            if answer is smtp.MISSING:
                return smtp.AuthResult(success=False, handled=True)
            return smtp.AuthResult(success=False, handled=False)

        @smtp.auth_mechanism("XOAUTH2")
        async def auth_XOAUTH2(self, _, args):
            # base64("user=" U "\x01auth=Bearer " T "\x01\x01")
            def parse(blob):
                user = token = None
                for part in blob.decode("utf-8", "replace").split("\x01"):
                    key, eq, value = part.partition("=")
                    if key == "user" and eq:
                        user = value
                    elif key == "auth" and value.startswith("Bearer "):
                        token = value[len("Bearer "):]
                return user, token
            return await self._oauth("XOAUTH2", args, parse)

        @smtp.auth_mechanism("OAUTHBEARER")
        async def auth_OAUTHBEARER(self, _, args):
            # RFC 7628: base64("n,a=" U ",\x01host=H\x01port=P\x01"
            #                  "auth=Bearer " T "\x01\x01")
            def parse(blob):
                parts = blob.decode("utf-8", "replace").split("\x01")
                user = token = None
                for field in parts[0].split(","):
                    if field.startswith("a="):
                        user = decode_saslname(field[2:])
                for part in parts[1:]:
                    key, _, value = part.partition("=")
                    if key == "auth" and value.startswith("Bearer "):
                        token = value[len("Bearer "):]
                return user, token
            return await self._oauth("OAUTHBEARER", args, parse)

    return SinkSMTP


def token_valid_until(path, token):
    """When `token` ends in the token endpoint's state (0: unknown)."""
    try:
        with open(path) as f:
            valid = json.load(f).get("valid", {})
    except (OSError, ValueError):
        return 0
    return valid.get(token, 0) if token is not None else 0


def token_valid(path, token):
    """Whether the token endpoint's state holds `token` as valid now."""
    return token_valid_until(path, token) > time.time()


def password_authenticator(cfg, smtp):
    def authenticate(server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        ok = (login == cfg.auth_user
              and hmac.compare_digest(auth_data.password,
                                      cfg.auth_password.encode()))
        log.info("AUTH %s %s for %s", mechanism, "ok" if ok else "denied",
                 login)
        if not ok:
            return smtp.AuthResult(success=False, handled=False)
        return smtp.AuthResult(success=True,
                               auth_data={"mechanism": mechanism,
                                          "user": login})
    return authenticate


class QuietDeprecations(logging.Filter):
    def filter(self, record):
        msg = record.getMessage()
        return not ("login_data is deprecated" in msg
                    or "auth_require_tls == False" in msg)


async def serve(cfg):
    smtp = import_aiosmtpd()
    warnings.filterwarnings("ignore", message="Requiring AUTH")
    logging.getLogger("mail.log").addFilter(QuietDeprecations())

    tls_context = None
    if cfg.tls_cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(cfg.tls_cert, cfg.tls_key)

    exclude = []
    if cfg.auth_password is None:
        exclude += ["PLAIN", "LOGIN"]
    elif cfg.auth_only:
        exclude += [m for m in ("PLAIN", "LOGIN") if m != cfg.auth_only]
    if cfg.auth_token_file:
        cfg.auth_token = ""
    if cfg.auth_token is None:
        exclude += ["XOAUTH2", "OAUTHBEARER"]
    auth_on = cfg.auth_password is not None or cfg.auth_token is not None

    handler = Handler(cfg)
    live = set()
    server_class = make_server_class(smtp)
    kwargs = dict(
        hostname="smtpsink.localhost",
        ident="smtpsink (aiosmtpd)",
        enable_SMTPUTF8=True,
        timeout=120,
        tls_context=(tls_context
                     if tls_context and not cfg.implicit_tls
                     and not cfg.no_starttls else None),
        require_starttls=cfg.require_starttls,
        auth_required=auth_on,
        auth_require_tls=False,
        auth_exclude_mechanism=exclude,
    )
    if cfg.auth_password is not None:
        kwargs["authenticator"] = password_authenticator(cfg, smtp)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: server_class(handler, cfg, live, loop=loop, **kwargs),
        host="127.0.0.1", port=0,
        ssl=tls_context if cfg.implicit_tls else None)
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    publish_port(cfg.port_file, port)
    log.info("listening on 127.0.0.1:%d (%s%s%s)", port,
             "implicit TLS" if cfg.implicit_tls else
             "STARTTLS" if kwargs["tls_context"] else "no TLS",
             ", STARTTLS required" if cfg.require_starttls else "",
             ", AUTH " + " ".join(sorted({"PLAIN", "LOGIN", "XOAUTH2",
                                          "OAUTHBEARER"} - set(exclude)))
             if auth_on else "")

    await stop.wait()
    log.info("stopping")
    server.close()
    for proto in list(live):
        if proto.transport is not None:
            proto.transport.close()
    await server.wait_closed()
    await asyncio.sleep(0.05)  # let the closed connections' tasks end


# --------------------------------------------------------------------------
# Certificates


def make_cert(directory, names=()):
    os.makedirs(directory, exist_ok=True)

    def openssl(*args):
        r = subprocess.run(["openssl", *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            sys.exit(f"smtpsink: openssl {args[0]} failed: {r.stderr}")

    def path(name):
        return os.path.join(directory, name)

    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes"]
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        ext = os.path.join(tmp, "server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints = critical, CA:FALSE\n"
                    "keyUsage = critical, digitalSignature, keyEncipherment\n"
                    "extendedKeyUsage = serverAuth\n"
                    "subjectAltName = IP:127.0.0.1, DNS:localhost"
                    + "".join(f", DNS:{n}" for n in names) + "\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid\n")
        openssl("req", "-x509", *curve, "-keyout", path("ca.key"),
                "-out", path("ca.pem"), "-days", "1",
                "-subj", "/CN=smtpsink test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        csr = os.path.join(tmp, "server.csr")
        openssl("req", "-new", *curve, "-keyout", path("server.key"),
                "-out", csr, "-subj", "/CN=127.0.0.1")
        openssl("x509", "-req", "-in", csr, "-CA", path("ca.pem"),
                "-CAkey", path("ca.key"), "-set_serial",
                str(int.from_bytes(os.urandom(8), "big")),
                "-days", "1", "-extfile", ext, "-out", path("server.pem"))
    for name in ("ca.key", "server.key"):
        os.chmod(path(name), 0o600)


# --------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="smtpsink.py",
        description="Scriptable SMTP sink for tests (see the top of the "
                    "file for the spool and script formats).")
    p.add_argument("--make-cert", metavar="DIR",
                   help="write DIR/ca.pem, DIR/server.pem, DIR/server.key "
                        "and exit")
    p.add_argument("--cert-dns", metavar="NAME", action="append",
                   default=[],
                   help="with --make-cert: one more DNS name in the "
                        "certificate's subjectAltName")
    p.add_argument("--port-file", metavar="FILE")
    p.add_argument("--spool", metavar="DIR")
    p.add_argument("--tls-cert", metavar="CERT")
    p.add_argument("--tls-key", metavar="KEY")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--no-starttls", action="store_true")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth-user", metavar="U")
    p.add_argument("--auth-password", metavar="P")
    p.add_argument("--auth-token", metavar="T")
    p.add_argument("--auth-token-file", metavar="F")
    p.add_argument("--auth-only", metavar="MECH", choices=["PLAIN", "LOGIN"],
                   help="offer only this one of PLAIN and LOGIN")
    p.add_argument("--script", metavar="FILE")
    p.add_argument("--quiet", action="store_true",
                   help="log only warnings and errors")
    cfg = p.parse_args(argv)

    if cfg.make_cert:
        return cfg
    if cfg.cert_dns:
        p.error("--cert-dns goes with --make-cert")
    if not cfg.port_file or not cfg.spool:
        p.error("--port-file and --spool are required")
    if bool(cfg.tls_cert) != bool(cfg.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if cfg.implicit_tls and not cfg.tls_cert:
        p.error("--implicit-tls needs --tls-cert and --tls-key")
    if cfg.require_starttls and (not cfg.tls_cert or cfg.no_starttls
                                 or cfg.implicit_tls):
        p.error("--require-starttls needs --tls-cert/--tls-key and STARTTLS")
    if cfg.auth_only and cfg.auth_password is None:
        p.error("--auth-only needs --auth-password")
    if cfg.auth_password is not None and cfg.auth_user is None:
        p.error("--auth-password needs --auth-user")
    if cfg.auth_user is not None and (cfg.auth_password is None
                                      and cfg.auth_token is None
                                      and cfg.auth_token_file is None):
        p.error("--auth-user needs --auth-password, --auth-token or "
                "--auth-token-file")
    if not os.path.isdir(cfg.spool):
        p.error(f"--spool {cfg.spool}: not a directory")
    return cfg


def main(argv):
    cfg = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if cfg.quiet else logging.INFO,
        format="smtpsink[%(process)d] %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr)
    # aiosmtpd's own per-command log is noise here; keep its warnings.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    if cfg.make_cert:
        make_cert(cfg.make_cert, cfg.cert_dns)
        return 0
    asyncio.run(serve(cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
