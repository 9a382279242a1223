"""The API's OpenAPI document, generated from the functions' own routes (Powertools).

Each function has its own resolver; this merges their documents into one, and describes
the errors every route can answer with the shape the API really uses ({"error", ...}),
plus API Gateway's own 401. `python -m devstack.openapi > docs/openapi.json` refreshes
the checked-in copy (a test keeps them equal).
"""

from __future__ import annotations

import importlib.util
import json
import sys

from broll_common.models.api import ErrorBody

from .template import load

ERRORS = {
    "400": "The body is not valid JSON.",
    "404": "No such project, scene, task or route (another user's project included).",
    "409": "The request conflicts with the scene's state.",
    "413": "The body is too large.",
    "415": "The body is not JSON.",
    "422": "Some fields are invalid (details name them).",
}


def _app(function) -> object | None:
    module_file = function.handler.rsplit(".", 1)[0]
    spec = importlib.util.spec_from_file_location(f"openapi_{function.logical_id}", function.code_dir / f"{module_file}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "app", None)


def build() -> dict:
    doc: dict = {
        "openapi": "3.1.0",
        "info": {"title": "B-Roll Studio API", "version": "1.0.0",
                 "description": "Stage 7: Final Export & B-Roll Generation. See docs/API.md."},
        "paths": {},
        "components": {
            "schemas": {"ErrorBody": ErrorBody.model_json_schema(),
                        "Unauthorized": {"type": "object", "properties": {"message": {"type": "string"}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }
    template = load()
    open_paths = {r.path for r in template.routes if not r.authorized}
    for function in template.functions.values():
        app = _app(function)
        if app is None:
            continue  # not an HTTP function (the poll step and sweep)
        part = json.loads(app.get_openapi_json_schema(title="part", version="0"))
        for path, operations in part.get("paths", {}).items():
            doc["paths"].setdefault(path, {}).update(operations)
        doc["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            for code, description in ERRORS.items():
                responses[code] = {"description": description,
                                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
            if path in open_paths:
                operation["security"] = []
                responses["403"] = {"description": "The callback URL was not issued for this scene.",
                                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
            responses["401"] = {"description": "No valid token.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Unauthorized"}}}}
    for unused in ("HTTPValidationError", "ValidationError"):
        doc["components"]["schemas"].pop(unused, None)
    return doc


if __name__ == "__main__":
    json.dump(build(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
