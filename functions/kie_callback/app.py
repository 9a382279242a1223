"""POST /api/callbacks/kie: Kie's completion hint, confirmed with record-info before use."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.logic import callback_intake
from broll_common.api import lambda_entry, make_resolver
from broll_common.models.api import CallbackAck
from broll_common.models.domain import ID_PATTERN

app = make_resolver()


@app.post("/api/callbacks/kie")
def kie_callback(
    projectId: Annotated[str, Query(pattern=ID_PATTERN)],
    sceneId: Annotated[str, Query(pattern=ID_PATTERN)],
    generation_: Annotated[int, Query(alias="generation", ge=1)],
    sig: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
    body: Annotated[dict[str, Any], Body()],
) -> CallbackAck:
    settled = callback_intake.receive(projectId, sceneId, generation_, sig, app.current_event.headers, body)
    return CallbackAck(ok=True, settled=settled)


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
