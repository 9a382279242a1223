"""Stage 7 in a real browser against the real local stack (issue 3)."""

from __future__ import annotations

import re
import struct

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import CLIP_TIMEOUT, card, card_button, expect_ready, open_project

pytestmark = pytest.mark.e2e

FLAGGED = {"successFlag": 2, "errorCode": 400, "errorMessage": "Prompt flagged by content policy"}


# ---------------------------------------------------------------- read-only, on the demo project


def test_page_loads_the_demo_project(page: Page, shots):
    open_project(page, "demo")
    expect(page.get_by_role("heading", level=1)).to_have_text("Stage 7: Final Export & B-Roll Generation")
    expect(page.get_by_test_id("project-name")).to_have_text("Night trains are back in Europe")
    expect(page.locator(".scene-card")).to_have_count(3)
    for scene_id, title, label in [("hook", "Hook", "0:00–0:03"), ("main", "Main", "0:03–0:18"), ("cta", "CTA", "0:18–0:27")]:
        c = card(page, scene_id)
        expect(c.locator(".scene-title")).to_have_text(title)
        expect(c.locator(".time-range")).to_have_text(label)
        expect(c.locator(".scene-icon svg")).to_be_visible()
    expect(page.get_by_test_id("selected-scene")).to_have_text("Selected: Hook (0:00–0:03)")
    expect(page.get_by_test_id("script")).to_contain_text("Night trains are back")
    expect(page.get_by_test_id("audio-duration")).to_have_text("27.7 s")
    expect(page.get_by_test_id("audio-player")).to_have_attribute("src", re.compile(r"^http://127\.0\.0\.1:\d+/"))
    expect(page.get_by_test_id("avatar-video")).to_have_attribute("src", re.compile(r"avatar\.mp4"))
    expect(page.get_by_test_id("completed-badge")).to_be_hidden()
    page.screenshot(path=shots / "01-idle.png")


def test_select_scene_by_dropdown_and_by_timeline(page: Page):
    open_project(page, "demo")
    page.get_by_test_id("scene-select").select_option("main")
    expect(page.get_by_test_id("selected-scene")).to_have_text("Selected: Main (0:03–0:18)")
    expect(card(page, "main")).to_have_attribute("aria-current", "true")
    card(page, "cta").locator(".scene-title").click()
    expect(page.get_by_test_id("selected-scene")).to_have_text("Selected: CTA (0:18–0:27)")
    expect(page.get_by_test_id("scene-select")).to_have_value("cta")
    expect(card(page, "cta")).to_have_attribute("aria-current", "true")
    expect(card(page, "main")).to_have_attribute("aria-current", "false")


# ---------------------------------------------------------------- each on its own fresh project


def test_shot_instructions_survive_a_reload_and_feed_the_ai_prompt(page: Page, new_project, api):
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)
    page.get_by_test_id("scene-select").select_option("main")
    text = "Slow aerial over container cranes at sunrise, no faces"
    page.get_by_test_id("shot-instructions").fill(text)
    expect(page.get_by_test_id("save-indicator")).to_have_text("✓ Saved")

    page.reload()
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    page.get_by_test_id("scene-select").select_option("main")
    expect(page.get_by_test_id("shot-instructions")).to_have_value(text)
    assert api.get(f"/api/projects/{pid}").json()["scenes"][1]["shotInstructions"] == text

    prompt = page.get_by_test_id("ai-prompt")
    expect(prompt).to_have_value("")
    expect(prompt).not_to_be_editable()
    page.get_by_test_id("generate-prompt").click()
    expect(prompt).not_to_have_value("")
    assert len(prompt.input_value()) > 40
    expect(page.get_by_test_id("prompt-source")).not_to_have_text("")
    saved = api.get(f"/api/projects/{pid}").json()["scenes"][1]["aiPrompt"]
    assert saved == prompt.input_value()


