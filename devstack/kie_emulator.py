"""A local Kie.ai Veo 3 emulator speaking the wire contract in KIE.md, with injectable faults.

It renders real (synthetic) MP4s with devstack.media so the whole pipeline - submit, poll,
callback, download, store, play - can run offline and in tests. Admin endpoints under
/_emulator/ change faults at run time; they have no auth, which is why the server only ever
binds a loopback address.

Run standalone: python -m devstack.kie_emulator --port 8090 --delay 8 [--key KEY ...]
"""

from __future__ import annotations

import argparse
import base64
import collections
import copy
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import random
import shutil
import signal
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from flask import Flask, Response, abort, jsonify, request, send_file
from werkzeug.serving import make_server

from devstack import media

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "kie-emulator-key"
MODELS = {"veo3", "veo3_fast", "veo3_lite"}
ASPECT_RATIOS = {"16:9", "9:16", "Auto"}
RESOLUTIONS = {"720p", "1080p", "4k"}
GENERATION_TYPES = {"TEXT_2_VIDEO", "FIRST_AND_LAST_FRAMES_2_VIDEO", "REFERENCE_2_VIDEO"}
# Kie asks to keep prompts under ~1,000 characters without stating a hard cap; rejecting only
# far above that lets the app's own soft limit be tested without the emulator getting in the way.
MAX_PROMPT_CHARS = 5000
RATE_LIMIT = 20  # generate requests ...
RATE_WINDOW_SECONDS = 10.0  # ... per sliding window, per key
CALLBACK_TIMEOUT_SECONDS = 15.0  # how long Kie waits for our answer
CALLBACK_ATTEMPTS = 3  # Kie gives up after 3 failed deliveries
CALLBACK_RETRY_SECONDS = 0.5
CLIP_SECONDS = 8.0  # Veo clips are a fixed 8 s
HD_PROCESSING_MSG = "1080P is processing. It should be ready in 1-2 minutes. Please check back shortly."

DEFAULT_CONFIG = {
    "delay_seconds": 8.0,  # time a task stays successFlag 0
    "delay_jitter_seconds": 0.0,  # extra uniform random delay per task
    "error_rate": 0.0,  # fraction of API calls answering envelope code 500
    "outage": False,  # every API call answers HTTP 503 with an HTML body
    "slow_ms": 0,  # sleep before answering each API call
    "slow_generate_ms": 0,  # sleep before answering each generate call (a submit timing out, the rest answering)
    "rate_limit_storm": False,  # every generate answers 429
    "fail_next": [],  # outcomes consumed one per new task, e.g. {"successFlag": 2, "errorCode": 400, ...}
    "reject_next_submit": [],  # envelopes answered to the next generate calls, e.g. {"code": 402, "msg": ...}
    "drop_callbacks": False,
    "result_urls_as_string": False,  # record-info resultUrls as a JSON-encoded string, as Kie sometimes does
    "webhook_hmac_key": None,  # when set, callbacks carry X-Webhook-Timestamp / X-Webhook-Signature
    "accepted_keys": [DEFAULT_API_KEY],
    "credits": 10000,
    "price_per_clip": 80,
    "price_jitter": 0,  # each task costs price_per_clip ± up to this (uniform, whole credits): a drifting price
    "credits_in_callbacks": True,  # callbacks carry data.creditsConsumed (the task's price), as some of Kie's do
    "hd_not_ready_polls": 2,  # get-1080p-video answers "processing" this many times per task first
}
CALLS_KEPT = 2000  # stats' `calls`: enough for a test's timeline, bounded for a long-running emulator
SECRET_CONFIG_KEYS = {"webhook_hmac_key", "accepted_keys"}


