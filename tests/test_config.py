"""Config server: schema, load order, snapshot reads, validated atomic updates, subscribers."""

from __future__ import annotations

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from services import Echo

import scope_ext as sx
from scope_ext import Setting

EXTRA = (
    Setting("app.name", str, "demo", "a name"),
    Setting("app.level", str, "info", choices=("debug", "info", "error")),
    Setting("app.ratio", float, 0.5, minimum=0.0, maximum=1.0),
    Setting("app.debug", bool, False),
    Setting("app.tags", list, ["a"]),
    Setting("app.port", int, 8000, minimum=1, maximum=65535, runtime=False),
)


def run_with(options, main):
    async def wrapper(rt):
        f = await sx.start_foundation(rt.production, settings=EXTRA, **options)
        return await main(rt, f)

    return sx.run(wrapper)


def test_load_order_defaults_then_file_then_environment(tmp_path):
    toml = tmp_path / "scope.toml"
    toml.write_text('[app]\nname = "from-file"\nratio = 0.25\n[code.parser]\nmax_workers = 3\n')
    env = {
        "SCOPE_EXT__APP__RATIO": "0.75",
        "SCOPE_EXT__APP__DEBUG": "yes",
        "SCOPE_EXT__APP__TAGS": "x, y",
        "OTHER": "ignored",
    }

    async def main(rt, f):
        assert f.config.get("app.name") == "from-file"  # file over default
        assert f.config.get(("app", "ratio")) == 0.75  # environment over file
        assert f.config.get(["app", "debug"]) is True
        assert f.config.get("app.tags") == ("x", "y")
        assert f.config.get("app.level") == "info"  # default
        assert f.config.get("app")["port"] == 8000  # a section reads as a frozen mapping
        with pytest.raises(TypeError):
            f.config.get("app")["port"] = 1

    run_with({"config_file": toml, "environ": env}, main)


def test_a_layer_adds_its_section_later_with_values_from_the_same_sources(tmp_path):
    toml = tmp_path / "scope.toml"
    toml.write_text("[later.parser]\nworkers = 3\n")
    env = {"SCOPE_EXT__LATER__PARSER__STRICT": "yes"}
    section = (
        Setting("later.parser.workers", int, 1, minimum=1),
        Setting("later.parser.strict", bool, False),
        Setting("later.parser.name", str, "x"),
    )

    async def main(rt, f):
        with pytest.raises(sx.ConfigError, match="no setting or section later"):
            f.config.get("later.parser.workers")  # the section is not there yet: its values wait
        seen = []
        f.config.subscribe(seen.append, "later")
        version = f.config.snapshot.version
        await f.config.extend(section)
        assert f.config.get("later.parser.workers") == 3  # from the file
        assert f.config.get("later.parser.strict") is True  # from the environment
        assert f.config.get("later.parser.name") == "x"  # default
        assert f.config.snapshot.version == version + 1 and {c.path for c in seen} >= {("later", "parser", "workers")}
        await f.config.extend(section)  # adding it again changes nothing
        assert f.config.snapshot.version == version + 1
        await f.config.update("later.parser.workers", 5)
        await f.config.reset()
        assert f.config.get("later.parser.workers") == 3  # reset goes back to the loaded value
        with pytest.raises(sx.ConfigError, match="cannot also be a section"):
            await f.config.extend([Setting("later.parser.workers.deep", int, 1)])
        assert f.config.get("later.parser.workers") == 3  # a refused section changes nothing

    run_with({"config_file": toml, "environ": env}, main)


def test_a_typo_in_a_known_section_is_still_an_error(tmp_path):
    with pytest.raises(sx.ConfigError, match="no setting events.max_evnts"):
        sx.run(lambda rt: sx.start_foundation(rt.production, environ={"SCOPE_EXT__EVENTS__MAX_EVNTS": "1"}))


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[app]\nratio = 2.0\n", {}, "app.ratio: value in .* is above the maximum 1.0"),
        ("[app]\nnmae = 'x'\n", {}, "no setting app.nmae; did you mean app.name"),
        ("[app\n", {}, "cannot read config file"),
        (
            "",
            {"SCOPE_EXT__APP__PORT": "eighty"},
            "environment variable SCOPE_EXT__APP__PORT 'eighty' is not a valid int",
        ),
        ("", {"SCOPE_EXT__APP__LEVEL": "loud"}, "'loud' is not one of"),
    ],
)
def test_bad_sources_fail_with_clear_errors(tmp_path, toml, env, message):
    path = tmp_path / "scope.toml"
    path.write_text(toml)
    with pytest.raises(sx.ConfigError, match=message):
        sx.run(lambda rt: sx.start_foundation(rt.production, settings=EXTRA, config_file=path, environ=env))


def test_schema_declaration_errors():
    with pytest.raises(sx.ConfigError, match="default must be int"):
        Setting("x.y", int, "nope")
    with pytest.raises(TypeError, match="type must be"):
        Setting("x.y", dict, {})
    with pytest.raises(ValueError, match="declared twice"):
        sx.Schema([Setting("a.b", int, 1), Setting("a.b", int, 2)])
    with pytest.raises(ValueError, match="cannot also be a section"):
        sx.Schema([Setting("a", int, 1), Setting("a.b", int, 2)])


