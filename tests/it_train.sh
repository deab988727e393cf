#!/usr/bin/env bash
# Integration test of training on a forward model (trine train --loss):
# the training program derived by the client, run by three real trined
# processes (deploy/local-cluster) for two epochs, against the same
# training in plaintext; an ONNX-free text model, a little MLP.
#   it_train.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL FMNIST
set -u
src=$1 build=$2 npy=$3 fmnist=$4
. "$src/tests/it_lib.sh"

"$lc" start "$dir" --timeout-ms 5000 >/dev/null || fail "local-cluster start"
d=$work/data
mkdir -p "$d"
"$npy" gen f1 31 "$d/x.npy" 40 6 && "$npy" gen f1 32 "$d/w.npy" 6 8 &&
    "$npy" gen f1 33 "$d/b.npy" 8 && "$npy" gen f1 34 "$d/v.npy" 8 3 &&
    "$npy" gen f1 35 "$d/y.npy" 40 3 || fail gen
for t in x w b v y; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
cat >"$work/mlp.prog" <<'EOF'
batch x
input w b v
output z = matmul(relu(matmul(x, w) + b), v)
EOF
args=(--model "$work/mlp.prog" --data x --labels y --loss mse --optimizer momentum --lr 0.1
    --momentum 0.9 --weight-decay 0.001 --epochs 2 --batch 16)
out=$(T train "${args[@]}" --prefix t-) || fail "private training: $out"
plain=$("$trine" train "${args[@]}" --plaintext --dir "$d" --prefix plain-) || fail "plaintext: $plain"
loss() { sed -n "s|^epoch $1/2: mean training loss ||p" <<<"$2"; }
for e in 1 2; do
    a=$(loss $e "$out") b=$(loss $e "$plain")
    [ -n "$a" ] && [ -n "$b" ] || fail "no loss for epoch $e: $out / $plain"
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(a - b < 0.01 && b - a < 0.01) }' ||
        fail "epoch $e: private loss $a, plaintext $b"
done
awk -v a="$(loss 1 "$plain")" -v b="$(loss 2 "$plain")" 'BEGIN { exit !(b < a) }' ||
    fail "the loss did not fall: $plain"
for t in w b v; do
    T reveal t-$t -o "$work/$t.npy" >/dev/null || fail "reveal t-$t"
    "$npy" cmp "$d/plain-$t.npy" "$work/$t.npy" 0.02 >/dev/null || fail "t-$t differs from plaintext"
done
left=$(T ls | grep -c -e '-e1-' -e 'zero-' -e 'mom_' -e 'loss_sum')
[ "$left" = 0 ] || fail "intermediate tensors left behind: $(T ls)"
ok "an MLP trained for 2 epochs with MSE, momentum and weight decay: private = plaintext (losses $(loss 1 "$out"), $(loss 2 "$out"))"

# --shuffle: each epoch's rows in an order P0 and P1 draw; the loss still
# falls, and the weights differ from the run in stored order
out=$(T train "${args[@]}" --shuffle --prefix sh-) || fail "private shuffled training: $out"
awk -v a="$(loss 1 "$out")" -v b="$(loss 2 "$out")" 'BEGIN { exit !(b < a) }' ||
    fail "the shuffled loss did not fall: $out"
T reveal sh-w -o "$work/sh-w.npy" >/dev/null || fail "reveal sh-w"
"$npy" cmp "$work/w.npy" "$work/sh-w.npy" 0.0001 >/dev/null &&
    fail "shuffling changed nothing"
"$trine" train "${args[@]}" --shuffle --plaintext --dir "$d" --prefix plainsh- >/dev/null ||
    fail "plaintext shuffled training"
ok "shuffled training (--shuffle, the order drawn by P0 and P1): losses $(loss 1 "$out"), $(loss 2 "$out")"

# same_weights PREFIX TOL NAME...: each private PREFIX-NAME within TOL of
# the plaintext run's DIR/plainPREFIX-NAME.npy
same_weights() {
    local pre=$1 tol=$2 t
    shift 2
    for t in "$@"; do
        T reveal $pre-$t -o "$work/$pre-$t.npy" >/dev/null || fail "reveal $pre-$t"
        "$npy" cmp "$d/plain$pre-$t.npy" "$work/$pre-$t.npy" "$tol" >/dev/null ||
            fail "$pre-$t differs from plaintext"
    done
}

# cross-entropy on one-hot labels: the softmax is the protocol's, within
# PROG_SOFTMAX_ERROR, so the weights agree with plaintext more loosely
printf '1,0,0\n0,1,0\n0,0,1\n0,1,0\n' >"$d/hot.csv"
for _ in 1 2 3 4 5 6 7 8 9; do tail -n 4 "$d/hot.csv"; done >>"$d/hot.csv"
T share hot "$d/hot.csv" --fixed >/dev/null || fail "share the one-hot labels"
ce=(--model "$work/mlp.prog" --data x --labels hot --loss cross-entropy --optimizer momentum
    --lr 0.2 --epochs 2 --batch 16)
