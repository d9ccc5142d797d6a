"""Parsing a command line the way the phone's ``/system/bin/sh`` (mksh) does, as data.

The host sends one string per ``adb shell``; adbutils builds it with ``shlex.quote`` and
appends ``; echo X4EXIT:$?``, agents add ``| grep ...`` and ``2>/dev/null``. This module
splits such a line into lists of pipelines of commands with their redirections. Quoting is
POSIX (``'...'``, ``"..."``, backslash), so for a line without operators the words are what
``shlex.split`` gives; unlike ``shlex`` it tells a quoted ``';'`` from the ``;`` operator.
Nothing is ever executed on the host: the words are handed to the phone's Python tools.

Supported: ``;`` ``&`` ``&&`` ``||`` ``|``, newlines, ``#`` comments, ``$?``, ``$$``, ``$NAME``
and ``${NAME}``, redirections ``>``, ``>>``, ``<``, ``N>``, ``N>&M``. Command substitution,
subshells and here-documents are syntax errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Var", "Word", "Redirect", "Command", "Pipeline", "ShellSyntaxError", "parse"]


class ShellSyntaxError(Exception):
    """The line cannot be parsed; the message is what follows ``syntax error:``."""


@dataclass(frozen=True)
class Var:
    """A ``$NAME`` expansion, resolved when the command runs (``$?`` changes as it goes)."""

    name: str


@dataclass(frozen=True)
class Word:
    """One word: literal text and expansions; ``quoted`` if any of it was quoted."""

    parts: tuple[str | Var, ...]
    quoted: bool

    def expand(self, lookup: Callable[[str], str]) -> str | None:
        """The word's text; None when an unquoted expansion left nothing (the word vanishes)."""
        text = "".join(part if isinstance(part, str) else lookup(part.name)
                       for part in self.parts)
        if not text and not self.quoted and any(isinstance(p, Var) for p in self.parts):
            return None
        return text


@dataclass(frozen=True)
class Redirect:
    """``fd>target``, ``fd>>target``, ``fd<target`` or ``fd>&other``."""

    fd: int
    op: Literal[">", ">>", "<", ">&"]
    target: Word | None = None
    other: int | None = None


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list[Command]
    connector: Literal[";", "&&", "||"]   # how it joins the pipeline before it


_SPECIAL = set(";&|<>()`\n")
_NAME_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME = _NAME_START | set("0123456789")

Token = tuple[Literal["word"], Word] | tuple[Literal["op"], str] | tuple[Literal["redir"], Redirect]


