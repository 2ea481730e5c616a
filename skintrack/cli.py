"""The ``skintrack`` command line (also ``python -m skintrack``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .intake.photo import PhotoError, load_photo

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
    """The command group: records errors (refused permission, bad input, …) end a command with their message,
    and a full disk anywhere with :data:`EXIT_DISK_FULL` and a message — never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if _disk_full(exc):
                detail = str(exc) if type(exc).__name__ == "StorageFull" else f"No space left on the disk ({exc})."
                raise DiskFull(f"{detail} Nothing already written was damaged; free some space and run it again.") from None
            errors = sys.modules.get("skintrack.records.errors")
            if errors is not None and isinstance(exc, errors.RecordsError):
                raise click.ClickException(str(exc)) from None
            raise


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
user_option = click.option(
    "--user", default=None,
    help="Act as this skintrack account (its role applies) instead of as the local operator.",
)  # fmt: skip


def _records(data_dir, db_url):
    from .records import Records, RecordsError

    try:
        return Records(data_dir, db_url=db_url)
    except RecordsError as exc:
        raise click.ClickException(str(exc)) from None


def _operator(records):
    """The local operator: the OS user running the command, acting as an administrator.

    The command line opens the data folder (and database) directly, so whoever may
    run it on the folder could read it anyway; what keeps others out is the folder's
    OS permissions. The operator is therefore the OS account that owns the data folder
    (or root), recorded in the audit log as "<login> (local operator)" with source
    ``cli``. Anyone else is refused.
    """
    import getpass

    from .records import Actor

    try:
        login = getpass.getuser() or "unknown"
    except (KeyError, OSError):  # no name for this uid (e.g. in a container)
        login = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    if hasattr(os, "getuid"):
        owner = records.data_dir.stat().st_uid
        if os.getuid() not in (0, owner):
            raise click.ClickException(
                f"The data folder {records.data_dir} belongs to another OS user; run skintrack as that user."
            )
    return Actor(f"{login} (local operator)", role="admin", source="cli")


def _actor(records, user):
    """Who a command acts as: the local operator, or with --user the named account (its role applies)."""
    from .records import NotFound

    operator = _operator(records)
    if not user:
        return operator
    try:
        return records.act_as(operator, user)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None


# Shared by the export and interop commands (cli_exports, cli_interop): defined here, which both import
# after `main` exists, so either module can be imported first.
def _patient_or_fail(records, actor, code: str):
    patient = records.find_patient(actor, code)
    if patient is None:
        raise click.ClickException(f"No patient with code {code!r}.")
    return patient


def _area_or_fail(records, actor, patient, name: str | None):
    areas = records.list_areas(actor, patient.id)
    if name is None:
        if len(areas) == 1:
            return areas[0]
        listed = ", ".join(a.name for a in areas) or "none yet"
        raise click.ClickException(f"Patient {patient.code} has {len(areas)} areas ({listed}); choose one with --area.")
    wanted = " ".join(name.replace("-", " ").replace("_", " ").split()).lower()
    for area in areas:
        if area.name.lower() == wanted:
            return area
    listed = ", ".join(a.name for a in areas) or "none yet"
    raise click.ClickException(f"Patient {patient.code} has no area {name!r} (areas: {listed}).")


