"""Colour conversions in floating point: sRGB (D65) <-> linear RGB <-> XYZ <-> CIELAB.

All skintrack measurements use CIELAB computed here, in float32, with the
D65 white of the sRGB standard (IEC 61966-2-1). OpenCV's 8-bit Lab is off by
up to ~3 ΔE00 and its float path by ~0.5 ΔE00, so it is not used; the tests
cross-check this module against colour-science to within 0.1 ΔE00.

Formulas (CIE 15:2004)::

    lin  = c / 12.92                       if c <= 0.04045
           ((c + 0.055) / 1.055) ** 2.4    otherwise
    XYZ  = M_sRGB @ lin
    L*   = 116 f(Y/Yn) - 16
    a*   = 500 (f(X/Xn) - f(Y/Yn))
    b*   = 200 (f(Y/Yn) - f(Z/Zn))
    f(t) = t ** (1/3)                      if t > (6/29) ** 3
           t / (3 (6/29) ** 2) + 4/29      otherwise
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "D65_WHITE",
    "lab_to_rgb",
    "lab_to_srgb_float",
    "linear_to_srgb8",
    "linear_to_srgb_float",
    "rgb_to_lab",
    "srgb8_to_linear",
    "srgb_float_to_linear",
]

#: D65 reference white (CIE 1931 2°), normalised to Y = 1, as used by sRGB.
D65_WHITE = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)

# sRGB primaries -> XYZ (D65), IEC 61966-2-1.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
# Fold the white normalisation into the matrices: rows scaled by 1/white.
_RGB_TO_XYZN = (_RGB_TO_XYZ / D65_WHITE[:, None]).astype(np.float32)
_XYZN_TO_RGB = (_XYZ_TO_RGB * D65_WHITE[None, :]).astype(np.float32)

_F_TO_LAB = np.array([[0.0, 116.0, 0.0, -16.0], [500.0, -500.0, 0.0, 0.0], [0.0, 200.0, -200.0, 0.0]], np.float32)

_EPS = (6.0 / 29.0) ** 3
_KAPPA = 1.0 / (3.0 * (6.0 / 29.0) ** 2)


def srgb_float_to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] to linear light (float32)."""
    srgb = np.asarray(srgb, dtype=np.float32)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4).astype(np.float32)


# Exact lookup table for 8-bit input: the slow power function runs 256 times.
_LUT_8BIT = srgb_float_to_linear(np.arange(256, dtype=np.float32) / 255.0)


def srgb8_to_linear(rgb: np.ndarray) -> np.ndarray:
    """``HxWx3`` uint8 sRGB to float32 linear RGB in [0, 1]."""
    rgb = np.ascontiguousarray(rgb)
    if rgb.ndim == 3 and rgb.shape[2] == 3:
        return cv2.LUT(rgb, _LUT_8BIT)  # same table as below, SIMD
    return _LUT_8BIT[rgb]


def linear_to_srgb_float(linear: np.ndarray) -> np.ndarray:
    """Linear RGB to sRGB-encoded float values (not clipped)."""
    linear = np.asarray(linear, dtype=np.float32)
    clipped = np.maximum(linear, 0.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * clipped ** (1.0 / 2.4) - 0.055).astype(np.float32)


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear RGB to uint8 sRGB, clipped to [0, 255] and rounded."""
    return np.clip(np.rint(linear_to_srgb_float(linear) * 255.0), 0, 255).astype(np.uint8)


def _f(t: np.ndarray) -> np.ndarray:
    out = cv2.pow(np.maximum(t, 0.0), 1.0 / 3.0)  # cube root, SIMD
    small = t <= _EPS
    if small.any():  # the linear toe only matters for near-black pixels
        out[small] = t[small] * _KAPPA + 4.0 / 29.0
    return out


def _f_inv(t: np.ndarray) -> np.ndarray:
    return np.where(t > 6.0 / 29.0, t**3, (t - 4.0 / 29.0) / _KAPPA)


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB (float, ``...x3``) to CIELAB D65 (float32 ``...x3``)."""
    linear = np.ascontiguousarray(linear, dtype=np.float32)
    xyz_n = cv2.transform(linear.reshape(-1, 1, 3), _RGB_TO_XYZN).reshape(linear.shape)
    f = _f(xyz_n)
    # L* = 116 fy - 16, a* = 500 (fx - fy), b* = 200 (fy - fz): one affine transform.
    return cv2.transform(f.reshape(-1, 1, 3), _F_TO_LAB).reshape(f.shape)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB image to CIELAB (D65, 2° observer), float32.

    Parameters
    ----------
    rgb : ndarray
        ``...x3`` uint8 (0-255) or float (0-1) sRGB.

    Returns
    -------
    ndarray
        ``...x3`` float32 with L* in [0, 100], a* and b* unbounded.
    """
    rgb = np.asarray(rgb)
    linear = srgb8_to_linear(rgb) if rgb.dtype == np.uint8 else srgb_float_to_linear(rgb)
    return linear_to_lab(linear)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) to linear sRGB, float32, not clipped."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    xyz_n = np.stack([_f_inv(fx), _f_inv(fy), _f_inv(fz)], axis=-1).astype(np.float32)
    shape = xyz_n.shape
    return cv2.transform(np.ascontiguousarray(xyz_n).reshape(-1, 1, 3), _XYZN_TO_RGB).reshape(shape)


def lab_to_srgb_float(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) to sRGB-encoded float values in [0, 1] (clipped)."""
    return np.clip(linear_to_srgb_float(lab_to_linear(lab)), 0.0, 1.0)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) to uint8 sRGB (clipped, rounded)."""
    return linear_to_srgb8(lab_to_linear(lab))


def luminance(linear: np.ndarray) -> np.ndarray:
    """Relative luminance Y of linear sRGB."""
    return linear @ _RGB_TO_XYZ[1].astype(np.float32)
