#!/usr/bin/env python3
"""PyTorch twins of Plexus networks (include/plexus/io/torch.hpp).

A Plexus program writes the architecture with plexus::write_torch_spec
(JSON) and the weights with plexus::export_torch_npz (.npz named like a
state_dict); this module builds the twin torch module and moves weights
both ways:

    import plexus_torch as pt
    model = pt.build_module(pt.read_spec("net.json"))  # twin nn.Module, float32 or float64 as the spec says
    pt.load_npz(model, "net.npz")                      # Plexus weights into torch (strict)
    ... train or change model in torch ...
    pt.save_npz(model.state_dict(), "tuned.npz")       # plexus::import_torch_npz reads it back

The twin of the network is an nn.Sequential of its layers, so state_dict
names are those of plexus::torch_tensors: "0.weight", "3.body.0.bias".
Kinds: Sequential, Dense (an nn.Linear with its activation), Activation,
Concat (cat([x, body(x)], 1)), Residual (x + body(x)), Dropout, LayerNorm,
BatchNorm (BatchNorm1d), Softmax (dim 1), Standardize ((x - mean) / std,
buffers), GLU (a * gate(b) of the input's halves), each registered beside
its module (TWINS); a kind of your own joins with
pt.register_twin("Scale", lambda settings, w_in, w_out, children: module).
Command line:

    plexus_torch.py summary SPEC.json         print the twin module
    plexus_torch.py predict SPEC.json W.npz IN.npy OUT.npy
                                              the twin's outputs (eval mode)
Needs NumPy and PyTorch (Debian: python3-numpy, python3-torch).
"""
import json
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def activation_fn(settings, key="activation"):
    """The torch function of a Plexus activation setting (and its parameter)."""
    name = settings.get(key, "identity")
    if name == "identity":
        return lambda z: z
    if name == "relu":
        return torch.relu
    if name == "tanh":
        return torch.tanh
    if name == "sigmoid":
        return torch.sigmoid
    if name == "gelu":
        return F.gelu  # the exact (erf) form, as Plexus
    if name == "gelu_tanh":
        return lambda z: F.gelu(z, approximate="tanh")
    if name == "silu":
        return F.silu
    if name == "softplus":
        return F.softplus  # beta 1, threshold 20, as Plexus
    if name == "leaky_relu":
        slope = float(settings.get(key + "_slope", 0.01))
        return lambda z: F.leaky_relu(z, slope)
    if name == "elu":
        alpha = float(settings.get(key + "_alpha", 1.0))
        return lambda z: F.elu(z, alpha)
    raise ValueError(f"plexus_torch: unknown activation '{name}'")


# The torch twin of each layer kind, declared beside its module: a maker
# (settings, input width, output width, children's modules) -> nn.Module.
TWINS = {}


def register_twin(kind, maker):
    """Makes layers of `kind` buildable (a user's kind too); replaces an earlier maker."""
    TWINS[kind] = maker


def twin(kind):
    """Class or function decorator: register_twin(kind, the decorated maker)."""
    def add(maker):
        register_twin(kind, maker)
        return maker
    return add


@twin("Dense")
class Dense(nn.Linear):
    """Plexus' Dense: y = f(x W^T + b), weight (out, in) as nn.Linear."""

    def __init__(self, settings, in_features, out_features, children=()):
        super().__init__(in_features, out_features)
        self.activation = settings.get("activation", "identity")
        self.fn = activation_fn(settings)

    def forward(self, x):
        return self.fn(super().forward(x))

    def extra_repr(self):
        return super().extra_repr() + f", activation={self.activation}"


@twin("Activation")
class Activation(nn.Module):
    def __init__(self, settings, *_):
        super().__init__()
        self.activation = settings.get("activation", "identity")
        self.fn = activation_fn(settings)

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return self.activation


@twin("Concat")
class Concat(nn.Module):
    """x -> [x | body(x)] (DenseNet)."""

    def __init__(self, settings, w_in, w_out, children):
        super().__init__()
        self.body = children[0]

    def forward(self, x):
        return torch.cat([x, self.body(x)], dim=1)


