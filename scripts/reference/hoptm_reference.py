"""Float64 PyTorch reference of the HoP-TM semantics (shared/docs/method.md sections A.4-A.6, B, C, D).

Everything here is a pure function of an explicit flat parameter vector and explicit random draws, so the values it
produces can be replayed by the TypeScript engine from a JSON fixture:

- ConvNet family (method.md C): ``param_shapes``, ``init_params``, ``convnet_forward``.
- DSA / DiffAugment (method.md D) with the draws given explicitly in the format of docs/engine-conventions.md:
  ``sample_draw`` (the reference's distributions) and ``dsa_apply``.
- The HoP-TM unrolled student and loss with the per-step minibatches and draws given: ``meta_gradient``.
- The GSAM expert step (method.md B): ``gsam_step``.

Public functions take images in NHWC (the engine's layout) and permute internally; the ``*_nchw`` helpers work in the
reference's own NCHW layout (used by the benchmark so that it runs the same kernels as the reference).

The functions follow the dtype of their inputs: the fixtures use float64, the benchmark float32.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F

#: The DSA strategy 'color_crop_cutout_flip_scale_rotate', in the reference's order (the family index drawn by
#: ``torch.randint(0, 6)`` in ``DiffAugment`` refers to this order).
FAMILIES = ("color", "crop", "cutout", "flip", "scale", "rotate")

# ParamDiffAug() constants of the reference.
RATIO_SCALE = 1.2
RATIO_ROTATE_DEG = 15.0
RATIO_CROP_PAD = 0.125
RATIO_CUTOUT = 0.5
PROB_FLIP = 0.5
BRIGHTNESS = 1.0
SATURATION = 2.0
CONTRAST = 0.5

GN_EPS = 1e-5
NORMALIZE_EPS = 1e-12
GSAM_EPS = 1e-12


# ---------------------------------------------------------------------------------------------------------------
# ConvNet (method.md C)
# ---------------------------------------------------------------------------------------------------------------


def _cfg(cfg: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """(channels, width, depth, imageSize, numClasses) from a fixture-style cfg dict."""
    c, w, d, s, k = (int(cfg[key]) for key in ("channels", "width", "depth", "imageSize", "numClasses"))
    if c == 1:
        # The reference pads the first conv by 3 when channel == 1 (an MNIST 28->32 trick). Not part of this port.
        raise ValueError("channels == 1 uses padding 3 in the reference's first conv; not supported here")
    if s == 28:
        # The reference sizes its classifier as if im_size were 32 when it is 28 (and then fails for channel != 1).
        raise ValueError("imageSize 28 is special-cased (treated as 32) by the reference; not supported here")
    if min(c, w, d, s, k) < 1:
        raise ValueError(f"invalid cfg {dict(cfg)}")
    return c, w, d, s, k


def feature_hw(cfg: Mapping[str, Any]) -> int:
    """Spatial side of the last feature map: imageSize halved (floor) depth times."""
    _, _, d, s, _ = _cfg(cfg)
    for _ in range(d):
        s //= 2
    if s < 1:
        raise ValueError(f"imageSize {cfg['imageSize']} is too small for depth {d}")
    return s


def param_shapes(cfg: Mapping[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every parameter in PyTorch ``net.parameters()`` order (the flat layout)."""
    c, w, d, _, k = _cfg(cfg)
    hw = feature_hw(cfg)
    shapes: list[tuple[str, tuple[int, ...]]] = []
    c_in = c
    for i in range(d):
        shapes += [
            (f"conv{i}.weight", (w, c_in, 3, 3)),
            (f"conv{i}.bias", (w,)),
            (f"gn{i}.weight", (w,)),
            (f"gn{i}.bias", (w,)),
        ]
        c_in = w
    shapes += [("fc.weight", (k, w * hw * hw)), ("fc.bias", (k,))]
    return shapes


def num_params(cfg: Mapping[str, Any]) -> int:
    return sum(math.prod(shape) for _, shape in param_shapes(cfg))


def unflatten(flat: torch.Tensor, cfg: Mapping[str, Any]) -> list[torch.Tensor]:
    """Views of ``flat`` with the shapes of ``param_shapes`` (what ReparamModule does)."""
    shapes = [shape for _, shape in param_shapes(cfg)]
    sizes = [math.prod(s) for s in shapes]
    if flat.dim() != 1 or flat.numel() != sum(sizes):
        raise ValueError(f"flat parameter vector has shape {tuple(flat.shape)}, expected ({sum(sizes)},)")
    return [t.view(s) for t, s in zip(flat.split(sizes), shapes)]


