"""Anomaly detection: a backward that produces NaN or inf raises, naming the op and
the line where its forward ran; outside ``detect_anomaly`` the NaN propagates, as in
PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad


def _nan_program(lib):  # type: ignore[no-untyped-def]
    x = lib.tensor([-1.0, 4.0], requires_grad=True)
    y = (x.sqrt() * 2).sum()  # sqrt(-1) = nan in forward; its backward gives nan too
    return x, y


def test_anomaly_names_the_function_and_the_forward_line() -> None:
    with minigrad.autograd.detect_anomaly(), np.errstate(invalid="ignore"):
        x, y = _nan_program(minigrad)
        with pytest.raises(RuntimeError, match="SqrtBackward") as info:
            y.backward()
    message = str(info.value)
    assert "nan" in message
    assert "test_anomaly.py" in message and "x.sqrt()" in message  # the creation stack


def test_without_anomaly_mode_nan_propagates_like_pytorch() -> None:
    with np.errstate(invalid="ignore"):
        x, y = _nan_program(minigrad)
        y.backward()
    xt, yt = _nan_program(torch)
    yt.backward()
    np.testing.assert_array_equal(np.isnan(x.grad.data), np.isnan(xt.grad.numpy()))


def test_anomaly_mode_lets_finite_backward_through() -> None:
    with minigrad.autograd.detect_anomaly():
        x = minigrad.tensor([1.0, 4.0], requires_grad=True)
        x.sqrt().sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 0.25])
    assert not minigrad.autograd.is_anomaly_enabled()
