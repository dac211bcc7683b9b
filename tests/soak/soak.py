#!/usr/bin/python3
"""ofsted-notify's soak test, run by tests/soak/run. See tests/soak/README.md.

A trust's day of inspection events (24 simulated hours by default), run
accelerated under libfaketime: the scheduler and its workers see the fake
clock, the sinks and this script keep real time. Workers are killed with
SIGKILL at random and restarted, the scheduler is restarted (SIGTERM, then
SIGKILL in a burst), sinks have outages. At the end, after draining, it
checks from the state database (read-only) and the sinks' logs that every
alert that came due was delivered (each delivery id received at least once,
counted once) or has a recorded reason (missed, cancelled, failed with an
error), and that the RSS and open fds of the long-lived processes stayed
flat. Prints a table, writes the figures as JSON; exits 1 when any check
fails. Python standard library only.
"""
import argparse
import collections
import datetime
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zoneinfo

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ZONE = zoneinfo.ZoneInfo("Europe/London")
CHAT_TYPES = ("teams", "google_chat", "slack", "discord", "mattermost",
              "webhook")
LATE_AFTER = 60  # daemon.late_after, the default
FROM = "Ofsted alerts <alerts@trust.example>"
# Flatness: after the first quarter (warm-up), the mean of the last
# quarter of the samples against the mean of the second quarter.
RSS_TOLERANCE = 0.10  # at most 10 % more ...
RSS_SLACK_KIB = 512  # ... and 512 KiB
FD_SLACK = 2.0  # at most 2 more open fds on average


def log(msg):
    print(f"soak: {msg}", file=sys.stderr, flush=True)


def libfaketime():
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        sys.exit("soak: libfaketime not found (Debian package 'faketime')")
    return found[0]


def local(day, hhmm, days=0, seconds=0):
    """UTC seconds of a local wall-clock time `days` after date `day`."""
    h, m = (int(x) for x in hhmm.split(":"))
    d = day + datetime.timedelta(days=days)
    t = datetime.datetime(d.year, d.month, d.day, h, m, tzinfo=ZONE)
    return int(t.timestamp()) + seconds


def iso(t):
    return datetime.datetime.fromtimestamp(t, ZONE).isoformat()


def human(t):
    return datetime.datetime.fromtimestamp(t, ZONE).strftime("%a %H:%M:%S")


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def open_fds(pid):
    """(open fds, of which sockets), or None when the process is gone."""
    d = f"/proc/{pid}/fd"
    try:
        names = os.listdir(d)
    except OSError:
        return None
    socks = 0
    for n in names:
        try:
            socks += os.readlink(os.path.join(d, n)).startswith("socket:")
        except OSError:
            pass
    return len(names), socks


def wait_for(what, pred, timeout, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(step)
    raise RuntimeError(f"timed out waiting for {what}")


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


class Clock:
    """The simulated clock: `start` (UTC seconds) when the script's clock
    was set, running `speed` times as fast as the real one."""

    def __init__(self, start, speed):
        self.start = start
        self.speed = speed
        self.real0 = time.monotonic()

    def now(self):
        return self.start + (time.monotonic() - self.real0) * self.speed

    def sleep_until(self, t):
        left = (t - self.now()) / self.speed
        if left > 0:
            time.sleep(left)

    def faked_env(self, env):
        """The environment for a process on the fake clock. libfaketime's
        "@start xN" starts each process's clock at `start` when the process
        starts, so start it on a whole second of ours: it then lags ours
        by its exec time (a few ms, under a simulated second)."""
        now = self.now()
        nxt = int(now) + 1
        time.sleep((nxt - now) / self.speed)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(nxt))
        return dict(env, LD_PRELOAD=libfaketime(), TZ="UTC",
                    FAKETIME=f"@{stamp} x{self.speed:g}")


class Proc:
    """One incarnation of one of our processes."""

    def __init__(self, role, n, popen, started_fake):
        self.role = role  # "daemon", "webhook0", "email1", ...
        self.n = n  # incarnation number of this role
        self.p = popen
        self.started = started_fake
        self.samples = []  # (fake t, rss KiB, fds, of which sockets)
        self.expected_end = None  # "kill", "term", or None (running)
        self.hwm = None

    @property
    def name(self):
        return f"{self.role}#{self.n}"

    def sample(self, t):
        rss, fds = status_kib(self.p.pid, "VmRSS"), open_fds(self.p.pid)
        if rss is not None and fds is not None:
            self.samples.append((t, rss, fds[0], fds[1]))
        hwm = status_kib(self.p.pid, "VmHWM")
        if hwm is not None:
            self.hwm = hwm


