"""8. Final export: the memory Download All's ZIP build needs with 10 and 30 clips (it must
not grow with the number of clips), and the composite render's time and ffmpeg's peak memory.

Runs on moto in this process (no stack). moto's S3 hands each object back whole, so the
traced peak includes one object held by moto; what matters is that it stays flat from 10
to 30 clips rather than growing with the archive.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from .common import ROOT, Context, Figure, log

CLIP_BYTES = 4 * 1024 * 1024  # about an 8 s 720×1280 Veo clip; random, so it does not compress
MEMORY_BOUND_MB = 64


def _zip_peak(clips: int) -> tuple[float, float]:
    """(peak traced MB during the build, archive MB) for a project with `clips` clips."""
    import boto3
    from moto import mock_aws

    from broll_common.logic import export
    from broll_common.dal import projects as storage
    from broll_common.aws import reset_clients
    from broll_common.config import reset_settings

    os.environ.update(MEDIA_BUCKET="bench-media", AWS_DEFAULT_REGION="us-east-1")
    # In-process moto here: never the local stack's endpoint (set when other parts ran first).
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    reset_settings()
    with mock_aws():
        reset_clients()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bench-media")
        payload = os.urandom(CLIP_BYTES)
        scenes = []
        for number in range(clips):
            key = f"projects/bench/broll/s{number}/task.mp4"
            s3.put_object(Bucket="bench-media", Key=key, Body=payload)
            scenes.append({
                "sceneId": f"s{number}", "sceneTitle": f"Shot {number}", "status": "completed", "videoKey": key,
                "timeRange": {"start": number, "end": number + 1, "label": ""},
            })
        record = storage.ProjectRecord("bench", {"name": "Bench"}, {"script": "text"}, {}, {}, {"scenes": scenes})
        del payload
        _, timeline, files = export.export_key(record)
        with tempfile.TemporaryFile() as spool:
            tracemalloc.start()
            export.build_archive(record, timeline, files, spool)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            size = spool.tell()
        reset_clients()
    return peak / 2**20, size / 2**20


COMPOSITE = """
import json, resource, sys, time
from pathlib import Path
from devstack.media import render_avatar, render_clip, render_voiceover
from broll_common.clients.composite import Segment, render_composite
folder, width, height, seconds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
voice = render_voiceover(folder / "voice.m4a", seconds=seconds)
avatar = render_avatar(folder / "avatar.mp4", voice, seconds=seconds, width=width, height=height)
third = seconds / 3
segments = [Segment(i * third, (i + 1) * third, render_clip(folder / f"c{i}.mp4", f"bench-{i}", 8.0, width, height))
            for i in range(3)]
before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
started = time.perf_counter()
render_composite(avatar, voice, segments, folder / "out.mp4", voiceover_demuxer="mov")
print(json.dumps({"seconds": time.perf_counter() - started,
                  "ffmpeg_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _composite(width: int, height: int, seconds: float) -> dict:
    import json

    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run([sys.executable, "-c", COMPOSITE, folder, str(width), str(height), str(seconds)],
                             cwd=ROOT, capture_output=True, text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(ctx: Context) -> None:
    log("export: ZIP build memory with 10 and 30 clips")
    peaks = {n: _zip_peak(n) for n in (10, 30)}
    (peak10, _), (peak30, size30) = peaks[10], peaks[30]
    ctx.add(
        Figure("8 export", "ZIP build peak memory, 10 clips", f"{peak10:.1f} MB", note=f"{CLIP_BYTES // 2**20} MB clips"),
        Figure("8 export", "ZIP build peak memory, 30 clips", f"{peak30:.1f} MB", f"≤ {MEMORY_BOUND_MB} MB, flat",
               peak30 <= MEMORY_BOUND_MB and peak30 <= peak10 * 1.5,
               note=f"archive {size30:.0f} MB; Python allocations (tracemalloc), one object held by moto included"),
    )
    for width, height, seconds in ((360, 640, 30.0), (720, 1280, 30.0)):
        log(f"export: composite render {width}×{height}, {seconds:g} s")
        figures = _composite(width, height, seconds)
        ctx.add(Figure("8 export", f"composite render {width}×{height}, {seconds:g} s, 3 clips",
                       f"{figures['seconds']:.1f} s, ffmpeg peak {figures['ffmpeg_peak_mb']:.0f} MB",
                       note=f"{os.cpu_count()} cores, -threads 2; the worker has 2048 MB"))
