"""Local AWS: one moto server (DynamoDB, S3, Step Functions, Lambda, IAM) on 127.0.0.1,
with the resources created from template.yaml and the poll loop run by moto's own
Step Functions interpreter on the real ASL definition.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import zipfile
from typing import Any

import boto3
import httpx

# moto's server otherwise answers every Origin (flask-cors on every service): a page in another
# tab could call GetSecretValue on local Secrets Manager, which holds a real KIE_API_KEY when one
# is set. moto.settings reads this at import; set it before moto is first imported.
os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "1"

from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: E402
from moto.moto_server import werkzeug_app  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from . import atomic_dynamodb, s3_post_policy  # noqa: E402
from .auth import is_loopback_host  # noqa: E402
from .lambdas import Functions  # noqa: E402
from .template import Template  # noqa: E402

# werkzeug_app imported the flag by name, so if moto was imported before the line above (a test
# module, a tool) it holds the old value: set it there too. With it off, S3 answers a browser
# only as its bucket's CORS rules allow (moto/s3/responses.py _set_cors_headers_options).
werkzeug_app.DISABLE_GLOBAL_CORS = True

REGION = "us-east-1"
ACCOUNT = "123456789012"
SECRET_ACCESS_KEY = "testing"  # every local signer's secret (presigned URLs and POST policies included)
ROLE_NAME = "broll-local-lambda"
STACK_NAME = "broll-local"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": STACK_NAME,
    "AWS::URLSuffix": "amazonaws.com",
}


def local_name(logical_id: str) -> str:
    return f"broll-local-{logical_id.lower()}"


def install_lambda_bridge(functions: Functions) -> None:
    """Route moto's Lambda invocations (from the state machine) to the real handlers.

    Lambda under moto without Docker only returns canned answers; this one replacement
    makes `arn:aws:states:::lambda:invoke` run the project's own code, in this process.
    A handler that raises answers as Lambda does: a FunctionError with the error payload.
    An asynchronous invocation (`InvocationType="Event"`) runs on its own thread.
    """

    def run(function_name: str, event: dict, response_headers: dict) -> bytes:
        try:
            result = functions.invoke(function_name, event)
        except Exception as exc:  # noqa: BLE001 - reported to the caller like Lambda does
            response_headers["x-amz-function-error"] = "Unhandled"
            logging.getLogger("devstack.lambda").exception("%s failed", function_name)
            result = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        return json.dumps(result).encode()

    def invoke(self, function_name, qualifier, body, headers, response_headers):  # noqa: ARG001
        event = json.loads(body) if body else {}
        if headers.get("X-Amz-Invocation-Type") == "Event":
            # Asynchronous invocation (a render): Lambda queues it and answers 202 at once.
            threading.Thread(target=run, args=(function_name, event, {}), daemon=True).start()
            return b""
        return run(function_name, event, response_headers)

    LambdaSimpleBackend.invoke = invoke


def cors_rule(rule: dict, origins: list[str]) -> dict:
    """A template CorsRule (CloudFormation's names) as put_bucket_cors takes it, for `origins`."""
    names = {"AllowedHeaders": "AllowedHeaders", "AllowedMethods": "AllowedMethods", "ExposedHeaders": "ExposeHeaders",
             "MaxAge": "MaxAgeSeconds", "Id": "ID"}
    translated = {names[key]: value for key, value in rule.items() if key in names}
    return translated | {"AllowedOrigins": origins}


def loopback_only(app):
    """A page of another site can reach 127.0.0.1 under a name of its own (DNS rebinding) and then
    call local AWS as a same-origin page, CORS or not: answer only requests that name a loopback host."""

    def guarded(environ, start_response):
        if is_loopback_host(environ.get("HTTP_HOST")):
            return app(environ, start_response)
        start_response("403 Forbidden", [("Content-Type", "application/xml")])
        return [b"<Error><Code>AccessDenied</Code><Message>Local AWS answers only 127.0.0.1, localhost or [::1]."
                b"</Message></Error>"]

    return guarded


class LocalCloud:
    def __init__(self, template: Template, port: int = 0):
        self.template = template
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint = ""
        self.names: dict[str, str] = {}

    def start(self) -> str:
        atomic_dynamodb.install()
        s3_post_policy.install(REGION, SECRET_ACCESS_KEY)
        self.server.start()
        # moto's ThreadedMotoServer keeps its werkzeug server here; the request handler reads .app per request.
        self.server._server.app = loopback_only(self.server._server.app)
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        os.environ.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            MOTO_PORT=str(port),
        )
        # moto runs state machines and keeps Lambda in-process only when told so.
        httpx.post(
            f"{self.endpoint}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
        ).raise_for_status()
        return self.endpoint

    def stop(self) -> None:
        self.server.stop()

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def create_resources(self, functions: Functions, parameters: dict) -> None:
        ddb = self.client("dynamodb")
        for logical_id, props in self.template.tables.items():
            name = self.names[logical_id] = local_name(logical_id)
            extra = {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]} if "GlobalSecondaryIndexes" in props else {}
            ddb.create_table(
                TableName=name,
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
                **extra,
            )
        kms = self.client("kms")
        for logical_id in self.template.kms_keys:
            self.names[logical_id] = kms.create_key(Description=logical_id)["KeyMetadata"]["KeyId"]
        sm = self.client("secretsmanager")
        for logical_id, props in self.template.secrets.items():
            if "SecretString" in props:
                value = self.resolve(props["SecretString"], parameters)
            else:
                value = sm.get_random_password(PasswordLength=48, ExcludePunctuation=True)["RandomPassword"]
            self.names[logical_id] = sm.create_secret(Name=local_name(logical_id), SecretString=value)["ARN"]
        s3 = self.client("s3")
        for logical_id in self.template.buckets:
            self.names[logical_id] = local_name(logical_id)
            s3.create_bucket(Bucket=self.names[logical_id])
        self._create_functions()
        install_lambda_bridge(functions)
        sfn = self.client("stepfunctions")
        for logical_id, machine in self.template.state_machines.items():
            arn = sfn.create_state_machine(
                name=self.resolve(machine.name) if machine.name else local_name(logical_id),
                definition=self.template.definition(machine, self.resolve),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}",
                type="STANDARD",
            )["stateMachineArn"]
            self.names[logical_id] = arn

    def allow_page_origins(self, origins: list[str]) -> None:
        """Each bucket's template CORS rules, with the deployed page's origin (CloudFront's domain,
        not made here) replaced by the local page's, so the page can POST uploads to moto itself."""
        s3 = self.client("s3")
        for logical_id, props in self.template.buckets.items():
            rules = props.get("CorsConfiguration", {}).get("CorsRules")
            if rules:
                s3.put_bucket_cors(Bucket=self.names[logical_id],
                                   CORSConfiguration={"CORSRules": [cors_rule(rule, origins) for rule in rules]})

    def _create_functions(self) -> None:
        iam = self.client("iam")
        role = iam.create_role(
            RoleName=ROLE_NAME,
            AssumeRolePolicyDocument=json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            ),
        )["Role"]["Arn"]
        # The code moto stores is never run (the bridge runs the real handlers); it only
        # has to be a valid zip so moto accepts the function and knows its ARN.
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", "# runs in-process through devstack.cloud.install_lambda_bridge\n")
        lam = self.client("lambda")
        for logical_id in self.template.functions:
            arn = lam.create_function(
                FunctionName=logical_id, Runtime="python3.11", Role=role, Handler="app.lambda_handler",
                Code={"ZipFile": buffer.getvalue()},
            )["FunctionArn"]
            self.names[logical_id] = arn

    def resolve(self, value: Any, overrides: dict | None = None) -> str:
        """A template value (plain, Ref, GetAtt, Sub) as its local value."""
        known = PSEUDO | self.names | (overrides or {})
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return known[value["Ref"]]
        if "Fn::GetAtt" in value:
            return self.names[value["Fn::GetAtt"][0]]
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([\w:]+)(?:\.\w+)?\}", lambda m: known[m.group(1)], value["Fn::Sub"])
        raise ValueError(f"the local stack cannot resolve {value!r}")
