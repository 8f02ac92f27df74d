"""The op table: every primitive declared once, with its forward and local-gradient rules.

Everything else reads OPS: the parser (which names can be called, with how many arguments),
the engine (forward and partials), the numerical check, the renderers and `grad ops`.

A partials rule receives the op's inputs and its output and returns d out / d input_i for each
input. It never raises: where a derivative is infinite it returns ±inf, where it does not exist
(the exponent of a negative base) it returns nan, which the engine reports as "undefined".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

INF = math.inf
NAN = math.nan


class Op(NamedTuple):
    name: str  # the op's name in JSON, the tree and `grad ops`
    arity: int | None  # None: variadic (at least min_args)
    forward: Callable[..., float]
    partials: Callable[..., tuple[float, ...]]  # (*inputs, out) -> d out / d input_i
    symbol: str  # infix symbol or function name, for labels
    doc: str  # one line: what it computes
    role: str  # its gate role in backprop, in a word
    samples: tuple[tuple[float, ...], ...]  # in-domain points where the rules are tested
    call_names: tuple[str, ...] = ()  # names by which a formula can call it, e.g. log, ln
    infix: bool = False  # written between its operands (a + b) rather than called
    domain: Callable[..., str] | None = None  # why the inputs are out of the domain
    min_args: int = 1
    # The local derivative wrt each input as a formula, for explanations: {a}, {b} stand for
    # the operands as written. A variadic op has one entry, used for every input ({a}).
    local: tuple[str, ...] = ()
    # Piecewise ops only (relu, abs, max, min): which piece the inputs select, as a value that
    # changes exactly when the input crosses a kink. Called like partials: (*inputs, out).
    branch: Callable[..., object] | None = None
    # For generated straight-line code (gradcli/compiled.py): the forward rule and the partials
    # as Python expressions of {0}, {1}, … (the inputs) and {out}, with {tmp} a variable of
    # the node's own for an intermediate result; None: call the functions.
    py: str | None = None
    py_partials: tuple[str, ...] | None = None
    silent_overflow: bool = False  # may return ±inf instead of raising OverflowError
    # A non-finite input always gives a non-finite result or an error (inf + 1, sin(inf)),
    # never a finite one (tanh(inf) is 1): the generated code then need not test the input.
    keeps_nonfinite: bool = False
    # The local derivatives as formulas, for `grad diff` (gradcli/symbolic.py): called as
    # (algebra, *inputs, out) with node ids, returns one node id per input, built with the
    # algebra's add, sub, mul, div, neg, pow, call and const. Attached at the end of this file.
    symbolic: Callable[..., tuple[int, ...]] | None = None

    def derivative(self) -> str:
        """The local derivatives as text: '∂/∂a = b, ∂/∂b = a', '∂/∂x = exp(x)'."""
        if self.arity is None:
            return f"∂/∂aᵢ = {self.local[0].format(a='aᵢ')} (ties share it)"
        names = ["x"] if self.arity == 1 else ["a", "b"]
        operands = dict(zip(["a", "b"], names))
        return ", ".join(f"∂/∂{n} = {rule.format(**operands)}"
                         for n, rule in zip(names, self.local, strict=True))


OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    if op.name in OPS:
        raise ValueError(f"duplicate op {op.name!r}")
    OPS[op.name] = op
    return op


def _ratio(a: float, b: float) -> float:
    """a / b where b may be 0: ±inf (or nan for 0/0) instead of an exception."""
    if b == 0.0:
        return NAN if a == 0.0 else math.copysign(INF, a) * math.copysign(1.0, b)
    return a / b


def _safe_pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except ZeroDivisionError:
        return INF
    except (OverflowError, ValueError):
        return INF if a != 0.0 else NAN


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows, whatever x is. (Its `py` template below is the
    # same arithmetic inline: generated code spares the call.)
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))  # log(1 + e^x) without overflow


def _pow_partials(a: float, b: float, out: float) -> tuple[float, float]:
    if b == 0.0:
        d_base = 0.0
    elif a == 0.0:
        d_base = 0.0 if b > 1.0 else (1.0 if b == 1.0 else INF)
    else:
        d_base = b * _safe_pow(a, b - 1.0)
    if a > 0.0:
        d_exp = out * math.log(a)
    elif a == 0.0 and b > 0.0:
        d_exp = 0.0
    else:
        d_exp = NAN  # a^b is not differentiable in b for a < 0 (or 0 to a power ≤ 0)
    return d_base, d_exp


def _pow_domain(a: float, b: float) -> str:
    if a == 0.0 and b < 0.0:
        return "0 cannot be raised to a negative power"
    if a < 0.0 and not float(b).is_integer():
        return "a negative base needs an integer exponent"
    return "the result is too large for a double"


def _extremum_partials(pick: Callable[..., float]) -> Callable[..., tuple[float, ...]]:
    def partials(*args: float) -> tuple[float, ...]:
        *inputs, out = args
        winners = sum(1 for v in inputs if v == out)
        share = 1.0 / winners  # ties split the upstream gradient evenly, as in PyTorch
        return tuple(share if v == out else 0.0 for v in inputs)

    return partials


def _relu_branch(x: float, out: float) -> bool:
    return x > 0.0


def _abs_branch(x: float, out: float) -> int:
    return (x > 0.0) - (x < 0.0)


def _extremum_branch(*args: float) -> tuple[bool, ...]:
    *inputs, out = args
    return tuple(v == out for v in inputs)  # which arguments win


def _needs(condition: str) -> Callable[..., str]:
    return lambda *inputs: condition


# --- arithmetic -------------------------------------------------------------------------
register(Op("add", 2, lambda a, b: a + b, lambda a, b, out: (1.0, 1.0), "+",
            "a + b", "distributor", ((1.5, -2.0), (0.3, 0.4)), infix=True,
            local=("1", "1"),
            py="{0} + {1}", py_partials=("1.0", "1.0"), silent_overflow=True,
            keeps_nonfinite=True))
register(Op("sub", 2, lambda a, b: a - b, lambda a, b, out: (1.0, -1.0), "-",
            "a - b", "distributor", ((1.5, -2.0), (0.3, 0.4)), infix=True,
            local=("1", "-1"),
            py="{0} - {1}", py_partials=("1.0", "-1.0"), silent_overflow=True,
            keeps_nonfinite=True))
register(Op("mul", 2, lambda a, b: a * b, lambda a, b, out: (b, a), "*",
            "a * b", "swapper", ((1.5, -2.0), (0.3, 0.4)), infix=True,
            local=("{b}", "{a}"),
            py="{0} * {1}", py_partials=("{1}", "{0}"), silent_overflow=True,
            keeps_nonfinite=True))
register(Op("div", 2, lambda a, b: a / b, lambda a, b, out: (1.0 / b, -out / b), "/",
            "a / b", "scaler", ((1.5, -2.0), (0.3, 0.4)), infix=True,
            domain=_needs("division by zero"),
            local=("1/{b}", "-{a}/{b}²"),
            py="{0} / {1}", py_partials=("1.0 / {1}", "-{out} / {1}"), silent_overflow=True))
register(Op("neg", 1, lambda a: -a, lambda a, out: (-1.0,), "-",
            "-a", "negator", ((0.7,), (-1.3,)), infix=True,
            local=("-1",),
            py="-{0}", py_partials=("-1.0",), keeps_nonfinite=True))
register(Op("pow", 2, math.pow, _pow_partials, "^",
            "a ^ b (also a ** b and pow(a, b))", "power",
            ((1.5, 2.0), (0.7, -1.3), (2.0, 0.5)), call_names=("pow",), infix=True,
            domain=_pow_domain,
            local=("{b}·{a}^({b} - 1)", "{a}^{b}·ln {a}"),
            py="pow({0}, {1})"))
register(Op("id", 1, lambda a: a, lambda a, out: (1.0,), "=",
            "a named copy of a (q = x)", "wire", ((0.7,),),
            local=("1",),
            py="{0}", py_partials=("1.0",), keeps_nonfinite=True))

# --- exponentials and logarithms ----------------------------------------------------------
register(Op("exp", 1, math.exp, lambda x, out: (out,), "exp",
            "e to the x", "scaler", ((0.7,), (-1.3,)),
            call_names=("exp",), domain=_needs("the result is too large for a double"),
            local=("exp({a})",),
            py="exp({0})", py_partials=("{out}",)))
register(Op("log", 1, math.log, lambda x, out: (_ratio(1.0, x),), "log",
            "natural logarithm (also ln), x > 0", "scaler", ((0.5,), (3.0,)), call_names=("log", "ln"), domain=_needs("log needs x > 0"),
            local=("1/{a}",),
            py="log({0})", py_partials=("1.0 / {0}",), keeps_nonfinite=True))
register(Op("log2", 1, math.log2, lambda x, out: (_ratio(1.0, x * math.log(2.0)),), "log2",
            "base-2 logarithm, x > 0", "scaler", ((0.5,), (3.0,)), call_names=("log2",), domain=_needs("log2 needs x > 0"),
            local=("1/({a}·ln 2)",), keeps_nonfinite=True))
register(Op("log10", 1, math.log10, lambda x, out: (_ratio(1.0, x * math.log(10.0)),),
            "log10", "base-10 logarithm, x > 0", "scaler", ((0.5,), (3.0,)), call_names=("log10",), domain=_needs("log10 needs x > 0"),
            local=("1/({a}·ln 10)",), keeps_nonfinite=True))
register(Op("sqrt", 1, math.sqrt, lambda x, out: (_ratio(0.5, out),), "sqrt",
            "square root, x ≥ 0", "scaler", ((0.5,), (3.0,)), call_names=("sqrt",), domain=_needs("sqrt needs x ≥ 0"),
            local=("1/(2·sqrt({a}))",),
            py="sqrt({0})", keeps_nonfinite=True))

# --- trigonometric and hyperbolic ---------------------------------------------------------
register(Op("sin", 1, math.sin, lambda x, out: (math.cos(x),), "sin",
            "sine (radians)", "scaler", ((0.7,), (-1.3,)),
            call_names=("sin",),
            local=("cos({a})",),
            py="sin({0})", py_partials=("cos({0})",), keeps_nonfinite=True))
register(Op("cos", 1, math.cos, lambda x, out: (-math.sin(x),), "cos",
            "cosine (radians)", "scaler", ((0.7,), (-1.3,)),
            call_names=("cos",),
            local=("-sin({a})",),
            py="cos({0})", py_partials=("-sin({0})",), keeps_nonfinite=True))
register(Op("tan", 1, math.tan, lambda x, out: (1.0 + out * out,), "tan",
            "tangent (radians)", "scaler", ((0.7,), (-1.3,)),
            call_names=("tan",),
            local=("1 + tan({a})²",), keeps_nonfinite=True))
register(Op("asin", 1, math.asin, lambda x, out: (_ratio(1.0, math.sqrt(1.0 - x * x)),),
            "asin", "arcsine, -1 ≤ x ≤ 1", "scaler", ((0.5,), (-0.3,)), call_names=("asin",),
            domain=_needs("asin needs -1 ≤ x ≤ 1"),
            local=("1/sqrt(1 - {a}²)",), keeps_nonfinite=True))
register(Op("acos", 1, math.acos, lambda x, out: (_ratio(-1.0, math.sqrt(1.0 - x * x)),),
            "acos", "arccosine, -1 ≤ x ≤ 1", "scaler", ((0.5,), (-0.3,)), call_names=("acos",),
            domain=_needs("acos needs -1 ≤ x ≤ 1"),
            local=("-1/sqrt(1 - {a}²)",), keeps_nonfinite=True))
register(Op("atan", 1, math.atan, lambda x, out: (1.0 / (1.0 + x * x),), "atan",
            "arctangent", "scaler", ((0.7,), (-1.3,)),
            call_names=("atan",),
            local=("1/(1 + {a}²)",)))
register(Op("sinh", 1, math.sinh, lambda x, out: (math.cosh(x),), "sinh",
            "hyperbolic sine", "scaler", ((0.7,), (-1.3,)),
            call_names=("sinh",), domain=_needs("the result is too large for a double"),
            local=("cosh({a})",), keeps_nonfinite=True))
register(Op("cosh", 1, math.cosh, lambda x, out: (math.sinh(x),), "cosh",
            "hyperbolic cosine", "scaler", ((0.7,), (-1.3,)),
            call_names=("cosh",), domain=_needs("the result is too large for a double"),
            local=("sinh({a})",), keeps_nonfinite=True))
register(Op("tanh", 1, math.tanh, lambda x, out: (1.0 - out * out,), "tanh",
            "hyperbolic tangent, a squashing unit", "squasher", ((0.7,), (-1.3,)), call_names=("tanh",),
            local=("1 - tanh({a})²",),
            py="tanh({0})", py_partials=("1.0 - {out} * {out}",)))

# --- neural-network units -----------------------------------------------------------------
register(Op("sigmoid", 1, _sigmoid, lambda x, out: (out * (1.0 - out),), "sigmoid",
            "logistic sigmoid 1/(1 + e^-x), a squashing unit", "squasher",
            ((0.7,), (-1.3,), (0.0,)), call_names=("sigmoid",),
            local=("σ({a})·(1 - σ({a}))",),
            py="(1.0 / (1.0 + exp(-{0})) if {0} >= 0.0 else ({tmp} := exp({0})) / (1.0 + {tmp}))",
            py_partials=("{out} * (1.0 - {out})",)))
register(Op("relu", 1, lambda x: x if x > 0.0 else 0.0,
            lambda x, out: (1.0 if x > 0.0 else 0.0,), "relu",
            "max(x, 0); gradient 0 at x ≤ 0", "gate",
            ((0.7,), (-1.3,)), call_names=("relu",),
            local=("1 if {a} > 0 else 0",), branch=_relu_branch,
            py="({0} if {0} > 0.0 else 0.0)", py_partials=("(1.0 if {0} > 0.0 else 0.0)",)))
register(Op("softplus", 1, _softplus, lambda x, out: (_sigmoid(x),), "softplus",
            "log(1 + e^x), a smooth relu", "scaler", ((-30.0,), (0.0,), (2.5,)), call_names=("softplus",),
            local=("σ({a})",)))
register(Op("abs", 1, abs, lambda x, out: (1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0),),
            "abs", "absolute value; gradient 0 at 0", "sign router",
            ((0.7,), (-1.3,)), call_names=("abs",),
            local=("sign({a})",), branch=_abs_branch, keeps_nonfinite=True))
register(Op("max", None, max, _extremum_partials(max), "max",
            "the largest argument; max(a, b, …)", "router",
            ((1.5, -2.0), (0.3, 0.4, -0.1)), call_names=("max",), min_args=2,
            local=("1 if {a} is the largest else 0",), branch=_extremum_branch))
register(Op("min", None, min, _extremum_partials(min), "min",
            "the smallest argument; min(a, b, …)", "router",
            ((1.5, -2.0), (0.3, 0.4, -0.1)), call_names=("min",), min_args=2,
            local=("1 if {a} is the smallest else 0",), branch=_extremum_branch))

# --- indicators: the kinks' derivatives as formulas ----------------------------------------
register(Op("step", 1, lambda x: 1.0 if x > 0.0 else 0.0, lambda x, out: (0.0,), "step",
            "1 if x > 0 else 0 (step(0) = 0): the derivative of relu", "indicator",
            ((0.7,), (-1.3,)), call_names=("step",), local=("0",), branch=_relu_branch))
register(Op("sign", 1, lambda x: (x > 0.0) - (x < 0.0) + 0.0, lambda x, out: (0.0,), "sign",
            "1, 0 or -1 as x is positive, zero or negative: the derivative of abs",
            "indicator", ((0.7,), (-1.3,)), call_names=("sign",), local=("0",),
            branch=_abs_branch))


# --- local derivatives as formulas, for `grad diff` -----------------------------------------
def _extremum_symbolic(sign: float) -> Callable[..., tuple[int, ...]]:
    """max (sign 1) and min (sign -1): each winning argument gets an equal share, as the
    engine gives it. Two arguments: (1 ± sign(a - b)) / 2; more: wᵢ / Σ w with
    wᵢ = 1 - step(±(out - aᵢ)), which is 1 exactly for the winners."""
    def rule(d, *args: int) -> tuple[int, ...]:
        *inputs, out = args
        if len(inputs) == 2:
            a, b = inputs
            s = d.call("sign", d.sub(a, b))
            win_a, win_b = (d.add(d.one, s), d.sub(d.one, s))[::int(sign)]
            return d.div(win_a, d.const(2.0)), d.div(win_b, d.const(2.0))
        gaps = [d.sub(out, v) if sign > 0 else d.sub(v, out) for v in inputs]
        wins = [d.sub(d.one, d.call("step", g)) for g in gaps]
        total = wins[0]
        for w in wins[1:]:
            total = d.add(total, w)
        return tuple(d.div(w, total) for w in wins)

    return rule


def _square(d, x: int) -> int:
    return d.pow(x, d.const(2.0))


def _pow_symbolic(d, a: int, b: int, out: int) -> tuple[int, int]:
    # a^0 has derivative 0 wrt a, even at a = 0, as the engine has it
    d_base = d.zero if d.value(b) == 0.0 else d.mul(b, d.pow(a, d.sub(b, d.one)))
    return d_base, d.mul(out, d.call("log", a))


_SYMBOLIC: dict[str, Callable[..., tuple[int, ...]]] = {
    "add": lambda d, a, b, out: (d.one, d.one),
    "sub": lambda d, a, b, out: (d.one, d.const(-1.0)),
    "mul": lambda d, a, b, out: (b, a),
    "div": lambda d, a, b, out: (d.div(d.one, b), d.neg(d.div(out, b))),
    "neg": lambda d, a, out: (d.const(-1.0),),
    "pow": _pow_symbolic,
    "id": lambda d, a, out: (d.one,),
    "exp": lambda d, a, out: (out,),
    "log": lambda d, a, out: (d.div(d.one, a),),
    "log2": lambda d, a, out: (d.div(d.one, d.mul(a, d.call("log", d.const(2.0)))),),
    "log10": lambda d, a, out: (d.div(d.one, d.mul(a, d.call("log", d.const(10.0)))),),
    "sqrt": lambda d, a, out: (d.div(d.const(0.5), out),),
    "sin": lambda d, a, out: (d.call("cos", a),),
    "cos": lambda d, a, out: (d.neg(d.call("sin", a)),),
    "tan": lambda d, a, out: (d.add(d.one, _square(d, out)),),
    "asin": lambda d, a, out: (d.div(d.one, d.call("sqrt", d.sub(d.one, _square(d, a)))),),
    "acos": lambda d, a, out: (d.neg(d.div(d.one, d.call("sqrt",
                                                           d.sub(d.one, _square(d, a))))),),
    "atan": lambda d, a, out: (d.div(d.one, d.add(d.one, _square(d, a))),),
    "sinh": lambda d, a, out: (d.call("cosh", a),),
    "cosh": lambda d, a, out: (d.call("sinh", a),),
    "tanh": lambda d, a, out: (d.sub(d.one, _square(d, out)),),
    "sigmoid": lambda d, a, out: (d.mul(out, d.sub(d.one, out)),),
    "relu": lambda d, a, out: (d.call("step", a),),  # relu'(0) = step(0) = 0
    "softplus": lambda d, a, out: (d.call("sigmoid", a),),
    "abs": lambda d, a, out: (d.call("sign", a),),  # abs'(0) = sign(0) = 0
    "max": _extremum_symbolic(1.0),
    "min": _extremum_symbolic(-1.0),
    "step": lambda d, a, out: (d.zero,),
    "sign": lambda d, a, out: (d.zero,),
}
for _name, _rule in _SYMBOLIC.items():
    OPS[_name] = OPS[_name]._replace(symbolic=_rule)

# Every name a formula can call, e.g. FUNCTIONS["ln"] is OPS["log"].
FUNCTIONS: dict[str, Op] = {name: op for op in OPS.values() for name in op.call_names}

# Named constants a formula may use.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