def init_params(
    cfg: Mapping[str, Any], generator: torch.Generator, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """PyTorch default init: conv/linear weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); GN gamma 1, beta 0.

    Tensors are drawn in flat order (weight then bias of each layer), each with ``torch.rand`` from ``generator``.
    """
    parts: list[torch.Tensor] = []
    fan_in = 0
    for name, shape in param_shapes(cfg):
        if name.startswith("gn"):
            fill = 1.0 if name.endswith(".weight") else 0.0
            parts.append(torch.full(shape, fill, dtype=dtype))
            continue
        if name.endswith(".weight"):
            fan_in = math.prod(shape[1:])
        bound = 1.0 / math.sqrt(fan_in)
        u = torch.rand(shape, generator=generator, dtype=dtype)
        parts.append((u * 2.0 - 1.0) * bound)
    return torch.cat([p.reshape(-1) for p in parts])


def convnet_forward_nchw(flat: torch.Tensor, x: torch.Tensor, cfg: Mapping[str, Any]) -> torch.Tensor:
    """Logits [n, K] for NCHW input: per block conv3x3(pad 1)+bias, GroupNorm(groups=width), ReLU, AvgPool 2x2."""
    _, w, d, _, _ = _cfg(cfg)
    ps = unflatten(flat, cfg)
    out = x
    for i in range(d):
        cw, cb, gw, gb = ps[4 * i : 4 * i + 4]
        out = F.conv2d(out, cw, cb, stride=1, padding=1)
        out = F.group_norm(out, w, gw, gb, eps=GN_EPS)
        out = F.relu(out)
        out = F.avg_pool2d(out, kernel_size=2, stride=2)
    out = out.reshape(out.shape[0], -1)  # NCHW flatten: channel, then h, then w
    return F.linear(out, ps[-2], ps[-1])


def convnet_forward(flat: torch.Tensor, x_nhwc: torch.Tensor, cfg: Mapping[str, Any]) -> torch.Tensor:
    """Logits [n, K] for NHWC images (the engine's layout)."""
    return convnet_forward_nchw(flat, x_nhwc.permute(0, 3, 1, 2), cfg)


# ---------------------------------------------------------------------------------------------------------------
# DSA (method.md D, docs/engine-conventions.md)
# ---------------------------------------------------------------------------------------------------------------


def crop_shift(size: int) -> int:
    return int(size * RATIO_CROP_PAD + 0.5)


def cutout_size(size: int) -> int:
    return int(size * RATIO_CUTOUT + 0.5)


def cutout_offset_max(size: int) -> int:
    """Largest allowed cutout centre offset: ``randint(0, size + (1 - cut % 2))`` excludes its upper bound."""
    return size - (cutout_size(size) % 2)


def sample_family(generator: torch.Generator) -> str:
    """One family, uniform over the 6 (the reference's ``torch.randint(0, 6)`` in aug_mode 'S')."""
    return FAMILIES[int(torch.randint(0, len(FAMILIES), (1,), generator=generator).item())]


def sample_draw(family: str, n: int, height: int, width: int, generator: torch.Generator) -> dict[str, Any]:
    """Per-sample draws of one DSA call, with the reference's distributions, as a JSON-able dict.

    Uniform draws are float32 (as ``torch.rand`` gives them in the reference), returned as Python floats.
    """

    def u() -> torch.Tensor:
        return torch.rand(n, generator=generator, dtype=torch.float32)

    if family == "none":
        return {"family": "none"}
    if family == "color":
        b, s, c = u(), u(), u()  # the reference draws brightness, then saturation, then contrast
        return {"family": "color", "brightness": b.tolist(), "saturation": s.tolist(), "contrast": c.tolist()}
    if family == "crop":
        sx, sy = crop_shift(height), crop_shift(width)
        tx = torch.randint(-sx, sx + 1, (n,), generator=generator)
        ty = torch.randint(-sy, sy + 1, (n,), generator=generator)
        return {"family": "crop", "tx": tx.tolist(), "ty": ty.tolist()}
    if family == "cutout":
        ox = torch.randint(0, cutout_offset_max(height) + 1, (n,), generator=generator)
        oy = torch.randint(0, cutout_offset_max(width) + 1, (n,), generator=generator)
        return {"family": "cutout", "ox": ox.tolist(), "oy": oy.tolist()}
    if family == "flip":
        return {"family": "flip", "flip": (u() < PROB_FLIP).tolist()}
    if family == "scale":
        lo, hi = 1.0 / RATIO_SCALE, RATIO_SCALE
        sx = u() * (hi - lo) + lo
        sy = u() * (hi - lo) + lo
        return {"family": "scale", "sx": sx.tolist(), "sy": sy.tolist()}
    if family == "rotate":
        angle = (u() - 0.5) * 2 * RATIO_ROTATE_DEG / 180 * float(math.pi)
        return {"family": "rotate", "angle": angle.tolist()}
    raise ValueError(f"unknown DSA family {family!r}")


def _per_sample(draw: Mapping[str, Any], key: str, n: int, like: torch.Tensor) -> torch.Tensor:
    v = torch.as_tensor(draw[key], dtype=like.dtype, device=like.device)
    if v.shape != (n,):
        raise ValueError(f"draw field {key!r} has shape {tuple(v.shape)}, expected ({n},)")
    return v


def _per_sample_int(draw: Mapping[str, Any], key: str, n: int, lo: int, hi: int, device: torch.device) -> torch.Tensor:
    vals = list(draw[key])
    if len(vals) != n or any((not isinstance(v, int)) or isinstance(v, bool) or v < lo or v > hi for v in vals):
        raise ValueError(f"draw field {key!r} must be {n} integers in [{lo}, {hi}], got {vals}")
    return torch.tensor(vals, dtype=torch.long, device=device)


def _affine_sample(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def dsa_apply_nchw(x: torch.Tensor, draw: Mapping[str, Any]) -> torch.Tensor:
    """One DSA call on NCHW images with explicit per-sample draws (differentiable w.r.t. ``x``)."""
    family = draw["family"]
    n, _, h, w = x.shape
    dev = x.device
    if family == "none":
        return x
    if family == "color":
        b = _per_sample(draw, "brightness", n, x).view(n, 1, 1, 1)
        s = _per_sample(draw, "saturation", n, x).view(n, 1, 1, 1)
        c = _per_sample(draw, "contrast", n, x).view(n, 1, 1, 1)
        x = x + (b - 0.5) * BRIGHTNESS
        m = x.mean(dim=1, keepdim=True)
        x = (x - m) * (s * SATURATION) + m
        m = x.mean(dim=[1, 2, 3], keepdim=True)
        return (x - m) * (c + CONTRAST) + m
    if family == "crop":
        sh, sw = crop_shift(h), crop_shift(w)
        tx = _per_sample_int(draw, "tx", n, -sh, sh, dev).view(n, 1, 1)
        ty = _per_sample_int(draw, "ty", n, -sw, sw, dev).view(n, 1, 1)
        # Reference: index clamp(i + t + 1, 0, H + 1) into a copy zero-padded by one pixel on every side.
        rows = torch.clamp(torch.arange(h, device=dev).view(1, h, 1) + tx + 1, 0, h + 1)
        cols = torch.clamp(torch.arange(w, device=dev).view(1, 1, w) + ty + 1, 0, w + 1)
        batch = torch.arange(n, device=dev).view(n, 1, 1)
        padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # [n, h+2, w+2, C]
        return padded[batch, rows, cols].permute(0, 3, 1, 2)
    if family == "cutout":
        ch, cw = cutout_size(h), cutout_size(w)
        ox = _per_sample_int(draw, "ox", n, 0, cutout_offset_max(h), dev).view(n, 1, 1)
        oy = _per_sample_int(draw, "oy", n, 0, cutout_offset_max(w), dev).view(n, 1, 1)
        rows = torch.clamp(torch.arange(ch, device=dev).view(1, ch, 1) + ox - ch // 2, 0, h - 1)
        cols = torch.clamp(torch.arange(cw, device=dev).view(1, 1, cw) + oy - cw // 2, 0, w - 1)
        batch = torch.arange(n, device=dev).view(n, 1, 1)
        mask = torch.ones(n, h, w, dtype=x.dtype, device=dev)
        mask[batch, rows, cols] = 0
        return x * mask.unsqueeze(1)
    if family == "flip":
        flags = list(draw["flip"])
        if len(flags) != n or any(not isinstance(f, bool) for f in flags):
            raise ValueError(f"draw field 'flip' must be {n} booleans, got {flags}")
        f = torch.tensor(flags, dtype=torch.bool, device=dev).view(n, 1, 1, 1)
        return torch.where(f, x.flip(3), x)
    if family == "scale":
        theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=dev)
        theta[:, 0, 0] = _per_sample(draw, "sx", n, x)  # acts on the normalised x coordinate, i.e. the W axis
        theta[:, 1, 1] = _per_sample(draw, "sy", n, x)
        return _affine_sample(x, theta)
    if family == "rotate":
        a = _per_sample(draw, "angle", n, x)
        cos, sin = torch.cos(a), torch.sin(a)
        theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=dev)
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin
        theta[:, 1, 0], theta[:, 1, 1] = sin, cos
        return _affine_sample(x, theta)
    raise ValueError(f"unknown DSA family {family!r}")


def dsa_apply(x_nhwc: torch.Tensor, draw: Mapping[str, Any]) -> torch.Tensor:
    """One DSA call on NHWC images with explicit per-sample draws; returns NHWC."""
    return dsa_apply_nchw(x_nhwc.permute(0, 3, 1, 2), draw).permute(0, 2, 3, 1)


# ---------------------------------------------------------------------------------------------------------------
# HoP-TM meta-gradient (method.md A.4 steps 5-8, A.6)
# ---------------------------------------------------------------------------------------------------------------


def angle_gram(z: torch.Tensor) -> torch.Tensor:
    """The 27 cosines G[i][j,k] = <D^[i,j], D^[i,k]> with D[i,j] = Z[j] - Z[i], D^ = D / max(|D|, 1e-12)."""
    d = z.unsqueeze(0) - z.unsqueeze(1)  # d[i, j] = z[j] - z[i]
    dn = F.normalize(d, p=2, dim=2, eps=NORMALIZE_EPS)
    return torch.bmm(dn, dn.transpose(1, 2)).reshape(-1)


def param_loss(final: torch.Tensor, start: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(sum v*(final-target)^2 / P) / (sum v*(start-target)^2 / P), in the reference's order of operations."""
    p = final.numel()
    num = (mask * (final - target) ** 2).sum() / p
    den = (mask * (start - target) ** 2).sum() / p
    return num / den


def shape_loss(
    start: torch.Tensor, student_mid: torch.Tensor, student_final: torch.Tensor, mid: torch.Tensor,
    target: torch.Tensor, lamb: float,
) -> torch.Tensor:
    """lamb * SmoothL1(beta 1, mean over 27) between the angle Grams of the student and teacher triangles."""
    student = torch.stack([start, student_mid, student_final])
    teacher = torch.stack([start, mid, target])
    return F.smooth_l1_loss(angle_gram(student), angle_gram(teacher), reduction="mean", beta=1.0) * lamb


def spl_mask_update(
    mask: torch.Tensor, final: torch.Tensor, target: torch.Tensor, it: int, base_threshold: float,
    growing_factor: float,
) -> torch.Tensor:
    """The easy-to-complex mask update of iteration ``it`` (method.md A.4 step 6): v[e < tau] = 1, never reset."""
    threshold = growing_factor ** (it // 500) * base_threshold
    e = (final.detach() - target) ** 2
    out = mask.clone()
    out[e < threshold] = 1.0
    return out


def unroll_student(
    cfg: Mapping[str, Any], start: torch.Tensor, images_nchw: torch.Tensor, labels: torch.Tensor,
    lr: torch.Tensor, steps: Sequence[Mapping[str, Any]],
) -> list[torch.Tensor]:
    """theta_0 = start (a fresh leaf); theta_{k+1} = theta_k - lr * grad CE(f(DSA(X[idx_k]); theta_k), Y[idx_k]).

    The inner gradient keeps its graph (create_graph=True), so the result is differentiable to second order.
    Returns all N+1 student vectors.
    """
    theta = start.detach().clone().requires_grad_(True)
    traj = [theta]
    for step in steps:
        idx = torch.as_tensor(list(step["indices"]), dtype=torch.long, device=images_nchw.device)
        x = dsa_apply_nchw(images_nchw[idx], step["draw"])
        ce = F.cross_entropy(convnet_forward_nchw(traj[-1], x, cfg), labels[idx])
        (g,) = torch.autograd.grad(ce, traj[-1], create_graph=True)
        traj.append(traj[-1] - lr * g)
    return traj


def meta_gradient(
    cfg: Mapping[str, Any],
    start: torch.Tensor,
    mid: torch.Tensor,
    target: torch.Tensor,
    images_nhwc: torch.Tensor,
    labels: torch.Tensor,
    lr: float,
    steps: Sequence[Mapping[str, Any]],
    mask: torch.Tensor,
    lamb: float,
    shape: bool = True,
) -> dict[str, Any]:
    """One HoP-TM outer evaluation with explicit minibatches and draws.

    ``steps`` is a list of ``{"indices": [...], "draw": {...}}`` (one DSA call per step). Returns a dict with
    paramLoss, shapeLoss, loss (floats), gradImages (NHWC tensor), gradLr (float), finalParams and midParams
    (theta_N and theta_{N//2}).
    """
    if len(steps) < 1:
        raise ValueError("need at least one inner step")
    dtype = start.dtype
    images = images_nhwc.detach().clone().requires_grad_(True)
    lr_t = torch.tensor(lr, dtype=dtype).requires_grad_(True)
    labels = torch.as_tensor(labels, dtype=torch.long)
    mask = mask.detach()
    start, mid, target = start.detach(), mid.detach(), target.detach()

    traj = unroll_student(cfg, start, images.permute(0, 3, 1, 2), labels, lr_t, steps)
    n_steps = len(steps)
    l_param = param_loss(traj[-1], start, target, mask)
    if shape:
        l_shape = shape_loss(start, traj[n_steps // 2], traj[-1], mid, target, lamb)
    else:
        l_shape = torch.zeros((), dtype=dtype)
    loss = l_param + l_shape
    g_images, g_lr = torch.autograd.grad(loss, [images, lr_t])
    return {
        "paramLoss": l_param.item(),
        "shapeLoss": l_shape.item(),
        "loss": loss.item(),
        "gradImages": g_images.detach(),
        "gradLr": g_lr.item(),
        "finalParams": traj[-1].detach(),
        "midParams": traj[n_steps // 2].detach(),
    }


# ---------------------------------------------------------------------------------------------------------------
# GSAM expert step (method.md B, buffer/gsam/gsam.py)
# ---------------------------------------------------------------------------------------------------------------


def gsam_step(
    cfg: Mapping[str, Any],
    params: torch.Tensor,
    x_aug_nhwc: torch.Tensor,
    labels: torch.Tensor,
    lr: float,
    rho: float = 0.01,
    alpha: float = 0.3,
    adaptive: bool = True,
    eps: float = GSAM_EPS,
) -> dict[str, Any]:
    """One GSAM step (plain SGD base optimizer: momentum 0, weight decay 0) on an already augmented batch.

    Returns params (new flat vector), update (params - old params, computed in the working dtype), loss and
    perturbedLoss (mean CE at w and at w + e), and grad (the final direction g' - alpha * vertical).
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    x = x_aug_nhwc.detach().permute(0, 3, 1, 2)
    w = params.detach().clone()

    def loss_and_grad(p: torch.Tensor) -> tuple[float, torch.Tensor]:
        p = p.detach().requires_grad_(True)
        loss = F.cross_entropy(convnet_forward_nchw(p, x, cfg), labels)
        (g,) = torch.autograd.grad(loss, p)
        return loss.item(), g

    loss, g = loss_and_grad(w)
    norm_a = torch.linalg.vector_norm(w.abs() * g if adaptive else g)
    e = g * (rho / (norm_a + eps))
    if adaptive:
        e = e * w.pow(2)
    w_pert = w + e  # the reference perturbs in place: p.add_(e_w)
    loss_pert, g_pert = loss_and_grad(w_pert)
    inner = (g * g_pert).sum()
    norm_new = torch.linalg.vector_norm(g_pert)
    norm_old = torch.linalg.vector_norm(g)
    cosine = inner / (norm_new * norm_old + eps)
    vertical = g - cosine * norm_old * g_pert / (norm_new + eps)
    direction = g_pert - alpha * vertical
    restored = w_pert - e  # p.data.sub_(e_w): not always bit-identical to w
    new = restored - lr * direction
    return {"params": new, "update": new - w, "loss": loss, "perturbedLoss": loss_pert, "grad": direction}