@twin("Residual")
class Residual(nn.Module):
    """x -> x + body(x)."""

    def __init__(self, settings, w_in, w_out, children):
        super().__init__()
        self.body = children[0]

    def forward(self, x):
        return x + self.body(x)


@twin("Standardize")
class Standardize(nn.Module):
    """(x - mean) / std, per feature; mean and std are buffers."""

    def __init__(self, settings, width, *_):
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))

    def forward(self, x):
        return (x - self.mean) / self.std


@twin("GLU")
class GLU(Activation):
    """[a | b] -> a * gate(b), the input's two halves (gate sigmoid: torch.nn.GLU(dim=1)); the gate is
    read from the settings as an Activation layer's function is."""

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return a * self.fn(b)

    def extra_repr(self):
        return f"gate={self.activation}"


register_twin("Sequential", lambda s, w_in, w_out, children: nn.Sequential(*children))
register_twin("Dropout", lambda s, w_in, w_out, children: nn.Dropout(float(s.get("rate", 0.5))))
register_twin("LayerNorm", lambda s, w_in, w_out, children: nn.LayerNorm(
    w_in, eps=float(s.get("eps", 1e-5)), elementwise_affine=bool(s.get("elementwise_affine", 1))))
register_twin("BatchNorm", lambda s, w_in, w_out, children: nn.BatchNorm1d(
    w_in, eps=float(s.get("eps", 1e-5)), momentum=float(s.get("momentum", 0.1)), affine=bool(s.get("affine", 1))))
register_twin("Softmax", lambda s, w_in, w_out, children: nn.Softmax(dim=1))


def build_layer(node):
    """The torch module of one layer of a spec (a dict of torch_spec_json)."""
    kind = node["kind"]
    if kind not in TWINS:
        raise ValueError(f"plexus_torch: no torch twin for layer kind '{kind}' "
                         f"(known: {', '.join(sorted(TWINS))}; plexus_torch.register_twin adds one)")
    children = [build_layer(c) for c in node["children"]]
    return TWINS[kind](node["settings"], node["input_width"], node["output_width"], children)


def read_spec(path):
    with open(path) as f:
        spec = json.load(f)
    if spec.get("format") != "plexus-torch-1":
        raise ValueError(f"{path}: not a plexus::write_torch_spec file (format {spec.get('format')!r})")
    return spec


def build_module(spec):
    """The twin nn.Sequential of a network spec, in the spec's scalar type."""
    model = build_layer(spec["root"])
    return model.to(torch.float64 if spec["scalar"] == "float64" else torch.float32)


def save_npz(state_dict, path):
    """A state_dict as the .npz plexus::import_torch_npz reads (uncompressed)."""
    arrays = {k: v.detach().cpu().numpy() for k, v in state_dict.items()}
    np.savez(path, **arrays)


def read_npz(path):
    """A .npz of export_torch_npz as a dict of tensors."""
    with np.load(path) as data:
        return {k: torch.from_numpy(np.array(data[k])) for k in data.files}


def float_dtype(model):
    """The floating type of a module's tensors (float32 when it has none)."""
    for t in model.state_dict().values():
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def load_npz(model, path):
    """Loads export_torch_npz's file into the twin module; every tensor must match (num_batches_tracked,
    which Plexus does not keep, is left at 0)."""
    state = read_npz(path)
    dtype = float_dtype(model)
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing tensors {missing}, unexpected tensors {unexpected}")
    return model


def main(argv):
    if len(argv) >= 2 and argv[0] == "summary":
        print(build_module(read_spec(argv[1])))
        return 0
    if len(argv) == 5 and argv[0] == "predict":
        model = load_npz(build_module(read_spec(argv[1])), argv[2]).eval()
        x = np.load(argv[3])
        with torch.no_grad():
            y = model(torch.from_numpy(x).to(float_dtype(model))).numpy()
        np.save(argv[4], y)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
