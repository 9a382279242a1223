"""Final export in a real browser against the real local stack (issue 6): what Generate All
costs and its cap, scheduling it for later, the composite render, and reopening."""

from __future__ import annotations

import copy
import itertools
import os
import re
import uuid
from datetime import datetime, timedelta

import boto3
import pytest
from playwright.sync_api import Page, expect

from devstack.auth import DEMO_USER
from devstack.demo import AUDIO_KEY, AVATAR_KEY, DEMO_PROJECT

try:
    from broll_common.logic.media import project_folder
except ImportError:  # before owner-namespaced folders (issue 14)
    def project_folder(owner, project_id):
        return f"projects/{project_id}/"

from .conftest import open_project

pytestmark = pytest.mark.e2e

CLIP_TIMEOUT = 30_000
RENDER_TIMEOUT = 60_000
SWEEP_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

_ids = itertools.count(1)


def demo_like_project(api) -> dict:
    """A fresh copy of the demo project: the demo's voice-over and avatar video copied into
    its own folder (the demo user's, as the import requires), and the same scene timings."""
    pid = f"e2ex{next(_ids)}-{uuid.uuid4().hex[:8]}"
    body = copy.deepcopy(DEMO_PROJECT)
    body["projectId"] = pid
    body["name"] = f"Export {pid}"
    s3, bucket = boto3.client("s3"), os.environ["MEDIA_BUCKET"]
    for stage, field, key in (("stage4", "audioKey", AUDIO_KEY), ("stage5", "avatarVideoKey", AVATAR_KEY)):
        own = f"{project_folder(DEMO_USER, pid)}{key.rsplit('/', 1)[-1]}"
        s3.copy_object(Bucket=bucket, Key=own, CopySource={"Bucket": bucket, "Key": key})
        body[stage][field] = own
    response = api.post("/api/projects", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def card_button(page: Page, scene_id: str, name: str):
    return page.get_by_test_id(f"scene-card-{scene_id}").get_by_role("button", name=name, exact=True)


def start_render(page: Page) -> None:
    """Render Video opens the render dialog (issue 15); its Render saves the settings and starts."""
    page.get_by_test_id("render-video").click()
    expect(page.get_by_test_id("render-dialog")).to_be_visible()
    page.get_by_test_id("render-start").click()
    expect(page.get_by_test_id("render-dialog")).to_be_hidden()


def run_sweep(stack) -> None:
    """The scheduled sweep, now (the test stack's own timer is an hour)."""
    sweeper = next(f for f in stack.template.functions.values() if f.schedules)
    stack.functions.invoke(sweeper.logical_id, SWEEP_EVENT)


def open_generate_all(page: Page):
    page.get_by_test_id("generate-all").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    return dialog


def assert_bar_fits(page: Page, width: int) -> None:
    """Nothing in the bottom bar runs off the screen or under another control, and the page's
    last content can be scrolled clear of the bar."""
    info = page.evaluate("""() => {
        const bar = document.querySelector('.bottom-bar');
        const els = [...bar.querySelectorAll('button, .status-chip, .render-status')]
            .filter((e) => e.offsetParent !== null);
        const boxes = els.map((e) => { const r = e.getBoundingClientRect();
            return { id: e.dataset.testid || e.className, l: r.left, r: r.right, t: r.top, b: r.bottom }; });
        window.scrollTo(0, document.documentElement.scrollHeight);
        const main = document.querySelector('.workspace').getBoundingClientRect();
        return { boxes, barTop: bar.getBoundingClientRect().top, mainBottom: main.bottom,
                 barScroll: bar.scrollWidth - bar.clientWidth,
                 pageScroll: document.documentElement.scrollWidth - document.documentElement.clientWidth };
    }""")
    assert info["barScroll"] <= 0 and info["pageScroll"] <= 0, info
    buttons = [b for b in info["boxes"] if b["id"] in {
        "generate-all", "render-video", "save-screenshot", "complete-project", "reopen-project", "download-all"}]
    assert len(buttons) == 5, buttons
    for b in info["boxes"]:
        assert b["l"] >= 0 and b["r"] <= width, b
    for i, a in enumerate(buttons):
        for b in buttons[i + 1:]:
            overlap = min(a["r"], b["r"]) - max(a["l"], b["l"]) > 1 and min(a["b"], b["b"]) - max(a["t"], b["t"]) > 1
            assert not overlap, (a, b)
    assert info["mainBottom"] <= info["barTop"] + 1, info


# ---------------------------------------------------------------- Generate All: cost and cap


def test_generate_all_shows_the_cost_and_a_cap_of_one_starts_one_scene(page: Page, new_project, api, shots):
    project = new_project()
    pid = project["projectId"]
    est = api.get(f"/api/projects/{pid}/broll/estimate").json()
    assert est["clips"] == 3 and est["remainingCredits"] is not None, est
    each, left = est["creditsPerClip"], est["remainingCredits"]
    open_project(page, pid)
    open_generate_all(page)

    estimate = page.get_by_test_id("generate-all-estimate")
    # The credits left as their source says them (the daily quota, or the key's balance).
    expect(estimate).to_have_text(re.compile(
        rf"^3 scenes · 3 clips · about {3 * each:,.0f} credits \({each:,.0f} each\).* · .*{left:,.0f} credits left"))
    expect(page.get_by_test_id("confirm-ok")).to_have_text("Start 3 clips")
    expect(page.get_by_test_id("later-fields")).to_be_hidden()

    page.get_by_test_id("generate-all-max").fill("1")
    expect(estimate).to_have_text(re.compile(
        rf"^1 of 3 scenes · 1 of 3 clips · about {each:,.0f} credits \({each:,.0f} each\).* · .*{left:,.0f} credits left"))
    expect(page.get_by_test_id("confirm-ok")).to_have_text("Start 1 of 3 clips")
    page.screenshot(path=shots / "10-generate-all-cost.png")

    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_hidden()
    expect(page.get_by_test_id("toast").filter(
        has_text="Started 1 scene (1 clip) · 2 scenes held back by the cap")).to_be_visible()
    expect(page.get_by_test_id("scene-status-hook")).to_have_text("✅ Ready", timeout=CLIP_TIMEOUT)
    expect(card_button(page, "main", "Generate B-Roll")).to_be_enabled()
    expect(card_button(page, "cta", "Generate B-Roll")).to_be_enabled()
    statuses = [s["status"] for s in api.get(f"/api/projects/{pid}").json()["scenes"]]
    assert statuses == ["completed", "idle", "idle"], statuses


def test_generate_all_shows_the_note_when_credits_are_unknown(page: Page, new_project):
    project = new_project()
    pid = project["projectId"]
    note = "Kie.ai did not say how many credits are left: the service is busy."
    page.route(f"**/api/projects/{pid}/broll/estimate", lambda route: route.fulfill(json={
        "clips": 3, "creditsPerClip": 80, "estimatedCredits": 240, "remainingCredits": None, "note": note}))
    open_project(page, pid)
    open_generate_all(page)
    expect(page.get_by_test_id("generate-all-estimate")).to_have_text(
        f"3 scenes · 3 clips · about 240 credits (80 each) · {note}")
    page.get_by_test_id("generate-all-max").fill("0")
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("generate-all-error")).to_contain_text("whole number of clips from 1 to 60")
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_hidden()


