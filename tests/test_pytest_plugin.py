"""The pytest plugin, loaded through its entry point in a fresh pytest run."""

from __future__ import annotations


def test_plugin_gives_each_test_its_own_namespace(pytester):
    pytester.makepyfile(
        test_user="""
        import scope_ext as sx

        seen = []

        def test_one(scope_namespace):
            seen.append(scope_namespace.name)
            scope_namespace.run(lambda: sx.foundation().events.store("mine", 1))
            assert len(scope_namespace.run(lambda: sx.foundation().events.query(types="mine"))) == 1

        def test_two(scope_namespace):
            seen.append(scope_namespace.name)
            assert scope_namespace.run(lambda: sx.foundation().events.query(types="mine")) == []
            assert seen[0] != seen[1]

        def test_production_untouched(scope_runtime):
            names = scope_runtime.run_sync(lambda: [ns.name for ns in sx.current_runtime().namespaces()])
            assert names == ["production"]  # both test namespaces were dropped
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3)
