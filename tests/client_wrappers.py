"""Test-only ClientApp wrapper: pass every message to the real app, intercept train messages."""

from __future__ import annotations

from collections.abc import Callable

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

TrainHandler = Callable[[ClientApp, Message, Context], Message]


def intercept_train(app: ClientApp, on_train: TrainHandler) -> ClientApp:
    """A ClientApp that answers queries and evaluation with `app`, and train with `on_train`."""
    return intercept(app, on_train=on_train)


def intercept_evaluate(app: ClientApp, on_evaluate: TrainHandler) -> ClientApp:
    """A ClientApp that answers everything with `app` except evaluation (`on_evaluate`)."""
    return intercept(app, on_evaluate=on_evaluate)


def intercept(app: ClientApp, on_train: TrainHandler | None = None,
              on_evaluate: TrainHandler | None = None,
              on_histograms: TrainHandler | None = None) -> ClientApp:
    """A ClientApp passing every message to `app`, train / evaluate / the histograms query
    through the handlers given.

    `on_train(app, msg, context)` usually calls `app(msg, context)` and inspects or spoils the
    reply, so tests drive the real ClientApp code path with one site misbehaving.
    """
    wrapper = ClientApp()

    @wrapper.query("summary")
    def summary(msg: Message, context: Context) -> Message:
        return app(msg, context)

    @wrapper.query("histograms")
    def histograms(msg: Message, context: Context) -> Message:
        return on_histograms(app, msg, context) if on_histograms else app(msg, context)

    @wrapper.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        return on_evaluate(app, msg, context) if on_evaluate else app(msg, context)

    @wrapper.train()
    def train(msg: Message, context: Context) -> Message:
        return on_train(app, msg, context) if on_train else app(msg, context)

    return wrapper