# ---------------------------------------------------------------- Generate All later


def test_schedule_when_credits_allow_shows_the_note_and_cancel_removes_it(
        page: Page, new_project, api, emulator, stack, shots):
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)
    summary = page.get_by_test_id("schedule-summary")
    expect(summary).to_be_hidden()

    open_generate_all(page)
    page.get_by_test_id("generate-all-later").check()
    expect(page.get_by_test_id("later-fields")).to_be_visible()
    expect(page.get_by_test_id("confirm-ok")).to_have_text("⏰ Schedule")
    page.get_by_test_id("confirm-ok").click()  # neither a time nor "when credits allow" yet
    expect(page.get_by_test_id("generate-all-error")).to_have_text("Give a time, tick “when credits allow”, or both.")
    page.get_by_test_id("schedule-when-credits").check()
    page.screenshot(path=shots / "11-generate-all-later.png")
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_hidden()

    expect(summary).to_be_visible()
    expect(page.get_by_test_id("schedule-text")).to_have_text("Generate All waits until credits allow")
    schedule = api.get(f"/api/projects/{pid}").json()["schedule"]
    assert schedule["whenCreditsAllow"] is True and schedule["at"] is None, schedule
    assert [s["status"] for s in api.get(f"/api/projects/{pid}").json()["scenes"]] == ["idle"] * 3

    # The sweep finds too few credits: the batch waits and says why (on the studio's key, without
    # showing the service account's balance).
    emulator.configure(credits=50)
    run_sweep(stack)
    page.reload()
    expect(page.get_by_test_id("schedule-note")).to_have_text(
        "Waiting for credits: this batch needs 240, the service's Kie.ai credits do not cover it yet.")
    page.screenshot(path=shots / "12-schedule-waiting.png")

    page.get_by_test_id("cancel-schedule").click()
    expect(summary).to_be_hidden()
    assert api.get(f"/api/projects/{pid}").json()["schedule"] is None
    page.reload()
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    expect(summary).to_be_hidden()


