"""Errors the API turns into JSON answers with the right status."""


class BrollError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(BrollError):
    """A body that passes the schema but not the product's rules."""

    status = 422


class NotFound(BrollError):
    status = 404


class Conflict(BrollError):
    status = 409


class Unauthorized(BrollError):
    status = 401


class TooManyRequests(BrollError):
    """The person has used what they may for now (a quota, the credits left): try later or start fewer."""

    status = 429
