#!/bin/sh
# `ofsted-notifyctl check-config` on the secret files a config names.
#
#   check-secrets.sh CTL_BINARY SOURCE_DIR
#
# Each case copies tests/config/secrets/ (a config naming an SMTP password,
# two webhook URL files and a signing key, all under secrets/) into a
# directory of its own, writes the four files as an admin would (mode
# 0600, well formed), spoils something and runs check-config there. It
# must exit as expected, print "configuration OK" on stdout exactly when
# it exits 0 (else nothing), and on stderr exactly the lines written out
# below (the bank holiday warning aside, which depends on today's date).
#
# The case of a file someone else owns runs only as root, who may chown;
# the case of a file this user may not read runs as root without root's
# power to read every file (expect_unreadable). Each is skipped where it
# cannot run, and said to be.
# Exit status 0 when no case failed, 1 when one did, 2 on usage.

name=check-secrets
conf=secrets.conf
# shellcheck source=tests/config/expect.sh
. "$(dirname "$0")/expect.sh"

# Secrets are looked for in the config's directory unless a case says.
unset CREDENTIALS_DIRECTORY

URL=https://hooks.trust.example/workflows/abc
KEY=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# put FILE TEXT: writes TEXT (printf format) to $dir/secrets/FILE, 0600.
# shellcheck disable=SC2059 # TEXT is a format on purpose: \r, \n
put() {
        (umask 077 && printf "$2" >"$dir/secrets/$1") || exit 1
        chmod 0600 "$dir/secrets/$1" || exit 1
}

# fresh NAME: $dir becomes a new copy of the config with its four secret
# files, its holidays pointed back at the source tree.
fresh() {
        dir=$tmp/$1
        mkdir -p "$dir/secrets" || exit 1
        copy_conf "$1" "$srcdir/tests/config/secrets/secrets.conf"
        put smtp-password 'correct horse battery staple\n'
        put teams-leaders.url "$URL/leaders\\n"
        put it.url "$URL/it\\n"
        put it.key "$KEY\\n"
}

# All four as an admin writes them.
fresh all_good
expect all_good 0 </dev/null

# Written on Windows: one CR LF at the end is a line end like LF.
fresh crlf_end
put teams-leaders.url "$URL/leaders\\r\\n"
expect crlf_end 0 </dev/null

# Under systemd they come from $CREDENTIALS_DIRECTORY, as the shipped unit's
# LoadCredential=secrets:DIR names them; systemd's ACL shows as 0440.
fresh credentials
mkdir "$dir/creds"
for f in smtp-password teams-leaders.url it.url it.key; do
        mv "$dir/secrets/$f" "$dir/creds/secrets_$f"
        chmod 0440 "$dir/creds/secrets_$f"
done
CREDENTIALS_DIRECTORY=$dir/creds
export CREDENTIALS_DIRECTORY
expect credentials 0 </dev/null
unset CREDENTIALS_DIRECTORY

fresh url_open
chmod 0644 "$dir/secrets/teams-leaders.url"
expect url_open 78 <<'EOF'
secrets.conf:18: secret file 'secrets/teams-leaders.url': readable by others (mode 0644); chmod 600 it
EOF

# Group read is let through for a credential only.
fresh password_group
chmod 0640 "$dir/secrets/smtp-password"
expect password_group 78 <<'EOF'
secrets.conf:14: secret file 'secrets/smtp-password': readable by its group (mode 0640); chmod 600 it
EOF

fresh url_two_lines
put teams-leaders.url "$URL/leaders\\r\\n$URL/other\\r\\n"
expect url_two_lines 78 <<'EOF'
secrets.conf:18: secret file 'secrets/teams-leaders.url': holds more than one line
EOF

fresh url_trailing_space
put it.url "$URL/it  \\n"
expect url_trailing_space 78 <<'EOF'
secrets.conf:20: secret file 'secrets/it.url': has white space at the start or end of its line
EOF

fresh url_http
put it.url 'http://hooks.trust.example/it\n'
expect url_http 78 <<'EOF'
secrets.conf:20: secret file 'secrets/it.url': holds a plain http:// URL to 'hooks.trust.example': use https:// (http is allowed only to loopback)
EOF

fresh url_missing
rm "$dir/secrets/teams-leaders.url"
expect url_missing 78 <<'EOF'
secrets.conf:18: secret file 'secrets/teams-leaders.url': does not exist
EOF

fresh key_not_base64
put it.key 'whsec_not base64!\n'
expect key_not_base64 78 <<'EOF'
secrets.conf:21: secret file 'secrets/it.key': the signing secret is not valid base64 after 'whsec_'
EOF

fresh key_no_prefix
put it.key 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n'
expect key_no_prefix 78 <<'EOF'
secrets.conf:21: secret file 'secrets/it.key': the signing secret must be 'whsec_' followed by a base64 key
EOF

fresh password_empty
put smtp-password '\n'
expect password_empty 78 <<'EOF'
secrets.conf:14: secret file 'secrets/smtp-password': is empty
EOF

