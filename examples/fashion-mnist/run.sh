#!/usr/bin/env bash
# examples/fashion-mnist/run.sh — private Fashion-MNIST, end to end.
#
#   run.sh [--quick] [--cluster DIR] [--work DIR] [--epochs E] [--classes A,B] [--frac-bits F]
#
#   --quick        small sizes, for the tests (about 15 s)
#   --cluster DIR  use a running deploy/local-cluster in DIR; DIR/keys must
#                  hold model.key and data.key with their .pub in
#                  DIR/keys/clients/ from before the cluster started. Without
#                  it, run.sh starts a cluster of its own and stops it.
#   --work DIR     keep the data, weights and logs in DIR (default: a
#                  temporary folder, removed at the end)
#   --epochs E     plaintext training epochs of the inference model (5)
#   --classes A,B  the two classes of the logistic regression (7,9)
#   --frac-bits F  fixed-point fraction bits of the cluster run.sh starts (13)
#
# Steps: (a) gunzip the IDX files of Debian's dataset-fashion-mnist and
# convert them with fmnist; (b) train Network A in plaintext with trine's
# trainer; (c) start a local cluster with two clients, a model owner and a
# data owner; (d) the model owner shares and grants the weights, the data
# owner runs private inference on the test set, at batch 128 and batch 1;
# (e) the data owner trains Network A privately on a subset from its
# forward model (trine train --loss cross-entropy), against the same
# training in plaintext; (f) the same for logistic regression on two
# classes. Figures are printed as name=value lines, then a summary.
#   TRINE_BUILD    build directory with daemon/trine and
#                  examples/fashion-mnist/fmnist (default: build; built if missing)
#   FMNIST_DATA    the gzipped IDX files (default /usr/share/datasets/fashion-mnist)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
usage() { sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//'; }

quick=0 cluster='' work='' epochs=5 classes=7,9 frac_bits=13
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1; shift ;;
        --cluster|--work|--epochs|--classes|--frac-bits)
            [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; usage >&2; exit 2; }
            case $1 in
                --cluster) cluster=$2 ;;
                --work) work=$2 ;;
                --epochs) epochs=$2 ;;
                --classes) classes=$2 ;;
                --frac-bits) frac_bits=$2 ;;
            esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $epochs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --epochs takes a whole number >= 1" >&2; exit 2; }
[[ $classes =~ ^[0-9],[0-9]$ ]] && [ "${classes%,*}" != "${classes#*,}" ] ||
    { echo "run.sh: --classes takes two different classes A,B in 0..9" >&2; exit 2; }
[[ $frac_bits =~ ^[0-9]+$ ]] || { echo "run.sh: --frac-bits takes a whole number" >&2; exit 2; }
[ -z "$cluster" ] || [ "$frac_bits" = 13 ] ||
    { echo "run.sh: --frac-bits is for the cluster run.sh starts; a --cluster keeps its own (deploy/local-cluster start DIR --frac-bits F)" >&2; exit 2; }

# Sizes: training set for the plaintext model, test set, images at batch 1,
# the private training subset, the two-class training and test sets (0 = all).
if [ $quick = 1 ]; then
    n_train=4096 n_test=1024 n_one=50 n_sub=2560 n_lr_train=1024 n_lr_test=512 n_b128=512
else
    n_train=60000 n_test=10000 n_one=200 n_sub=19200 n_lr_train=0 n_lr_test=0 n_b128=2560
fi
batch=128

build=${TRINE_BUILD:-$root/build}
export TRINE_BUILD=$build
trine=$build/daemon/trine
fmnist=$build/examples/fashion-mnist/fmnist
data=${FMNIST_DATA:-/usr/share/datasets/fashion-mnist}
lc=$root/deploy/local-cluster

