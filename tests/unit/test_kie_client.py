"""The Kie client against Kie's wire contract (KIE.md), with an httpx mock transport."""

import json
import time

import httpx
import pytest

from broll_common.clients.kie import (
    MESSAGES,
    USER_AGENT,
    KieClient,
    KieError,
    KieRateLimited,
    KieRejected,
    KieUnavailable,
    TaskState,
)

BASE = "https://api.kie.test"
KEY = "sk-test-1234"


class Recorder:
    """A mock transport that answers with a fixed handler and keeps the requests it saw."""

    def __init__(self, handler):
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def client_for(handler) -> tuple[KieClient, Recorder]:
    recorder = Recorder(handler)
    return KieClient(BASE, KEY, timeout=2.0, transport=httpx.MockTransport(recorder)), recorder


def envelope(code, msg="", data=None, status=200):
    return lambda request: httpx.Response(status, json={"code": code, "msg": msg, "data": data})


# ---- submit ----------------------------------------------------------------------------


def test_submit_ok_returns_task_id_and_sends_contract():
    client, rec = client_for(envelope(200, "success", {"taskId": "veo_task_abc"}))
    assert client.submit("A calm harbour at dawn.") == "veo_task_abc"
    (request,) = rec.requests
    assert request.method == "POST"
    assert request.url == httpx.URL(f"{BASE}/api/v1/veo/generate")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    ua = request.headers.get("User-Agent", "")
    assert ua == USER_AGENT and ua and not ua.startswith("python-httpx")
    assert request.headers["Content-Type"].startswith("application/json")
    body = json.loads(request.content)
    assert body["prompt"] == "A calm harbour at dawn."
    assert body["model"] == "veo3_fast"
    assert body["aspectRatio"] == "9:16"
    assert body["aspect_ratio"] == "9:16"
    assert "callBackUrl" not in body
    assert "seeds" not in body


def test_submit_sends_callback_and_seed_only_when_given():
    client, rec = client_for(envelope(200, "success", {"taskId": "t1"}))
    client.submit("p", callback_url="https://cb.example/kie?x=1", seed=12345)
    body = json.loads(rec.requests[0].content)
    assert body["callBackUrl"] == "https://cb.example/kie?x=1"
    assert body["seeds"] == 12345
    client.submit("p", callback_url="")
    assert "callBackUrl" not in json.loads(rec.requests[1].content)


def test_submit_model_can_be_overridden():
    client, rec = client_for(envelope(200, "success", {"taskId": "t1"}))
    client.submit("p", model="veo3")
    assert json.loads(rec.requests[0].content)["model"] == "veo3"


# ---- error envelopes ---------------------------------------------------------------------


@pytest.mark.parametrize("code", [400, 401, 402, 404, 422, 451, 501, 505])
def test_request_errors_are_rejected_with_a_sentence(code):
    client, _ = client_for(envelope(code, f"kie says {code}"))
    with pytest.raises(KieRejected) as info:
        client.submit("p")
    exc = info.value
    assert not isinstance(exc, KieUnavailable)
    assert exc.code == code
    assert exc.detail == f"kie says {code}"
    assert exc.user_message == MESSAGES[code]
    assert "Kie.ai" in exc.user_message
    assert exc.user_message[0].isupper() and exc.user_message.endswith(".")
    assert f"kie says {code}" not in exc.user_message
    assert len(exc.user_message.split()) >= 4


@pytest.mark.parametrize("code", [400, 401, 402, 422])
def test_rejections_even_with_http_error_status(code):
    client, _ = client_for(envelope(code, "nope", status=code))
    with pytest.raises(KieRejected) as info:
        client.submit("p")
    assert info.value.code == code


def test_401_message_mentions_the_key():
    client, _ = client_for(envelope(401, "You do not have access permissions"))
    with pytest.raises(KieRejected) as info:
        client.record_info("t")
    assert "key" in info.value.user_message.lower()


def test_402_message_mentions_credits():
    client, _ = client_for(envelope(402, "insufficient"))
    with pytest.raises(KieRejected) as info:
        client.submit("p")
    assert "credit" in info.value.user_message.lower()


def test_429_envelope_is_rate_limited():
    client, _ = client_for(envelope(429, "slow down"))
    with pytest.raises(KieRateLimited) as info:
        client.submit("p")
    assert info.value.code == 429
    assert not isinstance(info.value, (KieRejected, KieUnavailable))


