"""What the deploy test cannot show, checked on the template CloudFormation is given.

MiniStack enforces IAM only for calls a function makes with its own role: the permissions
one AWS service needs to call another (Step Functions → the poll function, EventBridge → the
sweep, API Gateway → every integrated function, Cognito → the sign-up gate, CloudFront → the
page's bucket) are never checked there. They are resources in the SAM-translated template, so
this asserts each one exists and names exactly its caller.
"""

from __future__ import annotations

import re

import pytest

from devstack.template import load
from devstack.translate import translated


@pytest.fixture(scope="module")
def resources() -> dict:
    return translated()["Resources"]


def _permissions(resources: dict, principal: str) -> list[dict]:
    return [r["Properties"] for r in resources.values()
            if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == principal]


def _function_ref(value) -> str:
    return value.get("Ref") or value["Fn::GetAtt"][0]


def test_every_api_route_may_invoke_its_function_and_only_from_this_api(resources):
    body = resources["HttpApi"]["Properties"]["Body"]
    integrated = {re.search(r"\$\{(\w+)\.Arn\}", op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]).group(1)
                  for methods in body["paths"].values() for op in methods.values()}
    allowed = set()
    for permission in _permissions(resources, "apigateway.amazonaws.com"):
        source = permission["SourceArn"]["Fn::Sub"]
        template, names = source if isinstance(source, list) else (source, {})
        assert "${__ApiId__}" in template and names.get("__ApiId__") == {"Ref": "HttpApi"}, source
        allowed.add(_function_ref(permission["FunctionName"]))
    assert integrated == {route.function for route in load().routes}
    assert integrated <= allowed, integrated - allowed


def test_the_poll_loop_may_invoke_the_poll_function(resources):
    role = resources["PollLoopStateMachineRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    invoke = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert invoke, statements
    targets = str([s["Resource"] for s in invoke])
    assert "PollSchedulerFunction" in targets
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == ["states.amazonaws.com"]


def test_the_schedule_may_invoke_the_sweep_and_only_from_its_rule(resources):
    [permission] = _permissions(resources, "events.amazonaws.com")
    assert _function_ref(permission["FunctionName"]) == "SweepFunction"
    rule = permission["SourceArn"]["Fn::GetAtt"][0]
    assert resources[rule]["Type"] == "AWS::Events::Rule"
    assert resources[rule]["Properties"]["ScheduleExpression"] == {"Ref": "SweepSchedule"}


def test_cognito_may_invoke_the_sign_up_gate_of_this_pool_only(resources):
    [permission] = _permissions(resources, "cognito-idp.amazonaws.com")
    assert _function_ref(permission["FunctionName"]) == "SignUpGateFunction"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    # The gate, its permission and the pool's trigger exist together, or not at all.
    assert resources["SignUpGateFunction"]["Condition"] == resources["SignUpGatePermission"]["Condition"] == "DomainSignUp"


def test_only_the_distribution_reads_the_page_bucket(resources):
    [statement] = resources["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert "${WebDistribution}" in statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    origin = resources["WebDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    blocked = resources["WebBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(blocked.values())


def test_no_function_environment_holds_a_secret_value(resources):
    """Secrets travel by ARN (or parameter name) only; a NoEcho parameter never reaches an environment."""
    secret_parameters = {"KieApiKey", "AnthropicApiKey", "KieWebhookHmacKey"}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for key, value in variables.items():
            assert not (isinstance(value, dict) and value.get("Ref") in secret_parameters), (name, key)
            assert "API_KEY" not in key or key.endswith("_SECRET"), (name, key)
