#!/usr/bin/env bash
# Integration test of the persistent store ([store] dir) and of two-phase
# uploads: three real trined processes on loopback with CURVE. Tensors,
# grants and job outputs survive a restart of every party exactly; a
# damaged file is named in the log and skipped; a client killed mid-upload
# leaves nothing behind; a put never committed never shows and expires.
#   it_store.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL IT_HOSTILE
set -u
src=$1 build=$2 npy=$3 hostile=$4
. "$src/tests/it_lib.sh"

mkdir -p "$dir/keys/clients" "$work/data"
"$trine" keygen --dir "$dir/keys" other >/dev/null && cp "$dir/keys/other.pub" "$dir/keys/clients/"
# --store: cluster.ini gets [store] dir = store (DIR/store/partyN). Later
# starts run the parties as local-cluster does, so that its stop finds them.
"$lc" start "$dir" --timeout-ms 2000 --store >/dev/null || fail "local-cluster start"
store=$dir/store

start_all() {
    for p in 0 1 2; do start_party $p; done
    wait_up || fail "the parties did not come up"
}
stop_all() { "$lc" stop "$dir" >/dev/null || fail "stop"; }
# The last "store ...: loaded" line of party $1's log.
loaded_line() { grep "store .*: loaded" "$dir/logs/party$1.log" | tail -n 1; }

for p in 0 1 2; do
    loaded_line $p | grep -q "store $store/party$p: loaded 0 tensors, skipped 0 files" ||
        fail "party$p did not open its store: $(loaded_line $p)"
    [ "$(stat -c %a "$store/party$p")" = 700 ] || fail "store/party$p is not mode 700"
done
ok "[store] dir: each party opens DIR/partyN (mode 700)"

# ---- share, grant, run; everything back after a restart -----------------
d=$work/data
"$npy" gen f1 31 "$d/x.npy" 24 10 && "$npy" gen f1 32 "$d/w.npy" 10 6 &&
    "$npy" gen i8 33 "$d/i.npy" 5 7 || fail gen
for t in x w i; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
printf 'batch x\ninput w\noutput y = relu(matmul(x, w))\n' >"$work/net.prog"
T grant w "$dir/keys/other.pub" --program "$work/net.prog" --batch 8 >/dev/null ||
    fail "grant w"
T run "$work/net.prog" --batch 8 --prefix p- >/dev/null || fail "run"
for t in x w i p-y; do T reveal $t -o "$work/before-$t.npy" || fail "reveal $t"; done
"$trine" run "$work/net.prog" --plaintext --dir "$d" --batch 8 --prefix plain- >/dev/null &&
    "$npy" cmp "$d/plain-y.npy" "$work/before-p-y.npy" 0.005 >/dev/null || fail "p-y is not x w"
for p in 0 1; do
    for t in x w i p-y; do
        [ "$(stat -c %a "$store/party$p/$t.share")" = 600 ] || fail "party$p/$t.share not mode 600"
    done
done
[ -z "$(ls -A "$store/party2")" ] || fail "party2, the helper, stored files: $(ls -A "$store/party2")"
ok "shared x w i, granted w, ran p-y = relu(x w): one file each on party0 and party1, mode 600"
# Outputs are fresh sharings: a copy of w does not hold w's share bytes.
printf 'input w\noutput wc = reshape(w, [10, 6])\n' >"$work/copy.prog"
T run "$work/copy.prog" --prefix c- >/dev/null || fail "copy w"
share_bytes() { tail -c $((60 * 8 + 32)) "$1" | head -c $((60 * 8)); }
for p in 0 1; do
    cmp -s <(share_bytes "$store/party$p/w.share") <(share_bytes "$store/party$p/c-wc.share") &&
        fail "party$p stored the copy of w with w's own share bytes"
done
T reveal c-wc -o "$work/c-wc.npy" >/dev/null && "$npy" cmp "$work/before-w.npy" "$work/c-wc.npy" 0 \
    >/dev/null || fail "the copy is not w"
