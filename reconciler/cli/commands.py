"""One function per CLI verb: load, resolve the target, call the engine, render.

Each returns the exit code of DESIGN.md §4. Errors are raised as ReconcilerError and
turned into one line each by cli.parser.main. Every verb that talks to the service does it
through `_call` (open the client for the resolved target, run, close); what a target is
and where it comes from is decided in target.py alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from reconciler.apply.guardrails import Consent
from reconciler.cli.exitcodes import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from reconciler.cli.progress import Progress
from reconciler.cli.target import Resolved, Settings, open_client, resolve, resolve_for_access, resolve_for_saved
from reconciler.errors import ConfigError, RefusedError
from reconciler.manifest import Manifest, load_manifests, parse_var_assignments, read_var_files
from reconciler.plan.model import Plan, Target
from reconciler.rules.kinds import parse_address

# The engine, client and renderers (asyncio, uvloop, deepdiff: most of start-up time) load on
# first use, so `validate` in a pre-commit hook stays quick.
if TYPE_CHECKING:
    from reconciler.client import VectorsClient
    from reconciler.client.retry import RetryStats
    from reconciler.plan.build import PlanOptions

T = TypeVar("T")
Work = Callable[["VectorsClient"], Coroutine[Any, Any, T]]  # what a verb does with the client


# --- shared steps ----------------------------------------------------------------------------


def _emit(stream: TextIO, text: str) -> None:
    """Write and flush. When the reader has gone away (`reconciler apply ... | head`), the
    stream is pointed at /dev/null instead of failing the command: an apply goes on to the
    end rather than stopping half-way over a closed pipe."""
    try:
        stream.write(text)
        stream.flush()
    except OSError as e:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
        # Any other failure (`plan > /dev/full`): said once, and the command exits 1 (cli/parser.py)
        if not isinstance(e, BrokenPipeError) and stream is sys.stdout and not OUTPUT_LOST:
            OUTPUT_LOST.append(f"error: cannot write to standard output: {e.strerror or e}")
            _say(OUTPUT_LOST[0])


OUTPUT_LOST: list[str] = []  # why standard output could not be written, once it could not


def _say(*lines: str) -> None:
    _emit(sys.stderr, "".join(line + "\n" for line in lines))


def _out(text: str) -> None:
    _emit(sys.stdout, text if text.endswith("\n") else text + "\n")


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _load(args: argparse.Namespace) -> Manifest:
    if not args.files:
        raise ConfigError("no manifest given: pass -f PATH (a file or a directory)")
    # --var wins over every --var-file, a later file over an earlier one, all over the environment
    variables = {**read_var_files(getattr(args, "var_files", [])), **parse_var_assignments(args.vars)}
    manifest = load_manifests(args.files, variables)
    for warning in manifest.warnings:
        _say(str(warning))
    return manifest


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(endpoint=args.endpoint, region=args.region, account_id=args.account_id,
                    parallelism=args.parallelism, max_rps=args.max_rps)


def _resolve(args: argparse.Namespace, manifest: Manifest | None) -> Resolved:
    resolved = resolve(_settings(args), manifest_account=manifest.account if manifest else None,
                       manifest_region=manifest.region if manifest else None)
    return _announced(resolved)


def _announced(resolved: Resolved) -> Resolved:
    if resolved.announcement:
        _say(resolved.announcement)
    return resolved


def _options(args: argparse.Namespace, manifest: Manifest, *, destroy: bool = False) -> PlanOptions:
    from reconciler.plan.build import PlanOptions, targets_out_of_scope

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


def retry_summary(stats: RetryStats) -> str | None:
    """`37 requests retried: 429 x 30, 503 x 7; 4.2 s spent waiting`, or None."""
    if not stats.retries:
        return None
    causes = ", ".join(f"{cause} x {n}" for cause, n in stats.causes.most_common())
    n = stats.retries
    return f"{n} request{'s' if n != 1 else ''} retried: {causes}; {stats.waited:.1f} s spent waiting"


def _call(args: argparse.Namespace, resolved: Resolved, work: Work[T]) -> T:
    """The one way a verb talks to the service: open the client for the resolved target,
    run `work` with it on the event loop, close the client."""

    async def go() -> T:
        async with open_client(resolved, _settings(args)) as client:
            result = await work(client)
            # so that a slow CI run explains itself without --debug; not after an error, whose
            # one line already says how often the call was tried
            summary = retry_summary(client.retry_stats)
            if summary:
                _say(summary)
            return result

    return _run(go())


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """On uvloop where it exists (not on Windows): a third less CPU per request than asyncio's
    own loop, which is what a refresh of thousands of reads spends its CPU on."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


