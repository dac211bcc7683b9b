#!/bin/sh
# `ofsted-notifyctl check-config` on email.oauth2's certificate.
#
#   check-certs.sh CTL_BINARY SOURCE_DIR
#
# Each case takes the shipped config with its Microsoft 365 example
# ("#ms ") uncommented into a directory of its own, makes the certificate
# and its private key there with `openssl req -x509` as the README tells
# an admin to, spoils something and runs check-config there. It must exit
# as expected, print "configuration OK" on stdout exactly when it exits 0
# (else nothing), and on stderr exactly the lines written out below (the
# bank holiday warning aside, which depends on today's date). The dates
# in them are the certificate's notAfter as openssl prints it, put in the
# trust's zone by date(1).
#
# An expired certificate is made with the clock of openssl set back by
# libfaketime ($FAKETIME_LIBRARY, which CMake finds); without it that case
# is skipped, and said to be. A file this user may not read is a warning,
# checked as root without root's power to read every file.
# Exit status 0 when no case failed, 1 when one did, 2 on usage.

name=check-certs
conf=ofsted-notify.conf
# shellcheck source=tests/config/expect.sh
. "$(dirname "$0")/expect.sh"

unset CREDENTIALS_DIRECTORY
# The shipped config's trust.timezone: the messages' dates are in it.
TRUST_TZ=Europe/London
CRT=secrets/smtp-oauth.crt
KEY=secrets/smtp-oauth.key

# line_of KEY: the line of the config in $dir that sets KEY.
line_of() {
        grep -n "^[^#]*$1 = " "$dir/$conf" | cut -d: -f1
}

# make_cert DAYS [KEYFILE]: a new key (or KEYFILE's, kept) and a
# certificate of it valid from now for DAYS days, as $CRT and $KEY in $dir.
make_cert() {
        if [ -n "$2" ]; then
                keyarg="-key $dir/$2"
        else
                keyarg="-newkey rsa:2048 -nodes -keyout $dir/$KEY"
        fi
        # shellcheck disable=SC2086 # keyarg is two or four words
        if ! (umask 077 && openssl req -x509 $keyarg -out "$dir/$CRT" \
                -subj "/CN=ofsted-notify test app" -days "$1") 2>"$tmp/openssl.err"; then
                echo "FAIL: openssl req -x509:" >&2
                cat "$tmp/openssl.err" >&2
                exit 1
        fi
        chmod 0644 "$dir/$CRT" || exit 1
}

# fresh NAME DAYS: $dir becomes a copy of the shipped config with the
# Microsoft 365 example on and a certificate valid for DAYS days.
fresh() {
        shipped_example "$1" ms
        (umask 077 && printf 'https://hooks.trust.example/leaders\n' \
                >"$dir/secrets/teams-leaders.url" &&
                printf 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n' \
                        >"$dir/secrets/it.key") || exit 1
        make_cert "$2"
}

# not_after: the certificate's end as people read it in the trust's zone,
# "Tue 5 Jan 2027 09:00 GMT", from openssl's own reading of it.
not_after() {
        end=$(openssl x509 -in "$dir/$CRT" -noout -enddate) || exit 1
        TZ=$TRUST_TZ LC_ALL=C date -d "${end#notAfter=}" '+%a %-d %b %Y %H:%M %Z'
}

# cert_at, key_at: "ofsted-notify.conf:LINE" of the two settings in $dir.
cert_at() { echo "$conf:$(line_of certificate_file)"; }
key_at() { echo "$conf:$(line_of private_key_file)"; }

fresh valid 400
expect valid 0 </dev/null

# Ten days to go: a warning with the date and the days, and still OK.
fresh ending 10
expect ending 0 <<EOF
$(cert_at): warning: email.oauth2.certificate_file '$CRT' expires on $(not_after) (in 10 days): Entra ID refuses it from then on; upload a new one to the app registration and replace the file before then
EOF

if [ -n "$FAKETIME_LIBRARY" ] && [ -r "$FAKETIME_LIBRARY" ]; then
        # Made 400 days ago for 30: it ended 370 days ago.
        fresh expired 400
        LD_PRELOAD=$FAKETIME_LIBRARY FAKETIME=-400d make_cert 30 "$KEY"
        expect expired 78 <<EOF
$(cert_at): email.oauth2.certificate_file '$CRT' expired on $(not_after): Entra ID refuses it; upload a new one to the app registration and replace the file
EOF
else
        skip "expired: no libfaketime to make a certificate in the past"
fi

# Another key than the certificate's.
fresh key_mismatch 400
mv "$dir/$KEY" "$dir/$KEY.old"
(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$dir/$KEY" 2>/dev/null) || exit 1
expect key_mismatch 78 <<EOF
$(key_at): email.oauth2.private_key_file '$KEY': does not match the certificate
EOF

# An EC key and its certificate: Entra ID takes it, the PS256 assertion
# cannot be signed with it.
fresh key_not_rsa 400
rm "$dir/$KEY"
(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$dir/$KEY" 2>/dev/null) || exit 1
make_cert 400 "$KEY"
expect key_not_rsa 78 <<EOF
$(key_at): email.oauth2.private_key_file '$KEY': holds a key of type EC: the PS256 assertion needs an RSA key
EOF

fresh cert_missing 400
rm "$dir/$CRT"
expect cert_missing 78 <<EOF
$(cert_at): email.oauth2.certificate_file '$CRT': does not exist
EOF

# The key where the certificate should be, and a DER certificate: no PEM
# certificate either.
fresh cert_is_key 400
cp "$dir/$KEY" "$dir/$CRT"
expect cert_is_key 78 <<EOF
$(cert_at): email.oauth2.certificate_file '$CRT': holds no PEM certificate
EOF

fresh cert_der 400
openssl x509 -in "$dir/$CRT" -outform DER -out "$dir/$CRT.der" || exit 1
mv "$dir/$CRT.der" "$dir/$CRT"
expect cert_der 78 <<EOF
$(cert_at): email.oauth2.certificate_file '$CRT': holds no PEM certificate
EOF

# Every fault at once: an ended certificate is still checked against its
# key.
if [ -n "$FAKETIME_LIBRARY" ] && [ -r "$FAKETIME_LIBRARY" ]; then
        fresh all_bad 400
        mv "$dir/$KEY" "$dir/$KEY.old"
        LD_PRELOAD=$FAKETIME_LIBRARY FAKETIME=-400d make_cert 30
        mv "$dir/$KEY.old" "$dir/$KEY"
        expect all_bad 78 <<EOF
$(cert_at): email.oauth2.certificate_file '$CRT' expired on $(not_after): Entra ID refuses it; upload a new one to the app registration and replace the file
$(key_at): email.oauth2.private_key_file '$KEY': does not match the certificate
EOF
else
        skip "all_bad: no libfaketime to make a certificate in the past"
fi

if ! can_limit; then
        skip "unreadable: root, and setpriv cannot take its power to read every file"
else
        fresh unreadable 400
        chmod 0000 "$dir/$CRT"
        expect_unreadable unreadable 0 <<EOF
$(cert_at): warning: check-config cannot read email.oauth2.certificate_file '$CRT' ('./$CRT') as this user, so did not check it; the workers read it as their own user or from \$CREDENTIALS_DIRECTORY
EOF
fi

the_end
