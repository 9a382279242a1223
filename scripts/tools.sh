# Sourced: `tool_venv NAME REQUIREMENT...` makes .tools/NAME, a venv of its own for a tool whose
# pins clash with the project's (the SAM CLI; MiniStack pins botocore exactly), installed once
# per set of requirements.
tool_venv() {
  local name="$1"; shift
  local dir="$ROOT/.tools/$name" want
  want="$(printf '%s\n' "$@" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$dir/.requirements.sha" 2>/dev/null)" != "$want" ]; then
    "${PYTHON:-python3}" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
    echo "$want" > "$dir/.requirements.sha"
  fi
}
