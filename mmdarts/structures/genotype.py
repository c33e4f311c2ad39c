"""A searched cell pair and the rule that derives it from α (Liu et al., 2019, Sec. 2.4).

File format (JSON), the DARTS paper's ``Genotype`` written as plain lists; see ``docs/genotype.md``::

    {"normal": [["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ...], "normal_concat": [2, 3, 4, 5],
     "reduce": [["max_pool_3x3", 0], ...], "reduce_concat": [2, 3, 4, 5]}

States 0 and 1 are the cell inputs c_{k-2}, c_{k-1}; state ``i + 2`` is intermediate node ``i``. The edges of a
cell are listed node by node, two per node, each ``[op, input_state]`` with ``input_state < i + 2``. Rules that
keep fewer edges (Fair DARTS's threshold) add ``"{cell}_in_degree"``: the number of edges of each node (1 or 2).
The dict form also takes the edges node by node, as pt.darts writes them (``[[('sep_conv_3x3', 0), ...], ...]``),
and a ``range`` for a concat; the original DARTS code's ``Genotype(...)`` text is read by ``genotype_text``.
"""
import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

CELL_TYPES = ('normal', 'reduce')
NUM_CELL_INPUTS = 2
EDGES_PER_NODE = 2
_KNOWN_KEYS = {'normal', 'normal_concat', 'reduce', 'reduce_concat', 'meta', 'normal_in_degree', 'reduce_in_degree'}

Edge = Tuple[str, int]


def cell_edges(num_nodes: int) -> List[Tuple[int, int]]:
    """The ``(node, input_state)`` pair of each mixed edge of a search cell, in the order α rows follow."""
    return [(node, j) for node in range(num_nodes) for j in range(node + NUM_CELL_INPUTS)]


def state_name(state: int) -> str:
    """The paper's name of a cell state: ``c_{k-2}`` and ``c_{k-1}`` for the inputs (states 0 and 1), the node
    index ``i`` for intermediate node i (state ``i + 2``)."""
    return {0: 'c_{k-2}', 1: 'c_{k-1}'}.get(state, str(state - 2))


def edge_names(num_nodes: int) -> List[str]:
    """``'input→node'`` of each mixed edge in α's row order (:func:`cell_edges`), e.g. ``'c_{k-2}→0'``: the one
    naming of the log's α tables, the heatmaps and the diagrams."""
    return [f'{state_name(j)}→{node}' for node, j in cell_edges(num_nodes)]


def derive_cell(weights: torch.Tensor, primitives: Sequence[str], num_nodes: int,
                exclude: Sequence[str] = ('none', )) -> List[Edge]:
    """The paper's discretisation (Sec. 2.4): for each intermediate node keep the two incoming edges whose
    strongest op (``exclude`` left out) weighs most, each with that op.

    Args:
        weights (Tensor): op weights of shape ``(num_edges, num_ops)``, rows in :func:`cell_edges` order.
        primitives (Sequence[str]): the op name of each column.
        num_nodes (int): intermediate nodes of the cell.
        exclude (Sequence[str]): ops never selected. Defaults to ``('none',)``.

    Returns:
        list[tuple[str, int]]: ``(op, input_state)``, two per node, inputs in ascending order.
        Ties go to the earlier edge and the earlier op.
    """
    return [(op, j) for ranked in _two_strongest(weights, primitives, num_nodes, exclude)
            for _, j, op in sorted(ranked, key=lambda c: c[1])]


