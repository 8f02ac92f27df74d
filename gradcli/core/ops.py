"""The op table: every primitive declared once, with its forward and local-gradient rules.

Everything else reads OPS: the parser (which names can be called, with how many arguments),
the engine (forward and contributions), the generated code (its lowerings and the names they
need), the numerical check, the diagnostics, the renderers and `grad ops`.

A partials rule receives the op's inputs and its output and returns d out / d input_i for each
input: the local derivatives that explanations and diagnostics show. A grads rule receives the
upstream gradient first and returns what the op sends back to each input, which is
upstream × local except where that product would overflow or be undefined for no reason:
- an op that routes (relu at x ≤ 0, the losing arguments of max and min, abs at 0) sends exactly
  0 to an input whose local derivative is 0 because of the switch, whatever arrives (inf, nan);
- a 1/x-style derivative is applied as upstream / x (as torch does), so that a subnormal x gives
  the ordinary double result instead of upstream × inf.
Neither rule raises for inputs the forward rule accepts: where a derivative is infinite it
returns ±inf, where it does not exist (the exponent of a negative base) it returns nan, which the
engine reports as "undefined". (A rule that raises all the same is reported as an evaluation
error naming the op and the node: see engine.Tape.)

`register` checks each entry: callable names are identifiers, lowerings name only what their
op provides, and at every sample the rules run, the partials agree with central differences
and the grads rule agrees with upstream × partials.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import sys
from collections.abc import Callable, Mapping
from string import Formatter
from types import MappingProxyType
from typing import NamedTuple

INF = math.inf
NAN = math.nan
SATURATION = 1e-3  # a squashing unit with local gradient below this is called saturated
TINY = sys.float_info.min  # the smallest normal double
_NONE: Mapping[str, object] = MappingProxyType({})


class Op(NamedTuple):
    name: str  # the op's name in JSON, the tree and `grad ops`
    arity: int | None  # None: variadic (at least min_args)
    forward: Callable[..., float]
    partials: Callable[..., tuple[float, ...]]  # (*inputs, out) -> d out / d input_i
    symbol: str  # infix symbol or function name, for labels
    doc: str  # one line: what it computes
    role: str  # its gate role in backprop, in a word (for people: nothing decides on it)
    samples: tuple[tuple[float, ...], ...]  # in-domain points where the rules are checked
    call_names: tuple[str, ...] = ()  # names by which a formula can call it, e.g. log, ln
    infix: bool = False  # written between its operands (a + b) rather than called
    domain: Callable[..., str] | None = None  # why the inputs are out of the domain
    min_args: int = 1
    # The local derivative wrt each input as a formula, for explanations: {a}, {b} stand for
    # the operands as written. A variadic op has one entry, used for every input ({a}).
    local: tuple[str, ...] = ()
    # Piecewise ops only (relu, abs, max, min, hypot): which piece the inputs select, as a value that
    # changes exactly when the input crosses a kink. Called like partials: (*inputs, out).
    branch: Callable[..., object] | None = None
    # (up, *inputs, out) -> what the op sends back to each input. None: upstream × partials
    # (routed, if the op routes), made at register.
    grads: Callable[..., tuple[float, ...]] | None = None
    # Set by register: grads is upstream × partials, so the engine may multiply by itself.
    product: bool = False
    # Where a local derivative is exactly 0 it is a switch (relu, max, min, abs): that input
    # receives exactly 0, whatever the upstream gradient is.
    routes: bool = False
    # ∂/∂input i is upstream / (something): --explain notes that the product is computed so.
    quotient: tuple[bool, ...] = ()
    # Lowering for generated straight-line code (gradcli/core/compiled.py): the forward rule and
    # the grads as Python expressions of {0}, {1}, … (the inputs), {out}, {up} (the upstream
    # gradient) and {tmp} (a variable of the node's own); None: call the rule's function.
    # py_names: every name those expressions use, with its value; the generated code's
    # namespace is built from these.
    py: str | None = None
    py_grads: tuple[str, ...] | None = None
    py_names: Mapping[str, object] = _NONE
    silent_overflow: bool = False  # may return ±inf instead of raising OverflowError
    # A non-finite input always gives a non-finite result or an error (inf + 1, sin(inf)),
    # never a finite one (tanh(inf) is 1): the generated code then need not test the input.
    keeps_nonfinite: bool = False
    # Properties the diagnostics read (see gradcli/core/diagnostics.py):
    saturation: float | None = None  # a local gradient below this: the unit is saturated
    dies: bool = False  # an input ≤ 0 passes no gradient at all: a dead unit (relu)
    swaps: bool = False  # each input's local gradient is the other input (mul)
    # Why a local gradient of 0 cuts a path here, in a few words ({node} is its label).
    cut: str = "the local gradient of {node} ({op}) is 0"
    # The local derivatives as formulas, for `grad diff` (gradcli/core/symbolic.py): called as
    # (algebra, *inputs, out) with node ids, returns one node id per input, built with the
    # algebra's add, sub, mul, div, neg, pow, call and const.
    symbolic: Callable[..., tuple[int, ...]] | None = None

    def written(self, operands: list[str]) -> str:
        """The op applied to operands as text: 'x + y', '-x', 'exp(x)', 'max(a, b, c)'; a
        named copy (id) is its operand."""
        if self.name == "id":
            return operands[0]
        if self.infix and len(operands) == 2:
            return f"{operands[0]} {self.symbol} {operands[1]}"
        if self.infix:
            return f"{self.symbol}{operands[0]}"
        return f"{self.symbol}({', '.join(operands)})"

    def derivative(self) -> str:
        """The local derivatives as text: '∂/∂a = b, ∂/∂b = a', '∂/∂x = exp(x)'."""
        if self.arity is None:
            return f"∂/∂aᵢ = {self.local[0].format(a='aᵢ')} (ties share it)"
        names = ["x"] if self.arity == 1 else ["a", "b"]
        operands = dict(zip(["a", "b"], names))
        return ", ".join(
            f"∂/∂{n} = {rule.format(**operands)}" for n, rule in zip(names, self.local, strict=True)
        )


OPS: dict[str, Op] = {}
NAMESPACE: dict[str, object] = {}  # every name the lowerings use: the generated code's globals


def register(op: Op) -> Op:
    """Add `op` to the table after checking it (see the module's doc). Raises ValueError."""
    if op.name in OPS:
        raise ValueError(f"duplicate op {op.name!r}")
    if op.grads is None:
        op = op._replace(grads=_product_rule(op.partials, op.routes), product=not op.routes)
    else:
        op = op._replace(product=False)  # its own rule: the engine must call it
    problems = _problems(op)
    if problems:
        raise ValueError(f"op {op.name!r}: " + "; ".join(problems))
    for name, value in op.py_names.items():
        NAMESPACE[name] = value
    OPS[op.name] = op
    return op


def _product_rule(
    partials: Callable[..., tuple[float, ...]], routes: bool
) -> Callable[..., tuple[float, ...]]:
    """grads as upstream × each local derivative; a routing op sends 0 where the local is 0."""
    if routes:
        return lambda up, *args: tuple(0.0 if d == 0.0 else up * d for d in partials(*args))
    return lambda up, *args: tuple(up * d for d in partials(*args))


_IDENTIFIER = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


def _problems(op: Op) -> list[str]:
    problems = []
    for name in op.call_names:
        if not name.isidentifier() or keyword.iskeyword(name):
            problems.append(f"the call name {name!r} is not an identifier")
    if not op.infix and not op.call_names and op.name != "id":
        problems.append("no call_names: a formula could not call it")
    if len(op.local) != (op.arity or 1):
        problems.append("local needs one formula per input (one for a variadic op)")
    if op.quotient and len(op.quotient) != (op.arity or 1):
        problems.append("quotient needs one entry per input")
    for name, value in op.py_names.items():
        if NAMESPACE.get(name, value) is not value:
            problems.append(f"py_names gives {name!r} another value than an earlier op")
    problems += _lowering_problems(op)
    problems += _sample_problems(op)
    return problems


def _lowering_problems(op: Op) -> list[str]:
    """The lowerings use only their placeholders and names their op provides."""
    problems = []
    slots = [str(i) for i in range(op.arity or 0)]
    templates = [("py", op.py, {*slots, "tmp"})] + [
        (f"py_grads[{i}]", t, {*slots, "up", "out"}) for i, t in enumerate(op.py_grads or ())
    ]
    if (op.py is not None or op.py_grads is not None) and op.arity is None:
        problems.append("a variadic op has no lowering")
        return problems
    if op.py_grads is not None and len(op.py_grads) != op.arity:
        problems.append("py_grads needs one expression per input")
    for what, template, allowed in templates:
        if template is None:
            continue
        fields = {f for _, f, _, _ in Formatter().parse(template) if f is not None}
        if not fields <= allowed:
            problems.append(f"{what} uses {sorted(fields - allowed)}")
            continue
        text = template.format(
            *[f"x{i}" for i in range(op.arity or 0)], tmp="tmp", up="up", out="out"
        )
        known = {f"x{i}" for i in range(op.arity or 0)} | {"tmp", "up", "out"}
        for name in _IDENTIFIER.findall(text):
            if not (
                name in known
                or name in op.py_names
                or keyword.iskeyword(name)
                or hasattr(builtins, name)
            ):
                problems.append(f"{what} uses {name!r}, which is not in its py_names")
    return problems


def _sample_problems(op: Op) -> list[str]:
    """At each sample: the rules run, the partials agree with central differences, and the
    grads rule agrees with upstream × partials (routing exactly where it says so)."""
    problems = []
    if not op.samples:
        return ["no samples to check the rules at"]
    for point in op.samples:
        where = f"at {point}"
        if len(point) != op.arity and (op.arity is not None or len(point) < op.min_args):
            problems.append(f"the sample {point} has the wrong number of inputs")
            continue
        try:
            out = op.forward(*point)
            local = op.partials(*point, out)
            sent = [op.grads(up, *point, out) for up in (1.0, -2.5)]
            blocked = op.grads(INF, *point, out), op.grads(NAN, *point, out)
        except (ArithmeticError, ValueError) as exc:
            problems.append(f"a rule raises {type(exc).__name__} {where}")
            continue
        if len(local) != len(point) or any(len(s) != len(point) for s in sent):
            problems.append(f"a rule gives the wrong number of derivatives {where}")
            continue
        for i, d in enumerate(local):
            numeric = _central_difference(op.forward, point, i)
            if not math.isclose(d, numeric, rel_tol=1e-6, abs_tol=1e-8):
                problems.append(
                    f"∂/∂input {i} is {d!r} but the central difference {numeric!r} {where}"
                )
            for up, s in zip((1.0, -2.5), sent):
                if not math.isclose(s[i], up * d, rel_tol=1e-13, abs_tol=0.0):
                    problems.append(
                        f"grads sends {s[i]!r} for upstream {up} {where}, not {up} × {d!r}"
                    )
            routed = op.routes and d == 0.0
            if routed and any(b[i] != 0.0 for b in blocked):
                problems.append(f"a routing op sends something other than 0 to input {i} {where}")
    return problems


def _central_difference(
    forward: Callable[..., float], point: tuple[float, ...], i: int, h: float = 1e-6
) -> float:
    up, down = list(point), list(point)
    up[i] += h
    down[i] -= h
    return (forward(*up) - forward(*down)) / (2 * h)


def _ratio(a: float, b: float) -> float:
    """a / b where b may be 0: ±inf (or nan for 0/0 and nan/0) instead of an exception."""
    if b == 0.0:
        if a == 0.0 or a != a:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)
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