class _Lexer:
    def __init__(self, line: str) -> None:
        self.line = line
        self.pos = 0
        self.tokens: list[Token] = []
        self.parts: list[str | Var] = []
        self.text: list[str] = []          # literal characters not yet moved into parts
        self.started = False               # a word is being built
        self.quoted = False
        self.plain_digits = True           # the word so far is unquoted digits (an fd)

    def peek(self, offset: int = 0) -> str:
        at = self.pos + offset
        return self.line[at] if at < len(self.line) else ""

    def literal(self, char: str, *, quoted: bool = False) -> None:
        self.text.append(char)
        self.started = True
        if quoted or not char.isdigit():
            self.plain_digits = False

    def flush_text(self) -> None:
        if self.text:
            self.parts.append("".join(self.text))
            self.text = []

    def end_word(self) -> None:
        self.flush_text()
        if self.started:
            self.tokens.append(("word", Word(tuple(self.parts), self.quoted)))
        self.parts, self.started, self.quoted, self.plain_digits = [], False, False, True

    def dollar(self, *, quoted: bool) -> None:
        """At a ``$``: read an expansion, or keep the ``$`` if none follows."""
        self.pos += 1
        char = self.peek()
        if char in ("?", "$", "#", "!", "-") or char.isdigit():
            name, self.pos = char, self.pos + 1
        elif char == "{":
            end = self.line.find("}", self.pos)
            if end < 0:
                raise ShellSyntaxError("missing '}'")
            name, self.pos = self.line[self.pos + 1:end], end + 1
            if not name or not (set(name) <= _NAME or name in ("?", "$", "#")):
                raise ShellSyntaxError(f"${{{name}}}: bad substitution")
        elif char == "(":
            raise ShellSyntaxError("command substitution is not supported")
        elif char in _NAME_START:
            start = self.pos
            while self.peek() in _NAME and self.peek():
                self.pos += 1
            name = self.line[start:self.pos]
        else:
            self.literal("$", quoted=quoted)
            return
        self.flush_text()
        self.parts.append(Var(name))
        self.started = True
        self.plain_digits = False
        self.quoted = self.quoted or quoted

    def single_quoted(self) -> None:
        end = self.line.find("'", self.pos + 1)
        if end < 0:
            raise ShellSyntaxError("unterminated quoted string")
        for char in self.line[self.pos + 1:end]:
            self.literal(char, quoted=True)
        self.started = self.quoted = True
        self.plain_digits = False
        self.pos = end + 1

    def double_quoted(self) -> None:
        self.pos += 1
        self.started = self.quoted = True
        self.plain_digits = False
        while True:
            char = self.peek()
            if not char:
                raise ShellSyntaxError("unterminated quoted string")
            if char == '"':
                self.pos += 1
                return
            if char == "\\" and self.peek(1) in ('"', "\\", "$", "`", "\n"):
                if self.peek(1) != "\n":
                    self.literal(self.peek(1), quoted=True)
                self.pos += 2
            elif char == "$":
                self.dollar(quoted=True)
            elif char == "`":
                raise ShellSyntaxError("command substitution is not supported")
            else:
                self.literal(char, quoted=True)
                self.pos += 1

    def redirect(self, char: str) -> None:
        fd: int | None = None
        if self.started and self.plain_digits and not self.parts:
            fd = int("".join(self.text))
            self.text, self.started = [], False
        self.end_word()
        self.pos += 1
        if char == "<":
            self.tokens.append(("redir", Redirect(0 if fd is None else fd, "<")))
            return
        fd = 1 if fd is None else fd
        if self.peek() == ">":
            self.pos += 1
            self.tokens.append(("redir", Redirect(fd, ">>")))
        elif self.peek() == "&":
            self.pos += 1
            start = self.pos
            while self.peek().isdigit():
                self.pos += 1
            if start == self.pos:
                raise ShellSyntaxError("'>&' needs a file descriptor")
            self.tokens.append(("redir", Redirect(fd, ">&", other=int(self.line[start:self.pos]))))
        else:
            self.tokens.append(("redir", Redirect(fd, ">")))

    def run(self) -> list[Token]:
        while self.pos < len(self.line):
            char = self.peek()
            if char in " \t\r":
                self.end_word()
                self.pos += 1
            elif char == "#" and not self.started:
                end = self.line.find("\n", self.pos)
                self.pos = len(self.line) if end < 0 else end
            elif char == "'":
                self.single_quoted()
            elif char == '"':
                self.double_quoted()
            elif char == "\\":
                if self.peek(1) == "\n":
                    self.pos += 2
                elif self.peek(1):
                    self.literal(self.peek(1), quoted=True)
                    self.quoted = True
                    self.pos += 2
                else:
                    self.pos += 1      # a trailing backslash is dropped, as mksh does
            elif char == "$":
                self.dollar(quoted=False)
            elif char in "<>":
                self.redirect(char)
            elif char in _SPECIAL:
                self.end_word()
                if char in "()`":
                    raise ShellSyntaxError(f"'{char}' unexpected")
                double = char in "&|" and self.peek(1) == char
                self.tokens.append(("op", char * 2 if double else char))
                self.pos += 2 if double else 1
            else:
                self.literal(char)
                self.pos += 1
        self.end_word()
        return self.tokens


def parse(line: str) -> list[Pipeline]:
    """The pipelines of ``line`` in order, each with how it joins the one before.

    Raises:
        ShellSyntaxError: unbalanced quotes, a misplaced operator, unsupported syntax.
    """
    pipelines: list[Pipeline] = []
    commands: list[Command] = []
    command = Command()
    connector: Literal[";", "&&", "||"] = ";"
    tokens = _Lexer(line).run()
    index = 0

    def close_command(op: str) -> None:
        nonlocal command
        if not command.words and not command.redirects:
            raise ShellSyntaxError(f"'{op}' unexpected")
        commands.append(command)
        command = Command()

    while index < len(tokens):
        kind, value = tokens[index]
        if kind == "word":
            command.words.append(value)  # type: ignore[arg-type]
        elif kind == "redir":
            redirect: Redirect = value  # type: ignore[assignment]
            if redirect.op != ">&":
                index += 1
                if index >= len(tokens) or tokens[index][0] != "word":
                    raise ShellSyntaxError("missing redirection target")
                target: Word = tokens[index][1]  # type: ignore[assignment]
                redirect = Redirect(redirect.fd, redirect.op, target=target)
            command.redirects.append(redirect)
        elif value == "|":
            close_command("|")
        else:       # ; & && || and newlines
            if value == "\n" and not commands and not command.words and not command.redirects:
                index += 1          # blank lines separate nothing
                continue
            close_command("newline" if value == "\n" else str(value))
            pipelines.append(Pipeline(commands, connector))
            commands = []
            connector = value if value in ("&&", "||") else ";"  # type: ignore[assignment]
        index += 1
    if tokens and tokens[-1] == ("op", "|"):
        raise ShellSyntaxError("unexpected end of line")
    if command.words or command.redirects:
        commands.append(command)
    if commands:
        pipelines.append(Pipeline(commands, connector))
    elif connector != ";":
        raise ShellSyntaxError("unexpected end of line")
    return pipelines
