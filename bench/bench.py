#!/usr/bin/python3
"""ofsted-notify's benchmarks, run by bench/run. See bench/README.md.

Starts an nginx answering 204 on loopback, then measures, in one run:
burst throughput (ours, wrk's, Alertmanager's), due-to-receipt latency (the
first delivery after a due instant, a trust's wave of 2,000 deliveries due
at one instant, and 1,000 alerts a second), scale with pending alerts, and
email against msmtp. Prints a table and writes the figures as JSON.
"""
import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
NSCHOOLS = 100  # schools with seeded cases
FIXED = 10  # pending alerts of the one school after them, at every size
NFREE = 50  # schools left without a case, for `notify`
WAVE_SCHOOLS = 500  # a trust's schools, one alert each at one instant
WAVE_CHANNELS = 4  # webhook channels of each of those schools


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    """User + system CPU seconds of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def wait_for(what, pred, timeout, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(step)
    raise RuntimeError(f"timed out waiting for {what}")


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class Nginx:
    """nginx under its own prefix, answering 204 to everything."""

    def __init__(self, work):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.dir, "logs"))
        os.makedirs(os.path.join(self.dir, "files"))
        self.port = free_port()
        self.log = os.path.join(self.dir, "logs", "access.log")
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes auto;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  log_format bench '$msec $uri $content_length $http_idempotency_key';
  access_log {self.log} bench buffer=256k flush=100ms;
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location / {{ return 204; }}
    # The phone flavours' documented successes (bench/README.md,
    # "Flavours"): ntfy's published message, Pushover's status 1, and
    # Twilio's 201 with the queued message.
    location /ntfy/ {{ default_type application/json;
      return 200 '{{"id":"sGs4ZbmEv1oJ","time":1765117200,"expires":1765160400,"event":"message","topic":"bench","message":"ok"}}'; }}
    location /pushover/ {{ default_type application/json;
      return 200 '{{"status":1,"request":"647d2300-702c-4b38-8b2f-d56326ae460b"}}'; }}
    location /twilio/ {{ default_type application/json;
      return 201 '{{"sid":"SM1f0e8ae6ade43cb3c0ce4525424e404f","status":"queued","to":"+447700900123","from":"+447700900000","num_segments":"1"}}'; }}
    location /files/ {{ alias {self.dir}/files/; access_log off; }}
  }}
}}
""")
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-c", conf],
            stderr=open(os.path.join(self.dir, "stderr"), "w"))
        wait_for("nginx", self.up, 5)

    def up(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.2):
                return True
        except OSError:
            return False

    def pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [self.proc.pid] + [int(p) for p in out.split()]

    def records(self, prefix, since=0):
        """(msec, length, key) of the logged requests whose path starts
        with prefix, from byte `since` of the log (mark())."""
        time.sleep(0.3)  # flush=100ms
        out = []
        with open(self.log) as f:
            f.seek(since)
            for line in f:
                parts = line.split()
                if len(parts) == 4 and parts[1].startswith(prefix):
                    out.append((float(parts[0]),
                                int(parts[2]) if parts[2] != "-" else 0,
                                parts[3]))
        return out

    def mark(self):
        """Where the log ends now: records(prefix, mark()) later reads
        only the requests since."""
        time.sleep(0.3)  # flush=100ms
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def serve_file(self, name, data):
        """The URL at which nginx serves `data` as a static file."""
        with open(os.path.join(self.dir, "files", name), "wb") as f:
            f.write(data)
        # nginx's workers run as another user when we are root: they need
        # to reach the file through the (mkdtemp, 0700) working directory.
        os.chmod(os.path.dirname(self.dir), 0o711)
        os.chmod(os.path.join(self.dir, "files", name), 0o644)
        return f"http://127.0.0.1:{self.port}/files/{name}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Ours:
    """The scheduler and its workers on a config of `schools` schools to
    seed, one more (the fixed school, see seed()) and NFREE without a case,
    all sending to the channels named in `names` (defined by `channel`)."""

    def __init__(self, args, work, name, channel, extra="", schools=NSCHOOLS,
                 names=("sink",), per_school=False):
        self.args = args
        self.nschools = schools
        self.fixed_urn = str(200000 + schools)
        self.free_urns = [str(200000 + schools + 1 + i) for i in range(NFREE)]
        self.dir = os.path.join(work, name)
        os.makedirs(os.path.join(self.dir, "state"))
        os.makedirs(os.path.join(self.dir, "run"))
        self.conf = os.path.join(self.dir, "bench.conf")
        self.db = os.path.join(self.dir, "state", "state.db")
        shutil.copy(os.path.join(ROOT, "config", "bank-holidays.json"),
                    self.dir)
        with open(os.path.join(self.dir, "sink.key"), "w") as f:
            f.write("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" + "\n")
        os.chmod(os.path.join(self.dir, "sink.key"), 0o600)
        # The phone flavours' secrets (bench/README.md, "Flavours").
        for fname, secret in (("pushover.token",
                               "azGDORePK8gMaC0QOYAMyEEuzJnyUi"),
                              ("pushover.user",
                               "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"),
                              ("twilio.token",
                               "f2b0c8f1d3e94a5b8c7d6e5f4a3b2c1d")):
            path = os.path.join(self.dir, fname)
            with open(path, "w") as f:
                f.write(secret + "\n")
            os.chmod(path, 0o600)
        # With per_school, seeded school i sends to names[i] alone (the
        # others to names[0]); else every school to all of names.
        def chans(i):
            if per_school:
                return f'"{names[i if i < len(names) else 0]}"'
            return ", ".join(f'"{c}"' for c in names)

        schools = ",\n".join(
            f'  {{ urn = "{200000 + i}"; name = "Bench School {i}"; '
            f'channels = [ {chans(i)} ]; }}'
            for i in range(schools + 1 + NFREE))
        with open(self.conf, "w") as f:
            f.write(f"""
trust = {{ name = "Bench Trust"; timezone = "Europe/London";
          holidays = "bank-holidays.json"; }};
daemon = {{ catch_up = "late"; }};
{extra}
channels = ( {channel} );
schools = (
{schools}
);
rules = (
  {{ name = "bench"; event = "notification";
    action = "A benchmark alert: nothing to do.";
    deadline = {{ working_days = 0; time = "16:30"; }};
    alerts = [ "event" ];
    cancel_on = [ "cancelled" ]; }}
);
""")
        self.env = dict(os.environ,
                        STATE_DIRECTORY=os.path.join(self.dir, "state"),
                        RUNTIME_DIRECTORY=os.path.join(self.dir, "run"))
        self.env.pop("NOTIFY_SOCKET", None)
        self.daemon = None
        self.workers = []

    def bin(self, name):
        return os.path.join(self.args.build, name)

    def seed(self, at, count, rate=0, fixed=0):
        """count alerts dealt round the first self.nschools schools; with
        `fixed`, that many more for school self.fixed_urn."""
        cmd = [self.bin("bench/bench-seed"), "-c", self.conf, "-s", self.db,
               "--rule", "bench", "--at", str(at), "--count", str(count),
               "--schools", str(self.nschools)]
        if rate:
            cmd += ["--rate", str(rate)]
        if fixed:
            cmd += ["--fixed", str(fixed)]
        subprocess.run(cmd, check=True)

    def start_daemon(self):
        """Starts the scheduler; returns seconds from exec to READY=1."""
        sock_path = os.path.join(self.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(60)
        env = dict(self.env, NOTIFY_SOCKET=sock_path)
        t0 = time.monotonic()
        self.daemon = subprocess.Popen(
            [self.bin("daemon/ofsted-notifyd"), "-c", self.conf], env=env,
            stderr=open(os.path.join(self.dir, "daemon.log"), "w"))
        try:
            while True:
                msg = sock.recv(4096).decode()
                if "READY=1" in msg.split("\n"):
                    return time.monotonic() - t0
        finally:
            sock.close()

    def start_workers(self, kind, n):
        for i in range(n):
            self.workers.append(subprocess.Popen(
                [self.bin("workers/ofsted-notify-worker"), "--kind", kind,
                 "-c", self.conf], env=self.env,
                stderr=open(os.path.join(self.dir, f"{kind}{i}.log"), "w")))
        wait_for("the workers to register",
                 lambda: self.connected(kind) == n, 10, 0.1)

    def ctl(self, *argv):
        out = subprocess.run([self.bin("ctl/ofsted-notifyctl"), "-c",
                              self.conf, *argv], env=self.env,
                             capture_output=True, text=True, check=True)
        return out.stdout

    def connected(self, kind):
        try:
            st = json.loads(self.ctl("status", "--json"))
        except subprocess.CalledProcessError:
            return -1
        return st.get("workers", {}).get(kind, 0)

    def pids(self):
        return [self.daemon.pid] + [w.pid for w in self.workers]

    def cpu(self):
        return sum(cpu_s(p) for p in self.pids())

    def peak_kib(self):
        return sum(status_kib(p, "VmHWM") for p in self.pids())

    def delivered(self, db):
        return db.execute("SELECT count(*) FROM deliveries "
                          "WHERE status = 'delivered'").fetchone()[0]

    def reader(self):
        return sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)

    def deliver(self, at, kind, nworkers, n, timeout, step, what="deliveries"):
        """Starts the daemon and `nworkers` workers of `kind`, sleeps until
        `at` and waits for `n` deliveries delivered; returns the read-only
        connection it watched them through, for the caller to close."""
        self.start_daemon()
        self.start_workers(kind, nworkers)
        until_due(at)
        db = self.reader()
        wait_for(f"{n} {what}", lambda: self.delivered(db) >= n, timeout,
                 step)
        return db

    def stop(self):
        for p in self.workers + [self.daemon]:
            if p is not None:
                p.terminate()
        for p in self.workers + [self.daemon]:
            if p is not None:
                p.wait(timeout=30)
        self.workers = []
        self.daemon = None