def _pow_grads(up: float, a: float, b: float, out: float) -> tuple[float, float]:
    d_base, d_exp = _pow_partials(a, b, out)
    to_base, to_exp = up * d_base, up * d_exp
    # b·a^(b-1) overflows or underflows for a tiny a and b < 1 (or a huge a and b < 0) where
    # the product does not: there apply it as upstream·b·a^b / a.
    if a != 0.0 and b != 0.0 and not TINY <= abs(d_base) < INF and math.isfinite(up):
        to_base = up * b * out / a
    if a > 0.0 and math.isinf(d_exp) and math.isfinite(up):  # a^b·ln a overflowed alone
        to_exp = up * out * math.log(a)
    return to_base, to_exp


def _pow_domain(a: float, b: float) -> str:
    if a == 0.0 and b < 0.0:
        return "0 cannot be raised to a negative power"
    if a < 0.0 and not float(b).is_integer():
        return "a negative base needs an integer exponent"
    return "the result is too large for a double"


def _extremum_partials(*args: float) -> tuple[float, ...]:
    *inputs, out = args
    winners = sum(1 for v in inputs if v == out)
    share = 1.0 / winners  # ties split the upstream gradient evenly, as in PyTorch
    return tuple(share if v == out else 0.0 for v in inputs)


def _extremum_grads(up: float, *args: float) -> tuple[float, ...]:
    *inputs, out = args
    sent = up * (1.0 / sum(1 for v in inputs if v == out))
    return tuple(sent if v == out else 0.0 for v in inputs)  # a loser gets exactly 0


