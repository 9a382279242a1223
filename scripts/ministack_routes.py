"""MiniStack's known HTTP API gaps, closed: the routes from the deployed template, and its URL.

MiniStack 1.5.33 applies the SAM transform and creates the `AWS::ApiGatewayV2::Api`, but it
makes no routes, integrations or authorizer from the API's OpenAPI `Body` (AWS does). This
script reads the stack's processed template and creates exactly what the Body says, through
the ordinary apigatewayv2 API: one AWS_PROXY integration per function (payload 2.0), one
route per path and method, and the JWT authorizer with the Body's issuer and audience.
MiniStack also serves the API at its own address, not at `https://{id}.execute-api…`, so
the callback URL parameter (which Kie is given) is pointed there.

It is the only place that knows about these gaps; `scripts/deploy --endpoint-url` runs it
after `sam deploy`, and never against AWS.

    python scripts/ministack_routes.py STACK_NAME API_ID ENDPOINT   (AWS_ENDPOINT_URL set)
"""

from __future__ import annotations

import json
import re
import sys

import boto3


def _resolver(stack: str, physical: dict[str, str], region: str, account: str):
    """Resolve the few intrinsics an HTTP API Body holds (Ref, GetAtt .Arn, Sub)."""
    lam = boto3.client("lambda")
    pseudo = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
              "AWS::StackName": stack, "AWS::URLSuffix": "amazonaws.com"}

    def attribute(logical_id: str, name: str) -> str:
        if name != "Arn":
            raise ValueError(f"unexpected attribute {logical_id}.{name}")
        return lam.get_function(FunctionName=physical[logical_id])["Configuration"]["FunctionArn"]

    def resolve(value):
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return pseudo.get(value["Ref"]) or physical[value["Ref"]]
        if "Fn::GetAtt" in value:
            return attribute(*value["Fn::GetAtt"])
        if "Fn::Sub" in value:
            def one(match: re.Match) -> str:
                name = match.group(1)
                if name in pseudo:
                    return pseudo[name]
                logical_id, _, attr = name.partition(".")
                return attribute(logical_id, attr) if attr else physical[logical_id]
            return re.sub(r"\$\{([\w:.]+)\}", one, value["Fn::Sub"])
        raise ValueError(f"unexpected intrinsic {value!r}")

    return resolve


def create_routes(stack: str) -> int:
    cfn, api = boto3.client("cloudformation"), boto3.client("apigatewayv2")
    body = cfn.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    template = body if isinstance(body, dict) else json.loads(body)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}
    stack_arn = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
    region, account = stack_arn.split(":")[3], stack_arn.split(":")[4]
    resolve = _resolver(stack, physical, region, account)
    made = 0
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::ApiGatewayV2::Api" or "Body" not in resource.get("Properties", {}):
            continue
        api_id, spec = physical[logical_id], resource["Properties"]["Body"]
        # A re-deploy keeps what an earlier run made: only what is missing is created.
        routes = {r["RouteKey"] for r in api.get_routes(ApiId=api_id)["Items"]}
        authorizers = {a["Name"]: a["AuthorizerId"] for a in api.get_authorizers(ApiId=api_id)["Items"]}
        integrations = {i["IntegrationUri"]: i["IntegrationId"] for i in api.get_integrations(ApiId=api_id)["Items"]}
        for name, scheme in spec.get("components", {}).get("securitySchemes", {}).items():
            if name in authorizers:
                continue
            jwt = scheme["x-amazon-apigateway-authorizer"]["jwtConfiguration"]
            authorizers[name] = api.create_authorizer(
                ApiId=api_id, Name=name, AuthorizerType="JWT",
                IdentitySource=[scheme["x-amazon-apigateway-authorizer"]["identitySource"]],
                JwtConfiguration={"Issuer": resolve(jwt["issuer"]), "Audience": [resolve(a) for a in jwt["audience"]]},
            )["AuthorizerId"]
        for path, methods in spec["paths"].items():
            for method, operation in methods.items():
                if f"{method.upper()} {path}" in routes:
                    continue
                uri = resolve(operation["x-amazon-apigateway-integration"]["uri"])
                function_arn = re.search(r"functions/(.+)/invocations$", uri).group(1)
                if function_arn not in integrations:
                    integrations[function_arn] = api.create_integration(
                        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn,
                        PayloadFormatVersion="2.0",
                    )["IntegrationId"]
                # SAM writes `Auth: {Authorizer: NONE}` as a security entry named NONE.
                security = [name for entry in operation.get("security", []) for name in entry if name != "NONE"]
                auth = {"AuthorizationType": "JWT", "AuthorizerId": authorizers[security[0]]} if security else {}
                api.create_route(ApiId=api_id, RouteKey=f"{method.upper()} {path}",
                                 Target=f"integrations/{integrations[function_arn]}", **auth)
                made += 1
    return made


def close_gaps(stack: str, endpoint: str, api_id: str) -> str:
    """Create the missing routes and point the callback URL at the emulator; returns the API's base URL."""
    made = create_routes(stack)
    base = f"{endpoint.rstrip('/')}/_aws/execute-api/{api_id}"
    boto3.client("ssm").put_parameter(
        Name=f"/{stack}/kie-callback-url", Value=f"{base}/api/callbacks/kie", Type="String", Overwrite=True
    )
    print(f"ministack_routes: {made} routes created; API at {base}", flush=True)
    return base


if __name__ == "__main__":
    close_gaps(sys.argv[1], sys.argv[3], sys.argv[2])
