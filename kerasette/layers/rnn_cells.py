"""Keras's `RNN(cell)` spelling for the built-in cells: `RNN(LSTMCell(64))` is `LSTM(64)`."""

from .recurrent import GRU, LSTM, SimpleRNN


class _Cell:
    """The arguments of one step of a built-in layer (Keras's `LSTMCell(units, ...)`), for
    `RNN(cell)`: they are checked when `RNN` makes the layer."""

    layer_class = None

    def __init__(self, units, **kwargs):
        self.units, self.kwargs = units, kwargs

    def __repr__(self):
        return f"{type(self).__name__}({self.units})"


class SimpleRNNCell(_Cell):
    layer_class = SimpleRNN


class LSTMCell(_Cell):
    layer_class = LSTM


class GRUCell(_Cell):
    layer_class = GRU


class RNN:
    """`RNN(cell, return_sequences=..., ...)` with a built-in cell is that cell's layer:
    `RNN(LSTMCell(64))` makes `LSTM(64)`. A cell of your own (a class with `call(inputs, states)`)
    would need its step differentiated for you: kerasette writes each backward by hand, so it is
    refused with a TypeError; write the loop in a layer's `call` (a traced graph) instead."""

    def __new__(cls, cell, return_sequences=False, return_state=False, go_backwards=False,
                stateful=False, unroll=False, **kwargs):
        if not isinstance(cell, _Cell):
            raise TypeError(f"Invalid cell: kerasette's RNN takes SimpleRNNCell, LSTMCell or "
                            f"GRUCell (each backward is written by hand), received "
                            f"{type(cell).__name__}; for a cell of your own, loop over the steps "
                            f"in a custom layer's call() with ks.ops")
        return cell.layer_class(cell.units, **cell.kwargs, return_sequences=return_sequences,
                                return_state=return_state, go_backwards=go_backwards,
                                stateful=stateful, **kwargs)
