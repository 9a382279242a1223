import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from devstack import media
from devstack.kie_emulator import DEFAULT_API_KEY, KieEmulator

BODY = {"prompt": "Night train crossing a snowy bridge", "model": "veo3_fast",
        "aspectRatio": "9:16", "aspect_ratio": "9:16"}


@pytest.fixture
def emulator():
    emu = KieEmulator(delay_seconds=0.3)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def kie(emulator):
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "User-Agent": "b-roll-studio-tests/1.0"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def receiver():
    """A local callback endpoint recording every delivery; `statuses` scripts its answers."""
    deliveries, statuses = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            deliveries.append({"headers": dict(self.headers), "body": json.loads(body)})
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/kie", "deliveries": deliveries, "statuses": statuses}
    server.shutdown()
    server.server_close()


def submit(kie, **overrides):
    answer = kie.post("/api/v1/veo/generate", json={**BODY, **overrides})
    assert answer.status_code == 200
    return answer.json()


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def record(kie, task_id):
    return kie.get("/api/v1/veo/record-info", params={"taskId": task_id}).json()


def wait_done(kie, task_id):
    return wait_until(lambda: (r := record(kie, task_id))["data"]["successFlag"] != 0 and r)


@pytest.mark.parametrize("auth", [None, "Bearer wrong-key", DEFAULT_API_KEY])
def test_missing_or_wrong_key_answers_401_in_the_envelope(emulator, auth):
    headers = {"Authorization": auth} if auth else {}
    answer = httpx.post(f"{emulator.base_url}/api/v1/veo/generate", json=BODY, headers=headers)
    assert answer.status_code == 200
    assert answer.json() == {"code": 401, "msg": "You do not have access permissions", "data": None}
    assert emulator.stats()["tasks_created"] == 0


@pytest.mark.parametrize("overrides, words", [
    ({"prompt": None}, "prompt"),
    ({"prompt": "   "}, "prompt"),
    ({"prompt": "x" * 5001}, "too long"),
    ({"model": "veo4"}, "model"),
    ({"aspectRatio": "4:3", "aspect_ratio": "4:3"}, "aspectRatio"),
    ({"aspectRatio": "9:16", "aspect_ratio": "16:9"}, "disagree"),
    ({"seeds": 5}, "seeds"),
])
def test_invalid_bodies_answer_422(kie, emulator, overrides, words):
    answer = submit(kie, **overrides)
    assert answer["code"] == 422 and words in answer["msg"]
    assert emulator.stats()["tasks_created"] == 0


def test_minimal_and_long_but_allowed_prompts_are_accepted(kie):
    assert kie.post("/api/v1/veo/generate", json={"prompt": "a lake"}).json()["code"] == 200
    assert submit(kie, prompt="x" * 1500)["code"] == 200


def test_21st_generate_within_10_seconds_is_rate_limited(kie, emulator):
    codes = [submit(kie)["code"] for _ in range(21)]
    assert codes == [200] * 20 + [429]
    stats = emulator.stats()
    assert stats["rate_limited"] == 1 and stats["tasks_created"] == 20


def test_out_of_credits_answers_402(kie, emulator):
    emulator.configure(credits=100, price_per_clip=80)
    assert submit(kie)["code"] == 200
    assert submit(kie)["code"] == 402
    assert kie.get("/api/v1/chat/credit").json() == {"code": 200, "msg": "success", "data": 20}


def test_task_generates_then_serves_a_playable_vertical_clip(kie, emulator, tmp_path):
    task_id = submit(kie)["data"]["taskId"]
    assert task_id.startswith("veo_task_")
    first = record(kie, task_id)["data"]
    assert first["successFlag"] == 0 and first["response"] is None

    data = wait_done(kie, task_id)["data"]
    assert data["successFlag"] == 1
    assert data["errorCode"] is None and data["errorMessage"] is None and data["fallbackFlag"] is False
    assert json.loads(data["paramJson"]) == BODY
    assert data["completeTime"] >= data["createTime"]
    response = data["response"]
    assert response["resolution"] == "720p" and response["originUrls"] == []
    assert response["fullResultUrls"] == response["resultUrls"]

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(httpx.get(response["resultUrls"][0]).content)
    info = media.probe(clip)
    assert info["width"] < info["height"]
    assert info["duration"] == pytest.approx(8.0, abs=0.1)
    assert info["has_audio"]
    colour, expected = media.frame_colour(clip), media.clip_colour(task_id)
    assert all(abs(a - b) <= 12 for a, b in zip(colour, expected))
    assert emulator.stats()["record_info_calls"][task_id] >= 2