def _relu_branch(x: float, out: float) -> bool:
    return x > 0.0


def _abs_branch(x: float, out: float) -> int:
    return (x > 0.0) - (x < 0.0)


def _extremum_branch(*args: float) -> tuple[bool, ...]:
    *inputs, out = args
    return tuple(v == out for v in inputs)  # which arguments win


def _needs(condition: str) -> Callable[..., str]:
    return lambda *inputs: condition


def _one_minus_square(x: float) -> float:
    return (1.0 - x) * (1.0 + x)  # 1 - x² without cancellation near ±1


def _atan_grads(up: float, x: float, out: float) -> tuple[float]:
    # 1 + x² overflows for |x| ≥ 1e154 where up / x² need not: divide twice there
    return (up / (1.0 + x * x) if abs(x) < 1e150 else up / x / x,)


_SCALE = 2.0**600  # brings a subnormal length into the normal range, exactly


def _scaled(x: float, y: float) -> tuple[float, float, float, float]:
    """(x, y, hypot(x, y), s) scaled by s so that the length is a normal double (a subnormal one
    has too few digits to divide by) where it can be."""
    h = math.hypot(x, y)
    if h >= TINY or h == 0.0:
        return x, y, h, 1.0
    x, y = x * _SCALE, y * _SCALE
    return x, y, math.hypot(x, y), _SCALE