def drop_faketime_shm(pid):
    """libfaketime keeps a shared memory segment and a semaphore per
    process, removed at a normal exit; a SIGKILL leaves them behind, and a
    later process with the same pid would fail to start."""
    for path in (f"/dev/shm/faketime_shm_{pid}",
                 f"/dev/shm/sem.faketime_sem_{pid}"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = tempfile.mkdtemp(prefix="ofsted-notify-soak.")
        self.state = os.path.join(self.work, "state")
        self.run_dir = os.path.join(self.work, "run")
        self.logs = os.path.join(self.work, "logs")
        for d in (self.state, self.run_dir, self.logs):
            os.makedirs(d)
        self.conf = os.path.join(self.work, "soak.conf")
        self.db = os.path.join(self.state, "state.db")
        self.env = dict(os.environ, STATE_DIRECTORY=self.state,
                        RUNTIME_DIRECTORY=self.run_dir)
        for k in ("NOTIFY_SOCKET", "LD_PRELOAD", "FAKETIME"):
            self.env.pop(k, None)
        self.procs = []  # every incarnation, in start order
        self.live = {}  # role -> Proc
        self.incarnations = {}
        self.crashes = []
        self.kills = []
        self.daemon_restarts = []
        self.recorded = []  # (t, kind, urn, reply)
        self.refused = []
        self.ctl_failures = []
        self.monitor = {"ics": 0, "status": 0, "upcoming": 0, "failed": 0}
        self.outages = []
        self.reloads = 0

    # --- programs -----

    def bin(self, name):
        return os.path.join(self.args.build, name)

    def ctl(self, *argv, check=False, timeout=20):
        r = subprocess.run([self.bin("ctl/ofsted-notifyctl"), "-c",
                            self.conf, *argv], env=self.env,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"ofsted-notifyctl {' '.join(argv)}: "
                               f"{r.stderr.strip()}")
        return r

    def start_sinks(self):
        self.http_log = os.path.join(self.work, "http.jsonl")
        self.http_script = os.path.join(self.work, "http.script")
        port_file = os.path.join(self.work, "http.port")
        self.http_rules = {}
        # Chat services answer in about a second (simulated), so a burst
        # keeps the workers busy long enough for a kill to catch jobs.
        self.latency_ms = max(1, round(1000 / self.args.speed))
        self.set_http_rule("/gone/", f"status 410 delay {self.latency_ms} "
                           "body webhook deleted")
        self.set_http_rule("/", f"delay {self.latency_ms}")
        self.httpsink = subprocess.Popen(
            [self.bin("tests/integration/httpsink"), "--port-file",
             port_file, "--log", self.http_log, "--script",
             self.http_script],
            stderr=open(os.path.join(self.logs, "httpsink.log"), "w"))
        wait_for("the HTTP sink", lambda: os.path.exists(port_file), 10)
        self.http_port = int(open(port_file).read())

        self.spool = os.path.join(self.work, "spool")
        os.makedirs(self.spool)
        self.smtp_script = os.path.join(self.work, "smtp.script")
        self.smtp_rules = {}
        self.set_smtp_rule("hang", f"hang {0.35 / self.args.speed:.4f}")
        port_file = os.path.join(self.work, "smtp.port")
        self.smtpsink = subprocess.Popen(
            [sys.executable,
             os.path.join(ROOT, "tests", "integration", "smtpsink.py"),
             "--quiet", "--port-file", port_file, "--spool", self.spool,
             "--script", self.smtp_script],
            stderr=open(os.path.join(self.logs, "smtpsink.log"), "w"))
        wait_for("the SMTP sink", lambda: os.path.exists(port_file), 20)
        self.smtp_port = int(open(port_file).read())

    def set_http_rule(self, prefix, action):
        if action is None:
            self.http_rules.pop(prefix, None)
        else:
            self.http_rules[prefix] = action
        # The first rule that matches applies: the longest prefix first.
        write_atomic(self.http_script, "".join(
            f"{p} {a}\n" for p, a in sorted(self.http_rules.items(),
                                            key=lambda r: -len(r[0]))))

    def set_smtp_rule(self, key, line):
        if line is None:
            self.smtp_rules.pop(key, None)
        else:
            self.smtp_rules[key] = line
        write_atomic(self.smtp_script,
                     "".join(f"{v}\n" for _, v in
                             sorted(self.smtp_rules.items())))

    # --- the trust -----

    def write_config(self):
        a = self.args
        self.urns = [str(300001 + i) for i in range(a.schools)]
        self.school_channels = {}
        self.channel_path = {}  # webhook channel -> path prefix at the sink
        self.channel_to = {}  # email channel -> recipient
        channels = [
            '{ name = "leaders"; type = "teams"; '
            f'url = "http://127.0.0.1:{self.http_port}/teams/leaders"; }}',
            '{ name = "it"; type = "webhook"; secret_file = "it.key"; '
            f'url = "http://127.0.0.1:{self.http_port}/webhook/it"; }}',
        ]
        self.channel_path["leaders"] = "/teams/leaders"
        self.channel_path["it"] = "/webhook/it"
        with open(os.path.join(self.work, "it.key"), "w") as f:
            f.write("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" + "\n")
        os.chmod(os.path.join(self.work, "it.key"), 0o600)
        os.makedirs(os.path.join(self.work, "secrets"), mode=0o700)
        ngone = max(1, a.schools // 50)
        gone = set(self.rng.sample(self.urns, ngone))
        self.refused_rcpt = self.rng.choice(
            [u for u in self.urns if u not in gone])
        schools = []
        for i, urn in enumerate(self.urns):
            kind = CHAT_TYPES[i % len(CHAT_TYPES)]
            path = f"/gone/{urn}" if urn in gone else f"/{kind}/{urn}"
            url = f"http://127.0.0.1:{self.http_port}{path}"
            chat = f"chat-{urn}"
            self.channel_path[chat] = path
            extra = ""
            if kind == "webhook":
                extra = ' secret_file = "it.key";'
            if i % 2:
                # Half read their URL from a file, as an admin should.
                secret = os.path.join(self.work, "secrets", f"{urn}.url")
                with open(secret, "w") as f:
                    f.write(url + "\n")
                os.chmod(secret, 0o600)
                where = f'url_file = "secrets/{urn}.url";'
            else:
                where = f'url = "{url}";'
            channels.append(f'{{ name = "{chat}"; type = "{kind}"; {where}'
                            f'{extra} }}')
            to = f"head@s{urn}.school.example"
            self.channel_to[f"heads-{urn}"] = to
            channels.append(f'{{ name = "heads-{urn}"; type = "email"; '
                            f'to = [ "{to}" ]; }}')
            self.school_channels[urn] = [f"heads-{urn}", chat]
            schools.append(f'  {{ urn = "{urn}"; name = "Soak School {i}"; '
                           f'channels = [ "heads-{urn}", "{chat}" ]; }}')
        self.set_smtp_rule("rcpt", f"rcpt head@s{self.refused_rcpt}"
                           ".school.example 550")
        rules = open(os.path.join(ROOT, "config",
                                  "ofsted-notify.conf")).read()
        rules = rules[rules.index("rules = ("):]
        # The trust's leaders hear of every notification's cutoff and
        # every concern window, as in the example config's routing.
        rules = rules.replace(
            'alerts = [ "event", "-60m", "-30m", "deadline" ];',
            'alerts = [ "event", "-60m", "-30m", "deadline" ];\n'
            '    channels = [ "leaders" ];')
        rules = rules.replace(
            'alerts = [ "event", "opens", "-2h" ];',
            'alerts = [ "event", "opens", "-2h" ];\n'
            '    channels = [ "leaders" ];')
        shutil.copy(os.path.join(ROOT, "config", "bank-holidays.json"),
                    self.work)
        with open(self.conf, "w") as f:
            f.write(f"""# Written by tests/soak/soak.py.
trust = {{ name = "Soak Learning Trust"; timezone = "Europe/London";
          holidays = "bank-holidays.json"; }};
daemon = {{ catch_up = "late"; metrics = "metrics.prom"; }};
email = {{ smtp = "smtp://127.0.0.1:{self.smtp_port}"; tls = "none";
          from = "{FROM}"; connections = 4; }};
channels = (
  {(',' + chr(10) + '  ').join(channels)}
);
schools = (
{(',' + chr(10)).join(schools)}
);
{rules}""")
        self.ctl("check-config", check=True)
        self.gone = gone

    # --- the day's events ---------------------------------------------------

    def plan_events(self):
        """(t, kind, urn, at) in time order: `at` is the event's own time
        when it is recorded late (backdated), else None (recorded at t)."""
        rng, day = self.rng, self.day
        ev = []
        start, end = self.start, self.end

        def between(h1, h2, days=0):
            t1, t2 = local(day, h1, days), local(day, h2, days)
            return rng.randint(t1, t2)

        def today(t, kind, urn):
            if start + 60 <= t < end - 600:
                ev.append((t, kind, urn, None))

        # Cases begun before the day are recorded in its first minutes,
        # backdated, as an office catching up on last week's calls would:
        # their alerts that fell due before are recorded as missed, or sent
        # marked late while their deadline is ahead.
        prologue = start + 5

        def backdated(kind, urn, at):
            nonlocal prologue
            ev.append((prologue, kind, urn, at))
            prologue += 2

        self.scenarios = {}
        for urn in self.urns:
            r = rng.random()
            if r < 0.45:
                s = "notified today"
                t = between("09:30", "14:30")
                today(t, "notification", urn)
                r2 = rng.random()
                if r2 < 0.10:
                    s += ", deferred"
                    today(t + rng.randint(20, 120) * 60, "deferred", urn)
                elif r2 < 0.13:
                    s += ", cancelled"
                    today(t + rng.randint(10, 60) * 60, "cancelled", urn)
            elif r < 0.48:
                s = "notified after 16:30"
                today(between("16:40", "17:30"), "notification", urn)
            elif r < 0.63:
                s = "paused last week"
                backdated("notification", urn, between("09:45", "10:30", -5))
                backdated("pause", urn, between("13:00", "15:00", -4))
                if rng.random() < 0.7:
                    s += ", resumed"
                    t = between("09:05", "11:00")
                    today(t, "resume", urn)
                    if rng.random() < 0.8:
                        s += ", concluded"
                        today(between("14:00", "17:30"), "conclusion", urn)
            elif r < 0.69:
                s = "concluded, letter today"
                backdated("notification", urn, between("09:45", "10:30", -14))
                backdated("conclusion", urn, between("14:00", "16:00", -12))
                today(between("10:00", "16:00"), "draft_report", urn)
            elif r < 0.79:
                s = "notified last Friday"
                backdated("notification", urn, between("09:45", "11:00", -3))
                if rng.random() < 0.4:
                    s += ", paused"
                    today(between("11:00", "15:00"), "pause", urn)
                else:
                    s += ", concluded"
                    today(between("15:00", "17:30"), "conclusion", urn)
            else:
                s = "quiet"
            self.scenarios[urn] = s
        ev.sort(key=lambda e: e[0])
        return ev

    def plan_chaos(self):
        """Kills, restarts, outages, reloads and monitoring, as
        (t, action, arg)."""
        a, rng, day = self.args, self.rng, self.day
        acts = []

        def add(t, what, arg=None):
            if self.start < t < self.end:
                acts.append((t, what, arg))

        # Worker kills: a Poisson process in real time, plus two in each
        # burst of alerts due at the same minute.
        t = self.start
        while a.kill_every > 0:
            t += rng.expovariate(1 / a.kill_every) * a.speed
            if t >= self.end:
                break
            add(t, "kill")
        for t in (local(day, "15:30"), local(day, "16:00"),
                  local(day, "16:30"), local(day, "08:00", 1)):
            add(t + rng.uniform(0.5, 30), "kill")
            add(t + rng.uniform(0.5, 30), "kill")
        # The scheduler: a stop and start at lunchtime, kill -9 in the
        # 16:30 burst, more stops at random when asked for.
        restarts = []
        if a.daemon_restarts >= 1:
            restarts.append((rng.randint(local(day, "12:00"),
                                         local(day, "12:30")), "term"))
        if a.daemon_restarts >= 2:
            restarts.append((local(day, "16:30") + rng.uniform(1, 3),
                             "kill"))
        for _ in range(a.daemon_restarts - 2):
            restarts.append((rng.uniform(self.start, self.end), "term"))
        for t, how in restarts:
            add(t, "daemon", how)
        # Outages: Teams answers 503 for 40 minutes, Slack throttles for
        # half an hour, the mail relay defers for 20 minutes.
        add(local(day, "11:00"), "outage", ("http", "/teams/",
                                            "status 503 delay "
                                            f"{self.latency_ms}"))
        add(local(day, "11:40"), "outage", ("http", "/teams/", None))
        add(local(day, "13:00"), "outage", ("http", "/slack/",
                                            "status 429 header Retry-After "
                                            f"120 delay {self.latency_ms}"))
        add(local(day, "13:30"), "outage", ("http", "/slack/", None))
        # Google Chat is slow (20 s an answer) over the afternoon's
        # bursts: a kill then catches jobs under way.
        add(local(day, "15:25"), "outage", ("http", "/google_chat/",
                                            "delay "
                                            f"{round(20000 / a.speed)}"))
        add(local(day, "16:35"), "outage", ("http", "/google_chat/", None))
        add(local(day, "14:00"), "outage", ("smtp", "data", "data 451"))
        add(local(day, "14:20"), "outage", ("smtp", "data", None))
        # Reloads (the daemon by ofsted-notifyctl, the workers by SIGHUP).
        add(local(day, "12:45"), "reload")
        add(local(day, "19:00"), "reload")
        # Monitoring: the calendar from cron and a status check every 5
        # minutes, the upcoming list every hour.
        t = self.start + 30
        while t < self.end:
            add(t, "monitor", "ics")
            add(t + 1, "monitor", "status")
            if int(t - self.start) % 3600 < 300:
                add(t + 2, "monitor", "upcoming")
            t += 300
        t = self.start + 1
        while t < self.end:
            add(t, "sample")
            t += a.sample_every
        acts.sort(key=lambda x: x[0])
        return acts

    # --- processes -----

    def spawn(self, role, argv, notify=False):
        n = self.incarnations.get(role, 0)
        self.incarnations[role] = n + 1
        env = self.clock.faked_env(self.env)
        sock = None
        if notify:
            path = os.path.join(self.work, f"notify.{role}.{n}")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            sock.settimeout(30)
            env["NOTIFY_SOCKET"] = path
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(
                                 self.logs, f"{role}.{n}.log"), "w"))
        proc = Proc(role, n, p, self.clock.now())
        self.procs.append(proc)
        self.live[role] = proc
        if sock is not None:
            try:
                while "READY=1" not in sock.recv(4096).decode().split("\n"):
                    pass
            finally:
                sock.close()
        return proc

    def start_daemon(self):
        return self.spawn("daemon", [self.bin("daemon/ofsted-notifyd"), "-c",
                                     self.conf], notify=True)

    def start_worker(self, role):
        kind = "email" if role.startswith("email") else "webhook"
        return self.spawn(role, [self.bin("workers/ofsted-notify-worker"),
                                 "--kind", kind, "--credit",
                                 str(self.args.credit), "-c", self.conf])

    def worker_roles(self):
        return ([f"webhook{i}" for i in range(self.args.webhook_workers)] +
                [f"email{i}" for i in range(self.args.email_workers)])

    def churn_roles(self):
        """Workers that may be killed: all but the first of each kind,
        which run the whole day so their memory and fds can be judged
        over it."""
        return [r for r in self.worker_roles() if not r.endswith("0")]

    def stop(self, proc, sig, why, timeout=30):
        proc.expected_end = why
        proc.p.send_signal(sig)
        try:
            proc.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.crashes.append(f"{proc.name} did not stop on {why} in "
                                f"{timeout} s")
            proc.p.kill()
            proc.p.wait()
        if sig == signal.SIGKILL:
            drop_faketime_shm(proc.p.pid)
        if self.live.get(proc.role) is proc:
            del self.live[proc.role]

    def check_crashes(self):
        """Any of our processes that ended by itself is a crash: noted,
        and it is started again."""
        for role, proc in list(self.live.items()):
            rc = proc.p.poll()
            if rc is None:
                continue
            self.crashes.append(f"{proc.name} exited with status {rc} at "
                                f"{human(self.clock.now())}")
            log(self.crashes[-1])
            drop_faketime_shm(proc.p.pid)
            del self.live[role]
            if role == "daemon":
                self.start_daemon()
            else:
                self.start_worker(role)

    # --- actions -----

    def record(self, t, kind, urn, at):
        argv = ["event", kind, "--school", urn, "--json"]
        if kind == "notification":
            argv = ["notify", "--school", urn, "--json", "--contact",
                    f"Senior Ofsted leader: 0300 123 {urn[-4:]}"]
        if at is not None:
            argv += ["--at", iso(at)]
        r = self.ctl(*argv)
        try:
            reply = json.loads(r.stdout) if r.stdout.strip() else None
        except ValueError:
            reply = None
        if r.returncode == 0 and reply and reply.get("ok"):
            self.recorded.append((t, kind, urn, reply))
        elif reply is not None and reply.get("ok") is False:
            self.refused.append(f"{kind} {urn}: {reply.get('error')}")
        else:
            self.ctl_failures.append(f"{kind} {urn}: exit {r.returncode}: "
                                     f"{r.stderr.strip()[:200]}")

    def kill_worker(self, when):
        live = [r for r in self.churn_roles() if r in self.live]
        if not live:
            return
        role = self.rng.choice(live)
        proc = self.live[role]
        self.stop(proc, signal.SIGKILL, "kill")
        self.kills.append((when, proc.name))
        self.pending_starts.append(
            (time.monotonic() + self.rng.uniform(0.2, 3.0), role))

    def restart_daemon(self, how):
        proc = self.live["daemon"]
        t0 = time.monotonic()
        if how == "kill":
            self.stop(proc, signal.SIGKILL, "kill")
        else:
            self.stop(proc, signal.SIGTERM, "term")
        self.start_daemon()
        down = time.monotonic() - t0
        self.daemon_restarts.append({"at": human(self.clock.now()),
                                     "signal": "SIGKILL" if how == "kill"
                                     else "SIGTERM",
                                     "down_real_s": round(down, 3),
                                     "down_sim_s": round(down *
                                                         self.args.speed, 1)})

    def do_monitor(self, what):
        if what == "ics":
            r = self.ctl("ics")
            ok = r.returncode == 0 and "BEGIN:VCALENDAR" in r.stdout
        elif what == "status":
            r = self.ctl("status", "--json")
            ok = r.returncode == 0 and json.loads(r.stdout).get("ok")
        else:
            r = self.ctl("upcoming", "--json")
            ok = r.returncode == 0
        self.monitor[what] += 1
        if not ok:
            self.monitor["failed"] += 1
            self.ctl_failures.append(f"{what}: exit {r.returncode}: "
                                     f"{r.stderr.strip()[:200]}")

    def act(self, t, what, arg):
        if what == "event":
            self.record(t, *arg)
        elif what == "kill":
            self.kill_worker(t)
        elif what == "daemon":
            self.restart_daemon(arg)
        elif what == "outage":
            sink, key, rule = arg
            if sink == "http":
                self.set_http_rule(key, rule)
            else:
                self.set_smtp_rule(key, rule)
            self.outages.append((human(t), sink, key, rule))
        elif what == "reload":
            self.ctl("reload", check=True)
            for role in self.worker_roles():
                if role in self.live:
                    self.live[role].p.send_signal(signal.SIGHUP)
            self.reloads += 1
        elif what == "monitor":
            self.do_monitor(arg)
        elif what == "sample":
            now = self.clock.now()
            for proc in self.live.values():
                proc.sample(now)

    # --- the run -----

    def run(self):
        a = self.args
        start_local = datetime.datetime.fromisoformat(a.start).replace(
            tzinfo=ZONE)
        self.start = int(start_local.timestamp())
        self.end = self.start + int(a.hours * 3600)
        self.day = start_local.date()
        self.start_sinks()
        self.write_config()
        events = self.plan_events()
        chaos = self.plan_chaos()
        timeline = sorted([(t, "event", (k, u, at)) for t, k, u, at in events]
                          + chaos, key=lambda x: x[0])
        log(f"{a.schools} schools, {len(events)} events, "
            f"{sum(1 for c in chaos if c[1] == 'kill')} worker kills "
            f"planned, {a.hours:g} simulated hours from {a.start} at "
            f"x{a.speed:g} (about {a.hours * 3600 / a.speed / 60:.1f} "
            f"minutes), seed {a.seed}; work in {self.work}")
        self.clock = Clock(self.start - 2, a.speed)
        self.pending_starts = []
        self.start_daemon()
        for role in self.worker_roles():
            self.start_worker(role)
        lag = []
        last_report = time.monotonic()
        for t, what, arg in timeline:
            while True:
                self.check_crashes()
                self.start_due_workers()
                left = (t - self.clock.now()) / a.speed
                if left <= 0:
                    break
                nxt = min([left] + [s - time.monotonic()
                                    for s, _ in self.pending_starts])
                time.sleep(max(0.0, min(nxt, 0.05)))
            lag.append(self.clock.now() - t)
            self.act(t, what, arg)
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                log(f"{human(self.clock.now())}: {len(self.recorded)} "
                    f"events recorded, {len(self.kills)} workers killed, "
                    f"{len(self.daemon_restarts)} scheduler restarts")
        self.clock.sleep_until(self.end)
        self.lag = lag
        log(f"{human(self.clock.now())}: the simulated day is over; "
            "draining")
        self.drain()

    def start_due_workers(self):
        now = time.monotonic()
        due = [r for s, r in self.pending_starts if s <= now]
        self.pending_starts = [(s, r) for s, r in self.pending_starts
                               if s > now]
        for role in due:
            if role not in self.live:
                self.start_worker(role)

    def reader(self):
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        return db

    def drain(self):
        """Every worker running; then until nothing is waiting to be sent
        and no alert is overdue, at most `drain_hours` simulated hours."""
        for s, role in self.pending_starts:
            if role not in self.live:
                self.start_worker(role)
        self.pending_starts = []
        want = {"webhook": self.args.webhook_workers,
                "email": self.args.email_workers}

        def registered():
            r = self.ctl("status", "--json")
            if r.returncode != 0:
                return False
            got = json.loads(r.stdout).get("workers", {})
            return all(got.get(k, 0) >= n for k, n in want.items())
        wait_for("every worker to register", registered, 30, 0.1)
        deadline = self.clock.now() + self.args.drain_hours * 3600
        db = self.reader()
        while True:
            self.check_crashes()
            now = self.clock.now()
            waiting = db.execute(
                "SELECT count(*) FROM deliveries WHERE status IN "
                "('pending', 'sending', 'retry')").fetchone()[0]
            overdue = db.execute(
                "SELECT count(*) FROM alerts WHERE state = 'pending' "
                "AND at <= ?", (int(now) - 5,)).fetchone()[0]
            if waiting == 0 and overdue == 0:
                break
            if now > deadline:
                log(f"drain: gave up with {waiting} deliveries waiting and "
                    f"{overdue} alerts overdue")
                break
            time.sleep(0.2)
        db.close()
        self.drained_at = self.clock.now()
        for proc in self.live.values():
            proc.sample(self.drained_at)
        log(f"drained at {human(self.drained_at)}; stopping")
        for role in self.worker_roles() + ["daemon"]:
            if role in self.live:
                self.stop(self.live[role], signal.SIGTERM, "term")
        for p in (self.httpsink, self.smtpsink):
            p.terminate()
            p.wait(timeout=30)


