#!/bin/sh
# Runs `ofsted-notifyctl check-config` on one test config and compares.
#
#   check-config.sh CTL_BINARY SOURCE_DIR NAME
#       tests/config/bad/NAME.conf must fail: exit status 78, nothing on
#       stdout, and stderr exactly tests/config/bad/NAME.expected.
#   check-config.sh --good CTL_BINARY SOURCE_DIR FILE
#       FILE (relative to SOURCE_DIR) must pass: exit status 0 and stdout
#       exactly "configuration OK". stderr may hold only the warning that the
#       bank holiday data ends soon (it depends on today's date). It runs on
#       a copy of FILE, beside which each secret file it names is written
#       as an admin would (mode 0600, a well-formed URL, key or password):
#       check-config reads them, and a missing one is an error.
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

# want_status CONF STATUS WANT: fails the run unless STATUS is WANT.
want_status() {
        if [ "$2" -ne "$3" ]; then
                echo "FAIL: $1: exit status $2, want $3" >&2
                fail=1
        fi
}

# want_same CONF WANT GOT WHAT: fails the run, showing the difference,
# unless the file GOT is the file WANT; WHAT says which output it is.
want_same() {
        if ! cmp -s "$2" "$3"; then
                echo "FAIL: $1: $4 (- expected, + actual):" >&2
                diff -u "$2" "$3" >&2
                fail=1
        fi
}

if [ "$mode" = bad ]; then
        conf=tests/config/bad/$name.conf
        expected=tests/config/bad/$name.expected
        if [ ! -f "$conf" ] || [ ! -f "$expected" ]; then
                echo "FAIL: $conf or $expected is missing" >&2
                exit 1
        fi
        "$ctl" check-config -c "$conf" >"$tmp/stdout" 2>"$tmp/stderr"
        want_status "$conf" $? 78
        if [ -s "$tmp/stdout" ]; then
                echo "FAIL: $conf: unexpected output on stdout:" >&2
                cat "$tmp/stdout" >&2
                fail=1
        fi
        want_same "$conf" "$expected" "$tmp/stderr" \
                "stderr differs from $expected"
else
        conf=$name
        if [ ! -f "$conf" ]; then
                echo "FAIL: $conf is missing" >&2
                exit 1
        fi
        copy=$tmp/src
        confdir=$copy/$(dirname "$conf")
        mkdir -p "$confdir" "$copy/config" || exit 1
        cp "$conf" "$copy/$conf" || exit 1
        cp config/bank-holidays.json "$copy/config/" || exit 1
        # Comments dropped, each `key = "file"` of a secret on a line.
        sed 's/#.*//' "$conf" |
                grep -o '\(url_file\|secret_file\|password_file\|bearer_token_file\) *= *"[^"]*"' |
                while IFS= read -r setting; do
                        key=${setting%%[ =]*}
                        file=${setting#*\"}
                        file=${file%\"}
                        case $file in
                        /*)
                                echo "FAIL: $conf: names the secret file" \
                                        "'$file' by an absolute path; this" \
                                        "script writes only into its copy" >&2
                                exit 1
                                ;;
                        esac
                        dest=$confdir/$file
                        case $key in
                        url_file) text=https://hooks.example.invalid/check ;;
                        secret_file) text=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ;;
                        *) text=not-a-real-password ;;
                        esac
                        mkdir -p "$(dirname "$dest")" &&
                                (umask 077 && printf '%s\n' "$text" >"$dest") ||
                                exit 1
                done || exit 1
        cd "$copy" || exit 1
        "$ctl" check-config -c "$conf" >"$tmp/stdout" 2>"$tmp/stderr"
        want_status "$conf" $? 0
        printf 'configuration OK\n' >"$tmp/want"
        want_same "$conf" "$tmp/want" "$tmp/stdout" \
                "stdout is not \"configuration OK\""
        if grep -v -e ': warning: the bank holiday data in ' -e ': warning: acknowledgement links are off' "$tmp/stderr" \
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
