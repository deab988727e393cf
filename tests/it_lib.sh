# tests/it_lib.sh — what the cluster integration tests share; sourced after
# the script has set src (the source root) and build (the build root). Sets
# work (a temporary folder, removed at exit), dir (the cluster's folder in
# it), lc, trine and trined, and defines:
#   fail MSG            prints FAIL: MSG and the parties' last log lines, exits 1
#   ok MSG              prints ok   MSG
#   T ARGS / O ARGS     trine as the cluster's client / as the client "other"
#   expect_fail PART CMD...   CMD exits 1 and its output contains PART
#   start_party P       starts party P (after a kill) as local-cluster does
#   wait_up             true once all parties answer trine status (10 s at most)
export TRINE_BUILD=$build
work=$(mktemp -d)
dir=$work/cluster
lc=$src/deploy/local-cluster
trine=$build/daemon/trine
trined=$build/daemon/trined
cleanup() { "$lc" stop "$dir" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/logs/*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
ok() { echo "ok   $*"; }
T() { "$trine" -c "$dir/cluster.ini" -i "$dir/keys/client.key" "$@"; }
O() { "$trine" -c "$dir/cluster.ini" -i "$dir/keys/other.key" "$@"; }
start_party() {
    "$trined" -c "$dir/cluster.ini" -p "$1" -k "$dir/keys/party$1.key" -t 1 \
        >>"$dir/logs/party$1.log" 2>&1 </dev/null &
    echo $! >"$dir/pids/party$1.pid"
}
wait_up() {
    for _ in $(seq 100); do T status >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
expect_fail() {
    local want=$1 out rc; shift
    out=$("$@" 2>&1); rc=$?
    [ $rc -eq 1 ] || fail "'$*' exited $rc, want 1 (output: $out)"
    grep -qF -- "$want" <<<"$out" || fail "'$*' said '$out', want '$want'"
}