def webhook_channel(nginx, name="sink"):
    return (f'{{ name = "{name}"; type = "webhook"; '
            f'url = "http://127.0.0.1:{nginx.port}/hook/{name}"; '
            f'secret_file = "sink.key"; }}')


def first_requests(nginx, keys):
    """The nginx time of the first request of each delivery in `keys`."""
    first = {}
    for t, _, k in nginx.records("/hook"):
        if k in keys and k not in first:
            first[k] = t
    return first


def until_due(at):
    """Sleeps until just before `at` (UTC seconds)."""
    left = at - time.time()
    if left < 0.2:
        raise RuntimeError("the set-up took longer than planned: the alerts "
                           "fell due before everything was ready")
    time.sleep(left - 0.1)


def flavour_setup(nginx, flavour, n):
    """Ours' keyword arguments for n deliveries through `flavour`, the
    path prefix its requests reach nginx at, and the seconds its start
    takes beyond the usual. An sms channel is one number, paced at one
    message a second (daemon/dispatch_jobs.c), so sms has n schools, each
    with a channel of its own and one alert, and webhook-each the same
    with webhooks. On 5,000 channels either way the scheduler takes about
    1.5 s to start and the workers 2.5 s on a quiet machine, and several
    times that on a busy one: hence the seconds allowed."""
    base = f"http://127.0.0.1:{nginx.port}"
    if flavour == "webhook":
        return dict(channel=webhook_channel(nginx)), "/hook", 0
    if flavour == "ntfy":
        return dict(channel=f'{{ name = "sink"; type = "ntfy"; '
                    f'url = "{base}/ntfy/bench"; }}'), "/ntfy", 0
    if flavour == "pushover":
        return dict(channel=f'{{ name = "sink"; type = "pushover"; '
                    f'url = "{base}/pushover"; '
                    f'token_file = "pushover.token"; '
                    f'user_key_file = "pushover.user"; }}'), "/pushover", 0
    if flavour == "webhook-each":
        chans = ",\n".join(webhook_channel(nginx, f"sink{i}")
                            for i in range(n))
        return dict(channel=chans, names=[f"sink{i}" for i in range(n)],
                    per_school=True, schools=n), "/hook", n // 500
    if flavour == "sms":
        chans = ",\n".join(
            f'  {{ name = "sms{i}"; type = "sms"; profile = "twilio"; '
            f'url = "{base}/twilio"; '
            f'account = "AC{"0123456789abcdef" * 2}"; '
            f'from = "+447700900000"; to = [ "+4477009{i:05d}" ]; '
            f'token_file = "twilio.token"; }}' for i in range(n))
        return dict(channel=chans, names=[f"sms{i}" for i in range(n)],
                    per_school=True, schools=n), "/twilio", n // 250
    raise ValueError(f"no flavour '{flavour}'")


