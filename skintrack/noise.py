"""Measurement noise: how big a change must be to be real (placeholder, replaced below)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

__all__ = ["Conditions", "NoiseVerdict", "mdc95", "shipped_table", "verdict", "within_noise"]

REFERENCES = ("chart", "grey_card", "backdrop", "none")
RESOLUTION = {"spot_count": 1.0}


@dataclass(frozen=True)
class Conditions:
    reference: str = "none"
    alignment_quality: float | None = None

    @classmethod
    def of(cls, normalization: Mapping[str, Any] | None, alignment_quality: float | None) -> "Conditions":
        method = (normalization or {}).get("method") or "none"
        return cls(method if method in REFERENCES else "none", None if alignment_quality is None else float(alignment_quality))


@dataclass(frozen=True)
class NoiseVerdict:
    metric: str
    change: float
    mdc95: float
    beyond: bool
    wording: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def shipped_table() -> dict[str, Any]:
    return json.loads(resources.files("skintrack").joinpath("data", "repeatability.json").read_text())


def mdc95(metric: str, conditions: Conditions | None = None) -> float:
    return max(float(shipped_table()["metrics"][metric]["mdc95"]), RESOLUTION.get(metric, 0.0))


def within_noise(metric: str, change: float, conditions: Conditions | None = None) -> bool:
    limit = mdc95(metric, conditions)
    return abs(change) <= limit if metric in RESOLUTION else abs(change) < limit


def verdict(metric: str, change: float, conditions: Conditions | None = None) -> NoiseVerdict:
    within = within_noise(metric, change, conditions)
    return NoiseVerdict(metric, change, mdc95(metric, conditions), not within, "within noise" if within else "beyond noise")
