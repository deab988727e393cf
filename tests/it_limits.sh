#!/usr/bin/env bash
# Integration test of the limits one client meets ([limits], daemon/party/budget.h)
# on three real trined processes with CURVE and two clients: memory bombs
# refused before they allocate, one client's jobs beside another's, a
# killed client's job cancelled, a party killed mid-job named at once with
# timeout_ms 30000, a connection flood under 1024 descriptors.
#   it_limits.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL IT_FLOOD
set -u
src=$1 build=$2 npy=$3 flood=$4
. "$src/tests/it_lib.sh"

now() { date +%s.%N; }
since() { awk "BEGIN{printf \"%.2f\", $(now) - $1}"; }
mkdir -p "$dir/keys/clients" "$work/data"
"$trine" keygen --dir "$dir/keys" other >/dev/null && cp "$dir/keys/other.pub" "$dir/keys/clients/"
printf '[limits]\njob_memory = 512M\njobs_memory = 2G\nclient_jobs = 2\n' >"$work/limits.ini"
"$lc" start "$dir" --timeout-ms 30000 --ini "$work/limits.ini" >/dev/null || fail "local-cluster start"
grep -q "limits: 512.0 MiB a job, 2.0 GiB all jobs" "$dir/logs/party0.log" ||
    fail "party0 does not log its limits: $(grep limits: "$dir/logs/party0.log")"
d=$work/data

# ---- 1. memory bombs: refused from the shapes, before any allocation -----
"$npy" gen f1 1 "$d/one.npy" 1 && "$npy" gen f1 2 "$d/col.npy" 20000 1 &&
    "$npy" gen f1 3 "$d/row.npy" 1 20000 && "$npy" gen f1 4 "$d/k.npy" 1 1 1 1 || fail gen
for t in one col row k; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
printf 'input one k\noutput y = conv2d(reshape(one, [1, 1, 1, 1]), k, pad=5000)\n' >"$work/conv.prog"
printf 'input col row\noutput y = matmul(col, row)\n' >"$work/outer.prog"
for bomb in conv outer; do
    t0=$(now)
    expect_fail "of memory at party" T run "$work/$bomb.prog"
    out=$(T run "$work/$bomb.prog" 2>&1)
    grep -q "job_memory in \[limits\]" <<<"$out" || fail "$bomb: no budget named: $out"
    took=$(since "$t0")
    T status >/dev/null || fail "a party is down after the $bomb bomb"
    ok "$bomb bomb refused in $took s: $(head -n 1 <<<"$out" | cut -c1-150)"
done
printf 'input one k\noutput y = conv2d(reshape(one, [1, 1, 1, 1]), k, pad=70000)\n' >"$work/pad.prog"
expect_fail "pads must be 0 to 65535" T run "$work/pad.prog"
ok "pads above 65535 refused"

# ---- 2. one client's jobs beside another's ---------------------------------
"$npy" gen f1 5 "$d/long.npy" 30000 20 && "$npy" gen f1 6 "$d/w.npy" 20 16 &&
    "$npy" gen f1 7 "$d/v.npy" 16 3 || fail gen
for t in long w v; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
printf 'batch x\ninput w v\noutput y = matmul(relu(matmul(x, w)), v)\n' >"$work/net.prog"
"$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" run "$work/net.prog" --bind x=long \
    --batch 1 --prefix l1- >"$work/l1.out" 2>&1 &
r1=$!
"$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" run "$work/net.prog" --bind x=long \
    --batch 1 --prefix l2- >"$work/l2.out" 2>&1 &
r2=$!
for _ in $(seq 50); do [ "$(T jobs | grep -c running)" = 2 ] && break; sleep 0.1; done
[ "$(T jobs | grep -c 'running .* on party0 party1 party2')" = 2 ] || fail "trine jobs: $(T jobs)"
# A third is refused ("try again later": the client waits and retries).
"$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" run "$work/net.prog" --bind x=long \
    --prefix l3- >"$work/l3.out" 2>&1 &
r3=$!
for _ in $(seq 50); do grep -q "as many as one client may (client_jobs in \[limits\])" "$dir/logs/party0.log" && break; sleep 0.1; done
grep -q "already runs 2 jobs of yours, as many as one client may (client_jobs in \[limits\])" \
    "$dir/logs/party0.log" || fail "a third job of one client was not refused"
