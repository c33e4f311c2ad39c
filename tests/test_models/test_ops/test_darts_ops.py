"""The DARTS building blocks against the plain torch computation they stand for."""
import textwrap

import pytest
import torch
import torch.nn.functional as F
from helpers import run_python

from mmdarts.models.ops import FactorizedReduce


def paper_factorized_reduce(x: torch.Tensor, op: FactorizedReduce) -> torch.Tensor:
    """The paper's code: conv_1 with stride 2 on x, conv_2 with stride 2 on a zero-padded shifted copy."""
    x = F.relu(x)
    shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
    return torch.cat([F.conv2d(x, op.conv1.weight, None, 2), F.conv2d(shifted, op.conv2.weight, None, 2)], 1)


@pytest.mark.parametrize('channels', [2, 4, 8])
@pytest.mark.parametrize('channels_last', [False, True], ids=['contiguous', 'channels_last'])
@pytest.mark.parametrize('size', [8, 7])
def test_factorized_reduce_equals_the_papers_reduce_skip(channels, channels_last, size):
    op = FactorizedReduce(channels, 2 * channels, affine=False).double()
    x = torch.randn(3, channels, size, size, dtype=torch.float64)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    x.requires_grad_()
    out = op.reduced(op.act(x))
    expected = paper_factorized_reduce(x, op)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    grads = torch.autograd.grad(out.square().sum(), [x, op.conv1.weight, op.conv2.weight])
    expected_grads = torch.autograd.grad(expected.square().sum(), [x, op.conv1.weight, op.conv2.weight])
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_factorized_reduce_of_few_channels_last_channels_survives_its_weight_gradient():
    """On AVX2 CPUs torch 2.13's oneDNN corrupts the heap computing the weight gradient of a channels-last 1x1
    stride-2 conv of fewer than 8 input channels (a crash, or a search that hangs): run in a process of its own,
    with the heap churned afterwards, and checked against float64; then the reduce skips of the per-edge plan's
    waves, as a PC-DARTS cell of few channels per edge runs them (K = 4 left one: the search hung)."""
    script = textwrap.dedent('''
        import torch
        from mmdarts.models.ops import FactorizedReduce
        for channels in range(1, 8):
            for size in (32, 16):
                torch.manual_seed(channels)
                op = FactorizedReduce(channels, 2, affine=False)
                x = torch.randn(8, channels, size, size).to(memory_format=torch.channels_last)
                grad = torch.autograd.grad(op.reduced(x).sum(), op.conv1.weight)[0]
                reference = FactorizedReduce(channels, 2, affine=False).double()
                reference.load_state_dict(op.state_dict())
                out = reference.reduced(x.double().contiguous())
                expected = torch.autograd.grad(out.sum(), reference.conv1.weight)[0]
                assert torch.allclose(grad.double(), expected, rtol=1e-4, atol=1e-4), (channels, size)
                for _ in range(20):
                    junk = [bytearray(1000) for _ in range(200)]
                    torch.randn(5000).sum()
        from mmdarts.models.search import SearchCell
        for channels in (2, 4, 6):  # a reduce skip's output channels are even
            cell = SearchCell(2, channels, channels, channels, True, False, ['skip_connect'], edge_layout='per_edge')
            s = torch.randn(8, channels, 16, 16).to(memory_format=torch.channels_last)
            cell.train()(s, s, torch.ones(len(cell.edges), 1)).sum().backward()
            for _ in range(20):
                junk = [bytearray(1000) for _ in range(200)]
                torch.randn(5000).sum()
        print('ok')
    ''')
    result = run_python(['-c', script], timeout=120, threads=1)
    assert result.returncode == 0 and 'ok' in result.stdout, (result.returncode, result.stderr[-2000:])
