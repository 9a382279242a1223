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
        self.down_since: dict[str, float] = {}

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

    def circuit_down_since(self, circuit, opened_at, now):
        return self.down_since.setdefault(circuit, float(opened_at))

    def clear_circuit_down(self, circuit):
        self.down_since.pop(circuit, None)


class FakeUsage:
    """The usage table as a dict of (pk, sk) -> fields, with the adapter's conditions: a clip is
    recorded once, its charge once; totals, days and prices add up."""

    def __init__(self):
        self.items: dict[tuple[str, str], dict] = {}

    def _add(self, pk, sk, **adds):
        item = self.items.setdefault((pk, sk), {})
        for name, value in adds.items():
            item[name] = item.get(name, 0) + value
        return item

    def _totals(self, entry, **adds):
        for scope in (f"project#{entry.project_id}", f"user#{entry.owner}"):
            self._add(scope, "total", **adds)

    def record_clip(self, entry, day_credits, day_expires, price_model):
        if (f"user#{entry.owner}", f"clip#{entry.task_id}") in self.items:
            return False
        self.items[(f"user#{entry.owner}", f"clip#{entry.task_id}")] = {"entry": entry}
        self.items[(f"task#{entry.task_id}", "clip")] = {"owner": entry.owner}
        charged = {"chargedCredits": entry.charged, "chargedClips": 1} if entry.charged is not None else {}
        self._totals(entry, clips=1, estimatedCredits=entry.estimate, **charged)
        if day_credits is not None:
            self._add(f"user#{entry.owner}", f"day#{entry.day}", credits=day_credits)["expiresAt"] = day_expires
        if price_model and entry.charged is not None:
            self._add("price", price_model, samples=1, total=entry.charged)
        return True

    def clip(self, task_id):
        pointer = self.items.get((f"task#{task_id}", "clip"))
        return pointer and self.items[(f"user#{pointer['owner']}", f"clip#{task_id}")]["entry"]

    def record_charge(self, entry, charged, source, day_delta, price_model):
        from dataclasses import replace

        stored = self.items.get((f"user#{entry.owner}", f"clip#{entry.task_id}"))
        if stored is None or stored["entry"].charged is not None:
            return False
        stored["entry"] = replace(stored["entry"], charged=charged, charge_source=source)
        self._totals(entry, chargedCredits=charged, chargedClips=1)
        if day_delta:
            self._add(f"user#{entry.owner}", f"day#{entry.day}", credits=day_delta)
        self._add("price", price_model, samples=1, total=charged)
        return True

    def totals(self, scope):
        from broll_common.dal.usage import Totals

        item = self.items.get((scope, "total"), {})
        return Totals(item.get("clips", 0), item.get("estimatedCredits", 0.0), item.get("chargedCredits", 0.0),
                      item.get("chargedClips", 0))

    def day(self, owner, day):
        from broll_common.dal.usage import DayCount

        item = self.items.get((f"user#{owner}", f"day#{day}"), {})
        return DayCount(item.get("credits", 0.0), item.get("prompts", 0))

    def add_prompt(self, owner, day, credits, expires):
        self._add(f"user#{owner}", f"day#{day}", credits=credits, prompts=1)["expiresAt"] = expires

    def quota_override(self, owner):
        return self.items.get((f"user#{owner}", "quota"), {}).get("dailyCredits")

    def price(self, model):
        item = self.items.get(("price", model), {})
        return item.get("samples", 0), item.get("total", 0.0)

    def hold(self, owner, holds, expires):
        for h in holds:
            self.items[(f"user#{owner}", f"hold#{h.claim}")] = {
                "credits": h.credits, "clips": h.clips, "share": h.credits / h.clips, "expiresAt": expires, "sent": set()}

    def take_held(self, owner, claim, shot):
        item = self.items.get((f"user#{owner}", f"hold#{claim}"))
        if item is None or item["clips"] < 1 or shot in item["sent"]:
            return False
        item["credits"], item["clips"] = item["credits"] - item["share"], item["clips"] - 1
        item["sent"].add(shot)
        return True

    def release(self, owner, claim, keep_one):
        item = self.items.get((f"user#{owner}", f"hold#{claim}"))
        left = 1 if keep_one else 0
        if item is not None and item["clips"] > left:
            item["credits"], item["clips"] = item["share"] * left, left

    def held(self, owner, now):
        return sum(max(0.0, item["credits"]) for (pk, sk), item in self.items.items()
                   if pk == f"user#{owner}" and sk.startswith("hold#") and item["expiresAt"] > now)


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

    def presigned_url(self, key, filename=None):
        return f"https://media.example/{key}?signed" + (f"&as={filename}" if filename else "")

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


