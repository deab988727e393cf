#!/bin/sh
# `trine keygen` as a user runs it: files and modes, no overwrite, exit codes.
set -u
trine=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$trine" keygen --dir "$dir/keys" party0 client >/dev/null || fail "keygen failed"
[ "$(stat -c %a "$dir/keys/party0.key")" = 600 ] || fail "secret key is not 0600"
[ "$(stat -c %a "$dir/keys/client.pub")" = 644 ] || fail "public key is not 0644"
before=$(cat "$dir/keys/party0.key")
"$trine" keygen --dir "$dir/keys" party0 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] || fail "overwrite attempt exited $rc, want 1"
grep -q "exists already" "$dir/err" || fail "no 'exists already' message"
[ "$(cat "$dir/keys/party0.key")" = "$before" ] || fail "secret key was overwritten"
"$trine" keygen 2>/dev/null; [ $? -eq 2 ] || fail "keygen without names should exit 2"
"$trine" keygen --dir "$dir" ../evil 2>/dev/null; [ $? -eq 2 ] || fail "bad name should exit 2"
"$trine" frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown verb should exit 2"
"$trine" --help | grep -q "keygen \[--dir DIR\] NAME" || fail "--help does not show keygen"
echo "cli_keygen: ok"