kill -KILL $r3
wait $r3 2>/dev/null
O share ox "$d/one.npy" >/dev/null && O share ok "$d/k.npy" >/dev/null || fail "other shares"
printf 'input ox ok\noutput y = conv2d(reshape(ox, [1, 1, 1, 1]), ok, pad=1)\n' >"$work/small.prog"
t0=$(now)
O run "$work/small.prog" --prefix o- >/dev/null || fail "the other client's job beside two long ones"
took=$(since "$t0")
awk "BEGIN{exit !($took < 2.5)}" || fail "the other client's one-step job took $took s"
ok "while one client runs its 2 jobs (client_jobs), a third is refused and another client's job runs in $took s"
T status | grep -q "^job [0-9a-f]\{16\}  running" || fail "status does not list the running jobs: $(T status)"
id=$(T jobs | awk '/running/ {print $2; exit}')
out=$(T cancel "$id" 2>&1)
grep -q "^job $id cancelled" <<<"$out" || fail "trine cancel $id: $out; jobs: $(T jobs)"
expect_fail "no job" T cancel 123456789abcdef
for _ in $(seq 50); do [ "$(T jobs | grep -c running)" = 1 ] && break; sleep 0.1; done
[ "$(T jobs | grep -c running)" = 1 ] || fail "one job should run after the cancel: $(T jobs)"
ok "trine jobs lists them (and status), trine cancel ID stops one"

# ---- 3. a killed client's job is cancelled (abandoned) ---------------------
kill -KILL $r1 $r2
wait $r1 $r2 2>/dev/null
t0=$(now)
for _ in $(seq 100); do [ "$(T jobs | grep -c running)" = 0 ] && break; sleep 0.1; done
took=$(since "$t0")
[ "$(T jobs | grep -c running)" = 0 ] || fail "a killed client's job still runs: $(T jobs)"
for p in 0 1 2; do
    grep -q "abandoned: its client .* stopped asking about it" "$dir/logs/party$p.log" ||
        fail "party$p did not log the abandoned job"
done
[ "$(T ls | grep -c 'l[12]-')" = 0 ] || fail "an abandoned job stored outputs: $(T ls)"
ok "client killed (SIGKILL): its job cancelled on all parties within $took s, logged, nothing stored"

# ---- 4. a party killed mid-job: named at once, nothing left behind ---------
"$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" infer --model "$work/net.prog" \
    --input "$d/long.npy" --batch 1 -o "$work/iy.npy" >"$work/infer.out" 2>&1 &
runner=$!
for _ in $(seq 50); do [ "$(T jobs | grep -c running)" = 1 ] && break; sleep 0.1; done
[ "$(T jobs | grep -c running)" = 1 ] || fail "infer did not start: $(cat "$work/infer.out")"
kill -KILL "$(cat "$dir/pids/party1.pid")"
t0=$(now)
wait $runner && fail "infer survived party1's death"
took=$(since "$t0")
grep -q "party1" "$work/infer.out" || fail "infer does not name party1: $(cat "$work/infer.out")"
awk "BEGIN{exit !($took < 2)}" || fail "infer named party1 after $took s: $(cat "$work/infer.out")"
grep -q "party1 (.*) closed its connection" "$dir/logs/party0.log" || fail "party0 did not log party1's end"
start_party 1
wait_up || fail "party1 did not come back"
[ "$(T ls | grep -c infer-)" = 0 ] || fail "infer left tensors behind: $(T ls)"
ok "party1 killed mid-infer (timeout_ms 30000): named after $took s ($(grep -m1 party1 "$work/infer.out" | cut -c1-120)); nothing left behind"

# ---- 5. a connection flood under 1024 descriptors ---------------------------
port=$(grep -m1 -A2 '^\[party0\]' "$dir/cluster.ini" | sed -n 's/^client = tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p')
kill -TERM "$(cat "$dir/pids/party0.pid")"
sleep 0.5
prlimit --nofile=1024:1024 "$trined" -c "$dir/cluster.ini" -p 0 -k "$dir/keys/party0.key" -t 1 \
    >>"$dir/logs/party0.log" 2>&1 </dev/null &
echo $! >"$dir/pids/party0.pid"
wait_up || fail "party0 did not come back"
grep -q "open files: at most 1024" "$dir/logs/party0.log" || fail "party0 does not run under 1024 files"
"$flood" 127.0.0.1 "$port" 2000 8 >"$work/flood.out" 2>&1 &
flooder=$!
sleep 1
t0=$(now)
# Every party answers; a peer link party0 lost just before (its restart) may
# stay down while the flood holds its descriptors, so links are checked after.
O status >"$work/status.out" 2>&1
[ "$(grep -c '^party[0-2]  up ' "$work/status.out")" = 3 ] ||
    fail "status under a flood of 2000 connections: $(cat "$work/status.out")"
took=$(since "$t0")
wait $flooder || fail "it_flood: $(cat "$work/flood.out")"
grep -q "closed by the party" "$work/flood.out" || fail "it_flood: $(cat "$work/flood.out")"
wait_up || fail "status after the flood: $(O status 2>&1)"
ok "2000 idle connections to party0 under 1024 files: another client's status answered in $took s ($(cat "$work/flood.out"))"

grep -h "abandoned\|refused\|limits" "$dir"/logs/*.log | grep -Eq "[A-Za-z0-9+/]{40}" && fail "a key in a log line"
"$lc" stop "$dir" >/dev/null || fail "local-cluster stop"
