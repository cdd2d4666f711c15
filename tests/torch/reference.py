#!/usr/bin/env python3
"""Reference numbers from PyTorch itself for tests/torch/check_torch.cpp.

Prints, in double precision, the trajectories of torch.optim's AdamW, Adam
and RMSprop for given gradients, clip_grad_norm_, the learning rates of
torch.optim.lr_scheduler's schedulers, the values and gradients of
torch.nn.functional's losses, and the forward and backward passes of
LayerNorm, BatchNorm1d (training steps, running statistics, eval mode) and
softmax, each case with its inputs and settings, as
lines of text (floats written with repr, so they read back exactly).
Exits with status 3 when torch cannot be imported.
"""
import math
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the wrapper decides whether that fails the test
    print("reference.py: cannot import torch: %s" % e, file=sys.stderr)
    sys.exit(3)

torch.set_default_dtype(torch.float64)
out = []


def emit(*words):
    out.append(" ".join(str(w) for w in words))


def floats(tag, values):
    emit(tag, len(values), *[repr(float(v)) for v in values])


def flat(tensors):
    return [v for t in tensors for v in t.detach().reshape(-1).tolist()]


def settings(d):
    return ["%s=%r" % (k, float(v) if not isinstance(v, bool) else int(v)) for k, v in d.items()]


# ---- optimizers: 24 parameters in two tensors (the C++ side: Dense(6) on 3 inputs)
def optimizer_case(name, kind, make, steps=20):
    gen = torch.Generator().manual_seed(len(out) + 7)
    params = [torch.randn(3, 6, generator=gen).requires_grad_(), torch.randn(6, generator=gen).requires_grad_()]
    opt = make(params)
    group = opt.param_groups[0]
    keys = {"adamw": ["lr", "betas", "eps", "weight_decay"], "adam": ["lr", "betas", "eps", "weight_decay"],
            "rmsprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"]}[kind]
    cfg = {}
    for k in keys:
        if k == "betas":
            cfg["beta1"], cfg["beta2"] = group["betas"]
        else:
            cfg[k] = group[k]
    emit("case", name)
    emit("optim", kind, *settings(cfg))
    floats("p0", flat(params))
    for t in range(1, steps + 1):
        grads = [torch.randn(p.shape, generator=gen) * (3.0 if t % 4 == 0 else 0.5) for p in params]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        opt.step()
        floats("grad", flat(grads))
        floats("param", flat(params))
    emit("end")


optimizer_case("adamw_defaults", "adamw", lambda ps: torch.optim.AdamW(ps))
optimizer_case("adamw_custom", "adamw",
               lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1))
optimizer_case("adam_l2", "adam", lambda ps: torch.optim.Adam(ps, lr=3e-3, betas=(0.85, 0.995), weight_decay=0.05))
optimizer_case("rmsprop_defaults", "rmsprop", lambda ps: torch.optim.RMSprop(ps))
optimizer_case("rmsprop_momentum", "rmsprop", lambda ps: torch.optim.RMSprop(ps, momentum=0.9))
optimizer_case("rmsprop_centered", "rmsprop", lambda ps: torch.optim.RMSprop(ps, centered=True))
optimizer_case("rmsprop_weight_decay", "rmsprop", lambda ps: torch.optim.RMSprop(ps, weight_decay=0.1))
optimizer_case("rmsprop_everything", "rmsprop",
               lambda ps: torch.optim.RMSprop(ps, lr=5e-3, alpha=0.9, eps=1e-6, weight_decay=0.05, momentum=0.5,
                                              centered=True))

# ---- clipping by global norm over two tensors
for max_norm in (0.5, 100.0):
    gen = torch.Generator().manual_seed(99)
    ps = [torch.zeros(3, 6, requires_grad=True), torch.zeros(6, requires_grad=True)]
    for p in ps:
        p.grad = torch.randn(p.shape, generator=gen)
    before = flat([p.grad for p in ps])
    norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)
    emit("case", "clip_%g" % max_norm)
    emit("clip", *settings({"max_norm": max_norm}))
    floats("g", before)
    floats("norm", [norm.item()])
    floats("clipped", flat([p.grad for p in ps]))
    emit("end")


# ---- schedules: the lr the optimizer holds before each of 20 steps
def schedule_case(name, kind, cfg, make, base_lr, metrics=None, steps=20):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = make(opt)
    lrs = []
    for i in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
            lrs[-1] = opt.param_groups[0]["lr"]  # the rate after observing metric i
    emit("case", name)
    emit("sched", kind, *settings(cfg))
    if metrics is not None:
        floats("metrics", metrics)
    floats("lrs", lrs)
    emit("end")


S = torch.optim.lr_scheduler
schedule_case("step_lr", "step", {"lr": 0.1, "step_size": 3, "gamma": 0.5},
              lambda o: S.StepLR(o, step_size=3, gamma=0.5), 0.1)