# --- the checks -----

def load_receipts(soak):
    """Delivery uid -> {"ok": n 2xx answers, "other": n, "paths": set,
    "rcpts": set} from the sinks' records."""
    rec = {}
    unkeyed = 0

    def slot(uid):
        return rec.setdefault(uid, {"ok": 0, "other": 0, "paths": set(),
                                    "rcpts": set()})

    with open(soak.http_log) as f:
        for line in f:
            r = json.loads(line)
            uid = r["headers"].get("idempotency-key")
            if uid is None:
                unkeyed += 1
                continue
            s = slot(uid)
            if 200 <= r["status"] < 300:
                s["ok"] += 1
            else:
                s["other"] += 1
            s["paths"].add(r["path"])
    for name in os.listdir(soak.spool):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(soak.spool, name)) as f:
            r = json.load(f)
        mid = r.get("message_id") or ""
        uid = mid.strip("<>").split("@")[0]
        if not uid:
            unkeyed += 1
            continue
        s = slot(uid)
        s["ok"] += 1
        s["rcpts"].update(r["rcpt_tos"])
    return rec, unkeyed


def plan_of(soak, kind, urn, at):
    r = soak.ctl("plan", "--event", kind, "--at", iso(at), "--school", urn,
                 "--json", check=True)
    return json.loads(r.stdout)


