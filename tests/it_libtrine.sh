#!/usr/bin/env bash
# Integration test of libtrine as a user gets it: `meson install --destdir`
# puts trine.h, libtrine.so, libtrine.a and trine.pc in a temporary root;
# examples/libtrine/network_a.c is built there with `pkg-config --cflags
# --libs trine` alone (and against libtrine.a), and run against a local
# cluster, its scores against plaintext; the shared object exports
# trine.h's functions and nothing else; bad input gets an error, no crash
# (the example's, and it_libtrine_hostile's for every function).
# In a sanitizer build the example is built as the libraries were (the C
# compiler and -fsanitize of the build).
#   it_libtrine.sh SOURCE_ROOT BUILD_ROOT CC SANITIZE IT_LIBTRINE_HOSTILE
set -u
src=$1 build=$2 cc=$3 sanitize=$4 hostile=$5
. "$src/tests/it_lib.sh"

# ---- install into a temporary root -------------------------------------------
root=$work/root
meson install -C "$build" --no-rebuild --destdir "$root" >"$work/install.log" 2>&1 ||
    fail "meson install: $(tail -n 5 "$work/install.log")"
pc=$(find "$root" -name trine.pc | head -n 1)
[ -n "$pc" ] || fail "no trine.pc installed"
libdir=$(dirname "$(dirname "$pc")")
[ -f "$libdir/libtrine.so.0" ] && [ -f "$libdir/libtrine.a" ] ||
    fail "libtrine.so.0 and libtrine.a not in $libdir"
san=()
[ "$sanitize" = none ] || san=(-fsanitize="$sanitize")
pkgc() { PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@"; }
flags=$(pkgc --cflags --libs trine) || fail "pkg-config --cflags --libs trine"
[ -f "$(pkgc --variable=includedir trine)/trine.h" ] || fail "trine.h not in the includedir"
# shellcheck disable=SC2086
"$cc" "${san[@]}" -std=c11 -Wall -Wextra -Werror -o "$work/network_a" \
    "$src/examples/libtrine/network_a.c" $flags -lm 2>"$work/cc.log" || fail "cc against the installed libtrine: $(cat "$work/cc.log")"
# libtrine.a with the libraries it needs shared (Debian's libzmq.pc cannot
# link statically: its Libs.private names a libprotokit.a it lacks)
reqs=$(pkgc --print-requires-private trine | awk '{ print $1 }')
# shellcheck disable=SC2046,SC2086
"$cc" "${san[@]}" -std=c11 -o "$work/network_a_static" "$src/examples/libtrine/network_a.c" \
    $(pkgc --cflags trine) "$libdir/libtrine.a" $(pkg-config --libs $reqs) -lm -pthread \
    2>"$work/cc.log" || fail "cc against libtrine.a: $(cat "$work/cc.log")"
mod=$(find "$root" -name trine.py | head -n 1)
[ -n "$mod" ] && grep -qF "_LIBRARY = \"${libdir#"$root"}/libtrine.so.0\"" "$mod" ||
    fail "the python module is not installed, or not configured with libtrine's path (${mod:-none})"
ok "installed (the python module at ${mod#"$root"}); network_a.c built with pkg-config alone, shared and static"

# ---- exports: trine.h's functions, no internal name -----------------------------
nm -D --defined-only "$libdir/libtrine.so.0" | awk '$2 == "T" { print $3 }' | sort >"$work/exported"
sed -n 's/^[a-z_ *]*[ *]\(trine_[a-z_]*\)(.*/\1/p' "$src/daemon/client/trine.h" | sort -u >"$work/declared"
diff "$work/declared" "$work/exported" >"$work/exports.diff" ||
    fail "libtrine.so exports differ from trine.h's functions: $(cat "$work/exports.diff")"
ok "libtrine.so exports the $(wc -l <"$work/exported") functions of trine.h and nothing else"

# ---- Network A through the installed library -------------------------------------
"$lc" start "$dir" >/dev/null || fail "local-cluster start"
export LD_LIBRARY_PATH=$libdir
out=$("$work/network_a" "$dir/cluster.ini" "$dir/keys/client.key" \
    "$src/examples/fashion-mnist/network_a_scores.prog" 40 2>&1) ||
    fail "network_a: $out"
grep -q "^Network A through libtrine: 40 images, .* same class on 40 of 40$" <<<"$out" ||
    fail "network_a said: $out"
ok "$out"
out=$("$work/network_a_static" "$dir/cluster.ini" "$dir/keys/client.key" \
    "$src/examples/fashion-mnist/network_a_scores.prog" 3 2>&1) || fail "network_a static: $out"
ok "the static build too"
[ -z "$(T ls)" ] || fail "network_a left tensors: $(T ls)"

# ---- errors, not crashes ------------------------------------------------------------
out=$("$work/network_a" "$dir/nosuch.ini" "$dir/keys/client.key" x.prog 2>&1)
[ $? = 1 ] && grep -q "network_a: connect: .*nosuch.ini" <<<"$out" || fail "bad config: $out"
out=$("$work/network_a" "$dir/cluster.ini" "$dir/keys/client.key" "$work/none.prog" 2>&1)
[ $? = 1 ] && grep -q "network_a: run: cannot open .*none.prog" <<<"$out" ||
    fail "missing program: $out"
printf '1,2\n' >"$work/x.csv" && T share x "$work/x.csv" >/dev/null || fail "share x"
out=$("$work/network_a" "$dir/cluster.ini" "$dir/keys/client.key" \
    "$src/examples/fashion-mnist/network_a_scores.prog" 2 2>&1)
[ $? = 1 ] && grep -q "network_a: x: .*'x'" <<<"$out" || fail "a name taken: $out"
[ "$(T ls | awk '{ print $1 }')" = x ] || fail "a failed share left tensors: $(T ls)"
ok "a missing config or program, a name taken: the library's message, nothing left behind"
T rm x >/dev/null || fail "rm x"
out=$("$hostile" "$dir/cluster.ini" "$dir/keys/client.key" 2>&1) || fail "$out"
ok "$out"
