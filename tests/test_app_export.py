"""The app's Export page (skintrack_app/pages/export.py): report, teaching set and DICOM built from the page."""

from __future__ import annotations

import pytest

from .test_app import _page, _staff


def _export_page(patient_id: str):
    """The Export page, signed in as the provider ``dr-test``, with ``patient_id`` selected."""
    return _page("export", patient_id)


def _downloads(at) -> list:
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if child.type == "download_button":
                found.append(child)
            walk(child)

    walk(at.main)
    return found


@pytest.fixture
def demo_app(demo_records, monkeypatch):
    records, patient, _ = demo_records
    _staff(records.data_dir)
    monkeypatch.setenv("SKINTRACK_DATA", str(records.data_dir))
    return patient


def test_export_page_offers_the_scores_in_csv_and_parquet(demo_app):
    at = _export_page(demo_app.id).run()
    assert not at.exception
    assert len(_downloads(at)) == 2
    assert {"unit", "mdc95", "beyond_noise", "verdict"} <= set(at.dataframe[0].value.columns)


@pytest.mark.parametrize("audience", ["provider", "patient"])
def test_provider_builds_the_pdf_report_from_the_page(demo_app, audience):
    at = _export_page(demo_app.id).run()
    at.radio(key="report_audience").set_value(audience)
    at.multiselect(key="report_overlays").select("redness")
    at.button(key="build_report").click().run()
    assert not at.exception and not at.error
    assert len(_downloads(at)) == 3  # the PDF, besides the two tables


def test_teaching_set_and_dicom_from_the_page(demo_app):
    at = _export_page(demo_app.id).run()
    assert at.radio(key="teaching_hide_face").value == "blur"  # faces leave blurred unless the provider says otherwise
    at.button(key="build_teaching").click().run()
    assert not at.exception
    assert any("teaching consent" in i.value for i in at.info)  # the demo photos are for the record only
    at.button(key="build_dicom").click().run()
    assert not at.exception and len(_downloads(at)) == 3


def test_showing_the_scores_is_not_an_export_but_downloading_them_is(demo_app, demo_records):
    """Review of issue 22: every run of the Export page wrote an "export: scores table" line (the table is
    built to be shown), so each click anywhere on the page logged an export that never happened."""
    from skintrack.records import Actor

    records = demo_records[0]
    admin = Actor("check", role="admin")

    def exports():
        return [e for e in records.audit_log(admin, action="export") if e.target.startswith("scores table")]

    before = len(exports())
    at = _export_page(demo_app.id).run()
    at.checkbox(key="report_full_name").check().run()  # another click on the page: the table is shown again
    assert not at.exception and len(exports()) == before
    next(d for d in _downloads(at) if d.key == "download_csv").click().run()
    lines = exports()
    assert len(lines) == before + 1
    assert lines[0].username == "dr-test" and lines[0].patient_id == demo_app.id and "CSV" in lines[0].target