def test_clip_download_supports_range_requests(kie):
    url = wait_done(kie, submit(kie)["data"]["taskId"])["data"]["response"]["resultUrls"][0]
    part = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100


def test_unknown_task_answers_404(kie):
    assert record(kie, "veo_task_nope")["code"] == 404


@pytest.mark.parametrize("outcome", [
    {"successFlag": 2, "errorCode": 400, "errorMessage": "Your prompt was flagged by our content policy"},
    {"successFlag": 3, "errorCode": 501, "errorMessage": "Generation failed"},
])
def test_fail_next_fails_the_next_task_only(kie, emulator, outcome):
    emulator.configure(fail_next=[outcome])
    failed, ok = submit(kie)["data"]["taskId"], submit(kie)["data"]["taskId"]
    data = wait_done(kie, failed)["data"]
    assert {k: data[k] for k in outcome} == outcome
    assert data["response"] is None
    assert wait_done(kie, ok)["data"]["successFlag"] == 1


def test_reject_next_submit_answers_the_given_envelopes_once(kie, emulator):
    emulator.configure(reject_next_submit=[{"code": 402, "msg": "Insufficient credits"}])
    assert submit(kie) == {"code": 402, "msg": "Insufficient credits", "data": None}
    assert submit(kie)["code"] == 200


def test_rate_limit_storm_and_error_rate(kie, emulator):
    emulator.configure(rate_limit_storm=True)
    assert submit(kie)["code"] == 429
    emulator.configure(rate_limit_storm=False, error_rate=1.0)
    assert submit(kie)["code"] == 500
    assert kie.get("/api/v1/chat/credit").json()["code"] == 500