async def _plan(args: argparse.Namespace, manifest: Manifest, target: Target, options: PlanOptions,
                client: VectorsClient, *, probe: bool = True) -> Plan:
    from reconciler import engine

    bar = Progress("refreshing")
    try:
        return await engine.make_plan(client, manifest, target, options, parallelism=args.parallelism,
                                      progress=bar.update, probe=probe, warn=_say)
    finally:
        bar.close()


# --- verbs ----------------------------------------------------------------------------------


def validate(args: argparse.Namespace) -> int:
    manifest = _load(args)  # problems: cli.parser.main says "N errors in the manifest" (nothing to change here)
    indexes = sum(len(b.indexes) for b in manifest.buckets)
    files = len(manifest.files)
    tests = sum(len(b.access_tests) for b in manifest.buckets)  # they ran while loading: all passed
    passed = f", {tests} access test{'s' if tests != 1 else ''} passed" if tests else ""
    _out(f"Valid: {files} file{'s' if files != 1 else ''}, {len(manifest.buckets)} bucket"
         f"{'s' if len(manifest.buckets) != 1 else ''}, {indexes} index{'es' if indexes != 1 else ''}{passed}.")
    return EXIT_OK


def plan(args: argparse.Namespace) -> int:
    from reconciler import engine
    from reconciler.plan.planfile import plan_key

    manifest = _load(args)
    key = plan_key() if args.out else None  # a key too short to sign with fails before the refresh
    resolved = _resolve(args, manifest)
    options = _options(args, manifest, destroy=args.destroy)
    result = _call(args, resolved, lambda client: _plan(args, manifest, resolved.target, options, client))
    _out(_rendered(result, args.format, destroy=args.destroy))
    if args.out:
        engine.save_plan(result, args.out, key)
        _say(f"Saved the {'signed ' if key else ''}plan to {args.out}; apply it with: reconciler apply {args.out}")
    if args.detailed_exitcode and not result.is_empty:
        return EXIT_CHANGES
    return EXIT_OK


def _rendered(the_plan: Plan, fmt: str, *, destroy: bool = False) -> str:
    # each renderer from its own module: mypy sees no export behind reconciler.render's lazy __getattr__
    if fmt == "json":
        from reconciler.render.jsonplan import plan_json

        return plan_json(the_plan)
    if fmt == "markdown":
        from reconciler.render.markdown import plan_markdown

        return plan_markdown(the_plan)
    from reconciler.render.text import plan_text

    return plan_text(the_plan, color=_color(), destroy=destroy)


def show(args: argparse.Namespace) -> int:
    """A saved plan as `plan` printed it: read from the file only, no target, no call."""
    from reconciler import engine

    if args.plan_file.endswith((".yaml", ".yml")):  # `show m.yaml`: load_plan's hint is about apply
        raise ConfigError(f"{args.plan_file}: not a reconciler plan file; to see the plan of a manifest: "
                          f"reconciler plan -f {args.plan_file}")
    saved = engine.load_plan(args.plan_file)
    _out(_rendered(saved, args.format, destroy=_made_by_destroy(saved)))
    return EXIT_OK


def _made_by_destroy(the_plan: Plan) -> bool:
    """Whether a saved plan came from `plan --destroy` (every step a delete the planner
    gave a "destroy:" reason). Only its title and summary words follow from this; consent
    never does: _guard judges each step by its action."""
    return bool(the_plan.changes) and all(
        c.action.value == "delete" and c.reason.startswith("destroy:") for c in the_plan.changes)


def apply(args: argparse.Namespace) -> int:
    if args.plan_file:
        if args.files:
            raise ConfigError("give either a saved plan FILE or -f manifests, not both")
        if args.targets:
            raise ConfigError("--target cannot narrow a saved plan; make the plan with `plan --target ... --out`")
        return _apply_saved(args)
    manifest = _load(args)
    resolved = _resolve(args, manifest)
    options = _options(args, manifest)
    return _call(args, resolved, lambda client: _plan_and_apply(args, manifest, resolved.target, options, client))


async def _plan_and_apply(args: argparse.Namespace, manifest: Manifest, target: Target, options: PlanOptions,
                          client: VectorsClient) -> int:
    from reconciler.render.text import plan_text

    the_plan = await _plan(args, manifest, target, options, client)
    _out(plan_text(the_plan, color=_color()))
    if the_plan.is_empty:
        return EXIT_OK
    consent = _consent(args, manifest)
    _guard(the_plan, consent)
    _confirm(args, "apply")
    return await _execute(args, client, the_plan, consent)


