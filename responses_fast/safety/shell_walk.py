"""The walk over tree-sitter-bash's syntax tree that finds every simple command a line runs.

See :mod:`.commands` for what it returns and why; this module holds the traversal: statements,
lists and pipelines (with the folders ``cd`` may leave), words, redirections and nested scripts.
"""

from __future__ import annotations

import itertools
import re
import threading

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from .shell_syntax import MAX_DEPTH, FunctionDef, ParseError, SimpleCommand
from .shell_word_reader import REDIRECT_NODES, SUBST_NODES, Cwds, WordReader
from .shell_words import (
    SHELLS,
    cd_target,
    peel_wrappers,
    shell_c_script,
    shell_reads_stdin,
    unescape_word,
)

__all__ = ["Walker"]


def _SETS_VARIABLE(name: str) -> re.Pattern[str]:
    """What in a loop body could change ``name``: assignments, read, eval, source, ...."""
    return re.compile(
        rf"(?<![\w$]){re.escape(name)}\s*(?:\[[^\]]*\])?\+?=|\b(?:read|readarray|mapfile|"
        r"getopts|eval|source|declare|typeset|local|export|unset|printf|let)\b|(?:^|[;&|\s])\.\s"
    )


#: Deepest syntax tree walked (``{ { { ... } } }``); deeper ones raise ParseError.
_MAX_TREE_DEPTH = 150
#: Most folders tracked per command after ``cd``s; beyond, the folder is "unknown".
_MAX_CWDS = 4

_LANGUAGE = Language(tree_sitter_bash.language())
_local = threading.local()


def _parser() -> Parser:
    # A tree-sitter Parser is not meant to be shared between threads; one per thread is cheap.
    parser: Parser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = Parser(_LANGUAGE)
    return parser


_SKIP_NODES = frozenset({"comment", "heredoc_start", "heredoc_end", "heredoc_content"})


def _union(*sets: Cwds) -> Cwds:
    out: list[str | None] = []
    for s in sets:
        for c in s:
            if c not in out:
                out.append(c)
    if len(out) > _MAX_CWDS:
        return (None,)
    return tuple(out)


