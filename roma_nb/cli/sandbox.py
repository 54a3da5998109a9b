"""``roma-nb sandbox``: run the local fake ROMA Connect in the foreground until Ctrl-C.

It prints the endpoint, the project id, a token the sandbox accepts, and the ``export`` lines
that point ``roma_nb`` at it (token, or the sandbox's AK/SK, or its IAM user), so another shell
or a notebook can use it at once. These are the sandbox's own throw-away credentials: printing
them is the point.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import threading
from typing import Any

__all__ = ["add_arguments", "register", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    parser.add_argument("--instances", type=int, default=3, help="instances (default 3)")
    parser.add_argument(
        "--tasks", type=int, default=250, metavar="N", help="tasks per instance (default 250)"
    )
    parser.add_argument(
        "--logs-per-task", type=int, default=24, metavar="N", help="monitor logs per task"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="MS", help="added to every answer"
    )
    parser.add_argument(
        "--offset-mode",
        choices=("records", "pages"),
        default="records",
        help="whether task/monitor offsets count records or pages (default records)",
    )
    parser.add_argument(
        "--ignore-task-mode",
        action="store_true",
        help="ignore the tasks list's task_mode filter, like an older server",
    )
    parser.add_argument(
        "--refuse-running",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse to reset a running task with 400 FDI.3023, as the real service is "
        "expected to (default: the sandbox's default)",
    )
    parser.add_argument(
        "--start-delay-ms",
        type=float,
        metavar="MS",
        help="a started task shows running this long after the start (default 0)",
    )
    parser.add_argument(
        "--stop-delay-ms",
        type=float,
        metavar="MS",
        help="a stopped task shows stopped this long after the stop (default 0)",
    )
    parser.add_argument(
        "--log-retention-days",
        type=float,
        metavar="DAYS",
        help="days of change log the sources keep: a start after a reset to an older "
        "date_from fails with reader code 103 (default 2)",
    )
    parser.add_argument(
        "--rate-limit", type=float, metavar="RPS", help="answer 429 beyond RPS requests per second"
    )
    parser.add_argument(
        "--token-lifetime-s",
        type=float,
        default=86_400.0,
        metavar="S",
        help="lifetime of tokens from /v3/auth/tokens (default 24 h)",
    )
    parser.add_argument(
        "--strict-tokens",
        action="store_true",
        help="refuse tokens the sandbox did not issue (except the one it prints)",
    )
    parser.add_argument("--certfile", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--keyfile", help="the certificate's private key (PEM)")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options = {
        "seed": args.seed,
        "instances": args.instances,
        "tasks_per_instance": args.tasks,
        "logs_per_task": args.logs_per_task,
        "latency_ms": args.latency_ms,
        "offset_mode": args.offset_mode,
        "honour_task_mode": not args.ignore_task_mode,
        "rate_limit_rps": args.rate_limit,
        "token_lifetime_s": args.token_lifetime_s,
        "strict_tokens": args.strict_tokens,
    }
    # Left out when not given, so the sandbox's own defaults (SandboxOptions) decide.
    lifecycle = {
        "refuse_running": args.refuse_running,
        "start_delay_ms": args.start_delay_ms,
        "stop_delay_ms": args.stop_delay_ms,
        "log_retention_days": args.log_retention_days,
    }
    options.update({k: v for k, v in lifecycle.items() if v is not None})
    return options


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or until ``stop`` is set, which is how tests end it)."""
    try:
        from roma_nb.sandbox.server import serve
    except ModuleNotFoundError as exc:
        print(
            f"roma-nb sandbox needs the sandbox extra ({exc.name} is missing): "
            "pip install 'roma-nb[sandbox]'",
            file=sys.stderr,
        )
        return 1
    if bool(args.certfile) != bool(args.keyfile):
        print("--certfile and --keyfile go together.", file=sys.stderr)
        return 2
    try:
        context = serve(
            args.port,
            host=args.host,
            ssl_certfile=args.certfile,
            ssl_keyfile=args.keyfile,
            **_options(args),
        )
        sandbox = context.__enter__()
    except (OSError, ValueError) as exc:
        print(f"roma-nb sandbox: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"ROMA Connect sandbox on {sandbox.url}  (project {sandbox.project_id})")
        others = "only tokens it issued" if args.strict_tokens else "any non-empty token"
        print(f"Token it accepts: {sandbox.token}  (and {others})")
        print("To use it from another shell or a notebook:")
        for name, value in sandbox.env.items():
            print(f"  export {name}={shlex.quote(value)}")
        user = sandbox.users[sandbox.username]
        print("Or sign with AK/SK instead of the token:")
        print(f"  export HUAWEICLOUD_SDK_AK={sandbox.ak} HUAWEICLOUD_SDK_SK={sandbox.sk}")
        print("Or log in through its IAM endpoint (POST /v3/auth/tokens):")
        print(
            f"  export HUAWEICLOUD_SDK_IAM_ENDPOINT={sandbox.iam_url} "
            f"ROMA_NB_USERNAME={user.name} ROMA_NB_PASSWORD={shlex.quote(user.password)} "
            f"ROMA_NB_DOMAIN={user.domain}"
        )
        print(f"Control plane: {sandbox.url}/_sandbox/info (faults, latency, records)")
        print("Press Ctrl-C to stop.", flush=True)
        waiter = stop or threading.Event()
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        context.__exit__(None, None, None)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local fake ROMA Connect to try roma_nb against",
        description="Run a local fake ROMA Connect (seeded data, real shapes) until Ctrl-C.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
