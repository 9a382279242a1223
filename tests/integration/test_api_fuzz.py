"""Property-based fuzzing of every route from the OpenAPI document (schemathesis), with
invalid input only: no server error, answers match the document, and nothing changes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.checks import not_a_server_error

from devstack.auth import DEMO_USER
from devstack.openapi import build

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
URL = re.compile(r"https?://[^\"]+")

schema = schemathesis.openapi.from_path(str(DOC))
schema.config.generation.update(modes=[GenerationMode.NEGATIVE], max_examples=20, deterministic=True)


def test_the_checked_in_document_is_the_generated_one():
    assert json.loads(DOC.read_text()) == json.loads(json.dumps(build())), "run: python -m devstack.openapi > docs/openapi.json"


FUZZER = "fuzz-user"  # its own user: whatever the fuzzer manages to set stays with it


@pytest.fixture(scope="module")
def target_unchanged(stack):
    """The fuzzing user's project (and the demo user's) must be byte-for-byte unchanged."""
    import httpx

    from tests.integration.conftest import project_body

    def read(user, project_id):
        headers = {"Authorization": f"Bearer {stack.issuer.mint(user)}"}
        answer = httpx.get(f"{stack.api_url}/api/projects/{project_id}", headers=headers)
        view = json.loads(URL.sub("<url>", answer.text))
        view.pop("quota")  # the user's, not the project's: a key the fuzzer sets for itself lifts it
        return view

    headers = {"Authorization": f"Bearer {stack.issuer.mint(FUZZER)}"}
    httpx.post(f"{stack.api_url}/api/projects", json=project_body("fuzz-target"), headers=headers).raise_for_status()
    before = [read(FUZZER, "fuzz-target"), read(DEMO_USER, "demo")]
    yield
    assert [read(FUZZER, "fuzz-target"), read(DEMO_USER, "demo")] == before, "invalid calls changed a project"


@schema.parametrize()
def test_invalid_calls_never_break_the_api(case, stack, target_unchanged):
    headers = {"Authorization": f"Bearer {stack.issuer.mint(FUZZER)}"}
    response = case.call(base_url=stack.api_url, headers=headers)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
