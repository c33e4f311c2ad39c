import pytest
import torch
from mmpretrain.structures import DataSample

from mmdarts.models import DartsAuxClsHead


def samples(n):
    return [DataSample().set_gt_label(i % 3) for i in range(n)]


def test_auxiliary_loss_in_training_only():
    head = DartsAuxClsHead(3, 16, aux_in_channels=8, aux_weight=0.4)
    aux, last = torch.randn(4, 8, 8, 8), torch.randn(4, 16, 8, 8)
    losses = head.loss((aux, last), samples(4))
    assert set(losses) >= {'loss', 'loss_aux'}
    expected = 0.4 * torch.nn.functional.cross_entropy(head.aux_head(aux), torch.tensor([0, 1, 2, 0]))
    torch.testing.assert_close(losses['loss_aux'], expected)
    torch.testing.assert_close(losses['loss'], torch.nn.functional.cross_entropy(
        head.fc(last.mean((2, 3))), torch.tensor([0, 1, 2, 0])))
    predictions = head.predict((aux, last))
    assert len(predictions) == 4 and predictions[0].pred_score.shape == (3, )


def test_errors_name_the_fix():
    head = DartsAuxClsHead(3, 16, aux_in_channels=8)
    with pytest.raises(ValueError, match='auxiliary=True'):
        head.loss((torch.randn(2, 16, 8, 8), ), samples(2))
    with pytest.raises(ValueError, match='in_channels=16 but the last feature has 32'):
        head((torch.randn(2, 32, 8, 8), ))


def test_without_auxiliary_tower():
    head = DartsAuxClsHead(3, 16)
    assert head.aux_head is None
    assert set(head.loss((torch.randn(2, 16, 4, 4), ), samples(2))) == {'loss'}
