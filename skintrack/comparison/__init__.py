"""Making two sessions comparable and comparing them: the quality gate (``quality.py``), light from
neutral references (``colour_chart.py``, ``normalize.py``), alignment onto the baseline (``align.py``),
the one follow-up pipeline (``compare.py``), the noise bands and verdicts (``noise.py``) and the
repeatability study that writes them (``repeatability.py``).

Named ``comparison`` (what it produces: a :class:`~skintrack.comparison.compare.Comparison`), not
``compare``: ``skintrack.compare`` is the public function. The public names (``skintrack.compare``,
``measure_baseline``, ``align``, ``normalize``, ``check_quality``, ``noise``…) are re-exported by
:mod:`skintrack`; nothing is re-exported here, so ``skintrack.comparison.align`` is always the module.
"""