class Walker(WordReader):
    __slots__ = (
        "bindings",
        "functions",
        "next_pipeline",
        "out",
        "pending",
        "pipeline",
        "src",
        "stage",
        "tree_depth",
    )

    def __init__(self) -> None:
        self.out: list[SimpleCommand] = []
        self.bindings: dict[str, str] = {}
        self.functions: list[FunctionDef] = []
        self.next_pipeline = 0
        self.pipeline = 0
        self.stage = 0
        self.src = b""
        self.tree_depth = 0
        #: Redirections waiting for the node (by id) they belong to; see redirected_statement.
        self.pending: dict[int, tuple[list[tuple[str, str]], list[str]]] = {}

    # ------------------------------------------------------------------ entry

    def text(self, command: str, cwds: Cwds, depth: int, wrappers: tuple[str, ...]) -> None:
        """Parse a (possibly nested) script and walk it in ``cwds``."""
        if depth > MAX_DEPTH:
            raise ParseError("commands nested too deeply")
        try:
            # The trailing newline changes nothing for bash, but tree-sitter-bash takes 100-300 us
            # to finish a pipeline that ends the input without one (4 us with it).
            src = command.encode("utf-8") + b"\n"
        except UnicodeEncodeError:
            raise ParseError("the command is not valid text (a lone surrogate)") from None
        tree = _parser().parse(src)
        root = tree.root_node
        if root.has_error:
            raise ParseError(_error_message(root, src))
        saved = (self.src, self.pipeline, self.stage)
        self.src = src
        self.pipeline = self._new_pipeline()
        self.stage = 0
        try:
            self.sequence(root.children, cwds, depth, wrappers)
        finally:
            self.src, self.pipeline, self.stage = saved

    def _new_pipeline(self) -> int:
        self.next_pipeline += 1
        return self.next_pipeline

    def _gaps(self, children: list[Node]) -> None:
        """Raise if the grammar left text between these sibling nodes out of the tree.

        tree-sitter-bash drops a word in a few shapes (``make -f - <<EOF`` loses the ``-``);
        a command with a word missing must not be judged as if it were whole.
        """
        src = self.src
        for a, b in itertools.pairwise(children):
            end = a.end_byte
            start = b.start_byte
            if start > end + 1 or (start == end + 1 and src[end] not in b" \t"):
                self._gap(src[end:start])

    @staticmethod
    def _gap(gap: bytes) -> None:
        if gap.strip(b" \t\r\n\\"):
            near = gap.strip().decode("utf-8", "replace")[:20]
            raise ParseError(f"the shell grammar skipped {near!r}; cannot check it")

    def sequence(
        self, nodes: list[Node], cwds: Cwds, depth: int, wrappers: tuple[str, ...]
    ) -> tuple[Cwds, Cwds]:
        ok = cwds
        for node in nodes:
            if not node.is_named or node.type in _SKIP_NODES:
                continue
            self.pipeline = self._new_pipeline()
            self.stage = 0
            ok, cwds = self.stmt(node, cwds, depth, wrappers)
        return ok, cwds

    def stmt(
        self, node: Node, cwds: Cwds, depth: int, wrappers: tuple[str, ...]
    ) -> tuple[Cwds, Cwds]:
        """Walk one statement; returns (folders if it succeeds, folders whatever happens)."""
        self.tree_depth += 1
        if self.tree_depth > _MAX_TREE_DEPTH:
            raise ParseError("the command is nested too deeply to check")
        try:
            return self._stmt(node, cwds, depth, wrappers)
        finally:
            self.tree_depth -= 1

    def _redirected(
        self,
        node: Node | None,
        redirects: list[tuple[str, str]],
        extra: list[str],
        cwds: Cwds,
        depth: int,
        wrappers: tuple[str, ...],
    ) -> tuple[Cwds, Cwds]:
        """``node`` run with ``redirects`` (a command gets them; a compound is redirected whole)."""
        if node is not None and node.type == "command":
            return self.command(node, redirects, cwds, depth, wrappers, extra)
        if redirects:  # a redirection of a compound statement: `{ ...; } > out`
            self.finish(
                SimpleCommand(
                    extra,
                    redirects,
                    pipeline=self.pipeline,
                    stage=self.stage,
                    depth=depth,
                    cwds=cwds,
                ),
                wrappers,
            )
        if node is None:
            return cwds, cwds
        return self.stmt(node, cwds, depth, wrappers)

    def _stmt(
        self, node: Node, cwds: Cwds, depth: int, wrappers: tuple[str, ...]
    ) -> tuple[Cwds, Cwds]:
        if self.pending and node.id in self.pending:
            held, held_extra = self.pending.pop(node.id)
            return self._redirected(node, held, held_extra, cwds, depth, wrappers)
        kind = node.type
        if kind == "command":
            return self.command(node, [], cwds, depth, wrappers)
        if kind in ("redirected_statement", "list", "pipeline"):
            self._gaps(node.children)
        if kind == "list":
            kids = [c for c in node.children if c.type != "comment"]
            left, op, right = kids[0], kids[1].type, kids[-1]
            ok_l, any_l = self.stmt(left, cwds, depth, wrappers)
            self.pipeline = self._new_pipeline()
            self.stage = 0
            if op == "&&":
                ok_r, any_r = self.stmt(right, ok_l, depth, wrappers)
                return ok_r, _union(any_l, any_r)
            ok_r, any_r = self.stmt(right, any_l, depth, wrappers)  # ||: after a failure
            return _union(ok_l, ok_r), _union(any_l, any_r)
        if kind == "pipeline":
            # Every stage runs in its own subshell: a cd there does not change the folder.
            stage = 0
            pipeline = self.pipeline
            for child in node.children:
                if child.is_named and child.type not in _SKIP_NODES:
                    self.pipeline, self.stage = pipeline, stage
                    self.stmt(child, cwds, depth, wrappers)
                    stage += 1
            return cwds, cwds
        if kind == "redirected_statement":
            body = node.child_by_field_name("body")
            redirects: list[tuple[str, str]] = []
            extra: list[str] = []
            for child in node.children:
                if child.type in REDIRECT_NODES:
                    self.redirect(child, redirects, extra, cwds, depth, wrappers)
            if body is None:
                self._redirected(None, redirects, extra, cwds, depth, wrappers)
                return cwds, cwds
            # The grammar hangs `a && b > f` and `a | b > f` on the whole list; bash applies the
            # redirection to the last command only (b), in the folder b runs in.
            target = body
            while target.type in ("list", "pipeline"):
                named = [c for c in target.children if c.is_named and c.type != "comment"]
                if not named:
                    break
                target = named[-1]
            if target is body:
                return self._redirected(body, redirects, extra, cwds, depth, wrappers)
            self.pending[target.id] = (redirects, extra)
            return self.stmt(body, cwds, depth, wrappers)
        if kind in ("subshell",):
            self.sequence(node.children, cwds, depth, wrappers)
            return cwds, cwds
        if kind in ("compound_statement", "program", "do_group", "else_clause", "elif_clause"):
            return self.sequence(node.children, cwds, depth, wrappers)
        if kind in ("if_statement", "case_statement", "case_item"):
            ok, after = self._words_and_bodies(node, cwds, depth, wrappers)
            return _union(ok, cwds), _union(after, cwds)
        if kind in ("while_statement", "for_statement", "c_style_for_statement"):
            var, saved = self._bind_loop_variable(node) if kind == "for_statement" else ("", None)
            try:
                # Loop bodies may run again in the folder the last pass left.
                _, after = self._words_and_bodies(node, cwds, depth, wrappers)
                if after != cwds:
                    _, after = self._words_and_bodies(node, _union(cwds, after), depth, wrappers)
            finally:
                if var:
                    if saved is None:
                        self.bindings.pop(var, None)
                    else:
                        self.bindings[var] = saved
            return _union(after, cwds), _union(after, cwds)
        if kind == "function_definition":
            name_node = node.child_by_field_name("name")
            name = self._text(name_node) if name_node is not None else ""
            start = len(self.out)
            body = node.child_by_field_name("body")
            if body is not None:
                self.stmt(body, cwds, depth, wrappers)
            recursive_bg = any(
                c.name == name and (c.stage > 0 or _next_is_pipe(self.out, i + start))
                for i, c in enumerate(self.out[start:])
            ) or (name != "" and self._self_call_in_bg(body, name))
            self.functions.append(FunctionDef(name, recursive_bg))
            return cwds, cwds
        if kind == "negated_command":
            for child in node.children:
                if child.is_named:
                    ok, after = self.stmt(child, cwds, depth, wrappers)
                    return _union(ok, cwds), after
            return cwds, cwds
        if kind in ("variable_assignment", "variable_assignments"):
            assigns: list[str] = []
            self._assignments(node, assigns, cwds, depth, wrappers)
            self.finish(
                SimpleCommand(
                    [],
                    assigns=assigns,
                    pipeline=self.pipeline,
                    stage=self.stage,
                    depth=depth,
                    cwds=cwds,
                ),
                wrappers,
            )
            return cwds, cwds
        if kind in ("declaration_command", "unset_command"):
            argv = [node.children[0].type]
            kinds: set[str] = set()
            subs: list[str] = []
            for child in node.children[1:]:
                if child.type == "variable_assignment":
                    holder: list[str] = []
                    self._assignments(child, holder, cwds, depth, wrappers)
                    argv.extend(holder)
                elif child.is_named:
                    argv.extend(self.word(child, kinds, subs, cwds, depth, wrappers))
            self.finish(
                SimpleCommand(
                    argv,
                    pipeline=self.pipeline,
                    stage=self.stage,
                    depth=depth,
                    substitutions=subs,
                    expansions=frozenset(kinds),
                    cwds=cwds,
                ),
                wrappers,
            )
            return cwds, cwds
        if kind in REDIRECT_NODES:  # `$(< file)`: a redirection alone (bash reads the file)
            redirects = []
            self.redirect(node, redirects, [], cwds, depth, wrappers)
            return self._redirected(None, redirects, [], cwds, depth, wrappers)
        # test_command ([[ ]]), arithmetic ((( ))) and anything else: only the commands nested
        # in substitutions run.
        self._nested(node, cwds, depth, wrappers)
        return cwds, cwds

    def _words_and_bodies(
        self, node: Node, cwds: Cwds, depth: int, wrappers: tuple[str, ...]
    ) -> tuple[Cwds, Cwds]:
        ok = cwds
        for child in node.children:
            if not child.is_named or child.type in _SKIP_NODES:
                continue
            if child.type in (
                "word",
                "string",
                "raw_string",
                "concatenation",
                "number",
                "simple_expansion",
                "expansion",
                "command_substitution",
                "variable_name",
                "ansi_c_string",
                "process_substitution",
            ):
                self._nested(child, cwds, depth, wrappers)
                continue
            self.pipeline = self._new_pipeline()
            self.stage = 0
            ok, cwds = self.stmt(child, cwds, depth, wrappers)
        return ok, cwds

    def _bind_loop_variable(self, node: Node) -> tuple[str, str | None]:
        """``for f in WORD; do ...``: bind ``$f`` to WORD while walking the body.

        Only for one literal word (``*.py``, ``src/*.ts``) and a body that never sets the
        variable itself; otherwise ``$f`` stays an unknown parameter. Returns the variable bound
        ("" for none) and its previous binding.
        """
        variable = node.child_by_field_name("variable")
        values = node.children_by_field_name("value")
        body = node.child_by_field_name("body")
        if variable is None or body is None or len(values) != 1:
            return "", None
        if values[0].type != "word":
            return "", None
        name = self._text(variable)
        value = unescape_word(self._text(values[0]))
        if "{" in value or _SETS_VARIABLE(name).search(self._text(body)):
            return "", None
        saved = self.bindings.get(name)
        self.bindings[name] = value
        return name, saved

    def _self_call_in_bg(self, body: Node | None, name: str) -> bool:
        """``f(){ f & }``: the body starts itself in the background."""
        if body is None:
            return False
        text = self._text(body)
        return bool(re.search(rf"(?:^|[\s;{{|]){re.escape(name)}\s*&(?!&)", text))

    def _nested(self, node: Node, cwds: Cwds, depth: int, wrappers: tuple[str, ...]) -> None:
        """Walk the substitutions anywhere under ``node``."""
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type in SUBST_NODES:
                self._substitution(n, cwds, depth, wrappers)
            elif n.type == "function_definition":
                self.stmt(n, cwds, depth, wrappers)
            else:
                stack.extend(reversed(n.children))

    def _substitution(self, node: Node, cwds: Cwds, depth: int, wrappers: tuple[str, ...]) -> None:
        if depth + 1 > MAX_DEPTH:
            raise ParseError("commands nested too deeply")
        saved = (self.pipeline, self.stage)
        self.sequence(node.children, cwds, depth + 1, (*wrappers, "subst"))
        self.pipeline, self.stage = saved

    def command(
        self,
        node: Node,
        redirects: list[tuple[str, str]],
        cwds: Cwds,
        depth: int,
        wrappers: tuple[str, ...],
        extra: list[str] | None = None,
    ) -> tuple[Cwds, Cwds]:
        argv: list[str] = []
        assigns: list[str] = []
        kinds: set[str] = set()
        subs: list[str] = []
        own: list[tuple[str, str]] = []
        src = self.src
        prev_end = -1
        for child in node.children:
            # Property reads of tree-sitter nodes cost ~0.15 us each: read each one once.
            start = child.start_byte
            if start > prev_end >= 0 and (start > prev_end + 1 or src[prev_end] not in b" \t"):
                self._gap(src[prev_end:start])
            end = prev_end = child.end_byte
            t = child.type
            if t == "word":  # a leaf: the common case
                argv.append(unescape_word(src[start:end].decode("utf-8", "replace")))
            elif t == "raw_string":
                argv.append(src[start + 1 : end - 1].decode("utf-8", "replace"))
            elif t == "command_name":
                for w in child.children:
                    argv.extend(self.word(w, kinds, subs, cwds, depth, wrappers))
            elif t == "variable_assignment":
                self._assignments(child, assigns, cwds, depth, wrappers)
            elif t in REDIRECT_NODES:
                self.redirect(child, own, argv, cwds, depth, wrappers)
            elif t != "$" and t not in _SKIP_NODES and child.is_named:
                argv.extend(self.word(child, kinds, subs, cwds, depth, wrappers))
        if extra:
            argv.extend(extra)
        cmd = SimpleCommand(
            argv,
            [*own, *redirects],
            assigns,
            self.pipeline,
            self.stage,
            (),
            depth,
            subs,
            frozenset(kinds),
            cwds,
        )
        return self.finish(cmd, wrappers)

    def finish(self, cmd: SimpleCommand, wrappers: tuple[str, ...]) -> tuple[Cwds, Cwds]:
        """Peel wrappers off ``cmd``, record what runs, and follow ``cd``."""
        cmd = self._expand(cmd, list(wrappers))
        if cmd.argv and cmd.name in ("cd", "pushd", "popd"):
            ok = tuple(cd_target(cmd.argv, c, cmd.name) for c in cmd.cwds)
            ok = _union(ok)
            return ok, _union(ok, cmd.cwds)
        return cmd.cwds, cmd.cwds

    def _emit(self, cmd: SimpleCommand, argv: list[str], wrappers: list[str]) -> SimpleCommand:
        if argv is not cmd.argv:
            cmd = SimpleCommand(
                argv,
                cmd.redirects,
                cmd.assigns,
                cmd.pipeline,
                cmd.stage,
                (),
                cmd.depth,
                cmd.substitutions,
                cmd.expansions,
                cmd.cwds,
            )
        cmd.wrappers = tuple(wrappers)
        self.out.append(cmd)
        return cmd

    def _nested_script(
        self, script: str, cmd: SimpleCommand, wrappers: list[str], how: str
    ) -> None:
        self.text(script, cmd.cwds, cmd.depth + 1, (*wrappers, how))

    def _expand(self, cmd: SimpleCommand, wrappers: list[str]) -> SimpleCommand:
        """Peel wrappers off ``cmd``; record what actually runs (and nested scripts)."""
        extra: list[str] = []
        argv = peel_wrappers(cmd.argv, wrappers, extra)
        if extra:
            cmd.assigns = [*cmd.assigns, *extra]
        prog = argv[0].rsplit("/", 1)[-1] if argv else ""
        if prog == "su" and "-c" in argv[1:-1]:
            out = self._emit(cmd, argv, wrappers)
            self._nested_script(argv[argv.index("-c") + 1], out, wrappers, "sh-c")
            return out
        if prog in SHELLS:
            c_script = shell_c_script(argv)
            out = self._emit(cmd, argv, wrappers)
            if c_script is not None:
                self._nested_script(c_script, out, wrappers, "sh-c")
            elif shell_reads_stdin(argv):
                for op, body in out.redirects:
                    if op in ("<<", "<<-", "<<<"):
                        self._nested_script(body, out, wrappers, "sh-stdin")
            return out
        if prog == "eval":
            out = self._emit(cmd, argv, wrappers)
            self._nested_script(" ".join(argv[1:]), out, wrappers, "eval")
            return out
        if prog == "find":
            out = self._emit(cmd, argv, wrappers)
            self._find_exec(out, argv, wrappers)
            return out
        return self._emit(cmd, argv, wrappers)

    def _find_exec(self, cmd: SimpleCommand, argv: list[str], wrappers: list[str]) -> None:
        roots = []
        for a in argv[1:]:
            if a.startswith("-") or a in ("(", "!"):
                break
            roots.append(a)
        root = roots[0] if roots else "."
        i = 1
        while i < len(argv):
            if argv[i] in ("-exec", "-execdir", "-ok", "-okdir"):
                j = i + 1
                while j < len(argv) and argv[j] not in (";", "+"):
                    j += 1
                if j > i + 1:
                    sub = SimpleCommand(
                        [root if a == "{}" else a for a in argv[i + 1 : j]],
                        pipeline=cmd.pipeline,
                        stage=cmd.stage,
                        depth=cmd.depth,
                        expansions=cmd.expansions,
                        cwds=cmd.cwds,
                    )
                    self._expand(sub, [*wrappers, "find-exec"])
                i = j
            i += 1


def _next_is_pipe(cmds: list[SimpleCommand], i: int) -> bool:
    return i + 1 < len(cmds) and cmds[i + 1].pipeline == cmds[i].pipeline and cmds[i + 1].stage > 0


def _error_message(root: Node, src: bytes) -> str:
    stack = [root]
    while stack:
        n = stack.pop()
        if n.is_missing:
            return f"the shell grammar expected {n.type!r} (unbalanced quote or bracket?)"
        if n.type == "ERROR":
            near = src[n.start_byte : n.end_byte][:40].decode("utf-8", "replace")
            return f"the shell grammar cannot parse it near {near!r}"
        stack.extend(reversed(n.children))
    return "the shell grammar cannot parse it"
