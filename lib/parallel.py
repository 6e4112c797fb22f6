"""Work on two cores from one process: threads for numpy-heavy chunks, results in order.

numpy, pandas' hash tables and Arrow leave the interpreter free while they work on large
arrays, so two threads pricing or summing chunks of a national table keep both cores of
an RA workstation busy, without the start-up and copying costs of separate processes (and
without relying on fork, which Windows lacks).
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Callable, Iterable, Iterator, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_order(function: Callable[[Item], Result], items: Iterable[Item], threads: int = 2
                 ) -> Iterator[tuple[Item, Result]]:
    """``(item, function(item))`` for every item, in the order of ``items``, computed on
    ``threads`` threads with at most that many items in progress (so memory stays bounded
    by a few chunks; ``items`` may be a generator of chunks made on demand).

    >>> [result for _, result in map_in_order(lambda x: x * x, range(5))]
    [0, 1, 4, 9, 16]
    """
    items = iter(items)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending = deque((item, pool.submit(function, item)) for item in islice(items, threads))
        while pending:
            item, future = pending.popleft()
            result = future.result()
            following = next(items, _END)
            if following is not _END:
                pending.append((following, pool.submit(function, following)))
            yield item, result


_END = object()
