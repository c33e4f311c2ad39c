import pytest
import torch
from mmengine.registry import DefaultScope

from mmdarts.models import DartsNet
from mmdarts.registry import MODELS
from mmdarts.structures import PUBLISHED_GENOTYPES, Genotype
from mmdarts.utils import count_model, count_parameters


def classifier(num_classes=10, **backbone):
    net = DartsNet(**backbone)
    cfg = dict(type='ImageClassifier', backbone=dict(type='DartsNet', **backbone),
               head=dict(type='DartsAuxClsHead', num_classes=num_classes,
                         in_channels=net.out_channels[-1], aux_in_channels=net.aux_channels,
                         aux_pool_stride=2 if backbone.get('stem') == 'imagenet' else 3))
    with DefaultScope.overwrite_default_scope('mmdarts'):
        return MODELS.build(cfg)


@pytest.mark.parametrize('name', ['DARTS_V1', 'DARTS_V2'])
def test_cifar_shapes(name):
    net = DartsNet(name, base_channels=8, num_layers=5, auxiliary=True).eval()
    aux, last = net(torch.randn(2, 3, 32, 32))
    assert net.reduction_layers == [1, 3] and net.aux_index == 3
    assert aux.shape == (2, 4 * 32, 8, 8) and last.shape == (2, 4 * 32, 8, 8)


@pytest.mark.parametrize('name', ['DARTS_V1', 'DARTS_V2'])
def test_imagenet_shapes(name):
    net = DartsNet(name, base_channels=8, num_layers=5, stem='imagenet').eval()
    (last, ) = net(torch.randn(1, 3, 224, 224))
    assert last.shape == (1, 4 * 32, 7, 7)


def test_paper_parameter_counts_and_multiply_adds():
    cifar = classifier(genotype='DARTS_V2', base_channels=36, num_layers=20, auxiliary=True)
    counts = count_model(cifar, (3, 32, 32))
    # the paper: 3.3M; its code logs `param size = 3.349342MB` (auxiliary tower excluded), to the parameter
    assert counts['inference_params'] == 3349342
    imagenet = classifier(genotype='DARTS_V2', base_channels=48, num_layers=14, stem='imagenet', auxiliary=True,
                          num_classes=1000)
    counts = count_model(imagenet, (3, 224, 224))
    assert round(counts['inference_params'] / 1e6, 1) == 4.7  # the paper: 4.7M
    # The paper's 574M came from an unpublished counter; convolutions and linear layers give 538M (independent
    # counts reported 523M and 545M, quark0/darts#46). This pins ours.
    assert 530e6 < counts['flops'] < 580e6


def test_genotype_sources(tmp_path):
    path = tmp_path / 'g.json'
    Genotype.from_dict(PUBLISHED_GENOTYPES['DARTS_V1']).to_file(str(path))
    from_file = DartsNet(str(path), base_channels=4, num_layers=3)
    from_name = DartsNet('DARTS_V1', base_channels=4, num_layers=3)
    assert from_file.genotype == from_name.genotype
    assert DartsNet(from_name.genotype, base_channels=4, num_layers=3).genotype == from_name.genotype
    with pytest.raises(ValueError, match=r"'DARTS_V3' is neither a genotype file nor a published genotype.*DARTS_V2"):
        DartsNet('DARTS_V3')
    bad = PUBLISHED_GENOTYPES['DARTS_V1'] | {'normal': [['sep_conv_9x9', 0]] + PUBLISHED_GENOTYPES['DARTS_V1'][
        'normal'][1:]}
    with pytest.raises(ValueError, match="unknown op 'sep_conv_9x9'"):
        DartsNet(bad, base_channels=4, num_layers=3)


def test_drop_path_is_off_in_eval_and_on_in_training():
    torch.manual_seed(0)
    net = DartsNet('DARTS_V2', base_channels=4, num_layers=3, drop_path_prob=0.5)
    x = torch.randn(8, 3, 16, 16)
    net.eval()
    ref = net(x)[0]
    net.drop_path_prob = 0.
    torch.testing.assert_close(net(x)[0], ref)  # eval: identical with or without drop path
    net.drop_path_prob = 0.5
    net.train()
    a, b = net(x)[0], net(x)[0]
    assert not torch.allclose(a, b)  # training: random paths dropped
    net.drop_path_factor = 0.  # the schedule's first epoch
    torch.testing.assert_close(net(x)[0], net(x)[0])


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="stem must be one of"):
        DartsNet(stem='mobile')
    with pytest.raises(ValueError, match='drop_path_prob'):
        DartsNet(drop_path_prob=1.0)


def test_genotype_file_errors_name_file_and_field(tmp_path):
    data = dict(PUBLISHED_GENOTYPES['DARTS_V2'])
    data['reduce'] = [list(e) for e in data['reduce']]
    data['reduce'][5] = ['conv_9x9', 2]
    path = tmp_path / 'g.json'
    path.write_text(__import__('json').dumps(data))
    with pytest.raises(ValueError, match=rf"{path}: reduce\[5\]: unknown op 'conv_9x9'; expected one of"):
        DartsNet(str(path))
    with pytest.raises(ValueError, match='the genotype has 4 nodes per cell .* num_nodes=5'):
        DartsNet('DARTS_V2', num_nodes=5)


def test_too_small_images_are_refused():
    with pytest.raises(ValueError, match='input 16x16 is too small for 2 reductions .* at least 32x32'):
        DartsNet('DARTS_V2', base_channels=4, num_layers=3, stem='imagenet')(torch.randn(1, 3, 16, 16))


@pytest.mark.parametrize('name', sorted(PUBLISHED_GENOTYPES))
def test_each_published_genotype_has_its_papers_parameter_count(name):
    """In the paper's CIFAR network (36 channels, 20 cells; ImageNet: 48 channels, 14 cells), auxiliary tower
    excluded: the count recorded with the genotype (the authors' own network code builds the same), and rounded,
    the paper's. DARTS_V1's genotype has 3.17M in the authors' code too, not Table 1's 3.3M."""
    meta = PUBLISHED_GENOTYPES[name]['meta']
    cifar = count_parameters(classifier(genotype=name, base_channels=36, num_layers=20, auxiliary=True))
    assert cifar['inference_params'] == meta['params']
    if name != 'DARTS_V1' and meta['reported_params'][0].isdigit():
        assert f'{cifar["inference_params"] / 1e6:.1f}M' == meta['reported_params'].split()[0]
    if 'imagenet_params' in meta:
        imagenet = classifier(genotype=name, base_channels=48, num_layers=14, stem='imagenet', auxiliary=True,
                              num_classes=1000)
        params = count_parameters(imagenet)['inference_params']
        assert params == meta['imagenet_params']
        assert f'{params / 1e6:.1f}M' == meta['reported_imagenet_params']
