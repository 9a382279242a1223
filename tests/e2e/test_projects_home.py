"""Bring your own project (issue 14) in a real browser against the real local stack: the home
view, the local user switcher, "New project" from the form with an uploaded voice-over and
avatar, the media cards, the timing nudge, rename / duplicate / delete, and that one user never
sees another's projects. Screenshots at desktop and phone width."""

from __future__ import annotations

import re
import subprocess
import threading
import time
import uuid
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import imageio_ffmpeg
import pytest
from playwright.sync_api import Page, expect

from .conftest import CLIP_TIMEOUT, DESKTOP, checked_page

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812}
MEDIA_TIMEOUT = 30_000  # ms: the media worker's probe
RENDER_TIMEOUT = 60_000
USER_KEY = "broll.localUser"


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    """A 6 s sine voice-over (mp3), a 6 s 720x1280 avatar (mp4 with sound), and a text file
    that only pretends to be an mp3."""
    root = tmp_path_factory.mktemp("media")
    voice, avatar, fake = root / "voice.mp3", root / "avatar.mp4", root / "notes.mp3"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=44100:duration=6", "-c:a", "libmp3lame",
            "-b:a", "64k", str(voice))
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=720x1280:rate=24:duration=6", "-f", "lavfi",
            "-i", "sine=frequency=330:sample_rate=44100:duration=6", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(avatar))
    fake.write_text("this is not audio\n" * 20)
    return {"voice": voice, "avatar": avatar, "fake": fake}


class _SlowFiles(SimpleHTTPRequestHandler):
    """Serves the test media, a second late, so the page has time to show "Fetching media…"."""

    def do_GET(self):
        time.sleep(1.0)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def media_site(media):
    """A loopback web server for the media (the local stack may fetch from loopback over http)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_SlowFiles, directory=str(media["avatar"].parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def fresh_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def as_user(page: Page, user: str) -> Page:
    """Signs the page in as `user`: the switcher's stored choice, then the home view."""
    page.goto("/")
    page.evaluate("([k, u]) => localStorage.setItem(k, u)", [USER_KEY, user])
    page.goto("/")
    expect(page.get_by_test_id("user-switcher")).to_have_value(user)
    expect(page.get_by_test_id("home")).to_have_attribute("aria-busy", "false")
    return page


def user_api(stack, user: str) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, timeout=30,
                        headers={"Authorization": f"Bearer {stack.issuer.mint(user)}"})


