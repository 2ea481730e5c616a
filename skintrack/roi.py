"""Regions of interest: what kind a region is, and its stable hash (recorded in every score's provenance).

A region of interest is ``None`` (all the skin), an ``HxW`` boolean mask, a rectangle
``(x, y, w, h)`` in the photo's own pixels, or a polygon ``[(x, y), ...]`` in fractions
of the frame (0-1). Its hash identifies it in the provenance, so a number can be
traced to the exact region it was measured over.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

import numpy as np

__all__ = ["roi_hash", "roi_kind"]


def roi_kind(roi: Any) -> tuple[str, list]:
    """``("rectangle", [x, y, w, h])`` or ``("polygon", [[x, y], ...])``, numbers rounded to 1e-6.

    Raises
    ------
    ValueError
        For anything else (masks are handled by :func:`roi_hash` itself).
    """
    if isinstance(roi, Sequence) and len(roi) == 4 and all(isinstance(v, (int, float, np.number)) for v in roi):
        return "rectangle", [round(float(v), 6) for v in roi]
    if isinstance(roi, Sequence) and len(roi) >= 3 and all(isinstance(p, Sequence) and len(p) == 2 for p in roi):
        return "polygon", [[round(float(x), 6), round(float(y), 6)] for x, y in roi]
    raise ValueError(
        "roi must be None, an HxW boolean mask, an (x, y, w, h) rectangle in the baseline's pixels "
        "or a polygon [(x, y), ...] in fractions (0-1) of the baseline's frame."
    )


def roi_hash(roi: Any) -> str | None:
    """A stable sha256 of a region of interest (None for none).

    A mask is hashed as its shape and packed bits; a rectangle or polygon as its
    numbers rounded to 1e-6 (JSON). The same region always gives the same hash.
    """
    if roi is None:
        return None
    if isinstance(roi, np.ndarray):
        mask = np.ascontiguousarray(roi.astype(bool))
        if mask.ndim != 2:
            raise ValueError("roi mask must be a 2-D boolean array.")
        digest = hashlib.sha256(f"mask:{mask.shape[0]}x{mask.shape[1]}:".encode())
        digest.update(np.packbits(mask).tobytes())
        return digest.hexdigest()
    kind, values = roi_kind(roi)
    payload = json.dumps({"kind": kind, "values": values}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
