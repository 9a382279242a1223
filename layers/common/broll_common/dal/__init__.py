"""Data access: every DynamoDB and S3 call of the rules, each store behind a small Protocol
and one factory (`get_coordination`, `get_media`), so the rules are unit-tested with fakes."""
