"""Locally, more than one user, and nobody else: the local issuer signs in a named user only for a
loopback Host with this start's secret, and local AWS (moto) allows no foreign Origin."""

from __future__ import annotations

import os
import uuid

import httpx
import jwt
import pytest

from tests.integration.conftest import project_body

EVIL = "https://evil.example"


@pytest.fixture
def config(stack) -> dict:
    return httpx.get(f"{stack.api_url}/config.json").json()


def token_request(stack, secret: str | None, body: dict | None = None, host: str | None = None) -> httpx.Response:
    headers = {"X-Local-Auth": secret} if secret is not None else {}
    if host:
        headers["Host"] = host
    return httpx.post(f"{stack.api_url}/local-auth/token", json=body, headers=headers, timeout=30)


def sign_in(stack, config: dict, user: str) -> httpx.Client:
    answer = token_request(stack, config["auth"]["secret"], {"user": user}).json()
    return httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {answer['token']}"}, timeout=30)


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "content-type,x-amz-target"})


def test_the_page_config_carries_the_sign_in_secret_and_the_users(stack, config):
    assert config["auth"]["mode"] == "local" and config["auth"]["tokenUrl"] == "/local-auth/token"
    assert len(config["auth"]["secret"]) >= 32 and config["auth"]["secret"] == stack.issuer.secret
    assert config["auth"]["users"] == ["demo-user", "ann", "ben"]
    # Reached under another host name (DNS rebinding), it is not served.
    assert httpx.get(f"{stack.api_url}/config.json", headers={"Host": "evil.example"}).status_code == 403


def test_a_named_user_is_signed_in(stack, config):
    answer = token_request(stack, config["auth"]["secret"], {"user": "ann"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["user"] == "ann" and body["expiresIn"] == 3600
    assert jwt.decode(body["token"], options={"verify_signature": False})["sub"] == "ann"
    assert stack.issuer.verify(f"Bearer {body['token']}")["sub"] == "ann"
    # No body: the demo user, as the page's first start.
    default = token_request(stack, config["auth"]["secret"]).json()
    assert default["user"] == "demo-user"


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "[::1]:8000", "127.0.0.1"])
def test_every_loopback_host_is_answered(stack, config, host):
    assert token_request(stack, config["auth"]["secret"], host=host).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "10.0.0.1"])
def test_a_foreign_host_is_refused(stack, config, host):
    response = token_request(stack, config["auth"]["secret"], {"user": "ann"}, host=host)
    assert response.status_code == 403 and "error" in response.json()


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
def test_a_missing_or_wrong_secret_is_refused(stack, secret):
    response = token_request(stack, secret, {"user": "ann"})
    assert response.status_code == 403 and "X-Local-Auth" in response.json()["error"]


@pytest.mark.parametrize("body", [{"user": "Ann"}, {"user": "-ann"}, {"user": "a" * 41}, {"user": 7}, ["ann"],
                                  {"user": "ann/../ben"}])
def test_a_bad_user_name_is_400(stack, config, body):
    response = token_request(stack, config["auth"]["secret"], body)
    assert response.status_code == 400 and "error" in response.json()


def test_two_users_see_their_own_project_lists(stack, config):
    with sign_in(stack, config, "ann") as ann, sign_in(stack, config, "demo-user") as demo:
        pid = f"ann-{uuid.uuid4().hex[:8]}"
        assert ann.post("/api/projects", json=project_body(pid)).status_code == 201
        ann_ids = {p["projectId"] for p in ann.get("/api/projects").json()["projects"]}
        demo_ids = {p["projectId"] for p in demo.get("/api/projects").json()["projects"]}
        assert pid in ann_ids and "demo" not in ann_ids
        assert "demo" in demo_ids and pid not in demo_ids
        assert demo.get(f"/api/projects/{pid}").status_code == 404


def test_the_page_may_reach_local_aws_only_for_uploads(stack):
    assert "http://127.0.0.1:*" in httpx.get(f"{stack.api_url}/").headers["content-security-policy"]


def test_moto_allows_no_foreign_origin(stack):
    aws = stack.cloud.endpoint
    bucket = f"{aws}/{os.environ['MEDIA_BUCKET']}"
    for url in (f"{aws}/", bucket, f"{aws}/{os.environ['MEDIA_BUCKET']}/any/key.mp4"):
        assert "access-control-allow-origin" not in preflight(url, EVIL).headers, url
    # The call the issue saw answered: another site's page reading local Secrets Manager.
    answer = httpx.post(f"{aws}/", headers={"Origin": EVIL, "X-Amz-Target": "secretsmanager.ListSecrets",
                                           "Content-Type": "application/x-amz-json-1.1"}, content=b"{}")
    assert "access-control-allow-origin" not in answer.headers


def test_moto_answers_no_foreign_host(stack):
    # Another site's page that made its name resolve to 127.0.0.1 (DNS rebinding) is same-origin: no CORS needed.
    aws = stack.cloud.endpoint
    assert httpx.get(f"{aws}/", headers={"Host": "evil.example"}).status_code == 403
    assert httpx.get(f"{aws}/{os.environ['MEDIA_BUCKET']}", headers={"Host": "localhost"}).status_code == 200


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_the_page_origin_may_upload_to_the_media_bucket(stack, name):
    page = stack.api_url.replace("127.0.0.1", name)
    answer = preflight(f"{stack.cloud.endpoint}/{os.environ['MEDIA_BUCKET']}", page)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == page
    assert "POST" in answer.headers["access-control-allow-methods"]
    # Only the media bucket takes uploads from the page.
    web_bucket = f"{stack.cloud.endpoint}/{stack.cloud.names['WebBucket']}"
    assert "access-control-allow-origin" not in preflight(web_bucket, page).headers
