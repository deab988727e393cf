#!/usr/bin/env bash
# Integration test: three real trined processes on loopback with CURVE,
# started by deploy/local-cluster, driven with the trine client.
#   it_cluster.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL IT_HOSTILE
set -u
src=$1 build=$2 npy=$3 hostile=$4
. "$src/tests/it_lib.sh"

# A second allowed client and a stranger, made before the parties start.
mkdir -p "$dir/keys/clients"
"$trine" keygen --dir "$dir/keys" other >/dev/null && cp "$dir/keys/other.pub" "$dir/keys/clients/"
"$trine" keygen --dir "$work" stranger >/dev/null
"$lc" start "$dir" --timeout-ms 2000 >/dev/null || fail "local-cluster start"
T status >/dev/null || fail "status after start"
ok "three parties up, each sees the other two"

# ---- share and reveal: integers exactly, floats within one step --------
for shape in "1" "7 3" "2 3 4 5" "1000 1000"; do
    "$npy" gen i8 11 "$work/i.npy" $shape && "$npy" gen f8 12 "$work/f.npy" $shape || fail gen
    T share i "$work/i.npy" >/dev/null || fail "share ints [$shape]"
    T share f "$work/f.npy" >/dev/null || fail "share floats [$shape]"
    T reveal i -o "$work/i.out.npy" && T reveal f -o "$work/f.out.npy" || fail "reveal [$shape]"
    "$npy" cmp "$work/i.npy" "$work/i.out.npy" 0 >/dev/null || fail "ints differ [$shape]"
    "$npy" cmp "$work/f.npy" "$work/f.out.npy" 0.00006103515625 >/dev/null ||
        fail "floats beyond 2^-14 [$shape]"
    T rm i >/dev/null && T rm f >/dev/null || fail "rm [$shape]"
done
ok "share/reveal of 1 to 1,000,000 elements: ints exact, floats within half a step"
printf '1,-2,3\n9223372036854775807,-9223372036854775808,0\n' >"$work/e.csv"
T share e "$work/e.csv" >/dev/null && [ "$(T reveal e)" = "$(printf '1 -2 3\n9223372036854775807 -9223372036854775808 0')" ] ||
    fail "csv int64 edges do not come back exactly"
ok "csv with the int64 extremes comes back exactly (printed)"

# More than 64 MiB: 9,000,000 float64 values (72 MB of shares per party).
"$npy" gen f8 13 "$work/big.npy" 3000 3000 || fail gen
start=$(date +%s.%N)
T share big "$work/big.npy" >/dev/null || fail "share 72 MB"
mid=$(date +%s.%N)
T reveal big -o "$work/big.out.npy" || fail "reveal 72 MB"
end=$(date +%s.%N)
"$npy" cmp "$work/big.npy" "$work/big.out.npy" 0.00006103515625 >/dev/null || fail "72 MB differs"
T rm big >/dev/null
ok "9,000,000 values: share $(awk "BEGIN{printf \"%.2f\", $mid - $start}") s, reveal $(awk "BEGIN{printf \"%.2f\", $end - $mid}") s"

# ---- bad files ---------------------------------------------------------
printf 'NOT A NPY' >"$work/bad.npy"
expect_fail "bad.npy" T share x "$work/bad.npy"
printf '1,2\n3\n' >"$work/ragged.csv"
expect_fail "ragged.csv" T share x "$work/ragged.csv"
printf '1.0,nan\n' >"$work/nan.csv"
expect_fail "nan.csv" T share x "$work/nan.csv"
ok "malformed .npy, ragged .csv and NaN are refused with the file named"

# ---- fixed-point range -------------------------------------------------
# Shares are held where comparisons are exact, |x| < 2^(62-f); a revealed
# value past that wrapped, and reveal says so; the plaintext backend says
# the same of NaN and infinities.
printf '1.5,-700000000000000\n' >"$work/huge.csv"
expect_fail "huge.csv: element 1 is -700000000000000, beyond the range of shared values with 13 fraction bits: |x| < 2^49" \
    T share x "$work/huge.csv"
