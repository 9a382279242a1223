"""Who may create an account (SignUp=email-domains): every account can spend the system Kie key."""

from ..config import settings


class SignUpRefused(PermissionError):
    """Cognito shows the message to the person signing up."""


def check_email(email: str) -> str:
    """The address's domain when it may sign up; otherwise SignUpRefused with a sentence."""
    domain = email.rpartition("@")[2].lower()
    if not domain or domain not in settings().sign_up_email_domains:
        raise SignUpRefused("Sign-up is limited to this newsroom's e-mail addresses.")
    return domain
