"""The ATen call counter: every call, backward included, and which of them only make views (no GPU kernel)."""
import torch

from mmdarts.testing.op_count import AtenCallCounter, is_view_op


def test_counts_calls_and_tells_views_from_kernels():
    x = torch.randn(4, 6, requires_grad=True)
    with AtenCallCounter() as counter:
        y = x.view(6, 4).t().split(2)[0]  # three views
        (y * 2).sum().backward()  # mul and sum forward; the backward's calls counted too
        with torch.no_grad():
            x.add_(1)  # in place: it writes, a kernel
    assert counter.calls['view'] >= 1 and counter.calls['split'] == 1 and counter.calls['add_'] == 1
    assert counter.calls['mul'] >= 2  # forward, and the backward of the product
    views = sum(n for op, n in counter.calls.items() if op in ('view', 't', 'split', 'expand', 'detach',
                                                                  'transpose', 'unsqueeze', 'select', 'slice'))
    assert counter.views == views and 3 <= counter.views < counter.total


def test_view_ops_are_read_from_the_schema():
    ops = torch.ops.aten
    assert all(is_view_op(op) for op in (ops.view.default, ops.split.Tensor, ops.select.int, ops.detach.default))
    assert not any(is_view_op(op) for op in (ops.add.Tensor, ops.add_.Tensor, ops.clone.default, ops.cat.default))
