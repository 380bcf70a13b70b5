"""`agentflow schema check | sample`: can agentflow guarantee outputs for a schema (with which mask engines),
and what does it produce."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["schema_app"]

schema_app = typer.Typer(no_args_is_help=True, help="Check JSON schemas against the decoding guarantee.")


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        typer.echo(f"error: {path}: no such file", err=True)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"error: {path} is not JSON: {exc}", err=True)
    raise typer.Exit(2)


@schema_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="JSON schema files.")],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Also check against this model's tokenizer and mask engines."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file, one per line.")] = False,
) -> None:
    """Per file: supported (with the minimum max_tokens and the caps applied) or the keyword and JSON Pointer
    that is not. With a transformers model, also per mask engine, and which one auto picks; a schema the
    model's forced engine cannot express is unsupported. Exit 1 if any file is unsupported, 2 if a file is not
    JSON."""
    from agentflow.decoding import check_schema, compile_cached
    from agentflow.models.base import GuaranteedModel

    schemas = [(path, _load(path)) for path in files]
    backend, tokenizer_error = _check_model(model) if model else (None, None)
    guaranteed = backend if isinstance(backend, GuaranteedModel) else None
    forced = guaranteed.engine if guaranteed is not None else "auto"
    unsupported = 0
    for path, schema in schemas:
        report = check_schema(schema)
        row = {"file": str(path), **report.as_dict()}
        if tokenizer_error:
            row.update(supported=False, keyword=None, pointer=None, reason=tokenizer_error)
        elif report.supported and guaranteed is not None:
            per_engine = guaranteed.engine_report(compile_cached(schema))
            auto = per_engine.pop("auto")
            row["engines"] = {
                name: None if err is None else _where(err.keyword, err.pointer) + err.reason
                for name, err in per_engine.items()
            }
            row["auto_engine"] = auto if isinstance(auto, str) else None
            row["model_engine"] = forced
            refusal = per_engine.get(forced)
            if refusal is not None:
                row.update(
                    supported=False,
                    keyword=refusal.keyword,
                    pointer=refusal.pointer,
                    reason=f"mask engine {forced}: {refusal.reason}",
                )
        unsupported += not row["supported"]
        if as_json:
            sys.stdout.write(json.dumps(row) + "\n")
        elif row["supported"]:
            caps = f"; {len(report.caps)} caps (see --json)" if report.caps else ""
            typer.echo(f"{path}: supported, min max_tokens {report.min_max_tokens}{caps}")
            for name, why in row.get("engines", {}).items():
                typer.echo(f"  {name}: {'supported' if why is None else 'unsupported: ' + why}")
            if row.get("auto_engine"):
                typer.echo(f"  auto picks {row['auto_engine']}")
        else:
            typer.echo(
                f"{path}: unsupported: {_where(row.get('keyword'), row.get('pointer'))}{row['reason']}"
            )
    raise typer.Exit(1 if unsupported else 0)


def _where(keyword: str | None, pointer: str | None) -> str:
    return f"keyword '{keyword}' at {pointer or '/'}: " if keyword else ""


def _check_model(spec: str) -> tuple[Any, str | None]:
    """The loaded model, and None if its tokenizer keeps the guarantee, else why not."""
    from agentflow.exceptions import UnsupportedTokenizerError, UserError
    from agentflow.models.base import GuaranteedModel
    from agentflow.models.spec import load_model

    try:
        model = load_model(spec)
        if isinstance(model, GuaranteedModel):
            model.check_guarantee()
    except UnsupportedTokenizerError as exc:
        return None, f"tokenizer of {spec}: {exc}"
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return model, None


@schema_app.command("sample")
def sample(
    file: Annotated[Path, typer.Argument(help="A JSON schema file.")],
    model: Annotated[str, typer.Option("--model", "-m", help="transformers:PATH (a local model).")],
    n: Annotated[int, typer.Option("--n", min=1, help="How many instances.")] = 1,
    temperature: Annotated[float, typer.Option(min=0)] = 1.0,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Default: the guaranteed minimum.")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Print N instances of the schema (not the decision envelope), one JSON per line; exit 1 if unsupported."""
    from agentflow.exceptions import UnsupportedSchemaError, UserError
    from agentflow.models.base import GuaranteedModel
    from agentflow.models.spec import load_model

    schema = _load(file)
    try:
        backend = load_model(model)
        if not isinstance(backend, GuaranteedModel):
            raise UserError(f"model {model} cannot sample a schema (use transformers:PATH)")
        for i in range(n):
            text = backend.sample_schema(
                schema,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=None if seed is None else seed + i,
            )
            sys.stdout.write(text + "\n")
    except UnsupportedSchemaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
