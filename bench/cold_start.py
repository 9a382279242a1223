"""6. Cold start: each function's import time (its app.py imported in a fresh interpreter
with the layer on the path) and its deployment package size (the function's zip plus the
layer: broll_common and its dependencies installed with pip into bench/.cache)."""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from .common import CACHE, ROOT, Context, Figure, log

RUNS = 5
TARGET_S = 0.300
# Run with -S (no site-packages): the path is what Lambda would have, function dir, the layer
# (/opt/python), broll_common, then the runtime's own boto3 (/var/runtime); never the dev venv,
# whose extras change what gets imported (httpx imports click/rich/pygments when present).
IMPORT = (
    "import sys, time, importlib.util, os\n"
    "sys.path[:0] = os.environ['BENCH_PATH'].split(os.pathsep)\n"
    "t = time.perf_counter()\n"
    "spec = importlib.util.spec_from_file_location('app', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
    "print(time.perf_counter() - t)\n"
)


def _env(app: Path, extra: dict | None = None) -> dict:
    path = [app.parent, layer_dir() / "python", ROOT / "layers" / "common", runtime_dir() / "python"]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "POLL_", "KIE_", "PYTHON", "POWERTOOLS_", "VIRTUAL_ENV"))}
    env.update(BENCH_PATH=os.pathsep.join(map(str, path)), AWS_DEFAULT_REGION="us-east-1",
               AWS_REGION="us-east-1", POWERTOOLS_SERVICE_NAME="broll-studio", **(extra or {}))
    return env


def import_seconds(app: Path, extra_env: dict | None = None, flags: tuple = ()) -> tuple[float, str]:
    out = subprocess.run([sys.executable, "-S", *flags, "-c", IMPORT, str(app)], cwd=tempfile.gettempdir(),
                         env=_env(app, extra_env), capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(f"importing {app} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1]), out.stderr


def heaviest_imports(app: Path, top: int = 5) -> list[tuple[str, float]]:
    """Self import time by top-level package (python -X importtime), heaviest first."""
    _, stderr = import_seconds(app, flags=("-X", "importtime"))
    totals: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            totals[name.split(".")[0]] += int(self_us) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def _pip_target(name: str, args: list[str], key: bytes) -> Path:
    target = CACHE / f"{name}-{hashlib.sha256(key + sys.version.encode()).hexdigest()[:12]}"
    if not (target / ".done").exists():
        log(f"cold start: pip install {name} into bench/.cache (once)")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-warn-conflicts", *args, "--target", str(target / "python")],
                       check=True, capture_output=True, timeout=600)
        (target / ".done").write_text("ok\n")
    return target


def layer_dir() -> Path:
    """The layer's dependencies as `sam build` would install them."""
    requirements = ROOT / "layers" / "common" / "requirements.txt"
    return _pip_target("layer", ["-r", str(requirements)], requirements.read_bytes())


def runtime_dir() -> Path:
    """Stand-in for the python3.11 runtime's bundled boto3 (not part of the package)."""
    from importlib.metadata import version

    pin = f"boto3=={version('boto3')}"
    return _pip_target("runtime", [pin], pin.encode())


def zip_size(entries: list[tuple[Path, str]]) -> int:
    """Bytes of a deflated zip of (file, name in zip) entries."""
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, name in entries:
                archive.write(path, name)
        handle.seek(0, os.SEEK_END)
        return handle.tell()


def tree(root: Path, prefix: str) -> list[tuple[Path, str]]:
    return [(p, f"{prefix}/{p.relative_to(root)}") for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]


def run(ctx: Context) -> None:
    functions = sorted(p for p in (ROOT / "functions").iterdir() if (p / "app.py").exists())
    times = {}
    for fn in functions:
        import_seconds(fn / "app.py")  # writes bytecode the timed runs then use
        samples = [import_seconds(fn / "app.py")[0] for _ in range(RUNS)]
        warm = statistics.median(samples)
        with tempfile.TemporaryDirectory() as empty:  # no bytecode anywhere: every module compiled
            cold, _ = import_seconds(fn / "app.py", {"PYTHONPYCACHEPREFIX": empty})
        times[fn.name] = (warm, cold, min(samples))
        log(f"cold start: {fn.name} import {warm * 1000:.0f} ms")
    layer = layer_dir()
    deps = tree(layer / "python", "python")
    common = tree(ROOT / "layers" / "common" / "broll_common", "python/broll_common")
    layer_zip = zip_size(deps + common)
    layer_raw = sum(p.stat().st_size for p, _ in deps + common)
    biggest: dict[str, int] = defaultdict(int)
    for path, _ in deps:
        biggest[path.relative_to(layer / "python").parts[0]] += path.stat().st_size
    big = ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sorted(biggest.items(), key=lambda kv: -kv[1])[:4])
    slowest = max(times, key=lambda k: times[k][0])
    heavy = heaviest_imports(functions[[f.name for f in functions].index(slowest)] / "app.py")
    ctx.data["cold_start"] = {"times": times, "layer_zip": layer_zip, "layer_raw": layer_raw, "heaviest": heavy}
    for fn in functions:
        warm, cold, best = times[fn.name]
        fn_zip = zip_size(tree(fn, "."))
        ctx.add(Figure("6 cold start", f"{fn.name}: import median [min] of {RUNS} (no bytecode); package",
                       f"{warm * 1000:.0f} [{best * 1000:.0f}] ms ({cold * 1000:.0f} ms); {fn_zip / 1024:.1f} KB + layer"
                       f" = {(fn_zip + layer_zip) / 1e6:.1f} MB",
                       "import ≤ 300 ms", warm <= TARGET_S))
    ctx.add(Figure("6 cold start", "layer (broll_common + pip deps): zipped / unzipped",
                   f"{layer_zip / 1e6:.1f} MB / {layer_raw / 1e6:.1f} MB", note=f"largest: {big}"),
            Figure("6 cold start", f"heaviest imports of {slowest} (self time)",
                   ", ".join(f"{name} {sec * 1000:.0f} ms" for name, sec in heavy)))
