"""End to end through the deployed stack's API Gateway: Cognito JWTs, the built package on
Lambda, Step Functions poll loops, Kie's callbacks through the deployed route, the packaged
ffmpeg, Download All, tenant isolation and the EventBridge sweep, every call under IAM.

The tests share one project and run in file order (each step builds on the one before).
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile

import httpx
import pytest

from devstack.kie_emulator import DEFAULT_API_KEY

from .conftest import (
    UPLOAD_CAP_MB, ffprobe, generate_scene as generate, import_project, post_form, scene_of, upload_form, wait_for,
    wait_settled,
)

ANN, BOB = "ann@newsroom.example", "bob@newsroom.example"
CONTENT_POLICY = {"successFlag": 2, "errorCode": 400, "errorMessage": "Your prompt was flagged by the content policy."}


@pytest.fixture(scope="module")
def api(deployed):
    with deployed.client(ANN) as client:
        yield client


@pytest.fixture(scope="module")
def project(deployed, api, media, media_server) -> dict:
    return import_project(deployed, api, media, media_server)


def test_no_token_is_refused_by_the_authorizer(deployed):
    with deployed.client(None) as anonymous:
        answer = anonymous.get("/api/projects")
    assert answer.status_code == 401


def test_no_function_environment_holds_a_secret_value(deployed):
    """What GetFunctionConfiguration shows of every deployed function: ARNs and names, no keys."""
    from .conftest import WEBHOOK_KEY

    lam = deployed.aws("lambda")
    functions = [f for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]
                 if f["FunctionName"].startswith(f"{deployed.stack}-")]
    assert len(functions) >= 13
    for function in functions:
        variables = lam.get_function_configuration(FunctionName=function["FunctionName"]).get("Environment", {})
        values = " ".join(variables.get("Variables", {}).values())
        assert DEFAULT_API_KEY not in values and WEBHOOK_KEY not in values, function["FunctionName"]
        assert "KIE_API_KEY_SECRET" in variables.get("Variables", {}), function["FunctionName"]


def test_a_cognito_user_reads_the_imported_project(api, project):
    answer = api.get(f"/api/projects/{project['projectId']}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["sceneId"] for s in body["scenes"]] == ["hook", "main", "cta"]
    assert body["audio"]["url"] and body["avatarVideo"]["url"]
    assert [p["projectId"] for p in api.get("/api/projects").json()["projects"]] == [project["projectId"]]


def test_the_upload_and_the_url_import_were_probed_on_the_deployed_worker(api, project, media):
    _, _, seconds = media
    voice, avatar = project["audio"]["media"], project["avatarVideo"]["media"]
    assert voice["source"] == "upload" and voice["hasAudio"] and abs(voice["durationSec"] - seconds) < 0.3
    assert avatar["source"] == "url" and avatar["hasVideo"] and avatar["aspect"] == "9:16"
    folder = f"/projects/{project['projectId']}/media/"
    assert folder in project["audio"]["url"] and folder in project["avatarVideo"]["url"]


def test_s3_itself_refuses_an_upload_outside_its_form(deployed, api, project):
    """The presigned POST's policy, as the deployed bucket enforces it: another key, another type
    or a body over the cap is refused, and nothing is stored."""
    pid, bucket = project["projectId"], deployed.outputs["MediaBucketName"]
    s3 = deployed.aws("s3")
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    form = upload_form(api, pid, "avatar", "video/mp4", 1000)
    assert form["maxBytes"] == UPLOAD_CAP_MB * 1024 * 1024
    others = form["key"].replace(f"/projects/{pid}/", "/projects/someone-elses/")
    refused = [
        post_form(form, b"\0" * 1000, "video/mp4", key=others),
        post_form(form, b"\0" * 1000, "text/html", **{"Content-Type": "text/html"}),
        post_form(form, b"\0" * (form["maxBytes"] + 1), "video/mp4"),
    ]
    assert [r.status_code for r in refused] == [403, 403, 400], [r.text[:300] for r in refused]
    assert {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])} == before


def test_a_url_to_the_metadata_service_is_refused_at_import(api):
    body = {"name": "Nope", "stage3": {"editedScenes": [{"sceneTitle": "Hook", "text": "Words."}]},
            "stage4": {"audioDurationSec": 5.0}, "stage5": {"avatarVideoUrl": "http://169.254.169.254/latest/meta-data/"}}
    answer = api.post("/api/projects", json=body)
    assert answer.status_code == 422 and answer.json()["error"].startswith("stage5.avatarVideoUrl: "), answer.text
    assert [p["name"] for p in api.get("/api/projects").json()["projects"]] == ["Harbour cranes return to the port"]


def test_a_clip_found_by_the_poll_loop_alone(deployed, api, project, workdir):
    deployed.kie.configure(drop_callbacks=True)
    try:
        before = deployed.kie.stats()
        started = generate(api, project["projectId"], "hook")
        assert started["status"] == "generating" and started["taskId"]
        scene = wait_settled(api, project["projectId"], "hook")
        after = deployed.kie.stats()
    finally:
        deployed.kie.configure(drop_callbacks=False)
    assert scene["status"] == "completed", scene["error"]
    assert after["callbacks_sent"] == before["callbacks_sent"], "the poll loop, not a callback, finished it"
    assert after["record_info_calls"].get(started["taskId"], 0) > 0, "the loop asked Kie for the task"
    clip = workdir / "hook.mp4"
    clip.write_bytes(httpx.get(scene["videoUrl"], timeout=60).content)  # our bucket's presigned URL
    assert [s["codec_type"] for s in ffprobe(clip)["streams"]][:1] == ["video"]


def settled_by_callback(deployed, task_id: str) -> bool:
    """Kie's callback for the task was delivered, accepted and settled the scene (the route's answer)."""
    answer = wait_for(lambda: deployed.kie.stats()["callback_answers"].get(task_id), 60, f"the callback of {task_id}")
    return json.loads(answer)["settled"] is True


def test_a_clip_finished_by_kies_signed_callback_through_the_deployed_route(deployed, api, project):
    failed_before = deployed.kie.stats()["callbacks_failed"]
    started = generate(api, project["projectId"], "cta")
    scene = wait_settled(api, project["projectId"], "cta")
    assert scene["status"] == "completed", scene["error"]
    assert settled_by_callback(deployed, started["taskId"])
    assert deployed.kie.stats()["callbacks_failed"] == failed_before, "the deployed callback route refused Kie"


def test_a_scene_of_two_sub_shots_is_finished_by_callbacks(deployed, api, project):
    """The callback that settles sub-shot 1 starts the loop that submits sub-shot 2."""
    before = deployed.kie.stats()
    generate(api, project["projectId"], "main")
    scene = wait_settled(api, project["projectId"], "main", timeout=120)
    after = deployed.kie.stats()
    assert scene["status"] == "completed", scene["error"]
    assert [shot["status"] for shot in scene["plan"]] == ["ready", "ready"]
    history = api.get(f"/api/projects/{project['projectId']}/broll/scenes/main/history").json()["entries"]
    tasks = [(e["kind"], e["shot"], e["taskId"]) for e in history]
    assert after["tasks_created"] == before["tasks_created"] + 2, tasks
    assert all(settled_by_callback(deployed, shot["taskId"]) for shot in scene["plan"])


def test_a_content_policy_refusal_is_rewritten_once(deployed, api, project):
    before = deployed.kie.stats()
    deployed.kie.configure(fail_next=[CONTENT_POLICY])
    generate(api, project["projectId"], "hook", regenerate=True)
    scene = wait_settled(api, project["projectId"], "hook", timeout=120)
    after = deployed.kie.stats()
    assert scene["status"] == "completed", scene["error"]
    assert scene["rewrite"] and scene["rewrite"]["reason"]
    assert scene["aiPrompt"] != scene["rewrite"]["fromPrompt"]
    assert after["tasks_created"] == before["tasks_created"] + 2, "exactly one rewritten submit"


# Two scenes of a second user's project (no media: a clip needs only the scene's words), so the
# shared project's History, clips and Download All stay as the steps above and below expect.
CY = "cy@newsroom.example"
LONG_CLIP_S = 85  # longer than the stop plus the next sweep (1 minute here): the sweep finds it still generating
LATE_CLIP_S = 15  # long enough to cancel the scene while Kie is making it


@pytest.fixture(scope="module")
def cy(deployed):
    with deployed.client(CY) as client:
        yield client


@pytest.fixture(scope="module")
def spare(cy) -> dict:
    body = {"name": "Night ferries", "stage3": {"editedScenes": [
        {"sceneId": "dock", "sceneTitle": "Dock", "sceneType": "hook", "text": "The night ferry docks at two."},
        {"sceneId": "deck", "sceneTitle": "Deck", "sceneType": "cta", "text": "Drivers wait on the open deck."},
        {"sceneId": "ramp", "sceneTitle": "Ramp", "sceneType": "main", "text": "The ramp comes down at dawn."},
    ]}, "stage4": {"audioDurationSec": 12.0, "sceneTimings": [{"sceneId": "dock", "start": 0, "end": 4},
                                                                {"sceneId": "deck", "start": 4, "end": 8},
                                                                {"sceneId": "ramp", "start": 8, "end": 12}]}}
    answer = cy.post("/api/projects", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def generate_with_delay(deployed, api: httpx.Client, project_id: str, scene_id: str, seconds: float) -> dict:
    """One clip Kie takes `seconds` to make (the emulator fixes a task's delay when it is created)."""
    usual = deployed.kie.config()["delay_seconds"]
    deployed.kie.configure(delay_seconds=seconds)
    try:
        return generate(api, project_id, scene_id)
    finally:
        deployed.kie.configure(delay_seconds=usual)


def loop_executions(deployed, prefix: str) -> dict[str, dict]:
    """The poll state machine's executions whose name starts with `prefix`, by name."""
    sfn, machine = deployed.aws("stepfunctions"), deployed.outputs["PollStateMachineArn"]
    return {e["name"]: e for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            for e in page["executions"] if e["name"].startswith(prefix)}


def cancel_while_kie_makes_it(deployed, cy, project_id: str, scene_id: str) -> tuple[dict, dict]:
    """Generate a clip Kie takes LATE_CLIP_S to make and cancel it at once: (the started scene, the
    cancelled one, which still watches the task)."""
    sent = time.monotonic()
    started = generate_with_delay(deployed, cy, project_id, scene_id, LATE_CLIP_S)
    assert started["status"] == "generating" and started["taskId"], started
    answer = cy.post(f"/api/projects/{project_id}/broll/cancel", json={"sceneId": scene_id})
    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert time.monotonic() - sent < LATE_CLIP_S, "cancelled while Kie was still making it"
    assert (cancelled["status"], cancelled["lateClips"]) == ("idle", 1), cancelled
    return started, cancelled


def landed_in_history(cy, project_id: str, scene_id: str, task_id: str) -> dict:
    """The History entry of the cancelled task's clip, once it has landed."""
    history = f"/api/projects/{project_id}/broll/scenes/{scene_id}/history"

    def landed():
        entries = cy.get(history).json()["entries"]
        return next((e for e in entries if e["kind"] == "clip" and e["taskId"] == task_id), None)

    entry = wait_for(landed, 90, "the cancelled clip landing in History")
    assert entry["note"].startswith("Finished after it was cancelled"), entry
    return entry


def test_a_cancelled_clip_is_landed_in_history_by_kies_signed_callback(deployed, cy, spare):
    """Before the steps below drop Kie's callbacks: the callback route (KieCallbackFunction, its own
    role) confirms the cancelled task, copies its clip and writes History. The loop's first look
    comes at 30 s, after the clip is done at 15 s, so the callback is first."""
    pid = spare["projectId"]
    started, _ = cancel_while_kie_makes_it(deployed, cy, pid, "ramp")
    assert settled_by_callback(deployed, started["taskId"]), "the callback did not land the cancelled clip"
    entry = landed_in_history(cy, pid, "ramp", started["taskId"])
    assert entry["videoUrl"] and httpx.get(entry["videoUrl"], timeout=60).content
    assert scene_of(cy, pid, "ramp")["lateClips"] == 0


@pytest.fixture(scope="module")
def died() -> dict:
    return {}


def test_a_poll_loop_stopped_in_step_functions_leaves_its_scene_generating(deployed, cy, spare, died):
    """The start of the sweep's repair, checked near the end of the file so its wait overlaps the
    steps between: Kie's callbacks are dropped from here on (no step after this one needs them), so
    only a poll loop can bring the clip."""
    pid = spare["projectId"]
    deployed.kie.configure(drop_callbacks=True)
    started = generate_with_delay(deployed, cy, pid, "dock", LONG_CLIP_S)
    assert started["status"] == "generating" and started["taskId"], started
    prefix = f"{pid}-dock-g{started['generation']}"
    loops = wait_for(lambda: loop_executions(deployed, prefix), 30, f"the poll loop {prefix}")
    assert list(loops) == [prefix], loops  # the first loop of a generation is named after it
    sfn = deployed.aws("stepfunctions")
    sfn.stop_execution(executionArn=loops[prefix]["executionArn"], error="Test", cause="a loop that died")
    died.update(projectId=pid, taskId=started["taskId"], prefix=prefix, stoppedAt=time.time())
    assert sfn.describe_execution(executionArn=loops[prefix]["executionArn"])["status"] == "ABORTED"
    assert scene_of(cy, pid, "dock")["status"] == "generating"


def test_a_cancelled_clip_still_lands_in_history(deployed, cy, spare, workdir):
    """Kie.ai has no cancel: the clip is still made and paid for, lands in the scene's History
    (here by its poll loop: callbacks are dropped), and the person can still choose it."""
    pid = spare["projectId"]
    started, cancelled = cancel_while_kie_makes_it(deployed, cy, pid, "deck")
    note = cancelled["statusNote"] or ""
    assert "still paid for" in note and "lands in this scene's History" in note, note
    entry = landed_in_history(cy, pid, "deck", started["taskId"])
    path = workdir / "deck-late.mp4"
    path.write_bytes(httpx.get(entry["videoUrl"], timeout=60).content)
    assert path.stat().st_size > 0
    assert [s["codec_type"] for s in ffprobe(path)["streams"]][:1] == ["video"]
    scene = scene_of(cy, pid, "deck")
    assert (scene["status"], scene["lateClips"], scene.get("videoUrl")) == ("idle", 0, None), scene

    chosen = cy.post(f"/api/projects/{pid}/broll/scenes/deck/select", json={"entryId": entry["id"]})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["status"] == "completed", chosen.json()
    scene = scene_of(cy, pid, "deck")
    assert scene["status"] == "completed" and scene["videoUrl"], scene


def test_the_composite_is_rendered_by_the_packaged_ffmpeg(api, project, media, workdir):
    _, _, seconds = media
    answer = api.post(f"/api/projects/{project['projectId']}/render", json={})
    assert answer.status_code in (200, 202), answer.text

    def rendered():
        render = api.get(f"/api/projects/{project['projectId']}/render").json()["render"]
        return render if render["status"] in ("completed", "failed") else None

    render = wait_for(rendered, 180, "the composite render")
    assert render["status"] == "completed", render["error"]
    path = workdir / "composite.mp4"
    path.write_bytes(httpx.get(render["videoUrl"], timeout=60).content)
    info = ffprobe(path)
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == ["audio", "video"]
    assert abs(float(info["format"]["duration"]) - seconds) < 0.5
    # The deployed worker's own check, with the packaged ffmpeg: captions (libass and the layer's
    # font) on by default, two-pass loudnorm, 9:16.
    checks = render["checks"]
    assert checks["problems"] == [] and checks["width"] * 16 == checks["height"] * 9, checks
    assert abs(checks["loudnessLufs"] + 14) <= 1 and checks["truePeakDbtp"] <= -1, checks
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert video["profile"] == "High" and (video["width"], video["height"]) == (checks["width"], checks["height"])


def test_download_all_holds_every_file_and_each_one_plays(api, project, workdir):
    def ready():
        answer = api.get(f"/api/projects/{project['projectId']}/download")
        assert answer.status_code in (200, 202), answer.text
        body = answer.json()
        assert body.get("status") != "failed", body
        return body if answer.status_code == 200 and body.get("url") else None

    link = wait_for(ready, 120, "the Download All ZIP")
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(link["url"], timeout=60).content))
    names = archive.namelist()
    assert "script.txt" in names and "timeline.json" in names
    assert {"captions.ass", "captions.srt", "harbour-cranes-return-to-the-port.mp4"} <= set(names), names
    media_names = [n for n in names if n.endswith((".mp4", ".m4a"))]
    # voice-over, avatar, hook, main ×2, cta and the composite (named after the project)
    assert len(media_names) == 7, names
    for name in media_names:
        path = workdir / name.replace("/", "_")
        path.write_bytes(archive.read(name))
        assert ffprobe(path)["streams"], name


