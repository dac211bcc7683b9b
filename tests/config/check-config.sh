#!/bin/sh
# Runs `ofsted-notifyctl check-config` on one test config and compares.
#
#   check-config.sh CTL_BINARY SOURCE_DIR NAME
#       tests/config/bad/NAME.conf must fail: exit status 78, nothing on
#       stdout, and stderr exactly tests/config/bad/NAME.expected.
#   check-config.sh --good CTL_BINARY SOURCE_DIR FILE
#       FILE (relative to SOURCE_DIR) must pass: exit status 0 and stdout
#       exactly "configuration OK". stderr may hold only the warning that the
#       bank holiday data ends soon (it depends on today's date).
#
# The binary runs from SOURCE_DIR, so the paths in its messages start with
# "tests/config/bad/". Exit status 0 on success, 1 on a mismatch, 2 on usage.

mode=bad
if [ "$1" = "--good" ]; then
        mode=good
        shift
fi
if [ $# -ne 3 ]; then
        echo "usage: $0 [--good] CTL_BINARY SOURCE_DIR NAME|FILE" >&2
        exit 2
fi
ctl=$1
srcdir=$2
name=$3

# The binary may be given relative to where we were started.
case $ctl in
/*) ;;
*) ctl=$(pwd)/$ctl ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-config.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

cd "$srcdir" || exit 1
fail=0

if [ "$mode" = bad ]; then
        conf=tests/config/bad/$name.conf
        expected=tests/config/bad/$name.expected
        if [ ! -f "$conf" ] || [ ! -f "$expected" ]; then
                echo "FAIL: $conf or $expected is missing" >&2
                exit 1
        fi
        "$ctl" check-config -c "$conf" >"$tmp/stdout" 2>"$tmp/stderr"
        status=$?
        if [ "$status" -ne 78 ]; then
                echo "FAIL: $conf: exit status $status, want 78" >&2
                fail=1
        fi
        if [ -s "$tmp/stdout" ]; then
                echo "FAIL: $conf: unexpected output on stdout:" >&2
                cat "$tmp/stdout" >&2
                fail=1
        fi
        if ! cmp -s "$expected" "$tmp/stderr"; then
                echo "FAIL: $conf: stderr differs from $expected" \
                        "(- expected, + actual):" >&2
                diff -u "$expected" "$tmp/stderr" >&2
                fail=1
        fi
else
        conf=$name
        if [ ! -f "$conf" ]; then
                echo "FAIL: $conf is missing" >&2
                exit 1
        fi
        "$ctl" check-config -c "$conf" >"$tmp/stdout" 2>"$tmp/stderr"
        status=$?
        printf 'configuration OK\n' >"$tmp/want"
        if [ "$status" -ne 0 ]; then
                echo "FAIL: $conf: exit status $status, want 0" >&2
                fail=1
        fi
        if ! cmp -s "$tmp/want" "$tmp/stdout"; then
                echo "FAIL: $conf: stdout is not \"configuration OK\"" \
                        "(- expected, + actual):" >&2
                diff -u "$tmp/want" "$tmp/stdout" >&2
                fail=1
        fi
        if grep -v ': warning: the bank holiday data in ' "$tmp/stderr" \
                >"$tmp/other"; then
                echo "FAIL: $conf: unexpected output on stderr:" >&2
                cat "$tmp/other" >&2
                fail=1
        fi
fi

if [ "$fail" -ne 0 ]; then
        exit 1
fi
echo "ok: $conf"
exit 0