die() { echo "run.sh: $*" >&2; exit 1; }
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -r "$data/$f.gz" ] || die "no $data/$f.gz: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set FMNIST_DATA"
done
command -v gzip >/dev/null || die "gzip is missing (apt-get install gzip)"
if [ ! -x "$trine" ] || [ ! -x "$fmnist" ]; then
    echo "run.sh: building trine in $build" >&2
    [ -f "$build/build.ninja" ] || meson setup "$build" "$root" >/dev/null
    meson compile -C "$build" >/dev/null
fi

if [ -n "$cluster" ]; then
    [ -f "$cluster/cluster.ini" ] ||
        die "no cluster in $cluster (make one with deploy/local-cluster start $cluster)"
    for k in model data; do
        [ -f "$cluster/keys/$k.key" ] && [ -f "$cluster/keys/clients/$k.pub" ] ||
            die "$cluster has no client '$k': run '$trine keygen --dir $cluster/keys model data', copy the two .pub files to $cluster/keys/clients/ and restart the cluster (parties read the allowed keys at start)"
    done
    cluster=$(cd "$cluster" && pwd)
fi

# ---- work folder, cluster, clean-up ----
own_work=0
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/trine-fmnist.XXXXXX")
    own_work=1
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
log=$work/run.log
: >"$log"
own_cluster=0
if [ -z "$cluster" ]; then
    cluster=$work/cluster
    own_cluster=1
fi
stored_model=() stored_data=() failed_step=0
cleanup() {
    local rc=$? n
    if [ -f "$cluster/cluster.ini" ] && [ $own_cluster = 0 ]; then
        for n in "${stored_model[@]}"; do M rm "$n" >/dev/null 2>&1 || true; done
        for n in "${stored_data[@]}"; do D rm "$n" >/dev/null 2>&1 || true; done
    fi
    [ $own_cluster = 1 ] && "$lc" stop "$cluster" >/dev/null 2>&1
    if [ $rc != 0 ] && [ $failed_step = 1 ]; then
        echo "run.sh: the last lines of $log:" >&2
        tail -n 15 "$log" >&2
    fi
    [ $own_work = 1 ] && [ $rc = 0 ] && rm -rf "$work"
    [ $rc = 0 ] || [ $own_work = 0 ] || echo "run.sh: kept $work for a look" >&2
}
trap cleanup EXIT

M() { "$trine" -c "$cluster/cluster.ini" -i "$cluster/keys/model.key" "$@"; }
D() { "$trine" -c "$cluster/cluster.ini" -i "$cluster/keys/data.key" "$@"; }
# logged CMD...: runs CMD with its output in run.log; dies naming it on failure.
logged() {
    echo "+ $*" >>"$log"
    "$@" >>"$log" 2>&1 || { local rc=$?; failed_step=1; die "'$*' failed (exit $rc)"; }
}
now() { date +%s.%N; }
stat_of() { awk -F= -v k="$2" '$1 == k { print $2 }' "$1"; }
acc_of() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p; s/^$2=\([0-9.]*\).*/\1/p" <<<"$1" | head -n 1; }
# figure NAME VALUE: one name=value line.
figure() { printf '%s=%s\n' "$1" "$2"; }
weights_a=(w1 b1 w2 b2 w3 b3)
t_start=$(now)

