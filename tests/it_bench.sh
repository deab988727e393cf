#!/usr/bin/env bash
# tests/it_bench.sh — `trine bench` with real parties: config/bench-small.ini
# on three local parties the bench starts and stops itself (table, MP-SPDZ
# lines, JSON, CSV, charts), a bench against a running cluster, Ctrl-C
# keeping the finished records, and config errors.
#   it_bench.sh SRC BUILD
set -uo pipefail
src=$1 build=$2
. "$src/tests/it_lib.sh"
cd "$work" || exit 1
# The local parties' folders go here, so that leftovers show.
export TMPDIR=$work/tmp
mkdir -p "$TMPDIR"
leftovers() {
    [ -z "$(ls -A "$TMPDIR")" ] || fail "$1 left $(ls "$TMPDIR") in TMPDIR"
    ! pgrep -f "trined -c $TMPDIR/" >/dev/null || fail "$1 left trined running"
}

# ---- the small sample on local parties ----------------------------------
out=$("$trine" bench "$src/config/bench-small.ini" --json small.json --csv small.csv \
    --plot plots 2>&1) || fail "bench-small.ini exited $?: $out"
leftovers "bench-small.ini"
[ "$(jq length small.json)" = 20 ] || fail "want 20 records, got $(jq length small.json)"
jq -e 'all(.[]; .repetitions == 2 and .time_median_s > 0 and .time_min_s <= .time_median_s
           and .time_median_s <= .time_max_s and .rounds >= 1 and .securenn_bytes > 0
           and .bytes_total == .bytes_party0 + .bytes_party1 + .bytes_party2
           and .recv_party0 + .recv_party1 + .recv_party2 == .bytes_total
           and .cluster == "local" and .frac_bits == 13 and .truncation == "exact"
           and (.version | test("^[0-9]+[.][0-9]+")) and (.date | test("^20[0-9-]+T[0-9:]+Z$"))
           and (.host | length > 0) and .cores >= 1 and (.config_hash | test("^[0-9a-f]{64}$")))' \
    small.json >/dev/null || fail "a record is inconsistent: $(cat small.json)"
# Exact costs: MatMul (2mn + 2nv + mv) * 8 bytes in one round and its
# exact truncation 26 bytes a value in one more (SecureNN truncates
# locally); ReLU 432 bytes a value in 8 rounds; SecureNN's formula for
# Network A at batch 1.
jq -e '.[] | select(.op == "matmul" and .size == "2x3x2")
       | .bytes_total == 224 + 26 * 4 and .rounds == 2 and .securenn_bytes == 224' small.json \
    >/dev/null || fail "matmul 2x3x2 is not 224 + 104 bytes in 2 rounds"
jq -e '.[] | select(.op == "relu") | .bytes_total == 16 * 432 and .rounds == 8
       and .securenn_bytes == 16 * 704' small.json >/dev/null || fail "relu 4x4 costs are off"
jq -e '.[] | select(.op == "network_a") | .securenn_bytes == 2093944 and .batch == 1
       and .securenn_ref_bytes == 2100000' small.json >/dev/null || fail "network_a's SecureNN bytes"
# A network's weights are masked once, by the warm-up call, and kept
# between jobs: a call costs what a batch within a job does (Network A:
# 0.16 MB, 2.05 MB with the masking).
jq -e '.[] | select(.op == "network_a") | .job_batches == 3 and .job_batch_time_s > 0
       and .job_batch_bytes == .bytes_total and .bytes_total < 200000' small.json >/dev/null ||
    fail "network_a's batch within a job: $(jq '.[] | select(.op == "network_a")' small.json)"
jq -e 'all(.[] | select(.op == "matmul"); .job_batches == null)' small.json >/dev/null ||
    fail "an operation has job figures"
grep -q '^  network_a  batch   1: a call .* MB; a batch within a job of 3 ' <<<"$out" ||
    fail "no per-call and per-batch line for network_a"
jq -e '[.[] | select(.op == "conv2d") | .batch] == [1, 2]' small.json >/dev/null ||
    fail "conv2d should run at batch 1 and 2"
# the smooth functions' rounds, as trine-bench-proto and README's table give them
jq -e '[.[] | select(.op == "exp" or .op == "recip" or .op == "rsqrt" or .op == "log")
        | [.op, .rounds]] == [["exp", 26], ["recip", 76], ["rsqrt", 89], ["log", 16]]' small.json \
    >/dev/null || fail "smooth functions' rounds: $(jq -c '[.[] | [.op, .rounds]]' small.json)"
