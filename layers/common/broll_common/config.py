"""Settings read from the environment, once per process (tests reset them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    project_steps_table: str
    breaker_table: str
    history_table: str
    media_bucket: str
    state_machine_arn: str
    kie_base_url: str
    kie_callback_url: str
    kie_model: str
    kie_timeout_s: float
    # Kie's price of one clip in credits: unpublished (about 80 for veo3_fast), so settable.
    kie_credits_per_clip: float
    anthropic_api_key: str
    anthropic_model: str
    # The poll loop (backoff.PollSchedule); the whole generation gives up at the deadline.
    poll_first_wait_s: float
    poll_callback_grace_s: float
    poll_min_wait_s: float
    poll_max_wait_s: float
    poll_factor: float
    generation_deadline_s: float
    queue_deadline_s: float  # a Generate All scene waiting for a submit slot
    expected_generation_s: float
    presign_ttl_s: int
    render_function_name: str


@lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ.get
    return Settings(
        project_steps_table=env("PROJECT_STEPS_TABLE", "project_steps"),
        breaker_table=env("BREAKER_TABLE", "breaker_state"),
        history_table=env("HISTORY_TABLE", "scene_history"),
        media_bucket=env("MEDIA_BUCKET", "broll-media"),
        state_machine_arn=env("POLL_STATE_MACHINE_ARN", ""),
        kie_base_url=env("KIE_BASE_URL", "https://api.kie.ai").rstrip("/"),
        kie_callback_url=env("KIE_CALLBACK_URL", ""),
        kie_model=env("KIE_MODEL", "veo3_fast"),
        kie_timeout_s=_float("KIE_TIMEOUT_S", 20.0),
        kie_credits_per_clip=_float("KIE_CREDITS_PER_CLIP", 80.0),
        anthropic_api_key=env("ANTHROPIC_API_KEY", ""),
        anthropic_model=env("ANTHROPIC_MODEL", "claude-haiku-5-5"),
        poll_first_wait_s=_float("POLL_FIRST_WAIT_S", 65.0),
        # Past the longest Veo generation (about 180 s) with room for its callback, so the safety
        # look never races a clip's own callback while callbacks arrive.
        poll_callback_grace_s=_float("POLL_CALLBACK_GRACE_S", 210.0),
        poll_min_wait_s=_float("POLL_MIN_WAIT_S", 5.0),
        poll_max_wait_s=_float("POLL_MAX_WAIT_S", 60.0),
        poll_factor=_float("POLL_FACTOR", 1.15),
        generation_deadline_s=_float("GENERATION_DEADLINE_S", 900.0),
        queue_deadline_s=_float("QUEUE_DEADLINE_S", 3600.0),
        expected_generation_s=_float("EXPECTED_GENERATION_S", 120.0),
        presign_ttl_s=int(_float("PRESIGN_TTL_S", 3600)),
        render_function_name=env("RENDER_FUNCTION_NAME", ""),
    )


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    settings.cache_clear()
