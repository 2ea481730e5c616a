"""Measuring one photo: colour (``colour.py``), the face and its zones (``face.py``), measurable skin
(``skin.py``), regions of interest (``roi.py``), one analysis per photo (``analysis.py``), the metric
families (``metrics/``), their image helpers (``filters.py``, ``masks.py``) and ``score()``
(``scoring.py``).

The public names (``skintrack.score``, ``Score``, ``ScoreConfig``, ``find_face``, ``Face``, ``ZONES``…)
are re-exported by :mod:`skintrack`.
"""
