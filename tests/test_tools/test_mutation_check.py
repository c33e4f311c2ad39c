"""tools/mutation_check.py: its list matches the tree, and a mutant is written, judged by the tests and undone."""
from helpers import load_tool

mutation_check = load_tool('mutation_check')


def test_every_mutant_matches_the_tree():
    """Each pattern is found exactly once (a refactoring that moves one shows here, not as a silent skip)."""
    assert mutation_check.check_patterns() == []
    assert len(mutation_check.MUTANTS) >= 85


def test_a_mutant_is_caught_or_survives_and_the_file_is_restored(tmp_path, monkeypatch):
    (tmp_path / 'rule.py').write_text('def double(x):\n    return 2 * x  # the rule\n')
    (tmp_path / 'test_rule.py').write_text('from rule import double\n\n\ndef test_double():\n'
                                           '    assert double(3) == 6\n')
    monkeypatch.setattr(mutation_check, 'REPO', str(tmp_path))
    before = (tmp_path / 'rule.py').read_text()
    caught = mutation_check.Mutant('triple', 'rule.py', 'return 2 * x', 'return 3 * x', 'test_rule.py')
    harmless = mutation_check.Mutant('comment', 'rule.py', '# the rule', '# a rule', 'test_rule.py')
    assert mutation_check.check_patterns([caught, harmless]) == []
    assert mutation_check.run(caught, '0')[0] is True
    assert (tmp_path / 'rule.py').read_text() == before
    assert mutation_check.run(harmless, '0')[0] is False
    assert (tmp_path / 'rule.py').read_text() == before
    missing = mutation_check.Mutant('nowhere', 'rule.py', 'return 4 * x', 'return 5 * x', 'test_none.py')
    assert mutation_check.check_patterns([missing]) == [
        'nowhere: rule.py holds its pattern 0 times, expected once', 'nowhere: no test path test_none.py']
