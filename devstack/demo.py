"""The demo project: three scenes, a script, a voice-over and an avatar video, all made here."""

from __future__ import annotations

from pathlib import Path

import boto3
import httpx
from broll_common.logic.media import project_folder

from . import media
from .auth import DEMO_USER
from .template import ROOT

CACHE = ROOT / ".cache" / "demo"
AUDIO_SECONDS = 27.7
# In the demo user's own folder: an import may name only media inside the importer's folder.
AUDIO_KEY = project_folder(DEMO_USER, "demo") + "voiceover.m4a"
AVATAR_KEY = project_folder(DEMO_USER, "demo") + "avatar.mp4"

DEMO_PROJECT = {
    "projectId": "demo",
    "name": "Night trains are back in Europe",
    "stage3": {
        "editedScenes": [
            {
                "sceneId": "hook",
                "sceneTitle": "Hook",
                "sceneType": "hook",
                "text": "Night trains are back, and this winter they are selling out faster than flights.",
            },
            {
                "sceneId": "main",
                "sceneTitle": "Main",
                "sceneType": "main",
                "text": (
                    "Twelve new sleeper routes launch this month, linking capitals overnight. Operators say "
                    "bookings doubled since spring, as travellers swap short flights for a bed, a window and "
                    "arrival in the city centre at dawn. Prices start near those of a budget airline seat, "
                    "and most cabins now have power sockets and breakfast included."
                ),
            },
            {
                "sceneId": "cta",
                "sceneTitle": "CTA",
                "sceneType": "cta",
                "text": "Would you take the night train? Follow for the full route map tomorrow.",
            },
        ]
    },
    "stage4": {
        "audioKey": AUDIO_KEY,
        "audioDurationSec": AUDIO_SECONDS,
        "sceneTimings": [
            {"sceneId": "hook", "start": 0.0, "end": 3.2},
            {"sceneId": "main", "start": 3.2, "end": 18.4},
            {"sceneId": "cta", "start": 18.4, "end": AUDIO_SECONDS},
        ],
    },
    "stage5": {"avatarVideoKey": AVATAR_KEY},
}


def demo_media() -> tuple[Path, Path]:
    """Render the voice-over and the avatar once; later starts reuse them."""
    CACHE.mkdir(parents=True, exist_ok=True)
    audio, avatar = CACHE / "voiceover.m4a", CACHE / "avatar.mp4"
    if not audio.exists():
        media.render_voiceover(audio, seconds=AUDIO_SECONDS)
    if not avatar.exists():
        media.render_avatar(avatar, audio, seconds=AUDIO_SECONDS)
    return audio, avatar


def seed(api_url: str, media_bucket: str, token: str) -> dict:
    """Upload the demo media and import the project through the real API route, as the
    demo user (whom the local page signs in automatically)."""
    audio, avatar = demo_media()
    s3 = boto3.client("s3")
    s3.upload_file(str(audio), media_bucket, AUDIO_KEY, ExtraArgs={"ContentType": "audio/mp4"})
    s3.upload_file(str(avatar), media_bucket, AVATAR_KEY, ExtraArgs={"ContentType": "video/mp4"})
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.post(f"{api_url}/api/projects", json=DEMO_PROJECT, headers=headers, timeout=30)
    if response.status_code == 409:
        return httpx.get(f"{api_url}/api/projects/demo", headers=headers, timeout=30).json()
    response.raise_for_status()
    return response.json()
