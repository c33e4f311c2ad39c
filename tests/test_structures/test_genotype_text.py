"""Genotypes as the rest of the DARTS world writes them: the original code's Genotype(...) text, pt.darts's node by
node lists, Python in configs; each read into the same checked Genotype, and written back as text."""
import os.path as osp

import pytest
from helpers import REPO, load_tool
from mmengine.config import Config

from mmdarts.apis import check_config_or_exit, complete_model_config
from mmdarts.structures import PUBLISHED_GENOTYPES, Genotype, load_genotype, parse_genotype_text

# As the original DARTS code (quark0/darts train_search.py) logs a searched genotype: `range` concats, tuples.
DARTS_V2_LOGGED = (
    "2018-06-20 07:33:10,512 genotype = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), "
    "('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
    "('max_pool_3x3', 1)], reduce_concat=range(2, 6))")
# pt.darts writes each node's edges as a list of its own.
PT_DARTS = ("Genotype(normal=[[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], [('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], "
            "[('sep_conv_3x3', 1), ('skip_connect', 0)], [('skip_connect', 0), ('dil_conv_3x3', 2)]], "
            "normal_concat=range(2, 6), reduce=[[('max_pool_3x3', 0), ('max_pool_3x3', 1)], [('skip_connect', 2), "
            "('max_pool_3x3', 1)], [('max_pool_3x3', 0), ('skip_connect', 2)], [('skip_connect', 2), "
            "('max_pool_3x3', 1)]], reduce_concat=range(2, 6))")
GENOTYPES_PY = '''from collections import namedtuple
Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')
PRIMITIVES = ['none', 'max_pool_3x3']
DARTS_V2 = {v2}
PDARTS = {pdarts}
DARTS = DARTS_V2
'''


def darts_v2():
    return load_genotype('DARTS_V2')


def test_the_original_codes_text_reads_from_a_string_a_log_line_and_a_file(tmp_path):
    assert load_genotype(DARTS_V2_LOGGED) == darts_v2()
    assert load_genotype(PT_DARTS) == darts_v2()
    path = tmp_path / 'quark.txt'
    path.write_text('search log\n' + DARTS_V2_LOGGED + '\nmore log\n')
    assert load_genotype(str(path)) == darts_v2()


def test_a_genotypes_py_with_several_is_read_by_name(tmp_path):
    path = tmp_path / 'genotypes.py'
    path.write_text(GENOTYPES_PY.format(v2=darts_v2().to_text(), pdarts=load_genotype('PDARTS').to_text()))
    assert load_genotype(f'{path}:PDARTS') == load_genotype('PDARTS')
    assert load_genotype(f'{path}:DARTS') == darts_v2()  # an alias, as the DARTS code's `DARTS = DARTS_V2`
    with pytest.raises(ValueError, match=r"genotypes.py: holds 3 genotypes \['DARTS_V2', 'PDARTS', 'DARTS'\]; choose "
                                         r'one as .*genotypes.py:NAME'):
        load_genotype(str(path))
    with pytest.raises(ValueError, match=r"no genotype named 'GDAS'; it holds \['DARTS_V2', 'PDARTS', 'DARTS'\]"):
        load_genotype(f'{path}:GDAS')


def test_the_text_is_parsed_never_run(tmp_path):
    marker = tmp_path / 'ran'
    text = (f"Genotype(normal=open({str(marker)!r}, 'w'), normal_concat=range(2, 6), reduce=[], "
            'reduce_concat=range(2, 6))')
    with pytest.raises(ValueError, match=r"genotype: normal: \"open\(.*\)\" is not a literal"):
        load_genotype(text)
    assert not marker.exists()
    with pytest.raises(ValueError, match='no Genotype'):
        parse_genotype_text('print(1)')


