"""Download All's build in the background (issue 12 item 8) on moto: the request starts or joins
a build and never packs the ZIP itself; the worker writes its outcome only for its own build;
a failed or lost build is said once, and asking again builds it again."""

from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from moto import mock_aws

from broll_common import aws, config
from broll_common.logic import export
from broll_common.dal import projects as storage
from broll_common.clients.workers import get_workers
from broll_common.models.domain import DownloadStatus, Scene, TimeRange
from devstack.template import load as load_template
from tests.unit.fakes import FakeWorkers

TABLE, BUCKET, OWNER, PID = "project_steps_export", "media-export", "user-a", "zip-1"


@pytest.fixture
def cloud(monkeypatch):
    with mock_aws():
        monkeypatch.setenv("PROJECT_STEPS_TABLE", TABLE)
        monkeypatch.setenv("MEDIA_BUCKET", BUCKET)
        monkeypatch.setenv("EXPORT_FUNCTION_NAME", "export-worker")
        config.reset_settings()
        aws.reset_clients()
        props = load_template().tables["ProjectStepsTable"]
        boto3.client("dynamodb").create_table(
            TableName=TABLE, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"], BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=f"projects/{PID}/clip.mp4", Body=b"clip bytes")
        hook = Scene(sceneId="hook", sceneTitle="Hook", timeRange=TimeRange(start=0, end=4, label="0:00–0:04"),
                     status="completed", videoKey=f"projects/{PID}/clip.mp4")
        storage.create_project(PID, {
            0: {"name": "Zip"}, 3: {"script": "The port at dawn."}, 4: {"audioDurationSec": 4.0}, 5: {},
            7: {"scenes": [storage.scene_document(hook)], "status": "in_progress"},
        }, owner=OWNER)
        yield s3
    storage.ProjectStep._connection = None
    config.reset_settings()
    aws.reset_clients()


@pytest.fixture
def worker():
    """The asynchronous invocations the requests made (run by the test when it chooses)."""
    with get_workers.use(FakeWorkers()) as fake:
        yield fake


def state() -> dict:
    return storage.load_broll(PID, owner=None).export.stored()


def test_the_request_starts_one_build_joins_it_and_answers_the_url_once_made(cloud, worker):
    first = export.request(PID, OWNER)
    assert first.status == DownloadStatus.BUILDING and first.url is None and first.startedAt
    assert export.request(PID, OWNER).status == DownloadStatus.BUILDING  # joined: no second worker
    assert worker.invoked == [{"projectId": PID, "generation": 1}]
    assert cloud.list_objects_v2(Bucket=BUCKET, Prefix=f"projects/{PID}/exports/").get("KeyCount") == 0
    export.run(PID, 1)
    ready = export.request(PID, OWNER)
    assert ready.status == DownloadStatus.READY and ready.url
    key = state()["key"]
    archive = zipfile.ZipFile(io.BytesIO(cloud.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    assert archive.namelist() == ["script.txt", "timeline.json", "captions.ass", "captions.srt", "01-hook.mp4"]
    assert "response-content-disposition=attachment" in ready.url and "zip.zip" in ready.url
    assert len(worker.invoked) == 1  # the same content again: nothing rebuilt


def test_a_worker_of_a_superseded_build_writes_nothing(cloud, worker):
    export.request(PID, OWNER)
    storage.replace_part(PID, "export", state() | {"generation": 2}, owner=None, expect={"generation": 1})
    export.run(PID, 1)
    assert state()["status"] == "building" and state()["generation"] == 2


def test_a_missing_file_fails_the_build_once_with_its_name_then_it_is_built_again(cloud, worker):
    cloud.delete_object(Bucket=BUCKET, Key=f"projects/{PID}/clip.mp4")
    export.request(PID, OWNER)
    export.run(PID, 1)
    failed = export.request(PID, OWNER)
    assert failed.status == DownloadStatus.FAILED
    assert failed.error == "The ZIP could not be made: 01-hook.mp4 is missing from storage."
    again = export.request(PID, OWNER)  # said once: asking again starts a new build
    assert again.status == DownloadStatus.BUILDING and worker.invoked[-1]["generation"] == 2


def test_a_lost_build_is_said_once_then_started_again(cloud, worker, monkeypatch):
    export.request(PID, OWNER)
    storage.replace_part(PID, "export", state() | {"startedAt": 1.0}, owner=None, expect={"generation": 1})
    lost = export.request(PID, OWNER)
    assert lost.status == DownloadStatus.FAILED and lost.error == export.LOST
    assert export.request(PID, OWNER).status == DownloadStatus.BUILDING and len(worker.invoked) == 2


def test_a_worker_that_cannot_be_started_is_said_at_once_and_asking_again_retries(cloud, worker):
    worker.fail = True
    answer = export.request(PID, OWNER)
    assert answer.status == DownloadStatus.FAILED and "could not be started" in answer.error
    worker.fail = False
    assert export.request(PID, OWNER).status == DownloadStatus.BUILDING
    assert worker.invoked == [{"projectId": PID, "generation": 2}]
