"""Small services the tests share."""

from __future__ import annotations

from typing import Any

import trio

import scope_ext as sx


def with_foundation(main: Any, **overrides: Any) -> Any:
    """``sx.run`` ``main(rt, foundation)`` with a Foundation started on production with ``overrides``."""

    async def wrapper(rt: sx.Runtime) -> Any:
        f = await sx.start_foundation(rt.production, overrides=overrides)
        return await main(rt, f)

    return sx.run(wrapper)


class Echo(sx.Service):
    """Replies with what it got; records casts and infos; can crash, stop and defer on request."""

    def init(self, tag: Any = None, log: list | None = None) -> None:
        self.tag = tag
        self.log = log if log is not None else []
        self.casts: list[Any] = []
        self.infos: list[Any] = []
        self.parked: list[sx.Caller] = []
        self.log.append(("init", tag))

    def handle_call(self, request: Any, caller: sx.Caller) -> Any:
        match request:
            case "crash":
                raise ValueError(f"crash requested in {self.tag}")
            case ("stop", reason):
                self.stop(reason)
                return "stopping"
            case "park":
                self.parked.append(caller)
                return sx.NOREPLY
            case ("release", value):
                for parked in self.parked:
                    parked.reply(value)
                self.parked.clear()
                return "released"
            case "state":
                return {"tag": self.tag, "casts": list(self.casts), "infos": list(self.infos)}
            case _:
                return request

    def handle_cast(self, message: Any) -> None:
        if message == "crash":
            raise ValueError(f"crash requested in {self.tag}")
        if isinstance(message, tuple) and message and message[0] == "stop":
            self.stop(message[1])
            return
        self.casts.append(message)

    def handle_info(self, message: Any) -> None:
        self.infos.append(message)

    def terminate(self, reason: Any) -> None:
        self.log.append(("terminate", self.tag, reason if isinstance(reason, str) else type(reason).__name__))


class AsyncEcho(Echo):
    """The same with async handlers (they may await)."""

    async def handle_call(self, request: Any, caller: sx.Caller) -> Any:
        await trio.sleep(0)
        return Echo.handle_call(self, request, caller)

    async def handle_cast(self, message: Any) -> None:
        await trio.sleep(0)
        Echo.handle_cast(self, message)


class Slow(sx.Service):
    """Takes ``delay`` seconds per cast; a tiny mailbox to make it full."""

    mailbox_capacity = 4

    def init(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.seen = 0

    async def handle_cast(self, message: Any) -> None:
        await trio.sleep(self.delay)
        self.seen += 1

    def handle_call(self, request: Any, caller: sx.Caller) -> Any:
        return self.seen


class Refusing(Slow):
    mailbox_policy = "refuse"


class FailsInit(sx.Service):
    def init(self, log: list | None = None) -> None:
        if log is not None:
            log.append(("init", "bad"))
        raise RuntimeError("cannot start")


class Lingering(sx.Service):
    """Its terminate takes ``linger`` seconds (to test shutdown timeouts)."""

    def init(self, linger: float, log: list) -> None:
        self.linger = linger
        self.log = log

    async def terminate(self, reason: Any) -> None:
        self.log.append("terminate-start")
        await trio.sleep(self.linger)
        self.log.append("terminate-end")
