"""Configuration is read in one place (issue 13): no module of broll_common but config.py reads
the environment (os.environ, os.getenv, `from os import environ`)."""

from __future__ import annotations

import ast

from devstack.template import ROOT

PACKAGE = ROOT / "layers" / "common" / "broll_common"
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def reads_of_the_environment(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT and getattr(node.value, "id", "") == "os":
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "os" and {a.name for a in node.names} & ENVIRONMENT:
            lines.append(node.lineno)
    return sorted(lines)


def test_the_check_sees_every_way_of_reading_the_environment():
    assert reads_of_the_environment("import os\nos.environ.get('A')\nos.getenv('B')\nos.environ['C']") == [2, 3, 4]
    assert reads_of_the_environment("from os import environ as e\ne['A']") == [1]
    assert reads_of_the_environment("import os\nos.path.join('a')\nos.urandom(3)") == []


def test_only_config_reads_the_environment():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "config.py":
            continue
        lines = reads_of_the_environment(path.read_text())
        if lines:
            offenders[relative] = lines
    assert not offenders, f"read the environment outside config.py (add a Settings field instead): {offenders}"


def test_config_does_read_it():
    assert reads_of_the_environment((PACKAGE / "config.py").read_text())
