"""The demo clinic: simulated patients with known treatment effects, loaded like real patients.

``skintrack load-demo --cohort`` (or :func:`load_demo_cohort`) creates
:data:`DEMO_PATIENTS` simulated patients (codes ``SIM-001`` ...) over four
treatment groups, so the Outcomes page shows something real on first run. Each
patient is a :class:`skintrack.synthetic.SkinScene` of their own (their own
layout of pores, spots, lines and red patches, and a skin tone matching their
Fitzpatrick type), photographed at every visit with a little jitter of pose,
exposure and white balance, a grey card and backdrop in frame. The skin itself
changes by the **known effects** below — the truth the Outcomes page should find.

Every photo goes through the same records path as a real patient's
(:meth:`skintrack.records.Records.add_photo`: quality gate, light correction
from the grey card, alignment to the baseline, scoring with its yardstick), so
the numbers on the page are the engine's measurements, not the simulation's
truth. To keep that affordable the photos are small (320 x 240 px: the quality
gate warns about the resolution, nothing is blocked) and the patients are
loaded by two processes; it is done once (patients already there are skipped).
The patients' names, notes and every visit's notes say *simulated*.

Known effects (per treatment session, in the simulator's skin-state units; a
patient's response is scaled by a factor drawn from N(1, 0.3²), clipped to
0.3-1.8):

=========================  =========  ============  =============  ========
group                      roughness  line ΔL*      spot ΔL*       Δa* red
=========================  =========  ============  =============  ========
micro-needling 1.0 mm      -0.05      -0.35         -0.3           -0.15
micro-needling 1.5 mm      -0.09      -0.6          -0.4           -0.15
laser 15 J/cm²             -0.02      -0.1          -1.6           -0.9
peel 35 %                  -0.03      -0.1          -0.8           -0.5
=========================  =========  ============  =============  ========

A session that came sooner than its protocol's minimum (:data:`skintrack.cohort.PROTOCOLS`)
has half its effect, one that came later than the maximum three quarters (the
skin had not finished remodelling, or the course lost momentum); about one
course in four is spaced outside its protocol.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..records import Actor, Records
from ..synthetic import Capture, SkinScene, SkinState
from .adherence import PROTOCOLS

__all__ = ["DEMO_PATIENTS", "DEMO_VISITS", "GROUPS", "PHOTO_SIZE", "PatientPlan", "demo_plan", "load_demo_cohort",
           "SIMULATED_NOTE", "is_simulated"]  # fmt: skip

DEMO_PATIENTS = 40
DEMO_VISITS = 6
DEMO_SEED = 2411
PHOTO_SIZE = (320, 240)
CODE_PREFIX = "SIM-"
SIMULATED_NOTE = ("Simulated patient of the demo clinic (skintrack load-demo --cohort): photos rendered by "
                  "skintrack.synthetic with a known treatment effect, measured by the real engine. Not a real person.")  # fmt: skip


@dataclass(frozen=True)
class Group:
    treatment: str
    settings: dict
    per_session: dict  # SkinState field -> change per session


#: The four treatment groups and their known effects per session (see the module docstring).
GROUPS: tuple[Group, ...] = (
    Group("micro-needling", {"needle_depth_mm": 1.0},
          {"roughness": -0.05, "line_contrast": -0.35, "spot_contrast": -0.3, "erythema": -0.15}),
    Group("micro-needling", {"needle_depth_mm": 1.5},
          {"roughness": -0.09, "line_contrast": -0.6, "spot_contrast": -0.4, "erythema": -0.15}),
    Group("laser", {"fluence_J_cm2": 15},
          {"roughness": -0.02, "line_contrast": -0.1, "spot_contrast": -1.6, "erythema": -0.9}),
    Group("peel", {"concentration_pct": 35},
          {"roughness": -0.03, "line_contrast": -0.1, "spot_contrast": -0.8, "erythema": -0.5}),
)  # fmt: skip
#: Effect of a session that came too soon / too late for its protocol.
TOO_SOON, TOO_LATE = 0.5, 0.75
#: Skin colour (L*, a*, b*) by Fitzpatrick type: lighter to darker (ITA° about 57, 47, 35, 17, -12, -35).
BASE_LAB = {1: (70.0, 10.0, 13.0), 2: (66.0, 11.0, 15.0), 3: (62.0, 12.0, 17.0), 4: (56.0, 13.0, 19.0),
            5: (48.0, 13.0, 20.0), 6: (40.0, 12.0, 18.0)}  # fmt: skip


@dataclass
class Visit:
    date: dt.date
    treatment: str
    settings: dict
    state: SkinState
    capture: Capture


@dataclass
class PatientPlan:
    """One simulated patient: who they are, their course, and each visit's true skin and capture."""

    code: str
    display_name: str
    fitzpatrick: int
    birth_year: int
    consent: str
    group: Group
    scene_seed: int
    visits: list[Visit] = field(default_factory=list)


