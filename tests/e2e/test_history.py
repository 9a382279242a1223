"""Issue 8 in a real browser: a scene's history and choosing an earlier clip, the project's
style lock, prompt provenance, the automatic rewrite after a content-policy refusal, and
the AI-generated badge."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import CLIP_TIMEOUT, card_button, expect_ready, open_project

pytestmark = pytest.mark.e2e

TASK_IN_SRC = re.compile(r"/broll/(?:[^/]+)/([^/?#]+)\.mp4")
MOBILE = {"width": 390, "height": 844}


def preview_task(page: Page) -> str:
    src = page.get_by_test_id("preview-video").get_attribute("src") or ""
    match = TASK_IN_SRC.search(src)
    assert match, src
    return match.group(1)


def open_history(page: Page):
    history = page.get_by_test_id("history")
    if history.get_attribute("open") is None:
        history.locator("summary").click()
    expect(history).to_have_attribute("open", "")
    return history


def clip_entries(page: Page):
    return page.get_by_test_id("history-list").locator('[data-testid="history-entry"][data-kind="clip"]')


def test_history_lists_both_clips_and_an_earlier_one_comes_back_for_free(
        page: Page, browser, base_url, new_project, emulator, api, shots):
    pid = new_project()["projectId"]
    open_project(page, pid)

    card_button(page, "hook", "Generate B-Roll").click()
    expect_ready(page, "hook")
    expect(page.get_by_test_id("preview-video")).to_have_attribute("src", TASK_IN_SRC)
    first_task = preview_task(page)

    card_button(page, "hook", "🔄 Regenerate").click()
    expect(page.get_by_test_id("scene-status-hook")).to_have_text(re.compile(r"^⏳ Generating…"))
    expect_ready(page, "hook")
    expect(page.get_by_test_id("preview-video")).not_to_have_attribute("src", re.compile(re.escape(first_task)))
    second_task = preview_task(page)
    assert second_task != first_task

    open_history(page)
    clips = clip_entries(page)
    expect(clips).to_have_count(2)
    newest, older = clips.nth(0), clips.nth(1)
    expect(newest.get_by_test_id("history-current")).to_have_text("✓ Current")
    expect(newest.get_by_test_id("history-use")).to_have_count(0)
    expect(older.get_by_test_id("history-current")).to_have_count(0)
    expect(older.get_by_test_id("history-use")).to_be_enabled()
    expect(older.locator("video")).to_have_attribute("src", re.compile(re.escape(first_task)))
    expect(page.get_by_test_id("history-count")).to_contain_text("2 clips")
    # Who wrote each prompt, and the prompt itself.
    expect(older.locator(".h-who")).to_have_text("Local composer")
    expect(older.get_by_test_id("history-prompt")).not_to_have_text("")
    expect(page.get_by_test_id("history-list").locator('[data-kind="generation"]')).to_have_count(2)
    page.get_by_test_id("history").scroll_into_view_if_needed()
    page.screenshot(path=shots / "20-history.png")

    # Compare: each clip plays in the fullscreen modal, one after the other, marked AI-generated.
    older.get_by_test_id("history-play").click()
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    expect(page.get_by_test_id("modal-video")).to_have_attribute("src", re.compile(re.escape(first_task)))
    expect(page.get_by_test_id("modal-title")).to_contain_text("clip of")
    expect(page.get_by_test_id("modal-ai-badge")).to_be_visible()
    page.get_by_test_id("modal-close").click()
    expect(modal).to_be_hidden()
    newest.get_by_test_id("history-play").click()
    expect(page.get_by_test_id("modal-video")).to_have_attribute("src", re.compile(re.escape(second_task)))
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()

    # "Use this clip" on the older one: current again, no new Kie task.
    tasks_before = emulator.stats()["tasks_created"]
    older.get_by_test_id("history-use").click()
    expect(page.get_by_test_id("preview-video")).to_have_attribute("src", re.compile(re.escape(first_task)))
    expect(page.get_by_test_id("scene-status-hook")).to_have_text("✅ Ready")
    expect(page.get_by_test_id("history-list").locator('[data-kind="selected"]')).to_have_count(1)
    clips = clip_entries(page)
    expect(clips).to_have_count(2)
    expect(clips.nth(1).get_by_test_id("history-current")).to_be_visible()
    expect(clips.nth(0).get_by_test_id("history-use")).to_be_enabled()
    assert emulator.stats()["tasks_created"] == tasks_before
    scene = api.get(f"/api/projects/{pid}").json()["scenes"][0]
    assert scene["taskId"] == first_task and scene["status"] == "completed", scene
    page.screenshot(path=shots / "21-history-earlier-clip.png")

    # While the scene generates, no clip can be chosen.
    emulator.configure(delay_seconds=6.0)
    card_button(page, "hook", "🔄 Regenerate").click()
    expect(page.get_by_test_id("scene-status-hook")).to_have_text(re.compile(r"^⏳ Generating…"))
    expect(clip_entries(page).nth(0).get_by_test_id("history-use")).to_be_disabled()
    expect_ready(page, "hook")
    expect(clip_entries(page)).to_have_count(3)
    expect(clip_entries(page).nth(0).get_by_test_id("history-current")).to_be_visible()

    # The same history on a phone.
    context = browser.new_context(viewport=MOBILE, base_url=base_url, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        open_project(phone, pid)
        open_history(phone)
        expect(clip_entries(phone)).to_have_count(3)
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        clip_entries(phone).nth(1).scroll_into_view_if_needed()
        phone.screenshot(path=shots / "22-history-mobile.png")
    finally:
        context.close()


def test_a_style_lock_marks_earlier_clips_out_of_date(page: Page, browser, base_url, new_project, api, shots):
    pid = new_project()["projectId"]
    open_project(page, pid)
    expect(page.get_by_test_id("style-summary")).to_have_text("Default look (no style lock)")
    card_button(page, "hook", "Generate B-Roll").click()
    expect_ready(page, "hook")
    expect(page.get_by_test_id("scene-outofdate-hook")).to_be_hidden()

    page.get_by_test_id("edit-style").click()
    dialog = page.get_by_test_id("style-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("style-look")).to_be_focused()
    page.get_by_test_id("style-look").fill("Film noir")
    page.get_by_test_id("style-colour").fill("teal and orange")
    page.get_by_test_id("style-lens").fill("35 mm anamorphic")
    page.get_by_test_id("style-era").fill("1970s")
    page.get_by_test_id("style-seed").fill("123")
    page.get_by_test_id("style-save").click()
    expect(page.get_by_test_id("style-error")).to_contain_text("10000 to 99999")
    expect(dialog).to_be_visible()
    page.get_by_test_id("style-seed").fill("24680")
    page.screenshot(path=shots / "23-style-dialog.png")
    page.get_by_test_id("style-save").click()
    expect(dialog).to_be_hidden()

    expect(page.get_by_test_id("style-summary")).to_have_text("Film noir · teal and orange · 35 mm anamorphic · 1970s · seed 24680")
    expect(page.get_by_test_id("style-stale")).to_have_text("1 clip out of date")
    hint = page.get_by_test_id("scene-outofdate-hook")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Out of date (style changed) — Regenerate")
    expect(page.get_by_test_id("scene-outofdate-main")).to_be_hidden()  # no clip yet: nothing to be out of date
    expect(page.get_by_test_id("out-of-date")).to_be_visible()  # hook is selected: the right panel says so too
    style = api.get(f"/api/projects/{pid}").json()["style"]
    assert style == {"look": "Film noir", "colour": "teal and orange", "lens": "35 mm anamorphic", "era": "1970s",
                     "seed": 24680}, style
    page.screenshot(path=shots / "24-style-out-of-date.png")

    # The dialog opens with the saved style; the timeline hint regenerates with it.
    page.get_by_test_id("edit-style").click()
    expect(page.get_by_test_id("style-colour")).to_have_value("teal and orange")
    expect(page.get_by_test_id("style-seed")).to_have_value("24680")
    page.get_by_test_id("style-cancel").click()
    expect(page.get_by_test_id("style-dialog")).to_be_hidden()
    hint.get_by_role("button", name="Regenerate").click()
    expect(page.get_by_test_id("scene-status-hook")).to_have_text(re.compile(r"^⏳ Generating…"))
    expect_ready(page, "hook")
    expect(hint).to_be_hidden()
    expect(page.get_by_test_id("out-of-date")).to_be_hidden()
    expect(page.get_by_test_id("style-stale")).to_be_hidden()
    expect(page.get_by_test_id("ai-prompt")).to_have_value(re.compile("film noir", re.I))

    context = browser.new_context(viewport=MOBILE, base_url=base_url, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        open_project(phone, pid)
        expect(phone.get_by_test_id("style-summary")).to_contain_text("Film noir")
        phone.get_by_test_id("edit-style").click()
        expect(phone.get_by_test_id("style-dialog")).to_be_visible()
        box = phone.locator(".style-form").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= MOBILE["width"], box
        phone.screenshot(path=shots / "25-style-dialog-mobile.png")
    finally:
        context.close()


def test_prompt_provenance_shows_who_wrote_it_and_what_was_left_out(page: Page, new_project):
    pid = new_project()["projectId"]
    open_project(page, pid)
    page.get_by_test_id("scene-select").select_option("main")
    page.get_by_test_id("shot-instructions").fill("Maria Lopez, CEO of Renfe, waves from a Coca-Cola branded sleeper train")
    expect(page.get_by_test_id("save-indicator")).to_have_text("✓ Saved")
    expect(page.get_by_test_id("prompt-note")).to_be_hidden()
    page.get_by_test_id("generate-prompt").click()
    expect(page.get_by_test_id("ai-prompt")).not_to_have_value("")
    expect(page.get_by_test_id("prompt-source")).to_have_text(re.compile(r"^(Local composer|Written by Claude)$"))
    note = page.get_by_test_id("prompt-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Maria Lopez")
    assert "Maria Lopez" not in page.get_by_test_id("ai-prompt").input_value()
    open_history(page)
    entry = page.get_by_test_id("history-list").locator('[data-kind="prompt"]').first
    expect(entry).to_be_visible()
    expect(entry.get_by_test_id("history-prompt")).not_to_have_text("")


def test_a_refused_prompt_shows_the_rewrite_with_both_prompts(page: Page, new_project, emulator, api, shots):
    pid = new_project()["projectId"]
    open_project(page, pid)
    page.get_by_test_id("scene-select").select_option("main")
    emulator.configure(reject_next_submit=[{"code": 400, "msg": "flagged by content policy"}])
    card_button(page, "main", "Generate B-Roll").click()

    notice = page.get_by_test_id("rewrite-notice")
    expect(notice).to_be_visible(timeout=CLIP_TIMEOUT)
    expect(page.get_by_test_id("rewrite-reason")).to_have_text(re.compile(
        r"^⚠ Kie\.ai refused the first prompt \(.*flagged by content policy.*\)\. It was rewritten once automatically:$"))
    refused = page.get_by_test_id("rewrite-from")
    now = page.get_by_test_id("rewrite-to")
    expect(refused).not_to_have_text("")
    expect(now).not_to_have_text("")
    assert refused.text_content() != now.text_content()
    assert now.text_content() == page.get_by_test_id("ai-prompt").input_value()
    assert refused.evaluate("el => el.tagName") == "DEL"
    expect(notice.locator(".tag-refused")).to_have_text("Refused")
    expect_ready(page, "main")
    expect(notice).to_be_visible()
    expect(page.get_by_test_id("rewrite-note")).not_to_have_text("")
    scene = api.get(f"/api/projects/{pid}").json()["scenes"][1]
    assert scene["rewrite"]["fromPrompt"] == refused.text_content()

    open_history(page)
    entry = page.get_by_test_id("history-list").locator('[data-kind="rewrite"]')
    expect(entry).to_have_count(1)
    expect(entry.locator(".h-reason")).to_contain_text("flagged by content policy")
    expect(entry.locator("del")).to_have_text(scene["rewrite"]["fromPrompt"])
    page.get_by_test_id("rewrite-notice").scroll_into_view_if_needed()
    page.screenshot(path=shots / "26-rewrite-notice.png")


def test_a_finished_clip_is_marked_ai_generated(page: Page, new_project, shots):
    pid = new_project()["projectId"]
    open_project(page, pid)
    badge = page.get_by_test_id("scene-ai-badge-hook")
    expect(badge).to_be_hidden()
    expect(page.get_by_test_id("preview-ai-badge")).to_be_hidden()
    card_button(page, "hook", "Generate B-Roll").click()
    expect_ready(page, "hook")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("AI-generated")
    expect(page.get_by_test_id("preview-ai-badge")).to_be_visible()
    expect(page.get_by_test_id("preview-ai-badge")).to_have_text("AI-generated")
    expect(page.get_by_test_id("preview-open")).to_have_attribute("aria-label", "Play the AI-generated clip fullscreen")
    expect(page.get_by_test_id("scene-ai-badge-main")).to_be_hidden()
    card_button(page, "hook", "▶ Preview B-Roll").click()
    expect(page.get_by_test_id("modal-ai-badge")).to_be_visible()
    page.screenshot(path=shots / "27-ai-badge-modal.png")
    page.keyboard.press("Escape")
    page.screenshot(path=shots / "28-ai-badge.png")