schedule_case("exponential_lr", "exponential", {"lr": 0.2, "gamma": 0.9},
              lambda o: S.ExponentialLR(o, gamma=0.9), 0.2)
for t_mult in (1, 2):
    schedule_case("cosine_restarts_mult%d" % t_mult, "cosine_restarts",
                  {"lr": 0.05, "t0": 3, "t_mult": t_mult, "eta_min": 1e-4, "warmup": 0, "warmup_start_factor": 0},
                  lambda o, m=t_mult: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=m, eta_min=1e-4), 0.05)
schedule_case("cosine_restarts_warmup", "cosine_restarts",
              {"lr": 0.05, "t0": 5, "t_mult": 2, "eta_min": 0, "warmup": 4, "warmup_start_factor": 0.1},
              lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=4),
                                           S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2)], milestones=[4]), 0.05)
for three in (False, True):
    for anneal in ("cos", "linear"):
        schedule_case("one_cycle_%s%s" % (anneal, "_three" if three else ""), "one_cycle",
                      {"max_lr": 0.1, "total_steps": 20, "pct_start": 0.3, "linear": anneal == "linear",
                       "three_phase": three, "div_factor": 25.0, "final_div_factor": 1e4},
                      lambda o, a=anneal, th=three: S.OneCycleLR(o, max_lr=0.1, total_steps=20, anneal_strategy=a,
                                                                 three_phase=th, cycle_momentum=False), 0.1)
# OneCycleLR's defaults, as torch holds them after construction
opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
d = S.OneCycleLR(opt, max_lr=0.1, total_steps=100)
g = opt.param_groups[0]
emit("case", "one_cycle_defaults")
emit("defaults", "one_cycle", *settings({"div_factor": g["max_lr"] / g["initial_lr"],
                                         "final_div_factor": g["initial_lr"] / g["min_lr"],
                                         "pct_start": (d._schedule_phases[0]["end_step"] + 1) / 100,
                                         "three_phase": len(d._schedule_phases) == 3}))
emit("end")
metrics = [10, 9, 9.5, 9.2, 8.9, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 1, 1.5, 1.2, 1.1]
schedule_case("plateau_min_rel", "plateau",
              {"lr": 1.0, "max": False, "factor": 0.5, "patience": 2, "threshold": 0.1, "abs": False, "cooldown": 1,
               "min_lr": 0.2, "eps": 1e-8},
              lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=0.1, cooldown=1, min_lr=0.2), 1.0,
              metrics=metrics)
metrics = [1, 1.4, 2, 2.2, 2.3, 3.1, 3.0, 2.9, 2.8, 2.7, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]
schedule_case("plateau_max_abs", "plateau",
              {"lr": 1.0, "max": True, "factor": 0.3, "patience": 1, "threshold": 0.5, "abs": True, "cooldown": 2,
               "min_lr": 0.0, "eps": 1e-8},
              lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=1, threshold=0.5,
                                            threshold_mode="abs", cooldown=2), 1.0, metrics=metrics)
opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
p = S.ReduceLROnPlateau(opt)
emit("case", "plateau_defaults")
emit("defaults", "plateau", *settings({"max": p.mode == "max", "factor": p.factor, "patience": p.patience,
                                       "threshold": p.threshold, "abs": p.threshold_mode == "abs",
                                       "cooldown": p.cooldown, "min_lr": p.min_lrs[0], "eps": p.eps}))
emit("end")


# ---- losses: value and gradient by autograd
def loss_case(name, kind, cfg, pred, target, fn):
    z = pred.clone().requires_grad_()
    value = fn(z, target)
    value.backward()
    emit("case", name)
    emit("loss", kind, *settings(cfg))
    t = target.to(torch.float64).reshape(pred.shape[0], -1)
    emit("pred", pred.shape[0], pred.shape[1], *[repr(v) for v in pred.reshape(-1).tolist()])
    emit("target", t.shape[0], t.shape[1], *[repr(v) for v in t.reshape(-1).tolist()])
    floats("value", [value.item()])
    emit("grad", *[repr(v) for v in z.grad.reshape(-1).tolist()])
    emit("end")


gen = torch.Generator().manual_seed(5)
z = torch.randn(6, 4, generator=gen) * 3
labels = torch.randint(0, 4, (6,), generator=gen)
probs = torch.softmax(torch.randn(6, 4, generator=gen), dim=1)
for s in (0.0, 0.1):
    loss_case("ce_labels_%g" % s, "ce", {"label_smoothing": s}, z, labels,
              lambda a, b, s=s: F.cross_entropy(a, b, label_smoothing=s))
    loss_case("ce_probs_%g" % s, "ce", {"label_smoothing": s}, z, probs,
              lambda a, b, s=s: F.cross_entropy(a, b, label_smoothing=s))
