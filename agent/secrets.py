"""Secrets the model never sees: it writes ``<secret:NAME>``, only ``env.execute`` gets the value.

Where secrets come from: ``--secret NAME=VALUE``, ``--secret NAME`` (read from the
environment variable ``QVL_SECRET_NAME``), ``--secrets-file FILE`` (dotenv format, refused
when others may read it), and ``secrets={"NAME": "value"}`` in Python.

A name may say where its secret may be typed: ``NAME@example.com`` (that site and its
subdomains) or ``NAME@com.example.app`` (that Android app); several places are separated by
commas. A secret whose name ends in ``_TOTP``, or whose value is an ``otpauth://totp/`` URI,
is a TOTP seed (RFC 6238): typing it types the current 6-digit code.

What the model is shown is one line listing the placeholders it may use
(``prompt_line``); what is recorded is the placeholder. ``redact`` takes every value (and
its URL-encoded forms, and every code typed) out of a text, as a last line of defence for
error messages and page URLs that a run records.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import os
import re
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pyotp
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from qvl_agent.envs.errors import ConfigError, SecretRefusedError

__all__ = ["Secret", "SecretInfo", "Secrets", "Place", "PLACEHOLDER", "placeholder",
           "parse_secret_option", "load_secrets_file", "prompt_line", "model_goal", "ENV_PREFIX"]

PLACEHOLDER = re.compile(r"<secret:([A-Za-z_][A-Za-z0-9_]*)>")
ENV_PREFIX = "QVL_SECRET_"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_KEY = re.compile(rf"^({_NAME})(?:@([^=\s]+))?$")
_TOTP_SUFFIX = "_TOTP"


def placeholder(name: str) -> str:
    return f"<secret:{name}>"


class SecretInfo(BaseModel):
    """What a run records about a secret: never its value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    scopes: tuple[str, ...] = Field((), description="sites or Android packages; () = anywhere")
    totp: bool = Field(False, description="types the current TOTP code")


