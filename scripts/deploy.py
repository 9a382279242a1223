"""The one deploy command (run by scripts/deploy, with the SAM CLI's own venv).

build → deploy → web/config.json from the stack's Outputs → page sync → CloudFront
invalidation. Pointed at an emulator with --endpoint-url, it is what the deploy test runs,
so the README's path is the tested path.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
SAM = Path(sys.executable).parent / "sam"
# Always fetched afresh by the page (the rest is versioned by the invalidation).
NO_CACHE = {"index.html", "config.json"}


def _run(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, cwd=ROOT)


def build(architecture: str) -> Path:
    build_dir = ROOT / ".aws-sam" / f"build-{architecture}"
    _run(str(SAM), "build", "--build-dir", str(build_dir), "--parameter-overrides", f"Architecture={architecture}")
    return build_dir


def _quoted(override: str) -> str:
    """KEY=VALUE as sam reads it: it splits its overrides at spaces unless the value is quoted."""
    key, _, value = override.partition("=")
    return f'{key}="{value}"' if " " in value and not value.startswith('"') else override


def deploy(build_dir: Path, options: argparse.Namespace) -> None:
    # samconfig.toml (capabilities, resolve_s3, confirm_changeset) is read from the project, not the build dir.
    args = [str(SAM), "deploy", "--config-file", str(ROOT / "samconfig.toml"),
            "--template-file", str(build_dir / options.template_name), "--stack-name", options.stack_name,
            "--no-fail-on-empty-changeset", "--parameter-overrides", f"Architecture={options.architecture}",
            *(_quoted(o) for o in options.parameter_overrides)]
    if options.guided:
        args.append("--guided")
    if options.yes:
        args.append("--no-confirm-changeset")
    _run(*args)


def outputs(stack_name: str) -> dict[str, str]:
    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def page_config(out: dict[str, str], api_base: str) -> dict:
    return {"apiBase": api_base, "auth": {"mode": "cognito", "domain": out["AuthDomain"], "clientId": out["UserPoolClientId"]}}


def sync_page(bucket: str, config: dict) -> int:
    """Upload web/ and the generated config.json; returns the number of files."""
    s3, count = boto3.client("s3"), 0
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / "config.json"
        generated.write_text(json.dumps(config, indent=2) + "\n")
        files = [(p, p.relative_to(ROOT / "web").as_posix()) for p in sorted((ROOT / "web").rglob("*")) if p.is_file()]
        files = [(p, key) for p, key in files if key != "config.json"] + [(generated, "config.json")]
        for path, key in files:
            content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
            if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
                content_type += "; charset=utf-8"
            extra = {"ContentType": content_type}
            if Path(key).name in NO_CACHE:
                extra["CacheControl"] = "no-cache"
            s3.upload_file(str(path), bucket, key, ExtraArgs=extra)
            count += 1
    return count


def invalidate(distribution_id: str) -> str:
    answer = boto3.client("cloudfront").create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"deploy-{time.time_ns()}"},
    )
    return answer["Invalidation"]["Id"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", default=os.environ.get("BROLL_STACK", "broll-studio"))
    parser.add_argument("--architecture", choices=["arm64", "x86_64"], default="arm64")
    parser.add_argument("--guided", action="store_true", help="let sam deploy ask for the parameters (first deploy)")
    parser.add_argument("--yes", action="store_true", help="deploy the change set without asking")
    parser.add_argument("--endpoint-url", help="an AWS emulator (MiniStack) instead of AWS; closes its known gaps")
    parser.add_argument("--skip-build", action="store_true", help="deploy the last build of this architecture")
    parser.add_argument("--build-only", action="store_true", help="build into .aws-sam/build-ARCH, deploy nothing")
    parser.add_argument("--template-name", default="template.yaml",
                        help="the built template to deploy, inside the build dir (tests deploy variants of it)")
    parser.add_argument("--outputs-file", type=Path, help="also write the stack's outputs here (JSON)")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    options = parser.parse_args(argv)
    if options.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = options.endpoint_url
    started = time.monotonic()
    build_dir = ROOT / ".aws-sam" / f"build-{options.architecture}" if options.skip_build else build(options.architecture)
    if options.build_only:
        return 0
    deploy(build_dir, options)
    out = outputs(options.stack_name)
    api_base = out["ApiUrl"]
    if options.endpoint_url:
        sys.path.insert(0, str(ROOT / "scripts"))
        import ministack_routes  # the emulator's gaps, and only there

        api_base = ministack_routes.close_gaps(options.stack_name, options.endpoint_url, out["ApiId"])
    config = page_config(out, api_base)
    files = sync_page(out["WebBucketName"], config)
    invalidation = invalidate(out["WebDistributionId"])
    summary = {**out, "ApiBase": api_base, "PageFiles": str(files), "Invalidation": invalidation,
               "Seconds": f"{time.monotonic() - started:.1f}"}
    print(json.dumps(summary, indent=2))
    if options.outputs_file:
        options.outputs_file.write_text(json.dumps(summary, indent=2))
    if out.get("UserPoolId"):
        print(f"Create a user: aws cognito-idp admin-create-user --user-pool-id {out['UserPoolId']} --username you@example.org")
    print(f"Open {out['WebUrl']}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
