"""`grad diff --simplify`: each statement of a derivation simplified by SymPy (an optional
extra: pip install 'gradcli[sym]'), and translated back into gradcli syntax, so that the text,
LaTeX, JSON and program outputs stay gradcli formulas.

Each statement is simplified on its own, with the named intermediates it uses as symbols: the
program keeps its shared structure and stays linear in size. SymPy gets only functions whose
meaning on real numbers is gradcli's (exp, log, sqrt, the trigonometric and hyperbolic ones,
erf, atan2, abs, sign, max, min); every other op (sigmoid, softplus, relu, step, route, cbrt,
hypot, log2, log10) is an opaque function to it, kept by name, so SymPy never rewrites a
convention it does not share (step(0) = 0, route's exact 0, cbrt of a negative number). The
nodes of f itself (named intermediates such as s = sigmoid(…)) and the indicators step(…)
and sign(…), which test their argument exactly against 0, are kept as written. A
statement SymPy cannot simplify, or simplifies into something gradcli cannot write (a
Piecewise, a complex number, infinity), keeps its unsimplified form, and so does one of more
than LARGEST nodes or one that SymPy has not simplified within SECONDS.
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import UsageError
from .graph import CONST, INPUT
from .ops import OPS
from .symbolic import Derivation, Expr

INSTALL = "pip install 'gradcli[sym]'"
# A statement with more nodes than this, or that SymPy has not simplified within SECONDS, is
# left as it is: simplify's time grows much faster than the size of what it simplifies (a
# sum of 50 terms over 20 symbols can take minutes).
LARGEST = 60
SECONDS = 2.0

# gradcli op -> the SymPy function (by name in the sympy module) with the same meaning on reals
_SAME = {
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "erf": "erf",
    "atan2": "atan2",
    "abs": "Abs",
    "sign": "sign",
    "max": "Max",
    "min": "Min",
}


def require_sympy() -> Any:
    """The sympy module. Raises UsageError naming the extra when it is not installed."""
    try:
        import sympy
    except ImportError:
        raise UsageError(
            "--simplify needs SymPy, which is not installed",
            hint=f"install the optional extra: {INSTALL}",
        ) from None
    return sympy


class _NotWritable(Exception):
    """SymPy's result has a part gradcli cannot write."""