def test_another_user_gets_404_on_the_first_users_project(deployed, project):
    pid = project["projectId"]
    with deployed.client(BOB) as bob:
        assert bob.get("/api/projects").json()["projects"] == []
        for route in ("", "/render", "/download", "/broll/estimate"):
            answer = bob.get(f"/api/projects/{pid}{route}")
            assert answer.status_code == 404, (route, answer.text)
        attempts = [
            bob.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "hook"}),
            bob.patch(f"/api/projects/{pid}", json={"name": "mine"}),
            bob.delete(f"/api/projects/{pid}"),
            bob.post(f"/api/projects/{pid}/duplicate", json={}),
            bob.post(f"/api/projects/{pid}/uploads", json={"kind": "avatar", "contentType": "video/mp4", "size": 10}),
            bob.post(f"/api/projects/{pid}/media/avatar", json={}),
        ]
        assert [a.status_code for a in attempts] == [404] * len(attempts), [a.text for a in attempts]


def test_a_duplicate_is_renamed_and_deleted_with_its_files(deployed, api, project):
    copy = api.post(f"/api/projects/{project['projectId']}/duplicate", json={"name": "Cranes, second cut"})
    assert copy.status_code == 201, copy.text
    twin = copy.json()
    assert all(s["status"] == "idle" for s in twin["scenes"]) and twin["avatarVideo"]["url"]
    assert api.patch(f"/api/projects/{twin['projectId']}", json={"name": "Cranes, third cut"}).json()["name"] == "Cranes, third cut"
    assert api.get("/api/projects").json()["projects"][0]["name"] == "Cranes, third cut"
    deleted = api.delete(f"/api/projects/{twin['projectId']}")
    assert deleted.status_code == 200 and deleted.json()["mediaObjects"] == 2, deleted.text  # its voice-over and avatar
    assert api.get(f"/api/projects/{twin['projectId']}").status_code == 404
    assert api.get(f"/api/projects/{project['projectId']}").json()["avatarVideo"]["url"]  # the original keeps its own