def _hypot_partials(x: float, y: float, out: float) -> tuple[float, float]:
    x, y, h, _ = _scaled(x, y)
    if h == 0.0:  # the tip of the cone: slope 0, as abs'(0) (hypot(x, 0) is abs(x))
        return 0.0, 0.0
    return x / h, y / h


def _hypot_branch(x: float, y: float, out: float) -> tuple[object, object]:
    # a kink only where the other coordinate is 0: hypot(x, 0) = abs(x)
    return (_abs_branch(x, out) if y == 0.0 else None, _abs_branch(y, out) if x == 0.0 else None)


def _atan2_partials(y: float, x: float, out: float) -> tuple[float, float]:
    return _atan2_grads(1.0, y, x, out)


def _atan2_grads(up: float, y: float, x: float, out: float) -> tuple[float, float]:
    # ∂/∂y = x / (x² + y²) = (x/h)/h with h = hypot(x, y): no square to overflow or underflow
    x, y, h, s = _scaled(x, y)
    return (_ratio(up * _ratio(x, h), h) * s, _ratio(up * _ratio(-y, h), h) * s)


LN2, LN10 = math.log(2.0), math.log(10.0)
_2_SQRT_PI = 2.0 / math.sqrt(math.pi)
LOG2_E, LOG10_E = 1.0 / LN2, math.log10(math.e)
_MATH = {
    name: getattr(math, name)
    for name in (
        "exp",
        "log",
        "sqrt",
        "sin",
        "cos",
        "tan",
        "tanh",
        "pow",
        "cbrt",
        "erf",
        "atan2",
        "hypot",
    )
}


def _math(*names: str) -> Mapping[str, object]:
    return MappingProxyType({name: _MATH[name] for name in names})


# --- helpers of the symbolic rules (`grad diff`) -----------------------------------------
def _extremum_symbolic(sign: float) -> Callable[..., tuple[int, ...]]:
    """max (sign 1) and min (sign -1): each winning argument gets an equal share, as the
    engine gives it. Two arguments: (1 ± sign(a - b)) / 2; more: wᵢ / Σ w with
    wᵢ = 1 - step(±(out - aᵢ)), which is 1 exactly for the winners."""

    def rule(d, *args: int) -> tuple[int, ...]:
        *inputs, out = args
        if len(inputs) == 2:
            a, b = inputs
            s = d.call("sign", d.sub(a, b))
            win_a, win_b = (d.add(d.one, s), d.sub(d.one, s))[:: int(sign)]
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


# --- arithmetic -------------------------------------------------------------------------
register(
    Op(
        "add",
        2,
        lambda a, b: a + b,
        lambda a, b, out: (1.0, 1.0),
        "+",
        "a + b",
        "distributor",
        ((1.5, -2.0), (0.3, 0.4)),
        infix=True,
        local=("1", "1"),
        py="{0} + {1}",
        py_grads=("{up}", "{up}"),
        silent_overflow=True,
        keeps_nonfinite=True,
        symbolic=lambda d, a, b, out: (d.one, d.one),
    )
)
register(
    Op(
        "sub",
        2,
        lambda a, b: a - b,
        lambda a, b, out: (1.0, -1.0),
        "-",
        "a - b",
        "distributor",
        ((1.5, -2.0), (0.3, 0.4)),
        infix=True,
        local=("1", "-1"),
        py="{0} - {1}",
        py_grads=("{up}", "{up} * -1.0"),
        silent_overflow=True,
        keeps_nonfinite=True,
        symbolic=lambda d, a, b, out: (d.one, d.const(-1.0)),
    )
)
register(
    Op(
        "mul",
        2,
        lambda a, b: a * b,
        lambda a, b, out: (b, a),
        "*",
        "a * b",
        "swapper",
        ((1.5, -2.0), (0.3, 0.4)),
        infix=True,
        local=("{b}", "{a}"),
        py="{0} * {1}",
        py_grads=("{up} * {1}", "{up} * {0}"),
        silent_overflow=True,
        keeps_nonfinite=True,
        swaps=True,
        cut="{node} multiplies by 0",
        symbolic=lambda d, a, b, out: (b, a),
    )
)
register(
    Op(
        "div",
        2,
        lambda a, b: a / b,
        lambda a, b, out: (1.0 / b, -out / b),
        "/",
        "a / b",
        "scaler",
        ((1.5, -2.0), (0.3, 0.4)),
        infix=True,
        domain=_needs("division by zero"),
        local=("1/{b}", "-{a}/{b}²"),
        quotient=(True, False),
        grads=lambda up, a, b, out: (up / b, up * (-out / b)),
        py="{0} / {1}",
        py_grads=("{up} / {1}", "{up} * (-{out} / {1})"),
        silent_overflow=True,
        symbolic=lambda d, a, b, out: (d.div(d.one, b), d.neg(d.div(out, b))),
    )
)
register(
    Op(
        "neg",
        1,
        lambda a: -a,
        lambda a, out: (-1.0,),
        "-",
        "-a",
        "negator",
        ((0.7,), (-1.3,)),
        infix=True,
        local=("-1",),
        py="-{0}",
        py_grads=("{up} * -1.0",),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.const(-1.0),),
    )
)
register(
    Op(
        "pow",
        2,
        math.pow,
        _pow_partials,
        "^",
        "a ^ b (also a ** b and pow(a, b))",
        "power",
        ((1.5, 2.0), (0.7, -1.3), (2.0, 0.5)),
        call_names=("pow",),
        infix=True,
        domain=_pow_domain,
        grads=_pow_grads,
        quotient=(True, False),
        local=("{b}·{a}^({b} - 1)", "{a}^{b}·ln {a}"),
        py="pow({0}, {1})",
        py_names=_math("pow"),
        symbolic=_pow_symbolic,
    )
)
register(
    Op(
        "id",
        1,
        lambda a: a,
        lambda a, out: (1.0,),
        "=",
        "a named copy of a (q = x)",
        "wire",
        ((0.7,),),
        local=("1",),
        py="{0}",
        py_grads=("{up}",),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.one,),
    )
)

