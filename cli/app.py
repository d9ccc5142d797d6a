"""The typer application and what every command shares: ``--debug``, image reading.

Commands live in their own modules (``cli.run``, ``cli.eval``, ...) and register themselves on
``app`` when ``cli.main`` imports them; the model flags they share are declared once in
``cli.model_flags``. Nothing below ``cli`` imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qvl_agent.envs.errors import ConfigError

__all__ = ["app", "state", "read_image", "writable_folder"]

app = typer.Typer(
    name="qvl-agent",
    help="Let Qwen2.5-VL operate real screens: Android phones over adb, browsers, and desktops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

state = {"debug": False}


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    state["debug"] = debug


def read_image(path: Path):
    """An RGB picture from a file the user named, or one ``ConfigError`` line."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("RGB")
    except FileNotFoundError:
        raise ConfigError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ConfigError(f"cannot read {path} as an image ({exc.__class__.__name__}); "
                          "give a PNG or JPEG screenshot") from None


def writable_folder(path: Path, flag: str = "--out") -> Path:
    """``path`` if a folder can be written there, checked before anything starts; else one
    ``ConfigError`` line naming the folder. Folders made for the check are removed again."""
    import tempfile

    path = Path(path)
    made: list[Path] = []
    missing = path
    while not missing.exists() and missing.parent != missing:
        made.append(missing)
        missing = missing.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = (exc.strerror or exc.__class__.__name__).lower()
        raise ConfigError(f"cannot write to {flag} {path}: {reason}; give a folder you can "
                          "write to") from None
    finally:
        for folder in made:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break
    return path