def test_generate_preview_and_regenerate(page: Page, new_project, emulator, shots):
    emulator.configure(delay_seconds=4.0)  # long enough to see and photograph the running state
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)

    expect(card_button(page, "hook", "Generate B-Roll")).to_be_enabled()
    card_button(page, "hook", "Generate B-Roll").click()
    status = page.get_by_test_id("scene-status-hook")
    expect(status).to_have_text(re.compile(r"^⏳ Generating… \d{1,3} %$"))
    expect(card(page, "hook").get_by_role("button", name=re.compile(r"Generating… \d{1,3} %"))).to_be_disabled()
    expect(card_button(page, "hook", "Cancel")).to_be_visible()
    expect(page.get_by_test_id("status-line")).to_have_text(re.compile(r"⏳ Generating… \d{1,3} %"))
    expect(page.get_by_test_id("progress")).to_be_visible()
    page.wait_for_function(
        "() => /[1-9]\\d* %/.test(document.querySelector('[data-testid=scene-status-hook]').textContent)")
    page.screenshot(path=shots / "02-generating.png")

    expect_ready(page, "hook")
    expect(page.get_by_test_id("status-line")).to_have_text("✅ Ready")
    expect(page.get_by_test_id("generate-broll")).to_have_text("🔄 Regenerate")
    expect(page.get_by_test_id("preview-video")).to_have_attribute("src", re.compile(r"\.mp4\?"))
    first_url = page.get_by_test_id("preview-video").get_attribute("src")
    page.screenshot(path=shots / "03-ready.png")

    # Preview plays in the fullscreen modal; Esc closes it.
    card_button(page, "hook", "▶ Preview B-Roll").click()
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=modal-video]'); return !v.paused && v.currentTime > 0; }",
        timeout=15_000)
    box = modal.bounding_box()
    assert box["width"] >= 1280 * 0.9 and box["height"] >= 800 * 0.9, box
    page.screenshot(path=shots / "04-modal.png")
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()
    assert page.evaluate("document.querySelector('[data-testid=modal-video]').paused")

    # The close button closes it too (opened from the right panel's preview this time).
    page.get_by_test_id("preview-button").click()
    expect(modal).to_be_visible()
    page.get_by_test_id("modal-close").click()
    expect(modal).to_be_hidden()

    # Regenerate replaces the clip with a new one.
    card_button(page, "hook", "🔄 Regenerate").click()
    expect(status).to_have_text(re.compile(r"^⏳ Generating…"))
    expect_ready(page, "hook")
    expect(page.get_by_test_id("preview-video")).not_to_have_attribute("src", first_url)


def test_cancel_from_the_timeline_card(page: Page, new_project, emulator, api):
    emulator.configure(delay_seconds=30.0)
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)
    card_button(page, "cta", "Generate B-Roll").click()
    expect(page.get_by_test_id("scene-status-cta")).to_have_text(re.compile(r"^⏳ Generating…"))
    card_button(page, "cta", "Cancel").click()
    # Kie.ai has no cancel: the page says the clip sent is still paid for, and where it lands.
    expect(page.get_by_test_id("confirm-title")).to_have_text("Cancel this clip?")
    expect(page.get_by_test_id("confirm-body")).to_contain_text("still paid for")
    expect(page.get_by_test_id("confirm-body")).to_contain_text("lands in this scene’s History")
    page.get_by_test_id("confirm-ok").click()
    expect(card_button(page, "cta", "Generate B-Roll")).to_be_enabled()
    expect(card_button(page, "cta", "Cancel")).to_have_count(0)
    scene = api.get(f"/api/projects/{pid}").json()["scenes"][2]
    assert scene["status"] == "idle"


def test_kie_failure_shows_the_reason_and_retry_recovers(page: Page, new_project, emulator, shots):
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)
    page.get_by_test_id("scene-select").select_option("main")
    # A content-policy refusal is rewritten once automatically (issue 8); the rewrite refused
    # as well fails the scene.
    emulator.configure(fail_next=[FLAGGED, FLAGGED])
    card_button(page, "main", "Generate B-Roll").click()

    status = page.get_by_test_id("scene-status-main")
    expect(status).to_have_text(re.compile(r"^❌ Failed: .*content policy", re.I), timeout=CLIP_TIMEOUT)
    reason = status.text_content()
    assert "{" not in reason and "successFlag" not in reason, reason  # a sentence, not raw JSON
    expect(card_button(page, "main", "🔄 Retry")).to_be_enabled()
    expect(card_button(page, "main", "Generate B-Roll")).to_have_count(0)
    expect(page.get_by_test_id("status-line")).to_have_text(re.compile(r"^❌ Failed: "))
    expect(page.get_by_test_id("generate-broll")).to_have_text("🔄 Retry")
    page.screenshot(path=shots / "05-failed.png")

    card_button(page, "main", "🔄 Retry").click()
    expect_ready(page, "main")


