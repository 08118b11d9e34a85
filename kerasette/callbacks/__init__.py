"""Callbacks: watch and steer `fit`, `evaluate` and `predict` (Keras 3 names and hooks).

    model.fit(x, y, epochs=100, validation_split=0.2,
              callbacks=[ks.callbacks.EarlyStopping(patience=10, restore_best_weights=True),
                         ks.callbacks.CSVLogger("train.csv")])

Write your own by subclassing `Callback`; see its docstring for the hooks, the logs, and how a
batch hook nobody overrides costs nothing per batch.
"""

from .backup_and_restore import BackupAndRestore
from .callback import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .gradient_monitor import GradientMonitor
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .mlflow_logger import MLflowLogger
from .model_checkpoint import ModelCheckpoint
from .progbar_logger import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
    "GradientMonitor", "LambdaCallback", "LearningRateScheduler", "MLflowLogger", "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
