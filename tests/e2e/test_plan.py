"""Issue 8 item 4 in a real browser: a 20 s scene's plan of three sub-shots, visible and
editable on the scene, its coverage on the timeline, made one after another."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from .conftest import CLIP_TIMEOUT, card, card_button, expect_ready, open_project, project_body

pytestmark = pytest.mark.e2e


@pytest.fixture
def long_scene_project(api) -> str:
    """Hook 2 s, Main 20 s, CTA 2 s."""
    pid = f"e2e-plan-{uuid.uuid4().hex[:8]}"
    body = project_body(pid)
    body["stage4"]["sceneTimings"] = [
        {"sceneId": "hook", "start": 0, "end": 2}, {"sceneId": "main", "start": 2, "end": 22},
        {"sceneId": "cta", "start": 22, "end": 24},
    ]
    answer = api.post("/api/projects", json=body)
    assert answer.status_code == 201, answer.text
    return pid


def sub_shots(page: Page):
    return page.get_by_test_id("plan-list").locator(".sub-shot")


def test_a_long_scene_shows_its_plan_and_each_sub_shot_is_made_in_turn(page: Page, long_scene_project, shots):
    open_project(page, long_scene_project)
    page.get_by_test_id("scene-select").select_option("main")
    expect(page.get_by_test_id("plan-count")).to_have_value("auto")
    expect(page.get_by_test_id("plan-count").locator("option:checked")).to_have_text("Auto (3 clips)")
    expect(page.get_by_test_id("plan-hint")).to_contain_text("3 sub-shots of 6.7 s each")
    expect(sub_shots(page)).to_have_count(3)
    expect(page.get_by_test_id("sub-shot-1")).to_contain_text("2.0–8.7 s")
    expect(page.get_by_test_id("sub-shot-status-3")).to_have_text("Waiting")
    expect(page.get_by_test_id("ai-prompt-field")).to_be_hidden()  # each sub-shot has its own prompt
    expect(card(page, "main").locator(".coverage-part")).to_have_count(3)
    expect(page.get_by_test_id("timeline-ribbon").locator(".sub-tick")).to_have_count(2)

    card_button(page, "main", "Generate B-Roll").click()
    expect(card(page, "main").locator(".btn-progress")).to_contain_text("clip 1 of 3")
    expect(page.get_by_test_id("status-line")).to_contain_text(re.compile(r"clip [12] of 3"))
    expect(page.get_by_test_id("sub-shot-status-1")).to_have_text("✓ Ready", timeout=CLIP_TIMEOUT)
    page.screenshot(path=str(shots / "30-plan-generating.png"))
    expect_ready(page, "main")
    for n in (1, 2, 3):
        expect(page.get_by_test_id(f"sub-shot-status-{n}")).to_have_text("✓ Ready")
        expect(page.get_by_test_id(f"sub-shot-prompt-{n}")).not_to_have_value("")
    expect(card(page, "main").locator(".part-ready")).to_have_count(3)
    page.get_by_test_id("sub-shot-play-2").click()
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    expect(page.get_by_test_id("modal-title")).to_have_text("Main · sub-shot 2")
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()
    # Preview plays the sub-shots one after another, as the cut will.
    card_button(page, "main", "▶ Preview B-Roll").click()
    expect(page.get_by_test_id("modal-title")).to_have_text("Main · 0:02–0:22 · 3 clips")
    player = page.get_by_test_id("modal-video")
    first = player.get_attribute("src").split("?")[0]
    player.evaluate("""v => new Promise((done) => {
        const skip = () => { v.currentTime = Math.max(0, v.duration - 0.2); v.play().catch(() => {}); done(); };
        if (v.readyState >= 1) skip(); else v.addEventListener('loadedmetadata', skip, { once: true });
    })""")
    expect(player).not_to_have_attribute("src", re.compile(re.escape(first)), timeout=10_000)
    page.keyboard.press("Escape")
    page.get_by_test_id("history").locator("summary").click()
    expect(page.get_by_test_id("history-list").locator(".h-shot").first).to_contain_text("of 3")
    page.screenshot(path=str(shots / "31-plan-ready.png"), full_page=True)


def test_the_number_of_clips_and_a_sub_shots_prompt_are_the_persons_to_set(page: Page, long_scene_project, api, shots):
    pid = long_scene_project
    open_project(page, pid)
    page.get_by_test_id("scene-select").select_option("main")
    page.get_by_test_id("plan-count").select_option("2")
    expect(sub_shots(page)).to_have_count(2)
    expect(page.get_by_test_id("plan-save")).to_have_text("✓ Saved")
    expect(page.get_by_test_id("plan-hint")).to_contain_text("2 sub-shots of 10.0 s each")
    expect(card(page, "main").locator(".coverage-part")).to_have_count(2)

    own = "Wide shot, slow dolly along an empty harbour quay at dawn, cranes in mist."
    prompt = page.get_by_test_id("sub-shot-prompt-2")
    prompt.fill(own)
    expect(page.get_by_test_id("plan-save")).to_have_text("Unsaved changes")
    page.get_by_test_id("shot-instructions").focus()  # leaving the field saves it
    expect(page.get_by_test_id("plan-save")).to_have_text("✓ Saved")
    expect(page.get_by_test_id("sub-shot-2").locator(".sub-source")).to_have_text("Written by you")
    main = next(s for s in api.get(f"/api/projects/{pid}").json()["scenes"] if s["sceneId"] == "main")
    assert main["shotCount"] == 2 and main["plan"][1]["prompt"] == own and main["plan"][1]["promptSource"] == "person"

    page.get_by_test_id("plan-count").select_option("1")
    expect(sub_shots(page)).to_have_count(0)
    expect(page.get_by_test_id("plan-hint")).to_have_text("One clip of about 8 s, slowed to fill 20.0 s.")
    expect(page.get_by_test_id("ai-prompt-field")).to_be_visible()
    page.get_by_test_id("scene-select").select_option("hook")  # 2 s: one clip is all it can take
    expect(page.get_by_test_id("plan-count").locator("option")).to_have_count(2)
    expect(page.get_by_test_id("plan-hint")).to_have_text("One clip of about 8 s, trimmed to 2.0 s.")
    page.get_by_test_id("scene-select").select_option("main")
    page.screenshot(path=str(shots / "32-plan-one-clip.png"))