# ---- (a) data ----
raw=$work/raw d=$work/data
mkdir -p "$raw" "$d"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    gzip -dc "$data/$f.gz" >"$raw/$f"
done
tr_im=$raw/train-images-idx3-ubyte tr_lb=$raw/train-labels-idx1-ubyte
te_im=$raw/t10k-images-idx3-ubyte te_lb=$raw/t10k-labels-idx1-ubyte
lim() { [ "$1" = 0 ] || echo "--limit $1"; }
# shellcheck disable=SC2046
{
    logged "$fmnist" idx "$tr_im" "$tr_lb" "$d" train $(lim $n_train)
    logged "$fmnist" idx "$te_im" "$te_lb" "$d" test $(lim $n_test)
    logged "$fmnist" idx "$te_im" "$te_lb" "$d" one $(lim $n_one)
    logged "$fmnist" idx "$te_im" "$te_lb" "$d" b128 $(lim $n_b128)
    logged "$fmnist" idx "$tr_im" "$tr_lb" "$d" sub $(lim $n_sub)
    logged "$fmnist" idx "$tr_im" "$tr_lb" "$d" lrtrain --classes "$classes" $(lim $n_lr_train)
    logged "$fmnist" idx "$te_im" "$te_lb" "$d" lrtest --classes "$classes" $(lim $n_lr_test)
}
rm -rf "$raw"
rows() { head -c 128 "$1" | LC_ALL=C sed -n "s/.*'shape': (\([0-9]*\),.*/\1/p"; }
n_train=$(rows "$d/train_x.npy") n_test=$(rows "$d/test_x.npy") n_one=$(rows "$d/one_x.npy")
n_sub=$(rows "$d/sub_x.npy") n_lr_train=$(rows "$d/lrtrain_x.npy") n_lr_test=$(rows "$d/lrtest_x.npy")
n_b128=$(rows "$d/b128_x.npy")
figure images_train "$n_train"
figure images_test "$n_test"

# plain_train DIR PROGRAM SET INIT_DIR EPOCHS: trains in plaintext in DIR (the
# set linked in, the initial weights copied) and leaves the weights in DIR/model.
plain_train() {
    local dir=$1 prog=$2 set=$3 init=$4 ep=$5 w
    mkdir -p "$dir/model"
    ln -sf "$d/${set}_x.npy" "$dir/${set}_x.npy"
    ln -sf "$d/${set}_y.npy" "$dir/${set}_y.npy"
    for w in "$init"/*.npy; do cp "$w" "$dir/"; done
    logged "$trine" train --plaintext --model "$prog" --data "${set}_x" --labels "${set}_y" \
        --epochs "$ep" --batch $batch --dir "$dir"
    for w in "$dir"/trained_*.npy; do mv "$w" "$dir/model/${w##*/trained_}"; done
}
# plain_infer MODEL_DIR PROGRAM SET OUT: the program over DATA/SET_x.npy.
plain_infer() {
    logged "$trine" infer --plaintext --model "$2" --input "$d/${3}_x.npy" -o "$4" --dir "$1" \
        --batch 1000
}

# ---- (b) Network A in plaintext ----
logged "$fmnist" init "$work/init_a" 1 --sizes 784,128,128,10
t0=$(now)
plain_train "$work/plain_a" "$here/network_a_train.prog" train "$work/init_a" "$epochs"
t1=$(now)
figure plain_train_epochs "$epochs"
figure plain_train_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
model=$work/plain_a/model

# ---- (c) the cluster with a model owner and a data owner ----
if [ $own_cluster = 1 ]; then
    mkdir -p "$cluster/keys/clients"
    logged "$trine" keygen --dir "$cluster/keys" model data
    cp "$cluster/keys/model.pub" "$cluster/keys/data.pub" "$cluster/keys/clients/"
    logged "$lc" start "$cluster" --frac-bits "$frac_bits"
fi
logged M status

# ---- (d) private inference ----
for w in "${weights_a[@]}"; do
    logged M share "$w" "$model/$w.npy"
    stored_model+=("$w")
    # exactly the two programs the data owner runs: classes, and logits
    logged M grant "$w" "$cluster/keys/data.pub" --program "$here/network_a.prog"
    logged M grant "$w" "$cluster/keys/data.pub" --program "$here/network_a_scores.prog"
done
for s in test one b128; do
    logged D share "${s}_x" "$d/${s}_x.npy"
    stored_data+=("${s}_x")
done
logged D infer --model "$here/network_a.prog" --input test_x -o "$work/pred_private.npy" \
    --batch $batch --stats "$work/infer128.stats"
