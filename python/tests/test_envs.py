"""`eligo.envs`: the engine's CartPole-v1 against Gymnasium's own (same states, same actions,
the same observations bit for bit), and the population-coding encoder against its closed form."""

import math

import numpy as np
import pytest

import eligo
from eligo import envs


def bits32(a):
    return np.asarray(a, dtype=np.float32).view(np.uint32)


def bits64(a):
    return np.asarray(a, dtype=np.float64).view(np.uint64)


def balance(obs):
    """A hand-written controller that keeps the pole up: push where the pole leans."""
    x, xd, th, thd = (float(v) for v in obs)
    return int(th + 0.5 * thd + 0.01 * x + 0.1 * xd > 0.0)


def run_both(seed, policy, max_steps=1000):
    """Steps Gymnasium's CartPole-v1 and eligo's from Gymnasium's reset state with the
    actions `policy(step, gym_obs)`; asserts every step agrees; returns the steps and the
    last (terminated, truncated)."""
    gymnasium = pytest.importorskip("gymnasium")
    gym = gymnasium.make("CartPole-v1")
    gobs, _ = gym.reset(seed=seed)
    env = envs.CartPole(seed=seed)
    env.reset(0)
    env.state = gym.unwrapped.state
    assert np.array_equal(bits32(env.observation), bits32(gobs))
    for n in range(1, max_steps + 1):
        a = policy(n, gobs)
        gobs, grew, gterm, gtrunc, _ = gym.step(a)
        obs, rew, term, trunc = env.step(a)
        assert obs.dtype == np.float32 and obs.shape == (4,)
        assert np.array_equal(bits32(obs), bits32(gobs)), f"step {n}: {obs} vs {gobs}"
        assert np.array_equal(bits64(env.state), bits64(gym.unwrapped.state)), f"step {n}"
        assert (rew, term, trunc) == (grew, gterm, gtrunc), f"step {n}"
        assert env.elapsed == n
        if gterm or gtrunc:
            gym.close()
            return n, (gterm, gtrunc)
    raise AssertionError("no episode end")


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_cartpole_equals_gymnasium_until_termination(seed):
    actions = np.random.default_rng(100 + seed).integers(0, 2, size=1000)
    n, (term, trunc) = run_both(seed, lambda n, obs: int(actions[n - 1]))
    assert term and not trunc and n < 500


@pytest.mark.parametrize("seed", [5, 6])
def test_cartpole_equals_gymnasium_until_truncation(seed):
    n, (term, trunc) = run_both(seed, lambda n, obs: balance(obs))
    assert (n, term, trunc) == (500, False, True)


def test_cartpole_equals_gymnasium_after_termination():
    """Gymnasium pays 0 for steps after the terminating one (and warns); so does eligo."""
    gymnasium = pytest.importorskip("gymnasium")
    gym = gymnasium.make("CartPole-v1").unwrapped
    gym.reset(seed=0)
    env = envs.CartPole()
    state = np.array([2.39, 1.0, 0.1, 0.0])
    gym.state = state.copy()
    env.state = state
    with pytest.warns(UserWarning, match="already returned terminated"):
        for n in range(4):
            g = gym.step(1)[:4]
            e = env.step(1)
            assert np.array_equal(bits32(e[0]), bits32(g[0]))
            assert e[1:] == (g[1], g[2], False), f"step {n}"
    assert e[1] == 0.0 and e[2]


def test_cartpole_reset_and_errors():
    a, b = envs.CartPole(seed=3), envs.CartPole(seed=3)
    oa = a.reset(7)
    b.reset(2)
    ob = b.reset(7)
    assert oa.dtype == np.float32 and np.array_equal(bits32(oa), bits32(ob))
    assert np.all(np.abs(a.state) < 0.05)
    assert np.array_equal(bits32(a.state), bits32(oa))
    assert not np.array_equal(a.reset(8), oa)
    with pytest.raises(eligo.InputError, match="action"):
        a.step(2)
    with pytest.raises(eligo.InputError, match="state"):
        a.state = [0.0, 1.0]
    assert (a.inputs, a.agent_steps) == (40, 10)


@pytest.mark.parametrize("seed", [0, 1, 2**40 + 3])
def test_cartpole_reset_is_gymnasiums_reset_with_the_episode_seed(seed):
    """Episode e of the engine's CartPole starts where Gymnasium's CartPole-v1 starts after
    reset(seed=episode_seed(seed, e)), bit for bit (NumPy's SeedSequence and PCG64)."""
    gymnasium = pytest.importorskip("gymnasium")
    gym = gymnasium.make("CartPole-v1")
    env = envs.CartPole(seed=seed)
    seeds = set()
    for e in range(20):
        s = envs.episode_seed(seed, e)
        seeds.add(s)
        gobs, _ = gym.reset(seed=s)
        obs = env.reset(e)
        assert np.array_equal(bits64(env.state), bits64(gym.unwrapped.state)), (seed, e)
        assert np.array_equal(bits32(obs), bits32(gobs))
    assert len(seeds) == 20 and all(0 <= s < 2**64 for s in seeds)
    # and NumPy's generator itself, as gymnasium.utils.seeding.np_random builds it
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(envs.episode_seed(seed, 3))))
    env.reset(3)
    assert np.array_equal(bits64(rng.uniform(low=-0.05, high=0.05, size=(4,))), bits64(env.state))


def test_encode_rates_are_the_closed_form():
    ranges = [(-1.0, 1.0), (0.0, 9.0)]
    r = envs.rates([0.25, 3.7], ranges, neurons=10, rate_hz=150.0)
    want = []
    for x, (lo, hi) in zip([0.25, 3.7], ranges):
        s = (hi - lo) / 9
        want += [150.0 * math.exp(-((x - (lo + i * s)) ** 2) / (2 * s * s)) for i in range(10)]
    np.testing.assert_allclose(r, want, rtol=1e-12, atol=1e-300)
    # beyond the range: as its ends
    assert np.array_equal(envs.rates([5.0, -3.0], ranges), envs.rates([1.0, 0.0], ranges))


def test_encode_is_deterministic_and_matches_the_env():
    ranges = [(-2.4, 2.4), (-1.5, 1.5), (-12 * 2 * math.pi / 360, 12 * 2 * math.pi / 360), (-2.0, 2.0)]
    env = envs.CartPole(seed=4)
    obs = env.reset(1)
    t, i = env.encode()
    assert t.dtype == np.uint64 and i.dtype == np.uint32 and np.all(t < 10) and np.all(i < 40)
    # the env's encoder is the documented code, seeded by (seed, episode, agent step)
    t2, i2 = envs.encode(obs, ranges, steps=10, seed=4, episode=1, agent_step=0)
    assert np.array_equal(t, t2) and np.array_equal(i, i2)
    t3, i3 = envs.encode(obs, ranges, steps=10, seed=4, episode=1, agent_step=1)
    assert not (np.array_equal(t, t3) and np.array_equal(i, i3))
    with pytest.raises(eligo.InputError, match="ranges"):
        envs.encode([0.0], [(1.0, 1.0)])
    with pytest.raises(eligo.InputError, match="values"):
        envs.encode([0.0, 1.0], [(0.0, 1.0)])
