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


# --------------------------------------------------------------------------- records

data_option = click.option(
    "--data", "data_dir", type=click.Path(path_type=Path), default=None, envvar="SKINTRACK_DATA",
    help="Data folder (default: $SKINTRACK_DATA or ./skintrack-data).",
)  # fmt: skip
db_option = click.option("--db-url", default=None, envvar="SKINTRACK_DB_URL", help="Database URL (default: SQLite in the data folder).")
user_option = click.option("--user", default=None, help="Who is acting (recorded with every change).")


def _records(data_dir, db_url):
    from .records import Records

    return Records(data_dir, db_url=db_url)


def _actor(user):
    import getpass

    from .records import Actor

    return Actor(user or getpass.getuser() or "cli", role="admin")


@main.command("load-demo")
@data_option
@db_option
@user_option
@click.option("--samples", type=click.Path(path_type=Path, exists=True), default=Path(__file__).resolve().parents[1] / "sample_images")
def load_demo(data_dir, db_url, user, samples):
    """Load the demo patient from sample_images/ into the records (once)."""
    records = _records(data_dir, db_url)
    patient = records.load_demo(_actor(user), samples)
    click.echo(f"demo patient {patient.code}: {patient.session_count} sessions in {records.data_dir}")


@main.command()
@data_option
@db_option
@click.option("--repair", is_flag=True, help="Delete orphan and half-written files.")
def doctor(data_dir, db_url, repair):
    """Check that every photo row has its file and every file a row."""
    report = _records(data_dir, db_url).doctor(repair=repair)
    for label, items in (
        ("orphan files (no row)", report.orphan_files),
        ("half-written files", report.temporary_files),
        ("photos whose file is missing", report.missing_files),
        ("files that no longer match their hash", report.corrupt_files),
    ):
        click.echo(f"{label}: {len(items)}")
        for item in items:
            click.echo(f"  {item}")
    if repair:
        click.echo("repaired: orphan and half-written files deleted")
    sys.exit(0 if report.healthy or (repair and not report.missing_files and not report.corrupt_files) else 1)


@main.group()
def archive():
    """Back up or restore one patient (zip of records and photos)."""


@archive.command("export")
@click.argument("patient_code")
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--purpose", type=click.Choice(["clinical", "teaching", "publication"]), default="clinical")
@data_option
@db_option
@user_option
def archive_export(patient_code, output, purpose, data_dir, db_url, user):
    records = _records(data_dir, db_url)
    actor = _actor(user)
    patient = records.find_patient(actor, patient_code)
    if patient is None:
        raise click.ClickException(f"No patient with code {patient_code!r}.")
    manifest = records.export_patient_archive(actor, patient.id, output, purpose=purpose)
    click.echo(f"{manifest['photos']} photos written to {output}")


@archive.command("import")
@click.argument("archive_file", type=click.Path(path_type=Path, exists=True))
@data_option
@db_option
@user_option
def archive_import(archive_file, data_dir, db_url, user):
    from .records import RecordsError

    try:
        patient = _records(data_dir, db_url).import_patient_archive(_actor(user), archive_file)
    except RecordsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"patient {patient.code} restored")


@main.command()
@data_option
@db_option
@user_option
@click.option("--force", is_flag=True, help="Measure every photo again, not only stale ones.")
def rescore(data_dir, db_url, user, force):
    """Measure stored photos again after an engine update."""
    count = _records(data_dir, db_url).rescore(_actor(user), force=force)
    click.echo(f"{count} photos measured again")


if __name__ == "__main__":  # pragma: no cover
    main()
