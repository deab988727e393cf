#!/usr/bin/env bash
# Integration test of party faults mid-job on a local cluster with CURVE
# (deploy/local-cluster, timeout_ms 2000): a party killed (SIGKILL) or
# stopped (SIGSTOP, later SIGCONT) while a job runs. Each time the client
# must fail within timeout_ms + a margin naming the party, the surviving
# parties must log the failed job naming it within the same bound, no
# output of the job may be stored, the tensors stored before must stay as
# they were, and once the party is back the next job must run and be right.
# Prints each scenario's time from the signal to the client's exit and to
# the survivors' log lines.
#   it_faults.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL
set -u
src=$1 build=$2 npy=$3
. "$src/tests/it_lib.sh"

timeout_ms=2000
margin_ms=1500 # loopback, 2 shared cores: scheduling and the 200 ms heartbeat
limit_ms=$((timeout_ms + margin_ms))

# A stopped party would ignore the SIGTERM of local-cluster stop: wake it first.
stopped=""
trap '[ -n "$stopped" ] && kill -CONT "$stopped" 2>/dev/null; cleanup' EXIT

mkdir -p "$dir/keys/clients" "$work/data"
"$trine" keygen --dir "$dir/keys" other >/dev/null && cp "$dir/keys/other.pub" "$dir/keys/clients/"
"$lc" start "$dir" --timeout-ms $timeout_ms --store >/dev/null || fail "local-cluster start"

# ---- what is stored before the faults ---------------------------------------
d=$work/data
"$npy" gen f1 31 "$d/x.npy" 24 20 && "$npy" gen f1 32 "$d/w.npy" 20 16 &&
    "$npy" gen f1 33 "$d/b.npy" 16 && "$npy" gen f1 34 "$d/v.npy" 16 3 &&
    "$npy" gen f1 35 "$d/long.npy" 3000 20 && "$npy" gen f8 36 "$d/kf.npy" 50 7 &&
    "$npy" gen i8 37 "$d/ki.npy" 3 4 5 || fail gen
names="x w b v long kf ki"
cat >"$work/net.prog" <<'EOF'
batch x
input w b v
h = relu(matmul(x, w) + b)
output y = matmul(h, v)
EOF
share_all() {
    local t
    for t in $names; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
    for t in w b v; do
        T grant $t "$dir/keys/other.pub" --program "$work/net.prog" >/dev/null || fail "grant $t"
    done
}
share_all
mkdir -p "$work/before"
for t in $names; do T reveal $t -o "$work/before/$t.npy" >/dev/null || fail "reveal $t"; done
T ls >"$work/ls.before" || fail "ls"
O ls >"$work/ls.other.before" || fail "ls as other"
[ "$(grep -c '^[^ ]' "$work/ls.before")" = 7 ] &&
    [ "$(grep -c '^[^ ]' "$work/ls.other.before")" = 3 ] ||
    fail "ls before the faults: $(cat "$work/ls.before")"

"$trine" run "$work/net.prog" --plaintext --dir "$d" --batch 8 --prefix plain- >/dev/null ||
    fail "plaintext run"

# Every stored tensor reveals exactly as before, and both clients' ls agree.
check_store() {
    local what=$1 t
    for t in $names; do
        T reveal $t -o "$work/now.npy" >/dev/null || fail "$what: reveal $t"
        cmp -s "$work/before/$t.npy" "$work/now.npy" || fail "$what: $t reveals differently"
    done
    T ls >"$work/ls.now" && O ls >"$work/ls.other.now" || fail "$what: ls"
    diff "$work/ls.before" "$work/ls.now" >/dev/null || fail "$what: ls changed: $(cat "$work/ls.now")"
    diff "$work/ls.other.before" "$work/ls.other.now" >/dev/null ||
        fail "$what: other's ls changed: $(cat "$work/ls.other.now")"
}

# The next job (owned weights, granted weights) runs and equals plaintext.
check_next_job() {
    local what=$1 tag=$2
    T run "$work/net.prog" --batch 8 --prefix "$tag-" >/dev/null || fail "$what: no next job"
    T reveal "$tag-y" -o "$work/next.npy" >/dev/null || fail "$what: reveal $tag-y"
    "$npy" cmp "$d/plain-y.npy" "$work/next.npy" 0.005 >/dev/null ||
        fail "$what: the next job differs from plaintext"
    T rm "$tag-y" >/dev/null || fail "$what: rm $tag-y"
}

# Milliseconds from the epoch time t0 (seconds, with decimals) to now.
ms_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

# Milliseconds from t0 to the time stamp of a log line (UTC, ISO 8601).
ms_to_line() {
    local stamp
    stamp=$(cut -d' ' -f1 <<<"$2")
    awk -v a="$1" -v b="$(date -u -d "$stamp" +%s.%N)" 'BEGIN { printf "%d", (b - a) * 1000 }'
}

# First line matching RE in party p's log after line n; waits up to 5 s.
log_after() {
    local p=$1 n=$2 re=$3 line
    for _ in $(seq 50); do
        line=$(tail -n +$((n + 1)) "$dir/logs/party$p.log" | grep -E -m1 -- "$re")
        [ -n "$line" ] && { echo "$line"; return 0; }
        sleep 0.1
    done
    return 1
}

