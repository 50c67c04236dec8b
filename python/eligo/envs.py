"""Environments of reward-based training, from Python: the engine's own CartPole-v1 and its
population-coding encoder (docs/envs.md).

:class:`CartPole` is the environment ``eligo train --task cartpole --reward`` drives: Gymnasium's
``CartPole-v1`` dynamics, termination, reward and 500-step time limit, computed in float64 in
Gymnasium's order of operations, so from the same state and actions both give the same
observations bit for bit (``python/tests/test_envs.py`` checks it against Gymnasium)::

    import gymnasium, eligo
    gym = gymnasium.make("CartPole-v1")
    gym.reset(seed=0)
    env = eligo.envs.CartPole(seed=0)
    env.state = gym.unwrapped.state
    obs, reward, terminated, truncated = env.step(1)

Its initial states (:meth:`CartPole.reset`) come from Eligo's seeded generator, a pure function
of (seed, episode), not from Gymnasium's NumPy generator.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from . import _eligo
from ._eligo import CartPole

__all__ = ["CartPole", "encode", "rates"]


def encode(
    values: Sequence[float],
    ranges: Sequence[Tuple[float, float]],
    *,
    neurons: int = 10,
    rate_hz: float = 200.0,
    dt_ms: float = 1.0,
    steps: int = 1,
    seed: int = 0,
    episode: int = 0,
    agent_step: int = 0,
) -> Tuple[np.ndarray, np.ndarray]:
    """Spikes of ``steps`` network steps coding ``values`` (one per range) by population coding.

    Dimension ``d`` has ``neurons`` inputs (``d * neurons + i``) with Gaussian tuning curves,
    centres evenly spaced over ``ranges[d] = (lo, hi)`` and width the spacing; rate
    ``rate_hz * exp(-(x - c)^2 / (2 sigma^2))`` with ``x`` clamped to the range (:func:`rates`).
    Each input spikes in each step with probability ``rate * dt`` from a generator that is a
    pure function of (``seed``, ``episode``, ``agent_step``). Returns ``(step, input)`` arrays
    (uint64, uint32), ascending by step then input.
    """
    return _eligo.encode(
        [float(v) for v in values],
        [(float(lo), float(hi)) for lo, hi in ranges],
        neurons=neurons,
        rate_hz=rate_hz,
        dt_ms=dt_ms,
        steps=steps,
        seed=seed,
        episode=episode,
        agent_step=agent_step,
    )


def rates(
    values: Sequence[float],
    ranges: Sequence[Tuple[float, float]],
    *,
    neurons: int = 10,
    rate_hz: float = 200.0,
) -> np.ndarray:
    """The rates (Hz, float64) of every input of :func:`encode` for ``values``."""
    return _eligo.rates(
        [float(v) for v in values],
        [(float(lo), float(hi)) for lo, hi in ranges],
        neurons=neurons,
        rate_hz=rate_hz,
    )
