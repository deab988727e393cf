#!/usr/bin/python3
# Writes tests/data/onnx/zoo_*: small PyTorch models exported by
# torch.onnx.export at its default opset, each as an ONNX backend test
# folder (model.onnx, test_data_set_0/input_0.pb and output_0.pb, the
# output computed by PyTorch), which `trine onnx-test` runs through three
# parties (tests/it_onnx.sh). Needs Debian's python3-torch and python3-onnx
# (run by hand); the files it writes are in the repository, CI needs no torch.
#   zoo_avgpool      a CNN with a default nn.AvgPool2d (count_include_pad:
#                    the exporter's Pad before AveragePool)
#   zoo_transformer  a 2-layer nn.TransformerEncoder, d_model 64, 4 heads,
#                    sequence 32 (rank-3 MatMul, attention's Q K^T, Softmax,
#                    the decomposed LayerNorm with Pow and Sqrt)
#   zoo_gru          a GRU classifier: nn.GRU (batch_first, 8 features,
#                    hidden 16, 12 steps) and a Linear on the last state
#   zoo_lstm         the same with nn.LSTM, the Linear on the last output
#   zoo_upsample     a CNN with nn.Upsample(scale_factor=2) (Resize, nearest)
#   zoo_activations  ReLU6, LeakyReLU, PReLU, HardSwish, HardSigmoid, ELU,
#                    Softplus, SiLU, GELU, tanh, sigmoid, (log-)softmax,
#                    sqrt, exp, reciprocal side by side (Concat)
#   zoo_modern_cnn   depthwise conv with ReLU6 (MobileNet), a fire module's
#                    Concat (SqueezeNet), Split, Slice, global average pooling
#   zoo_embedding    nn.Embedding(20, 8) over 6 token ids, mean, Linear: a
#                    Gather at integer indices (ids.npy, y.npy beside it)
# network_d.onnx, SecureNN's Network D untrained (He and Glorot uniform
# weights, zero biases, seed 0) for `trine train` (README: Training), and
# refuse_gru_bidirectional.onnx, refuse_resize_huge.onnx (a Resize by an
# infinite scale) and refuse_lstm_long.onnx (an LSTM of 200 steps, past a
# program's 1024 variables), models trine must refuse (it_onnx).
import os
import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

torch.manual_seed(0)
here = os.path.dirname(os.path.abspath(__file__))


class AvgNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.pool = torch.nn.AvgPool2d(2, padding=1)
        self.fc = torch.nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128,
                                                 dropout=0.0, batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, num_layers=2)

    def forward(self, x):
        return self.enc(x)


class GruNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(8, 16, batch_first=True)
        self.fc = torch.nn.Linear(16, 4)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[0])


class UpNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 3, 3, padding=1)
        self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.conv2 = torch.nn.Conv2d(3, 2, 3, stride=2)
        self.fc = torch.nn.Linear(2 * 5 * 5, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv2(self.up(torch.relu(self.conv(x)))), 1))


class EmbNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(20, 8)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, ids):
        return self.fc(self.emb(ids).mean(1))


class NetD(torch.nn.Module):
    # SecureNN's Network D on 784-pixel rows, as trine train takes them
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 5, 5, stride=2, padding=2)
        self.fc1 = torch.nn.Linear(980, 100)
        self.fc2 = torch.nn.Linear(100, 10)
        for l in (self.conv, self.fc1):  # He for the ReLU layers, as fmnist init
            torch.nn.init.kaiming_uniform_(l.weight, nonlinearity='relu')
            torch.nn.init.zeros_(l.bias)
        torch.nn.init.xavier_uniform_(self.fc2.weight)
        torch.nn.init.zeros_(self.fc2.bias)

    def forward(self, x):
        x = torch.relu(self.conv(x.view(x.size(0), 1, 28, 28)))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class Activations(torch.nn.Module):
    # the ReLU family and the smooth functions, one after another on a row
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 6)
        self.prelu = torch.nn.PReLU(6)

    def forward(self, x):
        h = self.fc(x)
        parts = [torch.nn.functional.relu6(h), torch.nn.functional.leaky_relu(h, 0.1),
                 self.prelu(h), torch.nn.functional.hardswish(h),
                 torch.nn.functional.hardsigmoid(h), torch.nn.functional.elu(h),
                 torch.nn.functional.softplus(h), torch.nn.functional.silu(h),
                 torch.nn.functional.gelu(h), torch.tanh(h), torch.sigmoid(h),
                 torch.log_softmax(h, 1), torch.softmax(h, 1),
                 torch.sqrt(h * h + 1), torch.exp(h.clamp(max=2)), 1 / (h * h + 1)]
        return torch.cat(parts, 1)


