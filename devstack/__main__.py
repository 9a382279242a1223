"""`python -m devstack`: start the whole product locally (no AWS account, no keys needed)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from .stack import LocalStack, StackOptions


def main() -> None:
    parser = argparse.ArgumentParser(description="Run B-Roll Studio on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BROLL_PORT", 8000)), help="page and API port")
    # A random port by default: a page in another tab cannot aim at local AWS by a well-known address.
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("BROLL_MOTO_PORT", 0)),
                        help="local AWS (moto) port (default: a random free one)")
    parser.add_argument("--kie-port", type=int, default=int(os.environ.get("BROLL_KIE_PORT", 8090)))
    parser.add_argument("--kie-delay", type=float, default=float(os.environ.get("KIE_EMULATOR_DELAY_S", 8)),
                        help="seconds the Kie emulator takes per clip")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stack = LocalStack(StackOptions(api_port=args.port, moto_port=args.moto_port, kie_port=args.kie_port,
                                    kie_delay_s=args.kie_delay)).start()
    kie = stack.emulator.base_url + " (emulator)" if stack.emulator else os.environ["KIE_BASE_URL"] + " (real Kie.ai)"
    prompts = "Claude" if os.environ.get("ANTHROPIC_API_KEY") else "local composer"
    print(f"\nB-Roll Studio is running.\n  page:     {stack.api_url}/?project=demo\n  api:      {stack.api_url}/api/projects/demo\n"
          f"  aws:      {stack.cloud.endpoint} (moto)\n  kie:      {kie}\n  prompts:  {prompts}\nCtrl+C stops it.", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    stack.stop()


if __name__ == "__main__":
    main()
