"""The gradient as a formula: the backward pass run symbolically over the parsed graph.

Every adjoint becomes a node of a new expression DAG: upstream × local, summed at forks, with
each op's local derivative read from the op table (Op.symbolic). Nodes are hash-consed, so a
subexpression built twice is one node, and simplified as they are made (constant folding,
x·1, x + 0, 0·x where x is known finite, --x, x^1, x·x = x^2, constant coefficients collected
and written first: 2·(3·x) = 6·x, 2·x + 3·x = 5·x). The walk is one reverse sweep
over the graph's topological order and printing uses explicit stacks: nothing recurses, so a
formula nested 100,000 deep works and the program grows linearly with the graph.

The result is plain data: the formulas in gradcli syntax, and a gradcli program that computes
them (shared intermediates named, one statement per derivative).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from .engine import Tape
from .errors import UsageError
from .graph import CONST, INPUT, Graph, gc_paused
from .ops import CONSTANTS, FUNCTIONS, OPS, _ratio
from .request import wrt_names

# Arithmetic folded into one constant when all its operands are constants. Calls such as
# log(2) stay as written: they read better than 0.6931471805599453.
_FOLDED = frozenset({"add", "sub", "mul", "div", "neg", "pow"})
# A shared subexpression at most this big (counting named operands as 1) is written out at
# each use rather than named: s·(1 − s) reads better than a name for it.
INLINE_SIZE = 5
# How many factors of a product _scale walks to put a constant first: constant work per node.
SCALE_DEPTH = 4


def _coefficient(k: float, *factors: float) -> float | None:
    """k, the product of the nonzero constants `factors`, if it may stand folded as one
    coefficient: a finite, normal number (one that overflows or underflows is left unfolded,
    so no finite result becomes inf, nan or 0, or loses its digits), written no longer than
    the longer factor and one more digit (2·400 is 800, 12·12 is 144, but 0.941·1.277 stays:
    1.2016569999999998)."""
    if not (math.isfinite(k) and abs(k) >= sys.float_info.min):
        return None
    written = max(len(gradcli_number(abs(f))) for f in factors)
    return k if len(gradcli_number(abs(k))) <= written + 1 else None


_SIGN = {"add": 1.0, "sub": -1.0}


def _exact_sum(a: float, b: float) -> float | None:
    """a + b if that double is the exact sum (no rounding: its error term is 0), else None."""
    total = a + b
    if not math.isfinite(total):
        return None
    b_part = total - a
    error = (a - (total - b_part)) + (b - b_part)  # Knuth's TwoSum
    return total if error == 0.0 else None


class Expr:
    """An expression DAG under construction: the algebra Op.symbolic rules build with.
    Node i is ops[i] ("input", "const" or an op name) over args[i]; operands come first."""

    def __init__(self) -> None:
        self.ops: list[str] = []
        self.args: list[tuple[int, ...]] = []
        self.consts: dict[int, float] = {}
        self.const_names: dict[int, str] = {}  # pi, e
        self.input_names: dict[int, str] = {}
        self.finite: list[bool] = []  # known finite wherever the forward pass succeeds
        self.stems: dict[int, str] = {}  # a node's name stem if it is named: s for a logistic
        self.coefficients: dict[int, tuple[float, int]] = {}  # k·t products: node -> (k, t)
        self._interned: dict[tuple, int] = {}
        self.zero = self.const(0.0)
        self.one = self.const(1.0)

    # --- leaves --------------------------------------------------------------------------
    def _make(self, key: tuple, op: str, args: tuple[int, ...], finite: bool) -> int:
        node = self._interned.get(key)
        if node is None:
            node = len(self.ops)
            self.ops.append(op)
            self.args.append(args)
            self.finite.append(finite)
            self._interned[key] = node
        return node

    def const(self, value: float, name: str | None = None) -> int:
        # keyed by the bits: 0.0 and -0.0 are two constants
        node = self._make((CONST, math.copysign(1.0, value), value, name), CONST, (), True)
        self.consts[node] = value
        if name:
            self.const_names[node] = name
        return node

    def input(self, name: str) -> int:
        node = self._make((INPUT, name), INPUT, (), True)
        self.input_names[node] = name
        return node

    def value(self, node: int) -> float | None:
        return self.consts.get(node)

    # --- operations, simplified as they are made -----------------------------------------
    def op(self, name: str, *args: int) -> int:
        """Node for op `name` over args, unsimplified except constant folding."""
        if name in _FOLDED and all(
            a in self.consts and a not in self.const_names for a in args
        ):  # 2·pi stays 2·pi
            values = [self.consts[a] for a in args]
            try:
                value = OPS[name].forward(*values)
            except (ArithmeticError, ValueError):
                value = math.nan
            if name in ("add", "sub") and _exact_sum(values[0], values[1] * _SIGN[name]) is None:
                value = math.nan  # 1 + 1e17 rounds: folded, 1 + 1e17 − 1e17 would read 0
            if math.isfinite(value):
                return self.const(value)
        node = self._make((name, args), name, args, False)
        if name == "mul" and node not in self.coefficients:
            a, b = args
            k = self.plain(a)
            if k is not None and b not in self.consts and b not in self.coefficients:
                self.coefficients[node] = (k, b)  # (c·(m·u), unfolded, keeps its order)
            elif a in self.coefficients:  # (k·t)·b is k·(t·b): the constant sits leftmost
                k, t = self.coefficients[a]
                self.coefficients[node] = (k, self.op("mul", t, b))
        return node

    def plain(self, node: int) -> float | None:
        """The value of an unnamed constant (2, not pi), else None."""
        return None if node in self.const_names else self.consts.get(node)

    def _term(self, node: int) -> tuple[float, int]:
        """(k, t) for a node k·t (a product whose leftmost factor is the constant k, or −t
        with k = −1), else (1, node): for collecting constant coefficients and like terms."""
        if node in self.coefficients:
            return self.coefficients[node]
        if self.ops[node] == "neg":
            return -1.0, self.args[node][0]
        return 1.0, node

    def _scale(self, k: float, t: int) -> int:
        """k·t with the constant written first: flat where t's product chain is short
        (2·x·y, not 2·(x·y)), else k·(…)."""
        flat = self._flat(k, t)
        return self.op("mul", self.const(k), t) if flat is None else flat

    def _flat(self, k: float, t: int) -> int | None:
        """k·t as a flat product with k first (k·x·y for t = x·y), or None if t's product
        chain is longer than SCALE_DEPTH: constant work per node."""
        if k == 1.0:
            return t
        if k == -1.0:
            return self.neg(t)
        factors = []
        bottom = t
        while self.ops[bottom] == "mul" and bottom not in self.coefficients:
            if len(factors) == SCALE_DEPTH:
                return None
            bottom, factor = self.args[bottom]
            factors.append(factor)
        scaled = self.op("mul", self.const(k), bottom)
        for factor in reversed(factors):
            scaled = self.op("mul", scaled, factor)
        return scaled

    def _like_terms(self, a: int, b: int, sign: float) -> int | None:
        """k·t ± m·t as (k ± m)·t (x + x is 2·x, 2·x − 3·x is −x), or None."""
        if a in self.consts or b in self.consts:
            return None
        (k, t), (m, u) = self._term(a), self._term(b)
        if t != u:
            return None
        total = _exact_sum(k, sign * m)  # (k + m)·t is an identity only if k + m is exact:
        if total is None:  # 1e17·x − 1e17·x + x is x, not (1e17 + 1 − 1e17)·x = 0
            return None
        return self.mul(self.const(total), t)

    def _negative(self, node: int) -> int | None:
        """t for a node −t or k·t with k < 0 written (−k)·t, else None: a + (−2·x) is written
        a − 2·x."""
        k, t = self._term(node)
        return self._flat(-k, t) if k < 0 and t != node else None

    def add(self, a: int, b: int) -> int:
        like = self._like_terms(a, b, 1.0)
        if like is not None:
            return like
        if self.value(b) == 0.0:
            return a
        if self.value(a) == 0.0:
            return b
        minus_b = self._negative(b)
        if minus_b is not None:
            return self.sub(a, minus_b)
        minus_a = self._negative(a)
        if minus_a is not None:
            return self.sub(b, minus_a)
        vb = self.plain(b)
        if vb is not None and vb < 0.0:  # an unfolded sum: 1 − 1e17, not 1 + −1e17
            return self.sub(a, self.const(-vb))
        return self.op("add", a, b)

    def sub(self, a: int, b: int) -> int:
        if self.value(b) == 0.0:
            return a
        if self.value(a) == 0.0:
            return self.neg(b)
        minus_b = self._negative(b)
        if minus_b is not None:
            return self.add(a, minus_b)
        like = self._like_terms(a, b, -1.0)  # x - x is 0 where x is finite
        if like is not None:
            return like
        return self.op("sub", a, b)

    def neg(self, a: int) -> int:
        if self.ops[a] == "neg":
            return self.args[a][0]
        if a in self.consts and not self.const_names.get(a):
            return self.const(-self.consts[a])
        k, t = self._term(a)
        flat = self._flat(-k, t) if t != a else None
        if flat is not None:
            return flat  # −(2·x) is −2·x: exact
        return self.op("neg", a)  # (a long product: −(…) keeps using the node a)

    def mul(self, a: int, b: int) -> int:
        va, vb = self.value(a), self.value(b)
        if va == 1.0:
            return b
        if vb == 1.0:
            return a
        if va == -1.0:
            return self.neg(b)
        if vb == -1.0:
            return self.neg(a)
        if (va == 0.0 and self.finite[b]) or (vb == 0.0 and self.finite[a]):
            return self.zero  # 0·x is 0 only for a finite x: 0·inf is undefined
        if self.ops[a] == "neg" and self.ops[b] == "neg":
            return self.mul(self.args[a][0], self.args[b][0])
        if self.ops[a] == "neg":
            return self.neg(self.mul(self.args[a][0], b))
        if self.ops[b] == "neg":
            return self.neg(self.mul(a, self.args[b][0]))
        if self.ops[b] == "div" and self.value(self.args[b][0]) == 1.0:
            return self.div(a, self.args[b][1])  # u · (1/x) is u / x
        logistic = self._logistic(a, b)
        if logistic is not None:
            return logistic
        if vb is not None and va is None:
            a, b = b, a  # a constant factor first: 2·x
            va, vb = vb, va
        if vb is not None:
            return self.op("mul", a, b)  # constants with a name: 2·pi
        c = self.plain(a)
        if c is not None:  # c·(m·u) is (c·m)·u; c·x·y stays flat
            distributed = self._distribute(c, b)
            if distributed is not None:
                return distributed
            m, u = self._term(b)
            k = _coefficient(c * m, c, m)
            return self._scale(k, u) if k is not None else self._scale(c, b)
        if va is not None:
            return self.op("mul", a, b)
        (k, t), (m, u) = self._term(a), self._term(b)
        if t != a or u != b:  # (k·t)·(m·u) is (k·m)·(t·u): y·(2·x) is 2·y·x
            coefficient = _coefficient(k * m, k, m)
            if coefficient is not None:
                # c·x·x is c·x² only for |c| ≥ 1: for a smaller c, x² may overflow first
                product = self.mul(t, u) if abs(coefficient) >= 1.0 else self.op("mul", t, u)
                # (k·t)·u is already k·t·u, and keeps using the node k·t, which may be shared
                if u != b or product != self.op("mul", t, u):
                    flat = self._flat(coefficient, product)
                    if flat is not None:  # (else k·(…) would only move the parentheses)
                        return flat
        base_a, exp_a = self._power(a)
        base_b, exp_b = self._power(b)
        if base_a == base_b and exp_a is not None and exp_b is not None:
            return self.pow(base_a, self.const(exp_a + exp_b))  # x^a · x^b = x^(a+b)
        return self.op("mul", a, b)

    def _distribute(self, c: float, node: int) -> int | None:
        """c·(m ± k·t) as c·m ± (c·k)·t for a constant m and a coefficient k ≠ ±1 (either
        order), which is never longer: 2·(3·x + 1) is 6·x + 2. Else None. Only over one
        constant-coefficient term and a constant: two such terms could cancel, and c times
        each of them overflow where c times their sum does not; against a constant m, (c·k)·t
        can exceed |c·(m ± k·t)| by at most |c·m|, which must stay below the rounding of the
        largest double (2^960)."""
        if self.ops[node] not in ("add", "sub"):
            return None
        p, q = self.args[node]
        m = self.plain(p)
        term = q
        if m is None:
            m, term = self.plain(q), p
        if m is None:
            return None
        k, t = self._term(term)
        ck = _coefficient(c * k, c, k)
        if (
            t == term
            or k in (1.0, -1.0)
            or ck is None
            or _coefficient(c * m, c, m) is None
            or not abs(c * m) <= 2.0**960
        ):
            return None
        scaled, constant = self._scale(ck, t), self.const(c * m)
        if term == q:
            return self.make(self.ops[node], (constant, scaled))
        return self.make(self.ops[node], (scaled, constant))

    def _logistic(self, a: int, b: int) -> int | None:
        """s/d·e as s·(1 − s), where s = 1/d and d = 1 + e: what the quotient rule makes of the
        logistic 1/(1 + exp(−z)) (and the power rule of (1 + exp(−z))^-1: d^-2·e), written as
        the lecture writes it. An identity (e/d = 1 − s)
        wherever d ≠ 0, and s lies in (0, 1] for e ≥ 0, so nothing new overflows. Also inside
        a product: u·(s/d)·e is u·s·(1 − s). None if a·b is not of that form."""
        for factor, other in ((a, b), (b, a)):
            outer = None
            if self.ops[factor] == "mul":
                outer, factor = self.args[factor]
            s, d = self._over_one_plus(factor)
            if s is not None and self.args[d] in ((self.one, other), (other, self.one)):
                self.stems.setdefault(s, "s")
                # (mul would write u·s as u/d, hiding s)
                first = s if outer is None else self.op("mul", outer, s)
                return self.mul(first, self.sub(self.one, s))
        return None

    def _over_one_plus(self, node: int) -> tuple[int | None, int]:
        """(s, d) where node is s/d with s = 1/d (or d^-2 with s = d^-1, the forward node)
        and d a sum, else (None, node)."""
        if self.ops[node] == "div":
            s, d = self.args[node]
            if self.ops[s] == "div" and self.args[s] == (self.one, d) and self.ops[d] == "add":
                return s, d
        if self.ops[node] == "pow" and self.value(self.args[node][1]) == -2.0:
            d = self.args[node][0]
            s = self._interned.get(("pow", (d, self.const(-1.0))))
            if s is not None and self.ops[d] == "add":
                return s, d
        return None, node

    def _power(self, node: int) -> tuple[int, float | None]:
        """(base, positive integer exponent) of x or x^k, or (node, None)."""
        if self.ops[node] == "pow":
            base, exponent = self.args[node]
            k = self.value(exponent)
            if k is not None and k > 0 and k.is_integer():
                return base, k
            return node, None
        if node in self.consts:
            return node, None
        return node, 1.0

    def div(self, a: int, b: int) -> int:
        if self.value(b) == 1.0:
            return a
        if self.ops[a] == "neg":
            return self.neg(self.div(self.args[a][0], b))
        if self.ops[b] == "neg":
            return self.neg(self.div(a, self.args[b][0]))
        return self.op("div", a, b)

    def pow(self, a: int, b: int) -> int:
        k = self.value(b)
        if k == 1.0:
            return a
        if k == 0.0:
            return self.one  # x^0 is 1 for every x, 0^0 included
        return self.op("pow", a, b)

    def route(self, k: int, v: int) -> int:
        """k·v, but exactly 0 where k is 0, whatever v is (inf, nan): how a routing op (relu,
        abs, max, min) sends the upstream gradient v on with its local derivative k, as the
        engine does. Written k·v where v is known finite, and k where v is 1."""
        if self.value(k) == 0.0:
            return self.zero
        if self.value(v) == 1.0:
            return k
        if self.finite[v] or self.value(k) is not None:
            return self.mul(k, v)
        if self.ops[v] == "neg":
            return self.neg(self.route(k, self.args[v][0]))
        return self.op("route", k, v)

    def call(self, name: str, *args: int) -> int:
        return self.make(name, args)

    def reached(self, roots: Sequence[int]) -> set[int]:
        """The nodes the roots are computed from, the roots included (an explicit stack)."""
        found, stack = set(roots), list(roots)
        while stack:
            for a in self.args[stack.pop()]:
                if a not in found:
                    found.add(a)
                    stack.append(a)
        return found

    def total(self, terms: Sequence[int]) -> int:
        """The sum of the terms (at least one), added in their order."""
        result = terms[0]
        for term in terms[1:]:
            result = self.add(result, term)
        return result

    def make(self, name: str, args: Sequence[int]) -> int:
        """Any op by name, through its simplifying constructor if it has one."""
        if name == "id":
            return args[0]
        simplify = {
            "add": self.add,
            "sub": self.sub,
            "mul": self.mul,
            "div": self.div,
            "neg": self.neg,
            "pow": self.pow,
            "route": self.route,
        }.get(name)
        return simplify(*args) if simplify is not None else self.op(name, *args)


class Derivation(NamedTuple):
    """The gradient as formulas over one expression DAG."""

    graph: Graph
    expr: Expr
    wrt: list[str]
    roots: dict[str, int]  # input name -> node of d output / d input
    names: dict[int, str]  # node -> name, for the intermediates written as statements
    order: list[int]  # the named intermediates, operands first
    statement_names: dict[str, str]  # input name -> the program's name for its derivative


def derive(graph: Graph, wrt: Sequence[str] | None = None) -> Derivation:
    """The derivative of the graph's output with respect to each input in `wrt` (all by
    default), as formulas. Raises UsageError naming an op whose derivative has no formula."""
    expr, node_of, roots = adjoints(graph, wrt)
    return written(graph, expr, node_of, roots, lambda name: f"d{name}")


def adjoints(
    graph: Graph, wrt: Sequence[str] | None = None
) -> tuple[Expr, list[int], dict[str, int]]:
    """The backward pass run symbolically: the expression DAG, the node in it of each graph
    node, and the node of ∂ output / ∂ input for each input of `wrt` (all by default)."""
    wrt = list(graph.inputs) if wrt is None else list(wrt)
    expr = Expr()
    count = len(graph.ops)
    with gc_paused():
        # forward: the graph's nodes as expressions (finite wherever the forward pass works)
        node_of = [0] * count
        for node, (op, args) in enumerate(zip(graph.ops, graph.args, strict=True)):
            if op == INPUT:
                node_of[node] = expr.input(graph.names[node])
            elif op == CONST:
                node_of[node] = expr.const(graph.consts[node], graph.names[node])
            else:
                made = expr.make(op, [node_of[a] for a in args])
                expr.finite[made] = True  # as every value of the forward pass is
                node_of[node] = made
        # which nodes lead to an input we differentiate by: only those need an adjoint
        wanted = {graph.inputs[n] for n in wrt}
        needed = [False] * count
        for node in range(count):
            needed[node] = node in wanted or any(needed[a] for a in graph.args[node])
        # backward: adjoint = Σ over users of upstream × local, in reverse topological order
        parts: list[list[int] | None] = [None] * count
        parts[graph.output] = [expr.one]
        for node in range(count - 1, -1, -1):
            terms = parts[node]
            if not terms or not graph.args[node]:
                continue
            upstream = expr.total(terms)
            parts[node] = [upstream]  # one node: the rest are no longer needed
            op = graph.ops[node]
            args = graph.args[node]
            rule = OPS[op].symbolic
            if rule is None:
                raise UsageError(
                    f"grad diff has no formula for the derivative of {op}",
                    hint=f"the op table (gradcli/ops.py) needs a symbolic rule for {op}",
                )
            local = rule(expr, *[node_of[a] for a in args], node_of[node])
            routes = OPS[op].routes  # a local 0 is a switch: exactly 0 is sent, as the engine does
            for a, d in zip(args, local, strict=True):
                if needed[a]:
                    contribution = expr.route(d, upstream) if routes else expr.mul(upstream, d)
                    if parts[a] is None:
                        parts[a] = [contribution]
                    else:
                        parts[a].append(contribution)
        roots = {name: expr.total(parts[graph.inputs[name]] or [expr.zero]) for name in wrt}
    return expr, node_of, roots


def written(
    graph: Graph, expr: Expr, node_of: list[int], roots: dict, name: Callable[[Any], str]
) -> Derivation:
    """The Derivation of `roots` (key -> node, in the order to write them): the shared
    intermediates named, and each root's statement named `name(key)` or, where that is
    taken, with `_` added."""
    names, order = _name_intermediates(graph, expr, node_of, list(roots.values()))
    taken = set(names.values()) | _taken_names(graph)
    statement_names = {}
    for key in roots:
        chosen = name(key)
        while chosen in taken:
            chosen += "_"
        taken.add(chosen)
        statement_names[key] = chosen
    return Derivation(graph, expr, list(roots), roots, names, order, statement_names)


def differentiate(
    graph: Graph,
    wrt: Sequence[str] | None,
    point: Mapping[str, float] | None,
    tape: Tape | None = None,
    rule: Callable[[Graph, list[str]], Derivation] | None = None,
) -> tuple[Derivation, dict[int, Value] | None]:
    """What `grad diff` and the REPL's :diff show: the derivation (by `rule`, default `derive`;
    hessian.second_derivatives' for the second derivatives), and its values at `point` (None:
    formulas only). Raises UsageError for a formula without inputs or a bad `wrt`, and
    DomainError where f itself is undefined at the point, as `grad eval` does."""
    if point is not None:
        (tape or Tape(graph)).forward(point)
    names = wrt_names(graph, None if wrt is None else list(wrt))
    if not names:
        raise UsageError("nothing to differentiate: the formula has no inputs")
    derivation = (rule or derive)(graph, names)
    return derivation, None if point is None else evaluate(derivation, point)


def given_point(graph: Graph) -> dict[str, float] | None:
    """The program's own values when it gives every input one (then the formulas are
    evaluated there too), else None."""
    if graph.inputs and all(n in graph.defaults for n in graph.inputs):
        return {n: graph.defaults[n] for n in graph.inputs}
    return None


def _taken_names(graph: Graph) -> set[str]:
    return {n for n in graph.names if n} | set(graph.inputs) | set(CONSTANTS) | set(FUNCTIONS)


def _name_intermediates(
    graph: Graph, expr: Expr, node_of: list[int], roots: list[int]
) -> tuple[dict[int, str], list[int]]:
    """Which nodes become named statements: the graph's own named nodes, and every shared
    subexpression too big to write out at each use. Returns the names and their order."""
    count = len(expr.ops)
    uses = [0] * count
    reached = [False] * count
    for root in roots:
        uses[root] += 1
        reached[root] = True
    for node in range(count - 1, -1, -1):  # operands have smaller ids than their users
        if reached[node]:
            for a in expr.args[node]:
                uses[a] += 1
                reached[a] = True
    given: dict[int, str] = {}
    for node, name in enumerate(graph.names):
        if name and graph.ops[node] not in (INPUT, CONST):
            given.setdefault(node_of[node], name)
    taken = _taken_names(graph)
    names: dict[int, str] = {}
    size = [1] * count
    counters: dict[str, int] = {}
    for node in range(count):
        if not reached[node] or not expr.args[node]:
            continue
        size[node] = 1 + sum(1 if a in names else size[a] for a in expr.args[node])
        name = given.get(node)
        if name is None and uses[node] > 1 and size[node] > INLINE_SIZE:
            calls, smaller = ([], 0) if node in expr.stems else _calls_inside(expr, node, names)
            if calls:  # name them instead, and write the node out: 1 − t² with t = tanh(z)
                for call in calls:
                    names[call] = _fresh_name(expr, call, taken, counters)
                size[node] = smaller
                continue
            name = _fresh_name(expr, node, taken, counters)
        if name is not None:
            names[node] = name
            taken.add(name)
            size[node] = 1
    return names, sorted(names)  # operands first: they have the smaller ids


def _fresh_name(expr: Expr, node: int, taken: set[str], counters: dict[str, int]) -> str:
    """A name for an intermediate after its operation (s, u, u2, ex, …), not yet taken; it is
    added to `taken`."""
    op = OPS[expr.ops[node]]
    stem = expr.stems.get(node) or ("u" if op.infix else op.name[0])
    if stem in CONSTANTS:  # e is Euler's number: exp(…) is ex
        stem = op.name[:2]
    while True:
        counters[stem] = counters.get(stem, 0) + 1
        number = counters[stem]
        name = stem if number == 1 else f"{stem}{number}"
        if name not in taken:
            taken.add(name)
            return name


def _calls_inside(expr: Expr, node: int, names: Mapping[int, str]) -> tuple[list[int], int]:
    """The calls (non-infix ops) in the arithmetic around a shared `node` which, once named,
    leave it small enough to write out at each use (1 − t² with t = tanh(z) reads better than
    one name for 1 − tanh(z)²), and the node's size then. No calls if there are none or the
    node stays too big. Stops after INLINE_SIZE nodes: constant work per node."""
    calls: list[int] = []
    size = 1
    stack = list(expr.args[node])
    while stack:
        current = stack.pop()
        size += 1
        if size > INLINE_SIZE:
            return [], size
        if current in names or not expr.args[current]:
            continue
        if OPS[expr.ops[current]].infix:
            stack.extend(expr.args[current])
        elif current not in calls:
            calls.append(current)
    return calls, size


# --- printing ------------------------------------------------------------------------------
class Notation(NamedTuple):
    """How to write each op: a template of its operands ({0}, {1}), its precedence and the
    least precedence each operand needs without parentheses. Precedence: 1 sums, 2 products,
    3 unary minus, 4 powers, 5 atoms."""

    infix: dict[str, tuple[list, int, tuple[int, ...]]]  # pieces: text, or operand index
    call: tuple[str, str]  # around a call's arguments
    separator: str  # between a call's arguments
    parens: tuple[str, str]
    number: Callable[[float], str]  # a constant as written
    function: Callable[[str], str]  # an op's name as written


def gradcli_number(value: float) -> str:
    """A number the language reads back exactly: 2, 0.5, 1e-300, -3."""
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return "-0"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


GRADCLI = Notation(
    infix={
        "add": ([0, " + ", 1], 1, (1, 2)),
        "sub": ([0, " - ", 1], 1, (1, 2)),
        "mul": ([0, "*", 1], 2, (2, 4)),
        "div": ([0, "/", 1], 2, (2, 4)),
        "neg": (["-", 0], 3, (4,)),
        "pow": ([0, "^", 1], 4, (5, 5)),
    },
    call=("(", ")"),
    separator=", ",
    parens=("(", ")"),
    number=gradcli_number,
    function=lambda name: name,
)


def write(
    expr: Expr,
    node: int,
    names: Mapping[int, str],
    notation: Notation = GRADCLI,
    expand_root: bool = True,
) -> list[tuple[str, str]]:
    """The expression at `node` as pieces (text, kind), kind being "" for symbols, "name",
    "number" or "function"; named nodes are referred to by name (the root is written out
    unless expand_root is False). Iterative: an explicit stack, never recursion."""
    out: list[tuple[str, str]] = []
    stack: list = [(node, 0, expand_root)]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple) and len(item) == 2:
            out.append(item)
            continue
        current, need, expand = item
        if current in names and not expand:
            out.append((names[current], "name"))
            continue
        op = expr.ops[current]
        if op == INPUT:
            out.append((expr.input_names[current], "name"))
            continue
        if op == CONST:
            name = expr.const_names.get(current)
            value = expr.consts[current]
            text = name or notation.number(value)
            if need > 2 and (value < 0 or text.startswith("-")):
                out.extend([(notation.parens[0], ""), (text, "number"), (notation.parens[1], "")])
            else:
                out.append((text, "name" if name else "number"))
            continue
        args = expr.args[current]
        pushed: list = []
        if op in notation.infix:
            pieces, precedence, needs = notation.infix[op]
            wrap = precedence < need
            if wrap:
                pushed.append((notation.parens[0], ""))
            for piece in pieces:
                if isinstance(piece, int):
                    pushed.append((args[piece], needs[piece], False))
                else:
                    pushed.append((piece, ""))
            if wrap:
                pushed.append((notation.parens[1], ""))
        else:
            pushed.append((notation.function(op), "function"))
            pushed.append((notation.call[0], ""))
            for i, a in enumerate(args):
                if i:
                    pushed.append((notation.separator, ""))
                pushed.append((a, 0, False))
            pushed.append((notation.call[1], ""))
        stack.extend(reversed(pushed))
    return out


def text(pieces: list[tuple[str, str]]) -> str:
    return "".join(piece for piece, _ in pieces)


def formulas(derivation: Derivation) -> dict[str, str]:
    """Each input's derivative in gradcli syntax, referring to the named intermediates."""
    expr, names = derivation.expr, derivation.names
    return {
        name: text(write(expr, root, names, expand_root=False))
        for name, root in derivation.roots.items()
    }


