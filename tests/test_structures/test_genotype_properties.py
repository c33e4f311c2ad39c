"""Property-based: every valid genotype round-trips and builds; every invalid one is refused with a message."""
import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdarts.models import DartsNet
from mmdarts.models.ops import DARTS_PRIMITIVES
from mmdarts.structures import Genotype, derive_cell

OPS = [p for p in DARTS_PRIMITIVES if p != 'none']


@st.composite
def cells(draw, num_nodes, degrees):
    edges = []
    for node in range(num_nodes):
        for _ in range(degrees[node]):
            edges.append((draw(st.sampled_from(OPS)), draw(st.integers(0, node + 1))))
    return edges


@st.composite
def genotypes(draw):
    n = draw(st.integers(1, 4))
    concat = draw(st.lists(st.integers(2, n + 1), min_size=1, max_size=n, unique=True))
    normal_degrees = draw(st.one_of(st.none(), st.lists(st.integers(1, 2), min_size=n, max_size=n)))
    reduce_degrees = draw(st.one_of(st.none(), st.lists(st.integers(1, 2), min_size=n, max_size=n)))
    return Genotype(normal=draw(cells(n, normal_degrees or [2] * n)), normal_concat=concat,
                    reduce=draw(cells(n, reduce_degrees or [2] * n)), reduce_concat=sorted(concat),
                    normal_in_degree=normal_degrees, reduce_in_degree=reduce_degrees)


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(genotypes())
def test_valid_genotypes_round_trip_and_build(tmp_path, genotype):
    path = tmp_path / 'g.json'
    genotype.to_file(str(path))
    assert Genotype.from_file(str(path), primitives=DARTS_PRIMITIVES) == genotype
    net = DartsNet(str(path), base_channels=2, num_layers=3).eval()
    (out, ) = net(torch.randn(1, 3, 8, 8))
    assert out.shape == (1, 2 * 4 * len(genotype.reduce_concat), 2, 2)


MUTATIONS = [
    ('drop an edge', lambda d: d['normal'].pop(), 'expected 2 per node|in_degree list counts|non-empty list'),
    ('unknown op', lambda d: d['reduce'].__setitem__(0, ['conv_13x13', 0]), "unknown op 'conv_13x13'"),
    ('input from the future', lambda d: d['normal'].__setitem__(0, [d['normal'][0][0], 99]), 'out of range'),
    ('negative input', lambda d: d['reduce'].__setitem__(-1, [d['reduce'][-1][0], -1]), 'out of range'),
    ('concat out of range', lambda d: d['normal_concat'].append(99), 'must be distinct and in'),
    ('missing key', lambda d: d.pop('normal_concat'), "missing key 'normal_concat'"),
    ('op not a string', lambda d: d['normal'].__setitem__(0, [3, 0]), 'expected \\[op name, input state\\]'),
    ('not an object', lambda d: d.clear() or d.update(x=1), 'unknown keys'),
]


@FAST
@given(genotypes(), st.sampled_from(MUTATIONS))
def test_invalid_genotypes_are_refused_with_a_message(tmp_path, genotype, mutation):
    _, mutate, message = mutation
    data = genotype.to_dict()
    mutate(data)
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        Genotype.from_file(str(path), primitives=DARTS_PRIMITIVES)


@FAST
@given(st.integers(1, 5), st.integers(0, 2**31 - 1), st.floats(0.01, 100.))
def test_any_alpha_derives_a_valid_genotype(num_nodes, seed, scale):
    edges = num_nodes * (num_nodes + 3) // 2
    alpha = scale * torch.randn(edges, len(DARTS_PRIMITIVES), generator=torch.Generator().manual_seed(seed))
    cell = derive_cell(torch.softmax(alpha, -1), DARTS_PRIMITIVES, num_nodes)
    data = dict(normal=[list(e) for e in cell], normal_concat=list(range(2, num_nodes + 2)),
                reduce=[list(e) for e in cell], reduce_concat=list(range(2, num_nodes + 2)))
    genotype = Genotype.from_dict(data, primitives=DARTS_PRIMITIVES, num_nodes=num_nodes)
    assert all(op != 'none' for op, _ in genotype.normal)
    inputs = [j for _, j in cell]
    assert all(inputs[2 * n] < inputs[2 * n + 1] for n in range(num_nodes))  # two distinct edges per node
