import pytest
import torch
from helpers import tiny_architecture
from mmpretrain.models import ImageClassifier

from mmdarts.models import DartsSupernet, DiffMutator
from mmdarts.registry import MODELS


def weights(supernet):
    return {k: torch.softmax(torch.randn(*s), -1) for k, s in supernet.search_space.items()}


def test_paper_supernet_shapes():
    net = DartsSupernet()  # 16 channels, 8 cells, 4 nodes
    assert net.reduction_layers == [2, 5]
    assert net.search_space == {'normal': (14, 8), 'reduce': (14, 8)}
    with net.arch_weights(weights(net)):
        out = net(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 256, 8, 8)
    assert net.out_channels[-1] == 256


def test_out_indices_and_in_channels():
    net = DartsSupernet(base_channels=4, num_layers=3, num_nodes=2, in_channels=1, out_indices=(0, 2))
    with net.arch_weights(weights(net)):
        out = net(torch.randn(1, 1, 16, 16))
    assert [o.shape[1:] for o in out] == [torch.Size([8, 16, 16]), torch.Size([32, 4, 4])]
    with pytest.raises(ValueError, match=r'out_indices \(-1, 2\) name a cell twice'):  # one output, counted twice
        DartsSupernet(base_channels=4, num_layers=3, out_indices=(-1, 2))


def test_forward_without_weights_says_how():
    net = DartsSupernet(base_channels=4, num_layers=3, num_nodes=2)
    with pytest.raises(RuntimeError, match='arch_weights'):
        net(torch.randn(1, 3, 8, 8))


def test_weights_of_wrong_shape_are_refused():
    net = DartsSupernet(base_channels=4, num_layers=3, num_nodes=2)
    with pytest.raises(ValueError, match=r"'reduce' weights must have shape \(5, 8\)"):
        with net.arch_weights({'normal': torch.ones(5, 8), 'reduce': torch.ones(4, 8)}):
            pass


@pytest.mark.parametrize('field,value', [('num_nodes', 0), ('base_channels', 2.5), ('num_layers', -1)])
def test_bad_arguments_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        DartsSupernet(**{field: value})


def test_usable_under_mmpretrain_classifier_with_mmdarts_prefix():
    """An mmpretrain config names mmdarts types with the 'mmdarts.' prefix."""
    cfg = tiny_architecture()
    cfg['backbone']['type'] = 'mmdarts.DartsSupernet'
    classifier = MODELS.build(cfg)
    assert isinstance(classifier, ImageClassifier)
    mutator = DiffMutator()
    mutator.prepare_from_supernet(classifier.backbone)
    with classifier.backbone.arch_weights(mutator.arch_weights()):
        logits = classifier(torch.randn(2, 3, 8, 8))
    assert logits.shape == (2, 4)


def test_too_small_images_are_refused():
    net = DartsSupernet(base_channels=4, num_layers=3, num_nodes=2)
    with pytest.raises(ValueError, match='input 3x3 is too small for 2 reductions .* at least 4x4'):
        with net.arch_weights(weights(net)):
            net(torch.randn(1, 3, 3, 3))


@pytest.mark.parametrize('num_layers', [1, 2])
def test_a_supernet_without_a_normal_cell_is_refused_naming_num_layers(num_layers):
    """With fewer than 3 cells every cell is a reduction cell: the normal α would go unused (autograd's
    'differentiated Tensor appears to not have been used in the graph' at the first α step)."""
    match = rf'num_layers={num_layers} makes every cell a reduction cell.*model.architecture.backbone.num_layers'
    with pytest.raises(ValueError, match=match):
        DartsSupernet(base_channels=4, num_layers=num_layers)
    with pytest.raises(ValueError, match=match):
        DartsSupernet.feature_channels(base_channels=4, num_layers=num_layers)
    DartsSupernet(base_channels=4, num_layers=3)
