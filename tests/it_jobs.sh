#!/usr/bin/env bash
# Integration test of jobs: programs run by three real trined processes on
# loopback with CURVE (deploy/local-cluster), checked against the same
# program run in plaintext by the same client, one flag apart.
#   it_jobs.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL
set -u
src=$1 build=$2 npy=$3
. "$src/tests/it_lib.sh"

mkdir -p "$dir/keys/clients" "$work/data"
"$trine" keygen --dir "$dir/keys" other >/dev/null && cp "$dir/keys/other.pub" "$dir/keys/clients/"
"$lc" start "$dir" --timeout-ms 2000 >/dev/null || fail "local-cluster start"

# ---- a small network, private against plaintext --------------------------
d=$work/data
"$npy" gen f1 21 "$d/x.npy" 37 20 && "$npy" gen f1 22 "$d/w.npy" 20 16 &&
    "$npy" gen f1 23 "$d/b.npy" 16 && "$npy" gen f1 24 "$d/v.npy" 16 3 || fail gen
for t in x w b v; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
cat >"$work/net.prog" <<'EOF'
# a two-layer network, 8 rows a step
batch x
input w b v
h = relu(matmul(x, w) + b)
output y = matmul(h, v)
output k = argmax(y)
EOF
out=$(T run "$work/net.prog" --batch 8 --prefix p- --stats "$work/securenn.stats") ||
    fail "private run: $out"
grep -q "steps in" <<<"$out" && grep -q "all parties sent" <<<"$out" || fail "no job report: $out"
T reveal p-y -o "$work/y.npy" && T reveal p-k -o "$work/k.npy" || fail "reveal outputs"
"$trine" run "$work/net.prog" --plaintext --dir "$d" --batch 8 --prefix plain- >/dev/null ||
    fail "plaintext run"
"$npy" cmp "$d/plain-y.npy" "$work/y.npy" 0.005 >/dev/null || fail "private y differs from plaintext"
"$npy" cmp "$d/plain-k.npy" "$work/k.npy" 0 >/dev/null || fail "private argmax differs"
ok "37 rows through relu(x w + b) v and argmax in 5 steps: private = plaintext ($(grep -o '[0-9.]* s (first' <<<"$out" | cut -d' ' -f1) s)"

# ---- infer from a file: shared, run, revealed, nothing left behind -------
cat >"$work/model.prog" <<'EOF'
batch x
input w b v
output y = matmul(relu(matmul(x, w) + b), v)
EOF
T infer --model "$work/model.prog" --input "$d/x.npy" -o "$work/iy.npy" --batch 16 >/dev/null ||
    fail "infer"
"$trine" infer --model "$work/model.prog" --input "$d/x.npy" -o "$work/py.npy" --plaintext \
    --dir "$d" --batch 16 >/dev/null || fail "plaintext infer"
"$npy" cmp "$work/py.npy" "$work/iy.npy" 0.005 >/dev/null || fail "infer differs from plaintext"
[ "$(T ls | grep -c infer-)" = 0 ] || fail "infer left tensors behind: $(T ls)"
ok "infer --input FILE.npy: private = plaintext, temporary tensors removed"

# ---- program errors and permissions ---------------------------------------
printf 'batch x\ninput w\noutput y = relu(matmul(x, w)\n' >"$work/syntax.prog"
expect_fail "syntax.prog:3:" T run "$work/syntax.prog"
printf 'batch x\ninput nothere\noutput y = matmul(x, nothere)\n' >"$work/unknown.prog"
expect_fail "no tensor 'nothere'" T run "$work/unknown.prog"
printf 'batch x\ninput v\noutput y = matmul(x, v)\n' >"$work/shape.prog"
expect_fail "shape.prog:3:" T run "$work/shape.prog"
expect_fail "would replace a stored tensor" T run "$work/net.prog" --batch 8 --prefix p-
expect_fail "no tensor 'x'" O run "$work/net.prog"
for t in w b v; do
    T grant $t "$dir/keys/other.pub" --program "$work/net.prog" --batch 8 >/dev/null ||
        fail "grant $t"