def test_schedule_at_a_time_with_a_cap(page: Page, new_project, api):
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)
    open_generate_all(page)
    page.get_by_test_id("generate-all-later").check()
    when = (datetime.now() + timedelta(days=1)).replace(hour=14, minute=5, second=0, microsecond=0)
    page.get_by_test_id("schedule-at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_test_id("generate-all-max").fill("2")
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("schedule-text")).to_have_text(
        re.compile(r"^Generate All scheduled for tomorrow 2:05\s?PM · at most 2 clips$"))
    schedule = api.get(f"/api/projects/{pid}").json()["schedule"]
    assert datetime.fromisoformat(schedule["at"]) == when.astimezone(), schedule
    assert schedule["maxClips"] == 2 and schedule["whenCreditsAllow"] is False, schedule
    page.get_by_test_id("cancel-schedule").click()
    expect(page.get_by_test_id("schedule-summary")).to_be_hidden()
    assert api.get(f"/api/projects/{pid}").json()["schedule"] is None


# ---------------------------------------------------------------- the composite render


def test_render_reaches_composite_ready_and_plays_the_avatars_length(page: Page, api, stack, shots):
    project = demo_like_project(api)
    pid = project["projectId"]
    open_project(page, pid)
    status = page.get_by_test_id("render-status")
    expect(status).to_be_hidden()

    # One clip first, so the composite really cuts something in.
    card_button(page, "hook", "Generate B-Roll").click()
    expect(page.get_by_test_id("scene-status-hook")).to_have_text("✅ Ready", timeout=CLIP_TIMEOUT)

    button = page.get_by_test_id("render-video")
    expect(button).to_be_enabled()
    start_render(page)
    expect(status).to_contain_text(re.compile(r"Rendering… \d{1,3} %"))
    expect(page.get_by_test_id("render-progress")).to_be_visible()
    expect(button).to_be_disabled()
    page.screenshot(path=shots / "13-rendering.png")

    expect(status).to_contain_text("✅ Composite ready", timeout=RENDER_TIMEOUT)
    expect(page.get_by_test_id("render-progress")).to_be_hidden()
    expect(button).to_have_text("🎞 Render Again")
    assert api.get(f"/api/projects/{pid}/render").json()["render"]["status"] == "completed"
    page.screenshot(path=shots / "14-composite-ready.png")

    avatar = page.evaluate("""() => new Promise((resolve) => {
        const v = document.querySelector('[data-testid=avatar-video]');
        if (v.readyState >= 1) resolve(v.duration);
        else { v.addEventListener('loadedmetadata', () => resolve(v.duration), { once: true }); v.load(); }
    })""")
    assert avatar > 20, avatar

    page.get_by_test_id("render-play").click()
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    expect(page.get_by_test_id("modal-title")).to_contain_text("Composite")
    expect(page.get_by_test_id("modal-video")).to_have_attribute("src", re.compile(r"/renders/.+\.mp4"))
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=modal-video]'); return !v.paused && v.currentTime > 0; }",
        timeout=15_000)
    duration = page.evaluate("document.querySelector('[data-testid=modal-video]').duration")
    assert abs(duration - avatar) < 0.5, (duration, avatar)
    page.screenshot(path=shots / "15-composite-modal.png")
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()

    # A new clip makes the composite out of date.
    card_button(page, "main", "Generate B-Roll").click()
    expect(page.get_by_test_id("scene-status-main")).to_have_text("✅ Ready", timeout=CLIP_TIMEOUT)
    expect(status).to_contain_text("⚠ Out of date — render again")
    expect(page.get_by_test_id("render-play")).to_be_visible()
    page.screenshot(path=shots / "16-composite-out-of-date.png")
    start_render(page)
    expect(status).to_contain_text("✅ Composite ready", timeout=RENDER_TIMEOUT)


