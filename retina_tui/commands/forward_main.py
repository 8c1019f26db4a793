"""The running half of `retina-tui forward`: connect, listen, tell each connection, stop.

Nothing is created in the cluster, so every way out only closes local sockets and streams.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from typing import TYPE_CHECKING

from retina_tui.errors import RetinaTuiError

if TYPE_CHECKING:
    from retina_tui.kube.overrides import ConnectionOverrides
    from retina_tui.sessions.forward import ForwardTarget, PortPair


def say(text: str) -> None:
    sys.stderr.write(f"retina-tui: {text}\n")
    sys.stderr.flush()


def tell(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


async def run_forward(
    target: ForwardTarget,
    pairs: list[PortPair],
    addresses: tuple[str, ...],
    *,
    namespace_given: bool,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
) -> int:
    from retina_tui.commands.lifecycle import Interrupts
    from retina_tui.kube.client import connect
    from retina_tui.sessions.forward import Forward

    with Interrupts() as interrupts:
        try:
            client = await connect(
                kubeconfig=kubeconfig, context=context, namespace=None, overrides=overrides
            )
            try:
                if not namespace_given:
                    target = dataclasses.replace(target, namespace=client.namespace)
                forward = Forward(
                    client, target, pairs, addresses=addresses, say=tell, on_problem=say
                )
                async with forward:
                    for listener in forward.listeners:
                        where = f"{listener.address}:{listener.local}"
                        tell(f"Forwarding from {where} -> {listener.remote}")
                    await asyncio.Event().wait()
            finally:
                await client.close()
        except asyncio.CancelledError:
            if not interrupts.received:
                raise
            return interrupts.exit_code
        except RetinaTuiError as error:
            say(str(error))
            return error.exit_code
    raise AssertionError("unreachable")  # pragma: no cover
