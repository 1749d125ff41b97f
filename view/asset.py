"""The app's own JavaScript and CSS (the page elements' scripts and styles), kept as files in ``view/assets/``
and read once per process."""

from __future__ import annotations

import functools
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "assets"


@functools.cache
def read(name: str) -> str:
    """The text of ``view/assets/<name>`` (read once)."""
    return (FOLDER / name).read_text(encoding="utf-8")
