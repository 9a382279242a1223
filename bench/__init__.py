"""B-Roll Studio benchmark suite: `.venv/bin/python -m bench` (see bench/__main__.py).

Measurements, not pass/fail tests: each module measures one thing against the local stack
(moto + the real handlers + the real state machine + the Kie emulator) and returns figures
that `report` prints beside their targets and writes to bench/RESULTS.md.
"""
