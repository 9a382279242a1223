"""The alarms and the dashboard (issue 16), checked on template.yaml: every product metric an
alarm or a widget watches is emitted somewhere, with the `service` dimension every product
metric carries; every AWS metric names a resource of this template; the failure destinations
exist. A name typed wrong here would be an alarm that never fires, silently."""

from __future__ import annotations

import json
import re

import pytest
from cfnlint.decode import decode

from devstack.template import TEMPLATE
from broll_common.observability import NAMESPACE, SERVICE
from tests.unit.test_observability import emitted

# The AWS namespace an alarm may watch -> the template resource types its dimension may name.
AWS_NAMESPACES = {
    "AWS/Lambda": {"AWS::Serverless::Function"},
    "AWS/States": {"AWS::Serverless::StateMachine"},
    "AWS/SQS": {"AWS::SQS::Queue"},
}


@pytest.fixture(scope="module")
def resources() -> dict:
    doc, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return doc["Resources"]


@pytest.fixture(scope="module")
def alarms(resources) -> dict:
    found = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert found
    return found


def _referenced(value) -> str | None:
    """The logical id a dimension value points at (!Ref X, !GetAtt X.Attr), else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def test_every_product_alarm_watches_an_emitted_metric_with_the_service_dimension(alarms):
    product = {name: a for name, a in alarms.items() if a["Namespace"] == NAMESPACE}
    assert product
    emitted_names = set(emitted())
    for name, alarm in product.items():
        assert alarm["MetricName"] in emitted_names, f"{name} watches {alarm['MetricName']}, which nothing emits"
        assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE}], name


def test_every_aws_alarm_watches_a_resource_of_this_template(alarms, resources):
    for name, alarm in alarms.items():
        if alarm["Namespace"] == NAMESPACE:
            continue
        assert alarm["Namespace"] in AWS_NAMESPACES, f"{name}: {alarm['Namespace']}"
        [dimension] = alarm["Dimensions"]
        target = _referenced(dimension["Value"])
        assert target in resources, f"{name} watches {dimension['Value']!r}, not a resource of the template"
        assert resources[target]["Type"] in AWS_NAMESPACES[alarm["Namespace"]], name


def test_the_alarms_the_issue_asks_for(alarms, resources):
    def watching(namespace: str, metric: str, target: str | None = None) -> dict:
        [alarm] = [a for a in alarms.values() if a["Namespace"] == namespace and a["MetricName"] == metric
                   and (target is None or _referenced(a["Dimensions"][0]["Value"]) == target)]
        return alarm

    rate = watching(NAMESPACE, "ClipFailurePercent")
    assert (rate["Statistic"], rate["Threshold"], rate["Period"] * rate["EvaluationPeriods"]) == ("Average", 20, 900)
    breaker = watching(NAMESPACE, "BreakerOpenSeconds")
    assert (breaker["Statistic"], breaker["Threshold"]) == ("Maximum", 300)
    watching("AWS/States", "ExecutionsFailed", "PollLoopStateMachine")
    watching("AWS/Lambda", "Errors", "RenderWorkerFunction")
    watching("AWS/Lambda", "Errors", "SweepFunction")
    for queue in ("RenderWorkerFailuresQueue", "SweepFailuresQueue"):
        watching("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue)


def test_every_alarm_is_single_metric_quiet_without_data_and_mails_only_when_asked(alarms):
    for name, alarm in alarms.items():
        assert "Metrics" not in alarm, f"{name}: metric math does not deploy on MiniStack"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold", name
        assert alarm["TreatMissingData"] == "notBreaching", name
        for actions in ("AlarmActions", "OKActions"):
            assert alarm[actions] == {"Fn::If": ["MailAlarms", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}, name


def test_the_render_worker_and_the_sweep_send_failed_events_to_their_own_encrypted_queue(resources):
    queues = []
    for function in ("RenderWorkerFunction", "SweepFunction"):
        config = resources[function]["Properties"]["EventInvokeConfig"]
        on_failure = config["DestinationConfig"]["OnFailure"]
        assert on_failure["Type"] == "SQS", function
        queue = _referenced(on_failure["Destination"])
        properties = resources[queue]["Properties"]
        assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600 and properties["SqsManagedSseEnabled"] is True
        queues.append(queue)
    assert len(set(queues)) == 2


# ---------------------------------------------------------------- the dashboard


def _dashboard(resources) -> tuple[dict, set[str]]:
    """The body as JSON (each ${...} of the !Sub replaced by a placeholder) and the logical ids it names."""
    [board] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    text = board["DashboardBody"]["Fn::Sub"]
    named = {m.split(".")[0] for m in re.findall(r"\$\{([^}]+)\}", text) if not m.startswith("AWS::")}
    return json.loads(re.sub(r"\$\{[^}]+\}", "placeholder", text)), named


def _widget_metrics(body: dict) -> list[tuple[str, str]]:
    """(namespace, metric name) of every series, SEARCH expressions included."""
    series = []
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], dict):
                expression = row[0]["expression"]
                namespace = re.search(r"\{(\w+)", expression).group(1)
                series += [(namespace, name) for name in re.findall(r'MetricName="(\w+)"', expression)]
            else:
                series.append((row[0], row[1]))
    return series


def test_the_dashboard_is_json_and_shows_only_emitted_metrics(resources):
    body, named = _dashboard(resources)
    assert named <= set(resources), f"the dashboard names {sorted(named - set(resources))}, not in the template"
    series = _widget_metrics(body)
    product = {name for namespace, name in series if namespace == NAMESPACE}
    missing = product - set(emitted())
    assert not missing, f"the dashboard shows {sorted(missing)}, which nothing emits"
    assert {namespace for namespace, _ in series} <= {NAMESPACE, *AWS_NAMESPACES}


def test_the_dashboard_shows_what_the_issue_lists_and_every_alarm(resources, alarms):
    body, named = _dashboard(resources)
    product = {name for namespace, name in _widget_metrics(body) if namespace == NAMESPACE}
    assert {"ClipsStarted", "ClipsCompleted", "ClipsFailed", "ClipFailurePercent", "CreditsEstimated", "CreditsCharged",
            "DetectionDelay", "BreakerOpens", "BreakerOpenSeconds", "QueueDepth"} <= product
    assert {"RenderWorkerFunction", "SweepFunction"} <= named
    assert set(alarms) <= named  # the alarm widget lists each one


def test_the_checks_see_a_metric_nothing_emits():
    search = "SEARCH('{BrollStudio,Reason} MetricName=\"Nope\"', 'Sum', 60)"
    body = {"widgets": [{"properties": {"metrics": [["BrollStudio", "ClipsStarted", "service", "broll-studio"],
                                                    [{"expression": search}]]}}]}
    shown = {name for _, name in _widget_metrics(body)}
    assert shown == {"ClipsStarted", "Nope"} and "Nope" not in emitted()


def test_each_function_may_send_to_its_failure_queue():
    """SAM grants sqs:SendMessage for an OnFailure destination; this pins that it still does."""
    from devstack.translate import translated

    resources = translated()["Resources"]
    for function in ("RenderWorkerFunction", "SweepFunction"):
        queue = function.replace("Function", "FailuresQueue")
        policies = {p["PolicyName"]: p for p in resources[f"{function}Role"]["Properties"]["Policies"]}
        [statement] = policies[f"{function}EventInvokeConfigOnFailureSQSPolicy"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == "sqs:SendMessage" and statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
