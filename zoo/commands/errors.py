"""How ``gan-zoo`` reports a user's mistake: one message, a non-zero exit, no Python traceback.

A user error is a bad value, an unknown name, a missing or unusable file, a refused checkpoint, hardware that
is not there: ``ValueError``, ``OSError`` (``FileNotFoundError``, ``PermissionError``, ...) and Lightning's
``MisconfigurationException``. ``gan-zoo`` prints ``gan-zoo <command>: error: <message>`` on stderr and exits
with status 1 (argument-parsing errors: status 2). Set ``GAN_ZOO_DEBUG=1`` to get the full traceback instead.
Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from lightning.pytorch.cli import LightningArgumentParser
from lightning.pytorch.utilities.exceptions import MisconfigurationException

DEBUG_ENV = "GAN_ZOO_DEBUG"
USER_ERRORS = (ValueError, OSError, MisconfigurationException)
HINT = f"(set {DEBUG_ENV}=1 to see the traceback)"


def debug_enabled() -> bool:
    """Whether ``GAN_ZOO_DEBUG`` asks for tracebacks (any value but empty, 0, false, no, off)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def condense(message: str) -> str:
    """jsonargparse's nested "Does not validate against any of the Union subtypes" reports, cut to their
    causes on one line (other messages are returned stripped)."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    if not any("Does not validate against any of the Union subtypes" in line for line in lines):
        return message.strip()
    noise = ("Does not validate against", "Subtypes:", "Errors:", "Given value", "Expected a <class 'NoneType'>")
    head = [lines[0].strip()] if lines[0].strip().startswith("Parser key") else []
    causes = [line.strip().lstrip("- ").strip() for line in lines[len(head) :]]
    causes = [c for c in causes if c and not c.startswith(noise)]
    return " ".join(dict.fromkeys(head + causes)) or message.strip()


def run_reporting_errors(prog: str, command: Callable[[], Any]) -> Any:
    """Run ``command``; a user error leaves as ``SystemExit("<prog>: error: <message>")`` (printed by Python
    without a traceback, exit status 1) unless ``GAN_ZOO_DEBUG`` is set."""
    try:
        return command()
    except USER_ERRORS as err:
        if debug_enabled():
            raise
        text = condense(str(err)) or type(err).__name__
        raise SystemExit(f"{prog}: error: {text}\n{HINT}") from err


def flag_value(args: Sequence[str], flag: str) -> str | None:
    """The value of ``flag`` in ``args`` (``--flag VALUE`` or ``--flag=VALUE``; the last one wins)."""
    value = None
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(flag + "="):
            value = arg[len(flag) + 1 :]
    return value


def check_class_name(flag: str, value: str | None, accepted: set[str], listed: Sequence[str], what: str) -> None:
    """Refuse ``--model NAME`` / ``--data NAME`` naming no known class, listing the names that work (dotted
    class paths, files and inline YAML are left to the parser)."""
    if value is None or any(c in value for c in ".{/:") or os.path.exists(value) or value in accepted:
        return
    raise ValueError(f"unknown {flag} {value!r}; {what}: {', '.join(listed)}.")


class ZooArgumentParser(LightningArgumentParser):
    """LightningCLI's parser, reporting a bad argument in one message instead of the whole usage."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error or debug_enabled() or os.environ.get("JSONARGPARSE_DEBUG"):
            super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        prog = parser.prog.replace(" [options]", "")
        sys.stderr.write(f"{prog}: error: {condense(message)}\n(see '{prog} --help' for the options)\n")
        self.exit(2)
