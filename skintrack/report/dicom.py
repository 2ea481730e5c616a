"""DICOM for hospital records: a session's photos as VL Photographic Image objects (pydicom).

Each photo becomes one *VL Photographic Image Storage* instance (SOP class
1.2.840.10008.5.1.4.1.1.77.1.4, modality XC, "external-camera photography")
that a PACS can import:

* **Patient**: Patient ID = the clinic's patient code (Issuer = the clinic);
  the name only when asked for (``include_name``), birth date and sex left
  empty (type 2: known to the hospital, not needed here).
* **Study** = the session (visit): Study Date = the session date, Study
  Description = the treatment. **Series** = one treated area in that session:
  Body Part Examined, Anatomic Region Sequence (SNOMED CT codes as pydicom
  ships them) and Image Laterality from the area's name ("left cheek" →
  CHEEK, L).
* **Image**: acquisition date and time (the camera's capture time when the
  photo had one, else the session date), the photo as stored: a baseline JPEG
  is embedded unchanged (*JPEG Baseline*, YBR_FULL_422 / YBR_FULL), anything
  else as uncompressed RGB; its ICC profile (sRGB when it had none).

UIDs are derived from the record ids (``2.25.`` + a name-based UUID, PS3.5 B.2), so
exporting the same session twice gives the same study, series and instance
UIDs and the PACS updates instead of duplicating. Photos whose consent was
withdrawn are not exported (they never leave the clinical record).

References
----------
DICOM PS3.3 A.32.4 (VL Photographic Image IOD), C.7.3.1 (General Series:
Laterality), C.7.6.1 (General Image: Image Laterality), PS3.5 8.2.1 (JPEG Image Compression), PS3.16 CID 4031 (Common
Anatomic Regions) and CID 244 (Laterality).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .._version import __version__
from ..intake.photo import load_photo
from ..private_files import atomic_write, make_private_dirs
from ..records import Actor, InvalidInput, Records
from .clinic import load_clinic

__all__ = ["Anatomy", "anatomy_of", "export_session_dicom", "session_datasets"]

#: Area words → (pydicom's SNOMED CT code name, Body Part Examined defined term). Longest words first.
_ANATOMY = (
    ("upper arm", "UpperArm", "ARM"), ("forearm", "Forearm", "FOREARM"), ("lower leg", "LowerLeg", "LEG"),
    ("eyelid", "Eyelid", "EYELID"), ("cheek", "Cheek", "CHEEK"), ("nose", "Nose", "NOSE"), ("lip", "Lip", "LIP"),
    ("jaw", "JawRegion", "JAW"), ("ear", "Ear", "EAR"), ("scalp", "Scalp", "SCALP"), ("neck", "Neck", "NECK"),
    ("forehead", "Face", "FACE"), ("chin", "Face", "FACE"), ("temple", "Face", "FACE"), ("face", "Face", "FACE"),
    ("décolleté", "Chest", "CHEST"), ("decollete", "Chest", "CHEST"), ("chest", "Chest", "CHEST"),
    ("breast", "Breast", "BREAST"), ("abdomen", "Abdomen", "ABDOMEN"), ("back", "Back", "BACK"),
    ("shoulder", "Shoulder", "SHOULDER"), ("hand", "Hand", "HAND"), ("thigh", "Thigh", "THIGH"),
    ("knee", "Knee", "KNEE"), ("buttock", "Buttock", "BUTTOCK"), ("hip", "Hip", "HIP"), ("foot", "Foot", "FOOT"),
)  # fmt: skip
_LATERALITY = (("both", "RightAndLeft", "B"), ("bilateral", "RightAndLeft", "B"), ("left", "Left", "L"), ("right", "Right", "R"))


@dataclass(frozen=True)
class Anatomy:
    """Where a treated area is, in DICOM terms."""

    body_part: str | None  #: Body Part Examined (0018,0015), e.g. "CHEEK"
    code: tuple[str, str, str] | None  #: (code value, scheme, meaning) for the Anatomic Region Sequence
    laterality: str | None  #: "L", "R", "B" (both sides) or None
    laterality_code: tuple[str, str, str] | None


def anatomy_of(area_name: str) -> Anatomy:
    """The body part, its SNOMED CT code and the laterality an area's name describes.

    ``"left cheek"`` → CHEEK (SCT 60819002) on the left; ``"forehead"`` → FACE;
    an unknown name gives no body part (the area's name still goes in the series description).
    """
    from pydicom.sr.codedict import codes

    words = " ".join(re.sub(r"[-_/,]+", " ", area_name.lower()).split())

    def first(table) -> tuple[str | None, tuple[str, str, str] | None]:
        """The first entry (word, code name, term) whose word the name holds: (term, SNOMED CT code)."""
        for word, code_name, term in table:
            if re.search(rf"\b{re.escape(word)}s?\b", words):
                concept = getattr(codes.SCT, code_name)
                return term, (concept.value, concept.scheme_designator, concept.meaning)
        return None, None

    body_part, code = first(_ANATOMY)
    laterality, laterality_code = first(_LATERALITY)
    return Anatomy(body_part, code, laterality, laterality_code)


def _uid(*parts: str) -> str:
    """A DICOM UID from a name-based UUID (version 5) of ``parts``: the same record always gets the same UID."""
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, '/'.join(('skintrack', *parts))).int}"


def _code_item(code: tuple[str, str, str]):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code
    return item


def _jpeg_layout(data: bytes) -> str | None:
    """The photometric interpretation to embed ``data`` as JPEG Baseline, or None when it is not one."""
    from PIL import Image, JpegImagePlugin

    if data[:2] != b"\xff\xd8":
        return None
    position = 2
    while position + 4 <= len(data):  # find the frame header: SOF0 (baseline) only
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if marker != 0xC0:
                return None
            break
        if marker == 0xDA:
            return None
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    with Image.open(io.BytesIO(data)) as image:
        if image.mode != "RGB" or getattr(image, "bits", 8) != 8 or image.info.get("adobe_transform") == 0:
            return None
        sampling = JpegImagePlugin.get_sampling(image)
    return {0: "YBR_FULL", 1: "YBR_FULL_422", 2: "YBR_FULL_422"}.get(sampling)


def _srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def session_datasets(
    records: Records,
    actor: Actor,
    session_id: str,
    *,
    area_id: str | None = None,
    include_name: bool = False,
    institution: str | None = None,
) -> list:
    """The session's photos as DICOM VL Photographic Image datasets (``pydicom.Dataset``, ready to write).

    Parameters
    ----------
    records, actor
        The records and who exports (a provider or admin).
    session_id : str
    area_id : str, optional
        Only this area's photos (default: every area photographed in the session).
    include_name : bool
        Put the patient's full name in Patient's Name (default: left empty; the code is the Patient ID).
    institution : str, optional
        Institution Name and Issuer of Patient ID (default: the configured clinic's name).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.sequence import Sequence
    from pydicom.uid import (
        PYDICOM_IMPLEMENTATION_UID,
        ExplicitVRLittleEndian,
        JPEGBaseline8Bit,
        VLPhotographicImageStorage,
    )

    session = records.get_session(actor, session_id)
    records.authorize(actor, "export", session.patient_id)
    patient = records.get_patient(actor, session.patient_id)
    areas = {a.id: a for a in records.list_areas(actor, patient.id)}
    if area_id is not None and area_id not in areas:
        raise InvalidInput("That area does not belong to this patient.")
    photos = [
        p for p in records.list_photos(actor, patient.id, area_id)
        if p.session_id == session.id and not p.consent_withdrawn
    ]  # fmt: skip
    institution = (institution or load_clinic(records.data_dir).name)[:64]
    area_order = sorted({p.area_id for p in photos}, key=lambda a: areas[a].name)
    now = dt.datetime.now()
    datasets = []
    for number, photo in enumerate(photos, start=1):
        data = records.photo_bytes(actor, photo.id)
        area = areas[photo.area_id]
        anatomy = anatomy_of(area.name)
        acquired = photo.captured_at
        sop_uid = _uid("image", photo.id, photo.original_sha256)

        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = VLPhotographicImageStorage
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = f"SKINTRACK_{__version__}"[:16]
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: any patient's or clinic's name
        ds.SOPClassUID, ds.SOPInstanceUID = VLPhotographicImageStorage, sop_uid
        ds.InstanceCreationDate, ds.InstanceCreationTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
        # Patient
        ds.PatientName = _person_name(patient.display_name) if include_name else ""
        ds.PatientID = patient.code
        ds.IssuerOfPatientID = institution
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        # Study = the session
        ds.StudyInstanceUID = _uid("study", session.id)
        ds.StudyDate = session.date.strftime("%Y%m%d")
        ds.StudyTime = ""
        ds.StudyID = session.date.strftime("%Y%m%d")
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = f"skintrack session: {session.treatment}"[:64]
        # Series = one area in the session
        ds.Modality = "XC"
        ds.SeriesInstanceUID = _uid("series", session.id, area.id)
        ds.SeriesNumber = area_order.index(area.id) + 1
        ds.SeriesDescription = area.name[:64]
        if anatomy.body_part:
            ds.BodyPartExamined = anatomy.body_part
        if anatomy.code:
            region = _code_item(anatomy.code)
            if anatomy.laterality_code:
                region.AnatomicRegionModifierSequence = Sequence([_code_item(anatomy.laterality_code)])
            ds.AnatomicRegionSequence = Sequence([region])
        # Equipment
        ds.Manufacturer = ""
        if photo.camera:
            ds.ManufacturerModelName = photo.camera[:64]
        ds.InstitutionName = institution
        ds.SoftwareVersions = f"skintrack {__version__}"
        # Image
        ds.InstanceNumber = number
        ds.PatientOrientation = ""
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        # Image Laterality rather than the series' Laterality (PS3.3 C.7.3.1: not both). The area's
        # name gives no side: "U" (DICOM has no "unknown"; claiming both sides would be worse).
        ds.ImageLaterality = anatomy.laterality or "U"
        if acquired is not None:  # the camera's own capture time
            ds.AcquisitionDate = ds.ContentDate = acquired.strftime("%Y%m%d")
            ds.AcquisitionTime = ds.ContentTime = ds.StudyTime = acquired.strftime("%H%M%S")
            ds.AcquisitionDateTime = acquired.strftime("%Y%m%d%H%M%S")
        else:  # only the visit's date is known
            ds.AcquisitionDate = ds.AcquisitionDateTime = session.date.strftime("%Y%m%d")
        ds.ImageComments = f"view: {photo.view}" + ("" if photo.status == "scored" else f"; {photo.status_reason}")[:10240]
        ds.AcquisitionContextSequence = Sequence([])
        # Pixels
        layout = _jpeg_layout(data)
        if layout is not None:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                width, height, icc = image.width, image.height, image.info.get("icc_profile")
            ds.PhotometricInterpretation = layout
            ds.PixelData = encapsulate([data])
            ds["PixelData"].VR = "OB"
            ds.LossyImageCompression = "01"
            ds.LossyImageCompressionMethod = "ISO_10918_1"
            meta.TransferSyntaxUID = JPEGBaseline8Bit
        else:
            rgb = np.ascontiguousarray(load_photo(data).rgb)  # upright sRGB pixels
            height, width = rgb.shape[:2]
            icc = None
            ds.PhotometricInterpretation = "RGB"
            ds.PixelData = rgb.tobytes()
            ds.LossyImageCompression = "01" if photo.file_name.endswith(".jpg") else "00"
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SamplesPerPixel = 3
        ds.PlanarConfiguration = 0
        ds.Rows, ds.Columns = height, width
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.ICCProfile = icc or _srgb_profile()
        if not icc:
            ds.ColorSpace = "SRGB"
        datasets.append(ds)
    records.record_export(actor, patient.id, "DICOM", purpose="clinical",
                          detail=f"session {session.id}, {len(datasets)} images" + ("; full name" if include_name else ""))  # fmt: skip
    return datasets


#: Longest Patient's Name DICOM allows (PS3.5 table 6.2-1: 64 characters per component group).
MAX_PERSON_NAME = 64


def _person_name(name: str) -> str:
    """A display name as one DICOM PN value: its separators (``^ = \\``) made spaces, at most 64 characters."""
    plain = " ".join(re.sub(r"[\^=\\]", " ", str(name or "")).split())
    return plain[:MAX_PERSON_NAME].rstrip()


def _file_name(ds, index: int) -> str:
    date = ds.StudyDate
    area = re.sub(r"[^A-Za-z0-9]+", "-", str(ds.SeriesDescription)).strip("-").lower() or "area"
    return f"{date}_{area}_{index:03d}.dcm"


def export_session_dicom(
    records: Records,
    actor: Actor,
    session_id: str,
    target: str | os.PathLike | BinaryIO,
    *,
    area_id: str | None = None,
    include_name: bool = False,
) -> list[str]:
    """Write the session's photos as DICOM files into a folder, or into a zip (``.zip`` path or a binary file).

    Returns the file names written. Nothing is written when a photo cannot be converted.
    """
    from pydicom.filewriter import dcmwrite

    datasets = session_datasets(records, actor, session_id, area_id=area_id, include_name=include_name)
    encoded = []
    for index, ds in enumerate(datasets, start=1):
        buffer = io.BytesIO()
        dcmwrite(buffer, ds, enforce_file_format=True)
        encoded.append((_file_name(ds, index), buffer.getvalue()))
    if hasattr(target, "write") or str(target).lower().endswith(".zip"):
        zipped = io.BytesIO()
        with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, data in encoded:
                archive.writestr(name, data)
        if hasattr(target, "write"):
            target.write(zipped.getvalue())
        else:
            atomic_write(Path(target), zipped.getvalue())
    else:
        folder = make_private_dirs(Path(target))  # 0700 whatever the umask: the files hold health data
        for name, data in encoded:
            atomic_write(folder / name, data)
    return [name for name, _ in encoded]
