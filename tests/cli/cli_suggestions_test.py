"""Every `--flag` a command's messages or help suggest is an option of that command."""

import argparse
import glob
import os
import re

from keras_s2s.cli.main import build_parser

CLI_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "keras_s2s", "cli")
# `--flag`, not `--xla_flag` (an XLA_FLAGS value) or a word inside another.
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*(?![\w])")


def _command_options():
    parser = build_parser()
    options = {"": {o for a in parser._actions for o in a.option_strings}}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                options[name] = {o for a in subparser._actions for o in a.option_strings}
    return options


def _suggested_flags(path):
    with open(path, encoding="utf-8") as file:
        return set(FLAG.findall(file.read()))


def test_command_modules_only_suggest_their_own_options():
    options = _command_options()
    checked = 0
    for path in sorted(glob.glob(os.path.join(CLI_DIR, "*_command.py"))):
        command = os.path.basename(path)[: -len("_command.py")].replace("_", "-")
        commands = [c for c in options if c == command or (command == "translate" and c == "generate")]
        assert commands, f"{path} defines no command of the parser"
        for name in commands:
            unknown = _suggested_flags(path) - options[name] - options[""]
            assert not unknown, f"{path} suggests {sorted(unknown)} to 'keras-s2s {name}'"
            checked += 1
    assert checked >= 8


def test_shared_messages_only_suggest_existing_options():
    options = set().union(*_command_options().values())
    for path in sorted(glob.glob(os.path.join(CLI_DIR, "*.py"))):
        unknown = _suggested_flags(path) - options
        assert not unknown, f"{path} suggests {sorted(unknown)}, which no command has"


def test_the_check_catches_a_made_up_flag(tmp_path):
    path = tmp_path / "x_command.py"
    path.write_text('raise CLIError("pass --no-such-flag or --preset")\n')
    assert _suggested_flags(str(path)) == {"--no-such-flag", "--preset"}
