"""Write outputs atomically: into a temporary sibling first, renamed into place only on success."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target` (a file or a folder); move it onto `target` on success.

    On any exception the temporary file or folder is removed and `target` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staged = scratch / target.name
    try:
        yield staged
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(staged, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_json(target: str | os.PathLike, payload: object) -> None:
    """Write `payload` as indented JSON, atomically."""
    with atomic_path(target) as staged:
        staged.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def write_text(target: str | os.PathLike, text: str) -> None:
    """Write `text`, atomically."""
    with atomic_path(target) as staged:
        staged.write_text(text)
