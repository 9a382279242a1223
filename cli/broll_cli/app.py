"""`broll`: B-Roll Studio from a terminal, against the local stack or a deployed API.

    broll [--api URL] [--token TOKEN | --user NAME] projects
    broll new FILE.json | --name NAME --scenes-file FILE [--voiceover FILE] [--avatar FILE] [--duration S]
    broll upload PROJECT [--voiceover FILE] [--avatar FILE]
    broll status PROJECT
    broll generate-all PROJECT [--max-clips N] [--max-credits C] [--yes] [--interval S] [--timeout S]
    broll download PROJECT [DIR] [--interval S] [--timeout S]
    broll render PROJECT [--wait | --no-wait] [--interval S] [--timeout S]

Exit codes: 0 done · 1 a scene or render failed, the API refused the request (4xx), or a wait
timed out · 2 usage (bad options, no token for a remote API, a confirmation needed) ·
3 the API is unreachable or failed (5xx) · 130 interrupted (server-side work goes on).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.prompt import Confirm
from rich.table import Column, Table
from rich.text import Text

from .client import Api, ApiError, is_local, local_token, path
from .progress import DONE, FAILED, IDLE, WORKING, Job, JobBoard, download_bar, say
from .uploads import add_parsers, cmd_new, cmd_upload

DEFAULT_API = "http://127.0.0.1:8000"
API_HELP = f"API base URL (env BROLL_API_URL, else {DEFAULT_API})"
TOKEN_HELP = "bearer token (env BROLL_TOKEN; the local stack needs none)"
DEMO_USER = "demo-user"  # whom the local stack signs in when no user is named
USER_HELP = f"the local stack only: sign in as this user (env BROLL_USER, else {DEMO_USER})"
OK, FAILURE, USAGE, UNAVAILABLE, INTERRUPTED = 0, 1, 2, 3, 130
# A long watch should survive a brief blip (a deploy, a cold start) but not spin against a dead API.
MAX_POLL_FAILURES = 5
ROUTE_MISSING = {"Not Found", "No such route."}  # the gateway's and the resolver's 404 for an unknown route

SCENE_KINDS = {"generating": WORKING, "completed": DONE, "failed": FAILED, "idle": IDLE}
RENDER_KINDS = {"rendering": WORKING, "completed": DONE, "failed": FAILED}
ZIP_KINDS = {"building": WORKING, "ready": DONE, "failed": FAILED}
STATUS_WORDS = {"generating": "Generating…", "completed": "Ready", "failed": "Failed", "idle": "Idle"}
STATUS_STYLES = {"generating": "cyan", "completed": "green", "failed": "red"}
NOTHING_CHARGED = "starts by itself, nothing charged yet."


@dataclass
class Context:
    api: Api
    out: Console
    err: Console
    args: argparse.Namespace


# ---------------------------------------------------------------- helpers


def credits(value: float | int) -> str:
    value = float(value)
    return f"{int(value):,}" if value.is_integer() else f"{value:,.1f}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def local_time(moment: datetime) -> str:
    """A time on this machine's clock (local, as the page shows it): "14:03", "tomorrow 01:00", "Fri 5 Dec 01:00"."""
    moment = moment.astimezone()
    day = moment.date()
    if day == date.today():
        return f"{moment:%H:%M}"
    if day == date.today() + timedelta(days=1):
        return f"tomorrow {moment:%H:%M}"
    return f"{moment:%a} {day.day} {moment:%b %H:%M}"


def waiting_text(scene: dict) -> str | None:
    """A generating scene queued because of Kie.ai, as the page says it (local time); the API's
    statusNote when the reason is unknown; None when the scene is not waiting."""
    if scene.get("status") != "generating":
        return None
    wait = scene.get("waiting") or {}
    if wait.get("reason") in ("rate_limited", "busy"):
        return f"Waiting for a free Kie.ai slot; {NOTHING_CHARGED}"
    if wait.get("reason") == "kie_down" and isinstance(wait.get("since"), (int, float)):
        return f"Waiting for Kie.ai (down since {local_time(datetime.fromtimestamp(wait['since']))}); {NOTHING_CHARGED}"
    return scene.get("statusNote")