# with the accuracy on validation rows (here the first 24 training rows)
# after each epoch, revealed to the caller as a count alone
"$npy" gen f1 31 "$d/vx.npy" 24 6 || fail "gen vx"
head -n 24 "$d/hot.csv" >"$d/vhot.csv"
T share vx "$d/vx.npy" >/dev/null && T share vhot "$d/vhot.csv" --fixed >/dev/null ||
    fail "share the validation rows"
ce+=(--val-data vx --val-labels vhot)
out=$(T train "${ce[@]}" --prefix ce-) || fail "private cross-entropy training: $out"
plain=$("$trine" train "${ce[@]}" --plaintext --dir "$d" --prefix plaince-) ||
    fail "plaintext cross-entropy training: $plain"
same_weights ce 0.03 w b v
acc() { sed -n "s|^epoch $1/2: validation accuracy [0-9.]* (\([0-9]*\) of 24 rows)|\1|p" <<<"$2"; }
for e in 1 2; do
    a=$(acc $e "$out") b=$(acc $e "$plain")
    [ -n "$a" ] && [ -n "$b" ] || fail "no validation accuracy for epoch $e: $out / $plain"
    [ $((a - b)) -le 1 ] && [ $((b - a)) -le 1 ] ||
        fail "epoch $e: $a validation rows right privately, $b in plaintext"
done
T ls | grep -q -e 'val_correct' -e 'ce-v-' && fail "validation counts left behind: $(T ls)"
ok "the MLP trained with cross-entropy on one-hot labels: private weights within 0.03 of plaintext; validation rows right after each epoch $(acc 1 "$out"), $(acc 2 "$out") of 24 (plaintext $(acc 1 "$plain"), $(acc 2 "$plain"))"

# the same labels as a column of class indices, one-hot inside the program
for _ in 1 2 3 4 5 6 7 8 9 10; do printf '0\n1\n2\n1\n'; done >"$d/cls.csv"
T share cls "$d/cls.csv" --fixed >/dev/null || fail "share the class indices"
cls=(--model "$work/mlp.prog" --data x --labels cls --class-labels --loss cross-entropy
    --optimizer momentum --lr 0.2 --epochs 2 --batch 16)
T train "${cls[@]}" --prefix cls- >/dev/null || fail "private training on class indices"
"$trine" train "${cls[@]}" --plaintext --dir "$d" --prefix plaincls- >/dev/null ||
    fail "plaintext training on class indices"
same_weights cls 0.03 w b v
for t in w b v; do
    "$npy" cmp "$d/plaince-$t.npy" "$d/plaincls-$t.npy" 0 >/dev/null ||
        fail "class indices and one-hot rows trained $t differently"
done
ok "class-index labels (--class-labels) train as their one-hot rows do, privately and in plaintext"

# Adam: its moments, bias corrections (1 / q1, 1 / q2 by recip) and rsqrt
# on the shares, against the same program on doubles
adam=(--model "$work/mlp.prog" --data x --labels hot --loss cross-entropy --optimizer adam
    --lr 0.02 --weight-decay 0.001 --epochs 2 --batch 16)
out=$(T train "${adam[@]}" --prefix adam-) || fail "private Adam training: $out"
"$trine" train "${adam[@]}" --plaintext --dir "$d" --prefix plainadam- >/dev/null ||
    fail "plaintext Adam training"
same_weights adam 0.03 w b v
"$npy" cmp "$d/plainadam-w.npy" "$d/plaince-w.npy" 0.05 >/dev/null &&
    fail "Adam trained w as momentum did: is it Adam?"
T ls | grep -q -e 'adam_' && fail "Adam's state left behind: $(T ls)"
ok "an MLP trained with Adam (cross-entropy, weight decay): private weights within 0.03 of plaintext"

# a CNN: Network D's convolution (5x5, stride 2, padding 2) with a bias
# per channel, ReLU, a 2x2 average pool, a dense layer
"$npy" gen f1 36 "$d/im.npy" 24 1 8 8 && "$npy" gen f1 37 "$d/k.npy" 3 1 5 5 &&
    "$npy" gen f1 38 "$d/kb.npy" 3 1 1 && "$npy" gen f1 39 "$d/d.npy" 12 3 &&
    "$npy" gen f1 40 "$d/iy.npy" 24 3 || fail "gen cnn"
for t in im k kb d iy; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
cat >"$work/cnn.prog" <<'EOF'
batch im
input k kb d
c = relu(conv2d(im, k, stride=2, pad=2) + kb)
output z = matmul(flatten(avgpool(c, 2)), d)
EOF
cnn=(--model "$work/cnn.prog" --data im --labels iy --loss mse --optimizer momentum --lr 0.1
    --epochs 2 --batch 8)