ok "bench-small.ini: 20 records with exact MatMul and ReLU costs, the smooth functions' rounds"
[ "$(wc -l <small.csv)" = 21 ] || fail "want a header and 20 CSV lines"
head -n 1 small.csv | grep -q '^op,size,batch,repetitions,time_median_s,time_min_s,time_max_s' ||
    fail "CSV header: $(head -n 1 small.csv)"
for op in matmul conv2d relu drelu compare sigmoid division maxpool exp recip rsqrt log tanh erf \
    softmax log_softmax network_a network_d; do
    grep -q "^$op " <<<"$out" || fail "no table row for $op"
done
[ "$(grep -c '^Time = [0-9.]* seconds$' <<<"$out")" = 20 ] || fail "want 20 'Time =' lines"
[ "$(grep -c '^Data sent = [0-9.]* MB in ~[0-9]* rounds (party 0)$' <<<"$out")" = 20 ] ||
    fail "want 20 'Data sent =' lines"
[ "$(grep -c '^Global data sent = [0-9.]* MB (all parties)$' <<<"$out")" = 20 ] ||
    fail "want 20 'Global data sent =' lines"
grep -Eq '^  network_a .* \([0-9.]+x (faster|slower)\)' <<<"$out" ||
    fail "no comparison with SecureNN's measured figures"
grep -q "^Against SecureNN's code as measured on the 2-core development machine .*, not on this machine" \
    <<<"$out" || fail "the SecureNN figures are not said to be another machine's"
ok "table, MP-SPDZ summary lines and CSV"
[ -f plots/relu.dat ] && [ -f plots/relu.gp ] || fail "--plot wrote no data or script"
if command -v gnuplot >/dev/null; then
    for f in plots/relu-time.png plots/network_a-bytes.png; do
        [ "$(head -c 4 "$f" | tail -c 3)" = PNG ] || fail "$f is not a PNG"
    done
    ok "--plot: PNG charts"
else
    grep -q 'apt-get install gnuplot-nox' <<<"$out" || fail "no install hint without gnuplot"
    ok "--plot: data and scripts, and how to install gnuplot"
fi

# ---- against a running cluster -------------------------------------------
"$lc" start "$dir" >/dev/null || fail "local-cluster start"
# Calls of about half a second: the client polls each job every 200 ms, and
# a poll answered after the job's own reply must not be taken for the next.
printf '[bench]\ncluster = %s\nrepetitions = 3\nwarmup = 0\njson = remote.json\n[drelu]\nsizes = 5, 262144\n' \
    "$dir/cluster.ini" >remote.ini
out=$("$trine" -i "$dir/keys/client.key" bench remote.ini 2>&1) || fail "remote bench: $out"
jq -e '.[0].op == "drelu" and .[0].cluster == "'"$dir/cluster.ini"'" and length == 2' remote.json \
    >/dev/null || fail "remote record: $(cat remote.json)"
[ -z "$(T ls | grep bench-)" ] || fail "the bench left tensors behind: $(T ls)"
ok "a running cluster: measured, nothing left stored"
printf '[bench]\ncluster = %s\nfrac_bits = 12\n[relu]\nsizes = 5\n' "$dir/cluster.ini" >frac.ini
expect_fail "sets frac_bits = 12 but cluster" "$trine" -i "$dir/keys/client.key" bench frac.ini
printf '[bench]\ncluster = %s\ntruncation = local\n[relu]\nsizes = 5\n' "$dir/cluster.ini" >trunc.ini
expect_fail "sets truncation = local but cluster" "$trine" -i "$dir/keys/client.key" bench trunc.ini
printf '[bench]\ncluster = %s\nprotocol = fss\n[relu]\nsizes = 5\n' "$dir/cluster.ini" >proto.ini
expect_fail "sets protocol = fss but cluster" "$trine" -i "$dir/keys/client.key" bench proto.ini
"$lc" stop "$dir" >/dev/null
ok "frac_bits, truncation and protocol must match the cluster's"
# local truncation: the matmul alone, as SecureNN's formula has it
printf '[bench]\ncluster = local\ntruncation = local\nrepetitions = 1\njson = local.json\n[matmul]\nsizes = 2x3x2\n' \
    >local.ini
out=$("$trine" bench local.ini 2>&1) || fail "truncation = local: $out"
grep -q "truncation local" <<<"$out" || fail "the bench does not say truncation local: $out"
jq -e '.[0].bytes_total == 224 and .[0].rounds == 1' local.json >/dev/null ||
    fail "matmul 2x3x2 with local truncation is not 224 bytes in 1 round: $(cat local.json)"
