"""A layered left-to-right layout of the lineage graph, drawn as SVG by the template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["GraphLayout", "layout_lineage"]

_COL_WIDTH = 270
_ROW_HEIGHT = 64
_NODE_WIDTH = 210
_NODE_HEIGHT = 40
_MARGIN = 20


@dataclass(frozen=True)
class PlacedNode:
    """A node with its position, label and kind."""

    id: str
    kind: str
    label: str
    x: int
    y: int
    href: str | None


@dataclass(frozen=True)
class PlacedEdge:
    """An edge as an SVG path."""

    path: str
    kind: str


@dataclass(frozen=True)
class GraphLayout:
    """Everything the template needs to draw the graph."""

    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: int
    height: int
    node_width: int = _NODE_WIDTH
    node_height: int = _NODE_HEIGHT


def _label(node: str) -> tuple[str, str, str | None]:
    kind, _, rest = node.partition(":")
    if kind == "table":
        return kind, rest, f"/tables/{rest}"
    name = rest.split("#")[0]
    short = PurePosixPath(name).name if kind == "file" else name.rsplit("/", 1)[-1]
    return kind, (short or name)[:28], None


def layout_lineage(nodes: list[str], edges: list[tuple[str, str, str]]) -> GraphLayout:
    """Columns by longest path from a source; rows in order of appearance."""
    all_nodes = list(dict.fromkeys([*nodes, *(e[0] for e in edges), *(e[1] for e in edges)]))
    depth = dict.fromkeys(all_nodes, 0)
    for _ in range(len(all_nodes)):
        changed = False
        for source, target, _kind in edges:
            if depth[target] < depth[source] + 1 <= len(all_nodes):
                depth[target] = depth[source] + 1
                changed = True
        if not changed:
            break
    columns: dict[int, list[str]] = {}
    for node in all_nodes:
        columns.setdefault(depth[node], []).append(node)
    placed: dict[str, PlacedNode] = {}
    for col, members in columns.items():
        for row, node in enumerate(members):
            kind, label, href = _label(node)
            placed[node] = PlacedNode(
                node,
                kind,
                label,
                _MARGIN + col * _COL_WIDTH,
                _MARGIN + row * _ROW_HEIGHT,
                href,
            )
    paths = []
    for source, target, kind in edges:
        a, b = placed[source], placed[target]
        x1, y1 = a.x + _NODE_WIDTH, a.y + _NODE_HEIGHT // 2
        x2, y2 = b.x, b.y + _NODE_HEIGHT // 2
        mid = (x1 + x2) // 2
        paths.append(PlacedEdge(f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}", kind))
    width = _MARGIN * 2 + (max(columns, default=0) + 1) * _COL_WIDTH
    height = _MARGIN * 2 + max((len(m) for m in columns.values()), default=1) * _ROW_HEIGHT
    return GraphLayout(list(placed.values()), paths, width, height)
