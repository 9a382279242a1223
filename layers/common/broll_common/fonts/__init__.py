"""The fonts the burned-in captions use, shipped in the layer: Lambda has no system fonts.

DejaVu Sans Bold (family "DejaVu Sans", weight Bold; the ASS Fontname) under the Bitstream Vera
licence, whose text is in LICENSE beside it. ffmpeg's `ass` filter is given this folder as
`fontsdir`, so libass finds the face without fontconfig knowing any system font.
"""

from __future__ import annotations

from pathlib import Path

FONT_FILE = "DejaVuSans-Bold.ttf"
FONT_NAME = "DejaVu Sans"  # with Bold=1 in the ASS style


def fonts_dir() -> Path:
    """The folder holding the caption font and its licence."""
    return Path(__file__).resolve().parent
