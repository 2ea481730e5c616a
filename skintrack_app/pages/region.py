"""Region: outline the treated skin (a scar, a patch) on an area's baseline; only it is measured from then on.

The outline is drawn on the baseline; every follow-up is lined up with the
baseline before it is measured, so the same outline selects the same skin in
each of them. Saving measures the whole area again.
"""

from __future__ import annotations

import streamlit as st

from skintrack.measure.roi import Region

from .. import components, forms, state, widgets


def render() -> None:
    state.require("admin", "provider")  # clinic staff only, however the page was reached
    st.header("Treated region")
    state.show_notices()
    store, me = state.records(), state.actor()
    patient = widgets.current_patient()
    if patient is None:
        return
    patient_id = patient.id
    area = widgets.choose_area(patient_id, key="region_area")
    if area is None:
        return
    baseline = store.baseline_photo(me, area.id)
    if baseline is None:
        st.info("This area has no baseline photo yet: add one on the New session page, then outline the region on it.")
        return
    if area.roi and not area.region_active:
        st.warning("The region was drawn on a photo that is no longer this area's baseline, so it is not used. "
                   "Draw it again on the new baseline.")  # fmt: skip
    elif area.region_active:
        region = Region.from_dict(area.roi)
        st.success(f"Measured: only the outlined {region.shape} ({100 * region.area:.1f} % of the photo) in every visit.")
    else:
        st.caption("Now measured: the whole area. Outline the treated skin to measure only it.")
    current = area.roi if area.region_active else None
    drawn = components.region_editor(baseline.rgb, current, key=f"region_editor_{area.id}")
    cols = st.columns(2)
    pending = drawn is not None and (current is None or drawn.get("points") != current.get("points") or drawn.get("shape") != current.get("shape"))
    if cols[0].button("Save the region and measure again", type="primary", disabled=not pending, key="save_region"):
        forms.change_and_rerun(lambda: store.set_area_roi(me, area.id, drawn),
                               spinner="Measuring every visit of this area inside the region…",
                               done=f"Region saved for {area.name}: every visit was measured again inside it.")  # fmt: skip
    if cols[1].button("Measure the whole area again", disabled=not area.roi, key="clear_region"):
        forms.change_and_rerun(lambda: store.set_area_roi(me, area.id, None),
                               spinner="Measuring every visit of this area again…",
                               done=f"Region removed: {area.name} is measured whole again.")  # fmt: skip
    photos = [p for p in store.list_photos(me, patient_id, area.id) if p.status == "scored" and not p.is_baseline]
    if area.region_active and photos:
        latest = photos[-1]
        st.image(widgets.overlay_image(latest.id, latest.settings_hash, "none", area.roi),
                 caption=f"The region on the latest visit ({latest.session_date.isoformat()}), lined up with the baseline",
                 width="stretch")  # fmt: skip