def test_a_failed_render_shows_the_reason_and_retry_renders_again(page: Page, api, stack):
    project = demo_like_project(api)
    pid = project["projectId"]
    reason = "The avatar video could not be read, so nothing was rendered."

    def failed(route):
        response = route.fetch()
        body = response.json()
        body["render"] = {"status": "failed", "progress": 0, "error": reason, "videoUrl": None,
                          "outOfDate": False, "startedAt": None, "completedAt": None}
        route.fulfill(response=response, json=body)

    page.route(f"**/api/projects/{pid}", failed)
    open_project(page, pid)
    status = page.get_by_test_id("render-status")
    expect(status).to_contain_text(f"❌ {reason}")
    retry = page.get_by_test_id("render-retry")
    expect(retry).to_be_visible()
    page.unroute(f"**/api/projects/{pid}")
    retry.click()
    expect(status).to_contain_text("✅ Composite ready", timeout=RENDER_TIMEOUT)
    expect(retry).to_be_hidden()


def test_render_is_disabled_without_an_avatar_video(page: Page, new_project, api):
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)
    button = page.get_by_test_id("render-video")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", re.compile("no avatar video"))
    expect(page.get_by_test_id("render-status")).to_be_hidden()
    assert api.post(f"/api/projects/{pid}/render", json={}).status_code == 409


# ---------------------------------------------------------------- reopen


def test_reopen_flips_the_button_back(page: Page, new_project, api):
    project = new_project()
    pid = project["projectId"]
    assert api.post(f"/api/projects/{pid}/complete", json={}).status_code == 200
    open_project(page, pid)
    expect(page.get_by_test_id("completed-badge")).to_be_visible()
    expect(page.get_by_test_id("complete-project")).to_be_hidden()
    reopen = page.get_by_test_id("reopen-project")
    expect(reopen).to_have_text("↩ Reopen Project")
    reopen.click()
    expect(page.get_by_test_id("completed-badge")).to_be_hidden()
    expect(reopen).to_be_hidden()
    expect(page.get_by_test_id("complete-project")).to_have_text("✅ Complete Project")
    expect(page.get_by_test_id("complete-project")).to_be_enabled()
    step7 = api.get(f"/api/projects/{pid}").json()["step7"]
    assert step7["status"] == "in_progress" and step7["reopenedAt"], step7


# ---------------------------------------------------------------- layout


@pytest.mark.parametrize("width,height,name", [(1280, 800, "desktop"), (1024, 768, "laptop"), (390, 844, "mobile")])
def test_the_bottom_bar_fits_with_a_schedule_and_a_render(browser, base_url, api, stack, shots, width, height, name):
    project = demo_like_project(api)
    pid = project["projectId"]
    assert api.post(f"/api/projects/{pid}/render", json={}).status_code == 202
    assert api.put(f"/api/projects/{pid}/broll/schedule", json={"whenCreditsAllow": True}).status_code == 200
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=base_url,
                                  is_mobile=width < 600, has_touch=width < 600)
    try:
        page = context.new_page()
        open_project(page, pid)
        expect(page.get_by_test_id("render-status")).to_contain_text("Composite ready", timeout=RENDER_TIMEOUT)
        expect(page.get_by_test_id("schedule-summary")).to_be_visible()
        assert_bar_fits(page, width)
        page.screenshot(path=shots / f"17-bottom-bar-{name}.png")
    finally:
        context.close()
        api.delete(f"/api/projects/{pid}/broll/schedule")
