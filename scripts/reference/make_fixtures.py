#!/usr/bin/env python3
"""Deterministic generator of the engine's parity fixtures (tests/fixtures/*.json) from the float64 reference.

    .tools/pyenv/bin/python scripts/reference/make_fixtures.py            # (re)write tests/fixtures/
    .tools/pyenv/bin/python scripts/reference/make_fixtures.py --check    # regenerate, compare with disk, write nothing
    .tools/pyenv/bin/python scripts/reference/make_fixtures.py \
        --verify-reference /work/.mirror/Bian-jh+HoP-TM/repo             # also replay every case through the
                                                                          # reference repo's own code

Writes network.json, dsa.json, meta-gradient.json and gsam.json; each is a JSON array of cases (formats in
scripts/reference/README.md). Arrays are ``{"shape": [...], "data": [...]}`` with ``data`` flat row-major; images
are NHWC. Every input (images, parameters, draws, lr) is exactly representable in float32, so a float32 engine reads
exactly the values the float64 reference used; every expected output is the float64 result, written with Python's
round-trip float repr.

Before writing, the script asserts that the meta-gradient's dL/dlr and a few dL/dimages entries agree with central
finite differences (float64, relative error < 1e-6) for every meta-gradient case.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import types
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the work tree (.gitignore does not cover it)
sys.path.insert(0, str(Path(__file__).resolve().parent))
import hoptm_reference as ref  # noqa: E402

DT = torch.float64
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures"
FD_REL_TOL = 1e-6

# One seed per fixture file, so that editing one file's cases leaves the others byte-identical.
SEED_NETWORK = 1001
SEED_DSA = 2002
SEED_META = 3003
SEED_GSAM = 4004


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------


def gen(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def f32(t: torch.Tensor) -> torch.Tensor:
    """Round to the nearest float32 value, kept as float64 (an input both engines read identically)."""
    return t.to(torch.float32).to(DT)


def f32s(x: float) -> float:
    return float(torch.tensor(x, dtype=torch.float32).item())


def dyadic_normal(shape: tuple[int, ...], g: torch.Generator, bits: int = 8) -> torch.Tensor:
    """N(0,1) samples rounded to multiples of 2^-bits: exact in float32 and short in JSON."""
    return torch.round(torch.randn(shape, generator=g, dtype=DT) * 2**bits) / 2**bits


def arr(t: torch.Tensor) -> dict[str, Any]:
    t = t.detach().cpu()
    if t.dtype.is_floating_point:
        data = [float(v) for v in t.reshape(-1).to(DT).tolist()]
    else:
        data = t.reshape(-1).tolist()
    return {"shape": list(t.shape), "data": data}


def f32_draw(draw: dict[str, Any]) -> dict[str, Any]:
    """Round every float field of a draw to float32 (ints and booleans unchanged)."""
    out: dict[str, Any] = {}
    for k, v in draw.items():
        if isinstance(v, list):
            out[k] = [f32s(x) if isinstance(x, float) else x for x in v]
        else:
            out[k] = v
    return out


def jitter_gn(params: torch.Tensor, cfg: dict[str, Any], g: torch.Generator, scale: float = 0.2) -> torch.Tensor:
    """Move GroupNorm gamma/beta away from 1/0 so that the affine part is exercised."""
    parts = list(params.split([math.prod(s) for _, s in ref.param_shapes(cfg)]))
    for i, (name, shape) in enumerate(ref.param_shapes(cfg)):
        if name.startswith("gn"):
            parts[i] = parts[i] + scale * torch.randn(shape, generator=g, dtype=DT).reshape(-1)
    return torch.cat(parts)


def reference_chunks(n_syn: int, batch_syn: int, n_steps: int, g: torch.Generator) -> list[list[int]]:
    """The reference's minibatch schedule: chunks of randperm(n_syn) split by batch_syn, popped from the end."""
    out: list[list[int]] = []
    chunks: list[torch.Tensor] = []
    for _ in range(n_steps):
        if not chunks:
            chunks = list(torch.split(torch.randperm(n_syn, generator=g), batch_syn))
        out.append(chunks.pop().tolist())
    return out


