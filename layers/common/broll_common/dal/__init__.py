"""Data access: the project_steps table (projects.py), scene history (history.py), users' Kie
keys (user_keys.py), the breaker table (coordination.py) and every S3 call (media.py); the rules
reach the stores through these modules and their factories (`get_coordination`, `get_media`)."""
