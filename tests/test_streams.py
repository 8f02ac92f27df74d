"""Standard streams at their edges: the installed `grad` with standard input or output closed,
standard output full, inputs that are devices, huge or binary. Each is a one-line error on
stderr with the README's exit code and nothing on stdout, never a traceback."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest
from conftest import grad_executable, strict_json

from gradcli.output.files import READ_LIMIT


def shell(command: str, cwd, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run `grad …` through bash, so `<&-`, `>&-` and `> /dev/full` mean what they mean to a
    user; stdout is captured by bash into a file unless the command redirects it."""
    environment = {
        **os.environ,
        "NO_COLOR": "1",
        "COLUMNS": "120",
        "GRADCLI_HISTORY": str(cwd / "history"),
    }
    script = f'grad() {{ {shlex.quote(grad_executable())} "$@"; }}\n{command}'
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        cwd=cwd,
        env=environment,
        input=input,
        timeout=60,
    )


def one_line_error(result, code: int, *pieces: str) -> None:
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert result.stdout == b""
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    for piece in pieces:
        assert piece in err, err


@pytest.mark.parametrize(
    "command",
    [
        "grad eval - x=2 <&-",
        "grad eval -f - x=2 <&-",
        "grad check - x=2 <&-",
        "grad descend - x=2 <&-",
        "grad repl <&-",
        "grad <&-",
        "grad eval x --at - <&-",
    ],
)
def test_closed_stdin_is_a_usage_error(tmp_path, command):
    one_line_error(shell(command, tmp_path), 2, "cannot read standard input: it is closed")


def test_closed_stdin_does_not_matter_when_it_is_not_read(tmp_path):
    result = shell("grad check 'x*y' x=1 y=2 <&-", tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"good" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        "grad eval x x=1 --json >&-",
        "grad eval x x=1 >&-",
        "grad descend 'x^2' x=1 --steps 3 >&-",
        "grad ops >&-",
        "echo 'x = 1' | grad repl >&-",
        "printf 'x\\n1\\n' | grad eval x --at - >&-",
    ],
)
def test_closed_stdout_is_an_error_not_silence(tmp_path, command):
    result = shell(command, tmp_path)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.strip() == "error: cannot write to standard output: it is closed"


@pytest.mark.parametrize(
    "command",
    [
        "grad eval 'x*2' x=1 > /dev/full",
        "grad eval 'x*2' x=1 --json > /dev/full",
        "grad descend 'x^2' x=1 --steps 3 --json > /dev/full",
        "grad descend 'x^2' x=1 --steps 3 --csv - > /dev/full",
        "grad check 'x*2' x=1 > /dev/full",
        "echo 'x = 1; x * 2' | grad repl > /dev/full",
        "printf 'x\\n1\\n' | grad eval x --at - > /dev/full",
        "printf 'x\\n1\\n' | grad eval x --at - --json -o - > /dev/full",
    ],
)
def test_full_stdout_is_an_error(tmp_path, command):
    result = shell(command, tmp_path)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert err.strip() == "error: cannot write to standard output: No space left on device"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_the_formula_file_is_refused_at_once(tmp_path, device):
    one_line_error(
        shell(f"grad eval -f {device} x=1", tmp_path), 2, f"cannot read '{device}': not a text file"
    )


def test_a_binary_file_is_not_a_text_file(tmp_path):
    (tmp_path / "picture.grad").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe stuff")
    one_line_error(
        shell("grad eval -f picture.grad x=1", tmp_path),
        2,
        "cannot read 'picture.grad': not a text file",
    )
    (tmp_path / "latin1.grad").write_bytes("x * 2 # caf\xe9".encode("latin-1"))
    one_line_error(shell("grad eval -f latin1.grad x=1", tmp_path), 2, "not a text file")
    one_line_error(
        shell("grad eval - x=1 < latin1.grad", tmp_path),
        2,
        "cannot read standard input: not a text file",
    )


def test_a_file_past_the_size_limit_is_refused(tmp_path):
    huge = tmp_path / "huge.grad"
    with open(huge, "wb") as out:  # READ_LIMIT + 1 bytes of text
        out.write(b"x" + b" " * READ_LIMIT)
    one_line_error(
        shell("grad eval -f huge.grad x=1", tmp_path),
        2,
        "cannot read 'huge.grad': larger than 64 MiB",
    )
    one_line_error(
        shell("grad eval - x=1 < huge.grad", tmp_path),
        2,
        "cannot read standard input: larger than 64 MiB",
    )


def test_a_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "notepad.grad").write_bytes("\ufeffq = x + y\r\nf = q * z\r\n".encode())
    for command in (
        "grad eval -f notepad.grad x=-2 y=5 z=-4 --json",
        "grad eval - x=-2 y=5 z=-4 --json < notepad.grad",
    ):
        result = shell(command, tmp_path)
        assert result.returncode == 0, result.stderr
        data = strict_json(result.stdout)
        assert data["value"] == -12.0 and data["gradient"] == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_a_reader_that_leaves_early_stays_quiet(tmp_path):
    # `| true` closes the pipe at once: the output meets a broken pipe, which is no error
    result = shell(
        "grad descend 'x^2' x=1 --steps 3000 --every 1 | true; echo \"code ${PIPESTATUS[0]}\" >&2",
        tmp_path,
    )
    err = result.stderr.decode()
    assert err.strip() == "code 141", err  # as SIGPIPE ends a program; 1 is "diverged"


def test_a_long_message_stays_one_line_when_stderr_is_not_a_terminal(tmp_path):
    # piped, the width is the default 80 columns: a message longer than that must not be
    # word-wrapped onto a second line (scripts read stderr line by line)
    name = "a-formula-file-with-a-rather-long-name-that-does-not-exist.grad"
    command = f"unset COLUMNS; grad eval -f {name} x=1"
    one_line_error(shell(command, tmp_path), 2, f"'{name}'")
    long = "an_input_whose_name_is_long_enough_to_pass_the_width"
    result = shell(f"unset COLUMNS; grad eval {long} {long}=1e-400 --json", tmp_path)
    assert result.returncode == 0
    assert result.stderr.decode().count("\n") == 1, result.stderr  # the warning
