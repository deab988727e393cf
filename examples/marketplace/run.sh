#!/usr/bin/env bash
# Several data owners, one model: two data owners (alice and bob) each hold
# Fashion-MNIST images of two classes, approve one training program for a
# model owner, and the model owner trains a logistic regression on the rows
# of both in one private job and receives the trained weights, but can run
# nothing else on their rows. On a local three-party cluster of its own;
# the same training in plaintext on the union of the rows is the reference.
#   examples/marketplace/run.sh [--rows N] [--epochs E] [--work DIR]
#   N images each owner holds (default 3000), E epochs (default 2).
#   TRINE_BUILD   build directory (default: build; built if missing)
#   FMNIST_DATA   the gzipped IDX files (default /usr/share/datasets/fashion-mnist)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
usage() { sed -n '9,13p' "$0" | sed 's/^# \{0,1\}//'; }
rows=3000 epochs=2 work='' classes=7,9 batch=128
while [ $# -gt 0 ]; do
    case $1 in
        --rows|--epochs|--work)
            [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; usage >&2; exit 2; }
            case $1 in --rows) rows=$2 ;; --epochs) epochs=$2 ;; --work) work=$2 ;; esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $rows =~ ^[1-9][0-9]*$ ]] && [[ $epochs =~ ^[1-9][0-9]*$ ]] ||
    { echo "run.sh: --rows and --epochs take whole numbers >= 1" >&2; exit 2; }

build=${TRINE_BUILD:-$root/build}
export TRINE_BUILD=$build
trine=$build/daemon/trine fmnist=$build/examples/fashion-mnist/fmnist
data=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
lc=$root/deploy/local-cluster
train=$root/examples/fashion-mnist/logreg_train.prog infer=$root/examples/fashion-mnist/logreg.prog
die() { echo "run.sh: $*" >&2; exit 1; }
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -r "$data/$f.gz" ] || die "no $data/$f.gz: install Debian's dataset-fashion-mnist or set FMNIST_DATA"
done
if [ ! -x "$trine" ] || [ ! -x "$fmnist" ]; then
    echo "run.sh: building trine in $build" >&2
    [ -f "$build/build.ninja" ] || meson setup "$build" "$root" >/dev/null
    meson compile -C "$build" >/dev/null
fi
own_work=0
[ -n "$work" ] || { work=$(mktemp -d "${TMPDIR:-/tmp}/trine-market.XXXXXX"); own_work=1; }
mkdir -p "$work" && work=$(cd "$work" && pwd)
cluster=$work/cluster d=$work/data log=$work/run.log
: >"$log"
cleanup() {
    local rc=$?
    "$lc" stop "$cluster" >/dev/null 2>&1 || true
    [ $rc = 0 ] && [ $own_work = 1 ] && rm -rf "$work"
    [ $rc = 0 ] || echo "run.sh: kept $work (run.log has every command)" >&2
}
trap cleanup EXIT
logged() { echo "+ $*" >>"$log"; "$@" >>"$log" 2>&1 || die "'$*' failed (exit $?); see $log"; }
as() { local who=$1; shift; "$trine" -c "$cluster/cluster.ini" -i "$cluster/keys/$who.key" "$@"; }
say() { printf '%s\n' "$*"; }

# ---- the data: each owner's own images, a test set, the union for reference
mkdir -p "$d"
gzip -dc "$data/train-images-idx3-ubyte.gz" >"$work/tr_im" &&
    gzip -dc "$data/train-labels-idx1-ubyte.gz" >"$work/tr_lb" &&
    gzip -dc "$data/t10k-images-idx3-ubyte.gz" >"$work/te_im" &&
    gzip -dc "$data/t10k-labels-idx1-ubyte.gz" >"$work/te_lb" || die "gunzip"
logged "$fmnist" idx "$work/tr_im" "$work/tr_lb" "$d" alice --classes $classes --limit "$rows"
logged "$fmnist" idx "$work/tr_im" "$work/tr_lb" "$d" bob --classes $classes --skip "$rows" \
    --limit "$rows"
