"""The deploy stage catches a missing permission: the same build, deployed with one IAM
statement taken out, fails the AccessDenied check and names the denied action.

The statement is the one this project once lacked: the callback function restarting a poll
loop (states:StartExecution) after a callback settles a sub-shot. The app logs and swallows
that denial, so only the functions' logs show it.
"""

from __future__ import annotations

import uuid

import yaml

from .conftest import BUILD, Deployed, deploy, generate_scene, import_project, stack_parameters, wait_for

DENIED_ACTION = "states:StartExecution"


def without_statement(function: str, action: str) -> str:
    """A copy of the built template whose `function` lacks the statement granting `action`."""
    template = yaml.safe_load((BUILD / "template.yaml").read_text())
    policies = template["Resources"][function]["Properties"]["Policies"]
    removed = 0
    for policy in policies:
        statements = policy.get("Statement", [])
        kept = [s for s in statements if action not in s["Action"]]
        removed += len(statements) - len(kept)
        policy["Statement"] = kept
    assert removed == 1, f"{function} should grant {action} in exactly one statement"
    name = f"template-without-{action.replace(':', '-')}.yaml"
    (BUILD / name).write_text(yaml.safe_dump(template, sort_keys=False))
    return name


def test_a_missing_statement_fails_the_run_and_names_the_denied_action(ministack, kie, workdir, media, media_server):
    stack = f"broll-iam-{uuid.uuid4().hex[:6]}"
    outputs = deploy(stack, ministack.endpoint, stack_parameters(kie), workdir,
                     template_name=without_statement("KieCallbackFunction", DENIED_ACTION))
    deployed = Deployed(stack, outputs, ministack.endpoint, kie)
    with deployed.client("iam-check@newsroom.example") as api:
        project = import_project(deployed, api, media, media_server)
        generate_scene(api, project["projectId"], "main")  # two sub-shots: the callback restarts the loop
        denied = wait_for(deployed.denied, 90, "the AccessDenied of the callback function")
    assert any(DENIED_ACTION in line and "KieCallbackFunction" in line for line in denied), denied
