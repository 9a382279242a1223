"""Local development and test tools (not deployed to Lambda)."""
