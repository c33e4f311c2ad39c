import torch

from mmdarts.models.utils import AugmentCell, drop_path


def test_drop_path_drops_whole_samples_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(20000, 2, 2, 2)
    y = drop_path(x, 0.2, training=True)
    per_sample = y.flatten(1)
    assert ((per_sample == 0).all(1) | (per_sample == 1 / 0.8).all(1)).all()  # a sample is dropped whole or scaled
    assert abs((per_sample[:, 0] == 0).float().mean() - 0.2) < 0.02
    assert abs(y.mean() - 1) < 0.02
    assert drop_path(x, 0.2, training=False) is x and drop_path(x, 0., training=True) is x


def test_identity_edges_are_never_dropped():
    edges = [('skip_connect', 0), ('skip_connect', 1)]
    cell = AugmentCell(edges, [2], 4, 4, 4, reduction=False, reduction_prev=False).train()
    s = torch.randn(3, 4, 4, 4)
    out = cell(s, s, drop_prob=0.9)
    expected = cell.preprocess0(s) + cell.preprocess1(s)
    torch.testing.assert_close(out, expected)


def test_the_output_concatenates_the_states_of_concat_only():
    """A genotype may leave a node out of the output (the DARTS code's ``concat``, e.g. AmoebaNet's [4, 5, 6]): node
    3 here feeds node 4 but is not concatenated."""
    edges = [('sep_conv_3x3', 0), ('skip_connect', 1), ('max_pool_3x3', 2), ('dil_conv_3x3', 0),
             ('skip_connect', 3), ('sep_conv_3x3', 1)]
    torch.manual_seed(0)
    cell = AugmentCell(edges, [2, 4], 4, 4, 4, reduction=False, reduction_prev=False).eval()
    s0, s1 = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    for node in range(3):
        (a, j), (b, k) = [(cell.ops[2 * node + e], edges[2 * node + e][1]) for e in (0, 1)]
        states.append(a(states[j]) + b(states[k]))
    assert cell.out_channels == 8
    torch.testing.assert_close(cell(s0, s1), torch.cat([states[2], states[4]], 1))
