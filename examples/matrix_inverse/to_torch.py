#!/usr/bin/env python3
"""Load a model exported by `matrix_inverse export` into the equivalent
torch.nn module and, optionally, check it against `matrix_inverse predict`.

    to_torch.py MODEL.npz [--input IN.npy --expect OUT.npy] [--rtol 1e-5]

MODEL.npz holds dense{i}.weight (PyTorch's (out, in) layout), dense{i}.bias
in forward order, and config = [kind, width, growth, blocks, layers,
normalize, output_scale, canonical, activation, gate] (kind 0: the
question's MLP, 1: concat-ResNet; canonical 1: the network sees each
matrix's sign-canonical form, rows and columns flipped so the first row and
column are non-negative, and its answer is flipped back; activation and
gate: plexus::Activation codes, gate -1 for plain growth layers, else each
growth layer is Linear(2 growth) and a * gate(b) of its halves; files
without them: canonical 0, relu, no gate).
With --input/--expect it predicts the inverses of IN.npy the way `predict`
does and exits 1 unless every predicted matrix matches OUT.npy to the
relative tolerance (||X_torch - X_predict||_F / ||X_predict||_F).
Needs NumPy and PyTorch (Debian: python3-numpy, python3-torch).
"""
import argparse
import sys

import numpy as np
import torch
from torch import nn


# plexus::Activation codes (include/plexus/model/activations.hpp).
ACTIVATIONS = {0: lambda z: z, 1: torch.relu, 2: torch.tanh, 3: torch.sigmoid,
               4: torch.nn.functional.gelu, 5: torch.nn.functional.silu}


class ConcatResNet(nn.Module):
    """Dense(width, f); blocks x [4 x x = cat(x, grow(x)); x = skip + Dense(width)(x)]; Dense(N^2), where
    grow(x) = f(Dense(growth)(x)), or with a gate a * gate(b) for [a | b] = Dense(2 growth)(x)."""

    def __init__(self, width, growth, blocks, layers, activation=1, gate=-1, n=3):
        super().__init__()
        self.f = ACTIVATIONS[activation]
        self.gate = None if gate < 0 else ACTIVATIONS[gate]
        grown = growth if self.gate is None else 2 * growth
        self.stem = nn.Linear(n * n, width)
        self.blocks = nn.ModuleList()
        for _ in range(blocks):
            grow = nn.ModuleList(nn.Linear(width + i * growth, grown) for i in range(layers))
            self.blocks.append(nn.ModuleDict({"grow": grow, "out": nn.Linear(width + layers * growth, width)}))
        self.head = nn.Linear(width, n * n)

    def grow(self, dense, x):
        if self.gate is None:
            return self.f(dense(x))
        a, b = dense(x).chunk(2, dim=1)
        return a * self.gate(b)

    def forward(self, x):
        x = self.f(self.stem(x))
        for block in self.blocks:
            skip = x
            for dense in block["grow"]:
                x = torch.cat([x, self.grow(dense, x)], dim=1)
            x = skip + block["out"](x)
        return self.head(x)

    def dense_layers(self):
        yield self.stem
        for block in self.blocks:
            yield from block["grow"]
            yield block["out"]
        yield self.head