def test_the_eventbridge_sweep_runs(deployed):
    """The schedule (1 minute here) invokes the sweep function through EventBridge, not the test,
    and each sweep writes its gauges (QueueDepth, BreakerOpenSeconds) for the alarms."""

    def swept():
        return any('"sweep done"' in body and '"QueueDepth"' in body and '"BreakerOpenSeconds"' in body
                   for group, body in deployed.function_logs().items() if "SweepFunction" in group)

    wait_for(swept, 150, "an EventBridge-invoked sweep")
    poll_logs = [body for group, body in deployed.function_logs().items() if "PollScheduler" in group]
    assert not any('"sweep done"' in body for body in poll_logs)


ALARMS = ["clip-failure-rate", "kie-breaker-open", "poll-loop-failed", "render-worker-errors", "sweep-errors",
          "render-worker-failures-queued", "sweep-failures-queued"]


def _function_named(deployed, logical_id: str) -> dict:
    lam = deployed.aws("lambda")
    [function] = [f for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]
                  if f["FunctionName"].startswith(f"{deployed.stack}-{logical_id}")]
    return function


def test_the_alarms_and_the_dashboard_are_deployed(deployed):
    alarms = deployed.aws("cloudwatch").describe_alarms(AlarmNamePrefix=f"{deployed.stack}-")["MetricAlarms"]
    by_name = {a["AlarmName"].removeprefix(f"{deployed.stack}-"): a for a in alarms}
    assert sorted(by_name) == sorted(ALARMS)
    rate = by_name["clip-failure-rate"]
    watched = (rate["Namespace"], rate["MetricName"], rate["Statistic"], rate["Threshold"])
    assert watched == ("BrollStudio", "ClipFailurePercent", "Average", 20)
    assert rate["Dimensions"] == [{"Name": "service", "Value": "broll-studio"}]
    sweep = _function_named(deployed, "SweepFunction")["FunctionName"]
    assert by_name["sweep-errors"]["Dimensions"] == [{"Name": "FunctionName", "Value": sweep}]
    machine = deployed.outputs["PollStateMachineArn"]
    assert by_name["poll-loop-failed"]["Dimensions"] == [{"Name": "StateMachineArn", "Value": machine}]
    # No AlarmEmail given: no topic, no actions.
    assert all(a["TreatMissingData"] == "notBreaching" and a["AlarmActions"] == [] for a in alarms)

    board = deployed.aws("cloudwatch").get_dashboard(DashboardName=f"{deployed.stack}-operations")
    body = json.loads(board["DashboardBody"])
    [alarm_widget] = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(a["AlarmArn"] for a in alarms)
    assert f'"{sweep}"' in board["DashboardBody"]  # the errors widget names the deployed function