def test_generate_all_takes_every_idle_scene_to_ready(page: Page, new_project, api):
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)
    page.get_by_test_id("generate-all").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("confirm-title")).to_have_text("Generate B-roll for 3 scenes?")
    expect(dialog.locator("li")).to_have_count(3)
    page.get_by_test_id("confirm-ok").click()
    expect(dialog).to_be_hidden()
    for scene_id in ("hook", "main", "cta"):
        expect_ready(page, scene_id)
    expect(page.get_by_test_id("generate-all")).to_be_disabled()
    assert {s["status"] for s in api.get(f"/api/projects/{pid}").json()["scenes"]} == {"completed"}


def test_save_screenshot_downloads_a_real_png(page: Page, shots):
    open_project(page, "demo")
    with page.expect_download() as info:
        page.get_by_test_id("save-screenshot").click()
    download = info.value
    assert download.suggested_filename == "demo-timeline.png"
    target = shots / "timeline-download.png"
    download.save_as(target)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 300 and height >= 300, (width, height)


def test_complete_project_asks_when_clips_are_missing(page: Page, new_project, api):
    project = new_project()
    pid = project["projectId"]
    open_project(page, pid)
    page.get_by_test_id("complete-project").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("confirm-title")).to_have_text("Complete without every clip?")
    expect(page.get_by_test_id("confirm-body")).to_contain_text("3 scenes have no finished B-roll clip")

    # Cancel first: nothing changes.
    page.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    assert api.get(f"/api/projects/{pid}").json()["step7"]["status"] == "in_progress"

    page.get_by_test_id("complete-project").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("completed-badge")).to_be_visible()
    # Completed: the button becomes "↩ Reopen Project" (see test_export.py for reopening).
    expect(page.get_by_test_id("complete-project")).to_be_hidden()
    expect(page.get_by_test_id("reopen-project")).to_have_text("↩ Reopen Project")
    assert api.get(f"/api/projects/{pid}").json()["step7"]["status"] == "completed"
    page.reload()
    expect(page.get_by_test_id("completed-badge")).to_be_visible()


def test_download_all_starts_a_zip_download(page: Page, new_project, api):
    project = new_project(scenes=2)
    pid = project["projectId"]
    open_project(page, pid)
    with page.expect_download(timeout=30_000) as info:
        page.get_by_test_id("download-all").click()
    download = info.value
    assert download.failure() is None
    assert ".zip" in download.url
    assert httpx.get(download.url, timeout=30).status_code == 200
    expect(page.get_by_test_id("download-all")).to_be_enabled()


def test_mobile_width_stacks_the_panels(browser, base_url, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url,
                                  is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        open_project(page, "demo")
        left = page.locator(".panel-left").bounding_box()
        right = page.locator(".panel-right").bounding_box()
        assert left and right, (left, right)
        assert right["y"] >= left["y"] + left["height"] - 1, (left, right)
        assert left["width"] <= 390 and right["width"] <= 390
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        page.screenshot(path=shots / "06-mobile.png")
        page.get_by_test_id("scene-select").scroll_into_view_if_needed()
        page.screenshot(path=shots / "07-mobile-settings.png")
    finally:
        context.close()


def test_api_error_bodies_are_shown_as_sentences(page: Page):
    open_project(page, "demo")
    message = page.evaluate("""async () => {
        const { request } = await import('/js/api.js');
        try { await request('PUT', '/api/projects/demo/broll/scenes/hook', { shotInstructions: 5 }); return 'no error'; }
        catch (err) { return `${err.status} ${err.message}`; }
    }""")
    assert message.startswith("422 ") and "shotInstructions" in message and "{" not in message, message


def test_lost_connection_shows_a_notice_and_recovers(page: Page):
    open_project(page, "demo")
    notice = page.get_by_test_id("connection-notice")
    expect(notice).to_be_hidden()
    page.route("**/api/**", lambda route: route.abort("internetdisconnected"))
    page.get_by_test_id("generate-prompt").click()
    expect(notice).to_be_visible()
    expect(page.get_by_test_id("action-error")).to_contain_text("Cannot reach the server")
    page.unroute("**/api/**")
    expect(notice).to_be_hidden(timeout=20_000)
    expect(page.get_by_test_id("generate-prompt")).to_be_enabled()
