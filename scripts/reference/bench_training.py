#!/usr/bin/env python3
"""Time the PyTorch side of the two training benchmarks (bench/expert-epoch.ts, bench/eval-epoch.ts).

Both do the reference's computation the reference's way (float32, eager, NCHW, method.md B/D/F), on random data of the
benchmark's shape, with the library functions of hoptm_reference.py:

- ``--mode expert``: expert epochs (buffer_FTD.py with GSAM): per epoch a ``randperm`` shuffle into batches of
  ``--batch``, per batch one DSA family with per-sample draws applied once, then one GSAM step around plain SGD
  (``gsam_step``: two forward/backward passes). ``--batches`` full batches make one (reduced) epoch.
- ``--mode eval``: evaluation epochs (``evaluate_synset``): a fresh ConvNet trained on ``--n-images`` images with
  ``torch.optim.SGD`` (momentum 0.9, weight decay 5e-4), DSA on every minibatch of ``--batch``, mean cross-entropy.

    .tools/pyenv/bin/python scripts/reference/bench_training.py --mode expert --batches 3 --repeats 2
    .tools/pyenv/bin/python scripts/reference/bench_training.py --mode eval --n-images 90 --batch 128 --repeats 10

Each repetition is one epoch; the first is a warm-up, reported on its own. Prints ONE JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import hoptm_reference as ref  # noqa: E402
from bench_meta_gradient import cpu_name  # noqa: E402


def summary(times: list[float]) -> dict[str, object]:
    rest = times[1:] if len(times) > 1 else times
    return {"first": times[0], "mean": statistics.fmean(rest), "min": min(rest), "max": max(rest), "all": times}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["expert", "eval"], required=True)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--classes", type=int, default=9)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--batches", type=int, default=3, help="expert: full batches per (reduced) epoch")
    ap.add_argument("--n-images", type=int, default=90, help="eval: training images")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9, help="eval only")
    ap.add_argument("--weight-decay", type=float, default=5e-4, help="eval only")
    ap.add_argument("--rho", type=float, default=0.01)
    ap.add_argument("--alpha", type=float, default=0.3)
    ap.add_argument("--repeats", type=int, default=2, help="timed epochs after the warm-up epoch")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "CUDA requested but torch.cuda.is_available() is False"}))
        return 2
    dev = torch.device(args.device)
    g = torch.Generator()
    g.manual_seed(args.seed)
    cfg = {"channels": args.channels, "width": args.width, "depth": args.depth, "imageSize": args.image_size,
           "numClasses": args.classes}
    h = w = args.image_size
    n = args.batches * args.batch if args.mode == "expert" else args.n_images
    images = torch.randn(n, args.channels, h, w, generator=g).to(dev)
    labels = (torch.arange(n) % args.classes).to(dev)
    params = ref.init_params(cfg, g, dtype=torch.float32).to(dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def augmented(idx: torch.Tensor) -> torch.Tensor:
        draw = ref.sample_draw(ref.sample_family(g), idx.numel(), h, w, g)
        return ref.dsa_apply_nchw(images[idx], draw)

    epoch_ms: list[float] = []
    batches_per_epoch = 0
    if args.mode == "expert":
        theta = params
        for _ in range(args.repeats + 1):
            sync()
            t0 = time.perf_counter()
            chunks = torch.split(torch.randperm(n, generator=g).to(dev), args.batch)
            batches_per_epoch = len(chunks)
            for idx in chunks:
                with torch.no_grad():
                    x = augmented(idx)
                # gsam_step takes NHWC and permutes back: a view, no copy.
                step = ref.gsam_step(cfg, theta, x.permute(0, 2, 3, 1), labels[idx], args.lr, args.rho, args.alpha,
                                     adaptive=True)
                theta = step["params"]
            sync()
            epoch_ms.append((time.perf_counter() - t0) * 1e3)
    else:
        theta = params.clone().requires_grad_(True)
        opt = torch.optim.SGD([theta], lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
        for _ in range(args.repeats + 1):
            sync()
            t0 = time.perf_counter()
            chunks = torch.split(torch.randperm(n, generator=g).to(dev), args.batch)
            batches_per_epoch = len(chunks)
            loss_sum = torch.zeros((), device=dev)
            for idx in chunks:
                x = augmented(idx)
                loss = F.cross_entropy(ref.convnet_forward_nchw(theta, x, cfg), labels[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss_sum += loss.detach() * idx.numel()
            loss_sum.item()  # the reference reads the epoch's loss
            sync()
            epoch_ms.append((time.perf_counter() - t0) * 1e3)

    s = summary(epoch_ms)
    out = {
        "benchmark": f"hoptm-reference-{args.mode}-epoch",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": args.device,
        "deviceName": torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_name(),
        "threads": torch.get_num_threads(),
        "cpuCount": os.cpu_count(),
        "dtype": "float32",
        "cfg": cfg,
        "numParams": ref.num_params(cfg),
        "images": n,
        "batch": args.batch,
        "batchesPerEpoch": batches_per_epoch,
        "repeats": args.repeats,
        "msPerEpoch": s,
        "msPerBatch": float(s["mean"]) / batches_per_epoch,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