def test_http_429_is_rate_limited():
    client, _ = client_for(lambda r: httpx.Response(429, text="Too Many Requests"))
    with pytest.raises(KieRateLimited):
        client.submit("p")


@pytest.mark.parametrize("code", [455, 500])
def test_server_envelopes_are_unavailable(code):
    client, _ = client_for(envelope(code, "down"))
    with pytest.raises(KieUnavailable) as info:
        client.submit("p")
    assert info.value.code == code
    assert not isinstance(info.value, KieRejected)
    assert info.value.user_message == MESSAGES[code]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_http_5xx_without_json_is_unavailable(status):
    html = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
    client, _ = client_for(lambda r: httpx.Response(status, text=html, headers={"Content-Type": "text/html"}))
    with pytest.raises(KieUnavailable) as info:
        client.record_info("t")
    assert info.value.code == status


def test_non_json_200_is_unavailable_not_rejected():
    client, _ = client_for(lambda r: httpx.Response(403, text="error code: 1010"))
    with pytest.raises(KieUnavailable):
        client.submit("p")


def test_timeout_is_unavailable_with_code_0():
    def boom(request):
        raise httpx.ReadTimeout("read timed out", request=request)

    client, _ = client_for(boom)
    with pytest.raises(KieUnavailable) as info:
        client.submit("p")
    assert info.value.code == 0
    assert "timeout" in info.value.detail
    assert "did not answer in time" in info.value.user_message


def test_connection_error_is_unavailable_with_code_0():
    def boom(request):
        raise httpx.ConnectError("refused", request=request)

    client, _ = client_for(boom)
    with pytest.raises(KieUnavailable) as info:
        client.credits()
    assert info.value.code == 0
    assert "network" in info.value.detail


NEVER_SENT = [httpx.ConnectError("refused"), httpx.ConnectTimeout("connect timed out"),
              httpx.PoolTimeout("no connection")]
NO_VERDICT = [httpx.ReadTimeout("read timed out"), httpx.WriteTimeout("write timed out"),
              httpx.RemoteProtocolError("server disconnected"), httpx.ReadError("connection reset")]


@pytest.mark.parametrize("error", NEVER_SENT + NO_VERDICT, ids=lambda e: type(e).__name__)
def test_a_submit_says_whether_kie_may_have_started_it(error):
    """Only a request that left us without a verdict may have started (and charged) a task;
    one that never connected did not, so it is safe to send again."""
    def boom(request):
        raise error

    client, _ = client_for(boom)
    with pytest.raises(KieUnavailable) as info:
        client.submit("p")
    assert info.value.code == 0 and info.value.may_have_started == (error in NO_VERDICT)


@pytest.mark.parametrize("status, started", [(503, False), (500, False), (502, False), (504, True), (524, True)])
def test_an_http_error_page_is_a_refusal_except_a_gateway_timeout(status, started):
    html = "<html><body><h1>Error</h1></body></html>"
    client, _ = client_for(lambda r: httpx.Response(status, text=html, headers={"Content-Type": "text/html"}))
    with pytest.raises(KieUnavailable) as info:
        client.submit("p")
    assert info.value.may_have_started is started


@pytest.mark.parametrize("code", [455, 500, 503])
def test_a_busy_envelope_started_nothing(code):
    client, _ = client_for(envelope(code, "busy"))
    with pytest.raises(KieUnavailable) as info:
        client.submit("p")
    assert info.value.code == code and not info.value.may_have_started


def test_all_kie_errors_share_a_base():
    for cls in (KieRejected, KieUnavailable, KieRateLimited):
        assert issubclass(cls, KieError)


# ---- record-info -------------------------------------------------------------------------


def record(flag, **extra):
    data = {"taskId": "veo_task_1", "paramJson": "{}", "successFlag": flag, "response": None}
    data.update(extra)
    return envelope(200, "success", data)


def test_record_info_sends_task_id_query():
    client, rec = client_for(record(0))
    client.record_info("veo_task_1")
    request = rec.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/api/v1/veo/record-info"
    assert request.url.params["taskId"] == "veo_task_1"
    assert request.headers["Authorization"] == f"Bearer {KEY}"


def test_flag_0_is_generating():
    client, _ = client_for(record(0))
    rec = client.record_info("veo_task_1")
    assert rec.state is TaskState.GENERATING
    assert rec.task_id == "veo_task_1"
    assert rec.result_urls == []


