#!/usr/bin/env python3
"""The PyTorch half of bench/compare_torch.sh: the answer's network in
torch.nn (float32, MSE on inverse/5, Adam lr 1e-5, samples generated online
with torch), trained for a number of steps, in float32 or with the forward
under torch.autocast("cpu", dtype=torch.bfloat16) (--precision bf16);
batch-1 prediction latency under torch.no_grad(); and the best of a few
n^3 products (torch.mm: float32, and bfloat16 with --precision bf16).
--init FILE starts from the weights plexus_compare --init-out wrote and
reports the first step's loss on its first batch beside Plexus'. Prints
key=value lines like plexus_compare.
"""
import argparse
import os
import resource
import time

import numpy as np

import torch
from torch import nn


class ConcatBlock(nn.Module):
    """Residual(layers x concat([x, relu(Dense(growth)(x))]), Dense(width, zeros))."""

    def __init__(self, width, growth, layers):
        super().__init__()
        self.dense = nn.ModuleList(nn.Linear(width + i * growth, growth) for i in range(layers))
        self.close = nn.Linear(width + layers * growth, width)
        nn.init.zeros_(self.close.weight)
        nn.init.zeros_(self.close.bias)

    def forward(self, x):
        skip = x
        for d in self.dense:
            x = torch.cat([x, torch.relu(d(x))], dim=1)
        return skip + self.close(x)


def answer_net(width, growth, blocks, layers):
    mods = [nn.Linear(9, width), nn.ReLU()]
    mods += [ConcatBlock(width, growth, layers) for _ in range(blocks)]
    mods += [nn.Linear(width, 9)]
    net = nn.Sequential(*mods)
    for m in net.modules():  # Keras' defaults, as in the answer: Glorot kernels, zero biases
        if isinstance(m, nn.Linear) and m.weight.abs().sum() > 0:
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def read_init(path):
    """plexus_compare --init-out's file (bench/init_file.hpp): parameters, first batch, Plexus' first loss."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] != b"PLXINIT1":
        raise SystemExit(f"{path}: not a plexus_compare --init-out file")
    n, rows, cin, cout = np.frombuffer(raw, np.int64, 4, 8)
    at = 40
    params = np.frombuffer(raw, np.float32, n, at).copy()
    at += 4 * n
    x = np.frombuffer(raw, np.float32, rows * cin, at).reshape(rows, cin)
    at += 4 * rows * cin
    y = np.frombuffer(raw, np.float32, rows * cout, at).reshape(rows, cout)
    at += 4 * rows * cout
    first = float(np.frombuffer(raw, np.float64, 1, at)[0])
    return params, torch.from_numpy(x.copy()), torch.from_numpy(y.copy()), first


def load_params(net, params):
    """Plexus' order is torch's: each Linear's weight (out x in, row-major) then its bias."""
    at = 0
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                for t in (m.weight, m.bias):
                    t.copy_(torch.from_numpy(params[at:at + t.numel()].reshape(t.shape)))
                    at += t.numel()
    if at != len(params):
        raise SystemExit(f"init file has {len(params)} parameters, the network {at}")


def batch(n, gen):
    """The answer's samples: entries in [-2, 2], |det| > 0.1, target inverse / 5."""
    out = []
    have = 0
    while have < n:
        a = torch.rand(2 * n, 3, 3, generator=gen) * 4 - 2
        a = a[torch.linalg.det(a).abs() > 0.1]
        out.append(a)
        have += a.shape[0]
    a = torch.cat(out)[:n]
    return a.reshape(n, 9), (torch.linalg.inv(a) / 5).reshape(n, 9)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--predict-calls", type=int, default=300)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--growth", type=int, default=256)
    p.add_argument("--blocks", type=int, default=7)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--gemm", type=int, default=2048)
    p.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    p.add_argument("--init", help="start from plexus_compare --init-out's weights and check the first loss")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    print(f"threads={torch.get_num_threads()}")
    print(f"torch_version={torch.__version__}")

    print(f"precision={a.precision}")
    rss_before = current_rss_mb()
    net = answer_net(a.width, a.growth, a.blocks, a.layers)
    first_batch = None
    if a.init:
        params, x0, y0, plexus_first = read_init(a.init)
        load_params(net, params)
        first_batch = (x0, y0)
        print(f"plexus_first_loss={plexus_first:.9g}")
    opt = torch.optim.Adam(net.parameters(), lr=1e-5)
    loss_fn = nn.MSELoss()
    last = 0.0
    bf16 = a.precision == "bf16"

    def step(xy=None):
        nonlocal last
        x, y = xy if xy is not None else batch(a.batch, gen)
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(net(x), y)
        loss.float().backward()
        opt.step()
        last = loss.item()

    step(first_batch)  # with --init: Plexus' first batch, from Plexus' weights
    print(f"train_first_loss={last:.9g}")
    for _ in range(1, a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    t = time.perf_counter() - t0
    print(f"params={sum(q.numel() for q in net.parameters())}")
    print(f"train_samples_per_s={a.steps * a.batch / t:.1f}")
    print(f"train_ms_per_step={1e3 * t / a.steps:.2f}")
    print(f"train_last_loss={last:.6g}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"train_peak_rss_mb={peak:.1f}")
    print(f"train_rss_delta_mb={peak - rss_before:.1f}")

    net.eval()
    x = torch.rand(1, 9, generator=gen) * 4 - 2
    us = []
    with torch.no_grad():
        for _ in range(10):
            net(x)
        for _ in range(a.predict_calls):
            t0 = time.perf_counter()
            net(x)
            us.append(1e6 * (time.perf_counter() - t0))
    us.sort()
    print(f"predict1_median_us={us[len(us) // 2]:.2f}")
    print(f"predict1_p90_us={us[len(us) * 9 // 10]:.2f}")

    if a.gemm > 0:
        n = a.gemm
        x = torch.rand(n, n)
        y = torch.rand(n, n)
        best = 0.0
        for _ in range(4):
            t0 = time.perf_counter()
            torch.mm(x, y)
            best = max(best, 2 * n**3 / (time.perf_counter() - t0) * 1e-9)
        print(f"sgemm_torch_gflops={best:.1f}")
        if bf16:
            xb, yb = x.bfloat16(), y.bfloat16()
            best = 0.0
            for _ in range(4):
                t0 = time.perf_counter()
                torch.mm(xb, yb)
                best = max(best, 2 * n**3 / (time.perf_counter() - t0) * 1e-9)
            print(f"gemm_torch_bf16_gflops={best:.1f}")


if __name__ == "__main__":
    main()