def burst(args, work, nginx, n, nworkers, name, flavour="webhook"):
    """n alerts due at one instant, delivered through `flavour`
    (flavour_setup); deliveries/s until the last is committed as
    delivered."""
    kw, prefix, setup_s = flavour_setup(nginx, flavour, n)
    ours = Ours(args, work, name, **kw)
    since = nginx.mark()
    at = int(time.time()) + 4 + n // 40000 + setup_s
    ours.seed(at, n)
    try:
        ours.start_daemon()
        ours.start_workers("webhook", nworkers)
        until_due(at)
        cpu0 = ours.cpu()
        db = ours.reader()
        wait_for(f"{n} deliveries", lambda: ours.delivered(db) >= n,
                 120 + n / 200, 0.01)
        end = time.time()
        cpu = ours.cpu() - cpu0
        peak = ours.peak_kib()
        db.close()
    finally:
        ours.stop()
    got = nginx.records(prefix, since)
    keys = {k for _, _, k in got}
    secs = end - at
    return {"n": n, "workers": nworkers, "seconds": round(secs, 3),
            "per_s": round(n / secs), "cpu_ms_per": round(cpu * 1000 / n, 4),
            "peak_rss_mib": round(peak / 1024, 1),
            "received": len(got), "distinct": len(keys),
            "body_bytes": statistics.median(l for _, l, _ in got)
            if got else 0}