def ts(text):
    return int(datetime.datetime.fromisoformat(text).timestamp())


def check(soak):
    """Returns (figures, failures)."""
    fails = []
    fig = {}
    db = soak.reader()
    db.row_factory = sqlite3.Row
    end = int(soak.drained_at)

    # Events: every one recorded is there once, none other.
    fig["events_recorded"] = len(soak.recorded)
    rows = db.execute("SELECT e.id, e.kind, e.at, e.recorded_at, c.urn "
                      "FROM events e JOIN cases c ON c.id = e.case_id "
                      "ORDER BY e.id").fetchall()
    events = {r["id"]: r for r in rows if r["urn"] != "000000"}
    mine = {reply["event"]: (kind, urn) for _, kind, urn, reply
            in soak.recorded}
    if set(mine) != set(events):
        fails.append(f"events: {len(mine)} recorded, {len(events)} in the "
                     f"state database ({len(set(mine) ^ set(events))} differ)")
    for eid, (kind, urn) in mine.items():
        r = events.get(eid)
        if r is not None and (r["kind"], r["urn"]) != (kind, urn):
            fails.append(f"event {eid}: recorded {kind} {urn}, stored "
                         f"{r['kind']} {r['urn']}")
    if soak.refused:
        fails.append(f"{len(soak.refused)} events refused: "
                     f"{soak.refused[:3]}")
    if soak.ctl_failures:
        fails.append(f"{len(soak.ctl_failures)} ofsted-notifyctl commands "
                     f"failed: {soak.ctl_failures[:3]}")

    # Alerts: as planned, none lost, none twice; none overdue.
    alerts = db.execute("SELECT id, case_id, event_id, rule, offset, at, "
                        "due, state, late, done_at FROM alerts").fetchall()
    by_event = {}
    for a in alerts:
        by_event.setdefault(a["event_id"], []).append(a)
    planned_channels = {}
    mismatched = 0
    for eid, (kind, urn) in mine.items():
        r = events.get(eid)
        if r is None:
            continue
        plan = plan_of(soak, kind, urn, r["at"])
        want = sorted((p["rule"], p["offset"], ts(p["at"]))
                      for p in plan["alerts"])
        have = sorted((a["rule"], a["offset"], a["at"])
                      for a in by_event.get(eid, []))
        # The event alert is due when the event is recorded, not at its
        # time: compare it by rule and offset only.
        def norm(xs):
            return sorted((ru, off, 0 if off == "event" else at)
                          for ru, off, at in xs)
        if norm(want) != norm(have):
            mismatched += 1
            if mismatched <= 3:
                fails.append(f"event {eid} ({kind} {urn}): planned "
                             f"{norm(want)}, stored {norm(have)}")
        for p in plan["alerts"]:
            planned_channels[(eid, p["rule"], p["offset"])] = sorted(
                p.get("channels", []))
    if mismatched:
        fails.append(f"{mismatched} events whose stored alerts differ from "
                     "their plan")
    fig["alerts"] = dict(collections.Counter(a["state"] for a in alerts))
    overdue = [a for a in alerts
               if a["state"] == "pending" and a["at"] < end - 5]
    if overdue:
        fails.append(f"{len(overdue)} alerts due before the end are still "
                     "pending")
    fig["alerts_due"] = sum(1 for a in alerts
                            if a["at"] <= end and a["state"] != "cancelled")
    fig["alerts_not_yet_due"] = sum(1 for a in alerts
                                    if a["state"] == "pending")
    fig["alerts_late"] = sum(1 for a in alerts
                             if a["state"] == "fired" and a["late"])
    # Missed: only late ones whose deadline had passed (catch_up "late").
    # Those recorded after their time are the backdated events; any other
    # was missed because the scheduler was down or stalled.
    missed_late_record = missed_downtime = 0
    for a in alerts:
        if a["state"] != "missed":
            continue
        if not (a["done_at"] - a["at"] > LATE_AFTER and
                a["done_at"] >= a["due"]):
            fails.append(f"alert {a['id']} missed at {a['done_at']} though "
                         f"due at {a['at']}, deadline {a['due']}")
        ev = events.get(a["event_id"])
        if ev is not None and ev["recorded_at"] - a["at"] > LATE_AFTER:
            missed_late_record += 1
        else:
            missed_downtime += 1
    fig["missed_recorded_late"] = missed_late_record
    fig["missed_scheduler_down"] = missed_downtime

    # Deliveries: one per channel of each fired alert, each delivered or
    # failed with its error.
    dl = db.execute("SELECT d.uid, d.alert_id, d.channel, d.type, d.status, "
                    "d.attempts, d.lease, d.last_error "
                    "FROM deliveries d").fetchall()
    by_alert = {}
    for d in dl:
        by_alert.setdefault(d["alert_id"], []).append(d)
    wrong = 0
    for a in alerts:
        chans = sorted(d["channel"] for d in by_alert.get(a["id"], []))
        if a["state"] == "fired":
            want = planned_channels.get((a["event_id"], a["rule"],
                                         a["offset"]))
            if want is not None and chans != want:
                wrong += 1
                if wrong <= 3:
                    fails.append(f"alert {a['id']} ({a['rule']} "
                                 f"{a['offset']}): deliveries to {chans}, "
                                 f"planned {want}")
        elif chans:
            fails.append(f"alert {a['id']} is {a['state']} but has "
                         f"deliveries")
    if wrong:
        fails.append(f"{wrong} fired alerts whose deliveries differ from "
                     "their channels")
    status = collections.Counter(d["status"] for d in dl)
    fig["deliveries"] = dict(status)
    waiting = sum(status.get(s, 0) for s in ("pending", "sending", "retry"))
    if waiting:
        fails.append(f"{waiting} deliveries still waiting after the drain")
    failed = [d for d in dl if d["status"] == "failed"]
    for d in failed:
        if not d["last_error"]:
            fails.append(f"delivery {d['uid']} failed without a reason")
    fig["failed_reasons"] = dict(collections.Counter(
        d["last_error"][:60] for d in failed))
    fig["attempts_max"] = max((d["attempts"] for d in dl), default=0)
    fig["retried"] = sum(1 for d in dl if d["attempts"] > 1)
    # Each lease raises both; taking a delivery back from a worker (gone,
    # silent, lease expired, scheduler restarted) raises the lease only.
    fig["taken_back"] = sum(1 for d in dl if d["lease"] > d["attempts"])

    # The sinks: every delivered delivery received, each counted once.
    rec, unkeyed = load_receipts(soak)
    known = {d["uid"]: d for d in dl}
    lost = arrived_failed = misrouted = 0
    dup = 0
    for d in dl:
        r = rec.get(d["uid"])
        ok = r["ok"] if r else 0
        if d["status"] == "delivered" and ok == 0:
            lost += 1
        if d["status"] == "failed" and ok > 0:
            arrived_failed += 1
        if ok > 1:
            dup += ok - 1
        if r is None:
            continue
        if d["type"] == "email":
            if r["rcpts"] and r["rcpts"] != {soak.channel_to[d["channel"]]}:
                misrouted += 1
        elif not all(p.startswith(soak.channel_path[d["channel"]])
                     for p in r["paths"]):
            misrouted += 1
    phantom = [u for u in rec if u not in known]
    fig["received_distinct"] = sum(1 for u, r in rec.items()
                                   if r["ok"] > 0 and u in known)
    fig["received_total"] = sum(r["ok"] for r in rec.values())
    fig["duplicates"] = dup
    fig["refused_by_sink"] = sum(r["other"] for r in rec.values())
    for what, n in (("delivered but never received", lost),
                    ("failed but received", arrived_failed),
                    ("received at another channel's address", misrouted),
                    ("received with an unknown delivery id", len(phantom)),
                    ("received without a delivery id", unkeyed)):
        if n:
            fails.append(f"{n} deliveries {what}")

    # The processes.
    fig["kills"] = len(soak.kills)
    fig["daemon_restarts"] = soak.daemon_restarts
    for c in soak.crashes:
        fails.append(f"crash: {c}")
    for proc in soak.procs:
        rc = proc.p.returncode
        if proc.expected_end == "term" and rc != 0:
            fails.append(f"{proc.name} exited {rc} on SIGTERM")
    # The scheduler's view: a worker that "went silent" (or "is gone", when
    # its connection closed) should be one that
    # was killed; one still alive then was only slow to answer (at x72 a
    # real 140 ms is the 10 s of silence allowed).
    killed = {str(p.p.pid) for p in soak.procs if p.expected_end == "kill"}
    silent = []  # pids of the workers that went silent, once each time
    logs = {"leases expired": 0,
            "stale outcomes": 0, "requeued at start": 0}
    retries = {}
    for path in glob.glob(os.path.join(soak.logs, "daemon.*.log")):
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r"worker \S+/(\d+)/\S+ (went silent|is gone)",
                              line)
                if m:
                    silent.append(m.group(1))
                m = re.search(r"(\d+) deliveries that were being sent are "
                              r"pending again", line)
                if m:
                    logs["requeued at start"] += int(m.group(1))
                m = re.search(r"(\d+) leases expired", line)
                if m:
                    logs["leases expired"] += int(m.group(1))
                if "stale" in line:
                    logs["stale outcomes"] += 1
                m = re.search(r"delivery \S+ to '[^']*': (.*); retry \d+ in",
                              line)
                if m:
                    retries[m.group(1)] = retries.get(m.group(1), 0) + 1
    # A killed worker is forgotten once; any other time a worker went
    # silent, it was alive (it may have been killed later).
    noticed = {pid for pid in silent if pid in killed}
    logs["killed workers noticed"] = len(noticed)
    logs["live workers thought silent"] = len(silent) - len(noticed)
    fig["daemon_log"] = logs
    fig["retry_reasons"] = retries
    # The workers' view: the scheduler silent for 10 simulated seconds
    # (its restarts, or a stall).
    fig["workers_lost_scheduler"] = 0
    for path in glob.glob(os.path.join(soak.logs, "[we]*.log")):
        with open(path, errors="replace") as f:
            fig["workers_lost_scheduler"] += sum(
                "no word from the scheduler" in line for line in f)
    fig["lag_max_s"] = round(max(soak.lag), 1) if soak.lag else 0
    fig["monitor"] = soak.monitor
    fig["outages"] = soak.outages
    fig["reloads"] = soak.reloads

    # Flat: the long-lived incarnations.
    flat = []
    long_lived = [p for p in soak.procs if p.role in ("daemon",)
                  or (p.role.endswith("0") and p.n == 0)]
    daemons = [p for p in long_lived if p.role == "daemon"]
    if daemons:
        longest = max(daemons, key=lambda p: len(p.samples))
        long_lived = [p for p in long_lived if p.role != "daemon"]
        long_lived.insert(0, longest)
    for p in long_lived:
        f = flatness(p)
        flat.append(f)
        if f.get("verdict") == "growing":
            fails.append(f"{p.name}: {f['why']}")
        elif f.get("verdict") == "too short":
            fails.append(f"{p.name}: too few samples ({f['samples']}) to "
                         "judge")
    fig["flat"] = flat
    churn = [p for p in soak.procs if p not in long_lived and p.samples]
    fig["churned"] = {
        "incarnations": len(churn),
        "rss_max_kib": max((s[1] for p in churn for s in p.samples),
                           default=0),
        "fds_max": max((s[2] for p in churn for s in p.samples), default=0),
    }
    db.close()
    return fig, fails


