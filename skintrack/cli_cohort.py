"""``skintrack cohort``: the cohort table, its dictionary and the models, from the command line.

Registered on the :func:`skintrack.cli.main` group when :mod:`skintrack.cli` is imported.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _actor, _check_output, _records, _run_batch, data_option, db_option, main, user_option


def _protocol(ctx, param, values):
    from .cohort import parse_protocol

    chosen = {}
    for value in values:
        try:
            protocol = parse_protocol(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param=param) from None
        chosen[protocol.treatment] = protocol
    return chosen


@main.command("cohort")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="The cohort table, FILE.parquet or FILE.csv; its data dictionary goes beside it (FILE.dictionary.json).")
@click.option("--effects", type=click.Path(path_type=Path), default=None,
              help="Also fit the models and write every estimate (with its 95 % interval and patients) to FILE.csv or .parquet.")
@click.option("--by", type=click.Choice(["treatment", "setting", "adherence"]), multiple=True,
              help="How the models group patients (repeatable; default: treatment and setting).")
@click.option("--patient", "patient_codes", multiple=True, help="Only these patient codes (repeatable).")
@click.option("--measure", "measures", multiple=True, help="Only these measures (repeatable; default: all).")
@click.option("--consent", type=click.Choice(["teaching", "publication"]), default=None,
              help="Only photos whose consent covers this use (withdrawn photos are always left out).")
@click.option("--protocol", "protocol_overrides", multiple=True, callback=_protocol, metavar="TREATMENT=MIN-MAX",
              help="A spacing protocol, e.g. micro-needling=28-42 (days) or micro-needling=4-6w (repeatable).")
@click.option("--min-patients", type=click.IntRange(2), default=5, show_default=True,
              help="Groups with fewer patients get no estimate.")
@click.option("--scheduler", default=None, help="Dask scheduler address: build the table per patient on the cluster.")
@data_option
@db_option
@user_option
def cohort_command(output, effects, by, patient_codes, measures, consent, protocol_overrides, min_patients, scheduler,
                   data_dir, db_url, user):  # fmt: skip
    """Outcomes across patients: one row per patient, area, measure and visit, and which treatment works.

    Staff only (a patient's account is refused). Reads every record through the records service
    as the acting user; writes nothing into the data folder.
    """
    from .cohort import adherence_summary, build_cohort_table, estimates_table, fit_cohort, write_cohort

    if output is None and effects is None:
        raise click.UsageError("Give --output for the table, --effects for the estimates, or both.")
    for path in (output, effects):
        _check_output(path)
    records = _records(data_dir, db_url)
    actor = _actor(records, user)
    table = _run_batch(
        build_cohort_table, records, actor, patients=patient_codes or None, consent=consent,
        metrics=measures or None, protocols=protocol_overrides, scheduler=scheduler,
    )  # fmt: skip
    patients = table["patient"].nunique() if len(table) else 0
    if output is not None:
        dictionary = write_cohort(table, output)
        click.echo(f"cohort table: {patients} patients, {len(table)} rows -> {output} (dictionary: {dictionary})")
    for row in adherence_summary(table, protocol_overrides).itertuples():
        if row.courses_judged:
            click.echo(f"{row.treatment}: {row.within_protocol} of {row.courses_judged} courses spaced within "
                       f"{row.protocol} ({100 * row.share_within:.0f} %)")  # fmt: skip
    if effects is not None:
        from .report.tables import write_table

        models = []
        for grouping in by or ("treatment", "setting"):
            models += fit_cohort(table, by=grouping, measures=measures or None, min_patients=min_patients)
        estimates = estimates_table(models)
        write_table(estimates, effects)
        shown = estimates[estimates["kind"] == "group"]
        click.echo(f"{len(estimates)} estimates -> {effects} ({(shown['status'] == 'refused').sum()} groups refused: "
                   f"fewer than {min_patients} patients)")  # fmt: skip
