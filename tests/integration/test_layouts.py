"""Issue 15 on the local stack: each layout renders; cutaway gives the presenter its share of
every scene (sampled frames against the avatar's and the clips'); split and pip frames show
both; the captions' .srt lines lie inside their scenes; PUT …/layout refuses bad settings.

Short, small media (270x480, 9 s): the machine's cores are shared."""

from __future__ import annotations

import io
import subprocess
import time
import zipfile

import httpx
import pytest

from devstack.media import ffmpeg_exe, frame_colour, render_avatar, render_voiceover
from tests.integration.conftest import download_url, import_with_media, wait_for_scene

SECONDS = 9.0  # three scenes of 3 s (equal words)
SAMPLES = 10  # frames sampled per scene


@pytest.fixture(scope="module")
def small_media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layouts")
    voice = render_voiceover(folder / "voice.m4a", seconds=SECONDS)
    avatar = render_avatar(folder / "avatar.mp4", voice, seconds=SECONDS, width=270, height=480)
    return voice, avatar


@pytest.fixture(scope="module")
def ready_project(stack, small_media, tmp_path_factory):
    """A project with every scene's clip ready, and the clips downloaded (sceneId -> path)."""
    from tests.integration.conftest import client_for
    from devstack.auth import DEMO_USER

    with client_for(stack, DEMO_USER) as api:
        project = import_with_media(api, "layout", *small_media, SECONDS)
        pid = project["projectId"]
        assert api.post(f"/api/projects/{pid}/broll/generate-all", json={}).status_code == 202
        folder = tmp_path_factory.mktemp("clips")
        clips = {}
        for scene_id in ("hook", "main", "cta"):
            scene = wait_for_scene(api, pid, scene_id, lambda s: s["status"] == "completed")
            clips[scene_id] = folder / f"{scene_id}.mp4"
            clips[scene_id].write_bytes(httpx.get(scene["videoUrl"]).content)
        return api.get(f"/api/projects/{pid}").json(), clips


def _render(api, pid: str, settings: dict, tmp_path) -> tuple[dict, object]:
    answer = api.put(f"/api/projects/{pid}/layout", json=settings)
    assert answer.status_code == 200, answer.text
    assert api.post(f"/api/projects/{pid}/render", json={}).status_code == 202
    deadline = time.monotonic() + 180
    while True:
        render = api.get(f"/api/projects/{pid}/render").json()["render"]
        if render["status"] != "rendering" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert render["status"] == "completed", render
    tmp_path.mkdir(parents=True, exist_ok=True)
    video = tmp_path / f"composite-{settings.get('layout', 'x')}.mp4"
    video.write_bytes(httpx.get(render["videoUrl"]).content)
    return render, video


def _distance(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def _region_pixels(path, at: float, x: float, y: float, w: float, h: float, scale: str = "") -> bytes:
    """RGB bytes of a region of the frame at `at` (the region as shares of the frame)."""
    crop = f"crop=iw*{w}:ih*{h}:iw*{x}:ih*{y}" + (f",{scale}" if scale else "")
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-ss", f"{at:.3f}", "-i", str(path),
                           "-frames:v", "1", "-vf", crop, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True)
    assert proc.returncode == 0 and proc.stdout, proc.stderr[-300:]
    return proc.stdout


def _region_colour(path, at: float, x: float, y: float, w: float, h: float) -> tuple[int, int, int]:
    """Mean RGB of a region of the frame at `at`."""
    pixels = _region_pixels(path, at, x, y, w, h, scale="scale=1:1:flags=area")
    assert len(pixels) == 3
    return tuple(pixels)


def _changed_share(a: bytes, b: bytes, by: int = 60) -> float:
    """The share of pixels of two same-sized regions that differ by more than `by` in some channel:
    caption glyphs (white, outlined) change pixels a lot, a re-encode only a little."""
    assert len(a) == len(b) and len(a) % 3 == 0
    pixels = len(a) // 3
    changed = sum(1 for i in range(0, len(a), 3) if max(abs(a[i + c] - b[i + c]) for c in range(3)) > by)
    return changed / pixels


def _checks_pass(render: dict, width=270, height=480):
    checks = render["checks"]
    assert checks["problems"] == [] and (checks["width"], checks["height"]) == (width, height)
    assert abs(checks["durationSec"] - SECONDS) <= 0.1
    assert -15 <= checks["loudnessLufs"] <= -13 and checks["truePeakDbtp"] <= -1.0
    assert render["posterUrl"]


def test_cutaway_gives_the_presenter_its_share_of_every_scene(api, ready_project, small_media, tmp_path):
    project, clips = ready_project
    render, video = _render(api, project["projectId"], {"layout": "cutaway", "share": 0.6}, tmp_path)
    _checks_pass(render)
    avatar = small_media[1]
    for scene in project["scenes"]:
        start, end = scene["timeRange"]["start"], scene["timeRange"]["end"]
        clip_colour = frame_colour(clips[scene["sceneId"]], 1.0)
        presenter = 0
        for n in range(SAMPLES):
            at = start + (n + 0.5) * (end - start) / SAMPLES
            seen = frame_colour(video, at)
            presenter += _distance(seen, frame_colour(avatar, at)) < _distance(seen, clip_colour)
        assert abs(presenter / SAMPLES - 0.4) <= 0.1, (scene["sceneId"], presenter)
    # The video opens on the presenter.
    assert _distance(frame_colour(video, 0.1), frame_colour(avatar, 0.1)) < 30