def test_updates_are_validated_atomic_and_serialized():
    async def main(rt, f):
        before = f.config.snapshot
        with pytest.raises(sx.ConfigError, match="app.ratio: value 1.5 is above the maximum"):
            await f.config.update_many({"app.name": "changed", "app.ratio": 1.5})
        assert f.config.snapshot is before and f.config.get("app.name") == "demo"  # nothing changed
        with pytest.raises(sx.ConfigError, match="app.port cannot change at run time"):
            await f.config.update("app.port", 9000)
        with pytest.raises(sx.ConfigError, match="no setting app.nam"):
            await f.config.update("app.nam", "x")
        after = await f.config.update_many({"app.name": "changed", "app.ratio": 1})
        assert after.version == before.version + 1 and after.get("app.ratio") == 1.0
        assert before.get("app.name") == "demo"  # old snapshots never change

        async def bump(i):
            await f.config.update("app.tags", [str(i)])

        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(bump, i)
        assert f.config.snapshot.version == after.version + 20

    run_with({}, main)


def test_subscribers_get_path_old_new_and_dead_ones_are_dropped():
    async def main(rt, f):
        seen = []
        others = set(f.config_store.subscribers)  # the event store subscribes to events.*
        watcher = await rt.production.start(Echo, name="watcher")
        f.config.subscribe(watcher, "app")
        unsubscribe = f.config.subscribe(seen.append)
        f.config.subscribe(lambda change: 1 / 0)  # raises: dropped at the first notification
        await f.config.update("app.name", "n1")
        await f.config.update("events.max_age", 10.0)
        assert seen == [
            sx.ConfigChanged(("app", "name"), "demo", "n1"),
            sx.ConfigChanged(("events", "max_age"), 86_400.0, 10.0),
        ]
        infos = (await sx.call(watcher, "state"))["infos"]
        assert infos == [sx.ConfigChanged(("app", "name"), "demo", "n1")]  # prefix "app" only
        assert set(f.config_store.subscribers) - others == {watcher, seen.append}
        await sx.terminate_child(rt.production.root, "watcher")
        unsubscribe()
        await f.config.update("app.name", "n2")
        assert set(f.config_store.subscribers) == others and len(seen) == 2

    run_with({}, main)


def test_reads_use_the_last_snapshot_while_the_server_restarts():
    async def main(rt, f):
        await f.config.update("app.name", "kept")
        server = rt.production.whereis("config")
        server.kill()
        await server.wait_exited()
        assert f.config.get("app.name") == "kept"  # no server, still readable
        await sx.wait_for_service(rt.production, "config")
        assert rt.production.whereis("config") is not server
        assert f.config.get("app.name") == "kept"  # the restarted server continues from it
        await f.config.update("app.level", "debug")
        await f.config.reset()
        assert (f.config.get("app.name"), f.config.get("app.level")) == ("demo", "info")

    run_with({}, main)


updates = st.lists(
    st.tuples(
        st.sampled_from(["app.name", "app.ratio", "app.debug", "app.level", "app.port", "app.nope"]),
        st.one_of(
            st.text(max_size=3),
            st.floats(-1, 2, allow_nan=False),
            st.booleans(),
            st.integers(-5, 70000),
            st.sampled_from(["debug", "info", "loud"]),
        ),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(updates, max_size=6))
def test_update_sequences_match_a_dict_model(batches):
    schema = {s.name: s for s in EXTRA}

    def valid(path, value):
        s = schema.get(path)
        if s is None or not s.runtime:
            return False
        try:
            s.validate(value)
        except sx.ConfigError:
            return False
        return True

    async def main(rt, f):
        model = {name: s.default for name, s in schema.items()}
        for batch in batches:
            ok = all(valid(p, v) for p, v in dict(batch).items())  # update_many gets a dict: last wins
            try:
                await f.config.update_many(dict(batch))
                assert ok
                for p, v in dict(batch).items():
                    model[p] = schema[p].validate(v)
            except sx.ConfigError:
                assert not ok
            for name, value in model.items():
                assert f.config.get(name) == (tuple(value) if isinstance(value, list) else value)

    run_with({}, main)


def test_config_file_is_found_by_environment_or_working_directory(tmp_path, monkeypatch):
    named = tmp_path / "named.toml"
    named.write_text('[app]\nname = "named"\n')
    (tmp_path / "scope_ext.toml").write_text('[app]\nname = "local"\n')
    monkeypatch.chdir(tmp_path)

    async def name(rt, f):
        return f.config.get("app.name")

    assert run_with({"environ": {}}, name) == "local"
    assert run_with({"environ": {"SCOPE_EXT_CONFIG": str(named)}}, name) == "named"
    with pytest.raises(sx.ConfigError, match="cannot read config file .*missing.toml"):
        run_with({"environ": {"SCOPE_EXT_CONFIG": str(tmp_path / "missing.toml")}}, name)
