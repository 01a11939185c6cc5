#!/usr/bin/env bash
# Makes everything the compose deployment reads from its secrets directory:
#   ca.pem                 the CA every service and client trusts (ca.key stays here)
#   NAME.pem, NAME.key     a certificate per service (DNS:NAME, localhost, 127.0.0.1),
#                          for its listener, its health probe and, for the
#                          Supervisor, its client certificate to the peers (mTLS)
#   callers.yaml           the --auth_file of every service: token hashes and rights
#   supervisor.token       the Supervisor's token to its peers (right: service)
#   operator.token         a caller that may submit, read and cancel runs
#   postgres_password      the store's password, and pgpass, the same for libpq
#   provider_keys.env      OPENAI_API_KEY / ANTHROPIC_API_KEY from this environment
#                          (placeholders when unset; the fake provider needs none)
# Usage: deploy/compose/make-secrets.sh DIR [AUTOPACKCTL]
# AUTOPACKCTL (default bazel-bin/cli/autopackctl) makes the tokens. Files are
# owned by uid 10001, the user of every image, and readable by it alone.
set -euo pipefail
DIR="${1:?usage: make-secrets.sh DIR [AUTOPACKCTL]}"
CTL="${2:-bazel-bin/cli/autopackctl}"
CTL="$(cd "$(dirname "$CTL")" && pwd)/$(basename "$CTL")"
mkdir -p "$DIR"
cd "$DIR"
umask 077

K=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${K[@]}" -keyout ca.key -out ca.pem -days 365 -subj /CN=autopack-compose-ca 2>/dev/null
for name in supervisor builder auditor gitadapter; do
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n' "$name" >"$name.ext"
  openssl req "${K[@]}" -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$name.pem" -days 365 -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
done

# `token new` prints a comment, the token, a comment, then the callers entry.
echo "callers:" >callers.yaml
for entry in supervisor:service operator:submit,read,cancel; do
  name="${entry%%:*}"
  out="$("$CTL" token new --name="$name" --rights="${entry#*:}")"
  sed -n '2p' <<<"$out" >"$name.token"
  sed -n '4,$p' <<<"$out" >>callers.yaml
done

openssl rand -hex 24 >postgres_password
printf 'postgres:5432:autopack:autopack:%s\n' "$(cat postgres_password)" >pgpass
printf 'OPENAI_API_KEY=%s\nANTHROPIC_API_KEY=%s\n' \
  "${OPENAI_API_KEY:-unset-openai-key}" "${ANTHROPIC_API_KEY:-unset-anthropic-key}" >provider_keys.env

if [[ $(id -u) -eq 0 ]]; then chown -R 10001:10001 .; fi
chmod 0700 .
chmod 0600 ./*
echo "secrets in $PWD"