def _spacing(rng: np.random.Generator, treatment: str, visits: int) -> list[int]:
    protocol = PROTOCOLS[treatment]
    if rng.random() < 0.25:  # outside the protocol: too soon or too late, for the whole course
        if rng.random() < 0.5:
            low, high = max(7, protocol.min_days // 2), protocol.min_days - 4
        else:
            low, high = protocol.max_days + 7, protocol.max_days + 28
    else:
        low, high = protocol.min_days, protocol.max_days
    return [int(rng.integers(low, high + 1)) for _ in range(visits)]


def demo_plan(n_patients: int | None = None, visits: int | None = None, seed: int = DEMO_SEED,
              size: tuple[int, int] = PHOTO_SIZE, groups: tuple[Group, ...] = GROUPS) -> list[PatientPlan]:  # fmt: skip
    """The demo clinic's patients, deterministic from ``seed``: every visit's date, treatment, true skin, capture.

    Patients are given to ``groups`` in turn (default :data:`GROUPS`). Each has ``visits`` visits: a
    treatment session at each but the last (the photo is taken before that day's treatment), then a
    check-up. Dates end before today.
    """
    rng = np.random.default_rng(seed)
    visits = DEMO_VISITS if visits is None else visits
    plans = []
    for index in range(DEMO_PATIENTS if n_patients is None else n_patients):
        group = groups[index % len(groups)]
        fitzpatrick = int(rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6]))
        consent = ("teaching", "publication", "record", "teaching", "record")[index % 5]
        response = float(np.clip(rng.normal(1.0, 0.3), 0.3, 1.8))
        start = dt.date(2025, 1, 6) + dt.timedelta(days=int(rng.integers(0, 240)))
        gaps = _spacing(rng, group.treatment, visits)
        protocol = PROTOCOLS[group.treatment]
        base = SkinState(
            base_lab=BASE_LAB[fitzpatrick],
            erythema=float(rng.uniform(6.0, 10.0)),
            spot_contrast=float(rng.uniform(12.0, 18.0)),
            roughness=float(rng.uniform(1.3, 1.7)),
            line_contrast=float(rng.uniform(5.0, 8.0)),
        )
        plan = PatientPlan(
            code=f"{CODE_PREFIX}{index + 1:03d}",
            display_name=f"Simulated patient {index + 1}",
            fitzpatrick=fitzpatrick,
            birth_year=int(rng.integers(1958, 2001)),
            consent=consent,
            group=group,
            scene_seed=seed * 1000 + index,
        )
        date, effect = start, {name: 0.0 for name in group.per_session}
        for k in range(visits):
            if k:
                gap = gaps[k - 1]
                factor = TOO_SOON if gap < protocol.min_days else TOO_LATE if gap > protocol.max_days else 1.0
                for name, delta in group.per_session.items():
                    effect[name] += response * factor * delta  # the session given at the previous visit
                date = date + dt.timedelta(days=gap)
            state = replace(
                base,
                roughness=max(0.3, base.roughness + effect["roughness"]),
                line_contrast=max(0.5, base.line_contrast + effect["line_contrast"]),
                spot_contrast=max(1.0, base.spot_contrast + effect["spot_contrast"]),
                erythema=max(0.5, base.erythema + effect["erythema"] + float(rng.normal(0.0, 0.3))),
            )
            scale = size[0] / 1600.0
            capture = Capture(
                size=size,
                rotation_deg=float(rng.uniform(-3, 3)),
                scale=float(rng.uniform(0.97, 1.03)),
                shift=(float(rng.uniform(-30, 30) * scale), float(rng.uniform(-30, 30) * scale)),
                exposure=float(rng.uniform(0.92, 1.08)),
                white_balance=tuple(float(g) for g in rng.uniform(0.96, 1.04, 3)),
                jpeg_quality=90,
                seed=index * 31 + k,
            )
            last = k == visits - 1
            plan.visits.append(Visit(date, "other" if last else group.treatment, {} if last else dict(group.settings),
                                     state, capture))  # fmt: skip
        plans.append(plan)
    return plans


