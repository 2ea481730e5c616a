"""The ``skintrack`` command line (also ``python -m skintrack``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .photo import PhotoError, load_photo


#: Exit code when some photos could not be scored (their rows carry the error).
EXIT_SOME_FAILED = 3
#: Exit code when the disk is full: nothing was corrupted (a table or archive being written is not
#: replaced, the records keep what was committed); free some space and run the command again.
EXIT_DISK_FULL = 4


class DiskFull(click.ClickException):
    """The disk (or quota) is full: a clear message and :data:`EXIT_DISK_FULL`, no traceback."""

    exit_code = EXIT_DISK_FULL


def _disk_full(exc: BaseException) -> bool:
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    return type(exc).__name__ == "StorageFull"


class _Commands(click.Group):
    """The command group; a full disk anywhere ends a command with :data:`EXIT_DISK_FULL` and a message."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not _disk_full(exc):
                raise
            detail = str(exc) if type(exc).__name__ == "StorageFull" else f"No space left on the disk ({exc})."
            raise DiskFull(f"{detail} Nothing already written was damaged; free some space and run it again.") from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--course", "course_layout", is_flag=True, help="Lay the photos out as PATIENT/AREA/YYYY-MM-DD/photo.jpg (for `skintrack course`).")
def demo(folder: Path, seed: int | None, course_layout: bool) -> None:
    """Write the synthetic demo patient's photos and manifest into FOLDER."""
    from .synthetic import DEMO_SEED, write_demo

    out = write_demo(folder, seed=DEMO_SEED if seed is None else seed, course_layout=course_layout)
    click.echo(f"demo photos written to {out}")


# --------------------------------------------------------------------------- shared options

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



# --------------------------------------------------------------------------- batch

#: Space a table needs per photo (a CSV row is about 0.5 KB; a course table has one row per measure).
TABLE_BYTES_PER_PHOTO = 8 * 1024


def _read_table(path: Path):
    """The table a previous run wrote (for resuming); a clear error when it is not one."""

    from .batch import COLUMNS

    from .report.tables import read_table

    try:
        table = read_table(path)
    except Exception as exc:  # pandas/pyarrow raise many types for a damaged file
        raise click.ClickException(
            f"{path} exists but cannot be read as a skintrack table ({type(exc).__name__}); "
            "use --force to replace it or choose another --output."
        ) from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise click.ClickException(
            f"{path} is not a `skintrack score` table (no {', '.join(missing[:3])} column); "
            "use --force to replace it or choose another --output."
        )
    return table


def _write_table(table, output: Path | None) -> None:
    from .report.tables import write_table

    write_table(table, output)


def _check_space(output: Path | None, photos: int) -> None:
    """Refuse to start when the output's disk cannot hold the table (not after hours of scoring)."""
    import shutil

    if output is None:
        return
    needed = photos * TABLE_BYTES_PER_PHOTO + 2**20
    if output.exists():
        needed += output.stat().st_size  # the new table is written beside the old one, then renamed
    try:
        free = shutil.disk_usage(output.parent).free
    except OSError:
        return
    if free < needed:
        raise DiskFull(
            f"{output.parent} has {free / 2**20:.1f} MiB free; the table of {photos} photos needs about "
            f"{needed / 2**20:.1f} MiB. Nothing was scored."
        )


def _check_output(output: Path | None) -> None:
    """Refuse a bad --output before any photo is scored, not after hours of work."""
    if output is None:
        return
    if output.suffix.lower() not in (".csv", ".parquet"):
        raise click.BadParameter("must end in .csv or .parquet", param_hint="--output")
    import tempfile

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output.parent):
            pass
    except OSError as exc:
        raise click.BadParameter(f"cannot write {output}: {exc.strerror or exc}", param_hint="--output") from None
    if output.exists() and output.is_dir():
        raise click.BadParameter(f"{output} is a folder", param_hint="--output")


def _run_batch(function, *args, **kwargs):
    """Run a batch; a Dask scheduler that cannot be reached or a bad folder is a clear error."""
    try:
        return function(*args, **kwargs)
    except ConnectionError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("score")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="FILE.csv or FILE.parquet (default: CSV on stdout).")
