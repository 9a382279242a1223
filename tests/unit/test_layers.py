"""The rules import no AWS SDK: a walk over the imports of each module listed here (every
`import`, at the top or inside a function). The modules that reach AWS do it through a port
(dal/, clients/). The whole `logic/` package joins this list once it exists."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

FORBIDDEN = {"boto3", "botocore", "pynamodb", "httpx"}
# broll_common.aws is the boto3 client cache: reaching it directly is reaching AWS directly.
FORBIDDEN_OWN = {"aws"}

CLEAN = [
    "broll_common.logic.rate_limit",
    "broll_common.logic.callback_health",
    "broll_common.clients.breaker",
    "broll_common.logic.render",
    "broll_common.logic.export",
    "broll_common.logic.media",
    "broll_common.logic.generation",
]


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
    own = sorted(n for n in names if n.startswith(".") and n[1:].split(".")[0] in FORBIDDEN_OWN)
    assert sdk == [] and own == [], f"{module} imports {sdk + own}: go through a port in dal/ or clients/"


def test_the_walk_sees_imports_inside_functions_too():
    source = "import json\nfrom . import aws\ndef f():\n    import httpx\n    from botocore.exceptions import E\n"
    assert imports_in(source) == {"json", ".aws", "httpx", "botocore.exceptions"}
