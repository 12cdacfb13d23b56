"""ServerThread.call: one calling convention for plain callables and coroutine functions."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from jupyterspot_magic.server.thread import ServerThread, ServerTimeout


@pytest.fixture(scope="module")
def thread() -> Iterator[ServerThread]:
    srv = ServerThread().start()
    yield srv
    srv.stop()


async def double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


def test_plain_callables_and_coroutines_run_on_the_server_thread(thread: ServerThread) -> None:
    assert thread.call(threading.current_thread).name == "jupyterspot-server"
    assert thread.call(max, 3, 7) == 7  # a plain function with arguments
    assert thread.call(double, 4) == 8  # a coroutine function: awaited on the loop
    assert thread.call(lambda: double(5)) == 10  # a callable returning a coroutine


def test_exceptions_reach_the_caller(thread: ServerThread) -> None:
    with pytest.raises(ZeroDivisionError):
        thread.call(lambda: 1 / 0)
    with pytest.raises(KeyError):
        thread.call({}.__getitem__, "x")


def test_no_answer_in_time_is_a_clear_timeout(thread: ServerThread) -> None:
    with pytest.raises(ServerTimeout, match="did not answer within 0.05 s") as info:
        thread.call(asyncio.sleep, 0.2, timeout=0.05)
    assert isinstance(info.value, TimeoutError)  # what callers caught before ServerTimeout
    time.sleep(0.25)  # the call keeps running on the server (it may only be busy): let it end


def test_call_later_from_another_thread(thread: ServerThread) -> None:
    ran = threading.Event()
    where: list[str] = []

    def mark() -> None:
        where.append(threading.current_thread().name)
        ran.set()

    t0 = time.monotonic()
    thread.call_later(0.05, mark)
    assert ran.wait(2) and time.monotonic() - t0 >= 0.04  # the loop may fire a tick early
    assert where == ["jupyterspot-server"]


def test_a_timeout_error_raised_by_fn_is_fns_own(thread: ServerThread) -> None:
    """Since Python 3.11 concurrent.futures.TimeoutError is the built-in one: an fn that raises
    it (a store that timed out) must not be reported as the server not answering."""

    def store_timed_out() -> None:
        raise TimeoutError("the store did not answer")

    with pytest.raises(TimeoutError, match="the store did not answer") as caught:
        thread.call(store_timed_out)
    assert not isinstance(caught.value, ServerTimeout)
