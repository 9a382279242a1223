"""The rules: generation, projects, planning, style, policy, budget, schedule, render and export
requests. They import models/, prompts/ and the ports of dal/ and clients/, never an AWS SDK
or an HTTP client (tests/unit/test_layers.py walks the imports to check it)."""