def snap(page: Page, shots: Path, name: str, at=None) -> None:
    """Screenshots at desktop width and at phone width (375 px), then back to desktop. The
    home view is shot whole; a studio shot is the screen with `at` scrolled to its middle (a
    whole-page shot would paint the fixed bottom bar over the middle of the page)."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_timeout(150)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name}: the page is {width}px wide at {size['width']}px"
        if at is not None:
            at.evaluate("(el) => el.scrollIntoView({ block: 'center' })")
        page.screenshot(path=shots / f"{name}-{label}.png", full_page=at is None)
    page.set_viewport_size(DESKTOP)


def small_body(name: str, duration: float = 6.0, scenes: int = 2) -> dict:
    titles = ["Hook", "Main", "CTA"][:scenes]
    types = ["hook", "main", "cta"][:scenes]
    return {"name": name, "stage3": {"editedScenes": [
        {"sceneTitle": t, "sceneType": k, "text": f"{t}: a few words about harbour cranes at dawn."}
        for t, k in zip(titles, types)]}, "stage4": {"audioDurationSec": duration}}


def upload_via_api(client: httpx.Client, pid: str, kind: str, path: Path, content_type: str) -> None:
    """The same three steps the page takes: a presigned POST, the file to S3, then …/media/{kind}."""
    data = path.read_bytes()
    grant = client.post(f"/api/projects/{pid}/uploads",
                        json={"kind": kind, "contentType": content_type, "size": len(data)})
    assert grant.status_code == 200, grant.text
    g = grant.json()
    s3 = httpx.post(g["url"], data=g["fields"], files={"file": (path.name, data, content_type)}, timeout=30)
    assert s3.status_code in (200, 201, 204), s3.text
    attached = client.post(f"/api/projects/{pid}/media/{kind}", json={"key": g["key"]})
    assert attached.status_code == 202, attached.text


# ---------------------------------------------------------------- the home view


def test_a_new_user_lands_on_the_empty_list_and_the_switcher_changes_user(page: Page, shots):
    as_user(page, "zed")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your projects")
    empty = page.get_by_test_id("home-empty")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No projects yet.")
    expect(page.get_by_test_id("new-project-empty")).to_have_text(re.compile("New project"))
    expect(page.get_by_test_id("new-project")).to_be_hidden()  # the empty state's own is the one offered
    expect(page.get_by_test_id("project-list")).to_be_hidden()
    expect(page.get_by_test_id("all-projects")).to_be_hidden()
    options = page.get_by_test_id("user-switcher").locator("option")
    expect(options).to_have_text(["demo-user", "ann", "ben", "zed"])
    snap(page, shots, "40-home-empty")

    # Switching drops the token and reloads the home view as the other person.
    page.get_by_test_id("user-switcher").select_option("demo-user")
    expect(page.get_by_test_id("project-card-demo")).to_be_visible()
    expect(page.get_by_test_id("project-link-demo")).to_have_text("Night trains are back in Europe")
    assert page.evaluate(f"localStorage.getItem('{USER_KEY}')") == "demo-user"
    expect(page.get_by_test_id("home-empty")).to_be_hidden()
    expect(page.get_by_test_id("new-project")).to_be_visible()
    snap(page, shots, "40-home-demo-user")
    page.get_by_test_id("project-link-demo").click()
    expect(page).to_have_url(re.compile(r"\?project=demo$"))
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_test_id("all-projects")).to_be_visible()
    page.get_by_test_id("all-projects").click()
    expect(page.get_by_test_id("project-card-demo")).to_be_visible()


WEIGHT_JS = """() => {
    const entries = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
        .filter((e) => !['video', 'audio', 'xmlhttprequest', 'fetch'].includes(e.initiatorType));
    return { sent: entries.reduce((n, e) => n + e.encodedBodySize, 0), raw: entries.reduce((n, e) => n + e.decodedBodySize, 0),
             files: entries.map((e) => e.name.replace(location.origin, '')) };
}"""


@pytest.mark.parametrize("path,ready", [("/", "home"), ("/?project=demo", "studio")])
def test_the_first_load_stays_under_150_kb(browser, base_url, path, ready):
    """Each view loads only its own modules: the home view never fetches the studio's code."""
    with checked_page(browser, viewport=DESKTOP, base_url=base_url) as page:
        page.goto(path)
        if ready == "home":
            expect(page.get_by_test_id("home")).to_have_attribute("aria-busy", "false")
        else:
            expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
        weight = page.evaluate(WEIGHT_JS)
        assert weight["sent"] < 150_000, weight
        names = " ".join(weight["files"])
        if ready == "home":
            assert "studio.js" not in names and "render.js" not in names, weight["files"]
        assert "newproject.js" not in names and "upload.js" not in names, weight["files"]


