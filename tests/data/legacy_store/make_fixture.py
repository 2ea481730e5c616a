"""Make ``store-0.3.0.zip``: a data folder written by skintrack 0.3.0 (before issue 22), kept as a test fixture.

Run with the 0.3.0 code on the path (e.g. a checkout of the commit before issue 22)::

    PYTHONPATH=/path/to/skintrack-0.3.0 python tests/data/legacy_store/make_fixture.py OUT.zip

It holds one patient with four photo rows over three files, in a store whose
files are named by the plain sha256 of each photo: one file stored before
``SKINTRACK_KEY`` was set (plain), two after (AES-GCM, the name as associated
data), one of them used by two areas. ``tests/test_store_encryption.py`` opens it
with today's code. The key is a test key, published here on purpose.
"""

from __future__ import annotations

import io
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

KEY = "c2tpbnRyYWNrLXRlc3Qta2V5LW5vdC1hLXNlY3JldCE="  # base64url of 32 bytes, public test key
SAMPLES = Path(__file__).resolve().parents[3] / "sample_images"


def _small(name: str) -> bytes:
    image = Image.open(SAMPLES / name).convert("RGB").resize((400, 300), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def main(out: Path) -> None:
    import skintrack
    from skintrack.records import Actor, Records

    doctor = Actor("Dr Legacy")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        plain = Records(data, key="")
        patient = plain.add_patient(doctor, "P-LEGACY", "Legacy Patient")
        cheek = plain.add_area(doctor, patient.id, "left cheek")
        chin = plain.add_area(doctor, patient.id, "chin")
        first = plain.add_session(doctor, patient.id, "2026-05-04", "micro-needling")
        plain.add_photo(doctor, first.id, cheek.id, _small("2026-05-04_left-cheek.jpg"))
        plain.close()
        encrypted = Records(data, key=KEY)
        second = encrypted.add_session(doctor, patient.id, "2026-06-01", "micro-needling")
        encrypted.add_photo(doctor, second.id, cheek.id, _small("2026-06-01_left-cheek.jpg"))
        third = encrypted.add_session(doctor, patient.id, "2026-09-28", "micro-needling")
        encrypted.add_photo(doctor, third.id, cheek.id, _small("2026-09-28_left-cheek.jpg"))
        encrypted.add_photo(doctor, third.id, chin.id, _small("2026-09-28_left-cheek.jpg"))
        encrypted.close()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in sorted(data.rglob("*")):
                if path.is_file() and not path.name.endswith(("-wal", "-shm")):
                    bundle.write(path, path.relative_to(data.parent).as_posix())
            bundle.writestr("VERSION", skintrack.__version__)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