def _two_strongest(weights: torch.Tensor, primitives: Sequence[str], num_nodes: int, exclude: Sequence[str]
                   ) -> List[List[Tuple[float, int, str]]]:
    """Per node, its two strongest incoming edges, strongest first (ties to the earlier edge and op):
    ``(weight of the edge's strongest op, input_state, op)``."""
    edges = cell_edges(num_nodes)
    if tuple(weights.shape) != (len(edges), len(primitives)):
        raise ValueError(f'derive_cell: weights of shape {tuple(weights.shape)}, expected '
                         f'({len(edges)}, {len(primitives)}) for {num_nodes} nodes and {len(primitives)} ops')
    allowed = [k for k, p in enumerate(primitives) if p not in exclude]
    if not allowed:
        raise ValueError(f'derive_cell: every op of {list(primitives)} is excluded by {list(exclude)}')
    if num_nodes < 1:
        raise ValueError(f'derive_cell: needs num_nodes >= 1, got {num_nodes}')
    # per node, (-weight, input_state, op_index) of each incoming edge: sorting ranks strongest first, ties to earlier
    ranked: List[List[Tuple[float, int, int]]] = [[] for _ in range(num_nodes)]
    for (node, j), row in zip(edges, weights.detach().double().cpu().tolist()):
        best = max(allowed, key=lambda k: (row[k], -k))
        ranked[node].append((-row[best], j, best))
    return [[(-w, j, primitives[k]) for w, j, k in sorted(candidates)[:EDGES_PER_NODE]] for candidates in ranked]


def derive_cell_threshold(weights: torch.Tensor, primitives: Sequence[str], num_nodes: int, threshold: float,
                          exclude: Sequence[str] = ('none', )) -> Tuple[List[Edge], List[int]]:
    """Fair DARTS's rule (Chu et al., ECCV 2020; its code's ``threshold_sparse``): of each node's two strongest
    incoming edges (as :func:`derive_cell` ranks them), keep those whose strongest op weighs at least ``threshold``
    (0.85 in the paper, on sigmoid weights), each with that op. A node none of whose edges passes keeps its
    strongest one: a node without inputs could not be built.

    Returns:
        (edges, in_degree): ``(op, input_state)`` node by node, and the number of edges of each node.
    """
    kept = [[c for c in sorted(ranked, key=lambda c: c[1]) if c[0] >= threshold] or ranked[:1]
            for ranked in _two_strongest(weights, primitives, num_nodes, exclude)]
    return [(op, j) for edges in kept for _, j, op in edges], [len(edges) for edges in kept]


def _fail(where: str, what: str):
    raise ValueError(f'{where}: {what}')


