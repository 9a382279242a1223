"""Secrets the product holds: the system Kie key, the callback signing key, users' own
Kie keys (KMS envelope encryption). Every key loaded is registered for log redaction."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass

from .aws import client
from .errors import BrollError

_KNOWN: set[str] = set()


class SecretRedactor(logging.Filter):
    """Replaces every registered secret in a log record by its last 4 characters."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def register(secret: str) -> str:
    if secret and len(secret) >= 8:
        _KNOWN.add(secret)
    return secret


def redact(text: str) -> str:
    for secret in _KNOWN:
        if secret in text:
            text = text.replace(secret, f"…{secret[-4:]}")
    return text


def _secret_value(arn_env: str, plain_env: str) -> str:
    from aws_lambda_powertools.utilities.parameters import get_secret

    arn = os.environ.get(arn_env, "")
    value = get_secret(arn, max_age=300) if arn else os.environ.get(plain_env, "")
    return register(str(value or ""))


def system_kie_key() -> str:
    """The system key: Secrets Manager in the cloud and the local stack, env in unit tests."""
    return _secret_value("KIE_API_KEY_SECRET", "KIE_API_KEY")


def callback_signature(project_id: str, scene_id: str, generation: int) -> str:
    """Binds a callback URL to the project, scene and generation it was issued for."""
    key = _secret_value("CALLBACK_SIGNING_SECRET", "CALLBACK_SIGNING_KEY") or "unsigned-local"
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


@dataclass
class StoredKey:
    last4: str
    updatedAt: str


def _table() -> str:
    return os.environ.get("USER_KEYS_TABLE", "user_keys")


def put_user_key(user_id: str, api_key: str) -> StoredKey:
    """Envelope encryption: a fresh KMS data key per secret, AES-GCM in this process."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only key writes/reads pay for it

    register(api_key)
    data_key = client("kms").generate_data_key(KeyId=os.environ["USER_KEYS_KMS_KEY"], KeySpec="AES_256")
    nonce = os.urandom(12)
    sealed = AESGCM(data_key["Plaintext"]).encrypt(nonce, api_key.encode(), user_id.encode())
    stored = StoredKey(last4=api_key[-4:], updatedAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    client("dynamodb").put_item(
        TableName=_table(),
        Item={
            "user_id": {"S": user_id},
            "kie_key_sealed": {"B": sealed},
            "kie_key_nonce": {"B": nonce},
            "kie_data_key": {"B": data_key["CiphertextBlob"]},
            "kie_key_last4": {"S": stored.last4},
            "updated_at": {"S": stored.updatedAt},
        },
    )
    return stored


def user_key_info(user_id: str) -> StoredKey | None:
    item = client("dynamodb").get_item(TableName=_table(), Key={"user_id": {"S": user_id}}).get("Item")
    if not item or "kie_key_sealed" not in item:
        return None
    return StoredKey(last4=item["kie_key_last4"]["S"], updatedAt=item["updated_at"]["S"])


def user_key(user_id: str) -> str | None:
    item = client("dynamodb").get_item(TableName=_table(), Key={"user_id": {"S": user_id}}, ConsistentRead=True).get("Item")
    if not item or "kie_key_sealed" not in item:
        return None
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    plain = client("kms").decrypt(CiphertextBlob=item["kie_data_key"]["B"])["Plaintext"]
    key = AESGCM(plain).decrypt(item["kie_key_nonce"]["B"], item["kie_key_sealed"]["B"], user_id.encode()).decode()
    return register(key)


def delete_user_key(user_id: str) -> None:
    client("dynamodb").delete_item(TableName=_table(), Key={"user_id": {"S": user_id}})


