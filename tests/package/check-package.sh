#!/bin/sh
# Builds the .deb from a configured build directory and checks it: its
# control data (dependencies, conffiles, maintainer scripts), that every
# file lands where the units expect it when unpacked into a clean root,
# that the units verify there, that their exposure stays within limits,
# that the man pages render, and what lintian says.
#   check-package.sh BUILD_DIR
set -eu

build=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/check-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
ok() {
	echo "ok: $*"
}

# --- Build it ------------------------------------------------------------
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/pkg" \
	>"$work/cpack.log" 2>&1 || {
	cat "$work/cpack.log" >&2
	echo "FAIL: cpack did not build the package" >&2
	exit 1
}
deb=$(ls "$work"/pkg/ofsted-notify_*_*.deb)
ok "built $(basename "$deb")"

# --- Control data --------------------------------------------------------
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libzmq5 libconfig9 libcurl4 libsqlite3-0 libsodium23 \
	libjansson4 libsystemd0 systemd tzdata ca-certificates; do
	case ", $depends," in
	*", $lib "* | *", $lib,"*) ;;
	*) fail "Depends lacks $lib: $depends" ;;
	esac
done
ok "Depends: $depends"
dpkg-deb -e "$deb" "$work/control"
printf '/etc/ofsted-notify/ofsted-notify.conf\n/etc/ofsted-notify/bank-holidays.json\n' \
	>"$work/want-conffiles"
if ! diff -u "$work/want-conffiles" "$work/control/conffiles"; then
	fail "conffiles differ"
fi
for s in postinst prerm postrm; do
	[ -x "$work/control/$s" ] || fail "no executable $s"
	sh -n "$work/control/$s" || fail "$s: syntax"
done
grep -q 'systemd-sysusers' "$work/control/postinst" ||
	fail "postinst does not create the user"
grep -q 'daemon-reload' "$work/control/postinst" ||
	fail "postinst does not reload systemd"

# --- Unpacked into a clean root ------------------------------------------
root="$work/root"
mkdir "$root"
dpkg -x "$deb" "$root"
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null ||
	echo /lib/systemd/system)
for f in usr/sbin/ofsted-notifyd usr/sbin/ofsted-notify-worker \
	usr/bin/ofsted-notifyctl; do
	[ -x "$root/$f" ] || fail "missing or not executable: /$f"
done
for f in etc/ofsted-notify/ofsted-notify.conf \
	etc/ofsted-notify/bank-holidays.json \
	"${unitdir#/}/ofsted-notifyd.service" \
	"${unitdir#/}/ofsted-notify-worker@.service" \
	"${unitdir#/}/ofsted-notify.target" \
	"${unitdir#/}/ofsted-notify-backup.service" \
	"${unitdir#/}/ofsted-notify-backup.timer" \
	usr/lib/sysusers.d/ofsted-notify.conf \
	usr/lib/tmpfiles.d/ofsted-notify.conf \
	usr/share/man/man1/ofsted-notifyctl.1.gz \
	usr/share/man/man5/ofsted-notify.conf.5.gz \
	usr/share/man/man8/ofsted-notifyd.8.gz \
	usr/share/man/man8/ofsted-notify-worker.8.gz \
	usr/share/doc/ofsted-notify/copyright \
	usr/share/bash-completion/completions/ofsted-notifyctl \
	usr/share/ofsted-notify/web/layout.html \
	usr/share/ofsted-notify/web/common.js \
	usr/share/ofsted-notify/web/style.css; do
	[ -f "$root/$f" ] || fail "missing: /$f"
done
for d in secrets curve; do
	mode=$(stat -c %a "$root/etc/ofsted-notify/$d")
	[ "$mode" = 700 ] || fail "/etc/ofsted-notify/$d is $mode, not 700"
done

# What the units name must be in the package.
for unit in ofsted-notifyd.service ofsted-notify-worker@.service \
	ofsted-notify-backup.service; do
	u="$root$unitdir/$unit"
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
	[ -x "$root$exe" ] || fail "$unit: ExecStart=$exe is not in the package"
	user=$(sed -n 's/^User=//p' "$u")
	grep -q "^u $user " "$root/usr/lib/sysusers.d/ofsted-notify.conf" ||
		fail "$unit: User=$user is not made by sysusers.d"
	[ "$(sed -n 's/^ConfigurationDirectory=//p' "$u")" = ofsted-notify ] ||
		fail "$unit: ConfigurationDirectory= is not ofsted-notify"
done
cred=$(sed -n 's/^LoadCredential=secrets://p' \
	"$root$unitdir/ofsted-notify-worker@.service")