# --- exponentials and logarithms ----------------------------------------------------------
register(
    Op(
        "exp",
        1,
        math.exp,
        lambda x, out: (out,),
        "exp",
        "e to the x",
        "scaler",
        ((0.7,), (-1.3,)),
        call_names=("exp",),
        domain=_needs("the result is too large for a double"),
        local=("exp({a})",),
        py="exp({0})",
        py_grads=("{up} * {out}",),
        py_names=_math("exp"),
        symbolic=lambda d, a, out: (out,),
    )
)
register(
    Op(
        "log",
        1,
        math.log,
        lambda x, out: (_ratio(1.0, x),),
        "log",
        "natural logarithm (also ln), x > 0",
        "scaler",
        ((0.5,), (3.0,)),
        call_names=("log", "ln"),
        domain=_needs("log needs x > 0"),
        local=("1/{a}",),
        quotient=(True,),
        grads=lambda up, x, out: (up / x,),
        py="log({0})",
        py_grads=("{up} / {0}",),
        py_names=_math("log"),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.div(d.one, a),),
    )
)
register(
    Op(
        "log2",
        1,
        math.log2,
        lambda x, out: (_ratio(1.0, x * LN2),),
        "log2",
        "base-2 logarithm, x > 0",
        "scaler",
        ((0.5,), (3.0,)),
        call_names=("log2",),
        domain=_needs("log2 needs x > 0"),
        local=("1/({a}·ln 2)",),
        quotient=(True,),
        grads=lambda up, x, out: (up / x * LOG2_E,),
        py_grads=("{up} / {0} * LOG2_E",),
        py_names=MappingProxyType({"LOG2_E": LOG2_E}),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.div(d.one, d.mul(a, d.call("log", d.const(2.0)))),),
    )
)
register(
    Op(
        "log10",
        1,
        math.log10,
        lambda x, out: (_ratio(1.0, x * LN10),),
        "log10",
        "base-10 logarithm, x > 0",
        "scaler",
        ((0.5,), (3.0,)),
        call_names=("log10",),
        domain=_needs("log10 needs x > 0"),
        local=("1/({a}·ln 10)",),
        quotient=(True,),
        grads=lambda up, x, out: (up / x * LOG10_E,),
        py_grads=("{up} / {0} * LOG10_E",),
        py_names=MappingProxyType({"LOG10_E": LOG10_E}),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.div(d.one, d.mul(a, d.call("log", d.const(10.0)))),),
    )
)
register(
    Op(
        "sqrt",
        1,
        math.sqrt,
        lambda x, out: (_ratio(0.5, out),),
        "sqrt",
        "square root, x ≥ 0",
        "scaler",
        ((0.5,), (3.0,)),
        call_names=("sqrt",),
        domain=_needs("sqrt needs x ≥ 0"),
        local=("1/(2·sqrt({a}))",),
        quotient=(True,),
        grads=lambda up, x, out: (_ratio(up, 2.0 * out),),
        py="sqrt({0})",
        py_grads=("({up} / (2.0 * {out}) if {out} else ratio({up}, {out}))",),
        py_names=MappingProxyType({"sqrt": math.sqrt, "ratio": _ratio}),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.div(d.const(0.5), out),),
    )
)
register(
    Op(
        "cbrt",
        1,
        math.cbrt,
        lambda x, out: (_ratio(1.0, 3.0 * out * out),),
        "cbrt",
        "cube root (of any x)",
        "scaler",
        ((0.5,), (-3.0,), (8.0,)),
        call_names=("cbrt",),
        local=("1/(3·cbrt({a})²)",),
        quotient=(True,),
        grads=lambda up, x, out: (_ratio(up, 3.0 * out * out),),
        py="cbrt({0})",
        py_grads=("({up} / (3.0 * {out} * {out}) if {out} else ratio({up}, 0.0))",),
        py_names=MappingProxyType({"cbrt": math.cbrt, "ratio": _ratio}),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.div(d.one, d.mul(d.const(3.0), _square(d, out))),),
    )
)