def burst_median(args, work, nginx, n, nworkers, name, runs,
                 flavour="webhook"):
    """burst() `runs` times; the run of median throughput, with the range
    of all of them (a run on a shared 2-core machine varies by 10-15 %)."""
    got = sorted((burst(args, work, nginx, n, nworkers, f"{name}-{i}",
                        flavour)
                  for i in range(runs)), key=lambda r: r["per_s"])
    med = dict(got[len(got) // 2])
    med["runs"] = runs
    med["per_s_range"] = [got[0]["per_s"], got[-1]["per_s"]]
    med["cpu_ms_range"] = [min(r["cpu_ms_per"] for r in got),
                           max(r["cpu_ms_per"] for r in got)]
    return med


FLAVOURS = ("webhook", "ntfy", "pushover", "sms", "webhook-each")


def flavours(args, work, nginx, n, runs):
    """burst_median() of n deliveries through each flavour, 2 workers;
    "webhook-each" is the webhook in sms' shape (n schools, a channel
    each), so that sms is also set beside the same shape."""
    out = {"n": n, "runs": runs, "load_before": loadavg()}
    for f in FLAVOURS:
        log(f"flavours: {n:,} deliveries through {f}")
        out[f] = burst_median(args, work, nginx, n, 2, f"flav-{f}", runs, f)
    out["load_after"] = loadavg()
    return out


def wrk(args, url, script=None):
    """wrk -t2 -c64 against `url` for --wrk-seconds: requests/s and p99."""
    cmd = ["wrk", "-t2", "-c64", f"-d{args.wrk_seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True,
                         check=True).stdout
    rps = p99 = None
    errors = total = 0
    for line in out.splitlines():
        if "requests in" in line:
            total = int(line.split()[0])
        if line.startswith("Requests/sec:"):
            rps = float(line.split()[1])
        if line.strip().startswith("99%"):
            p99 = line.split()[1]
        if line.strip().startswith("Non-2xx or 3xx responses:"):
            errors = int(line.split()[-1])
    if errors:
        raise RuntimeError(f"wrk {url}: {errors} responses not 2xx")
    return {"per_s": round(rps), "p99": p99, "requests": total}


def run_wrk(args, work, nginx, body_bytes):
    script = os.path.join(work, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.body = string.rep("x", {int(body_bytes)})\n')
    return wrk(args, f"http://127.0.0.1:{nginx.port}/wrk", script)


def alertmanager(args, work, nginx, n):
    d = os.path.join(work, "alertmanager")
    os.makedirs(d)
    port = free_port()
    conf = os.path.join(d, "alertmanager.yml")
    with open(conf, "w") as f:
        f.write(f"""route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 24h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:{nginx.port}/am
        send_resolved: false
""")
    proc = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={conf}",
         f"--storage.path={d}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "log"), "w"))
    base = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return urllib.request.urlopen(base + "/-/ready").status == 200
        except OSError:
            return False

    try:
        wait_for("alertmanager", ready, 20, 0.1)
        batches = []
        for b in range(0, n, 1000):
            alerts = [{"labels": {"alertname": "deadline", "school":
                                  str(200000 + i % NSCHOOLS), "id": str(i)},
                       "annotations": {"summary": "benchmark"}}
                      for i in range(b, min(n, b + 1000))]
            batches.append(json.dumps(alerts).encode())
        cpu0 = cpu_s(proc.pid)
        t0 = time.time()
        for body in batches:
            req = urllib.request.Request(
                base + "/api/v2/alerts", data=body,
                headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req).read()
        wait_for(f"{n} notifications",
                 lambda: len(nginx.records("/am")) >= n, 120, 0.2)
        got = nginx.records("/am")
        last = max(t for t, _, _ in got)
        cpu = cpu_s(proc.pid) - cpu0
        peak = status_kib(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait()
    secs = last - t0
    return {"n": n, "seconds": round(secs, 3), "per_s": round(n / secs),
            "cpu_ms_per": round(cpu * 1000 / n, 4),
            "peak_rss_mib": round(peak / 1024, 1)}


def latency(args, work, nginx, rate, seconds):
    ours = Ours(args, work, "latency", webhook_channel(nginx))
    n = rate * seconds
    at = int(time.time()) + 4
    ours.seed(at, n, rate)
    try:
        db = ours.deliver(at, "webhook", 2, n, seconds + 60, 0.05)
        due = dict(db.execute("SELECT d.uid, a.at FROM deliveries AS d "
                              "JOIN alerts AS a ON a.id = d.alert_id"))
        db.close()
    finally:
        ours.stop()
    first = first_requests(nginx, due)
    lat = [(t - due[k]) * 1000 for k, t in first.items()]
    # The first delivery of each due instant (second), from that second.
    by_instant = {}
    for k, t in first.items():
        by_instant[due[k]] = min(t, by_instant.get(due[k], t))
    firsts = [(t - at) * 1000 for at, t in by_instant.items()]
    return {"rate": rate, "n": n, "measured": len(lat),
            "min_ms": round(min(lat), 2),
            "p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2),
            "max_ms": round(max(lat), 2),
            "instants": len(firsts),
            "first_min_ms": round(min(firsts), 2),
            "first_p50_ms": round(statistics.median(firsts), 2),
            "first_max_ms": round(max(firsts), 2)}


def wave(args, work, nginx, name):
    """A trust's reminder: WAVE_SCHOOLS schools, one alert each, due at one
    instant, each school with WAVE_CHANNELS webhook channels, so
    WAVE_SCHOOLS * WAVE_CHANNELS deliveries due at once. From the due
    second to the first request nginx logs for it, and to the last
    delivery's first request."""
    names = [f"sink{i + 1}" for i in range(WAVE_CHANNELS)]
    ours = Ours(args, work, name,
                ", ".join(webhook_channel(nginx, c) for c in names),
                schools=WAVE_SCHOOLS, names=names)
    n = WAVE_SCHOOLS * WAVE_CHANNELS
    at = int(time.time()) + 4
    ours.seed(at, WAVE_SCHOOLS)
    try:
        db = ours.deliver(at, "webhook", 2, n, 60, 0.02)
        keys = {k for (k,) in db.execute("SELECT uid FROM deliveries")}
        db.close()
    finally:
        ours.stop()
    first = first_requests(nginx, keys)
    if len(keys) != n or len(first) != n:
        raise RuntimeError(f"wave: {len(keys)} deliveries, {len(first)} "
                           f"seen by nginx, for {n}")
    return {"schools": WAVE_SCHOOLS, "channels": WAVE_CHANNELS, "n": n,
            "first_ms": round((min(first.values()) - at) * 1000, 2),
            "last_ms": round((max(first.values()) - at) * 1000, 2)}


def wave_median(args, work, nginx, runs):
    """wave() `runs` times; the run of median time to the last delivery,
    with the range of both figures."""
    got = sorted((wave(args, work, nginx, f"wave-{i}") for i in range(runs)),
                 key=lambda r: r["last_ms"])
    med = dict(got[len(got) // 2])
    med["runs"] = runs
    med["first_range"] = [min(r["first_ms"] for r in got),
                          max(r["first_ms"] for r in got)]
    med["last_range"] = [got[0]["last_ms"], got[-1]["last_ms"]]
    return med


def scale(args, work, nginx, n):
    ours = Ours(args, work, f"scale{n}", webhook_channel(nginx))
    ours.seed(int(time.time()) + 30 * 86400, n, fixed=FIXED)

    def median_ms(*argv):
        times = []
        for _ in range(5):
            t0 = time.monotonic()
            ours.ctl(*argv)
            times.append(time.monotonic() - t0)
        return statistics.median(times) * 1000

    try:
        ready = ours.start_daemon()
        rss = status_kib(ours.daemon.pid, "VmRSS")
        # School 200000 holds a hundredth of the pending alerts: its answer
        # grows with n. The fixed school holds FIXED at every size.
        upcoming_ms = median_ms("upcoming", "--school", "200000", "--json")
        fixed_ms = median_ms("upcoming", "--school", ours.fixed_urn, "--json")
        times = []
        for urn in ours.free_urns:
            t0 = time.monotonic()
            ours.ctl("notify", "--school", urn)
            times.append(time.monotonic() - t0)
        notify_ms = statistics.median(times) * 1000
        rss_after = status_kib(ours.daemon.pid, "VmRSS")
    finally:
        ours.stop()
    return {"pending": n, "ready_s": round(ready, 3),
            "rss_mib": round(max(rss, rss_after) / 1024, 1),
            "upcoming_ms": round(upcoming_ms, 1),
            "upcoming_rows": n // NSCHOOLS,
            "upcoming_fixed_ms": round(fixed_ms, 1),
            "upcoming_fixed_rows": FIXED,
            "notify_ms": round(notify_ms, 2)}


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def timed_get(port, path, token):
    """One GET on a new connection: (status, seconds to the first byte of
    the reply, seconds to its last, body bytes), from before the
    connect."""
    req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
           ).encode()
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(req)
        chunks = [s.recv(1 << 16)]
        first = time.perf_counter()
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            chunks.append(b)
        last = time.perf_counter()
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), first - t0, last - t0, body


def api(args, work, nginx, runs):
    """ofsted-notify-web in front of a scheduler of a 500-school trust: GET
    /api/v1/schools by wrk (one school's token, and the trust's), beside
    nginx serving the same bytes; time to first byte and total for the
    trust's 500 schools; the web process's peak RSS. 450 of the schools
    have an open case with 4 pending alerts, 50 have none."""
    nsch = WAVE_SCHOOLS
    cases = nsch - NFREE  # the rest (NFREE) have none
    port = free_port()
    ours = Ours(args, work, "api", webhook_channel(nginx),
                extra=f'web = {{ listen = "127.0.0.1:{port}"; '
                f'base_url = "https://alerts.bench.example"; '
                f'pages = "{os.path.join(ROOT, "web", "pages")}"; }};',
                schools=cases - 1)
    ours.seed(int(time.time()) + 30 * 86400, (cases - 1) * 4, fixed=4)
    web = None
    load = [loadavg()]
    try:
        ours.start_daemon()
        trust = ours.ctl("token", "create", "trust", "--role", "trust").strip()
        school = ours.ctl("token", "create", "head", "--role", "school",
                          "--school", "200000").strip()
        web = subprocess.Popen(
            [ours.bin("web/ofsted-notify-web"), "-c", ours.conf],
            env=ours.env, stderr=open(os.path.join(ours.dir, "web.log"), "w"))

        def healthy():
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    return json.load(r).get("daemon") is True
            except OSError:
                return False

        wait_for("ofsted-notify-web", healthy, 10, 0.05)
        path = "/api/v1/schools"
        res = {"schools": nsch, "cases": cases, "pending": cases * 4}
        for who, token in (("school", school), ("trust", trust)):
            status, _, _, body = timed_get(port, path, token)
            got = json.loads(body)["schools"]
            want = 1 if who == "school" else nsch
            if status != 200 or len(got) != want or got[0]["case"] is None:
                raise RuntimeError(f"api: {who}: {status}, {len(got)} "
                                   f"schools for {want}")
            script = os.path.join(work, f"api-{who}.lua")
            with open(script, "w") as f:
                f.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
            pids = (web.pid, ours.daemon.pid)
            cpu0 = [cpu_s(p) for p in pids]
            got = wrk(args, f"http://127.0.0.1:{port}{path}", script)
            cpu = [cpu_s(p) - c for p, c in zip(pids, cpu0)]
            got["body_bytes"] = len(body)
            # CPU per request, which the neighbours' load hardly changes.
            got["web_cpu_ms"] = round(cpu[0] * 1000 / got["requests"], 4)
            got["daemon_cpu_ms"] = round(cpu[1] * 1000 / got["requests"], 4)
            res[f"wrk_{who}"] = got
            res[f"nginx_{who}"] = wrk(
                args, nginx.serve_file(f"schools-{who}.json", body))
            load.append(loadavg())
        ttfb, total = [], []
        for _ in range(runs):
            status, first, last, body = timed_get(port, path, trust)
            if status != 200:
                raise RuntimeError(f"api: GET {path}: {status}")
            ttfb.append(first * 1000)
            total.append(last * 1000)
        load.append(loadavg())
        res.update({
            "runs": runs, "body_bytes": len(body),
            "ttfb_p50_ms": round(statistics.median(ttfb), 2),
            "ttfb_p99_ms": round(pct(ttfb, 99), 2),
            "total_p50_ms": round(statistics.median(total), 2),
            "total_p99_ms": round(pct(total, 99), 2),
            "rss_mib": round(status_kib(web.pid, "VmRSS") / 1024, 1),
            "peak_rss_mib": round(status_kib(web.pid, "VmHWM") / 1024, 1),
            "loadavg": load})
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        ours.stop()
    return res


def email(args, work, n, auth="none"):
    """n emails through one worker to smtpsink; with auth "none" also msmtp
    on the same messages. "password" signs in with AUTH PLAIN, "oauth2"
    with XOAUTH2 and a token from oauthsink.py (a client secret at a token
    endpoint on loopback), to compare the two."""
    smtp_dir = os.path.join(work, "smtp-" + auth)
    spool = os.path.join(smtp_dir, "spool")
    os.makedirs(spool)
    port_file = os.path.join(smtp_dir, "port")
    user = "alerts@trust.example"
    sink_args, auth_conf, oauth = [], "", None
    if auth == "password":
        with open(os.path.join(smtp_dir, "pw"), "w") as f:
            f.write("bench password\n")
        os.chmod(os.path.join(smtp_dir, "pw"), 0o600)
        sink_args = ["--auth-user", user, "--auth-password", "bench password"]
        auth_conf = (f' username = "{user}";'
                     f' password_file = "{os.path.join(smtp_dir, "pw")}";')
    elif auth == "oauth2":
        secret = os.path.join(smtp_dir, "secret")
        with open(secret, "w") as f:
            f.write("bench-client-secret\n")
        os.chmod(secret, 0o600)
        state = os.path.join(smtp_dir, "oauth.json")
        oport = os.path.join(smtp_dir, "oauth.port")
        oauth = subprocess.Popen(
            ["/usr/bin/python3",
             os.path.join(ROOT, "tests", "integration", "oauthsink.py"),
             "--port-file", oport, "--state", state, "--client-id", "bench",
             "--client-secret-file", secret],
            stderr=open(os.path.join(smtp_dir, "oauth.log"), "w"))
        wait_for("the token endpoint", lambda: os.path.exists(oport) and
                 os.path.getsize(oport) > 0, 10, 0.05)
        url = (f"http://127.0.0.1:{int(open(oport).read())}"
               "/bench/oauth2/v2.0/token")
        sink_args = ["--auth-user", user, "--auth-token-file", state]
        auth_conf = (f' oauth2 = {{ provider = "microsoft"; client_id = '
                     f'"bench"; client_secret_file = "{secret}"; token_url = '
                     f'"{url}"; }};')
    sink = subprocess.Popen(
        ["/usr/bin/python3",
         os.path.join(ROOT, "tests", "integration", "smtpsink.py"), "--quiet",
         "--port-file", port_file, "--spool", spool] + sink_args,
        stderr=open(os.path.join(smtp_dir, "log"), "w"))
    try:
        wait_for("the SMTP sink", lambda: os.path.exists(port_file) and
                 os.path.getsize(port_file) > 0, 10, 0.05)
        port = int(open(port_file).read())
        extra = (f'email = {{ smtp = "smtp://127.0.0.1:{port}"; tls = "none";'
                 f' from = "Alerts <alerts@trust.example>";{auth_conf} }};')
        ours = Ours(args, work, "email-" + auth, '{ name = "sink"; '
                    'type = "email"; to = [ "head@school.example" ]; }', extra)
        at = int(time.time()) + 4
        ours.seed(at, n)
        try:
            db = ours.deliver(at, "email", 1, n, 300, 0.02, "emails")
            secs = time.time() - at
            db.close()
        finally:
            ours.stop()
        ours_rate = n / secs
        if auth != "none":
            return {"n": n, "auth": auth, "ours_per_s": round(ours_rate)}
        # msmtp: the same messages, one process each, as many at once as
        # there are cores.
        msgs = sorted(os.listdir(spool))[:n]
        t0 = time.monotonic()
        running = []
        for m in msgs:
            with open(os.path.join(spool, m), "rb") as f:
                running.append(subprocess.Popen(
                    ["msmtp", "--host=127.0.0.1", f"--port={port}",
                     "--auth=off", "--tls=off",
                     "--from=alerts@trust.example", "head@school.example"],
                    stdin=f, stdout=subprocess.DEVNULL))
            if len(running) >= os.cpu_count():
                running.pop(0).wait()
        for p in running:
            p.wait()
        msmtp_secs = time.monotonic() - t0
    finally:
        sink.terminate()
        sink.wait()
        if oauth is not None:
            oauth.terminate()
            oauth.wait()
    return {"n": n, "ours_per_s": round(ours_rate),
            "msmtp_per_s": round(len(msgs) / msmtp_secs),
            "ratio": round(ours_rate / (len(msgs) / msmtp_secs), 1)}


def write_json(path, figures):
    with open(path, "w") as f:
        json.dump(figures, f, indent=2)
        f.write("\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", required=True)
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--quick", action="store_true",
                   help="small sizes, to check the script itself")
    p.add_argument("--wrk-seconds", type=int, default=10)
    p.add_argument("--keep", action="store_true",
                   help="keep the working directory, for its logs")
    p.add_argument("--flavours", action="store_true",
                   help="the flavours step alone; with --json, its figures "
                   "replace those of the file's last flavours step")
    p.add_argument("--api", action="store_true",
                   help="the API step alone; with --json, its figures "
                   "replace those of the file's last API step")
    args = p.parse_args()
    args.build = os.path.abspath(args.build)
    big = 10000 if args.quick else 100000
    runs = 1 if args.quick else 3
    scales = (1000, 10000) if args.quick else (10000, 100000, 1000000)
    work = tempfile.mkdtemp(prefix="ofsted-notify-bench.")
    res = {"date": time.strftime("%Y-%m-%d %H:%M %Z"),
           "cpus": os.cpu_count(), "machine": os.uname().machine}
    nginx = Nginx(work)
    nflav = 500 if args.quick else 5000
    alone = None
    if args.flavours:
        alone = ("flavours", lambda: flavours(args, work, nginx, nflav, runs),
                 flavour_rows)
    elif args.api:
        alone = ("api", lambda: api(args, work, nginx,
                                    50 if args.quick else 500), api_rows)
    try:
        if alone is not None:
            key, step, rows = alone
            if key == "api":
                log("api: ofsted-notify-web, a trust of 500 schools")
            res[key] = step()
        else:
            log("burst: 10,000 alerts, 2 workers")
            res["burst"] = burst_median(args, work, nginx, 10000, 2, "burst2",
                                        runs)
            log("burst: 10,000 alerts, 1 worker")
            res["burst1"] = burst_median(args, work, nginx, 10000, 1, "burst1",
                                         runs)
            log(f"burst: {big:,} alerts, 2 workers")
            res["burst_big"] = burst(args, work, nginx, big, 2, "burstbig")
            log("wrk")
            res["wrk"] = run_wrk(args, work, nginx, res["burst"]["body_bytes"])
            log("alertmanager: 10,000 alerts")
            res["alertmanager"] = alertmanager(args, work, nginx, 10000)
            log(f"latency: a wave of {WAVE_SCHOOLS * WAVE_CHANNELS:,} "
                f"deliveries due at one instant")
            res["wave"] = wave_median(args, work, nginx, runs)
            log("latency: 1,000 alerts/s for 10 s")
            res["latency"] = latency(args, work, nginx, 1000, 10)
            res["scale"] = []
            for n in scales:
                log(f"scale: {n:,} pending alerts")
                res["scale"].append(scale(args, work, nginx, n))
            log("email: 1,000 messages")
            res["email"] = email(args, work, 1000)
            for auth in ("password", "oauth2"):
                log(f"email: 1,000 messages, AUTH by {auth}")
                res["email_" + auth] = email(args, work, 1000, auth)
            log("api: ofsted-notify-web, a trust of 500 schools")
            res["api"] = api(args, work, nginx, 50 if args.quick else 500)
            res["flavours"] = flavours(args, work, nginx, nflav, runs)
    finally:
        nginx.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if alone is not None:
        # One step alone: its figures replace the file's last ones.
        if args.json:
            with open(args.json) as f:
                old = json.load(f)
            old[key] = dict(res[key], date=res["date"])
            write_json(args.json, old)
        print("\n".join(rows(res[key])))
        return
    if args.json:
        write_json(args.json, res)
    print(table(res))


def table(r):
    b, w, am = r["burst"], r["wrk"], r["alertmanager"]
    lines = [
        f"ofsted-notify benchmarks, {r['date']}, {r['cpus']} CPUs "
        f"({r['machine']})",
        "",
        "| measure | result | target |",
        "|---|---|---|",
    ]

    def row(m, v, t=""):
        lines.append(f"| {m} | {v} | {t} |")

    for k in ("burst", "burst1", "burst_big"):
        x = r[k]
        spread = ""
        if x.get("runs", 1) > 1:
            lo, hi = x["per_s_range"]
            clo, chi = x["cpu_ms_range"]
            spread = (f"; median of {x['runs']} runs "
                      f"({lo:,}–{hi:,}/s, {clo}–{chi} ms)")
        row(f"burst: {x['n']:,} alerts, {x['workers']} worker(s)",
            f"{x['per_s']:,} deliveries/s ({x['seconds']} s), "
            f"{x['cpu_ms_per']} ms CPU each, peak RSS {x['peak_rss_mib']} MiB,"
            f" {x['received'] - x['distinct']} duplicates{spread}")
    row("wrk, same nginx, same body size",
        f"{w['per_s']:,} requests/s (p99 {w['p99']})")
    row("ours / wrk (10,000, 2 workers)", f"{b['per_s'] / w['per_s']:.2f}",
        "≥ 0.50")
    row("Alertmanager, 10,000 single-alert groups",
        f"{am['per_s']:,} notifications/s, {am['cpu_ms_per']} ms CPU each, "
        f"peak RSS {am['peak_rss_mib']} MiB")
    row("ours / Alertmanager", f"{b['per_s'] / am['per_s']:.1f}", "≥ 4")
    row("CPU per delivery (scheduler + workers)", f"{b['cpu_ms_per']} ms",
        "≤ 0.05 ms")
    row("peak RSS, all our processes", f"{b['peak_rss_mib']} MiB", "≤ 64 MiB")
    lat, wv = r["latency"], r["wave"]
    row("latency: first delivery after a due instant (the pipeline's own "
        "delay): min / median / max",
        f"{lat['first_min_ms']} / {lat['first_p50_ms']} / "
        f"{lat['first_max_ms']} ms over {lat['instants']} instants of "
        f"{lat['rate']:,} alerts; {wv['first_ms']} ms in the "
        f"{wv['n']:,}-delivery wave")
    spread = ""
    if wv.get("runs", 1) > 1:
        spread = (f"; median of {wv['runs']} runs "
                  f"({wv['last_range'][0]}–{wv['last_range'][1]} ms, "
                  f"first {wv['first_range'][0]}–{wv['first_range'][1]} ms)")
    row(f"latency: last delivery of a wave of {wv['n']:,} due at one instant "
        f"({wv['schools']} schools × {wv['channels']} channels)",
        f"{wv['last_ms']} ms after the due second{spread}")
    row(f"latency at {lat['rate']:,} alerts/s: min / p50 / p99 / max "
        f"(each second's {lat['rate']:,} fall due at one instant: p99 is that "
        f"burst's drain time, not the pipeline's delay)",
        f"{lat['min_ms']} / {lat['p50_ms']} / {lat['p99_ms']} / "
        f"{lat['max_ms']} ms ({lat['measured']:,} alerts)", "p99 ≤ 10 ms")
    prev = None
    for s in r["scale"]:
        growth = (f", ×{s['notify_ms'] / prev['notify_ms']:.2f} notify"
                  if prev else "")
        row(f"scale: {s['pending']:,} pending",
            f"READY in {s['ready_s']} s, RSS {s['rss_mib']} MiB, notify "
            f"{s['notify_ms']} ms{growth}",
            "READY ≤ 1 s, RSS ≤ 64 MiB, ≤ ×2 per 10×")
        prev = s
    prev = None
    for s in r["scale"]:
        growth = (f", ×{s['upcoming_fixed_ms'] / prev['upcoming_fixed_ms']:.2f}"
                  if prev else "")
        row(f"scale: {s['pending']:,} pending, upcoming --school, a school "
            f"of {s['upcoming_fixed_rows']} pending alerts (flat per-school "
            f"read)", f"{s['upcoming_fixed_ms']} ms{growth}",
            "≤ ×2 per 10×")
        prev = s
    for s in r["scale"]:
        row(f"scale: {s['pending']:,} pending, upcoming --school, a school "
            f"of a hundredth of them ({s['upcoming_rows']:,} rows: grows with "
            f"its answer)", f"{s['upcoming_ms']} ms")
    e = r["email"]
    row(f"email: {e['n']:,} messages",
        f"{e['ours_per_s']:,}/s against msmtp's {e['msmtp_per_s']:,}/s: "
        f"×{e['ratio']}", "≥ ×10")
    if "email_password" in r and "email_oauth2" in r:
        pw, oa = r["email_password"], r["email_oauth2"]
        row(f"email: {oa['n']:,} messages, AUTH PLAIN / XOAUTH2 (email.oauth2)",
            f"{pw['ours_per_s']:,}/s / {oa['ours_per_s']:,}/s: "
            f"{100 * (oa['ours_per_s'] - pw['ours_per_s']) / pw['ours_per_s']:+.0f}%",
            "within 10%")
    if "api" in r:
        lines += api_rows(r["api"])[2:]
    if "flavours" in r:
        lines += [""] + flavour_rows(r["flavours"])
    return "\n".join(lines)


def flavour_rows(fl):
    """The flavours step's table: each flavour's burst beside the generic
    webhook's (sms also beside the webhook in its own shape)."""
    lines = [f"Flavours: {fl['n']:,} deliveries due at one instant, 2 "
             f"workers, median of {fl['runs']} run(s); load average "
             f"{fl['load_before'][0]:.2f} before, "
             f"{fl['load_after'][0]:.2f} after",
             "",
             "| flavour | deliveries/s | CPU ms per delivery (range) | "
             "ratio to webhook | target |",
             "|---|---|---|---|---|"]
    base = fl["webhook"]["cpu_ms_per"]
    for f in FLAVOURS:
        x = fl[f]
        lo, hi = x["cpu_ms_range"]
        ratio = f"{x['cpu_ms_per'] / base:.2f}"
        if f == "sms":
            ratio += (f" (×{x['cpu_ms_per'] / fl['webhook-each']['cpu_ms_per']:.2f}"
                      " to webhook-each)")
        lines.append(f"| {f} | {x['per_s']:,} | {x['cpu_ms_per']} "
                     f"({lo}–{hi}) | {ratio} | "
                     f"{'' if f.startswith('webhook') else '≤ 1.2'} |")
    return lines


def api_rows(a):
    """The API step's rows of the table, after its header."""
    lines = ["| measure | result | target |", "|---|---|---|"]

    def row(m, v, t=""):
        lines.append(f"| {m} | {v} | {t} |")

    for who, what in (("school", "one school's token: 1 school"),
                      ("trust", f"the trust's token: {a['schools']} schools")):
        w, n = a[f"wrk_{who}"], a[f"nginx_{who}"]
        row(f"API: GET /api/v1/schools, {what} ({w['body_bytes']:,} bytes), "
            f"wrk -t2 -c64",
            f"{w['per_s']:,} requests/s (p99 {w['p99']}), CPU "
            f"{w['web_cpu_ms']} ms web + {w['daemon_cpu_ms']} ms scheduler "
            f"each; nginx, the same bytes as a file: {n['per_s']:,}/s "
            f"(p99 {n['p99']})",
            "≥ 5,000/s")
    row(f"API: GET /api/v1/schools, {a['schools']} schools "
        f"({a['cases']} open cases, {a['pending']:,} pending alerts), "
        f"a new connection each, "
        f"{a['runs']} runs: first byte / whole reply, p50 / p99",
        f"{a['ttfb_p50_ms']} / {a['total_p50_ms']} ms; p99 "
        f"{a['ttfb_p99_ms']} / {a['total_p99_ms']} ms", "≤ 50 ms")
    row("API: ofsted-notify-web's peak RSS (VmHWM)",
        f"{a['peak_rss_mib']} MiB", "≤ 32 MiB")
    row("API: load average (1 min) before, after each wrk, at the end",
        " / ".join(f"{l[0]:.2f}" for l in a["loadavg"]))
    return lines


if __name__ == "__main__":
    main()
