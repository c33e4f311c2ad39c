"""Head channels derived from DARTS backbones: never typed by hand, checked when typed."""
import copy

import pytest
import torch
from helpers import tiny_architecture
from mmengine.registry import DefaultScope

from mmdarts.models import Darts, DartsNet, DartsSupernet
from mmdarts.models.utils import complete_head_channels
from mmdarts.registry import MODELS


def three_node_genotype():
    edges = [['sep_conv_3x3', 0], ['skip_connect', 1], ['max_pool_3x3', 0], ['sep_conv_3x3', 2],
             ['dil_conv_3x3', 1], ['skip_connect', 3]]
    return dict(normal=edges, normal_concat=[2, 3, 4], reduce=edges, reduce_concat=[2, 3, 4])


@pytest.mark.parametrize('kwargs', [dict(), dict(base_channels=8, num_layers=5), dict(num_nodes=3, out_indices=(2, 4))])
def test_supernet_channels_without_building(kwargs):
    built = DartsSupernet(**kwargs)
    outputs, auxiliary = DartsSupernet.feature_channels(**kwargs)
    assert outputs == [built.out_channels[i] for i in built.out_indices] and auxiliary is None


@pytest.mark.parametrize('kwargs', [dict(base_channels=8, num_layers=5, auxiliary=True),
                                    dict(genotype=three_node_genotype(), base_channels=6, num_layers=6),
                                    dict(genotype='DARTS_V1', stem='imagenet', base_channels=8, num_layers=6,
                                         auxiliary=True, out_indices=(1, -1))])
def test_darts_net_channels_without_building(kwargs):
    built = DartsNet(**kwargs)
    outputs, auxiliary = DartsNet.feature_channels(**kwargs)
    assert outputs == [built.out_channels[i] for i in built.out_indices]
    assert auxiliary == (built.aux_channels if built.auxiliary else None)


def retrain_classifier(**backbone):
    return dict(type='ImageClassifier',
                backbone=dict(type='DartsNet', base_channels=6, num_layers=6, auxiliary=True, **backbone),
                head=dict(type='DartsAuxClsHead', num_classes=3))


def test_a_three_node_genotype_retrains_with_nothing_else_changed():
    cfg = complete_head_channels(retrain_classifier(genotype=three_node_genotype()))
    assert cfg['head']['in_channels'] == 3 * 6 * 4 and cfg['head']['aux_in_channels'] == 3 * 6 * 4
    with DefaultScope.overwrite_default_scope('mmdarts'):
        model = MODELS.build(cfg).train()
    scores = model(torch.randn(2, 3, 16, 16), mode='tensor')
    assert scores.shape == (2, 3)


def test_typed_channels_are_checked_naming_the_field():
    cfg = retrain_classifier(genotype=three_node_genotype())
    cfg['head']['in_channels'] = 96  # computed for 4 nodes
    with pytest.raises(ValueError, match=r'model.head.in_channels=96, but the backbone gives 72 channels there '
                                         r'\(the last output of DartsNet\)'):
        complete_head_channels(cfg)
    cfg = retrain_classifier(genotype='DARTS_V2')
    cfg['head'].update(in_channels=96, aux_in_channels=96)
    assert complete_head_channels(copy.deepcopy(cfg)) == cfg  # right values stay


def test_other_classifiers_and_necks_are_left_alone():
    resnet = dict(type='ImageClassifier', backbone=dict(type='ResNet_CIFAR', depth=18),
                  head=dict(type='LinearClsHead', num_classes=10))
    assert complete_head_channels(copy.deepcopy(resnet)) == resnet
    other_neck = dict(retrain_classifier(genotype='DARTS_V2'), neck=dict(type='LinearNeck', in_channels=96,
                                                                         out_channels=32))
    assert 'in_channels' not in complete_head_channels(copy.deepcopy(other_neck))['head']


def test_darts_shrinks_with_backbone_settings_alone():
    architecture = tiny_architecture(channels=3, layers=4, nodes=3)
    del architecture['head']['in_channels']
    model = Darts(architecture)
    assert model.architecture.head.fc.in_features == 3 * 3 * 4
    architecture['head']['in_channels'] = 99
    with pytest.raises(ValueError, match=r'model.architecture.head.in_channels=99, but the backbone gives 36'):
        Darts(architecture)