# --- trigonometric and hyperbolic ---------------------------------------------------------
register(
    Op(
        "sin",
        1,
        math.sin,
        lambda x, out: (math.cos(x),),
        "sin",
        "sine (radians)",
        "scaler",
        ((0.7,), (-1.3,)),
        call_names=("sin",),
        local=("cos({a})",),
        py="sin({0})",
        py_grads=("{up} * cos({0})",),
        py_names=_math("sin", "cos"),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.call("cos", a),),
    )
)
register(
    Op(
        "cos",
        1,
        math.cos,
        lambda x, out: (-math.sin(x),),
        "cos",
        "cosine (radians)",
        "scaler",
        ((0.7,), (-1.3,)),
        call_names=("cos",),
        local=("-sin({a})",),
        py="cos({0})",
        py_grads=("{up} * -sin({0})",),
        py_names=_math("sin", "cos"),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.neg(d.call("sin", a)),),
    )
)
register(
    Op(
        "tan",
        1,
        math.tan,
        lambda x, out: (1.0 + out * out,),
        "tan",
        "tangent (radians)",
        "scaler",
        ((0.7,), (-1.3,)),
        call_names=("tan",),
        local=("1 + tan({a})²",),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.add(d.one, _square(d, out)),),
    )
)
register(
    Op(
        "asin",
        1,
        math.asin,
        lambda x, out: (_ratio(1.0, math.sqrt(_one_minus_square(x))),),
        "asin",
        "arcsine, -1 ≤ x ≤ 1",
        "scaler",
        ((0.5,), (-0.3,)),
        call_names=("asin",),
        domain=_needs("asin needs -1 ≤ x ≤ 1"),
        local=("1/sqrt(1 - {a}²)",),
        quotient=(True,),
        grads=lambda up, x, out: (_ratio(up, math.sqrt(_one_minus_square(x))),),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.div(d.one, d.call("sqrt", d.sub(d.one, _square(d, a)))),),
    )
)
register(
    Op(
        "acos",
        1,
        math.acos,
        lambda x, out: (_ratio(-1.0, math.sqrt(_one_minus_square(x))),),
        "acos",
        "arccosine, -1 ≤ x ≤ 1",
        "scaler",
        ((0.5,), (-0.3,)),
        call_names=("acos",),
        domain=_needs("acos needs -1 ≤ x ≤ 1"),
        local=("-1/sqrt(1 - {a}²)",),
        quotient=(True,),
        grads=lambda up, x, out: (_ratio(-up, math.sqrt(_one_minus_square(x))),),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (
            d.neg(d.div(d.one, d.call("sqrt", d.sub(d.one, _square(d, a))))),
        ),
    )
)
register(
    Op(
        "atan",
        1,
        math.atan,
        lambda x, out: (1.0 / (1.0 + x * x),),
        "atan",
        "arctangent",
        "scaler",
        ((0.7,), (-1.3,)),
        call_names=("atan",),
        local=("1/(1 + {a}²)",),
        quotient=(True,),
        grads=_atan_grads,
        symbolic=lambda d, a, out: (d.div(d.one, d.add(d.one, _square(d, a))),),
    )
)
register(
    Op(
        "atan2",
        2,
        math.atan2,
        _atan2_partials,
        "atan2",
        "the angle of the point (x, y): atan2(y, x), in (-π, π]",
        "scaler",
        ((1.0, 2.0), (-0.5, -1.5), (2.0, -1.0)),
        call_names=("atan2",),
        local=("{b}/({a}² + {b}²)", "-{a}/({a}² + {b}²)"),
        quotient=(True, True),
        grads=_atan2_grads,
        symbolic=lambda d, y, x, out: (
            d.div(x, d.add(_square(d, x), _square(d, y))),
            d.neg(d.div(y, d.add(_square(d, x), _square(d, y)))),
        ),
    )
)
register(
    Op(
        "sinh",
        1,
        math.sinh,
        lambda x, out: (math.cosh(x),),
        "sinh",
        "hyperbolic sine",
        "scaler",
        ((0.7,), (-1.3,)),
        call_names=("sinh",),
        domain=_needs("the result is too large for a double"),
        local=("cosh({a})",),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.call("cosh", a),),
    )
)
register(
    Op(
        "cosh",
        1,
        math.cosh,
        lambda x, out: (math.sinh(x),),
        "cosh",
        "hyperbolic cosine",
        "scaler",
        ((0.7,), (-1.3,)),
        call_names=("cosh",),
        domain=_needs("the result is too large for a double"),
        local=("sinh({a})",),
        keeps_nonfinite=True,
        symbolic=lambda d, a, out: (d.call("sinh", a),),
    )
)
register(
    Op(
        "tanh",
        1,
        math.tanh,
        lambda x, out: (1.0 - out * out,),
        "tanh",
        "hyperbolic tangent, a squashing unit",
        "squasher",
        ((0.7,), (-1.3,)),
        call_names=("tanh",),
        local=("1 - tanh({a})²",),
        py="tanh({0})",
        py_grads=("{up} * (1.0 - {out} * {out})",),
        py_names=_math("tanh"),
        saturation=SATURATION,
        symbolic=lambda d, a, out: (d.sub(d.one, _square(d, out)),),
    )
)
register(
    Op(
        "hypot",
        2,
        math.hypot,
        _hypot_partials,
        "hypot",
        "the length sqrt(x² + y²) of (x, y), without overflow; gradient 0 at (0, 0)",
        "scaler",
        ((3.0, 4.0), (-0.5, 1.5), (2.0, -1.0)),
        call_names=("hypot",),
        local=("{a}/hypot({a}, {b})", "{b}/hypot({a}, {b})"),
        branch=_hypot_branch,
        py="hypot({0}, {1})",
        py_names=_math("hypot"),
        silent_overflow=True,
        keeps_nonfinite=True,
        # x/h, switched off at the tip of the cone (h = 0), where the engine's slope is 0
        symbolic=lambda d, x, y, out: tuple(
            d.route(d.call("step", out), d.div(v, out)) for v in (x, y)
        ),
    )
)