plain_infer "$model" "$here/network_a.prog" test "$work/pred_plain.npy"
acc_priv=$("$fmnist" acc "$work/pred_private.npy" "$d/test_labels.npy")
acc_plain=$("$fmnist" acc "$work/pred_plain.npy" "$d/test_labels.npy")
agree=$("$fmnist" agree "$work/pred_private.npy" "$work/pred_plain.npy")
a_priv=$(acc_of "$acc_priv" accuracy) a_plain=$(acc_of "$acc_plain" accuracy)
figure infer_images "$n_test"
figure infer_private_accuracy "$a_priv"
figure infer_plain_accuracy "$a_plain"
figure infer_diff_points "$(awk -v a="$a_priv" -v b="$a_plain" 'BEGIN { printf "%.2f", 100 * (a - b) }')"
figure infer_agree "$(acc_of "$agree" agree)"

# ---- (d2) the same model as ONNX: the model owner exports and shares it,
# the data owner runs the public graph on its test images ----
logged "$fmnist" onnx "$model" "$work/network_a.onnx"
logged M share-model "$work/network_a.onnx" fa. --grant "$cluster/keys/data.pub" \
    -o "$work/network_a.public.onnx"
for w in "${weights_a[@]}"; do stored_model+=("fa.$w"); done
logged D infer --model "$work/network_a.public.onnx" --input test_x -o "$work/pred_onnx.npy" \
    --batch $batch
agree_onnx=$("$fmnist" agree "$work/pred_private.npy" "$work/pred_onnx.npy")
figure onnx_agree "$(acc_of "$agree_onnx" agree)"

# per_step STATS: seconds per step past the first, bytes per step (all
# parties) without the one-off masking of the weights, rounds per step.
per_step() {
    local f=$1
    awk -v steps="$(stat_of "$f" steps)" -v t="$(stat_of "$f" time_s)" \
        -v first="$(stat_of "$f" first_step_s)" -v sent="$(stat_of "$f" sent_total)" \
        -v mask="$(stat_of "$f" mask_bytes)" -v rounds="$(stat_of "$f" rounds)" 'BEGIN {
        printf "%.6f %.0f %.1f %d\n", (steps > 1 ? (t - first) / (steps - 1) : t),
            (sent - mask) / steps, rounds / steps, steps }'
}
# step_figures NAME STATS BATCH: NAME_s (batch 1: NAME_ms) a step, NAME_bytes
# (all parties), NAME_bytes_per_party, NAME_rounds and NAME_steps.
step_figures() {
    local name=$1 s bytes rounds steps
    read -r s bytes rounds steps < <(per_step "$2")
    if [ "$3" = 1 ]; then
        figure "${name}_ms" "$(awk -v s="$s" 'BEGIN { printf "%.2f", 1000 * s }')"
    else
        figure "${name}_s" "$(awk -v s="$s" 'BEGIN { printf "%.4f", s }')"
    fi
    figure "${name}_bytes" "$bytes"
    figure "${name}_bytes_per_party" "$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 3 }')"
    figure "${name}_rounds" "$rounds"
    figure "${name}_steps" "$steps"
}
# timed NAME PROGRAM SET BATCH: private inference over SET_x, its figures.
timed() {
    logged D infer --model "$2" --input "${3}_x" -o "$work/$1.npy" --batch "$4" \
        --stats "$work/$1.stats"
    step_figures "$1" "$work/$1.stats" "$4"
}
step_figures batch128 "$work/infer128.stats" $batch
timed batch128_scores "$here/network_a_scores.prog" b128 $batch
timed batch1 "$here/network_a.prog" one 1
timed batch1_scores "$here/network_a_scores.prog" one 1
# The model owner takes its weights back; the data owner its images.
for w in "${weights_a[@]}"; do logged M rm "$w"; logged M rm "fa.$w"; done
stored_model=()
for s in test one b128; do logged D rm "${s}_x"; done
stored_data=()

