# Over 250 lines: the one owner of the project_steps table (its model, every conditional write, transaction and query).
"""Projects in DynamoDB `project_steps` (hash: project_id, range: step_number).

Items: step 0 the project's own record (name), 3 the edited scenes and script, 4 the
voice-over, 5 the avatar video, 7 the B-roll data `{scenes: [...], status, completedAt}`.

Every project belongs to one user (`ownerId` on steps 0 and 7). Reads and writes take the
caller's `owner` and treat another user's project exactly like a missing one; `owner=None`
is the system itself (the poll loop, the sweep, a verified callback), never a request.
Scene writes touch only the fields they change (`data.scenes[i].field`), conditional on
the scene's id and, where it matters, its generation: concurrent pollers, callbacks and
the page never overwrite each other's scenes, and a late result for an old generation
is refused.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer
from pydantic_core import to_jsonable_python
from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.constants import NONE
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.operand import Path
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from ..aws import client
from ..config import settings
from ..models.errors import Conflict, NotFound
from ..models.domain import (
    AudioPart, AvatarPart, BrollPart, ExportState, ProjectMeta, RenderState, Scene, ScriptPart,
)
from ..ports import Port

STEP_PROJECT, STEP_SCRIPT, STEP_AUDIO, STEP_AVATAR, STEP_BROLL = 0, 3, 4, 5, 7


class ByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-owner"
        projection = AllProjection()

    listing_owner = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute(range_key=True)


class BySweep(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-sweep"
        projection = KeysOnlyProjection()

    sweep_due = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute(range_key=True)


# The one value of `sweep_due`: the index is a set of step-7 items, not an ordering.
SWEEP_DUE = "due"


class ProjectStep(Model):
    class Meta:
        # Resolved when first used (see _bind), so tests can set the table name first.
        table_name = "project_steps"

    project_id = UnicodeAttribute(hash_key=True)
    step_number = NumberAttribute(range_key=True)
    data = MapAttribute(default=dict)
    # Only on the project's own record (step 0): the sparse index that lists a user's projects.
    listing_owner = UnicodeAttribute(null=True)
    by_owner = ByOwner()
    # Only on a step-7 item that may have work for the sweep (a scene set generating, a schedule
    # stored): the sweep reads these alone, so its cost follows active work, not every project.
    # Set in the same write as the work; removed by the sweep once the item has none.
    sweep_due = UnicodeAttribute(null=True)
    by_sweep = BySweep()
    # Counts the writes that set the flag: the sweep removes a flag only if none came since its read.
    sweep_rev = NumberAttribute(null=True)


def _flag(model: type[ProjectStep]) -> list:
    """The actions of a write that makes work: the flag set, and its count moved on."""
    return [model.sweep_due.set(SWEEP_DUE), model.sweep_rev.add(1)]


def bind_table(model: type[Model], name: str) -> type[Model]:
    """Point a pynamodb model at its table, named by the settings when first used (so
    tests and the local stack can set the names first)."""
    if model.Meta.table_name != name:
        model.Meta.table_name = name
        model._connection = None
    return model


def _bind() -> type[ProjectStep]:
    return bind_table(ProjectStep, settings().project_steps_table)


class StaleScene(Conflict):
    """The scene moved on (another generation, or another writer won the race)."""


@dataclass
class ProjectRecord:
    """A project as read: each stored step parsed into its typed part (given as dicts, as
    read from the table, they are parsed here; nothing stored is dropped)."""

    project_id: str
    meta: ProjectMeta
    script: ScriptPart
    audio: AudioPart
    avatar: AvatarPart
    broll: BrollPart

    def __post_init__(self) -> None:
        for name, part in (("meta", ProjectMeta), ("script", ScriptPart), ("audio", AudioPart),
                           ("avatar", AvatarPart), ("broll", BrollPart)):
            value = getattr(self, name)
            if not isinstance(value, part):
                setattr(self, name, part.model_validate(value))

    @property
    def owner_id(self) -> str | None:
        return self.broll.ownerId or self.meta.ownerId

    @property
    def name(self) -> str:
        return self.meta.name_or(self.project_id)

    @property
    def render(self) -> RenderState:
        return self.broll.render or RenderState()

    @property
    def export(self) -> ExportState:
        return self.broll.export or ExportState()

    @property
    def scenes(self) -> list[Scene]:
        return [Scene.model_validate(s) for s in self.broll.scenes]

    def scene(self, scene_id: str) -> tuple[int, Scene]:
        for index, raw in enumerate(self.broll.scenes):
            if raw.get("sceneId") == scene_id:
                return index, Scene.model_validate(raw)
        raise NotFound(f"Scene '{scene_id}' was not found in this project.")

    def scene_by_task(self, task_id: str) -> tuple[int, Scene]:
        for index, raw in enumerate(self.broll.scenes):
            if raw.get("taskId") == task_id:  # a scene's task now (a finished sub-shot's is not)
                return index, Scene.model_validate(raw)
        raise NotFound(f"Task '{task_id}' was not found in this project.")


def plain(value: Any) -> Any:
    """What the domain wants from a read: dicts, ints and floats. pynamodb hands nested maps
    back as MapAttribute; boto3's deserializer reads numbers as Decimal."""
    if isinstance(value, MapAttribute):
        return {k: plain(v) for k, v in value.attribute_values.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# Scene fields the API computes for each answer (views.scene_view) and never stores.
_SHOWN_ONLY = {"videoUrl", "plannedShots", "autoShots", "maxShots", "lateClips", "statusNote", "aiGenerated",
               "outOfDate"}


def scene_document(scene: Scene) -> dict:
    """The stored form: the API fields plus the internal ones the API leaves out."""
    excluded = [name for name, field in Scene.model_fields.items() if field.exclude]
    internal = {name: to_jsonable_python(getattr(scene, name)) for name in excluded}
    shown = scene.model_dump(mode="json", exclude=_SHOWN_ONLY | {"plan"})
    return shown | internal | {"plan": [shot.stored() for shot in scene.plan]}


def with_changes(scene: Scene, changes: dict[str, Any]) -> Scene:
    """The scene as a write of `changes` leaves it (validated, so its sub-shots are models)."""
    return Scene.model_validate(scene_document(scene) | changes)


def _check_owner(record: ProjectRecord, owner: str | None) -> ProjectRecord:
    if owner is not None and record.owner_id != owner:
        raise NotFound(f"Project '{record.project_id}' was not found.")
    return record


def create_project(project_id: str, items: dict[int, dict], owner: str) -> None:
    model = _bind()
    items[STEP_PROJECT]["ownerId"] = items[STEP_BROLL]["ownerId"] = owner
    items[STEP_BROLL]["updatedAt"] = _now()
    try:
        with TransactWrite(connection=Connection(region=model.Meta.region)) as tx:
            for step, data in items.items():
                listing = owner if step == STEP_PROJECT else None
                condition = model.project_id.does_not_exist() if step == STEP_PROJECT else None
                tx.save(model(project_id, step, data=data, listing_owner=listing), condition=condition)
    except TransactWriteError as exc:
        reasons = [r.code for r in (exc.cancellation_reasons or []) if r is not None]
        if "ConditionalCheckFailed" in reasons:
            raise Conflict(f"A project with id '{project_id}' already exists.") from exc
        raise


def load_project(project_id: str, *, owner: str | None) -> ProjectRecord:
    model = _bind()
    steps = {item.step_number: plain(item.data) for item in model.query(project_id, consistent_read=True)}
    if STEP_PROJECT not in steps or STEP_BROLL not in steps:
        raise NotFound(f"Project '{project_id}' was not found.")
    record = ProjectRecord(
        project_id=project_id,
        meta=steps[STEP_PROJECT],
        script=steps.get(STEP_SCRIPT, {}),
        audio=steps.get(STEP_AUDIO, {}),
        avatar=steps.get(STEP_AVATAR, {}),
        broll=steps[STEP_BROLL],
    )
    return _check_owner(record, owner)


def load_broll(project_id: str, *, owner: str | None) -> ProjectRecord:
    """Only the step-7 item (the scenes): what the poll loop, callbacks and status need."""
    model = _bind()
    try:
        item = model.get(project_id, STEP_BROLL, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"Project '{project_id}' was not found.") from exc
    record = ProjectRecord(project_id=project_id, meta={}, script={}, audio={}, avatar={}, broll=plain(item.data))
    return _check_owner(record, owner)


_DESERIALIZE = TypeDeserializer()


def scene_at(project_id: str, index: int, *, owner: str | None) -> tuple[str | None, Scene | None]:
    """(owner id, the scene at that place in the step-7 item, or None past its end). Every
    scene of a project shares that item, so only this scene and the owner are read (a
    50-scene item is about 60 KB, a scene about 1 KB): what a poll turn or a status needs."""
    # Written out, not through pynamodb: moto (the local stack) misreads a name placeholder
    # followed by a list index, which is how pynamodb writes `data.scenes[i]`. Only `data`
    # is a reserved word.
    answer = client("dynamodb").get_item(
        TableName=settings().project_steps_table, ConsistentRead=True,
        Key={"project_id": {"S": project_id}, "step_number": {"N": str(STEP_BROLL)}},
        ProjectionExpression=f"#d.ownerId, #d.scenes[{int(index)}]", ExpressionAttributeNames={"#d": "data"},
    )
    data = plain(_DESERIALIZE.deserialize(answer["Item"]["data"])) if "data" in answer.get("Item", {}) else None
    if data is None or (owner is not None and data.get("ownerId") != owner):
        raise NotFound(f"Project '{project_id}' was not found.")
    found = (data.get("scenes") or [None])[0]
    return data.get("ownerId"), Scene.model_validate(found) if found else None


def load_scene(project_id: str, index: int, scene_id: str) -> tuple[str | None, int, Scene]:
    """(owner id, index, scene): the scene read by its place (see scene_at), or by a whole
    read when it is not there."""
    owner_id, scene = scene_at(project_id, index, owner=None)
    if scene is None or scene.sceneId != scene_id:
        record = load_broll(project_id, owner=None)
        return (record.owner_id, *record.scene(scene_id))
    return owner_id, index, scene


def list_projects(owner: str) -> list[ProjectRecord]:
    """The owner's projects, from the sparse owner index (one read of each)."""
    model = _bind()
    found = []
    for item in model.by_owner.query(owner):
        try:
            found.append(load_project(item.project_id, owner=owner))
        except NotFound:
            continue  # deleted between the index and the read
    return found


def _update_broll_item(model: type[ProjectStep], project_id: str, actions: list, condition) -> None:
    # Not Model.update: that asks for the whole new item back (ALL_NEW), and a project's
    # step-7 item holds every scene; a scene write needs nothing back. The model's own
    # table connection knows the key schema but sends keys as given, unchecked: the range
    # key must already be in wire form (a number as a string, which DynamoDB insists on).
    # Every write says when: the project list shows when each project last changed.
    actions = [*actions, model.data["updatedAt"].set(_now())]
    model._get_connection().update_item(
        project_id, model.step_number.serialize(STEP_BROLL), actions=actions, condition=condition, return_values=NONE
    )


def _now() -> str:
    # Milliseconds: the list orders by it, and one second holds many writes.
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SceneWrite:
    """Fields to set on one scene (None removes a field), and what the scene must still be. A
    field may name one key of a map field, `map.key` (a late task landed, lateTasks.{taskId})."""

    index: int
    scene_id: str
    changes: dict[str, Any]
    generation: int | None = None
    status_in: tuple[str, ...] | None = None
    expect: dict[str, Any] | None = None  # other fields' values the scene must still hold (None: absent)
    present: tuple[str, ...] = ()  # fields the scene must still have, whatever their values
    # Map fields that must still hold exactly this many keys (0: empty or absent): a whole-map
    # write of lateTasks then cannot drop a task kept meanwhile.
    counted: dict[str, int] | None = None


def _field(scene: Path, field: str) -> Path:
    return functools.reduce(operator.getitem, field.split("."), scene)


def _makes_work(changes: dict[str, Any]) -> bool:
    late = any(field.startswith("lateTasks.") and value is not None for field, value in changes.items())
    return changes.get("status") == "generating" or bool(changes.get("lateTasks")) or late


def update_scenes(project_id: str, writes: list[SceneWrite], *, owner: str | None) -> None:
    """Apply every write in one conditional update: all of them, or none (StaleScene).

    Callers keep a write's expressions within DynamoDB's 4 KB expression limit (see
    generation.generate_all, which writes a few scenes at a time).
    """
    model = _bind()
    conditions = [model.data["ownerId"] == owner] if owner is not None else []
    actions = []
    for write in writes:
        scene = model.data["scenes"][write.index]
        conditions.append(scene["sceneId"] == write.scene_id)
        if write.generation is not None:
            conditions.append(scene["generation"] == write.generation)
        if write.status_in:
            conditions.append(scene["status"].is_in(*write.status_in))
        for field, value in (write.expect or {}).items():
            path = _field(scene, field)
            conditions.append(path.does_not_exist() if value is None else path == value)
        conditions += [_field(scene, field).exists() for field in write.present]
        for field, count in (write.counted or {}).items():
            path = _field(scene, field)
            conditions.append(size(path) == count if count else path.does_not_exist() | (size(path) == 0))
        actions += [
            _field(scene, field).set(value) if value is not None else _field(scene, field).remove()
            for field, value in write.changes.items()
        ]
    # A cancel that leaves tasks at Kie keeps the item in the sweep's index until they land, and
    # so does a write of one kept task (lateTasks.{taskId}): the sweep cannot drop the flag between.
    if any(_makes_work(write.changes) for write in writes):
        actions += _flag(model)
    try:
        _update_broll_item(model, project_id, actions, functools.reduce(operator.and_, conditions))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            names = ", ".join(f"'{w.scene_id}'" for w in writes)
            raise StaleScene(f"Scene {names} changed while this request was running.") from exc
        raise


def update_scene(
    project_id: str,
    index: int,
    scene_id: str,
    changes: dict[str, Any],
    *,
    owner: str | None,
    generation: int | None = None,
    status_in: tuple[str, ...] | None = None,
    expect: dict[str, Any] | None = None,
    present: tuple[str, ...] = (),
    counted: dict[str, int] | None = None,
) -> None:
    """Set the given fields of one scene; refuse if the scene moved on (or is not the owner's)."""
    write = SceneWrite(index, scene_id, changes, generation, status_in, expect, present, counted)
    update_scenes(project_id, [write], owner=owner)


def update_broll(project_id: str, changes: dict[str, Any], *, owner: str) -> None:
    model = _bind()
    actions = [model.data[field].set(value) for field, value in changes.items()]
    try:
        _update_broll_item(model, project_id, actions, model.project_id.exists() & (model.data["ownerId"] == owner))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(f"Project '{project_id}' was not found.") from exc
        raise


def replace_part(project_id: str, part: str, value: dict | None, *, owner: str | None, expect: dict | None) -> None:
    """Set (or remove, with None) one whole map of step 7 (`render`, `schedule`) if its
    fields still hold what the caller read (`expect`; {} = the map is absent; None = no
    condition): two requests, or a request and a worker, never both win."""
    model = _bind()
    target = model.data[part]
    conditions = [model.data["ownerId"] == owner] if owner is not None else [model.project_id.exists()]
    if expect:
        conditions += [target[field] == expected for field, expected in expect.items()]
    elif expect is not None:
        conditions.append(target.does_not_exist())
    actions = [target.set(value) if value is not None else target.remove()]
    if part == "schedule" and value is not None:
        actions += _flag(model)
    try:
        _update_broll_item(model, project_id, actions, functools.reduce(operator.and_, conditions))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise StaleScene(f"The project's {part} changed while this request was running.") from exc
        raise


def update_meta(project_id: str, changes: dict[str, Any], *, owner: str) -> None:
    """Set fields of the project's own record (step 0): its name."""
    model = _bind()
    actions = [model.data[f].set(v) for f, v in changes.items()]
    try:
        model._get_connection().update_item(
            project_id, model.step_number.serialize(STEP_PROJECT), actions=actions,
            condition=model.project_id.exists() & (model.data["ownerId"] == owner), return_values=NONE,
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(f"Project '{project_id}' was not found.") from exc
        raise
    _update_broll_item(model, project_id, [], model.project_id.exists())  # the list's "changed" time


def update_step(project_id: str, step: int, changes: dict[str, Any]) -> None:
    """Set fields of step 3, 4 or 5 (None removes one): the system's writes (a probed file taking
    its place, a new length), made after the caller checked the owner on step 7."""
    model = _bind()
    target = model.data
    actions = [target[f].set(v) if v is not None else target[f].remove() for f, v in changes.items()]
    model._get_connection().update_item(
        project_id, model.step_number.serialize(step), actions=actions, condition=model.project_id.exists(),
        return_values=NONE,
    )


def replace_part_with_step(project_id: str, part: str, value: dict, *, generation: int, step: int,
                           changes: dict[str, Any]) -> None:
    """Set one map of step 7 (as replace_part, if its generation is still `generation`) and
    fields of another step (None removes one), together or not at all (StaleScene): a file
    never shows as ready without being in use, nor stays in use once refused."""
    model = _bind()
    fields = [model.data[f].set(v) if v is not None else model.data[f].remove() for f, v in changes.items()]
    try:
        with TransactWrite(connection=Connection(region=model.Meta.region)) as tx:
            tx.update(model(project_id, STEP_BROLL), actions=[model.data[part].set(value), model.data["updatedAt"].set(_now())],
                      condition=model.data[part]["generation"] == generation)
            tx.update(model(project_id, step), actions=fields, condition=model.project_id.exists())
    except TransactWriteError as exc:
        reasons = [r.code for r in (exc.cancellation_reasons or []) if r is not None]
        if "ConditionalCheckFailed" in reasons:
            raise StaleScene(f"The project's {part} changed while this request was running.") from exc
        raise


def delete_project(project_id: str, *, owner: str) -> None:
    """Every step of the owner's project, in one transaction (NotFound when it is not theirs)."""
    model = _bind()
    steps = [item.step_number for item in model.query(project_id, consistent_read=True, attributes_to_get=["step_number"])]
    try:
        with TransactWrite(connection=Connection(region=model.Meta.region)) as tx:
            for step in steps:
                condition = (model.data["ownerId"] == owner) if step in (STEP_PROJECT, STEP_BROLL) else None
                tx.delete(model(project_id, step), condition=condition)
    except TransactWriteError as exc:
        reasons = [r.code for r in (exc.cancellation_reasons or []) if r is not None]
        if "ConditionalCheckFailed" in reasons:
            raise NotFound(f"Project '{project_id}' was not found.") from exc
        raise


def _has_work(data: dict) -> bool:
    return "schedule" in data or any(_swept(raw) for raw in data.get("scenes", []))


def _swept(raw: dict) -> bool:
    return raw.get("status") == "generating" or bool(raw.get("lateTasks"))


def _swept_items() -> list[tuple[str, dict]]:
    """(projectId, step-7 data) of every item flagged in the sweep index that still has work.

    A flagged item without work has its flag removed, conditional on `sweep_rev` being what was
    read: every write that sets the flag adds one to it, so a claim or schedule written after the
    read keeps its flag (the write that set it won the race), even within the same millisecond."""
    model = _bind()
    keys = [(item.project_id, STEP_BROLL) for item in model.by_sweep.query(SWEEP_DUE)]
    found = []
    for item in model.batch_get(keys, consistent_read=True):
        data = plain(item.data)
        if _has_work(data):
            found.append((item.project_id, data))
            continue
        rev = model.sweep_rev
        unchanged = rev == item.sweep_rev if item.sweep_rev is not None else rev.does_not_exist()
        try:
            model._get_connection().update_item(
                item.project_id, model.step_number.serialize(STEP_BROLL), actions=[model.sweep_due.remove()],
                condition=unchanged, return_values=NONE,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    return sorted(found, key=operator.itemgetter(0))


GeneratingScene = tuple[str, str | None, int, Scene]  # (projectId, ownerId, index, scene)
ScheduledProject = tuple[str, str | None, dict, list[Scene]]  # (projectId, ownerId, schedule, scenes)


@dataclass(frozen=True)
class SweepWork:
    """What one sweep looks at, from one index query and one BatchGetItem: every scene that says
    it is generating or still waits for a cancelled task's clip (lateTasks), and every project
    with a queued Generate All."""

    generating: list[GeneratingScene]
    scheduled: list[ScheduledProject]


def sweep_work() -> SweepWork:
    items = _swept_items()
    return SweepWork(
        generating=[(project_id, data.get("ownerId"), index, Scene.model_validate(raw))
                    for project_id, data in items
                    for index, raw in enumerate(data.get("scenes", [])) if _swept(raw)],
        scheduled=[(project_id, data.get("ownerId"), data["schedule"],
                    [Scene.model_validate(raw) for raw in data.get("scenes", [])])
                   for project_id, data in items if "schedule" in data],
    )


class Projects(Protocol):
    """The project store as the rules see it (the port): reads, and scene writes conditional
    on the scene still being what the caller read (StaleScene otherwise)."""

    def load_project(self, project_id: str, *, owner: str | None) -> ProjectRecord: ...

    def load_broll(self, project_id: str, *, owner: str | None) -> ProjectRecord: ...

    def load_scene(self, project_id: str, index: int, scene_id: str) -> tuple[str | None, int, Scene]: ...

    def update_scene(
        self, project_id: str, index: int, scene_id: str, changes: dict[str, Any], *, owner: str | None,
        generation: int | None = None, status_in: tuple[str, ...] | None = None, expect: dict[str, Any] | None = None,
        present: tuple[str, ...] = (), counted: dict[str, int] | None = None,
    ) -> None: ...

    def update_scenes(self, project_id: str, writes: list[SceneWrite], *, owner: str | None) -> None: ...

    def sweep_work(self) -> SweepWork: ...


class DynamoProjects:
    """The project_steps table: this module's functions, looked up at each call and handed
    the caller's arguments as given."""

    def load_project(self, *args, **kwargs):
        return load_project(*args, **kwargs)

    def load_broll(self, *args, **kwargs):
        return load_broll(*args, **kwargs)

    def load_scene(self, *args, **kwargs):
        return load_scene(*args, **kwargs)

    def update_scene(self, *args, **kwargs):
        update_scene(*args, **kwargs)

    def update_scenes(self, *args, **kwargs):
        update_scenes(*args, **kwargs)

    def sweep_work(self):
        return sweep_work()


get_projects: Port[Projects] = Port(DynamoProjects)


__all__ = [
    "DynamoProjects",
    "Projects",
    "get_projects",
    "ProjectRecord",
    "ProjectStep",
    "bind_table",
    "SceneWrite",
    "StaleScene",
    "create_project",
    "delete_project",
    "replace_part_with_step",
    "update_meta",
    "update_step",
    "load_broll",
    "list_projects",
    "load_project",
    "plain",
    "replace_part",
    "SweepWork",
    "sweep_work",
    "scene_document",
    "update_broll",
    "update_scene",
    "update_scenes",
]
