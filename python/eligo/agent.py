"""``eligo.train_agent``: closed-loop, reward-based training (``eligo train --reward``) from
Python, on the engine's environments or on any Gymnasium environment with a ``Box``
observation and a ``Discrete`` action space (docs/closed-loop.md)."""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _eligo
from .training import PathLike, _arrays, _input_error, _param_text, _paths

__all__ = ["AgentResult", "train_agent"]

#: The engine's own environments, by the name ``eligo train --reward --task NAME`` takes.
BUILTIN = ("cartpole", "evidence")


class AgentResult:
    """What :func:`train_agent` returns.

    Attributes:
        returns: every episode's return, float64, in episode order (``returns.npy``).
        history: one dict per iteration (resumed ones included), the lines of
            ``metrics.jsonl``: ``iteration``, ``returns``, ``lengths`` (agent steps),
            ``mean_return``, ``mean_length``, ``moving_average`` (mean return of the last 100
            episodes), ``episodes``, ``rate_hz``, ``seconds``, ``rule`` (diagnostics).
        metrics: the scalar keys of :attr:`history` as float64 arrays, one value per iteration.
        ending: ``"finished"``, ``"reached"`` (the moving average reached ``target_return``)
            or ``"stopped"`` (the callback returned False).
        reached_at: the episode (1-based) at which the target was reached, else None.
        iterations: iterations done in all.
        summary: what ``summary.json`` says of the run (task, rule, form, feedback, gamma, lr,
            episodes, moving_average, target_reached_at_episode, seconds_per_iteration, ...).
        weights: the arrays of ``weights.npz`` (``P/indptr``, ``P/indices``, ``P/data`` per
            projection, ``R/bias``), as :attr:`eligo.TrainResult.weights`.
        out: the run's directory (``metrics.jsonl``, ``returns.npy``, ``checkpoint/``,
            ``weights.npz``), None when none was given.
        overridden: the settings ``resume_override`` let differ from the checkpoint's.
    """

    __slots__ = (
        "returns", "history", "metrics", "ending", "reached_at", "iterations", "summary",
        "weights", "out", "overridden",
    )

    def __init__(self, raw: "_eligo.AgentTrainRun", out: Optional[str]) -> None:
        self.history: List[Dict[str, Any]] = [json.loads(line) for line in raw.history()]
        scalars = [{k: v for k, v in h.items() if not isinstance(v, list)} for h in self.history]
        self.metrics: Dict[str, np.ndarray] = _arrays(scalars)
        self.returns: np.ndarray = raw.returns()
        ending, at = raw.ending
        self.ending = "stopped" if ending == "interrupted" else ending
        self.reached_at: Optional[int] = at if ending == "reached" else None
        self.iterations: int = raw.iterations
        self.summary: Dict[str, Any] = json.loads(raw.summary())
        self.weights: Dict[str, np.ndarray] = raw.weights()
        self.out = out
        self.overridden: List[str] = raw.overridden

    def __repr__(self) -> str:
        ma = self.summary.get("moving_average")
        return (
            f"<eligo.AgentResult {self.ending} after {self.iterations} iterations, "
            f"{len(self.returns)} episodes, mean of the last 100 {ma:.1f}>"
        )


def _flat(obs: Any) -> np.ndarray:
    return np.ascontiguousarray(obs, dtype=np.float64).reshape(-1)


