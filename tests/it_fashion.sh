#!/usr/bin/env bash
# Integration test of the Fashion-MNIST example: the fmnist tool's checks of
# IDX files, then examples/fashion-mnist/run.sh --quick on a local cluster
# of its own, whose private figures must agree with plaintext. Skipped (77)
# when Debian's dataset-fashion-mnist is not installed. The same inference
# then runs through the python module (examples/python/fashion_mnist.py)
# on run.sh's data, weights and cluster, and must print the same accuracy
# (not in a sanitizer build, as it_python.sh).
#   it_fashion.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL FMNIST PYTHON SANITIZE
set -u
src=$1 build=$2 fmnist=$4 py=$5 sanitize=$6
export TRINE_BUILD=$build
data=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok   $*"; }
expect_fail() { # expect_fail MESSAGE_SUBSTRING CMD...: exits 1 and says MESSAGE
    local want=$1 out rc; shift
    out=$("$@" 2>&1); rc=$?
    [ $rc -eq 1 ] || fail "'$*' exited $rc, want 1 (output: $out)"
    grep -qF -- "$want" <<<"$out" || fail "'$*' said '$out', want '$want'"
}
[ -r "$data/t10k-images-idx3-ubyte.gz" ] || { echo "SKIP: no $data (dataset-fashion-mnist)"; exit 77; }

# ---- fmnist: IDX checks, labels, weights, accuracy --------------------------
gzip -dc "$data/t10k-images-idx3-ubyte.gz" >"$work/im.idx" &&
    gzip -dc "$data/t10k-labels-idx1-ubyte.gz" >"$work/lb.idx" || fail gunzip
expect_fail "gzip -dc it first" "$fmnist" idx "$data/t10k-images-idx3-ubyte.gz" "$work/lb.idx" "$work" z
head -c 10000 "$work/im.idx" >"$work/short.idx"
expect_fail "the file is shorter" "$fmnist" idx "$work/short.idx" "$work/lb.idx" "$work" z
expect_fail "want 0x00000803" "$fmnist" idx "$work/lb.idx" "$work/lb.idx" "$work" z
"$fmnist" idx - "$work/lb.idx" "$work" t --limit 30 <"$work/im.idx" >/dev/null || fail "idx from stdin"
"$fmnist" acc "$work/t_y.npy" "$work/t_labels.npy" | grep -qx "accuracy=1.0000 correct=30 of=30" ||
    fail "one-hot labels are not their own argmax"
"$fmnist" idx "$work/im.idx" "$work/lb.idx" "$work" b --classes 7,9 --limit 40 >/dev/null || fail "--classes"
"$fmnist" acc "$work/b_y.npy" "$work/b_labels.npy" | grep -q "^accuracy=1.0000 correct=40 of=40 precision=1.0000" ||
    fail "two-class labels"
expect_fail "has 30 predictions" "$fmnist" acc "$work/t_y.npy" "$work/b_labels.npy"
mkdir -p "$work/i1" "$work/i2"
"$fmnist" init "$work/i1" 5 --sizes 784,1 >/dev/null && [ -s "$work/i1/w1.npy" ] &&
    [ -s "$work/i1/b1.npy" ] && [ ! -e "$work/i1/w2.npy" ] || fail "init --sizes 784,1"
"$fmnist" init "$work/i2" 5 --sizes 784,1 >/dev/null && cmp -s "$work/i1/w1.npy" "$work/i2/w1.npy" ||
    fail "init is not deterministic"
"$fmnist" init "$work/i2" 5 --sizes 784,-1 >/dev/null 2>&1
[ $? = 2 ] || fail "init --sizes 784,-1 is not a usage error"
ok "fmnist: IDX magic, sizes and counts checked; one-hot and two-class labels; seeded weights"

# ---- the example, quick ----------------------------------------------------------
t0=$(date +%s)
out=$("$src/examples/fashion-mnist/run.sh" --quick --work "$work/fw" 2>&1) ||
    fail "run.sh --quick: $out"
