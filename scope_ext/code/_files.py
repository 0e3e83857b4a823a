"""Which files of a root get indexed: ``*.py`` (or configured globs), minus ``.gitignore`` and
excluded globs, following symlinked folders once (a loop becomes an error entry, not a hang).

Only regular files are read (:func:`read_regular`): a FIFO, socket or device named ``x.py`` becomes
an error entry instead of a read that never returns, and a folder named ``x.py`` is a folder.
A file name that is not valid UTF-8 cannot be stored in the index; it is reported instead."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from typing import NamedTuple

import pathspec

DEFAULT_INCLUDE = ("*.py",)
DEFAULT_EXCLUDE = (".git/", "__pycache__/", ".venv/", "node_modules/", ".tox/", "*.egg-info/")


class Found(NamedTuple):
    """The files to index (absolute paths with size and mtime), folders skipped as loops, and
    files whose names are not valid UTF-8 (shown with their bytes escaped)."""

    files: dict[str, tuple[int, int]]
    loops: list[str]
    bad_names: list[str]


class NotRegular(OSError):
    """The path is not a regular file (a FIFO, socket, device or folder)."""


def read_regular(path: str) -> bytes:
    """The bytes of the regular file at ``path``; raises :class:`NotRegular` for anything else
    (opened without blocking, so a FIFO never hangs the reader) or OSError."""
    if not stat.S_ISREG(os.stat(path).st_mode):  # a socket cannot even be opened
        raise NotRegular(f"not a regular file: {path}")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(f"not a regular file: {path}")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read()
    finally:
        os.close(fd)


def storable(path: str) -> bool:
    """Whether ``path`` is valid UTF-8, as the index stores paths (os.walk escapes other bytes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_path(path: str) -> str:
    """``path`` as text that can be stored and shown (undecodable bytes escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


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
        """Whether the file at ``rel`` (relative, with ``/`` or ``os.sep``) is indexed: an include
        glob must match the file itself (``*.py`` matching a folder ``x.py/`` does not count)."""
        rel = rel.replace(os.sep, "/")
        return self._included(rel) and not self.exclude.match_file(rel)

    def _included(self, rel: str) -> bool:
        included = False
        for pattern in self.include.patterns:
            if pattern.include is None or pattern.regex is None:
                continue
            match = pattern.regex.match(rel)
            if match is not None and not match.groupdict().get("ps_d"):
                included = bool(pattern.include)  # the last matching pattern decides, as in gitignore
        return included

    def skips_dir(self, rel: str) -> bool:
        """Whether the folder at ``rel`` is left out entirely."""
        return self.exclude.match_file(rel.replace(os.sep, "/") + "/")


def discover(files: FileFilter) -> Found:
    """Walk the root; see the module docstring."""
    found: dict[str, tuple[int, int]] = {}
    loops: list[str] = []
    bad_names: list[str] = []
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
            if not storable(path):
                bad_names.append(display_path(path))
                continue
            try:
                info = os.stat(path)
            except OSError:
                found[path] = (-1, -1)  # broken link or unreadable: indexed as an error entry
                continue
            found[path] = _entry(info)
    return Found(found, loops, bad_names)


def stat_paths(paths: Iterable[str]) -> Found:
    """What :func:`discover` finds, for just ``paths`` (changes seen in watch mode): those that
    exist and are not folders."""
    found: dict[str, tuple[int, int]] = {}
    bad_names: list[str] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:  # gone: the run forgets it
            continue
        if stat.S_ISDIR(info.st_mode):
            continue
        if not storable(path):
            bad_names.append(display_path(path))
            continue
        found[path] = _entry(info)
    return Found(found, [], bad_names)


def _entry(info: os.stat_result) -> tuple[int, int]:
    """``(size, mtime_ns)`` of a regular file; anything else is an error entry (reading it says why)."""
    return (info.st_size, info.st_mtime_ns) if stat.S_ISREG(info.st_mode) else (-1, -1)
