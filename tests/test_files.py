"""The one writer (gradcli/output/files.py): where a file name points, what is written there, and that
a failure never leaves half a file or a stray temporary. In-process tests of the module, then
the installed `grad` writing to devices, FIFOs, symlinks, `-` and descriptors.

The tests run as root, whom chmod does not stop. Where a permission must really refuse, the
command runs under `setpriv` without CAP_DAC_OVERRIDE (root then obeys file modes like anyone);
where that is not possible, the failure is simulated with a monkeypatch, and the test says so."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import threading

import pytest
from conftest import grad_executable

from gradcli.core.errors import UsageError
from gradcli.output import files


def umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def only(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def devices(tmp_path):
    """Private nodes of the real null (1, 3) and full (1, 7) devices: a writer that renamed over
    a device would replace these, never the machine's /dev/null and /dev/full."""
    folder = tmp_path / "dev"
    folder.mkdir()
    try:
        os.mknod(folder / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(folder / "full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        with open(folder / "null", "wb") as probe:  # a nodev mount refuses to open them
            probe.write(b"")
    except OSError as exc:
        pytest.skip(f"cannot make device nodes here: {exc}")
    return folder


# --- regular files: beside and rename ---------------------------------------------------------


def test_a_new_file_gets_the_umask_mode(tmp_path):
    files.write_text(tmp_path / "new.csv", "a,b\n")
    assert (tmp_path / "new.csv").read_text() == "a,b\n"
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == umask_mode()
    assert only(tmp_path) == ["new.csv"]


def test_a_replaced_file_keeps_its_mode_and_is_a_new_inode(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old old old\n")
    target.chmod(0o604)
    before = target.stat().st_ino
    files.write_bytes(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert target.stat().st_ino != before  # renamed into place, not rewritten
    assert only(tmp_path) == ["t.csv"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file away")
def test_a_replaced_file_keeps_its_owner(tmp_path):
    target = tmp_path / "theirs.csv"
    target.write_text("old\n")
    os.chown(target, 65534, 65534)
    files.write_text(target, "new\n")
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)
    assert target.read_text() == "new\n"


def test_a_symlink_to_a_file_writes_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "t.svg"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    files.write_text(link, "<svg/>")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "<svg/>"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert only(tmp_path / "real") == ["t.svg"] and only(tmp_path) == ["link.svg", "real"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "made.csv")
    files.write_text(link, "x\n")
    assert link.is_symlink() and (tmp_path / "made.csv").read_text() == "x\n"


def test_a_failure_in_the_block_leaves_the_old_file_whole_and_no_temporary(tmp_path):
    target = tmp_path / "trace.csv"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with files.open_output(target) as out:
            out.write("step,value\n")
            raise KeyboardInterrupt
    assert target.read_text() == "old\n" and only(tmp_path) == ["trace.csv"]


def test_a_full_disk_at_the_rename_is_a_usage_error_and_leaves_no_temporary(tmp_path, monkeypatch):
    # simulated: os.replace fails as a full or read-only disk would make it
    target = tmp_path / "t.csv"
    target.write_text("old\n")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(UsageError, match=r"cannot write '.*t.csv': No space left on device"):
        files.write_text(target, "new\n")
    assert target.read_text() == "old\n" and only(tmp_path) == ["t.csv"]


def test_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="No such file or directory"):
        files.write_text(tmp_path / "no" / "such.csv", "x")
    assert only(tmp_path) == []


def test_the_streaming_form_commits_what_was_written(tmp_path):
    target = tmp_path / "long.json"
    with files.open_output(target) as out:
        out.write('{"trace": [')
        for i in range(1000):
            out.write(("," if i else "") + str(i))
        out.write("]}\n")
        assert not target.exists()  # nothing is visible before the end
    assert target.read_text() == '{"trace": [' + ",".join(map(str, range(1000))) + "]}\n"


def test_a_folder_that_takes_no_temporary_file_rewrites_a_writable_file_in_place(
    tmp_path, monkeypatch
):
    # simulated: mkstemp refuses as a read-only folder would (the real case runs below under
    # setpriv); the file itself is writable, so it is rewritten, and its longer old text goes
    target = tmp_path / "t.csv"
    target.write_text("a much longer old content\n")
    target.chmod(0o620)
    inode = target.stat().st_ino

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    files.write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_ino == inode and stat.S_IMODE(target.stat().st_mode) == 0o620
    with pytest.raises(UsageError, match="Permission denied"):  # a new file cannot be made
        files.write_text(tmp_path / "other.csv", "x")


def test_in_place_the_old_file_stays_whole_until_the_new_text_is(tmp_path, monkeypatch):
    target = tmp_path / "t.csv"
    target.write_text("old\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(KeyboardInterrupt), files.open_output(target) as out:
        out.write("new\n" * 1_000_000)  # past any buffer: it would have reached the file
        assert target.read_text() == "old\n"
        raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    with files.open_output(target, binary=True) as out:
        out.write(b"new\n" * 1_000_000)
        assert target.read_text() == "old\n"
    assert target.read_text() == "new\n" * 1_000_000


# --- anything else: written straight -----------------------------------------------------------


def test_a_null_device_stays_a_device(devices):
    files.write_bytes(devices / "null", b"data")
    assert stat.S_ISCHR(os.stat(devices / "null").st_mode)


@pytest.mark.parametrize("size", [3, 100_000])
def test_a_full_device_is_a_clean_error(devices, size):
    full = devices / "full"
    with pytest.raises(UsageError, match=f"cannot write '{full}': No space left on device"):
        files.write_text(full, "x" * size)
    assert stat.S_ISCHR(os.stat(full).st_mode) and only(devices) == ["full", "null"]


def test_a_symlink_to_a_device_writes_the_device_and_keeps_the_link(tmp_path, devices):
    link = tmp_path / "sink.csv"
    link.symlink_to(devices / "null")
    files.write_text(link, "x\n")
    assert link.is_symlink() and os.readlink(link) == str(devices / "null")
    assert stat.S_ISCHR(os.stat(devices / "null").st_mode)
    assert only(tmp_path) == ["dev", "sink.csv"]


def test_a_fifo_is_written_into_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    files.write_bytes(fifo, b"through the pipe\n")
    reader.join(10)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode) and only(tmp_path) == ["pipe"]


def test_is_stdout():
    assert files.is_stdout("-") and files.is_stdout("/dev/stdout")
    assert not files.is_stdout("./-x") and not files.is_stdout("out.csv")


# --- reading ------------------------------------------------------------------------------


def test_read_text_drops_a_byte_order_mark(tmp_path):
    (tmp_path / "f.grad").write_bytes(b"\xef\xbb\xbfx * 2\n")
    assert files.read_text(tmp_path / "f.grad") == "x * 2\n"


def test_read_text_refuses_past_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "READ_LIMIT", 10)
    monkeypatch.setattr(files, "_CHUNK", 4)
    (tmp_path / "f.grad").write_text("x + " * 3)
    with pytest.raises(UsageError, match="larger than"):
        files.read_text(tmp_path / "f.grad")
    (tmp_path / "g.grad").write_text("x + " * 2 + "y")  # 9 bytes: within the limit
    assert files.read_text(tmp_path / "g.grad") == "x + x + y"


def test_read_text_refuses_past_the_limit_from_a_pipe(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "READ_LIMIT", 10)
    monkeypatch.setattr(files, "_CHUNK", 4)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("x + " * 3))
    writer.start()
    with pytest.raises(UsageError, match="larger than"):
        files.read_text(fifo)
    writer.join(10)


# --- the installed grad -------------------------------------------------------------------------


def test_csv_dash_is_standard_output_and_replaces_the_table(grad, tmp_path):
    result = grad("descend", "x^2", "x=1", "--steps", "2", "--csv", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "step,value,x,grad_x,grad_norm",
        "0,1.0,1.0,2.0,2.0",
        "1,0.6400000000000001,0.8,1.6,1.6",
        "2,0.4096,0.64,1.28,1.28",
    ]
    assert not (tmp_path / "-").exists()
    same = grad("descend", "x^2", "x=1", "--steps", "2", "--csv", "/dev/stdout")
    assert same.returncode == 0 and same.stdout == result.stdout


def test_csv_dash_with_json_is_a_usage_error(grad):
    result = grad("descend", "x^2", "x=1", "--steps", "2", "--csv", "-", "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert "both write to standard output" in result.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_svg_dash_writes_the_diagram_alone(grad, tmp_path):
    result = grad("eval", "x*y", "x=2", "y=3", "--svg", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().startswith("<?xml") and result.stdout.rstrip().endswith("</svg>")
    assert only(tmp_path) == ["history"] or only(tmp_path) == []
    example = grad("example", "circuit", "--svg", "-")
    assert example.returncode == 0 and example.stdout.lstrip().startswith("<?xml")


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
@pytest.mark.parametrize(
    "option, name", [("--svg", "c.png"), ("--png", "c.svg"), ("--svg", "C.PNG")]
)
def test_a_diagram_named_for_the_other_format_is_a_usage_error(grad, tmp_path, option, name):
    result = grad("eval", "x*y", "x=2", "y=3", option, name)
    assert result.returncode == 2 and result.stdout == ""
    assert "ends in" in result.stderr and not (tmp_path / name).exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_svg_to_a_full_device_is_exit_2_and_a_null_device_stays_one(grad, devices):
    full = grad("eval", "x*y", "x=2", "y=3", "--svg", "dev/full")
    assert full.returncode == 2 and full.stdout == ""
    assert full.stderr.strip() == "error: cannot write 'dev/full': No space left on device"
    null = grad("eval", "x*y", "x=2", "y=3", "--svg", "dev/null")
    assert null.returncode == 0, null.stderr
    assert stat.S_ISCHR(os.stat(devices / "null").st_mode)
    assert stat.S_ISCHR(os.stat(devices / "full").st_mode) and only(devices) == ["full", "null"]


def test_csv_into_a_fifo_with_a_reader(grad, tmp_path):
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = grad("descend", "x^2", "x=1", "--steps", "2", "--csv", str(fifo))
    reader.join(30)
    assert result.returncode == 0, result.stderr
    assert received and received[0].startswith("step,value,x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_csv_into_an_inherited_descriptor(tmp_path):
    """`--csv >(cat)`: the shell passes /dev/fd/N, a pipe."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [
            grad_executable(),
            "descend",
            "x^2",
            "x=1",
            "--steps",
            "2",
            "--csv",
            f"/dev/fd/{write_end}",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    assert process.wait(60) == 0, process.stderr.read()
    assert text.splitlines()[0] == "step,value,x,grad_x,grad_norm" and len(text.splitlines()) == 4


def test_csv_through_a_symlink_writes_the_target(grad, tmp_path):
    (tmp_path / "target.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to("target.csv")
    result = grad("descend", "x^2", "x=1", "--steps", "2", "--csv", "link.csv")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "target.csv").read_text().startswith("step,")


# --- real permissions: root without CAP_DAC_OVERRIDE obeys file modes ---------------------------


def _without_override() -> list[str] | None:
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        return None
    command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    folder = tempfile.mkdtemp()
    try:
        os.chmod(folder, 0o555)
        probe = subprocess.run([*command, "touch", os.path.join(folder, "x")], capture_output=True)
        return command if probe.returncode != 0 else None
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)


WITHOUT_OVERRIDE = _without_override()
needs_permissions = pytest.mark.skipif(
    WITHOUT_OVERRIDE is None, reason="needs root and setpriv to make permissions refuse"
)


def grad_obeying_modes(tmp_path, *args):
    environment = {**os.environ, "NO_COLOR": "1", "GRADCLI_HISTORY": str(tmp_path / "h")}
    return subprocess.run(
        [*WITHOUT_OVERRIDE, grad_executable(), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
    )


@needs_permissions
def test_a_write_only_file_is_written_not_refused_as_unreadable(tmp_path):
    target = tmp_path / "wo.csv"
    target.write_text("old\n")
    target.chmod(0o222)
    result = grad_obeying_modes(
        tmp_path, "descend", "x^2", "x=1", "--steps", "2", "--csv", "wo.csv"
    )
    assert result.returncode == 0, result.stderr
    target.chmod(0o644)
    assert target.read_text().startswith("step,")


@needs_permissions
def test_a_writable_file_in_a_read_only_folder_is_rewritten_in_place(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "t.csv"
    target.write_text("old content that is longer than the new one\n" * 100)
    folder.chmod(0o555)
    try:
        result = grad_obeying_modes(
            tmp_path, "descend", "x^2", "x=1", "--steps", "2", "--csv", "ro/t.csv"
        )
        assert result.returncode == 0, result.stderr
        assert target.read_text().splitlines()[-1] == "2,0.4096,0.64,1.28,1.28"
        assert only(folder) == ["t.csv"]
        new = grad_obeying_modes(
            tmp_path, "descend", "x^2", "x=1", "--steps", "2", "--csv", "ro/new.csv"
        )
        assert new.returncode == 2 and new.stdout == ""
        assert new.stderr.strip() == "error: cannot write 'ro/new.csv': Permission denied"
    finally:
        folder.chmod(0o755)


@needs_permissions
def test_a_run_that_fails_leaves_a_file_in_a_read_only_folder_as_it_was(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    data = folder / "data.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i + 1}\n" for i in range(50_000)))
    (folder / "out.csv").write_text("old\n")
    (tmp_path / "bad.csv").write_text("x,y\n" + "1,2\n" * 100_000 + "abc,1\n")
    folder.chmod(0o555)
    try:
        failed = grad_obeying_modes(tmp_path, "eval", "x*y", "--at", "bad.csv", "-o", "ro/out.csv")
        assert failed.returncode == 2 and "line 100002" in failed.stderr
        assert (folder / "out.csv").read_text() == "old\n"
        # the output written over its own data: the data is read whole before the file changes
        same = grad_obeying_modes(
            tmp_path, "eval", "x*y", "--at", "ro/data.csv", "-o", "ro/data.csv"
        )
        assert same.returncode == 0, same.stderr
        lines = data.read_text().splitlines()
        assert lines[0] == "value,grad_x,grad_y,error" and len(lines) == 50_001
        assert lines[-1] == f"{49_999.0 * 50_000.0!r},50000.0,49999.0,"
        assert only(folder) == ["data.csv", "out.csv"]
    finally:
        folder.chmod(0o755)


@needs_permissions
def test_a_read_only_file_is_refused_not_replaced(tmp_path):
    """The folder would let a rename replace it, but `>` would not write it: neither do we."""
    target = tmp_path / "keep.svg"
    target.write_text("PRECIOUS\n")
    target.chmod(0o444)
    (tmp_path / "p.csv").write_text("x\n1\n")
    for args in (
        ["eval", "x*y", "x=1", "y=2", "--svg", "keep.svg"],
        ["eval", "2*x", "--at", "p.csv", "-o", "keep.svg"],
        ["descend", "x^2", "x=1", "--steps", "2", "--csv", "keep.svg"],
    ):
        result = grad_obeying_modes(tmp_path, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "cannot write 'keep.svg': Permission denied" in result.stderr
        assert target.read_text() == "PRECIOUS\n"
    assert not [name for name in only(tmp_path) if name.endswith(".tmp")]  # nothing left over


@needs_permissions
def test_a_file_that_cannot_be_written_is_exit_2_and_stays_whole(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "t.csv"
    target.write_text("old\n")
    target.chmod(0o444)
    folder.chmod(0o555)
    try:
        result = grad_obeying_modes(
            tmp_path, "descend", "x^2", "x=1", "--steps", "2", "--csv", "ro/t.csv"
        )
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip() == "error: cannot write 'ro/t.csv': Permission denied"
        assert target.read_text() == "old\n" and only(folder) == ["t.csv"]
    finally:
        folder.chmod(0o755)


def test_the_history_trim_writes_through_a_symlinked_history(tmp_path):
    history_module = pytest.importorskip("prompt_toolkit.history")
    from gradcli.cli.prompt import open_history

    (tmp_path / "dotfiles").mkdir()
    real = tmp_path / "dotfiles" / "history"
    writer = history_module.FileHistory(str(real))
    for i in range(1010):
        writer.store_string(f"x = {i}")
    link = tmp_path / "history"
    link.symlink_to(real)
    open_history(link, lambda message: pytest.fail(message))
    assert link.is_symlink() and real.read_text().count("\n+x = ") == 1000
    assert only(tmp_path / "dotfiles") == ["history"]