def dump(cases: list[dict[str, Any]]) -> str:
    """One case per line; floats use Python's shortest round-trip repr (full float64 precision)."""
    body = ",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases)
    return "[\n" + body + "\n]\n"


# ---------------------------------------------------------------------------------------------------------------
# network.json
# ---------------------------------------------------------------------------------------------------------------

NETWORK_CASES = [
    ("depth1-width4-8px", {"channels": 3, "width": 4, "depth": 1, "imageSize": 8, "numClasses": 3}, 3),
    ("depth2-width6-16px", {"channels": 3, "width": 6, "depth": 2, "imageSize": 16, "numClasses": 4}, 4),
    ("depth3-width5-12px-floor", {"channels": 3, "width": 5, "depth": 3, "imageSize": 12, "numClasses": 3}, 3),
]


def make_network() -> list[dict[str, Any]]:
    g = gen(SEED_NETWORK)
    cases = []
    for name, cfg, n in NETWORK_CASES:
        params = f32(jitter_gn(ref.init_params(cfg, g), cfg, g))
        s, c, k = cfg["imageSize"], cfg["channels"], cfg["numClasses"]
        images = dyadic_normal((n, s, s, c), g)
        labels = torch.randint(0, k, (n,), generator=g)
        p = params.clone().requires_grad_(True)
        logits = ref.convnet_forward(p, images, cfg)
        loss = F.cross_entropy(logits, labels)
        (grad,) = torch.autograd.grad(loss, p)
        cases.append(
            {
                "name": name,
                "cfg": cfg,
                "params": arr(params),
                "images": arr(images),
                "labels": arr(labels),
                "logits": arr(logits),
                "loss": loss.item(),
                "grad": arr(grad),
            }
        )
    return cases


# ---------------------------------------------------------------------------------------------------------------
# dsa.json
# ---------------------------------------------------------------------------------------------------------------

# Hand-picked draws that hit the edge cases (ranges: crop shift 2 / cutout size 6, offsets 0..12 at 12 px;
# crop shift 1 / cutout size 5 (odd), offsets 0..8 at 9 px).
DSA_CASES: list[tuple[str, int, int, dict[str, Any]]] = [
    ("color", 3, 12, {"family": "color", "brightness": [0.0371, 0.5, 0.9812],
                      "saturation": [0.0123, 0.5, 0.9734], "contrast": [0.0, 0.5, 0.9991]}),
    ("crop", 3, 12, {"family": "crop", "tx": [-2, 0, 2], "ty": [2, -1, -2]}),
    ("crop-9px", 3, 9, {"family": "crop", "tx": [-1, 1, 0], "ty": [1, 0, -1]}),
    ("cutout", 3, 12, {"family": "cutout", "ox": [0, 12, 5], "oy": [12, 0, 7]}),
    ("cutout-9px-odd-size", 3, 9, {"family": "cutout", "ox": [0, 8, 4], "oy": [8, 3, 0]}),
    ("flip", 3, 12, {"family": "flip", "flip": [True, False, True]}),
    ("scale", 3, 12, {"family": "scale", "sx": [0.84, 1.18, 1.0], "sy": [1.15, 0.86, 0.97]}),
    ("rotate", 3, 12, {"family": "rotate", "angle": [-0.25, 0.1, 0.2617]}),
    ("rotate-9px", 3, 9, {"family": "rotate", "angle": [0.2, -0.13, 0.0]}),
    ("none", 1, 4, {"family": "none"}),
]


def make_dsa() -> list[dict[str, Any]]:
    g = gen(SEED_DSA)
    cases = []
    for name, n, s, draw in DSA_CASES:
        draw = f32_draw(draw)
        images = dyadic_normal((n, s, s, 3), g)
        dy = dyadic_normal((n, s, s, 3), g)
        x = images.clone().requires_grad_(True)
        y = ref.dsa_apply(x, draw)
        (dx,) = torch.autograd.grad(y, x, dy)
        cases.append({"name": name, "images": arr(images), "draw": draw, "dy": arr(dy), "y": arr(y), "dx": arr(dx)})
    return cases