def is_simulated(patient: Any) -> bool:
    """Whether a patient (a :class:`~skintrack.records.PatientView`) is one of the demo clinic's simulated patients."""
    return str(getattr(patient, "code", "")).startswith(CODE_PREFIX) and "Simulated patient" in str(getattr(patient, "notes", ""))


class _LoadPatient:
    """Picklable: load one planned patient into the records (in a worker process, or here)."""

    def __init__(self, data_dir: str, db_url: str, actor: Actor, size: tuple[int, int]):
        self.data_dir, self.db_url, self.actor, self.size = data_dir, db_url, actor, size

    def __call__(self, plan: PatientPlan) -> str:
        from .table import _worker_records

        return _load_patient(_worker_records(self.data_dir, self.db_url), self.actor, plan, self.size)


def _load_patient(records: Records, actor: Actor, plan: PatientPlan, size: tuple[int, int]) -> str:
    existing = records.find_patient(actor, plan.code)
    if existing is not None:
        return "skipped"
    scene = SkinScene(seed=plan.scene_seed, size=size, grey_card=True, backdrop=True)
    patient = records.add_patient(actor, plan.code, plan.display_name, birth_year=plan.birth_year,
                                  fitzpatrick=plan.fitzpatrick, notes=SIMULATED_NOTE)  # fmt: skip
    area = records.add_area(actor, patient.id, "left cheek")
    for number, visit in enumerate(plan.visits, start=1):
        what = "check-up" if visit.treatment == "other" else f"{visit.treatment} session {number}"
        session = records.add_session(actor, patient.id, visit.date, visit.treatment, settings=visit.settings,
                                      notes=f"Simulated visit ({what}; photo before treatment). Not a real patient.")  # fmt: skip
        photo = scene.render(visit.state, visit.capture)
        records.add_photo(actor, session.id, area.id, photo.encoded, consent=plan.consent)
    return "loaded"


def load_demo_cohort(
    records: Records,
    actor: Actor,
    *,
    n_patients: int | None = None,
    visits: int | None = None,
    seed: int = DEMO_SEED,
    size: tuple[int, int] = PHOTO_SIZE,
    groups: tuple[Group, ...] = GROUPS,
    workers: int = 2,
    progress: bool = False,
) -> dict[str, Any]:
    """Load the demo clinic's simulated patients into ``records`` (those already there are skipped).

    ``n_patients`` (default :data:`DEMO_PATIENTS`), ``visits``, ``groups`` and ``size`` as in :func:`demo_plan`;
    ``workers`` processes render and measure the photos (each opens the same records).

    Returns ``{"loaded": n, "skipped": n, "photos": n, "seconds": s}``: how long rendering and measuring
    took (the figure the README quotes).
    """
    from ..batch import _map

    records.authorize(actor, "create")
    plans = demo_plan(n_patients, visits, seed, size, groups)
    started = time.perf_counter()
    todo = [p for p in plans if records.find_patient(actor, p.code) is None]
    if workers > 1 and len(todo) > 1:
        task = _LoadPatient(str(records.data_dir.resolve()), records.db_url, actor, size)
        outcomes = _map(task, todo, workers, None, progress, "patients")
    else:
        outcomes = [_load_patient(records, actor, plan, size) for plan in todo]
    seconds = time.perf_counter() - started
    loaded = sum(1 for o in outcomes if o == "loaded")
    photos = sum(len(p.visits) for p, outcome in zip(todo, outcomes) if outcome == "loaded")
    return {"loaded": loaded, "skipped": len(plans) - loaded, "photos": photos, "seconds": round(seconds, 1)}


def demo_truth(plans: list[PatientPlan] | None = None) -> dict[str, dict[str, float]]:
    """Per group ("micro-needling · needle depth 1-1.5 mm", ...) the mean true change of the skin state from
    the first to the last visit (simulator units): what the Outcomes page should find, in direction."""
    plans = plans if plans is not None else demo_plan()
    from .table import DEFAULT_SETTING_BINS, setting_label

    totals: dict[str, dict[str, list[float]]] = {}
    for plan in plans:
        key, value = next(iter(plan.group.settings.items()))
        label = f"{plan.group.treatment} · {setting_label(key, float(value), DEFAULT_SETTING_BINS.get(key))}"
        first, last = plan.visits[0].state, plan.visits[-1].state
        for name in plan.group.per_session:
            totals.setdefault(label, {}).setdefault(name, []).append(getattr(last, name) - getattr(first, name))
    return {label: {name: float(np.mean(v)) for name, v in by.items()} for label, by in totals.items()}
