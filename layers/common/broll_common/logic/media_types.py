"""Which media files the studio takes, read from the allowlist (models/domain.py: MEDIA_TYPES).

A stored key's extension is the only thing that says how ffmpeg reads the file, and it is looked
up here: an extension off the list is refused, never guessed, never handed to ffmpeg.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ..models.domain import MEDIA_TYPES

# extension -> demuxer, over every kind (no extension is shared by two kinds).
_DEMUXERS = {ext: demuxer for types in MEDIA_TYPES.values() for ext, demuxer in types.values()}
DEMUXERS = frozenset(_DEMUXERS.values())


def content_types(kind: str) -> tuple[str, ...]:
    """The content types a file of this kind may have; KeyError for an unknown kind."""
    return tuple(MEDIA_TYPES[kind])


def extension_for(kind: str, content_type: str) -> str:
    """The extension our copy of a file of this kind and content type is named with."""
    entry = MEDIA_TYPES.get(kind, {}).get(content_type.split(";")[0].strip().lower())
    if entry is None:
        raise ValueError(f"A {content_type or 'file without a content type'} file is not a {kind} the studio takes.")
    return entry[0]


def key_extension(key: str) -> str:
    """The key's extension, lower case and without the dot ('' when it has none)."""
    return PurePosixPath(key).suffix.lower().lstrip(".")


def demuxer_for_key(key: str) -> str:
    """The ffmpeg demuxer (`-f`) a stored file is read with; ValueError when its extension is off the list."""
    extension = key_extension(key)
    if extension not in _DEMUXERS:
        named = f"A file ending .{extension}" if extension else "A file without an extension"
        raise ValueError(f"{named} is not audio or video the studio can read.")
    return _DEMUXERS[extension]


# What a fetched file's Content-Type may start with; its allowlisted type, or failing that its
# name's extension, then says which of the kind's formats it is (the probe checks it is one).
_FAMILIES = {"voiceover": ("audio/",), "avatar": ("video/",)}


def content_type_prefixes(kind: str) -> tuple[str, ...]:
    return _FAMILIES[kind]


def described(kind: str) -> str:
    """The kind's formats, as the person reads them: "MP3, WAV, M4A, AAC, OGG or FLAC"."""
    names = list(dict.fromkeys(ext.upper() for ext, _ in MEDIA_TYPES[kind].values()))
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def known_extension(kind: str, content_type: str) -> str | None:
    """extension_for, or None for a type off the kind's list."""
    try:
        return extension_for(kind, content_type)
    except ValueError:
        return None


def extension_in_url(kind: str, url: str) -> str | None:
    """The extension of the URL's path, if it is one of the kind's."""
    extension = key_extension(urlsplit(url).path)
    return extension if any(extension == ext for ext, _ in MEDIA_TYPES[kind].values()) else None


def content_type_for_key(key: str) -> str:
    """The content type our copy is stored with (the first listed for its extension)."""
    extension = key_extension(key)
    for types in MEDIA_TYPES.values():
        for content_type, (ext, _) in types.items():
            if ext == extension:
                return content_type
    raise ValueError(f"A file ending .{extension} is not audio or video the studio can read.")
