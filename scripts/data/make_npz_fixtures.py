"""Writes two tiny MedMNIST-layout files with numpy itself, so the TypeScript zip/npy reader is tested on
numpy's real output (zip64 extra fields from `force_zip64=True`, header padding, dtype strings):

    tests/fixtures/pathmnist_numpy_compressed.npz   np.savez_compressed (deflate), like the published files
    tests/fixtures/pathmnist_numpy_stored.npz       np.savez (stored)
    tests/fixtures/pathmnist_numpy.json             what the arrays hold, for the test to compare

Run from the repository root with the project's reference venv:
    .tools/pyenv/bin/python scripts/data/make_npz_fixtures.py
"""
import json
import pathlib

import numpy as np

DIR = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures"
COUNTS = {"train": 6, "val": 2, "test": 3}


def main() -> None:
    rng = np.random.default_rng(20251130)
    yy, xx = np.mgrid[0:28, 0:28]
    arrays, summary = {}, {"numpy": np.__version__, "splits": {}}
    for split, n in COUNTS.items():
        # Smooth, image-like content (compresses well) that differs per image and channel.
        base = rng.integers(0, 256, size=(n, 1, 1, 3))
        images = ((base + xx[None, :, :, None] * 3 + yy[None, :, :, None] * 5) % 256).astype(np.uint8)
        labels = rng.integers(0, 9, size=(n, 1)).astype(np.uint8)
        arrays[f"{split}_images"] = images
        arrays[f"{split}_labels"] = labels
        summary["splits"][split] = {
            "labels": [int(v) for v in labels.reshape(-1)],
            "pixelSums": [int(images[i].astype(np.int64).sum()) for i in range(n)],
            "firstPixels": [int(v) for v in images[0, 0, :4].reshape(-1)],
        }
    DIR.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DIR / "pathmnist_numpy_compressed.npz", **arrays)
    np.savez(DIR / "pathmnist_numpy_stored.npz", **arrays)
    (DIR / "pathmnist_numpy.json").write_text(json.dumps(summary, indent=1) + "\n")
    for f in sorted(DIR.glob("pathmnist_numpy*")):
        print(f, f.stat().st_size)


if __name__ == "__main__":
    main()
