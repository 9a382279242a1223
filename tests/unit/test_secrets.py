"""Secrets and the callback URL: read by name at run time (Secrets Manager, SSM), with the plain
variables as the fallback; redacted from every log line; no signing with a known key."""

import io
import json
import logging

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from broll_common import api, config, prompts
from broll_common.logic import callback_health, callbacks
from broll_common.logic.generation import submit
from broll_common.clients import secrets
from broll_common.aws import reset_clients
from broll_common.logic.callbacks import BadSignature, ForeignCallback, expected_signature
from devstack.gateway import api_event
from devstack.lambdas import FunctionPool
from devstack.template import load as load_template

SECRET_VARIABLES = ("KIE_API_KEY_SECRET", "ANTHROPIC_API_KEY_SECRET", "KIE_WEBHOOK_HMAC_KEY_SECRET",
                    "CALLBACK_SIGNING_SECRET", "KIE_CALLBACK_URL_PARAMETER")
PLAIN_VARIABLES = ("ANTHROPIC_API_KEY", "KIE_WEBHOOK_HMAC_KEY", "CALLBACK_SIGNING_KEY", "KIE_CALLBACK_URL")


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in SECRET_VARIABLES + PLAIN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    config.reset_settings()
    parameters.clear_caches()  # Powertools keeps fetched values (and its clients) per process
    yield
    parameters.clear_caches()


@pytest.fixture
def cloud(monkeypatch):
    """moto's Secrets Manager and SSM; `put(name, value)` makes a secret and returns its ARN."""
    with mock_aws():
        reset_clients()
        sm = boto3.client("secretsmanager")

        def put(name: str, value: str) -> str:
            return sm.create_secret(Name=name, SecretString=value)["ARN"]

        yield put
    reset_clients()


# --- secrets by ARN, the plain variables as the fallback ---------------------------------------


