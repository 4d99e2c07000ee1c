"""A command's time with the service: one client, one event loop, and the terminal side of
the engine's hooks (progress, the plan, the prompt, step lines, Ctrl-C).

Loaded only by the commands that talk to the service: it brings asyncio, and `validate`
in a pre-commit hook stays quick without it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.apply.guardrails import GuardrailRefused
from reconciler.apply.result import ApplyResult, StepResult
from reconciler.cli.console import Console
from reconciler.cli.exitcodes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from reconciler.cli.progress import Progress
from reconciler.cli.target import Resolved, Settings, open_client
from reconciler.engine import Cancelled, Hooks
from reconciler.errors import RefusedError
from reconciler.plan.model import Plan
from reconciler.render.apply import apply_aborted, apply_verdict, step_line
from reconciler.render.text import plan_text
from reconciler.util.tasks import can_trap_signals
from reconciler.util.tasks import run as run_loop

if TYPE_CHECKING:
    from reconciler.client import VectorsClient
    from reconciler.client.retry import RetryStats

T = TypeVar("T")


def retry_summary(stats: RetryStats) -> str | None:
    """`37 requests retried: 429 x 30, 503 x 7; 4.2 s spent waiting`, or None."""
    if not stats.retries:
        return None
    causes = ", ".join(f"{cause} x {n}" for cause, n in stats.causes.most_common())
    n = stats.retries
    return f"{n} request{'s' if n != 1 else ''} retried: {causes}; {stats.waited:.1f} s spent waiting"


def call(console: Console, resolved: Resolved, settings: Settings,
         work: Callable[[VectorsClient], Coroutine[Any, Any, T]]) -> T:
    """The one way a command talks to the service: open the client for the resolved target
    once, run `work` with it on one event loop, close the client."""

    async def go() -> T:
        async with open_client(resolved, settings) as client:
            result = await work(client)
            # so that a slow CI run explains itself without --debug; not after an error, whose
            # one line already says how often the call was tried
            summary = retry_summary(client.retry_stats)
            if summary:
                console.say(summary)
            return result

    return run_loop(go())


async def closing(bar: Progress, work: Awaitable[T]) -> T:
    """`work`, with the progress display cleared when it ends (before anything else is said)."""
    try:
        return await work
    finally:
        bar.close()


class PromptInterrupted(Cancelled):
    """Ctrl-C at the prompt: cancelled, and exits 130 as an interrupt does."""

    exit_code = EXIT_INTERRUPTED


def prompt(console: Console, verb: str, question: str) -> bool:
    """Ask on the terminal (stderr, so that `apply > log` still shows the question); only
    `yes` goes on. Ctrl-D cancels (exit 1), Ctrl-C cancels (exit 130)."""
    if not console.interactive:
        raise RefusedError(f"{verb} needs confirmation but -input=false was given; pass --auto-approve. "
                           "Nothing was changed")
    if not sys.stdin.isatty():
        raise RefusedError(f"{verb} needs confirmation but stdin is not a terminal; pass --auto-approve. "
                           "Nothing was changed")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # The event loop's own SIGINT handler only cancels its task, which a blocking read
    # does not notice: the next line typed would be taken as the answer. Own SIGINT from
    # before the question is shown until the answer is read.
    trapped = can_trap_signals()
    previous = signal.signal(signal.SIGINT, interrupt) if trapped else None
    try:
        console.say("", question, "  Only 'yes' will be accepted.", "")
        console.emit(sys.stderr, "Enter a value: ")
        line = sys.stdin.readline()
    except KeyboardInterrupt:
        console.emit(sys.stderr, "\n")
        raise PromptInterrupted(verb) from None
    finally:
        if trapped:
            signal.signal(signal.SIGINT, previous)
    if not line:  # end of input (Ctrl-D)
        console.emit(sys.stderr, "\n")
    return line.strip() == "yes"


class ApplyView:
    """The terminal side of a write workflow: the refresh progress, the plan, the prompt,
    one line per finished step, and the verdict. Ctrl-C once the plan runs: the first stops
    new steps and lets running ones finish, a second abandons the running ones. The words of
    a destroy follow the plan, which records whether `destroy` (or `plan --destroy`) made it."""

    def __init__(self, console: Console, *, confirm: Callable[[Plan], bool] | None = None) -> None:
        self.console = console
        self.confirm = confirm
        self.plan: Plan | None = None
        self.refreshing = Progress("refreshing")
        self.applying: Progress | None = None
        self.stop = asyncio.Event()
        self.started: list[str] = []
        self.finished: list[StepResult] = []
        self.aborted = False
        self.trapped = False

    def hooks(self) -> Hooks:
        return Hooks(warn=self.console.say, progress=self.refreshing.update, on_plan=self._show,
                     confirm=self.confirm, on_execute=self._arm, on_start=lambda c: self.started.append(c.address),
                     on_step=self._step, stop=self.stop)

    async def run(self, work: Awaitable[ApplyResult]) -> int:
        """Await the engine's workflow and return the command's exit code."""
        try:
            result = await work
        except GuardrailRefused as e:
            self.console.say(*(f"refused: {line}" for line in e.refused))
            raise
        except asyncio.CancelledError:
            if not self.aborted:
                raise
            assert self.plan is not None
            done = {s.address for s in self.finished}
            in_flight = [a for a in self.started if a not in done]
            self.console.out("\n" + apply_aborted(self.finished, in_flight, len(self.plan.changes),
                                                  color=self.console.color))
            return EXIT_INTERRUPTED
        finally:
            self.refreshing.close()
            if self.applying is not None:
                self.applying.close()
            if self.trapped:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)  # a no-op after a second Ctrl-C
        if self.plan is None or self.plan.is_empty:
            return EXIT_OK
        self.console.out("\n" + apply_verdict(result, color=self.console.color, destroy=self.plan.destroy))
        if result.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_OK if result.ok else EXIT_ERROR

    def _show(self, plan: Plan) -> None:
        self.refreshing.close()
        self.plan = plan
        self.console.out(plan_text(plan, color=self.console.color, destroy=plan.destroy))

    def _arm(self, plan: Plan) -> None:
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()

        def on_second_sigint() -> None:
            self.aborted = True
            loop.remove_signal_handler(signal.SIGINT)  # a third: Python's own KeyboardInterrupt
            if main is not None:
                main.cancel()

        def on_sigint() -> None:
            self.console.say("interrupt received: finishing steps in flight, starting no new ones "
                             "(Ctrl-C again to abort)")
            self.stop.set()
            loop.add_signal_handler(signal.SIGINT, on_second_sigint)

        self.trapped = can_trap_signals()
        if self.trapped:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        self.applying = Progress("applying")

    def _step(self, step: StepResult) -> None:
        assert self.plan is not None and self.applying is not None
        self.finished.append(step)
        self.applying.close()
        self.console.out(step_line(step, color=self.console.color))
        self.applying.update(len(self.finished), len(self.plan.changes))
