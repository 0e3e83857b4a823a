"""A parser worker process: :func:`serve`, started by :class:`scope_ext.code._worker_pool.WorkerPool`.

Reads jobs from stdin and writes results to stdout, each an 8-byte big-endian length and a pickle:
a job is ``("index", root, [(path, module_id), ...], strict)`` (result: a list of
:class:`~scope_ext.code._repository.IndexedFile`) or
``("grep", pattern, paths)`` (result: the matches, see :func:`grep_files`) or ``("resolve", index,
out)`` (result: how many edges :func:`resolve_into` wrote to the file ``out``); an exception raised is
sent back instead of a result.
It imports only the parser's modules, never the user's code.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys
from collections.abc import Callable
from typing import Any

from scope_ext.code._grep import grep_files
from scope_ext.code._repository import index_files, resolve_into

JOBS: dict[str, Callable[..., object]] = {"index": index_files, "grep": grep_files, "resolve": resolve_into}


def run_job(job: tuple[Any, ...]) -> object:
    """Run one tagged job here: what a worker process, or a Dask worker, does with it."""
    kind, *args = job
    return JOBS[kind](*args)


_LENGTH = struct.Struct(">Q")


def serve() -> None:
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = source.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return  # the pool closed our stdin
        job = pickle.loads(source.read(_LENGTH.unpack(head)[0]))
        try:
            result: object = run_job(job)
        except Exception as exc:  # reported to the pool, which raises it in the caller
            result = exc
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = True  # no memo: results hold no cycles, and it halves the pickling time
        pickler.dump(result)
        payload = buffer.getvalue()
        sink.write(_LENGTH.pack(len(payload)) + payload)
        sink.flush()