# fault SIGNAL PARTY TAG: starts a long job, signals party PARTY once it
# runs, and checks the client's failure and the survivors' logs. Sets
# t_client (ms) and t_logs (the survivors' times, "party0 2.05 s, ...").
fault() {
    local sig=$1 victim=$2 tag=$3 p pid line ms lines=()
    for p in 0 1 2; do lines[$p]=$(wc -l <"$dir/logs/party$p.log"); done
    # (not through T: $! must be the client itself)
    "$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" run "$work/net.prog" --bind x=long \
        --batch 1 --prefix "$tag-" >"$work/$tag.out" 2>&1 &
    local runner=$!
    for p in 0 1 2; do
        log_after $p "${lines[$p]}" "job [0-9a-f]+ started" >/dev/null || fail "$tag: party$p did not start the job"
    done
    sleep 0.5
    kill -0 $runner 2>/dev/null || fail "$tag: the job ended before the fault: $(cat "$work/$tag.out")"
    pid=$(cat "$dir/pids/party$victim.pid")
    local t0
    t0=$(date +%s.%N)
    kill -"$sig" "$pid"
    [ "$sig" = STOP ] && stopped=$pid
    wait $runner && fail "$tag: the job survived party$victim's $sig"
    t_client=$(ms_since "$t0")
    [ "$t_client" -le $limit_ms ] ||
        fail "$tag: the client took $t_client ms to fail (limit $limit_ms)"
    grep -q "party$victim" "$work/$tag.out" ||
        fail "$tag: the client's message does not name party$victim: $(cat "$work/$tag.out")"
    t_logs=""
    for p in 0 1 2; do
        [ $p = "$victim" ] && continue
        line=$(log_after $p "${lines[$p]}" "job [0-9a-f]+ failed") ||
            fail "$tag: party$p did not log the failed job"
        grep -q "party$victim" <<<"$line" || fail "$tag: party$p's log does not name party$victim: $line"
        ms=$(ms_to_line "$t0" "$line")
        [ "$ms" -le $limit_ms ] || fail "$tag: party$p logged the failure after $ms ms (limit $limit_ms)"
        t_logs="$t_logs${t_logs:+, }party$p $ms ms"
    done
}

# Restarts party p after a SIGKILL and waits until the cluster is up.
restart() {
    local p=$1
    start_party "$p"
    wait_up || fail "party$p did not come back"
}

# ---- SIGSTOP, then SIGCONT: the helper and a compute party -----------------
# party2 stays stopped 6 s, past its job thread's own deadline (twice
# timeout_ms); party1 is continued as soon as the others have given up.
for victim in 2 1; do
    tag=stop$victim
    fault STOP $victim $tag
    [ $victim = 2 ] && sleep $((6 - t_client / 1000))
    # The survivors have given up; the stopped party wakes inside a dead job
    # and must abandon it for the reason the others gave, blaming neither.
    n=$(wc -l <"$dir/logs/party$victim.log")
    kill -CONT "$stopped" && stopped=""
    line=$(log_after $victim "$n" "job [0-9a-f]+ failed") ||
        fail "$tag: party$victim did not abandon its job after SIGCONT"
    grep -q "stopped the job: .*party$victim" <<<"$line" ||
        fail "$tag: party$victim abandoned its job for another reason than its peers': $line"
    tail -n +$((n + 1)) "$dir/logs/party$victim.log" | grep -E "party[^$victim] (\([^)]*\) went silent|sent nothing)" &&
        fail "$tag: party$victim blamed a peer for its own stop"
    wait_up
    check_store "$tag"
    check_next_job "$tag" "next-$tag"
    ok "party$victim SIGSTOP mid-job: client failed after $t_client ms naming it ($t_logs; limit $limit_ms ms); after SIGCONT it abandoned the job ($(sed "s/^[^ ]* *[A-Z]* *//" <<<"$line")); store unchanged; next job = plaintext"
done

# ---- SIGKILL: a compute party, then the other ------------------------------
# The cluster keeps its shares in a store folder ([store] dir): the killed
# party reloads all 7 of its shares when it is restarted, with their grants.
for victim in 1 0; do
    tag=kill$victim
    fault KILL $victim $tag
    restart $victim
    grep "store .*: loaded" "$dir/logs/party$victim.log" | tail -n 1 |
        grep -q "loaded 7 tensors, skipped 0 files" ||
        fail "$tag: party$victim did not reload its 7 shares: $(grep "store .*: loaded" "$dir/logs/party$victim.log" | tail -n 1)"
    check_store "$tag"
    check_next_job "$tag" "next-$tag"
    ok "party$victim SIGKILL mid-job: client failed after $t_client ms naming it ($t_logs; limit $limit_ms ms); nothing of the job stored; restarted, it reloaded its 7 shares from its store, which reveal as before; next job = plaintext"
done

grep -h "job" "$dir"/logs/*.log | grep -Eq "[A-Za-z0-9+/]{40}" && fail "a key in a job log line"
"$lc" stop "$dir" >/dev/null || fail "local-cluster stop"
