"""End-to-end fixtures: the local stack (once per session, free ports, fast Kie emulator),
headless Debian Chromium through Playwright, and freshly imported projects for tests that
change state."""

from __future__ import annotations

import itertools
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from devstack.auth import DEMO_USER
from devstack.stack import LocalStack, StackOptions

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 800}
KIE_DELAY_S = 2.0

_ids = itertools.count(1)

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def stack():
    # The suite's demo user makes far more clips in a day than one person's quota allows (as in
    # tests/integration/conftest.py); the page's quota wording is tested with the answers routed.
    os.environ.setdefault("DAILY_CREDIT_QUOTA", "1000000")
    local = LocalStack(
        StackOptions(api_port=0, moto_port=0, kie_port=0, kie_delay_s=KIE_DELAY_S, sweep_every_s=3600,
                     poll_first_wait_s=1.0, poll_max_wait_s=2.0)
    ).start()
    yield local
    local.stop()


@pytest.fixture(scope="session")
def base_url(stack) -> str:
    return stack.api_url


@pytest.fixture
def api(stack):
    # Signed in as the demo user, the same user the page signs in automatically.
    headers = {"Authorization": f"Bearer {stack.issuer.mint(DEMO_USER)}"}
    with httpx.Client(base_url=stack.api_url, timeout=30, headers=headers) as client:
        yield client


@pytest.fixture
def emulator(stack):
    """The Kie emulator; whatever a test injects is undone afterwards."""
    yield stack.emulator
    stack.emulator.reset()
    stack.emulator.configure(delay_seconds=KIE_DELAY_S)


def project_body(project_id: str, scenes: int = 3) -> dict:
    titles = ["Hook", "Main", "CTA", "Extra"][:scenes]
    types = ["hook", "main", "cta", "other"][:scenes]
    return {
        "projectId": project_id,
        "name": f"E2E {project_id}",
        "stage3": {
            "editedScenes": [
                {"sceneTitle": t, "sceneType": k, "text": f"{t} narration about harbour cranes at dawn."}
                for t, k in zip(titles, types)
            ]
        },
        "stage4": {"audioDurationSec": 24.0},
    }


@pytest.fixture
def new_project(api):
    """Factory: imports a fresh project through POST /api/projects and returns it."""

    def make(scenes: int = 3) -> dict:
        project_id = f"e2e{next(_ids)}-{uuid.uuid4().hex[:8]}"
        response = api.post("/api/projects", json=project_body(project_id, scenes))
        assert response.status_code == 201, response.text
        return response.json()

    return make


@pytest.fixture(scope="session")
def browser() -> Browser:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def checked_page(browser, **context_options):
    """A page in a fresh context that fails the test on any uncaught error it raised."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"uncaught errors on the page: {errors}"


@pytest.fixture
def page(browser, base_url) -> Page:
    with checked_page(browser, viewport=DESKTOP, accept_downloads=True, base_url=base_url) as pg:
        yield pg


@pytest.fixture(scope="session")
def shots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def open_project(page: Page, project_id: str = "demo") -> Page:
    page.goto(f"/?project={project_id}")
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    return page


def tid(page: Page, testid: str):
    return page.get_by_test_id(testid)


CLIP_TIMEOUT = 30_000  # ms: a clip (emulator delay 2 s + polling) must be ready well within this


def card(page: Page, scene_id: str):
    return page.get_by_test_id(f"scene-card-{scene_id}")


def card_button(page: Page, scene_id: str, name: str):
    return card(page, scene_id).get_by_role("button", name=name, exact=True)


def expect_ready(page: Page, scene_id: str) -> None:
    expect(page.get_by_test_id(f"scene-status-{scene_id}")).to_have_text("✅ Ready", timeout=CLIP_TIMEOUT)
    expect(card_button(page, scene_id, "▶ Preview B-Roll")).to_be_enabled()
    expect(card_button(page, scene_id, "🔄 Regenerate")).to_be_visible()
