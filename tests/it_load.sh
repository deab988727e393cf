#!/usr/bin/env bash
# Load test: TRINE_LOAD_CLIENTS (8) clients, each with its own key, share,
# run, reveal and remove at once against three real trined processes with
# CURVE (deploy/local-cluster) for TRINE_LOAD_SECONDS (20). Each client
# loops: share a fresh random input, run relu(x w + b) on it with its own
# weights, reveal the output and compare it with the same program run in
# plaintext, check that ls shows its own tensors only and that another
# client's weights cannot be revealed, remove what it made. Passes with
# no error, every result equal to its plaintext, each client left with
# exactly its weights, the parties' tensor counts back at the baseline
# after rm, and each party's RSS within its warm RSS + TRINE_LOAD_RSS_MB
# (64). Runs refused because a party already ran its most jobs are sent
# again by the client (counted apart, as busy retries); two it_hold then
# fill party0's job slots alone (two clients, each as many jobs as one
# client may run) to check that retry when only one party is busy.
#   it_load.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL IT_HOLD
set -u
src=$1 build=$2 npy=$3 hold=$4
. "$src/tests/it_lib.sh"

clients=${TRINE_LOAD_CLIENTS:-8}
seconds=${TRINE_LOAD_SECONDS:-20}
rss_mb=${TRINE_LOAD_RSS_MB:-64}
rows=5

mkdir -p "$dir/keys/clients"
for i in $(seq 0 $((clients - 1))); do
    "$trine" keygen --dir "$dir/keys" "c$i" >/dev/null && cp "$dir/keys/c$i.pub" "$dir/keys/clients/" ||
        fail "keygen c$i"
    mkdir -p "$work/c$i"
done
"$lc" start "$dir" --timeout-ms 10000 >/dev/null || fail "local-cluster start"

