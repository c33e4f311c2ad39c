"""The ``Genotype(...)`` text of the original DARTS code and its forks, read without running it.

The original code (quark0/darts ``genotypes.py``) and every fork print a genotype as a namedtuple::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=range(2, 6),
             reduce=[('max_pool_3x3', 0), ...], reduce_concat=range(2, 6))

pt.darts lists the edges node by node (``normal=[[('sep_conv_3x3', 0), ('dil_conv_5x5', 1)], ...]``); both read
here. The text is parsed with :mod:`ast` and only literals, ``range(a, b)`` and ``list(range(a, b))`` are taken:
nothing in it is executed. A file may hold several genotypes (a ``genotypes.py``, a log): ``NAME = Genotype(...)``
assignments are chosen by name, and a lone ``Genotype(...)`` anywhere in a text (a pasted log line) is found.
"""
import ast
import re
from typing import Any, Dict, List, Optional, Tuple

FIELDS = ('normal', 'normal_concat', 'reduce', 'reduce_concat')


def looks_like_genotype_text(text: str) -> bool:
    """Whether ``text`` holds a ``Genotype(`` call (spaces before the parenthesis allowed)."""
    return re.search(r'\bGenotype\s*\(', text) is not None


def _literal(node: ast.AST, where: str) -> Any:
    """The value of a literal (numbers, strings, lists, tuples, a negative number) or of ``range(a[, b[, c]])``
    and ``list(range(...))`` with integer arguments; anything else is refused, nothing is evaluated."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item, where) for item in node.elts]
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int)):
        return -node.operand.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        args = [_literal(arg, where) for arg in node.args]
        if node.func.id == 'range' and 1 <= len(args) <= 3 and all(type(a) is int for a in args):
            return list(range(*args))
        if node.func.id == 'list' and len(args) == 1 and isinstance(args[0], list):
            return args[0]
    raise ValueError(f'{where}: {ast.unparse(node)!r} is not a literal; a genotype text holds only lists of '
                     "('op', input) pairs, lists of states and range(a, b)")


def _genotype_call(call: ast.Call, where: str) -> Dict[str, Any]:
    """``Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)`` (keywords or positional) as
    the dict form."""
    if len(call.args) > len(FIELDS):
        raise ValueError(f'{where}: Genotype(...) takes {len(FIELDS)} fields {list(FIELDS)}, got {len(call.args)} '
                         'positional arguments')
    data = {name: _literal(arg, f'{where}: {name}') for name, arg in zip(FIELDS, call.args)}
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg in data:
            raise ValueError(f'{where}: Genotype(...) gives {keyword.arg or "**"} twice or by unpacking')
        data[keyword.arg] = _literal(keyword.value, f'{where}: {keyword.arg}')
    return data


def _calls_in_module(text: str) -> Optional[List[Tuple[Optional[str], ast.Call]]]:
    """``(assigned name or None, call)`` of every ``Genotype(...)`` of ``text`` read as Python; None if it is not
    Python (a log, prose around a pasted genotype)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    found = []
    for statement in tree.body:
        value = getattr(statement, 'value', None)
        targets = getattr(statement, 'targets', None) or [getattr(statement, 'target', None)]
        name = targets[0].id if len(targets) == 1 and isinstance(targets[0], ast.Name) else None
        if isinstance(value, ast.Name):  # an alias, as the DARTS code's `DARTS = DARTS_V2`
            value = next((call for n, call in reversed(found) if n == value.id), None)
        func = getattr(value, 'func', None)  # Genotype(...) or a module's, as genotypes.Genotype(...)
        if isinstance(value, ast.Call) and 'Genotype' in (getattr(func, 'id', None), getattr(func, 'attr', None)):
            found.append((name, value))
    return found


def _calls_in_text(text: str) -> List[Tuple[Optional[str], ast.Call]]:
    """Every ``[NAME = ]Genotype(...)`` found in free text: each call cut at its matching parenthesis."""
    found = []
    for match in re.finditer(r'(?:\b(?P<name>[A-Za-z_]\w*)\s*=\s*)?(?P<call>\bGenotype\s*\()', text):
        depth = 0
        for last in range(match.end() - 1, len(text)):
            depth += {'(': 1, ')': -1}.get(text[last], 0)
            if depth == 0:
                break
        else:  # no matching parenthesis
            continue
        try:
            call = ast.parse(text[match.start('call'):last + 1], mode='eval').body
        except SyntaxError:
            continue
        found.append((match.group('name'), call))
    return found


def parse_genotype_text(text: str, where: str = 'genotype', name: Optional[str] = None) -> Dict[str, Any]:
    """The dict form (as :meth:`Genotype.from_dict` takes it) of the ``Genotype(...)`` in ``text``.

    Args:
        text: Python source (``genotypes.py``), one ``Genotype(...)``, or any text holding one (a log line).
        where: named in errors (a file name).
        name: which ``NAME = Genotype(...)`` to take where ``text`` holds several.

    Raises:
        ValueError: naming ``where``: no genotype, several without a name to choose, an unknown name, or a field
            that is not a literal.
    """
    calls = _calls_in_module(text) or _calls_in_text(text)
    if not calls:
        raise ValueError(f'{where}: no Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...) '
                         'found')
    names = [n for n, _ in calls if n]
    if name is not None:
        chosen = [call for n, call in calls if n == name]
        if not chosen:
            raise ValueError(f'{where}: no genotype named {name!r}; it holds {names}')
        call = chosen[-1]
    elif len(calls) == 1:
        call = calls[0][1]
    else:
        raise ValueError(f'{where}: holds {len(calls)} genotypes {names}; choose one as {where}:NAME')
    return _genotype_call(call, where if name is None else f'{where}:{name}')

