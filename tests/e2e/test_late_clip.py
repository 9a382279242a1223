"""Issue 16 in a real browser: a cancelled clip that Kie.ai still makes. The scene's card says it
is still being made and lands in History; when Kie finishes it, the open History shows it and the
line goes, without a reload (the poller keeps reading the project while lateClips > 0)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import card_button, open_project
from .test_history import clip_entries, open_history

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812}
LANDED = "Finished after it was cancelled"
LAND_TIMEOUT = 45_000  # ms: Kie's 20 s here, then the loop's wait and the page's poll (10 s at most)


def generate_and_cancel(page: Page, scene_id: str) -> None:
    card_button(page, scene_id, "Generate B-Roll").click()
    expect(page.get_by_test_id(f"scene-status-{scene_id}")).to_have_text(re.compile(r"^⏳ Generating…"))
    card_button(page, scene_id, "Cancel").click()
    page.get_by_test_id("confirm-ok").click()
    expect(card_button(page, scene_id, "Generate B-Roll")).to_be_enabled()


def test_a_cancelled_clip_kie_still_makes_is_announced_and_lands_in_the_open_history(
        page: Page, browser, base_url, new_project, emulator, api, shots):
    emulator.configure(delay_seconds=20.0)
    pid = new_project()["projectId"]
    open_project(page, pid)
    open_history(page)
    late = page.get_by_test_id("scene-late-hook")
    expect(late).to_be_hidden()

    generate_and_cancel(page, "hook")
    expect(late).to_have_text("1 cancelled clip is still being made at Kie.ai; it lands in History when done.")
    generate_and_cancel(page, "hook")
    expect(late).to_have_text("2 cancelled clips are still being made at Kie.ai; they land in History when done.")
    assert api.get(f"/api/projects/{pid}").json()["scenes"][0]["lateClips"] == 2
    expect(page.get_by_test_id("scene-late-main")).to_be_hidden()
    expect(clip_entries(page)).to_have_count(0)
    page.get_by_test_id("scene-card-hook").scroll_into_view_if_needed()
    page.screenshot(path=shots / "160-late-clip.png")

    context = browser.new_context(viewport=PHONE, base_url=base_url, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        open_project(phone, pid)
        expect(phone.get_by_test_id("scene-late-hook")).to_be_visible()
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        phone.get_by_test_id("scene-card-hook").scroll_into_view_if_needed()
        phone.screenshot(path=shots / "161-late-clip-mobile.png")
    finally:
        context.close()

    # Kie finishes both: each lands in the open History, the line goes, and the page was never reloaded.
    page.evaluate("window.__notReloaded = true")
    landed = clip_entries(page)
    expect(landed).to_have_count(2, timeout=LAND_TIMEOUT)
    expect(late).to_be_hidden(timeout=LAND_TIMEOUT)
    for n in range(2):
        expect(landed.nth(n).locator(".h-note")).to_contain_text(LANDED)
        expect(landed.nth(n).get_by_test_id("history-use")).to_be_enabled()
    assert page.evaluate("window.__notReloaded === true")
    expect(page.get_by_test_id("scene-status-hook")).to_have_text("No clip yet")  # the scene is left as it was
    page.get_by_test_id("history").scroll_into_view_if_needed()
    page.screenshot(path=shots / "162-late-clip-landed.png")


def test_the_history_is_read_again_until_the_landed_entry_is_there(page: Page, new_project):
    """The clip's History entry is written just after it leaves lateClips: a read in between
    finds nothing new, and the page looks again until it does (answers given by the test)."""
    pid = new_project()["projectId"]
    late = {"clips": 1, "reads_after": 0}

    def project(route):
        answer = route.fetch().json()
        answer["scenes"][0]["lateClips"] = late["clips"]
        route.fulfill(json=answer)

    def history(route):
        answer = route.fetch().json()
        if late["clips"] == 0:
            late["reads_after"] += 1
            if late["reads_after"] > 1:  # the first read after the drop is too early for the entry
                answer["entries"].insert(0, {"id": "landed-1", "kind": "clip", "at": "2026-12-02T03:00:00Z",
                                             "prompt": "Cranes at dawn.", "note": f"{LANDED}: Kie.ai made it anyway."})
        route.fulfill(json=answer)

    page.route(f"**/api/projects/{pid}", project)
    page.route(f"**/api/projects/{pid}/broll/scenes/hook/history", history)
    open_project(page, pid)
    open_history(page)
    expect(page.get_by_test_id("scene-late-hook")).to_be_visible()
    expect(page.get_by_test_id("history-state")).to_contain_text("Nothing yet")

    late["clips"] = 0
    expect(page.get_by_test_id("scene-late-hook")).to_be_hidden()
    expect(clip_entries(page)).to_have_count(1)
    expect(clip_entries(page).locator(".h-note")).to_contain_text(LANDED)
    assert late["reads_after"] >= 2