# --- special functions --------------------------------------------------------------------
register(
    Op(
        "erf",
        1,
        math.erf,
        lambda x, out: (_2_SQRT_PI * math.exp(-x * x),),
        "erf",
        "the error function, 2/√π ∫₀ˣ e^(-t²) dt",
        "squasher",
        ((0.7,), (-1.3,), (0.0,)),
        call_names=("erf",),
        local=("2/√π·exp(-{a}²)",),
        py="erf({0})",
        py_grads=("{up} * (_2_SQRT_PI * exp(-{0} * {0}))",),
        py_names=MappingProxyType({"erf": math.erf, "exp": math.exp, "_2_SQRT_PI": _2_SQRT_PI}),
        saturation=SATURATION,
        symbolic=lambda d, a, out: (
            d.mul(
                d.div(d.const(2.0), d.call("sqrt", d.const(math.pi, "pi"))),
                d.call("exp", d.neg(_square(d, a))),
            ),
        ),
    )
)

# --- neural-network units -----------------------------------------------------------------
register(
    Op(
        "sigmoid",
        1,
        _sigmoid,
        lambda x, out: (out * (1.0 - out),),
        "sigmoid",
        "logistic sigmoid 1/(1 + e^-x), a squashing unit",
        "squasher",
        ((0.7,), (-1.3,), (0.0,)),
        call_names=("sigmoid",),
        local=("σ({a})·(1 - σ({a}))",),
        py="(1.0 / (1.0 + exp(-{0})) if {0} >= 0.0 else ({tmp} := exp({0})) / (1.0 + {tmp}))",
        py_grads=("{up} * ({out} * (1.0 - {out}))",),
        py_names=_math("exp"),
        saturation=SATURATION,
        symbolic=lambda d, a, out: (d.mul(out, d.sub(d.one, out)),),
    )
)
register(
    Op(
        "relu",
        1,
        lambda x: x if x > 0.0 else 0.0,
        lambda x, out: (1.0 if x > 0.0 else 0.0,),
        "relu",
        "max(x, 0); gradient 0 at x ≤ 0",
        "gate",
        ((0.7,), (-1.3,)),
        call_names=("relu",),
        local=("1 if {a} > 0 else 0",),
        branch=_relu_branch,
        routes=True,
        dies=True,
        grads=lambda up, x, out: (up if x > 0.0 else 0.0,),
        py="({0} if {0} > 0.0 else 0.0)",
        py_grads=("({up} if {0} > 0.0 else 0.0)",),
        cut="{node} is a relu whose input is ≤ 0",
        symbolic=lambda d, a, out: (d.call("step", a),),  # relu'(0) = step(0) = 0
    )
)
register(
    Op(
        "softplus",
        1,
        _softplus,
        lambda x, out: (_sigmoid(x),),
        "softplus",
        "log(1 + e^x), a smooth relu",
        "scaler",
        ((-30.0,), (0.0,), (2.5,)),
        call_names=("softplus",),
        local=("σ({a})",),
        symbolic=lambda d, a, out: (d.call("sigmoid", a),),
    )
)
register(
    Op(
        "abs",
        1,
        abs,
        lambda x, out: (1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0),),
        "abs",
        "absolute value; gradient 0 at 0",
        "sign router",
        ((0.7,), (-1.3,), (0.0,)),
        call_names=("abs",),
        local=("sign({a})",),
        branch=_abs_branch,
        routes=True,
        grads=lambda up, x, out: (up if x > 0.0 else (-up if x < 0.0 else 0.0),),
        py="abs({0})",
        py_grads=("({up} if {0} > 0.0 else (-{up} if {0} < 0.0 else 0.0))",),
        keeps_nonfinite=True,
        cut="{node} is abs at 0, whose slope is taken as 0",
        symbolic=lambda d, a, out: (d.call("sign", a),),  # abs'(0) = sign(0) = 0
    )
)
register(
    Op(
        "max",
        None,
        max,
        _extremum_partials,
        "max",
        "the largest argument; max(a, b, …)",
        "router",
        ((1.5, -2.0), (0.3, 0.4, -0.1)),
        call_names=("max",),
        min_args=2,
        local=("1 if {a} is the largest else 0",),
        branch=_extremum_branch,
        routes=True,
        grads=_extremum_grads,
        cut="{node} is a max where it does not win",
        symbolic=_extremum_symbolic(1.0),
    )
)
register(
    Op(
        "min",
        None,
        min,
        _extremum_partials,
        "min",
        "the smallest argument; min(a, b, …)",
        "router",
        ((1.5, -2.0), (0.3, 0.4, -0.1)),
        call_names=("min",),
        min_args=2,
        local=("1 if {a} is the smallest else 0",),
        branch=_extremum_branch,
        routes=True,
        grads=_extremum_grads,
        cut="{node} is a min where it does not win",
        symbolic=_extremum_symbolic(-1.0),
    )
)

