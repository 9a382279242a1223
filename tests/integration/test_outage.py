"""Issue 16's outage acceptance, against the local stack and the Kie emulator: during a 60 s
outage (every /api/ call answers HTTP 503 with an HTML page) six one-scene generates wait
instead of failing, Kie sees a few calls and at most one probe per cool-down, and once Kie is
back every scene completes by itself, each charged once.

The breaker runs at its deployed defaults (BREAKER_FAILURE_THRESHOLD 5, BREAKER_RECOVERY_TIMEOUT_S
60). Each lone submit first reads Kie's balance, and a read that finds Kie down queues the submit
without sending it: a down Kie costs one call per attempt, and the fifth opens the circuit. A scene
that found Kie down submits without the balance reads, so the cool-down's one probe is a submit (a
balance read could close the circuit while /veo/generate is still down). Here the cool-down
outlasts the outage: its probe comes just after it. The local stack's poll loops wake on their own
waits (moto runs the Wait state); its sweep (every 30 s when run by hand, hourly in these tests)
leaves a waiting scene alone while its loop is alive, which the test checks by running the sweep's
rule in the middle of the outage.
"""

from __future__ import annotations

import time
import uuid

import pytest
from aws_lambda_powertools.utilities.circuit_breaker import base as cb_base

from broll_common.aws import client
from broll_common.clients import breaker
from broll_common.config import reset_settings, settings
from broll_common.logic.generation import sweep
from tests.integration.conftest import project_body

OUTAGE_S = 60
SCENES = 6


@pytest.fixture
def outage_breaker(monkeypatch):
    """The deployed breaker numbers, starting closed: no state left by another test's outage."""
    monkeypatch.delenv("BREAKER_FAILURE_THRESHOLD", raising=False)
    monkeypatch.delenv("BREAKER_RECOVERY_TIMEOUT_S", raising=False)

    def closed():
        reset_settings()
        breaker.kie_client.cache_clear()
        client("dynamodb").delete_item(TableName=settings().breaker_table, Key={"id": {"S": breaker.CIRCUIT_NAME}})
        breaker.FleetFailures(None, window_s=settings().breaker_failure_window_s).reset()
        for counters in (cb_base._LOCAL_FAILURES, cb_base._LOCAL_SUCCESSES, cb_base._LAST_OBSERVED_STATE):
            counters.clear()

    closed()
    yield
    monkeypatch.undo()
    closed()


def scenes_of(api, pid: str) -> dict[str, dict]:
    return {s["sceneId"]: s for s in api.get(f"/api/projects/{pid}").json()["scenes"]}


def test_six_generates_during_a_60s_outage_all_complete_by_themselves(api, emulator, outage_breaker):
    body = project_body(f"outage-{uuid.uuid4().hex[:8]}", scenes=1)
    body["stage3"]["editedScenes"] = [
        {"sceneId": f"s{i}", "sceneTitle": f"Shot {i}", "text": f"Harbour crane {i} at dawn."} for i in range(SCENES)
    ]
    threshold, recovery_s = settings().breaker_failure_threshold, settings().breaker_recovery_timeout_s
    assert (threshold, recovery_s) == (5, 60)  # template.yaml's defaults
    pid = api.post("/api/projects", json=body).json()["projectId"]
    emulator.configure(delay_seconds=2)
    tasks_before = emulator.stats()["tasks_created"]

    emulator.configure(outage=True)
    started = time.time()
    answers = {}
    for i in range(SCENES):  # one person clicking Generate on six scenes
        response = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": f"s{i}"})
        assert response.status_code == 202, response.text
        answers[f"s{i}"] = response.json()
    for scene in answers.values():
        assert scene["status"] == "generating" and scene["taskId"] is None and scene["error"] is None, scene
        assert scene["waiting"]["reason"] == "kie_down" and scene["waiting"]["since"] <= time.time()
        assert "it starts by itself, nothing charged yet" in scene["statusNote"]

    time.sleep(OUTAGE_S / 2 - (time.time() - started))
    during = scenes_of(api, pid)
    assert all(s["status"] == "generating" and s["waiting"] for s in during.values()), during
    # The sweep's rule mid-outage: every waiting scene counted as queued, none restarted or failed.
    counts = sweep()
    assert counts["queued"] >= SCENES and counts["restarted"] == counts["failed"] == 0, counts

    time.sleep(OUTAGE_S - (time.time() - started))
    emulator.configure(outage=False)
    ended = time.time()

    deadline = time.monotonic() + recovery_s
    while time.monotonic() < deadline:
        final = scenes_of(api, pid)
        if all(s["status"] != "generating" for s in final.values()):
            break
        time.sleep(0.5)
    done_after = time.time() - ended
    seen = [c for c in emulator.stats()["calls"] if c["at"] >= started]
    calls = [c for c in seen if c["at"] <= ended]
    tasks = emulator.stats()["tasks_created"] - tasks_before
    # The breaker opens after `threshold` failures; each later call is a cool-down's one probe.
    probes = calls[threshold:]
    gaps = [b["at"] - a["at"] for a, b in zip(calls[threshold - 1:], probes)]
    at = ", ".join(f"{c['path'].rsplit('/', 1)[-1]} {c['at'] - started:.1f}" for c in calls)
    spaced = ", ".join(f"{g:.1f}" for g in gaps)
    after = ", ".join(
        f"{c['path'].rsplit('/', 1)[-1]} {c['at'] - started:.1f} ({c['answered']})" for c in seen[len(calls):][:4])
    print(f"\noutage at {threshold}/{recovery_s} s: {len(calls)} Kie calls in {ended - started:.0f} s (at {at} s; "
          f"{len(probes)} probes, {spaced} s after the call before); first calls after it: {after} s; "
          f"all settled {done_after:.1f} s after it ended; {tasks} tasks for {SCENES} scenes")

    assert all(c["answered"] == 503 for c in calls)
    assert len(calls) <= 5
    assert all(gap >= recovery_s - 1 for gap in gaps)  # at most one probe per cool-down
    assert seen[len(calls)]["path"].endswith("/veo/generate")  # the probe after it is a submit, not a balance read
    for scene_id, scene in final.items():
        assert scene["status"] == "completed", scene
        assert scene["generation"] == answers[scene_id]["generation"]  # nobody pressed Retry
        assert scene["waiting"] is None and scene["statusNote"] is None
    assert tasks == SCENES  # each scene started (and charged) once
