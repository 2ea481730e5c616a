"""Which treatment works: outcomes across patients, by treatment and settings.

Cross-patient analysis on top of the records: every visit's treatment and
settings, every photo's scores with their noise verdicts.

* :func:`build_cohort_table` — one tidy row per patient, area, measure and
  visit, read through the records service as the acting user (staff only);
  :func:`data_dictionary` says what every column and measure means;
  :func:`write_cohort` writes it as Parquet (or CSV) with the dictionary beside it.
* :func:`fit_cohort` / :func:`fit_measure` — mixed-effects models per measure
  (patient random effect; treatment or treatment x setting bin, sessions and
  spacing fixed effects) with 95 % intervals and the patients behind each
  estimate; too few patients are refused or flagged (:mod:`.models`).
* :func:`adherence_summary` — the share of courses spaced within their
  protocol (:data:`PROTOCOLS`, configurable), and outcome by adherence
  (``fit_cohort(table, by="adherence")``).
* :mod:`.demo` — the demo clinic (``skintrack load-demo --cohort``): simulated
  patients with known effects through the same records path as real ones.
* :mod:`.simulate` — score-level simulated cohorts for testing the statistics.
"""

from .adherence import MAX_SPACING_DAYS, PROTOCOLS, Protocol, parse_protocol, protocols
from .dictionary import data_dictionary, dictionary_markdown, measure_dictionary
from .models import BY, Estimate, MeasureModel, estimates_table, fit_cohort, fit_measure
from .summary import adherence_summary, filter_table, write_cohort
from .table import DEFAULT_SETTING_BINS, build_cohort_table, patient_rows

__all__ = [
    "BY",
    "DEFAULT_SETTING_BINS",
    "MAX_SPACING_DAYS",
    "PROTOCOLS",
    "Estimate",
    "MeasureModel",
    "Protocol",
    "adherence_summary",
    "build_cohort_table",
    "data_dictionary",
    "dictionary_markdown",
    "estimates_table",
    "filter_table",
    "fit_cohort",
    "fit_measure",
    "measure_dictionary",
    "parse_protocol",
    "patient_rows",
    "protocols",
    "write_cohort",
]
