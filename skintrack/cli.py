"""The ``skintrack`` command line (also ``python -m skintrack``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .photo import PhotoError, load_photo


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skintrack")
def main() -> None:
    """skintrack: measure skin change between treatment sessions from ordinary photos.

    Not a medical device; not for diagnosis.
    """


@main.command()
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
def info(photos: tuple[Path, ...]) -> None:
    """Print what skintrack reads from each photo (size, capture time, camera, hash)."""
    failed = 0
    for path in photos:
        try:
            photo = load_photo(path)
        except PhotoError as exc:
            click.echo(f"{path}: {exc}", err=True)
            failed += 1
            continue
        click.echo(json.dumps({"path": str(path), **photo.metadata}))
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path), default=Path("sample_images"))
@click.option("--seed", default=None, type=int, help="Generator seed (default: the demo's).")
def demo(folder: Path, seed: int | None) -> None:
    """Write the synthetic demo patient's photos and manifest into FOLDER."""
    from .synthetic import DEMO_SEED, write_demo

    out = write_demo(folder, seed=DEMO_SEED if seed is None else seed)
    click.echo(f"demo photos written to {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
