"""The person's own files for `broll new` and `broll upload`: what type each one is, how long a
voice-over lasts, and the scenes of a plain-text scenes file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

# The content type an upload is announced with, from the file's extension. The server's allowlist
# decides (models/domain.py MEDIA_TYPES) and its probe reads the file; this only names the type.
CONTENT_TYPES = {
    "voiceover": {".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4", ".aac": "audio/aac",
                  ".ogg": "audio/ogg", ".flac": "audio/flac"},
    "avatar": {".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"},
}
SCENE_TYPES = ("hook", "main", "cta", "other")
_HEADING = re.compile(r"(?P<title>.+?)\s*(?:\[(?P<type>[a-z]+)\])?")
_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")


class FileProblem(Exception):
    """A local file the command cannot use; the message says which and why."""


def content_type(kind: str, file: Path) -> str:
    if not file.is_file():
        raise FileProblem(f"{file} is not a file.")
    known = CONTENT_TYPES[kind]
    try:
        return known[file.suffix.lower()]
    except KeyError:
        raise FileProblem(f"{file.name}: the {kind} file must end in one of {', '.join(known)}.") from None


def _ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg  # the packaged ffmpeg the studio itself runs, when installed

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def duration_s(file: Path) -> float:
    """How long the file plays, from ffmpeg's reading of its header (`ffmpeg -i`)."""
    exe = _ffmpeg()
    if exe is None:
        raise FileProblem("No ffmpeg to read the voice-over's length with: pass --duration SECONDS.")
    run = subprocess.run([exe, "-hide_banner", "-nostdin", "-i", str(file)], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    found = _DURATION.search(run.stderr)
    if not found:
        raise FileProblem(f"ffmpeg could not tell how long {file.name} lasts: is it audio? "
                          "Pass --duration SECONDS to say it yourself.")
    hours, minutes, seconds = found.groups()
    return round(int(hours) * 3600 + int(minutes) * 60 + float(seconds), 3)


def read_scenes(file: Path) -> list[dict]:
    """Scenes from a text file: blocks separated by a blank line, each a title line (optionally
    ending in [hook], [main], [cta] or [other]) and then the scene's narration.

        Hook [hook]
        Night trains are back.

        Main
        Twelve new sleeper routes launch this month.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileProblem(f"{file} could not be read as text: {exc}.") from exc
    scenes = []
    for number, block in enumerate(re.split(r"\n\s*\n", text.strip()), 1):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        heading = _HEADING.fullmatch(lines[0]) if lines else None
        if heading is None or len(lines) < 2:
            raise FileProblem(f"{file.name}, scene {number}: give a title line and then its narration.")
        kind = heading.group("type")
        if kind and kind not in SCENE_TYPES:
            raise FileProblem(f"{file.name}, scene {number}: the type must be one of {', '.join(SCENE_TYPES)}.")
        scenes.append({"sceneTitle": heading.group("title"), "text": " ".join(lines[1:])}
                      | ({"sceneType": kind} if kind else {}))
    return scenes


__all__ = ["CONTENT_TYPES", "FileProblem", "content_type", "duration_s", "read_scenes"]
