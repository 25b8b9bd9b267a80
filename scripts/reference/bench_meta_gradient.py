#!/usr/bin/env python3
"""Time the PyTorch reference meta-gradient (one HoP-TM distillation iteration, without the optimizer step).

The work is what ``distill/distill_high_order_spl.py`` does per iteration, done the reference's own way: float32,
eager mode, images in NCHW, minibatches from ``randperm`` chunks popped from the end, one randomly drawn DSA family
per inner step with per-sample draws, ``autograd.grad(..., create_graph=True)`` through N unrolled SGD steps of a
ConvNet evaluated functionally on a flat parameter vector (what ReparamModule does), then the masked parameter loss
plus the shape term and one backward pass to the images and the learnable lr.

    .tools/pyenv/bin/python scripts/reference/bench_meta_gradient.py --width 128 --depth 3 --image-size 32 \
        --channels 3 --classes 9 --batch 10 --n-syn 90 --steps 10 --device cpu --repeats 3

Prints ONE JSON object on stdout. "msPerInnerStep" is a measured iteration (N forward+inner-gradient steps and the
outer backward) divided by N; "msPerIteration.extrapolated" scales that linearly to --extrapolate-steps (the
PathMNIST configs use syn_steps = 80).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the work tree (.gitignore does not cover it)
sys.path.insert(0, str(Path(__file__).resolve().parent))
import hoptm_reference as ref  # noqa: E402


def vm_hwm_bytes() -> int | None:
    """Peak resident set size of this process so far (Linux /proc), in bytes."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--classes", type=int, default=9)
    ap.add_argument("--batch", type=int, default=10, help="batch_syn")
    ap.add_argument("--n-syn", type=int, default=90, help="number of synthetic images (classes * ipc)")
    ap.add_argument("--steps", type=int, default=10, help="syn_steps N of a measured iteration")
    ap.add_argument("--extrapolate-steps", type=int, default=80, help="N to extrapolate the iteration time to")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="untimed iterations first")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    ap.add_argument("--no-shape", action="store_true", help="drop the shape term (high_order False)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "CUDA requested but torch.cuda.is_available() is False"}))
        return 2
    dev = torch.device(args.device)
    dtype = torch.float32
    torch.manual_seed(args.seed)
    g = torch.Generator()
    g.manual_seed(args.seed)

    cfg = {"channels": args.channels, "width": args.width, "depth": args.depth, "imageSize": args.image_size,
           "numClasses": args.classes}
    n_params = ref.num_params(cfg)
    h = w = args.image_size

    # Expert points (random stand-ins of the right scale), synthetic set, labels class-major, mask.
    start = ref.init_params(cfg, g, dtype=torch.float32).to(dev)
    target = start + 0.01 * torch.randn(n_params, generator=g).to(dev)
    mid = start + 0.005 * torch.randn(n_params, generator=g).to(dev)
    images = torch.randn(args.n_syn, args.channels, h, w, generator=g).to(dev).requires_grad_(True)
    labels = (torch.arange(args.n_syn) * args.classes // args.n_syn).to(dev)
    syn_lr = torch.tensor(0.01, dtype=dtype, device=dev).requires_grad_(True)
    mask = (torch.rand(n_params, generator=g) < 0.5).to(dtype).to(dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    families: dict[str, int] = {}

    def iteration() -> tuple[float, float]:
        t0 = time.perf_counter()
        student = [start.clone().requires_grad_(True)]
        chunks: list[torch.Tensor] = []
        for _ in range(args.steps):
            if not chunks:
                chunks = list(torch.split(torch.randperm(args.n_syn, generator=g), args.batch))
            idx = chunks.pop().to(dev)
            fam = ref.sample_family(g)
            families[fam] = families.get(fam, 0) + 1
            x = ref.dsa_apply_nchw(images[idx], ref.sample_draw(fam, idx.numel(), h, w, g))
            ce = F.cross_entropy(ref.convnet_forward_nchw(student[-1], x, cfg), labels[idx])
            (grad,) = torch.autograd.grad(ce, student[-1], create_graph=True)
            student.append(student[-1] - syn_lr * grad)
        loss = ref.param_loss(student[-1], start, target, mask)
        if not args.no_shape:
            loss = loss + ref.shape_loss(start, student[args.steps // 2], student[-1], mid, target, 0.5)
        sync()
        t1 = time.perf_counter()
        images.grad = None
        syn_lr.grad = None
        loss.backward()
        sync()
        t2 = time.perf_counter()
        del student, loss
        return (t1 - t0) * 1e3, (t2 - t1) * 1e3

    sync()
    hwm_before = vm_hwm_bytes()
    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(args.warmup):
        iteration()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
        base_alloc = torch.cuda.memory_allocated(dev)
    fwd, bwd = [], []
    for _ in range(args.repeats):
        f, b = iteration()
        fwd.append(f)
        bwd.append(b)
    totals = [f + b for f, b in zip(fwd, bwd)]
    measured = statistics.median(totals)
    per_step = measured / args.steps

    memory: dict[str, Any]
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev)
        memory = {"kind": "cuda max_memory_allocated (timed iterations)", "peakBytes": peak,
                  "baselineBytes": base_alloc, "peakMinusBaselineBytes": peak - base_alloc}
        device_name = torch.cuda.get_device_name(dev)
    else:
        hwm_after = vm_hwm_bytes()
        rss_after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        memory = {"kind": "RSS high-water-mark delta over warm-up + timed iterations (VmHWM)",
                  "peakBytes": hwm_after,
                  "deltaBytes": (hwm_after - hwm_before) if hwm_after is not None and hwm_before is not None else None,
                  "ruMaxrssDeltaBytes": (rss_after_kb - rss_before_kb) * 1024}
        device_name = cpu_name()

    out = {
        "benchmark": "hoptm-reference-meta-gradient",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": args.device,
        "deviceName": device_name,
        "threads": torch.get_num_threads(),
        "cpuCount": os.cpu_count(),
        "dtype": "float32",
        "cfg": cfg,
        "numParams": n_params,
        "batch": args.batch,
        "nSyn": args.n_syn,
        "steps": args.steps,
        "shapeTerm": not args.no_shape,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "msPerInnerStep": per_step,
        "msPerIteration": {
            "measured": {"steps": args.steps, "ms": measured},
            "extrapolated": {"steps": args.extrapolate_steps, "ms": per_step * args.extrapolate_steps},
        },
        "unrollMsPerStep": statistics.median(fwd) / args.steps,
        "backwardMs": statistics.median(bwd),
        "backwardMsPerStep": statistics.median(bwd) / args.steps,
        "iterationsMs": totals,
        "memory": memory,
        "familiesDrawn": families,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