@click.option("--workers", "-w", type=click.IntRange(1), default=None, help="Processes on this machine (default: one per CPU).")
@click.option("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786.")
@click.option("--pattern", default="**/*", show_default=True, help="Glob for photos inside folders.")
@click.option("--reference", type=click.Path(path_type=Path, exists=True), default=None, help="Baseline photo whose thresholds every photo is measured with.")
@click.option("--force", is_flag=True, help="Score again photos already in the output.")
def score_command(paths, output, workers, scheduler, pattern, reference, force):
    """Score photos (files or folders) into a table: path, sha256, the measures, error.

    Re-running with the same output skips photos already scored with the same
    settings (by hash) unless --force. Exit status: 0 when every photo was
    scored, 3 when some could not be (their rows carry the error).
    """
    import pandas as pd

    from .batch import COLUMNS, find_photos, score_folder, tune_allocator

    _check_output(output)
    tune_allocator()  # this process is ours: score with --workers 1 as fast as a pool worker
    previous = None
    skip = {}
    if output is not None and output.exists() and not force:
        previous = _read_table(output)
        ok = previous[previous["error"].isna()]
        skip = dict(zip(ok["sha256"], ok["settings_hash"]))
    photos = find_photos(paths, pattern)
    if not photos:
        click.echo(f"warning: no photos found in {', '.join(map(str, paths))} matching {pattern!r}", err=True)
    _check_space(output, len(photos))
    table = _run_batch(
        score_folder, photos, reference=reference, workers=workers, scheduler=scheduler, progress=True, skip=skip
    )
    if previous is not None:
        present = {str(p) for p in photos}
        kept = previous[previous["path"].astype(str).isin(present) & ~previous["path"].astype(str).isin(set(table["path"]))]
        table = pd.concat([kept[COLUMNS], table], ignore_index=True).sort_values("path", ignore_index=True)
    _write_table(table, output)
    failed = table[table["error"].notna()]
    for _, row in failed.iterrows():
        click.echo(f"failed: {row['path']}: {row['error']}", err=True)
    resumed = f" ({len(skip)} already in {output}, skipped)" if skip else ""
    click.echo(
        f"scored {len(table) - len(failed)} of {len(table)} photos{resumed}"
        + (f"; {len(failed)} failed" if len(failed) else ""),
        err=True,
    )
    sys.exit(EXIT_SOME_FAILED if len(failed) else 0)


@main.command("course")
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="FILE.csv or FILE.parquet (default: CSV on stdout).")
@click.option("--workers", "-w", type=click.IntRange(1), default=None)
@click.option("--scheduler", default=None, help="Dask scheduler address.")
def course_command(path, output, workers, scheduler):
    """Score a course folder PATIENT/AREA/YYYY-MM-DD/*.jpg against each area's baseline (tidy table)."""
    from .batch import course_layout, score_course, tune_allocator

    _check_output(output)
    try:
        _check_space(output, len(course_layout(path)))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    tune_allocator()
    try:
        table = _run_batch(score_course, path, workers=workers, scheduler=scheduler, progress=True)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _write_table(table, output)
    photos = table.drop_duplicates("path")
    failed = photos[photos["status"] != "scored"]
    for _, row in failed.iterrows():
        click.echo(f"not scored: {row['path']}: {row['error']}", err=True)
    click.echo(f"scored {len(photos) - len(failed)} of {len(photos)} photos in {photos.groupby(['patient', 'area']).ngroups} areas", err=True)
    sys.exit(EXIT_SOME_FAILED if len(failed) else 0)


@main.command("import")
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
@data_option
@db_option
@user_option
def import_command(path, data_dir, db_url, user):
    """Load a course folder PATIENT/AREA/YYYY-MM-DD/*.jpg into the records database."""
    from .batch import course_layout
    from .photo import PhotoError
    from .records import RecordsError, StorageFull

    try:
        items = course_layout(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    records, actor = _records(data_dir, db_url), _actor(user)
    added = failed = 0
    patients: dict[str, str] = {}
    sessions: dict[tuple[str, object], str] = {}
    for item in items:
        code = item["patient"]
        try:
            if code not in patients:
                patients[code] = _patient_with_code(records, actor, code)
            patient_id = patients[code]
            if (code, item["date"]) not in sessions:
                session = records.session_on(actor, patient_id, item["date"], "other", notes=f"imported from {path}")
                sessions[(code, item["date"])] = session.id
            area = records.add_area(actor, patient_id, item["area"].replace("-", " ").replace("_", " "))
            view = records.add_photo(actor, sessions[(code, item["date"])], area.id, item["path"])
            added += 0 if view.duplicate else 1
        except StorageFull:
            click.echo(f"imported {added} photos for {len(patients)} patients before the disk filled up", err=True)
            raise
        except (PhotoError, RecordsError) as exc:
            failed += 1
            click.echo(f"failed: {item['path']}: {exc}", err=True)
    click.echo(f"imported {added} photos for {len(patients)} patients ({failed} failed)", err=True)
    sys.exit(EXIT_SOME_FAILED if failed else 0)


def _patient_with_code(records, actor, code: str) -> str:
    """The id of the patient with ``code``, created when there is none (another import may create it meanwhile)."""
    from .records import InvalidInput

    for attempt in range(2):
        existing = records.find_patient(actor, code)
        if existing is not None:
            return existing.id
        try:
            return records.add_patient(actor, code).id
        except InvalidInput:
            if attempt:
                raise
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- records

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
        ("files that still carry identifying metadata (GPS, serial numbers)", report.identifying_files),
    ):
        click.echo(f"{label}: {len(items)}")
        for item in items:
            click.echo(f"  {item}")
    if repair:
        click.echo("repaired: orphan and half-written files deleted, identifying metadata removed")
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