def test_secrets_are_read_from_secrets_manager_by_arn(cloud, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY_SECRET", cloud("claude", "sk-ant-from-secrets-manager-7d1f"))
    monkeypatch.setenv("KIE_WEBHOOK_HMAC_KEY_SECRET", cloud("webhook", "whk-from-secrets-manager-90ab"))
    monkeypatch.setenv("CALLBACK_SIGNING_SECRET", cloud("signing", "generated-signing-key-000000000042"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-plain-loses-to-the-secret")
    assert secrets.anthropic_key() == "sk-ant-from-secrets-manager-7d1f"
    assert secrets.webhook_hmac_key() == "whk-from-secrets-manager-90ab"
    signature = secrets.callback_signature("p", "s", 1)
    monkeypatch.setenv("CALLBACK_SIGNING_KEY", "generated-signing-key-000000000042")
    monkeypatch.delenv("CALLBACK_SIGNING_SECRET")
    assert secrets.callback_signature("p", "s", 1) == signature  # the same key, however it is given


def test_a_secret_holding_none_is_not_set_and_the_plain_variable_stands_in(cloud, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY_SECRET", cloud("claude", "none"))
    monkeypatch.setenv("KIE_WEBHOOK_HMAC_KEY_SECRET", cloud("webhook", "none"))
    assert secrets.anthropic_key() == ""
    monkeypatch.setattr(prompts, "compose_with_claude", lambda r: pytest.fail("Claude asked without a key"))
    assert prompts.compose(prompts.PromptRequest(
        scene_type="hook", scene_title="Hook", scene_text="Cranes at dawn.", shot_instructions="",
        context="",
    )).source == "local"
    monkeypatch.setenv("KIE_WEBHOOK_HMAC_KEY", "whk-plain-for-the-local-stack")
    assert secrets.webhook_hmac_key() == "whk-plain-for-the-local-stack"


def test_without_an_arn_the_plain_variable_is_read_and_none_or_empty_mean_unset(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-plain-3c3c")
    assert secrets.anthropic_key() == "sk-ant-plain-3c3c"
    for unset in ("none", ""):
        monkeypatch.setenv("ANTHROPIC_API_KEY", unset)
        assert secrets.anthropic_key() == ""


def test_a_secret_is_cached_between_uses(cloud, monkeypatch):
    arn = cloud("claude", "sk-ant-first-value-1111")
    monkeypatch.setenv("ANTHROPIC_API_KEY_SECRET", arn)
    assert secrets.anthropic_key() == "sk-ant-first-value-1111"
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="sk-ant-rotated-2222")
    assert secrets.anthropic_key() == "sk-ant-first-value-1111"  # within max_age: no second read
    parameters.clear_caches()
    assert secrets.anthropic_key() == "sk-ant-rotated-2222"


def test_an_unreadable_secret_is_a_configuration_error(cloud, monkeypatch, caplog):
    monkeypatch.setenv("ANTHROPIC_API_KEY_SECRET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf")
    with caplog.at_level(logging.ERROR), pytest.raises(secrets.Misconfigured) as error:
        secrets.anthropic_key()
    assert error.value.status == 500
    assert error.value.message == "The server could not read its anthropic_api_key secret."
    assert error.value.message in caplog.text


def test_callbacks_are_verified_with_the_webhook_key_from_its_secret(cloud, monkeypatch):
    monkeypatch.setenv("KIE_WEBHOOK_HMAC_KEY_SECRET", cloud("webhook", "whk-from-secrets-manager-90ab"))
    signed = {"X-Webhook-Timestamp": "1000",
              "X-Webhook-Signature": expected_signature("veo_task_1", "1000", "whk-from-secrets-manager-90ab")}
    callbacks.verify(signed, "veo_task_1", now=1000)
    with pytest.raises(BadSignature):
        callbacks.verify({}, "veo_task_1", now=1000)


# --- the callback URL ----------------------------------------------------------------------------


def test_the_callback_url_comes_from_the_ssm_parameter_the_template_names(cloud, monkeypatch):
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/api/callbacks/kie"
    boto3.client("ssm").put_parameter(Name="/broll/kie-callback-url", Value=url, Type="String")
    monkeypatch.setenv("KIE_CALLBACK_URL_PARAMETER", "/broll/kie-callback-url")
    config.reset_settings()
    assert callbacks.callback_base_url() == url


@pytest.mark.parametrize("local_url", ["http://127.0.0.1:8000/api/callbacks/kie", ""])
def test_a_set_kie_callback_url_wins_and_ssm_is_not_asked(cloud, monkeypatch, local_url):
    monkeypatch.setenv("KIE_CALLBACK_URL_PARAMETER", "/no/such/parameter")  # asking would fail
    monkeypatch.setenv("KIE_CALLBACK_URL", local_url)
    config.reset_settings()
    assert callbacks.callback_base_url() == local_url


def test_without_either_there_are_no_callbacks():
    assert callbacks.callback_base_url() == ""
    assert not callback_health.trusted(since=0)  # and the loop never waits for one


def test_a_missing_callback_url_parameter_is_a_configuration_error(cloud, monkeypatch):
    monkeypatch.setenv("KIE_CALLBACK_URL_PARAMETER", "/no/such/parameter")
    config.reset_settings()
    with pytest.raises(secrets.Misconfigured, match="could not read its callback URL"):
        callbacks.callback_base_url()


# --- no signing with a known key -----------------------------------------------------------------


def test_without_a_signing_key_no_callback_url_is_issued(monkeypatch, caplog):
    monkeypatch.setenv("KIE_CALLBACK_URL", "https://api.example/api/callbacks/kie")
    config.reset_settings()
    with caplog.at_level(logging.ERROR), pytest.raises(secrets.Misconfigured) as error:
        submit._callback_url("p1", "hook", 1)
    assert error.value.status == 500
    assert error.value.message == "The server is misconfigured: no callback signing key is set."
    assert error.value.message in caplog.text
    monkeypatch.setenv("CALLBACK_SIGNING_KEY", "a-real-signing-key-0042")
    url = submit._callback_url("p1", "hook", 1)
    assert url.startswith("https://api.example/api/callbacks/kie?projectId=p1&sceneId=hook&generation=1&sig=")


def test_a_url_signed_with_another_key_is_refused(monkeypatch):
    monkeypatch.setenv("CALLBACK_SIGNING_KEY", "attackers-guess-key-0001")
    forged = secrets.callback_signature("p1", "hook", 1)
    monkeypatch.setenv("CALLBACK_SIGNING_KEY", "a-real-signing-key-0042")
    callbacks.verify_binding("p1", "hook", 1, secrets.callback_signature("p1", "hook", 1))
    with pytest.raises(ForeignCallback):
        callbacks.verify_binding("p1", "hook", 1, forged)


def _callback_event(query: str) -> dict:
    route = next(r for r in load_template().routes if r.path == "/api/callbacks/kie")
    body = json.dumps({"code": 200, "msg": "ok", "data": {"taskId": "veo_task_1"}}).encode()
    request = Request(EnvironBuilder(method="POST", path=route.path, query_string=query, data=body,
                                     content_type="application/json").get_environ())
    return api_event(request, route, {}, body)


def test_a_callback_is_refused_with_a_500_when_no_signing_key_is_set(caplog):
    function = load_template().functions["KieCallbackFunction"]
    event = _callback_event(f"projectId=p1&sceneId=hook&generation=1&sig={'0' * 64}")
    with caplog.at_level(logging.ERROR):
        answer = FunctionPool(function).invoke(event)
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == {"error": "The server is misconfigured: no callback signing key is set."}
    assert "no callback signing key" in caplog.text


# --- redaction of what the log handler writes -----------------------------------------------------


@pytest.fixture
def log_output():
    """What api.logger (the product's Powertools logger) writes, one JSON object per line."""
    handler = api.logger.registered_handler
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


KEY = "sk-ant-api03-registered-secret-Zq9X"


def test_a_registered_key_appears_in_no_part_of_a_log_line_but_its_last_4_do(log_output):
    secrets.register(KEY)
    api.logger.info(f"calling Claude with {KEY}")
    api.logger.info("key in an extra field", extra={"apiKey": KEY, "nested": {"header": f"Bearer {KEY}"}})
    try:
        raise RuntimeError(f"Claude refused key {KEY}")
    except RuntimeError:
        api.logger.exception("Claude failed")
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    assert len(lines) == 3
    text = log_output.getvalue()
    assert KEY not in text and KEY[:-4] not in text
    assert lines[0]["message"] == "calling Claude with …Zq9X"
    assert lines[1]["apiKey"] == "…Zq9X" and lines[1]["nested"] == {"header": "Bearer …Zq9X"}
    assert lines[2]["exception"].endswith("RuntimeError: Claude refused key …Zq9X")
    assert "…Zq9X" in json.dumps(lines[2]["stack_trace"], ensure_ascii=False)


def test_a_key_the_json_line_escapes_is_redacted_too(log_output):
    quoted = 'kie-key-with-"quote"-and-\\-R2d2'
    secrets.register(quoted)
    api.logger.info("user key", extra={"key": quoted})
    line = log_output.getvalue()
    assert json.loads(line)["key"] == "…R2d2"
    assert "quote" not in line


def test_an_unregistered_or_short_value_is_left_alone(log_output):
    secrets.register("short")  # under 8 characters: too common a string to cut out of lines
    api.logger.info("a short value", extra={"value": "short", "other": "not-a-secret-at-all"})
    line = json.loads(log_output.getvalue())
    assert line["value"] == "short" and line["other"] == "not-a-secret-at-all"
