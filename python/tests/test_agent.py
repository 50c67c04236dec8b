"""`eligo.train_agent`: closed-loop training from Python. Gymnasium's CartPole-v1 through the
Python wrapper against the CLI's run on the engine's CartPole (the same returns and weights bit
for bit), other Gymnasium environments, threads, resume, errors."""

import json
import os
import signal
import subprocess

import numpy as np
import pytest

import eligo

gymnasium = pytest.importorskip("gymnasium")

SETTINGS = dict(seed=2, iterations=3, batch=4, gamma=0.95, params={"c_v": 0.5, "c_entropy": 0.01})


def cartpole_gym():
    return gymnasium.make("CartPole-v1")


def read_npz(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def same_weights(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def test_gymnasium_cartpole_trains_as_the_cli_on_the_engines_cartpole(eligo_bin, tmp_path):
    """The strong agreement check: Gymnasium's CartPole-v1, reset with the episode seeds and
    coded with the engine's CartPole ranges, through the Python wrapper, gives the CLI's
    returns, episode lengths and trained weights bit for bit."""
    cli = tmp_path / "cli"
    subprocess.run(
        [str(eligo_bin), "train", "--reward", "--task", "cartpole", "--seed", "2",
         "--iterations", "3", "--episodes-per-batch", "4", "--gamma", "0.95",
         "--param", "c_v=0.5", "--param", "c_entropy=0.01", "--threads", "1", "--quiet",
         "--out", str(cli)],
        check=True,
    )
    res = eligo.train_agent(
        cartpole_gym, ranges=eligo.envs.CARTPOLE_RANGES, threads=1, out=tmp_path / "py",
        **SETTINGS,
    )
    want = np.load(cli / "returns.npy")
    assert want.shape == (12,) and res.returns.dtype == np.float64
    assert np.array_equal(res.returns, want)
    lines = [json.loads(l) for l in open(cli / "metrics.jsonl")]
    # every metrics.jsonl value but the wall time
    drop = lambda h: {k: v for k, v in h.items() if k != "seconds"}
    assert [drop(h) for h in res.history] == [drop(l) for l in lines]
    same_weights(res.weights, read_npz(cli / "weights.npz"))
    same_weights(res.weights, read_npz(tmp_path / "py" / "weights.npz"))
    assert np.array_equal(np.load(tmp_path / "py" / "returns.npy"), want)
    assert res.summary["task"] == "gym:CartPole-v1" and res.ending == "finished"
    # the engine's environment from Python: the CLI's run too
    own = eligo.train_agent("cartpole", threads=1, **SETTINGS)
    assert np.array_equal(own.returns, want)
    same_weights(own.weights, res.weights)
    # the returns are the episodes' lengths (reward 1 per step) and not all alike
    assert np.array_equal(want, [float(n) for l in lines for n in l["lengths"]])
    assert len(set(want)) > 3


def test_threads_and_resume_give_the_same_bits(tmp_path):
    kw = dict(env="CartPole-v1", ranges=eligo.envs.CARTPOLE_RANGES, seed=5, batch=3, lr=0.01)
    one = eligo.train_agent(iterations=4, threads=1, **kw)
    two = eligo.train_agent(iterations=4, threads=2, **kw)
    assert np.array_equal(one.returns, two.returns)
    same_weights(one.weights, two.weights)
    eligo.train_agent(iterations=2, threads=1, out=tmp_path, checkpoint_every=1, **kw)
    rest = eligo.train_agent(iterations=4, threads=2, resume=tmp_path, **kw)
    assert rest.iterations == 4 and np.array_equal(rest.returns, one.returns)
    same_weights(rest.weights, one.weights)


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "MountainCar-v0"])
def test_other_gymnasium_environments_run(env_id):
    """Box observations with finite bounds (the encoder's ranges), 3 actions, -1 per step:
    two iterations run and report each episode (capped at 60 agent steps)."""
    seen = []
    res = eligo.train_agent(
        env_id, iterations=2, batch=2, max_agent_steps=60, agent_steps=3, threads=1,
        callback=lambda h: seen.append(h["iteration"]),
    )
    assert seen == [1, 2] and res.iterations == 2
    assert res.returns.shape == (4,)
    # -1 per step until the goal: a random policy does not reach it in 60 steps
    assert np.all(res.returns == -60.0)
    assert all(h["lengths"] == [60, 60] for h in res.history)
    assert res.summary["task"] == f"gym:{env_id}" and res.summary["agent_steps"] == 3
    n_in = np.diff(res.weights["in->rec/indptr"]).size
    dims = gymnasium.make(env_id).observation_space.shape[0]
    assert n_in == 10 * dims
    # the rate code: one input per observation value
    res = eligo.train_agent(env_id, iterations=1, batch=1, max_agent_steps=5, encoding="rate",
                            hidden=20, threads=1)
    assert np.diff(res.weights["in->rec/indptr"]).size == dims
    assert np.diff(res.weights["rec->rec/indptr"]).size == 20


