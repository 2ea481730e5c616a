"""skintrack: open, measurable before/after skin photo progress tracking."""

from ._version import __version__
from .batch import score_course, score_folder
from .comparison import noise
from .comparison.align import Alignment, align, ghost
from .comparison.compare import Baseline, CompareConfig, Comparison, compare, measure_baseline
from .comparison.normalize import normalize
from .comparison.quality import Issue, check_quality
from .intake.photo import Photo, PhotoError, load_photo, photo_to_bytes, save_photo
from .measure.face import ZONES, Face, FaceConfig, find_face
from .measure.scoring import Score, ScoreConfig, score, score_zones

__all__ = [
    "Alignment",
    "Baseline",
    "CompareConfig",
    "Comparison",
    "Face",
    "FaceConfig",
    "Issue",
    "Photo",
    "PhotoError",
    "Score",
    "ScoreConfig",
    "ZONES",
    "__version__",
    "align",
    "check_quality",
    "compare",
    "find_face",
    "ghost",
    "load_photo",
    "measure_baseline",
    "noise",
    "normalize",
    "photo_to_bytes",
    "save_photo",
    "score",
    "score_course",
    "score_folder",
    "score_zones",
]