def test_success_callback_is_signed_and_retried(kie, emulator, receiver):
    emulator.configure(webhook_hmac_key="whsec-test")
    receiver["statuses"].append(500)  # the first delivery fails: the emulator must retry
    task_id = submit(kie, callBackUrl=receiver["url"])["data"]["taskId"]
    wait_until(lambda: len(receiver["deliveries"]) == 2)

    delivery = receiver["deliveries"][1]
    body = delivery["body"]
    assert body["code"] == 200 and body["data"]["taskId"] == task_id
    assert body["data"]["info"]["resultUrls"] == record(kie, task_id)["data"]["response"]["resultUrls"]
    timestamp = delivery["headers"]["X-Webhook-Timestamp"]
    expected = base64.b64encode(
        hmac.new(b"whsec-test", f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(delivery["headers"]["X-Webhook-Signature"], expected)
    assert abs(int(timestamp) - time.time()) < 30
    # The emulator counts a delivery once the receiver's answer is back: wait for that.
    wait_until(lambda: emulator.stats()["callbacks_sent"] == 1)
    assert emulator.stats()["callbacks_failed"] == 0


def test_failure_callback_carries_the_error_and_no_signature_without_key(kie, emulator, receiver):
    emulator.configure(fail_next=[{"successFlag": 2, "errorCode": 400, "errorMessage": "flagged"}])
    task_id = submit(kie, callBackUrl=receiver["url"])["data"]["taskId"]
    wait_until(lambda: receiver["deliveries"])
    delivery = receiver["deliveries"][0]
    # A failed task was charged too (no refund): its callback says what it cost.
    assert delivery["body"] == {"code": 400, "msg": "flagged",
                                "data": {"taskId": task_id, "fallbackFlag": False, "creditsConsumed": 80}}
    assert "X-Webhook-Signature" not in delivery["headers"]


def test_each_task_is_charged_its_own_jittered_price_and_callbacks_may_leave_it_out(kie, emulator, receiver):
    emulator.configure(credits=1000, price_per_clip=80, price_jitter=10, credits_in_callbacks=False)
    submit(kie, callBackUrl=receiver["url"])
    wait_until(lambda: receiver["deliveries"])
    assert "creditsConsumed" not in receiver["deliveries"][0]["body"]["data"]
    emulator.configure(credits_in_callbacks=True)
    for _ in range(4):
        submit(kie, callBackUrl=receiver["url"])
    wait_until(lambda: len(receiver["deliveries"]) == 5)
    prices = [d["body"]["data"]["creditsConsumed"] for d in receiver["deliveries"][1:]]
    charged = emulator.stats()["charged_credits"]
    assert all(70 <= price <= 90 for price in prices) and charged - sum(prices) in range(70, 91)
    assert kie.get("/api/v1/chat/credit").json()["data"] == 1000 - charged


def test_callbacks_give_up_after_three_failed_deliveries(kie, emulator, receiver):
    receiver["statuses"].extend([500, 500, 500, 200])
    submit(kie, callBackUrl=receiver["url"])
    wait_until(lambda: emulator.stats()["callbacks_failed"] == 1)
    assert len(receiver["deliveries"]) == 3


def test_drop_callbacks_suppresses_them(kie, emulator, receiver):
    emulator.configure(drop_callbacks=True)
    wait_done(kie, submit(kie, callBackUrl=receiver["url"])["data"]["taskId"])
    time.sleep(0.3)
    assert receiver["deliveries"] == [] and emulator.stats()["callbacks_sent"] == 0


def test_outage_answers_503_without_json_and_admin_can_end_it(kie, emulator):
    assert httpx.post(f"{emulator.base_url}/_emulator/config", json={"outage": True}).json()["outage"] is True
    answer = kie.get("/api/v1/chat/credit")
    assert answer.status_code == 503
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    httpx.post(f"{emulator.base_url}/_emulator/config", json={"outage": False})
    assert kie.get("/api/v1/chat/credit").json()["code"] == 200


def test_result_urls_as_string(kie, emulator):
    emulator.configure(result_urls_as_string=True)
    response = wait_done(kie, submit(kie)["data"]["taskId"])["data"]["response"]
    assert isinstance(response["resultUrls"], str)
    assert json.loads(response["resultUrls"]) == response["fullResultUrls"]


def test_1080p_is_not_ready_at_first_then_has_a_url(kie):
    task_id = submit(kie)["data"]["taskId"]
    wait_done(kie, task_id)
    answers = [kie.get("/api/v1/veo/get-1080p-video", params={"taskId": task_id, "index": 0}).json()
               for _ in range(3)]
    assert [a["code"] for a in answers] == [400, 400, 200]
    assert httpx.get(answers[2]["data"]["resultUrl"]).status_code == 200


def test_download_url_only_for_emulator_files(kie):
    url = wait_done(kie, submit(kie)["data"]["taskId"])["data"]["response"]["resultUrls"][0]
    link = kie.post("/api/v1/common/download-url", json={"url": url}).json()
    assert link["code"] == 200 and link["data"].startswith(url)
    assert kie.post("/api/v1/common/download-url", json={"url": "https://example.com/x.mp4"}).json()["code"] == 422


def test_admin_config_masks_secrets_rejects_unknown_settings_and_resets(kie, emulator):
    base = emulator.base_url
    shown = httpx.post(f"{base}/_emulator/config", json={"webhook_hmac_key": "whsec-secret"}).json()
    assert "whsec-secret" not in json.dumps(shown) and DEFAULT_API_KEY not in json.dumps(shown)
    assert httpx.post(f"{base}/_emulator/config", json={"no_such_fault": 1}).status_code == 400
    task_id = submit(kie)["data"]["taskId"]
    assert httpx.get(f"{base}/_emulator/stats").json()["generate_calls"] == 1
    httpx.post(f"{base}/_emulator/reset")
    assert record(kie, task_id)["code"] == 404
    assert httpx.get(f"{base}/_emulator/config").json()["webhook_hmac_key"] is None
    assert httpx.get(f"{base}/_emulator/stats").json()["generate_calls"] == 0


def test_refuses_to_bind_beyond_loopback():
    with pytest.raises(ValueError):
        KieEmulator(host="0.0.0.0")
