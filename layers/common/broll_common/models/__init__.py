"""Models: the domain (domain.py: Scene, SubShot, StyleLock, statuses, id patterns), what the API
takes and returns (api.py: request bodies and views), and the errors every layer raises
(errors.py). Pydantic only, no I/O."""
