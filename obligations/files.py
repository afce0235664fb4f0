"""Reading the rule files: their errors name the file, the line and the reason, in one line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any


class CatalogError(ValueError):
    """A rule file that cannot be used: `str()` is one line naming the file, line and reason."""

    def __init__(self, path: Path | str, line: int | None, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """Return a TOML file's text and data; CatalogError names the file (and line) when it is not UTF-8 or not TOML."""
    try:
        text = path.read_bytes().decode("utf-8-sig")     # Windows Notepad saves UTF-8 with a byte-order mark
    except UnicodeDecodeError as exc:
        raise CatalogError(path, None, f"不是 UTF-8 编码（第{exc.start + 1}个字节 0x{exc.object[exc.start]:02X}）：请另存为 UTF-8") from exc
    except FileNotFoundError as exc:
        raise CatalogError(path, None, "文件不存在（规则目录不全：请从本软件的 data 目录复制）") from exc
    except IsADirectoryError as exc:
        raise CatalogError(path, None, "是文件夹，不是文件") from exc
    except OSError as exc:
        raise CatalogError(path, None, f"无法读取文件（{exc.strerror or type(exc).__name__}）") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's reasons are English: the line and column are what a reader needs.
        m = re.search(r"line (\d+), column (\d+)", str(exc))
        raise CatalogError(path, int(m.group(1)) if m else None,
                           f"TOML 语法错误（第{m.group(2)}列附近）" if m else "TOML 语法错误") from exc


def line_of_key(text: str, key: str) -> int | None:
    """Return the 1-based line where the top-level `key` is set, if any."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    return next((i + 1 for i, line in enumerate(text.splitlines()) if pattern.match(line)), None)


def line_in_table(text: str, header: str | None, key: str | None, index: int = 0) -> int | None:
    """Return the 1-based line of `key` in the `index`-th table headed `header` ("[smtp]", "[[recipient]]"), or of the header itself.

    Without `header`, among the top-level keys. None when there is no such table.
    """
    lines = text.splitlines()
    if header is None:
        lo = -1
    else:
        starts = [i for i, line in enumerate(lines) if line.strip() == header]
        if index >= len(starts):
            return None
        lo = starts[index]
    hi = next((i for i in range(lo + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    if key is not None:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        found = next((i for i in range(lo + 1, hi) if pattern.match(lines[i])), None)
        if found is not None:
            return found + 1
    return lo + 1 if header is not None else None
