"""A public testing kit: a fault-injecting proxy and helpers around the local server.

::

    from responses_fast.testing import FaultProxy, ProxyFault, event, scripted_server

    async with scripted_server(script) as server, FaultProxy(server.port) as proxy:
        proxy.plan(ProxyFault.drop(before=event("response.output_item.done")))
        ...

See docs/reliability.md.
"""

from .fault_proxy import FaultProxy, FiredFault, ProxyFault, WireRequest, check_context, event
from .fixtures import CountingTools, item_log_problems, scripted_server

__all__ = [
    "CountingTools",
    "FaultProxy",
    "FiredFault",
    "ProxyFault",
    "WireRequest",
    "check_context",
    "event",
    "item_log_problems",
    "scripted_server",
]