def test_the_form_refuses_missing_and_invalid_fields_beside_each_field(page: Page, shots):
    as_user(page, fresh_user("val"))
    page.get_by_test_id("new-project-empty").click()
    dialog = page.get_by_test_id("new-project-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("np-name")).to_be_focused()
    page.get_by_test_id("np-create").click()
    expect(page.get_by_test_id("np-name-error")).to_have_text("Give the project a name.")
    expect(page.get_by_test_id("np-scene-0-sceneTitle-error")).to_have_text("Give the scene a title.")
    expect(page.get_by_test_id("np-scene-0-text-error")).to_have_text("Write what is said in this scene.")
    expect(page.get_by_test_id("np-duration-error")).to_contain_text("length in seconds")
    expect(page.get_by_test_id("np-name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("np-name")).to_be_focused()
    page.get_by_test_id("np-voiceover-url").fill("file:///etc/passwd")
    page.get_by_test_id("np-create").click()
    expect(page.get_by_test_id("np-voiceover-url-error")).to_have_text("The address must start with https://.")
    snap(page, shots, "41-new-project-errors")

    # The server's own answer for a URL it will not fetch lands beside that field too.
    page.get_by_test_id("np-name").fill("Refused address")
    page.get_by_test_id("np-scene-0-sceneTitle").fill("Hook")
    page.get_by_test_id("np-scene-0-text").fill("Words.")
    page.get_by_test_id("np-duration").fill("6")
    page.get_by_test_id("np-voiceover-url").fill("https://169.254.169.254/latest/meta-data/voice.mp3")
    page.get_by_test_id("np-create").click()
    expect(page.get_by_test_id("np-voiceover-url-error")).to_have_text(re.compile(r"^(?!stage4).+"))
    expect(dialog).to_be_visible()
    snap(page, shots, "41-new-project-url-refused", at=page.get_by_test_id("np-voiceover-url"))

    # Paste JSON: the API's 422 details listed field by field.
    page.get_by_test_id("np-tab-json").click()
    expect(page.get_by_test_id("np-json-form")).to_be_visible()
    expect(page.get_by_test_id("np-form")).to_be_hidden()
    page.get_by_test_id("np-json").fill('{"name": "x", "stage3": {"editedScenes": [{"sceneTitle": "", "text": "t"}]}, '
                                        '"stage4": {"audioDurationSec": 0.1}}')
    page.get_by_test_id("np-json-create").click()
    error = page.get_by_test_id("np-json-error")
    expect(error).to_contain_text("stage3.editedScenes.0.sceneTitle")
    expect(error).to_contain_text("stage4.audioDurationSec")
    snap(page, shots, "42-new-project-json-errors")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("new-project-empty")).to_be_focused()


def test_a_project_from_the_form_with_uploads_renders_exports_and_stays_private(
        browser, base_url, stack, media, shots):
    owner, other = fresh_user("amy"), fresh_user("bob")
    with checked_page(browser, viewport=DESKTOP, accept_downloads=True, base_url=base_url) as page:
        as_user(page, owner)
        expect(page.get_by_test_id("home-empty")).to_be_visible()
        page.get_by_test_id("new-project-empty").click()
        page.get_by_test_id("np-name").fill("Harbour at dawn")
        page.get_by_test_id("np-scene-0-sceneTitle").fill("Cranes")
        page.get_by_test_id("np-scene-0-text").fill("Cranes wake up before the city does.")
        page.get_by_test_id("np-add-scene").click()
        expect(page.get_by_test_id("np-scene-1-sceneTitle")).to_be_focused()
        page.get_by_test_id("np-scene-1-sceneTitle").fill("Ships")
        page.get_by_test_id("np-scene-1-sceneType").select_option("cta")
        page.get_by_test_id("np-scene-1-text").fill("Follow for more harbour mornings.")
        page.get_by_test_id("np-voiceover-file").set_input_files(str(media["voice"]))
        # The length is read in the browser from the file's metadata.
        expect(page.get_by_test_id("np-duration")).to_have_value(re.compile(r"^(5\.9\d*|6(\.\d+)?)$"))
        page.get_by_test_id("np-avatar-file").set_input_files(str(media["avatar"]))
        snap(page, shots, "43-new-project-form", at=page.get_by_test_id("np-avatar-file"))

        page.get_by_test_id("np-create").click()
        expect(page).to_have_url(re.compile(r"\?project=[A-Za-z0-9_-]+$"), timeout=30_000)
        pid = page.url.rsplit("=", 1)[1]
        expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")
        expect(page.get_by_test_id("project-name")).to_have_text("Harbour at dawn")
        expect(page.locator(".scene-card")).to_have_count(2)

        # The media worker probes both files; the cards say what it found.
        expect(page.get_by_test_id("media-status-voiceover")).to_have_text(re.compile(r"^✓ Ready · 6\.\d s"),
                                                                           timeout=MEDIA_TIMEOUT)
        expect(page.get_by_test_id("media-status-avatar")).to_have_text(
            re.compile(r"^✓ Ready · 6\.\d s · 720×1280 · 9:16$"), timeout=MEDIA_TIMEOUT)
        expect(page.get_by_test_id("duration-mismatch")).to_be_hidden()
        expect(page.get_by_test_id("media-upload-voiceover")).to_have_text("⬆ Replace voice-over")
        expect(page.get_by_test_id("audio-player")).to_have_attribute("src", re.compile(r"/users/.+/media/voiceover-"))
        snap(page, shots, "44-studio-uploaded-media", at=page.get_by_test_id("voiceover-card"))

        # One clip, the composite, Download All.
        scene = page.locator(".scene-card").first
        sid = scene.get_attribute("data-scene-id")
        scene.get_by_role("button", name="Generate B-Roll", exact=True).click()
        expect(page.get_by_test_id(f"scene-status-{sid}")).to_have_text("✅ Ready", timeout=CLIP_TIMEOUT)
        page.get_by_test_id("render-video").click()
        page.get_by_test_id("render-start").click()  # the render dialog's Render (issue 15)
        expect(page.get_by_test_id("render-status")).to_contain_text("✅ Composite ready", timeout=RENDER_TIMEOUT)
        with page.expect_download(timeout=60_000) as info:
            page.get_by_test_id("download-all").click()
        target = Path(info.value.path())
        with zipfile.ZipFile(target) as z:
            names = z.namelist()
        base = {n.rsplit("/", 1)[-1] for n in names}
        # The uploaded voice-over and avatar travel with the clip and the composite, which is named
        # after the project (issue 15), with the captions beside it.
        assert {"voiceover.mp3", "avatar.mp4", "harbour-at-dawn.mp4", "captions.ass", "captions.srt"} <= base, names
        assert any(re.fullmatch(r"01-.+\.mp4", n) for n in base), names
        snap(page, shots, "45-studio-rendered", at=page.get_by_test_id("timeline"))

        # The list shows it, with its first clip as the thumbnail; a reload keeps it.
        page.get_by_test_id("all-projects").click()
        card = page.get_by_test_id(f"project-card-{pid}")
        expect(card).to_be_visible()
        expect(page.get_by_test_id(f"project-link-{pid}")).to_have_text("Harbour at dawn")
        expect(page.get_by_test_id(f"project-facts-{pid}")).to_contain_text("1 of 2 clips ready · In progress · changed")
        thumb = page.get_by_test_id(f"project-thumb-{pid}")
        expect(thumb).to_have_attribute("src", re.compile(r"#t=1$"))
        page.wait_for_function(f"""() => {{ const v = document.querySelector('[data-testid="project-thumb-{pid}"]');
            return v && v.readyState >= 1 && v.videoWidth > 0; }}""", timeout=15_000)
        page.reload()
        expect(card).to_be_visible()
        snap(page, shots, "46-home-with-project")

    # User B sees none of A's projects and cannot open A's project.
    with checked_page(browser, viewport=DESKTOP, base_url=base_url) as page:
        as_user(page, other)
        expect(page.get_by_test_id("home-empty")).to_be_visible()
        expect(page.get_by_test_id(f"project-card-{pid}")).to_have_count(0)
        snap(page, shots, "47-home-other-user")
        page.goto(f"/?project={pid}")
        expect(page.get_by_test_id("load-error")).to_contain_text("Could not open project")
    with user_api(stack, other) as b:
        assert b.get(f"/api/projects/{pid}").status_code == 404
        assert all(p["projectId"] != pid for p in b.get("/api/projects").json()["projects"])


def test_upload_progress_moves(page: Page, stack, media):
    """The form's upload bars report the bytes as they go (XMLHttpRequest upload progress)."""
    user = fresh_user("pro")
    as_user(page, user)
    page.get_by_test_id("new-project-empty").click()
    page.get_by_test_id("np-name").fill("Progress")
    page.get_by_test_id("np-scene-0-sceneTitle").fill("Hook")
    page.get_by_test_id("np-scene-0-text").fill("Words.")
    page.get_by_test_id("np-voiceover-file").set_input_files(str(media["voice"]))
    expect(page.get_by_test_id("np-duration")).not_to_have_value("")
    page.get_by_test_id("np-avatar-file").set_input_files(str(media["avatar"]))
    seen = []
    page.expose_function("reportProgress", lambda kind, v: seen.append((kind, v)))
    page.evaluate("""() => { for (const kind of ['voiceover', 'avatar']) {
        const bar = document.querySelector(`[data-testid="new-project-dialog"] [data-testid="upload-progress-${kind}"]`);
        new MutationObserver(() => window.reportProgress(kind, Number(bar.getAttribute('aria-valuenow'))))
          .observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] }); } }""")
    page.get_by_test_id("np-create").click()
    expect(page).to_have_url(re.compile(r"\?project="), timeout=30_000)
    for kind in ("voiceover", "avatar"):
        values = [v for k, v in seen if k == kind]
        assert values and values[-1] == 100, (kind, seen)


# ---------------------------------------------------------------- the studio's media cards and timings


def test_media_cards_flag_a_length_mismatch_refuse_a_fake_file_and_nudge_a_boundary(
        page: Page, stack, media, shots):
    user = fresh_user("cat")
    with user_api(stack, user) as client:
        created = client.post("/api/projects", json=small_body("Mismatch", duration=8.0, scenes=3))
        assert created.status_code == 201, created.text
        pid = created.json()["projectId"]
        upload_via_api(client, pid, "voiceover", media["voice"], "audio/mpeg")
    as_user(page, user)
    page.get_by_test_id(f"project-link-{pid}").click()
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false")

    notice = page.get_by_test_id("duration-mismatch")
    expect(notice).to_be_visible(timeout=MEDIA_TIMEOUT)
    expect(page.get_by_test_id("duration-mismatch-text")).to_have_text(
        re.compile(r"^The voice-over file lasts 6\.\d s, the project says 8\.0 s\.$"))
    expect(page.get_by_test_id("media-status-avatar")).to_have_text("No avatar video yet.")
    expect(page.get_by_test_id("media-upload-avatar")).to_have_text("⬆ Upload avatar")
    snap(page, shots, "48-studio-duration-mismatch", at=notice)
    page.get_by_test_id("use-file-duration").click()
    expect(notice).to_be_hidden()
    expect(page.get_by_test_id("audio-duration")).to_have_text(re.compile(r"^6\.\d s$"))

    # Timing nudge: the first scene ends later; the ribbon and the card follow the server.
    first = page.locator(".scene-card").first
    sid = first.get_attribute("data-scene-id")
    page.get_by_test_id("scene-select").select_option(sid)
    end = page.get_by_test_id("scene-end")
    expect(end).to_be_visible()
    end.fill("9")
    end.press("Enter")
    expect(page.get_by_test_id("timing-error")).to_contain_text("before")
    end.fill("2.5")
    end.press("Enter")
    expect(page.get_by_test_id("timing-save")).to_have_text("✓ Saved")
    expect(first.locator(".time-range")).to_have_text("0:00–0:02")
    expect(page.get_by_test_id("timeline-ribbon").locator(".seg").first).to_have_text("0:00–0:02")
    expect(page.get_by_test_id("script").locator(".script-tag").first).to_have_text("0:00–0:02")
    expect(end).to_have_value("2.5")
    last = page.locator(".scene-card").last
    page.get_by_test_id("scene-select").select_option(last.get_attribute("data-scene-id"))
    expect(page.get_by_test_id("timing-field")).to_be_hidden()
    snap(page, shots, "49-studio-timing-nudged", at=page.get_by_test_id("timeline-ribbon"))

    # A text file named .mp3: the probe refuses it with a sentence and deletes it, so there is no
    # Retry (the same file would fail again), only Replace.
    page.get_by_test_id("media-file-voiceover").set_input_files(str(media["fake"]))
    status = page.get_by_test_id("media-status-voiceover")
    expect(status).to_have_text(re.compile(r"^❌ .+"), timeout=MEDIA_TIMEOUT)
    expect(page.get_by_test_id("media-retry-voiceover")).to_be_hidden()
    expect(page.get_by_test_id("media-file-voiceover")).to_be_attached()
    snap(page, shots, "50-studio-media-failed", at=page.get_by_test_id("voiceover-card"))


def test_rename_duplicate_and_delete_from_the_list(page: Page, stack, shots):
    user = fresh_user("dan")
    with user_api(stack, user) as client:
        created = client.post("/api/projects", json=small_body("Original"))
        assert created.status_code == 201, created.text
        pid = created.json()["projectId"]
    as_user(page, user)
    card = page.get_by_test_id(f"project-card-{pid}")
    expect(card).to_be_visible()
    expect(page.get_by_test_id(f"project-thumb-{pid}")).to_have_text("🎬")  # no media yet: a placeholder

    card.get_by_role("button", name="Rename “Original”").click()
    page.get_by_test_id("rename-input").fill("Renamed")
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id(f"project-link-{pid}")).to_have_text("Renamed")
    expect(card.get_by_role("button", name="Rename “Renamed”")).to_be_focused()

    page.get_by_role("button", name="Duplicate “Renamed”").click()
    expect(page.locator(".project-card")).to_have_count(2)
    for facts in page.locator(".project-facts").all():
        expect(facts).not_to_contain_text("1970")  # an unknown change time is left out, not "1970"
    snap(page, shots, "51-home-duplicated")

    page.get_by_test_id(f"project-card-{pid}").get_by_role("button", name="Delete “Renamed”").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("confirm-title")).to_have_text("Delete “Renamed”?")
    body = page.get_by_test_id("confirm-body")
    for text in ("Renamed", "0 clips", "composite", "voice-over and avatar"):
        expect(body).to_contain_text(text)
    snap(page, shots, "52-home-delete-confirm")
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id(f"project-card-{pid}")).to_have_count(0)
    expect(page.locator(".project-card")).to_have_count(1)
    with user_api(stack, user) as client:
        assert client.get(f"/api/projects/{pid}").status_code == 404


