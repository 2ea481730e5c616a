"""Real smartphone photos (../shared/real_photos): every one scores, and orderings a person
looking at the photos would agree with hold (see that folder's README for what each shows)."""

from __future__ import annotations

import math
from functools import lru_cache

import pytest

import skintrack

from .conftest import REAL_PHOTOS, real_photo

pytestmark = pytest.mark.skipif(not REAL_PHOTOS.exists(), reason="../shared/real_photos not available")


@lru_cache(maxsize=None)
def metrics(name: str) -> dict[str, float]:
    return skintrack.score(skintrack.load_photo(real_photo(name))).metrics


def test_every_real_photo_scores_without_error(real_photos_dir):
    for path in sorted(real_photos_dir.rglob("*.png")):
        result = skintrack.score(skintrack.load_photo(path))
        assert result.provenance["errors"] == {}, path.name
        assert all(math.isfinite(v) for v in result.metrics.values()), path.name


# (metric, the photo a person would rank higher, the photo they would rank lower, why)
ORDERINGS = [
    ("redness", "PAT_967_1827_247.png", "PAT_680_1289_182.png", "inflamed red nose vs pale back"),
    ("redness", "PAT_759_1433_914.png", "PAT_286_1459_926.png", "red lesion vs pale pink back"),
    ("redness", "PAT_1428_1489_38.png", "PAT_1089_375_60.png", "blotchy red forearm vs pale chest"),
    ("spot_area_pct", "PAT_93_361_203.png", "PAT_1428_1489_38.png", "many dark spots vs red forearm"),
    ("spot_area_pct", "PAT_93_361_203.png", "PAT_79_120_739.png", "many dark spots vs pink face with vessels"),
    ("spot_area_pct", "PAT_93_361_203.png", "PAT_967_1827_247.png", "many dark spots vs red nose"),
    ("spot_contrast", "PAT_680_1289_182.png", "PAT_286_1459_926.png", "very dark spot vs faint pink papules"),
    ("spot_contrast", "PAT_93_361_203.png", "PAT_297_4307_924.png", "dark-brown spots vs light-brown mottling"),
    ("texture_roughness", "PAT_1451_1560_616.png", "PAT_286_1459_926.png", "coarse pores vs smooth back"),
    ("texture_roughness", "PAT_1428_1489_38.png", "PAT_1089_375_677.png", "rough hairy forearm vs smooth chest"),
    ("line_density", "PAT_93_361_203.png", "PAT_1089_375_677.png", "wrinkled sun-damaged face vs smooth chest"),
    ("line_density", "PAT_544_3299_671.png", "PAT_286_1459_926.png", "fine facial wrinkles vs smooth back"),
    ("ita", "PAT_1089_375_677.png", "PAT_1428_1489_38.png", "very pale chest vs tanned forearm"),
    ("ita", "PAT_680_1289_182.png", "PAT_1453_1567_250.png", "pale back vs tanned face"),
    ("ita", "PAT_286_1459_926.png", "PAT_79_120_739.png", "pale back vs darker facial skin"),
    ("evenness", "PAT_93_361_203.png", "PAT_286_1459_666.png", "blotchy sun damage vs even back"),
]


@pytest.mark.parametrize("metric, higher, lower, why", ORDERINGS, ids=[o[3] for o in ORDERINGS])
def test_orderings_a_person_would_agree_with(metric, higher, lower, why):
    high, low = metrics(higher)[metric], metrics(lower)[metric]
    assert high > 1.3 * low if low > 0 else high > low + 5, f"{metric}: {higher}={high:.2f} vs {lower}={low:.2f}"


def test_repeat_shots_of_one_area_agree_better_than_different_people():
    # The same back photographed twice (different framing) vs another person's face.
    pair = abs(metrics("PAT_286_1459_666.png")["ita"] - metrics("PAT_286_1459_926.png")["ita"])
    different = abs(metrics("PAT_286_1459_926.png")["ita"] - metrics("PAT_1453_1567_250.png")["ita"])
    assert pair < 0.5 * different