def late_text(scene: dict) -> str | None:
    """The scene's cancelled clips Kie.ai is still making (lateClips), as the page says it; None when none."""
    count = scene.get("lateClips") or 0
    if count <= 0:
        return None
    if count == 1:
        return "1 cancelled clip is still being made at Kie.ai; it lands in History when done."
    return f"{count} cancelled clips are still being made at Kie.ai; they land in History when done."


def remaining_label(left: float, source: str | None) -> str:
    """The estimate's remainingCredits as its source says it (a system-key user sees their quota)."""
    if source == "daily_quota":
        return f"your daily quota: {credits(left)} credits left"
    if source == "kie_balance":
        return f"{credits(left)} credits left on your Kie.ai key"
    return f"{credits(left)} credits left"


def spend_line(spend: dict | None) -> str | None:
    """Project.spend: "Spent: about 240 credits estimated · 232 charged (3 clips)"; None before any clip."""
    clips = (spend or {}).get("clips") or 0
    if not clips:
        return None
    line = f"Spent: about {credits(spend.get('estimatedCredits') or 0)} credits estimated"
    charged, known = credits(spend.get("chargedCredits") or 0), spend.get("chargedClips") or 0
    if known == clips:
        return f"{line} · {charged} charged ({plural(clips, 'clip')})"
    # Kie reports a charge after the clip, and not always: say how many are known.
    return f"{line} ({plural(clips, 'clip')}) · " + (f"{charged} charged for {known} so far" if known
                                                      else "no charge reported yet")


def quota_line(quota: dict | None) -> str | None:
    """Project.quota (system-key users only), the reset in local time; None for own-key users."""
    if not quota:
        return None
    resets = local_time(datetime.fromisoformat(quota["resetsAt"].replace("Z", "+00:00")))
    return f"Daily quota: {credits(quota['left'])} of {credits(quota['dailyCredits'])} credits left · resets {resets}"


def scene_job(scene: dict | None, scene_id: str) -> Job:
    if scene is None:
        # Re-imported meanwhile: the scene is gone, nothing more will happen to it.
        return Job(scene_id, scene_id, IDLE, idle_label="No longer in the project")
    return Job(scene_id, scene.get("sceneTitle") or scene_id, SCENE_KINDS.get(scene.get("status"), IDLE),
               progress=scene.get("progress") or 0, error=scene.get("error"),
               working_label=waiting_text(scene) or "Generating…")


def render_job(render: dict) -> Job:
    return Job("render", "Final video", RENDER_KINDS.get(render.get("status"), IDLE),
               progress=render.get("progress") or 0,
               error=render.get("error"), working_label="Rendering…", done_label="Done", idle_label="Not rendering")


def zip_job(answer: dict) -> Job:
    # An API that answers only {"url"} made the ZIP within the request: ready.
    return Job("zip", "ZIP", ZIP_KINDS.get(answer.get("status") or "ready", IDLE), progress=answer.get("progress") or 0,
               error=answer.get("error"), working_label="Preparing the ZIP…", done_label="Ready")


def report_failures(ctx: Context, jobs: list[Job], total: int) -> None:
    failed = [j for j in jobs if j.kind == FAILED]
    if failed:
        say(ctx.err, f"{len(failed)} of {plural(total, 'scene')} failed:", "red")
        for job in failed:
            say(ctx.err, f"  {job.title}: {job.error or 'no reason given'}")


def poll(ctx: Context, url: str, failures: list[int]) -> dict | None:
    """One progress read; None after a transient failure (reported), raising once they pile up."""
    try:
        answer = ctx.api.get(url)
    except ApiError as exc:
        failures[0] += 1
        if not exc.transient or failures[0] > MAX_POLL_FAILURES:
            raise
        say(ctx.err, f"Could not read progress ({exc.message}); trying again.")
        return None
    failures[0] = 0
    return answer


# ---------------------------------------------------------------- commands


