"""Where a project's files live in the media bucket, and the URLs we hand out for them.

Every file of a project sits in its owner's folder, `users/{owner}/projects/{projectId}/`:
the owner comes from the signed-in identity, never from the request, so nobody can name
(or be handed a presigned URL for) a file in somebody else's folder.
"""

from __future__ import annotations

from ..dal.media import get_media


def project_folder(owner: str | None, project_id: str) -> str:
    if not owner:
        raise ValueError(f"project {project_id} has no owner, so it has no media folder")
    return f"users/{owner}/projects/{project_id}/"


def clip_key(owner: str | None, project_id: str, scene_id: str, task_id: str) -> str:
    return f"{project_folder(owner, project_id)}broll/{scene_id}/{task_id}.mp4"


def in_folder(key: str, owner: str, project_id: str) -> bool:
    """The key names a file inside this project's folder (and climbs out of nothing)."""
    return key.startswith(project_folder(owner, project_id)) and ".." not in key.split("/")


def presigned_url(key: str, filename: str | None = None) -> str:
    """Our presigned GET URL; with `filename` (a slug of ours), downloaded under that name."""
    return get_media().presigned_url(key, filename) if filename else get_media().presigned_url(key)


def media_url(key: str | None) -> str | None:
    """Only our own copies are shown: an outside URL is fetched into the folder first."""
    return presigned_url(key) if key else None


def copy_from_url(source_url: str, key: str) -> None:
    """Stream a finished clip out of Kie (its URLs expire) into our bucket."""
    get_media().copy_from_url(source_url, key)
