"""The ffmpeg binary the render worker runs: the one inside the imageio-ffmpeg wheel, made runnable.

Lambda has no ffmpeg on PATH, and the function's zip loses the executable bit of files unpacked
from wheels (aws-lambda-builders extracts with zipfile), so the packaged binary arrives 0644.
At first use it is copied to /tmp (the only writable place on Lambda) and chmod'ed 0755; an
executable one (a dev venv, or a package that kept its mode) is used where it is. Never the ffmpeg
on PATH, nor IMAGEIO_FFMPEG_EXE: `imageio_ffmpeg.get_ffmpeg_exe()` falls back to both, and then
the worker would run something other than the binary it ships and the tests exercise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

COPY_DIR = Path(tempfile.gettempdir()) / "broll-ffmpeg"

_runnable: dict[Path, str] = {}  # packaged binary -> the path to run, once per process (cold start)


def packaged_ffmpeg() -> Path:
    """Path of the ffmpeg binary inside the installed imageio-ffmpeg package (whatever its mode)."""
    import imageio_ffmpeg  # here: only the function that renders pays for it at cold start
    from imageio_ffmpeg._definitions import FNAME_PER_PLATFORM, get_platform

    name = FNAME_PER_PLATFORM.get(get_platform())
    path = Path(imageio_ffmpeg.__file__).parent / "binaries" / (name or "")
    if not name or not path.is_file():
        raise RuntimeError(
            f"imageio-ffmpeg {imageio_ffmpeg.__version__} ships no ffmpeg binary for {get_platform()} "
            f"(looked for {path}); install its platform wheel."
        )
    return path


def ffmpeg_exe(binary: Path | str | None = None, copy_dir: Path | str | None = None) -> str:
    """Path of a runnable ffmpeg: `binary` (default: the packaged one) when it is executable,
    else a 0755 copy of it in `copy_dir` (default /tmp/broll-ffmpeg), made once and reused."""
    source = Path(binary) if binary is not None else packaged_ffmpeg()
    if source in _runnable and os.access(_runnable[source], os.X_OK):
        return _runnable[source]
    if os.access(source, os.X_OK):
        exe = str(source)
    else:
        target_dir = Path(copy_dir) if copy_dir is not None else COPY_DIR
        target = target_dir / source.name
        if not (target.is_file() and os.access(target, os.X_OK) and target.stat().st_size == source.stat().st_size):
            target_dir.mkdir(parents=True, exist_ok=True)
            # Copy beside the target and rename, so a copy cut short is never taken for the binary.
            fd, partial = tempfile.mkstemp(dir=target_dir, prefix=f".{source.name}.")
            try:
                with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                os.chmod(partial, 0o755)
                os.replace(partial, target)
            finally:
                Path(partial).unlink(missing_ok=True)
        exe = str(target)
    _runnable[source] = exe
    return exe