logged "$fmnist" idx "$work/tr_im" "$work/tr_lb" "$d" union --classes $classes --limit $((2 * rows))
logged "$fmnist" idx "$work/te_im" "$work/te_lb" "$d" test --classes $classes
logged "$fmnist" init "$d" 1 --sizes 784,1
rm -f "$work"/tr_* "$work"/te_*

# ---- a cluster whose allowed clients are the model owner and the two data owners
mkdir -p "$cluster/keys/clients"
logged "$trine" keygen --dir "$cluster/keys" model alice bob
cp "$cluster/keys/"{model,alice,bob}.pub "$cluster/keys/clients/"
logged "$lc" start "$cluster"

# ---- each owner shares its own tensors
logged as model share w1 "$d/w1.npy"
logged as model share b1 "$d/b1.npy"
for o in alice bob; do
    logged as $o share ${o}_x "$d/${o}_x.npy"
    logged as $o share ${o}_y "$d/${o}_y.npy"
done
# ---- each data owner approves exactly this training run for the model owner
for o in alice bob; do
    for slot in x y; do
        logged as $o grant ${o}_$slot "$cluster/keys/model.pub" --program "$train" --slot $slot \
            --batch $batch --epochs "$epochs"
    done
done
say "alice and bob each approved $(basename "$train") (batch $batch, $epochs epochs) for the model owner"

# ---- the model owner cannot read their rows any other way
printf 'batch x\noutput rows = x * 1\n' >"$work/copy.prog"
if out=$(as model run "$work/copy.prog" --bind x=alice_x,bob_x --prefix stolen- 2>&1); then
    die "the model owner copied the rows: $out"
fi
say "model owner's copy program: refused: $(head -n 1 <<<"$out" | cut -c 1-160)..."
if out=$(as model train --model "$train" --data alice_x,bob_x --labels alice_y,bob_y \
    --batch 1 --epochs "$epochs" --prefix t1- 2>&1); then
    die "the model owner trained at batch 1, which was not approved: $out"
fi
say "model owner's training at batch 1 (per-row gradients): refused"

# ---- the approved training, on both owners' rows in one job
t0=$(date +%s.%N)
logged as model train --model "$train" --data alice_x,bob_x --labels alice_y,bob_y \
    --batch $batch --epochs "$epochs" --prefix mk- --stats "$work/train.stats"
t1=$(date +%s.%N)
mkdir -p "$work/private" "$work/plain"
for n in w1 b1; do logged as model reveal mk-$n -o "$work/private/$n.npy"; done

# ---- the reference: the same training in plaintext on the union
cp "$d/w1.npy" "$d/b1.npy" "$work/plain/"
cp "$d/union_x.npy" "$work/plain/x.npy" && cp "$d/union_y.npy" "$work/plain/y.npy"
logged "$trine" train --plaintext --dir "$work/plain" --model "$train" --data x --labels y \
    --batch $batch --epochs "$epochs" --prefix out-
for n in w1 b1; do mv "$work/plain/out-$n.npy" "$work/plain/$n.npy"; done
for m in private plain; do
    cp "$d/test_x.npy" "$work/$m/x.npy"
    logged "$trine" infer --plaintext --dir "$work/$m" --model "$infer" --input "$work/$m/x.npy" \
        -o "$work/$m/pred.npy"
done
acc() { "$fmnist" acc "$work/$1/pred.npy" "$d/test_labels.npy" | sed -n 's/.*accuracy=\([0-9.]*\).*/\1/p'; }
a_priv=$(acc private) a_plain=$(acc plain)
sent=$(awk -F= '$1 == "sent_total" { print $2 }' "$work/train.stats")
awk -v n="$rows" -v e="$epochs" -v ap="$a_priv" -v aq="$a_plain" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    -v mb="$sent" -v cls="$classes" 'BEGIN {
    printf "Two data owners (%d images each, classes %s), one model owner, %d epochs in one private job:\n", n, cls, e
    printf "  test accuracy: private %.2f%%, plaintext on the union %.2f%% (%+.2f points)\n", 100 * ap, 100 * aq, 100 * (ap - aq)
    printf "  training took %.1f s, %.1f MB sent by all parties\n", s, mb / 1e6 }'
