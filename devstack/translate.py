"""template.yaml as CloudFormation is given it: translated by the SAM transform, as `sam deploy` does.

Some faults only exist after the transform (a Globals variable naming the HTTP API made every
function and the API's generated body a dependency cycle, E3004, while the source linted clean),
and the permissions one service needs to call another are resources SAM writes.
"""

from __future__ import annotations

import json
import os

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

from .template import TEMPLATE


class _NoManagedPolicies:
    """The template names no AWS managed policy by name, so the translator needs no IAM look-up."""

    def load(self) -> dict:
        return {}


def translated() -> dict:
    template, problems = decode(str(TEMPLATE))
    if problems:
        raise ValueError(f"template.yaml could not be read: {problems}")
    # As `sam package` does: local code paths become the S3 locations they are uploaded to.
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for field in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(field), str):
                props[field] = f"s3://packaged/{props[field]}"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator resolves pseudo parameters
    parameters = {"KieApiKey": "translate-only"}  # the one parameter without a default
    return transform(json.loads(json.dumps(template)), parameters, _NoManagedPolicies())
