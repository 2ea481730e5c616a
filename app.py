"""skintrack Streamlit front end (placeholder page: shows the demo photos)."""

from pathlib import Path

import streamlit as st

from skintrack import load_photo

SAMPLES = Path(__file__).parent / "sample_images"

st.set_page_config(page_title="skintrack", layout="wide")
st.title("skintrack")
st.caption("Before/after skin photo progress tracking. Not a medical device; not for diagnosis.")

photos = sorted(SAMPLES.glob("*.jpg"))
if not photos:
    st.info("No sample photos found; run `make demo-images`.")
else:
    name = st.selectbox("Demo photo", [p.name for p in photos], key="demo_photo")
    photo = load_photo(SAMPLES / name)
    st.image(photo.rgb, caption=f"{name}: {photo.size[0]}x{photo.size[1]}", width="stretch")