class Secret(BaseModel):
    """One secret: its name, its value (never printed: ``SecretStr``) and where it may go."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=rf"^{_NAME}$")
    value: SecretStr
    scopes: tuple[str, ...] = ()
    totp: bool = False

    @property
    def info(self) -> SecretInfo:
        return SecretInfo(name=self.name, scopes=self.scopes, totp=self.totp)

    def typed(self, at: float | None = None) -> str:
        """What typing it types: the value, or the TOTP code of the moment ``at``."""
        if not self.totp:
            return self.value.get_secret_value()
        return _totp(self).at(time.time() if at is None else at)

    def codes_near(self, now: float) -> list[str]:
        """The TOTP codes of the windows around ``now`` (what a field may show)."""
        totp = _totp(self)
        return [totp.at(now, counter_offset=offset) for offset in (-2, -1, 0, 1)]


@dataclass(frozen=True)
class Place:
    """Where typed text goes now: a site (host of the focused page or frame) or an app."""

    site: str | None = None
    app: str | None = None

    def __str__(self) -> str:
        return self.site or self.app or "a screen that does not say which site or app is in front"


class Secrets:
    """The secrets of a run: what the model may name, what gets typed, what is redacted.

    Raises ``ConfigError`` for a name given twice or an empty value.
    """

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        self._by_name: dict[str, Secret] = {}
        for secret in secrets:
            if secret.name in self._by_name:
                raise ConfigError(f"the secret {secret.name} is given twice; keep one")
            if not secret.value.get_secret_value():
                raise ConfigError(f"the secret {secret.name} is empty; give it a value")
            self._by_name[secret.name] = secret
        self._codes: set[str] = set()  # TOTP codes typed so far (redacted like values)
        self.typed_any = False  # a secret has been typed: its field may now show on screen

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> "Secrets":
        """``{"NAME": value, "NAME@example.com": value}``, as the Python API takes them."""
        return cls(secret_from(key, value, f"secrets[{key!r}]") for key, value in mapping.items())

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:  # names only, whatever prints it
        return f"Secrets({', '.join(self._by_name)})"

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    @property
    def infos(self) -> list[SecretInfo]:
        return [s.info for s in self._by_name.values()]

    def uses(self, text: str) -> list[str]:
        """The secret names ``text`` mentions as placeholders."""
        return PLACEHOLDER.findall(text)

    def reveal(self, text: str, place: Place) -> str:
        """``text`` with each placeholder replaced by what it types, for ``env.execute`` only.

        Raises:
            SecretRefusedError: an unknown name, or a secret bound elsewhere (shown to the model).
        """
        def value(match: re.Match[str]) -> str:
            secret = self._by_name.get(match.group(1))
            if secret is None:
                known = ", ".join(placeholder(n) for n in self._by_name) or "none"
                raise SecretRefusedError(f"there is no secret named {match.group(1)}; "
                                         f"the secrets you may type are: {known}")
            if secret.scopes and not _allowed(secret.scopes, place):
                raise SecretRefusedError(
                    f"{placeholder(secret.name)} may only be typed on "
                    f"{' or '.join(secret.scopes)}, and typing now goes to {place}; it was not "
                    "typed. Go to the right place first, or do the task without it")
            typed = secret.typed()
            if secret.totp:
                self._codes.add(typed)
            return typed

        revealed = PLACEHOLDER.sub(value, text)
        self.typed_any = self.typed_any or revealed != text
        return revealed

    def mask_values(self) -> list[tuple[str, str]]:
        """(name, text) pairs a screen may show once typed: values, and TOTP codes near now."""
        now = time.time()
        pairs: list[tuple[str, str]] = []
        for secret in self._by_name.values():
            if secret.totp:
                pairs += [(secret.name, code) for code in secret.codes_near(now)]
            else:
                pairs.append((secret.name, secret.value.get_secret_value()))
        return pairs

    def redact(self, text: str) -> str:
        """``text`` with every value, URL-encoded value and typed code replaced by its placeholder."""
        if not self._by_name or not text:
            return text
        for forms, name in self._forms():
            for form in forms:
                if form and form in text:
                    text = text.replace(form, placeholder(name))
        return text

    def _forms(self) -> list[tuple[list[str], str]]:
        found: list[tuple[list[str], str]] = []
        for secret in self._by_name.values():
            raw = [secret.value.get_secret_value()]
            if secret.totp:
                raw += sorted(self._codes)
            forms = []
            for value in raw:
                forms += [value, quote(value, safe=""), quote_plus(value)]
            found.append((sorted(set(forms), key=len, reverse=True), secret.name))
        return sorted(found, key=lambda item: -max(len(f) for f in item[0]))


def prompt_line(infos: Iterable[SecretInfo]) -> str | None:
    """The one line of the user turn that tells the model which placeholders it may type."""
    items = []
    for info in infos:
        item = placeholder(info.name)
        notes = []
        if info.totp:
            notes.append("the current one-time code")
        if info.scopes:
            notes.append("only on " + " or ".join(info.scopes))
        items.append(item + (f" ({'; '.join(notes)})" if notes else ""))
    if not items:
        return None
    return ("Secrets you may type by writing their placeholder exactly (the value is typed for "
            "you and never shown to you): " + ", ".join(items) + ".")


def model_goal(goal: str, infos: Iterable[SecretInfo]) -> str:
    """The goal as the model is given it: the user's goal and, if any, the secrets line."""
    line = prompt_line(infos)
    return f"{goal}\n{line}" if line else goal


# -- where secrets come from ---------------------------------------------------------------

def secret_from(key: str, value: str, where: str) -> Secret:
    """A ``Secret`` from ``NAME[@place,...]`` and its value; ``where`` names the source."""
    match = _KEY.match(key.strip())
    if match is None:
        raise ConfigError(f"{where}: {key!r} is not a secret name; write NAME or NAME@example.com "
                          "(letters, digits and _, not starting with a digit)")
    name, scopes_text = match.groups()
    scopes = tuple(_scope(s, where) for s in (scopes_text or "").split(",") if s.strip())
    totp = name.upper().endswith(_TOTP_SUFFIX) or value.startswith("otpauth://")
    secret = Secret(name=name, value=SecretStr(value), scopes=scopes, totp=totp)
    if totp:
        try:
            secret.typed()
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise ConfigError(f"{where}: {name} is a TOTP secret (its name ends in _TOTP or its "
                              "value is an otpauth:// URI) but its value is not a base32 seed "
                              "or an otpauth://totp/ URI") from None
    return secret


