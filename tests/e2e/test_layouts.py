"""The render dialog in a real browser against the local stack (issue 15): the layout and the
caption settings saved with PUT …/layout and shown again after a reload, a scene's own layout
from Scene settings, a render whose status shows the self-check's figures, a failed self-check's
problems, and the dialog and the status at desktop and phone width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import DESKTOP, checked_page, open_project
from .test_export import CLIP_TIMEOUT, RENDER_TIMEOUT, card_button, demo_like_project

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 740}
FIGURES = re.compile(r"^\d+\.\d s · \d+×\d+ · −?\d+\.\d LUFS · peak −?\d+\.\d dBTP$")


def open_dialog(page: Page):
    page.get_by_test_id("render-video").click()
    dialog = page.get_by_test_id("render-dialog")
    expect(dialog).to_be_visible()
    return dialog


def fits(page: Page, width: int) -> None:
    """Neither the page nor the dialog runs off the screen sideways."""
    info = page.evaluate("""() => {
        const d = document.querySelector('[data-testid=render-dialog]');
        const r = d && d.open ? d.querySelector('form').getBoundingClientRect() : null;
        return { page: document.documentElement.scrollWidth, l: r && r.left, r: r && r.right,
                 form: d && d.open ? d.querySelector('form').scrollWidth - d.querySelector('form').clientWidth : 0 };
    }""")
    assert info["page"] <= width, info
    if info["l"] is not None:
        assert info["l"] >= 0 and info["r"] <= width and info["form"] <= 0, info


def test_layout_and_captions_save_and_a_reload_shows_them(page: Page, api, shots):
    project = demo_like_project(api)
    pid = project["projectId"]
    assert project["layout"]["layout"] == "cutaway" and project["layout"]["share"] == 0.6, project["layout"]
    open_project(page, pid)
    # The dialog's module is fetched only when it is opened.
    first = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name).join(' ')")
    assert "renderdialog.js" not in first

    open_dialog(page)
    cutaway = page.get_by_test_id("layout-cutaway")
    expect(cutaway).to_be_checked()
    expect(cutaway).to_be_focused()
    expect(page.get_by_test_id("layout-share")).to_have_value("60")
    expect(page.get_by_test_id("layout-share-value")).to_have_text("60 %")
    expect(page.get_by_test_id("caption-enabled")).to_be_checked()
    expect(page.get_by_test_id("caption-position-lower")).to_be_checked()
    expect(page.get_by_test_id("caption-size-medium")).to_be_checked()
    expect(page.get_by_test_id("caption-highlight")).to_be_checked()
    fits(page, DESKTOP["width"])
    page.get_by_test_id("render-dialog").screenshot(path=shots / "60-render-dialog-desktop.png")

    # Keyboard: Tab stays inside the dialog, a radio group is one stop; the arrows move along
    # the layouts; the share is only for cutaway.
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id("render-start")).to_be_focused()
    page.keyboard.press("Tab")
    expect(cutaway).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("layout-split")).to_be_checked()
    expect(page.get_by_test_id("layout-share")).to_be_disabled()
    expect(page.get_by_test_id("share-hint")).to_contain_text("Only for cutaway")
    page.get_by_test_id("layout-card-pip").click()
    expect(page.get_by_test_id("layout-pip")).to_be_checked()
    page.get_by_test_id("layout-cutaway").check()
    page.get_by_test_id("layout-share").fill("40")
    expect(page.get_by_test_id("layout-share-value")).to_have_text("40 %")
    expect(page.get_by_test_id("share-hint")).to_contain_text("first 60 % of each scene")
    page.get_by_test_id("caption-position-centre").check()
    page.get_by_test_id("caption-size-large").check()
    page.get_by_test_id("caption-highlight").uncheck()

    # A refusal is said inside the dialog, which stays open.
    def refuse(route):
        if route.request.method == "PUT":
            route.fulfill(status=400, json={"error": "Invalid input.", "details": [
                {"field": "share", "message": "Input should be less than or equal to 1"}]})
        else:
            route.fallback()

    page.route(f"**/api/projects/{pid}/layout", refuse)
    page.get_by_test_id("render-dialog-save").click()
    expect(page.get_by_test_id("render-dialog-error")).to_have_text(
        "Could not save the settings: Invalid input. (share: Input should be less than or equal to 1)")
    expect(page.get_by_test_id("render-dialog")).to_be_visible()
    page.unroute(f"**/api/projects/{pid}/layout")

    page.get_by_test_id("render-dialog-save").click()
    expect(page.get_by_test_id("render-dialog")).to_be_hidden()
    expect(page.get_by_test_id("render-video")).to_be_focused()
    layout = api.get(f"/api/projects/{pid}").json()["layout"]
    assert layout["layout"] == "cutaway" and layout["share"] == pytest.approx(0.4), layout
    assert layout["captions"] == {"enabled": True, "position": "centre", "size": "large", "highlight": False}, layout
    assert api.get(f"/api/projects/{pid}/render").json()["render"]["status"] == "idle"  # Save does not render

    page.reload()
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    open_dialog(page)
    expect(page.get_by_test_id("layout-share")).to_have_value("40")
    expect(page.get_by_test_id("caption-position-centre")).to_be_checked()
    expect(page.get_by_test_id("caption-size-large")).to_be_checked()
    expect(page.get_by_test_id("caption-highlight")).not_to_be_checked()

    # Captions off: their options are disabled; split is saved too.
    page.get_by_test_id("layout-split").check()
    page.get_by_test_id("caption-enabled").uncheck()
    expect(page.get_by_test_id("caption-size-large")).to_be_disabled()
    page.get_by_test_id("render-dialog-save").click()
    expect(page.get_by_test_id("render-dialog")).to_be_hidden()
    layout = api.get(f"/api/projects/{pid}").json()["layout"]
    assert layout["layout"] == "split" and layout["captions"]["enabled"] is False, layout
    page.keyboard.press("Enter")  # the focused Render Video opens it again
    expect(page.get_by_test_id("layout-split")).to_be_checked()
    expect(page.get_by_test_id("layout-split")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id("render-start")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("layout-split")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("render-dialog")).to_be_hidden()


def test_a_scene_override_saves_and_the_dialog_lists_it(page: Page, api):
    project = demo_like_project(api)
    pid = project["projectId"]
    open_project(page, pid)
    select = page.get_by_test_id("scene-layout")
    expect(select).to_have_value("")
    expect(select.locator("option").first).to_have_text("As the project (Cutaway 60 %)")
    select.select_option("presenter")
    expect(page.get_by_test_id("scene-layout-save")).to_have_text("✓ Saved")
    assert api.get(f"/api/projects/{pid}").json()["layout"]["overrides"] == {"hook": "presenter"}

    page.get_by_test_id("scene-card-main").click()
    expect(select).to_have_value("")
    select.select_option("pip")
    expect(page.get_by_test_id("scene-layout-save")).to_have_text("✓ Saved")
    assert api.get(f"/api/projects/{pid}").json()["layout"]["overrides"] == {"hook": "presenter", "main": "pip"}

    page.reload()
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    expect(select).to_have_value("presenter")  # the first scene is selected
    open_dialog(page)
    note = page.get_by_test_id("render-overrides")
    expect(note).to_contain_text("Hook (Presenter only)")
    expect(note).to_contain_text("(Picture-in-picture)")
    page.get_by_test_id("render-dialog-cancel").click()

    # Back to "as the project" removes it; a refusal is said beside the field.
    select.select_option("")
    expect(page.get_by_test_id("scene-layout-save")).to_have_text("✓ Saved")
    overrides = api.get(f"/api/projects/{pid}").json()["layout"]["overrides"]
    assert "hook" not in overrides and overrides.get("main") == "pip", overrides
    page.route(f"**/api/projects/{pid}/layout", lambda route: route.fulfill(
        status=400, json={"error": "overrides: this project has no scene 'hook'."}))
    select.select_option("split")
    expect(page.get_by_test_id("scene-layout-error")).to_have_text(
        "Could not save the scene's layout: overrides: this project has no scene 'hook'.")
    expect(select).to_have_value("")  # back to what is saved


def test_a_render_shows_the_self_check_figures_and_the_card_its_thumbnail(page: Page, api, shots):
    project = demo_like_project(api)
    pid = project["projectId"]
    open_project(page, pid)
    card_button(page, "hook", "Generate B-Roll").click()
    expect(page.get_by_test_id("scene-status-hook")).to_have_text("✅ Ready", timeout=CLIP_TIMEOUT)
    thumb = page.get_by_test_id("scene-thumb-hook")
    expect(thumb).to_have_attribute("src", re.compile(r"#t=1$"))
    page.wait_for_function("""() => { const v = document.querySelector('[data-testid="scene-thumb-hook"]');
        return v && v.readyState >= 1 && v.videoWidth > 0; }""", timeout=15_000)
    expect(page.get_by_test_id("scene-thumb-main")).to_be_hidden()

    open_dialog(page)
    page.get_by_test_id("render-start").click()
    expect(page.get_by_test_id("render-dialog")).to_be_hidden()
    status = page.get_by_test_id("render-status")
    expect(status).to_contain_text("✅ Composite ready", timeout=RENDER_TIMEOUT)
    checks = page.get_by_test_id("render-checks")
    expect(checks).to_have_text(FIGURES)
    render = api.get(f"/api/projects/{pid}/render").json()["render"]
    c = render["checks"]
    assert c and not c["problems"], render
    assert f"{c['width']}×{c['height']}" in checks.inner_text()
    page.get_by_test_id("scene-card-hook").scroll_into_view_if_needed()
    page.screenshot(path=shots / "61-render-figures-desktop.png")


def stubbed(page: Page, pid: str, render: dict) -> None:
    def answer(route):
        response = route.fetch()
        body = response.json()
        body["render"] = render
        route.fulfill(response=response, json=body)

    page.route(f"**/api/projects/{pid}", answer)


def test_the_dialog_and_the_status_at_phone_width(browser, base_url, api, shots):
    project = demo_like_project(api)
    pid = project["projectId"]
    base = {"progress": 100, "videoUrl": None, "outOfDate": False, "startedAt": None, "completedAt": None}
    figures = {"durationSec": 27.7, "width": 1080, "height": 1920, "loudnessLufs": -14.1, "truePeakDbtp": -1.6}
    problems = ["The composite is 21.3 s long but the voice-over is 27.7 s.",
                "The B-roll region of scene 2 (Main) is black at 9.4 s."]
    with checked_page(browser, viewport=PHONE, base_url=base_url, is_mobile=True, has_touch=True) as page:
        stubbed(page, pid, {**base, "status": "completed", "error": None, "checks": {**figures, "problems": []}})
        open_project(page, pid)
        expect(page.get_by_test_id("render-text")).to_have_text("✅ Composite ready")
        expect(page.get_by_test_id("render-checks")).to_have_text("27.7 s · 1080×1920 · −14.1 LUFS · peak −1.6 dBTP")
        fits(page, PHONE["width"])
        page.screenshot(path=shots / "62-render-figures-phone.png")

        page.unroute(f"**/api/projects/{pid}")
        stubbed(page, pid, {**base, "status": "failed", "error": " ".join(problems),
                            "checks": {**figures, "durationSec": 21.3, "problems": problems}})
        page.reload()
        expect(page.get_by_test_id("render-text")).to_have_text(
            f"❌ The video failed its own check: {' '.join(problems)}")
        expect(page.get_by_test_id("render-checks")).to_have_text(
            "Measured: 21.3 s · 1080×1920 · −14.1 LUFS · peak −1.6 dBTP")
        expect(page.get_by_test_id("render-retry")).to_be_visible()
        fits(page, PHONE["width"])
        page.screenshot(path=shots / "63-render-problems-phone.png")
        page.unroute(f"**/api/projects/{pid}")

        page.reload()
        expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
        open_dialog(page)
        fits(page, PHONE["width"])
        page.screenshot(path=shots / "64-render-dialog-phone.png")
        page.get_by_test_id("render-dialog").evaluate("(d) => d.querySelector('form').scrollTo(0, 9999)")
        page.screenshot(path=shots / "65-render-dialog-phone-end.png")
        page.get_by_test_id("render-dialog-cancel").click()
        page.get_by_test_id("scene-layout-field").evaluate("(el) => el.scrollIntoView({ block: 'center' })")
        page.screenshot(path=shots / "66-scene-layout-phone.png")