leftovers "local.ini"
ok "truncation = local: matmul 2x3x2 in 224 bytes and 1 round"
# protocol fss: a ReLU in one round, 16 bytes a value online, the keys
# offline (P2's alone); Network A at batch 1 in 7 rounds; the MP-SPDZ line
# splits the phases
printf '[bench]\ncluster = local\nprotocol = fss\nrepetitions = 2\njson = fss.json\n[relu]\nsizes = 100\n[network_a]\nbatch = 1\n' \
    >fss.ini
out=$("$trine" bench fss.ini 2>&1) || fail "protocol = fss: $out"
grep -q "protocol fss" <<<"$out" || fail "the bench does not say protocol fss: $out"
jq -e '.[0].op == "relu" and .[0].rounds == 1 and .[0].protocol == "fss"
       and .[0].bytes_total - .[0].offline_bytes == 1600 and .[0].offline_bytes == .[0].bytes_party2
       and .[0].offline_time_median_s > 0 and .[0].online_time_median_s <= .[0].time_median_s
       and .[1].op == "network_a" and .[1].rounds == 7' fss.json >/dev/null ||
    fail "protocol fss costs: $(cat fss.json)"
grep -Eq '^Spent [0-9.]+ seconds \(0[.]001600 MB, 1 rounds\) on the online phase and [0-9.]+ seconds \([0-9.]+ MB, 1 rounds\) on the offline phase$' <<<"$out" ||
    fail "no online / offline line for relu: $out"
leftovers "fss.ini"
ok "protocol = fss: relu in 1 round and 1600 online bytes, the keys offline; network_a in 7 rounds"
# protocol auto with fss_max = 200: the relu of 100 values by fss (1
# round), that of 300 by carry (4 rounds, 16 + 80 bytes a value and
# 656 + 824 a block of 64, the 80 and 824 dealt); the records carry
# fss_max
printf '[bench]\ncluster = local\nprotocol = auto\nfss_max = 200\nrepetitions = 1\njson = auto.json\n[relu]\nsizes = 100, 300\n' \
    >auto.ini
out=$("$trine" bench auto.ini 2>&1) || fail "protocol = auto: $out"
grep -q "protocol auto, fss_max 200" <<<"$out" || fail "the bench does not say protocol auto: $out"
jq -e '.[0].rounds == 1 and .[1].rounds == 4 and .[0].protocol == "auto" and .[0].fss_max == 200
       and .[1].fss_max == 200 and .[1].bytes_total == 96 * 300 + 1480 * 5
       and .[1].offline_bytes == 80 * 300 + 824 * 5 and .[1].recv_party2 == 0' auto.json >/dev/null || fail "protocol auto costs: $(cat auto.json)"
jq -e '.[0].fss_max == null' fss.json >/dev/null || fail "fss_max recorded without auto"
leftovers "auto.ini"
ok "protocol = auto, fss_max = 200: relu of 100 in 1 round, of 300 by carry in 4; fss_max recorded"

# ---- Ctrl-C keeps what is finished ----------------------------------------
{
    printf '[bench]\ncluster = local\nrepetitions = 3\nwarmup = 0\njson = int.json\ncsv = int.csv\n'
    printf '[relu]\nsizes = 16384'
    for _ in $(seq 39); do printf ',\n    16384'; done
    printf '\n'
} >int.ini
"$trine" bench int.ini >int.out 2>&1 &
pid=$!
for _ in $(seq 600); do
    kill -0 $pid 2>/dev/null || break
    [ -f int.json ] && [ "$(jq length int.json 2>/dev/null || echo 0)" -ge 1 ] && break
    sleep 0.1
done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "Ctrl-C: exit $rc, want 130 ($(cat int.out))"
n=$(jq length int.json) || fail "int.json is not JSON after Ctrl-C"
[ "$n" -ge 1 ] && [ "$n" -lt 40 ] || fail "Ctrl-C: $n records"
[ "$(wc -l <int.csv)" = $((n + 1)) ] || fail "CSV and JSON disagree after Ctrl-C"
grep -q "interrupted after $n of 40 measurements" int.out || fail "no interruption message: $(cat int.out)"
leftovers "Ctrl-C"
ok "Ctrl-C: exit 130 with $n finished records kept, parties stopped"

# ---- errors --------------------------------------------------------------
printf '[bench]\ncluster = local\n[matmul]\nsizes = 2x0x2\n' >bad.ini
expect_fail "bad.ini:4: [matmul] sizes: '2x0x2'" "$trine" bench bad.ini
expect_fail "nosuch.ini" "$trine" bench nosuch.ini
"$trine" bench >/dev/null 2>&1
[ $? = 2 ] || fail "bench without a file should exit 2"
"$trine" bench --help | grep -q 'usage: trine .*bench BENCH.ini' || fail "bench --help"
ok "config errors name file, line and key; usage"
echo "all bench checks passed"
