#!/bin/sh
# `ofsted-notifyctl check-config` on the CURVE key files a config names.
#
#   check-keys.sh CTL_BINARY SOURCE_DIR
#
# Each case copies tests/config/keys/ (a config with tcp:// endpoints that
# names curve/scheduler.key and curve/admin.key) into a directory of its
# own, makes the two key pairs with the real `ofsted-notifyctl keygen`,
# spoils something and runs check-config there. It must exit as expected,
# print "configuration OK" on stdout exactly when it exits 0 (else nothing),
# and on stderr exactly the lines written out below (the bank holiday
# warning aside, which depends on today's date).
#
# A key file this user may not read is a warning, not an error; as root
# that case runs without root's power to read every file
# (expect_unreadable), and is skipped, said to be, where it cannot.
# Exit status 0 when no case failed, 1 when one did, 2 on usage.

name=check-keys
conf=curve.conf
# shellcheck source=tests/config/expect.sh
. "$(dirname "$0")/expect.sh"

# Keys are looked for in the config's directory only.
unset CREDENTIALS_DIRECTORY

# fresh NAME: $dir becomes a new copy of the config with both key pairs,
# its holidays pointed back at the source tree.
fresh() {
        dir=$tmp/$1
        mkdir -p "$dir/curve" || exit 1
        copy_conf "$1" "$srcdir/tests/config/keys/curve.conf"
        cp "$srcdir/tests/config/keys/curve/allow.conf" "$dir/curve/" || exit 1
        if ! (cd "$dir" && "$ctl" keygen curve/scheduler >/dev/null &&
                "$ctl" keygen curve/admin >/dev/null); then
                echo "FAIL: $1: keygen failed" >&2
                exit 1
        fi
}

# Both pairs, as keygen made them.
fresh all_present
expect all_present 0 </dev/null

# A worker's host: the scheduler's public key only, mode 0644.
fresh server_pub
sed -i 's|"curve/scheduler.key"|"curve/scheduler.pub"|' "$dir/curve.conf"
expect server_pub 0 </dev/null

# Under systemd the keys come from $CREDENTIALS_DIRECTORY, named as
# LoadCredential=curve:DIR names them; none is left beside the config.
fresh credentials
mkdir "$dir/creds"
mv "$dir/curve/scheduler.key" "$dir/creds/curve_scheduler.key"
mv "$dir/curve/admin.key" "$dir/creds/curve_admin.key"
CREDENTIALS_DIRECTORY=$dir/creds
export CREDENTIALS_DIRECTORY
expect credentials 0 </dev/null
unset CREDENTIALS_DIRECTORY

fresh client_missing
rm "$dir/curve/admin.key"
expect client_missing 78 <<'EOF'
curve.conf: curve.client_key: cannot read the CURVE key: ./curve/admin.key: No such file or directory
EOF

# The client's own key must be a pair, not just a public key. (Its mode is
# checked before its content: made private, the content is what is wrong.)
fresh client_pub
sed -i 's|"curve/admin.key"|"curve/admin.pub"|' "$dir/curve.conf"
chmod 0600 "$dir/curve/admin.pub"
expect client_pub 78 <<'EOF'
curve.conf: curve.client_key: ./curve/admin.pub:1: missing 'secret_key'
EOF

# Written over in place, so still mode 0600.
fresh client_garbage
printf '# not a key\nthis is not libconfig\n' >"$dir/curve/admin.key"
expect client_garbage 78 <<'EOF'
curve.conf: curve.client_key: ./curve/admin.key:2: syntax error
EOF

fresh client_open
chmod 0644 "$dir/curve/admin.key"
expect client_open 78 <<'EOF'
curve.conf: curve.client_key: cannot read the CURVE key: ./curve/admin.key: holds a secret but is open to others (mode 0644); make it the owner's only (chmod 600)
EOF

# The scheduler's public key with the admin's secret key, mode 0600.
fresh server_mismatch
{
        grep '^public_key = ' "$dir/curve/scheduler.key"
        grep '^secret_key = ' "$dir/curve/admin.key"
} >"$dir/mixed"
cat "$dir/mixed" >"$dir/curve/scheduler.key"
expect server_mismatch 78 <<'EOF'
curve.conf: curve.server_key: ./curve/scheduler.key: secret_key and public_key are not one pair
EOF

# server_key may be a public key, but a pair is a secret, as the daemon says.
fresh server_pair_open
chmod 0644 "$dir/curve/scheduler.key"
expect server_pair_open 78 <<'EOF'
curve.conf: curve.server_key: cannot read the CURVE key: ./curve/scheduler.key: holds a secret but is open to others (mode 0644); make it the owner's only (chmod 600)
EOF

# Two faults, both reported, in the order the config has them.
fresh both
rm "$dir/curve/admin.key"
printf '# made by hand\npublic_key = "short";\n' >"$dir/curve/scheduler.key"
expect both 78 <<'EOF'
curve.conf: curve.server_key: ./curve/scheduler.key:2: 'public_key' is not a CURVE key (40 Z85 characters)
curve.conf: curve.client_key: cannot read the CURVE key: ./curve/admin.key: No such file or directory
EOF

# The service reads its key as its own user; this one cannot.
if ! can_limit; then
        skip "unreadable: root, and setpriv cannot take its power to read every file"
else
        fresh unreadable
        chmod 0000 "$dir/curve/admin.key"
        expect_unreadable unreadable 0 <<'EOF'
curve.conf: warning: curve.client_key: check-config cannot read './curve/admin.key' as this user, so did not check it; the services read their keys as their own user or from $CREDENTIALS_DIRECTORY
EOF
fi

the_end