# ---------------------------------------------------------------------------------------------------------------
# meta-gradient.json
# ---------------------------------------------------------------------------------------------------------------


def build_meta_case(
    name: str, cfg: dict[str, Any], ipc: int, batch_syn: int, families: list[str], lr: float, mask_kind: str,
    lamb: float, shape: bool, g: torch.Generator,
) -> dict[str, Any]:
    k, s, c = cfg["numClasses"], cfg["imageSize"], cfg["channels"]
    n_syn = k * ipc
    labels = torch.arange(k).repeat_interleave(ipc)  # class-major, as label_syn in the reference
    images = dyadic_normal((n_syn, s, s, c), g)
    start = f32(ref.init_params(cfg, g))
    lr = f32s(lr)
    chunks = reference_chunks(n_syn, batch_syn, len(families), g)
    steps = [
        {"indices": idx, "draw": f32_draw(ref.sample_draw(fam, len(idx), s, s, g))}
        for idx, fam in zip(chunks, families)
    ]
    # Structured expert points: extrapolate the student's own trajectory and add noise, so that the parameter loss
    # is O(0.1-1) and the teacher/student triangles differ.
    with torch.enable_grad():
        traj = ref.unroll_student(cfg, start, images.permute(0, 3, 1, 2), labels, torch.tensor(lr, dtype=DT), steps)
    n = len(steps)
    d_final = (traj[-1] - start).detach()
    d_mid = (traj[n // 2] - start).detach()
    scale = d_final.abs().mean()
    target = f32(start + 1.8 * d_final + 0.6 * scale * torch.randn(start.shape, generator=g, dtype=DT))
    mid = f32(start + 1.1 * d_mid + 2.0 * scale * torch.randn(start.shape, generator=g, dtype=DT))
    p = start.numel()
    if mask_kind == "ones":
        mask = torch.ones(p, dtype=DT)
    else:
        mask = (torch.rand(p, generator=g, dtype=DT) < 0.5).to(DT)
    return {
        "name": name,
        "cfg": cfg,
        "params": {"start": start, "mid": mid, "target": target},
        "images": images,
        "labels": labels,
        "lr": lr,
        "steps": steps,
        "mask": mask,
        "lamb": lamb,
        "shape": shape,
    }


def run_meta(case: dict[str, Any], images: torch.Tensor | None = None, lr: float | None = None) -> dict[str, Any]:
    return ref.meta_gradient(
        case["cfg"], case["params"]["start"], case["params"]["mid"], case["params"]["target"],
        case["images"] if images is None else images, case["labels"], case["lr"] if lr is None else lr,
        case["steps"], case["mask"], case["lamb"], case["shape"],
    )


def finite_difference_check(case: dict[str, Any], out: dict[str, Any], g: torch.Generator) -> dict[str, Any]:
    """Central differences of L in lr and in a few image entries; returns the relative errors."""

    def loss_at(images: torch.Tensor, lr: float) -> float:
        return run_meta(case, images, lr)["loss"]

    report: dict[str, Any] = {"case": case["name"]}
    lr = case["lr"]
    h = 1e-5 * abs(lr)
    fd_lr = (loss_at(case["images"], lr + h) - loss_at(case["images"], lr - h)) / (2 * h)
    report["gradLr"] = {"autograd": out["gradLr"], "fd": fd_lr, "relErr": abs(fd_lr - out["gradLr"]) / abs(out["gradLr"])}

    gi = out["gradImages"].reshape(-1)
    mag = gi.abs()
    picks = torch.topk(mag, 3).indices.tolist()
    candidates = torch.nonzero(mag > 0.1 * mag.max()).reshape(-1)
    picks += candidates[torch.randperm(candidates.numel(), generator=g)[:5]].tolist()
    h_img = 1e-5
    entries = []
    for flat_idx in picks:
        xp = case["images"].clone().reshape(-1)
        xm = xp.clone()
        xp[flat_idx] += h_img
        xm[flat_idx] -= h_img
        fd = (loss_at(xp.reshape(case["images"].shape), lr) - loss_at(xm.reshape(case["images"].shape), lr)) / (
            2 * h_img
        )
        ad = gi[flat_idx].item()
        entries.append({"index": flat_idx, "autograd": ad, "fd": fd, "relErr": abs(fd - ad) / abs(ad)})
    report["gradImages"] = entries
    worst = max([report["gradLr"]["relErr"]] + [e["relErr"] for e in entries])
    report["worstRelErr"] = worst
    assert worst < FD_REL_TOL, f"finite-difference check failed for {case['name']}: {json.dumps(report, indent=1)}"
    return report


def make_meta(fd_reports: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    g = gen(SEED_META)
    fam_perm = [ref.FAMILIES[i] for i in torch.randperm(6, generator=g).tolist()]
    specs = [
        # name, cfg, ipc, batch_syn, families per step, lr, mask, lamb, shape
        ("full", {"channels": 3, "width": 6, "depth": 2, "imageSize": 12, "numClasses": 3}, 2, 4, fam_perm,
         0.01, "half", 0.5, True),
        ("mask-all-shape-off", {"channels": 3, "width": 4, "depth": 3, "imageSize": 12, "numClasses": 2}, 2, 3,
         ["none", "flip", "rotate", "none", "cutout"], 0.03, "ones", 0.5, False),
        ("ipc1-full-batch-odd-steps", {"channels": 3, "width": 4, "depth": 1, "imageSize": 8, "numClasses": 2}, 1, 10,
         ["scale", "color", "crop"], 0.02, "half", 1.0, True),
    ]
    raw_cases, cases = [], []
    for spec in specs:
        case = build_meta_case(*spec, g=g)
        out = run_meta(case)
        fd_reports.append(finite_difference_check(case, out, g))
        raw_cases.append(case)
        cases.append(
            {
                "name": case["name"],
                "cfg": case["cfg"],
                "params": {k: arr(v) for k, v in case["params"].items()},
                "images": arr(case["images"]),
                "labels": arr(case["labels"]),
                "lr": case["lr"],
                "steps": case["steps"],
                "mask": arr(case["mask"]),
                "lamb": case["lamb"],
                "shape": case["shape"],
                "expected": {
                    "paramLoss": out["paramLoss"],
                    "shapeLoss": out["shapeLoss"],
                    "loss": out["loss"],
                    "gradImages": arr(out["gradImages"]),
                    "gradLr": out["gradLr"],
                    "finalParams": arr(out["finalParams"]),
                    "midParams": arr(out["midParams"]),
                },
            }
        )
    return cases, raw_cases


# ---------------------------------------------------------------------------------------------------------------
# gsam.json
# ---------------------------------------------------------------------------------------------------------------


def make_gsam() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    g = gen(SEED_GSAM)
    cfg = {"channels": 3, "width": 4, "depth": 1, "imageSize": 8, "numClasses": 3}
    cases, raw = [], []
    for name, adaptive in (("adaptive", True), ("non-adaptive", False)):
        options = {"rho": 0.01, "alpha": 0.3, "adaptive": adaptive, "lr": f32s(0.01), "eps": ref.GSAM_EPS}
        params = f32(jitter_gn(ref.init_params(cfg, g), cfg, g))
        steps, raw_steps = [], []
        for _ in range(2):
            n = 5
            real = dyadic_normal((n, 8, 8, 3), g)
            draw = ref.sample_draw(ref.sample_family(g), n, 8, 8, g)
            x_aug = f32(ref.dsa_apply(real, draw))  # the augmented batch is the step's input
            labels = torch.randint(0, cfg["numClasses"], (n,), generator=g)
            out = ref.gsam_step(cfg, params, x_aug, labels, options["lr"], options["rho"], options["alpha"], adaptive)
            steps.append(
                {
                    "params": arr(params),
                    "images": arr(x_aug),
                    "labels": arr(labels),
                    "expected": {
                        "loss": out["loss"],
                        "perturbedLoss": out["perturbedLoss"],
                        "grad": arr(out["grad"]),
                        "update": arr(out["update"]),
                        "params": arr(out["params"]),
                    },
                }
            )
            raw_steps.append({"params": params, "images": x_aug, "labels": labels, "out": out})
            params = out["params"]  # the next step starts where this one ended (float64)
        cases.append({"name": name, "cfg": cfg, "options": options, "steps": steps})
        raw.append({"cfg": cfg, "options": options, "steps": raw_steps})
    return cases, raw


# ---------------------------------------------------------------------------------------------------------------
# optional: replay through the reference repository's own code
# ---------------------------------------------------------------------------------------------------------------


class _FedTorch:
    """Stands in for the ``torch`` module inside the reference's DSA code: ``rand``/``randint`` return queued values
    (checking shape and range); ``float`` can be redirected to float64 so the reference builds float64 thetas."""

    def __init__(self, float_dtype: torch.dtype):
        self.queue: list[tuple[str, torch.Tensor]] = []
        self.float = float_dtype

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)

    def rand(self, *size: Any, dtype: torch.dtype | None = None, device: Any = None, **_: Any) -> torch.Tensor:
        kind, v = self.queue.pop(0)
        assert kind == "rand", f"reference asked for rand, queued {kind}"
        assert tuple(v.shape) == tuple(size), f"rand shape {size} vs queued {tuple(v.shape)}"
        return v.to(dtype or v.dtype)

    def randint(self, low: int, high: int, size: Any = None, device: Any = None, **_: Any) -> torch.Tensor:
        kind, v = self.queue.pop(0)
        assert kind == "randint", f"reference asked for randint, queued {kind}"
        assert tuple(v.shape) == tuple(size), f"randint shape {size} vs queued {tuple(v.shape)}"
        assert int(v.min()) >= low and int(v.max()) < high, f"queued {v.tolist()} outside [{low}, {high})"
        return v


def _raw_rng(draw: dict[str, Any], n: int, dtype: torch.dtype, with_family: bool) -> list[tuple[str, torch.Tensor]]:
    """The sequence of torch.rand/randint results that makes the reference DSA produce ``draw``."""
    fam = draw["family"]
    q: list[tuple[str, torch.Tensor]] = []
    if with_family and fam != "none":
        q.append(("randint", torch.tensor([ref.FAMILIES.index(fam)])))
    col = lambda vals: torch.tensor(vals, dtype=dtype).view(n, 1, 1, 1)  # noqa: E731
    ints = lambda vals: torch.tensor(vals, dtype=torch.long).view(n, 1, 1)  # noqa: E731
    if fam == "color":
        q += [("rand", col(draw["brightness"])), ("rand", col(draw["saturation"])), ("rand", col(draw["contrast"]))]
    elif fam == "crop":
        q += [("randint", ints(draw["tx"])), ("randint", ints(draw["ty"]))]
    elif fam == "cutout":
        q += [("randint", ints(draw["ox"])), ("randint", ints(draw["oy"]))]
    elif fam == "flip":
        q.append(("rand", col([0.25 if f else 0.75 for f in draw["flip"]])))
    elif fam == "scale":
        lo, hi = 1.0 / ref.RATIO_SCALE, ref.RATIO_SCALE
        q += [("rand", (torch.tensor(draw[k], dtype=dtype) - lo) / (hi - lo)) for k in ("sx", "sy")]
    elif fam == "rotate":
        q.append(("rand", torch.tensor(draw["angle"], dtype=dtype) / (2 * ref.RATIO_ROTATE_DEG / 180 * math.pi) + 0.5))
    return q


def _load_reference(repo: str) -> types.SimpleNamespace:
    def show(path: str) -> str:
        src = subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], check=True, capture_output=True).stdout
        return src.decode().replace("\r\n", "\n")

    import numpy as np
    import torch.nn as nn

    util = show("utils/utils_baseline.py")
    dsa_src = util[util.index("class ParamDiffAug"):]
    dsa_src = dsa_src[: dsa_src.index("}", dsa_src.index("AUGMENT_FNS = {")) + 1]

    def dsa_namespace(float_dtype: torch.dtype) -> dict[str, Any]:
        fed = _FedTorch(float_dtype)
        ns: dict[str, Any] = {"torch": fed, "F": F, "np": np}
        exec(compile(dsa_src, "utils_baseline.py[DSA]", "exec"), ns)
        ns["_fed"] = fed
        return ns

    nets: dict[str, Any] = {}
    exec(compile(show("networks.py"), "networks.py", "exec"), nets)
    rep: dict[str, Any] = {}
    exec(compile(show("reparam_module.py"), "reparam_module.py", "exec"), rep)
    gsam_src = show("buffer/gsam/gsam.py").replace("from .util import enable_running_stats, disable_running_stats", "")
    gs: dict[str, Any] = {"enable_running_stats": lambda m: None, "disable_running_stats": lambda m: None}
    exec(compile(gsam_src, "gsam.py", "exec"), gs)
    sched: dict[str, Any] = {}
    exec(compile(show("buffer/gsam/scheduler.py"), "scheduler.py", "exec"), sched)
    return types.SimpleNamespace(
        dsa_namespace=dsa_namespace, ConvNet=nets["ConvNet"], ReparamModule=rep["ReparamModule"],
        GSAM=gs["GSAM"], ProportionScheduler=sched["ProportionScheduler"], nn=nn,
    )


