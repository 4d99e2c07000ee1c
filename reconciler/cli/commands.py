"""One function per CLI verb: read the flags, load the manifest, resolve the target, call
the engine (reconciler/engine/) once, render what it returns, pick the exit code.

Each takes the parsed flags and the run's Console and returns the exit code (README.md,
"Exit codes"). Errors are raised as ReconcilerError and turned into one line each by
cli.parser.main. A verb that talks to the service opens one client, on one event loop,
through `session.call`; what a target is and where it comes from is decided in target.py
alone. The workflows themselves (plan, consent, confirmation, execution, drift, export,
access) are the engine's.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from reconciler.cli.console import Console
from reconciler.cli.exitcodes import EXIT_CHANGES, EXIT_OK
from reconciler.errors import ConfigError

# The manifest loader, engine, client and renderers (YAML, the schema, asyncio, uvloop) load
# on first use: `validate` in a pre-commit hook loads no client, `show` no manifest code.
if TYPE_CHECKING:
    from reconciler.cli.target import Resolved, Settings
    from reconciler.client import VectorsClient
    from reconciler.manifest import Manifest
    from reconciler.plan.build import PlanOptions
    from reconciler.plan.drift import DriftReport
    from reconciler.plan.model import Plan


# --- reading the command line ------------------------------------------------------------------


def _read_manifests(args: argparse.Namespace) -> Manifest:
    from reconciler.manifest import load_manifests, parse_var_assignments, read_var_files

    if not args.files:
        raise ConfigError("no manifest given: pass -f PATH (a file or a directory)")
    # --var wins over every --var-file, a later file over an earlier one, all over the environment
    variables = {**read_var_files(getattr(args, "var_files", [])), **parse_var_assignments(args.vars)}
    return load_manifests(args.files, variables)


def _load(args: argparse.Namespace, console: Console) -> Manifest:
    manifest = _read_manifests(args)
    for warning in manifest.warnings:
        console.say(str(warning))
    return manifest


def _settings(args: argparse.Namespace) -> Settings:
    from reconciler.cli.target import Settings

    return Settings(endpoint=args.endpoint, region=args.region, account_id=args.account_id,
                    parallelism=args.parallelism, max_rps=args.max_rps, read_parallelism=args.read_parallelism)


def _resolve(args: argparse.Namespace, console: Console, manifest: Manifest | None) -> Resolved:
    from reconciler.cli.target import resolve

    resolved = resolve(_settings(args), manifest_account=manifest.account if manifest else None,
                       manifest_region=manifest.region if manifest else None)
    return _announced(resolved, console)


def _announced(resolved: Resolved, console: Console) -> Resolved:
    if resolved.announcement:
        console.say(resolved.announcement)
    return resolved


def _options(args: argparse.Namespace, *, destroy: bool = False) -> PlanOptions:
    from reconciler.plan.build import PlanOptions

    return PlanOptions(destroy=destroy, targets=tuple(getattr(args, "targets", ()) or ()))


# --- verbs that read -----------------------------------------------------------------------------


def validate(args: argparse.Namespace, console: Console) -> int:
    manifest = _load(args, console)  # problems: cli.parser.main says "N errors in the manifest"
    indexes = sum(len(b.indexes) for b in manifest.buckets)
    files = len(manifest.files)
    tests = sum(len(b.access_tests) for b in manifest.buckets)  # they ran while loading: all passed
    passed = f", {tests} access test{'s' if tests != 1 else ''} passed" if tests else ""
    console.out(f"Valid: {files} file{'s' if files != 1 else ''}, {len(manifest.buckets)} bucket"
                f"{'s' if len(manifest.buckets) != 1 else ''}, {indexes} index{'es' if indexes != 1 else ''}{passed}.")
    return EXIT_OK


def plan(args: argparse.Namespace, console: Console) -> int:
    from reconciler.plan.planfile import plan_key, save

    if args.refresh_only:
        return _refresh_only(args, console)
    manifest = _load(args, console)
    key = plan_key() if args.out else None  # a key too short to sign with fails before the refresh
    resolved = _resolve(args, console, manifest)
    result = _planned(args, console, manifest, resolved, _options(args, destroy=args.destroy))
    console.out(_rendered(result, args.format, console, destroy=args.destroy))
    if args.out:
        save(result, args.out, key)
        console.say(f"Saved the {'signed ' if key else ''}plan to {args.out}; "
                    f"apply it with: reconciler apply {args.out}")
    if args.detailed_exitcode and not result.is_empty:
        return EXIT_CHANGES
    return EXIT_OK


def _planned(args: argparse.Namespace, console: Console, manifest: Manifest, resolved: Resolved,
             options: PlanOptions, *, probe: bool = True) -> Plan:
    from reconciler import engine
    from reconciler.cli import session
    from reconciler.cli.progress import Progress

    bar = Progress("refreshing")
    return session.call(console, resolved, _settings(args), lambda client: session.closing(bar, engine.make_plan(
        client, manifest, resolved.target, options, parallelism=args.read_parallelism, progress=bar.update,
        probe=probe, warn=console.say)))


def _rendered(the_plan: Plan, fmt: str, console: Console, *, destroy: bool = False) -> str:
    # each renderer from its own module: mypy sees no export behind reconciler.render's lazy __getattr__
    if fmt == "json":
        from reconciler.render.jsonplan import plan_json

        return plan_json(the_plan)
    if fmt == "markdown":
        from reconciler.render.markdown import plan_markdown

        return plan_markdown(the_plan)
    from reconciler.render.text import plan_text

    return plan_text(the_plan, color=console.color, destroy=destroy)


def show(args: argparse.Namespace, console: Console) -> int:
    """A saved plan as `plan` printed it: read from the file only, no target, no call."""
    from reconciler import engine

    saved = engine.load_plan(args.plan_file)
    console.out(_rendered(saved, args.format, console, destroy=saved.destroy))
    return EXIT_OK


def _refresh_only(args: argparse.Namespace, console: Console) -> int:
    """`plan -refresh-only`, Terraform's spelling for "what changed outside the manifests":
    the drift report, with plan's exit codes. There is no state file to update, so there is
    nothing to save or apply: the plan that removes the drift is `plan --out`'s."""
    if args.out:
        raise ConfigError("plan -refresh-only reports drift and has nothing to save (reconciler keeps no state "
                          "file to refresh); save the plan that removes the drift with: reconciler plan --out FILE")
    if args.destroy:
        raise ConfigError("plan -refresh-only and --destroy cannot be used together")
    report = _drift_report(args, console)
    return EXIT_CHANGES if args.detailed_exitcode and not report.in_sync else EXIT_OK


