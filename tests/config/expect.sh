# shellcheck shell=sh disable=SC2154 # name, conf and dir: the caller's
# What check-keys.sh, check-secrets.sh and check-certs.sh share, sourced by
# each after it sets $name (its own name, for the temporary directory) and
# $conf (the config file of its cases):
#
#   . "$(dirname "$0")/expect.sh"    with the arguments CTL_BINARY SOURCE_DIR
#
# Sets $ctl, $srcdir and $tmp (removed at exit) and the counters; gives
# copy_conf, shipped_example and expect; the_end prints the closing line
# and sets the exit status.

if [ $# -ne 2 ]; then
        echo "usage: $0 CTL_BINARY SOURCE_DIR" >&2
        exit 2
fi
ctl=$1
case $ctl in
/*) ;;
*) ctl=$(pwd)/$ctl ;;
esac
srcdir=$(cd "$2" && pwd) || exit 2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

passed=0
failed=0
skipped=0

# copy_conf CASE FROM: copies the config FROM into $dir as $conf, its
# holidays pointed back at the source tree.
copy_conf() {
        sed "s|\"../../../config/bank-holidays.json\"|\"$srcdir/config/bank-holidays.json\"|" \
                "$2" >"$dir/$conf" || exit 1
        if ! grep -q "\"$srcdir/config/bank-holidays.json\"" "$dir/$conf"; then
                echo "FAIL: $1: the config's holidays line was not rewritten" >&2
                exit 1
        fi
}

# shipped_example CASE MARKER: $dir becomes a copy of the shipped config
# as $conf with its commented example MARKER ("ms", "google") on, and the
# holidays beside it; its secrets/ is made, empty.
shipped_example() {
        dir=$tmp/$1
        mkdir -p "$dir/secrets" || exit 1
        sed "s|^  #$2 |  |" "$srcdir/config/ofsted-notify.conf" >"$dir/$conf" || exit 1
        cp "$srcdir/config/bank-holidays.json" "$dir/" || exit 1
        if ! grep -q '^  oauth2 = ' "$dir/$conf"; then
                echo "FAIL: $1: no '#$2 oauth2' example in the shipped config" >&2
                exit 1
        fi
}

# expect NAME STATUS: check-config in $dir must exit STATUS, print
# "configuration OK" on stdout exactly when it exits 0 (else nothing), and
# on stderr exactly the lines on expect's standard input (the bank holiday
# warning aside, which depends on today's date).
expect() {
        out=$tmp/$1.out
        cat >"$out.want-stderr"
        if [ "$2" -eq 0 ]; then
                printf 'configuration OK\n'
        fi >"$out.want-stdout"
        # shellcheck disable=SC2086 # $reader is words or nothing
        (cd "$dir" && exec $reader "$ctl" check-config -c "$conf") \
                >"$out.stdout" 2>"$out.all-stderr"
        status=$?
        grep -v -e ': warning: the bank holiday data in ' -e ': warning: acknowledgement links are off' "$out.all-stderr" \
                >"$out.stderr"
        ok=1
        if [ "$status" -ne "$2" ]; then
                echo "FAIL: $1: exit status $status, want $2" >&2
                ok=0
        fi
        if ! cmp -s "$out.want-stdout" "$out.stdout"; then
                echo "FAIL: $1: stdout (- expected, + actual):" >&2
                diff -u "$out.want-stdout" "$out.stdout" >&2
                ok=0
        fi
        if ! cmp -s "$out.want-stderr" "$out.stderr"; then
                echo "FAIL: $1: stderr (- expected, + actual):" >&2
                diff -u "$out.want-stderr" "$out.stderr" >&2
                ok=0
        fi
        if [ "$ok" -eq 1 ]; then
                echo "ok: $1"
                passed=$((passed + 1))
        else
                failed=$((failed + 1))
        fi
}

# What check-config runs under: nothing, or for expect_unreadable the
# command that takes root's power to read every file away.
reader=

# can_limit: whether this user is subject to a file's mode: any user but
# root, and root once setpriv drops CAP_DAC_OVERRIDE and
# CAP_DAC_READ_SEARCH from its bounding set (not in a container that
# withholds CAP_SETPCAP).
LIMIT="setpriv --bounding-set=-dac_override,-dac_read_search"
can_limit() {
        [ "$(id -u)" -ne 0 ] || $LIMIT true 2>/dev/null
}

# expect_unreadable NAME STATUS: expect, with check-config reading files
# as a user a mode of 0000 keeps out (after can_limit).
expect_unreadable() {
        if [ "$(id -u)" -eq 0 ]; then
                reader=$LIMIT
        fi
        expect "$@"
        reader=
}

# skip WHY: a case that cannot be checked here, said and counted.
skip() {
        echo "SKIPPED (not checked): $1"
        skipped=$((skipped + 1))
}

the_end() {
        echo "$passed passed, $failed failed, $skipped skipped"
        [ "$failed" -eq 0 ]
}