def _gym_spec(
    env: Any,
    ranges: Optional[Sequence[Tuple[float, float]]],
    unbounded: float,
    encoding: str,
    neurons: int,
    rate_hz: float,
    hidden: int,
    batch: Optional[int],
) -> Dict[str, Any]:
    """Check a Gymnasium environment (or factory) and describe it for the engine."""
    if isinstance(env, str):
        try:
            import gymnasium
        except ImportError:
            raise _input_error(
                "env", env, "a Gymnasium id needs Gymnasium", "pip install gymnasium"
            ) from None
        env_id = env

        def factory() -> Any:
            return gymnasium.make(env_id)

        first = None
    elif hasattr(env, "step") and hasattr(env, "reset"):
        if (batch or 8) > 1:
            raise _input_error(
                "env",
                repr(env),
                "an environment instance runs one episode at a time; the batch's episodes run "
                "in parallel lanes, one environment each",
                "pass a factory, e.g. env=lambda: gymnasium.make(\"CartPole-v1\"), or batch=1",
            )
        first, factory = env, None
    elif callable(env):
        factory, first = env, None
    else:
        raise _input_error(
            "env",
            repr(env),
            f"a Gymnasium environment, a factory making one, a Gymnasium id, or one of "
            f"{', '.join(BUILTIN)} (the engine's own)",
            "e.g. env=\"CartPole-v1\"",
        )
    probe = first if first is not None else factory()
    if not (hasattr(probe, "step") and hasattr(probe, "reset")):
        raise _input_error(
            "env", repr(probe), "the factory must return a Gymnasium environment", ""
        )
    act, obs = getattr(probe, "action_space", None), getattr(probe, "observation_space", None)
    n = getattr(act, "n", None)
    if n is None or not hasattr(act, "start") or int(n) < 1:
        raise _input_error(
            "env.action_space",
            act,
            "a Discrete action space (the policy readout has one logit per action)",
            "wrap a continuous one, e.g. into a few discrete actions",
        )
    low, high = getattr(obs, "low", None), getattr(obs, "high", None)
    if low is None or high is None:
        raise _input_error(
            "env.observation_space",
            obs,
            "a Box observation space (its values are coded into input spikes)",
            "wrap the observation into a Box (gymnasium.wrappers.FlattenObservation)",
        )
    dims = int(np.prod(obs.shape))
    if ranges is None:
        if not (math.isfinite(unbounded) and unbounded > 0):
            raise _input_error("unbounded", unbounded, "a finite number > 0", "e.g. 2.0")
        lo = np.asarray(low, dtype=np.float64).reshape(-1)
        hi = np.asarray(high, dtype=np.float64).reshape(-1)
        lo = np.where(np.isfinite(lo), lo, -unbounded)
        hi = np.where(np.isfinite(hi), hi, unbounded)
        rs = [(float(a), float(b)) for a, b in zip(lo, hi)]
    else:
        rs = [(float(a), float(b)) for a, b in ranges]
        if len(rs) != dims:
            raise _input_error(
                "ranges",
                f"{len(rs)} ranges",
                f"one (lo, hi) per observation value: the observation space has {dims}",
                "leave ranges out for the space's bounds",
            )
    if isinstance(hidden, bool) or not isinstance(hidden, int) or not 1 <= hidden <= 1_000_000:
        raise _input_error("hidden", hidden, "an integer in [1, 1000000]", "e.g. 100")
    if isinstance(neurons, bool) or not isinstance(neurons, int) or not 2 <= neurons <= 100_000:
        raise _input_error("neurons", neurons, "an integer in [2, 100000]", "e.g. 10")
    made = [probe]

    def lanes() -> Any:
        # the probe is the first lane's environment; the others are made fresh
        return made.pop() if made else factory()

    spec_id = getattr(getattr(probe, "spec", None), "id", None)
    return dict(
        factory=lanes,
        flatten=_flat,
        name=f"gym:{spec_id or type(probe).__name__}",
        ranges=rs,
        encoding=encoding,
        neurons=neurons,
        rate_hz=float(rate_hz),
        actions=int(n),
        start=int(act.start),
        hidden=hidden,
    )