def test_flag_1_with_url_list():
    urls = ["https://cdn.kie/a.mp4", "https://cdn.kie/b.mp4"]
    client, _ = client_for(record(1, response={"resultUrls": urls, "originUrls": [], "resolution": "720p"}))
    rec = client.record_info("veo_task_1")
    assert rec.state is TaskState.SUCCEEDED
    assert rec.result_urls == urls


def test_flag_1_with_json_encoded_url_string():
    urls = ["https://cdn.kie/a.mp4"]
    client, _ = client_for(record(1, response={"resultUrls": json.dumps(urls)}))
    rec = client.record_info("veo_task_1")
    assert rec.state is TaskState.SUCCEEDED
    assert rec.result_urls == urls


def test_flag_1_with_bare_url_string():
    client, _ = client_for(record(1, response={"resultUrls": "https://cdn.kie/a.mp4"}))
    assert client.record_info("veo_task_1").result_urls == ["https://cdn.kie/a.mp4"]


def test_flag_as_string_is_understood():
    client, _ = client_for(record("1", response={"resultUrls": ["https://x/y.mp4"]}))
    assert client.record_info("veo_task_1").state is TaskState.SUCCEEDED


@pytest.mark.parametrize("flag", [2, 3])
def test_failed_flags(flag):
    client, _ = client_for(record(flag, errorCode=400, errorMessage="Prompt flagged by content policy"))
    rec = client.record_info("veo_task_1")
    assert rec.state is TaskState.FAILED
    assert rec.error_code == 400
    assert rec.error_message == "Prompt flagged by content policy"
    assert rec.user_message.startswith(MESSAGES[400])
    assert "Prompt flagged by content policy" in rec.user_message


def test_failed_without_error_code_defaults_to_501():
    client, _ = client_for(record(3, errorCode=None, errorMessage=None))
    rec = client.record_info("veo_task_1")
    assert rec.state is TaskState.FAILED
    assert rec.error_code == 501
    assert rec.user_message == MESSAGES[501]


def test_record_info_error_envelope_raises():
    client, _ = client_for(envelope(404, "Task not found"))
    with pytest.raises(KieRejected) as info:
        client.record_info("missing")
    assert info.value.code == 404


def test_credits():
    client, rec = client_for(envelope(200, "success", 4200))
    assert client.credits() == 4200.0
    assert rec.requests[0].url.path == "/api/v1/chat/credit"


# ---- the local emulator ------------------------------------------------------------------


@pytest.fixture
def emulator():
    kie_emulator = pytest.importorskip("devstack.kie_emulator")
    emu = kie_emulator.KieEmulator(port=0, delay_seconds=0.3)
    base = emu.start()
    try:
        yield base, kie_emulator.DEFAULT_API_KEY
    finally:
        emu.stop()


def test_against_local_emulator(emulator):
    base, key = emulator
    client = KieClient(base, key, timeout=5.0)
    try:
        task_id = client.submit("A slow crane shot over a quiet harbour at dawn, no dialogue.")
        assert task_id
        first = client.record_info(task_id)
        assert first.state is TaskState.GENERATING
        deadline = time.monotonic() + 15
        rec = first
        while rec.state is TaskState.GENERATING and time.monotonic() < deadline:
            time.sleep(0.1)
            rec = client.record_info(task_id)
        assert rec.state is TaskState.SUCCEEDED
        assert rec.result_urls and rec.result_urls[0].startswith(base) and rec.result_urls[0].endswith(".mp4")
    finally:
        client.close()

    wrong = KieClient(base, "not-the-key", timeout=5.0)
    try:
        with pytest.raises(KieRejected) as info:
            wrong.submit("p")
        assert info.value.code == 401
        with pytest.raises(KieRejected):
            wrong.record_info(task_id)
    finally:
        wrong.close()


# ---- robustness: odd answers from Kie ------------------------------------------------------


def test_result_url_json_encoded_single_string():
    client, _ = client_for(record(1, response={"resultUrls": json.dumps("https://cdn.kie/a.mp4")}))
    assert client.record_info("veo_task_1").result_urls == ["https://cdn.kie/a.mp4"]


def test_null_data_is_a_kie_error():
    client, _ = client_for(envelope(200, "success", None))
    with pytest.raises(KieError):
        client.record_info("veo_task_1")
