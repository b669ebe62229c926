"""Slide names as smearscan compares them, wherever they come from (a folder, a lab file)."""

from __future__ import annotations

import unicodedata


def slide_name(text: str) -> str:
    """A slide's name in Unicode NFC, so that a name typed in a lab file matches the folder a
    Mac wrote decomposed ('Mu' and a combining diaeresis for 'Mü'): they look the same."""
    return unicodedata.normalize("NFC", text)
