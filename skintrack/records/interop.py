"""Records sent to other systems (a FHIR bundle, DICOM to a PACS): checked and written to the audit log.

The exports themselves live in :mod:`skintrack.report` (``fhir.py``, ``pacs.py``);
this only says, in the audit log, what left the clinic's records, for whom and where to.
"""

from __future__ import annotations

from . import validation
from .db import Patient
from .views import Actor

__all__ = ["InteropMixin"]


class InteropMixin:
    """The audit line of an export to another system."""

    def note_export(self, actor: Actor, patient_id: str, what: str) -> None:
        """Check that ``actor`` may export the patient's record and log the export (``export``, with ``what``:
        e.g. "FHIR bundle, 6 photos" or "DICOM to ORTHANC@pacs:104, 4 of 4 stored"). One line per call."""
        self.authorize(actor, "export", patient_id)
        detail = validation.text(" ".join(str(what).split()), "The export's description", max_length=500)
        with self._db() as db:
            self._get(db, Patient, patient_id, "patient")
            self._audit(db, actor, "export", patient_id=patient_id, detail=detail)
