"""What a `lab` verb is: its name, help, example, arguments and handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.cluster import Lab
from lab.config import LabConfig


@dataclass
class Context:
    """What every handler gets: the lab's configuration, and the lab it names."""

    config: LabConfig
    verbose: bool = False

    def lab(self) -> Lab:
        """The lab LAB_NAME names (found by its containers' labels when used)."""
        return Lab(self.config, verbose=self.verbose)


@dataclass(frozen=True)
class Verb:
    """One `lab` command: `run` gets the parsed arguments and the context, and returns the exit code."""

    name: str
    help: str
    example: str
    run: Callable[[argparse.Namespace, Context], int]
    arguments: Callable[[argparse.ArgumentParser], None] = field(default=lambda parser: None)
    description: str = ""
    # What the arguments the verb does not know are for (e.g. "PYTEST ARGS"): they reach the
    # handler as args.extra, in order. Without it, unknown arguments are an error.
    passes_on: str = ""

    def add_to(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add this verb's parser, with its example shown by --help."""
        parser = commands.add_parser(
            self.name,
            help=self.help,
            description=self.description or self.help,
            epilog=f"example: {self.example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self.arguments(parser)
        if self.passes_on:
            parser.usage = parser.format_usage().removeprefix("usage: ").rstrip() + f" [{self.passes_on} ...]"
        parser.set_defaults(verb=self)
