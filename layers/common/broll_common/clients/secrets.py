"""Secrets the product holds: the system Kie key, the Claude key, Kie's webhook key, the
callback signing key (Secrets Manager), the callback URL (SSM), and which Kie key a user's clip
uses (their own from dal.user_keys, else the system one). Every key loaded is registered for
log redaction."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.utilities.parameters import GetParameterError, get_parameter, get_secret

from ..config import secret_source
from ..dal.user_keys import user_key
from ..models.errors import BrollError

logger = Logger(child=True)

# The template's "not set" value: Secrets Manager holds no empty string, and `sam deploy
# --guided` cannot leave a NoEcho parameter empty.
NOT_SET = "none"
SECRET_MAX_AGE_S = 300  # a rotated secret is seen within this

_KNOWN: set[str] = set()


class Misconfigured(BrollError):
    """The deployment lacks something it needs to run safely: refuse, never carry on insecurely."""

    status = 500


def misconfigured(message: str, **context) -> Misconfigured:
    """The error to raise, logged here so every caller (API, poll loop, sweep) leaves a trace."""
    logger.error(message, extra=context)
    return Misconfigured(message)


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON log line with every registered secret cut to its last 4, wherever it
    appears: the message, extra fields, an exception's text and its stack trace."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in sorted(_KNOWN, key=len, reverse=True):  # a longer secret before any it contains
            line = line.replace(self._escaped(secret), self._escaped(f"…{secret[-4:]}"))
        return line

    def _escaped(self, text: str) -> str:
        # As the serializer writes it inside the line (quotes and backslashes escaped).
        return self.json_serializer(text)[1:-1]


def register(secret: str) -> str:
    if secret and len(secret) >= 8:
        _KNOWN.add(secret)
    return secret


def _secret_value(name: str) -> str:
    """One secret's value ('' = not set): the Secrets Manager secret its *_SECRET variable names,
    else, or when that holds "none", the plain variable."""
    arn, plain = secret_source(name)
    value = ""
    if arn:
        try:
            value = str(get_secret(arn, max_age=SECRET_MAX_AGE_S) or "")
        except GetParameterError as exc:
            raise misconfigured(f"The server could not read its {name} secret.", secret=name, error=str(exc)) from exc
    if value in ("", NOT_SET):
        value = plain
    return "" if value == NOT_SET else register(value)


def system_kie_key() -> str:
    """The system key: Secrets Manager in the cloud and the local stack, env in unit tests."""
    return _secret_value("kie_api_key")


def anthropic_key() -> str:
    """The Claude key ('' = prompts by the local composer)."""
    return _secret_value("anthropic_api_key")


def webhook_hmac_key() -> str:
    """Kie's webhook HMAC key ('' = Kie does not sign its callbacks)."""
    return _secret_value("kie_webhook_hmac_key")


def callback_signature(project_id: str, scene_id: str, generation: int) -> str:
    """Binds a callback URL to the project, scene and generation it was issued for. Without a
    signing key this refuses: a known fallback key would let anyone forge callbacks."""
    key = _secret_value("callback_signing_key")
    if not key:
        raise misconfigured("The server is misconfigured: no callback signing key is set.",
                            secret="callback_signing_key")
    message = f"{project_id}:{scene_id}:{generation}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KieKey:
    value: str
    owner: str  # "user" | "system"

    @property
    def last4(self) -> str:
        return self.value[-4:]


class NoKieKey(BrollError):
    status = 409


def kie_key_for(user_id: str | None, owner: str | None = None) -> KieKey:
    """The user's own key when they set one (or when the scene was started with it), else
    the system key."""
    if user_id and owner != "system":
        own = user_key(user_id)
        if own:
            return KieKey(own, "user")
        if owner == "user":
            raise NoKieKey("This clip was started with your own Kie.ai key, which has since been removed.")
    system = system_kie_key()
    if not system:
        raise NoKieKey("No Kie.ai key is configured. Add your own key in settings.")
    return KieKey(system, "system")


URL_MAX_AGE_S = 300


def parameter_value(name: str) -> str:
    """A plain SSM parameter's value (the deployed API's callback URL), cached for URL_MAX_AGE_S."""
    try:
        return str(get_parameter(name, max_age=URL_MAX_AGE_S))
    except GetParameterError as exc:
        raise misconfigured("The server could not read its callback URL.", parameter=name, error=str(exc)) from exc
