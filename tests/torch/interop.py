#!/usr/bin/env python3
"""The torch side of ctest torch.interop (tests/torch/interop.sh), with
tools/plexus_torch.py: the twin module of each exported network must give
Plexus' outputs on Plexus' weights; then torch trains and perturbs the twin
and writes its weights (tuned*.npz) and outputs (y_torch*.npy) for Plexus to
import; last, files Plexus must refuse and what their messages must name
(cases.txt).  Usage: interop.py TOOLS_DIR WORK_DIR
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, sys.argv[1])
import plexus_torch as pt  # noqa: E402

work = sys.argv[2]
failed = False
torch.manual_seed(0)

for tag, dtype, tol in (("32", torch.float32, 1e-5), ("64", torch.float64, 1e-12)):
    spec = pt.read_spec(os.path.join(work, f"net{tag}.json"))
    model = pt.load_npz(pt.build_module(spec), os.path.join(work, f"net{tag}.npz"))
    x = torch.from_numpy(np.load(os.path.join(work, f"x{tag}.npy")))
    expect = np.load(os.path.join(work, f"y{tag}.npy"))
    model.eval()
    with torch.no_grad():
        got = model(x).numpy()
    diff = float(np.max(np.abs(got - expect)))
    print(f"net{tag}: twin module on Plexus' weights, largest |torch - plexus| {diff:.3g} (tolerance {tol:g})")
    if got.dtype != expect.dtype or not diff <= tol:
        print(f"FAIL: net{tag}: the twin module disagrees with Plexus")
        failed = True

    # Train in torch (BatchNorm's running statistics move, dropout drops), then
    # perturb every floating tensor, buffers included.
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(10):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), torch.arange(len(x)) % 4)
        loss.backward()
        opt.step()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith(("std", "running_var")):
                t.mul_(torch.empty_like(t).uniform_(0.7, 1.4))
            else:
                t.add_(0.1 * torch.randn_like(t))
    model.eval()
    with torch.no_grad():
        np.save(os.path.join(work, f"y_torch{tag}.npy"), model(x).numpy())
    state = model.state_dict()
    if not any(k.endswith("num_batches_tracked") for k in state):
        print("FAIL: the twin's BatchNorm has no num_batches_tracked (the import must skip it)")
        failed = True
    pt.save_npz(state, os.path.join(work, f"tuned{tag}.npz"))

# Files the float32 network must refuse: file|text the message must hold|...
state = pt.read_npz(os.path.join(work, "tuned32.npz"))
cases = []
wrong = dict(state)
wrong["3.body.0.weight"] = torch.zeros(10, 13)  # a twin with one more input column
pt.save_npz(wrong, os.path.join(work, "wrong_shape.npz"))
cases.append("wrong_shape.npz|'3.body.0.weight'|(10, 13)|(10, 12)")
missing = {k: v for k, v in state.items() if k != "5.running_var"}
pt.save_npz(missing, os.path.join(work, "missing.npz"))
cases.append("missing.npz|no tensor '5.running_var'|(18,)")
extra = dict(state)
extra["12.weight"] = torch.zeros(3, 4)
pt.save_npz(extra, os.path.join(work, "extra.npz"))
cases.append("extra.npz|'12.weight'|no tensor for")
# A torch nn.Sequential of the usual kind (Linear, ReLU, Linear: keys 0 and 2).
plain = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.ReLU(), torch.nn.Linear(12, 4))
pt.save_npz(plain.state_dict(), os.path.join(work, "plain.npz"))
cases.append("plain.npz|no tensor '0.mean'|(6,)")
# ... which loads into a Plexus network with its layers at the same indices.
with torch.no_grad():
    np.save(os.path.join(work, "plain_y.npy"), plain(torch.from_numpy(np.load(os.path.join(work, "x32.npy")))).numpy())
with open(os.path.join(work, "cases.txt"), "w") as f:
    f.write("\n".join(cases) + "\n")
sys.exit(1 if failed else 0)