def test_failed_async_events_land_in_the_failure_queues(deployed):
    """Both asynchronous functions send a failed event to their own queue, where an operator reads it
    (docs/OPERATIONS.md); shown end to end with the render worker and an event it cannot take."""
    lam, sqs = deployed.aws("lambda"), deployed.aws("sqs")
    queues = {}
    for logical_id in ("RenderWorkerFunction", "SweepFunction"):
        name = _function_named(deployed, logical_id)["FunctionName"]
        config = lam.get_function_event_invoke_config(FunctionName=name, Qualifier="$LATEST")  # SAM configures $LATEST
        assert config["MaximumRetryAttempts"] == 0
        arn = config["DestinationConfig"]["OnFailure"]["Destination"]
        queues[logical_id] = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
        kept = {"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}  # 14 days, encrypted
        assert sqs.get_queue_attributes(QueueUrl=queues[logical_id], AttributeNames=list(kept))["Attributes"] == kept
    assert len(set(queues.values())) == 2

    worker = _function_named(deployed, "RenderWorkerFunction")["FunctionName"]
    lam.invoke(FunctionName=worker, InvocationType="Event", Payload=json.dumps({"unexpected": True}).encode())

    def failed_event():
        answer = sqs.receive_message(QueueUrl=queues["RenderWorkerFunction"], MaxNumberOfMessages=1, WaitTimeSeconds=2)
        return answer.get("Messages")

    [message] = wait_for(failed_event, 90, "the failed render event in its queue")
    envelope = json.loads(message["Body"])
    assert envelope["requestPayload"] == {"unexpected": True}
    assert envelope["requestContext"]["condition"] == "RetriesExhausted"


def test_a_loop_that_died_is_restarted_by_the_eventbridge_sweep_and_its_clip_lands(deployed, cy, died):
    """The scene whose loop was stopped above: nothing but the schedule's sweep may start it again
    (the test only reads), and the restarted loop brings the clip. The restart reads the callback
    URL's SSM parameter in the sweep (whether callbacks are trusted): denied, it aborted every sweep."""
    assert died, "the step that stops the loop did not run"
    try:
        remaining = died["stoppedAt"] + 150 - time.time()
        scene = wait_settled(cy, died["projectId"], "dock", timeout=max(remaining, 1))
    finally:
        deployed.kie.configure(drop_callbacks=False)
    assert scene["status"] == "completed" and scene["videoUrl"], scene
    restarted = {name: e for name, e in loop_executions(deployed, died["prefix"]).items() if name != died["prefix"]}
    assert [name.startswith(f"{died['prefix']}-r") for name in restarted] == [True], restarted
    assert [e["status"] for e in restarted.values()] in (["SUCCEEDED"], ["RUNNING"]), restarted
    assert deployed.kie.stats()["record_info_calls"].get(died["taskId"], 0) >= 2, "the sweep and the new loop looked"

    logs = deployed.aws("logs")
    [group] = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{deployed.stack}-")["logGroups"]
               if "SweepFunction" in g["logGroupName"]]
    events = logs.filter_log_events(logGroupName=group, startTime=int(died["stoppedAt"] * 1000)).get("events", [])
    sweeps = [{count: int(n) for count, n in re.findall(r'"(restarted|settled)":\s*(\d+)', e["message"])}
              for e in events if '"sweep done"' in e["message"]]
    assert any(s.get("restarted", 0) >= 1 or s.get("settled", 0) >= 1 for s in sweeps), sweeps
    body = "\n".join(e["message"] for e in events)
    assert "could not start the poll loop" not in body
    assert [line for line in deployed.denied() if "SweepFunction" in line.split(":", 1)[0]] == []


def test_no_function_was_denied_anything(deployed):
    # Checked last: every flow above ran under each function's own role.
    time.sleep(2)  # the last invocations' logs
    assert deployed.denied() == []
