"""Sockets that belong to another network namespace, for servers run by the sandbox process.

A socket lives in the namespace of the thread that created it, whatever thread uses it
later. So a dedicated thread enters the namespace with setns(2) (Python 3.11 has no
`os.setns`: libc's, through ctypes), creates and binds the sockets, switches back and ends;
the event loop then serves them. Only that short-lived thread ever changes namespace.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
from collections.abc import Callable
from typing import Final, TypeVar

CLONE_NEWNET: Final = 0x40000000
NETNS_DIR: Final = "/run/netns"

_T = TypeVar("_T")


def _setns(fd: int) -> None:
    native = getattr(os, "setns", None)
    if native is not None:
        native(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def _bind(ip: str, port: int) -> tuple[socket.socket, socket.socket]:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind((ip, port))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((ip, port))
        tcp.listen(128)
        udp.setblocking(False)
        tcp.setblocking(False)
    except BaseException:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


def _in_namespace(netns: str, make: Callable[[], _T]) -> _T:
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            return make()
        finally:
            _setns(own)  # if this fails the thread still ends, taking the namespace with it
    finally:
        os.close(own)


async def _made_in(
    netns: str, make: Callable[[], _T], discard: Callable[[_T], None], what: str
) -> _T:
    """`make()` run by a short-lived thread inside `netns`; `discard` undoes a result that
    arrives after the awaiting coroutine was cancelled."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[_T] = loop.create_future()

    def settle(result: _T | None, error: BaseException | None) -> None:
        if error is not None or result is None:
            if not done.cancelled():
                done.set_exception(error or OSError("no socket"))
        elif done.cancelled():
            discard(result)
        else:
            done.set_result(result)

    def run() -> None:
        try:
            result = _in_namespace(netns, make)
        except BaseException as error:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name=f"sandbox-netns-{what}-{netns}", daemon=True).start()
    return await done


def _close_all(sockets: tuple[socket.socket, ...]) -> None:
    for sock in sockets:
        sock.close()


async def bind_udp_tcp(netns: str, ip: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP socket and a listening TCP socket on `ip:port` inside namespace `netns`."""
    return await _made_in(netns, lambda: _bind(ip, port), _close_all, "bind")


def _stream_socket(family: socket.AddressFamily) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    return sock


async def stream_socket(netns: str | None, family: socket.AddressFamily) -> socket.socket:
    """A non-blocking TCP socket of namespace `netns` (this process's own when None), for
    the event loop to connect: its connections go out of that namespace."""
    if netns is None:
        return _stream_socket(family)
    return await _made_in(netns, lambda: _stream_socket(family), socket.socket.close, "socket")
