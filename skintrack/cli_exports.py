"""``skintrack`` commands for reports and exports: report, export-scores, teaching-set, dicom.

Registered on the :func:`skintrack.cli.main` group when :mod:`skintrack.cli` is imported.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _actor, _area_or_fail, _patient_or_fail, _records, _writable, data_option, db_option, main, user_option
from .measure.metrics import OVERLAYS


@main.command("report")
@click.argument("patient_code")
@click.option("--area", default=None, help="Treated area, e.g. 'left cheek' (optional when the patient has one).")
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="FILE.pdf")
@click.option("--for", "audience", type=click.Choice(["provider", "patient"]), default="provider", show_default=True,
              help="The clinical report, or the patient's plain-words version.")  # fmt: skip
@click.option("--full-name", is_flag=True, help="Print the patient's full name (default: the code only).")
@click.option("--every-session", is_flag=True, help="Also show the photo of every session.")
@click.option("--overlay", "overlays", multiple=True, type=click.Choice(OVERLAYS),
              help="Also show this measurement overlay (repeatable).")  # fmt: skip
@click.option("--clinic-name", default=None, help="Clinic name in the header (default: clinic.json in the data folder).")
@click.option("--logo", type=click.Path(path_type=Path), default=None, help="Clinic logo, PNG or JPEG.")
@data_option
@db_option
@user_option
def report_command(patient_code, area, output, audience, full_name, every_session, overlays, clinic_name, logo, data_dir, db_url, user):
    """Write the PDF report of one patient's treated area."""
    from .private_files import atomic_write
    from .records import RecordsError
    from .report.clinic import Clinic, ClinicError, load_clinic
    from .report.fonts import FontsMissing
    from .report.pdf import build_pdf

    _writable(output, (".pdf",))
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    patient = _patient_or_fail(records, actor, patient_code)
    chosen = _area_or_fail(records, actor, patient, area)
    try:
        clinic = load_clinic(records.data_dir)
        if logo:
            clinic = Clinic.from_files(clinic.name, logo, clinic.address)
        if clinic_name:
            clinic = Clinic(clinic_name.strip(), clinic.logo, clinic.address)
        pdf = build_pdf(
            records, actor, patient.id, chosen.id, audience=audience, full_name=full_name,
            sessions="all" if every_session else None, overlays=overlays, clinic=clinic,
        )  # fmt: skip
    except (RecordsError, ClinicError, FontsMissing) as exc:
        raise click.ClickException(str(exc)) from None
    atomic_write(output, pdf)
    click.echo(f"{audience} report for {patient.code} ({chosen.name}) written to {output}", err=True)


@main.command("export-scores")
@click.argument("patient_code")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="FILE.csv or FILE.parquet (default: CSV on stdout).")
@click.option("--area", default=None, help="Only this treated area.")
@data_option
@db_option
@user_option
def export_scores(patient_code, output, area, data_dir, db_url, user):
    """Write a patient's scores: one row per photo and measure, with units, change, noise and verdict."""
    from .report.scores import scores_table
    from .report.tables import write_table

    if output is not None:
        _writable(output, (".csv", ".parquet"))
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    patient = _patient_or_fail(records, actor, patient_code)
    area_id = _area_or_fail(records, actor, patient, area).id if area else None
    table = scores_table(records, actor, patient.id, area_id)
    write_table(table, output)
    if output is not None:
        click.echo(f"{len(table)} rows written to {output}", err=True)


@main.command("teaching-set")
@click.argument("patient_codes", nargs=-1, required=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="FILE.zip")
@click.option("--purpose", type=click.Choice(["teaching", "publication"]), default="teaching", show_default=True,
              help="Only photos whose consent covers this purpose (and not withdrawn).")  # fmt: skip
@click.option("--watermark", default=None, help="Text in the corner of every photo.")
@click.option("--clinic-watermark", is_flag=True, help="Use the clinic's name (clinic.json) as the watermark.")
@click.option("--hide-face", type=click.Choice(["blur", "eye-bar", "none"]), default="blur", show_default=True,
              help="Pixelate the face or cover the eyes in photos that show one (close-ups pass unchanged).")  # fmt: skip
@data_option
@db_option
@user_option
def teaching_set(patient_codes, output, purpose, watermark, clinic_watermark, hide_face, data_dir, db_url, user):
    """Write a de-identified teaching or publication set: consented photos and their numbers, no identity."""
    from .privacy.teaching import export_teaching_set
    from .records import RecordsError
    from .report.clinic import ClinicError, load_clinic

    _writable(output, (".zip",))
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    patients = [_patient_or_fail(records, actor, code) for code in patient_codes]
    try:
        if clinic_watermark and not watermark:
            watermark = load_clinic(records.data_dir).name
        manifest = export_teaching_set(records, actor, [p.id for p in patients], output, purpose=purpose, watermark=watermark,
                                       anonymise=hide_face)  # fmt: skip
    except (RecordsError, ClinicError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{manifest['photos']} photos of {manifest['cases']} of {len(patients)} patients written to {output} "
               f"(only photos with {purpose} consent that was not withdrawn)", err=True)  # fmt: skip


@main.command("dicom")
@click.argument("patient_code")
@click.option("--session", "session_date", required=True, help="The session's date, YYYY-MM-DD.")
@click.option("--area", default=None, help="Only this treated area (default: every area photographed).")
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="FILE.zip or a folder.")
@click.option("--full-name", is_flag=True, help="Put the patient's full name in the files (default: the code only).")
@data_option
@db_option
@user_option
def dicom_command(patient_code, session_date, area, output, full_name, data_dir, db_url, user):
    """Export a session's photos as DICOM VL Photographic Images (one study per session) for a hospital PACS."""
    import datetime as dt

    from .records import RecordsError
    from .report.dicom import export_session_dicom

    try:
        day = dt.date.fromisoformat(session_date)
    except ValueError:
        raise click.BadParameter(f"{session_date!r} is not a date (YYYY-MM-DD)", param_hint="--session") from None
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    patient = _patient_or_fail(records, actor, patient_code)
    area_id = _area_or_fail(records, actor, patient, area).id if area else None
    sessions = [s for s in records.list_sessions(actor, patient.id) if s.date == day]
    if not sessions:
        raise click.ClickException(f"Patient {patient.code} has no session on {day.isoformat()}.")
    if len(sessions) > 1 and output.suffix.lower() == ".zip":
        raise click.ClickException(f"{len(sessions)} sessions on {day.isoformat()}: export them into a folder, not one zip.")
    written = []
    try:
        for session in sessions:
            written += export_session_dicom(records, actor, session.id, output, area_id=area_id, include_name=full_name)
    except RecordsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(written)} DICOM files written to {output}", err=True)
