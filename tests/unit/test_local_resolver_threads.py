"""The local stack runs every function on threads of one process; Lambda gives each event a
process of its own. Two requests resolved at once must each see their own event."""

import threading

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

import devstack.lambdas  # noqa: F401 - installs the per-thread resolver state, as the local stack does


def _event(path: str) -> dict:
    return {"version": "2.0", "routeKey": f"GET {path}", "rawPath": path, "rawQueryString": "", "headers": {},
            "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}, "isBase64Encoded": False}


def test_two_resolvers_at_once_each_read_their_own_event():
    both_inside = threading.Barrier(2)
    seen = {}

    def resolver(name: str) -> APIGatewayHttpResolver:
        app = APIGatewayHttpResolver()

        @app.get(f"/{name}")
        def route():
            both_inside.wait(5)  # the other request has entered and set its event by now
            seen[name] = app.current_event.raw_path
            return {"ok": True}

        return app

    apps = {name: resolver(name) for name in ("a", "b")}
    threads = [threading.Thread(target=apps[name].resolve, args=(_event(f"/{name}"), None)) for name in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"a": "/a", "b": "/b"}
