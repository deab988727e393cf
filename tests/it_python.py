"""The trine python module against a real local cluster (it_python.sh
starts it): every function, the hostile input beside the happy one, and the
torch helper where torch is installed.

    TRINE_TEST_CLUSTER=DIR python3 -m unittest it_python
"""
import os
import tempfile
import unittest
import warnings

import numpy as np

import trine

DIR = os.environ["TRINE_TEST_CLUSTER"]
INI = os.path.join(DIR, "cluster.ini")
KEYS = os.path.join(DIR, "keys")
STEP = 2.0 ** -13  # the cluster's fixed-point step (frac_bits 13)

# y = x w, one batch input and one output: what infer runs
LINEAR = "batch x\ninput w\noutput y = matmul(x, w)\n"
# another program of the same inputs, which an approval of LINEAR refuses
OTHER = "batch x\ninput w\noutput y = relu(matmul(x, w))\n"


def client(name="client"):
    return trine.connect(INI, os.path.join(KEYS, name + ".key"))


class TrineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.linear = os.path.join(cls.tmp.name, "linear.prog")
        with open(cls.linear, "w") as f:
            f.write(LINEAR)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.c = client()

    def tearDown(self):
        for t in self.c.ls():
            if t["mine"]:
                self.c.rm(t["name"])
        self.c.close()

    def assertFails(self, code, text, f, *args, **kwargs):
        with self.assertRaises(trine.Error) as e:
            f(*args, **kwargs)
        self.assertEqual(e.exception.code, code, e.exception.message)
        self.assertIn(text, e.exception.message)

    # ---- share, reveal, ls, rm -------------------------------------------------
    def test_share_reveal_dtypes(self):
        rng = np.random.default_rng(1)
        x = rng.random((64, 784))
        self.c.share("x", x)
        y = self.c.reveal("x")
        self.assertEqual((y.dtype, y.shape), (np.float64, (64, 784)))
        self.assertLessEqual(np.abs(y - x).max(), STEP / 2)
        self.c.share("f4", x.astype(np.float32)[:3])
        self.assertLessEqual(np.abs(self.c.reveal("f4") - x.astype(np.float32)[:3]).max(), STEP)
        for dt in (np.int64, np.int32, np.uint8):
            a = (np.arange(24) - (5 if dt != np.uint8 else 0)).astype(dt).reshape(2, 3, 4)
            self.c.share("i", a)
            r = self.c.reveal("i")
            self.assertEqual(r.dtype, np.int64)
            np.testing.assert_array_equal(r, a)
            self.c.rm("i")
        self.c.share("labels", np.array([0, 1, 1], dtype=np.int64), fixed=True)
        np.testing.assert_array_equal(self.c.reveal("labels"), [0.0, 1.0, 1.0])
        names = {t["name"]: t for t in self.c.ls()}
        self.assertEqual(set(names), {"x", "f4", "labels"})
        self.assertEqual(names["x"]["shape"], (64, 784))
        self.assertTrue(names["x"]["fixed"] and names["x"]["mine"] and names["x"]["complete"])
        self.c.rm("x")
        self.assertNotIn("x", {t["name"] for t in self.c.ls()})

    def test_share_file_and_reveal_file(self):
        path = os.path.join(self.tmp.name, "a.npy")
        np.save(path, np.arange(6.0).reshape(2, 3))
        self.c.share_file("a", path)
        out = os.path.join(self.tmp.name, "out.npy")
        self.c.reveal_file("a", out)
        np.testing.assert_array_equal(np.load(out), np.arange(6.0).reshape(2, 3))
        self.assertFails(5, "nosuch.npy", self.c.share_file, "b", path + ".nosuch.npy")

    def test_share_hostile(self):
        x = np.zeros((4, 6))
        self.assertFails(1, "not contiguous", self.c.share, "x", x[:, ::2])
        self.assertFails(1, "dtype object", self.c.share, "x", np.array([object(), 1]))
        self.assertFails(1, "dtype float16", self.c.share, "x", x.astype(np.float16))
        self.assertFails(1, "dtype bool", self.c.share, "x", x > 0)
        self.assertFails(1, "want a numpy array", self.c.share, "x", [[1.0, 2.0]])
        self.assertFails(3, "0 dimensions", self.c.share, "x", np.array(3.0))
        self.assertFails(3, "5 dimensions", self.c.share, "x", np.zeros((1, 1, 1, 1, 2)))
        self.assertFails(3, "extent 1 is 0", self.c.share, "x", np.zeros((2, 0)))
        self.assertFails(1, "not a tensor name", self.c.share, "../x", x)
        self.assertFails(4, "beyond the range", self.c.share, "x", np.array([1e300]))
        self.assertFails(4, "element 1", self.c.share, "x", np.array([0.0, np.nan]))
        self.c.share("x", x)
        self.assertFails(9, "'x'", self.c.share, "x", x)  # taken
        self.assertEqual([t["name"] for t in self.c.ls()], ["x"])  # nothing else was kept

    def test_reveal_hostile(self):
        self.assertFails(8, "'nosuch'", self.c.reveal, "nosuch")
        self.assertFails(8, "'nosuch'", self.c.rm, "nosuch")
        self.c.share("mine", np.ones(3))
        with client("other") as o:
            # another client's tensor: the parties' refusal, as they word it
            self.assertFails(10, "'mine' belongs to another client", o.reveal, "mine")
            self.assertFails(10, "'mine' belongs to another client", o.rm, "mine")

    # ---- grant, revoke, run, infer -----------------------------------------------
    def test_grant_infer_revoke(self):
        rng = np.random.default_rng(2)
        w, x = rng.random((5, 3)) - 0.5, rng.random((40, 5))
        other_pub = os.path.join(KEYS, "other.pub")
        self.c.share("w", w)
        self.assertFails(1, "no input 'nosuch'", self.c.grant, "w", other_pub,
                         program=self.linear, slot="nosuch")
        self.assertFails(1, "any", self.c.grant, "w", other_pub)  # neither program nor any
        self.c.grant("w", other_pub, program=self.linear, batch=16)
        (entry,) = self.c.ls()
        self.assertEqual(len(entry["approvals"]), 1)
        self.assertEqual(entry["approvals"][0]["slot"], "w")
        self.assertEqual(len(entry["approvals"][0]["program"]), 64)
        other = os.path.join(self.tmp.name, "other.prog")
        with open(other, "w") as f:
            f.write(OTHER)
        with client("other") as o:
            y = o.infer(self.linear, x=x, w="w", batch=16)
            self.assertEqual(y.shape, (40, 3))
            self.assertLess(np.abs(y - x @ w).max(), 0.01)
            report = o.report()
            self.assertEqual(report["steps"], 3)
            # the triples' corrections P2 dealt, of what it sent
            self.assertTrue(0 < report["offline_bytes"] <= report["sent"][2])
            # another program: refused, naming the tensor
            self.assertFails(10, "'w'", o.infer, other, x=x, w="w", batch=16)
            self.assertEqual(o.ls()[0]["name"], "w")
            self.assertFalse(o.ls()[0]["mine"])
            self.c.revoke("w", other_pub)  # w is then out of other's sight
            self.assertFails(8, "no tensor 'w' of yours or approved for you", o.infer,
                             self.linear, x=x, w="w", batch=16)
            self.assertEqual(o.ls(), [])

    def test_run_and_stored_input(self):
        rng = np.random.default_rng(3)
        w, x = rng.random((4, 2)), rng.random((10, 4))
        self.c.share("w", w)
        self.c.share("data", x)
        report = self.c.run(self.linear, binds={"x": "data"}, batch=5, prefix="r-")
        self.assertEqual((report["steps"], len(report["job"])), (2, 16))
        self.assertGreater(sum(report["sent"]), 0)
        self.assertLess(np.abs(self.c.reveal("r-y") - x @ w).max(), 0.01)
        y = self.c.infer(self.linear, x="data")  # a stored input, w its own name
        self.assertLess(np.abs(y - x @ w).max(), 0.01)
        self.assertFails(8, "no tensor 'nosuch'", self.c.run, self.linear,
                         binds={"x": "nosuch"})
        self.assertFails(1, "want VAR=NAME", self.c.run, self.linear, binds={"z": "data"})
        self.assertFails(5, "cannot open", self.c.run, self.linear + ".missing")
        self.assertFails(1, "one input", self.c.infer, self.linear)
        self.assertFails(1, "one input", self.c.infer, self.linear, x=x, y=x)
        self.assertFails(3, "inner extents 7 and 4 differ", self.c.infer, self.linear,
                         x=np.ones((3, 7)))

    def test_progress_cancel_jobs(self):
        self.c.share("w", np.ones((2, 2)))
        seen = []
        self.c.set_progress(lambda what, done, total: seen.append((what, done, total)))
        self.c.infer(self.linear, x=np.ones((6, 2)), batch=1)
        self.assertIn("steps", {what for what, _, _ in seen})
        # a true answer cancels the job: the run fails, nothing is stored
        self.c.set_progress(lambda what, done, total: what == "steps")
        self.assertFails(13, "cancel", self.c.run, self.linear, binds={"x": "w"}, batch=1,
                         prefix="c-")
        self.c.set_progress(None)
        self.assertNotIn("c-y", {t["name"] for t in self.c.ls()})
        self.assertEqual(self.c.jobs(), [])
        self.assertFails(8, "no job 00000000000000ff", self.c.cancel, "ff")

    def test_train(self):
        # a linear model y = x w fitted to rows of a known w, in 4 epochs of MSE
        rng = np.random.default_rng(4)
        x = rng.random((64, 3))
        w_true = np.array([[0.5], [-1.0], [0.25]])
        fwd = os.path.join(self.tmp.name, "fwd.prog")
        with open(fwd, "w") as f:
            f.write("batch x\ninput w\noutput y = matmul(x, w)\n")
        self.c.share("w", np.zeros((3, 1)))
        self.c.share("lab", x @ w_true)
        out = self.c.train(fwd, x, "lab", loss="mse", epochs=4, batch=16, lr=0.5,
                           optimizer="momentum", prefix="t-")
        self.assertEqual([e["epoch"] for e in out["epochs"]], [1, 2, 3, 4])
        losses = [e["loss"] for e in out["epochs"]]
        self.assertLess(losses[-1], losses[0])
        w = self.c.reveal("t-w")
        self.assertLess(np.abs(w - w_true).max(), np.abs(w_true).max())
        names = {t["name"] for t in self.c.ls()}
        self.assertEqual(names, {"w", "lab", "t-w"})  # data shared for it, velocities: gone
        self.assertFails(1, "the loss is", self.c.train, fwd, "lab", "lab", loss="hinge")
        self.assertFails(1, "learning rate", self.c.train, fwd, "lab", "lab", loss="mse", lr=0)
        self.assertFails(8, "no tensor 'nosuch'", self.c.train, fwd, "nosuch", "lab",
                         loss="mse")
        self.assertEqual({t["name"] for t in self.c.ls()}, names)

    def test_warning_at_ring_edge(self):
        # 2^48 doubled is beyond the range: revealed, it warns, as trine reveal does
        self.c.share("edge", np.array([2.0 ** 48, 1.0]))
        double = os.path.join(self.tmp.name, "double.prog")
        with open(double, "w") as f:
            f.write("input edge\noutput d = edge * 2\n")
        self.c.run(double, prefix="p-")
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            self.c.reveal("p-d")
        self.assertTrue(any("edge of the ring" in str(g.message) for g in got), got)

    def test_connect_and_close(self):
        self.assertFails(5, "nosuch.ini", trine.connect, INI + ".nosuch.ini",
                         os.path.join(KEYS, "client.key"))
        self.assertFails(5, "nosuch.key", trine.connect, INI, os.path.join(KEYS, "nosuch.key"))
        c = client()
        c.close()
        self.assertFails(1, "closed", c.ls)
        c.close()  # twice is fine

    # ---- torch ------------------------------------------------------------------
    def test_torch_module(self):
        try:
            import torch
        except ImportError as e:
            self.skipTest(f"torch is not installed ({e}): the torch helper is not tested")
        torch.manual_seed(0)
        m = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        example = torch.randn(5, 8)
        y = trine.infer_torch(self.c, m, example)
        want = m(example).detach().numpy()
        self.assertEqual(y.shape, (5, 3))
        self.assertLess(np.abs(y - want).max(), 0.01)
        self.assertEqual(self.c.ls(), [])  # the model's weights and input were removed


if __name__ == "__main__":
    unittest.main()
