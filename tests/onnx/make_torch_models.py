"""PyTorch reference models for the ONNX import tests: each model exported at opsets 13 and 17
(NAME_opsetK.onnx), plus NAME_input.npy (7 rows, randn) and NAME_expected.npy (torch's output).
Deterministic (torch.manual_seed per model). Usage: make_torch_models.py OUTDIR"""
import os
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F
from torch.onnx import _type_utils, symbolic_helper

OPSETS = (13, 17)
BATCH = 7


class Concat(nn.Module):  # x -> cat([x, body(x)], 1), as plexus::Concat
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return torch.cat([x, self.body(x)], dim=1)


class Residual(nn.Module):  # x -> x + body(x), as plexus::Residual
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class SiluGate(nn.Module):  # a * silu(b), a and b the input's halves (SwiGLU)
    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return a * F.silu(b)


class Standardize(nn.Module):  # (x - mean) / std, mean and std buffers
    def __init__(self, width):
        super().__init__()
        self.register_buffer("mean", torch.randn(width))
        self.register_buffer("std", torch.rand(width) + 0.5)

    def forward(self, x):
        return (x - self.mean) / self.std


def randomise_affine(norm):  # LayerNorm / BatchNorm weight and bias away from ones / zeros
    with torch.no_grad():
        norm.weight.copy_(1 + 0.5 * torch.randn_like(norm.weight))
        norm.bias.copy_(0.5 * torch.randn_like(norm.bias))
    return norm


def mlp_classifier():
    return nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 3),
                         nn.Softmax(dim=1))


def concat_resnet():
    def block():  # 16 -> cat 8 -> cat 8 -> Linear(32, 16), random init
        return Residual(nn.Sequential(Concat(nn.Sequential(nn.Linear(16, 8), nn.ReLU())),
                                      Concat(nn.Sequential(nn.Linear(24, 8), nn.ReLU())),
                                      nn.Linear(32, 16)))
    return nn.Sequential(nn.Linear(9, 16), nn.ReLU(), block(), block(), nn.Linear(16, 9))


def glu_silu():
    return nn.Sequential(nn.Linear(6, 20), SiluGate(), nn.Linear(10, 10), nn.GLU(dim=1), nn.SiLU(), nn.Linear(5, 2))


def layernorm_gelu_softmax():
    return nn.Sequential(nn.Linear(8, 24), randomise_affine(nn.LayerNorm(24)), nn.GELU(), nn.Linear(24, 24),
                         nn.GELU(approximate="tanh"), nn.LayerNorm(24, elementwise_affine=False), nn.Linear(24, 4),
                         nn.Softmax(dim=-1))


def batchnorm():
    m = nn.Sequential(nn.Linear(5, 12), randomise_affine(nn.BatchNorm1d(12)), nn.ReLU(), nn.Dropout(0.3),
                      nn.Linear(12, 12), nn.BatchNorm1d(12, affine=False), nn.LeakyReLU(0.2), nn.Linear(12, 3),
                      nn.ELU(alpha=0.7), nn.Linear(3, 3), nn.Softplus())
    m.train()  # a few batches (shifted, scaled) give non-trivial running_mean / running_var
    with torch.no_grad():
        for _ in range(30):
            m(2 * torch.randn(32, 5) + 1)
    return m


def standardize_mlp():
    return nn.Sequential(Standardize(4), nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 1))


MODELS = [mlp_classifier, concat_resnet, glu_silu, layernorm_gelu_softmax, batchnorm, standardize_mlp]
F64 = [mlp_classifier, concat_resnet]  # also as NAME_f64, opset 17 only


@symbolic_helper.parse_args("v", "is", "v", "v", "f", "none")
def layer_norm17(g, x, normalized_shape, weight, bias, eps, cudnn_enable):
    # torch 1.13's opset-17 LayerNormalization leaves Scale "" without elementwise_affine (an invalid
    # model); torch >= 2.0 passes Constant ones / zeros instead, as here.
    dtype = _type_utils.JitScalarType.from_name(x.type().scalarType()).dtype()
    if symbolic_helper._is_none(weight):
        weight = g.op("Constant", value_t=torch.ones(normalized_shape, dtype=dtype))
    if symbolic_helper._is_none(bias):
        bias = g.op("Constant", value_t=torch.zeros(normalized_shape, dtype=dtype))
    return g.op("LayerNormalization", x, weight, bias, epsilon_f=eps, axis_i=-len(normalized_shape))


if torch.__version__ < "2":
    torch.onnx.register_custom_op_symbolic("aten::layer_norm", layer_norm17, 17)


def export(model, x, path, opset):
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def make(outdir, build, f64=False):
    torch.manual_seed(0)
    model = build().eval()
    name, dtype = build.__name__, torch.float32
    if f64:
        model, name, dtype = model.double(), name + "_f64", torch.float64
    width = next(m for m in model.modules() if isinstance(m, nn.Linear)).in_features  # the input's width
    x = torch.randn(BATCH, width, dtype=dtype)
    with torch.no_grad():
        y = model(x)
    np.save(os.path.join(outdir, name + "_input.npy"), x.numpy())
    np.save(os.path.join(outdir, name + "_expected.npy"), y.numpy())
    for opset in ((17,) if f64 else OPSETS):
        export(model, x, os.path.join(outdir, f"{name}_opset{opset}.onnx"), opset)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_torch_models.py OUTDIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for build in MODELS:
        make(sys.argv[1], build)
    for build in F64:
        make(sys.argv[1], build, f64=True)


if __name__ == "__main__":
    main()
