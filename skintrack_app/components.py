"""The app's own browser components: plain HTML, CSS and JavaScript, nothing from a CDN.

Built on Streamlit's ``st.components.v2`` (inline code, mounted in the page, no
iframe, height follows the content):

* :func:`before_after` — the before/after slider: drag with a mouse or a finger
  anywhere on the photo, or use the range bar (keyboard too); the whole photo is
  shown at its own aspect ratio, never cropped;
* :func:`region_editor` — outline the treated region on the baseline with a
  rectangle (drag) or a polygon (tap its corners);
* :func:`guided_camera` — the tablet's or phone's camera (``getUserMedia``) with
  the baseline's ghost laid over the live picture; reports ``unavailable`` where
  the browser has no camera API (plain http, no camera), so the page falls back
  to ``st.camera_input``;
* :func:`chart_legend` — the charts' shared legend, each mark in the colour the
  charts draw it with;
* :func:`close_sidebar_on_narrow_screens` — on a phone the sidebar closes after
  a page is chosen, instead of staying over the content.

The candidates for drawing were checked before writing :func:`region_editor`:
``streamlit-drawable-canvas`` 0.13 loads nothing from the network (it bundles
Fabric.js, a 480 KB script) and ``streamlit-image-coordinates`` 0.4 returns
clicks only (no shape is drawn while outlining); about 200 lines of our own
script do rectangles and polygons, with touch, and need no new dependency.

Nothing a person typed is put into these components' HTML: labels are set with
``textContent``.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import streamlit as st

from skintrack import photo_to_bytes
from skintrack.intake.photo import resize_long_side

__all__ = ["before_after", "chart_legend", "close_sidebar_on_narrow_screens", "data_url", "guided_camera", "region_editor"]


def data_url(rgb: np.ndarray, long_side: int = 1200, quality: int = 88) -> str:
    """An RGB image as a ``data:image/jpeg`` URL (downscaled to ``long_side``)."""
    small = resize_long_side(rgb, long_side) if max(rgb.shape[:2]) > long_side else rgb
    return "data:image/jpeg;base64," + base64.b64encode(photo_to_bytes(small, "JPEG", quality=quality)).decode()


# --------------------------------------------------------------------------- before / after

_SLIDER_CSS = """
.ba { position: relative; width: 100%; margin: 0 auto; user-select: none; -webkit-user-select: none;
      touch-action: pan-y; cursor: ew-resize; border-radius: 0.5rem; overflow: hidden; background: #222; }
.ba img { display: block; width: 100%; height: auto; pointer-events: none; -webkit-user-drag: none; }
.ba .after { position: absolute; inset: 0; clip-path: inset(0 0 0 50%); }
.ba .after img { width: 100%; height: 100%; }
.ba .bar { position: absolute; top: 0; bottom: 0; left: 50%; width: 3px; margin-left: -1.5px; background: #fff;
           box-shadow: 0 0 4px rgba(0,0,0,.8); }
.ba .knob { position: absolute; top: 50%; left: 50%; width: 34px; height: 34px; margin: -17px 0 0 -17px;
            border-radius: 50%; background: #fff; box-shadow: 0 0 5px rgba(0,0,0,.7); font: 16px sans-serif;
            display: flex; align-items: center; justify-content: center; color: #333; }
.ba .tag { position: absolute; top: 6px; padding: 1px 6px; border-radius: 3px; background: rgba(0,0,0,.55);
           color: #fff; font: 13px sans-serif; }
.ba .tag.left { left: 6px; } .ba .tag.right { right: 6px; }
.range { width: 100%; margin: 0.4rem 0 0 0; }
"""

_SLIDER_HTML = """
<div class="ba" data-testid="before-after" role="group" aria-label="Before and after">
  <img class="before-img" alt="before" draggable="false"/>
  <div class="after"><img class="after-img" alt="after" draggable="false"/></div>
  <div class="bar"></div><div class="knob">⇔</div>
  <span class="tag left"></span><span class="tag right"></span>
</div>
<input class="range" type="range" min="0" max="100" step="0.1" value="50" aria-label="Before / after divider"/>
"""

_SLIDER_JS = """
export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector('.ba');
  const range = parentElement.querySelector('.range');
  const after = root.querySelector('.after');
  const bar = root.querySelector('.bar');
  const knob = root.querySelector('.knob');
  root.querySelector('.before-img').src = data.before;
  root.querySelector('.after-img').src = data.after;
  root.querySelector('.tag.left').textContent = data.before_label || 'Before';
  root.querySelector('.tag.right').textContent = data.after_label || 'After';
  // The whole photo, never cropped: as wide as the column, but no taller than most of the screen.
  root.style.maxWidth = 'calc(78vh * ' + (data.aspect || 1.333) + ')';
  range.style.maxWidth = root.style.maxWidth;
  function show(v) {
    v = Math.max(0, Math.min(100, v));
    after.style.clipPath = 'inset(0 0 0 ' + v + '%)';
    bar.style.left = v + '%'; knob.style.left = v + '%';
    range.value = v; root.dataset.position = v.toFixed(1);
  }
  function fromPointer(e) {
    const r = root.getBoundingClientRect();
    show(100 * (e.clientX - r.left) / r.width);
  }
  let dragging = false, startX = 0, startY = 0, decided = false;
  const down = e => {
    if (e.button !== undefined && e.button !== 0) return;
    dragging = true; decided = e.pointerType === 'mouse'; startX = e.clientX; startY = e.clientY;
    if (decided) { root.setPointerCapture(e.pointerId); fromPointer(e); }
    e.preventDefault();
  };
  const move = e => {
    if (!dragging) return;
    if (!decided) {  // a finger: a sideways swipe moves the divider, an up-down one scrolls the page
      const dx = Math.abs(e.clientX - startX), dy = Math.abs(e.clientY - startY);
      if (dx < 4 && dy < 4) return;
      if (dy > dx) { dragging = false; return; }
      decided = true; root.setPointerCapture(e.pointerId);
    }
    fromPointer(e);
  };
  const up = e => {
    if (dragging && !decided) fromPointer(e);  // a tap moves the divider there
    dragging = false;
  };
  root.addEventListener('pointerdown', down);
  root.addEventListener('pointermove', move);
  root.addEventListener('pointerup', up);
  root.addEventListener('pointercancel', () => { dragging = false; });
  root.addEventListener('dragstart', e => e.preventDefault());
  range.addEventListener('input', e => show(parseFloat(e.target.value)));
  show(typeof data.position === 'number' ? data.position : 50);
  return () => {
    root.removeEventListener('pointerdown', down); root.removeEventListener('pointermove', move);
    root.removeEventListener('pointerup', up);
  };
}
"""

_slider = st.components.v2.component("skintrack.before_after", html=_SLIDER_HTML, css=_SLIDER_CSS, js=_SLIDER_JS)


def before_after(before: np.ndarray, after: np.ndarray, *, before_label: str = "Before", after_label: str = "After",
                 key: str = "slider") -> None:  # fmt: skip
    """The before/after slider over two images of the same size (the after photo aligned onto the before)."""
    height, width = before.shape[:2]
    _slider(
        key=key,
        data={
            "before": data_url(before, 1400),
            "after": data_url(after, 1400),
            "before_label": before_label,
            "after_label": after_label,
            "aspect": round(width / max(height, 1), 4),
        },
    )


# --------------------------------------------------------------------------- the region of interest

_REGION_CSS = """
.tools { display: flex; flex-wrap: wrap; gap: 0.4rem; margin-bottom: 0.4rem; font: 14px sans-serif; }
.tools button { padding: 0.35rem 0.8rem; border-radius: 0.5rem; border: 1px solid #bbb; background: #fff; cursor: pointer;
                font: inherit; }
.tools button.on { background: #ff4b4b; border-color: #ff4b4b; color: #fff; }
.hint { font: 13px sans-serif; color: #555; margin: 0 0 0.4rem 0; }
.stage { position: relative; width: 100%; touch-action: none; user-select: none; -webkit-user-select: none; }
.stage img { display: block; width: 100%; height: auto; pointer-events: none; border-radius: 0.5rem; }
.stage svg { position: absolute; inset: 0; width: 100%; height: 100%; cursor: crosshair; }
"""

_REGION_HTML = """
<div class="tools">
  <button type="button" data-tool="rectangle">▭ Rectangle</button>
  <button type="button" data-tool="polygon">⬠ Polygon</button>
  <button type="button" data-action="close">Close polygon</button>
  <button type="button" data-action="clear">Clear</button>
</div>
<p class="hint"></p>
<div class="stage" data-testid="region-editor">
  <img alt="baseline"/>
  <svg viewBox="0 0 1 1" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">
    <polygon class="shape" fill="rgba(255,214,0,0.18)" stroke="#ffd600" stroke-width="0.004" points=""></polygon>
    <polyline class="open" fill="none" stroke="#ffd600" stroke-width="0.004" stroke-dasharray="0.01" points=""></polyline>
    <g class="corners"></g>
  </svg>
</div>
"""

_REGION_JS = """
export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const stage = parentElement.querySelector('.stage');
  const svg = stage.querySelector('svg');
  const shapeEl = svg.querySelector('.shape'), openEl = svg.querySelector('.open'), cornersEl = svg.querySelector('.corners');
  const hint = parentElement.querySelector('.hint');
  const img = stage.querySelector('img');
  img.src = data.image;
  stage.style.maxWidth = 'calc(75vh * ' + (data.aspect || 1.333) + ')';
  let tool = (data.region && data.region.shape) || 'rectangle';
  let points = data.region ? data.region.points.map(p => [p[0], p[1]]) : [];
  let closed = points.length > 0;
  const hints = {
    rectangle: 'Drag across the treated skin to outline it.',
    polygon: 'Tap each corner of the treated skin; tap the first corner (or Close polygon) to finish.',
  };
  const clamp = v => Math.max(0, Math.min(1, v));
  const at = e => { const r = stage.getBoundingClientRect(); return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)]; };
  const corners = () => tool === 'rectangle' && points.length === 2
    ? [[points[0][0], points[0][1]], [points[1][0], points[0][1]], [points[1][0], points[1][1]], [points[0][0], points[1][1]]]
    : points;
  function draw() {
    const text = corners().map(p => p[0] + ',' + p[1]).join(' ');
    shapeEl.setAttribute('points', closed ? text : '');
    openEl.setAttribute('points', closed ? '' : text);
    cornersEl.innerHTML = '';
    for (const p of corners()) {
      const c = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
      c.setAttribute('cx', p[0]); c.setAttribute('cy', p[1]); c.setAttribute('r', 0.008); c.setAttribute('fill', '#ffd600');
      cornersEl.appendChild(c);
    }
    parentElement.querySelectorAll('[data-tool]').forEach(b => b.classList.toggle('on', b.dataset.tool === tool));
    hint.textContent = hints[tool];
    stage.dataset.points = JSON.stringify(points);
    stage.dataset.closed = String(closed);
  }
  function publish() {
    if (closed && ((tool === 'rectangle' && points.length === 2) || (tool === 'polygon' && points.length >= 3))) {
      setStateValue('region', { shape: tool, points: points.map(p => [Number(p[0].toFixed(5)), Number(p[1].toFixed(5))]) });
    }
  }
  let dragging = false;
  const down = e => {
    e.preventDefault();
    const p = at(e);
    if (tool === 'rectangle') { points = [p, p]; closed = true; dragging = true; stage.setPointerCapture(e.pointerId); draw(); return; }
    if (closed) { points = []; closed = false; }
    if (points.length >= 3) {
      const r = stage.getBoundingClientRect(), first = points[0];
      if (Math.hypot((first[0] - p[0]) * r.width, (first[1] - p[1]) * r.height) < 14) { closed = true; draw(); publish(); return; }
    }
    points.push(p); draw();
  };
  const move = e => { if (dragging) { points[1] = at(e); draw(); } };
  const up = e => {
    if (!dragging) return;
    dragging = false; points[1] = at(e);
    const r = stage.getBoundingClientRect();
    if (Math.abs(points[1][0] - points[0][0]) * r.width < 6 || Math.abs(points[1][1] - points[0][1]) * r.height < 6) { points = []; closed = false; }
    draw(); publish();
  };
  stage.addEventListener('pointerdown', down); stage.addEventListener('pointermove', move); stage.addEventListener('pointerup', up);
  const click = e => {
    const b = e.target.closest('button'); if (!b) return;
    if (b.dataset.tool) { tool = b.dataset.tool; points = []; closed = false; }
    if (b.dataset.action === 'clear') { points = []; closed = false; setStateValue('region', null); }
    if (b.dataset.action === 'close' && tool === 'polygon' && points.length >= 3) { closed = true; publish(); }
    draw();
  };
  const tools = parentElement.querySelector('.tools');
  tools.addEventListener('click', click);
  draw();
  return () => {
    stage.removeEventListener('pointerdown', down); stage.removeEventListener('pointermove', move);
    stage.removeEventListener('pointerup', up); tools.removeEventListener('click', click);
  };
}
"""

_region = st.components.v2.component("skintrack.region_editor", html=_REGION_HTML, css=_REGION_CSS, js=_REGION_JS)


def region_editor(image: np.ndarray, region: dict | None, *, key: str) -> dict | None:
    """Draw a rectangle or polygon on ``image``; returns the last outline drawn (``{"shape", "points"}``
    with points as fractions of the image's width and height), or ``None``."""
    height, width = image.shape[:2]
    data = {"image": data_url(image, 1400), "aspect": round(width / max(height, 1), 4),
            "region": {"shape": region["shape"], "points": region["points"]} if region else None}  # fmt: skip
    result = _region(key=key, data=data, on_region_change=lambda: None)
    value = getattr(result, "region", None)
    return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------- guided capture

_CAMERA_CSS = """
.cam { position: relative; width: 100%; background: #111; border-radius: 0.5rem; overflow: hidden; }
.cam video { display: block; width: 100%; height: auto; }
.cam img.ghost { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; opacity: 0.45;
                 pointer-events: none; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 0.6rem; margin-top: 0.5rem; font: 14px sans-serif; }
.controls button { padding: 0.5rem 1.1rem; border-radius: 0.5rem; border: none; background: #ff4b4b; color: #fff;
                   font: 15px sans-serif; cursor: pointer; }
.controls button:disabled { background: #bbb; cursor: default; }
.status { font: 13px sans-serif; color: #555; margin-top: 0.3rem; }
"""

_CAMERA_HTML = """
<div class="cam" data-testid="guided-camera">
  <video playsinline muted autoplay></video>
  <img class="ghost" alt="baseline ghost"/>
</div>
<div class="controls">
  <button type="button" class="shoot" disabled>Take photo</button>
  <label>Ghost <input class="opacity" type="range" min="0" max="90" value="45" aria-label="Ghost opacity"/></label>
</div>
<div class="status">Starting the camera…</div>
"""

_CAMERA_JS = """
export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  const video = parentElement.querySelector('video');
  const ghost = parentElement.querySelector('img.ghost');
  const shoot = parentElement.querySelector('.shoot');
  const status = parentElement.querySelector('.status');
  const opacity = parentElement.querySelector('.opacity');
  if (data.ghost) { ghost.src = data.ghost; } else { ghost.style.display = 'none'; }
  opacity.addEventListener('input', () => { ghost.style.opacity = opacity.value / 100; });
  let stream = null, stopped = false;
  const say = text => { status.textContent = text; };
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say('This browser cannot use the camera here.');
    setStateValue('unavailable', window.isSecureContext ? 'no camera API' : 'not a secure (https) page');
    return;
  }
  navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 4032 }, height: { ideal: 3024 } }, audio: false })
    .then(s => {
      if (stopped) { s.getTracks().forEach(t => t.stop()); return; }
      stream = s; video.srcObject = s;
      video.onloadedmetadata = () => {
        video.play();
        shoot.disabled = false;
        say('Line the skin up with the ghost of the baseline, then take the photo (' + video.videoWidth + '×' + video.videoHeight + ').');
        setStateValue('unavailable', null);
      };
    })
    .catch(err => {
      say('The camera could not be opened: ' + err.name + '.');
      setStateValue('unavailable', err.name || 'camera refused');
    });
  shoot.addEventListener('click', () => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    const url = canvas.toDataURL('image/jpeg', 0.95);
    const id = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    setTriggerValue('photo', { id: id, image: url, width: canvas.width, height: canvas.height });
    say('Photo taken (' + canvas.width + '×' + canvas.height + '): measuring…');
  });
  return () => { stopped = true; if (stream) stream.getTracks().forEach(t => t.stop()); };
}
"""

_camera = st.components.v2.component("skintrack.guided_camera", html=_CAMERA_HTML, css=_CAMERA_CSS, js=_CAMERA_JS)


def guided_camera(ghost: np.ndarray | None, *, key: str) -> tuple[dict | None, str | None]:
    """The live camera with the baseline's ghost over it.

    Returns ``(photo, unavailable)``: ``photo`` is ``{"id", "bytes", "width", "height"}`` in the run
    right after "Take photo" (once), and ``unavailable`` says why the camera cannot be used here
    (then show ``st.camera_input`` instead).
    """
    data = {"ghost": data_url(ghost, 1200, quality=80) if ghost is not None else None}
    result = _camera(key=key, data=data, on_unavailable_change=lambda: None, on_photo_change=lambda: None)
    unavailable = getattr(result, "unavailable", None)
    shot: Any = getattr(result, "photo", None)
    photo = None
    if isinstance(shot, dict) and isinstance(shot.get("image"), str) and "," in shot["image"]:
        try:
            raw = base64.b64decode(shot["image"].split(",", 1)[1], validate=True)
        except ValueError:
            raw = b""
        photo = {"id": str(shot.get("id")), "bytes": raw, "width": shot.get("width"), "height": shot.get("height")}
    return photo, unavailable if isinstance(unavailable, str) else None


# --------------------------------------------------------------------------- the charts' shared legend

_LEGEND_CSS = """
.legend { display: flex; flex-wrap: wrap; gap: 0.1rem 0.9rem; font: 14px "Source Sans Pro", sans-serif;
          color: rgba(49, 51, 63, 0.6); line-height: 1.5; margin: 0 0 0.3rem 0; }
.legend .item { white-space: nowrap; }
@media (max-width: 640px) { .legend .item { white-space: normal; } }  /* a phone: long items wrap, not cut */
.legend .dot { font-size: 1.15em; margin-right: 0.25em; }
.legend .band { display: inline-block; width: 0.9em; height: 0.7em; margin-right: 0.3em; vertical-align: -0.05em; }
.legend .rule, .legend .diamond { margin-right: 0.3em; }
"""

_LEGEND_HTML = '<div class="legend" data-testid="chart-legend"></div>'

_LEGEND_JS = """
export default function (component) {
  const { data, parentElement } = component;
  const box = parentElement.querySelector('.legend');
  box.replaceChildren();
  for (const item of data.items || []) {
    const entry = document.createElement('span');
    entry.className = 'item';
    entry.setAttribute('data-testid', 'legend-item');
    if (item.verdict) entry.dataset.verdict = item.verdict;
    const mark = document.createElement('span');
    if (item.kind === 'dot') { mark.className = 'dot legend-dot'; mark.textContent = '●'; mark.style.color = item.colour; }
    else if (item.kind === 'band') { mark.className = 'band'; mark.style.background = item.colour; mark.style.opacity = item.opacity; }
    else if (item.kind === 'diamond') { mark.className = 'diamond'; mark.textContent = '◇'; mark.style.color = item.colour; }
    else { mark.className = 'rule'; mark.textContent = '┊'; mark.style.color = item.colour; }
    entry.appendChild(mark);
    entry.appendChild(document.createTextNode(item.words));
    box.appendChild(entry);
  }
}
"""

_legend = st.components.v2.component("skintrack.chart_legend", html=_LEGEND_HTML, css=_LEGEND_CSS, js=_LEGEND_JS)


def chart_legend(items: list[dict], *, key: str) -> None:
    """One legend for a page's charts, each mark in the exact colour the charts draw it with (Streamlit's
    named Markdown colours did not match the markers). ``items``: ``{"kind": "dot" | "band" | "rule" | "diamond",
    "colour": "#rrggbb", "words": ..., "verdict": ..., "opacity": ...}``; words are set as text."""
    _legend(key=key, data={"items": items})


# --------------------------------------------------------------------------- phones: the sidebar closes

_SIDEBAR_JS = """
export default function () {
  if (window.__skintrackSidebarCloser) return;
  window.__skintrackSidebarCloser = true;
  const open = () => {
    const bar = document.querySelector('[data-testid="stSidebar"]');
    if (!bar) return false;
    const box = bar.getBoundingClientRect();
    return box.width > 0 && box.right > 0;
  };
  const close = () => {
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (button && open()) button.click();
  };
  let timer = null;
  const stop = () => { if (timer) { clearInterval(timer); timer = null; } };
  document.addEventListener('click', e => {
    if (e.target.closest('[data-testid="stExpandSidebarButton"]')) { stop(); return; }  // the user opens it again
    if (window.innerWidth > 768) return;
    if (!e.target.closest('[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"]')) return;
    // The new page re-draws the sidebar open: keep closing it until the page has settled.
    stop();
    let tries = 0;
    timer = setInterval(() => { close(); if (++tries > 12) stop(); }, 200);
  }, true);
}
"""

_sidebar = st.components.v2.component("skintrack.sidebar_closer", js=_SIDEBAR_JS)


def close_sidebar_on_narrow_screens() -> None:
    """On a phone (≤ 768 px wide) the sidebar closes once a page is chosen from it."""
    _sidebar(key="sidebar_closer", height=0)