T rm c-wc >/dev/null || fail "rm c-wc"
ok "a copy of w is stored as a fresh sharing: same value, other share bytes on both parties"

stop_all
start_all
for p in 0 1; do
    loaded_line $p | grep -q "loaded 4 tensors, skipped 0 files" ||
        fail "party$p after restart: $(loaded_line $p)"
done
for t in x w i p-y; do
    T reveal $t -o "$work/after-$t.npy" || fail "reveal $t after restart"
    "$npy" cmp "$work/before-$t.npy" "$work/after-$t.npy" 0 >/dev/null || fail "$t changed"
done
T ls | grep -q "may run program .* as input 'w'" || fail "the approval is lost: $(T ls)"
O ls | grep -q "^w .*approved for you" || fail "the grantee no longer sees w"
O share ox "$d/x.npy" >/dev/null &&
    O run "$work/net.prog" --bind x=ox --prefix o- --batch 8 >/dev/null ||
    fail "the approved w is not usable after the restart"
expect_fail "only its owner can reveal" O reveal w
T rm i >/dev/null || fail "rm i"
[ ! -e "$store/party0/i.share" ] && [ ! -e "$store/party1/i.share" ] || fail "rm left i's files"
ok "after stopping and starting all three: x w i p-y reveal exactly as before, w's grant holds, rm unlinks"

# local-cluster start on a DIR started before keeps its settings (store,
# ports, frac_bits) unless told; restart N brings one party back.
ports=$(grep '^peer' "$dir/cluster.ini")
stop_all
"$lc" start "$dir" >/dev/null || fail "local-cluster start again"
[ "$(grep '^peer' "$dir/cluster.ini")" = "$ports" ] || fail "start again changed the ports"
grep -q '^\[store\]' "$dir/cluster.ini" || fail "start again without --store dropped the store"
T reveal x -o "$work/again-x.npy" >/dev/null || fail "x lost after local-cluster start again"
kept_run() { # NAME: runs net.prog, checks it against plaintext, prints its masking bytes
    T run "$work/net.prog" --batch 8 --prefix $1- --stats "$work/$1.stats" >/dev/null &&
        T reveal $1-y -o "$work/$1.npy" >/dev/null || fail "run $1"
    "$npy" cmp "$d/plain-y.npy" "$work/$1.npy" 0.005 >/dev/null || fail "$1-y is not x w"
    sed -n 's/^mask_bytes=//p' "$work/$1.stats"
}
m1=$(kept_run k1) && m2=$(kept_run k2) || fail "kept runs"
"$lc" restart 1 "$dir" >/dev/null || fail "local-cluster restart 1"
loaded_line 1 | grep -q "loaded 7 tensors" || fail "party1 after restart 1: $(loaded_line 1)"
T reveal x -o "$work/again-x.npy" >/dev/null || fail "x lost after restart 1"
m3=$(kept_run k3) && m4=$(kept_run k4) || fail "kept runs after restart 1"
[ "$m1" = $((2 * 8 * 10 * 6)) ] && [ "$m2" = 0 ] && [ "$m3" = "$m1" ] && [ "$m4" = 0 ] ||
    fail "masking bytes $m1 $m2, after restart 1 $m3 $m4: want w masked, kept, masked again, kept"
for t in k1 k2 k3 k4; do T rm $t-y >/dev/null || fail "rm $t-y"; done
stop_all
"$lc" start "$dir" --frac-bits 12 >/dev/null && stop_all && "$lc" start "$dir" >/dev/null ||
    fail "local-cluster start with --frac-bits, then without"
grep -q '^frac_bits = 12$' "$dir/cluster.ini" || fail "start again lost frac_bits 12"
stop_all
"$lc" start "$dir" --frac-bits 13 >/dev/null || fail "local-cluster start --frac-bits 13"
ok "local-cluster start again keeps ports, store and frac_bits; restart 1 reloads party1's shares, and w, kept masked, is masked again once"

