"""The import graph of every package has no cycle (the layers themselves are checked by
``lint-imports``, see ``.importlinter``).

Two views of it: modules, as Python imports them at run time (imports under
``TYPE_CHECKING`` are annotations and never run), and packages, with every import
counted: a subpackage that needs a sibling which needs it back is one package in two.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

import grimp

ROOTS = ("workstation", "viewers", "ai")


@cache
def _graph(exclude_type_checking: bool) -> grimp.ImportGraph:
    return grimp.build_graph(
        *ROOTS, exclude_type_checking_imports=exclude_type_checking, cache_dir=None
    )


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _module_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {
        module: {m for m in graph.find_modules_directly_imported_by(module) if m in graph.modules}
        for module in graph.modules
    }


def test_no_module_imports_itself_through_others():
    assert _cycles(_module_edges(_graph(exclude_type_checking=True))) == []


def test_no_two_sibling_packages_need_each_other():
    graph = _graph(exclude_type_checking=False)
    packages = {m for m in graph.modules if graph.find_children(m)}
    by_parent: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module, targets in _module_edges(graph).items():
        for target in targets:
            for parent in packages:
                prefix = parent + "."
                if not (module.startswith(prefix) and target.startswith(prefix)):
                    continue
                source_child = prefix + module[len(prefix) :].split(".")[0]
                target_child = prefix + target[len(prefix) :].split(".")[0]
                if source_child != target_child and source_child in packages:
                    by_parent[parent][source_child].add(target_child)
    cycles = {parent: _cycles(edges) for parent, edges in by_parent.items()}
    assert {parent: found for parent, found in cycles.items() if found} == {}


def test_the_cycle_finder_finds_cycles():
    """The checks above can fail: a known cycle is found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []
