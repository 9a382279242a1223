"""Issue 16 on the page, in headless Chromium against the local stack: the Generate All dialog
counts scenes and clips in one wording, says before Start what the credits left cover, a quota's
429 is its sentence, a scene waiting for Kie.ai says so in the person's local time, and the
project's spend shows, at desktop and phone width."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from devstack.auth import DEMO_USER

from .conftest import DESKTOP, checked_page, open_project, tid

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812}
ZONE = "America/New_York"  # five hours from UTC in December: a UTC time on the page would show
SPEND = {"clips": 3, "estimatedCredits": 240, "chargedCredits": 232, "chargedClips": 3}
MIDNIGHT_UTC = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
QUOTA = {"dailyCredits": 2000, "usedToday": 240, "left": 1760, "resetsAt": MIDNIGHT_UTC.isoformat()}


@pytest.fixture(scope="module")
def demo_copy(stack) -> str:
    """The demo with its hook's clip made: Main (two sub-shots) and CTA are left, 2 scenes, 3 clips."""
    headers = {"Authorization": f"Bearer {stack.issuer.mint(DEMO_USER)}"}
    with httpx.Client(base_url=stack.api_url, timeout=30, headers=headers) as api:
        copy = api.post("/api/projects/demo/duplicate", json={"name": "Spend demo"})
        assert copy.status_code == 201, copy.text
        pid = copy.json()["projectId"]
        started = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "hook"})
        assert started.status_code in (200, 202), started.text
        deadline = time.monotonic() + 30
        while api.get(f"/api/projects/{pid}").json()["scenes"][0]["status"] != "completed":
            assert time.monotonic() < deadline, "the hook's clip did not finish"
            time.sleep(0.5)
    return pid


@pytest.fixture
def local_page(browser, base_url):
    """A desktop page in New York's time zone with a 24-hour clock."""
    with checked_page(browser, viewport=DESKTOP, base_url=base_url, timezone_id=ZONE, locale="en-GB") as pg:
        yield pg


def open_generate_all(page: Page):
    tid(page, "generate-all").click()
    expect(tid(page, "confirm-dialog")).to_be_visible()
    return tid(page, "generate-all-estimate")


def close_dialog(page: Page) -> None:
    tid(page, "confirm-cancel").click()
    expect(tid(page, "confirm-dialog")).to_be_hidden()


def routed_estimate(page: Page, pid: str, **changes) -> None:
    """The real estimate with `changes` (fields the ledger fills: what is left and what it covers)."""
    def answer(route: Route) -> None:
        real = route.fetch().json()
        route.fulfill(json=real | changes)

    page.unroute(f"**/api/projects/{pid}/broll/estimate")
    page.route(f"**/api/projects/{pid}/broll/estimate", answer)


def test_generate_all_counts_scenes_and_clips_in_one_wording(local_page: Page, demo_copy, api, shots):
    page = local_page
    est = api.get(f"/api/projects/{demo_copy}/broll/estimate").json()
    # The acceptance's demo: two scenes left, Main's two sub-shots make it three clips, 240 credits.
    assert (est["clips"], est["estimatedCredits"], est["creditsPerClip"]) == (3, 240, 80), est
    open_project(page, demo_copy)
    estimate = open_generate_all(page)
    expect(tid(page, "confirm-title")).to_have_text("Generate B-roll for 2 scenes?")
    expect(tid(page, "confirm-body").locator("li")).to_have_text([re.compile(r"^Main \(.*\) · 2 clips$"),
                                                                  re.compile(r"^CTA \([^·]*\)$")])
    expect(estimate).to_have_text(re.compile(r"^2 scenes · 3 clips · about 240 credits \(80 each\)"))
    expect(tid(page, "confirm-ok")).to_have_text("Start 3 clips")
    expect(tid(page, "generate-all-max")).to_have_attribute("placeholder", "3")
    expect(page.locator(".batch-form label.inline-field").first).to_contain_text("clips (a scene's clips start together)")
    page.screenshot(path=shots / "60-generate-all-scenes-and-clips.png")

    # The cap counts clips and takes whole scenes in timeline order: 2 is Main's two.
    tid(page, "generate-all-max").fill("2")
    expect(estimate).to_have_text(re.compile(r"^1 of 2 scenes · 2 of 3 clips · about 160 credits \(80 each\)"))
    expect(tid(page, "confirm-ok")).to_have_text("Start 2 of 3 clips")
    expect(tid(page, "confirm-ok")).to_be_enabled()
    # 1 fits no scene (Main needs two): said before Start, which starts nothing.
    tid(page, "generate-all-max").fill("1")
    expect(estimate).to_have_text(re.compile(r"^0 of 2 scenes · 0 of 3 clips · about 0 credits"))
    expect(tid(page, "generate-all-warning")).to_have_text("The first scene needs 2 clips: raise “Start at most” to start it.")
    expect(tid(page, "confirm-ok")).to_be_disabled()
    tid(page, "generate-all-max").fill("")
    expect(tid(page, "confirm-ok")).to_have_text("Start 3 clips")
    close_dialog(page)


def test_the_dialog_says_before_start_what_the_quota_left_covers(local_page: Page, demo_copy, shots):
    page = local_page
    routed_estimate(page, demo_copy, price={"configured": 80, "measured": 77.5, "samples": 4, "used": 80},
                    remainingCredits=170, remainingSource="daily_quota", startableClips=2, startableScenes=1)
    open_project(page, demo_copy)
    estimate = open_generate_all(page)
    expect(estimate).to_have_text("1 of 2 scenes · 2 of 3 clips · about 160 credits (80 each) "
                                  "(measured: 77.5 per clip over 4 clips) · your daily quota: 170 credits left")
    expect(tid(page, "generate-all-warning")).to_have_text(
        "Only 2 of 3 clips fit in what is left; Start will begin those 2.")
    expect(tid(page, "confirm-ok")).to_have_text("Start 2 of 3 clips")
    page.screenshot(path=shots / "61-generate-all-quota-short.png")
    close_dialog(page)

    # An own key's balance is named as such; nothing affordable disables Start, Later… still can.
    routed_estimate(page, demo_copy, remainingCredits=40, remainingSource="kie_balance",
                    startableClips=0, startableScenes=0)
    estimate = open_generate_all(page)
    expect(estimate).to_contain_text("· 40 credits left on your Kie.ai key")
    expect(tid(page, "generate-all-warning")).to_have_text(
        "None of the 3 clips fit in what is left (40 credits left on your Kie.ai key): "
        "choose Later… → when credits allow, or try again tomorrow.")
    expect(tid(page, "confirm-ok")).to_be_disabled()
    tid(page, "generate-all-later").check()
    expect(tid(page, "confirm-ok")).to_have_text("⏰ Schedule")
    expect(tid(page, "confirm-ok")).to_be_enabled()
    close_dialog(page)


def test_a_quota_reached_shows_its_sentence(local_page: Page, demo_copy, api):
    page = local_page
    sentence = ("You have used 1,960 of your 2,000 credits for today; this needs 160 more. "
                "It resets in 5 hours, or ask an admin to raise your quota.")
    page.route(f"**/api/projects/{demo_copy}/broll/generate-all",  # the API's error body (broll_common/api.py)
               lambda route: route.fulfill(status=429, json={"error": sentence}))
    open_project(page, demo_copy)
    open_generate_all(page)
    tid(page, "confirm-ok").click()
    # The sentence as it is, not behind "Could not start all clips:".
    expect(tid(page, "toast").locator(".toast-text")).to_have_text(sentence)
    assert [s["status"] for s in api.get(f"/api/projects/{demo_copy}").json()["scenes"]][1:] == ["idle", "idle"]


def waiting_project(page: Page, pid: str, since: float) -> None:
    """The project as the API shows it while Kie.ai is down (Main) and out of slots (CTA), with its spend."""
    def answer(route: Route) -> None:
        project = route.fetch().json()
        for scene, reason in zip(project["scenes"][1:], ("rate_limited", "kie_down")):
            scene.update(status="generating", queued=True, taskId=None, error=None, progress=0,
                         waiting={"reason": reason, "since": since, "nextTryAt": since + 60},
                         statusNote="Waiting for Kie.ai; it starts by itself, nothing charged yet.")
        route.fulfill(json=project | {"spend": SPEND, "quota": QUOTA})

    page.route(f"**/api/projects/{pid}", answer)


def expected_local(since: float) -> re.Pattern:
    local = datetime.fromtimestamp(since, ZoneInfo(ZONE))
    return re.compile(rf"\(down since 0?{local.hour}:{local.minute:02d}\)")


def test_a_waiting_scene_says_so_in_local_time_and_the_spend_shows(local_page: Page, demo_copy, shots):
    page = local_page
    since = time.time() - 600
    waiting_project(page, demo_copy, since)
    open_project(page, demo_copy)
    cta = tid(page, "scene-status-cta")
    expect(cta).to_have_text(re.compile(
        r"^⏳ Waiting for Kie\.ai \(down since \d{1,2}:\d\d\); starts by itself, nothing charged yet\.$"))
    expect(cta).to_have_text(expected_local(since))
    utc = datetime.fromtimestamp(since, timezone.utc)
    assert f"{utc.hour}:{utc.minute:02d}" not in cta.text_content()
    expect(tid(page, "scene-status-main")).to_have_text(
        "⏳ Waiting for a free Kie.ai slot; starts by itself, nothing charged yet.")
    expect(tid(page, "scene-action-cta")).to_have_text("⏳ Waiting for Kie.ai")

    tid(page, "scene-select").select_option("cta")
    expect(tid(page, "status-line")).to_have_text(expected_local(since))
    expect(tid(page, "spend-line")).to_have_text(re.compile(
        r"^Spent: about 240 credits estimated · 232 charged \(3 clips\) · "
        r"Daily quota: 1,760 of 2,000 credits left · resets (tomorrow )?19:00$"))  # UTC midnight in New York
    assert "UTC" not in page.locator("body").inner_text()
    page.screenshot(path=shots / "62-waiting-and-spend-desktop.png")


