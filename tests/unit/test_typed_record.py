"""A project's stored parts are typed (models.domain: ProjectMeta, ScriptPart, AudioPart,
AvatarPart, BrollPart with its RenderState, ExportState, Schedule), parsed in dal/ when the
record is loaded: outside dal/ nothing reads them by string. A walk over every module of
broll_common but dal/, and every handler, fails on `x.broll.get("…")` or `x.broll["…"]` (and
the same for meta, script, audio, avatar, render, export, schedule)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "broll_common"
PARTS = {"broll", "meta", "script", "audio", "avatar", "render", "export", "schedule"}

SOURCES = sorted(
    [p for p in PACKAGE.rglob("*.py") if "dal" not in p.relative_to(PACKAGE).parts]
    + list((ROOT / "functions").glob("*/app.py"))
)


def string_reads(source: str) -> list[str]:
    """Each `<…>.<part>.get(…)` or `<…>.<part>[…]` in the source, as `line: text`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            target = node.func.value
        elif isinstance(node, ast.Subscript):
            target = node.value
        else:
            continue
        if isinstance(target, ast.Attribute) and target.attr in PARTS:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_walk_sees_the_sources():
    names = {p.relative_to(ROOT).as_posix() for p in SOURCES}
    assert "layers/common/broll_common/logic/render.py" in names
    assert not any("/dal/" in n for n in names)


def test_the_walk_catches_every_shape_of_string_read():
    source = 'a = record.broll.get("render") or {}\nb = record.meta["name"]\nrecord.broll["render"] = {}\n'
    assert len(string_reads(source)) == 3
    assert string_reads("a = record.broll.render\nb = request.script.strip()\nc = d.get('x')\n") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_stored_part_is_read_by_string_outside_dal(path):
    reads = string_reads(path.read_text())
    assert reads == [], f"{path.name} reads a project's stored part by string: {reads} (use the typed part)"
