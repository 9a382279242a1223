"""The probe and the composite's inputs against the packaged ffmpeg (no mocks): real tiny media are
described; a file that is not what it claims is NotMedia; and a playlist disguised as a voice-over
never makes ffmpeg fetch anything."""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from broll_common.clients.composite import CompositeFailed, render_composite
from broll_common.clients.probe import FfmpegProber, MediaProbe, NotMedia, get_prober, input_args, parse
from broll_common.logic.media_types import demuxer_for_key
from devstack import media

NOT_MEDIA = "The file is not audio or video ffmpeg can read."


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    mp3 = d / "voiceover.mp3"
    subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
                    "-i", "sine=frequency=440:duration=2", "-c:a", "libmp3lame", str(mp3)], check=True)
    return {"dir": d, "mp3": mp3, "mp4": media.render_clip(d / "clip.mp4", "probe", seconds=1.5, width=180, height=320)}


@pytest.fixture
def listener():
    """A local HTTP server that notes every request it gets (none are expected)."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def do_GET(self):  # noqa: N802 - http.server's name
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


def playlist(path, base_url):
    path.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
                    f"#EXTINF:2.0,\n{base_url}/secret.ts\n#EXT-X-ENDLIST\n")
    return path


def test_an_mp3_is_described(files):
    found = get_prober().probe(files["mp3"], demuxer_for_key("users/u/projects/p/media/voiceover-0123456789ab.mp3"))
    assert found.demuxer == "mp3" and found.duration_s == pytest.approx(2.0, abs=0.1)
    assert found.has_audio and not found.has_video and found.width is None and found.height is None


def test_an_mp4_is_described(files):
    found = FfmpegProber().probe(files["mp4"], "mov")
    assert (found.width, found.height, found.has_video, found.has_audio) == (180, 320, True, True)
    assert found.duration_s == pytest.approx(1.5, abs=0.1)


def test_a_text_file_named_mp4_is_not_media(tmp_path):
    fake = tmp_path / "avatar.mp4"
    fake.write_text("this is not a video")
    with pytest.raises(NotMedia) as refusal:
        FfmpegProber().probe(fake, "mov")
    assert refusal.value.message == NOT_MEDIA
    assert "Invalid data found" in refusal.value.stderr


def test_an_mp4_read_as_mp3_is_not_media(files):
    with pytest.raises(NotMedia):
        FfmpegProber().probe(files["mp4"], "mp3")


@pytest.mark.parametrize("demuxer", ["hls", "concat", "lavfi", "", "mov,mp4"])
def test_only_an_allowlisted_demuxer_is_ever_handed_to_ffmpeg(files, demuxer):
    with pytest.raises(ValueError):
        FfmpegProber().probe(files["mp3"], demuxer)


def test_every_input_is_a_local_file_read_as_its_demuxer(tmp_path):
    assert input_args(tmp_path / "a.mp3", "mp3") == ["-protocol_whitelist", "file", "-f", "mp3", "-i",
                                                     str(tmp_path / "a.mp3")]


def test_an_hls_playlist_named_mp3_is_never_fetched_from(files, listener, tmp_path):
    url, requests = listener
    # What this guards against: ffmpeg left to guess from the name reads the file as an HLS playlist
    # and opens what it lists.
    control = subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(playlist(tmp_path / "a.m3u8", url))],
        capture_output=True, text=True, timeout=60,
    )
    assert f"Opening '{url}/secret.ts'" in control.stderr

    voiceover = playlist(tmp_path / "voiceover.mp3", url)
    with pytest.raises(NotMedia) as refusal:
        FfmpegProber().probe(voiceover, "mp3")
    assert "[hls @" not in refusal.value.stderr and "Opening" not in refusal.value.stderr
    avatar = media.render_avatar(tmp_path / "avatar.mp4", files["mp3"], seconds=2.0, width=180, height=320)
    with pytest.raises(CompositeFailed):
        render_composite(avatar, voiceover, [], tmp_path / "out.mp4", voiceover_demuxer="mp3")
    assert requests == []
    assert not (tmp_path / "out.mp4").exists()


# -- the parser on ffmpeg's own words --------------------------------------------------------

PORTRAIT_PHONE = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'avatar.mp4':
  Duration: 00:00:12.50, start: 0.000000, bitrate: 8000 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080, 7800 kb/s, 30 fps
      Metadata:
        handler_name    : VideoHandle
      Side data:
        displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 192 kb/s
"""

MP3_WITH_COVER = """Input #0, mp3, from 'voiceover.mp3':
  Duration: 00:01:02.04, start: 0.025057, bitrate: 128 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 128 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 600x600, 90k tbr (attached pic)
"""


def test_a_rotated_phone_video_is_described_as_shown():
    assert parse(PORTRAIT_PHONE, "mov") == MediaProbe("mov", 12.5, True, True, 1080, 1920)


def test_cover_art_is_no_video():
    assert parse(MP3_WITH_COVER, "mp3") == MediaProbe("mp3", 62.04, False, True, None, None)


def test_no_duration_is_nothing():
    assert parse("Input #0, mp3, from 'x':\n  Duration: N/A, bitrate: N/A\n", "mp3") is None