class Boom(gymnasium.Wrapper):
    def step(self, action):
        raise RuntimeError("boom in step")


def test_an_environments_exception_propagates():
    with pytest.raises(RuntimeError, match="boom in step"):
        eligo.train_agent(lambda: Boom(cartpole_gym()), batch=2, iterations=1, threads=1)

    def bad_factory():
        raise OSError("no display")

    with pytest.raises(OSError, match="no display"):
        eligo.train_agent(bad_factory, iterations=1)


def test_ctrl_c_stops_with_a_checkpoint_to_resume(tmp_path):
    def interrupt(h):
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt, match="resume="):
        eligo.train_agent("CartPole-v1", iterations=5, batch=2, threads=1, out=tmp_path,
                          callback=interrupt)
    assert (tmp_path / "checkpoint").is_dir()
    assert len(open(tmp_path / "metrics.jsonl").readlines()) == 1
    res = eligo.train_agent("CartPole-v1", iterations=2, batch=2, threads=1, resume=tmp_path)
    assert res.iterations == 2 and res.returns.shape == (4,)


def test_a_callback_returning_false_stops():
    res = eligo.train_agent("CartPole-v1", iterations=5, batch=2, threads=1,
                            callback=lambda h: h["iteration"] < 2)
    assert res.ending == "stopped" and res.iterations == 2


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(env=42), "env"),
        (dict(env="Pendulum-v1"), "env.action_space"),
        (dict(env=lambda: gymnasium.make("Blackjack-v1")), "env.observation_space"),
        (dict(env="CartPole-v1", ranges=[(0, 1)]), "ranges"),
        (dict(env="CartPole-v1", ranges=[(1, 0)] * 4), "ranges[0]"),
        (dict(env="CartPole-v1", encoding="spikes"), "encoding"),
        (dict(env="CartPole-v1", neurons=1), "neurons"),
        (dict(env="CartPole-v1", hidden=0), "hidden"),
        (dict(env="CartPole-v1", unbounded=float("inf")), "unbounded"),
        (dict(env=cartpole_gym(), batch=2), "env"),
        (dict(env="cartpole", ranges=[(0, 1)] * 4), "ranges"),
        (dict(form="sarsa"), "form"),
        (dict(gamma=1.5), "gamma"),
        (dict(batch=0), "batch"),
        (dict(iterations=0), "iterations"),
        (dict(target_return=float("nan")), "target_return"),
        (dict(lr=-1.0), "--lr"),
        (dict(rule="bptt"), "--rule"),
        (dict(params={"learning": "supervised"}), "--param learning"),
        (dict(resume="/nonexistent/run"), "resume"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs, field):
    kwargs.setdefault("env", "cartpole")
    with pytest.raises(eligo.InputError) as e:
        eligo.train_agent(iterations=kwargs.pop("iterations", 1), batch=kwargs.pop("batch", 1),
                          threads=1, **kwargs)
    assert e.value.field == field, str(e.value)
