import json

import pytest
import torch

from mmdarts.structures import Genotype, cell_edges, derive_cell

OPS = ['none', 'max_pool_3x3', 'skip_connect', 'sep_conv_3x3']


def test_cell_edges_order():
    assert cell_edges(2) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]


def test_rule_on_hand_made_weights():
    # node 0: edges from 0, 1; node 1: edges from 0, 1, 2
    w = torch.tensor([
        [0.90, 0.05, 0.03, 0.02],  # 0->node0: `none` strongest, best real op max_pool at 0.05
        [0.10, 0.10, 0.50, 0.30],  # 1->node0: skip 0.50
        [0.00, 0.20, 0.10, 0.70],  # 0->node1: sep 0.70
        [0.00, 0.40, 0.35, 0.25],  # 1->node1: max_pool 0.40
        [0.00, 0.10, 0.10, 0.80],  # 2->node1: sep 0.80
    ])
    assert derive_cell(w, OPS, 2) == [('max_pool_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 0),
                                      ('sep_conv_3x3', 2)]


def test_rule_ties_go_to_earlier_edges_and_ops():
    w = torch.full((5, 4), 0.25)
    assert derive_cell(w, OPS, 2) == [('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0),
                                      ('max_pool_3x3', 1)]


def test_rule_refuses_wrong_shapes():
    with pytest.raises(ValueError, match=r'expected \(5, 4\)'):
        derive_cell(torch.ones(4, 4), OPS, 2)
    with pytest.raises(ValueError, match='excluded'):
        derive_cell(torch.ones(5, 1), ['none'], 2)


def example() -> Genotype:
    return Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 0), ('max_pool_3x3', 2)],
                    normal_concat=[2, 3], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2),
                                                  ('max_pool_3x3', 1)], reduce_concat=[2, 3])


def test_round_trip(tmp_path):
    path = tmp_path / 'g.json'
    example().to_file(str(path))
    assert Genotype.from_file(str(path)) == example()
    assert json.loads(path.read_text())['normal'][0] == ['sep_conv_3x3', 0]
    assert example().num_nodes == 2


@pytest.mark.parametrize('change,message', [
    (lambda d: d.pop('reduce_concat'), "missing key 'reduce_concat'"),
    (lambda d: d.update(normall=[]), r"unknown keys \['normall'\]"),
    (lambda d: d['normal'].__setitem__(3, ['max_pool_3x3', 3]), r'normal\[3\]: input state 3 out of range'),
    (lambda d: d['normal'].__setitem__(1, ['skip_connect']), r'normal\[1\]: expected \[op name, input state\]'),
    (lambda d: d['reduce'].pop(), 'reduce: 3 edges; expected 2 per node'),
    (lambda d: d.update(normal_concat=[2, 9]), r'normal_concat: states \[2, 9\]'),
    (lambda d: d['normal'].extend([['skip_connect', 0], ['skip_connect', 1]]), 'normal has 3 nodes but reduce has 2'),
])
def test_malformed_files_name_the_field(tmp_path, change, message):
    data = example().to_dict()
    change(data)
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=f'{path}: .*{message}' if ': ' in message else message):
        Genotype.from_file(str(path))


def test_unknown_ops_and_node_count(tmp_path):
    path = tmp_path / 'g.json'
    example().to_file(str(path))
    with pytest.raises(ValueError, match=r"normal\[0\]: unknown op 'sep_conv_3x3'"):
        Genotype.from_file(str(path), primitives=['max_pool_3x3', 'skip_connect'])
    with pytest.raises(ValueError, match='built for 2 nodes .* expected num_nodes=4'):
        Genotype.from_file(str(path), num_nodes=4)
    path.write_text('{"normal": [')
    with pytest.raises(ValueError, match='not valid JSON'):
        Genotype.from_file(str(path))
