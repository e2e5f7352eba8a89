#!/usr/bin/env python3
"""Fails when a crate's modules import each other in a cycle.

For every workspace crate with a `src/` tree, each `.rs` file is a module (`src/a/b.rs` and
`src/a/b/mod.rs` are `a::b`; `lib.rs`/`main.rs` is the crate root; `src/bin/*` are their own
crates and are skipped). An edge `m -> n` is any path that module `m` names into module `n`:
`use crate::…`, `use super::…`, `use self::…`, a child's name, or an inline `crate::…` path.
`pub use` lines are re-exports (a facade, not a dependency): they are followed, so importing
`crate::store::State` counts as importing the module that defines `State`. A module using
items of its own submodules or of its parent is fine; a cycle of two or more modules is not.

Usage: scripts/check_cycles.py [crate_dir ...]   (default: every member of the workspace)
Exit status 1 and the cycles on stderr when there is one.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEGMENT = r"[A-Za-z_][A-Za-z0-9_]*"
INLINE = re.compile(rf"\b(crate|super)((?:::{SEGMENT})+)")


def modules_of(src: Path) -> dict[tuple[str, ...], Path]:
    """Module path -> file, for one crate's src/ (bins excluded)."""
    modules = {}
    for file in src.rglob("*.rs"):
        relative = file.relative_to(src)
        if relative.parts[0] == "bin":
            continue
        parts = list(relative.with_suffix("").parts)
        if parts in (["lib"], ["main"]):
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        modules[tuple(parts)] = file
    return modules


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def expand_use_tree(tree: str) -> list[list[str]]:
    """`a::{b, c::{d as e, f}}` -> [[a, b], [a, c, d], [a, c, f]] (renames and globs dropped)."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)

    def split_top(inner: str) -> list[str]:
        items, depth, start = [], 0, 0
        for index, char in enumerate(inner):
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            elif char == "," and depth == 0:
                items.append(inner[start:index])
                start = index + 1
        items.append(inner[start:])
        return [item for item in items if item]

    def parse(text: str, prefix: list[str]) -> list[list[str]]:
        brace = text.find("{")
        if brace < 0:
            return [prefix + [part for part in text.split("::") if part]]
        head = [part for part in text[:brace].split("::") if part]
        paths = []
        for item in split_top(text[brace + 1 : text.rfind("}")]):
            paths.extend(parse(item, prefix + head))
        return paths

    return [[part for part in path if part not in ("*", "self")] for path in parse(tree, [])]


def use_statements(text: str):
    """(is_pub, path segments) for every `use` item of a file."""
    for match in re.finditer(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
        public = bool(match.group(1)) and "(" not in (match.group(1) or "")
        for path in expand_use_tree(match.group(2)):
            yield public, path


class Crate:
    def __init__(self, src: Path):
        self.modules = modules_of(src)
        self.texts = {module: strip_comments(file.read_text()) for module, file in self.modules.items()}
        self.aliases: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
        for module, text in self.texts.items():
            for public, path in use_statements(text):
                if public and path:
                    target = self.absolute(module, path[:-1])
                    if target is not None:
                        self.aliases.setdefault(module, {})[path[-1]] = target

    def absolute(self, module, path):
        """The absolute segments `path` names from inside `module`, or None (another crate)."""
        if not path:
            return module
        head, rest = path[0], list(path[1:])
        if head == "crate":
            return tuple(rest)
        if head == "self":
            return module + tuple(rest)
        if head == "super":
            base = module[:-1]
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
            return base + tuple(rest)
        if module + (head,) in self.modules:
            return module + tuple(path)
        return None

    def resolve(self, segments, seen=None):
        """The module an absolute path lands in, following re-exports."""
        segments = tuple(segments)
        for length in range(len(segments), -1, -1):
            prefix = segments[:length]
            if prefix in self.modules:
                rest = segments[length:]
                if rest and rest[0] in self.aliases.get(prefix, {}):
                    seen = seen or set()
                    key = (prefix, rest[0])
                    if key not in seen:
                        seen.add(key)
                        return self.resolve(self.aliases[prefix][rest[0]] + rest[1:], seen)
                return prefix
        return ()

    def edges(self):
        graph = {module: set() for module in self.modules}
        for module, text in self.texts.items():
            targets = []
            for public, path in use_statements(text):
                if public:
                    continue
                absolute = self.absolute(module, path)
                if absolute is not None:
                    targets.append(absolute)
            for match in INLINE.finditer(text):
                path = [match.group(1)] + match.group(2).strip(":").split("::")
                absolute = self.absolute(module, path)
                if absolute is not None:
                    targets.append(absolute)
            for absolute in targets:
                target = self.resolve(absolute)
                related = target[: len(module)] == module or module[: len(target)] == target
                if target != module and not related:
                    graph[module].add(target)
        return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for next_node in sorted(graph[node]):
            if next_node not in graph:
                continue
            if next_node not in index:
                visit(next_node)
                low[node] = min(low[node], low[next_node])
            elif next_node in on_stack:
                low[node] = min(low[node], index[next_node])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def workspace_crates():
    crates = []
    for manifest in sorted(ROOT.glob("**/Cargo.toml")):
        if "target" in manifest.parts or ".tools" in manifest.parts or manifest.parent == ROOT:
            continue
        if (manifest.parent / "src").is_dir():
            crates.append(manifest.parent)
    return crates


def name(module):
    return "::".join(("crate",) + module)


def main(argv):
    crates = [Path(arg) for arg in argv] or workspace_crates()
    failed = False
    for crate_dir in crates:
        graph = Crate(crate_dir / "src").edges()
        for component in cycles(graph):
            failed = True
            members = set(component)
            detail = "; ".join(
                f"{name(m)} -> {', '.join(name(t) for t in sorted(graph[m] & members))}" for m in component
            )
            print(f"{crate_dir.relative_to(ROOT)}: import cycle: {detail}", file=sys.stderr)
    if not failed:
        print(f"no import cycles in {len(crates)} crates")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
