"""/api/me/keys/kie: the user's own Kie.ai key (stored encrypted; only its last 4 shown)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.api import lambda_entry, make_resolver, user_id
from broll_common.logic import keys
from broll_common.models.api import KeyInfo, KieKeyBody

app = make_resolver()


@app.put("/api/me/keys/kie")
def put_key(body: Annotated[KieKeyBody, Body()]) -> KeyInfo:
    return keys.set_key(user_id(app), body.key)


@app.get("/api/me/keys/kie")
def get_key() -> KeyInfo:
    return keys.key_info(user_id(app))


@app.delete("/api/me/keys/kie")
def delete_key() -> KeyInfo:
    return keys.delete_key(user_id(app))


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
