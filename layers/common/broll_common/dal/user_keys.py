"""Users' own Kie keys in the user_keys table, sealed by KMS envelope encryption (a fresh data
key per secret, AES-GCM in this process). Every key read or written is registered for log
redaction."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ..aws import client
from ..clients import secrets
from ..config import settings


@dataclass
class StoredKey:
    last4: str
    updatedAt: str


def _table() -> str:
    return settings().user_keys_table


def put_user_key(user_id: str, api_key: str) -> StoredKey:
    """Envelope encryption: a fresh KMS data key per secret, AES-GCM in this process."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only key writes/reads pay for it

    secrets.register(api_key)
    data_key = client("kms").generate_data_key(KeyId=settings().user_keys_kms_key, KeySpec="AES_256")
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
    return secrets.register(key)


def delete_user_key(user_id: str) -> None:
    client("dynamodb").delete_item(TableName=_table(), Key={"user_id": {"S": user_id}})


