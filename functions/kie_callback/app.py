"""POST /api/callbacks/kie: Kie's completion hint, confirmed with record-info before use."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common import callback_health, callbacks, generation
from broll_common.api import logger, make_resolver
from broll_common.models import ID_PATTERN, CallbackAck

app = make_resolver()


@app.post("/api/callbacks/kie")
def kie_callback(
    projectId: Annotated[str, Query(pattern=ID_PATTERN)],
    sceneId: Annotated[str, Query(pattern=ID_PATTERN)],
    generation_: Annotated[int, Query(alias="generation", ge=1)],
    sig: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
    body: Annotated[dict[str, Any], Body()],
) -> CallbackAck:
    callbacks.verify_binding(projectId, sceneId, generation_, sig)
    task_id = str((body.get("data") or {}).get("taskId", ""))
    callbacks.verify(app.current_event.headers, task_id)
    callback_health.callback_arrived()
    settled = bool(task_id) and generation.confirm_callback(projectId, sceneId, generation_, task_id)
    return CallbackAck(ok=True, settled=settled)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
