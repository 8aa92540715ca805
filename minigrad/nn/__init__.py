"""``minigrad.nn``: modules, parameters, initialisers and functional ops, with PyTorch's
names, so ``import minigrad.nn as nn`` reads like PyTorch code.

State-dict keys match PyTorch's for equivalent models, so weights move between the
two with ``load_state_dict``.
"""

from minigrad.nn import functional as functional
from minigrad.nn import init as init
from minigrad.nn import utils as utils
from minigrad.nn.modules import *  # noqa: F403  (Linear, Conv2d, Sequential, ...)
from minigrad.nn.modules.loss import *  # noqa: F403  (CrossEntropyLoss, MSELoss, ...)
from minigrad.nn.modules.module import Module as Module
from minigrad.nn.parameter import Parameter as Parameter
