"""The import graph of django_jobs has no cycle, counting imports made inside functions.

Built with grimp (what ``lint-imports`` uses): every import statement of a module counts,
wherever it sits, except those under ``if TYPE_CHECKING:`` (they never run). The edges of
the public enqueue facade, named in ``.importlinter``, are the one sanctioned way up.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import grimp

CONTRACTS = Path(__file__).resolve().parents[2] / ".importlinter"


def _facade_edges() -> list[tuple[str, str]]:
    config = configparser.ConfigParser()
    config.read(CONTRACTS)
    lines = config["importlinter:contract:layers"]["ignore_imports"].split("\n")
    pairs = [line.split("->") for line in lines if "->" in line]
    return [(a.strip(), b.strip()) for a, b in pairs]


def _graph() -> grimp.ImportGraph:
    graph = grimp.build_graph("django_jobs", cache_dir=None, exclude_type_checking_imports=True)
    for importer, imported in _facade_edges():
        graph.remove_import(importer=importer, imported=imported)
    return graph


def _cycles(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_import_graph__has_no_cycle():
    cycles = [sorted(c) for c in _cycles(_graph())]
    assert cycles == []


def test_import_graph__sees_imports_inside_functions():
    graph = _graph()
    # Job.enqueue() imports the registry inside the method.
    assert graph.direct_import_exists(
        importer="django_jobs.models.job", imported="django_jobs.registry"
    )


def test_import_graph__facade_edges_are_real():
    graph = grimp.build_graph("django_jobs", cache_dir=None, exclude_type_checking_imports=True)
    for importer, imported in _facade_edges():
        assert graph.direct_import_exists(importer=importer, imported=imported), (
            importer,
            imported,
        )
