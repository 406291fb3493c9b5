"""What each command module declares: its name, help, arguments, run function and exit
statuses."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import IO, NamedTuple

from ._output import Output


class Command(NamedTuple):
    """One ``atlassian-jwt`` command."""

    #: The command's name.
    name: str
    #: What it does, in one line (the main help's list of commands).
    summary: str
    #: What it does, in full (its own help).
    description: str
    #: One example call.
    example: str
    #: The rejection codes (of the exit status table) it can exit with.
    codes: tuple[str, ...]
    #: Whether it reads files, and so can fail to run (exit status 1).
    reads_files: bool
    #: Adds its arguments to its parser.
    add_arguments: Callable[[argparse.ArgumentParser], None]
    #: Runs it: ``run(args, out, stdin)`` returns the exit status.
    run: Callable[[argparse.Namespace, Output, IO[str]], int]
    #: Says what is wrong with a combination of its options, or ``None``.
    check: Callable[[argparse.Namespace], str | None] = lambda args: None