# ---- (e) private training of Network A against plaintext ----
# private_train PROGRAM SET INIT_DIR PREFIX OUT_DIR: the data owner shares the
# set and the initial weights, trains one epoch, reveals the weights to OUT_DIR.
private_train() {
    local prog=$1 set=$2 init=$3 prefix=$4 out=$5 w n
    mkdir -p "$out"
    logged D share "${set}_x" "$d/${set}_x.npy"
    logged D share "${set}_y" "$d/${set}_y.npy"
    stored_data+=("${set}_x" "${set}_y")
    for w in "$init"/*.npy; do
        n=${w##*/}
        logged D share "${n%.npy}" "$w"
        stored_data+=("${n%.npy}")
    done
    logged D train --model "$prog" --data "${set}_x" --labels "${set}_y" --epochs 1 \
        --batch $batch --prefix "$prefix" --stats "$work/${prefix}train.stats"
    for w in "$init"/*.npy; do
        n=${w##*/}
        n=${n%.npy}
        stored_data+=("$prefix$n")
        logged D reveal "$prefix$n" -o "$out/$n.npy"
    done
    for n in "${stored_data[@]}"; do logged D rm "$n"; done
    stored_data=()
}
# Network A is trained from its forward model: the same initial weights as
# an ONNX model, trine train --loss deriving the backward pass (softmax
# cross-entropy, momentum), one epoch privately and in plaintext.
logged "$fmnist" onnx "$work/init_a" "$work/init_a.onnx"
fwd=(--model "$work/init_a.onnx" --data sub_x --labels sub_y --loss cross-entropy
    --optimizer momentum --lr 0.05 --epochs 1 --batch $batch)
mkdir -p "$work/private_sub/model" "$work/plain_sub/model"
logged D share sub_x "$d/sub_x.npy"
logged D share sub_y "$d/sub_y.npy"
stored_data+=(sub_x sub_y)
logged D train "${fwd[@]}" --prefix trained_ --stats "$work/trained_train.stats"
for n in "${weights_a[@]}"; do
    stored_data+=("trained_$n")
    logged D reveal "trained_$n" -o "$work/private_sub/model/$n.npy"
done
for n in "${stored_data[@]}"; do logged D rm "$n"; done
stored_data=()
logged "$trine" train "${fwd[@]}" --plaintext --dir "$d" --prefix plain_
for n in "${weights_a[@]}"; do mv "$d/plain_$n.npy" "$work/plain_sub/model/$n.npy"; done
plain_infer "$work/private_sub/model" "$here/network_a.prog" test "$work/train_private_pred.npy"
plain_infer "$work/plain_sub/model" "$here/network_a.prog" test "$work/train_plain_pred.npy"
acc_tp=$("$fmnist" acc "$work/train_private_pred.npy" "$d/test_labels.npy")
acc_tq=$("$fmnist" acc "$work/train_plain_pred.npy" "$d/test_labels.npy")
t_priv=$(acc_of "$acc_tp" accuracy) t_plain=$(acc_of "$acc_tq" accuracy)
figure train_images "$n_sub"
step_figures train_step "$work/trained_train.stats" $batch
figure train_s "$(awk -v t="$(stat_of "$work/trained_train.stats" time_s)" 'BEGIN { printf "%.2f", t }')"
figure train_private_accuracy "$t_priv"
figure train_plain_accuracy "$t_plain"
figure train_diff_points "$(awk -v a="$t_priv" -v b="$t_plain" 'BEGIN { printf "%.2f", 100 * (a - b) }')"
figure train_agree "$(acc_of "$("$fmnist" agree "$work/train_private_pred.npy" "$work/train_plain_pred.npy")" agree)"

