"""The `broll` command-line tool: B-Roll Studio's API from a terminal (see `broll_cli.app`)."""

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    # Imported on call, so `import broll_cli` stays cheap and free of rich/httpx until used.
    from .app import main as run

    return run(argv)
