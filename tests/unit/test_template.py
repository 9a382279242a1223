"""template.yaml and the poll-loop ASL: lint-clean, and a state graph with no dangling edge."""

import json
import subprocess
import sys
from pathlib import Path

from devstack.template import ROOT, load


def test_cfn_lint_is_clean():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(ROOT / "template.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _edges(state: dict) -> list[str]:
    targets = [state.get("Next"), state.get("Default")]
    targets += [choice.get("Next") for choice in state.get("Choices", [])]
    targets += [catch.get("Next") for catch in state.get("Catch", [])]
    return [t for t in targets if t]


def test_poll_loop_graph_is_closed_and_reachable():
    template = load()
    machine = template.state_machines["PollLoopStateMachine"]
    definition = json.loads(template.definition(machine, lambda _value: "arn:aws:lambda:us-east-1:1:function:f"))
    states = definition["States"]
    assert definition["StartAt"] in states
    for name, state in states.items():
        for target in _edges(state):
            assert target in states, f"{name} points to missing state {target}"
    seen, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _edges(states[name])
    assert seen == set(states), f"unreachable states: {set(states) - seen}"
    assert {s["Type"] for s in states.values()} >= {"Succeed", "Fail"}
    # The Wait takes its seconds from the poll step, which Step Functions needs as an integer.
    assert states["Wait"]["SecondsPath"] == "$.waitSeconds"


def test_every_route_in_docs_is_served_by_the_template():
    routes = {r.route_key for r in load().routes}
    for key in [
        "POST /api/projects/{id}/broll/generate",
        "GET /api/projects/{id}/broll/status/{taskId}",
        "POST /api/projects/{id}/broll/generate-all",
        "GET /api/projects/{id}",
        "POST /api/projects",
        "PUT /api/projects/{id}/broll/scenes/{sceneId}",
        "POST /api/projects/{id}/broll/prompt",
        "POST /api/projects/{id}/broll/cancel",
        "POST /api/projects/{id}/complete",
    ]:
        assert key in routes
