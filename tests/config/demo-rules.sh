#!/bin/sh
# The demo's rules are the shipped rules with alerts seconds apart: each
# rule of config/demo.conf that the shipped config/ofsted-notify.conf also
# has must be the same in all but its alerts, escalations, ack_keeps,
# extra channels and source, as `ofsted-notifyctl rules --json` reads
# them. A rule only the demo has must be named in DEMO_ONLY below.
#
#   demo-rules.sh CTL_BINARY SOURCE_DIR
#
# Exit status 0 when they agree, 1 with each difference on stderr, 2 on
# usage.

if [ $# -ne 2 ]; then
        echo "usage: $0 CTL_BINARY SOURCE_DIR" >&2
        exit 2
fi
ctl=$1
srcdir=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/demo-rules.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

for f in ofsted-notify demo; do
        if ! "$ctl" rules --json -c "$srcdir/config/$f.conf" \
                >"$tmp/$f.json"; then
                echo "$0: ofsted-notifyctl rules failed on config/$f.conf" >&2
                exit 1
        fi
done

DEMO_ONLY="drill" python3 - "$tmp/ofsted-notify.json" "$tmp/demo.json" <<'EOF'
import json
import os
import sys

SAME = ("enabled", "event", "deadline", "opens", "calendar", "remits",
        "all_remits", "ends_on", "action")

with open(sys.argv[1]) as f:
    shipped = {r["name"]: r for r in json.load(f)}
with open(sys.argv[2]) as f:
    demo = json.load(f)
demo_only = os.environ["DEMO_ONLY"].split()
bad = 0
for r in demo:
    name = r["name"]
    if name not in shipped:
        if name not in demo_only:
            print("config/demo.conf: rule '%s' is not a shipped rule, nor "
                  "one of the demo's own (%s)" % (name, ", ".join(demo_only)),
                  file=sys.stderr)
            bad += 1
        continue
    for key in SAME:
        if r.get(key) != shipped[name].get(key):
            print("config/demo.conf: rule '%s': %s is %r, the shipped "
                  "rule's is %r" % (name, key, r.get(key),
                                    shipped[name].get(key)),
                  file=sys.stderr)
            bad += 1
checked = [r["name"] for r in demo if r["name"] in shipped]
if not checked:
    print("config/demo.conf: no shipped rule to compare", file=sys.stderr)
    bad += 1
if bad:
    sys.exit(1)
print("ok: the demo's rules %s are the shipped ones" % ", ".join(checked))
EOF