# Every fault, in the order of the config.
fresh all_bad
put smtp-password ''
chmod 0604 "$dir/secrets/teams-leaders.url"
rm "$dir/secrets/it.url"
put it.key "$KEY\\n\\n"
expect all_bad 78 <<'EOF'
secrets.conf:14: secret file 'secrets/smtp-password': is empty
secrets.conf:18: secret file 'secrets/teams-leaders.url': readable by others (mode 0604); chmod 600 it
secrets.conf:20: secret file 'secrets/it.url': does not exist
secrets.conf:21: secret file 'secrets/it.key': holds more than one line
EOF

# A password to Microsoft 365, which is turning SMTP AUTH with passwords
# off: a warning at password_file, and still OK. The host in any case.
fresh office365_password
sed -i 's|smtps://smtp.trust.example:465|smtps://SMTP.Office365.com:465|' \
        "$dir/$conf"
expect office365_password 0 <<'EOF'
secrets.conf:14: warning: email.password_file: Microsoft 365 stops taking SMTP AUTH with a password: off by default for existing tenants from the end of December 2026, gone in 2027 (message centre MC786329), when every email alert would stop; sign the worker in with email.oauth2 instead (README: "Email through Microsoft 365")
EOF

# email.oauth2's secret files, in the shipped config's own commented
# examples: "#ms " (Microsoft 365, a certificate and its private key) or
# "#google " (a service account key) uncommented. The private key, the
# client secret and the service account key are secrets; the certificate
# is public.
# fresh_oauth2 NAME MARKER: $dir becomes a copy of the shipped config with
# that example on and its files written as an admin would.
fresh_oauth2() {
        shipped_example "$1" "$2"
        # A real pair: check-config reads the certificate and matches
        # the key to it (check-certs.sh).
        if ! (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes \
                -keyout "$dir/secrets/smtp-oauth.key" \
                -out "$dir/secrets/smtp-oauth.crt" \
                -subj "/CN=ofsted-notify test app" -days 400) 2>/dev/null; then
                echo "FAIL: $1: openssl req -x509 failed" >&2
                exit 1
        fi
        chmod 0644 "$dir/secrets/smtp-oauth.crt"
        put smtp-oauth-secret 'Xq8Q~client.secret-value\n'
        put smtp-sa.json '{"type": "service_account"}\n'
        # The shipped config's channels name these.
        put teams-leaders.url "$URL/leaders\\n"
        put it.key "$KEY\\n"
}

# line_of KEY: the line of the config in $dir that sets KEY.
line_of() {
        grep -n "^[^#]*$1 = " "$dir/$conf" | cut -d: -f1
}

fresh_oauth2 oauth2_microsoft ms
expect oauth2_microsoft 0 </dev/null

fresh_oauth2 oauth2_google google
expect oauth2_google 0 </dev/null

fresh_oauth2 oauth2_key_open ms
chmod 0644 "$dir/secrets/smtp-oauth.key"
expect oauth2_key_open 78 <<EOF
$conf:$(line_of private_key_file): secret file 'secrets/smtp-oauth.key': readable by others (mode 0644); chmod 600 it
EOF

# The client secret instead of the certificate.
fresh_oauth2 oauth2_secret_group ms
sed -i -e '/^  *certificate_file = /d' \
        -e 's|private_key_file = "secrets/smtp-oauth.key"; };|client_secret_file = "secrets/smtp-oauth-secret"; };|' \
        "$dir/$conf"
chmod 0640 "$dir/secrets/smtp-oauth-secret"
expect oauth2_secret_group 78 <<EOF
$conf:$(line_of client_secret_file): secret file 'secrets/smtp-oauth-secret': readable by its group (mode 0640); chmod 600 it
EOF

fresh_oauth2 oauth2_service_account_missing google
rm "$dir/secrets/smtp-sa.json"
expect oauth2_service_account_missing 78 <<EOF
$conf:$(line_of service_account_file): secret file 'secrets/smtp-sa.json': does not exist
EOF

if [ "$(id -u)" -eq 0 ]; then
        fresh_oauth2 oauth2_someone_elses google
        chown 65534 "$dir/secrets/smtp-sa.json"
        expect oauth2_someone_elses 78 <<EOF
$conf:$(line_of service_account_file): secret file 'secrets/smtp-sa.json': owned by uid 65534, who could rewrite it; make it root's or uid 0's
EOF
else
        skip "oauth2_someone_elses: only root may chown"
fi

if [ "$(id -u)" -eq 0 ]; then
        # Another user could rewrite it.
        fresh someone_elses
        chown 65534 "$dir/secrets/it.url"
        expect someone_elses 78 <<'EOF'
secrets.conf:20: secret file 'secrets/it.url': owned by uid 65534, who could rewrite it; make it root's or uid 0's
EOF
else
        skip "someone_elses: only root may chown"
fi

if can_limit; then
        # The worker reads it as its own user; this one cannot.
        fresh unreadable
        chmod 0000 "$dir/secrets/it.url"
        expect_unreadable unreadable 0 <<'EOF'
secrets.conf:20: warning: check-config cannot read secret file 'secrets/it.url' ('./secrets/it.url') as this user, so did not check it; the workers read it as their own user or from $CREDENTIALS_DIRECTORY
EOF
else
        skip "unreadable: root, and setpriv cannot take its power to read every file"
fi

the_end