extreme = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
loss_case("ce_extreme", "ce", {"label_smoothing": 0.0}, extreme, torch.tensor([0, 0]), F.cross_entropy)
x = torch.randn(5, 3, generator=gen) * 4
soft = torch.rand(5, 3, generator=gen)
loss_case("bce_soft", "bce", {}, x, soft, F.binary_cross_entropy_with_logits)
loss_case("bce_extreme", "bce", {}, torch.tensor([[1e4, -1e4, 1e4, -1e4]]), torch.tensor([[1.0, 0.0, 0.0, 1.0]]),
          F.binary_cross_entropy_with_logits)
p = torch.randn(5, 3, generator=gen) * 2
t = torch.randn(5, 3, generator=gen)
t[0, 0] = p[0, 0]  # an exact match: L1's gradient there is 0
for delta in (1.0, 0.7):
    loss_case("huber_%g" % delta, "huber", {"delta": delta}, p, t, lambda a, b, d=delta: F.huber_loss(a, b, delta=d))
loss_case("mae", "mae", {}, p, t, F.l1_loss)
loss_case("mse", "mse", {}, p, t, F.mse_loss)


# ---- layers: forward and backward (autograd) of LayerNorm, BatchNorm1d and
# softmax; BatchNorm for 3 training steps (running statistics after them),
# then in eval mode.
def matrix_line(tag, m):
    emit(tag, m.shape[0], m.shape[1], *[repr(v) for v in m.detach().reshape(-1).tolist()])


def layer_case(name, kind, cfg, module, width, steps, gen, eval_pass=False, scale=2.0):
    emit("case", name)
    emit("layer", kind, *settings(dict(cfg, steps=steps, width=width, eval=eval_pass)))
    params = list(module.parameters())
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn(p.shape, generator=gen))
    if params:
        floats("w", params[0].reshape(-1).tolist())
        floats("b", params[1].reshape(-1).tolist())
    passes = [("%d" % k, True) for k in range(1, steps + 1)] + ([("_eval", False)] if eval_pass else [])
    for tag, training in passes:
        module.train(training)
        x = (torch.randn(6, width, generator=gen) * scale + 0.5).requires_grad_()
        if kind == "softmax":
            with torch.no_grad():
                x[1, 2] = 800.0  # overflows exp unless the row's maximum is subtracted
                x[3, :] = 1e4
        dy = torch.randn(6, width, generator=gen)
        for p in params:
            p.grad = None
        y = module(x)
        y.backward(dy)
        matrix_line("x" + tag, x)
        matrix_line("dy" + tag, dy)
        matrix_line("y" + tag, y)
        matrix_line("dx" + tag, x.grad)
        if params:
            floats("dw" + tag, params[0].grad.reshape(-1).tolist())
            floats("db" + tag, params[1].grad.reshape(-1).tolist())
    if kind == "batchnorm":
        floats("running_mean", module.running_mean.tolist())
        floats("running_var", module.running_var.tolist())
    emit("end")


gen = torch.Generator().manual_seed(11)
layer_case("layernorm", "layernorm", {"eps": 1e-5, "affine": True}, torch.nn.LayerNorm(7), 7, 1, gen)
layer_case("layernorm_plain", "layernorm", {"eps": 1e-3, "affine": False},
           torch.nn.LayerNorm(5, eps=1e-3, elementwise_affine=False), 5, 1, gen)
layer_case("batchnorm", "batchnorm", {"eps": 1e-5, "momentum": 0.1, "affine": True}, torch.nn.BatchNorm1d(4), 4, 3,
           gen, eval_pass=True)
layer_case("batchnorm_custom", "batchnorm", {"eps": 1e-3, "momentum": 0.3, "affine": False},
           torch.nn.BatchNorm1d(3, eps=1e-3, momentum=0.3, affine=False), 3, 3, gen, eval_pass=True)
layer_case("softmax", "softmax", {}, torch.nn.Softmax(dim=1), 6, 1, gen, scale=4.0)
# torch.nn's defaults for the layers
ln, bn = torch.nn.LayerNorm(3), torch.nn.BatchNorm1d(3)
emit("case", "layer_defaults")
emit("defaults", "layers", *settings({"layernorm_eps": ln.eps, "layernorm_affine": ln.elementwise_affine,
                                      "batchnorm_eps": bn.eps, "batchnorm_momentum": bn.momentum,
                                      "batchnorm_affine": bn.affine, "dropout_rate": torch.nn.Dropout().p,
                                      "running_var": bn.running_var[0].item(),
                                      "running_mean": bn.running_mean[0].item()}))
emit("end")

emit("torch", torch.__version__)
print("\n".join(out))