def _drift_report(args: argparse.Namespace, console: Console) -> DriftReport:
    """Refresh, compare, print the drift report in --format; the report, for the exit code."""
    from reconciler import engine
    from reconciler.cli import session
    from reconciler.cli.progress import Progress
    from reconciler.render.drift import drift_markdown, drift_text
    from reconciler.render.jsonplan import drift_json

    manifest = _load(args, console)
    resolved = _resolve(args, console, manifest)
    bar = Progress("refreshing")
    report = session.call(console, resolved, _settings(args), lambda client: session.closing(bar, engine.drift(
        client, manifest, resolved.target, parallelism=args.read_parallelism, progress=bar.update, warn=console.say,
        targets=getattr(args, "targets", ()))))
    if args.format == "json":
        console.out(drift_json(report))
    elif args.format == "markdown":
        console.out(drift_markdown(report))
    else:
        console.out(drift_text(report, color=console.color))
    return report


def drift(args: argparse.Namespace, console: Console) -> int:
    return EXIT_OK if _drift_report(args, console).in_sync else EXIT_CHANGES


def export(args: argparse.Namespace, console: Console) -> int:
    from reconciler import engine
    from reconciler.cli import session
    from reconciler.state.export import to_yaml

    resolved = _resolve(args, console, None)
    console.out(to_yaml(session.call(console, resolved, _settings(args), lambda client: engine.export(
        client, resolved.target, buckets=args.buckets, prefix=args.prefix, parallelism=args.read_parallelism))))
    return EXIT_OK


def output(args: argparse.Namespace, console: Console) -> int:
    """The live identifiers of the declared resources, for the next job of a pipeline; a
    declared resource that does not exist fails the command naming it (engine.output)."""
    from reconciler import engine
    from reconciler.cli import session
    from reconciler.render.output import output_json, output_text

    manifest = _load(args, console)
    resolved = _resolve(args, console, manifest)
    outputs = session.call(console, resolved, _settings(args), lambda client: engine.output(
        client, manifest, resolved.target, parallelism=args.read_parallelism))
    console.out(output_text(outputs) if args.format == "text" else output_json(outputs))
    return EXIT_OK


def graph(args: argparse.Namespace, console: Console) -> int:
    from reconciler.render.graph import graph_dot, graph_mermaid

    manifest = _load(args, console)
    resolved = _resolve(args, console, manifest)
    the_plan = _planned(args, console, manifest, resolved, _options(args), probe=False)
    console.out(graph_dot(the_plan) if args.format == "dot" else graph_mermaid(the_plan))
    return EXIT_OK


