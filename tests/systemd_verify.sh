#!/usr/bin/env bash
# The systemd units of deploy/systemd/, checked without a running systemd:
#  1. `systemd-analyze verify` passes, with no warning, on trined@0.service
#     and `systemd-sysusers --dry-run` on trine.conf;
#  2. `meson install --destdir` puts trined where ExecStart= runs it;
#  3. the unit's own ExecStart= line, with its environment file and the
#     install guide's /etc/trine layout (under a temporary root), runs a
#     cluster that shares and reveals, and stops with exit 0 on SIGTERM;
#     where strace exists, party 0 runs under it and every system call,
#     socket family and written path is one the unit's sandbox allows.
# Skips (77) without systemd-analyze.
#   systemd_verify.sh SOURCE_ROOT BUILD_ROOT
set -u
src=$1 build=$2
units=$src/deploy/systemd
if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze not found (Debian package systemd); the units are not verified"
    exit 77
fi
. "$src/tests/it_lib.sh"

# ---- 1. systemd-analyze verify ------------------------------------------
# verify checks that ExecStart='s binary exists. The unit runs the installed
# /usr/local/bin/trined; the copy verified here runs this build's trined
# instead. That is the only change made to the unit.
installed=/usr/local/bin/trined
grep -qx "ExecStart=$installed .*" "$units/trined@.service" ||
    fail "trined@.service: ExecStart= does not run $installed"
mkdir -p "$work/units"
sed "s|^ExecStart=$installed |ExecStart=$trined |" "$units/trined@.service" \
    >"$work/units/trined@.service"
[ "$(diff "$units/trined@.service" "$work/units/trined@.service" | grep -c '^[<>]')" = 2 ] ||
    fail "the verified copy differs from the unit in more than its ExecStart= line"
out=$(systemd-analyze verify "$work/units/trined@0.service" 2>&1) ||
    fail "systemd-analyze verify trined@0.service failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify trined@0.service warned: $out"
ok "systemd-analyze verify trined@0.service: no warning"
# The resource limits of the unit (verify above warns on a value systemd
# cannot read): descriptors for connections, tasks, memory.
for want in LimitNOFILE=65536 TasksMax=256 MemoryMax=80%; do
    key=${want%%=*}
    got=$(grep -E "^$key=" "$units/trined@.service" | tail -n 1)
    [ "$got" = "$want" ] || fail "trined@.service: $key is '${got#*=}', want '${want#*=}'"
done
ok "trined@.service sets LimitNOFILE=65536, TasksMax=256, MemoryMax=80%"
mkdir -p "$work/sysroot/etc"
out=$(systemd-sysusers --dry-run --root="$work/sysroot" "$units/trine.conf" 2>&1) ||
    fail "systemd-sysusers --dry-run trine.conf failed: $out"
grep -q "Creating user 'trine'" <<<"$out" || fail "trine.conf does not create user trine: $out"
ok "systemd-sysusers --dry-run trine.conf: creates user trine"

# ---- 2. meson install --------------------------------------------------
meson install -C "$build" --no-rebuild --quiet --destdir "$work/dest" >"$work/install.log" 2>&1 ||
    fail "meson install --destdir: $(tail -n 5 "$work/install.log")"
for exe in trined trine; do
    [ -x "$work/dest${installed%/*}/$exe" ] ||
        fail "meson install put no $exe in ${installed%/*} (this build's prefix differs?)"
done
[ "$("$work/dest$installed" --version)" = "$("$trined" --version)" ] ||
    fail "the installed trined is not this build's"
ok "meson install puts trined and trine in ${installed%/*}, where the unit runs trined"

# ---- 3. the unit's command line on the install guide's layout -----------
# Keys and a cluster.ini on free ports from local-cluster, laid out as the
# README's guide says; ROOT stands for / (etc/trine, var/lib/trine).
root=$work/root
"$lc" start "$dir" --timeout-ms 2000 >/dev/null && "$lc" stop "$dir" >/dev/null ||
    fail "local-cluster start"
mkdir -p "$root/etc/trine/keys/clients" "$root/var/lib/trine"
cp "$dir"/keys/party?.pub "$dir"/keys/party?.key "$root/etc/trine/keys/"
cp "$dir/keys/client.pub" "$root/etc/trine/keys/clients/"
{
    cat "$dir/cluster.ini"
    printf '\n[store]\ndir = %s/var/lib/trine/shares\n' "$root"
} >"$root/etc/trine/cluster.ini"
for p in 0 1 2; do cp "$units/party$p.env" "$root/etc/trine/"; done
U() { "$trine" -c "$root/etc/trine/cluster.ini" -i "$dir/keys/client.key" "$@"; }

