"""The project's real Lambda handlers, run in this process the way Lambda runs them.

Each function gets a pool of environments: an environment is the function's `app.py`
imported on its own (its own module globals, like one Lambda instance) and serves one
event at a time; a busy pool grows by a new "cold start". This matters because handler
modules keep per-invocation state (Powertools' resolver holds the current event).
"""

from __future__ import annotations

import importlib.util
import itertools
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from .template import Function

_counter = itertools.count()
_per_thread = threading.local()


def _keep_resolver_state_per_thread() -> None:
    """Powertools keeps the event being resolved on the `BaseRouter` class, one per process: on
    Lambda a process serves one event at a time, but here every function runs on threads of one
    process, so two requests at once (to any two functions) could read each other's event (seen:
    one of 50 concurrent scene edits applied to the wrong scene). Each resolver reads its event
    and context from its own thread instead; nothing changes for the code under test."""

    def state(name: str) -> property:
        return property(lambda self: getattr(_per_thread, name, None),
                        lambda self, value: setattr(_per_thread, name, value))

    resolve = ApiGatewayResolver.resolve

    def resolve_on_this_thread(self, event, context):
        _per_thread.current_event = self._to_proxy_event(dict(event))
        _per_thread.lambda_context = context
        return resolve(self, event, context)

    ApiGatewayResolver.current_event = state("current_event")
    ApiGatewayResolver.lambda_context = state("lambda_context")
    ApiGatewayResolver.resolve = resolve_on_this_thread


_keep_resolver_state_per_thread()


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    timeout_s: float = 29.0

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionPool:
    def __init__(self, function: Function):
        self.function = function
        self._idle: queue.SimpleQueue[Callable] = queue.SimpleQueue()
        self.cold_starts = 0

    def _load(self) -> Callable:
        module_file, attr = self.function.handler.rsplit(".", 1)
        path = self.function.code_dir / f"{module_file}.py"
        name = f"broll_fn_{self.function.logical_id}_{next(_counter)}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.cold_starts += 1
        return getattr(module, attr)

    def invoke(self, event: dict) -> Any:
        try:
            handler = self._idle.get_nowait()
        except queue.Empty:
            handler = self._load()
        try:
            return handler(event, LambdaContext(self.function.logical_id))
        finally:
            self._idle.put(handler)


class Functions:
    def __init__(self, functions: dict[str, Function]):
        self.pools = {name: FunctionPool(fn) for name, fn in functions.items()}

    def invoke(self, name_or_arn: str, event: dict) -> Any:
        name = name_or_arn.rsplit(":", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        return self.pools[name].invoke(event)