def _apply_saved(args: argparse.Namespace) -> int:
    from reconciler import engine
    from reconciler.plan.planfile import plan_key

    saved, unsigned = engine.load_verified_plan(args.plan_file, plan_key())
    resolved = _announced(resolve_for_saved(saved.target, _settings(args)))
    mismatch = engine.target_mismatch(saved.target, resolved.target)
    if mismatch:
        raise RefusedError(f"{args.plan_file}: {mismatch}; nothing was changed")
    if unsigned:
        _say(unsigned)
    return _call(args, resolved, lambda client: _recheck_and_apply(args, saved, client))


async def _recheck_and_apply(args: argparse.Namespace, saved: Plan, client: VectorsClient) -> int:
    from reconciler import engine
    from reconciler.render.text import plan_text

    # what the file says about data loss is not used: it is derived again, and the
    # indexes it destroys are probed again
    the_plan, stale = await engine.recheck_saved(client, saved, parallelism=args.parallelism)
    if stale:
        raise RefusedError(
            f"{args.plan_file} is stale: {', '.join(stale)} changed since the plan was made; "
            "nothing was changed. Run `reconciler plan --out` again.")
    destroying = _made_by_destroy(the_plan)
    _out(plan_text(the_plan, color=_color(), destroy=destroying))
    if the_plan.is_empty:
        return EXIT_OK
    consent = _consent(args)
    _guard(the_plan, consent)
    return await _execute(args, client, the_plan, consent, destroy=destroying)


def destroy(args: argparse.Namespace) -> int:
    manifest = _load(args)
    resolved = _resolve(args, manifest)
    options = _options(args, manifest, destroy=True)
    return _call(args, resolved, lambda client: _plan_and_destroy(args, manifest, resolved.target, options, client))


async def _plan_and_destroy(args: argparse.Namespace, manifest: Manifest, target: Target, options: PlanOptions,
                            client: VectorsClient) -> int:
    from reconciler.render.text import plan_text

    the_plan = await _plan(args, manifest, target, options, client)
    _out(plan_text(the_plan, color=_color(), destroy=True))
    if the_plan.is_empty:
        return EXIT_OK
    consent = Consent(destroy_verb=True)  # destroy exists to delete; preventDestroy still wins
    _guard(the_plan, consent)
    n = len(the_plan.changes)
    _confirm(args, "destroy", f"Do you really want to destroy {'this' if n == 1 else f'these {n}'} "
                              f"resource{'s' if n != 1 else ''}? There is no undo.")
    return await _execute(args, client, the_plan, consent, destroy=True)


def drift(args: argparse.Namespace) -> int:
    from reconciler.plan.build import PlanOptions
    from reconciler.plan.drift import drift_report
    from reconciler.render.drift import drift_markdown, drift_text
    from reconciler.render.jsonplan import drift_json

    manifest = _load(args)
    resolved = _resolve(args, manifest)
    report = drift_report(_call(args, resolved, lambda client: _plan(
        args, manifest, resolved.target, PlanOptions(), client, probe=False)))
    renderer = {"text": lambda r: drift_text(r, color=_color()), "json": drift_json,
                "markdown": drift_markdown}[args.format]
    _out(renderer(report))
    return EXIT_OK if report.in_sync else EXIT_CHANGES


def export(args: argparse.Namespace) -> int:
    from reconciler.state.export import export_manifest, to_yaml

    resolved = _resolve(args, None)
    target = resolved.target
    _out(to_yaml(_call(args, resolved, lambda client: export_manifest(
        client, buckets=args.buckets, prefix=args.prefix, region=target.region, account_id=target.account_id,
        parallelism=args.parallelism))))
    return EXIT_OK


def graph(args: argparse.Namespace) -> int:
    from reconciler.render.graph import graph_dot, graph_mermaid

    manifest = _load(args)
    resolved = _resolve(args, manifest)
    options = _options(args, manifest)
    the_plan = _call(args, resolved, lambda client: _plan(args, manifest, resolved.target, options, client,
                                                          probe=False))
    _out(graph_dot(the_plan) if args.format == "dot" else graph_mermaid(the_plan))
    return EXIT_OK


def serve(args: argparse.Namespace) -> int:
    from reconciler.emulator import server

    return server.run_from_args(args)


# --- guardrails, confirmation and execution ---------------------------------------------------


def _consent(args: argparse.Namespace, manifest: Manifest | None = None) -> Consent:
    """The flags' consent. With a manifest, its buckets that declare `allowPublicAccess: true`
    may open themselves; a saved plan (no manifest) needs --allow-public-access for that."""
    public = None if manifest is None else frozenset(b.name for b in manifest.buckets if b.allow_public_access)
    return Consent(allow_destroy=args.allow_destroy,
                   allow_public_access=getattr(args, "allow_public_access", False), public_buckets=public)