# ExecStart= for party N, as systemd would run it: %i is N, $TRINED_OPTS
# comes from the environment file (split at spaces), paths move to ROOT.
unit_argv() {
    local n=$1 line word opts
    line=$(sed -n 's/^ExecStart=//p' "$units/trined@.service")
    line=${line//%i/$n}
    opts=$(sed -n 's/^TRINED_OPTS=//p' "$root/etc/trine/party$n.env")
    argv=()
    for word in $line; do
        # shellcheck disable=SC2206 # $TRINED_OPTS splits at spaces, as in systemd
        case $word in
            "$installed") argv+=("$trined") ;;
            '$TRINED_OPTS') argv+=($opts) ;;
            /etc/trine/*) argv+=("$root$word") ;;
            *) argv+=("$word") ;;
        esac
    done
}
strace_on=0
command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null && strace_on=1
# A sanitizer build's runtime makes calls and writes files of its own, and
# LeakSanitizer cannot run under ptrace: trace only a plain build.
sanitized=0
grep -q __asan_init "$build/daemon/trined" && sanitized=1 && strace_on=0
# pids: what to wait for; trined_pids: what to signal (under strace, its child).
pids=() trined_pids=() traces=0
start_party() {
    local n=$1
    unit_argv "$n"
    if [ "$n" = 0 ] && [ $strace_on = 1 ]; then
        argv=(strace -f -qq -o "$work/trace.$((++traces))" "${argv[@]}")
    fi
    "${argv[@]}" >>"$dir/logs/party$n.log" 2>&1 </dev/null &
    pids[n]=$! trined_pids[n]=$!
}
stop_parties() {
    for p in 0 1 2; do
        [ -n "${trined_pids[p]:-}" ] && kill -TERM "${trined_pids[p]}" 2>/dev/null
    done
}
trap 'stop_parties; cleanup' EXIT
start_parties() {
    local p up=0
    for p in 0 1 2; do start_party $p; done
    for _ in $(seq 100); do
        U status >/dev/null 2>&1 && up=1 && break
        for p in 0 1 2; do
            kill -0 "${pids[p]}" 2>/dev/null || fail "party$p run from ExecStart= exited"
        done
        sleep 0.1
    done
    [ $up = 1 ] || fail "the parties run from ExecStart= did not come up within 10 s"
    if [ $strace_on = 1 ]; then
        trined_pids[0]=$(pgrep -P "${pids[0]}" -x trined) || fail "no trined under strace"
    fi
}
# KillSignal=SIGTERM: each party stops with exit 0.
stop_and_wait() {
    local p rc
    stop_parties
    for p in 0 1 2; do
        wait "${pids[p]}"
        rc=$?
        [ $rc = 0 ] || fail "party$p exited $rc on SIGTERM, want 0"
        trined_pids[p]=
    done
}
start_parties
printf '7,-8,9\n-9223372036854775808,0,9223372036854775807\n' >"$work/x.csv"
want=$(printf '7 -8 9\n-9223372036854775808 0 9223372036854775807')
U share x "$work/x.csv" >/dev/null && [ "$(U reveal x)" = "$want" ] ||
    fail "share and reveal through the parties run from ExecStart="
ok "ExecStart= with party0.env..party2.env on the /etc/trine layout: share and reveal"
stop_and_wait
ok "SIGTERM stops every party with exit 0"
# The store in StateDirectory= (/var/lib/trine) outlives a restart.
start_parties
[ "$(U reveal x)" = "$want" ] || fail "x did not survive a restart in $root/var/lib/trine"
U rm x >/dev/null || fail "rm x after the restart"
stop_and_wait
ok "a tensor stored in /var/lib/trine/shares survives a restart of all three"

# The sandbox, from party 0's trace: system calls in SystemCallFilter=,
# socket families in RestrictAddressFamilies=, writes inside StateDirectory=.
if [ $sanitized = 1 ]; then
    echo "note: a sanitizer build; the sandbox is checked against a trace in the plain build's run"
    exit 0
elif [ $strace_on = 0 ]; then
    echo "note: strace not found or not permitted; the sandbox was not checked against a trace"
    exit 0
fi
group() {
    local s
    systemd-analyze syscall-filter "$1" | sed -n '2,$p' | awk '$1 !~ /^#/ { print $1 }' |
        while read -r s; do case $s in @*) group "$s" ;; *) echo "$s" ;; esac; done
}
# Each SystemCallFilter= line allows its groups, or with a leading ~ denies them.
allowed=() denied=()
while read -r line; do
    # shellcheck disable=SC2206 # a line's groups, split at spaces
    case $line in \~*) denied+=(${line#\~}) ;; *) allowed+=($line) ;; esac
done < <(sed -n 's/^SystemCallFilter=//p' "$units/trined@.service")
for g in "${allowed[@]}"; do group "$g"; done | sort -u >"$work/allowed"
for g in "${denied[@]}"; do group "$g"; done | sort -u >"$work/denied"
cat "$work"/trace.* >"$work/trace"
used=$(sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$work/trace" | sort -u)
[ -n "$used" ] || fail "no system calls in party 0's trace"
bad=$(comm -23 <(echo "$used") "$work/allowed" | tr '\n' ' ')
bad+=$(comm -12 <(echo "$used") "$work/denied" | tr '\n' ' ')
[ -z "$bad" ] || fail "trined makes system calls SystemCallFilter= refuses: $bad"
families=$(sed -n 's/^RestrictAddressFamilies=//p' "$units/trined@.service")
for f in $(sed -nE 's/^[0-9]+ +socket(pair)?\((AF_[A-Z0-9]+),.*/\2/p' "$work/trace" | sort -u); do
    [[ " $families " == *" $f "* ]] || fail "trined opens $f sockets; RestrictAddressFamilies= refuses them"
done
writes=$(grep -E ' (openat\(.*O_(WRONLY|RDWR|CREAT)|mkdir(at)?\(|rename(at2?)?\(|unlink(at)?\()' "$work/trace" |
    grep -oE '"/[^"]*"' | tr -d '"' | sort -u)
for w in $writes; do
    case $w in
        "$root/var/lib/trine" | "$root/var/lib/trine/"*) ;;
        *) fail "trined writes $w, outside StateDirectory= (ProtectSystem=strict refuses it)" ;;
    esac
done
ok "party 0's trace: $(wc -w <<<"$used") system calls allowed by SystemCallFilter=, sockets" \
    "within RestrictAddressFamilies=, $(wc -w <<<"$writes") paths written, all in StateDirectory="