out=$(T train "${cnn[@]}" --prefix cnn-) || fail "private CNN training: $out"
plain=$("$trine" train "${cnn[@]}" --plaintext --dir "$d" --prefix plaincnn-) ||
    fail "plaintext CNN training: $plain"
same_weights cnn 0.02 k kb d
ok "a CNN (conv2d stride 2 pad 2, avgpool) trained for 2 epochs: private weights within 0.02 of plaintext (losses $(loss 1 "$out"), $(loss 2 "$out"))"

# LeNet-style: two padded 3x3 convolutions, each with ReLU and a 2x2
# maxpool, then a dense layer
"$npy" gen f1 41 "$d/l1.npy" 4 1 3 3 && "$npy" gen f1 42 "$d/l2.npy" 6 4 3 3 &&
    "$npy" gen f1 43 "$d/l3.npy" 24 3 || fail "gen lenet"
for t in l1 l2 l3; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
cat >"$work/lenet.prog" <<'EOF'
batch im
input l1 l2 l3
p = maxpool(relu(conv2d(im, l1, pad=1)), 2)
q = maxpool(relu(conv2d(p, l2, pad=1)), 2)
output z = matmul(flatten(q), l3) * 0.5
EOF
lenet=(--model "$work/lenet.prog" --data im --labels iy --loss mse --optimizer momentum --lr 0.05
    --epochs 2 --batch 8)
out=$(T train "${lenet[@]}" --prefix lenet-) || fail "private LeNet training: $out"
"$trine" train "${lenet[@]}" --plaintext --dir "$d" --prefix plainlenet- >/dev/null ||
    fail "plaintext LeNet training"
same_weights lenet 0.02 l1 l2 l3
ok "a LeNet-style CNN (two conv2d, ReLU, maxpool) trained for 2 epochs: private weights within 0.02 of plaintext (losses $(loss 1 "$out"), $(loss 2 "$out"))"

# an ONNX model (a small Network A from fmnist), trained and written back
# with its trained weights (--export): privately and in plaintext, the two
# exported models classify alike, and unlike the untrained one
"$fmnist" init "$work/onnxw" 5 --sizes 6,8,8,3 >/dev/null && "$fmnist" onnx "$work/onnxw" "$work/net.onnx" ||
    fail "write an ONNX model"
ox=(--model "$work/net.onnx" --data x --labels hot --loss cross-entropy --optimizer momentum
    --lr 0.2 --epochs 2 --batch 16)
T train "${ox[@]}" --prefix ox- --export "$work/private.onnx" >/dev/null ||
    fail "private ONNX training with --export"
"$trine" train "${ox[@]}" --plaintext --dir "$d" --prefix plainox- --export "$work/plain.onnx" >/dev/null ||
    fail "plaintext ONNX training with --export"
for m in net private plain; do
    T infer --model "$work/$m.onnx" --input x -o "$work/pred-$m.npy" >/dev/null ||
        fail "infer with $m.onnx"
done
same=$("$fmnist" agree "$work/pred-private.npy" "$work/pred-plain.npy" | sed -n 's/^agree=\([0-9.]*\).*/\1/p')
moved=$("$fmnist" agree "$work/pred-net.npy" "$work/pred-plain.npy" | sed -n 's/^agree=\([0-9.]*\).*/\1/p')
awk -v a="$same" -v b="$moved" 'BEGIN { exit !(a >= 0.9 && b < a) }' ||
    fail "exported models agree on $same of the rows, the untrained one with plaintext's on $moved"
ok "an ONNX model trained privately and written back (--export): its classes agree with plaintext's on $same of the rows (the untrained model's on $moved)"

# a rate far too large: the weights overflow and wrap, and the weights
# revealed for --export say so (issue: a training that diverged was silent)
out=$(T train "${ox[@]}" --lr 20000 --prefix big- --export "$work/big.onnx" 2>&1 >/dev/null) ||
    fail "a training with a rate far too large: $out"
grep -q "trine train: warning: 'big-[a-z0-9]*' has [0-9]* of [0-9]* values at the edge of the ring" <<<"$out" ||
    fail "no warning of wrapped weights after a diverging training: '$out'"
ok "a diverging training (--lr 20000) warns of weights at the edge of the ring: $(head -n 1 <<<"$out" | cut -c1-110)"

# a model that cannot be trained is refused before any job
cat >"$work/bad.prog" <<'EOF'
batch x
input w b v
output k = gt(matmul(x, w), matmul(x, w))
EOF
out=$(T train --model "$work/bad.prog" --data x --labels y --loss mse --lr 0.1 2>&1) &&
    fail "trained a model through gt"
grep -q "gt: has no gradient" <<<"$out" || fail "no reason: $out"
ok "a model through gt is refused: $(head -n 1 <<<"$out")"
