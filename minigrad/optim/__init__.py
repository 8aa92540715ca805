"""Optimizers (``minigrad.optim``) and learning-rate schedules (``minigrad.optim.lr_scheduler``).

Every optimizer reproduces ``torch.optim``'s single-tensor (``foreach=False``) update,
operation by operation, so that float64 runs agree with PyTorch to rounding error.

``SparseAdam`` is not provided: minigrad has no sparse gradients (``Embedding`` always
produces a dense gradient), so there is nothing for it to update that ``Adam`` cannot.
"""

from minigrad.optim import lr_scheduler
from minigrad.optim.adadelta import Adadelta
from minigrad.optim.adagrad import Adagrad
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.adamax import Adamax
from minigrad.optim.lbfgs import LBFGS
from minigrad.optim.nadam import NAdam
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.radam import RAdam
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim.sgd import SGD

__all__ = [
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "lr_scheduler",
]
