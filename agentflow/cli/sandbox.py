"""`agentflow sandbox build | doctor | exec`: the Docker sandbox image, what is missing, and running code in a
fresh hardened sandbox by hand (to try a policy or an attack).

Exit codes: 0 ok, 1 the code failed (non-zero exit, timeout, kill) or doctor found something missing or the
build failed, 2 bad input or no engine / image (the message says what to install and start).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["sandbox_app"]

sandbox_app = typer.Typer(no_args_is_help=True, help="Docker sandboxes for model-written code.")


def _quiet_logs() -> None:
    """Warnings and errors on stderr only: stdout carries the result (one JSON object with --json)."""
    from agentflow.cli.common import setup_logging

    setup_logging(0, False)


def _fail(
    message: str, code: int = 2, *, as_json: bool = False, error_type: str = "UsageError"
) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    if as_json:
        sys.stdout.write(json.dumps({"error": {"type": error_type, "message": message}}) + "\n")
    return typer.Exit(code)


@sandbox_app.command("build")
def build(
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild the base and the image even if present.")
    ] = False,
    mirror: Annotated[
        str | None,
        typer.Option(
            "--mirror",
            help="Debian mirror for debootstrap (default $AGENTFLOW_SANDBOX_MIRROR or deb.debian.org).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the final line.")] = False,
) -> None:
    """Build the sandbox image offline (debootstrap + docker import, then sandboxes/Dockerfile), tagged with the
    content hash of its definitions; does nothing when that tag exists. Needs root and debootstrap."""
    _quiet_logs()
    from agentflow.exceptions import SandboxError, SandboxUnavailableError
    from agentflow.sandbox import build_image
    from agentflow.sandbox.engine import connect

    def log(line: str) -> None:
        if not quiet:
            typer.echo(line, err=True)

    try:
        report = build_image(connect(), force=force, mirror=mirror, log=log)
    except SandboxUnavailableError as exc:
        raise _fail(str(exc), error_type=type(exc).__name__) from None
    except SandboxError as exc:
        raise _fail(str(exc), 1, error_type=type(exc).__name__) from None
    done = "built" if report.built_image else "up to date"
    typer.echo(f"{report.tag} {done} ({report.seconds:.1f} s)")


@sandbox_app.command("doctor")
def doctor_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Can sandboxes run here? Engine (DOCKER_HOST honoured), image, seccomp, gVisor, build needs; with the
    exact commands to fix what is missing. Exit 0 when ready, 1 when not."""
    _quiet_logs()
    from agentflow.sandbox import doctor

    report = doctor()
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict()) + "\n")
    else:
        for line in report.lines():
            typer.echo(line)
    raise typer.Exit(0 if report.ready else 1)


def _read_code(code: str | None, file: str | None, as_json: bool) -> str:
    if (code is None) == (file is None):
        raise _fail(
            "give the code with --code TEXT, or a FILE, or - for stdin (exactly one)", as_json=as_json
        )
    if code is not None:
        text = code
    elif file == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(file or "").read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _fail(f"{file}: no such file", as_json=as_json) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"{file}: cannot read it ({exc})", as_json=as_json) from None
    if not text.strip():
        raise _fail("the code is empty", as_json=as_json)
    return text


@sandbox_app.command("exec")
def exec_command(
    file: Annotated[str | None, typer.Argument(help="A file with the code, or - for stdin.")] = None,
    code: Annotated[str | None, typer.Option("--code", "-c", help="The code itself.")] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="A TOML policy file (fields not given keep the hardened default)."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.001, help="Wall clock in seconds (default: the policy's)."),
    ] = None,
    shell: Annotated[
        bool, typer.Option("--shell", help="The code is a bash command line, not Python.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object on stdout: stdout, stderr, exit_code, timed_out, killed_by, files.",
        ),
    ] = False,
) -> None:
    """Run code in a fresh hardened sandbox (removed afterwards) and print what the sandbox tools return.
    Exit 0 when the code exited 0, 1 when it failed, timed out or was killed, 2 for bad input."""
    import anyio

    from agentflow.exceptions import SandboxError, UserError
    from agentflow.sandbox import Policy, default_policy, load_policy

    _quiet_logs()
    text = _read_code(code, file, as_json)
    try:
        policy = load_policy(policy_file) if policy_file is not None else default_policy()
        if timeout is not None:
            data = {**policy.model_dump(), "timeout_s": timeout}
            if timeout > policy.timeout_s and not policy.reason:
                data["reason"] = f"--timeout {timeout:g} on the command line"
            policy = Policy(**data)
    except UserError as exc:
        raise _fail(str(exc), as_json=as_json, error_type=type(exc).__name__) from None
    try:
        result = anyio.run(_execute, text, "shell" if shell else "python", policy)
    except UserError as exc:
        raise _fail(str(exc), as_json=as_json, error_type=type(exc).__name__) from None
    except SandboxError as exc:
        raise _fail(str(exc), 1, as_json=as_json, error_type=type(exc).__name__) from None
    if as_json:
        sys.stdout.write(
            json.dumps({**result.as_dict(), "policy": policy.as_dict()}, ensure_ascii=False) + "\n"
        )
    else:
        sys.stdout.write(result.stdout)
        sys.stdout.flush()
        sys.stderr.write(result.stderr)
        typer.echo(_summary(result), err=True)
    raise typer.Exit(0 if result.ok else 1)


async def _execute(code: str, kind: str, policy: Any) -> Any:
    import anyio

    from agentflow.sandbox import Sandbox, SandboxPool

    pool = SandboxPool(warm=0)
    try:
        sandbox = Sandbox(pool, run_id=f"cli-{uuid.uuid4().hex[:12]}", policy=policy)
        return await (sandbox.shell(code) if kind == "shell" else sandbox.python(code))
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(pool.close)


def _summary(result: Any) -> str:
    parts = [f"exit {result.exit_code}" if result.exit_code is not None else "no exit status"]
    if result.timed_out:
        parts.append("timed out")
    if result.killed_by and result.killed_by != "timeout":
        parts.append(f"killed by {result.killed_by}")
    parts.append(f"{result.duration_s:.3f} s")
    if result.files:
        parts.append("files: " + ", ".join(f"{f.path} ({f.size} B)" for f in result.files))
    if result.error:
        parts.append(result.error)
    return "sandbox: " + " · ".join(parts)
