#!/usr/bin/env bash
# Integration test of the python module (daemon/client/python/trine.py over libtrine):
# tests/it_python.py's unit tests against a local cluster with a second
# client, 'other'. Skipped (77), saying why, in a sanitizer build (the
# python interpreter is not instrumented: ASan would have to be preloaded)
# and without numpy.
#   it_python.sh SOURCE_ROOT BUILD_ROOT PYTHON SANITIZE
set -u
src=$1 build=$2 py=$3 sanitize=$4
. "$src/tests/it_lib.sh"
[ "$sanitize" = none ] ||
    { echo "SKIP: a sanitizer build (b_sanitize=$sanitize): python would need ASan preloaded"; exit 77; }
"$py" -c "import numpy" 2>/dev/null ||
    { echo "SKIP: no numpy for $py (apt-get install python3-numpy)"; exit 77; }

mkdir -p "$dir/keys/clients"
"$trine" keygen --dir "$dir/keys" other >/dev/null && cp "$dir/keys/other.pub" "$dir/keys/clients/" ||
    fail "keygen other"
"$lc" start "$dir" >/dev/null || fail "local-cluster start"
export TRINE_LIB=$build/daemon/client/libtrine.so PYTHONPATH=$build/daemon/client/python:$src/tests
export TRINE_TEST_CLUSTER=$dir
(cd "$work" && "$py" -m unittest -v it_python) 2>&1 || fail "python unit tests"
ok "the python module against the cluster"