class FakeProjects:
    """The project_steps table as a dict of project id -> {meta, script, broll}; scene writes
    keep the real conditions (the owner, the scene's id at its index, generation, status_in,
    expect: a field's value, None = absent; present; counted: a map's number of keys) and apply all of a call's writes or none
    (StaleScene). Changes to None remove the field, as the real write does; a field `map.key`
    is that key of a map field."""

    def __init__(self):
        self.projects: dict[str, dict] = {}
        self.writes: list[tuple[str, list]] = []  # (project id, [SceneWrite]) of every accepted write
        self.refused = 0

    def add(self, project_id, scenes, owner="u", script="The port at dawn.", broll: dict | None = None):
        from broll_common.dal.projects import scene_document

        self.projects[project_id] = {
            "meta": {"name": project_id, "ownerId": owner}, "script": {"script": script},
            "broll": {"ownerId": owner, "status": "in_progress", "scenes": [scene_document(s) for s in scenes]}
            | (broll or {}),
        }

    def scene(self, project_id, scene_id):
        return self.load_broll(project_id, owner=None).scene(scene_id)[1]

    def _record(self, project_id, owner, whole):
        import copy

        from broll_common.dal.projects import ProjectRecord
        from broll_common.models.errors import NotFound

        item = self.projects.get(project_id)
        if item is None or (owner is not None and item["broll"].get("ownerId") != owner):
            raise NotFound(f"Project '{project_id}' was not found.")
        item = copy.deepcopy(item)
        if whole:
            return ProjectRecord(project_id, item["meta"], item["script"], {}, {}, item["broll"])
        return ProjectRecord(project_id, {}, {}, {}, {}, item["broll"])

    def load_project(self, project_id, *, owner):
        return self._record(project_id, owner, whole=True)

    def load_broll(self, project_id, *, owner):
        return self._record(project_id, owner, whole=False)

    def load_scene(self, project_id, index, scene_id):
        record = self.load_broll(project_id, owner=None)
        return (record.owner_id, *record.scene(scene_id))

    def _holds(self, raw, write) -> bool:
        if raw is None or raw.get("sceneId") != write.scene_id:
            return False
        if write.generation is not None and raw.get("generation") != write.generation:
            return False
        if write.status_in and raw.get("status") not in write.status_in:
            return False
        expected = all(self._get(raw, field) == value for field, value in (write.expect or {}).items())
        counted = all(len(self._get(raw, field) or {}) == n for field, n in (write.counted or {}).items())
        return expected and counted and all(self._get(raw, field) is not None for field in write.present)

    @staticmethod
    def _at(raw, field):
        """(the map holding `field`, its last name): `map.key` is a key of a map field."""
        *maps, name = field.split(".")
        for part in maps:
            raw = raw.get(part) if isinstance(raw, dict) else None
        return raw, name

    def _get(self, raw, field):
        holder, name = self._at(raw, field)
        return holder.get(name) if isinstance(holder, dict) else None

    def update_scenes(self, project_id, writes, *, owner):
        import copy

        from broll_common.dal.projects import StaleScene

        item = self.projects.get(project_id)
        scenes = item["broll"]["scenes"] if item else []
        owned = item is not None and (owner is None or item["broll"].get("ownerId") == owner)
        at = lambda i: scenes[i] if 0 <= i < len(scenes) else None  # noqa: E731
        if not owned or not all(self._holds(at(w.index), w) for w in writes):
            self.refused += 1
            names = ", ".join(f"'{w.scene_id}'" for w in writes)
            raise StaleScene(f"Scene {names} changed while this request was running.")
        for write in writes:
            raw = scenes[write.index]
            for field, value in write.changes.items():
                holder, name = self._at(raw, field)
                if value is None:
                    holder.pop(name, None)
                else:
                    holder[name] = json.loads(json.dumps(copy.deepcopy(value)))  # stored as plain data
        self.writes.append((project_id, list(writes)))

    def update_scene(
        self, project_id, index, scene_id, changes, *, owner, generation=None, status_in=None, expect=None,
        present=(), counted=None,
    ):
        from broll_common.dal.projects import SceneWrite

        write = SceneWrite(index, scene_id, changes, generation, status_in, expect, present, counted)
        self.update_scenes(project_id, [write], owner=owner)

    def sweep_work(self):
        from broll_common.dal.projects import SweepWork

        found = []
        for project_id in self.projects:
            record = self.load_broll(project_id, owner=None)
            scenes = enumerate(record.scenes)
            found += [(project_id, record.owner_id, i, s) for i, s in scenes if s.status == "generating" or s.lateTasks]
        return SweepWork(generating=found, scheduled=[])  # schedules: tests hand them to run_due