# ---- a damaged file is named in the log and skipped -----------------------
stop_all
# the byte at 300, inverted (a fixed byte could equal what is there)
b=$(od -An -tu1 -j300 -N1 "$store/party1/x.share" | tr -d ' ')
printf "\\x$(printf %02x $((b ^ 0xff)))" | dd of="$store/party1/x.share" bs=1 seek=300 conv=notrunc status=none
printf 'half a write' >"$store/party0/.tmp.w.Xy12Ab"
truncate -s 200 "$store/party0/p-y.share"
start_all
grep -q "store: p-y.share: skipped: 200 bytes where its header makes [0-9]*: truncated" \
    "$dir/logs/party0.log" || fail "party0 does not name the truncated p-y.share"
T ls | grep -q "^p-y .*INCOMPLETE: party0 has no share" || fail "p-y is not reported incomplete: $(T ls)"
grep -q "store: x.share: skipped: checksum mismatch" "$dir/logs/party1.log" ||
    fail "party1 does not name the damaged x.share"
loaded_line 1 | grep -q "loaded 4 tensors, skipped 1 files" || fail "party1: $(loaded_line 1)"
grep -q "store: .tmp.w.Xy12Ab: skipped: a temporary file left by an interrupted write; removed" \
    "$dir/logs/party0.log" && [ ! -e "$store/party0/.tmp.w.Xy12Ab" ] ||
    fail "party0 did not remove the leftover temporary file"
T ls | grep -q "^x .*INCOMPLETE: party1 has no share" || fail "x is not reported incomplete: $(T ls)"
for t in w; do
    T reveal $t -o "$work/again-$t.npy" && "$npy" cmp "$work/before-$t.npy" "$work/again-$t.npy" 0 \
        >/dev/null || fail "$t after a neighbour's damage"
done
ok "a flipped byte in party1's x.share, party0's p-y.share truncated: each logged by name, not loaded; the rest reveal exactly"

# ---- a client killed mid-upload leaves no tensor --------------------------
# party1 is stopped so that party0 takes its put while party1's waits; the
# client is killed then, before it could commit anything.
"$npy" gen f8 34 "$d/big.npy" 2000 1000 || fail gen
p1=$(cat "$dir/pids/party1.pid")
kill -STOP "$p1"
"$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" share big "$d/big.npy" \
    >"$work/big.out" 2>&1 &
client=$!
for _ in $(seq 100); do grep -q "put 'big'" "$dir/logs/party0.log" && break; sleep 0.1; done
grep -q "put 'big'" "$dir/logs/party0.log" || fail "party0 never got the put"
kill -KILL $client
wait $client 2>/dev/null
kill -CONT "$p1"
T ls | grep -q "big" && fail "the killed upload is listed: $(T ls)"
for _ in $(seq 60); do grep -q "dropped the upload of 'big'" "$dir/logs/party0.log" && break; sleep 0.1; done
grep -q "store: dropped the upload of 'big': upload by .* was not committed in time; wiped" \
    "$dir/logs/party0.log" || fail "party0 did not drop the uncommitted upload"
[ ! -e "$store/party0/big.share" ] || fail "an uncommitted upload reached the disk"
T share big "$d/big.npy" >/dev/null || fail "big cannot be shared again"
T reveal big -o "$work/big.out.npy" && "$npy" cmp "$d/big.npy" "$work/big.out.npy" 0.0001221 \
    >/dev/null || fail "big after the retry"
ok "share of 16 MB killed (SIGKILL) after party0 took its put: never listed, dropped after timeout_ms, shared again"

# ---- a put never committed (raw wire client) ------------------------------
"$hostile" "$dir/cluster.ini" "$dir/keys/client.key" staged hz >"$work/staged.out" ||
    { cat "$work/staged.out"; fail "uncommitted put"; }
grep -q "store: dropped the upload of 'hz'" "$dir/logs/party0.log" || fail "no log line for hz"
ok "a put without its commit: $(grep -c '^ok' "$work/staged.out") checks (invisible, refused, expired, freed)"

grep -h "store" "$dir"/logs/*.log | grep -Eq "[A-Za-z0-9+/]{40}" && fail "a key in a store log line"
stop_all
