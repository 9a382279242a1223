"""cfn-lint on the SAM-translated template: what CloudFormation itself will be given
(`cfn-lint template.yaml` lints the SAM source, and missed a cycle only the transform makes).

    python scripts/lint_translated.py        (the project venv: cfn-lint and aws-sam-translator)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.translate import translated


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "translated.json"
        path.write_text(json.dumps(translated(), indent=1, default=str))
        answer = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True)
        print(answer.stdout + answer.stderr, end="")
        print(f"cfn-lint on the translated template: {'clean' if answer.returncode == 0 else 'FAILED'}")
        return answer.returncode


if __name__ == "__main__":
    sys.exit(main())