C() { local i=$1; shift; "$trine" -c "$dir/cluster.ini" -i "$dir/keys/c$i.key" "$@"; }
# party0 and party1's tensor counts, as "N M": status counts the caller's
# own, so they are summed over the test's client and c0 .. c(clients-1).
one_count() { sed -n 's/^party[01]  up .*, \([0-9]*\) tensors of yours, .*/\1/p' | tr '\n' ' '; }
counts() {
    local a b n0=0 n1=0 i
    for i in T $(seq 0 $((clients - 1))); do
        if [ "$i" = T ]; then read -r a b <<<"$(T status | one_count)"
        else read -r a b <<<"$(C "$i" status | one_count)"; fi
        n0=$((n0 + ${a:-0})) n1=$((n1 + ${b:-0}))
    done
    echo "$n0 $n1 "
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(cat "$dir/pids/party$1.pid")/status"; }
base=$(counts)
[ -n "$(T status | one_count)" ] || fail "no tensor counts in status: $(T status)"

cat >"$work/net.prog" <<'EOF'
# one layer over a few rows; each client binds its own tensors
batch x
input w b
output y = relu(matmul(x, w) + b)
EOF

# client_loop I END_NS MAX: client I's iterations until END_NS (date +%s%N)
# or MAX of them. Adds to work/cI/counts ("share run reveal rm ls denied
# busy"); work/cI/iter numbers the iterations (names, seeds) across calls;
# each error is a line in work/cI/errors.
client_loop() {
    local i=$1 end=$2 max=$3 n=0
    local d=$work/c$i other=c$(((i + 1) % clients))
    local share=0 run=0 reveal=0 rm=0 ls=0 denied=0 busy=0 k=0 x y out
    [ -f "$d/counts" ] && read -r share run reveal rm ls denied busy <"$d/counts"
    [ -f "$d/iter" ] && k=$(cat "$d/iter")
    note() { echo "c$i iteration $k: $*" >>"$d/errors"; }
    while [ $n -lt "$max" ] && [ "$(date +%s%N)" -lt "$end" ]; do
        n=$((n + 1)) k=$((k + 1)) x=c$i-x$k y=c$i-r$k-y
        "$npy" gen f1 "load-$i-$k" "$d/$x.npy" $rows 16 >/dev/null || { note "npy_tool gen"; continue; }
        share=$((share + 1))
        out=$(C "$i" share "$x" "$d/$x.npy" 2>&1) || { note "share $x: $out"; continue; }
        run=$((run + 1))
        out=$(C "$i" run "$work/net.prog" --bind "x=$x" --bind "w=c$i-w" --bind "b=c$i-b" \
            --batch $rows --prefix "c$i-r$k-" --stats "$d/stats" 2>&1) || note "run: $out"
        busy=$((busy + $(sed -n 's/^busy_retries=//p' "$d/stats" 2>/dev/null || echo 0)))
        rm -f "$d/stats"
        reveal=$((reveal + 1))
        if out=$(C "$i" reveal "$y" -o "$d/y.npy" 2>&1); then
            "$trine" run "$work/net.prog" --plaintext --dir "$d" --bind "x=$x" --bind "w=c$i-w" \
                --bind "b=c$i-b" --batch $rows --prefix p- >/dev/null 2>&1 || note "plaintext run"
            out=$("$npy" cmp "$d/p-y.npy" "$d/y.npy" 0.01 2>&1) || note "$y differs from plaintext: $out"
            rm -f "$d/y.npy" "$d/p-y.npy"
        else
            note "reveal $y: $out"
        fi
        ls=$((ls + 1))
        out=$(C "$i" ls 2>&1) || note "ls: $out"
        grep -v "^c$i-" <<<"$out" | grep -q . && note "ls shows another client's tensors: $out"
        grep -q "^c$i-w " <<<"$out" && grep -q "^c$i-b " <<<"$out" || note "ls lost w or b: $out"
        denied=$((denied + 1))
        out=$(C "$i" reveal "$other-w" 2>&1) && note "revealed $other-w"
        grep -q "only its owner can reveal" <<<"$out" || note "reveal $other-w said: $out"
        rm=$((rm + 2))
        out=$(C "$i" rm "$y" 2>&1) || note "rm $y: $out"
        out=$(C "$i" rm "$x" 2>&1) || note "rm $x: $out"
        rm -f "$d/$x.npy"
    done
    echo "$share $run $reveal $rm $ls $denied $busy" >"$d/counts"
    echo "$k" >"$d/iter"
}

# ---- warm-up: weights, then one iteration each, all at once ---------------
pids=()
for i in $(seq 0 $((clients - 1))); do
    (
        "$npy" gen f1 "w$i" "$work/c$i/c$i-w.npy" 16 8 >/dev/null &&
            "$npy" gen f1 "b$i" "$work/c$i/c$i-b.npy" 8 >/dev/null &&
            C "$i" share "c$i-w" "$work/c$i/c$i-w.npy" >/dev/null &&
            C "$i" share "c$i-b" "$work/c$i/c$i-b.npy" >/dev/null || echo "c$i: sharing weights" >>"$work/c$i/errors"
        client_loop "$i" $(($(date +%s%N) + 600000000000)) 1
    ) &
    pids+=($!)
done
wait "${pids[@]}"
cat "$work"/c*/errors 2>/dev/null | head -20 | grep . && fail "errors in the warm-up"
warm=()
for p in 0 1 2; do warm+=("$(rss_kb $p)"); done
rm -f "$work"/c*/counts # the summary counts the load alone

# ---- load ------------------------------------------------------------------
t0=$(date +%s%N)
end=$((t0 + seconds * 1000000000))
pids=()
for i in $(seq 0 $((clients - 1))); do
    client_loop "$i" $end 1000000 &
    pids+=($!)
done
wait "${pids[@]}"
t1=$(date +%s%N)
errors=$(cat "$work"/c*/errors 2>/dev/null | wc -l)
[ "$errors" = 0 ] || { head -20 "$work"/c*/errors; fail "$errors errors under load"; }

# ---- every client has exactly its weights left -----------------------------
for i in $(seq 0 $((clients - 1))); do
    got=$(C "$i" ls | awk '{print $1}' | tr '\n' ' ')
    [ "$got" = "c$i-b c$i-w " ] || fail "c$i has '$got' after the load, want its weights only"
done
read -r b0 b1 <<<"$base"
want="$((b0 + 2 * clients)) $((b1 + 2 * clients)) "
[ "$(counts)" = "$want" ] || fail "party0, party1 hold '$(counts)' tensors, want '$want'"
ok "$clients clients for $seconds s: every result = its plaintext; each client sees and keeps only its own tensors"

# ---- only party0 busy: the run waits, then runs ----------------------------
"$npy" gen f1 hx "$work/hold_x.npy" 2 16 >/dev/null && "$npy" gen f1 hw "$work/hold_w.npy" 16 4 >/dev/null &&
    C 0 share hold_x "$work/hold_x.npy" >/dev/null && C 0 share hold_w "$work/hold_w.npy" >/dev/null ||
    fail "share the held job's inputs"
printf 'batch hold_x\ninput hold_w\noutput y = matmul(hold_x, hold_w)\n' >"$work/hold.prog"
C 0 grant hold_x "$dir/keys/c1.pub" --program "$work/hold.prog" >/dev/null &&
    C 0 grant hold_w "$dir/keys/c1.pub" --program "$work/hold.prog" >/dev/null ||
    fail "approve the held job's program for c1"
# Jobs that only party0 got are stopped after 3 s (not accepted by the
# others): held 2.5 s.
holders=
for i in 0 1; do
    "$hold" "$dir/cluster.ini" "$dir/keys/c$i.key" 0 2 2500 "$work/hold.prog" >"$work/hold$i.out" 2>&1 &
    holders="$holders $!"
    for _ in $(seq 50); do grep -q holding "$work/hold$i.out" && break; sleep 0.1; done
    grep -q "holding 2 jobs on party0" "$work/hold$i.out" || fail "it_hold c$i: $(cat "$work/hold$i.out")"
done
h0=$(date +%s%N)
out=$(C 0 run "$work/net.prog" --bind x=hold_x --bind w=c0-w --bind b=c0-b --batch 2 --prefix held- \
    --stats "$work/held.stats" 2>&1) || fail "a run while party0 was busy failed: $out"
h1=$(date +%s%N)
for h in $holders; do wait "$h" || fail "it_hold: $(cat "$work"/hold?.out)"; done
retries=$(sed -n 's/^busy_retries=//p' "$work/held.stats")
[ "${retries:-0}" -ge 1 ] || fail "the run did not wait for party0 (busy_retries=$retries)"
grep -q "the parties were busy" <<<"$out" || fail "the job report does not say it waited: $out"
grep -q "party0 refused the job: party0 already runs 4 jobs" "$dir/logs/party1.log" ||
    fail "party1 was not told that party0 refused"
C 0 reveal held-y -o "$work/held.npy" >/dev/null || fail "reveal held-y"
cp "$work/hold_x.npy" "$work/c0/hold_x.npy"
"$trine" run "$work/net.prog" --plaintext --dir "$work/c0" --bind x=hold_x --bind w=c0-w --bind b=c0-b \
    --batch 2 --prefix held- >/dev/null || fail "plaintext run of the held job"
"$npy" cmp "$work/c0/held-y.npy" "$work/held.npy" 0.01 >/dev/null || fail "held-y differs from plaintext"
[ "$(C 0 ls | grep -c "^hold")" = 2 ] || fail "the held jobs stored something: $(C 0 ls)"
for t in held-y hold_x hold_w; do C 0 rm $t >/dev/null || fail "rm $t"; done
ok "party0 alone busy: the run waited $(awk "BEGIN{printf \"%.1f\", ($h1 - $h0) / 1e9}") s ($retries busy retries), then ran = plaintext"

# ---- after rm: the counts are back, memory bounded -------------------------
for i in $(seq 0 $((clients - 1))); do
    C "$i" rm "c$i-w" >/dev/null && C "$i" rm "c$i-b" >/dev/null || fail "rm c$i's weights"
done
[ "$(counts)" = "$base" ] || fail "party0, party1 hold '$(counts)' tensors after rm, want '$base'"
rss=() bad=
for p in 0 1 2; do
    now=$(rss_kb $p)
    rss+=("party$p $((warm[p] / 1024))->$((now / 1024)) MB")
    [ "$now" -le $((warm[p] + rss_mb * 1024)) ] || bad="$bad party$p"
done
[ -z "$bad" ] || fail "RSS grew past warm + $rss_mb MB on$bad: ${rss[*]}"

# ---- summary ----------------------------------------------------------------
tot=(0 0 0 0 0 0 0)
for i in $(seq 0 $((clients - 1))); do
    read -r -a c <"$work/c$i/counts"
    for f in 0 1 2 3 4 5 6; do tot[f]=$((tot[f] + c[f])); done
done
requests=$((tot[0] + tot[1] + tot[2] + tot[3] + tot[4] + tot[5]))
secs=$(awk "BEGIN{printf \"%.1f\", ($t1 - $t0) / 1e9}")
echo "load: $clients clients, $secs s, $requests requests (share ${tot[0]}, run ${tot[1]}, reveal ${tot[2]}, rm ${tot[3]}, ls ${tot[4]}, refused reveal ${tot[5]}), $errors errors, ${tot[6]} busy retries, RSS ${rss[*]} (bound warm + $rss_mb MB)"
"$lc" stop "$dir" >/dev/null || fail "local-cluster stop"
