#!/usr/bin/env bash
# Integration test across network namespaces: three real trined processes,
# each in a namespace of its own on a bridge (deploy/netns-cluster), the
# client in the root namespace. Network A inference against plaintext, then
# link cuts of party1 and party2 mid-job. Needs root; skipped (77) otherwise.
#   it_netns.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL
set -u
src=$1 build=$2 npy=$3
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: network namespaces need root (ip netns add); run the test suite as root"
    exit 77
fi
if ! command -v ip >/dev/null; then
    echo "SKIP: no 'ip' command (Debian package iproute2)"
    exit 77
fi
probe=trine-probe-$$
if ! ip netns add "$probe" 2>/dev/null; then
    echo "SKIP: 'ip netns add' fails here although root (no network namespace support)"
    exit 77
fi
ip netns del "$probe"
. "$src/tests/it_lib.sh"
ns=$src/deploy/netns-cluster
cleanup() { "$ns" down "$dir" >/dev/null 2>&1; rm -rf "$work"; }
timeout_ms=2000
net=10.231.0

# No trine- namespace, trine-br or trine-veth link, and no process of ours.
nothing_left() {
    local pid
    ip netns list | grep -q '^trine-' && fail "$1: namespaces left: $(ip netns list)"
    ip -o link show | grep -q ' trine-' && fail "$1: links left: $(ip -o link show | grep ' trine-')"
    for pid in $2; do kill -0 "$pid" 2>/dev/null && fail "$1: process $pid still runs"; done
    for pid in /proc/[0-9]*/cmdline; do
        [[ "$(tr '\0' ' ' <"$pid" 2>/dev/null)" == *"trined -c $dir/cluster.ini"* ]] &&
            fail "$1: a trined still runs: $pid"
    done
    return 0
}

# ---- a failed up leaves nothing behind --------------------------------------
mkdir -p "$work/broken/daemon"
ln -s "$trine" "$work/broken/daemon/trine"
printf '#!/bin/sh\nexit 1\n' >"$work/broken/daemon/trined" && chmod +x "$work/broken/daemon/trined"
TRINE_BUILD=$work/broken "$ns" up "$dir" --timeout-ms 500 >"$work/broken.out" 2>&1 && fail "up with a broken trined succeeded"
grep -q "party0 exited" "$work/broken.out" || fail "failed up does not say why: $(cat "$work/broken.out")"
nothing_left "after a failed up" ""
rm -rf "$dir"
ok "a failed up names the party and removes its namespaces, veths and bridge"

# ---- up: three namespaces on a bridge ----------------------------------------
"$ns" up "$dir" --timeout-ms $timeout_ms >/dev/null || fail "netns-cluster up"
st=$("$ns" status "$dir") || fail "status: $st"
for p in 0 1 2; do
    grep -q "^party$p: trine-party$p $net.1$p/24, link trine-veth$p UP, running" <<<"$st" ||
        fail "status does not show party$p in its namespace: $st"
    ip netns exec "trine-party$p" ip -4 -o addr show | grep -q " $net.1$p/24" ||
        fail "party$p's namespace lacks $net.1$p"
    grep -q "^party$p  up .* sees party" <<<"$st" || fail "party$p not up: $st"
done
pids=$(cat "$dir"/pids/party*.pid)
for p in 0 1 2; do
    [ "$(readlink "/proc/$(cat "$dir/pids/party$p.pid")/ns/net")" = \
        "$(readlink "/proc/$(ip netns pids "trine-party$p" | head -n 1)/ns/net")" ] ||
        fail "party$p does not run in trine-party$p"
done
[ "$(readlink /proc/self/ns/net)" != "$(readlink "/proc/$(cat "$dir/pids/party0.pid")/ns/net")" ] ||
    fail "party0 runs in the client's namespace"
ok "up: party N in namespace trine-partyN at $net.1N, the client in the root namespace"

# ---- Network A inference across the namespaces, against plaintext ----------
d=$work/data
mkdir -p "$d"
ex=$src/examples/fashion-mnist
i=31
for spec in "w1 784 128" "b1 128" "w2 128 128" "b2 128" "w3 128 10" "b3 10" "x 64 784" "long 4000 784"; do
    read -r t dims <<<"$spec"
    # shellcheck disable=SC2086 # dims: one argument per dimension
    "$npy" gen f1 $i "$d/$t.npy" $dims || fail "gen $t"
    T share "$t" "$d/$t.npy" >/dev/null || fail "share $t"
    i=$((i + 1))
done
out=$(T run "$ex/network_a.prog" --batch 16 --prefix a-) || fail "private Network A: $out"
T run "$ex/network_a_scores.prog" --batch 16 --prefix a- >/dev/null || fail "private scores"
T reveal a-class -o "$work/class.npy" && T reveal a-scores -o "$work/scores.npy" || fail "reveal"
for prog in network_a network_a_scores; do
    "$trine" run "$ex/$prog.prog" --plaintext --dir "$d" --batch 16 --prefix plain- >/dev/null ||
        fail "plaintext $prog"
