"""The hosted sign-in (Cognito's hosted UI, authorization code + PKCE) in a real browser
(issue 12 item 4): the page opened at `/?project=X` or `/index.html?project=X` comes back
from the sign-in to that same project.

No local stack here: web/ is served by a small static server whose config.json says
`auth.mode = "cognito"`, beside a fake hosted UI that is as strict as Cognito about the
registered callback URL (exact match: the site root), the state and PKCE (S256), and a tiny
project API that accepts only the tokens the fake hosted UI issued."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from .conftest import DESKTOP, checked_page

pytestmark = pytest.mark.e2e

WEB = Path(__file__).resolve().parents[2] / "web"
CLIENT_ID = "test-client"
PROJECT = "harbour-x"
LOCAL_SECRET = "per-start-secret"


def _serve(handler) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _origin(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


class _Quiet:
    def log_message(self, *args):  # keep pytest's output clean
        pass


@dataclass
class FakeCognito:
    """The hosted UI's two endpoints, and everything the page sent them."""

    site: str = ""                                   # the page's origin: CallbackURLs = [site + "/"]
    authorize_log: list = field(default_factory=list)
    token_log: list = field(default_factory=list)
    codes: dict = field(default_factory=dict)        # unused code -> the authorize request's parameters
    issued: list = field(default_factory=list)       # every code handed out, in order
    tokens: set = field(default_factory=set)
    tamper_next: str | None = None                   # "forge" / "drop": the next return's state
    token_errors: list = field(default_factory=list)

    @property
    def callback(self) -> str:
        return f"{self.site}/"

    def reset(self) -> None:
        self.authorize_log.clear()
        self.token_log.clear()
        self.token_errors.clear()
        self.codes.clear()
        self.issued.clear()
        self.tamper_next = None

    def authorize(self, q: dict) -> tuple[int, dict, bytes]:
        self.authorize_log.append(q)
        ok = (
            q.get("response_type") == "code" and q.get("client_id") == CLIENT_ID
            and q.get("redirect_uri") == self.callback and q.get("code_challenge_method") == "S256"
            and q.get("code_challenge") and q.get("state")
        )
        if not ok:  # Cognito shows its own error page for a redirect_uri it was not given
            return 400, {"Content-Type": "text/plain"}, b"redirect_mismatch or bad request"
        code = secrets.token_urlsafe(12)
        self.codes[code] = q
        self.issued.append(code)
        back = {"code": code, "state": q["state"]}
        if self.tamper_next == "forge":
            back["state"] = "forged-" + secrets.token_urlsafe(8)
        elif self.tamper_next == "drop":
            del back["state"]
        self.tamper_next = None
        return 302, {"Location": f"{q['redirect_uri']}?{urlencode(back)}"}, b""

    def token(self, form: dict) -> tuple[int, dict]:
        self.token_log.append(form)
        asked = self.codes.pop(form.get("code", ""), None)
        problem = None
        if form.get("grant_type") != "authorization_code" or form.get("client_id") != CLIENT_ID:
            problem = "bad grant or client"
        elif asked is None:
            problem = "unknown or used code"
        elif form.get("redirect_uri") != self.callback or form.get("redirect_uri") != asked["redirect_uri"]:
            problem = "redirect_uri differs from the registered one / the authorize request's"
        else:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != asked["code_challenge"]:
                problem = "code_verifier does not match the code_challenge"
        if problem:
            self.token_errors.append(problem)
            return 400, {"error": "invalid_grant", "error_description": problem}
        access = "at-" + secrets.token_urlsafe(16)
        self.tokens.add(access)
        return 200, {"access_token": access, "id_token": "id-" + access, "token_type": "Bearer", "expires_in": 3600}


def project_json(project_id: str) -> dict:
    def scene(sid: str, title: str, kind: str, start: float, end: float) -> dict:
        return {
            "sceneId": sid, "sceneTitle": title, "sceneType": kind,
            "text": f"{title} narration about harbour cranes at dawn.",
            "timeRange": {"start": start, "end": end, "label": f"0:{int(start):02d}–0:{int(end):02d}"},
            "shotInstructions": "", "aiPrompt": "", "promptSource": None, "taskId": None, "generation": 0,
            "status": "idle", "progress": 0, "videoUrl": None, "error": None, "keyOwner": "system",
            "keyLast4": "ab12", "promptNote": None, "rewrite": None, "aiGenerated": False, "outOfDate": False,
            "styleVersion": None, "seed": None, "shotCount": None, "plannedShots": 1, "autoShots": 1,
            "maxShots": 2, "plan": [],
        }

    return {
        "projectId": project_id,
        "name": "Harbour cranes at dawn",
        "script": "Hook narration. Main narration.",
        "audio": None,
        "avatarVideo": None,
        "scenes": [scene("hook", "Hook", "hook", 0, 4), scene("main", "Main", "main", 4, 9)],
        "step7": {"status": "in_progress", "completedAt": None, "reopenedAt": None, "scenesWithClips": []},
        "render": {"status": "idle", "progress": 0, "error": None, "videoUrl": None, "outOfDate": False,
                   "startedAt": None, "completedAt": None},
        "schedule": None,
    }


