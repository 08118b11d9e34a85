"""Keras's `RNN(cell)`: with a built-in cell it is that cell's layer (`RNN(LSTMCell(64))` is
`LSTM(64)`); with a cell of your own, a `CellRNN` that traces the cell's step (rnn_custom.py)."""

from .base import Layer
from .recurrent import LSTM, SimpleRNN
from .recurrent_gru import GRU
from .rnn_custom import CellRNN


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
    """`RNN(cell, return_sequences=..., ...)`: with a built-in cell, that cell's layer
    (`RNN(LSTMCell(64))` makes `LSTM(64)`); with a Layer of your own that defines
    `call(inputs, states)` and `state_size`, a `CellRNN` running its traced step (rnn_custom.py)."""

    def __new__(cls, cell, return_sequences=False, return_state=False, go_backwards=False,
                stateful=False, unroll=False, **kwargs):
        if isinstance(cell, _Cell):
            return cell.layer_class(cell.units, **cell.kwargs, return_sequences=return_sequences,
                                    return_state=return_state, go_backwards=go_backwards,
                                    stateful=stateful, **kwargs)
        if isinstance(cell, (list, tuple)):
            raise TypeError("Invalid cell: a list of cells (Keras's StackedRNNCells) is not "
                            "supported; stack RNN layers with return_sequences=True instead")
        if not isinstance(cell, Layer):
            raise TypeError(f"Invalid cell: expected SimpleRNNCell, LSTMCell, GRUCell or a Layer "
                            f"with call(inputs, states) and state_size, received "
                            f"{type(cell).__name__}")
        if stateful:
            raise ValueError("Invalid stateful: RNN with a cell of your own starts each batch "
                             "from zero states (stateful=False); SimpleRNN, LSTM and GRU take "
                             "stateful=True")
        return CellRNN(cell, return_sequences=return_sequences, return_state=return_state,
                       go_backwards=go_backwards, **kwargs)