done
"$npy" cmp "$d/plain-class.npy" "$work/class.npy" 0 >/dev/null || fail "private classes differ"
# logits in the hundreds, each the sum of 784 and 128 products at 2^-13
"$npy" cmp "$d/plain-scores.npy" "$work/scores.npy" 0.2 >/dev/null || fail "private scores differ"
ok "Network A (784-128-128-10) on 64 rows across namespaces: classes = plaintext, logits within 0.2 ($(grep -o '[0-9.]* s (first' <<<"$out" | cut -d' ' -f1) s)"

# What is stored now, revealed once, to compare after each fault.
names=$(T ls | awk '{print $1}')
ls_before=$(T ls)
mkdir -p "$work/before" "$work/after"
for t in $names; do T reveal "$t" -o "$work/before/$t.npy" || fail "reveal $t before the cuts"; done

# ---- link cut mid-job ----------------------------------------------------
# cut_party N OTHER1 OTHER2 HOLD: party N's link goes down during a long job
# and stays down HOLD s more after the others log the job failed. Jobs run
# again within 5 s of the mend however long the cut (a dead connection's
# retransmissions back off for minutes: the daemons must drop and redial it).
cut_party() {
    local p=$1 a=$2 b=$3 hold=$4 runner tcut tmend tup tjob took jobs0 t st tries
    jobs0=$(grep -c "started for client" "$dir/logs/party$a.log")
    "$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" run "$ex/network_a.prog" \
        --bind x=long --batch 1 --prefix "cut$p-" >"$work/cut$p.out" 2>&1 &
    runner=$!
    for _ in $(seq 50); do
        [ "$(grep -c "started for client" "$dir/logs/party$a.log")" -gt "$jobs0" ] && break
        sleep 0.1
    done
    sleep 0.5
    kill -0 $runner 2>/dev/null || fail "the long job ended before the cut: $(cat "$work/cut$p.out")"
    "$ns" cut "$p" >/dev/null || fail "cut $p"
    tcut=$(date +%s.%N)
    st=$("$ns" status "$dir") && fail "status is fine with party$p cut"
    grep -q "link trine-veth$p DOWN" <<<"$st" || fail "status does not show the cut: $st"
    wait $runner && fail "a job survived party$p's link cut"
    took=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $tcut}")
    # heartbeats are timeout_ms / 10 apart: silence is noticed within one more
    awk "BEGIN{exit !($took <= $timeout_ms / 1000 + 1)}" ||
        fail "the client took $took s to give up (timeout_ms $timeout_ms)"
    grep -q "party$p (tcp://$net.1$p:" "$work/cut$p.out" ||
        fail "the client does not name party$p: $(cat "$work/cut$p.out")"
    for t in $a $b; do
        for _ in $(seq 50); do
            grep -q "job .* failed: .*party$p" "$dir/logs/party$t.log" && break
            sleep 0.1
        done
        grep -q "job .* failed: .*party$p" "$dir/logs/party$t.log" ||
            fail "party$t does not log that the job failed on party$p"
    done
    sleep "$hold"
    "$ns" mend "$p" >/dev/null || fail "mend $p"
    tmend=$(date +%s.%N)
    wait_up || fail "party$p not back 10 s after mend: $(T status 2>&1)"
    tup=$(date +%s.%N)
    [ "$(T ls)" = "$ls_before" ] || fail "stored tensors changed: $(T ls)"
    # A job right after a short cut may still meet a connection that
    # survived it, its retransmissions backed off: it fails on the silence,
    # and the next is tried.
    tries=0
    until T run "$ex/network_a.prog" --batch 16 --prefix "again$p-" >"$work/again$p.out" 2>&1; do
        tries=$((tries + 1))
        awk "BEGIN{exit !($(date +%s.%N) - $tmend < 5)}" ||
            fail "no job after party$p's link came back, 5 s after mend: $(cat "$work/again$p.out")"
    done
    tjob=$(date +%s.%N)
    awk "BEGIN{exit !($tjob - $tmend < 5)}" ||
        fail "party$p's links took $(awk "BEGIN{print $tjob - $tmend}") s to carry a job after mend"
    for t in $names; do
        T reveal "$t" -o "$work/after/$t.npy" || fail "reveal $t after cutting party$p"
        "$npy" cmp "$work/before/$t.npy" "$work/after/$t.npy" 0 >/dev/null ||
            fail "$t reveals differently after cutting party$p"
    done
    T reveal "again$p-class" -o "$work/again$p.npy" && T rm "again$p-class" >/dev/null ||
        fail "reveal again$p-class"
    "$npy" cmp "$d/plain-class.npy" "$work/again$p.npy" 0 >/dev/null ||
        fail "the job after the mend differs from plaintext"
    ok "party$p's link cut mid-job: the client names it after $took s (timeout_ms $timeout_ms), party$a and party$b log it; $(wc -w <<<"$names") stored tensors reveal as before; cut $(awk "BEGIN{printf \"%.1f\", $tmend - $tcut}") s, status up $(awk "BEGIN{printf \"%.1f\", $tup - $tmend}") s after mend, Network A = plaintext $(awk "BEGIN{printf \"%.1f\", $tjob - $tmend}") s after ($tries failed first)"
}
cut_party 1 0 2 0
cut_party 2 0 1 15

# ---- down: nothing left ------------------------------------------------------
"$ns" down "$dir" >/dev/null || fail "netns-cluster down"
nothing_left "after down" "$pids"
ok "down: no trine- namespace, veth or bridge, no party process left"
