"""Cognito pre-sign-up trigger (SignUp=email-domains): only the allowed e-mail domains may
create an account."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.api import lambda_entry, logger
from broll_common.logic import sign_up


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    email = str(event.get("request", {}).get("userAttributes", {}).get("email", ""))
    try:
        sign_up.check_email(email)
    except sign_up.SignUpRefused:
        logger.info("sign-up refused", extra={"emailDomain": email.rpartition("@")[2].lower()})
        raise
    return event
