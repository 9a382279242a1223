"""Cognito pre-sign-up trigger (SignUp=email-domains): only the allowed e-mail domains may
create an account, since every account can spend the system Kie key."""

from aws_lambda_powertools.utilities.typing import LambdaContext
from broll_common.api import lambda_entry, logger
from broll_common.config import settings


@lambda_entry
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    email = str(event.get("request", {}).get("userAttributes", {}).get("email", ""))
    domain = email.rpartition("@")[2].lower()
    if not domain or domain not in settings().sign_up_email_domains:
        logger.info("sign-up refused", extra={"emailDomain": domain})
        # Cognito shows the exception's message to the person signing up.
        raise PermissionError("Sign-up is limited to this newsroom's e-mail addresses.")
    return event
