"""The worker's ffmpeg: the imageio-ffmpeg wheel's binary, run from a 0755 copy in /tmp when the
Lambda zip has dropped its executable bit, and never an ffmpeg found on PATH."""

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from broll_common.clients import ffmpeg


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def run_version(exe: str) -> str:
    # PATH empty: the binary must run by its own path, with nothing to find on PATH.
    proc = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, env={"PATH": ""})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def fake_path_ffmpeg(tmp_path, monkeypatch):
    """An `ffmpeg` on PATH and in IMAGEIO_FFMPEG_EXE that must never be chosen."""
    bin_dir = tmp_path / "path-bin"
    bin_dir.mkdir()
    fake = bin_dir / "ffmpeg"
    fake.write_text("#!/bin/sh\necho not-the-packaged-ffmpeg\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    return fake


def test_the_packaged_binary_is_imageio_ffmpegs_own():
    own = imageio_ffmpeg._utils._get_ffmpeg_exe()  # its own lookup (the wheel's binary comes first)
    assert ffmpeg.packaged_ffmpeg() == Path(own)


def test_the_tests_run_the_ffmpeg_the_worker_ships():
    root = Path(__file__).resolve().parents[2]
    pins = {
        req: re.search(r"^imageio-ffmpeg==(\S+)", (root / req).read_text(), re.M).group(1)
        for req in ("functions/render_worker/requirements.txt", "requirements-dev.txt")
    }
    assert set(pins.values()) == {imageio_ffmpeg.__version__}, pins


def test_a_non_executable_binary_is_run_from_a_0755_copy(tmp_path):
    # As the Lambda zip delivers it: the wheel's binary with mode 0644.
    package = tmp_path / "package" / "imageio_ffmpeg" / "binaries"
    package.mkdir(parents=True)
    shipped = package / ffmpeg.packaged_ffmpeg().name
    shutil.copyfile(ffmpeg.packaged_ffmpeg(), shipped)
    shipped.chmod(0o644)
    with pytest.raises(PermissionError):
        subprocess.run([str(shipped), "-version"], capture_output=True)

    scratch = tmp_path / "tmp" / "broll-ffmpeg"
    exe = ffmpeg.ffmpeg_exe(shipped, copy_dir=scratch)

    assert Path(exe) == scratch / shipped.name
    assert mode(exe) == 0o755
    assert "ffmpeg version" in run_version(exe)
    assert mode(shipped) == 0o644  # the package itself is left alone (read-only on Lambda)
    assert [p.name for p in scratch.iterdir()] == [shipped.name]  # no partial copy left behind

    # Warm invocations reuse the copy, and a copy that /tmp lost is made again.
    inode = os.stat(exe).st_ino
    assert ffmpeg.ffmpeg_exe(shipped, copy_dir=scratch) == exe and os.stat(exe).st_ino == inode
    Path(exe).unlink()
    assert ffmpeg.ffmpeg_exe(shipped, copy_dir=scratch) == exe
    assert mode(exe) == 0o755


def test_a_truncated_copy_left_in_tmp_is_replaced(tmp_path):
    shipped = tmp_path / "ffmpeg-linux-test"
    shipped.write_text("#!/bin/sh\necho packaged\n")
    shipped.chmod(0o644)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    stale = scratch / shipped.name
    stale.write_text("#!/bin/sh\n")  # e.g. a sandbox frozen mid-copy by an older worker
    stale.chmod(0o755)

    exe = ffmpeg.ffmpeg_exe(shipped, copy_dir=scratch)

    assert Path(exe).read_bytes() == shipped.read_bytes()
    assert subprocess.run([exe], capture_output=True, text=True).stdout == "packaged\n"


def test_an_executable_binary_is_used_where_it_is(tmp_path):
    shipped = tmp_path / "ffmpeg-linux-test"
    shipped.write_text("#!/bin/sh\necho packaged\n")
    shipped.chmod(0o755)
    scratch = tmp_path / "scratch"

    assert ffmpeg.ffmpeg_exe(shipped, copy_dir=scratch) == str(shipped)
    assert not scratch.exists()


def test_the_default_is_the_packaged_binary_never_path_or_env(fake_path_ffmpeg, tmp_path):
    exe = ffmpeg.ffmpeg_exe(copy_dir=tmp_path / "scratch")

    assert exe == str(ffmpeg.packaged_ffmpeg())  # installed by pip, it kept its mode: no copy
    assert exe != str(fake_path_ffmpeg)
    assert imageio_ffmpeg.get_ffmpeg_exe() == str(fake_path_ffmpeg)  # what the library would pick
    assert "ffmpeg version" in run_version(exe)


def test_a_missing_binary_is_a_clear_error(tmp_path, monkeypatch):
    import imageio_ffmpeg._definitions as definitions

    monkeypatch.setattr(definitions, "get_platform", lambda: "plan9-mips")
    with pytest.raises(RuntimeError, match="ships no ffmpeg binary for plan9-mips"):
        ffmpeg.packaged_ffmpeg()
