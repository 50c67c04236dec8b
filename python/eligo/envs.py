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

Its initial states are Gymnasium's too: :meth:`CartPole.reset` of episode ``e`` is Gymnasium's
``reset(seed=episode_seed(seed, e))`` (NumPy's ``SeedSequence`` and ``PCG64``, reproduced in the
engine), the seed :func:`eligo.train_agent` resets every Gymnasium environment with.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import numpy as np

from . import _eligo
from ._eligo import CartPole

__all__ = ["CARTPOLE_RANGES", "CartPole", "encode", "episode_seed", "rates"]

#: The engine's CartPole encoder ranges (x, x_dot, theta, theta_dot): ±2.4 m, ±1.5 m/s, ±12°,
#: ±2 rad/s (docs/envs.md). ``eligo.train_agent("CartPole-v1", ranges=CARTPOLE_RANGES)`` codes
#: Gymnasium's CartPole as ``eligo train --reward --task cartpole`` does.
CARTPOLE_RANGES = (
    (-2.4, 2.4),
    (-1.5, 1.5),
    (-12 * 2 * math.pi / 360, 12 * 2 * math.pi / 360),
    (-2.0, 2.0),
)


def episode_seed(seed: int, episode: int) -> int:
    """The seed Gymnasium's ``reset(seed=...)`` gets for episode ``episode`` of a closed-loop
    run seeded with ``seed`` (a pure function of the two, a 64-bit hash)."""
    return _eligo.episode_seed(seed, episode)


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
