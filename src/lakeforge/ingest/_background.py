"""Run an iterator on a thread of its own, a bounded number of items ahead of its consumer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from queue import Full, Queue
from typing import TypeVar, cast

__all__ = ["in_background"]

T = TypeVar("T")


@dataclass
class _Raised:
    error: BaseException


_END = object()


def in_background(items: Iterator[T], *, depth: int = 2, name: str = "lakeforge") -> Iterator[T]:
    """``items``, produced by a thread at most ``depth`` ahead (errors re-raised here).

    Closing the returned generator stops the thread after the item it is producing, and
    closes ``items`` there (a generator holding a file lets it go).
    """
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:
            put(_Raised(exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        put(_END)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield cast(T, item)
    finally:
        stop.set()
        worker.join()
