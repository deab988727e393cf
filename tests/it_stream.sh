#!/usr/bin/env bash
# Integration test of tensors larger than one message: a cluster whose
# max_message is 1 MiB shares, reveals and runs jobs on tensors of several
# MB, sent and fetched in parts; a client killed between two parts of an
# upload leaves nothing stored on either party.
#   it_stream.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL
set -u
src=$1 build=$2 npy=$3
. "$src/tests/it_lib.sh"

mkdir -p "$work/data"
d=$work/data
"$lc" start "$dir" --timeout-ms 2000 >/dev/null || fail "local-cluster start"
# local-cluster writes [cluster] itself: add max_message there, and start
# the parties as it does.
"$lc" stop "$dir" >/dev/null || fail "stop"
sed -i 's/^\[cluster\]$/[cluster]\nmax_message = 1M/' "$dir/cluster.ini"
grep -qx "max_message = 1M" "$dir/cluster.ini" || fail "max_message not set"
for p in 0 1 2; do start_party $p; done
wait_up || fail "the parties did not come up"
# parts at 1 MiB: (1048576 - 1024) / 8 elements
part=130944
puts() { grep -c "put '$1'" "$dir/logs/party$2.log"; }

# ---- share and reveal, exactly, in parts ---------------------------------
"$npy" gen i8 41 "$d/ints.npy" 1000 300 && "$npy" gen f8 42 "$d/reals.npy" 1000 300 || fail gen
T share ints "$d/ints.npy" >"$work/share.out" 2>&1 || fail "share ints: $(cat "$work/share.out")"
grep -q "shared 'ints' \[1000,300\] <i8 as integers: 2.3 MiB to each" "$work/share.out" ||
    fail "share said: $(cat "$work/share.out")"
for p in 0 1; do
    [ "$(puts ints $p)" = 3 ] || fail "party$p took $(puts ints $p) puts of ints, want 3 parts"
done
T reveal ints -o "$work/ints.npy" && "$npy" cmp "$d/ints.npy" "$work/ints.npy" 0 >/dev/null ||
    fail "ints revealed differ"
ok "2.4 MB of integers shared in 3 parts below max_message 1 MiB and revealed exactly"

T share reals "$d/reals.npy" >/dev/null || fail "share reals"
T reveal reals -o "$work/reals.npy" &&
    "$npy" cmp "$d/reals.npy" "$work/reals.npy" 0.0000611 >/dev/null || fail "reals revealed differ"
# what was revealed is fixed point already: shared again, it comes back bit for bit
T share reals2 "$work/reals.npy" >/dev/null && T reveal reals2 -o "$work/reals2.npy" &&
    "$npy" cmp "$work/reals.npy" "$work/reals2.npy" 0 >/dev/null || fail "reals2 not exact"
T reveal reals | head -n 1 | wc -w | grep -qx 300 || fail "printed reveal: not a row of 300"
ok "2.4 MB of reals: within 2^-14 of the file, and exactly again when shared a second time"

# ---- jobs on them: a stored tensor, and infer streaming a file both ways ---
printf 'batch x\noutput y = x + x\n' >"$work/double.prog"
T infer --model "$work/double.prog" --input reals --batch 1000 -o "$work/y.npy" >/dev/null ||
    fail "infer on the stored reals"
T infer --model "$work/double.prog" --input "$d/reals.npy" --batch 1000 -o "$work/y2.npy" \
    >/dev/null || fail "infer --input FILE"
T infer --model "$work/double.prog" --input "$d/reals.npy" --batch 1000 --plaintext \
    -o "$work/yp.npy" >/dev/null || fail "infer --plaintext"
for y in y y2; do
    "$npy" cmp "$work/yp.npy" "$work/$y.npy" 0.000123 >/dev/null || fail "$y differs from plaintext"
done
ok "infer on a stored 2.4 MB tensor and on a 2.4 MB file (in and out in parts) as in plaintext"

# ---- a client killed between two parts leaves nothing --------------------
# The file comes through a pipe that holds back all but its first 3 MB, so
# the client has sent two parts and waits for the third when it is killed.
"$npy" gen f8 43 "$d/huge.npy" 1000 1000 || fail gen
mkfifo "$work/pipe.npy"
(head -c 3000000 "$d/huge.npy" && exec sleep 60) >"$work/pipe.npy" &
writer=$!
# the client itself in the background, not T's subshell, so that the kill reaches it
"$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" share huge "$work/pipe.npy" \
    >"$work/huge.out" 2>&1 &
client=$!
for _ in $(seq 100); do
    grep -q "put 'huge' part at element $part" "$dir/logs/party1.log" && break
    sleep 0.1
done
grep -q "put 'huge' part at element $part" "$dir/logs/party1.log" ||
    fail "party1 never got the second part: $(cat "$work/huge.out")"
kill -KILL $client
wait $client 2>/dev/null
kill $writer
wait $writer 2>/dev/null
T ls | grep -q huge && fail "the killed upload is listed: $(T ls)"
grep -q "commit 'huge'" "$dir/logs/party0.log" "$dir/logs/party1.log" && fail "huge was committed"
for p in 0 1; do
    for _ in $(seq 60); do
        grep -q "dropped the upload of 'huge'" "$dir/logs/party$p.log" && break
        sleep 0.1
    done
    grep -q "store: dropped the upload of 'huge': upload by .* was not committed in time; wiped" \
        "$dir/logs/party$p.log" || fail "party$p did not drop the uncommitted upload (client: $(cat "$work/huge.out"))"
done
# ints, reals, reals2: 3 x 2.4 MB, nothing of huge's 8 MB
[ "$(T status | grep -c "3 tensors of yours, 6.9 MiB of")" = 2 ] || fail "bytes held: $(T status)"
expect_fail "no tensor named 'huge'" T reveal huge
ok "a client killed after 2 parts: nothing listed or committed, both parties drop it after timeout_ms"
