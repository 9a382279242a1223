"""The local stack's poll loop settings: the emulator's seconds, or with a real Kie key the
cloud's schedule (the template's defaults), never the emulator's 1 s / 3 s waits."""

import pytest

from devstack.stack import StackOptions, poll_settings
from devstack.template import load

NAMES = ("POLL_FIRST_WAIT_S", "POLL_MAX_WAIT_S", "POLL_CALLBACK_GRACE_S", "POLL_MIN_WAIT_S",
         "EXPECTED_GENERATION_S", "GENERATION_DEADLINE_S")


@pytest.fixture(autouse=True)
def _no_poll_environment(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_with_a_real_key_the_stack_polls_on_the_templates_cloud_schedule():
    defaults = load().parameter_defaults
    polls = poll_settings(StackOptions(), True, defaults)
    assert polls == {"POLL_FIRST_WAIT_S": str(defaults["PollFirstWaitSeconds"]),
                     "POLL_MAX_WAIT_S": str(defaults["PollMaxWaitSeconds"]),
                     "POLL_CALLBACK_GRACE_S": str(defaults["PollCallbackGraceSeconds"])}
    assert float(polls["POLL_FIRST_WAIT_S"]) >= 60  # no Veo clip is done sooner
    # The floor, the expected time and the deadline are left to the config's cloud defaults.
    assert not {"POLL_MIN_WAIT_S", "EXPECTED_GENERATION_S", "GENERATION_DEADLINE_S"} & set(polls)


def test_against_the_emulator_the_stack_polls_in_seconds():
    polls = poll_settings(StackOptions(kie_delay_s=8.0), False, load().parameter_defaults)
    assert polls["POLL_FIRST_WAIT_S"] == "1.0" and polls["POLL_MAX_WAIT_S"] == "3.0"
    assert polls["POLL_MIN_WAIT_S"] == "1" and polls["EXPECTED_GENERATION_S"] == "10.0"


def test_the_environment_wins(monkeypatch):
    monkeypatch.setenv("POLL_MAX_WAIT_S", "30")
    assert poll_settings(StackOptions(), True, load().parameter_defaults)["POLL_MAX_WAIT_S"] == "30"
