"""The ffmpeg workers' packages as `sam build` leaves them, checked before they are deployed.

Given the build directory in BROLL_BUILD_DIR (`sam build --build-dir DIR`: one folder per function
with its requirements unpacked, and the layer under CommonLayer/python/), this asserts that
RenderWorkerFunction and MediaWorkerFunction (the render, the probe) each carry imageio-ffmpeg's ffmpeg binary, that the binary runs on the python3.11
Lambda runtime's Amazon Linux 2 (glibc 2.26: static, or no GLIBC_ symbol newer than 2.26), that
the wheel it came from is tagged manylinux2014 (manylinux_2_17) or older, and that the worker's
`broll_common.clients.ffmpeg.ffmpeg_exe()` makes it run `-version` with no ffmpeg on PATH, although the
package's copy has lost its executable bit (as aws-lambda-builders leaves it).

No BROLL_BUILD_DIR is a failure, not a skip: the deploy stage must build first and say where.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

FUNCTIONS = ("RenderWorkerFunction", "MediaWorkerFunction")
LAYER = "CommonLayer"
RUNTIME_GLIBC = (2, 26)  # python3.11 on Lambda = Amazon Linux 2
MAX_MANYLINUX = (2, 17)  # what pip accepts for --platform manylinux2014_<arch>
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}
ROOT = Path(__file__).resolve().parents[2]


# --- the build directory -------------------------------------------------------------------------

class _CfnLoader(yaml.SafeLoader):
    """Reads a template whether its intrinsics are long form (as `sam build` writes) or tags."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture(scope="module")
