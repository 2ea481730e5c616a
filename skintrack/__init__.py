"""skintrack: open, measurable before/after skin photo progress tracking."""
from ._version import __version__
from .photo import Photo, PhotoError, load_photo, photo_to_bytes, save_photo
from .align import Alignment, align, ghost
from .normalize import normalize
from .quality import Issue, check_quality
from .scoring import Score, ScoreConfig, score

__all__ = [
    "Alignment",
    "align",
    "ghost",
    "Issue",
    "check_quality",
    "normalize",
    "Photo",
    "PhotoError",
    "Score",
    "ScoreConfig",
    "__version__",
    "load_photo",
    "photo_to_bytes",
    "save_photo",
    "score",
]
