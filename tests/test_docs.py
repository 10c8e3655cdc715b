"""The commands and links in the project's documentation match the code.

Every ``keras-fi`` command in a fenced code block must parse with today's command line, every
flag of a ``keras-fi`` command quoted in the text must exist on its subcommand, every
``python benchmarks/...`` or ``tasks.py`` command must name a script that defines its flags, and
every relative link must point at a file of the repository. A renamed flag or a moved file then
fails here instead of in a user's shell.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from keras_fi.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    "README.md",
    "CONTRIBUTING.md",
    "docs/architecture.md",
    "recipes/README.md",
    "benchmarks/README.md",
]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)\)")


def _subcommands() -> dict:
    parser = build_parser()
    (action,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return action.choices


def _shell_commands(text: str) -> list[str]:
    """The command lines of the shell blocks, continuation lines joined, comments dropped."""
    commands = []
    for language, body in FENCE.findall(text):
        if language not in ("bash", "sh", "shell", ""):
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split(" # ")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def _inline_spans(text: str) -> list[str]:
    """The `code spans` of the prose (fenced blocks left out), a span wrapped over lines joined."""
    return [" ".join(span.split()) for span in INLINE.findall(FENCE.sub("", text))]


def _keras_fi_args(command: str) -> list[str] | None:
    words = shlex.split(command)
    if not words or Path(words[0]).name != "keras-fi":
        return None
    return words[1:]


@pytest.mark.parametrize("doc", DOCS)
def test_keras_fi_commands_in_code_blocks_parse(doc, capsys):
    parser = build_parser()
    checked = 0
    for command in _shell_commands((ROOT / doc).read_text(encoding="utf-8")):
        args = _keras_fi_args(command)
        if args is None or "--help" in args or "-h" in args:
            continue
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"{doc}: `{command}` does not parse: {capsys.readouterr().err.strip()}")
        checked += 1
    if doc == "README.md":
        assert checked >= 8, "the README's command blocks were not found"


@pytest.mark.parametrize("doc", DOCS)
def test_flags_of_quoted_keras_fi_commands_exist(doc):
    subcommands = _subcommands()
    text = (ROOT / doc).read_text(encoding="utf-8")
    for span in _inline_spans(text):
        words = span.split()
        if len(words) < 2 or words[0].split("/")[-1] != "keras-fi":
            continue
        assert words[1] in subcommands, f"{doc}: `{span}`: no subcommand {words[1]!r}"
        known = {o for a in subcommands[words[1]]._actions for o in a.option_strings}
        for word in words[2:]:
            flag = word.split("=")[0]
            if flag.startswith("--"):
                assert flag in known, f"{doc}: `{span}`: keras-fi {words[1]} has no {flag}"


@pytest.mark.parametrize("doc", DOCS)
def test_python_scripts_in_docs_exist_with_their_flags(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    spans = _inline_spans(text) + _shell_commands(text)
    for span in spans:
        match = re.match(
            r"(?:\S*/)?python3? ((?:benchmarks|tutorials|tests)/\S+\.py|tasks\.py)", span
        )
        if not match:
            continue
        script = ROOT / match.group(1)
        assert script.is_file(), f"{doc}: `{span}`: {match.group(1)} does not exist"
        source = script.read_text(encoding="utf-8")
        for flag in re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", span[match.end() :]):
            assert f'"{flag}"' in source, f"{doc}: `{span}`: {match.group(1)} has no {flag}"


@pytest.mark.parametrize("doc", DOCS)
def test_relative_links_point_at_files(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if "://" in target:
            continue
        path = (ROOT / doc).parent / target
        assert path.exists(), f"{doc}: link to {target}, which does not exist"
