"""`eligo.plugins()` against `eligo plugins` (the CLI): the same libraries and tables."""

import subprocess

import pytest

import eligo


@pytest.fixture(autouse=True)
def plugins_of_the_build(eligo_bin, monkeypatch):
    # the CLI looks for plugins in its deps/ and its own directory; from Python they are where
    # ELIGO_PLUGIN_PATH says: the same two, so both find the same libraries
    d = eligo_bin.parent
    monkeypatch.setenv("ELIGO_PLUGIN_PATH", f"{d / 'deps'}:{d}")


def cli_text(found):
    """What `eligo plugins` prints for `found`, rebuilt from the dicts."""
    lines = []
    for p in found:
        if p["refused"] is not None:
            lines.append(f"{p['path']}  refused: {p['refused']}")
            continue
        by = "" if p["rule"] == p["name"] else f"  (--rule {p['rule']})"
        lines.append(f"{p['name']} {p['version']}  (ABI {p['abi'][0]}.{p['abi'][1]}, "
                     f"{p['output']} output)  {p['path']}{by}")
        lines.append(f"    built with {p['signature']}")
        for q in p["parameters"]:
            unit = f" {q['unit']}" if q["unit"] else ""
            lines.append(f"    {q['name']:<14} = {q['default_text']}{unit}  {q['range']}  {q['doc']}")
    return "\n".join(lines) + "\n"


def test_plugins_list_what_the_cli_lists(eligo_bin):
    found = eligo.plugins()
    out = subprocess.run([str(eligo_bin), "plugins"], check=True, capture_output=True,
                         text=True).stdout
    assert cli_text(found) == out
    by_name = {p["name"]: p for p in found if p["refused"] is None}
    assert {"eprop", "bptt", "stdp"} <= set(by_name)
    eprop = {q["name"]: q for q in by_name["eprop"]["parameters"]}
    assert eprop["feedback"]["type"] == "choice"
    assert {"symmetric", "random", "adaptive"} <= set(eprop["feedback"]["choices"])
    assert eprop["feedback"]["default"] in eprop["feedback"]["choices"]
    assert eprop["feedback_file"]["type"] == "string" and eprop["feedback_file"]["min"] is None
    for p in ("eprop", "bptt", "stdp"):
        for q in by_name[p]["parameters"]:
            if q["type"] == "number":
                assert q["min"] <= q["default"] <= q["max"], (p, q)
            assert q["doc"], (p, q["name"])


def test_a_plugin_dir_is_searched_first(eligo_bin, tmp_path, monkeypatch):
    found = eligo.plugins(plugin_dir=tmp_path)
    assert found == eligo.plugins()
    monkeypatch.delenv("ELIGO_PLUGIN_PATH")
    assert eligo.plugins(plugin_dir=[eligo_bin.parent / "deps", eligo_bin.parent]) == found


def test_the_built_in_rules_need_no_plugin_folder(monkeypatch, tmp_path):
    # no library anywhere: the rules linked into the package are listed, path None, and train
    monkeypatch.setenv("ELIGO_PLUGIN_PATH", str(tmp_path))
    found = {p["name"]: p for p in eligo.plugins()}
    built_in = ("eprop", "bptt", "stdp", "rstdp", "ottt", "ostl", "otpe")
    assert set(built_in) <= set(found)
    assert all(found[n]["path"] is None for n in built_in)
    r = eligo.train(task="evidence", iterations=1, scale=0.1, batch=2, threads=1)
    assert r.ending == "finished" and len(r.history) == 1
