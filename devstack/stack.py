"""The whole product on 127.0.0.1: local AWS (moto), the Kie emulator (unless a real key is
given), the API gateway with the page, the scheduled sweep, and the demo project."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from broll_common.aws import reset_clients
from broll_common.clients.breaker import kie_client
from broll_common.config import reset_settings

from . import demo
from .auth import DEMO_USER, LOCAL_USERS, LocalIssuer
from .cloud import LocalCloud
from .gateway import Gateway
from .kie_emulator import DEFAULT_API_KEY, KieEmulator
from .lambdas import Functions
from .template import load, rate_seconds

log = logging.getLogger("devstack")


@dataclass
class StackOptions:
    api_port: int = 8000
    moto_port: int = 0
    kie_port: int = 0
    kie_delay_s: float = 8.0
    sweep_every_s: float | None = 30.0  # None: the template's own schedule
    poll_first_wait_s: float = 1.0
    poll_max_wait_s: float = 3.0
    seed_demo: bool = True


# The poll loop's settings the emulator's timings replace (by environment variable) and the
# template parameters three of them come from.
_POLL_PARAMETERS = {"POLL_FIRST_WAIT_S": "PollFirstWaitSeconds", "POLL_MAX_WAIT_S": "PollMaxWaitSeconds",
                    "POLL_CALLBACK_GRACE_S": "PollCallbackGraceSeconds"}


def poll_settings(options: StackOptions, real_key: bool, defaults: dict) -> dict[str, str]:
    """The poll loop's settings by environment variable (the environment wins).

    Against the emulator, whose clips take seconds, waits of seconds. Against real Kie, the
    cloud's (the template's defaults, the config's for the rest): its clips take minutes and it
    asks for status polls seconds apart, where the emulator's waits made 20-100 record-info calls
    per clip (bench/RESULTS.md, issue 16)."""
    if real_key:
        chosen = {name: defaults[parameter] for name, parameter in _POLL_PARAMETERS.items()}
    else:
        chosen = {
            "POLL_FIRST_WAIT_S": options.poll_first_wait_s, "POLL_MAX_WAIT_S": options.poll_max_wait_s,
            # With callbacks the loop is the safety net: its first look comes after the clip is due.
            "POLL_CALLBACK_GRACE_S": options.kie_delay_s + 2, "POLL_MIN_WAIT_S": 1,
            "EXPECTED_GENERATION_S": options.kie_delay_s + 2,
            "GENERATION_DEADLINE_S": max(60.0, options.kie_delay_s * 10),
        }
    return {name: os.environ.get(name, str(value)) for name, value in chosen.items()}


class LocalStack:
    def __init__(self, options: StackOptions | None = None):
        self.options = options or StackOptions()
        self.template = load()
        self.cloud = LocalCloud(self.template, self.options.moto_port)
        self.functions = Functions(self.template.functions)
        self.gateway = Gateway(self.template.routes, self.functions)
        self.emulator: KieEmulator | None = None
        self.issuer: LocalIssuer | None = None
        self.api_url = ""
        self._stop = threading.Event()

    def start(self) -> "LocalStack":
        self.cloud.start()
        real_key = os.environ.get("KIE_API_KEY", "")
        if not real_key:
            self.emulator = KieEmulator(port=self.options.kie_port, delay_seconds=self.options.kie_delay_s)
            self.emulator.start()
        defaults = self.template.parameter_defaults
        polls = poll_settings(self.options, bool(real_key), defaults)
        parameters = defaults | {parameter: polls[name] for name, parameter in _POLL_PARAMETERS.items()} | {
            "KieApiKey": real_key or DEFAULT_API_KEY,
            "KieBaseUrl": os.environ.get("KIE_BASE_URL", "https://api.kie.ai") if real_key else self.emulator.base_url,
            # Into Secrets Manager as in the cloud; unset, the template's "none".
            "KieWebhookHmacKey": os.environ.get("KIE_WEBHOOK_HMAC_KEY") or defaults["KieWebhookHmacKey"],
            "AnthropicApiKey": os.environ.get("ANTHROPIC_API_KEY") or defaults["AnthropicApiKey"],
            "AnthropicModel": os.environ.get("ANTHROPIC_MODEL", self.template.parameter_defaults["AnthropicModel"]),
            "KieCreditsPerClip": os.environ.get("KIE_CREDITS_PER_CLIP", self.template.parameter_defaults["KieCreditsPerClip"]),
            "DailyCreditQuota": os.environ.get("DAILY_CREDIT_QUOTA", self.template.parameter_defaults["DailyCreditQuota"]),
            # The emulator and the tests' media servers speak plain http on 127.0.0.1.
            "AllowLoopbackMediaUrls": "true",
        }
        self.cloud.create_resources(self.functions, parameters)
        self.api_url = self.gateway.start(port=self.options.api_port)
        # The page may be opened under either loopback name; its uploads reach moto from that origin.
        self.cloud.allow_page_origins([self.api_url, self.api_url.replace("//127.0.0.1:", "//localhost:")])
        self.issuer = LocalIssuer(f"{self.api_url}/local-auth")
        self.gateway.issuer = self.issuer
        self._configure_environment(real_key, parameters, polls)
        self._start_sweep()
        if self.options.seed_demo:
            demo.seed(self.api_url, os.environ["MEDIA_BUCKET"], self.issuer.mint(DEMO_USER))
        return self

    def _configure_environment(self, real_key: str, parameters: dict, polls: dict[str, str]) -> None:
        """Every function's environment from the template, resolved to the local resources.

        The handlers run in this process, so they share one environment: the union of the
        template's Globals and each function's own variables (they never disagree).
        """
        variables = dict(self.template.global_environment)
        for function in self.template.functions.values():
            variables |= function.environment
        # Kie can only call back to an address it can reach: the emulator can, real Kie cannot. Set,
        # even empty, this wins over the template's SSM parameter (the deployed API's URL; not made here).
        variables["KIE_CALLBACK_URL"] = "" if real_key else f"{self.api_url}/api/callbacks/kie"
        for name, value in variables.items():
            os.environ[name] = self.cloud.resolve(value, parameters)
        os.environ.update(polls)
        self.gateway.config = {"apiBase": "", "auth": {"mode": "local", "tokenUrl": "/local-auth/token",
                                                       "secret": self.issuer.secret, "users": list(LOCAL_USERS)}}
        reset_settings()
        reset_clients()
        kie_client.cache_clear()

    def _start_sweep(self) -> None:
        sweeper = next(f for f in self.template.functions.values() if f.schedules)
        every = self.options.sweep_every_s or rate_seconds(sweeper.schedules[0])
        event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

        def run() -> None:
            while not self._stop.wait(every):
                try:
                    self.functions.invoke(sweeper.logical_id, event)
                except Exception:  # noqa: BLE001 - a failed sweep is logged and tried again next time
                    log.exception("sweep failed")

        threading.Thread(target=run, daemon=True, name="sweep").start()

    def stop(self) -> None:
        self._stop.set()
        self.gateway.stop()
        if self.emulator:
            self.emulator.stop()
        self.cloud.stop()