def access(args: argparse.Namespace, console: Console) -> int:
    """Who may do what on each declared bucket and index, from the declared policies alone:
    no target is resolved and no API is called (so CI needs no credentials for it)."""
    from reconciler import engine
    from reconciler.cli.target import resolve_for_access
    from reconciler.render.access import access_json, access_text

    manifest = _load(args, console)
    account, region = resolve_for_access(manifest.account, manifest.region, engine.policy_accounts(manifest))
    report = engine.access(manifest, account, region, args.principals)
    console.out(access_json(report.buckets, account, region) if args.format == "json"
                else access_text(report.buckets, account, region, color=console.color))
    return EXIT_OK


# --- verbs that write ----------------------------------------------------------------------------


def apply(args: argparse.Namespace, console: Console) -> int:
    from reconciler import engine
    from reconciler.cli import session

    if args.plan_file:
        if args.files:
            raise ConfigError("give either a saved plan FILE or -f manifests, not both")
        if args.targets:
            raise ConfigError("--target cannot narrow a saved plan; make the plan with `plan --target ... --out`")
        return _apply_saved(args, console)
    manifest = _load(args, console)
    resolved = _resolve(args, console, manifest)
    confirm = None if args.auto_approve else (
        lambda _: session.prompt(console, "apply", "Do you want to apply these changes?"))

    async def work(client: VectorsClient) -> int:
        view = session.ApplyView(console, confirm=confirm)
        return await view.run(engine.apply(
            client, manifest, resolved.target, options=_options(args), allow_destroy=args.allow_destroy,
            allow_public_access=args.allow_public_access, parallelism=args.parallelism,
            read_parallelism=args.read_parallelism, hooks=view.hooks()))

    return session.call(console, resolved, _settings(args), work)


def _apply_saved(args: argparse.Namespace, console: Console) -> int:
    """A saved plan runs as reviewed: no prompt (as Terraform applies a saved plan)."""
    from reconciler import engine
    from reconciler.cli import session
    from reconciler.cli.target import resolve_for_saved
    from reconciler.plan.planfile import plan_key

    saved = engine.load_saved(args.plan_file, plan_key())
    resolved = _announced(resolve_for_saved(saved.plan.target, _settings(args)), console)
    engine.refuse_other_target(saved, resolved.target)  # before the client opens (no store made for it)

    async def work(client: VectorsClient) -> int:
        view = session.ApplyView(console)
        return await view.run(engine.apply_saved(
            client, saved, resolved.target, allow_destroy=args.allow_destroy,
            allow_public_access=args.allow_public_access, parallelism=args.parallelism,
            read_parallelism=args.read_parallelism, hooks=view.hooks()))

    return session.call(console, resolved, _settings(args), work)


def destroy(args: argparse.Namespace, console: Console) -> int:
    from reconciler import engine
    from reconciler.cli import session

    manifest = _load(args, console)
    resolved = _resolve(args, console, manifest)

    def confirm(the_plan: Plan) -> bool:
        n = len(the_plan.changes)
        what = f"{'this' if n == 1 else f'these {n}'} resource{'s' if n != 1 else ''}"
        return session.prompt(console, "destroy", f"Do you really want to destroy {what}? There is no undo.")

    async def work(client: VectorsClient) -> int:
        view = session.ApplyView(console, confirm=None if args.auto_approve else confirm)
        return await view.run(engine.destroy(client, manifest, resolved.target, targets=args.targets,
                                             parallelism=args.parallelism,
                                             read_parallelism=args.read_parallelism, hooks=view.hooks()))

    return session.call(console, resolved, _settings(args), work)


# --- the rest ------------------------------------------------------------------------------------


def completion(args: argparse.Namespace, console: Console) -> int:
    from reconciler.cli.completion import script
    from reconciler.cli.flags import build_parser

    console.out(script(args.shell, build_parser()))
    return EXIT_OK


def serve(args: argparse.Namespace, console: Console) -> int:
    from reconciler.emulator import server

    return server.run_from_args(args)


def watch(args: argparse.Namespace, console: Console) -> int:
    """Drift detection as a running service (README, "Drift detection as a service")."""
    from reconciler import watch as watcher
    from reconciler.cli.target import open_client

    config = watcher.config_from_args(args)  # flags that do not go together fail before any read

    # the first read decides the target, as for `drift` (the CI rule too); each check reads the
    # manifests and var files again
    manifest = _load(args, console)
    resolved = _resolve(args, console, manifest)
    settings = _settings(args)
    return watcher.run(config, open_client=lambda: open_client(resolved, settings), target=resolved.target,
                       load_manifest=lambda: _read_manifests(args), say=console.say, first_manifest=manifest)
