"""Write the REST API's OpenAPI schema to docs/api/openapi.json (a test checks it is current).

Usage: .venv/bin/python tools/openapi.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from skintrack.api import create_app
from skintrack.records import Records

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        records = Records(Path(folder) / "data")
        schema = create_app(records).openapi()
        records.close()
    target = REPO / "docs" / "api" / "openapi.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(schema, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(schema['paths'])} paths written to {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()
