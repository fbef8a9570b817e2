"""`python -m devstack.kubeflow [--token T]`: serve the seeded emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import time

from devstack.kubeflow.server import KubeflowServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--token", default="", help="require this bearer token")
    args = parser.parse_args()
    tokens = {args.token: None} if args.token else None
    with KubeflowServer(tokens=tokens) as server:
        print(server.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