def test_media_from_urls_are_fetched_while_the_page_says_so(page: Page, media_site, shots):
    """The form's address fields: the server copies both files; the studio shows the fetch, then what the probe found."""
    as_user(page, fresh_user("url"))
    page.get_by_test_id("new-project-empty").click()
    page.get_by_test_id("np-name").fill("From addresses")
    page.get_by_test_id("np-scene-0-sceneTitle").fill("Hook")
    page.get_by_test_id("np-scene-0-text").fill("Words from a TTS service.")
    page.get_by_test_id("np-voiceover-url").fill(f"{media_site}/voice.mp3")
    page.get_by_test_id("np-voiceover-url").blur()
    # The length is read from the address too (an <audio> element needs no CORS for it).
    expect(page.get_by_test_id("np-duration")).not_to_have_value("", timeout=15_000)
    page.get_by_test_id("np-avatar-url").fill(f"{media_site}/avatar.mp4")
    page.get_by_test_id("np-create").click()
    expect(page.locator(".workspace")).to_have_attribute("aria-busy", "false", timeout=30_000)
    avatar = page.get_by_test_id("media-status-avatar")
    expect(avatar).to_have_text(re.compile(r"^⏳ (Fetching media|Checking the file)…$"))
    snap(page, shots, "53-studio-fetching", at=page.get_by_test_id("avatar-card"))
    expect(avatar).to_have_text(re.compile(r"^✓ Ready · 6\.\d s · 720×1280 · 9:16$"), timeout=MEDIA_TIMEOUT)
    expect(page.get_by_test_id("media-status-voiceover")).to_have_text(re.compile(r"^✓ Ready · 6\.\d s"))
    expect(page.get_by_test_id("avatar-video")).to_have_attribute("src", re.compile(r"/media/avatar-"))


