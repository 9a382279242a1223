"""The poll loop's Step Functions executions: start one by name, and ask how one stands.

logic/generation/executions.py names the executions and decides when to start or restart one; this module
is the AWS call only. An execution's ARN is derived from the state machine's and the name.
"""

from __future__ import annotations

import json
from typing import Protocol

from ..aws import client
from ..config import settings
from ..ports import Port


class PollLoops(Protocol):
    def start(self, name: str, state: dict) -> None:
        """Start an execution of the poll loop named `name` with `state` as its input."""
        ...

    def status(self, name: str) -> str | None:
        """The execution's status ("RUNNING", "SUCCEEDED", …), or None when there is none of that name."""
        ...


class StepFunctionsPollLoops:
    def start(self, name: str, state: dict) -> None:
        client("stepfunctions").start_execution(
            stateMachineArn=settings().state_machine_arn, name=name, input=json.dumps(state)
        )

    def status(self, name: str) -> str | None:
        sfn = client("stepfunctions")
        arn = settings().state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name
        try:
            return sfn.describe_execution(executionArn=arn)["status"]
        except sfn.exceptions.ExecutionDoesNotExist:
            return None


get_poll_loops: Port[PollLoops] = Port(StepFunctionsPollLoops)