def _ref_net(R: types.SimpleNamespace, cfg: dict[str, Any], flat: torch.Tensor) -> torch.nn.Module:
    net = R.ConvNet(channel=cfg["channels"], num_classes=cfg["numClasses"], net_width=cfg["width"],
                    net_depth=cfg["depth"], net_act="relu", net_norm="instancenorm", net_pooling="avgpooling",
                    im_size=(cfg["imageSize"], cfg["imageSize"])).to(DT)
    shapes = [tuple(p.shape) for p in net.parameters()]
    assert shapes == [s for _, s in ref.param_shapes(cfg)], f"layout mismatch: {shapes}"
    torch.nn.utils.vector_to_parameters(flat.clone(), net.parameters())
    return net


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = torch.as_tensor(a, dtype=DT), torch.as_tensor(b, dtype=DT)
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-300)).item()


def verify_against_reference(repo: str, net_cases: list[dict[str, Any]], dsa_cases: list[dict[str, Any]],
                             meta_raw: list[dict[str, Any]], gsam_raw: list[dict[str, Any]]) -> dict[str, Any]:
    warnings.filterwarnings("ignore", message="torch.meshgrid")  # raised by the reference's crop/cutout code
    R = _load_reference(repo)
    res: dict[str, Any] = {}

    def t(a: dict[str, Any], dtype: torch.dtype = DT) -> torch.Tensor:
        v = torch.tensor(a["data"], dtype=dtype if isinstance(a["data"][0], float) else torch.long)
        return v.reshape(a["shape"])

    # networks: the reference's ConvNet module, and ReparamModule with the flat vector
    worst = 0.0
    for c in net_cases:
        flat = t(c["params"])
        x = t(c["images"]).permute(0, 3, 1, 2).contiguous()
        net = _ref_net(R, c["cfg"], flat)
        logits = net(x)
        loss = F.cross_entropy(logits, t(c["labels"]))
        grad = torch.cat([gr.reshape(-1) for gr in torch.autograd.grad(loss, list(net.parameters()))])
        rm = R.ReparamModule(_ref_net(R, c["cfg"], flat))
        logits2 = rm(x, flat_param=flat)
        worst = max(worst, _rel(logits, t(c["logits"])), _rel(logits2, t(c["logits"])), _rel(grad, t(c["grad"])))
    res["network_max_rel_diff"] = worst

    # DSA: the reference's rand_* functions fed the same random numbers, in float64 (theta dtype redirected) and in
    # the reference's native float32
    for dtype, key in ((DT, "dsa_float64_max_abs_diff"), (torch.float32, "dsa_float32_max_abs_diff")):
        worst = 0.0
        for c in dsa_cases:
            draw = c["draw"]
            if draw["family"] == "none":
                continue
            ns = R.dsa_namespace(torch.float64 if dtype == DT else torch.float32)
            x = t(c["images"], dtype).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
            n = x.shape[0]
            ns["_fed"].queue = _raw_rng(draw, n, dtype, with_family=False)
            param = ns["ParamDiffAug"]()
            param.batchmode, param.latestseed = False, -1
            y = x
            for fn in ns["AUGMENT_FNS"][draw["family"]]:
                y = fn(y, param)
            assert not ns["_fed"].queue, "unused random numbers"
            dy = t(c["dy"], dtype).permute(0, 3, 1, 2)
            (dx,) = torch.autograd.grad(y, x, dy)
            mine_x = t(c["images"], dtype).requires_grad_(True)
            mine_y = ref.dsa_apply(mine_x, draw)
            (mine_dx,) = torch.autograd.grad(mine_y, mine_x, t(c["dy"], dtype))
            y_nhwc, dx_nhwc = y.permute(0, 2, 3, 1), dx.permute(0, 2, 3, 1)
            worst = max(worst, (y_nhwc - mine_y).abs().max().item(), (dx_nhwc - mine_dx).abs().max().item())
            if dtype == DT:
                worst = max(worst, (y_nhwc - t(c["y"])).abs().max().item(), (dx_nhwc - t(c["dx"])).abs().max().item())
        res[key] = worst

    # meta-gradient: the reference's distillation loop (distill_high_order_spl.py, steps 5-8) with ConvNet +
    # ReparamModule + DiffAugment (random numbers fed), in float64
    worst = 0.0
    for c in meta_raw:
        cfg = c["cfg"]
        ns = R.dsa_namespace(torch.float64)
        param = ns["ParamDiffAug"]()
        student_net = R.ReparamModule(_ref_net(R, cfg, c["params"]["start"]))
        student_net.train()
        num_params = sum([math.prod(p.size()) for p in student_net.parameters()])
        image_syn = c["images"].permute(0, 3, 1, 2).contiguous().requires_grad_(True)
        syn_lr = torch.tensor(c["lr"], dtype=DT).requires_grad_(True)
        y_hat = c["labels"]
        criterion = torch.nn.CrossEntropyLoss()
        starting_params = c["params"]["start"]
        target_params, mid_params_teacher = c["params"]["target"], c["params"]["mid"]
        student_params = [starting_params.clone().requires_grad_(True)]
        teacher = torch.stack([starting_params, mid_params_teacher, target_params], dim=0)
        for step in c["steps"]:
            these_indices = torch.tensor(step["indices"])
            x = image_syn[these_indices]
            this_y = y_hat[these_indices]
            ns["_fed"].queue = _raw_rng(step["draw"], len(step["indices"]), DT, with_family=True)
            if step["draw"]["family"] == "none":  # augmentation off (the reference's no_aug / strategy 'none')
                x = ns["DiffAugment"](x, "none", param=param)
            else:
                x = ns["DiffAugment"](x, "color_crop_cutout_flip_scale_rotate", param=param)
            assert not ns["_fed"].queue
            x = student_net(x, flat_param=student_params[-1])
            ce_loss = criterion(x, this_y)
            grad = torch.autograd.grad(ce_loss, student_params[-1], create_graph=True)[0]
            student_params.append(student_params[-1] - syn_lr * grad)
        syn_steps = len(c["steps"])
        student = torch.stack([starting_params, student_params[syn_steps // 2], student_params[-1]], dim=0)
        param_loss = torch.tensor(0.0, dtype=DT)
        param_dist = torch.tensor(0.0, dtype=DT)
        param_losses = F.mse_loss(student_params[-1], target_params, reduction="none")
        param_dists = F.mse_loss(starting_params, target_params, reduction="none")
        v = c["mask"]
        param_loss += (v * param_losses).sum()
        param_dist += (v * param_dists).sum()
        param_loss /= num_params
        param_dist /= num_params
        param_loss /= param_dist
        grand_loss = param_loss
        if c["shape"]:
            td = teacher.unsqueeze(0) - teacher.unsqueeze(1)
            t_angle = torch.bmm(F.normalize(td, p=2, dim=2), F.normalize(td, p=2, dim=2).transpose(1, 2)).view(-1)
            sd = student.unsqueeze(0) - student.unsqueeze(1)
            s_angle = torch.bmm(F.normalize(sd, p=2, dim=2), F.normalize(sd, p=2, dim=2).transpose(1, 2)).view(-1)
            angle_loss = F.smooth_l1_loss(s_angle, t_angle, reduction="mean") * c["lamb"]
            grand_loss += angle_loss
        g_img, g_lr = torch.autograd.grad(grand_loss, [image_syn, syn_lr])
        mine = run_meta(c)
        worst = max(worst, abs(grand_loss.item() - mine["loss"]) / abs(mine["loss"]),
                    _rel(g_img.permute(0, 2, 3, 1), mine["gradImages"]),
                    abs(g_lr.item() - mine["gradLr"]) / abs(mine["gradLr"]),
                    _rel(student_params[-1].detach(), mine["finalParams"]))
    res["meta_gradient_max_rel_diff"] = worst

    # GSAM: the reference optimizer class around the reference ConvNet, SGD base, constant rho
    worst = 0.0
    for c in gsam_raw:
        o = c["options"]
        for st in c["steps"]:
            net = _ref_net(R, c["cfg"], st["params"])
            base = torch.optim.SGD(net.parameters(), lr=o["lr"], momentum=0, weight_decay=0)
            sch = torch.optim.lr_scheduler.StepLR(base, step_size=10**6, gamma=1)
            rho = R.ProportionScheduler(pytorch_lr_scheduler=sch, max_lr=o["lr"], min_lr=o["lr"],
                                        max_value=o["rho"], min_value=o["rho"])
            opt = R.GSAM(params=net.parameters(), base_optimizer=base, model=net, gsam_alpha=o["alpha"],
                         rho_scheduler=rho, adaptive=o["adaptive"])
            opt.set_closure(lambda out, y: F.cross_entropy(out, y), st["images"].permute(0, 3, 1, 2).contiguous(),
                            st["labels"])
            _, loss_value = opt.step()
            new = torch.nn.utils.parameters_to_vector(net.parameters()).detach()
            upd = new - st["params"]
            worst = max(worst, _rel(upd, st["out"]["update"]), abs(loss_value.item() - st["out"]["loss"]))
    res["gsam_update_max_rel_diff"] = worst
    return res


# ---------------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default tests/fixtures)")
    ap.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    ap.add_argument("--verify-reference", metavar="GIT_DIR", help="HoP-TM git repository to replay the cases through")
    args = ap.parse_args()

    torch.set_num_threads(1)  # fixed reduction order -> byte-identical output
    torch.use_deterministic_algorithms(True)

    fd_reports: list[dict[str, Any]] = []
    network = make_network()
    dsa = make_dsa()
    meta, meta_raw = make_meta(fd_reports)
    gsam, gsam_raw = make_gsam()
    files = {"network.json": network, "dsa.json": dsa, "meta-gradient.json": meta, "gsam.json": gsam}

    summary: dict[str, Any] = {"finiteDifferences": fd_reports}
    if args.verify_reference:
        summary["referenceReplay"] = verify_against_reference(args.verify_reference, network, dsa, meta_raw, gsam_raw)
        r = summary["referenceReplay"]
        assert r["network_max_rel_diff"] < 1e-12 and r["dsa_float64_max_abs_diff"] < 1e-12, r
        assert r["dsa_float32_max_abs_diff"] < 1e-5, r
        assert r["meta_gradient_max_rel_diff"] < 1e-10 and r["gsam_update_max_rel_diff"] < 1e-10, r

    status = 0
    sizes = {}
    for fname, cases in files.items():
        text = dump(cases)
        path = args.out / fname
        sizes[fname] = len(text.encode())
        if args.check:
            same = path.exists() and path.read_text() == text
            if not same:
                print(f"DIFFERS: {path}", file=sys.stderr)
                status = 1
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    summary["bytes"] = sizes
    summary["mode"] = "check" if args.check else f"wrote {args.out}"
    print(json.dumps(summary, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
