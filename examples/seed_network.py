"""The mission's training loop, in minigrad: the same code as the PyTorch original
with ``torch`` replaced by ``minigrad`` (and its missing ``F`` import added).

    python examples/seed_network.py
"""

from __future__ import annotations

import numpy as np

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
import minigrad.optim as optim
from minigrad.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(100, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: minigrad.Tensor) -> minigrad.Tensor:
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def main(epochs: int = 100) -> list[float]:
    minigrad.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((640, 100)).astype(np.float32)
    y = np.argmax(x @ rng.standard_normal((100, 10)), axis=1)  # a learnable rule
    train_loader = DataLoader(
        TensorDataset(minigrad.tensor(x), minigrad.tensor(y)), batch_size=64, shuffle=True
    )

    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01)

    epoch_losses = []
    for epoch in range(epochs):
        total = 0.0
        for inputs, labels in train_loader:
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        epoch_losses.append(total / len(train_loader))
        if epoch % 20 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:3d}  mean loss {epoch_losses[-1]:.4f}")
    return epoch_losses


if __name__ == "__main__":
    main()