printf '281474976710656.0,1.0\n' >"$work/edge.csv" # 2^48, in range
out=$(T share edge "$work/edge.csv" 2>&1) || fail "share 2^48: $out"
printf 'input edge\noutput d = edge * 2\n' >"$work/double.prog"
T run "$work/double.prog" --prefix p- >/dev/null || fail "run edge * 2"
out=$(T reveal p-d 2>&1 >/dev/null)
grep -qF "trine reveal: warning: 'p-d' has 1 of 2 values at the edge of the ring (|x| >= 2^49, the first element 0" <<<"$out" ||
    fail "no warning of a wrapped value: '$out'"
[ -z "$(T reveal edge 2>&1 >/dev/null)" ] || fail "a warning for values in range"
T rm edge >/dev/null && T rm p-d >/dev/null || fail "rm edge, p-d"
mkdir -p "$work/plain"
printf "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }                                                            \x0aZb\xd7\xd7\x18\xe7ti\x00\x00\x00\x00\x00\x00\xf0?" \
    >"$work/plain/e.npy" # [1e200, 1]
printf 'input e\noutput d = e * e\n' >"$work/square.prog"
out=$("$trine" run "$work/square.prog" --plaintext --dir "$work/plain" 2>&1 >/dev/null)
grep -qF "trine run: warning: 'd' has 1 of 2 values NaN or infinite (the first element 0 = inf)" <<<"$out" ||
    fail "no warning of an infinite plaintext value: '$out'"
ok "7e14 refused at share time (limit 2^49 at f = 13); a wrapped value and an infinite one are reported"

# ---- owners, grants, keys ----------------------------------------------
"$npy" gen f8 14 "$work/w.npy" 4 4
T share w "$work/w.npy" >/dev/null || fail "share w"
expect_fail "already have a tensor named 'w'" T share w "$work/w.npy"
expect_fail "refused this client's key" "$trine" -c "$dir/cluster.ini" -i "$work/stranger.key" status
# A burst of refused handshakes from one address: a line a second, with a count.
for _ in $(seq 10); do "$trine" -c "$dir/cluster.ini" -i "$work/stranger.key" status >/dev/null 2>&1; done
sleep 1.1
"$trine" -c "$dir/cluster.ini" -i "$work/stranger.key" status >/dev/null 2>&1
lines=$(grep -c "refused a client connection from 127.0.0.1" "$dir/logs/party0.log")
[ "$lines" -lt 11 ] || fail "12 refused handshakes logged as $lines lines on party0"
grep "refused a client connection from 127.0.0.1" "$dir/logs/party0.log" | tail -n 1 |
    grep -q "(and [0-9]* more from there in the last 1 s)" || fail "the refusals left unlogged are not counted"
expect_fail "only its owner can reveal" O reveal w
expect_fail "only its owner can remove" O rm w
[ -z "$(O ls)" ] || fail "the other client sees w before a grant"
printf 'batch x\ninput w\noutput y = matmul(x, w)\n' >"$work/wx.prog"
expect_fail "not an allowed client" T grant w "$work/stranger.pub" --program "$work/wx.prog"
T grant w "$dir/keys/other.pub" >/dev/null 2>&1
[ $? = 2 ] || fail "a grant naming no program is not a usage error"
T grant w "$dir/keys/other.pub" --program "$work/wx.prog" >/dev/null || fail "grant"
O ls | grep -q "^w .*approved for you" || fail "the grantee does not see w"
O ls | grep -q "may run program [0-9a-f]*\.\.\. with it as input 'w'" ||
    fail "the grantee does not see what it may run: $(O ls)"
T ls | grep -q "may run program" || fail "the owner does not see the approval: $(T ls)"
expect_fail "it approved programs that may read it, but only its owner can reveal it" O reveal w
T reveal w -o "$work/w.out.npy" && "$npy" cmp "$work/w.npy" "$work/w.out.npy" 0.0001 >/dev/null ||
    fail "owner reveal after grant"
expect_fail "no tensor named 'nope'" T reveal nope
ok "stranger key refused (a burst logged as $lines lines, with a count); other client cannot reveal or rm; after grant it sees but cannot reveal"

# ---- hostile messages ----------------------------------------------------
"$hostile" "$dir/cluster.ini" "$dir/keys/client.key" >"$work/hostile.out" ||
    { cat "$work/hostile.out"; fail "hostile messages"; }