def flatness(p):
    s = p.samples
    out = {"process": p.name, "samples": len(s),
           "sim_hours": round((s[-1][0] - s[0][0]) / 3600, 1) if s else 0}
    if len(s) < 40:
        out["verdict"] = "too short"
        return out
    q = len(s) // 4
    q2, q4 = s[q:2 * q], s[3 * q:]
    rss2 = statistics.mean(x[1] for x in q2)
    rss4 = statistics.mean(x[1] for x in q4)
    fd2 = statistics.mean(x[2] for x in q2)
    fd4 = statistics.mean(x[2] for x in q4)
    sk2 = statistics.mean(x[3] for x in q2)
    sk4 = statistics.mean(x[3] for x in q4)
    out.update({"rss_q2_kib": round(rss2), "rss_q4_kib": round(rss4),
                "rss_max_kib": max(x[1] for x in s),
                "rss_growth": round(rss4 / rss2 - 1, 4),
                "fds_q2": round(fd2, 2), "fds_q4": round(fd4, 2),
                "fds_max": max(x[2] for x in s),
                "sockets_q2": round(sk2, 2), "sockets_q4": round(sk4, 2),
                "hwm_kib": p.hwm})
    why = []
    if rss4 > rss2 * (1 + RSS_TOLERANCE) + RSS_SLACK_KIB:
        why.append(f"RSS grew from {rss2:.0f} to {rss4:.0f} KiB")
    if fd4 > fd2 + FD_SLACK:
        why.append(f"open fds grew from {fd2:.1f} to {fd4:.1f} "
                   f"(sockets {sk2:.1f} to {sk4:.1f})")
    out["verdict"] = "growing" if why else "flat"
    if why:
        out["why"] = "; ".join(why)
    return out


