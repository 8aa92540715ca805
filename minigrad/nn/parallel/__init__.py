"""``minigrad.nn.parallel.DistributedDataParallel``, where PyTorch users look for it
(``torch.nn.parallel``); it lives in :mod:`minigrad.distributed`. Importing this
package does not import PyTorch."""

from minigrad.distributed.ddp import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
