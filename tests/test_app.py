"""The Streamlit front end's page logic (app.py), through Streamlit's AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from .conftest import REPO


def test_app_shows_a_demo_photo():
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not app.exception
    assert "skintrack" in app.title[0].value
    assert len(app.selectbox(key="demo_photo").options) >= 5
    images = [node for node in app.main.children.values() if type(node).__name__ == "Image"]
    assert len(images) == 1
