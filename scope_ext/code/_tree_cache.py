"""Parsed trees of the files that change, kept so the next change re-parses incrementally.

The sync path indexes a few changed files in the kernel's process instead of the worker pool;
their tree-sitter trees stay here, by path, least recently used first, within a byte budget
(``code.cache.max_mb``). The memory manager sees the cache (``memory_bytes`` / ``shrink``), so
memory pressure empties it. The next edit of a cached file is one ``Tree.edit`` (the span where
old and new bytes differ) and an incremental parse.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import tree_sitter

from ._extract_tree import parser

#: Bytes a tree node takes, roughly (tree-sitter's subtrees, measured by RSS on the stdlib).
NODE_BYTES = 48


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix, by binary search over slice comparisons (memcmp)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _point(data: bytes, offset: int) -> tuple[int, int]:
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


class TreeCache:
    """Trees by path within ``max_bytes``; :meth:`parse` uses and refreshes them. Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, tuple[bytes, tree_sitter.Tree, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._parser = parser()

    def __len__(self) -> int:
        return len(self._entries)

    def parse(self, path: str, data: bytes) -> tree_sitter.Tree:
        """The tree of ``data``, the file at ``path`` now: incremental when its last tree is here."""
        with self._lock:
            old = self._entries.pop(path, None)
            if old is None:
                self.misses += 1
                tree = self._parser.parse(data)
            else:
                self._bytes -= old[2]
                self.hits += 1
                tree = self._reparse(old[0], old[1], data)
            size = len(data) + tree.root_node.descendant_count * NODE_BYTES
            if size <= self.max_bytes:
                self._entries[path] = (data, tree, size)
                self._bytes += size
                while self._bytes > self.max_bytes:
                    self._drop_oldest()
            return tree

    def _reparse(self, before: bytes, tree: tree_sitter.Tree, after: bytes) -> tree_sitter.Tree:
        start = _common_prefix(before, after)
        tail = _common_prefix(before[start:][::-1], after[start:][::-1])
        old_end, new_end = len(before) - tail, len(after) - tail
        tree.edit(
            start_byte=start,
            old_end_byte=old_end,
            new_end_byte=new_end,
            start_point=_point(before, start),
            old_end_point=_point(before, old_end),
            new_end_point=_point(after, new_end),
        )
        return self._parser.parse(after, tree)

    def _drop_oldest(self) -> None:
        _, (_, _, size) = self._entries.popitem(last=False)
        self._bytes -= size

    def forget(self, path: str) -> None:
        """Drop the tree of a deleted file."""
        with self._lock:
            found = self._entries.pop(path, None)
            if found is not None:
                self._bytes -= found[2]

    def memory_bytes(self) -> int:
        """Estimated bytes held (source plus tree nodes)."""
        return self._bytes

    def shrink(self, fraction: float) -> int:
        """Drop ``fraction`` of the trees, least recently used first; returns how many."""
        with self._lock:
            count = min(len(self._entries), max(1, int(len(self._entries) * fraction))) if self._entries else 0
            for _ in range(count):
                self._drop_oldest()
            return count
