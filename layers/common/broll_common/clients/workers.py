"""The worker Lambdas, started by asynchronous invocation: the composite's (render.run),
Download All's (export.run) and the person's media's (media_jobs.run). A request starts one and
answers at once; the worker writes its outcome into the project (a map of step 7)."""

from __future__ import annotations

import json
from typing import Protocol

from ..aws import client
from ..config import settings
from ..ports import Port


class Workers(Protocol):
    def start_render(self, project_id: str, generation: int) -> None: ...

    def start_export(self, project_id: str, generation: int) -> None: ...

    def start_media(self, project_id: str, kind: str, generation: int) -> None: ...


class LambdaWorkers:
    @staticmethod
    def _invoke(function_name: str, project_id: str, generation: int, **more: str) -> None:
        client("lambda").invoke(
            FunctionName=function_name, InvocationType="Event",
            Payload=json.dumps({"projectId": project_id, "generation": generation, **more}).encode(),
        )

    def start_render(self, project_id: str, generation: int) -> None:
        self._invoke(settings().render_function_name, project_id, generation)

    def start_export(self, project_id: str, generation: int) -> None:
        self._invoke(settings().export_function_name, project_id, generation)

    def start_media(self, project_id: str, kind: str, generation: int) -> None:
        self._invoke(settings().media_function_name, project_id, generation, kind=kind)


get_workers: Port[Workers] = Port(LambdaWorkers)