def test_phone_width_stays_clean(browser, base_url, demo_copy, shots):
    since = time.time() - 600
    with checked_page(browser, viewport=PHONE, base_url=base_url, timezone_id=ZONE, locale="en-GB") as page:
        waiting_project(page, demo_copy, since)
        open_project(page, demo_copy)
        expect(tid(page, "scene-status-cta")).to_have_text(expected_local(since))
        expect(tid(page, "spend-line")).to_be_visible()
        overflow = page.evaluate("""() => {
            const root = document.documentElement;
            const wide = [...document.querySelectorAll('.spend-line, .scene-card, .scene-status')]
                .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1).map((e) => e.className);
            return { page: root.scrollWidth - root.clientWidth, wide };
        }""")
        assert overflow == {"page": 0, "wide": []}, overflow
        page.screenshot(path=shots / "63-spend-phone.png")
        tid(page, "scene-card-cta").scroll_into_view_if_needed()
        page.screenshot(path=shots / "63-waiting-phone.png")

        page.unroute(f"**/api/projects/{demo_copy}")
        page.reload()
        expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
        open_generate_all(page)
        expect(tid(page, "confirm-title")).to_have_text("Generate B-roll for 2 scenes?")
        expect(tid(page, "generate-all-estimate")).to_have_text(re.compile(r"^2 scenes · 3 clips · about 240 credits"))
        box = tid(page, "confirm-dialog").locator(".confirm-card").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        page.screenshot(path=shots / "64-generate-all-phone.png")
        close_dialog(page)


def test_the_spend_shows_from_the_api(local_page: Page, demo_copy, api):
    # The hook's clip is this project's spend as the API reports it.
    spend = api.get(f"/api/projects/{demo_copy}").json()["spend"]
    assert spend["clips"], f"the API reports no spend for this project: {json.dumps(spend)}"
    open_project(local_page, demo_copy)
    expect(tid(local_page, "spend-line")).to_have_text(re.compile(r"^Spent: about 80 credits estimated"))


def test_cancel_says_a_sent_clip_is_still_paid_for_and_a_waiting_one_costs_nothing(local_page: Page, demo_copy, shots):
    page = local_page
    since = time.time() - 600
    waiting_project(page, demo_copy, since)
    cancelled = []

    def cancel(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        cancelled.append(body["sceneId"])
        route.fulfill(json={"sceneId": body["sceneId"], "status": "idle", "waiting": None, "taskId": None})

    page.route(f"**/api/projects/{demo_copy}/broll/cancel", cancel)
    open_project(page, demo_copy)
    # Nothing was sent for a waiting scene: it is cancelled at once, and the page says it cost nothing.
    tid(page, "scene-action2-cta").click()
    expect(tid(page, "toast").locator(".toast-text")).to_have_text("Cancelled before anything was sent: nothing charged.")
    expect(tid(page, "confirm-dialog")).to_be_hidden()
    assert cancelled == ["cta"]

    # A clip sent to Kie.ai: the page asks first, saying it is still paid for and where it lands.
    page.unroute(f"**/api/projects/{demo_copy}")

    def sent(route: Route) -> None:
        project = route.fetch().json()
        project["scenes"][2].update(status="generating", taskId="veo_task_sent", progress=40, waiting=None)
        route.fulfill(json=project)

    page.route(f"**/api/projects/{demo_copy}", sent)
    page.reload()
    tid(page, "scene-action2-cta").click()
    expect(tid(page, "confirm-title")).to_have_text("Cancel this clip?")
    expect(tid(page, "confirm-body")).to_have_text(
        "Kie.ai has no cancel: the clip already sent goes on there and is still paid for."
        "If Kie.ai finishes it, it lands in this scene’s History, where you can still choose it.")
    expect(tid(page, "confirm-ok")).to_have_text("Cancel the clip")
    page.screenshot(path=shots / "65-cancel-still-paid.png")
    tid(page, "confirm-cancel").click()  # "Keep generating": nothing is cancelled
    expect(tid(page, "confirm-dialog")).to_be_hidden()
    assert cancelled == ["cta"]
