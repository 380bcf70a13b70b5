"""outlines_core: the compiled grammar as one regex (`regex_form.py`) indexed against a byte-exact vocabulary.

outlines_core takes a regex and nothing else, so its coverage is bounded by the size of the regex form
(`MAX_REGEX_CHARS`): objects with many optional members and long capped strings blow it up. Its regex compiler
(regex-automata's dense DFA) is also exponential on a regex that starts with a JSON string allowing escapes
(measured: 1 s at 16 characters, memory exhausted at 24; the same string inside an object compiles in
milliseconds), so a grammar whose output can start with a string is refused for this engine. Because no
static rule can rule out every such case, the index is built in a forked child under a time and memory limit
(`BUILD_TIMEOUT_S`, `BUILD_MEMORY_BYTES`); a build that exceeds them refuses the schema for this engine instead
of hanging or exhausting the process. The vocabulary is built from `TokenizerView`'s token bytes, never from decoded strings, so the U+FFFD
problem of outlines' own vocabulary does not arise.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
from functools import lru_cache
from typing import Any

from agentflow.decoding.compile import CompiledSchema
from agentflow.decoding.engines.automata import AutomatonError, lexeme_dfa
from agentflow.decoding.engines.base import MaskEngine, Matcher, TokenizerView
from agentflow.decoding.engines.regex_form import RegexTooLarge, to_regex
from agentflow.decoding.grammar import GrammarIR
from agentflow.exceptions import DecodingInvariantError, EngineLimitError, EngineUnsupportedError

__all__ = ["MAX_REGEX_CHARS", "OutlinesCoreEngine"]

MAX_REGEX_CHARS = 400_000
BUILD_TIMEOUT_S = 20.0
BUILD_MEMORY_BYTES = 4 << 30  # address space the child may add to what the process already has


def first_bytes(ir: GrammarIR) -> frozenset[int]:
    """Bytes an output can start with."""
    memo: dict[str, frozenset[int]] = {}

    def first(item: str) -> frozenset[int]:
        if item.startswith('"'):
            text = GrammarIR.literal_text(item)
            return frozenset(text.encode()[:1])
        if item not in memo:
            if item in ir.lexemes:
                dfa = lexeme_dfa(ir.lexemes[item])
                memo[item] = frozenset().union(*dfa.succ(0).values()) if dfa.trans[0] else frozenset()
            else:
                memo[item] = frozenset().union(*(first(alt[0]) for alt in ir.rules[item] if alt))
        return memo[item]

    return first(ir.start)


@lru_cache(maxsize=512)
def _translate(lark: str, compiled: CompiledSchema) -> str:
    ir = compiled.ir
    try:
        if ord('"') in first_bytes(ir):
            raise EngineUnsupportedError(
                "outlines_core",
                "type",
                "",
                "the output can start with a string, on which outlines_core's regex compiler is exponential",
            )
        return to_regex(ir, MAX_REGEX_CHARS)
    except AutomatonError as exc:
        lexeme = exc.lexeme
        error = EngineLimitError if isinstance(exc, RegexTooLarge) else EngineUnsupportedError
        raise error(
            "outlines_core",
            lexeme.keyword if lexeme else "schema",
            lexeme.pointer if lexeme else "",
            str(exc),
        ) from None


class _OCMatcher(Matcher):
    __slots__ = ("g",)

    def __init__(self, g: Any) -> None:
        self.g = g

    def fill(self, buf: Any) -> None:
        self.g.write_mask_into(buf.data_ptr(), buf.numel(), 4)

    def consume(self, token: int) -> None:
        try:
            self.g.advance(token, return_tokens=False)
        except ValueError as exc:
            raise DecodingInvariantError(f"outlines_core: token {token} rejected: {exc}") from None

    def accepting(self) -> bool:
        return bool(self.g.is_finished())


class OutlinesCoreEngine(MaskEngine):
    name = "outlines_core"

    def __init__(self, view: TokenizerView) -> None:
        super().__init__(view)
        import outlines_core

        tokens: dict[bytes, list[int]] = {}
        for tok, data in enumerate(view.token_bytes):
            if data and tok != view.eos:
                tokens.setdefault(data, []).append(tok)
        self._vocabulary = outlines_core.Vocabulary(view.eos, tokens)

    @classmethod
    def translate(cls, compiled: CompiledSchema) -> str:
        if compiled.grammar is None:
            raise EngineUnsupportedError("outlines_core", "schema", "", "no structured grammar")
        return _translate(compiled.lark, compiled)

    def _compile(self, form: str) -> Any:
        import outlines_core

        if not hasattr(os, "fork"):  # pragma: no cover - no fork (Windows): build in process, unguarded
            return outlines_core.Index(form, self._vocabulary)
        return _guarded_index(form, self._vocabulary)

    def _matcher(self, prepared: Any) -> Matcher:
        import outlines_core

        return _OCMatcher(outlines_core.Guide(prepared))


def _guarded_index(regex: str, vocabulary: Any) -> Any:
    """`outlines_core.Index(regex, vocabulary)` built in a forked child (pickled back through a pipe), killed
    past `BUILD_TIMEOUT_S` or `BUILD_MEMORY_BYTES`; either refuses the grammar with `EngineUnsupportedError`."""
    import outlines_core

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: build, send, exit without running any parent cleanup
        code = 1
        try:
            os.close(read_fd)
            _limit_memory()
            data = pickle.dumps(outlines_core.Index(regex, vocabulary))
            with os.fdopen(write_fd, "wb") as out:
                out.write(data)
            code = 0
        except ValueError:
            code = 2
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    timed_out = False
    try:
        while True:
            ready, _, _ = select.select([read_fd], [], [], BUILD_TIMEOUT_S)
            if not ready:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        raise EngineLimitError("outlines_core", "schema", "", f"index build exceeded {BUILD_TIMEOUT_S:.0f} s")
    code = os.waitstatus_to_exitcode(status)
    if code == 2:
        raise DecodingInvariantError("outlines_core rejected the regex form")
    if code != 0:
        raise EngineLimitError(
            "outlines_core",
            "schema",
            "",
            f"index build exceeded its memory limit ({BUILD_MEMORY_BYTES >> 30} GiB)",
        )
    return pickle.loads(b"".join(chunks))


def _limit_memory() -> None:
    try:
        import resource

        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = current + BUILD_MEMORY_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError, ImportError):  # no /proc or no resource module: time limit only
        pass
