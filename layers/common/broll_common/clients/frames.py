"""Where things sit in the composite's frame, for each of the cut frames ("full", "split", "pip").

Pure geometry, shared by the filter graph (composite.py) and the self-check (selfcheck.py), so the
region the check samples is the region the render drew. Sizes are even (yuv420p chroma).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Frame = Literal["full", "split", "pip"]
FRAMES: tuple[Frame, ...] = ("full", "split", "pip")

TARGET = (1080, 1920)  # the output when the avatar is at least that big
PIP_WIDTH = 0.36  # of the frame's width
PIP_ASPECT = 4 / 3  # height / width: a portrait box, head and shoulders
PIP_LEFT = 0.06  # of the width: lower-left, clear of the platforms' buttons down the right edge
PIP_BOTTOM = 0.78  # of the height: clear of the caption/description band at the bottom
PIP_RADIUS = 0.12  # of the box's width
PIP_BORDER = 0.008  # of the frame's width, white
# Where a presenter crop is taken from, 0 = top .. 1 = bottom: faces sit above the middle.
PRESENTER_Y_BIAS = 0.35


def even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def relative(self, width: int, height: int) -> tuple[float, float, float, float]:
        return self.x / width, self.y / height, (self.x + self.w) / width, (self.y + self.h) / height


def output_size(avatar_width: int, avatar_height: int) -> tuple[int, int]:
    """1080x1920 when the avatar is at least that, else the avatar's own size made even."""
    if avatar_width >= TARGET[0] and avatar_height >= TARGET[1]:
        return TARGET
    return even(avatar_width), even(avatar_height)


def split_rows(width: int, height: int) -> tuple[Box, Box]:
    """(B-roll, presenter) of the split frame: the top half and the bottom half."""
    top = even(height / 2)
    return Box(0, 0, width, top), Box(0, top, width, height - top)


def pip_box(width: int, height: int) -> Box:
    """The presenter's rounded box of the pip frame, in the lower-left corner inside the safe area."""
    w = even(width * PIP_WIDTH)
    h = even(w * PIP_ASPECT)
    return Box(even(width * PIP_LEFT), even(height * PIP_BOTTOM - h), w, h)


def regions(frame: Frame, width: int, height: int) -> dict[str, Box]:
    """The regions the self-check samples: "broll" always, "presenter" for split and pip. For pip the
    B-roll region is the frame's top part, above the presenter's box."""
    if frame == "split":
        broll, presenter = split_rows(width, height)
        return {"broll": broll, "presenter": presenter}
    if frame == "pip":
        box = pip_box(width, height)
        return {"broll": Box(0, 0, width, even(box.y)), "presenter": box}
    return {"broll": Box(0, 0, width, height)}
