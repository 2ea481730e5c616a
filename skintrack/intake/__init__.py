"""Filing: bytes to an upright sRGB :class:`~skintrack.intake.photo.Photo`, refusing what is not a usable
photo (bounded decoding in ``decode.py``; JPEG and PNG headers and metadata in ``jpeg.py`` and ``png.py``).

The first stage of the flow: ``intake`` → ``measure`` → ``comparison``. The public names
(``skintrack.load_photo``, ``Photo``, ``PhotoError``, ``save_photo``, ``photo_to_bytes``) are
re-exported by :mod:`skintrack`.
"""
