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
import os
import numpy as np
import onnx
import torch
from onnx import numpy_helper

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


def export(model, x, name):
    folder = os.path.join(here, name)
    os.makedirs(os.path.join(folder, "test_data_set_0"), exist_ok=True)
    model.eval()
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(folder, "model.onnx"), input_names=["x"],
                      output_names=["y"])
    for kind, t in (("input", x), ("output", y)):
        proto = numpy_helper.from_array(t.numpy().astype(np.float32), name=kind[0])
        with open(os.path.join(folder, "test_data_set_0", kind + "_0.pb"), "wb") as f:
            f.write(proto.SerializeToString())


export(AvgNet(), torch.rand(4, 1, 8, 8), "zoo_avgpool")
export(Encoder(), torch.randn(1, 32, 64) * 0.5, "zoo_transformer")