class QuestionMLP(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.l1, self.l2, self.l3 = (nn.Linear(n * n, n * n) for _ in range(3))

    def forward(self, x):
        return self.l3(torch.relu(self.l2(torch.relu(self.l1(x)))))

    def dense_layers(self):
        yield from (self.l1, self.l2, self.l3)


def load(path):
    data = np.load(path)
    config = data["config"].tolist()
    kind, width, growth, blocks, layers, normalize, scale = config[:7]
    canonical = len(config) > 7 and config[7] == 1.0
    activation = int(config[8]) if len(config) > 8 else 1
    gate = int(config[9]) if len(config) > 9 else -1
    n = int(config[10]) if len(config) > 10 else 3
    if activation not in ACTIVATIONS or (gate >= 0 and gate not in ACTIVATIONS):
        raise SystemExit(f"{path}: activation code {activation} or gate code {gate} has no torch function here")
    model = QuestionMLP(n) if kind == 0 else ConcatResNet(int(width), int(growth), int(blocks), int(layers),
                                                          activation, gate, n)
    dense = list(model.dense_layers())
    names = sorted({k.split(".")[0] for k in data.files if k.startswith("dense")}, key=lambda n: int(n[5:]))
    if len(names) != len(dense):
        raise SystemExit(f"{path}: {len(names)} dense layers in the file, {len(dense)} in the model")
    dtype = torch.float64 if data["dense0.weight"].dtype == np.float64 else torch.float32
    model = model.to(dtype)
    with torch.no_grad():
        for layer, name in zip(dense, names):
            w, b = data[name + ".weight"], data[name + ".bias"]
            if tuple(layer.weight.shape) != w.shape or tuple(layer.bias.shape) != b.shape:
                raise SystemExit(f"{path}: {name} has shape {w.shape}, the model expects {tuple(layer.weight.shape)}")
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    return model.eval(), bool(normalize), float(scale), canonical, dtype, n


def sign_flips(a, n):
    """Per N x N matrix (rows of N^2), the +-1 factor of each entry that makes the first row and column
    non-negative: t_j = sign(a_0j), s_0 = 1, s_i = sign(t_0 a_i0), factor s_i t_j (sign(0) = +1)."""
    t = np.where(a[:, 0:n] < 0, -1.0, 1.0)
    s = np.ones((len(a), n))
    s[:, 1:] = np.where(t[:, :1] * a[:, [n * i for i in range(1, n)]] < 0, -1.0, 1.0)
    return (s[:, :, None] * t[:, None, :]).reshape(len(a), n * n), s, t


def predict(model, normalize, scale, canonical, dtype, n, matrices):
    a = matrices.reshape(len(matrices), n * n).astype(np.float64)
    norm = np.linalg.norm(a, axis=1, keepdims=True) if normalize else np.ones((len(a), 1))
    x = a / norm
    if canonical:
        flips, s, t = sign_flips(x, n)
        x = x * flips
    with torch.no_grad():
        out = model(torch.from_numpy(x).to(dtype)).double().numpy()
    if canonical:  # inv(A) = diag(t) inv(C) diag(s): entry (k, l) times t_k s_l
        out = out * (t[:, :, None] * s[:, None, :]).reshape(len(a), n * n)
    return (out * scale / norm).reshape(matrices.shape)


def main(argv=None):
    """The command line; argv (default: sys.argv[1:]) lets one process check several models."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("npz")
    p.add_argument("--input")
    p.add_argument("--expect")
    p.add_argument("--rtol", type=float, default=1e-5)
    args = p.parse_args(argv)
    model, normalize, scale, canonical, dtype, n = load(args.npz)
    print(f"loaded {args.npz}: {n}x{n} matrices, {sum(t.numel() for t in model.parameters())} parameters, {dtype}")
    if args.input is None:
        return 0
    if args.expect is None:
        raise SystemExit("--input needs --expect")
    got = predict(model, normalize, scale, canonical, dtype, n, np.load(args.input))
    expect = np.load(args.expect)
    if got.shape != expect.shape:
        raise SystemExit(f"shape {got.shape} against {expect.shape}")
    # per matrix: ||X_torch - X_predict||_F / ||X_predict||_F
    n = len(expect)
    diff = np.linalg.norm((got - expect).reshape(n, -1), axis=1)
    rel = np.max(diff / np.linalg.norm(expect.reshape(n, -1), axis=1))
    print(f"largest relative difference (Frobenius, per matrix) torch vs predict: {rel:.3g} (tolerance {args.rtol:g})")
    return 0 if rel <= args.rtol else 1


if __name__ == "__main__":
    sys.exit(main())