@dataclass
class Servers:
    site: str
    api: str
    cognito: FakeCognito
    api_log: list
    config: dict  # what /config.json answers (a test may change it for itself)


@pytest.fixture(scope="module")
def servers():
    cognito = FakeCognito()
    api_log: list = []
    holder: dict = {}

    class Site(_Quiet, SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(WEB), **kw)

        def do_GET(self):
            if urlsplit(self.path).path == "/config.json":
                body = json.dumps(holder["config"]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

    class Cognito(_Quiet, BaseHTTPRequestHandler):
        def _send(self, status: int, headers: dict, body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Access-Control-Allow-Origin", cognito.site)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path != "/oauth2/authorize":
                return self._send(404, {}, b"")
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._send(*cognito.authorize(q))

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if urlsplit(self.path).path != "/oauth2/token" or \
                    self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
                return self._send(400, {}, b"")
            status, answer = cognito.token({k: v[0] for k, v in parse_qs(body).items()})
            self._send(status, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    class Api(_Quiet, BaseHTTPRequestHandler):
        def _send(self, status: int, answer) -> None:
            body = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("Access-Control-Allow-Origin", cognito.site)
            self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Local-Auth")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self):
            self._send(204, None)

        def do_POST(self):  # the local stack's sign-in (auth.mode = "local")
            api_log.append((urlsplit(self.path).path, ""))
            if urlsplit(self.path).path != "/local-auth/token":
                return self._send(404, {"error": "Not found."})
            # As the local stack: the per-start secret from the page config, and a named user.
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self.headers.get("X-Local-Auth") != LOCAL_SECRET or body.get("user") != "demo-user":
                return self._send(403, {"error": "Refused."})
            access = "local-" + secrets.token_urlsafe(16)
            cognito.tokens.add(access)
            self._send(200, {"token": access, "expiresIn": 3600})

        def do_GET(self):
            auth = self.headers.get("Authorization", "")
            api_log.append((urlsplit(self.path).path, auth))
            if auth.removeprefix("Bearer ") not in cognito.tokens:
                return self._send(401, {"message": "Unauthorized"})
            if urlsplit(self.path).path == f"/api/projects/{PROJECT}":
                return self._send(200, project_json(PROJECT))
            self._send(404, {"error": "Project not found."})

    site, idp, api = _serve(Site), _serve(Cognito), _serve(Api)
    cognito.site = _origin(site)
    holder["config"] = {
        "apiBase": _origin(api),
        "auth": {"mode": "cognito", "domain": _origin(idp), "clientId": CLIENT_ID},
    }
    yield Servers(site=_origin(site), api=_origin(api), cognito=cognito, api_log=api_log, config=holder["config"])
    for s in (site, idp, api):
        s.shutdown()
        s.server_close()


@pytest.fixture
def page(browser, servers):
    servers.cognito.reset()
    servers.api_log.clear()
    with checked_page(browser, viewport=DESKTOP, base_url=servers.site) as pg:
        yield pg


def oauth_keys(page: Page) -> list[str]:
    return page.evaluate("Object.keys(sessionStorage).filter((k) => k.startsWith('oauth-state:'))")


@pytest.mark.parametrize("path", ["/", "/index.html"])
def test_sign_in_comes_back_to_the_project(page: Page, servers, path, shots):
    target = f"{path}?project={PROJECT}"
    page.goto(target)
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_test_id("project-name")).to_have_text("Harbour cranes at dawn")
    expect(page.locator(".scene-card")).to_have_count(2)

    # Back at the path and query the person opened, without the code or the state.
    assert page.url == f"{servers.site}{target}"
    cognito = servers.cognito
    # One trip to the hosted UI, whose redirect_uri is exactly the registered site root.
    assert len(cognito.authorize_log) == 1
    sent = cognito.authorize_log[0]
    assert sent["redirect_uri"] == f"{servers.site}/"
    assert len(sent["state"]) >= 32 and PROJECT not in sent["state"]
    # One code exchange, with the same redirect_uri and the PKCE verifier, accepted.
    assert len(cognito.token_log) == 1 and not cognito.token_errors
    assert cognito.token_log[0]["redirect_uri"] == f"{servers.site}/"
    # The project named in the URL was read, with the issued token; never the demo project.
    paths = [p for p, _ in servers.api_log]
    assert f"/api/projects/{PROJECT}" in paths and "/api/projects/demo" not in paths
    assert all(auth.removeprefix("Bearer ") in cognito.tokens for _, auth in servers.api_log)
    # The state was single-use; the token is not kept in any storage.
    assert oauth_keys(page) == []
    expect(page.get_by_test_id("user-switch")).to_be_hidden()  # Cognito: no local user switcher
    stored = page.evaluate("JSON.stringify({...sessionStorage, ...localStorage})")
    assert not any(t in stored for t in cognito.tokens)
    page.screenshot(path=shots / f"cognito-return-{'root' if path == '/' else 'index'}.png")


@pytest.mark.parametrize("tamper", ["forge", "drop"])
def test_a_return_whose_state_is_not_ours_never_exchanges_its_code(page: Page, servers, tamper):
    cognito = servers.cognito
    cognito.tamper_next = tamper  # the first return carries a forged / no state
    page.goto(f"/?project={PROJECT}")
    # The page ignored that code and started a fresh sign-in of its own, which succeeded,
    # still on the way to the project this tab was opening.
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    assert page.url == f"{servers.site}/?project={PROJECT}"
    assert len(cognito.authorize_log) == 2
    first_state, second_state = (q["state"] for q in cognito.authorize_log)
    assert first_state != second_state
    # Only the second return's code was exchanged; the tampered return's never left the page.
    tampered, fresh = cognito.issued
    assert [form["code"] for form in cognito.token_log] == [fresh] and not cognito.token_errors
    assert tampered in cognito.codes
    assert "code=" not in page.url and "state=" not in page.url
    assert oauth_keys(page) == []


def test_a_forged_return_link_is_not_exchanged(page: Page, servers):
    """A link someone else made (their own code, any state) opened in this tab: no exchange."""
    page.goto(f"/?project={PROJECT}")
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    cognito = servers.cognito
    cognito.reset()
    page.goto(f"/index.html?project={PROJECT}&code=attackers-code&state={'a' * 43}")
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    assert page.url == f"{servers.site}/index.html?project={PROJECT}"
    assert all(form["code"] != "attackers-code" for form in cognito.token_log)
    assert len(cognito.authorize_log) == 1 and len(cognito.token_log) == 1


def test_a_failed_code_exchange_does_not_loop_through_the_hosted_ui(page: Page, servers):
    cognito = servers.cognito
    real_token = cognito.token

    def failing(form):
        cognito.token_log.append(form)
        return 400, {"error": "invalid_grant"}

    cognito.token = failing
    try:
        page.goto(f"/?project={PROJECT}")
        # Signed out: the page says it cannot reach the server and keeps probing (no redirect).
        expect(page.get_by_test_id("connection-notice")).to_be_visible()
        page.wait_for_timeout(4000)  # the poller probes again meanwhile
    finally:
        cognito.token = real_token
    assert len(cognito.authorize_log) == 1 and len(cognito.token_log) == 1
    assert page.url == f"{servers.site}/?project={PROJECT}"


def test_local_sign_in_is_unchanged(page: Page, servers):
    """auth.mode = "local" (scripts/dev): no hosted UI, the project from the URL at once."""
    saved = dict(servers.config)
    servers.config.clear()
    servers.config.update({"apiBase": servers.api, "auth": {
        "mode": "local", "tokenUrl": f"{servers.api}/local-auth/token", "secret": LOCAL_SECRET,
        "users": ["demo-user", "ann"]}})
    try:
        page.goto(f"/index.html?project={PROJECT}")
        expect(page.get_by_test_id("project-name")).to_have_text("Harbour cranes at dawn")
        # Local mode only: the switcher offers the config's users, the default one chosen.
        expect(page.get_by_test_id("user-switcher")).to_have_value("demo-user")
        expect(page.get_by_test_id("user-switcher").locator("option")).to_have_text(["demo-user", "ann"])
    finally:
        servers.config.clear()
        servers.config.update(saved)
    assert servers.cognito.authorize_log == [] and servers.cognito.token_log == []
    assert [p for p, _ in servers.api_log][:2] == ["/local-auth/token", f"/api/projects/{PROJECT}"]
    assert page.url == f"{servers.site}/index.html?project={PROJECT}"


def test_the_cloud_config_format_still_sends_the_page_to_https_domain(browser, tmp_path):
    """`domain` without a scheme (the deployed config) means https://<domain>/oauth2/…"""
    seen: list[str] = []

    class Site(_Quiet, SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(WEB), **kw)

        def do_GET(self):
            if urlsplit(self.path).path == "/config.json":
                body = json.dumps({"apiBase": "https://api.invalid", "auth": {
                    "mode": "cognito", "domain": "broll-1-x.auth.eu-west-1.amazoncognito.com", "clientId": "c"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

    site = _serve(Site)
    context = browser.new_context(viewport=DESKTOP)
    try:
        pg = context.new_page()
        pg.route("https://broll-1-x.auth.eu-west-1.amazoncognito.com/**",
                 lambda route: (seen.append(route.request.url), route.fulfill(status=200, body="hosted UI"))[1])
        pg.goto(f"{_origin(site)}/index.html?project={PROJECT}")
        pg.wait_for_url("https://broll-1-x.auth.eu-west-1.amazoncognito.com/**")
    finally:
        context.close()
        site.shutdown()
        site.server_close()
    q = parse_qs(urlsplit(seen[0]).query)
    assert urlsplit(seen[0]).path == "/oauth2/authorize"
    assert q["redirect_uri"] == [f"{_origin(site)}/"] and q["client_id"] == ["c"]