def _writable(output: Path, suffixes: tuple[str, ...]) -> None:
    if output.suffix.lower() not in suffixes:
        raise click.BadParameter(f"must end in {' or '.join(suffixes)}", param_hint="--output")
    if output.is_dir():
        raise click.BadParameter(f"{output} is a folder", param_hint="--output")
    if not output.parent.is_dir():
        raise click.BadParameter(f"the folder {output.parent} does not exist", param_hint="--output")


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
    missing = [c for c in COLUMNS if c not in table.columns and c != "status"]  # tables before 0.3.1 had no status
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
@click.option("--reference", type=click.Path(path_type=Path, exists=True), default=None, help="Baseline photo every photo is compared with (normalised to it, aligned onto it, scored with its yardstick).")
@click.option("--force", is_flag=True, help="Score again photos already in the output.")
def score_command(paths, output, workers, scheduler, pattern, reference, force):
    """Score photos (files or folders) into a table: path, sha256, the measures, error, status.

    Each photo is measured as the app measures it: as a baseline (normalised from its
    neutral reference, with its own thresholds), or with --reference against that
    baseline photo (aligned onto it; a photo that cannot be compared gets the reason).

    Re-running with the same output skips photos already scored with the same
    settings (by hash) unless --force. Exit status: 0 when every photo was
    scored, 3 when some could not be (their rows carry the error).
    """
    import pandas as pd

    from .batch import COLUMNS, find_photos, resume_plan, score_folder, tune_allocator

    _check_output(output)
    tune_allocator()  # this process is ours: score with --workers 1 as fast as a pool worker
    photos = find_photos(paths, pattern)
    if not photos:
        click.echo(f"warning: no photos found in {', '.join(map(str, paths))} matching {pattern!r}", err=True)
    kept, skip = None, {}
    if output is not None and output.exists() and not force:
        # Matched by content (sha256), not by name: a renamed or copied photo keeps its row, under its new path.
        kept, skip = resume_plan(photos, _read_table(output))
    _check_space(output, len(photos) - (len(kept) if kept is not None else 0))
    table = _run_batch(
        score_folder, photos, reference=reference, workers=workers, scheduler=scheduler, progress=True, skip=skip
    )
    if kept is not None and len(kept):
        table = pd.concat([kept[COLUMNS], table], ignore_index=True).sort_values("path", ignore_index=True)
    _write_table(table, output)
    failed = table[table["error"].notna()]
    for _, row in failed.iterrows():
        click.echo(f"failed: {row['path']}: {row['error']}", err=True)
    resumed = f" ({len(kept)} already in {output}, skipped)" if kept is not None and len(kept) else ""
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
    from .intake.photo import PhotoError
    from .records import RecordsError, StorageFull

    try:
        items = course_layout(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
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
@click.option("--no-accounts", is_flag=True, help="Do not create the demo provider and demo patient accounts.")
@click.option("--cohort", is_flag=True, help="Also load the demo clinic: 40 simulated patients with known effects (Outcomes page).")
def load_demo(data_dir, db_url, user, samples, no_accounts, cohort):
    """Load the demo patient from sample_images/ into the records (once), with a demo provider and a demo
    patient account whose passwords are printed; with --cohort also the simulated demo clinic (once)."""
    if os.environ.get("SKINTRACK_ENV", "").strip().lower() == "production":
        click.echo("SKINTRACK_ENV=production: the demo patient and accounts are not loaded.")
        return
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    patient = records.load_demo(actor, samples)
    click.echo(f"demo patient {patient.code}: {patient.session_count} sessions in {records.data_dir}")
    if cohort:
        from .cohort.demo import load_demo_cohort

        done = load_demo_cohort(records, actor, progress=sys.stderr.isatty())
        click.echo(f"demo clinic: {done['loaded']} simulated patients loaded ({done['photos']} photos measured in "
                   f"{done['seconds']:.0f} s), {done['skipped']} already there")  # fmt: skip
    if no_accounts:
        return
    credentials = records.create_demo_accounts(actor, patient.id)
    click.echo("demo accounts (for trying skintrack only; disable them before real use):")
    for username, password in credentials.items():
        click.echo(f"  user name {username:<14} password {password}")


@main.command()
@data_option
@db_option
@user_option
@click.option("--repair", is_flag=True, help="Delete orphan and half-written files, clean identifying metadata, "
              "move an encrypted store's old files to keyed names.")
def doctor(data_dir, db_url, user, repair):
    """Check that every photo row has its file and every file a row, and that every file is the photo its name
    promises; with --repair, fix what can be fixed without a human (also: encrypt an encrypted store's older
    files under keyed names, after SKINTRACK_KEY was set on an existing store or on a store from 0.3.0)."""
    records = _records(data_dir, db_url)
    report = records.doctor(_actor(records, user), repair=repair)
    for label, items in (
        ("orphan files (no row)", report.orphan_files),
        ("half-written files", report.temporary_files),
        ("photos whose file is missing", report.missing_files),
        ("files that no longer match their hash", report.corrupt_files),
        ("files that still carry identifying metadata (GPS, serial numbers)", report.identifying_files),
        ("files of the encrypted store not yet under keyed names", report.unkeyed_files),
    ):
        click.echo(f"{label}: {len(items)}")
        for item in items:
            click.echo(f"  {item}")
    if repair:
        click.echo("repaired: orphan and half-written files deleted, identifying metadata removed, "
                   "files encrypted under keyed names")
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
    """Write a patient's zip: the clinical backup, or with --purpose teaching/publication a de-identified set."""
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
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

    records = _records(data_dir, db_url)
    try:
        patient = records.import_patient_archive(_actor(records, user), archive_file)
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
    records = _records(data_dir, db_url)
    count = records.rescore(_actor(records, user), force=force)
    click.echo(f"{count} photos measured again")


# --------------------------------------------------------------------------- accounts


def _read_password(prompt: str = "Password") -> str:
    """A password from a terminal (asked twice, not echoed) or the first line of stdin (scripts)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise click.ClickException("No password on standard input (give it as the first line).")
    return password


@main.group()
def users():
    """Accounts: add, list, disable, enable, unlock, reset-password; patients' invitations and revoking them.

    Passwords are read from standard input when it is not a terminal (the first
    line), and asked twice otherwise; they are never taken as an argument (which
    would leave them in the shell history and the process list).
    """


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "provider", "patient"]), required=True)
@click.option("--patient", "patient_code", default=None, help="The patient's code (patient accounts).")
@click.option("--email", default=None, help="E-mail the identity provider reports (sign-in with st.login).")
@click.option("--name", "display_name", default=None, help="Name shown in the app and the audit log.")
@click.option("--no-password", is_flag=True, help="Sign in through the identity provider only (needs --email).")
@data_option
@db_option
@user_option
def users_add(username, role, patient_code, email, display_name, no_password, data_dir, db_url, user):
    """Create an account USERNAME."""
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    patient_id = None
    if role == "patient":
        if not patient_code:
            raise click.BadParameter("a patient account needs --patient CODE", param_hint="--patient")
        patient = records.find_patient(actor, patient_code)
        if patient is None:
            raise click.ClickException(f"No patient with code {patient_code!r}.")
        patient_id = patient.id
    elif patient_code:
        raise click.BadParameter("only patient accounts have a patient", param_hint="--patient")
    password = None if no_password else _read_password()
    created = records.add_user(
        actor, username, password, role=role, patient_id=patient_id, email=email, display_name=display_name
    )
    click.echo(f"account {created.username} ({created.role}) created")


@users.command("list")
@data_option
@db_option
@user_option
def users_list(data_dir, db_url, user):
    """List the accounts."""
    records = _records(data_dir, db_url)
    accounts = records.list_users(_actor(records, user))
    if not accounts:
        click.echo("no accounts yet: `skintrack users add NAME --role admin` creates the first one")
        return
    click.echo(f"{'user name':<24} {'role':<9} {'patient':<12} {'status':<15} {'last log-in':<17} e-mail")
    for account in accounts:
        last = account.last_login_at.strftime("%Y-%m-%d %H:%M") if account.last_login_at else "never"
        status = account.status + (" (demo)" if account.is_demo else "")
        click.echo(
            f"{account.username:<24} {account.role:<9} {account.patient_code or '':<12} {status:<15} {last:<17} "
            f"{account.email or ''}"
        )


def _account_command(name: str, method: str, done: str, help_text: str) -> None:
    @users.command(name, help=help_text)
    @click.argument("username")
    @data_option
    @db_option
    @user_option
    def command(username, data_dir, db_url, user):
        records = _records(data_dir, db_url)
        account = getattr(records, method)(_actor(records, user), username)
        click.echo(f"account {account.username} {done}")


for _name, _method, _done, _help in (
    ("disable", "disable_user", "disabled", "Disable USERNAME: it can no longer log in."),
    ("enable", "enable_user", "enabled", "Enable USERNAME again."),
    ("unlock", "unlock_user", "unlocked", "End the lockout of USERNAME after too many wrong passwords."),
):
    _account_command(_name, _method, _done, _help)


@users.command("reset-password")
@click.argument("username")
@data_option
@db_option
@user_option
def users_reset_password(username, data_dir, db_url, user):
    """Set a new password for USERNAME (also ends a lockout)."""
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    password = _read_password("New password")
    account = records.reset_password(actor, username, password)
    click.echo(f"password of {account.username} reset")


def _patient_id(records, actor, code: str) -> str:
    patient = records.find_patient(actor, code)
    if patient is None:
        raise click.ClickException(f"No patient with code {code!r}.")
    return patient.id


@users.command("invitations")
@click.argument("patient_code")
@data_option
@db_option
@user_option
def users_invitations(patient_code, data_dir, db_url, user):
    """List PATIENT_CODE's invitation codes (newest first) and their status; the codes themselves are never stored."""
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    invitations = records.list_invitations(actor, _patient_id(records, actor, patient_code))
    if not invitations:
        click.echo("no invitations")
    for i in invitations:
        click.echo(f"{i.id}  {i.status:<8} made {i.created_at:%Y-%m-%d %H:%M} UTC by {i.created_by}, "
                   + (f"used by {i.used_by}" if i.used_by else f"valid until {i.expires_at:%Y-%m-%d %H:%M} UTC"))  # fmt: skip


@users.command("revoke-invitation")
@click.argument("patient_code")
@click.option("--id", "invitation_id", default=None, help="Only this invitation (see `users invitations`); default: every open one.")
@data_option
@db_option
@user_option
def users_revoke_invitation(patient_code, invitation_id, data_dir, db_url, user):
    """Revoke PATIENT_CODE's open invitation codes (or one): they stop working at once. Logged."""
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    patient_id = _patient_id(records, actor, patient_code)
    if invitation_id:
        before = {i.id: i.status for i in records.list_invitations(actor, patient_id)}
        if invitation_id not in before:
            raise click.ClickException(f"{patient_code} has no invitation {invitation_id!r}.")
        records.revoke_invitation(actor, invitation_id)
        count = int(before[invitation_id] == "open")
    else:
        count = records.revoke_invitations(actor, patient_id)
    click.echo(f"{count} invitation{'' if count == 1 else 's'} revoked")


@main.group()
def audit():
    """The audit log: prune lines past their retention."""


@audit.command("prune")
@data_option
@db_option
@user_option
def audit_prune(data_dir, db_url, user):
    """Delete audit lines past retention: failed log-ins after 90 days, everything after 6 years (logged)."""
    records = _records(data_dir, db_url)
    count = records.prune_audit(_actor(records, user))
    click.echo(f"{count} audit lines past their retention deleted")


@main.command()
def keygen():
    """Print a new random key for SKINTRACK_KEY (encryption of stored photos).

    Photos stored before the key was set stay readable; `skintrack doctor --repair` with the key set
    encrypts them under keyed names."""
    from .records.store import generate_key

    click.echo(generate_key())


from . import (
    cli_cohort,  # noqa: E402,F401  (adds cohort to `main`)
    cli_exports,  # noqa: E402,F401  (adds report, export-scores, teaching-set, dicom to `main`)
    cli_interop,  # noqa: E402,F401  (adds api, tokens, fhir, send-dicom to `main`)
)

if __name__ == "__main__":  # pragma: no cover
    main()
