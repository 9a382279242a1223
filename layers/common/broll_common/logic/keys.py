"""A user's own Kie.ai key: stored sealed (dal.user_keys); only its last 4 are ever shown."""

from __future__ import annotations

from ..dal import user_keys
from ..models.api import KeyInfo


def key_info(user: str) -> KeyInfo:
    stored = user_keys.user_key_info(user)
    return KeyInfo(set=True, last4=stored.last4, updatedAt=stored.updatedAt) if stored else KeyInfo(set=False)


def set_key(user: str, api_key: str) -> KeyInfo:
    user_keys.put_user_key(user, api_key)
    return key_info(user)


def delete_key(user: str) -> KeyInfo:
    user_keys.delete_user_key(user)
    return key_info(user)