t1=$(date +%s)
val() { sed -n "s/^$1=//p" <<<"$out"; }
for k in infer_private_accuracy infer_plain_accuracy infer_diff_points infer_agree \
    batch128_s batch128_bytes batch1_ms batch1_bytes batch128_scores_s batch1_scores_ms \
    train_step_s train_private_accuracy train_plain_accuracy train_diff_points train_agree \
    logreg_private_accuracy logreg_plain_accuracy logreg_private_precision logreg_plain_precision; do
    [[ $(val $k) =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || fail "run.sh printed no number for $k: $out"
done
within() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= -b && a <= b) }'; }
atleast() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
within "$(val infer_diff_points)" 2 || fail "private inference accuracy $(val infer_diff_points) points from plaintext"
atleast "$(val infer_agree)" 0.97 || fail "private and plaintext predictions agree on $(val infer_agree) only"
atleast "$(val infer_plain_accuracy)" 0.6 || fail "the plaintext model learned little: $(val infer_plain_accuracy)"
within "$(val train_diff_points)" 3 || fail "private training $(val train_diff_points) points from plaintext"
atleast "$(val train_agree)" 0.9 || fail "privately and plainly trained models agree on $(val train_agree) only"
within "$(val logreg_diff_points)" 3 || fail "private logistic regression $(val logreg_diff_points) points from plaintext"
# Bytes do not depend on the machine's load: DESIGN section 11's bounds.
atleast 29000000 "$(val batch128_bytes)" || fail "batch 128 sends $(val batch128_bytes) bytes"
atleast 500000 "$(val batch1_bytes)" || fail "batch 1 sends $(val batch1_bytes) bytes an image"
grep -q "^Network A on 1024 test images: private" <<<"$out" || fail "no summary: $out"
ok "run.sh --quick in $((t1 - t0)) s: inference $(val infer_private_accuracy) private vs $(val infer_plain_accuracy) plaintext (agree $(val infer_agree)), training $(val train_private_accuracy) vs $(val train_plain_accuracy), logistic regression $(val logreg_private_accuracy) vs $(val logreg_plain_accuracy); batch 1 $(val batch1_ms) ms, $(val batch1_bytes) bytes"

# ---- the same inference through the python module ----------------------------
if [ "$sanitize" != none ]; then
    echo "skip examples/python/fashion_mnist.py: a sanitizer build (b_sanitize=$sanitize)"
else
    lc=$src/deploy/local-cluster
    "$lc" start "$work/fw/cluster" >/dev/null || fail "restart run.sh's cluster"
    pyout=$(TRINE_LIB=$build/daemon/client/libtrine.so PYTHONPATH=$build/daemon/client/python \
        "$py" "$src/examples/python/fashion_mnist.py" "$work/fw/cluster" "$work/fw" 2>&1)
    rc=$?
    "$lc" stop "$work/fw/cluster" >/dev/null
    [ $rc = 0 ] || fail "examples/python/fashion_mnist.py: $pyout"
    pyacc=$(sed -n 's/^accuracy=//p' <<<"$pyout")
    within "$(awk -v a="$pyacc" -v b="$(val infer_private_accuracy)" 'BEGIN { print 100 * (a - b) }')" 0.5 ||
        fail "the python module's accuracy $pyacc, run.sh's $(val infer_private_accuracy)"
    ok "$(head -n 1 <<<"$pyout") (run.sh: $(val infer_private_accuracy))"
fi

# ---- examples/marketplace: two data owners' rows train one model ----------
out=$("$src/examples/marketplace/run.sh" --rows 1000 --epochs 1 2>&1) || fail "marketplace: $out"
grep -q "copy program: refused" <<<"$out" && grep -q "batch 1 (per-row gradients): refused" <<<"$out" ||
    fail "marketplace: the model owner was not refused: $out"
diff=$(sed -n 's/.*(\([-+][0-9.]*\) points).*/\1/p' <<<"$out")
within "$diff" 1 || fail "marketplace: private training $diff points from plaintext: $out"
ok "examples/marketplace: two owners' 2000 rows train one model, $diff points from plaintext; the model owner's copy and batch-1 runs refused"
