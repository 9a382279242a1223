"""Small synthetic media for local runs and tests, made with the ffmpeg that imageio-ffmpeg ships.

Everything here is generated from lavfi sources only (no fonts, no input assets), so it works
on a bare CI box. Clips look like Veo output in the ways the app cares about: 9:16 H.264 MP4,
yuv420p, moov atom first (browsers can start playing before the download ends), with an AAC
audio track.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg

FPS = 24
SAMPLE_RATE = 44100


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str]) -> None:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", *args],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def _digest(seed_text: str) -> bytes:
    return hashlib.sha256(seed_text.encode("utf-8")).digest()


def clip_colour(seed_text: str) -> tuple[int, int, int]:
    """The background colour render_clip uses for seed_text: deterministic, saturated and
    mid-bright (so the white/complementary moving bars always stand out)."""
    d = _digest(seed_text)
    hue = int.from_bytes(d[0:2], "big") / 65536
    saturation = 0.55 + d[4] / 255 * 0.3
    value = 0.7 + d[5] / 255 * 0.2
    r, g, b = colorsys.hsv_to_rgb(hue, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "0x{:02X}{:02X}{:02X}".format(*rgb)


def _h264_args() -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]


def render_clip(path, seed_text: str, seconds: float = 8.0, width: int = 360, height: int = 640) -> Path:
    """Render a B-roll stand-in: a plain clip_colour(seed_text) background with two bars moving
    through the middle band, and a soft tone whose pitch also depends on seed_text.

    The top and bottom fifths are never crossed by the bars, so frame_colour() of any frame
    returns clip_colour(seed_text) (within codec rounding).
    """
    path = Path(path)
    d = _digest(seed_text)
    base = clip_colour(seed_text)
    accent = tuple(255 - c for c in base)  # complementary, so the motion is obvious
    speed = 60 + d[2] % 120  # px/s
    bar_h = height // 10
    tone = 180 + d[3] * 2  # Hz
    video = (
        f"color=c={_hex(base)}:s={width}x{height}:r={FPS}:d={seconds}[bg];"
        f"color=c={_hex(accent)}:s={width // 3}x{bar_h}:r={FPS}:d={seconds}[bar];"
        f"color=c=white:s={bar_h}x{bar_h}:r={FPS}:d={seconds}[dot];"
        f"[bg][bar]overlay=x='mod(t*{speed},W+w)-w':y='H*0.35':shortest=1[v1];"
        f"[v1][dot]overlay=x='W-mod(t*{speed * 1.7:.1f},W+w)':y='H*0.55':shortest=1,format=yuv420p[v]"
    )
    audio = f"aevalsrc='0.2*sin(2*PI*{tone}*t)*(0.6+0.4*sin(2*PI*0.5*t))':s={SAMPLE_RATE}:d={seconds}"
    _run([
        "-filter_complex", video,
        "-f", "lavfi", "-i", audio,
        "-map", "[v]", "-map", "0:a",
        *_h264_args(), "-c:a", "aac", "-b:a", "64k",
        "-t", str(seconds), str(path),
    ])
    return path


def render_voiceover(path, seconds: float = 27.7) -> Path:
    """Render a mono AAC (.m4a) 'voice': a wobbling ~120 Hz voiced tone with harmonics, cut into
    ~4 syllables a second and into phrases by short pauses, so waveforms look like speech."""
    path = Path(path)
    f0 = "(120+25*sin(2*PI*0.8*t))"
    voiced = f"(sin(2*PI*{f0}*t)+0.5*sin(4*PI*{f0}*t)+0.25*sin(6*PI*{f0}*t))"
    syllables = "pow(sin(4*PI*t),2)"
    phrases = "gt(mod(t,3.2),0.4)"
    expr = f"0.3*{voiced}*{syllables}*{phrases}"
    _run([
        "-f", "lavfi", "-i", f"aevalsrc='{expr}':s={SAMPLE_RATE}:c=mono:d={seconds}",
        "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-t", str(seconds), str(path),
    ])
    return path


def _disc_source(name: str, colour: tuple[int, int, int], w: int, h: int) -> str:
    """One still RGBA frame holding a filled ellipse of w x h, looped forever: geq is slow, so the
    shape is computed once instead of per output frame."""
    r, g, b = colour
    alpha = f"255*lte(hypot((X-{w / 2})/{w / 2},(Y-{h / 2})/{h / 2}),1)"
    return (
        f"color=c=black:s={w}x{h}:r={FPS}:d=1,format=rgba,trim=end_frame=1,"
        f"geq=r={r}:g={g}:b={b}:a='{alpha}',loop=loop=-1:size=1[{name}]"
    )


def render_avatar(path, audio_path, seconds: float = 27.7, width: int = 360, height: int = 640) -> Path:
    """Render a talking-head stand-in: a head disc over a shoulders ellipse on a dark backdrop,
    swaying gently, muxed with audio_path (its audio is copied, not re-encoded)."""
    path = Path(path)
    head = width * 4 // 9
    video = ";".join([
        f"color=c=0x23303F:s={width}x{height}:r={FPS}:d={seconds}[bg]",
        _disc_source("body", (60, 90, 140), width * 5 // 6, height * 2 // 5),
        _disc_source("head", (224, 176, 144), head, head * 6 // 5),
        "[bg][body]overlay=x='(W-w)/2+4*sin(t*0.9)':y='H*0.68':shortest=1[v1]",
        "[v1][head]overlay=x='(W-w)/2+6*sin(t*0.9)':y='H*0.36+4*sin(t*2.3)':shortest=1,format=yuv420p[v]",
    ])
    _run([
        "-filter_complex", video,
        "-i", str(audio_path),
        "-map", "[v]", "-map", "0:a",
        *_h264_args(), "-c:a", "copy",
        "-t", str(seconds), str(path),
    ])
    return path


_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO_RE = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_AUDIO_RE = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)")


def probe(path) -> dict:
    """Describe a media file from `ffmpeg -i` output (ffprobe is not always installed):
    {"width", "height", "duration", "has_audio", "video_codec", "audio_codec"}; width/height and
    the codecs are None when the stream is absent."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True)
    info = proc.stderr  # ffmpeg prints the description to stderr and exits 1 (no output given)
    duration = _DURATION_RE.search(info)
    if duration is None:
        raise ValueError(f"not a media file ffmpeg can read: {path}: {info.strip()[-500:]}")
    h, m, s = duration.groups()
    video = _VIDEO_RE.search(info)
    audio = _AUDIO_RE.search(info)
    return {
        "width": int(video.group(2)) if video else None,
        "height": int(video.group(3)) if video else None,
        "duration": int(h) * 3600 + int(m) * 60 + float(s),
        "has_audio": audio is not None,
        "video_codec": video.group(1) if video else None,
        "audio_codec": audio.group(1) if audio else None,
    }


def frame_colour(path, at_seconds: float = 1.0) -> tuple[int, int, int]:
    """Mean RGB of the top fifth of the frame at at_seconds: for a render_clip() output this is
    clip_colour(seed_text), give or take a few units of YUV rounding."""
    proc = subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error",
            "-ss", str(at_seconds), "-i", str(path), "-frames:v", "1",
            "-vf", "crop=iw:ih/5:0:0,scale=1:1:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ],
        capture_output=True,
    )
    if proc.returncode != 0 or len(proc.stdout) != 3:
        raise RuntimeError(f"could not read a frame of {path}: {proc.stderr.decode(errors='replace')[-500:]}")
    return tuple(proc.stdout)
