# deploy/cluster-lib.sh — what deploy/local-cluster and deploy/netns-cluster
# share; sourced after the script has set tool (its name, for messages),
# root (the source tree), build, trined, trine, dir and timeout_ms.
#   cl_ensure_built             builds trine in $build when a program is missing
#   cl_live_pid FILE P          the pid in FILE when it still runs party P of
#                               $dir/cluster.ini, else false
#   cl_make_keys                key pairs party0..2 and client in $dir/keys (kept
#                               when present), client.pub allowed
#   cl_write_config NAME NOTE ENDPOINTS...   $dir/cluster.ini: six endpoints,
#                               peer and client of party0, party1, party2;
#                               frac_bits (13 when unset), protocol
#                               (securenn when unset), fss_max (64 when
#                               unset), timeout_ms;
#                               with store=1, [store] dir = store; with
#                               extra_ini set, that file's lines at the end
#   cl_stop_pids PID...         SIGTERM, then SIGKILL to those alive 5 s later

cl_ensure_built() {
    [ -x "$trined" ] && [ -x "$trine" ] && return
    echo "$tool: building trine in $build" >&2
    [ -f "$build/build.ninja" ] || meson setup "$build" "$root" >/dev/null
    meson compile -C "$build" >/dev/null
}

cl_live_pid() {
    local f=$1 p=$2 pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "trined -c $dir/cluster.ini -p $p " || return 1
    echo "$pid"
}

cl_make_keys() {
    local k
    for k in party0 party1 party2 client; do
        [ -f "$dir/keys/$k.key" ] || "$trine" keygen --dir "$dir/keys" "$k" >/dev/null
    done
    cp "$dir/keys/client.pub" "$dir/keys/clients/client.pub"
}

cl_write_config() {
    local name=$1 note=$2 p
    shift 2
    {
        echo "# Written by deploy/$tool: $note"
        echo "[cluster]"
        echo "name = $name"
        echo "frac_bits = ${frac_bits:-13}"
        echo "protocol = ${protocol:-securenn}"
        echo "fss_max = ${fss_max:-64}"
        echo "timeout_ms = $timeout_ms"
        echo "heartbeat_ms = $(( timeout_ms / 10 < 1000 ? timeout_ms / 10 : 1000 ))"
        for p in 0 1 2; do
            echo
            echo "[party$p]"
            echo "peer = $1"
            echo "client = $2"
            echo "public_key = keys/party$p.pub"
            shift 2
        done
        echo
        echo "[clients]"
        echo "allow = keys/clients/"
        if [ "${store:-0}" = 1 ]; then
            echo
            echo "[store]"
            echo "dir = store   ; the shares, kept across restarts: secret"
        fi
        if [ -n "${extra_ini:-}" ]; then
            echo
            cat "$extra_ini"
        fi
    } >"$dir/cluster.ini"
}

cl_stop_pids() {
    local pid alive
    [ $# -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null || true
    for _ in $(seq 50); do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null || true
}
