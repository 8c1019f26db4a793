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
from typing import Final

CLONE_NEWNET: Final = 0x40000000
NETNS_DIR: Final = "/run/netns"


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


def _in_namespace(netns: str, ip: str, port: int) -> tuple[socket.socket, socket.socket]:
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            return _bind(ip, port)
        finally:
            _setns(own)  # if this fails the thread still ends, taking the namespace with it
    finally:
        os.close(own)


async def bind_udp_tcp(netns: str, ip: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP socket and a listening TCP socket on `ip:port` inside namespace `netns`."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[socket.socket, socket.socket]] = loop.create_future()

    def settle(
        result: tuple[socket.socket, socket.socket] | None, error: BaseException | None
    ) -> None:
        if result is None:
            if not done.cancelled():
                done.set_exception(error or OSError("no socket"))
        elif done.cancelled():
            for sock in result:
                sock.close()
        else:
            done.set_result(result)

    def run() -> None:
        try:
            result = _in_namespace(netns, ip, port)
        except BaseException as error:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name=f"sandbox-netns-bind-{netns}", daemon=True).start()
    return await done