def test_node_by_node_lists_give_in_degrees_and_mixed_forms_are_refused():
    fair = {'normal': [[('sep_conv_3x3', 0)], [('skip_connect', 0), ('sep_conv_3x3', 2)]], 'normal_concat': [2, 3],
            'reduce': [[('max_pool_3x3', 0), ('max_pool_3x3', 1)], [('skip_connect', 2)]], 'reduce_concat': [2, 3]}
    genotype = load_genotype(fair)
    assert genotype.normal_in_degree == [1, 2] and genotype.reduce_in_degree == [2, 1]
    assert genotype.normal == [('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 2)]
    assert load_genotype(genotype.to_text()) == genotype  # written node by node, read back
    mixed = dict(fair, normal=[('sep_conv_3x3', 0), [('skip_connect', 0), ('sep_conv_3x3', 2)]])
    with pytest.raises(ValueError, match=r'genotype: normal: mixes edges listed node by node'):
        load_genotype(mixed)
    with pytest.raises(ValueError, match=r'edges per node; a node takes 1 or 2'):
        load_genotype(dict(fair, normal=[[('sep_conv_3x3', 0), ('skip_connect', 1), ('skip_connect', 0)]]))


def test_text_round_trip_of_every_published_genotype():
    for name in PUBLISHED_GENOTYPES:
        genotype = load_genotype(name)
        text = genotype.to_text()
        assert text.startswith("Genotype(normal=[('") and 'normal_concat=range(2, 6)' in text
        assert load_genotype(text) == genotype
    assert parse_genotype_text(darts_v2().to_text())['reduce_concat'] == [2, 3, 4, 5]


def test_a_namedtuple_of_the_darts_code_is_taken():
    from collections import namedtuple
    Namedtuple = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')
    v2 = darts_v2()
    assert load_genotype(Namedtuple(v2.normal, range(2, 6), v2.reduce, range(2, 6))) == v2


def test_a_misspelled_op_is_named_with_the_file_and_a_suggestion(tmp_path):
    path = tmp_path / 'quark.txt'
    path.write_text(DARTS_V2_LOGGED.replace("('dil_conv_3x3', 2)", "('dil_conv3x3', 2)"))
    with pytest.raises(ValueError, match=rf"{path}: normal\[7\]: unknown op 'dil_conv3x3' \(did you mean "
                                         r"'dil_conv_3x3'\?\); expected one of"):
        load_genotype(str(path))
    with pytest.raises(ValueError, match=r'not valid JSON .* and no Genotype\(...\) text'):
        path.write_text('{"normal": ')
        load_genotype(str(path))


@pytest.mark.parametrize('genotype', [
    'dict(normal=[[("sep_conv_3x3", 0), ("sep_conv_3x3", 1)], [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)], '
    '[("sep_conv_3x3", 1), ("skip_connect", 0)], [("skip_connect", 0), ("dil_conv_3x3", 2)]], '
    'normal_concat=range(2, 6), reduce=[[("max_pool_3x3", 0), ("max_pool_3x3", 1)], [("skip_connect", 2), '
    '("max_pool_3x3", 1)], [("max_pool_3x3", 0), ("skip_connect", 2)], [("skip_connect", 2), ("max_pool_3x3", 1)]], '
    'reduce_concat=range(2, 6))',
    repr(PUBLISHED_GENOTYPES['DARTS_V2']),
    repr(PT_DARTS),
], ids=['pt_darts_dict', 'json_dict', 'text'])
def test_a_config_inheriting_the_retrain_config_sets_any_form_without_delete(tmp_path, genotype):
    path = tmp_path / 'my_retrain.py'
    path.write_text(f"_base_ = {osp.join(REPO, 'configs/darts_cifar10_retrain.py')!r}\n"
                    f'model = dict(backbone=dict(genotype={genotype}))\n')
    cfg = Config.fromfile(str(path))
    complete_model_config(cfg)
    assert Genotype.from_dict(cfg.model.backbone.genotype) == darts_v2()


def test_tools_read_the_text_and_name_the_file_of_a_bad_one(tmp_path):
    good, bad = tmp_path / 'quark.txt', tmp_path / 'typo.txt'
    good.write_text(DARTS_V2_LOGGED)
    bad.write_text(DARTS_V2_LOGGED.replace("('sep_conv_3x3', 0)", "('sep_conv3x3', 0)", 1))
    out = tmp_path / 'out'
    load_tool('export_genotype').export(str(good), str(out))
    assert Genotype.from_file(str(out / 'genotype.json')) == darts_v2()
    assert load_genotype(str(out / 'genotype.txt')) == darts_v2()
    assert (out / 'genotype_normal.png').exists()
    message = f"{bad}: normal[0]: unknown op 'sep_conv3x3' (did you mean 'sep_conv_3x3'?)"
    with pytest.raises(ValueError) as error:
        load_tool('plot_genotype').plot(str(bad), str(out))
    assert message in str(error.value)
    cfg = Config.fromfile(osp.join(REPO, 'configs/darts_cifar10_retrain.py'))
    cfg.model.backbone.genotype = str(bad)
    with pytest.raises(SystemExit) as error:  # what tools/get_flops.py and tools/train.py stop with
        check_config_or_exit(cfg, loaders=())
    assert message in str(error.value)