done
O share ox "$d/x.npy" >/dev/null || fail "other shares its own data"
O run "$work/net.prog" --bind x=ox --prefix o- --batch 8 >/dev/null ||
    fail "approved weights are usable"
expect_fail "only its owner can reveal" O reveal w
O reveal o-y >/dev/null || fail "the caller owns the outputs"
expect_fail "only its owner can reveal" T reveal o-y
ok "errors name file:line:col or the tensor; granted weights run but stay unrevealable"

# ---- Ctrl-C cancels a running job on the parties ---------------------------
"$npy" gen f1 25 "$d/long.npy" 3000 20 && T share long "$d/long.npy" >/dev/null || fail "share long"
# (not through T: $! must be the client itself, not a subshell)
"$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" run "$work/net.prog" --bind x=long \
    --batch 1 --prefix cut- >"$work/cut.out" 2>&1 &
runner=$!
sleep 1
kill -INT $runner
wait $runner && fail "an interrupted job succeeded"
grep -q "cancelled by the client" "$work/cut.out" || fail "no cancel message: $(cat "$work/cut.out")"
[ "$(T ls | grep -c cut-)" = 0 ] || fail "a cancelled job left outputs behind"
T run "$work/net.prog" --batch 8 --prefix after- >/dev/null || fail "no job after a cancel"
ok "Ctrl-C on trine run cancels the job on all parties; nothing stored; the next job runs"

# ---- a party dies during a job --------------------------------------------
T run "$work/net.prog" --bind x=long --batch 1 --prefix long- >"$work/long.out" 2>&1 &
runner=$!
sleep 1
p2=$(cat "$dir/pids/party2.pid")
kill -KILL "$p2"
t0=$(date +%s.%N)
wait $runner && fail "a job survived its helper's death"
t1=$(date +%s.%N)
grep -q "party2" "$work/long.out" || fail "the failure does not name party2: $(cat "$work/long.out")"
# party0 gives up after the same timeout as the client: allow it a moment.
for _ in $(seq 50); do grep -q "job .* failed: .*party2" "$dir/logs/party0.log" && break; sleep 0.1; done
grep -q "job .* failed: .*party2" "$dir/logs/party0.log" || fail "party0 did not log the failed job"
[ "$(T ls | grep -c long-)" = 0 ] || fail "a failed job left outputs behind"
start_party 2
wait_up
T run "$work/net.prog" --batch 8 --prefix again- >/dev/null || fail "no job after party2 came back"
ok "party2 killed mid-job: the client names it after $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s, no outputs stored, jobs run again after it rejoins"

# ---- masked weights kept between jobs -------------------------------------
# the second job opens none of w and v; a tensor stored again under its
# name makes the next job mask afresh, and every result still equals the
# plaintext; another client still needs a grant (it_store.sh restarts a
# party that so loses its kept forms)
kd=$work/kept && mkdir -p "$kd"
"$npy" gen f1 31 "$kd/kx.npy" 1 20 && "$npy" gen f1 32 "$kd/kx2.npy" 1 20 &&
    "$npy" gen f1 33 "$kd/kw.npy" 20 16 && "$npy" gen f1 34 "$kd/kw2.npy" 20 16 &&
    "$npy" gen f1 35 "$kd/kv.npy" 16 3 || fail gen