def train_agent(
    env: Any = "cartpole",
    *,
    ranges: Optional[Sequence[Tuple[float, float]]] = None,
    unbounded: float = 2.0,
    encoding: str = "population",
    neurons: int = 10,
    rate_hz: float = 200.0,
    hidden: int = 100,
    rule: str = "eprop",
    form: Optional[str] = None,
    gamma: Optional[float] = None,
    params: Optional[Mapping[str, Union[float, int, str]]] = None,
    feedback: Optional[str] = None,
    mode: Optional[str] = None,
    rule_config: Optional[PathLike] = None,
    plugin_dir: Union[None, PathLike, Sequence[PathLike]] = None,
    out: Optional[PathLike] = None,
    resume: Optional[PathLike] = None,
    resume_override: Optional[Sequence[str]] = None,
    iterations: int = 100,
    batch: Optional[int] = None,
    lr: Optional[float] = None,
    threads: Optional[int] = None,
    seed: int = 1,
    scale: float = 1.0,
    agent_steps: Optional[int] = None,
    max_agent_steps: Optional[int] = None,
    checkpoint_every: int = 25,
    target_return: Optional[float] = None,
    callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]] = None,
) -> AgentResult:
    """Train a spiking agent by reward-based e-prop in a closed loop: ``eligo train --reward``
    from Python, the same trainer (parallel episodes, Adam, returns, metrics, checkpoints).

    Args:
        env: the environment: ``"cartpole"`` or ``"evidence"`` (the engine's own, as ``--task``;
            the same run bit for bit as the CLI's), a Gymnasium id (``"CartPole-v1"``,
            ``"Acrobot-v1"``: ``gymnasium.make``), a factory returning a Gymnasium
            environment (``lambda: gymnasium.make("MountainCar-v0")``, called once per lane),
            or an environment instance (only with ``batch=1``). A Gymnasium environment needs
            a ``Box`` observation space (flattened) and a ``Discrete`` action space. Episode
            ``e`` starts with ``env.reset(seed=eligo.envs.episode_seed(seed, e))``, the seed
            the engine's CartPole resets with: Gymnasium's ``CartPole-v1`` with
            ``ranges=eligo.envs.CARTPOLE_RANGES`` trains exactly as ``env="cartpole"``.
        ranges: one ``(lo, hi)`` per observation value for the encoder; None: the ``Box``
            bounds, an infinite end replaced by ``-unbounded`` / ``+unbounded``.
        encoding: ``"population"`` (``neurons`` Gaussian tuning curves per value, peak
            ``rate_hz``: ``eligo.envs.encode``) or ``"rate"`` (one input per value, rate
            ``rate_hz (x - lo) / (hi - lo)``; for many values such as pixels).
        hidden: LIF neurons of the default network (input ``in``, ``hidden`` LIF ``rec``, one
            readout of ``actions + 1`` outputs: the policy logits, then the value).
        rule, form (``"td"``, ``"a2c"``), gamma (discount per agent step), params
            (``{NAME: VALUE}`` as ``--param``), feedback, mode, rule_config, plugin_dir: the
            rule and its parameters, as the CLI's flags of the same names.
        out: the run's directory (created if missing); None: a temporary one, removed after.
        resume: continue the run in this directory; resume_override: settings that may differ.
        iterations: iterations (batches) in all; batch: episodes per batch (default 8); lr:
            Adam's learning rate (default 0.002).
        threads: worker threads (None: every core); any count gives the same bits.
        seed: seed of the weights, the resets, the encoder and the actions; scale: the
            evidence task's size in (0, 1].
        agent_steps: network steps (1 ms) per agent step (default 10); max_agent_steps: the
            most agent steps of an episode (default 10000).
        checkpoint_every: iterations between checkpoints (>= 1).
        target_return: stop once the mean return of 100 consecutive episodes reaches it.
        callback: called after every iteration with its :attr:`AgentResult.history` dict;
            returning False stops the run (a checkpoint is written), an exception in it stops
            it the same way and propagates.

    The GIL is released while the network runs; the environments take it for their calls.
    Ctrl-C (SIGINT) stops the run at the end of the iteration under way, writes the
    checkpoint and raises KeyboardInterrupt naming the ``resume`` directory. An exception
    raised by the environment stops the run and propagates.

    Raises :class:`eligo.InputError` for a bad argument (naming it, the value, what is allowed).
    """
    if form is not None and form not in ("td", "a2c"):
        raise _input_error(
            "form", form, "allowed: td, a2c",
            "td is the paper's TD-error rule, a2c the authors' forward view",
        )
    if gamma is not None and not (isinstance(gamma, (int, float)) and 0.0 <= gamma <= 1.0):
        raise _input_error("gamma", gamma, "the discount per agent step must be in [0, 1]", "e.g. 0.99")
    if target_return is not None and not math.isfinite(target_return):
        raise _input_error("target_return", target_return, "must be a finite number", "e.g. 195")
    for name, v, least in (
        ("iterations", iterations, 1), ("checkpoint_every", checkpoint_every, 1),
        ("batch", batch, 1), ("agent_steps", agent_steps, 1),
        ("max_agent_steps", max_agent_steps, 1), ("seed", seed, 0),
    ):
        if v is None and name not in ("iterations", "checkpoint_every", "seed"):
            continue
        if isinstance(v, bool) or not isinstance(v, int) or not least <= v < 2**64:
            raise _input_error(name, v, f"an integer >= {least}", "")
    builtin = env if isinstance(env, str) and env in BUILTIN else None
    gym = None
    if builtin is None:
        gym = _gym_spec(env, ranges, unbounded, encoding, neurons, rate_hz, hidden, batch)
    else:
        for name, v, default in (
            ("ranges", ranges, None), ("encoding", encoding, "population"),
            ("neurons", neurons, 10), ("rate_hz", rate_hz, 200.0), ("hidden", hidden, 100),
        ):
            if v != default:
                raise _input_error(
                    name, v, f"only for a Gymnasium environment: '{env}' has its own encoder "
                    "and network (docs/envs.md)", "leave it out",
                )

    temporary = out is None and resume is None
    run_dir = os.fspath(resume if resume is not None else out) if not temporary else None
    created = False
    if temporary:
        import tempfile

        run_dir = tempfile.mkdtemp(prefix="eligo-agent-")
    elif not os.path.isdir(run_dir):
        if resume is not None:
            raise _input_error(
                "resume", run_dir,
                "no such directory: resume continues a run in the out directory it wrote",
                "give the out directory of the run to continue",
            )
        try:
            os.makedirs(run_dir)
        except OSError as e:
            raise _input_error(
                "out", run_dir, f"cannot create the output directory: {e}",
                "choose a writable directory",
            ) from None
        created = True

    def on_iteration(line: str) -> bool:
        if callback is None:
            return True
        return callback(json.loads(line)) is not False

    try:
        raw = _eligo.train_agent(
            builtin=builtin,
            gym=gym,
            scale=float(scale),
            rule=rule,
            rule_config=None if rule_config is None else os.fspath(rule_config),
            params=[f"{k}={_param_text(v)}" for k, v in (params or {}).items()],
            feedback=feedback,
            mode=mode,
            form=form,
            gamma=None if gamma is None else float(gamma),
            plugin_dir=_paths(plugin_dir),
            out=run_dir,
            resume=resume is not None,
            resume_override=list(resume_override or []),
            iterations=iterations,
            batch=batch,
            lr=lr,
            threads=threads,
            seed=seed,
            agent_steps=agent_steps,
            max_agent_steps=max_agent_steps,
            checkpoint_every=checkpoint_every,
            target_return=target_return,
            on_iteration=on_iteration,
        )
    except BaseException:
        if created and not os.listdir(run_dir):
            os.rmdir(run_dir)
        raise
    finally:
        if temporary:
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
    err = raw.take_error()
    if err is not None:
        if isinstance(err, KeyboardInterrupt):
            it = raw.ending[1]
            where = (
                "no checkpoint kept (no out directory was given)"
                if temporary
                else f"checkpoint of iteration {it} written to "
                f"{os.path.join(run_dir, 'checkpoint')}; continue with resume={run_dir!r}"
            )
            raise KeyboardInterrupt(where) from None
        raise err
    for o in raw.overridden:
        warnings.warn(f"resume_override: continuing with another {o}", stacklevel=2)
    return AgentResult(raw, None if temporary else run_dir)
