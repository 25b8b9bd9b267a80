"""Generates tests/fixtures/pil-decode.json: small PNG and JPEG files with what PIL's
`Image.open(f).convert('RGB')` (torchvision ImageFolder's loader) returns for them, to check
shared/data/decode-image.ts against PIL itself.

Run from the repository root with the project's reference venv (Pillow, numpy):
    .tools/pyenv/bin/python scripts/data/make_decode_fixtures.py

PNGs are written by a raw encoder below, so that every colour type / bit depth / tRNS combination exists
regardless of what PIL's writer can produce. JPEGs are written by PIL (libjpeg-turbo).
Each case: {"name", "file": base64 bytes, "rgb": {"shape": [h, w, 3], "data": [...]}} (data flat, row-major).
"""
import base64
import io
import json
import pathlib
import struct
import zlib

import numpy as np
import PIL
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pil-decode.json"
RNG = np.random.default_rng(20251130)
H, W = 5, 7


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(samples: np.ndarray, color_type: int, depth: int, plte: bytes | None = None, trns: bytes | None = None) -> bytes:
    """samples: (H, W, channels) integers < 2**depth; rows are packed MSB-first for depth < 8."""
    h, w, ch = samples.shape
    rows = []
    for y in range(h):
        flat = samples[y].reshape(-1)
        if depth == 16:
            raw = b"".join(struct.pack(">H", int(v)) for v in flat)
        elif depth == 8:
            raw = bytes(int(v) for v in flat)
        else:
            bits = "".join(format(int(v), f"0{depth}b") for v in flat)
            bits += "0" * (-len(bits) % 8)
            raw = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
        rows.append(b"\x00" + raw)  # filter type 0
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0))
    if plte is not None:
        out += chunk(b"PLTE", plte)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")


def rand(ch: int, depth: int) -> np.ndarray:
    return RNG.integers(0, 2**depth, size=(H, W, ch))


def png_cases() -> list:
    cases = []
    for depth in (1, 2, 4, 8):
        cases.append((f"png gray {depth}-bit", png(rand(1, depth), 0, depth)))
    g = rand(1, 8)
    g[0, 0, 0] = 77
    cases.append(("png gray 8-bit with tRNS", png(g, 0, 8, trns=struct.pack(">H", 77))))
    # PIL opens this as I;16 and clips at 255 in convert('RGB'); the loader rejects it (the test checks that).
    cases.append(("png gray 16-bit", png(rand(1, 16), 0, 16)))
    cases.append(("png gray+alpha 8-bit", png(rand(2, 8), 4, 8)))
    cases.append(("png gray+alpha 16-bit", png(rand(2, 16), 4, 16)))
    rgb = rand(3, 8)
    rgb[1, 2] = (10, 20, 30)
    cases.append(("png rgb 8-bit", png(rand(3, 8), 2, 8)))
    cases.append(("png rgb 8-bit with tRNS", png(rgb, 2, 8, trns=struct.pack(">HHH", 10, 20, 30))))
    cases.append(("png rgb 16-bit", png(rand(3, 16), 2, 16)))
    cases.append(("png rgba 8-bit", png(rand(4, 8), 6, 8)))
    cases.append(("png rgba 16-bit", png(rand(4, 16), 6, 16)))
    palette = bytes(int(v) for v in RNG.integers(0, 256, size=16 * 3))
    for depth in (2, 4, 8):
        idx = RNG.integers(0, min(16, 2**depth), size=(H, W, 1))
        cases.append((f"png palette {depth}-bit", png(idx, 3, depth, plte=palette)))
    idx = RNG.integers(0, 16, size=(H, W, 1))
    cases.append(("png palette with alpha", png(idx, 3, 8, plte=palette, trns=bytes(range(0, 256, 16)))))
    return cases


def jpeg_cases() -> list:
    # A smooth image (like an X-ray) and a noisy one; 4:2:0 chroma subsampling is PIL's default.
    yy, xx = np.mgrid[0:24, 0:32]
    smooth = np.stack([(xx * 8) % 256, (yy * 10) % 256, ((xx + yy) * 4) % 256], axis=-1).astype(np.uint8)
    noisy = RNG.integers(0, 256, size=(16, 16, 3)).astype(np.uint8)
    cases = []
    for name, arr, mode, sub in [("jpeg rgb smooth 4:2:0", smooth, "RGB", 2), ("jpeg rgb noisy 4:2:0", noisy, "RGB", 2),
                                 ("jpeg rgb smooth 4:4:4", smooth, "RGB", 0), ("jpeg rgb noisy 4:4:4", noisy, "RGB", 0),
                                 ("jpeg gray smooth", smooth[..., 0], "L", 0)]:
        buf = io.BytesIO()
        Image.fromarray(arr, mode=mode).save(buf, format="JPEG", quality=90, subsampling=sub)
        cases.append((name, buf.getvalue()))
    return cases


def main() -> None:
    cases = []
    for name, data in png_cases() + jpeg_cases():
        img = Image.open(io.BytesIO(data))
        mode = img.mode
        rgb = np.asarray(img.convert("RGB"))
        cases.append({"name": name, "pilMode": mode, "file": base64.b64encode(data).decode("ascii"),
                      "rgb": {"shape": list(rgb.shape), "data": [int(v) for v in rgb.reshape(-1)]}})
    doc = {"generator": "scripts/data/make_decode_fixtures.py", "pillow": PIL.__version__, "cases": cases}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): " + ", ".join(f"{c['name']} [{c['pilMode']}]" for c in cases))


if __name__ == "__main__":
    main()
