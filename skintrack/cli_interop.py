"""``skintrack`` commands for other systems: api, tokens, fhir, send-dicom.

Registered on the :func:`skintrack.cli.main` group when :mod:`skintrack.cli` is imported.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .cli import (
    EXIT_SOME_FAILED,
    _actor,
    _area_or_fail,
    _patient_or_fail,
    _records,
    _writable,
    data_option,
    db_option,
    main,
    user_option,
)

# --------------------------------------------------------------------------- the REST API


@main.command("api")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep loopback and put an HTTPS reverse proxy in front (README, deployment).")  # fmt: skip
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--fhir-names", is_flag=True, default=None, help="Name patients in FHIR resources (default: pseudonymous).")
@data_option
@db_option
def api_command(host, port, workers, fhir_names, data_dir, db_url):
    """Serve the REST API (OpenAPI schema at /openapi.json) until stopped."""
    from .api.server import is_loopback, serve

    if data_dir is not None:
        os.environ["SKINTRACK_DATA"] = str(Path(data_dir).resolve())
    if db_url:
        os.environ["SKINTRACK_DB_URL"] = db_url
    if fhir_names:
        os.environ["SKINTRACK_FHIR_NAMES"] = "1"
    records = _records(data_dir, db_url)  # fail here, clearly, rather than in every worker
    records.close()
    if not is_loopback(host):
        click.echo(f"warning: listening on {host}: tokens and photos cross the network in clear unless an HTTPS "
                   "reverse proxy is in front (see the README, 'Deploying').", err=True)  # fmt: skip
    click.echo(f"skintrack API on http://{host}:{port} (schema: /openapi.json); Ctrl-C stops it", err=True)
    serve(host=host, port=port, workers=workers)


# --------------------------------------------------------------------------- tokens


@main.group()
def tokens():
    """API tokens of accounts: create (shown once), list, revoke."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", "label", required=True, help="What the token is for, e.g. 'EMR bridge'.")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 5 * 365), help="Days until it expires.")
@data_option
@db_option
@user_option
def tokens_create(username, label, days, data_dir, db_url, user):
    """Make an API token acting as USERNAME (with its role). The token is printed once: store it safely."""
    records = _records(data_dir, db_url)
    made = records.create_api_token(_actor(records, user), username, name=label, valid_days=days)
    click.echo(made.token)
    click.echo(f"token {made.view.id} for {made.view.username} ({made.view.role}), valid until "
               f"{made.view.expires_at:%Y-%m-%d} UTC; it is not shown again", err=True)  # fmt: skip


@tokens.command("list")
@click.argument("username", required=False)
@data_option
@db_option
@user_option
def tokens_list(username, data_dir, db_url, user):
    """List the API tokens of USERNAME (default: every account's)."""
    records = _records(data_dir, db_url)
    rows = records.list_api_tokens(_actor(records, user), username or "*")
    if not rows:
        click.echo("no API tokens")
        return
    click.echo(f"{'id':<36}  {'account':<20} {'name':<24} {'token':<14} {'status':<16} {'expires':<10}  last used")
    for t in rows:
        last = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never"
        click.echo(f"{t.id:<36}  {t.username:<20} {t.name[:24]:<24} {t.shown + '…':<14} {t.status:<16} "
                   f"{t.expires_at:%Y-%m-%d}  {last}")  # fmt: skip


@tokens.command("revoke")
@click.argument("token_id")
@data_option
@db_option
@user_option
def tokens_revoke(token_id, data_dir, db_url, user):
    """Revoke the token TOKEN_ID (from `skintrack tokens list`) at once."""
    records = _records(data_dir, db_url)
    view = records.revoke_api_token(_actor(records, user), token_id)
    click.echo(f"token {view.id} of {view.username} revoked")


# --------------------------------------------------------------------------- FHIR


@main.command("fhir")
@click.argument("patient_code")
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="FILE.json")
@click.option("--area", default=None, help="Only this treated area (default: the whole course).")
@click.option("--names", is_flag=True, help="Name the patient (code, name, birth year); default: pseudonymous.")
@click.option("--photos", type=click.Choice(["embed", "link", "none"]), default="embed", show_default=True,
              help="Embed each photo in its Media, link it (into the REST API) or leave it out.")  # fmt: skip
@click.option("--transaction", is_flag=True, help="A transaction Bundle (PUT per resource) to load into a FHIR server.")
@data_option
@db_option
@user_option
def fhir_command(patient_code, output, area, names, photos, transaction, data_dir, db_url, user):
    """Write a patient's course as a FHIR R4 Bundle: Patient, Procedure, Media, Observation, Consent."""
    from .private_files import atomic_write
    from .report.fhir import patient_bundle

    _writable(output, (".json",))
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    patient = _patient_or_fail(records, actor, patient_code)
    area_id = _area_or_fail(records, actor, patient, area).id if area else None
    bundle = patient_bundle(records, actor, patient.id, area_id=area_id, names=names, photos=photos,
                            bundle_type="transaction" if transaction else "collection")  # fmt: skip
    atomic_write(output, json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8"))
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    records.note_export(actor, patient.id, f"FHIR bundle to {output.name}: {len(bundle['entry'])} resources ({photos} photos)")
    click.echo(f"{len(bundle['entry'])} resources ({', '.join(f'{n} {k}' for k, n in counts.items())}) written to {output}",
               err=True)  # fmt: skip


# --------------------------------------------------------------------------- PACS


@main.command("send-dicom")
@click.argument("patient_code")
@click.option("--session", "session_date", required=True, help="The session's date, YYYY-MM-DD.")
@click.option("--to", "destination", required=True, envvar="SKINTRACK_PACS",
              help="dicom://AET@host:port (C-STORE) or http(s)://[user:pw@]host/dicom-web (STOW-RS); "
                   "default $SKINTRACK_PACS.")  # fmt: skip
@click.option("--area", default=None, help="Only this treated area (default: every area photographed).")
@click.option("--full-name", is_flag=True, help="Put the patient's full name in the files (default: the code only).")
@click.option("--calling-aet", default="SKINTRACK", show_default=True, help="Our AE title (C-STORE).")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 20), help="Further attempts after a failure.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(1, 600), help="Seconds per network step.")
@data_option
@db_option
@user_option
def send_dicom(patient_code, session_date, destination, area, full_name, calling_aet, retries, timeout, data_dir, db_url, user):
    """Send a session's photos to a PACS as DICOM VL Photographic Images (C-STORE or STOW-RS), with retries.

    Exit status 0 when every instance was stored, 3 when some were not (each is listed with the reason).
    """
    import datetime as dt

    from .report.pacs import PacsError, send_session

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
    failed = 0
    for session in sessions:
        try:
            report = send_session(records, actor, session.id, destination, area_id=area_id, include_name=full_name,
                                  calling_aet=calling_aet, retries=retries, timeout=timeout)  # fmt: skip
        except PacsError as exc:
            raise click.ClickException(str(exc)) from None
        for instance in report.instances:
            if not instance.stored:
                failed += 1
                click.echo(f"not stored: {instance.sop_instance_uid}: {instance.detail or instance.status}", err=True)
        click.echo(report.summary(), err=True)
    sys.exit(EXIT_SOME_FAILED if failed else 0)
