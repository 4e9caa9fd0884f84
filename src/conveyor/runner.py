"""The one way Conveyor runs programs: argv lists only, logged shell-quoted, secrets masked."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.errors import ToolFailedError, ToolNotFoundError

STDERR_TAIL_LINES = 20
STREAM_TAIL_LINES = 40
MASK = "*****"
_GROUP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""What a terminal or a CI runner sends a whole process group."""


@dataclass(frozen=True)
class Completed:
    """What a finished program left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0


@dataclass
class Runner:
    """Runs argv lists; `secrets` are masked wherever a command line is shown."""

    secrets: set[str] = field(default_factory=set)
    echo: bool = False

    def describe(self, argv: Sequence[str]) -> str:
        """The command as a human would type it, with secrets masked."""
        return shlex.join(self.mask(str(a)) for a in argv)

    def run(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        unset_env: Iterable[str] = (),
        ok_codes: Iterable[int] = (0,),
        timeout: float | None = None,
        input_text: str | None = None,
        tool: str | None = None,
        capture: bool = True,
        new_session: bool = False,
    ) -> Completed:
        """Run `argv`; raise ToolFailedError (with stderr tail) unless it exits in `ok_codes`.

        `new_session` starts the program in its own session (process group), so a Ctrl-C
        in the terminal reaches only Conveyor, which decides what to stop, not the program.
        A Ctrl-C that lands in the instant between the fork and the program leaving the group
        still kills it; such a program, ended by SIGINT or SIGTERM, is run once more.
        `unset_env` names inherited variables the program must not see.
        """
        args = tuple(os.fspath(a) for a in argv)
        name = tool or Path(args[0]).name
        dropped = set(unset_env)
        full_env = None
        if env is not None or dropped:
            inherited = {k: v for k, v in os.environ.items() if k not in dropped}
            full_env = {**inherited, **(env or {})}
        if self.echo:
            print(f"$ {self.describe(args)}", flush=True)
        started = time.perf_counter()
        try:
            for _ in range(2 if new_session else 1):
                proc = subprocess.run(
                    args,
                    cwd=cwd,
                    env=full_env,
                    capture_output=capture,
                    text=True,
                    timeout=timeout,
                    input=input_text,
                    check=False,
                    start_new_session=new_session,
                )
                if -proc.returncode not in _GROUP_SIGNALS:
                    break
        except FileNotFoundError as exc:
            raise ToolNotFoundError(
                f"{name}: program not found ({args[0]})",
                hint=f"install {name} or put it on PATH",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise ToolFailedError(
                f"{name}: timed out after {timeout:g}s: {self.describe(args)}",
                hint="raise the timeout in [tool.conveyor] or check the program",
            ) from exc
        done = Completed(
            argv=args,
            returncode=proc.returncode,
            stdout=proc.stdout or "",
            stderr=proc.stderr or "",
            seconds=time.perf_counter() - started,
        )
        if done.returncode not in set(ok_codes):
            raise ToolFailedError(
                f"{name}: exited {done.returncode}: {self.describe(args)}",
                hint=self.mask(stderr_tail(done.stderr or done.stdout)),
            )
        return done

    def stream(
        self,
        argv: Sequence[str | os.PathLike[str]],
        on_line: Callable[[str], None],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        tool: str | None = None,
    ) -> Completed:
        """Run `argv`, passing each output line (stdout and stderr, secrets masked) to `on_line`
        as it comes; raise ToolFailedError with the masked tail unless it exits 0."""
        args = tuple(os.fspath(a) for a in argv)
        name = tool or Path(args[0]).name
        full_env = {**os.environ, **env} if env is not None else None
        if self.echo:
            print(f"$ {self.describe(args)}", flush=True)
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(
                args,
                cwd=cwd,
                env=full_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except FileNotFoundError as exc:
            raise ToolNotFoundError(
                f"{name}: program not found ({args[0]})",
                hint=f"install {name} or put it on PATH",
            ) from exc
        tail: list[str] = []
        for raw in proc.stdout or ():  # stdout=PIPE: never None
            line = self.mask(raw.rstrip("\n"))
            tail = [*tail[-STREAM_TAIL_LINES:], line]
            on_line(line)
        returncode = proc.wait()
        output = "\n".join(tail)
        if returncode != 0:
            raise ToolFailedError(
                f"{name}: exited {returncode}: {self.describe(args)}",
                hint=stderr_tail(output),
            )
        return Completed(args, returncode, output, "", time.perf_counter() - started)

    def mask(self, text: str) -> str:
        """`text` with every known secret replaced."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, MASK)
        return text


def stderr_tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last `lines` non-empty lines of a program's output, for error messages."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


DEFAULT_RUNNER = Runner()
