"""The `ltv-bot` command: serve, demo, emulator and operator tasks."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from pydantic import ValidationError

from bot.settings import Settings
from bot.tasks import add_task_parsers, run_task

logger = logging.getLogger("bot")


NOISY_LOGGERS = ("slack_bolt", "slack_sdk", "apscheduler", "urllib3")


class LibraryChatterFilter(logging.Filter):
    """Drops the HTTP libraries' records below WARNING.

    Bolt gives each middleware a logger of its own, levelled like the root
    at creation, and logs whole request bodies (customer text) at INFO when a
    signature fails; setting the parents' level alone does not reach those.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        is_library = record.name.split(".", 1)[0].split(":", 1)[0] in NOISY_LOGGERS
        return not is_library or record.levelno >= logging.WARNING


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(LibraryChatterFilter())
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        sys.exit(f"ltv-bot: bad setting: {problems}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ltv-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve", help="run the bot (Socket Mode or HTTP)"
    )
    serve_parser.add_argument(  # production serving under gunicorn
        "--workers", type=int, default=0, help="HTTP mode under gunicorn, N workers"
    )
    demo = commands.add_parser("demo", help="replay the CDNOW sample into a local bot")
    demo.add_argument(
        "--limit", type=int, default=None, help="replay only the first N customers"
    )
    emulator = commands.add_parser(
        "emulator", help="run the local Slack Web API emulator"
    )
    emulator.add_argument("--port", type=int, default=3001)
    emulator.add_argument("--host", default="127.0.0.1")
    commands.add_parser(
        "doctor", help="check the Slack tokens, the granted scopes and Redis"
    )
    strategies = commands.add_parser("strategies", help="strategy tasks")
    strategy_commands = strategies.add_subparsers(
        dest="strategy_command", required=True
    )
    run = strategy_commands.add_parser("run", help="run one strategy now")
    run.add_argument("name", choices=["onboarding", "proactive", "loyalty", "feedback"])
    run.add_argument(
        "--dry-run", action="store_true", help="show who would get what; send nothing"
    )
    rebuild = commands.add_parser(
        "rebuild", help="recompute every aggregate and index from the event stream"
    )
    rebuild.add_argument(
        "--tenant", default=None, help="one workspace or org id (default: all)"
    )
    add_task_parsers(commands)  # import, export, report
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        from bot import emulator

        configure_logging("INFO")
        return emulator.main(["--port", str(args.port), "--host", args.host])
    settings = load_settings()
    if args.command == "demo":
        from bot.demo import run_demo

        # The demo prints its own progress; per-event INFO lines would bury it.
        configure_logging(
            "WARNING" if settings.log_level == "INFO" else settings.log_level
        )
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        return run_demo(settings, limit=args.limit)
    configure_logging(settings.log_level)
    if args.command == "doctor":
        return run_doctor(settings)
    if args.command in ("import", "export", "report"):
        return run_task(settings, args)
    if args.command == "strategies":
        return run_strategy_once(settings, args.name, dry_run=args.dry_run)
    if args.command == "rebuild":
        return run_rebuild(settings, args.tenant)
    if args.workers > 0:
        from bot.wsgi import serve_with_gunicorn

        return serve_with_gunicorn(settings, args.workers)
    return serve(settings)


def run_doctor(settings: Settings) -> int:
    from bot.doctor import report

    text, healthy = report(settings)
    sys.stdout.write(text)
    return 0 if healthy else 1


def run_strategy_once(settings: Settings, name: str, *, dry_run: bool) -> int:
    from bot.composition import build_runtime

    runtime = build_runtime(settings)
    try:
        for report in runtime.runner.run(name, dry_run=dry_run):
            sys.stdout.write(f"{report.strategy} {report.tenant}: {report.summary()}\n")
            for preview in report.previews:
                sys.stdout.write(f"  {preview.user} {preview.step}: {preview.text}\n")
    finally:
        runtime.close()
    return 0


def run_rebuild(settings: Settings, tenant: str | None) -> int:
    """Rebuild one tenant, or every known tenant, from its event stream."""
    from bot.composition import open_redis, workspace_defaults
    from ltv.clock import SystemClock
    from ltv.rebuild import Rebuilder
    from ltv.store import LtvStore
    from ltv.workspace import WorkspaceConfigStore

    client, embedded = open_redis(settings)
    store = LtvStore(client, clock=SystemClock())
    configs = WorkspaceConfigStore(client, defaults=workspace_defaults(settings))
    rebuilder = Rebuilder(store, policy=lambda t: configs.load(t).policy())
    try:
        for name in [tenant] if tenant else store.tenants():
            report = rebuilder.rebuild(name)
            sys.stdout.write(
                f"rebuilt {report.tenant}: {report.events} events, "
                f"{report.customers} customers\n"
            )
    finally:
        client.close()
        if embedded is not None:
            embedded.stop()
    return 0


def serve(settings: Settings) -> int:
    from bot.composition import build_runtime

    runtime = build_runtime(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if settings.scheduler_enabled:
            runtime.start_scheduler()
        if settings.slack_app_token is not None:
            serve_socket_mode(
                runtime, settings.slack_app_token.get_secret_value(), stop
            )
        else:
            serve_http(runtime, settings, stop)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0


def wait_for_stop(stop: threading.Event) -> None:
    """Wait in short slices: a signal the kernel hands to another thread is only
    acted on when the main thread runs Python code again, which a wait with no
    timeout may never do."""
    while not stop.wait(timeout=0.2):
        pass


def serve_socket_mode(runtime, app_token: str, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    from bot.socket_mode import CheckedSocketModeHandler

    handler = CheckedSocketModeHandler(runtime.app, app_token)
    handler.connect()
    logger.info("socket mode connected")
    wait_for_stop(stop)
    handler.close()


def serve_http(runtime, settings: Settings, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    from bot.http import HttpServer, wsgi_app
    from bot.wsgi import DrainingApp

    application = DrainingApp(
        wsgi_app(runtime.app, runtime.store, runtime.signing_secret)
    )
    server = HttpServer(application, settings.host, settings.port)
    server.start()
    logger.info(
        "http mode listening host=%s port=%s path=/slack/events",
        settings.host,
        server.port,
    )
    wait_for_stop(stop)
    # Stop taking events, let those in flight finish their writes, then close.
    application.drain()
    server.stop()


if __name__ == "__main__":
    sys.exit(main())
