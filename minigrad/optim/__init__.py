"""Optimizers (``minigrad.optim``) and learning-rate schedules (``minigrad.optim.lr_scheduler``).

Every optimizer reproduces ``torch.optim``'s single-tensor (``foreach=False``) update,
operation by operation, so that float64 runs agree with PyTorch to rounding error.
"""

from minigrad.optim import lr_scheduler
from minigrad.optim.adagrad import Adagrad
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
