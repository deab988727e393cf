#!/usr/bin/env bash
# Integration test of access control between clients who do not trust each
# other, with three real trined over CURVE and four client keys: the model
# owner (the cluster's client key), a data owner, a third allowed client and
# a recipient. A grantee tries to learn a granted tensor every way it can;
# every attempt is refused before any data moves, naming the tensor, its
# owner and the program hash. Then the approved program, revoke, outputs
# sent --to a recipient, and two data owners' rows in one training job.
#   it_access.sh SOURCE_ROOT BUILD_ROOT NPY_TOOL IT_HOSTILE
set -u
src=$1 build=$2 npy=$3 hostile=$4
. "$src/tests/it_lib.sh"

mkdir -p "$dir/keys/clients" "$work/data"
for k in data other recip; do
    "$trine" keygen --dir "$dir/keys" $k >/dev/null && cp "$dir/keys/$k.pub" "$dir/keys/clients/" ||
        fail "keygen $k"
done
"$lc" start "$dir" --timeout-ms 3000 >/dev/null || fail "local-cluster start"
D() { "$trine" -c "$dir/cluster.ini" -i "$dir/keys/data.key" "$@"; }
R() { "$trine" -c "$dir/cluster.ini" -i "$dir/keys/recip.key" "$@"; }
owner=$(cat "$dir/keys/client.pub")
d=$work/data

# ---- the model owner approves one program for the data owner --------------
"$npy" gen f1 41 "$d/w.npy" 8 4 && "$npy" gen f1 42 "$d/b.npy" 4 && "$npy" gen f1 43 "$d/v.npy" 4 3 &&
    "$npy" gen f1 44 "$d/dx.npy" 20 8 || fail gen
for t in w b v; do T share $t "$d/$t.npy" >/dev/null || fail "share $t"; done
D share dx "$d/dx.npy" >/dev/null || fail "the data owner shares dx"
cat >"$work/net.prog" <<'EOF'
# the model: two layers
batch x
input w b v
h = relu(matmul(x, w) + b)
output y = matmul(h, v)
EOF
for t in w b v; do
    out=$(T grant $t "$dir/keys/data.pub" --program "$work/net.prog") || fail "grant $t: $out"
