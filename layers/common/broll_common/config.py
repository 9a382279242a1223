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
    usage_table: str  # the credit ledger and quotas (dal/usage.py)
    media_bucket: str
    state_machine_arn: str
    kie_base_url: str
    # Where Kie posts finished tasks: KIE_CALLBACK_URL when set, even empty (the local stack; empty =
    # no callbacks), else the value of the SSM parameter named by KIE_CALLBACK_URL_PARAMETER (the
    # deployed API's URL, which the template cannot put in the functions' environment: a cycle).
    kie_callback_url: str | None
    kie_callback_url_parameter: str
    kie_model: str
    kie_timeout_s: float
    # Kie's price of one clip in credits: unpublished (about 80 for veo3_fast), so settable.
    kie_credits_per_clip: float
    kie_submits_per_window: int  # Kie's submit limit per key and 10 s (rate_limit)
    # A system-key user's credits per UTC day (quota.py; one user's own override item wins), and what
    # one Claude prompt (a cache miss) counts as against it.
    daily_credit_quota: float
    claude_credits_per_prompt: float
    # The shared circuit breaker (clients/breaker.py): failures to open, seconds open, seconds a state is
    # cached per instance, and the window in which the fleet's failures add up.
    breaker_failure_threshold: int
    breaker_recovery_timeout_s: int
    breaker_cache_s: int
    breaker_failure_window_s: int
    anthropic_model: str
    anthropic_base_url: str  # '' = the SDK's own
    anthropic_max_retries: int
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
    export_function_name: str  # the Download All worker (export.run), invoked asynchronously
    user_keys_table: str
    user_keys_kms_key: str
    sign_up_email_domains: frozenset[str]  # with SignUp=email-domains: who may create an account
    # Media the person brings (uploads and URL imports) and the clips fetched from Kie: the size cap,
    # the whole fetch's time cap, and whether http to loopback is allowed (the local stack only).
    media_max_bytes: int
    media_fetch_timeout_s: float
    media_fetch_allow_loopback: bool
    media_function_name: str  # the media worker (media_jobs.run: fetch, probe, store), invoked asynchronously
    upload_ttl_s: int  # how long a presigned upload form stays valid


@lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ.get
    return Settings(
        project_steps_table=env("PROJECT_STEPS_TABLE", "project_steps"),
        breaker_table=env("BREAKER_TABLE", "breaker_state"),
        history_table=env("HISTORY_TABLE", "scene_history"),
        usage_table=env("USAGE_TABLE", "usage"),
        media_bucket=env("MEDIA_BUCKET", "broll-media"),
        state_machine_arn=env("POLL_STATE_MACHINE_ARN", ""),
        kie_base_url=env("KIE_BASE_URL", "https://api.kie.ai").rstrip("/"),
        kie_callback_url=env("KIE_CALLBACK_URL"),
        kie_callback_url_parameter=env("KIE_CALLBACK_URL_PARAMETER", ""),
        kie_model=env("KIE_MODEL", "veo3_fast"),
        kie_timeout_s=_float("KIE_TIMEOUT_S", 20.0),
        kie_credits_per_clip=_float("KIE_CREDITS_PER_CLIP", 80.0),
        kie_submits_per_window=int(env("KIE_SUBMITS_PER_WINDOW", 20)),
        daily_credit_quota=_float("DAILY_CREDIT_QUOTA", 2000.0),
        claude_credits_per_prompt=_float("CLAUDE_CREDITS_PER_PROMPT", 1.0),
        breaker_failure_threshold=int(env("BREAKER_FAILURE_THRESHOLD", 5)),
        breaker_recovery_timeout_s=int(env("BREAKER_RECOVERY_TIMEOUT_S", 60)),
        breaker_cache_s=int(env("BREAKER_CACHE_S", 2)),
        breaker_failure_window_s=int(env("BREAKER_FAILURE_WINDOW_S", 60)),
        anthropic_model=env("ANTHROPIC_MODEL", "claude-haiku-5-5"),
        anthropic_base_url=env("ANTHROPIC_BASE_URL", ""),
        anthropic_max_retries=max(0, int(_float("ANTHROPIC_MAX_RETRIES", 2))),
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
        export_function_name=env("EXPORT_FUNCTION_NAME", ""),
        user_keys_table=env("USER_KEYS_TABLE", "user_keys"),
        user_keys_kms_key=env("USER_KEYS_KMS_KEY", ""),
        media_max_bytes=int(_float("MEDIA_MAX_MB", 200) * 1024 * 1024),
        media_fetch_timeout_s=_float("MEDIA_FETCH_TIMEOUT_S", 120.0),
        media_fetch_allow_loopback=env("MEDIA_FETCH_ALLOW_LOOPBACK", "false").lower() == "true",
        media_function_name=env("MEDIA_FUNCTION_NAME", ""),
        upload_ttl_s=int(_float("UPLOAD_TTL_S", 900)),
        sign_up_email_domains=frozenset(
            d.strip().lower() for d in env("SIGN_UP_EMAIL_DOMAINS", "").split(",") if d.strip()
        ),
    )


# Each secret: the variable naming its Secrets Manager secret (the cloud and the local stack), and
# the plain variable read when there is none or it holds "none" (unit tests, a developer).
_SECRET_VARIABLES = {
    "kie_api_key": ("KIE_API_KEY_SECRET", "KIE_API_KEY"),
    "anthropic_api_key": ("ANTHROPIC_API_KEY_SECRET", "ANTHROPIC_API_KEY"),
    "kie_webhook_hmac_key": ("KIE_WEBHOOK_HMAC_KEY_SECRET", "KIE_WEBHOOK_HMAC_KEY"),
    "callback_signing_key": ("CALLBACK_SIGNING_SECRET", "CALLBACK_SIGNING_KEY"),
}


def secret_source(name: str) -> tuple[str, str]:
    """(secret ARN, plain value) of one secret, read at each use and never kept in Settings, so
    no secret value lives in a long-lived object (clients/secrets.py caches and redacts the values)."""
    arn_variable, plain_variable = _SECRET_VARIABLES[name]
    return os.environ.get(arn_variable, ""), os.environ.get(plain_variable, "")


def child_environment(**extra: str) -> dict[str, str]:
    """The environment a child process (ffmpeg) runs with: this process's, plus `extra`."""
    return {**os.environ, **extra}


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    settings.cache_clear()