[ -d "$root$cred" ] || fail "LoadCredential= path $cred is not in the package"
grep -q "^d $cred 0700 root root" "$root/usr/lib/tmpfiles.d/ofsted-notify.conf" ||
	fail "tmpfiles.d does not make $cred"
for unit in ofsted-notifyd.service ofsted-notify-worker@.service; do
	cred=$(sed -n 's/^LoadCredential=curve://p' "$root$unitdir/$unit")
	if [ -z "$cred" ] || [ ! -d "$root$cred" ]; then
		fail "$unit: LoadCredential=curve: path '$cred' is not in the package"
	fi
	grep -q "^d $cred 0700 root root" \
		"$root/usr/lib/tmpfiles.d/ofsted-notify.conf" ||
		fail "tmpfiles.d does not make $cred"
done
grep -q '^RuntimeDirectory=' "$root$unitdir/ofsted-notify-worker@.service" &&
	fail "a worker declares RuntimeDirectory= (only the scheduler may)"
grep -q '^RuntimeDirectoryPreserve=restart' "$root$unitdir/ofsted-notifyd.service" ||
	fail "the scheduler does not keep its runtime directory over a restart"
grep -q '^Wants=.*ofsted-notify-backup.timer' "$root$unitdir/ofsted-notify.target" ||
	fail "the target does not want the backup timer"
grep -q '^ExecStart=.*ofsted-notifyctl backup' \
	"$root$unitdir/ofsted-notify-backup.service" ||
	fail "the backup service does not run ofsted-notifyctl backup"

# The shipped config is valid, read by the shipped ofsted-notifyctl, once
# the two secret files it names are written, as the README has the admin
# do (check-config reads them and reports one that is missing).
secrets="$root/etc/ofsted-notify/secrets"
install -m 0600 /dev/null "$secrets/teams-leaders.url"
printf '%s\n' 'https://hooks.example.invalid/leaders' >"$secrets/teams-leaders.url"
"$root/usr/bin/ofsted-notifyctl" keygen --webhook "$secrets/it.key" >/dev/null
"$root/usr/bin/ofsted-notifyctl" check-config \
	-c "$root/etc/ofsted-notify/ofsted-notify.conf" >"$work/check.log" 2>&1 ||
	fail "the shipped config does not pass check-config: $(cat "$work/check.log")"
ok "files where the units expect them"

# --- The units ----------------------------------------------------------
# systemd-analyze needs the system's own units (sysinit.target ...) and
# /bin/kill in the root it checks: copy them in, never over ours.
mkdir -p "$root$unitdir" "$root/bin"
cp -an "$unitdir/." "$root$unitdir/"
cp /bin/kill "$root/bin/kill"
units="ofsted-notifyd.service ofsted-notify-worker@webhook.service
ofsted-notify-worker@email.service ofsted-notify-web.service
ofsted-notify-backup.service ofsted-notify-backup.timer ofsted-notify.target"
# shellcheck disable=SC2086
if systemd-analyze verify --man=no --root="$root" $units >"$work/verify.log" 2>&1 &&
	! [ -s "$work/verify.log" ]; then
	ok "systemd-analyze verify: clean"
else
	cat "$work/verify.log" >&2
	fail "systemd-analyze verify"
fi
# --threshold counts in tenths: 10 is an exposure of 1.0.
for check in ofsted-notifyd.service:10 ofsted-notify-worker@webhook.service:20 \
	ofsted-notify-worker@email.service:20 ofsted-notify-web.service:20 \
	ofsted-notify-backup.service:10; do
	unit=${check%:*} limit=${check#*:}
	if systemd-analyze security --offline=true --root="$root" \
		--threshold="$limit" "$unit" >"$work/security.log" 2>&1; then
		ok "$(grep 'Overall exposure' "$work/security.log")"
	else
		grep -v '✓' "$work/security.log" >&2
		fail "$unit: exposure above $limit/10"
	fi
done

# --- Man pages ------------------------------------------------------------
for page in "$root"/usr/share/man/man*/*.gz; do
	warnings=$(gzip -dc "$page" | groff -man -ww -z -Tutf8 2>&1)
	[ -z "$warnings" ] || fail "$(basename "$page"): $warnings"
done
ok "man pages render without warnings"

# --- lintian --------------------------------------------------------------
# Errors and warnings fail; what is overridden is explained in
# packaging/deb/lintian-overrides.
if lintian --fail-on error,warning "$deb" >"$work/lintian.log" 2>&1; then
	ok "lintian: no errors or warnings"
else
	cat "$work/lintian.log" >&2
	fail "lintian"
fi

if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "package checks passed"