def parse_secret_option(item: str, environ: Mapping[str, str] | None = None) -> Secret:
    """``--secret NAME=VALUE`` or ``--secret NAME`` (the value from ``QVL_SECRET_NAME``)."""
    environ = os.environ if environ is None else environ
    key, sep, value = item.partition("=")
    if sep:
        return secret_from(key, value, f"--secret {key.strip()}")
    match = _KEY.match(key.strip())
    if match is None:
        return secret_from(key, "", f"--secret {key.strip()}")  # raises the naming error
    variable = ENV_PREFIX + match.group(1)
    if variable not in environ:
        raise ConfigError(f"--secret {key.strip()}: the environment variable {variable} is not "
                          f"set; export it, or write --secret {key.strip()}=VALUE")
    return secret_from(key, environ[variable], f"--secret {key.strip()} (from {variable})")


def load_secrets_file(path: str | Path) -> list[Secret]:
    """The secrets of a dotenv file (``NAME=value`` lines, ``#`` comments, quotes, ``export``).

    Values are taken literally (no ``${}`` expansion). Refuses a file that anyone but its
    owner may read or write, as ssh refuses such a key.
    """
    from dotenv.parser import parse_stream

    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--secrets-file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--secrets-file {path}: cannot read it ({exc.__class__.__name__})") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"--secrets-file {path}: others may read it (mode "
                          f"{stat.filemode(mode)}); run `chmod 600 {path}`")
    secrets = []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise ConfigError(f"{path}:{line}: not a NAME=value line")
        if binding.key is None:
            continue  # a blank line or a comment
        if binding.value is None:
            raise ConfigError(f"{path}:{line}: {binding.key} has no value; write "
                              f"{binding.key}=VALUE")
        secrets.append(secret_from(binding.key, binding.value, f"{path}:{line}"))
    return secrets


def _scope(text: str, where: str) -> str:
    """``example.com``, ``*.example.com``, ``https://example.com/`` -> ``example.com``."""
    scope = text.strip().lower()
    scope = re.sub(r"^[a-z][a-z0-9+.-]*://", "", scope).split("/")[0]
    scope = scope.removeprefix("*.").lstrip(".")
    scope = scope.rsplit(":", 1)[0] if re.search(r":\d+$", scope) else scope
    if not scope or not re.fullmatch(r"[a-z0-9_.\-\[\]:]+", scope):
        raise ConfigError(f"{where}: {text!r} is not a site (example.com) or an Android package "
                          "(com.example.app)")
    return scope


def _allowed(scopes: tuple[str, ...], place: Place) -> bool:
    site = (place.site or "").lower()
    for scope in scopes:
        if site and (site == scope or site.endswith("." + scope)):
            return True
        if place.app and place.app.lower() == scope:
            return True
    return False


class _SiteTOTP(pyotp.TOTP):
    # Sites issue 80-bit seeds (16 base32 characters) as often as longer ones, and pyotp
    # refuses those by default; the code the site expects is what matters, so its seed is
    # taken as it is.
    min_secret_length_bits = 80


_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def _totp(secret: Secret) -> pyotp.TOTP:
    """The secret's TOTP generator: a base32 seed, or an ``otpauth://totp/`` URI's settings."""
    value = secret.value.get_secret_value()
    if not value.startswith("otpauth://"):
        return _SiteTOTP(value.replace(" ", "").upper())
    parts = urlsplit(value)
    if parts.netloc.lower() != "totp":
        raise ValueError("only otpauth://totp/ URIs are time-based codes")
    query = dict(parse_qsl(parts.query))
    return _SiteTOTP(query["secret"].replace(" ", "").upper(), digits=int(query.get("digits", 6)),
                     interval=int(query.get("period", 30)),
                     digest=_DIGESTS[query.get("algorithm", "SHA1").upper()])