class ModernCnn(torch.nn.Module):
    # MobileNet's depthwise separable block with ReLU6, SqueezeNet's fire
    # module (concat of two expands), a split and a slice, global pooling
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = torch.nn.Conv2d(8, 8, 1)
        self.e1 = torch.nn.Conv2d(8, 4, 1)
        self.e3 = torch.nn.Conv2d(8, 4, 3, padding=1)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        h = torch.nn.functional.relu6(self.pw(torch.nn.functional.relu6(self.dw(h))))
        h = torch.cat([torch.relu(self.e1(h)), torch.relu(self.e3(h))], 1)
        a, b = torch.split(h, 4, 1)
        h = torch.cat([b, a[:, :, :, :]], 1)
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(h, 1), 1))


class LstmNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(8, 16, batch_first=True)
        self.fc = torch.nn.Linear(16, 4)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


def export(model, x, name):
    folder = os.path.join(here, name)
    os.makedirs(os.path.join(folder, "test_data_set_0"), exist_ok=True)
    model.eval()
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(folder, "model.onnx"), input_names=["x"],
                      output_names=["y"])
    for kind, t in (("input", x), ("output", y)):
        a = t.numpy()
        proto = numpy_helper.from_array(a if a.dtype == np.int64 else a.astype(np.float32),
                                        name=kind[0])
        with open(os.path.join(folder, "test_data_set_0", kind + "_0.pb"), "wb") as f:
            f.write(proto.SerializeToString())


export(AvgNet(), torch.rand(4, 1, 8, 8), "zoo_avgpool")
export(Encoder(), torch.randn(1, 32, 64) * 0.5, "zoo_transformer")
export(GruNet(), torch.randn(3, 12, 8), "zoo_gru")
export(LstmNet(), torch.randn(3, 12, 8), "zoo_lstm")
export(UpNet(), torch.rand(4, 1, 6, 6), "zoo_upsample")
export(Activations(), torch.randn(5, 6), "zoo_activations")
export(ModernCnn(), torch.rand(2, 3, 8, 8), "zoo_modern_cnn")
ids = torch.randint(0, 20, (4, 6))
emb_net = EmbNet()
export(emb_net, ids, "zoo_embedding")
# the token ids and PyTorch's outputs as .npy too: it_onnx runs them as
# private inputs through trine infer (onnx-test holds integer inputs public)
np.save(os.path.join(here, "zoo_embedding", "ids.npy"), ids.numpy())
with torch.no_grad():
    np.save(os.path.join(here, "zoo_embedding", "y.npy"),
            emb_net(ids).numpy().astype(np.float64))
torch.onnx.export(torch.nn.GRU(4, 3, bidirectional=True), torch.randn(5, 2, 4),
                  os.path.join(here, "refuse_gru_bidirectional.onnx"))
torch.manual_seed(0)
torch.onnx.export(NetD(), torch.zeros(128, 784), os.path.join(here, "network_d.onnx"),
                  input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
resize = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest")
huge = helper.make_graph(
    [resize], "refuse_resize_huge",
    [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1, 4, 4])],
    [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
    [numpy_helper.from_array(np.array([1, 1, np.inf, 2], dtype=np.float32), "scales")])
onnx.save(helper.make_model(huge, opset_imports=[helper.make_opsetid("", 13)]),
          os.path.join(here, "refuse_resize_huge.onnx"))
rng = np.random.default_rng(1)
lstm = helper.make_node("LSTM", ["x", "w", "r"], ["", "h"], hidden_size=3)
long = helper.make_graph(
    [lstm], "refuse_lstm_long",
    [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [200, 1, 2])],
    [helper.make_tensor_value_info("h", onnx.TensorProto.FLOAT, None)],
    [numpy_helper.from_array(rng.standard_normal((1, 12, 2)).astype(np.float32), "w"),
     numpy_helper.from_array(rng.standard_normal((1, 12, 3)).astype(np.float32), "r")])
onnx.save(helper.make_model(long, opset_imports=[helper.make_opsetid("", 14)]),
          os.path.join(here, "refuse_lstm_long.onnx"))
