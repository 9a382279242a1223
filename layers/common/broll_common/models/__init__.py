"""Models: the domain (domain.py: Scene, SubShot, StyleLock, the API's bodies and views for now)
and the errors every layer raises (errors.py). Pydantic only, no I/O."""