# --- indicators: the kinks' derivatives as formulas ----------------------------------------
register(
    Op(
        "step",
        1,
        lambda x: 1.0 if x > 0.0 else 0.0,
        lambda x, out: (0.0,),
        "step",
        "1 if x > 0 else 0 (step(0) = 0): the derivative of relu",
        "indicator",
        ((0.7,), (-1.3,)),
        call_names=("step",),
        local=("0",),
        branch=_relu_branch,
        routes=True,
        py="(1.0 if {0} > 0.0 else 0.0)",
        py_grads=("0.0",),
        symbolic=lambda d, a, out: (d.zero,),
    )
)
register(
    Op(
        "sign",
        1,
        lambda x: (x > 0.0) - (x < 0.0) + 0.0,
        lambda x, out: (0.0,),
        "sign",
        "1, 0 or -1 as x is positive, zero or negative: the derivative of abs",
        "indicator",
        ((0.7,), (-1.3,)),
        call_names=("sign",),
        local=("0",),
        branch=_abs_branch,
        routes=True,
        py="(1.0 if {0} > 0.0 else (-1.0 if {0} < 0.0 else 0.0))",
        py_grads=("0.0",),
        symbolic=lambda d, a, out: (d.zero,),
    )
)

register(
    Op(
        "route",
        2,
        lambda k, v: 0.0 if k == 0.0 else k * v,
        lambda k, v, out: (v, k),
        "route",
        "k·v, but exactly 0 where k is 0, even if v is inf or nan: how relu, abs, max and "
        "min send the upstream gradient v on with their local derivative k",
        "router",
        ((0.5, -2.0), (0.0, 3.0), (-1.0, 0.0)),
        call_names=("route",),
        local=("{b}", "{a}"),
        routes=True,
        py="(0.0 if {0} == 0.0 else {0} * {1})",
        py_grads=("(0.0 if {1} == 0.0 else {up} * {1})", "(0.0 if {0} == 0.0 else {up} * {0})"),
        silent_overflow=True,
        symbolic=lambda d, k, v, out: (v, k),
    )
)


# Every name a formula can call, e.g. FUNCTIONS["ln"] is OPS["log"].
FUNCTIONS: dict[str, Op] = {name: op for op in OPS.values() for name in op.call_names}

# Named constants a formula may use.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
