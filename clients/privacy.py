"""Client side of `privacy=dp`: Flower's `fixedclipping_mod` on train replies that carry arrays.

The server (strategy.privacy.DPChurnFedAvg) puts Flower's `clipping_norm` key into the train
config; this mod then clips the site's update delta (reply arrays minus the global arrays it
received) to that L2 norm with Flower's own `fixedclipping_mod`. Without the key the message
passes untouched. A declined reply (no arrays) also passes untouched: Flower's mod would turn
it into an error reply and the server would lose the site's reason.
"""

from __future__ import annotations

from flwr.app import ConfigRecord, Context, Message
from flwr.clientapp.mod import fixedclipping_mod
from flwr.clientapp.typing import ClientAppCallable, Mod
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM

from churn import protocol as P


def dp_clipping_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Clip the update delta to the server's `clipping_norm` (if it sent one)."""
    config = msg.content.get(P.CONFIG)
    if not isinstance(config, ConfigRecord) or KEY_CLIPPING_NORM not in config:
        return call_next(msg, context)
    reply = call_next(msg, context)
    if reply.has_error() or len(reply.content.array_records) == 0:
        return reply
    return fixedclipping_mod(msg, context, lambda _msg, _context: reply)


def train_mods() -> list[Mod]:
    """Mods of the ClientApp's train handler, outermost first: secure-aggregation masking
    (clients.secure, which must see the clipped update) around DP clipping."""
    from clients.secure import secure_aggregation_mod

    return [secure_aggregation_mod, dp_clipping_mod]
