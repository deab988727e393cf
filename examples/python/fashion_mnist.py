#!/usr/bin/env python3
"""The private Fashion-MNIST inference of examples/fashion-mnist/run.sh,
through the trine python module: the model owner shares Network A's
weights and approves exactly network_a.prog for the data owner, who runs it
over the test images and learns the predicted classes, nothing else.

    fashion_mnist.py CLUSTER_DIR WORK_DIR

CLUSTER_DIR is a running deploy/local-cluster with the clients 'model' and
'data' (keys/model.key, keys/data.key, keys/data.pub), as run.sh makes it;
WORK_DIR is a `run.sh --work WORK_DIR` folder: the data owner's images and
labels (data/test_x.npy, data/test_labels.npy) and the model owner's
weights, trained in plaintext (plain_a/model/w1.npy ... b3.npy). Prints
the accuracy as run.sh prints it, and the plaintext accuracy of the same
weights, computed here with numpy.
"""
import os
import sys

import numpy as np

import trine

WEIGHTS = ("w1", "b1", "w2", "b2", "w3", "b3")


def plaintext(x, w):
    h = np.maximum(x @ w["w1"] + w["b1"], 0)
    h = np.maximum(h @ w["w2"] + w["b2"], 0)
    return np.argmax(h @ w["w3"] + w["b3"], axis=1)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cluster, work = sys.argv[1:]
    here = os.path.dirname(os.path.abspath(__file__))
    prog = os.path.join(here, "..", "fashion-mnist", "network_a.prog")
    ini, keys = os.path.join(cluster, "cluster.ini"), os.path.join(cluster, "keys")
    w = {n: np.load(os.path.join(work, "plain_a", "model", n + ".npy")) for n in WEIGHTS}
    x = np.load(os.path.join(work, "data", "test_x.npy"))
    labels = np.load(os.path.join(work, "data", "test_labels.npy")).reshape(-1)

    with trine.connect(ini, os.path.join(keys, "model.key")) as model, \
            trine.connect(ini, os.path.join(keys, "data.key")) as data:
        for n in WEIGHTS:  # the model owner's, under names of its own
            model.share("py." + n, w[n])
            model.grant("py." + n, os.path.join(keys, "data.pub"), program=prog, slot=n)
        try:
            pred = data.infer(prog, x=x, batch=128, **{n: "py." + n for n in WEIGHTS})
        finally:
            for n in WEIGHTS:
                model.rm("py." + n)
        report = data.report()
    private = float(np.mean(np.rint(pred.reshape(-1)) == labels))
    plain = float(np.mean(plaintext(x, w) == labels))
    print(f"Network A on {len(labels)} test images through the python module: "
          f"private {100 * private:.2f}%, plaintext {100 * plain:.2f}% "
          f"({report['steps']} steps in {report['time_s']:.2f} s, "
          f"{sum(report['sent']) / 1e6:.1f} MB all parties)")
    print(f"accuracy={private:.4f}")


if __name__ == "__main__":
    main()
