"""`grad diff` output: the derivative formulas as Unicode text (Rich) or LaTeX."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from ..core.symbolic import GRADCLI, Derivation, Notation, Value, gradcli_number, write
from .render_hessian import second_label
from .style import GRAD, VALUE, num

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")

UNICODE = GRADCLI._replace(
    infix={
        **GRADCLI.infix,
        "sub": ([0, " − ", 1], 1, (1, 2)),
        "mul": ([0, "·", 1], 2, (2, 4)),
        "neg": (["−", 0], 3, (4,)),
    },
    number=lambda value: gradcli_number(value).replace("-", "−"),
)


def _latex_number(value: float) -> str:
    written = gradcli_number(value)
    mantissa, _, exponent = written.partition("e")
    if exponent:
        written = f"{mantissa} \\cdot 10^{{{int(exponent)}}}"
    return written


_LATEX_FUNCTIONS = {
    "exp": r"\exp",
    "log": r"\ln",
    "sin": r"\sin",
    "cos": r"\cos",
    "tan": r"\tan",
    "sinh": r"\sinh",
    "cosh": r"\cosh",
    "tanh": r"\tanh",
    "max": r"\max",
    "min": r"\min",
    "sigmoid": r"\sigma",
    "asin": r"\arcsin",
    "acos": r"\arccos",
    "atan": r"\arctan",
    "log2": r"\log_2",
    "log10": r"\log_{10}",
    "sign": r"\operatorname{sgn}",
}

LATEX = Notation(
    infix={
        "add": ([0, " + ", 1], 1, (1, 2)),
        "sub": ([0, " - ", 1], 1, (1, 2)),
        "mul": ([0, r" \cdot ", 1], 2, (2, 4)),
        "div": ([r"\frac{", 0, "}{", 1, "}"], 5, (0, 0)),
        "neg": (["-", 0], 3, (4,)),
        "pow": ([0, "^{", 1, "}"], 4, (5, 0)),
        "sqrt": ([r"\sqrt{", 0, "}"], 5, (0,)),  # a radical, not \operatorname{sqrt}
    },
    call=(r"\left(", r"\right)"),
    separator=", ",
    parens=(r"\left(", r"\right)"),
    number=_latex_number,
    function=lambda name: _LATEX_FUNCTIONS.get(name, rf"\operatorname{{{name}}}"),
)

_LATEX_NAMES = {"pi": r"\pi"}


def _unicode(pieces: list[tuple[str, str]]) -> Text:
    """Pieces as Rich Text: x^2 written x²; user names stay literal text."""
    text = Text()
    i = 0
    while i < len(pieces):
        piece, kind = pieces[i]
        if (
            piece == "^"
            and i + 1 < len(pieces)
            and pieces[i + 1][1] == "number"
            and pieces[i + 1][0].isdigit()
        ):
            text.append(pieces[i + 1][0].translate(_SUPERSCRIPT))
            i += 2
            continue
        text.append(piece)
        i += 1
    return text


def _with_value(line: Text, value: Value | None, style: str, digits: int) -> Text:
    if value is None:
        return line
    line.append("   = ", style="dim")
    if value.value is None:
        line.append("undefined", style="yellow")
        if value.reason:
            line.append(f" ({value.reason})", style="dim")
    else:
        line.append(num(value.value, digits), style=style)
    return line


def text_view(
    derivation: Derivation, values: Mapping[int, Value] | None = None, digits: int = 6
) -> Text:
    """The named intermediates, then ∂f/∂x = formula for each input (with its value at the
    point, if given)."""
    expr, names = derivation.expr, derivation.names
    f = derivation.graph.output_name
    lines = []
    for node in derivation.order:
        line = Text()
        line.append(names[node], style="bold")
        line.append(" = ")
        line.append_text(_unicode(write(expr, node, names, UNICODE)))
        lines.append(_with_value(line, values and values.get(node), VALUE, digits))
    for name, root in derivation.roots.items():
        line = Text()
        line.append(derivative_label(f, name), style=f"bold {GRAD}")
        line.append(" = ")
        line.append_text(_unicode(write(expr, root, names, UNICODE, expand_root=False)))
        lines.append(_with_value(line, values and values.get(root), GRAD, digits))
    view = Text("\n").join(lines)
    # a formula is one line, whatever the width: to copy it whole, and a file gets no breaks
    view.no_wrap, view.overflow = True, "ignore"
    return view


def _latex_pieces(pieces: list[tuple[str, str]]) -> str:
    out = []
    for piece, kind in pieces:
        if kind == "name":
            piece = _LATEX_NAMES.get(piece, _latex_name(piece))
        out.append(piece)
    return "".join(out)


def _latex_name(name: str) -> str:
    """w0 -> w_{0}, long_name -> \\mathrm{long\\_name}."""
    stem = name.rstrip("0123456789")
    if len(stem) == 1 and stem != name:
        return f"{stem}_{{{name[1:]}}}"
    if len(name) == 1:
        return name
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


def derivative_label(f: str, key) -> str:
    """∂f/∂x for an input, ∂²f/∂x∂y or ∂²f/∂x² for a pair (grad diff --order 2)."""
    if not isinstance(key, tuple):
        return f"∂{f}/∂{key}"
    return second_label(f, *key)


def _latex_derivative(f: str, key) -> str:
    if not isinstance(key, tuple):
        return rf"\frac{{\partial {f}}}{{\partial {_latex_name(key)}}}"
    a, b = (_latex_name(n) for n in key)
    below = rf"\partial {a}^2" if a == b else rf"\partial {a} \partial {b}"
    return rf"\frac{{\partial^2 {f}}}{{{below}}}"


def latex(derivation: Derivation) -> str:
    """One LaTeX equation per line: the intermediates, then each ∂f/∂x."""
    expr, names = derivation.expr, derivation.names
    f = _latex_name(derivation.graph.output_name)
    lines = [
        f"{_latex_name(names[node])} = {_latex_pieces(write(expr, node, names, LATEX))}"
        for node in derivation.order
    ]
    for name, root in derivation.roots.items():
        lines.append(
            f"{_latex_derivative(f, name)} = "
            f"{_latex_pieces(write(expr, root, names, LATEX, expand_root=False))}"
        )
    return "\n".join(lines) + "\n"
