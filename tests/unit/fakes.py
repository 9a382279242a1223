"""In-memory fakes of the ports (dal/, clients/): what the rules see, without AWS.

Each fake keeps the adapter's conditions (a lane is taken only if still free, finished only
while still held; a fleet window is opened only if none is current), so the rules can be
tested against them as against the table.
"""

from __future__ import annotations

import json


class FakeCoordination:
    def __init__(self):
        self.lanes: dict[str, dict[int, dict]] = {}  # window -> lane -> {"h": held, "d": done}
        self.fleet: dict[str, dict] = {}
        self.arrived = 0.0
        self.missed = 0.0
        self.lost_races = 0  # take_lane answers False this many times first (another instance won)

    def _lane(self, window: str, lane: int) -> dict:
        return self.lanes.setdefault(window, {}).setdefault(lane, {})

    def read_lanes(self, window, limit):
        return [(self._lane(window, n).get("h"), self._lane(window, n).get("d")) for n in range(limit)]

    def take_lane(self, window, lane, now, stale_before, free_before):
        state = self._lane(window, lane)
        if self.lost_races:
            self.lost_races -= 1
            state["h"] = now  # someone else held it just before us
            return False
        if state.get("h") is not None and state["h"] > stale_before:
            return False
        if state.get("d") is not None and state["d"] > free_before:
            return False
        state["h"] = now
        return True

    def finish_lane(self, window, lane, held, answered):
        state = self._lane(window, lane)
        if state.get("h") is None or state["h"] != float(held):
            return False
        state.pop("h")
        state["d"] = answered
        return True

    def add_fleet_failure(self, circuit, window_after):
        item = self.fleet.get(circuit)
        if not item or item["window_start"] <= window_after:
            return None
        item["failures"] += 1
        return item["failures"]

    def open_fleet_window(self, circuit, now, window_after):
        item = self.fleet.get(circuit)
        if item and item["window_start"] > window_after:
            return False
        self.fleet[circuit] = {"failures": 1, "window_start": now}
        return True

    def reset_fleet_failures(self, circuit):
        if circuit in self.fleet and self.fleet[circuit]["failures"] > 0:
            self.fleet[circuit]["failures"] = 0

    def mark_callback_arrived(self, at):
        self.arrived = at

    def mark_callback_missed(self, at):
        self.missed = at

    def callback_times(self):
        return self.arrived, self.missed


class FakePollLoops:
    """Step Functions' executions by name: started ones are RUNNING until told otherwise."""

    def __init__(self, fail: Exception | None = None):
        self.started: list[tuple[str, dict]] = []
        self.statuses: dict[str, str] = {}
        self.fail = fail

    def start(self, name, state):
        if self.fail:
            raise self.fail
        json.dumps(state)  # the input must be JSON
        self.started.append((name, state))
        self.statuses[name] = "RUNNING"

    def status(self, name):
        return self.statuses.get(name)


class FakeWorkers:
    """The asynchronous worker invocations asked for, as (worker, payload); `fail` makes them raise."""

    def __init__(self):
        self.started: list[tuple[str, dict]] = []
        self.fail = False

    @property
    def invoked(self) -> list[dict]:
        return [payload for _, payload in self.started]

    def _start(self, worker, project_id, generation):
        if self.fail:
            raise RuntimeError("Lambda is unavailable")
        self.started.append((worker, {"projectId": project_id, "generation": generation}))

    def start_render(self, project_id, generation):
        self._start("render", project_id, generation)

    def start_export(self, project_id, generation):
        self._start("export", project_id, generation)


class FakeMedia:
    """The media bucket as a dict of key -> bytes; presigned URLs name the key."""

    def __init__(self, objects: dict[str, bytes] | None = None):
        self.objects = dict(objects or {})

    def presigned_url(self, key):
        return f"https://media.example/{key}?signed"

    def exists(self, key):
        return key in self.objects

    def open(self, key):
        import io

        from broll_common.dal.media import ObjectMissing

        if key not in self.objects:
            raise ObjectMissing(key)
        return io.BytesIO(self.objects[key])

    def download(self, key, path):
        with open(path, "wb") as out:
            out.write(self.open(key).read())

    def upload_file(self, path, key, content_type):
        with open(path, "rb") as source:
            self.objects[key] = source.read()

    def upload_stream(self, stream, key, content_type):
        self.objects[key] = stream.read()

    def copy_from_url(self, source_url, key):
        self.objects[key] = source_url.encode()