def cmd_projects(ctx: Context) -> int:
    listed = ctx.api.get(path("projects"))["projects"]

    def counts(item: dict) -> tuple[int, int, int, int] | None:
        # The list carries no scene counts: read each project (side by side, the list is short).
        if {"scenesReady", "scenesTotal"} <= item.keys():
            return (item["scenesReady"], item["scenesTotal"],
                    item.get("scenesGenerating", 0), item.get("scenesFailed", 0))
        try:
            scenes = ctx.api.get(path("projects", item["projectId"]))["scenes"]
        except ApiError:
            return None
        by = [s.get("status") for s in scenes]
        return by.count("completed"), len(by), by.count("generating"), by.count("failed")

    with ThreadPoolExecutor(max_workers=8) as pool:
        summaries = list(pool.map(counts, listed))
    if not listed:
        say(ctx.out, "No projects yet.")
        return OK
    # An id is typed back into other commands: fold it on a narrow terminal, never cut it.
    table = Table(Column("ID", overflow="fold"), "Name", "Clips ready", "Status")
    for item, summary in zip(listed, summaries):
        if summary is None:
            ready, state = "?", Text("could not be read", style="yellow")
        else:
            done, total, generating, failed = summary
            ready = f"{done}/{total}"
            if item.get("step7Status") == "completed":
                state = Text("Complete", style="green")
            elif generating:
                state = Text(f"Generating {generating}", style="cyan")
            elif failed:
                state = Text(f"{failed} failed", style="red")
            else:
                state = Text("In progress")
        table.add_row(Text(item["projectId"]), Text(item.get("name") or ""), ready, state)
    ctx.out.print(table)
    return OK


def cmd_status(ctx: Context) -> int:
    pid = ctx.args.project
    project = ctx.api.get(path("projects", pid))
    step7 = (project.get("step7") or {}).get("status", "in_progress").replace("_", " ")
    say(ctx.out, f"{project.get('name') or pid} ({pid}) · step 7 {step7}")
    for line in (spend_line(project.get("spend")), quota_line(project.get("quota"))):
        if line:
            say(ctx.out, line)
    # Note: a failed scene's reason, or why a generating one waits for Kie.ai; and the cancelled
    # clips Kie.ai is still making for it.
    table = Table("#", "Scene", "Time", "Status", "Progress", "Note")
    for number, scene in enumerate(project["scenes"], 1):
        status = scene.get("status", "idle")
        progress = 100 if status == "completed" else scene.get("progress") or 0
        waiting = waiting_text(scene)
        note = " ".join(part for part in (waiting or scene.get("error"), late_text(scene)) if part)
        table.add_row(str(number), Text(scene.get("sceneTitle") or scene["sceneId"]),
                      (scene.get("timeRange") or {}).get("label", ""),
                      Text("Waiting" if waiting else STATUS_WORDS.get(status, status),
                           style="yellow" if waiting else STATUS_STYLES.get(status, "")),
                      f"{progress} %", Text(note))
    ctx.out.print(table)
    jobs = [scene_job(s, s["sceneId"]) for s in project["scenes"]]
    if any(j.kind == FAILED for j in jobs):
        report_failures(ctx, jobs, len(jobs))
        return FAILURE
    return OK


def _whole_scenes(scene_clips: list[int], cap: int) -> int:
    """The clips of the whole scenes, in timeline order, that fit in `cap` clips (as the API starts them)."""
    starting = 0
    for clips in scene_clips:
        if starting + clips > cap:
            break
        starting += clips
    return starting


