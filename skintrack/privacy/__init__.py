"""De-identification in one place: finding and hiding faces in photos (``face_hiding.py``) and the
watermarked teaching and publication sets (``teaching.py``). :mod:`skintrack.records.deidentify` is the
records' door to it: it picks the consented photos and checks the acting user's permission.
"""
