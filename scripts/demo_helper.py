"""scripts/demo's helper: reads what the receivers got and the daemon's
JSON for the shell. Usage: demo_helper.py follow|show|status|post|tally|signin ARGS
"""
import json, os, sys, time
from email import policy
from email.parser import BytesParser

def mail(spool, seq):
    with open(f"{spool}/{seq}.json") as f:
        rec = json.load(f)
    with open(f"{spool}/{seq}.eml", "rb") as f:
        return rec, BytesParser(policy=policy.default).parse(f)

def follow(log, spool):
    """'>> POST' and '>> MAIL' lines as requests and messages arrive."""
    parent, pos, rest, seq = os.getppid(), 0, b"", 1
    while os.getppid() == parent:
        try:
            with open(log, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        pos += len(chunk)
        *lines, rest = (rest + chunk).split(b"\n")
        for line in lines:
            r = json.loads(line)
            key = r["headers"].get("idempotency-key", "-")
            print(f">> POST {r['path']}  Idempotency-Key: {key}", flush=True)
        while os.path.exists(f"{spool}/{seq}.json"):
            rec, msg = mail(spool, seq)
            print(f">> MAIL to {', '.join(rec['rcpt_tos'])}: "
                  f"{msg['subject']}", flush=True)
            seq += 1
        time.sleep(0.1)

def show(spool, rcpt):
    """The first message to rcpt: its headers and text part, decoded."""
    seq = 1
    while os.path.exists(f"{spool}/{seq}.json"):
        rec, msg = mail(spool, seq)
        if rcpt in rec["rcpt_tos"]:
            break
        seq += 1
    else:
        sys.exit(f"no message to {rcpt}")
    for name in ("Date", "From", "To", "Subject", "Message-ID"):
        print(f"{name}: {msg[name]}")
    print()
    print(msg.get_body(("plain",)).get_content().rstrip())
    for part in msg.iter_attachments():
        print(f"\n[attachment {part.get_filename()}: {part.get_content_type()}"
              f", {len(part.get_content())} characters]")

def status(want):
    """Exit 0 when the daemon's status (on stdin) shows `want`."""
    try:
        r = json.load(sys.stdin)
    except ValueError:  # no answer (yet)
        sys.exit(1)
    if want == "workers":
        w = r.get("workers", {})
        ok = w.get("email", 0) > 0 and w.get("webhook", 0) > 0
    else:  # "idle": nothing left to fire or to deliver
        d = r["deliveries"]
        ok = (r["alerts"]["pending"] == 0 and
              d["pending"] + d["sending"] + d["retry"] == 0)
    sys.exit(0 if ok else 1)

def post(log, path):
    """The body of the first request to path, as the receiver got it."""
    with open(log, "rb") as f:
        for line in f:
            r = json.loads(line)
            if r["path"] == path:
                print(r["body"])
                return
    sys.exit(f"no request to {path}")

def tally(log, spool):
    """Deliveries (history, on stdin) against what the receivers got."""
    rows = json.load(sys.stdin)["deliveries"]
    with open(log, "rb") as f:
        posts = sum(1 for line in f if line.endswith(b"\n"))
    mails = len([n for n in os.listdir(spool) if n.endswith(".json")])
    want_mail = sum(1 for d in rows if d["type"] == "email")
    want_post = len(rows) - want_mail
    done = sum(1 for d in rows if d["status"] == "delivered")
    print(f"Delivered {done} of {len(rows)}: the SMTP receiver got {mails} "
          f"emails (of {want_mail}), the HTTP receiver {posts} requests "
          f"(of {want_post}).")
    sys.exit(0 if done == len(rows) and (mails, posts) ==
             (want_mail, want_post) else 1)

def signin(url, email, spool):
    """Asks the web process for a sign-in link for `email`, as its page's
    form does, and prints the link once the email worker has sent it."""
    import urllib.parse, urllib.request, re
    body = urllib.parse.urlencode({"email": email}).encode()
    req = urllib.request.Request(url + "/signin", data=body,
                                 headers={"Origin": url})
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=10)
    except urllib.error.HTTPError as e:
        if e.code != 303:
            sys.exit(f"the web process answered {e.code}")
    for _ in range(200):
        seq = 1
        while os.path.exists(f"{spool}/{seq}.json"):
            rec, msg = mail(spool, seq)
            m = re.search(r"\S+/signin/ont_\S+",
                          msg.get_body(("plain",)).get_content())
            if email in rec["rcpt_tos"] and m:
                print(m.group(0))
                return
            seq += 1
        time.sleep(0.1)
    sys.exit(f"no sign-in link reached {email}")

{"follow": follow, "signin": signin, "show": show, "status": status, "post": post,
 "tally": tally}[sys.argv[1]](*sys.argv[2:])
