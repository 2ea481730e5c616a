"""One photo's analysis, computed once: working-size pixels, CIELAB, face and skin masks.

The quality gate (:func:`skintrack.check_quality`), the light correction's search for neutral
references (:func:`skintrack.normalize`) and :func:`skintrack.score` each need the same things
from the same pixels: the photo at the working size, its CIELAB values, the face and the skin
mask. This module computes each once per photo and keeps it in :attr:`Photo.memo
<skintrack.intake.photo.Photo.memo>`:

- a photo is immutable, so what was computed from its pixels stays true for it;
- a copy with other metadata but the same pixels (:meth:`Photo.with_metadata`, e.g. a photo the
  light correction left as it was) shares the memo;
- a photo with other pixels (:meth:`Photo.derive`: colour corrected, aligned) starts afresh.

The results are read-only arrays: a caller that wants to change one makes its own copy, so the
next caller gets what the photo really gave. Results are bit-identical to computing them
directly (same function, same arguments); the memo only saves the repeat.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np

from ..intake.photo import Photo
from .colour import rgb_to_lab
from .face import Face, FaceConfig, find_face
from .skin import SkinConfig, SkinMask, skin_mask

__all__ = ["working_rgb", "working_lab", "photo_face", "photo_skin"]


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def working_rgb(photo: Photo, size: int) -> np.ndarray:
    """``photo.resized(size)``, computed once per photo (read-only ``HxWx3`` uint8)."""
    key = ("rgb", int(size))
    if key not in photo.memo:
        photo.memo[key] = _readonly(np.ascontiguousarray(photo.resized(size)))
    return photo.memo[key]


def working_lab(photo: Photo, size: int) -> np.ndarray:
    """CIELAB (D65) of :func:`working_rgb`, computed once per photo (read-only ``HxWx3`` float32)."""
    key = ("lab", int(size))
    if key not in photo.memo:
        photo.memo[key] = _readonly(rgb_to_lab(working_rgb(photo, size)))
    return photo.memo[key]


def photo_face(photo: Photo, config: FaceConfig | None = None) -> Face | None:
    """:func:`skintrack.find_face` on this photo with ``config``, run once per photo and config."""
    key = ("face", config or FaceConfig())
    if key not in photo.memo:
        photo.memo[key] = find_face(photo, config)
    return photo.memo[key]


def photo_skin(
    photo: Photo,
    size: int,
    *,
    face: Face | None = None,
    config: SkinConfig | None = None,
    hair_contrast: float = 12.0,
    executor: Executor | None = None,
) -> SkinMask:
    """:func:`skintrack.measure.skin.skin_mask` of :func:`working_lab`, computed once per photo and settings.

    Only a face this module found in the same photo (:func:`photo_face`) is remembered with the
    mask: another ``Face`` object is measured afresh, since nothing ties it to these pixels.
    """
    face_key: Any = None
    if face is not None:
        ours = [key for key, value in list(photo.memo.items()) if key[0] == "face" and value is face]
        face_key = ours[0] if ours else None
        if face_key is None:
            return skin_mask(working_lab(photo, size), face=face, config=config, hair_contrast=hair_contrast, executor=executor)
    key = ("skin", int(size), face_key, config or SkinConfig(), float(hair_contrast))
    if key not in photo.memo:
        masks = skin_mask(working_lab(photo, size), face=face, config=config, hair_contrast=hair_contrast, executor=executor)
        for name in ("skin", "glare", "neutral", "not_skin_colour", "hair", "dark"):
            _readonly(getattr(masks, name))
        photo.memo[key] = masks
    return photo.memo[key]
