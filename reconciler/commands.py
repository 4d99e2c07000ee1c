"""One function per CLI verb: load, resolve the target, call the engine, render.

Each returns the exit code of DESIGN.md §4. Errors are raised as ReconcilerError and
turned into one line each by cli.main.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, TextIO, TypeVar

from reconciler.errors import ConfigError, RefusedError
from reconciler.manifest import Manifest, load_manifests, parse_var_assignments
from reconciler.plan import Plan, parse_address
from reconciler.progress import Progress
from reconciler.target import Resolved, Settings, open_client, resolve

# The engine, client and renderers (asyncio, uvloop, deepdiff: most of start-up time) load on
# first use, so `validate` in a pre-commit hook stays quick.
if TYPE_CHECKING:
    from reconciler.client import VectorsClient
    from reconciler.planner import PlanOptions

T = TypeVar("T")
EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_INTERRUPTED = 0, 1, 2, 130


# --- shared steps ----------------------------------------------------------------------------


def _emit(stream: TextIO, text: str) -> None:
    """Write and flush. When the reader has gone away (`reconciler apply ... | head`), the
    stream is pointed at /dev/null instead of failing the command: an apply goes on to the
    end rather than stopping half-way over a closed pipe."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _say(*lines: str) -> None:
    _emit(sys.stderr, "".join(line + "\n" for line in lines))


def _out(text: str) -> None:
    _emit(sys.stdout, text if text.endswith("\n") else text + "\n")


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _load(args: argparse.Namespace) -> Manifest:
    if not args.files:
        raise ConfigError("no manifest given: pass -f PATH (a file or a directory)")
    manifest = load_manifests(args.files, parse_var_assignments(args.vars))
    for warning in manifest.warnings:
        _say(str(warning))
    return manifest


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(endpoint=args.endpoint, region=args.region, account_id=args.account_id,
                    parallelism=args.parallelism, max_rps=args.max_rps)


def _resolve(args: argparse.Namespace, account: str | None, region: str | None) -> Resolved:
    resolved = resolve(_settings(args), manifest_account=account, manifest_region=region)
    if resolved.announcement:
        _say(resolved.announcement)
    return resolved


def _options(args: argparse.Namespace, manifest: Manifest, *, destroy: bool = False) -> PlanOptions:
    from reconciler.planner import PlanOptions, targets_out_of_scope

    targets = tuple(getattr(args, "targets", ()) or ())
    for t in targets:
        try:
            parse_address(t)
        except ValueError as e:
            raise ConfigError(f"--target: {e}") from None
    for t in targets_out_of_scope(manifest, targets):  # else a typo reads as "No changes."
        _say(f"warning: --target {t} is neither declared in the manifest nor in its prune scope: "
             "it selects nothing")
    return PlanOptions(destroy=destroy, targets=targets)


@asynccontextmanager
async def _client(resolved: Resolved, args: argparse.Namespace) -> AsyncIterator[VectorsClient]:
    async with open_client(resolved, _settings(args)) as client:
        yield client