def program(derivation: Derivation) -> str:
    """A gradcli program computing every derivative: the inputs' own values the source gives,
    the named intermediates, one statement per derivative, and (with several) a last line
    that uses them all, since a program computes only what its output needs."""
    graph, expr, names = derivation.graph, derivation.expr, derivation.names
    lines = [
        f"{name} = {gradcli_number(value)}"
        for name, value in graph.defaults.items()
        if name in graph.inputs
    ]
    for node in derivation.order:
        lines.append(f"{names[node]} = {text(write(expr, node, names))}")
    for name, root in derivation.roots.items():
        lines.append(
            f"{derivation.statement_names[name]} = "
            f"{text(write(expr, root, names, expand_root=False))}"
        )
    statements = list(derivation.statement_names.values())
    if len(statements) > 1:
        lines.append("# the output uses every derivative, so that all of them are computed")
        lines.append(f"max({', '.join(statements)})")
    elif statements and expr.ops[derivation.roots[derivation.wrt[0]]] == CONST:
        lines.append(statements[0])  # `dx = 3` gives a value: name it as the output
    return "\n".join(lines) + "\n"


class Value(NamedTuple):
    value: float | None  # None: undefined at this point
    reason: str | None  # why it is undefined


def evaluate(derivation: Derivation, point: Mapping[str, float]) -> dict[int, Value]:
    """Each named intermediate's and each derivative's value at `point`, with the op table's
    forward rules. As in the engine's backward pass, an infinite intermediate (0.5/sqrt(x) at
    x = 0) is carried on, and a route whose k is 0 turns it into exactly 0; any other
    non-finite value is undefined, with the reason where it first arose."""
    expr = derivation.expr
    values: list[float] = [math.nan] * len(expr.ops)
    reasons: dict[int, str] = {}
    for node, op in enumerate(expr.ops):
        if op == INPUT:
            values[node] = point[expr.input_names[node]]
            continue
        if op == CONST:
            values[node] = expr.consts[node]
            continue
        args = expr.args[node]
        inputs = [values[a] for a in args]
        values[node] = result = _ieee(op, inputs)
        if math.isfinite(result):
            continue
        undefined = [a for a in args if not math.isfinite(values[a])]
        if undefined:
            if undefined[0] in reasons:
                reasons[node] = reasons[undefined[0]]
            continue
        rule = OPS[op]
        reasons[node] = rule.domain(*inputs) if rule.domain else "the result is not a finite number"
    wanted = list(derivation.order) + list(derivation.roots.values())
    return {
        node: Value(values[node] if math.isfinite(values[node]) else None, reasons.get(node))
        for node in wanted
    }


def _ieee(op: str, inputs: list[float]) -> float:
    """The op's forward rule, with a division by zero giving ±inf (or nan for 0/0) as the
    engine's local derivatives do, and nan for anything else it cannot compute."""
    try:
        return OPS[op].forward(*inputs)
    except ZeroDivisionError:
        if op == "div":
            return _ratio(*inputs)
        return math.nan
    except (ArithmeticError, ValueError):
        return math.nan