def build_dir() -> Path:
    value = os.environ.get("BROLL_BUILD_DIR")
    if not value:
        pytest.fail(
            "BROLL_BUILD_DIR is not set: run `sam build --build-dir DIR` and set BROLL_BUILD_DIR=DIR "
            "to check the render worker's package before deploying it.",
            pytrace=False,
        )
    path = Path(value).resolve()
    if not (path / "template.yaml").is_file():
        pytest.fail(f"BROLL_BUILD_DIR={value} holds no built template.yaml: is it a `sam build` output?",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def built_template(build_dir) -> dict:
    return yaml.load((build_dir / "template.yaml").read_text(), Loader=_CfnLoader)


def _resource_dir(build_dir: Path, template: dict, name: str, uri_key: str) -> Path:
    resource = template.get("Resources", {}).get(name)
    assert resource, f"the built template has no {name}"
    uri = resource.get("Properties", {}).get(uri_key)
    assert isinstance(uri, str), f"{name}'s {uri_key} in the built template is {uri!r}, not a local folder"
    path = build_dir / uri
    assert path.is_dir(), f"{name}'s built folder {path} is missing"
    return path


@pytest.fixture(scope="module", params=FUNCTIONS)
def function_dir(request, build_dir, built_template) -> Path:
    return _resource_dir(build_dir, built_template, request.param, "CodeUri")


@pytest.fixture(scope="module")
def layer_python_dir(build_dir, built_template) -> Path:
    path = _resource_dir(build_dir, built_template, LAYER, "ContentUri") / "python"
    assert (path / "broll_common" / "clients" / "ffmpeg.py").is_file(), f"the layer at {path} has no broll_common/clients/ffmpeg.py"
    return path


@pytest.fixture(scope="module")
def dist_info(function_dir) -> Path:
    found = sorted(function_dir.glob("imageio_ffmpeg-*.dist-info"))
    assert len(found) == 1, f"{function_dir.name} should hold exactly one imageio_ffmpeg-*.dist-info, has {found}"
    return found[0]


def _binary_in(function_dir: Path) -> Path:
    found = sorted(p for p in (function_dir / "imageio_ffmpeg" / "binaries").glob("ffmpeg-*") if p.is_file())
    assert len(found) == 1, f"{function_dir.name} should hold one imageio-ffmpeg ffmpeg binary, has {found}"
    assert found[0].stat().st_size > 10_000_000, f"{found[0]} is too small to be ffmpeg"
    return found[0]


@pytest.fixture(scope="module")
def binary(function_dir) -> Path:
    return _binary_in(function_dir)


@pytest.fixture(scope="module")
def render_worker_dir(build_dir, built_template) -> Path:
    return _resource_dir(build_dir, built_template, "RenderWorkerFunction", "CodeUri")


# --- a small ELF reader (no binutils needed) ------------------------------------------------------

def elf_facts(path: Path) -> dict:
    """{'machine': 'x86_64'|'aarch64'|..., 'static': bool, 'glibc': [(2, 17), ...]} of a 64-bit
    little-endian ELF: static when it has neither an interpreter nor a dynamic segment; `glibc`
    lists the GLIBC_x.y versions its symbol-version requirements (.gnu.version_r) name."""
    with open(path, "rb") as f:
        def read(offset: int, size: int) -> bytes:
            f.seek(offset)
            data = f.read(size)
            assert len(data) == size, f"{path} is cut short"
            return data

        ident = read(0, 16)
        assert ident[:4] == b"\x7fELF" and ident[4] == 2 and ident[5] == 1, f"{path} is not a 64-bit LE ELF"
        (machine,) = struct.unpack_from("<H", read(18, 2))
        phoff, shoff = struct.unpack("<QQ", read(32, 16))
        phentsize, phnum, shentsize, shnum, _shstrndx = struct.unpack("<HHHHH", read(54, 10))
        segment_types = {struct.unpack("<I", read(phoff + i * phentsize, 4))[0] for i in range(phnum)}
        static = not segment_types & {2, 3}  # PT_DYNAMIC, PT_INTERP

        sections = []
        for i in range(shnum):
            _name, sh_type, _flags, _addr, offset, size, link, info = struct.unpack(
                "<IIQQQQII", read(shoff + i * shentsize, 48))
            sections.append((sh_type, offset, size, link, info))
        versions = set()
        for sh_type, offset, size, link, count in sections:
            if sh_type != 0x6FFFFFFE:  # SHT_GNU_verneed
                continue
            strtab_offset, strtab_size = sections[link][1], sections[link][2]
            strtab = read(strtab_offset, strtab_size)
            entry = offset
            for _ in range(count):
                _ver, aux_count, _file, aux, next_entry = struct.unpack("<HHIII", read(entry, 16))
                at = entry + aux
                for _ in range(aux_count):
                    _hash, _flags, _other, name, next_aux = struct.unpack("<IHHII", read(at, 16))
                    text = strtab[name:strtab.index(b"\0", name)].decode()
                    if m := re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", text):
                        versions.add((int(m[1]), int(m[2])))
                    at += next_aux
                entry += next_entry
        assert static or any(s[0] == 0x6FFFFFFE for s in sections), (
            f"{path} is dynamically linked but has no symbol-version section to read")
    return {"machine": ELF_MACHINES.get(machine, f"e_machine {machine}"), "static": static,
            "glibc": sorted(versions)}


def test_the_elf_reader_sees_a_dynamic_binarys_glibc_needs():
    """So that "no GLIBC requirement" below means none, not a reader that sees nothing."""
    host = Path(shutil.which("ls") or "/bin/ls").resolve()
    facts = elf_facts(host)
    assert not facts["static"] and facts["glibc"], f"{host}: {facts}"
    if objdump := shutil.which("objdump"):
        listed = subprocess.run([objdump, "-T", str(host)], capture_output=True, text=True).stdout
        want = {tuple(map(int, v.split(".")[:2])) for v in re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", listed)}
        assert set(facts["glibc"]) == want


# --- the render worker's package ------------------------------------------------------------------

def test_the_ffmpeg_binary_runs_on_the_runtimes_glibc(binary):
    facts = elf_facts(binary)
    assert facts["machine"] in ELF_MACHINES.values(), f"{binary.name}: {facts}"
    newest = max(facts["glibc"], default=None)
    assert facts["static"] or (newest is not None and newest <= RUNTIME_GLIBC), (
        f"{binary.name} needs GLIBC_{newest[0]}.{newest[1]}; the python3.11 Lambda runtime has "
        f"{RUNTIME_GLIBC[0]}.{RUNTIME_GLIBC[1]}" if newest else f"{binary.name}: {facts}")


def test_the_wheel_is_manylinux2014_or_older_for_the_binarys_arch(binary, dist_info):
    machine = elf_facts(binary)["machine"]
    tags = re.findall(r"^Tag:\s*(\S+)", (dist_info / "WHEEL").read_text(), re.M)
    assert tags, f"{dist_info}/WHEEL names no tag"
    for tag in tags:
        platform = tag.split("-")[-1]
        m = re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014|manylinux_(\d+)_(\d+))_(\w+)", platform)
        assert m, f"{dist_info.name}: {tag} is not a manylinux tag"
        glibc = (int(m[2]), int(m[3])) if m[2] else LEGACY_MANYLINUX[m[1]]
        assert glibc <= MAX_MANYLINUX, f"{dist_info.name}: {tag} needs glibc {glibc}, newer than manylinux2014"
        assert m[4] == machine, f"{dist_info.name}: {tag} is for {m[4]}, the binary is {machine}"


def test_the_package_holds_the_pinned_imageio_ffmpeg(dist_info):
    pinned = re.search(r"^imageio-ffmpeg==(\S+)", (ROOT / "functions/render_worker/requirements.txt").read_text(),
                       re.M)
    assert pinned, "functions/render_worker/requirements.txt pins no imageio-ffmpeg"
    assert dist_info.name == f"imageio_ffmpeg-{pinned[1]}.dist-info"


_RUN_IT = r"""
import json, os, shutil, subprocess, sys
import imageio_ffmpeg
from broll_common.clients import ffmpeg
# For another architecture, imageio-ffmpeg's own platform look-up names this host's binary:
# the package's one is given, and qemu runs it.
packaged = os.environ.get("FOREIGN_BINARY") or ffmpeg.packaged_ffmpeg()
exe = ffmpeg.ffmpeg_exe(packaged)
runner = [os.environ["RUN_WITH"]] if os.environ.get("RUN_WITH") else []
proc = subprocess.run([*runner, exe, "-hide_banner", "-version"], capture_output=True, text=True)
print(json.dumps({
    "which_ffmpeg": shutil.which("ffmpeg"),
    "imageio_ffmpeg": imageio_ffmpeg.__file__, "ffmpeg_py": ffmpeg.__file__,
    "packaged": str(packaged), "packaged_executable": os.access(packaged, os.X_OK),
    "exe": exe, "returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr[-2000:],
}))
"""


def test_the_cold_start_makes_the_packaged_ffmpeg_run_with_none_on_path(
    binary, function_dir, layer_python_dir, tmp_path
):
    machine = elf_facts(binary)["machine"]
    host = {"amd64": "x86_64", "arm64": "aarch64"}.get(os.uname().machine.lower(), os.uname().machine.lower())
    runner = {}
    if machine != host:
        # The other architecture's binary runs under user-mode emulation (scripts/test installs it).
        qemu = shutil.which(f"qemu-{machine}-static")
        assert qemu, f"the package is built for {machine}: install qemu-user-static to run it on {host}"
        runner = {"RUN_WITH": qemu, "FOREIGN_BINARY": str(binary)}
    empty_bin, lambda_tmp = tmp_path / "bin", tmp_path / "tmp"  # PATH with nothing on it; Lambda's /tmp
    empty_bin.mkdir()
    lambda_tmp.mkdir()
    before = binary.stat().st_mode
    env = {"PATH": str(empty_bin), "TMPDIR": str(lambda_tmp), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "PYTHONPATH": os.pathsep.join([str(function_dir), str(layer_python_dir)]), **runner}  # as on Lambda
    proc = subprocess.run([sys.executable, "-c", _RUN_IT], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)

    assert seen["which_ffmpeg"] is None
    assert Path(seen["imageio_ffmpeg"]).is_relative_to(function_dir), seen["imageio_ffmpeg"]
    assert Path(seen["ffmpeg_py"]).is_relative_to(layer_python_dir), seen["ffmpeg_py"]
    assert Path(seen["packaged"]) == binary
    if not seen["packaged_executable"]:  # as aws-lambda-builders leaves it (0644)
        assert Path(seen["exe"]).is_relative_to(lambda_tmp), seen["exe"]
    assert seen["returncode"] == 0, seen["stderr"]
    assert seen["stdout"].startswith("ffmpeg version"), seen["stdout"][:200]
    assert binary.stat().st_mode == before  # the package itself is never changed


# --- captions, fonts and loudness in the package --------------------------------------------------

def _host_machine() -> str:
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(os.uname().machine.lower(), os.uname().machine.lower())


def _run_packaged(binary: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The packaged binary run as the worker runs it: a 0755 copy when the package's has lost its mode,
    under qemu for the other architecture."""
    sys.path.insert(0, str(ROOT / "layers" / "common"))
    try:
        from broll_common.clients.ffmpeg import ffmpeg_exe
    finally:
        sys.path.pop(0)
    exe = ffmpeg_exe(binary, tmp_path / "exe")
    machine, runner = elf_facts(binary)["machine"], []
    if machine != _host_machine():
        qemu = shutil.which(f"qemu-{machine}-static")
        assert qemu, f"the package is built for {machine}: install qemu-user-static to run it on {_host_machine()}"
        runner = [qemu]
    return subprocess.run([*runner, exe, "-hide_banner", *args], capture_output=True, text=True, timeout=300)


def test_the_packaged_ffmpeg_has_the_ass_and_loudnorm_filters_and_libass(binary, tmp_path):
    filters = _run_packaged(binary, tmp_path, "-filters")
    assert filters.returncode == 0, filters.stderr[-2000:]
    names = {line.split()[1] for line in filters.stdout.splitlines() if len(line.split()) > 2}
    for needed in ("ass", "loudnorm", "alphamerge", "geq", "overlay", "select"):
        assert needed in names, f"{binary.name} has no {needed} filter"
    buildconf = _run_packaged(binary, tmp_path, "-buildconf")
    assert buildconf.returncode == 0, buildconf.stderr[-2000:]
    for needed in ("--enable-libass", "--enable-libfreetype", "--enable-fontconfig", "--enable-libx264"):
        assert needed in buildconf.stdout, f"{binary.name} was built without {needed}"


def test_the_layer_holds_the_caption_font_and_its_licence(layer_python_dir):
    fonts = layer_python_dir / "broll_common" / "fonts"
    font = fonts / "DejaVuSans-Bold.ttf"
    assert font.is_file(), f"the layer has no {font.relative_to(layer_python_dir)}: rebuild it (sam build)"
    assert font.read_bytes() == (ROOT / "layers/common/broll_common/fonts/DejaVuSans-Bold.ttf").read_bytes()
    assert "Bitstream Vera" in (fonts / "LICENSE").read_text()
    assert (fonts / "__init__.py").is_file()


_RENDER_IT = r"""
import json, os, sys
from pathlib import Path
from broll_common.clients import ffmpeg
from broll_common.clients.composite import CutInput, render_composite
from broll_common.fonts import fonts_dir
d = Path(sys.argv[1])
exe = ffmpeg.ffmpeg_exe(ffmpeg.packaged_ffmpeg())
reports = {}
for name, captions in (("captioned", d / "captions.ass"), ("plain", None)):
    report = render_composite(d / "avatar.mp4", d / "vo.m4a", [CutInput(0.5, 2.0, d / "clip.mp4", "split"),
                              CutInput(2.0, 3.5, d / "clip.mp4", "pip")], d / f"{name}.mp4", voiceover_demuxer="mov",
                              captions_ass=captions, poster=d / f"{name}.jpg", expected_duration_s=4.0, ffmpeg=exe)
    reports[name] = report.__dict__
print(json.dumps({"reports": reports, "fonts": str(fonts_dir())}))
"""


def test_the_package_renders_captions_with_its_font_and_normalises_loudness(
    render_worker_dir, layer_python_dir, tmp_path
):
    """The worker's render as on Lambda: the packaged ffmpeg and layer only, no fonts but the layer's.
    Only on a package of this host's processor: the layer's compiled wheels (pydantic_core) cannot be
    imported by another one's Python, so scripts/test runs it on the x86_64 build (the arm64 build's
    binary is run under qemu by the checks above)."""
    function_dir = render_worker_dir
    machine = elf_facts(_binary_in(function_dir))["machine"]
    assert machine == _host_machine(), f"a {machine} package cannot be imported here: run this on the {_host_machine()} build"
    sys.path.insert(0, str(ROOT))
    try:
        from devstack import media
    finally:
        sys.path.pop(0)
    d = tmp_path / "media"
    d.mkdir()
    voiceover = media.render_voiceover(d / "vo.m4a", seconds=4.0)
    media.render_avatar(d / "avatar.mp4", voiceover, seconds=4.0, width=180, height=320)
    media.render_clip(d / "clip.mp4", "deploy-clip", seconds=2.0, width=180, height=320)
    (d / "captions.ass").write_text(
        "[Script Info]\nScriptType: v4.00+\nPlayResX: 180\nPlayResY: 320\n\n[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, OutlineColour, Bold, BorderStyle, Outline, Alignment, "
        "MarginV\n"
        "Style: Default,DejaVu Sans,28,&H00FFFFFF,&H00000000,1,1,3,2,20\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Text\nDialogue: 0,0:00:00.00,0:00:04.00,Default,NEWS\n")
    empty_bin, lambda_tmp = tmp_path / "bin", tmp_path / "tmp"
    empty_bin.mkdir()
    lambda_tmp.mkdir()
    env = {"PATH": str(empty_bin), "TMPDIR": str(lambda_tmp), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "PYTHONPATH": os.pathsep.join([str(function_dir), str(layer_python_dir)])}
    proc = subprocess.run([sys.executable, "-c", _RENDER_IT, str(d)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout)
    assert Path(seen["fonts"]).is_relative_to(layer_python_dir)
    for name, report in seen["reports"].items():
        assert report["problems"] == [], name
        assert (report["width"], report["height"]) == (180, 320)
        assert abs(report["loudness_lufs"] + 14) <= 1 and report["true_peak_dbtp"] <= -1, report
    band = []
    for name in ("captioned", "plain"):
        band.append(subprocess.run(
            [media.ffmpeg_exe(), "-v", "error", "-ss", "1", "-i", str(d / f"{name}.mp4"), "-frames:v", "1",
             "-vf", "crop=180:60:0:240", "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True).stdout)
    assert sum(abs(a - b) for a, b in zip(*band)) / len(band[0]) > 10, "the captions drew nothing"
