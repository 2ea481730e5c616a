"""Quality gate: is this photo fit to be measured and compared?

:func:`check_quality` returns a list of :class:`Issue` (empty when the photo is
fine). Each has a stable ``code``, a ``severity`` — ``"warn"`` (measure, but
say so) or ``"block"`` (do not measure or compare) — a message a provider
understands, and the measured ``value`` with the ``limit`` it broke.

All checks run at the fixed working resolution (long side 1024 px), on the
automatic skin mask, so they do not depend on the camera's pixel count:

=================  =====================================================  ==========  ==========
code               measure                                                warn        block
=================  =====================================================  ==========  ==========
``low_resolution`` long side of the original photo, px                    < 1000      —
``blurred``        sharpness: variance of the Laplacian of L* on skin     < 5.0       < 1.5
``underexposed``   median L* of skin                                      < 35        < 22
``overexposed``    median L* of skin                                      > 82        > 90
``clipped``        share of skin pixels with a channel at 255, %          > 2         > 10
``glare``          specular glare as a share of skin + glare, %           > 3         > 10
``little_skin``    skin share of the frame, %                             < 10        < 3
=================  =====================================================  ==========  ==========

The sharpness limits were set on the synthetic skin: a sharp photo scores ~35,
a Gaussian blur of σ = 1 px (at 1024 px) ~4.4, σ = 2 px ~0.9. Smooth skin with
little texture scores lower when sharp too, so "blurred" is judged together
with the photo itself; upscaled low-resolution photos are (rightly) blurred.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .colour import rgb_to_lab
from .imaging import erode
from .photo import Photo, load_photo
from .face import find_face
from .skin import skin_mask

__all__ = ["Issue", "check_quality", "sharpness"]

WORKING_SIZE = 1024


@dataclass(frozen=True)
class Issue:
    code: str
    severity: str  # "warn" or "block"
    message: str
    value: float
    limit: float

    def to_dict(self) -> dict:
        return asdict(self)


def sharpness(L: np.ndarray, region: np.ndarray) -> float:
    """Variance of the Laplacian of L* over ``region`` (higher = sharper)."""
    laplacian = cv2.Laplacian(L.astype(np.float32), cv2.CV_32F, ksize=3)
    values = laplacian[region]
    return float(values.var()) if values.size else float("nan")


def _grade(code, value, warn, block, higher_is_worse, warn_text, block_text):
    worse = (lambda v, lim: v > lim) if higher_is_worse else (lambda v, lim: v < lim)
    if block is not None and worse(value, block):
        return Issue(code, "block", block_text, round(float(value), 3), block)
    if worse(value, warn):
        return Issue(code, "warn", warn_text, round(float(value), 3), warn)
    return None


def check_quality(photo: Photo | np.ndarray) -> list[Issue]:
    """Check a photo before measuring it; see the module docstring for the limits."""
    photo = load_photo(photo)
    rgb = photo.resized(WORKING_SIZE)
    lab = rgb_to_lab(rgb)
    # With a face in frame only the face is skin (glare and exposure are judged on it, not on the wall).
    face = find_face(photo)
    masks = skin_mask(lab, face=face if face is not None and face.confident else None)
    skin = masks.skin
    issues: list[Issue | None] = []
    long_side = max(photo.size)
    issues.append(
        _grade("low_resolution", long_side, 1000, None, False,
               f"Low resolution ({long_side} px on the long side); use the camera's full resolution.", "")
    )  # fmt: skip
    skin_pct = 100.0 * float(skin.mean())
    issues.append(
        _grade("little_skin", skin_pct, 10.0, 3.0, False,
               f"Only {skin_pct:.0f}% of the frame is skin; frame the treated area more closely.",
               f"Hardly any skin found ({skin_pct:.1f}% of the frame); nothing reliable can be measured.")
    )  # fmt: skip
    if skin.sum() >= 500:
        inner = erode(skin, 4)
        sharp = sharpness(lab[..., 0], inner if inner.sum() >= 500 else skin)
        issues.append(
            _grade("blurred", sharp, 5.0, 1.5, False,
                   "The photo looks slightly blurred; hold still and tap to focus on the skin.",
                   "The photo is blurred; texture and line measures would be wrong. Please retake it in focus.")
        )  # fmt: skip
        median_L = float(np.median(lab[..., 0][skin]))
        issues.append(
            _grade("underexposed", median_L, 35.0, 22.0, False,
                   "The skin is dark in this photo; add light.",
                   "The photo is far too dark to measure; retake it with more light.")
        )  # fmt: skip
        issues.append(
            _grade("overexposed", median_L, 82.0, 90.0, True,
                   "The skin is very bright in this photo; reduce the light or exposure.",
                   "The photo is overexposed; colours on the skin are lost. Retake it with less light.")
        )  # fmt: skip
        clipped_pct = 100.0 * float((rgb[skin] >= 255).any(axis=1).mean())
        issues.append(
            _grade("clipped", clipped_pct, 2.0, 10.0, True,
                   f"{clipped_pct:.1f}% of the skin is clipped to pure white in a colour channel.",
                   f"{clipped_pct:.0f}% of the skin is clipped; redness and tone cannot be measured there.")
        )  # fmt: skip
    glare_pct = 100.0 * float(masks.glare.sum()) / max(float((skin | masks.glare).sum()), 1.0)
    issues.append(
        _grade("glare", glare_pct, 3.0, 10.0, True,
               f"Shine on the skin covers {glare_pct:.1f}%; use diffuse light or a cross-polarised flash.",
               f"Shine covers {glare_pct:.0f}% of the skin; retake with diffuse light.")
    )  # fmt: skip
    return [issue for issue in issues if issue is not None]
