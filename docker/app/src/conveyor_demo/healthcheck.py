"""Container healthcheck without curl: exit 0 when GET /health answers 200."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = int(os.environ.get("APP_PORT", "8000"))
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            print(reply.status, reply.read().decode()[:200])
            return 0 if reply.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read().decode()[:200])
    except OSError as exc:
        print(f"no answer: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
