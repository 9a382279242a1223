"""The HTTP layer every function shares: one resolver factory, one error shape.

Every error answers `{"error": "<sentence>", "details": [...]}`: 400 for a body that is
not JSON, 422 for invalid fields, 404/409 from the domain. Nothing is changed before the
body has been validated.
"""

from __future__ import annotations

import json
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path

from .models.errors import BrollError, Unauthorized
from .models.domain import ID_PATTERN, TASK_ID_PATTERN
from .clients.secrets import RedactingFormatter
from .observability import metrics, tracer

MAX_BODY_BYTES = 64 * 1024
# Keys are registered as they are loaded; no log line carries one (only its last 4), in whatever
# part of the line it would have appeared.
logger = Logger(service="broll-studio", logger_formatter=RedactingFormatter())


def lambda_entry(handler):
    """Every function's entry: context in each log line, an X-Ray segment (responses left out of
    the trace), and the metrics of the invocation flushed, with a cold-start count."""
    return logger.inject_lambda_context(
        tracer.capture_lambda_handler(capture_response=False)(
            metrics.log_metrics(capture_cold_start_metric=True)(handler)
        )
    )


def user_id(app: APIGatewayHttpResolver) -> str:
    """The caller, from the verified JWT's claims only (API Gateway's authorizer checked it)."""
    authorizer = app.current_event.request_context.authorizer
    claims = (authorizer.jwt_claim if authorizer else None) or {}
    sub = claims.get("sub")
    if not sub:
        raise Unauthorized("Sign in to use B-Roll Studio.")
    return str(sub)


def _json_error(status: int, message: str, details: list | None = None) -> Response:
    body = {"error": message} | ({"details": details} if details else {})
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _field(error: dict) -> dict:
    loc = [str(p) for p in error.get("loc", []) if p not in ("body", "path", "query")]
    return {"field": ".".join(loc) or "body", "message": error.get("msg", "invalid")}


def _refused_body(event: dict) -> dict | None:
    """Every body this API takes is small JSON: anything else is refused before any parsing
    (Powertools' validation would otherwise try, e.g., a multipart body, and fail with a 500)."""
    body = event.get("body") or ""
    status, message = None, ""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    kind = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if len(body) > MAX_BODY_BYTES:
        status, message = 413, "The request body is too large."
    elif body and kind != "application/json" and not kind.endswith("+json"):
        status, message = 415, "Send the body as JSON (Content-Type: application/json)."
    if status is None:
        return None
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": message}), "isBase64Encoded": False}


class JsonApiResolver(APIGatewayHttpResolver):
    def resolve(self, event: dict, context) -> dict:
        return _refused_body(event) or super().resolve(event, context)


def make_resolver() -> APIGatewayHttpResolver:
    # CORS is answered by API Gateway (template.yaml: only the page's origin); the local
    # stack serves page and API from one origin.
    app = JsonApiResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def invalid(exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _json_error(400, "The request body is not valid JSON.")
        return _json_error(422, "Some fields are invalid.", [_field(e) for e in errors])

    @app.exception_handler(BrollError)
    def domain(exc: BrollError) -> Response:
        return _json_error(exc.status, exc.message)

    @app.not_found
    def not_found(_exc: Exception) -> Response:
        return _json_error(404, "No such route.")

    return app


# Path parameters, validated before any lookup.
ProjectId = Annotated[str, Path(pattern=ID_PATTERN, description="Project id")]
SceneId = Annotated[str, Path(pattern=ID_PATTERN, description="Scene id")]
TaskIdParam = Annotated[str, Path(pattern=TASK_ID_PATTERN, description="Kie task id")]
