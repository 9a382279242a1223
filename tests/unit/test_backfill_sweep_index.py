"""scripts/backfill_sweep_index.py on moto: work stored before the sweep index (a scene left
generating, a schedule) gets its flag and is then seen by the sweep; a dry run writes nothing;
a second run flags nothing new; a project deleted meanwhile is not brought back."""

import pytest

from broll_common.dal import projects as storage
from broll_common.dal.projects import STEP_BROLL, STEP_PROJECT, scene_document
from broll_common.models.domain import Scene, TimeRange
from scripts import backfill_sweep_index as backfill
from test_sweep_index import OWNER, TABLE, _flagged, table  # noqa: F401 (the table, built as template.yaml has it)


def _stored_before_the_index(project_id: str, status: str = "idle", schedule: dict | None = None) -> None:
    """A project as the previous version wrote it: its work (if any) without the flag."""
    scene = Scene(sceneId="main", sceneTitle="Main", text="Cranes at dawn.",
                  timeRange=TimeRange(start=0, end=6, label="0:00–0:06"), status=status)
    broll = {"scenes": [scene_document(scene)]} | ({"schedule": schedule} if schedule else {})
    storage.create_project(project_id, {STEP_PROJECT: {"name": project_id}, STEP_BROLL: broll}, owner=OWNER)


@pytest.fixture
def stored(table):
    for n in range(3):
        _stored_before_the_index(f"idle-{n}")
    _stored_before_the_index("done", status="completed")
    _stored_before_the_index("busy", status="generating")
    _stored_before_the_index("later", schedule={"whenCreditsAllow": True})
    _stored_before_the_index("new")
    storage.update_scene("new", 0, "main", {"status": "generating", "generation": 1}, owner=OWNER)  # this version
    return table


def test_a_dry_run_counts_and_writes_nothing(stored, capsys):
    before = stored.scan(TableName=TABLE)["Items"]
    assert backfill.main(["--table", TABLE, "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert {"would flag busy", "would flag later"} <= set(out.splitlines())
    assert ("step-7 items 7, with work 3, already flagged 1, would flag 2 (dry run: --apply to write), "
            "gone meanwhile 0") in out
    assert stored.scan(TableName=TABLE)["Items"] == before and _flagged(stored) == ["new"]
    assert [p for p, *_ in storage.sweep_work().generating] == ["new"]  # the sweep still misses them


def test_apply_flags_the_old_work_for_the_sweep_and_a_second_run_adds_nothing(stored, capsys):
    def updated_at():
        key = {"project_id": {"S": "busy"}, "step_number": {"N": str(STEP_BROLL)}}
        return stored.get_item(TableName=TABLE, Key=key)["Item"]["data"]["M"]["updatedAt"]

    before = updated_at()
    assert backfill.main(["--table", TABLE, "--region", "us-east-1", "--apply"]) == 0
    assert "flagged 2, gone meanwhile 0" in capsys.readouterr().out
    assert _flagged(stored) == ["busy", "later", "new"]
    assert sorted(p for p, *_ in storage.sweep_work().generating) == ["busy", "new"]
    assert [p for p, *_ in storage.sweep_work().scheduled] == ["later"]
    assert updated_at() == before  # the project list's order is kept

    backfill.main(["--table", TABLE, "--region", "us-east-1", "--apply"])
    assert "with work 3, already flagged 3, flagged 0" in capsys.readouterr().out


def test_a_project_deleted_meanwhile_is_not_brought_back(table):
    _stored_before_the_index("busy", status="generating")
    storage.delete_project("busy", owner=OWNER)
    assert backfill.flag(table, TABLE, "busy") is False
    assert table.scan(TableName=TABLE)["Items"] == []