def test_the_list_badges_media_still_fetching_or_failed(page: Page, shots):
    """What the list says about each project's media (the list answer is stubbed to hold all cases)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 300))
    rows = [{"projectId": f"p{i}", "name": name, "step7Status": status, "sceneCount": 3, "clipsReady": ready,
             "updatedAt": now, "thumbnailUrl": None, "media": m}
            for i, (name, status, ready, m) in enumerate([
                ("Fetching its avatar", "in_progress", 0, "fetching"), ("A refused address", "in_progress", 1, "failed"),
                ("All done", "completed", 3, "ready")])]
    page.route("**/api/projects", lambda route: route.fulfill(json={"projects": rows}))
    as_user(page, fresh_user("bdg"))
    expect(page.get_by_test_id("project-media-p0")).to_have_text("fetching media…")
    expect(page.get_by_test_id("project-media-p1")).to_have_text("media failed")
    expect(page.get_by_test_id("project-media-p2")).to_have_count(0)
    expect(page.get_by_test_id("project-facts-p0")).to_have_text("0 of 3 clips ready · In progress · changed 5 min ago")
    expect(page.get_by_test_id("project-facts-p2")).to_have_text("3 of 3 clips ready · ✅ Completed · changed 5 min ago")
    snap(page, shots, "54-home-media-badges")
