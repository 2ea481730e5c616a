"""One photo's analysis is computed once (skintrack.measure.analysis): the gate, the light correction and
score() share the working pixels, CIELAB, face and skin mask of the same pixels, and only those."""

import pickle
import sys

import numpy as np
import pytest

import skintrack
from skintrack.comparison.compare import measure_baseline
from skintrack.comparison.quality import check_quality
from skintrack.intake.photo import Photo, load_photo
from skintrack.measure import analysis
from skintrack.measure.skin import skin_mask

from .conftest import render


@pytest.fixture
def counted(monkeypatch):
    """How often any engine module converted to CIELAB, looked for a face or built a skin mask."""
    calls = {"lab": 0, "face": 0, "skin": 0}
    real = {"lab": skintrack.measure.colour.rgb_to_lab, "face": skintrack.measure.face.find_face, "skin": skintrack.measure.skin.skin_mask}

    def counting(kind):
        def call(*args, **kwargs):
            calls[kind] += 1
            return real[kind](*args, **kwargs)

        return call

    for name, module in list(sys.modules.items()):
        if name.startswith("skintrack"):
            for kind, attribute in (("lab", "rgb_to_lab"), ("face", "find_face"), ("skin", "skin_mask")):
                if getattr(module, attribute, None) is real[kind]:
                    monkeypatch.setattr(module, attribute, counting(kind))
    return calls


def _skin_only(scene) -> Photo:
    """The synthetic cheek without its backdrop and card: nothing neutral, so the light correction
    leaves the pixels as they are."""
    rgb = render(scene).rgb
    h, w = rgb.shape[:2]
    return load_photo(np.ascontiguousarray(rgb[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]))


def test_gate_and_score_of_one_photo_convert_and_look_for_a_face_once(scene, counted):
    photo = load_photo(render(scene).rgb)
    check_quality(photo)
    result = skintrack.score(photo)
    assert counted == {"lab": 1, "face": 1, "skin": 1}
    assert result.metrics == skintrack.score(render(scene).rgb).metrics  # a fresh photo: the same numbers


def test_a_baseline_left_as_it_was_by_the_light_correction_is_analysed_once(scene, counted):
    measured = measure_baseline(_skin_only(scene))
    assert measured.scored and measured.normalization["method"] == "none", measured.normalization
    # The gate, the search for neutral references and score() all read the same pixels: one conversion
    # at the working size, one face search, one skin mask (no face here, so the search's mask without a
    # face is the same one). The second conversion is the gate's sharpness at the photo's own size
    # (800 px: smaller than the working size, so never judged upscaled).
    assert max(_skin_only(scene).size) < 1024
    assert counted == {"lab": 2, "face": 1, "skin": 1}


def test_other_pixels_are_analysed_afresh_and_the_same_pixels_are_not(scene):
    photo = load_photo(render(scene).rgb)
    lab = analysis.working_lab(photo, 512)
    assert analysis.working_lab(photo.with_metadata(note="same pixels"), 512) is lab
    brighter = photo.derive(np.clip(photo.rgb.astype(int) + 20, 0, 255).astype(np.uint8))
    assert analysis.working_lab(brighter, 512) is not lab
    assert analysis.working_lab(brighter, 512)[..., 0].mean() > lab[..., 0].mean()
    assert pickle.loads(pickle.dumps(photo)).memo == {}  # a cache, not part of the photo


def test_what_is_remembered_is_read_only_and_what_direct_calls_give(scene):
    photo = load_photo(render(scene).rgb)
    lab = analysis.working_lab(photo, 512)
    masks = analysis.photo_skin(photo, 512)
    with pytest.raises(ValueError):
        lab[0, 0, 0] = 0.0
    with pytest.raises(ValueError):
        masks.skin[0, 0] = False
    direct = skin_mask(skintrack.measure.colour.rgb_to_lab(photo.resized(512)))
    assert np.array_equal(masks.skin, direct.skin) and np.array_equal(lab, skintrack.measure.colour.rgb_to_lab(photo.resized(512)))


def test_a_face_found_elsewhere_is_not_remembered_with_this_photos_skin(scene, counted):
    photo = load_photo(render(scene).rgb)
    stranger = object.__new__(skintrack.measure.face.Face)  # not this photo's face: nothing ties it to these pixels
    assert analysis.photo_face(photo) is analysis.photo_face(photo)
    assert counted["face"] == 1 and counted["skin"] == 0
    with pytest.raises(Exception):
        analysis.photo_skin(photo, 512, face=stranger)  # measured afresh (and this bare Face cannot be used)
    assert not [key for key in photo.memo if key[0] == "skin"]
