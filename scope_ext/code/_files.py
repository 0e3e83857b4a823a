"""Which files of a root get indexed: ``*.py`` (or configured globs), minus ``.gitignore`` and
excluded globs, following symlinked folders once (a loop becomes an error entry, not a hang)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NamedTuple

import pathspec

DEFAULT_INCLUDE = ("*.py",)
DEFAULT_EXCLUDE = (".git/", "__pycache__/", ".venv/", "node_modules/", ".tox/", "*.egg-info/")


class Found(NamedTuple):
    """The files to index (absolute paths with size and mtime) and folders skipped as loops."""

    files: dict[str, tuple[int, int]]
    loops: list[str]


class FileFilter:
    """Decides, for paths relative to a root, whether they are indexed."""

    def __init__(
        self,
        root: str,
        include: Iterable[str] = DEFAULT_INCLUDE,
        exclude: Iterable[str] = DEFAULT_EXCLUDE,
        gitignore: bool = True,
    ) -> None:
        self.root = os.path.abspath(root)
        self._options = (tuple(include), tuple(exclude), gitignore)
        self.include = pathspec.GitIgnoreSpec.from_lines(include)
        lines = list(exclude)
        ignore_file = os.path.join(self.root, ".gitignore")
        if gitignore and os.path.isfile(ignore_file):
            with open(ignore_file, encoding="utf-8", errors="replace") as file:
                lines.extend(file.read().splitlines())
        self.exclude = pathspec.GitIgnoreSpec.from_lines(lines)

    def reloaded(self) -> FileFilter:
        """The same filter with ``.gitignore`` read again."""
        return FileFilter(self.root, *self._options)

    def wants(self, rel: str) -> bool:
        """Whether the file at ``rel`` (relative, with ``/`` or ``os.sep``) is indexed."""
        rel = rel.replace(os.sep, "/")
        return self.include.match_file(rel) and not self.exclude.match_file(rel)

    def skips_dir(self, rel: str) -> bool:
        """Whether the folder at ``rel`` is left out entirely."""
        return self.exclude.match_file(rel.replace(os.sep, "/") + "/")


def discover(files: FileFilter) -> Found:
    """Walk the root; see the module docstring."""
    found: dict[str, tuple[int, int]] = {}
    loops: list[str] = []
    seen: set[tuple[int, int]] = set()
    for folder, dirs, names in os.walk(files.root, followlinks=True):
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in seen:
            loops.append(folder)
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        rel_folder = os.path.relpath(folder, files.root)
        dirs[:] = sorted(d for d in dirs if not files.skips_dir(os.path.normpath(os.path.join(rel_folder, d))))
        for name in names:
            path = os.path.join(folder, name)
            if not files.wants(os.path.normpath(os.path.join(rel_folder, name))):
                continue
            try:
                stat = os.stat(path)
            except OSError:
                found[path] = (-1, -1)  # broken link or unreadable: indexed as an error entry
                continue
            found[path] = (stat.st_size, stat.st_mtime_ns)
    return Found(found, loops)