class FakeHistory:
    """scene_history as a list of (project id, scene id, kind, fields), None fields left out."""

    def __init__(self):
        self.entries: list[tuple[str, str, str, dict]] = []

    def record(self, project_id, scene_id, kind, **fields):
        from broll_common.dal.history import KINDS

        assert kind in KINDS, kind
        self.entries.append((project_id, scene_id, kind, {k: v for k, v in fields.items() if v is not None}))
        return len(self.entries)

    def kinds(self, scene_id=None) -> list[str]:
        return [kind for _, sid, kind, _ in self.entries if scene_id in (None, sid)]

    def of(self, kind) -> list[dict]:
        return [fields for _, _, k, fields in self.entries if k == kind]


class FakeKie:
    """Kie behind the breaker, scripted. `submits`: what each submit answers in turn (a task id, an exception to
    raise, or a callable returning either); `tasks`: task id -> what record_info answers (a TaskRecord or an
    exception; a list: one per call, the last repeated). Keys: `user_keys` (user id -> key) and `system_key`,
    chosen by the same rule as clients.secrets.kie_key_for. `balances`: what credits() answers in turn. Every
    call is kept: `submitted` (api key, prompt, kwargs), `looked_up` (task ids), `balance_reads`."""

    def __init__(self, submits=(), tasks=None, system_key="system-key-0000", user_keys=None, balances=()):
        self.submits = list(submits)
        # What each credits() answers in turn (a number or an exception); unscripted, an unchanging
        # balance, so a submit's charge stays unknown.
        self.balances = list(balances)
        self.balance_reads = 0
        self.tasks = dict(tasks or {})
        self.system_key = system_key
        self.user_keys = dict(user_keys or {})
        self.submitted: list[tuple[str, str, dict]] = []
        self.looked_up: list[str] = []
        self._key = None

    # --- the answers, built from the real exception classes
    @staticmethod
    def rate_limited():
        from broll_common.clients.kie import KieRateLimited

        return KieRateLimited(429, "rate limited")

    @staticmethod
    def unavailable(code=500):
        from broll_common.clients.kie import KieUnavailable

        return KieUnavailable(code, "internal error")

    @staticmethod
    def timeout():
        from broll_common.clients.kie import KieUnavailable

        return KieUnavailable(0, "timeout: ReadTimeout", may_have_started=True)  # KieClient's, when the request left us

    @staticmethod
    def circuit_open(retry_at, opened_at=None):
        from broll_common.clients.breaker import KieCircuitOpen

        return KieCircuitOpen(retry_at, opened_at)

    @staticmethod
    def refused(detail="flagged by content policy"):
        from broll_common.clients.kie import KieRejected

        return KieRejected(400, detail)

    @staticmethod
    def out_of_credits():
        from broll_common.clients.kie import KieRejected

        return KieRejected(402, "insufficient credits")

    @staticmethod
    def generating(task_id):
        from broll_common.clients.kie import TaskRecord, TaskState

        return TaskRecord(task_id, TaskState.GENERATING)

    @staticmethod
    def success(task_id, url=None):
        from broll_common.clients.kie import TaskRecord, TaskState

        return TaskRecord(task_id, TaskState.SUCCEEDED, result_urls=[url or f"https://kie.example/{task_id}.mp4"])

    @staticmethod
    def failed(task_id, code=501, message=None):
        from broll_common.clients.kie import TaskRecord, TaskState

        return TaskRecord(task_id, TaskState.FAILED, error_code=code, error_message=message)

    # --- the port
    def key_for(self, user_id, owner=None):
        from broll_common.clients.secrets import KieKey, NoKieKey

        if user_id and owner != "system":
            if self.user_keys.get(user_id):
                return KieKey(self.user_keys[user_id], "user")
            if owner == "user":
                raise NoKieKey("This clip was started with your own Kie.ai key, which has since been removed.")
        if not self.system_key:
            raise NoKieKey("No Kie.ai key is configured. Add your own key in settings.")
        return KieKey(self.system_key, "system")

    def client(self, api_key):
        self._key = api_key
        return self

    def submit(self, prompt, **kwargs):
        self.submitted.append((self._key, prompt, kwargs))
        if not self.submits:
            raise AssertionError("FakeKie: an unscripted submit")
        answer = self.submits.pop(0)
        if callable(answer):  # something that happens while Kie answers (a cancel), then its answer
            answer = answer()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def credits(self):
        self.balance_reads += 1
        answer = self.balances.pop(0) if self.balances else 10000.0
        if isinstance(answer, Exception):
            raise answer
        return answer

    def record_info(self, task_id):
        self.looked_up.append(task_id)
        answer = self.tasks.get(task_id)
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if answer is None:
            raise AssertionError(f"FakeKie: an unscripted record_info({task_id!r})")
        if isinstance(answer, Exception):
            raise answer
        return answer