def _mask(value):
    """Show secrets as their last 4 characters only, so /_emulator/config can be pasted anywhere."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return "..." + str(value)[-4:]


def _envelope(code: int, msg: str, data=None) -> Response:
    # Kie answers HTTP 200 for nearly everything; the envelope code carries the outcome.
    return jsonify({"code": code, "msg": msg, "data": data})


def sign_callback(task_id: str, timestamp: str, key: str) -> str:
    """X-Webhook-Signature as KIE.md defines it: base64(HMAC-SHA256(taskId + "." + timestamp, key))."""
    mac = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class KieEmulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, delay_seconds: float = 8.0, **faults):
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the emulator's admin endpoints are unauthenticated: bind a loopback address")
        self._host, self._port = host, port
        self._initial = self._validated({**copy.deepcopy(DEFAULT_CONFIG), "delay_seconds": delay_seconds}, faults)
        self._lock = threading.RLock()
        self._rng = random.Random()
        self._server = None
        self._thread = None
        self._render_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kie-render")
        self._callback_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kie-callback")
        self._stopping = threading.Event()
        self.base_url = None
        self.app = self._build_app()
        self._root = tempfile.mkdtemp(prefix="kie-emulator-")  # removed by stop()
        self._reset_state()

    # ----- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL (port 0 picks a free port)."""
        self._server = make_server(self._host, self._port, self.app, threaded=True)
        self.base_url = f"http://{self._host}:{self._server.server_port}"
        # A short poll interval keeps stop() quick (it waits for the next poll), which tests feel.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="kie-emulator", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        with self._lock:
            self._cancel_timers()
        self._render_pool.shutdown(wait=True, cancel_futures=True)
        # A callback may be waiting on a slow receiver; it must not hold up the test run.
        self._callback_pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ----- configuration and state -----------------------------------------------------------

    @staticmethod
    def _validated(base: dict, changes: dict) -> dict:
        unknown = set(changes) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown emulator setting(s): {', '.join(sorted(unknown))}")
        merged = {**base, **copy.deepcopy(changes)}
        for key in ("fail_next", "reject_next_submit"):
            if not (isinstance(merged[key], list) and all(isinstance(item, dict) for item in merged[key])):
                raise ValueError(f"{key} must be a list of objects")
        if not isinstance(merged["accepted_keys"], list):
            raise ValueError("accepted_keys must be a list")
        if not 0.0 <= float(merged["error_rate"]) <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        return merged

    def configure(self, **changes) -> dict:
        """Change settings/faults (see DEFAULT_CONFIG); returns the new config (secrets masked)."""
        with self._lock:
            self._config = self._validated(self._config, changes)
            return self.config()

    def config(self) -> dict:
        with self._lock:
            shown = copy.deepcopy(self._config)
        for key in SECRET_CONFIG_KEYS:
            shown[key] = _mask(shown[key])
        return shown

    def stats(self) -> dict:
        with self._lock:
            stats = copy.deepcopy(self._stats)
            stats["max_generate_calls_per_window"] = self._busiest_window()
            return stats

    def _busiest_window(self) -> int:
        """The most generate requests that arrived within any RATE_WINDOW_SECONDS."""
        times, busiest, first = self._generate_times, 0, 0
        for last, at in enumerate(times):
            while at - times[first] >= RATE_WINDOW_SECONDS:
                first += 1
            busiest = max(busiest, last - first + 1)
        return busiest

    def reset(self) -> None:
        """Forget tasks, counters and rendered files, and restore the constructor's settings."""
        with self._lock:
            self._cancel_timers()
            old_dir = self._files_dir
            self._reset_state()
        # A render still running for a forgotten task fails harmlessly into the removed dir.
        shutil.rmtree(old_dir, ignore_errors=True)

    def _reset_state(self) -> None:
        self._config = copy.deepcopy(self._initial)
        self._tasks: dict[str, dict] = {}
        self._timers: set[threading.Timer] = set()
        self._windows: dict[str, collections.deque] = {}
        self._generate_times: list[float] = []  # every generate request, admitted or not
        self._files_dir = tempfile.mkdtemp(dir=self._root)
        self._stats = {
            "api_calls": 0,
            "generate_calls": 0,
            "tasks_created": 0,
            "rate_limited": 0,
            "record_info_calls": {},
            "callbacks_sent": 0,
            "charged_credits": 0,  # every task's price, summed
            "callbacks_failed": 0,
            "callback_answers": {},  # taskId -> the receiver's answer body (last delivery)
            "calls": [],  # every /api/ call: {"at": epoch, "path", "answered": HTTP status}, the last CALLS_KEPT
        }

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    # ----- HTTP ------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("kie_emulator")

        @app.before_request
        def api_faults():
            if not request.path.startswith("/api/"):
                return None
            with self._lock:
                self._stats["api_calls"] += 1
                cfg = self._config
                slow, outage, error_rate = cfg["slow_ms"], cfg["outage"], cfg["error_rate"]
                if request.path == "/api/v1/veo/generate":
                    slow += cfg["slow_generate_ms"]
                keys = set(cfg["accepted_keys"])
            if slow:
                time.sleep(slow / 1000)
            if outage:
                return Response("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                                status=503, content_type="text/html")
            if self._api_key() not in keys:
                return _envelope(401, "You do not have access permissions")
            if error_rate and self._rng.random() < error_rate:
                return _envelope(500, "Server error, please try again later")
            return None

        @app.after_request
        def count_call(response):
            if request.path.startswith("/api/"):
                with self._lock:
                    calls = self._stats["calls"]
                    calls.append({"at": time.time(), "path": request.path, "answered": response.status_code})
                    del calls[:-CALLS_KEPT]
            return response

        app.post("/api/v1/veo/generate")(self._generate)
        app.get("/api/v1/veo/record-info")(self._record_info)
        app.get("/api/v1/veo/get-1080p-video")(self._get_1080p)
        app.get("/api/v1/chat/credit")(self._credit)
        app.post("/api/v1/common/download-url")(self._download_url)
        app.get("/files/<name>")(self._file)
        app.get("/_emulator/config")(self._admin_config)
        app.post("/_emulator/config")(self._admin_configure)
        app.get("/_emulator/stats")(self._admin_stats)
        app.post("/_emulator/reset")(self._admin_reset)
        return app

    @staticmethod
    def _api_key():
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def _admin_config(self):
        return jsonify(self.config())

    def _admin_stats(self):
        return jsonify(self.stats())

    def _admin_configure(self):
        try:
            return jsonify(self.configure(**(request.get_json(force=True, silent=True) or {})))
        except (TypeError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400

    def _admin_reset(self):
        self.reset()
        return jsonify({"ok": True})

    def _generate(self):
        key = self._api_key()
        with self._lock:
            self._stats["generate_calls"] += 1
            self._generate_times.append(time.monotonic())
            cfg = self._config
            if cfg["rate_limit_storm"]:
                self._stats["rate_limited"] += 1
                return _envelope(429, "Rate limited: too many requests, please slow down")
            if cfg["reject_next_submit"]:
                rejection = cfg["reject_next_submit"].pop(0)
                return _envelope(rejection.get("code", 500), rejection.get("msg", ""), rejection.get("data"))
            if not self._admit(key):
                self._stats["rate_limited"] += 1
                return _envelope(429, f"Rate limited: at most {RATE_LIMIT} generation requests per "
                                      f"{RATE_WINDOW_SECONDS:g} seconds")
        body = request.get_json(silent=True)
        problem = validate_generate(body)
        if problem:
            return _envelope(422, problem)
        with self._lock:
            cfg = self._config
            jitter = float(cfg["price_jitter"])
            price = max(0, round(cfg["price_per_clip"] + self._rng.uniform(-jitter, jitter)))
            if cfg["credits"] < price:
                return _envelope(402, "The current credits are insufficient. Please top up.")
            cfg["credits"] -= price  # charged at the submit, kept whatever the task's outcome
            self._stats["charged_credits"] += price
            task = self._create_task(body)
            task["price"] = price
        return _envelope(200, "success", {"taskId": task["taskId"]})

    def _admit(self, key: str) -> bool:
        """Sliding-window rate limit; rejected requests are not counted, so a client that backs
        off gets back in as soon as the window allows (Kie does not queue them)."""
        now = time.monotonic()
        window = self._windows.setdefault(key, collections.deque())
        while window and now - window[0] >= RATE_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= RATE_LIMIT:
            return False
        window.append(now)
        return True

    def _task_or_error(self, task_id):
        if not task_id:
            return None, _envelope(422, "taskId is required")
        task = self._tasks.get(task_id)
        if task is None:
            return None, _envelope(404, f"Task not found: {task_id}")
        return task, None

    def _record_info(self):
        task_id = request.args.get("taskId")
        with self._lock:
            task, error = self._task_or_error(task_id)
            if error:
                return error
            calls = self._stats["record_info_calls"]
            calls[task_id] = calls.get(task_id, 0) + 1
            return _envelope(200, "success", self._public_record(task))

    def _get_1080p(self):
        with self._lock:
            task, error = self._task_or_error(request.args.get("taskId"))
            if error:
                return error
            if task["successFlag"] != 1:
                return _envelope(422, "The task has not succeeded; no 1080P video is available")
            if task["hd_polls"] < self._config["hd_not_ready_polls"]:
                task["hd_polls"] += 1
                return _envelope(400, HD_PROCESSING_MSG)
            # Serves the same bytes under an HD name: enough to exercise the flow.
            return _envelope(200, "success", {"resultUrl": f"{self.base_url}/files/{task['taskId']}_1080p.mp4"})

    def _credit(self):
        with self._lock:
            return _envelope(200, "success", self._config["credits"])

    def _download_url(self):
        url = (request.get_json(silent=True) or {}).get("url")
        if not isinstance(url, str) or not url.startswith(f"{self.base_url}/files/"):
            return _envelope(422, "Only URLs of files generated by this service are supported")
        expires = int(time.time()) + 20 * 60
        return _envelope(200, "success", f"{url}?expires={expires}")

    def _file(self, name):
        task_id = name.removesuffix(".mp4").removesuffix("_1080p")
        with self._lock:
            task = self._tasks.get(task_id)
            path = task and task.get("path")
        if not path or not os.path.exists(path):
            abort(404)
        return send_file(path, mimetype="video/mp4", conditional=True)

    # ----- tasks -----------------------------------------------------------------------------

    def _create_task(self, body: dict) -> dict:
        """Register a task (lock held). Its outcome is fixed now, so fail_next applies to tasks
        in submission order whatever order they finish in."""
        cfg = self._config
        task_id = f"veo_task_{uuid.uuid4().hex}"
        outcome = cfg["fail_next"].pop(0) if cfg["fail_next"] else {"successFlag": 1}
        delay = float(cfg["delay_seconds"]) + self._rng.uniform(0, float(cfg["delay_jitter_seconds"]))
        task = {
            "taskId": task_id,
            "paramJson": json.dumps(body),
            "body": body,
            "createTime": int(time.time() * 1000),
            "completeTime": None,
            "successFlag": 0,
            "errorCode": None,
            "errorMessage": None,
            "response": None,
            "outcome": outcome,
            "due": time.monotonic() + delay,
            "path": None,
            "hd_polls": 0,
            "files_dir": self._files_dir,
        }
        self._tasks[task_id] = task
        self._stats["tasks_created"] += 1
        if outcome.get("successFlag", 1) == 1:
            # Render straight away (in the pool, never in the request) so a short delay is not
            # stretched by the render time; the task still flips no earlier than its due time.
            self._render_pool.submit(self._render, task)
        else:
            self._schedule_finish(task)
        return task

    def _render(self, task: dict) -> None:
        path = os.path.join(task["files_dir"], f"{task['taskId']}.mp4")
        try:
            media.render_clip(path, task["taskId"], seconds=CLIP_SECONDS)
            failure = None
        except Exception:
            log.warning("render failed for %s", task["taskId"], exc_info=True)
            failure = {"successFlag": 2, "errorCode": 500, "errorMessage": "Internal error"}
        with self._lock:
            if self._tasks.get(task["taskId"]) is not task or self._stopping.is_set():
                return  # reset or stopped while rendering: nothing to report
            if failure:
                task["outcome"] = failure
            else:
                task["path"] = path
            self._schedule_finish(task)

    def _schedule_finish(self, task: dict) -> None:
        timer = threading.Timer(max(0.0, task["due"] - time.monotonic()), self._finish, args=(task,))
        timer.daemon = True
        self._timers.add(timer)
        timer.start()

    def _finish(self, task: dict) -> None:
        with self._lock:
            self._timers.discard(threading.current_thread())
            if self._tasks.get(task["taskId"]) is not task or self._stopping.is_set():
                return
            outcome = task["outcome"]
            task["successFlag"] = outcome.get("successFlag", 1)
            task["completeTime"] = int(time.time() * 1000)
            if task["successFlag"] == 1:
                url = f"{self.base_url}/files/{task['taskId']}.mp4"
                task["response"] = {
                    "resultUrls": [url],
                    "originUrls": [],
                    "fullResultUrls": [url],
                    "resolution": task["body"].get("resolution", "720p"),
                }
            else:
                task["errorCode"] = outcome.get("errorCode", 500)
                task["errorMessage"] = outcome.get("errorMessage", "Internal error")
            callback_url = task["body"].get("callBackUrl")
            if callback_url and not self._config["drop_callbacks"]:
                payload = self._callback_body(task, self._config["credits_in_callbacks"])
                self._callback_pool.submit(self._deliver, callback_url, payload, self._config["webhook_hmac_key"])

    def _public_record(self, task: dict) -> dict:
        record = {k: task[k] for k in ("taskId", "paramJson", "createTime", "completeTime", "successFlag",
                                       "errorCode", "errorMessage")}
        record["response"] = copy.deepcopy(task["response"])
        record["fallbackFlag"] = False
        if record["response"] and self._config["result_urls_as_string"]:
            record["response"]["resultUrls"] = json.dumps(record["response"]["resultUrls"])
        return record

    @staticmethod
    def _callback_body(task: dict, with_credits: bool) -> dict:
        data = {"taskId": task["taskId"], "fallbackFlag": False}
        if with_credits:
            data["creditsConsumed"] = task["price"]
        if task["successFlag"] == 1:
            response = task["response"]
            data["info"] = {k: response[k] for k in ("resultUrls", "originUrls", "resolution")}
            return {"code": 200, "msg": "Veo3 video generated successfully.", "data": data}
        return {"code": task["errorCode"], "msg": task["errorMessage"], "data": data}

    def _deliver(self, url: str, payload: dict, hmac_key) -> None:
        task_id = payload["data"]["taskId"]
        for attempt in range(1, CALLBACK_ATTEMPTS + 1):
            if self._stopping.is_set():
                return
            headers = {"Content-Type": "application/json"}
            if hmac_key:
                timestamp = str(int(time.time()))
                headers["X-Webhook-Timestamp"] = timestamp
                headers["X-Webhook-Signature"] = sign_callback(task_id, timestamp, hmac_key)
            try:
                answer = httpx.post(url, content=json.dumps(payload), headers=headers,
                                    timeout=CALLBACK_TIMEOUT_SECONDS)
                if answer.is_success:
                    with self._lock:
                        self._stats["callbacks_sent"] += 1
                        # What the receiver said, so a test can tell who settled a task.
                        self._stats["callback_answers"][task_id] = answer.text[:500]
                    return
                log.info("callback for %s answered HTTP %s (attempt %d)", task_id, answer.status_code, attempt)
            except httpx.HTTPError as exc:
                log.info("callback for %s failed: %s (attempt %d)", task_id, type(exc).__name__, attempt)
            self._stopping.wait(CALLBACK_RETRY_SECONDS)
        with self._lock:
            self._stats["callbacks_failed"] += 1


def validate_generate(body) -> str | None:
    """The reason a generate body would be rejected with 422, or None when it is acceptable."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt is required"
    if len(prompt) > MAX_PROMPT_CHARS:
        return f"prompt is too long ({len(prompt)} characters, at most {MAX_PROMPT_CHARS})"
    if body.get("model", "veo3_fast") not in MODELS:
        return f"model must be one of {', '.join(sorted(MODELS))}"
    ratios = {body[k] for k in ("aspectRatio", "aspect_ratio") if k in body}
    if len(ratios) > 1:
        return "aspectRatio and aspect_ratio disagree"
    if ratios and not ratios <= ASPECT_RATIOS:
        return f"aspectRatio must be one of {', '.join(sorted(ASPECT_RATIOS))}"
    if body.get("resolution", "720p") not in RESOLUTIONS:
        return f"resolution must be one of {', '.join(sorted(RESOLUTIONS))}"
    if body.get("generationType", "TEXT_2_VIDEO") not in GENERATION_TYPES:
        return f"generationType must be one of {', '.join(sorted(GENERATION_TYPES))}"
    callback = body.get("callBackUrl")
    if callback is not None and not (isinstance(callback, str) and callback.startswith(("http://", "https://"))):
        return "callBackUrl must be an http(s) URL"
    seeds = body.get("seeds")
    if seeds is not None and not (isinstance(seeds, int) and 10000 <= seeds <= 99999):
        return "seeds must be an integer between 10000 and 99999"
    images = body.get("imageUrls")
    if images is not None and not (isinstance(images, list) and 1 <= len(images) <= 2):
        return "imageUrls must hold 1 or 2 URLs"
    return None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Local Kie.ai Veo 3 emulator")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--delay", type=float, default=8.0, help="seconds a task stays generating")
    parser.add_argument("--key", action="append", dest="keys",
                        help=f"accepted API key (repeatable; default $KIE_API_KEY or {DEFAULT_API_KEY})")
    parser.add_argument("--hmac-key", help="sign callbacks with this webhook HMAC key")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    keys = args.keys or [os.environ.get("KIE_API_KEY") or DEFAULT_API_KEY]
    emulator = KieEmulator(port=args.port, delay_seconds=args.delay, accepted_keys=keys,
                           webhook_hmac_key=args.hmac_key)
    print(f"Kie emulator on {emulator.start()} (admin: /_emulator/config, /_emulator/stats, /_emulator/reset)",
          flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())  # so `kill` also cleans up rendered files
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