done
hash=$(sed -n 's/^approved program \([0-9a-f]*\) .*/\1/p' <<<"$out")
[ ${#hash} = 64 ] || fail "grant does not print the program hash: $out"
D run "$work/net.prog" --bind x=dx --prefix ok- >/dev/null || fail "the approved program"
D reveal ok-y -o "$work/ok-y.npy" >/dev/null || fail "the caller reveals its output"
"$trine" run "$work/net.prog" --plaintext --dir "$d" --bind x=dx --prefix plain- >/dev/null ||
    fail "plaintext run"
"$npy" cmp "$d/plain-y.npy" "$work/ok-y.npy" 0.005 >/dev/null || fail "approved run != plaintext"
ok "the approved program runs for the data owner (= plaintext), hash $hash"

# ---- every way to learn w is refused before any data moves ----------------
# attack NAME PROGRAM-TEXT [RUN ARGS...]: the data owner runs it; refused,
# naming w, its owner's key and a program hash, and nothing is stored.
attack() {
    local what=$1 text=$2 out; shift 2
    printf '%s\n' "$text" >"$work/attack.prog"
    out=$(D run "$work/attack.prog" --prefix atk- "$@" 2>&1) && fail "$what: ran: $out"
    grep -qF "tensor 'w' belongs to client $owner, who has not approved program" <<<"$out" ||
        grep -qF "tensor 'v' belongs to client $owner, who has not approved program" <<<"$out" ||
        fail "$what: not refused by the approval check: $out"
    grep -Eq "program [0-9a-f]{64} reading it as input" <<<"$out" || fail "$what: no hash: $out"
    D ls | grep -q "^atk-" && fail "$what: an output was stored: $(D ls)"
    attacks+=("$what")
}
attacks=()
"$npy" gen f1 45 "$d/eye.npy" 8 8 && D share eye "$d/eye.npy" >/dev/null || fail "share eye"
attack "identity" $'input w eye\nz = eye * 2\noutput w z'
attack "scale by 1" $'input w\noutput y = w * 1'
attack "scale by -1" $'input w\noutput y = -w'
attack "w + w" $'input w\noutput y = w + w'
attack "product with an identity matrix of one's own" $'input eye w\noutput y = matmul(eye, w)'
attack "reshape" $'input w\noutput y = reshape(w, [32])'
attack "transpose" $'input w\noutput y = transpose(w, perm=[1, 0])'
attack "flatten" $'input w\noutput y = flatten(w)'
attack "sum" $'input w\noutput y = sum(w)'
attack "one node changed (no relu)" $'batch x\ninput w b v\nh = matmul(x, w) + b\noutput y = matmul(h, v)' \
    --bind x=dx
attack "one node changed (v an output too)" \
    $'batch x\ninput w b v\nh = relu(matmul(x, w) + b)\noutput y = matmul(h, v)\noutput v' --bind x=dx
# the approved program with w bound to another input: data's own tensor
# as w, w as the batch input x (w's rows through the model)
"$npy" gen f1 46 "$d/mine.npy" 4 4 && D share mine "$d/mine.npy" >/dev/null || fail "share mine"
out=$(D run "$work/net.prog" --bind x=w --bind w=mine --prefix atk- 2>&1) &&
    fail "w bound to another input ran: $out"
grep -qF "tensor 'w' belongs to client $owner, who has not approved program $hash reading it as input 'x'" <<<"$out" ||
    fail "w bound to another input: $out"
attacks+=("the approved program with w bound to another input")
# the approved program run by another allowed client
O share ox "$d/dx.npy" >/dev/null || fail "other shares"
out=$(O run "$work/net.prog" --bind x=ox --prefix atk- 2>&1) && fail "another client ran it: $out"
# (it does not even see w: its client stops before any request) ...
grep -qF "no tensor 'w' of yours or approved for you" <<<"$out" || fail "another client: $out"
O ls | grep -q "^w " && fail "another client sees w: $(O ls)"
# ... and a client that skips its own checks, knowing the shapes, is
# refused by the parties: the approval is the data owner's, not its own
"$hostile" "$dir/cluster.ini" "$dir/keys/other.key" run "$work/net.prog" x=ox:20x8 w=w:8x4 \
    b=b:4 v=v:4x3 >"$work/other-run.out" || fail "another client's own run: $(cat "$work/other-run.out")"
grep -qF "refused: tensor 'w' belongs to client $owner, who has not approved program $hash reading it as input 'w' for you" \
    "$work/other-run.out" || fail "another client's own run: $(cat "$work/other-run.out")"
O ls | grep -q "^hostile-" && fail "another client's run stored outputs: $(O ls)"
attacks+=("the approved program run by another allowed client")
# the approved program at a batch size that changes nothing: runs
D run "$work/net.prog" --bind x=dx --prefix b1- --batch 1 >/dev/null ||
    fail "batch size of a row-wise program counted"
grep -q "refused" "$dir/logs/party0.log" || fail "party0 logged no refusal"
ok "refused, naming w, its owner and the hash: $(printf '%s; ' "${attacks[@]}")"

# ---- revoke takes effect at once -------------------------------------------
sed 's/relu/sigmoid/' "$work/net.prog" >"$work/net2.prog"
for t in w b v; do
    T grant $t "$dir/keys/data.pub" --program "$work/net2.prog" >/dev/null || fail "grant net2 $t"
done
T revoke w "$dir/keys/data.pub" --program "$work/net.prog" >/dev/null || fail revoke
expect_fail "who has not approved program $hash" D run "$work/net.prog" --bind x=dx --prefix rv-
D run "$work/net2.prog" --bind x=dx --prefix rv2- >/dev/null || fail "the other approval went too"
expect_fail "has no approval" T revoke w "$dir/keys/data.pub" --program "$work/net.prog"
T grant w "$dir/keys/data.pub" --program "$work/net.prog" >/dev/null || fail "grant again"
D run "$work/net.prog" --bind x=dx --prefix rv- >/dev/null || fail "after the grant again"
out=$(T revoke w "$dir/keys/data.pub" 2>&1) || fail "revoke all: $out"
expect_fail "no tensor 'w' of yours or approved for you" \
    D run "$work/net2.prog" --bind x=dx --prefix rv3-
ok "revoke: the next job is refused; approving again restores it; revoke without --program drops all"
# --any-program, asked for explicitly, is what it says: the grantee learns w
out=$(T grant w "$dir/keys/data.pub" --any-program) && grep -q "ANY program" <<<"$out" ||
    fail "grant --any-program: $out"
printf 'input w eye\nz = eye * 2\noutput w z\n' >"$work/copy-w.prog"
D run "$work/copy-w.prog" --prefix any- >/dev/null && D reveal any-w -o "$work/any-w.npy" >/dev/null ||
    fail "--any-program does not let the grantee run any program"
"$npy" cmp "$d/w.npy" "$work/any-w.npy" 0.0002 >/dev/null || fail "the copy is not w"
T ls | grep -q "may run ANY program on it (it can learn it)" || fail "ls hides --any-program"
T revoke w "$dir/keys/data.pub" >/dev/null || fail "revoke --any-program"
ok "--any-program lets the grantee copy w out (as documented), and ls says so"

# ---- outputs to a recipient ---------------------------------------------------
T grant w "$dir/keys/data.pub" --program "$work/net.prog" --outputs-to "$dir/keys/recip.pub" \
    >/dev/null || fail "grant with --outputs-to"
expect_fail "only with its outputs going to another client" \
    D run "$work/net.prog" --bind x=dx --prefix to-
expect_fail "only with its outputs going to another client" \
    D run "$work/net.prog" --bind x=dx --prefix to- --to "$dir/keys/other.pub"
D run "$work/net.prog" --bind x=dx --prefix to- --to "$dir/keys/recip.pub" >/dev/null ||
    fail "the run --to the required recipient"
R reveal to-y -o "$work/to-y.npy" >/dev/null || fail "the recipient reveals"
"$npy" cmp "$d/plain-y.npy" "$work/to-y.npy" 0.005 >/dev/null || fail "the recipient's y != plaintext"
expect_fail "only its owner can reveal" D reveal to-y
expect_fail "only its owner can reveal" O reveal to-y
expect_fail "only its owner can reveal" T reveal to-y
R ls | grep -q "^to-y .*owned" || fail "the recipient does not own to-y"
ok "outputs --to a recipient: it alone reveals them (= plaintext); a grant can require it"

# ---- smaller leaks --------------------------------------------------------------
# status counts the caller's own tensors only
[ "$(R status | grep -c ' 1 tensors of yours')" = 2 ] || fail "recipient status: $(R status)"
# another client cannot touch a job whose id it learns, nor take the name
# of its output while it runs
"$npy" gen f1 47 "$d/long.npy" 600 8 && D share long "$d/long.npy" >/dev/null || fail "share long"
T grant w "$dir/keys/data.pub" --program "$work/net.prog" >/dev/null || fail "grant w"
n0=$(grep -c "started for client" "$dir/logs/party0.log")
(D run "$work/net.prog" --bind x=long --batch 1 --prefix long- >"$work/long.out" 2>&1
    echo $? >"$work/long.rc") &
for _ in $(seq 200); do
    [ "$(grep -c "started for client" "$dir/logs/party0.log")" -gt "$n0" ] && break
    sleep 0.05
done
id=$(sed -n 's/.*started for client .* (its job \([0-9a-f]*\)).*/\1/p' "$dir/logs/party0.log" |
    tail -1)
[ -n "$id" ] || fail "no job id in party0's log"
"$hostile" "$dir/cluster.ini" "$dir/keys/other.key" jobid "$id" >"$work/hostile.out" ||
    fail "another client vs the data owner's job: $(cat "$work/hostile.out")"
expect_fail "reserved for the output of a running job" O share long-y "$d/v.npy"
wait
[ "$(cat "$work/long.rc")" = 0 ] || fail "the job was disturbed: $(cat "$work/long.out")"
D reveal long-y -o "$work/long-y.npy" >/dev/null || fail "the job's output is not stored"
ok "another client's cancel and run under a learnt job id miss the job; its output name stays reserved"
# revealed files are 0600; a symlink is not written through
ln -s "$work/target" "$work/link.npy"
expect_fail "is a symbolic link" D reveal ok-y -o "$work/link.npy"
[ ! -e "$work/target" ] || fail "reveal wrote through a symlink"
D reveal ok-y -o "$work/new.npy" >/dev/null && [ "$(stat -c %a "$work/new.npy")" = 600 ] ||
    fail "a revealed file is not mode 600"
ok "revealed files: mode 600; a symlink at -o is refused, not followed"

# ---- two data owners, one training job ------------------------------------
cat >"$work/train.prog" <<'EOF'
# logistic regression, one SGD step per batch of 8
batch x y
input w1 b1
a = sigmoid(matmul(x, w1) + b1)
e = a - y
w1 = sgd(w1, matmul(t(x), e), 2^-6)
b1 = sgd(b1, sum(e), 2^-6)
output w1 b1
EOF
"$npy" gen f1 51 "$d/ax.npy" 24 6 && "$npy" gen f1 52 "$d/ay.npy" 24 1 &&
    "$npy" gen f1 53 "$d/bx.npy" 16 6 && "$npy" gen f1 54 "$d/by.npy" 16 1 &&
    "$npy" gen f1 55 "$d/w1.npy" 6 1 && "$npy" gen f1 56 "$d/b1.npy" 1 || fail gen
D share ax "$d/ax.npy" >/dev/null && D share ay "$d/ay.npy" >/dev/null &&
    O share bx "$d/bx.npy" >/dev/null && O share by "$d/by.npy" >/dev/null &&
    T share w1 "$d/w1.npy" >/dev/null && T share b1 "$d/b1.npy" >/dev/null || fail "share the rows"
approve() { # CLIENT-FN X Y: approve the training program reading X, Y for the model owner
    local c=$1
    $c grant "$2" "$dir/keys/client.pub" --program "$work/train.prog" --slot x --batch 8 --epochs 2 \
        >/dev/null && $c grant "$3" "$dir/keys/client.pub" --program "$work/train.prog" --slot y \
        --batch 8 --epochs 2 >/dev/null
}
approve D ax ay && approve O bx by || fail "the data owners approve"
expect_fail "who has not approved program" \
    T train --model "$work/train.prog" --data ax,bx --labels ay,by --batch 4 --epochs 2 --prefix t-
T train --model "$work/train.prog" --data ax,bx --labels ay,by --batch 8 --epochs 2 --prefix t- \
    >/dev/null || fail "training on both owners' rows"
"$npy" cat "$d/x.npy" "$d/ax.npy" "$d/bx.npy" && "$npy" cat "$d/y.npy" "$d/ay.npy" "$d/by.npy" ||
    fail "npy cat"
"$trine" train --plaintext --dir "$d" --model "$work/train.prog" --data x --labels y --batch 8 \
    --epochs 2 --prefix pt- >/dev/null || fail "plaintext training"
for n in w1 b1; do
    T reveal "t-$n" -o "$work/t-$n.npy" >/dev/null || fail "the model owner reveals t-$n"
    "$npy" cmp "$d/pt-$n.npy" "$work/t-$n.npy" 0.01 >/dev/null || fail "t-$n != plaintext"
done
printf 'batch x\noutput x2 = x * 1\n' >"$work/copy.prog"
expect_fail "who has not approved program" T run "$work/copy.prog" --bind x=ax,bx --prefix c-
expect_fail "who has not approved program" \
    T train --model "$work/train.prog" --data ax --labels ay --batch 8 --epochs 200 --prefix t2-
# shuffled rows are another run, approved as such (grant --shuffle)
expect_fail "who has not approved program" \
    T train --model "$work/train.prog" --data ax --labels ay --batch 8 --epochs 2 --shuffle --prefix t3-
D grant ax "$dir/keys/client.pub" --program "$work/train.prog" --slot x --batch 8 --epochs 2 \
    --shuffle >/dev/null && D grant ay "$dir/keys/client.pub" --program "$work/train.prog" \
    --slot y --batch 8 --epochs 2 --shuffle >/dev/null || fail "approve the shuffled run"
T train --model "$work/train.prog" --data ax --labels ay --batch 8 --epochs 2 --shuffle \
    --prefix t3- >/dev/null || fail "the approved shuffled run"
ok "two data owners' rows (24 + 16) train one model for the model owner (= plaintext); a copy, more epochs, or shuffled rows without grant --shuffle, are refused"

# Refused jobs leave nothing waiting: no party logs frames dropped for a
# job "no client asked this party to run" once timeout_ms has passed.
sleep 3.5
! grep -q "dropped frames" "$dir"/logs/*.log ||
    fail "frames of refused jobs were left waiting: $(grep -h "dropped frames" "$dir"/logs/*.log | head -3)"
ok "after timeout_ms no party holds frames of the refused jobs"
