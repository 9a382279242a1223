"""`broll new` and `broll upload`: a project from a JSON body or from a name, a scenes file and
the person's voice-over and avatar files, which go to storage through a presigned S3 POST and
are then checked by the server (its probe) before the project uses them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .client import ApiError, path, upload_form
from .media import FileProblem, content_type, duration_s, read_scenes
from .progress import DONE, FAILED, WORKING, Job, JobBoard, download_bar, say

if TYPE_CHECKING:
    from .app import Context

OK, FAILURE, USAGE = 0, 1, 2
MEDIA_KINDS = {"probing": WORKING, "fetching": WORKING, "ready": DONE, "failed": FAILED}
TITLES = {"voiceover": "Voice-over", "avatar": "Avatar video"}
VIEW_FIELDS = {"voiceover": "audio", "avatar": "avatarVideo"}  # where the project view shows each kind's media


def _given_files(args) -> list[tuple[str, Path]]:
    return [(kind, Path(file)) for kind, file in (("voiceover", args.voiceover), ("avatar", args.avatar)) if file]


def _media_of(project: dict, kind: str) -> dict | None:
    return (project.get(VIEW_FIELDS[kind]) or {}).get("media")


def _ready_label(media: dict) -> str:
    facts = []
    if media.get("durationSec") is not None:
        facts.append(f"{media['durationSec']:g} s")
    if media.get("width") and media.get("height"):
        facts.append(f"{media['width']}×{media['height']}" + (f" ({media['aspect']})" if media.get("aspect") else ""))
    return "Ready" + (f" · {', '.join(facts)}" if facts else "")


def _media_job(kind: str, media: dict | None) -> Job:
    media = media or {}
    return Job(kind, TITLES[kind], MEDIA_KINDS.get(media.get("status"), WORKING), error=media.get("error"),
               working_label="Checking the file…", done_label=_ready_label(media))


def _wait_for_media(ctx: Context, pid: str, kind: str, project: dict) -> int:
    """Follow the server's check of the file until it is ready or refused (or --timeout)."""
    job = _media_job(kind, _media_of(project, kind))
    deadline = time.monotonic() + ctx.args.timeout
    with JobBoard(ctx.out) as board:
        board.update([job])
        while job.kind == WORKING and time.monotonic() < deadline:
            time.sleep(ctx.args.interval)
            project = ctx.api.get(path("projects", pid))
            job = _media_job(kind, _media_of(project, kind))
            board.update([job])
    if job.kind == WORKING:
        say(ctx.err, f"Stopped waiting after {ctx.args.timeout:g} s; the server is still checking the {kind}: "
                     f"`broll status {pid}` shows the project later.")
        return FAILURE
    if job.kind == FAILED:
        say(ctx.err, f"{TITLES[kind]} refused: {job.error or 'no reason given'}")
        return FAILURE
    mismatch = (_media_of(project, kind) or {}).get("durationMismatchSec")
    if mismatch:
        longer = "longer" if mismatch > 0 else "shorter"
        say(ctx.err, f"The voice-over file is {abs(mismatch):g} s {longer} than the project's declared length; the "
                     "scene timings follow the declared one until the file's duration is taken (on the page).",
            "yellow")
    return OK


def upload(ctx: Context, pid: str, kind: str, file: Path) -> int:
    """One file into the project: a presigned POST from the API, the file to S3 with a progress bar,
    then the API told to use it and followed while it checks the file."""
    kind_type = content_type(kind, file)
    size = file.stat().st_size
    form = ctx.api.post(path("projects", pid, "uploads"), {"kind": kind, "contentType": kind_type, "size": size})
    with download_bar(ctx.out) as bar:
        task = bar.add_task(f"{TITLES[kind]} {file.name}", total=size)
        upload_form(form["url"], form["fields"], file, kind_type, lambda sent: bar.advance(task, sent),
                    transport=ctx.api.transport)
    project = ctx.api.post(path("projects", pid, "media", kind), {"key": form["key"]})
    return _wait_for_media(ctx, pid, kind, project)


def _new_body(args) -> dict:
    if args.file:
        try:
            return json.loads(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise FileProblem(f"{args.file} is not a readable JSON file: {exc}.") from exc
    if args.duration is None and not args.voiceover:
        raise FileProblem("Give --voiceover FILE (its length is read from it) or --duration SECONDS.")
    seconds = args.duration if args.duration is not None else duration_s(Path(args.voiceover))
    return {"name": args.name, "stage3": {"editedScenes": read_scenes(Path(args.scenes_file))},
            "stage4": {"audioDurationSec": seconds}}


def cmd_new(ctx: Context) -> int:
    args = ctx.args
    from_form = bool(args.name or args.scenes_file)
    if bool(args.file) == from_form or (from_form and not (args.name and args.scenes_file)):
        say(ctx.err, "Give either a JSON file (the POST /api/projects body) or --name and --scenes-file.")
        return USAGE
    try:
        files = _given_files(args)
        for kind, file in files:
            content_type(kind, file)  # every file checked before anything is made
        body = _new_body(args)
    except FileProblem as problem:
        say(ctx.err, str(problem))
        return USAGE
    project = ctx.api.post(path("projects"), body)
    pid = project["projectId"]
    say(ctx.out, f"Created {pid}: {project.get('name', '')}")
    for kind, file in files:
        try:
            code = upload(ctx, pid, kind, file)
        except ApiError as exc:
            for line in exc.lines():
                say(ctx.err, line)
            code = exc.exit_code
        if code != OK:
            say(ctx.err, f"The project {pid} was made; `broll upload {pid} --{kind} FILE` tries the {kind} again.")
            return code
    say(ctx.out, pid)
    return OK


def cmd_upload(ctx: Context) -> int:
    files = _given_files(ctx.args)
    if not files:
        say(ctx.err, "Give --voiceover FILE and/or --avatar FILE.")
        return USAGE
    try:
        for kind, file in files:
            content_type(kind, file)
    except FileProblem as problem:
        say(ctx.err, str(problem))
        return USAGE
    for kind, file in files:
        code = upload(ctx, ctx.args.project, kind, file)
        if code != OK:
            return code
    return OK


def add_parsers(commands, shared, positive) -> None:
    media = {"voiceover": "the voice-over file (mp3, wav, m4a, aac, ogg, flac)",
             "avatar": "the avatar video file (mp4, mov, webm)"}

    def waits(parser) -> None:
        for kind, text in media.items():
            parser.add_argument(f"--{kind}", metavar="FILE", help=text)
        parser.add_argument("--interval", type=positive(float), default=1.0, metavar="S", help="seconds between reads")
        parser.add_argument("--timeout", type=positive(float), default=300.0, metavar="S",
                            help="give up waiting for the server's check of a file after S seconds (default 300)")

    new = commands.add_parser("new", parents=[shared], help="make a project, from a JSON body or from files")
    new.add_argument("file", nargs="?", help="a JSON file with the POST /api/projects body (stage 3/4/5)")
    new.add_argument("--name", help="the project's name (with --scenes-file)")
    new.add_argument("--scenes-file", metavar="FILE",
                     help="scenes as text: blocks split by a blank line, a title line ([hook]/[main]/[cta] after "
                          "it if you like), then the narration")
    new.add_argument("--duration", type=positive(float), metavar="S",
                     help="the voice-over's length in seconds (default: read from --voiceover)")
    waits(new)

    upload_parser = commands.add_parser("upload", parents=[shared], help="upload a project's voice-over or avatar")
    upload_parser.add_argument("project")
    waits(upload_parser)


__all__ = ["add_parsers", "cmd_new", "cmd_upload", "upload"]
