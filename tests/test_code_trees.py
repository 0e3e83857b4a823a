"""The parsed-tree cache: incremental re-parses give the same facts, within a byte budget."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import trio

import scope_ext as sx
from scope_ext import start_code_layer
from scope_ext.code import _extract_tree
from scope_ext.code._tree_cache import TreeCache

SOURCE = Path(sysconfig.get_paths()["stdlib"], "json", "decoder.py").read_bytes()


def edits(data: bytes, rng: random.Random, count: int):
    """A sequence of versions: text inserted, deleted and replaced at random places."""
    lines = data.splitlines(keepends=True)
    for i in range(count):
        at = rng.randrange(len(lines))
        choice = rng.choice(("insert", "delete", "replace"))
        if choice == "insert":
            lines.insert(at, f"def added_{i}(x):\n    return x if x else [y for y in x if y]\n".encode())
        elif choice == "delete" and len(lines) > 10:
            del lines[at]
        else:
            lines[at] = lines[at].replace(b"return", b"return  ")
        yield b"".join(lines)


def test_incremental_reparses_give_the_facts_of_a_fresh_parse():
    cache = TreeCache(64 * 1024 * 1024)
    fresh = _extract_tree.parser()
    cache.parse("decoder.py", SOURCE)
    for version in edits(SOURCE, random.Random(7), 40):
        ours = cache.parse("decoder.py", version)
        assert _extract_tree.extract(ours) == _extract_tree.extract(fresh.parse(version))
        assert str(ours.root_node) == str(fresh.parse(version).root_node)
    assert (cache.hits, cache.misses) == (40, 1)


def test_the_byte_budget_and_memory_pressure_drop_least_recently_used_trees():
    one = TreeCache(1 << 30)
    one.parse("a.py", SOURCE)
    size = one.memory_bytes()
    assert size > len(SOURCE)
    cache = TreeCache(int(size * 2.5))
    for name in ("a.py", "b.py", "c.py"):
        cache.parse(name, SOURCE)
    assert len(cache) == 2 and cache.memory_bytes() <= cache.max_bytes
    cache.parse("b.py", SOURCE)  # a hit: incremental, and b is now the most recent
    assert cache.hits == 1
    assert cache.shrink(0.5) == 1 and len(cache) == 1
    cache.parse("b.py", SOURCE + b"\nx = 1\n")
    assert cache.hits == 2  # b survived: c was the least recently used
    cache.forget("b.py")
    assert len(cache) == 0 and cache.memory_bytes() == 0
    assert TreeCache(10).parse("big.py", SOURCE) is not None  # too big to keep, parsed all the same


def test_saved_edits_reparse_through_the_cache_the_memory_manager_sees(tmp_path):
    path = tmp_path / "mod.py"
    path.write_bytes(SOURCE)

    async def main(rt):
        found = await sx.start_foundation(rt.production)
        code = await start_code_layer(rt.production, tmp_path, watch=True)
        assert found.caches["code.trees"] is code.trees
        await (await code.index()).wait()  # the full run goes through the worker pool
        assert len(code.trees) == 0
        await trio.sleep(0.2)
        for i, version in enumerate(edits(SOURCE, random.Random(3), 3)):
            path.write_bytes(version + f"\ndef saved_{i}():\n    pass\n".encode())
            with trio.fail_after(10):
                while not await code.sql("SELECT 1 FROM functions WHERE name = ?", [f"saved_{i}"]):
                    await trio.sleep(0.02)
        assert code.trees.misses == 1 and code.trees.hits >= 2

    sx.run(main)
