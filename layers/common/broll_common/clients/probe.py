"""What a media file is: its duration, streams and picture size, as the packaged ffmpeg reads it.

Only the ffmpeg binary from the imageio-ffmpeg wheel ships to Lambda (no ffprobe), so a file is
described by parsing the stderr of `ffmpeg -i` with no output. Every run names the demuxer (`-f`,
from the allowlist only) and allows the `file` protocol only: a file cannot make ffmpeg read it
as a playlist or fetch anything (an HLS playlist named .mp3 is read as MP3, and fails).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..logic.media_types import DEMUXERS
from ..ports import Port

STDERR_LINES = 20

_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO_RE = re.compile(r"Stream #\d+:\d+.*?: Video: .*?, (\d{2,5})x(\d{2,5})")
_AUDIO_RE = re.compile(r"Stream #\d+:\d+.*?: Audio: ")
# A phone's portrait video is stored landscape with a display rotation, which ffmpeg applies on decode.
_ROTATION_RE = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")


@dataclass(frozen=True)
class MediaProbe:
    demuxer: str
    duration_s: float
    has_video: bool
    has_audio: bool
    width: int | None  # as shown (after the display rotation); None without video
    height: int | None


class NotMedia(Exception):
    """ffmpeg cannot read the file as the demuxer says; `message` is a sentence for the person,
    `stderr` the tail of ffmpeg's output (for the log)."""

    def __init__(self, message: str, stderr: str = ""):
        self.message = message
        self.stderr = stderr
        super().__init__(f"{message}\n{stderr}" if stderr else message)


class Prober(Protocol):
    def probe(self, path: Path, demuxer: str) -> MediaProbe: ...


def stderr_tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-STDERR_LINES:])


def input_args(path: Path, demuxer: str) -> list[str]:
    """The arguments that open one ffmpeg input: local files only, read as this demuxer only."""
    if demuxer not in DEMUXERS:
        raise ValueError(f"{demuxer!r} is not a demuxer of the media allowlist.")
    return ["-protocol_whitelist", "file", "-f", demuxer, "-i", str(path)]


def parse(info: str, demuxer: str) -> MediaProbe | None:
    """The description of the first input in ffmpeg's stderr; None when it shows no duration."""
    duration = _DURATION_RE.search(info)
    if duration is None:
        return None
    h, m, s = duration.groups()
    lines = info.splitlines()
    # Cover art in an audio file is listed as a video stream; it is no picture to show.
    pictures = (i for i, line in enumerate(lines) if _VIDEO_RE.search(line) and "(attached pic)" not in line)
    video_at = next(pictures, None)
    width = height = None
    if video_at is not None:
        width, height = (int(n) for n in _VIDEO_RE.search(lines[video_at]).groups())
        for line in lines[video_at + 1:]:
            if "Stream #" in line:
                break  # the rotation, when there is one, is in the video stream's own side data
            rotation = _ROTATION_RE.search(line)
            if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
                width, height = height, width
    return MediaProbe(
        demuxer=demuxer,
        duration_s=int(h) * 3600 + int(m) * 60 + float(s),
        has_video=video_at is not None,
        has_audio=_AUDIO_RE.search(info) is not None,
        width=width,
        height=height,
    )


class FfmpegProber:
    """The packaged ffmpeg (`ffmpeg` names another binary: tests)."""

    def __init__(self, ffmpeg: str | None = None):
        self._ffmpeg = ffmpeg

    def probe(self, path: Path, demuxer: str) -> MediaProbe:
        if self._ffmpeg is None:
            from .ffmpeg import ffmpeg_exe  # the packaged binary, made runnable; never one on PATH

            self._ffmpeg = ffmpeg_exe()
        # With no output file ffmpeg describes the input on stderr and exits 1; that is expected.
        proc = subprocess.run(
            [self._ffmpeg, "-hide_banner", "-nostdin", *input_args(Path(path), demuxer)],
            capture_output=True, text=True, errors="replace",
        )
        found = parse(proc.stderr, demuxer)
        if found is None or found.duration_s <= 0:
            raise NotMedia("The file is not audio or video ffmpeg can read.", stderr_tail(proc.stderr))
        return found


get_prober: Port[Prober] = Port(FfmpegProber)