for t in kx kx2 kw kv; do T share $t "$kd/$t.npy" >/dev/null || fail "share $t"; done
printf 'input x w v\noutput y = matmul(relu(matmul(x, w)), v)\n' >"$work/one.prog"
kept_run() { # NAME X: runs one.prog on x=X, w=kw, v=kv and checks it against plaintext
    T run "$work/one.prog" --bind x=$2 --bind w=kw --bind v=kv --prefix $1- \
        --stats "$work/$1.stats" >/dev/null && T reveal $1-y -o "$work/$1.npy" || fail "run $1"
    "$trine" run "$work/one.prog" --plaintext --dir "$kd" --bind x=$2 --bind w=kw --bind v=kv \
        --prefix plain-$1- >/dev/null || fail "plaintext $1"
    "$npy" cmp "$kd/plain-$1-y.npy" "$work/$1.npy" 0.005 >/dev/null || fail "$1 differs from plaintext"
    sed -n 's/^mask_bytes=//p' "$work/$1.stats"
}
m1=$(kept_run k1 kx) && m2=$(kept_run k2 kx2) || fail "kept runs"
[ "$m1" = $(( 2 * 8 * (20 * 16 + 16 * 3) )) ] && [ "$m2" = 0 ] ||
    fail "masking bytes $m1 then $m2: want w and v opened once, then not at all"
s1=$(sed -n 's/^sent_total=//p' "$work/k1.stats") s2=$(sed -n 's/^sent_total=//p' "$work/k2.stats")
[ $((s1 - s2)) = "$m1" ] || fail "the second job sent $s2 bytes, the first $s1"
T rm kw >/dev/null && cp "$kd/kw2.npy" "$kd/kw.npy" && T share kw "$kd/kw.npy" >/dev/null ||
    fail "store kw again"
m3=$(kept_run k3 kx) && m4=$(kept_run k4 kx) || fail "runs after kw was stored again"
[ "$m3" = $(( 2 * 8 * 20 * 16 )) ] && [ "$m4" = 0 ] || fail "after kw was stored again: masked $m3, $m4"
O share okx "$kd/kx.npy" >/dev/null || fail "other shares okx"
expect_fail "no tensor 'kw' of yours or approved for you" \
    O run "$work/one.prog" --bind x=okx --bind w=kw --bind v=kv --prefix o-
ok "masked weights kept between jobs: the second job sends $m1 bytes less; a tensor stored again masks afresh; all = plaintext"

# ---- what a new user meets: versions, help, data files, messages -------------
"$trine" --version | grep -q "^trine [0-9]" && "$trined" --version | grep -q "^trined [0-9]" ||
    fail "--version"
"$trine" infer --help | grep -q "^usage: trine .* infer --model" || fail "trine infer --help"
printf 'size, "weight" ,label\n1.5,2,0\n3,4,1\n-1,0.25,1\n' >"$d/h.csv"
T share hx "$d/h.csv" >/dev/null && T reveal hx | head -n 1 | grep -q "^1.5 2 0$" ||
    fail "a .csv with a header row"
printf 'label\n0\n1\n1\n' >"$d/lab.csv"
T share lab "$d/lab.csv" --fixed | grep -q "fixed point" || fail "share --fixed"
printf 'batch x\ninput w\nh = matmul(x, w)\n' >"$work/noout.prog"
expect_fail "noout.prog has no output" T run "$work/noout.prog"
expect_fail "is a public key; give the secret key" "$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.pub" ls
cp "$d/h.csv" "$d/hc.csv"
printf 'batch hc\noutput y = hc * 2\n' >"$work/csv.prog"
"$trine" run "$work/csv.prog" --plaintext --dir "$d/" --prefix pc- | grep -q "wrote $d/pc-y.npy" ||
    fail "--plaintext reads a .csv input (and writes DIR/y.npy with one slash)"
out=$(T infer --model "$work/model.prog" --input "$d/x.npy" --keep --prefix kept- -o "$work/k.npy") &&
    grep -q "kept 'kept-y'" <<<"$out" || fail "infer --keep does not name what it kept: $out"
"$src/deploy/local-cluster" --help | head -n 1 | grep -q "^deploy/local-cluster — three trine parties" ||
    fail "local-cluster --help does not begin with its name: $("$src/deploy/local-cluster" --help | head -n 1)"
