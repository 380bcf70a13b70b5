"""The in-container runner as the host sees it: files in and out of the work dir (`..`, absolute paths and
symlinks refused), output capping, timeouts, and the limits of a request."""

from __future__ import annotations

import json

import pytest

from agentflow.exceptions import ConfigError, SandboxPathError
from agentflow.sandbox import Sandbox

pytestmark = pytest.mark.anyio

TRICKS = (
    "echo secret-in-work > data.txt && ln -s /etc/passwd link && ln -s /etc etcdir && ln -s data.txt inner "
    "&& mkdir -p d && ln -s /etc d/e && ln -s .. up"
)


async def test_write_then_read_and_list(sandbox: Sandbox) -> None:
    """A file written through the API is read back byte for byte, listed with its size, seen by code."""
    info = await sandbox.write_file("sub/dir/notes.txt", "hello\nworld\n")
    assert (info.path, info.size) == ("sub/dir/notes.txt", 12)
    content = await sandbox.read_file("sub/dir/notes.txt")
    assert content.data == b"hello\nworld\n" and not content.truncated
    assert [(f.path, f.size) for f in await sandbox.list_files()] == [("sub/dir/notes.txt", 12)]
    result = await sandbox.python("print(open('sub/dir/notes.txt').read().split())")
    assert result.stdout == "['hello', 'world']\n"


@pytest.mark.parametrize(
    "path", ["../etc/passwd", "/etc/passwd", "/work/../etc/passwd", "a/../../etc/passwd", "/work", ""]
)
async def test_paths_outside_the_work_dir_are_refused(sandbox: Sandbox, path: str) -> None:
    """`..`, absolute paths outside /work and the work dir itself are refused for reading and writing."""
    with pytest.raises(SandboxPathError):
        await sandbox.read_file(path)
    with pytest.raises(SandboxPathError):
        await sandbox.write_file(path, "x")


async def test_symlinks_are_never_followed_on_copy_out(sandbox: Sandbox) -> None:
    """Links the code made — to /etc/passwd, to /etc, to a file inside, to '..' — are refused by read and write;
    the listing of produced files leaves them out."""
    result = await sandbox.shell(TRICKS)
    assert [f.path for f in result.files] == ["data.txt"]
    for path in ("link", "etcdir/passwd", "inner", "d/e/passwd", "up/etc/passwd"):
        with pytest.raises(SandboxPathError, match="symlink"):
            await sandbox.read_file(path)
    with pytest.raises(SandboxPathError, match="symlink"):
        await sandbox.write_file("link", "overwrite /etc/passwd?")
    with pytest.raises(SandboxPathError, match="symlink"):
        await sandbox.write_file("etcdir/evil", "x")
    assert (await sandbox.read_file("data.txt")).data == b"secret-in-work\n"


async def test_a_missing_file_or_a_directory_is_refused(sandbox: Sandbox) -> None:
    """Reading what is not there, or a directory, is a SandboxPathError naming the problem."""
    with pytest.raises(SandboxPathError, match="no such file"):
        await sandbox.read_file("nope.txt")
    await sandbox.shell("mkdir adir")
    with pytest.raises(SandboxPathError, match="not a regular file"):
        await sandbox.read_file("adir")


async def test_reads_are_capped_with_a_marker(sandbox: Sandbox) -> None:
    """A file over `max_file_bytes` comes back cut, saying how much was not read."""
    await sandbox.python("open('big.txt', 'w').write('y' * 100000)")
    content = await sandbox.read_file("big.txt")
    assert content.truncated and content.size == 100000 and len(content.data) == 65536
    assert content.text().endswith("[truncated: 34464 of 100000 bytes not read]")


async def test_stderr_keeps_head_and_tail(sandbox: Sandbox) -> None:
    """A long traceback keeps its start and its end (the error line) around the marker."""
    code = "import sys\nsys.stderr.write('first line\\n' + 'z' * 100000 + '\\n')\nraise ValueError('the real error')"
    result = await sandbox.python(code)
    assert result.exit_code == 1 and result.stderr_omitted > 0
    assert result.stderr.startswith("first line") and result.stderr.rstrip().endswith(
        "ValueError: the real error"
    )
    assert "bytes omitted]" in result.stderr


async def test_exit_codes_and_system_exit(sandbox: Sandbox) -> None:
    """sys.exit(n), a raised exception and a shell's exit status come back as exit codes."""
    assert (await sandbox.python("import sys; sys.exit(7)")).exit_code == 7
    assert (await sandbox.python("raise SystemExit('bye')")).stderr == "bye\n"
    failed = await sandbox.python("1/0")
    assert failed.exit_code == 1 and "ZeroDivisionError" in failed.stderr and not failed.ok
    assert (await sandbox.shell("exit 42")).exit_code == 42


async def test_code_runs_as_main_in_the_work_dir(sandbox: Sandbox) -> None:
    """`__name__` is `__main__`, the cwd is /work and imports find modules written there."""
    await sandbox.write_file("helper.py", "VALUE = 41\n")
    result = await sandbox.python(
        "import os, helper\nif __name__ == '__main__':\n    print(os.getcwd(), helper.VALUE + 1)"
    )
    assert result.stdout == "/work 42\n"


async def test_input_files_are_written_before_the_code_runs(sandbox: Sandbox) -> None:
    """`files=` lands in /work first; `files` of the result lists only what the code created or changed."""
    code = "import pandas as pd\ndf = pd.read_csv('in.csv')\ndf.to_csv('out.csv')\nprint(int(df['b'].sum()))"
    result = await sandbox.python(code, files={"in.csv": "a,b\n1,2\n3,4\n"})
    assert result.stdout == "6\n" and [f.path for f in result.files] == ["out.csv"]


async def test_processes_do_not_survive_their_execution(sandbox: Sandbox) -> None:
    """A background process started by one execution is gone when the next one runs."""
    await sandbox.shell("sleep 300 & echo started")
    ps = await sandbox.python(
        "import os\nprint([open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') if p.isdigit()])"
    )
    assert "sleep" not in ps.stdout


async def test_a_timeout_above_the_policys_is_refused(sandbox: Sandbox) -> None:
    """Asking for more time than the policy allows is a ConfigError, not a silent extension."""
    with pytest.raises(ConfigError, match="at most the policy's 30 s"):
        await sandbox.python("pass", timeout=31)


async def test_numpy_and_pandas_are_in_the_image(sandbox: Sandbox) -> None:
    """The image's Python has numpy and pandas from Debian."""
    result = await sandbox.python(
        "import json, numpy, pandas\nprint(json.dumps([numpy.__version__, pandas.__version__]))"
    )
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 2