class _TooSlow(Exception):
    """SymPy did not finish within its time."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _TooSlow in the block after `seconds` (with a real-time timer signal, where there
    is one and this is the main thread; elsewhere the block runs to its end)."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    armed = [True]

    def expire(signum, frame):
        if armed[0]:  # not once the block is over: the clean-up must not be interrupted
            raise _TooSlow

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)  # inside: it may fire at once
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def simplify(derivation: Derivation) -> Derivation:
    """The derivation with every statement simplified by SymPy (see the module's doc)."""
    sympy = require_sympy()
    old = derivation.expr
    new = Expr()
    symbols: dict[str, Any] = {}  # name -> sympy Symbol
    node_of_symbol: dict[Any, int] = {}  # sympy Symbol -> node of the new expression
    for node, name in old.input_names.items():
        symbol = symbols[name] = sympy.Symbol(name, real=True)
        node_of_symbol[symbol] = new.input(name)
    names: dict[int, str] = {}
    for node in derivation.order:
        name = derivation.names[node]
        if old.finite[node]:  # a node of f itself: kept as the source has it
            made = _rebuild(old, node, derivation.names, new, node_of_symbol, symbols)
        else:
            made = _statement(sympy, old, node, derivation.names, symbols, new, node_of_symbol)
        if made in names or not new.args[made]:
            node_of_symbol[symbols.setdefault(name, sympy.Symbol(name, real=True))] = made
            continue  # the same as another statement, or a leaf: written where it is used
        names[made] = name
        node_of_symbol[symbols.setdefault(name, sympy.Symbol(name, real=True))] = made
    roots = {
        name: _statement(sympy, old, root, derivation.names, symbols, new, node_of_symbol, False)
        for name, root in derivation.roots.items()
    }
    # an intermediate that no simplified formula uses any more is not written (c = cbrt(x)
    # once 3·c²/(3·c²) is 1)
    used = new.reached(list(roots.values()))
    names = {node: name for node, name in names.items() if node in used}
    return derivation._replace(expr=new, roots=roots, names=names, order=sorted(names))


def _statement(sympy, old, node, names, symbols, new, node_of_symbol, expand=True) -> int:
    """One statement (`node`, written out, the named nodes inside it as symbols) simplified
    and rebuilt in `new`; as it was if it is too large, SymPy fails, or SymPy gives what
    gradcli cannot write."""
    if not expand and node in names:  # ∂f/∂x = s: nothing to simplify
        return node_of_symbol[symbols[names[node]]]
    atoms: dict[Any, int] = {}
    try:
        translated = _to_sympy(sympy, old, node, names, symbols, expand, atoms)
        for atom, kept in atoms.items():
            node_of_symbol[atom] = _rebuild(old, kept, names, new, node_of_symbol, symbols)
        with _deadline(SECONDS):
            simplified = sympy.simplify(translated)
        return _from_sympy(sympy, simplified, new, node_of_symbol)
    except Exception:  # SymPy is a black box here: whatever it cannot do, the statement keeps
        return _rebuild(old, node, names, new, node_of_symbol, symbols)


def _rebuild(old: Expr, root: int, names, new: Expr, node_of_symbol, symbols) -> int:
    """The expression at `root` copied into `new` as it is, named nodes inside by reference.
    Iterative: operands first, from an explicit stack."""
    done: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack[-1]
        if node in done:
            stack.pop()
            continue
        op = old.ops[node]
        if node in names and node != root:
            done[node] = node_of_symbol[symbols[names[node]]]
        elif op == INPUT:
            done[node] = new.input(old.input_names[node])
        elif op == CONST:
            done[node] = new.const(old.consts[node], old.const_names.get(node))
        else:
            waiting = [a for a in old.args[node] if a not in done]
            if waiting:
                stack.extend(waiting)
                continue
            done[node] = new.op(op, *[done[a] for a in old.args[node]])
        stack.pop()
    return done[root]


def _to_sympy(sympy, expr: Expr, root: int, names, symbols, expand: bool, atoms: dict) -> Any:
    """The expression at `root` as SymPy, named nodes (but the root, if expand) as symbols,
    and each step(…) and sign(…) as a new symbol in `atoms` (-> its node), kept as written.
    Iterative: operands first, from an explicit stack."""
    done: dict[int, Any] = {}
    stack = [root]
    while stack:
        if len(done) > LARGEST:
            raise _NotWritable("too large for SymPy to simplify in reasonable time")
        node = stack[-1]
        if node in done:
            stack.pop()
            continue
        if node in names and (node != root or not expand):
            name = names[node]
            done[node] = symbols.setdefault(name, sympy.Symbol(name, real=True))
            stack.pop()
            continue
        op = expr.ops[node]
        if op == INPUT:
            done[node] = symbols[expr.input_names[node]]
            stack.pop()
            continue
        if op == CONST:
            done[node] = _constant(sympy, expr, node)
            stack.pop()
            continue
        if op in _KEPT:
            atom = sympy.Dummy(op, real=True)
            atoms[atom] = node
            done[node] = atom
            stack.pop()
            continue
        waiting = [a for a in expr.args[node] if a not in done]
        if waiting:
            stack.extend(waiting)
            continue
        stack.pop()
        done[node] = _apply(sympy, op, [done[a] for a in expr.args[node]])
    return done[root]


def _constant(sympy, expr: Expr, node: int) -> Any:
    name = expr.const_names.get(node)
    if name == "pi":
        return sympy.pi
    if name == "e":
        return sympy.E
    value = expr.consts[node]
    if value == 0.0:
        return sympy.Integer(0)
    return sympy.Rational(*value.as_integer_ratio())  # the double exactly


def _apply(sympy, op: str, args: list) -> Any:
    if op == "add":
        return args[0] + args[1]
    if op == "sub":
        return args[0] - args[1]
    if op == "mul":
        return args[0] * args[1]
    if op == "div":
        return args[0] / args[1]
    if op == "neg":
        return -args[0]
    if op == "pow":
        return args[0] ** args[1]
    if op in _SAME:
        return getattr(sympy, _SAME[op])(*args)
    return sympy.Function(op)(*args)  # opaque: SymPy keeps it as it is


# The kinks' indicators compare values exactly (step(max(…) − aᵢ) is 0 only for a winner):
# SymPy could reorder their arguments and round a 0 into 1e-16, so each is kept as written.
_KEPT = frozenset({"step", "sign"})
_SMALL = 1000  # a rational p/q with q up to this is written p/q, any other as its double
_BACK = {sympy_name: op for op, sympy_name in _SAME.items()}


def _from_sympy(sympy, tree, new: Expr, node_of_symbol: dict) -> int:
    """A SymPy expression rebuilt as nodes of `new` (simplified as gradcli builds them).
    Iterative. Raises _NotWritable for anything without a gradcli form."""
    done: dict[Any, int] = {}
    stack = [tree]
    while stack:
        item = stack[-1]
        if item in done:
            stack.pop()
            continue
        if item.is_Symbol:
            if item not in node_of_symbol:
                raise _NotWritable(str(item))
            done[item] = node_of_symbol[item]
            stack.pop()
            continue
        if item.is_Number or item in (sympy.pi, sympy.E):
            done[item] = _number(sympy, item, new)
            stack.pop()
            continue
        kind, operands, count = _parts(sympy, item)
        waiting = [a for a in operands if a not in done]
        if waiting:
            stack.extend(waiting)
            continue
        stack.pop()
        done[item] = _build(new, kind, [done[a] for a in operands], count)
    return done[tree]


def _number(sympy, item, new: Expr) -> int:
    if item == sympy.pi:
        return new.const(math.pi, "pi")
    if item == sympy.E:
        return new.const(math.e, "e")
    if not (item.is_Rational or item.is_Float):
        raise _NotWritable(str(item))  # oo, zoo, nan, I
    value = float(item)
    if not math.isfinite(value):
        raise _NotWritable(str(item))
    return new.const(value)


def _parts(sympy, item) -> tuple[str, list, int]:
    """(kind, operands, count) for one SymPy node: kind "sum" (the first `count` operands
    added, the others subtracted), "mul" (over all operands),
    "quotient" (the product of the first `count` operands over the product of the others), or
    the gradcli op it calls."""
    if item.is_Add:  # a term with a minus sign is subtracted: x - y rather than x + -1*y
        terms = sorted(item.args, key=lambda t: t.could_extract_minus_sign())
        positive = sum(1 for t in terms if not t.could_extract_minus_sign())
        return "sum", [t if i < positive else -t for i, t in enumerate(terms)], positive
    if item.is_Mul:
        numerator, denominator = [], []
        for factor in item.args:
            base, exponent = factor.as_base_exp()
            if factor.is_Rational and not factor.is_Integer and factor.q <= _SMALL:
                numerator += [] if factor.p == 1 else [sympy.Integer(factor.p)]
                denominator.append(sympy.Integer(factor.q))  # x/2 rather than 0.5*x
            elif exponent.is_Number and exponent < 0:
                denominator.append(base if exponent == -1 else base ** (-exponent))
            else:
                numerator.append(factor)
        if not denominator:
            return "mul", numerator, 0
        return "quotient", numerator + denominator, len(numerator)
    if item.is_Pow:
        base, exponent = item.args
        if exponent == sympy.Rational(1, 2):
            return "sqrt", [base], 0
        if exponent.is_Number and exponent < 0:
            return "quotient", [base if exponent == -1 else base**-exponent], 0
        return "pow", [base, exponent], 0
    if isinstance(item, sympy.exp):
        return "exp", list(item.args), 0
    if item.is_Function:
        name = type(item).__name__
        op = _BACK.get(name, name)
        known = OPS.get(op)
        if known is not None and (known.arity is None or known.arity == len(item.args)):
            return op, list(item.args), 0
        raise _NotWritable(name)
    raise _NotWritable(type(item).__name__)


def _build(new: Expr, kind: str, nodes: list[int], count: int) -> int:
    if kind == "sum":  # the first `count` terms added, the others subtracted
        result = nodes[0] if count else new.neg(nodes[0])
        for i, node in enumerate(nodes[1:], 1):
            result = new.add(result, node) if i < count else new.sub(result, node)
        return result
    if kind == "mul":
        result = nodes[0]
        for node in nodes[1:]:
            result = new.mul(result, node)
        return result
    if kind == "quotient":
        return new.div(_product(new, nodes[:count]), _product(new, nodes[count:]))
    return new.make(kind, nodes)


def _product(new: Expr, nodes: list[int]) -> int:
    result = new.one
    for node in nodes:
        result = new.mul(result, node)
    return result
