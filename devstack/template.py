"""What the local stack needs from template.yaml: tables, buckets, functions, routes, loops.

template.yaml is the single source of truth: the local stack creates its resources and
serves its routes from this reading, so local and cloud cannot drift apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


@dataclass
class Route:
    method: str
    path: str  # as in the template: /api/projects/{id}
    function: str
    authorized: bool = True  # the API's default JWT authorizer, unless the route says NONE

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict | None:
        if method != self.method:
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


@dataclass
class Function:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict = field(default_factory=dict)
    schedules: list[str] = field(default_factory=list)


@dataclass
class StateMachine:
    logical_id: str
    definition_path: Path
    substitutions: dict
    name: object = None  # the template's Name (may be an intrinsic)


@dataclass
class Template:
    tables: dict[str, dict]
    buckets: dict[str, dict]  # logical id -> the bucket's Properties
    functions: dict[str, Function]
    routes: list[Route]
    state_machines: dict[str, StateMachine]
    global_environment: dict
    secrets: dict[str, dict]
    kms_keys: list[str]
    parameter_defaults: dict[str, str] = field(default_factory=dict)

    def definition(self, machine: StateMachine, resolve) -> str:
        """The ASL text with DefinitionSubstitutions applied (`resolve` maps intrinsics to values)."""
        text = machine.definition_path.read_text()
        for name, value in machine.substitutions.items():
            text = text.replace("${" + name + "}", resolve(value))
        json.loads(text)  # fail here, not inside the state machine, if a substitution broke it
        return text


def load(path: Path = TEMPLATE) -> Template:
    doc, problems = decode(str(path))
    if problems:
        raise ValueError(f"template.yaml could not be read: {problems}")
    defaults = {name: str(p["Default"]) for name, p in doc.get("Parameters", {}).items() if "Default" in p}
    conditions = doc.get("Conditions", {})
    # A resource whose condition is false under the parameters' defaults is not made locally
    # (e.g. the sign-up gate, which only exists with SignUp=email-domains).
    resources = {
        logical_id: resource for logical_id, resource in doc["Resources"].items()
        if "Condition" not in resource or _holds(conditions[resource["Condition"]], conditions, defaults)
    }
    global_env = doc.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    tables, buckets, functions, routes, machines, secrets, kms_keys = {}, {}, {}, [], {}, {}, []
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            tables[logical_id] = props
        elif kind == "AWS::S3::Bucket":
            buckets[logical_id] = props
        elif kind == "AWS::Serverless::Function":
            fn = Function(
                logical_id=logical_id,
                code_dir=ROOT / props["CodeUri"],
                handler=props["Handler"],
                environment=props.get("Environment", {}).get("Variables", {}),
            )
            for event in props.get("Events", {}).values():
                if event["Type"] == "HttpApi":
                    route = event["Properties"]
                    open_route = route.get("Auth", {}).get("Authorizer") == "NONE"
                    routes.append(Route(route["Method"].upper(), route["Path"], logical_id, authorized=not open_route))
                elif event["Type"] == "Schedule":
                    schedule = event["Properties"]["Schedule"]
                    fn.schedules.append(defaults[schedule["Ref"]] if isinstance(schedule, dict) else schedule)
            functions[logical_id] = fn
        elif kind == "AWS::SecretsManager::Secret":
            secrets[logical_id] = props
        elif kind == "AWS::KMS::Key":
            kms_keys.append(logical_id)
        elif kind == "AWS::Serverless::StateMachine":
            machines[logical_id] = StateMachine(
                logical_id, ROOT / props["DefinitionUri"], props.get("DefinitionSubstitutions", {}), props.get("Name")
            )
    return Template(tables, buckets, functions, routes, machines, global_env, secrets, kms_keys, defaults)


def _holds(condition: dict, conditions: dict, parameters: dict) -> bool:
    """A template condition (Fn::Equals / Not / And / Or over Refs and literals) under `parameters`."""
    (kind, args), = condition.items()
    if kind == "Condition":
        return _holds(conditions[args], conditions, parameters)
    if kind == "Fn::Equals":
        left, right = (parameters[a["Ref"]] if isinstance(a, dict) else str(a) for a in args)
        return left == right
    results = [_holds(c, conditions, parameters) for c in args]
    if kind == "Fn::Not":
        return not results[0]
    if kind == "Fn::And":
        return all(results)
    if kind == "Fn::Or":
        return any(results)
    raise ValueError(f"the local stack cannot evaluate condition {condition!r}")


def rate_seconds(schedule: str) -> float:
    """`rate(5 minutes)` -> 300.0 (the local stack runs schedules itself)."""
    found = re.match(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", schedule)
    if not found:
        raise ValueError(f"unsupported schedule {schedule!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
    return int(found.group(1)) * unit
