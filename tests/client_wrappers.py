"""Test-only ClientApp wrapper: pass every message to the real app, intercept train messages."""

from __future__ import annotations

from collections.abc import Callable

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

TrainHandler = Callable[[ClientApp, Message, Context], Message]


def intercept_train(app: ClientApp, on_train: TrainHandler) -> ClientApp:
    """A ClientApp that answers queries and evaluation with `app`, and train with `on_train`.

    `on_train(app, msg, context)` usually calls `app(msg, context)` and inspects or spoils the
    reply, so tests drive the real ClientApp code path with one site misbehaving.
    """
    wrapper = ClientApp()

    @wrapper.query("summary")
    def summary(msg: Message, context: Context) -> Message:
        return app(msg, context)

    @wrapper.query("histograms")
    def histograms(msg: Message, context: Context) -> Message:
        return app(msg, context)

    @wrapper.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        return app(msg, context)

    @wrapper.train()
    def train(msg: Message, context: Context) -> Message:
        return on_train(app, msg, context)

    return wrapper
