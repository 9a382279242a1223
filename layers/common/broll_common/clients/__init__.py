"""Outside services other than storage (Step Functions, worker Lambdas), each behind a small
Protocol and one factory (`get_poll_loops`, `get_workers`), so the logic is unit-tested with fakes."""
