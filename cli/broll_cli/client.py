"""A small HTTP client for the B-Roll Studio API: a base URL, a bearer token, and one error
type that carries the API's own sentence (`{"error": ..., "details": [...]}`) and status."""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

DEFAULT_TIMEOUT_S = 30.0


class ApiError(Exception):
    """An API call that did not succeed. `status` is None when the API could not be reached."""

    def __init__(self, status: int | None, message: str, details: list | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []

    @property
    def exit_code(self) -> int:
        # 4xx is something the user can change (exit 1); 5xx or no answer is the service's side (exit 3).
        return 1 if self.status is not None and 400 <= self.status < 500 else 3

    @property
    def transient(self) -> bool:
        return self.exit_code == 3

    def lines(self) -> list[str]:
        """The sentence, then one line per field error the API named."""
        out = [self.message]
        for item in self.details:
            if isinstance(item, dict) and "message" in item:
                out.append(f"  {item.get('field', 'body')}: {item['message']}")
            else:
                out.append(f"  {item}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def path(*parts: str) -> str:
    """An /api path with every caller-given segment quoted, so a project id cannot reach another route."""
    return "/api/" + "/".join(quote(str(p), safe="") for p in parts)


def is_local(api_url: str) -> bool:
    """True for the local stack's addresses (loopback), where the local issuer signs tokens."""
    host = urlsplit(api_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error_from(response: httpx.Response) -> ApiError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    message = details = None
    if isinstance(body, dict):
        message = body.get("error") or body.get("message")
        details = body.get("details") if isinstance(body.get("details"), list) else None
    if status == 401:
        # API Gateway's JWT authorizer answers only {"message": "Unauthorized"}: say what to do.
        message = "The API did not accept the token (401): it is missing, expired or for another API; get a new one."
    elif not isinstance(message, str) or not message.strip():
        message = f"The API answered HTTP {status} {response.reason_phrase}.".replace(" .", ".")
    return ApiError(status, message, details)


class Api:
    def __init__(self, base_url: str, token: str | None, *, timeout: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "broll-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)
        self._transport = transport

    @property
    def transport(self) -> httpx.BaseTransport | None:
        """What the API's own requests go through (tests answer in-process); presigned URLs use it too."""
        return self._transport

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, url: str, *, json: dict | None = None, timeout: float | None = None) -> dict:
        kwargs = {"json": json} if json is not None else {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiError(None, f"The API at {self.base_url} did not answer in time ({type(exc).__name__}).") from exc
        except httpx.HTTPError as exc:
            raise ApiError(None, f"Could not reach the API at {self.base_url}: {exc}.") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            return response.json()
        except ValueError as exc:
            message = f"The API answered {method} {url} with something that is not JSON."
            raise ApiError(response.status_code, message) from exc

    def get(self, url: str, **kwargs) -> dict:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, json: dict | None = None, **kwargs) -> dict:
        return self.request("POST", url, json=json if json is not None else {}, **kwargs)

    def fetch_file(self, url: str, target: Path, on_start: Callable[[int | None], None],
                   on_chunk: Callable[[int], None]) -> Path:
        """Stream a presigned URL to `target`. No bearer token goes with it: the URL carries its own
        signature, and S3 refuses a request that is signed twice. Written beside the target and
        renamed at the end, so an interrupted download never leaves a truncated ZIP under the real name."""
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as out, httpx.Client(timeout=DEFAULT_TIMEOUT_S, transport=self._transport,
                                                              follow_redirects=True) as plain:
                with plain.stream("GET", url) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise ApiError(response.status_code,
                                       f"The download link answered HTTP {response.status_code}; ask for a new one.")
                    length = response.headers.get("Content-Length")
                    on_start(int(length) if length and length.isdigit() else None)
                    for chunk in response.iter_bytes(64 * 1024):
                        out.write(chunk)
                        on_chunk(len(chunk))
            os.replace(partial, target)
        except httpx.HTTPError as exc:
            raise ApiError(None, f"The download stopped: {exc}.") from exc
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        return target


class _CountedFile:
    """A file read for an upload that reports each chunk httpx reads (its length stays known, so
    the form goes with a Content-Length: S3 refuses a chunked POST)."""

    def __init__(self, handle, on_chunk: Callable[[int], None]):
        self._handle = handle
        self._on_chunk = on_chunk

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._on_chunk(len(chunk))
        return chunk

    def fileno(self) -> int:
        return self._handle.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()


def _s3_refusal(response: httpx.Response) -> str:
    """S3's own sentence from its XML error (`<Code>`, `<Message>`), else its status."""
    code = re.search(r"<Code>([^<]*)</Code>", response.text)
    message = re.search(r"<Message>([^<]*)</Message>", response.text)
    if code and message:
        return f"The upload was refused: {message.group(1)} ({code.group(1)})."
    return f"The upload was refused with HTTP {response.status_code}."


def upload_form(url: str, fields: dict, file: Path, content_type: str, on_chunk: Callable[[int], None],
                transport: httpx.BaseTransport | None = None) -> None:
    """Send a presigned S3 POST: the form's fields, then the file in the field "file". No bearer
    token goes with it: the policy is the authorisation, and S3 checks the file against it."""
    try:
        with open(file, "rb") as handle, httpx.Client(timeout=httpx.Timeout(DEFAULT_TIMEOUT_S, write=None),
                                                      transport=transport) as plain:
            response = plain.post(url, data=fields,
                                  files={"file": (file.name, _CountedFile(handle, on_chunk), content_type)})
    except httpx.HTTPError as exc:
        raise ApiError(None, f"The upload stopped: {exc}.") from exc
    if response.status_code >= 300:
        raise ApiError(response.status_code, _s3_refusal(response))


def local_token(api_url: str, user: str, transport: httpx.BaseTransport | None = None) -> str:
    """A token for `user` from the local stack's issuer: the sign-in secret of this start from the
    page's /config.json, then `POST /local-auth/token` with it."""
    base = api_url.rstrip("/")
    try:
        with httpx.Client(base_url=base, timeout=DEFAULT_TIMEOUT_S, transport=transport) as http:
            config = http.get("/config.json")
            auth = config.json().get("auth") if config.status_code == 200 else None
            if not isinstance(auth, dict) or auth.get("mode") != "local" or not auth.get("secret"):
                raise ApiError(config.status_code, f"{api_url} has no local sign-in (its /config.json offers none): "
                                                   "pass --token or set BROLL_TOKEN.")
            response = http.post(auth.get("tokenUrl") or "/local-auth/token", json={"user": user},
                                 headers={"X-Local-Auth": auth["secret"]})
    except httpx.HTTPError as exc:
        raise ApiError(None, f"Could not reach the local stack at {api_url}: {exc}. Is `scripts/dev` running?") from exc
    except ValueError as exc:
        raise ApiError(config.status_code, f"{api_url}/config.json is not JSON: is this the local stack?") from exc
    if response.status_code >= 400:
        raise ApiError(response.status_code, f"The local sign-in refused {user!r}: {_error_from(response).message}")
    try:
        return response.json()["token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(response.status_code, f"{base}/local-auth/token answered without a token.") from exc


__all__ = ["Api", "ApiError", "is_local", "local_token", "path", "upload_form"]