def _estimate(ctx: Context, pid: str) -> tuple[int | None, str | None]:
    """(clips that will start, the line to print); (None, None) when the API offers no estimate."""
    try:
        estimate = ctx.api.get(path("projects", pid, "broll", "estimate"))
    except ApiError as exc:
        if exc.status == 404:
            # An API without the estimate route (or an unknown project, which generate-all reports).
            return None, None
        raise
    clips, per = int(estimate["clips"]), estimate["creditsPerClip"]
    # The same caps the API applies: the lower of --max-clips and what --max-credits pays for, and
    # (remainingSource set: the credits left are known) the clips those cover.
    caps = [clips]
    if ctx.args.max_clips is not None:
        caps.append(ctx.args.max_clips)
    if ctx.args.max_credits is not None and per:
        caps.append(int(ctx.args.max_credits // per))
    asked = min(caps)
    afford = int(estimate.get("startableClips") or 0) if estimate.get("remainingSource") else None
    starting = _whole_scenes(estimate["sceneClips"], asked if afford is None else min(asked, afford))
    # Scenes and clips both, as the page says them: a long scene takes several clips.
    counted = f"{plural(int(estimate['scenes']), 'scene')} · " if estimate.get("scenes") else ""
    line = f"{counted}{plural(clips, 'clip')}"
    if starting < clips:
        line += f" · at most {starting} will start (whole scenes, in timeline order)"
    line += f" · about {credits(starting * per)} credits ({credits(per)} each)"
    price = estimate.get("price") or {}
    if price.get("measured") is not None:
        line += f" (measured: {credits(price['measured'])} per clip over {plural(price.get('samples') or 0, 'clip')})"
    remaining = estimate.get("remainingCredits")
    if remaining is not None:
        line += f" · {remaining_label(remaining, estimate.get('remainingSource'))}"
    if afford is not None and afford < asked:
        line += (f"\nOnly {starting} of {plural(asked, 'clip')} fit in what is left; "
                 f"generate-all starts those {starting}." if starting else "\nNone of these clips fit in what is left: nothing would start.")
    elif not starting and clips:
        line += f"\nThe first scene alone takes {plural(estimate['sceneClips'][0], 'clip')}: nothing would start."
    if remaining is None and estimate.get("note"):
        line += f"\n{estimate['note']}"  # why the credits left are unknown (a cap they make is said above)
    return starting, line


def _confirmed(ctx: Context, clips: int | None) -> bool | None:
    """True to go on; False when the person said no; None when a question cannot be asked."""
    if ctx.args.yes or clips == 0:
        return True
    if not sys.stdin.isatty():
        return None
    question = f"Start {plural(clips, 'clip')}?" if clips is not None else "Start generating (this spends Kie credits)?"
    return Confirm.ask(question, default=False, console=ctx.out)


def cmd_generate_all(ctx: Context) -> int:
    pid = ctx.args.project
    clips, line = _estimate(ctx, pid)
    if line:
        say(ctx.out, line)
    confirmed = _confirmed(ctx, clips)
    if confirmed is None:
        say(ctx.err, "Generating spends Kie credits and stdin is not a terminal to ask: pass --yes to start.")
        return USAGE
    if not confirmed:
        say(ctx.out, "Nothing started.")
        return OK
    body = {key: value for key, value in (("maxClips", ctx.args.max_clips), ("maxCredits", ctx.args.max_credits))
            if value is not None}
    result = ctx.api.post(path("projects", pid, "broll", "generate-all"), body)
    watch = [s["sceneId"] for s in result["started"]]
    say(ctx.out, f"Started {plural(len(watch), 'scene')}.")
    skipped_all = result.get("skipped", [])
    for skipped in skipped_all:
        reason = skipped.get("reason", "")
        if reason == "generating":
            # Already running (e.g. a watch that was interrupted): follow it to the end too.
            watch.append(skipped["sceneId"])
            reason = "already generating, following it"
        say(ctx.out, f"Skipped {skipped['sceneId']}: {reason}")
    if not watch:
        done = all(s.get("reason") == "completed" for s in skipped_all)
        say(ctx.out, "Nothing to generate: every scene already has a clip." if done else "Nothing started.")
        return OK

    deadline = time.monotonic() + ctx.args.timeout
    failures = [0]
    jobs: list[Job] = []
    try:
        with JobBoard(ctx.out) as board:
            while True:
                project = poll(ctx, path("projects", pid), failures)
                if project is not None:
                    scenes = {s["sceneId"]: s for s in project["scenes"]}
                    jobs = [scene_job(scenes.get(sid), sid) for sid in watch]
                    board.update(jobs)
                    if all(j.kind != WORKING for j in jobs):
                        break
                if time.monotonic() >= deadline:
                    break
                time.sleep(ctx.args.interval)
    except KeyboardInterrupt:
        say(ctx.err, f"Stopped watching. The scenes keep generating on the server: `broll status {pid}` shows them.")
        return INTERRUPTED

    still = [j for j in jobs if j.kind == WORKING] if jobs else watch
    if still:
        say(ctx.err, f"Stopped waiting after {ctx.args.timeout:g} s with {plural(len(still), 'scene')} "
                     f"still generating on the server: `broll status {pid}` shows them later.")
        return FAILURE
    report_failures(ctx, jobs, len(jobs))
    others = [j for j in jobs if j.kind == IDLE]
    for job in others:
        say(ctx.err, f"  {job.title}: {job.label().lower()} before it finished.")
    if any(j.kind != DONE for j in jobs):
        return FAILURE
    say(ctx.out, "The clip is ready." if len(jobs) == 1 else f"All {len(jobs)} clips ready.", "green")
    return OK


def _follow(ctx: Context, url: str, answer: dict, to_job) -> tuple[dict, Job]:
    """Show the job and read `url` again every --interval until it is no longer working or
    --timeout has passed; the last (answer, job). Ctrl-C reaches the caller, which says what goes on."""
    job = to_job(answer)
    deadline = time.monotonic() + ctx.args.timeout
    failures = [0]
    with JobBoard(ctx.out) as board:
        board.update([job])
        while job.kind == WORKING and time.monotonic() < deadline:
            time.sleep(ctx.args.interval)
            polled = poll(ctx, url, failures)
            if polled is not None:
                answer, job = polled, to_job(polled)
                board.update([job])
    return answer, job


def _zip_link(ctx: Context, pid: str) -> tuple[str | None, int]:
    """(the ZIP's URL, OK), or (None, the exit code). The API answers the URL at once when a
    ZIP of the project's current content exists; otherwise it builds one in the background
    (202 "building"), and this asks again until the URL comes."""
    url = path("projects", pid, "download")
    answer = ctx.api.get(url)
    job = zip_job(answer)
    if job.kind == WORKING:
        try:
            answer, job = _follow(ctx, url, answer, zip_job)
        except KeyboardInterrupt:
            say(ctx.err, f"Stopped waiting. The ZIP is still being prepared on the server: `broll download {pid}` "
                         "fetches it once it is ready.")
            return None, INTERRUPTED
        if job.kind == WORKING:
            say(ctx.err, f"Stopped waiting after {ctx.args.timeout:g} s; the ZIP is still being prepared on the "
                         f"server: `broll download {pid}` fetches it once it is ready.")
            return None, FAILURE
    if job.kind == FAILED or not answer.get("url"):
        # Asked again, the API builds it again: the sentence says whether that can help.
        say(ctx.err, job.error or "The API gave no link to the ZIP.")
        return None, FAILURE
    return answer["url"], OK


def cmd_download(ctx: Context) -> int:
    pid = ctx.args.project
    link, code = _zip_link(ctx, pid)
    if link is None:
        return code
    if link.startswith("/"):
        link = ctx.api.base_url + link
    # The id names the file; anything that is not a plain file-name character becomes "_".
    target = Path(ctx.args.dir) / f"{re.sub(r'[^A-Za-z0-9._-]', '_', pid)}.zip"
    with download_bar(ctx.out) as bar:
        task = bar.add_task(target.name, total=None)
        ctx.api.fetch_file(link, target, on_start=lambda total: bar.update(task, total=total),
                           on_chunk=lambda size: bar.advance(task, size))
    say(ctx.out, str(target))
    return OK


def cmd_render(ctx: Context) -> int:
    pid = ctx.args.project
    try:
        render = ctx.api.post(path("projects", pid, "render"), {})["render"]
    except ApiError as exc:
        if exc.status == 404 and exc.message in ROUTE_MISSING:
            say(ctx.err, f"This API has no render route (POST /api/projects/{pid}/render answered 404).")
            return FAILURE
        raise
    job = render_job(render)
    if not ctx.args.wait:
        shown = f"{job.label()} {job.progress} %" if job.kind == WORKING else job.label()
        say(ctx.out, f"Final video: {shown}")
    else:
        try:
            answer, job = _follow(ctx, path("projects", pid, "render"), {"render": render},
                                  lambda answer: render_job(answer["render"]))
            render = answer["render"]
        except KeyboardInterrupt:
            say(ctx.err, f"Stopped watching. The video keeps rendering on the server: `broll render {pid}` "
                         "follows it again.")
            return INTERRUPTED
        if job.kind == WORKING:
            say(ctx.err, f"Stopped waiting after {ctx.args.timeout:g} s; the video is still rendering on the server.")
            return FAILURE
    if job.kind == FAILED:
        say(ctx.err, f"The render failed: {job.error or 'no reason given'}")
        return FAILURE
    if job.kind == DONE and render.get("videoUrl"):
        say(ctx.out, render["videoUrl"])
    return OK


COMMANDS = {
    "projects": cmd_projects,
    "status": cmd_status,
    "generate-all": cmd_generate_all,
    "download": cmd_download,
    "render": cmd_render,
    "new": cmd_new,
    "upload": cmd_upload,
}


# ---------------------------------------------------------------- arguments


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    # --api/--token are accepted before or after the command; after it they win (SUPPRESS keeps
    # a subcommand from overwriting a value given before it with its own empty default).
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--api", default=argparse.SUPPRESS, help=API_HELP)
    shared.add_argument("--token", default=argparse.SUPPRESS, help=TOKEN_HELP)
    shared.add_argument("--user", default=argparse.SUPPRESS, help=USER_HELP)

    parser = argparse.ArgumentParser(prog="broll", description="B-Roll Studio from the command line.",
                                     epilog="Exit codes: 0 ok, 1 failed, 2 usage, 3 API unreachable or 5xx, "
                                            "130 interrupted.")
    parser.add_argument("--api", default=None, help=API_HELP)
    parser.add_argument("--token", default=None, help=TOKEN_HELP)
    parser.add_argument("--user", default=None, help=USER_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("projects", parents=[shared], help="list your projects")

    status = commands.add_parser("status", parents=[shared], help="scenes of a project; exit 1 if any failed")
    status.add_argument("project")

    generate = commands.add_parser("generate-all", parents=[shared],
                                   help="generate every scene without a clip and follow them to the end")
    generate.add_argument("project")
    generate.add_argument("--max-clips", type=_positive(int), metavar="N",
                          help="budget cap: start at most N clips in this batch")
    generate.add_argument("--max-credits", type=_positive(float), metavar="C",
                          help="budget cap: start only as many clips as C Kie credits pay for")
    generate.add_argument("--yes", "-y", action="store_true", help="start without asking")
    generate.add_argument("--interval", type=_positive(float), default=1.0, metavar="S", help="seconds between reads")
    generate.add_argument("--timeout", type=_positive(float), default=1800.0, metavar="S",
                          help="give up waiting after S seconds (default 1800)")

    download = commands.add_parser("download", parents=[shared], help="download the project's ZIP")
    download.add_argument("project")
    download.add_argument("dir", nargs="?", default=".", help="folder to write PROJECT.zip into (default .)")
    download.add_argument("--interval", type=_positive(float), default=1.0, metavar="S",
                          help="seconds between reads while the ZIP is prepared")
    download.add_argument("--timeout", type=_positive(float), default=900.0, metavar="S",
                          help="give up waiting for the ZIP after S seconds (default 900)")

    render = commands.add_parser("render", parents=[shared], help="render the final video")
    render.add_argument("project")
    render.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                        help="follow the render to the end (default) or only start it")
    render.add_argument("--interval", type=_positive(float), default=1.0, metavar="S", help="seconds between reads")
    render.add_argument("--timeout", type=_positive(float), default=1800.0, metavar="S",
                        help="give up waiting after S seconds (default 1800)")
    add_parsers(commands, shared, _positive)
    return parser


def _token(api_url: str, given: str | None, user: str, err: Console, transport) -> tuple[str | None, int]:
    if given:
        return given, OK
    if not is_local(api_url):
        say(err, f"{api_url} needs a sign-in token: pass --token TOKEN or set BROLL_TOKEN to an access token from "
                 "its Cognito user pool (sign in on the page; only the local stack signs tokens by itself).")
        return None, USAGE
    try:
        return local_token(api_url, user, transport), OK
    except ApiError as exc:
        say(err, exc.message)
        return None, USAGE if exc.status is not None else UNAVAILABLE


def main(argv: list[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    """Run one command; returns the exit code. `transport` lets tests answer HTTP in-process."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): a code, never an exception
        return exc.code if isinstance(exc.code, int) else USAGE
    out, err = Console(), Console(stderr=True)
    api_url = (args.api or os.environ.get("BROLL_API_URL") or DEFAULT_API).rstrip("/")
    user = args.user or os.environ.get("BROLL_USER") or DEMO_USER
    token, code = _token(api_url, args.token or os.environ.get("BROLL_TOKEN"), user, err, transport)
    if token is None:
        return code
    try:
        with Api(api_url, token, transport=transport) as api:
            return COMMANDS[args.command](Context(api, out, err, args))
    except ApiError as exc:
        for line in exc.lines():
            say(err, line)
        return exc.exit_code
    except KeyError as exc:
        # An answer without a field this CLI reads: an API of another version, not a user error.
        say(err, f"The API's answer has no {exc.args[0]!r}: this CLI and the API may be of different versions.")
        return UNAVAILABLE
    except KeyboardInterrupt:
        say(err, "Interrupted.")
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
