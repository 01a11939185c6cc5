#!/bin/bash
# `autopackctl token new|hash`: the entries it prints are what the servers'
# --auth_file parser accepts, and the printed token is the one the hash is of.
set -euo pipefail
ctl=cli/autopackctl
fail() { echo "FAIL: $*" >&2; exit 1; }

out="$("$ctl" token new --name=alice --rights=submit,read)"
token="$(sed -n 2p <<<"$out")"
[[ "$token" =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "token '$token' is not 43 URL-safe base64 characters"
hash="$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)"
entry="$(sed -n '4,$p' <<<"$out")"
expected="$(printf '  - name: alice\n    token_sha256: %s\n    rights: [submit, read]' "$hash")"
[[ "$entry" == "$expected" ]] || fail "entry was:\n$entry\nexpected:\n$expected"

second="$("$ctl" token new --name=alice --rights=read | sed -n 2p)"
[[ "$second" != "$token" ]] || fail "two new tokens are equal"

# hash: of stdin, with or without the entry around it.
[[ "$(printf 'abc\n' | "$ctl" token hash)" == \
   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ]] || fail "token hash"
[[ "$(printf '%s' "$token" | "$ctl" token hash --name=alice --rights=submit,read)" == \
   "$expected" ]] || fail "token hash --name --rights"

# Mistakes are refused, and nothing secret is printed with them.
if "$ctl" token new --name=alice --rights=write >/dev/null 2>"$TEST_TMPDIR/err.txt"; then
  fail "an unknown right was accepted"
fi
grep -q "unknown right 'write'" "$TEST_TMPDIR/err.txt" || fail "unknown right not named"
set +e
"$ctl" token new --rights=read >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "token new without --name should exit 2"
printf '' | "$ctl" token hash >/dev/null 2>&1
[[ $? -eq 1 ]] || fail "token hash of nothing should fail"
set -e
echo PASS
