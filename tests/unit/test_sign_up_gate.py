"""The pre-sign-up trigger (SignUp=email-domains): only the allowed domains get an account."""

import importlib.util

import pytest

from broll_common.config import reset_settings
from devstack.template import ROOT


@pytest.fixture
def gate(monkeypatch):
    monkeypatch.setenv("SIGN_UP_EMAIL_DOMAINS", "newsroom.example, Partner.Example")
    reset_settings()
    spec = importlib.util.spec_from_file_location("sign_up_gate", ROOT / "functions" / "sign_up_gate" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module.lambda_handler
    reset_settings()


def _event(email: str) -> dict:
    return {"triggerSource": "PreSignUp_SignUp", "request": {"userAttributes": {"email": email}}, "response": {}}


class _Context:
    function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id = "gate", 128, "arn:aws:lambda:::gate", "1"


@pytest.mark.parametrize("email", ["ann@newsroom.example", "Bob@PARTNER.example"])
def test_an_allowed_domain_signs_up(gate, email):
    assert gate(_event(email), _Context()) == _event(email)


@pytest.mark.parametrize("email", ["eve@elsewhere.example", "eve@newsroom.example.evil", "no-at-sign", ""])
def test_any_other_address_is_refused_with_a_sentence(gate, email):
    with pytest.raises(PermissionError, match="limited to this newsroom"):
        gate(_event(email), _Context())
