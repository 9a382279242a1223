"""B-Roll Studio's domain package: models, storage, the Kie client, the breaker, prompts."""
