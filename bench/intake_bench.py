"""Photo intake speed on a 12 MP JPEG: load_photo vs a plain cv2 decode.

Run: ``.venv/bin/python bench/intake_bench.py``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cv2_decode, median_time, twelve_mp_jpeg  # noqa: E402

from skintrack import load_photo  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = twelve_mp_jpeg(Path(tmp))
        decode = median_time(lambda: cv2_decode(path))
        load = median_time(lambda: load_photo(path))
        working = median_time(lambda: load_photo(path).resized(1024))
        full = median_time(lambda: load_photo(path).rgb)
        print(f"12 MP JPEG ({path.stat().st_size / 1e6:.1f} MB)")
        print(f"  cv2.imdecode (reference)      {decode * 1000:7.1f} ms")
        print(f"  load_photo (validate+preview) {load * 1000:7.1f} ms  ({load / decode:.2f}x decode)")
        print(f"  load_photo + resized(1024)    {working * 1000:7.1f} ms  ({working / decode:.2f}x decode)")
        print(f"  load_photo + full .rgb        {full * 1000:7.1f} ms  ({full / decode:.2f}x decode)")


if __name__ == "__main__":
    main()
