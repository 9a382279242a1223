"""What goes into and comes out of prompt writing, shared by the local composer, Claude and the rewrite."""

from __future__ import annotations

from dataclasses import dataclass

from ..models.errors import BrollError
from .style import StyleLock


class PromptError(BrollError):
    status = 502


@dataclass(frozen=True)
class PromptRequest:
    scene_type: str  # hook | main | cta | other
    scene_title: str
    scene_text: str  # the scene's narration
    shot_instructions: str  # the person's intent (follow it)
    context: str  # the neighbouring scenes' narration, capped (logic/style.py): what this scene means
    style: StyleLock = StyleLock()
    # (n, count) when a long scene is covered by several 8 s sub-shots: prompt for sub-shot n of count (1-based),
    # a distinct moment of the same scene, same style.
    shot: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.shot is not None:
            n, count = self.shot
            if not 1 <= n <= count:
                raise ValueError(f"sub-shot {n} of {count} is out of range")


@dataclass
class ComposedPrompt:
    text: str
    source: str  # "local" | "claude"
    removed: list[str]  # what was left out (names, tickers, brands, quoted text...), shown to the person
    note: str | None = None  # one sentence for the person: what was left out, or for a rewrite why it changed