out=$(T onnx-test --frac-bits 16 "$work" 2>&1)
[ $? = 2 ] && grep -q "set the parties that --local starts; a running cluster has its own" <<<"$out" ||
    fail "onnx-test --frac-bits on a running cluster: $out"
# the same tensor as data and labels (an autoencoder's target is its input)
printf 'batch x\ninput w\noutput z = matmul(x, w)\n' >"$work/auto.prog"
"$npy" gen f1 61 "$d/sq.npy" 20 20 && T share sq "$d/sq.npy" >/dev/null || fail "share sq"
T train --model "$work/auto.prog" --data x --labels x --bind w=sq --loss mse --lr 0.1 --batch 4 \
    --prefix auto- >/dev/null || fail "the same tensor as --data and --labels"
ok "--version, verb --help, header CSV, share --fixed, no-output refusal, a .pub as -i, plaintext .csv, infer --keep, local-cluster --help, onnx-test --frac-bits on a cluster, one tensor as data and labels"

grep -h "job" "$dir"/logs/*.log | grep -Eq "[A-Za-z0-9+/]{40}" && fail "a key in a job log line"

# ---- protocol fss: the same network, a dealer killed mid-job, keys too large
"$lc" stop "$dir" >/dev/null || fail "local-cluster stop"
printf '[limits]\njob_memory = 256M\n' >"$work/fss-limits.ini"
"$lc" start "$dir" --protocol fss --ini "$work/fss-limits.ini" >/dev/null || fail "start with protocol fss"
grep -q "^protocol = fss" "$dir/cluster.ini" || fail "local-cluster --protocol fss"
for t in x w b v long; do T share $t "$d/$t.npy" >/dev/null || fail "share $t again"; done
T run "$work/net.prog" --batch 8 --prefix f- >/dev/null && T reveal f-y -o "$work/fy.npy" &&
    T reveal f-k -o "$work/fk.npy" || fail "protocol fss: private run"
"$npy" cmp "$d/plain-y.npy" "$work/fy.npy" 0.005 >/dev/null || fail "fss: y differs from plaintext"
"$npy" cmp "$d/plain-k.npy" "$work/fk.npy" 0 >/dev/null || fail "fss: argmax differs"
# dealer_killed PREFIX WHAT: party2 killed under a long job: the job
# fails naming it and stores nothing
dealer_killed() {
    local prefix=$1 what=$2 runner
    T run "$work/net.prog" --bind x=long --batch 1 --prefix "$prefix" >"$work/$prefix.out" 2>&1 &
    runner=$!
    sleep 1
    kill -KILL "$(cat "$dir/pids/party2.pid")"
    wait $runner && fail "$what: a job survived party2's death"
    grep -q "party2" "$work/$prefix.out" ||
        fail "$what: the failure does not name party2: $(cat "$work/$prefix.out")"
    [ "$(T ls | grep -c "$prefix")" = 0 ] || fail "$what: a failed job left outputs behind"
}
dealer_killed flong- fss
start_party 2
wait_up || fail "party2 did not come back"
# 60,000 comparisons: their keys (two steps of them, about 340 MB a party)
# pass job_memory, which the same job's working memory would not
"$npy" gen f1 26 "$d/wide.npy" 300 200 && T share wide "$d/wide.npy" >/dev/null || fail "share wide"
printf 'batch x\noutput y = relu(x)\n' >"$work/relu.prog"
expect_fail "for the comparison keys of protocol fss" T run "$work/relu.prog" --bind x=wide --batch 300
T run "$work/relu.prog" --bind x=wide --batch 30 --prefix fr- >/dev/null ||
    fail "a smaller batch of the same relu"
ok "protocol fss: the network = plaintext; party2 (the dealer) killed mid-job named, nothing stored; a job whose keys pass job_memory refused naming them, a smaller batch runs"
"$lc" stop "$dir" >/dev/null || fail "local-cluster stop"

# ---- protocol auto: the relus of 128 values by carry, the argmax's 24 pairs by fss
"$lc" start "$dir" --protocol auto --fss-max 32 >/dev/null || fail "start with protocol auto"
grep -q "^protocol = auto" "$dir/cluster.ini" && grep -q "^fss_max = 32" "$dir/cluster.ini" ||
    fail "local-cluster --protocol auto --fss-max 32: $(grep -A6 '^\[cluster\]' "$dir/cluster.ini")"
for t in x w b v; do T share $t "$d/$t.npy" >/dev/null || fail "share $t under auto"; done
T run "$work/net.prog" --batch 8 --prefix a- --stats "$work/auto.stats" >/dev/null &&
    T reveal a-y -o "$work/ay.npy" && T reveal a-k -o "$work/ak.npy" || fail "protocol auto: private run"
"$npy" cmp "$d/plain-y.npy" "$work/ay.npy" 0.005 >/dev/null || fail "auto: y differs from plaintext"
"$npy" cmp "$d/plain-k.npy" "$work/ak.npy" 0 >/dev/null || fail "auto: argmax differs"
rounds() { sed -n 's/^rounds=//p' "$1"; }
[ "$(rounds "$work/auto.stats")" -lt "$(rounds "$work/securenn.stats")" ] ||
    fail "auto took $(rounds "$work/auto.stats") rounds, securenn $(rounds "$work/securenn.stats")"
# under auto P2 only deals, paced as under fss: killed mid-job, it is
# named and nothing is stored, as under the other protocols
T share long "$d/long.npy" >/dev/null || fail "share long under auto"
dealer_killed along- auto
"$lc" stop "$dir" >/dev/null || fail "local-cluster stop"
ok "protocol auto: the network = plaintext in $(rounds "$work/auto.stats") rounds (securenn: $(rounds "$work/securenn.stats")), comparisons by both protocols in one job; party2 killed mid-job named, nothing stored"

# ---- a party that keeps no masked forms (mask_cache = 0, host-local) -----
# the other two keep none either: every job opens the weights, exactly
"$lc" start "$dir" --protocol securenn >/dev/null || fail "start with protocol securenn"
if grep -q '^\[limits\]' "$dir/cluster.ini"; then
    sed '/^\[limits\]/a mask_cache = 0' "$dir/cluster.ini" >"$dir/cluster-p1.ini"
else
    { cat "$dir/cluster.ini"; printf '[limits]\nmask_cache = 0\n'; } >"$dir/cluster-p1.ini"
fi
kill "$(cat "$dir/pids/party1.pid")" && sleep 0.5
"$trined" -c "$dir/cluster-p1.ini" -p 1 -k "$dir/keys/party1.key" -t 1 \
    >>"$dir/logs/party1.log" 2>&1 </dev/null &
p1=$!
echo $p1 >"$dir/pids/party1.pid"
wait_up || fail "party1 with mask_cache = 0 did not come up"
for t in kx kx2 kw kv; do T share $t "$kd/$t.npy" >/dev/null || fail "share $t again"; done
kept_run k7 kx >/dev/null && kept_run k8 kx2 >/dev/null || fail "runs with party1 keeping nothing"
s7=$(sed -n 's/^sent_total=//p' "$work/k7.stats") s8=$(sed -n 's/^sent_total=//p' "$work/k8.stats")
[ "$s7" = "$s1" ] && [ "$s8" = "$s1" ] ||
    fail "party1 keeping nothing: jobs sent $s7 and $s8 bytes, want $s1 each (the weights opened)"
# local-cluster stops only the parties it started: this party1 is the test's
kill "$p1" && wait "$p1"
"$lc" stop "$dir" >/dev/null || fail "local-cluster stop"
ok "party1 keeping no masked forms: every job opens the weights ($s7 bytes), all = plaintext"