grep -q "rejected a" "$dir/logs/party0.log" || fail "no log line for a malformed request"
T reveal w >/dev/null || fail "w lost after hostile messages"
! grep -q "^FORGED" "$dir/logs/party0.log" || fail "a client's name forged a log line"
grep -q 'x\\x0aFORGED' "$dir/logs/party0.log" || fail "the newline in a name is not escaped"
ok "$(grep -c '^ok' "$work/hostile.out") malformed-message checks: error replies, log lines, party serves on"

# ---- no secrets in logs --------------------------------------------------
for k in "$dir"/keys/*.key "$dir/keys/other.key"; do
    secret=$(grep -v '^#' "$k")
    ! grep -qF -- "$secret" "$dir"/logs/*.log || fail "a secret key appears in a log"
done
ok "no secret key in any log"

# ---- key file checks, config mismatch -----------------------------------
cp "$dir/keys/party0.key" "$work/loose.key" && chmod 644 "$work/loose.key"
out=$("$trined" -c "$dir/cluster.ini" -p 0 -k "$work/loose.key" 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "chmod 600" <<<"$out" || fail "loose key: rc $rc, '$out'"
out=$("$trined" -c "$dir/cluster.ini" -p 1 -k "$dir/keys/party0.key" 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "not party1's key" <<<"$out" || fail "wrong key: rc $rc, '$out'"
"$trined" --help | grep -q "3  the configuration or a key file is unusable" || fail "trined --help"
ok "trined refuses a group-readable key (chmod 600 hint) and another party's key, exit 3"

p2=$(cat "$dir/pids/party2.pid")
kill -TERM "$p2"; sleep 0.5
sed 's/^frac_bits = 13/frac_bits = 12/' "$dir/cluster.ini" >"$dir/cluster-12.ini"
"$trined" -c "$dir/cluster-12.ini" -p 2 -k "$dir/keys/party2.key" 2>"$work/p2.log" &
bad=$!
for _ in $(seq 50); do grep -q "differs" "$dir/logs/party0.log" && break; sleep 0.1; done
grep -q "cluster.frac_bits is 13 here but 12 there" "$dir/logs/party0.log" ||
    fail "party0 does not say what differs"
expect_fail "cluster.frac_bits is 13 here but 12 there" T reveal w
T status | grep -q "party2 MISMATCH" || fail "status does not show the mismatch"
kill -TERM $bad; wait $bad
start_party 2
wait_up || fail "party2 back with the right config is not up"
T reveal w >/dev/null || fail "serving after the mismatch was fixed"
ok "a party with another frac_bits is named with the difference; work resumes when fixed"

# ---- a party goes away ---------------------------------------------------
p1=$(cat "$dir/pids/party1.pid")
kill -KILL "$p1"
t0=$(date +%s.%N)
expect_fail "party1 (tcp://127.0.0.1:" T reveal w
t1=$(date +%s.%N)
for _ in $(seq 50); do grep -Eq "party1 .* (went silent|closed its connection)" "$dir/logs/party0.log" && break; sleep 0.1; done
grep -Eq "party1 .* (went silent|closed its connection)" "$dir/logs/party0.log" || fail "party0 does not report party1 gone"
T status | grep -q "^party1  down" || fail "status does not show party1 down"
start_party 1
wait_up || fail "party1 back is not up"
O ls >/dev/null || fail "ls after restart"
ok "party1 killed: the client names it after $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s, party0 logs it, it rejoins"

# ---- clean stop -----------------------------------------------------------
p0=$(cat "$dir/pids/party0.pid")
kill -INT "$p0"
for _ in $(seq 50); do kill -0 "$p0" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$p0" 2>/dev/null || fail "party0 ignores SIGINT"
grep -q "stopping on SIGINT" "$dir/logs/party0.log" && tail -n 1 "$dir/logs/party0.log" | grep -q "stopped" ||
    fail "party0 did not log a clean stop"
"$lc" stop "$dir" | grep -q "stopped 2 parties" || fail "local-cluster stop"
"$lc" status "$dir" >/dev/null && fail "status says running after stop"
ok "SIGINT and SIGTERM stop the parties cleanly; local-cluster stop stops only its own"
echo "it_cluster: all passed"
