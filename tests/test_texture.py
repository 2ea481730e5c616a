"""Texture metrics (skintrack/measure/metrics/texture.py): roughness and fine lines."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.feature import hessian_matrix, hessian_matrix_eigvals

import skintrack
from skintrack.measure.metrics.texture import hessian_eigenvalues, ridge_strength
from skintrack.synthetic import SkinState

from .conftest import render, working


def _line_image(width_sigma: float, depth: float = 6.0, size: int = 200) -> np.ndarray:
    x = np.arange(size) - size / 2 + 0.3
    profile = 60.0 - depth * np.exp(-(x**2) / (2 * width_sigma**2))
    return np.tile(profile, (size, 1)).astype(np.float32)


@pytest.mark.parametrize("width_sigma", [0.6, 0.9, 1.3, 1.8, 2.4])
def test_ridge_strength_reads_line_depth_whatever_the_width(width_sigma):
    strength = ridge_strength(_line_image(width_sigma))
    peak = strength[90:110, 90:110].max()
    assert peak == pytest.approx(6.0, rel=0.15)


def test_ridge_strength_is_proportional_to_depth_not_rescaled_per_image():
    shallow = ridge_strength(_line_image(1.2, depth=3.0))[100, 80:120].max()
    deep = ridge_strength(_line_image(1.2, depth=9.0))[100, 80:120].max()
    assert deep / shallow == pytest.approx(3.0, rel=0.02)


def test_blobs_are_not_ridges():
    ys, xs = np.mgrid[0:200, 0:200]
    blob = (60.0 - 6.0 * np.exp(-((xs - 100) ** 2 + (ys - 100) ** 2) / (2 * 2.0**2))).astype(np.float32)
    line = ridge_strength(_line_image(2.0))[100, 90:110].max()
    assert ridge_strength(blob)[95:106, 95:106].max() < 0.5 * line


def test_hessian_matches_scikit_image():
    rng = np.random.default_rng(0)
    image = rng.normal(50, 5, (96, 96)).astype(np.float32)
    ours = hessian_eigenvalues(image, 2.0)
    theirs = hessian_matrix_eigvals(hessian_matrix(image, sigma=2.0, order="rc", use_gaussian_derivatives=True, mode="reflect"))
    inner = (slice(12, -12), slice(12, -12))
    for mine, ref in zip(ours, theirs):
        assert np.abs(mine[inner] - ref[inner]).max() < 0.05 * np.abs(ref[inner]).max()


def test_line_density_matches_truth_and_falls_with_fewer_lines(scene, baseline_score, baseline_photo):
    assert baseline_score.metrics["line_density"] == pytest.approx(baseline_photo.truth.values["line_area_pct"], rel=0.3)
    found = baseline_score.maps["lines"]
    painted = working(baseline_photo.truth.masks["lines"], found.shape)
    assert (found & painted).sum() >= 0.5 * found.sum()
    densities = [
        skintrack.score(render(scene, SkinState(line_fraction=f)).rgb, reference=baseline_score).metrics["line_density"]
        for f in (1.0, 0.6, 0.3, 0.0)
    ]
    assert all(a > b for a, b in zip(densities, densities[1:]))
    assert densities[-1] < 0.05


def test_shallower_lines_lower_the_density(scene, baseline_score):
    deep, shallow = (
        skintrack.score(render(scene, SkinState(line_contrast=c)).rgb, reference=baseline_score).metrics["line_density"]
        for c in (8.0, 4.0)
    )
    assert deep > shallow


def test_roughness_falls_as_texture_smooths(scene, baseline_score):
    values = [
        skintrack.score(render(scene, SkinState(roughness=r)).rgb, reference=baseline_score).metrics["texture_roughness"]
        for r in (1.6, 1.2, 0.8, 0.4)
    ]
    assert all(a > b for a, b in zip(values, values[1:]))
