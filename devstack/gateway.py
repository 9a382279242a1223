"""API Gateway (HTTP API) on 127.0.0.1: the page from web/, and /api/* routed by
template.yaml's routes to the real handlers with real payload-format-2.0 events."""

from __future__ import annotations

import base64
import gzip
import json
import mimetypes
import threading
import time
import uuid

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .auth import LocalIssuer, SignInRefused, is_loopback_host
from .lambdas import Functions
from .template import ROOT, Route

WEB = ROOT / "web"
MAX_BODY = 10 * 1024 * 1024  # the HTTP API's payload limit
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob: http://127.0.0.1:*; media-src 'self' blob: http://127.0.0.1:*; "
        # The page POSTs uploads straight to the media bucket (moto, on a random local port).
        "connect-src 'self' http://127.0.0.1:*; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")


def _compress(request: Request, response: Response) -> None:
    """Gzip text as CloudFront does for the page in the cloud (template: Compress: true)."""
    if "gzip" not in request.headers.get("Accept-Encoding", "") or not response.content_type.startswith(COMPRESSIBLE):
        return
    response.set_data(gzip.compress(response.get_data(), compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status=status, content_type="application/json")


def api_event(request: Request, route: Route, params: dict, body: bytes) -> dict:
    is_text = any(t in (request.content_type or "application/json") for t in TEXT_TYPES)
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = {k: ",".join(request.args.getlist(k)) for k in request.args}
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode(),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": bool(body) and not is_text,
    }
    if request.cookies:
        event["cookies"] = [f"{k}={v}" for k, v in request.cookies.items()]
    if query:
        event["queryStringParameters"] = query
    if params:
        event["pathParameters"] = params
    if body:
        event["body"] = body.decode("utf-8", "replace") if is_text else base64.b64encode(body).decode()
    return event


class Gateway:
    def __init__(self, routes: list[Route], functions: Functions, config: dict | None = None):
        self.routes = routes
        self.functions = functions
        self.config = config or {}
        self.issuer: LocalIssuer | None = None
        self._server = None

    def _route(self, request: Request) -> Response:
        if request.content_length and request.content_length > MAX_BODY:
            return _error(413, "The request body is too large.")
        matched = [(r, p) for r in self.routes if (p := r.match(request.method, request.path)) is not None]
        if not matched:
            if any(r.match(m, request.path) is not None for r in self.routes for m in ("GET", "POST", "PUT", "DELETE")):
                return _error(405, "This route does not take that method.")
            return _error(404, "Not Found")
        route, params = matched[0]
        event = api_event(request, route, params, request.get_data(cache=False)[: MAX_BODY + 1])
        if route.authorized:
            claims = self.issuer.verify(request.headers.get("Authorization")) if self.issuer else None
            if claims is None:
                # What API Gateway's JWT authorizer answers; the function never runs.
                return Response(json.dumps({"message": "Unauthorized"}), status=401, content_type="application/json")
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        reply = self.functions.invoke(route.function, event)
        body = reply.get("body") or ""
        data = base64.b64decode(body) if reply.get("isBase64Encoded") else body
        response = Response(data, status=reply.get("statusCode", 200))
        for key, value in (reply.get("headers") or {}).items():
            response.headers[key] = value
        for key, values in (reply.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.add(key, value)
        for cookie in reply.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        return response

    def _static(self, request: Request) -> Response:
        if request.path == "/config.json":
            # It carries the sign-in secret: not for a page that reached us under another host name.
            if not is_loopback_host(request.host):
                return _error(403, "The local page config is served only on 127.0.0.1, localhost or [::1].")
            response = Response(json.dumps(self.config), content_type="application/json")
            response.headers["Cache-Control"] = "no-store"
        else:
            relative = request.path.lstrip("/") or "index.html"
            target = (WEB / relative).resolve()
            if WEB.resolve() not in target.parents or not target.is_file():
                return Response("Not Found", status=404, content_type="text/plain")
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if target.suffix == ".js":
                kind = "text/javascript"
            response = Response(target.read_bytes(), content_type=kind)
            response.headers["Cache-Control"] = "no-cache"
            _compress(request, response)
        response.headers.update(SECURITY_HEADERS)
        return response

    def _local_token(self, request: Request) -> Response:
        """The local page's and the CLI's sign-in as a named user (local stack only)."""
        if request.method != "POST" or not self.issuer:
            return _error(405, "POST to get a token.")
        raw = request.get_data(cache=False)[:4096]
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _error(400, "The body must be JSON, e.g. {\"user\": \"ann\"}.")
        try:
            answer = self.issuer.sign_in(request.host, request.headers.get("X-Local-Auth"), body)
        except SignInRefused as refused:
            return _error(refused.status, refused.message)
        return Response(json.dumps(answer), content_type="application/json", headers={"Cache-Control": "no-store"})

    def wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path == "/local-auth/token":
            handler = self._local_token
        else:
            handler = self._route if request.path.startswith("/api/") else self._static
        return handler(request)(environ, start_response)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = make_server(host, port, self.wsgi, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="gateway").start()
        return f"http://{host}:{self._server.server_port}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()


__all__ = ["Gateway", "api_event"]
