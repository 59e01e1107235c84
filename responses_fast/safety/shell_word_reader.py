"""Reading words, assignments and redirections off tree-sitter-bash's syntax tree.

The base of :class:`.shell_walk.Walker`: turns word nodes into the values bash would give them
(quotes removed, escapes applied, ``$'...'`` decoded, ``{a,b}`` expanded) and records which
non-literal constructs they used; the commands inside substitutions are handed back to the walk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from tree_sitter import Node

from .shell_words import BRACE, DQ_ESCAPE, KNOWN_VARS, ansi_c, brace_expand, unescape_word

__all__ = ["REDIRECT_NODES", "SUBST_NODES", "Cwds", "WordReader"]

Cwds = tuple[str | None, ...]

REDIRECT_NODES = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
SUBST_NODES = frozenset({"command_substitution", "process_substitution"})


class WordReader(ABC):
    """Word-level reading; the statement walk supplies the source and nested walks."""

    __slots__ = ()
    src: bytes
    #: Loop variables bound to the one literal word (often a glob) they iterate over.
    bindings: dict[str, str]

    @abstractmethod
    def _nested(self, node: Node, cwds: Cwds, depth: int, wrappers: tuple[str, ...]) -> None:
        """Walk the substitutions anywhere under ``node``."""

    @abstractmethod
    def _substitution(self, node: Node, cwds: Cwds, depth: int, wrappers: tuple[str, ...]) -> None:
        """Walk the commands of one ``$(...)``, backtick or ``<(...)``."""

    def _text(self, node: Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    # ------------------------------------------------------------------ statements

    def _assignments(
        self, node: Node, out: list[str], cwds: Cwds, depth: int, wrappers: tuple[str, ...]
    ) -> None:
        if node.type == "variable_assignments":
            for child in node.children:
                if child.type == "variable_assignment":
                    self._assignments(child, out, cwds, depth, wrappers)
            return
        name = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        text = self._text(name) if name is not None else ""
        op = "+=" if any(c.type == "+=" for c in node.children) else "="
        val = ""
        if value is not None:
            kinds: set[str] = set()
            subs: list[str] = []
            val = " ".join(self.word(value, kinds, subs, cwds, depth, wrappers, brace=False))
        out.append(f"{text}{op}{val}")

    # ------------------------------------------------------------------ simple commands

    def redirect(
        self,
        node: Node,
        out: list[tuple[str, str]],
        extra_args: list[str],
        cwds: Cwds,
        depth: int,
        wrappers: tuple[str, ...],
    ) -> None:
        kinds: set[str] = set()
        subs: list[str] = []
        if node.type == "heredoc_redirect":
            op = "<<"
            body = ""
            for child in node.children:
                t = child.type
                if t in ("<<", "<<-"):
                    op = t
                elif t == "heredoc_body":
                    body = self._text(child)
                    if op == "<<-":
                        body = "\n".join(line.lstrip("\t") for line in body.split("\n"))
                    self._nested(child, cwds, depth, wrappers)
                elif t in REDIRECT_NODES:
                    self.redirect(child, out, extra_args, cwds, depth, wrappers)
            out.insert(0, (op, body.removesuffix("\n")))
            return
        if node.type == "herestring_redirect":
            values: list[str] = []
            for child in node.children:
                if child.is_named:
                    values.extend(self.word(child, kinds, subs, cwds, depth, wrappers))
            out.append(("<<<", " ".join(values)))
            return
        fd = ""
        op = ""
        targets: list[list[str]] = []
        for i, child in enumerate(node.children):
            t = child.type
            if t == "file_descriptor":
                fd = self._text(child)
            elif not child.is_named:
                op = t
            elif node.field_name_for_child(i) == "destination":
                targets.append(self.word(child, kinds, subs, cwds, depth, wrappers))
        if targets:
            # `> {a,/etc/x}` is an "ambiguous redirect" error in bash; judge every expansion.
            out.extend((fd + op, t) for t in targets[0])
            for more in targets[1:]:
                extra_args.extend(more)  # `echo a > f b`: b is an argument
        else:
            out.append((fd + op, ""))

    def word(
        self,
        node: Node,
        kinds: set[str],
        subs: list[str],
        cwds: Cwds,
        depth: int,
        wrappers: tuple[str, ...],
        brace: bool = True,
    ) -> list[str]:
        """The value(s) of one word node (several after brace expansion)."""
        t = node.type
        if t == "word":  # a leaf
            return [unescape_word(self._text(node))]
        if t == "number":
            if node.child_count:  # a number with an expansion inside ($((..)) forms)
                self._nested(node, cwds, depth, wrappers)
            return [self._text(node)]
        if t == "raw_string":
            return [self._text(node)[1:-1]]
        value, has_brace = self._part(node, kinds, subs, cwds, depth, wrappers)
        if has_brace and brace:
            kinds.add("brace")
            return brace_expand(value)
        return [value]

    def _part(
        self,
        node: Node,
        kinds: set[str],
        subs: list[str],
        cwds: Cwds,
        depth: int,
        wrappers: tuple[str, ...],
    ) -> tuple[str, bool]:
        t = node.type
        if t == "word" or t == "number":
            text = self._text(node)
            return unescape_word(text), "{" in text or "}" in text
        if t == "raw_string":
            return self._text(node)[1:-1], False
        if t == "ansi_c_string":
            kinds.add("ansi-c")
            return ansi_c(self._text(node)[2:-1]), False
        if t in ("string", "translated_string"):
            parts: list[str] = []
            for child in node.children:
                ct = child.type
                if ct == "string_content":
                    parts.append(
                        DQ_ESCAPE.sub(
                            lambda m: "" if m.group(1) == "\n" else m.group(1), self._text(child)
                        )
                    )
                elif child.is_named:
                    parts.append(self._part(child, kinds, subs, cwds, depth, wrappers)[0])
            return "".join(parts), False
        if t == "concatenation":
            parts = []
            braced = False
            for child in node.children:
                v, b = self._part(child, kinds, subs, cwds, depth, wrappers)
                parts.append(v)
                braced = braced or b
            value = "".join(parts)
            return value, braced and bool(BRACE.search(value))
        if t == "brace_expression":
            return self._text(node), True
        if t in SUBST_NODES:
            kinds.add("command" if t == "command_substitution" else "process")
            text = self._text(node)
            subs.append(text)
            self._substitution(node, cwds, depth, wrappers)
            return text, False
        text = self._text(node)
        if t in ("simple_expansion", "expansion"):
            var = text[1:] if t == "simple_expansion" else text[2:-1]
            bound = self.bindings.get(var) if self.bindings else None
            if bound is not None:
                return bound, False  # `for f in *.py`: $f is one of the names *.py matches
            if var not in KNOWN_VARS:
                kinds.add("parameter")
        elif t == "arithmetic_expansion":
            kinds.add("arithmetic")
        else:
            kinds.add("parameter")
        self._nested(node, cwds, depth, wrappers)
        return text if "$" in text or "`" in text else "$" + text, False

    # ------------------------------------------------------------------ wrappers and cd
