"""Check a browser upload's POST policy locally, as S3 does, before moto stores anything.

The upload route hands out a presigned S3 POST (boto3 generate_presigned_post): a policy that
fixes the key, the Content-Type and a content-length-range, signed with the stack's secret.
Real S3 (and MiniStack, which the deploy test runs: ministack/services/s3.py
_enforce_signed_post_policy) refuse a form that breaks it, and that refusal is the product's only
guard on what a person uploads. moto 5.2.5 checks none of it (moto/s3/responses.py
_bucket_response_post stores any form), so without this the local stack and its tests would
accept a key outside the project's folder, a body over the cap or another type.

Hand-written because no library checks a POST policy on the receiving side. It follows AWS's
PostObject rules for what the product uses: a SigV4 or SigV2 signature (boto3 signs a POST with
SigV2 unless its client asks for s3v4) with the local secret, the expiration, eq / starts-with on
every named field, content-length-range against the file part, no field the policy does not
cover, and no form without a policy (the bucket is private).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from xml.sax.saxutils import escape

from moto.s3.responses import S3Response

SIGV4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
# Fields a policy never names (AWS: and x-ignore-*).
NOT_COVERED = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"}


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str

    def xml(self) -> str:
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code>'
                f"<Message>{escape(self.message)}</Message></Error>")


def _denied(reason: str) -> Refusal:
    return Refusal(403, "AccessDenied", f"Invalid according to Policy: {reason}")


def _invalid_policy() -> Refusal:
    return Refusal(400, "InvalidPolicyDocument",
                   "The content of the form does not meet the conditions specified in the policy document.")


def sigv4_signature(secret: str, date_stamp: str, region: str, policy_b64: str) -> str:
    """SigV4 for a POST policy: the signing key's HMAC chain, then the base64 policy as the string to sign."""
    key = ("AWS4" + secret).encode()
    for part in (date_stamp, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def sigv2_signature(secret: str, policy_b64: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()


def _signature_refusal(fields: dict[str, str], region: str, secret: str) -> Refusal | None:
    if any(name in fields for name in SIGV4_FIELDS):
        if not all(fields.get(name) for name in SIGV4_FIELDS):
            return Refusal(400, "InvalidArgument", "The form must carry all of the policy's SigV4 signing fields.")
        scope = fields["x-amz-credential"].split("/")
        try:
            signed_at = dt.datetime.strptime(fields["x-amz-date"], "%Y%m%dT%H%M%SZ")
        except ValueError:
            return Refusal(400, "InvalidArgument", "x-amz-date is not a SigV4 date.")
        if (fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256" or len(scope) != 5
                or scope[1:] != [signed_at.strftime("%Y%m%d"), region, "s3", "aws4_request"]):
            return Refusal(400, "InvalidArgument", "The form's credential scope does not match its date and region.")
        expected, given = sigv4_signature(secret, scope[1], region, fields["policy"]), fields["x-amz-signature"]
    elif fields.get("awsaccesskeyid") and fields.get("signature"):
        expected, given = sigv2_signature(secret, fields["policy"]), fields["signature"]
    else:
        return Refusal(400, "InvalidArgument", "The form must carry the policy's signature.")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        return Refusal(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                    "signature you provided. Check your key and signing method.")
    return None


def _condition_refusal(condition: object, values: dict[str, str], size: int, covered: set[str]) -> Refusal | None:
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, value),) = condition.items()
        operator, field = "eq", f"${name}"
    elif isinstance(condition, list) and len(condition) == 3:
        operator, field, value = condition
        if operator == "content-length-range":
            try:
                low, high = int(field), int(value)
            except (TypeError, ValueError):
                return _invalid_policy()
            if size < low:
                return Refusal(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
            if size > high:
                return Refusal(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
            return None
    else:
        return _invalid_policy()
    if operator not in ("eq", "starts-with") or not isinstance(field, str) or not field.startswith("$") \
            or not isinstance(value, str):
        return _invalid_policy()
    name = field[1:].lower()
    actual = values.get(name)
    matches = actual == value if operator == "eq" else actual is not None and actual.startswith(value)
    if not matches:
        return _denied(f"Policy Condition failed: {json.dumps([operator, field, value])}")
    covered.add(name)
    return None


def check(fields: dict[str, str], bucket: str, size: int, *, region: str, secret: str) -> Refusal | None:
    """Why S3 would refuse this form (field names lower-cased, the file's `size` in bytes), or None."""
    if not fields.get("policy"):
        return Refusal(403, "AccessDenied", "Access Denied: the bucket takes only forms with a signed policy.")
    refused = _signature_refusal(fields, region, secret)
    if refused:
        return refused
    try:
        policy = json.loads(base64.b64decode(fields["policy"], validate=True))
        expires = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = policy["conditions"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return _invalid_policy()
    if not isinstance(conditions, list) or expires.tzinfo is None:
        return _invalid_policy()
    if dt.datetime.now(dt.timezone.utc) >= expires:
        return _denied("Policy expired.")
    values = fields | {"bucket": bucket}
    covered: set[str] = set()
    for condition in conditions:
        refused = _condition_refusal(condition, values, size, covered)
        if refused:
            return refused
    extra = sorted(n for n in values if n not in covered and n not in NOT_COVERED and not n.startswith("x-ignore-"))
    if extra:
        return _denied(f"Extra input fields: {', '.join(extra)}")
    return None


def _form(response: S3Response, request) -> tuple[dict[str, str], int | None]:
    """The form's fields (names lower-cased, the key as moto will store it) and the file part's size."""
    fields = {name.lower(): value for name, value in response.form_data.items() if name != "file"}
    if "key" in response.querystring:
        fields["key"] = response.querystring["key"][0]  # ${filename} already put in, as S3 checks it
    files = [name for name, _ in request.files.items(multi=True)]
    if files == ["file"]:
        body = response.raw_body  # setup_class read the one file part into it
    elif not request.files and "file" in response.form_data:
        body = response.form_data["file"]  # sent without a filename: a plain field
    else:
        return fields, None
    return fields, len(body.encode() if isinstance(body, str) else body)


def install(region: str, secret: str) -> None:
    original = S3Response._bucket_response_post
    if getattr(original, "_policy_checked", False):
        return

    @functools.wraps(original)
    def checked(self, request, bucket_name):
        self.path = self._get_path(request)
        if self.is_delete_keys():  # DeleteObjects: a signed API call, not a form
            return original(self, request, bucket_name)
        fields, size = _form(self, request)
        if "key" not in self.querystring:  # moto reads only a field named exactly "key"
            refused = Refusal(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
        elif size is None:
            refused = Refusal(400, "InvalidArgument", "The form must carry exactly one file, in a field named file.")
        else:
            refused = check(fields, bucket_name, size, region=region, secret=secret)
        # S3 answers a browser's form with its bucket's CORS headers, refused or not (moto adds none to a POST).
        cors = self._get_cors_headers_other()
        if refused:
            return refused.status, cors | {"content-type": "application/xml"}, refused.xml()
        status, headers, body = original(self, request, bucket_name)
        return status, cors | headers, body

    checked._policy_checked = True
    S3Response._bucket_response_post = checked
