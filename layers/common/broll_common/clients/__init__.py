"""Outside services: Kie (kie.py, and breaker.py: the client behind the shared breaker),
Secrets Manager/SSM/HMAC (secrets.py), Step Functions (poll_loop.py), worker Lambdas
(workers.py), ffmpeg (ffmpeg.py, composite.py); the ports behind a small Protocol and one
factory (`get_poll_loops`, `get_workers`), so the logic is unit-tested with fakes."""
