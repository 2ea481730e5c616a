"""User text shown as text: what every page passes through before Streamlit renders Markdown.

Patient codes and names, area names, notes, providers, upload file names and
error messages that quote them are typed by people — or arrive as folder names
and archives. Streamlit renders Markdown, and its own directives
(``:red[...]``, ``:material/icon:``, ``$math$``), in ``st.markdown``,
``st.caption``, headers, alerts, image captions, progress text, metrics and
widget labels. Unescaped, a name like ``![x](https://tracker.example/p.png)``
made the browser fetch an outside image, and ``[here](https://…)`` became a link.

:func:`md` backslash-escapes every ASCII punctuation character — CommonMark
lets any of them be escaped, and an escaped character is always literal
(https://spec.commonmark.org/0.31.2/#backslash-escapes) — so nothing in the text
can open a link, an image, HTML, emphasis, code, math or a directive. Escapes
do not stop GitHub's *autolinks* (``www.…``, ``https://…``, ``name@host``),
which Streamlit finds in the text after unescaping it: an invisible word joiner
(U+2060) after ``http``/``https``/``ftp``/``www`` and after ``@`` breaks them
(tested in Chromium: ``tests/test_browser_hostile.py``). Line breaks become
spaces, so no text can start a heading, a list or a code block.

Plain-text elements (``st.dataframe`` cells, select box options, text input
values, ``st.text``) need no escaping and must not get it.
"""

from __future__ import annotations

import re

__all__ = ["WORD_JOINER", "md", "safe_file_name"]

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto|xmpp)(?=[:.])|(@)")
WORD_JOINER = "\u2060"


def md(text: object) -> str:
    """``text`` escaped so that Markdown shows it exactly as typed (see the module docstring)."""
    text = _BREAKS.sub(" ", str(text))
    text = _AUTOLINK.sub(lambda m: (m.group(1) or m.group(2)) + WORD_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)


def safe_file_name(text: object, default: str = "export") -> str:
    """``text`` reduced to letters, digits, ``-``, ``_`` and ``.`` for a download's file name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._")
    return cleaned[:80] or default
