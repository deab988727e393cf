#!/bin/sh
# daemon/'s folders include only the folders their library may link
# (daemon/meson.build): a header-only use, such as a constant, would
# otherwise slip past the linker. libtrine's public header, trine.h,
# includes none of trine's.
set -u
src=$1
fail=0
allowed() {
    case $1 in
    common) echo "common" ;;
    wire) echo "common wire" ;;
    models) echo "common wire models" ;;
    party) echo "common wire party" ;;
    client) echo "common wire models client" ;;
    esac
}
for dir in common wire models party client; do
    [ -d "$src/daemon/$dir" ] || { echo "FAIL: no daemon/$dir"; exit 1; }
    ok=$(allowed "$dir")
    for used in $(grep -ho '^#include "daemon/[a-z]*/' "$src/daemon/$dir"/*.[ch] |
                  sed 's|.*"daemon/||; s|/$||' | sort -u); do
        case " $ok " in
        *" $used "*) ;;
        *)
            echo "FAIL: daemon/$dir/ includes daemon/$used/ (it may use: $ok):"
            grep -n "^#include \"daemon/$used/" "$src/daemon/$dir"/*.[ch]
            fail=1
            ;;
        esac
    done
done
# libtrine's public header is installed alone: system headers only.
if grep -n '^#include "' "$src/daemon/client/trine.h"; then
    echo "FAIL: daemon/client/trine.h (installed alone) includes a header of trine's"
    fail=1
fi
[ $fail -eq 0 ] && echo "daemon_layout: ok"
exit $fail