def _guard(the_plan: Plan, consent: Consent) -> None:
    """The engine's own check, run early so that nobody is asked to confirm what would be
    refused, and printed one line per step; `engine.apply_plan` checks again itself."""
    from reconciler import engine
    from reconciler.apply.guardrails import GuardrailRefused

    try:
        engine.check_consent(the_plan, consent)
    except GuardrailRefused as e:
        _say(*(f"refused: {line}" for line in e.refused))
        raise


class Cancelled(RefusedError):
    """The user said no at the prompt; Ctrl-C there exits 130, as an interrupt does."""

    def __init__(self, verb: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(f"{verb} cancelled; nothing was changed")
        self.exit_code = exit_code


def _confirm(args: argparse.Namespace, verb: str, question: str | None = None) -> None:
    """Ask on the terminal (stderr, so that `apply > log` still shows the question); only
    `yes` goes on. Ctrl-D cancels (exit 1), Ctrl-C cancels (exit 130)."""
    if args.auto_approve:
        return
    if not sys.stdin.isatty():
        raise RefusedError(f"{verb} needs confirmation but stdin is not a terminal; pass --auto-approve. "
                           "Nothing was changed")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # The event loop's own SIGINT handler only cancels its task, which a blocking read
    # does not notice: the next line typed would be taken as the answer. Own SIGINT from
    # before the question is shown until the answer is read.
    trapped = _can_trap_signals()
    previous = signal.signal(signal.SIGINT, interrupt) if trapped else None
    try:
        _say("", question or f"Do you want to {verb} these changes?", "  Only 'yes' will be accepted.", "")
        _emit(sys.stderr, "Enter a value: ")
        line = sys.stdin.readline()
    except KeyboardInterrupt:
        _emit(sys.stderr, "\n")
        raise Cancelled(verb, EXIT_INTERRUPTED) from None
    finally:
        if trapped:
            signal.signal(signal.SIGINT, previous)
    if not line:  # end of input (Ctrl-D)
        _emit(sys.stderr, "\n")
        raise Cancelled(verb)
    if line.strip() != "yes":
        raise Cancelled(verb)


def _can_trap_signals() -> bool:
    """asyncio takes signal handlers only in the main thread, and not on Windows loops."""
    return sys.platform != "win32" and threading.current_thread() is threading.main_thread()


async def _execute(args: argparse.Namespace, client: VectorsClient, the_plan: Plan, consent: Consent, *,
                   destroy: bool = False) -> int:
    """Run the plan; the first SIGINT stops new steps and lets running ones finish, a
    second abandons the running ones."""
    import asyncio

    from reconciler import engine
    from reconciler.apply.result import ApplyResult, StepResult
    from reconciler.render.apply import apply_aborted, apply_verdict, step_line

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
        _out(step_line(step, color=color))
        bar.update(len(finished), len(the_plan.changes))

    try:
        result: ApplyResult = await engine.apply_plan(client, the_plan, consent, parallelism=args.parallelism,
                                                      on_step=on_step, on_start=lambda c: started.append(c.address),
                                                      stop=stop)
    except asyncio.CancelledError:
        if not aborted:
            raise
        done = {s.address for s in finished}
        in_flight = [a for a in started if a not in done]
        _out("\n" + apply_aborted(finished, in_flight, len(the_plan.changes), color=color))
        return EXIT_INTERRUPTED
    finally:
        bar.close()
        if trapped:
            loop.remove_signal_handler(signal.SIGINT)  # a no-op when on_second_sigint already did
    _out("\n" + apply_verdict(result, color=color, destroy=destroy))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_ERROR


def completion(args: argparse.Namespace) -> int:
    from reconciler.cli.completion import script
    from reconciler.cli.parser import build_parser

    _out(script(args.shell, build_parser()))
    return EXIT_OK


# --- access -------------------------------------------------------------------------------------


def access(args: argparse.Namespace) -> int:
    """Who may do what on each declared bucket and index, from the declared policies alone:
    no target is resolved and no API is called (so CI needs no credentials for it)."""
    from reconciler.render.access import BucketAccess, access_json, access_text
    from reconciler.rules.access import access_matrix, resource_accounts

    manifest = _load(args)
    named = {a for b in manifest.buckets for a in resource_accounts(b.policy)}
    account, region = resolve_for_access(manifest.account, manifest.region, named)
    buckets = [BucketAccess(b.name, b.policy is not None, tuple(access_matrix(
        b.policy, region, account, b.name, [i.name for i in b.indexes], args.principals or None)))
        for b in sorted(manifest.buckets, key=lambda b: b.name)]
    _out(access_json(buckets, account, region) if args.format == "json"
         else access_text(buckets, account, region, color=_color()))
    return EXIT_OK
