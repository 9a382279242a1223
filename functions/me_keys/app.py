"""/api/me/keys/kie: the user's own Kie.ai key (stored encrypted; only its last 4 shown)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common import secrets
from broll_common.api import logger, make_resolver, user_id
from broll_common.models import KeyInfo, KieKeyBody
from broll_common.observability import metrics, tracer

app = make_resolver()


def _info(user: str) -> KeyInfo:
    stored = secrets.user_key_info(user)
    return KeyInfo(set=True, last4=stored.last4, updatedAt=stored.updatedAt) if stored else KeyInfo(set=False)


@app.put("/api/me/keys/kie")
def put_key(body: Annotated[KieKeyBody, Body()]) -> KeyInfo:
    user = user_id(app)
    secrets.put_user_key(user, body.key)
    return _info(user)


@app.get("/api/me/keys/kie")
def get_key() -> KeyInfo:
    return _info(user_id(app))


@app.delete("/api/me/keys/kie")
def delete_key() -> KeyInfo:
    user = user_id(app)
    secrets.delete_user_key(user)
    return _info(user)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