def table(args, fig, fails, took):
    lines = [
        f"ofsted-notify soak, {fig['date']}, {os.cpu_count()} CPUs "
        f"({os.uname().machine}), seed {args.seed}: {args.hours:g} simulated "
        f"hours from {args.start} at x{args.speed:g} in "
        f"{took / 60:.1f} minutes",
        "",
        "| measure | result |",
        "|---|---|",
    ]

    def row(m, v):
        lines.append(f"| {m} | {v} |")

    def kv(d):
        return ", ".join(f"{k} {v:,}" for k, v in sorted(d.items()))

    row("schools, events recorded", f"{args.schools}, "
        f"{fig['events_recorded']:,}")
    row("alerts", kv(fig["alerts"]) + " (pending: not yet due)")
    row("alerts due by the end", f"{fig['alerts_due']:,} (fired late: "
        f"{fig['alerts_late']:,}; missed because recorded late: "
        f"{fig['missed_recorded_late']:,}, because the scheduler was down: "
        f"{fig['missed_scheduler_down']:,})")
    row("deliveries", kv(fig["deliveries"]))
    row("failed, by reason", kv(fig["failed_reasons"]) or "none")
    row("retried (more than one attempt)", f"{fig['retried']:,} (most "
        f"attempts: {fig['attempts_max']})")
    row("received at the sinks", f"{fig['received_distinct']:,} distinct "
        f"of {fig['received_total']:,} (duplicates: {fig['duplicates']:,}); "
        f"refused by the sinks' outages and dead hooks: "
        f"{fig['refused_by_sink']:,}")
    row("workers killed (SIGKILL)", f"{fig['kills']}; deliveries taken "
        f"back from a worker and sent again: {fig['taken_back']:,}")
    row("scheduler restarts", "; ".join(
        f"{r['signal']} at {r['at']}, down {r['down_real_s']} s "
        f"({r['down_sim_s']} simulated)" for r in fig["daemon_restarts"])
        or "none")
    row("retries, by reason", kv(fig["retry_reasons"]) or "none")
    row("scheduler log", kv(fig["daemon_log"]) +
        f"; workers that lost the scheduler for 10 s: "
        f"{fig['workers_lost_scheduler']}")
    row("monitoring commands", kv(fig["monitor"]))
    for f in fig["flat"]:
        if "rss_q2_kib" in f:
            row(f"{f['process']}: RSS Q2 → Q4, fds Q2 → Q4",
                f"{f['rss_q2_kib'] / 1024:.1f} → {f['rss_q4_kib'] / 1024:.1f}"
                f" MiB ({f['rss_growth']:+.1%}), {f['fds_q2']} → "
                f"{f['fds_q4']} (max {f['fds_max']}); {f['samples']} "
                f"samples over {f['sim_hours']} h: {f['verdict']}")
        else:
            row(f["process"], f"{f['samples']} samples: {f['verdict']}")
    c = fig["churned"]
    row("killed workers' incarnations", f"{c['incarnations']}, RSS at most "
        f"{c['rss_max_kib'] / 1024:.1f} MiB, fds at most {c['fds_max']}")
    row("verdict", "PASS" if not fails else f"FAIL ({len(fails)})")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", required=True)
    p.add_argument("--hours", type=float, default=24,
                   help="simulated hours (default 24)")
    p.add_argument("--speed", type=float, default=72,
                   help="simulated seconds per real second (default 72: a "
                   "day in 20 minutes)")
    p.add_argument("--start", default="2026-03-02T09:00",
                   help="local time in Europe/London the day starts "
                   "(default Monday 2026-03-02T09:00)")
    p.add_argument("--schools", type=int, default=400)
    p.add_argument("--webhook-workers", type=int, default=3)
    p.add_argument("--email-workers", type=int, default=2)
    p.add_argument("--credit", type=int, default=16,
                   help="each worker's --credit (default 16, so a burst is "
                   "shared and a kill catches jobs under way)")
    p.add_argument("--kill-every", type=float, default=15,
                   help="mean real seconds between worker kills (0: none)")
    p.add_argument("--daemon-restarts", type=int, default=2)
    p.add_argument("--sample-every", type=float, default=120,
                   help="simulated seconds between RSS/fd samples")
    p.add_argument("--drain-hours", type=float, default=3,
                   help="simulated hours the drain may take at most")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--quick", action="store_true",
                   help="4 simulated hours from 13:30 (the 16:30 burst "
                   "included), 60 schools: about 3.5 minutes")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--keep", action="store_true",
                   help="keep the working directory, for its logs")
    args = p.parse_args()
    if args.quick:
        args.hours, args.schools = 4, 60
        args.start = args.start[:11] + "13:30"
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    args.build = os.path.abspath(args.build)
    t0 = time.monotonic()
    soak = Soak(args)
    ok = False
    try:
        soak.run()
        fig, fails = check(soak)
        ok = not fails
    finally:
        for proc in list(soak.live.values()):
            proc.p.kill()
            proc.p.wait()
            drop_faketime_shm(proc.p.pid)
        for name in ("httpsink", "smtpsink"):
            sink = getattr(soak, name, None)
            if sink is not None and sink.poll() is None:
                sink.kill()
                sink.wait()
        if args.keep or not ok:
            log(f"kept {soak.work}")
        else:
            shutil.rmtree(soak.work, ignore_errors=True)
    took = time.monotonic() - t0
    fig["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    fig["args"] = {k: v for k, v in vars(args).items()
                   if k not in ("json", "keep", "build")}
    fig["real_minutes"] = round(took / 60, 1)
    fig["failures"] = fails
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=2, default=str)
            f.write("\n")
    print(table(args, fig, fails, took))
    for f in fails:
        print(f"FAIL: {f}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
