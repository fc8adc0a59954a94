"""`tandem simulate` comes from the simulation package, through the kernel CLI's `tandem.commands` hook."""

from __future__ import annotations

import argparse

from tandem_kernel import cli


def test_simulate_is_a_tandem_command_with_its_help_and_examples() -> None:
    parser = cli._parser()
    [commands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]

    text = commands.choices["simulate"].format_help()
    assert "public HTTP APIs" in text and "tandem simulate --size 20000" in text
    args = parser.parse_args(["simulate", "--size", "300", "--weeks", "8", "--seed", "3", "--exit"])
    assert (args.size, args.weeks, args.seed, args.exit) == (300, 8, 3, True)
    assert args.added_command is cli.commands()["simulate"]