def _run(coro: Awaitable[T]) -> T:
    """On uvloop where it exists (not on Windows): a third less CPU per request than asyncio's
    own loop, which is what a refresh of thousands of reads spends its CPU on."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)  # type: ignore[arg-type]


async def _plan(args: argparse.Namespace, manifest: Manifest, resolved: Resolved, client: VectorsClient,
                options: PlanOptions, probe: bool = True) -> Plan:
    from reconciler import engine

    bar = Progress("refreshing")
    try:
        return await engine.make_plan(client, manifest, resolved.target, options, parallelism=args.parallelism,
                                      progress=bar.update, probe=probe)
    finally:
        bar.close()


# --- verbs ----------------------------------------------------------------------------------


def validate(args: argparse.Namespace) -> int:
    manifest = _load(args)
    indexes = sum(len(b.indexes) for b in manifest.buckets)
    files = len(manifest.files)
    _out(f"Valid: {files} file{'s' if files != 1 else ''}, {len(manifest.buckets)} bucket"
         f"{'s' if len(manifest.buckets) != 1 else ''}, {indexes} index{'es' if indexes != 1 else ''}.")
    return EXIT_OK


def plan(args: argparse.Namespace) -> int:
    from reconciler import engine, render

    manifest = _load(args)
    resolved = _resolve(args, manifest.account, manifest.region)
    options = _options(args, manifest)

    async def go() -> Plan:
        async with _client(resolved, args) as client:
            return await _plan(args, manifest, resolved, client, options)

    result = _run(go())
    renderer = {"text": lambda p: render.plan_text(p, color=_color()), "json": render.plan_json,
                "markdown": render.plan_markdown}[args.format]
    _out(renderer(result))
    if args.out:
        engine.save_plan(result, args.out)
        _say(f"Saved the plan to {args.out}; apply it with: reconciler apply {args.out}")
    if args.detailed_exitcode and not result.is_empty:
        return EXIT_CHANGES
    return EXIT_OK


def apply(args: argparse.Namespace) -> int:
    from reconciler import render

    if args.plan_file:
        if args.files:
            raise ConfigError("give either a saved plan FILE or -f manifests, not both")
        if args.targets:
            raise ConfigError("--target cannot narrow a saved plan; make the plan with `plan --target ... --out`")
        return _apply_saved(args)
    manifest = _load(args)
    resolved = _resolve(args, manifest.account, manifest.region)
    options = _options(args, manifest)

    async def go() -> int:
        async with _client(resolved, args) as client:
            the_plan = await _plan(args, manifest, resolved, client, options)
            _out(render.plan_text(the_plan, color=_color()))
            if the_plan.is_empty:
                return EXIT_OK
            _guard(the_plan, allow_destroy=args.allow_destroy, allow_public_access=args.allow_public_access,
                   public_ok={b.name for b in manifest.buckets if getattr(b, "allow_public_access", False)})
            _confirm(args, "apply")
            return await _execute(args, client, the_plan)

    return _run(go())


def _apply_saved(args: argparse.Namespace) -> int:
    from reconciler import engine, render

    saved = engine.load_plan(args.plan_file)
    # The plan says where it goes: flags and environment only fill in what they leave open,
    # and a disagreement is reported below against the plan file (there is no manifest here).
    settings = _settings(args)
    settings = replace(settings,
                       account_id=settings.account_id or os.environ.get("TOS_ACCOUNT_ID") or saved.target.account_id,
                       region=settings.region or os.environ.get("TOS_REGION") or saved.target.region)
    resolved = resolve(settings)
    if resolved.announcement:
        _say(resolved.announcement)
    mismatch = engine.target_mismatch(saved.target, resolved.target)
    if mismatch:
        raise RefusedError(f"{args.plan_file}: {mismatch}; nothing was changed")

    async def go() -> int:
        async with _client(resolved, args) as client:
            stale = await engine.stale_in(client, saved, parallelism=args.parallelism)
            if stale:
                raise RefusedError(
                    f"{args.plan_file} is stale: {', '.join(stale)} changed since the plan was made; "
                    "nothing was changed. Run `reconciler plan --out` again.")
            _out(render.plan_text(saved, color=_color()))
            if saved.is_empty:
                return EXIT_OK
            _guard(saved, allow_destroy=args.allow_destroy, allow_public_access=args.allow_public_access)
            return await _execute(args, client, saved)

    return _run(go())


def destroy(args: argparse.Namespace) -> int:
    from reconciler import render

    manifest = _load(args)
    resolved = _resolve(args, manifest.account, manifest.region)
    options = _options(args, manifest, destroy=True)

    async def go() -> int:
        async with _client(resolved, args) as client:
            the_plan = await _plan(args, manifest, resolved, client, options)
            _out(render.plan_text(the_plan, color=_color()))
            if the_plan.is_empty:
                return EXIT_OK
            _guard(the_plan, allow_destroy=True)  # destroy exists to delete; preventDestroy still wins
            _confirm(args, "destroy")
            return await _execute(args, client, the_plan)

    return _run(go())


def drift(args: argparse.Namespace) -> int:
    from reconciler import render
    from reconciler.drift import drift_report
    from reconciler.planner import PlanOptions

    manifest = _load(args)
    resolved = _resolve(args, manifest.account, manifest.region)

    async def go() -> Plan:
        async with _client(resolved, args) as client:
            return await _plan(args, manifest, resolved, client, PlanOptions(), probe=False)

    report = drift_report(_run(go()))
    renderer = {"text": lambda r: render.drift_text(r, color=_color()), "json": render.drift_json,
                "markdown": render.drift_markdown}[args.format]
    _out(renderer(report))
    return EXIT_OK if report.in_sync else EXIT_CHANGES


def export(args: argparse.Namespace) -> int:
    from reconciler.export import export_manifest, to_yaml

    resolved = _resolve(args, None, None)

    async def go() -> dict[str, Any]:
        async with _client(resolved, args) as client:
            return await export_manifest(client, buckets=args.buckets, prefix=args.prefix,
                                         region=resolved.target.region, account_id=resolved.target.account_id,
                                         parallelism=args.parallelism)

    _out(to_yaml(_run(go())))
    return EXIT_OK


def graph(args: argparse.Namespace) -> int:
    from reconciler import render

    manifest = _load(args)
    resolved = _resolve(args, manifest.account, manifest.region)
    options = _options(args, manifest)

    async def go() -> Plan:
        async with _client(resolved, args) as client:
            return await _plan(args, manifest, resolved, client, options, probe=False)

    the_plan = _run(go())
    _out(render.graph_dot(the_plan) if args.format == "dot" else render.graph_mermaid(the_plan))
    return EXIT_OK


def serve(args: argparse.Namespace) -> int:
    from reconciler.emulator import server

    return server.run_from_args(args)


# --- guardrails, confirmation and execution ---------------------------------------------------


def _guard(the_plan: Plan, *, allow_destroy: bool, allow_public_access: bool = False,
           public_ok: set[str] | None = None) -> None:
    """Refuse before any call. `public_ok`: buckets whose manifest allows public access
    (None for a saved plan: only --allow-public-access lets its public changes run)."""
    from reconciler.guardrails import public_refusals, refusals

    refused = refusals(the_plan, allow_destroy=allow_destroy)
    public = public_refusals(the_plan, allow_public_access, public_ok)
    if refused or public:
        _say(*(f"refused: {line}" for line in refused + public))
        counts = [f"{len(lines)} {what} change{'s' if len(lines) != 1 else ''}"
                  for lines, what in ((refused, "destroying"), (public, "public")) if lines]
        raise RefusedError(f"{' and '.join(counts)} refused; nothing was changed")


def _confirm(args: argparse.Namespace, verb: str) -> None:
    if args.auto_approve:
        return
    if not sys.stdin.isatty():
        raise RefusedError(f"{verb} needs confirmation but stdin is not a terminal; pass --auto-approve. "
                           "Nothing was changed")
    print(f"\nDo you want to {verb} these changes? Only 'yes' will be accepted.", file=sys.stderr)
    answer = input("Enter a value: ").strip()
    if answer != "yes":
        raise RefusedError(f"{verb} cancelled; nothing was changed")


def _can_trap_signals() -> bool:
    """asyncio takes signal handlers only in the main thread, and not on Windows loops."""
    return sys.platform != "win32" and threading.current_thread() is threading.main_thread()


async def _execute(args: argparse.Namespace, client: VectorsClient, the_plan: Plan) -> int:
    """Run the plan; the first SIGINT stops new steps and lets running ones finish, a
    second abandons the running ones."""
    from reconciler import engine, render
    from reconciler.executor import ApplyResult, StepResult

    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    aborted = False

    def on_second_sigint() -> None:
        nonlocal aborted
        aborted = True
        loop.remove_signal_handler(signal.SIGINT)  # a third: Python's own KeyboardInterrupt
        if main is not None:
            main.cancel()

    def on_sigint() -> None:
        _say("interrupt received: finishing steps in flight, starting no new ones (Ctrl-C again to abort)")
        stop.set()
        loop.add_signal_handler(signal.SIGINT, on_second_sigint)

    trapped = _can_trap_signals()
    if trapped:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    color = _color()
    bar = Progress("applying")
    started: list[str] = []
    finished: list[StepResult] = []

    def on_step(step: StepResult) -> None:
        finished.append(step)
        bar.close()
        _out(render.step_line(step, color=color))
        bar.update(len(finished), len(the_plan.changes))

    try:
        result: ApplyResult = await engine.apply_plan(client, the_plan, parallelism=args.parallelism,
                                                      on_step=on_step, on_start=lambda c: started.append(c.address),
                                                      stop=stop)
    except asyncio.CancelledError:
        if not aborted:
            raise
        done = {s.address for s in finished}
        in_flight = [a for a in started if a not in done]
        _out("\n" + render.apply_aborted(finished, in_flight, len(the_plan.changes), color=color))
        return EXIT_INTERRUPTED
    finally:
        bar.close()
        if trapped:
            loop.remove_signal_handler(signal.SIGINT)  # a no-op when on_second_sigint already did
    _out("\n" + render.apply_verdict(result, color=color))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_ERROR


# --- access -------------------------------------------------------------------------------------


def access(args: argparse.Namespace) -> int:
    """Who may do what on each declared bucket and index, from the declared policies alone:
    no target is resolved and no API is called (so CI needs no credentials for it)."""
    from reconciler.access import access_matrix, resource_accounts
    from reconciler.render.access import BucketAccess, access_json, access_text

    manifest = _load(args)
    account = (manifest.account or os.environ.get("TOS_ACCOUNT_ID") or "").strip()
    region = (manifest.region or os.environ.get("TOS_REGION") or "").strip() or "cn-beijing"
    named = {a for b in manifest.buckets for a in resource_accounts(b.policy)}
    if not account and len(named) == 1:
        account = named.pop()  # the one account the policies' resources name
    if not account:
        raise ConfigError("no account id: declare account in the manifest or set TOS_ACCOUNT_ID "
                          "(the policies' resources do not name exactly one account)")
    buckets = [BucketAccess(b.name, b.policy is not None, tuple(access_matrix(
        b.policy, region, account, b.name, [i.name for i in b.indexes], args.principals or None)))
        for b in sorted(manifest.buckets, key=lambda b: b.name)]
    _out(access_json(buckets, account, region) if args.format == "json"
         else access_text(buckets, account, region, color=_color()))
    return EXIT_OK
