"""9. The composite render at the worker's real size: a 1080x1920 avatar, 30 s and 60 s, the cutaway
layout (presenter, then B-roll for 60 % of each 5 s scene), captions burned in, two-pass loudness,
poster and self-check: wall-clock seconds of render_composite and the peak memory of its ffmpeg
runs, against the render worker's 4096 MB and 900 s.

The media are made first in one process; the render runs in a fresh one, so its
getrusage(RUSAGE_CHILDREN).ru_maxrss is the largest of the render's own ffmpeg runs only.
`python -m bench.render` runs it alone and prints the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from .common import ROOT, Context, Figure, log

WIDTH, HEIGHT = 1080, 1920
CLIP_SIZE = (720, 1280)  # Veo's clips
SCENE_S, SHARE = 5.0, 0.6
WORKER_MB, WORKER_S = 4096, 900
LENGTHS = (30.0, 60.0)

MAKE = r"""
import sys
from pathlib import Path
from devstack.media import render_avatar, render_clip, render_voiceover
folder, seconds = Path(sys.argv[1]), float(sys.argv[2])
voice = render_voiceover(folder / "voice.m4a", seconds=seconds)
render_avatar(folder / "avatar.mp4", voice, seconds=seconds, width=1080, height=1920)
for i in range(4):
    render_clip(folder / f"clip{i}.mp4", f"bench-render-{i}", 8.0, 720, 1280)
"""

RENDER = r"""
import json, resource, sys, time
from pathlib import Path
from broll_common.clients.composite import CutInput, render_composite
folder, seconds, scene, share = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
cuts, start, n = [], 0.0, 0
while start + 1e-6 < seconds:
    end = min(start + scene, seconds)
    cuts.append(CutInput(end - (end - start) * share, end, folder / f"clip{n % 4}.mp4", "full"))
    start, n = end, n + 1
started = time.perf_counter()
report = render_composite(folder / "avatar.mp4", folder / "voice.m4a", cuts, folder / "composite.mp4",
                          voiceover_demuxer="mov", captions_ass=folder / "captions.ass", poster=folder / "poster.jpg",
                          expected_duration_s=seconds)
print(json.dumps({"seconds": time.perf_counter() - started, "cuts": len(cuts),
                  "ffmpeg_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "report": report.__dict__, "bytes": (folder / "composite.mp4").stat().st_size}))
"""


def captions_ass(seconds: float, width: int = WIDTH, height: int = HEIGHT) -> str:
    """Lines of three words every 1.2 s over the whole video, karaoke-highlighted, lower third."""
    size = round(height * 0.045)
    lines = []
    words = "night trains are back across europe tonight".split()
    t, n = 0.0, 0
    while t < seconds:
        end = min(t + 1.2, seconds)
        text = " ".join(r"{\k40}" + words[(n + i) % len(words)].upper() for i in range(3))
        lines.append(f"Dialogue: 0,{_ts(t)},{_ts(end)},Default,,0,0,0,,{text}")
        t, n = end, n + 3
    return "\n".join([
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {width}", f"PlayResY: {height}", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        f"Style: Default,DejaVu Sans,{size},&H0000FFFF,&H00FFFFFF,&H00000000,&H80000000,1,0,0,0,100,100,0,0,1,"
        f"{round(size / 12)},0,2,{width // 10},{width // 10},{round(height * 0.3)},1",
        "", "[Events]", "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text", *lines, "",
    ])


def _ts(t: float) -> str:
    cs = round(t * 100)
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _python(code: str, *args: str, timeout: float) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return proc.stdout


def measure(seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as folder:
        log(f"render: making a {WIDTH}x{HEIGHT} avatar and voice-over of {seconds:g} s and 4 clips")
        _python(MAKE, folder, str(seconds), timeout=1800)
        with open(os.path.join(folder, "captions.ass"), "w") as f:
            f.write(captions_ass(seconds))
        log(f"render: the composite of {seconds:g} s")
        out = _python(RENDER, folder, str(seconds), str(SCENE_S), str(SHARE), timeout=WORKER_S * 2)
    return json.loads(out.strip().splitlines()[-1])


def figures(seconds: float, found: dict) -> list[Figure]:
    report = found["report"]
    ok = found["seconds"] <= WORKER_S and found["ffmpeg_peak_mb"] <= WORKER_MB
    return [
        Figure("9 render", f"composite {WIDTH}x{HEIGHT}, {seconds:g} s, cutaway, captions",
               f"{found['seconds']:.1f} s, ffmpeg peak {found['ffmpeg_peak_mb']:.0f} MB",
               f"≤ {WORKER_S} s, ≤ {WORKER_MB} MB", ok,
               note=f"{found['cuts']} cuts, {found['bytes'] / 2**20:.1f} MB; {os.cpu_count()} cores here "
                    f"(-threads 2; Lambda at 4096 MB has about 2.3 vCPU)"),
        Figure("9 render", f"self-check of the {seconds:g} s composite",
               f"{report['duration_s']:.2f} s, {report['width']}x{report['height']}, "
               f"{report['loudness_lufs']:.1f} LUFS, {report['true_peak_dbtp']:.1f} dBTP",
               "-14 ± 1 LUFS, ≤ -1 dBTP, no problems",
               not report["problems"] and abs(report["loudness_lufs"] + 14) <= 1 and report["true_peak_dbtp"] <= -1,
               note="; ".join(report["problems"])),
    ]


def run(ctx: Context) -> None:
    for seconds in LENGTHS:
        ctx.add(*figures(seconds, measure(seconds)))


def main() -> int:
    for seconds in LENGTHS:
        found = measure(seconds)
        for figure in figures(seconds, found):
            print(f"{figure.name}: {figure.value}  [target {figure.target}: {figure.verdict}]  {figure.note}")
        print(f"  load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