def test_split_and_pip_frames_show_both_the_broll_and_the_presenter(api, ready_project, tmp_path):
    project, clips = ready_project
    pid, main = project["projectId"], project["scenes"][1]
    middle = (main["timeRange"]["start"] + main["timeRange"]["end"]) / 2
    clip_colour = frame_colour(clips["main"], 1.0)
    render, video = _render(api, pid, {"layout": "split", "captions": {"enabled": False}}, tmp_path)
    _checks_pass(render)
    # B-roll on top (cover-cropped: the clip's bars pass through the middle of the top half)
    assert _distance(_region_colour(video, middle, 0, 0, 1, 0.05), clip_colour) < 30
    assert _distance(_region_colour(video, middle, 0, 0.6, 1, 0.3), clip_colour) > 60  # the presenter below
    render, video = _render(api, pid, {"layout": "pip"}, tmp_path)
    _checks_pass(render)
    assert _distance(_region_colour(video, middle, 0.5, 0, 0.5, 0.2), clip_colour) < 30  # B-roll full frame
    assert _distance(_region_colour(video, middle, 0.12, 0.58, 0.24, 0.12), clip_colour) > 60  # the presenter's box
    render, video = _render(api, pid, {"layout": "full"}, tmp_path)
    _checks_pass(render)
    assert _distance(frame_colour(video, middle), clip_colour) < 30  # the B-roll over the whole scene
    start = main["timeRange"]["start"]
    assert _distance(frame_colour(video, start + 0.1), clip_colour) < 30  # from its start (no presenter part)


def test_captions_srt_lines_lie_inside_their_scenes_and_the_zip_is_named_after_the_project(api, ready_project, tmp_path):
    project, _ = ready_project
    pid = project["projectId"]
    render, video = _render(api, pid, {"layout": "cutaway", "captions": {"enabled": True, "size": "large"}}, tmp_path)
    _checks_pass(render)
    url = download_url(api, pid)
    slug = project["name"].lower().replace(" ", "-")
    assert f"{slug}.zip" in httpx.URL(url).params["response-content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(url).content))
    names = archive.namelist()
    assert {"captions.ass", "captions.srt", f"{slug}.mp4"} <= set(names), names
    ranges = [(s["timeRange"]["start"], s["timeRange"]["end"]) for s in project["scenes"]]
    blocks = archive.read("captions.srt").decode().strip().split("\n\n")
    assert len(blocks) >= len(ranges)
    for block in blocks:
        number, times, text = block.splitlines()
        start, end = (_srt_seconds(t) for t in times.split(" --> "))
        assert any(a - 0.001 <= start < end <= b + 0.001 for a, b in ranges), block
        assert 1 <= len(text.split()) <= 4
    assert "PlayResX: 270" in archive.read("captions.ass").decode()
    # The caption region of a frame at a caption's time differs from the same frame rendered without captions.
    at = next(_srt_seconds(b.splitlines()[1].split(" --> ")[0]) for b in blocks
              if _srt_seconds(b.splitlines()[1].split(" --> ")[0]) > 0.5) + 0.2
    _, plain = _render(api, pid, {"layout": "cutaway", "captions": {"enabled": False}}, tmp_path / "plain")
    band = (0.05, 0.55, 0.85, 0.22)  # the lower third, where the captions sit
    # Pixel by pixel, not the band's mean colour: a few words over a busy frame moved the mean by
    # as little as 11 of 441 (a flaky threshold), while their glyphs change many pixels outright.
    captioned = _changed_share(_region_pixels(video, at, *band), _region_pixels(plain, at, *band))
    top = _changed_share(_region_pixels(video, at, 0, 0, 1, 0.2), _region_pixels(plain, at, 0, 0, 1, 0.2))
    print(f"caption band: {captioned:.1%} of pixels changed; top fifth: {top:.1%}")
    assert captioned > 0.03 and top < 0.005, (captioned, top)
    _still(video, at, tmp_path / "captions-on.png")  # to be looked at (pytest's tmp folder)
    _still(plain, at, tmp_path / "captions-off.png")


def _still(video, at: float, target) -> None:
    """The frame at `at` as PNG."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-ss", f"{at:.3f}", "-i", str(video),
                    "-frames:v", "1", str(target)], check=True)


def _srt_seconds(text: str) -> float:
    clock, millis = text.split(",")
    h, m, s = (int(p) for p in clock.split(":"))
    return h * 3600 + m * 60 + s + int(millis) / 1000


@pytest.mark.parametrize("body", [{"share": 0.1}, {"share": "half"}, {"layout": "mosaic"}, {"overrides": {"hook": "zoom"}},
                                  {"overrides": {"nope": "full"}}, {"captions": {"colour": "red"}}, {"speed": 2}])
def test_bad_layout_settings_are_refused_and_change_nothing(api, project, body):
    pid = project["projectId"]
    answer = api.put(f"/api/projects/{pid}/layout", json=body)
    assert answer.status_code == 422 and answer.json()["error"], answer.text
    assert api.get(f"/api/projects/{pid}").json()["layout"]["share"] == 0.6


def test_layout_settings_merge_and_show_in_the_project(api, other_api, project):
    pid = project["projectId"]
    assert api.get(f"/api/projects/{pid}").json()["layout"] == {
        "layout": "cutaway", "share": 0.6, "minSceneSec": 2.0, "overrides": {},
        "captions": {"enabled": True, "position": "lower", "size": "medium", "highlight": True},
    }
    api.put(f"/api/projects/{pid}/layout", json={"share": 0.5, "overrides": {"main": "presenter"}})
    shown = api.put(f"/api/projects/{pid}/layout", json={"captions": {"position": "centre"}}).json()["layout"]
    assert shown["share"] == 0.5 and shown["overrides"] == {"main": "presenter"}
    assert shown["captions"] == {"enabled": True, "position": "centre", "size": "medium", "highlight": True}
    assert other_api.put(f"/api/projects/{pid}/layout", json={"share": 0.5}).status_code == 404
