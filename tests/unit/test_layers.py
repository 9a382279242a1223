"""The rules import no AWS SDK: a walk over the imports of every module of logic/, models/ and
prompts/ (every `import`, at the top or inside a function). The modules that reach AWS do it
through a port (dal/, clients/): logic may import those modules and their factories, never
boto3, botocore, pynamodb, httpx nor the boto3 client cache (broll_common.aws)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

FORBIDDEN = {"boto3", "botocore", "pynamodb", "httpx"}
# broll_common.aws is the boto3 client cache: reaching it directly is reaching AWS directly.
FORBIDDEN_OWN = {"aws"}

LAYERS = ["broll_common.logic", "broll_common.models", "broll_common.prompts"]
# Outside those layers, modules that hold rules over a port and are kept to the same rule.
ALSO = ["broll_common.clients.breaker"]


def modules_of(package: str) -> list[str]:
    root = importlib.import_module(package)
    return [package] + [m.name for m in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")]


CLEAN = sorted({m for layer in LAYERS for m in modules_of(layer)} | set(ALSO))


def imported(module: str) -> set[str]:
    return imports_in(Path(importlib.import_module(module).__file__).read_text())


def imports_in(source: str) -> set[str]:
    """Every module the source imports: absolute names, and broll_common's own as ".name"."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.add(node.module or "")
            else:  # from .aws import client / from . import aws
                base = node.module or ""
                names |= {f".{base}"} if base else {f".{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("module", CLEAN)
def test_the_module_imports_no_aws_sdk_nor_http_client(module):
    names = imported(module)
    sdk = sorted(n for n in names if n.split(".")[0] in FORBIDDEN)
    own = sorted(n for n in names if (n.startswith(".") and n.lstrip(".").split(".")[0] in FORBIDDEN_OWN)
                 or n.split(".")[:2] == ["broll_common", "aws"])
    assert sdk == [] and own == [], f"{module} imports {sdk + own}: go through a port in dal/ or clients/"


def test_the_walk_sees_imports_inside_functions_too():
    source = "import json\nfrom . import aws\ndef f():\n    import httpx\n    from botocore.exceptions import E\n"
    assert imports_in(source) == {"json", ".aws", "httpx", "botocore.exceptions"}


def test_the_walk_covers_every_layer_module():
    assert {"broll_common.logic.generation.loop", "broll_common.models.domain", "broll_common.prompts.scrub"} <= set(CLEAN)