@dataclass
class Genotype:
    """A normal and a reduction cell: lists of ``(op, input_state)`` and the states each cell concatenates."""
    normal: List[Edge]
    normal_concat: List[int]
    reduce: List[Edge]
    reduce_concat: List[int]
    meta: Dict[str, Any] = field(default_factory=dict, compare=False)
    normal_in_degree: Optional[List[int]] = None
    reduce_in_degree: Optional[List[int]] = None

    @property
    def num_nodes(self) -> int:
        degrees = self.normal_in_degree
        return len(degrees) if degrees is not None else len(self.normal) // EDGES_PER_NODE

    def edge_nodes(self, cell: str) -> List[int]:
        """The intermediate node each edge of ``cell`` feeds, in the order the edges are listed."""
        degrees = getattr(self, f'{cell}_in_degree')
        if degrees is None:
            degrees = [EDGES_PER_NODE] * (len(getattr(self, cell)) // EDGES_PER_NODE)
        return [node for node, degree in enumerate(degrees) for _ in range(degree)]

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for cell in CELL_TYPES:
            out[cell] = [[op, int(j)] for op, j in getattr(self, cell)]
            out[f'{cell}_concat'] = [int(i) for i in getattr(self, f'{cell}_concat')]
            if getattr(self, f'{cell}_in_degree') is not None:
                out[f'{cell}_in_degree'] = [int(d) for d in getattr(self, f'{cell}_in_degree')]
        if self.meta:
            out['meta'] = self.meta
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = 'genotype', primitives: Optional[Sequence[str]] = None,
                  num_nodes: Optional[int] = None) -> 'Genotype':
        """Checks ``data`` (the JSON form) and builds a Genotype; errors name ``where`` and the bad field.

        Args:
            primitives: if given, the ops every edge must use.
            num_nodes: if given, the number of intermediate nodes both cells must have.
        """
        if not isinstance(data, dict):
            _fail(where, f'expected a JSON object with keys {sorted(_KNOWN_KEYS - {"meta"})}, '
                  f'got {type(data).__name__}')
        unknown = sorted(set(data) - _KNOWN_KEYS)
        if unknown:
            _fail(where, f'unknown keys {unknown}; expected {sorted(_KNOWN_KEYS)}')
        cells = {}
        nodes = {}
        for cell in CELL_TYPES:
            for key in (cell, f'{cell}_concat'):
                if key not in data:
                    _fail(where, f'missing key {key!r}')
            degrees = cls._check_in_degree(data.get(f'{cell}_in_degree'), f'{where}: {cell}_in_degree')
            edges, degrees = cls._flatten_nodes(data[cell], degrees, f'{where}: {cell}')
            cells[cell] = cls._check_edges(edges, f'{where}: {cell}', primitives, degrees)
            cells[f'{cell}_in_degree'] = degrees
            nodes[cell] = len(degrees) if degrees is not None else len(cells[cell]) // EDGES_PER_NODE
            cells[f'{cell}_concat'] = cls._check_concat(data[f'{cell}_concat'], nodes[cell], f'{where}: {cell}_concat')
        if nodes['normal'] != nodes['reduce']:
            _fail(where, f'normal has {nodes["normal"]} nodes but reduce has {nodes["reduce"]}')
        if num_nodes is not None and nodes['normal'] != num_nodes:
            _fail(where, f'built for {nodes["normal"]} nodes ({len(cells["normal"])} edges), '
                  f'expected num_nodes={num_nodes} ({num_nodes * EDGES_PER_NODE} edges)')
        meta = data.get('meta', {})
        if not isinstance(meta, dict):
            _fail(where, f'meta: expected an object, got {type(meta).__name__}')
        return cls(meta=dict(meta), **cells)

    @staticmethod
    def _flatten_nodes(edges: Any, degrees: Optional[List[int]], where: str) -> Tuple[Any, Optional[List[int]]]:
        """Edges given node by node (pt.darts: a list per node of ``(op, input)`` pairs) as the flat list and the
        in-degree of each node (None where every node has two); anything else is returned as it is."""
        if not isinstance(edges, (list, tuple)) or not edges:
            return edges, degrees
        nested = [isinstance(e, (list, tuple)) and bool(e) and all(isinstance(p, (list, tuple)) for p in e)
                  for e in edges]
        if not any(nested):
            return edges, degrees
        if not all(nested):
            _fail(where, 'mixes edges listed node by node ([[(op, input), ...], ...], as pt.darts writes them) with '
                  'single edges ([op, input]); give one form')
        counts = [len(node) for node in edges]
        if not all(1 <= c <= EDGES_PER_NODE for c in counts):
            _fail(where, f'listed node by node with {counts} edges per node; a node takes 1 or {EDGES_PER_NODE}')
        if degrees is not None and degrees != counts:
            _fail(where, f'listed node by node with {counts} edges per node, but the in_degree list says {degrees}')
        flat = [edge for node in edges for edge in node]
        return flat, (None if all(c == EDGES_PER_NODE for c in counts) else counts)

    @staticmethod
    def _check_in_degree(degrees: Any, where: str) -> Optional[List[int]]:
        if degrees is None:
            return None
        if (not isinstance(degrees, (list, tuple)) or not degrees
                or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= EDGES_PER_NODE
                           for d in degrees)):
            _fail(where, f'expected a non-empty list of edge counts per node, each 1 or {EDGES_PER_NODE}, '
                  f'got {degrees!r}')
        return list(degrees)

    @staticmethod
    def _check_edges(edges: Any, where: str, primitives: Optional[Sequence[str]],
                     degrees: Optional[List[int]]) -> List[Edge]:
        if not isinstance(edges, (list, tuple)) or not edges:
            _fail(where, f'expected a non-empty list of [op, input] pairs, got {edges!r}')
        if degrees is None and len(edges) % EDGES_PER_NODE:
            _fail(where, f'{len(edges)} edges; expected {EDGES_PER_NODE} per node, so an even number')
        if degrees is not None and len(edges) != sum(degrees):
            _fail(where, f'{len(edges)} edges, but the in_degree list counts {sum(degrees)}')
        node_of = ([node for node, d in enumerate(degrees) for _ in range(d)] if degrees is not None else
                   [k // EDGES_PER_NODE for k in range(len(edges))])
        out = []
        for k, edge in enumerate(edges):
            if (not isinstance(edge, (list, tuple)) or len(edge) != 2 or not isinstance(edge[0], str)
                    or isinstance(edge[1], bool) or not isinstance(edge[1], int)):
                _fail(f'{where}[{k}]', f'expected [op name, input state], got {edge!r}')
            op, j = edge
            node = node_of[k]
            if not 0 <= j < node + NUM_CELL_INPUTS:
                _fail(f'{where}[{k}]', f'input state {j} out of range for node {node}: expected 0..{node + 1}')
            if primitives is not None and op not in primitives:
                close = difflib.get_close_matches(op, list(primitives), n=1, cutoff=0.75)
                hint = f' (did you mean {close[0]!r}?)' if close else ''
                _fail(f'{where}[{k}]', f'unknown op {op!r}{hint}; expected one of {list(primitives)}')
            out.append((op, j))
        return out

    @staticmethod
    def _check_concat(concat: Any, num_nodes: int, where: str) -> List[int]:
        concat = list(concat) if isinstance(concat, range) else concat
        if (not isinstance(concat, (list, tuple)) or not concat
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in concat)):
            _fail(where, f'expected a non-empty list of state indices, got {concat!r}')
        bad = [i for i in concat if not 0 <= i < num_nodes + NUM_CELL_INPUTS]
        if bad or len(set(concat)) != len(concat):
            _fail(where, f'states {list(concat)} must be distinct and in 0..{num_nodes + NUM_CELL_INPUTS - 1}')
        return list(concat)

    def to_file(self, path: str) -> None:
        """Writes the JSON form to ``path`` atomically (a reader never sees a half-written file)."""
        from mmdarts.utils.checkpoint_files import atomic_write
        fields = [f'  {json.dumps(k)}: {json.dumps(v)}' for k, v in self.to_dict().items()]  # one line a field
        atomic_write(str(path), ('{\n' + ',\n'.join(fields) + '\n}\n').encode())

    @classmethod
    def from_file(cls, path: str, primitives: Optional[Sequence[str]] = None,
                  num_nodes: Optional[int] = None) -> 'Genotype':
        """Reads and checks a genotype JSON file; errors start with the path."""
        try:
            with open(path) as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{path}: not valid JSON: {e}') from None
        return cls.from_dict(data, where=str(path), primitives=primitives, num_nodes=num_nodes)

    def to_text(self) -> str:
        """The original DARTS code's ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6), ...)``
        text (consecutive concats as ``range``), which that code, its forks and :func:`.parse_genotype_text` read;
        a cell with other than two edges per node (``{cell}_in_degree``) written node by node, as pt.darts does."""
        parts = []
        for cell in CELL_TYPES:
            edges = [(op, int(j)) for op, j in getattr(self, cell)]
            degrees = getattr(self, f'{cell}_in_degree')
            if degrees is None:
                parts.append(f'{cell}={edges!r}')
            else:
                starts = [sum(degrees[:i]) for i in range(len(degrees))]
                parts.append(f'{cell}={[edges[s:s + d] for s, d in zip(starts, degrees)]!r}')
            states = [int(i) for i in getattr(self, f'{cell}_concat')]
            consecutive = len(states) > 1 and states == list(range(states[0], states[-1] + 1))
            parts.append(f'{cell}_concat=' + (f'range({states[0]}, {states[-1] + 1})' if consecutive else repr(states)))
        return f'Genotype({", ".join(parts)})'

    __str__ = to_text  # the log's genotype lines read back (load_genotype), in_degree included
