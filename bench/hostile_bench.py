"""Peak memory of hostile and very large photos, each in a fresh process (target: below 1.5 GB).

Decompression bombs (issue 12) through ``load_photo`` + full pixels, and the largest photos the
records accept through ``Records.add_photo`` (baseline as PNG, follow-up as a rotated JPEG, both
measured), a progressive JPEG with thousands of scans (issue 22), and a zip bomb through ``import_patient_archive``. Prints one line per case: what
happened, the peak resident memory (VmHWM) and the wall time.

Run: ``.venv/bin/python bench/hostile_bench.py`` (``--only scans`` for one case)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.hostile import jpeg_scan_bomb, png_bomb, tiff_float_bomb, zip_bomb  # noqa: E402

LIMIT = 1.5e9

_DECODE = """
import sys
from skintrack.intake.photo import PhotoError, load_photo
try:
    photo = load_photo(sys.argv[1])
    print("decoded", "x".join(map(str, photo.rgb.shape)))
except PhotoError as exc:
    print("refused:", str(exc)[:90])
"""

_ADD = """
import sys, tempfile
from skintrack.intake.photo import PhotoError
from skintrack.records import Actor, Records
me = Actor("bench")
records = Records(tempfile.mkdtemp())
patient = records.add_patient(me, "P-1")
area = records.add_area(me, patient.id, "cheek")
for date, path in zip(("2026-05-04", "2026-06-01"), sys.argv[1:]):
    session = records.add_session(me, patient.id, date, "laser")
    try:
        view = records.add_photo(me, session.id, area.id, path)
        print(f"{view.status} {view.width}x{view.height}", end="; ")
    except PhotoError as exc:
        print("refused:", str(exc)[:60], end="; ")
print()
"""

_IMPORT = """
import sys, tempfile
from skintrack.records import Actor, Records, RecordsError
try:
    Records(tempfile.mkdtemp()).import_patient_archive(Actor("bench"), sys.argv[1])
    print("imported")
except RecordsError as exc:
    print("refused:", str(exc)[:90])
"""


def run(code: str, *args: str) -> tuple[str, int, float]:
    probe = code + "\nprint([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        return "CRASHED: " + out.stderr.strip().splitlines()[-1], 0, elapsed
    lines = out.stdout.strip().splitlines()
    return " ".join(lines[:-1]), int(lines[-1]) * 1024, elapsed


def _large_photos(folder: Path) -> tuple[Path, Path]:
    """The demo cheek scaled to 108 MP: baseline as PNG, follow-up as a JPEG stored rotated (EXIF 6)."""
    from PIL import Image

    code = f"""
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
before = Image.open({str(REPO / 'sample_images' / '2026-05-04_left-cheek.jpg')!r}).resize((12000, 9000), Image.Resampling.BICUBIC)
before.save({str(folder / 'big-baseline.png')!r}, compress_level=1)
after = Image.open({str(REPO / 'sample_images' / '2026-06-01_left-cheek.jpg')!r}).resize((12000, 9000), Image.Resampling.BICUBIC)
exif = Image.Exif(); exif[0x0112] = 6
after.transpose(Image.Transpose.ROTATE_90).save({str(folder / 'big-follow-up.jpg')!r}, quality=90, exif=exif)
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    del Image
    return folder / "big-baseline.png", folder / "big-follow-up.jpg"


def _webp(folder: Path, side: int) -> Path:
    path = folder / f"solid-{side}.webp"
    code = (
        "import io, sys\nfrom PIL import Image\nb = io.BytesIO()\n"
        f"Image.new('RGB', ({side}, {side}), (120, 80, 60)).save(b, 'WEBP', lossless=True)\n"
        f"open({str(path)!r}, 'wb').write(b.getvalue())\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    return path


def main() -> None:
    """Every case, or with ``--only TEXT`` the cases whose name contains TEXT (e.g. ``--only scans``)."""
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv[1:-1] else ""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        side = 10_954  # 120 MP
        bombs = {
            "RGBA PNG bomb, 120 MP": lambda: png_bomb(side, side),
            "16-bit PNG bomb, 120 MP": lambda: png_bomb(side, side, color_type=0, bit_depth=16),
            "float TIFF bomb, 120 MP": lambda: tiff_float_bomb(side, side),
            "float TIFF bomb, 120 MP, one strip": lambda: tiff_float_bomb(side, side, rows_per_strip=side),
            "progressive JPEG 8000², 5,000 scans": lambda: jpeg_scan_bomb(8000, 8000, 5000),
        }
        for name, make in bombs.items():
            if only not in name:
                continue
            data = make()
            path = folder / "bomb.bin"
            path.write_bytes(data)
            rows.append((f"{name} ({len(data) / 1e3:.0f} KB)", *run(_DECODE, str(path))))
        for side_webp in (10_000, 8_000):
            if only in f"lossless WebP {side_webp}²":
                path = _webp(folder, side_webp)
                rows.append((f"lossless WebP {side_webp}², ({path.stat().st_size} bytes)", *run(_DECODE, str(path))))
        if only in "add_photo: 108 MP":
            baseline, follow_up = _large_photos(folder)
            rows.append(("add_photo: 108 MP PNG baseline, rotated 108 MP JPEG follow-up", *run(_ADD, str(baseline), str(follow_up))))
        if only in "zip bomb":
            bomb_zip = folder / "bomb.zip"
            bomb_zip.write_bytes(zip_bomb(2 * 2**30))
            rows.append((f"zip bomb: 2 GiB member ({bomb_zip.stat().st_size / 1e6:.1f} MB)", *run(_IMPORT, str(bomb_zip))))
    width = max(len(r[0]) for r in rows)
    worst = 0
    for name, outcome, peak, elapsed in rows:
        worst = max(worst, peak)
        print(f"{name:<{width}}  peak {peak / 1e9:5.2f} GB  {elapsed:5.1f} s  {outcome}")
    print(json.dumps({"worst_peak_gb": round(worst / 1e9, 3), "limit_gb": LIMIT / 1e9}))
    if worst >= LIMIT:
        raise SystemExit(f"peak memory {worst / 1e9:.2f} GB is over the {LIMIT / 1e9:.1f} GB target")


if __name__ == "__main__":
    main()