# ---- (f) logistic regression on two classes ----
logged "$fmnist" init "$work/init_lr" 1 --sizes 784,1
private_train "$here/logreg_train.prog" lrtrain "$work/init_lr" lr_ "$work/private_lr/model"
plain_train "$work/plain_lr" "$here/logreg_train.prog" lrtrain "$work/init_lr" 1
plain_infer "$work/private_lr/model" "$here/logreg.prog" lrtest "$work/lr_private_pred.npy"
plain_infer "$work/plain_lr/model" "$here/logreg.prog" lrtest "$work/lr_plain_pred.npy"
lr_p=$("$fmnist" acc "$work/lr_private_pred.npy" "$d/lrtest_labels.npy")
lr_q=$("$fmnist" acc "$work/lr_plain_pred.npy" "$d/lrtest_labels.npy")
figure logreg_classes "$classes"
figure logreg_train_images "$n_lr_train"
figure logreg_test_images "$n_lr_test"
figure logreg_train_s "$(awk -v t="$(stat_of "$work/lr_train.stats" time_s)" 'BEGIN { printf "%.2f", t }')"
figure logreg_private_accuracy "$(acc_of "$lr_p" accuracy)"
figure logreg_private_precision "$(acc_of "$lr_p" precision)"
figure logreg_plain_accuracy "$(acc_of "$lr_q" accuracy)"
figure logreg_plain_precision "$(acc_of "$lr_q" precision)"
figure logreg_diff_points "$(awk -v a="$(acc_of "$lr_p" accuracy)" -v b="$(acc_of "$lr_q" accuracy)" \
    'BEGIN { printf "%.2f", 100 * (a - b) }')"
figure total_s "$(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"

# ---- summary ----
summary() {
    local s128 b128 s1 b1 l128 l1
    read -r s128 b128 _ _ < <(per_step "$work/infer128.stats")
    read -r s1 b1 _ _ < <(per_step "$work/batch1.stats")
    read -r l128 _ _ _ < <(per_step "$work/batch128_scores.stats")
    read -r l1 _ _ _ < <(per_step "$work/batch1_scores.stats")
    awk -v ap="$a_priv" -v aq="$a_plain" -v n="$n_test" -v s128="$s128" -v b128="$b128" \
        -v s1="$s1" -v b1="$b1" -v l128="$l128" -v l1="$l1" -v tp="$t_priv" -v tq="$t_plain" \
        -v nsub="$n_sub" -v lp="$(acc_of "$lr_p" accuracy)" -v lq="$(acc_of "$lr_q" accuracy)" -v cls="$classes" \
        -v ox="$(acc_of "$agree_onnx" agree)" '
    function mark(ok) { return ok ? "met" : "MISSED" }
    BEGIN {
        printf "\nNetwork A on %d test images: private %.2f%%, plaintext %.2f%% (%+.2f points; target within 0.5: %s)\n",
            n, 100 * ap, 100 * aq, 100 * (ap - aq), mark(ap - aq <= 0.005 && aq - ap <= 0.005)
        printf "  batch 128: %.3f s and %.1f MB (all parties) a batch (targets 0.15 s: %s, 29 MB: %s);\n",
            s128, b128 / 1e6, mark(s128 <= 0.15), mark(b128 <= 29e6)
        printf "             %.3f s for the logits without the argmax\n", l128
        printf "  batch 1:   %.2f ms and %.3f MB an image (targets 10 ms: %s, 0.5 MB: %s);\n",
            1000 * s1, b1 / 1e6, mark(s1 <= 0.010), mark(b1 <= 0.5e6)
        printf "             %.2f ms for the logits without the argmax\n", 1000 * l1
        printf "  as ONNX (fmnist onnx, share-model, infer --model): the same class as the program on %.2f%% of the images\n",
            100 * ox
        printf "Training one epoch on %d images (cross-entropy, momentum, from the forward model): private %.2f%%, plaintext %.2f%% (%+.2f points; target within 1: %s)\n",
            nsub, 100 * tp, 100 * tq, 100 * (tp - tq), mark(tp - tq <= 0.01 && tq - tp <= 0.01)
        printf "Logistic regression, classes %s: private %.2f%%, plaintext %.2f%%\n",
            cls, 100 * lp, 100 * lq
    }'
}
summary
