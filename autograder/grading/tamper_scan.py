"""The out-of-kernel half of tamper detection: read the student's code before it runs.

The in-kernel half (``autograder.checks.integrity``) catches changes to numpy, builtins,
mini_autograd and the checks while the notebook runs. A determined student could also
switch that off from inside the kernel, so the grader, outside the kernel, first reads every
cell the student could edit and looks for code that rebinds what the checks rely on:

* assigning to or deleting an attribute of numpy, mini_autograd, autograder, builtins, math
  or sys (``np.allclose = ...``, ``ag.Variable.__mul__ = ...``), or ``setattr`` on them;
* rebinding a name the locked setup cells imported (``check_values = ...``, ``np = ...``);
* reaching for the machinery (``__builtins__``, ``globals()``, ``sys.modules``, IPython's
  event hooks, ``exec``/``eval``/``compile``, ``import builtins``, ``ctypes``, ``gc``);
* IPython's and the interpreter's machinery: input and AST transformers, custom exception
  handlers, display and exception hooks, import hooks, trace and audit hooks, the shell's methods;
  the call stack (frames, tracebacks' frames), IPython's input history (``In``, ``_ih``) and
  ``linecache`` (where the hidden tests' code can be read while they run);
* IPython syntax is read as IPython runs it (its own input transformer): ``%timeit``, ``%time``
  and ``%matplotlib`` are allowed (the code they run is scanned too), other magics are findings.

``scan_notebook`` returns the findings; ``FlagTampering`` (an nbgrader preprocessor used at
autograde time) makes every test cell after the first finding fail with a message saying so.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nbgrader.preprocessors import NbGraderPreprocessor

PROTECTED_MODULES = {"numpy", "mini_autograd", "autograder", "builtins", "math", "sys"}
FORBIDDEN_NAMES = {"__builtins__", "__import__", "globals", "vars", "exec", "eval", "compile", "get_ipython",
                   "In", "Out", "_ih", "_oh", "_i", "_ii", "_iii"}
FORBIDDEN_IMPORTS = {"builtins", "ctypes", "gc", "importlib", "inspect", "linecache", "IPython", "ipykernel",
                     "traitlets", "zmq", "jupyter_client", "_thread", "threading", "__main__"}
# Modules reached as attributes of other modules (traceback.sys, pydoc.inspect, traceback.linecache)
MODULE_ATTRIBUTES = FORBIDDEN_IMPORTS | {"sys", "modules"}
MACHINERY_ATTRIBUTES = {
    # IPython's shell: what rewrites, runs or reports a cell
    "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager", "ast_transformers",
    "set_custom_exc", "custom_exceptions", "CustomTB", "showtraceback", "_showtraceback", "InteractiveTB",
    "run_cell", "run_cell_async", "run_code", "run_ast_nodes", "transform_cell", "register_magic_function",
    "register_magics", "display_pub", "displayhook", "excepthook", "user_expressions", "shell_handlers",
    # the interpreter: hooks and the call stack
    "breakpointhook", "unraisablehook", "addaudithook", "meta_path", "path_hooks", "path_importer_cache",
    "settrace", "setprofile", "_getframe", "currentframe", "f_back", "f_locals", "f_globals", "f_code",
    "tb_frame", "gi_frame", "cr_frame", "ag_frame", "__globals__", "__code__", "__closure__", "__subclasses__",
    "walk_stack", "extract_stack", "format_stack", "history_manager",
}
ALLOWED_IMPORTS = {"IPython.display"}   # HTML, Markdown, Image, display: what notebooks show, not how they run
ALLOWED_MAGICS = {"timeit", "time", "matplotlib"}
_HISTORY_NAME = re.compile(r"_i\d+|_\d+")


@dataclass
class Finding:
    cell: str  # grade_id, or the cell's position
    line: int
    what: str

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.what}"


def _module_aliases(setup_sources: list[str]) -> tuple[dict[str, str], set[str]]:
    """From the locked cells: {alias: module} for protected modules, and every name they bind."""
    aliases, bound = {}, set()
    for source in setup_sources:
        if "import" not in source:   # no import statement without the word (the hidden tests, mostly)
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    bound.add(name)
                    if alias.name.split(".")[0] in PROTECTED_MODULES:
                        aliases[name] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    name = alias.asname or alias.name
                    bound.add(name)
                    if node.module.split(".")[0] in PROTECTED_MODULES:
                        aliases.setdefault(name, f"{node.module}.{alias.name}")
    for module in PROTECTED_MODULES:
        aliases.setdefault(module, module)
    return aliases, bound


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every expression node
        return "?"


def as_python(source: str) -> str:
    """The Python that IPython runs for a cell (magics become get_ipython() calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _magic_call(node) -> tuple[str, str, list[ast.expr]] | None:
    """(method, magic name, its string arguments) for get_ipython().run_line_magic/run_cell_magic/system/getoutput."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
        return None
    method = node.func.attr
    name = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else ""
    return method, str(name), node.args[1:]


def scan_source(source: str, cell: str, aliases: dict[str, str], protected_names: set[str]) -> list[Finding]:
    """Findings in one student cell, read as IPython runs it. A cell that does not parse cannot run
    at all, so it is left to the kernel."""
    try:
        tree = ast.parse(as_python(source))
    except (SyntaxError, ValueError):
        return []
    return _scan_tree(tree, cell, aliases, protected_names)


def _hidden_name(node) -> bool:
    """An attribute name that is machinery, or built so that a reader of the code cannot see it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value in MACHINERY_ATTRIBUTES or node.value in MODULE_ATTRIBUTES or node.value in FORBIDDEN_NAMES
    return isinstance(node, (ast.BinOp, ast.JoinedStr, ast.Call))


def _scan_tree(tree: ast.AST, cell: str, aliases: dict[str, str], protected_names: set[str]) -> list[Finding]:
    findings = []
    allowed_calls = set()   # get_ipython() inside an allowed magic call
    for node in ast.walk(tree):
        magic = _magic_call(node)
        if magic is None:
            continue
        method, name, arguments = magic
        allowed_calls.add(id(node.func.value))
        allowed_calls.add(id(node.func.value.func))
        if method in ("system", "getoutput"):
            continue
        if method in ("run_line_magic", "run_cell_magic") and name in ALLOWED_MAGICS:
            for argument in arguments:   # %timeit CODE and %%time BODY run CODE/BODY in the notebook
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and argument.value.strip():
                    try:
                        findings.extend(_scan_tree(ast.parse(as_python(argument.value)), cell, aliases, protected_names))
                    except (SyntaxError, ValueError):
                        pass
            continue
        findings.append(Finding(cell, getattr(node, "lineno", 0), f"uses the magic %{name or method}"))
    aliases = dict(aliases)
    for node in ast.walk(tree):  # `import autograder.checks.gradients as c` in the cell makes `c` an alias too
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PROTECTED_MODULES:
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PROTECTED_MODULES:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    # Names bound inside a function or class body are local to it; only module-level bindings
    # (and names declared global) replace what the setup imported.
    nested, declared_global = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            for inner in ast.walk(node):
                if inner is not node:
                    nested.add(id(inner))
        elif isinstance(node, ast.Global):
            declared_global.update(node.names)

    def flag(node, what):
        findings.append(Finding(cell, getattr(node, "lineno", 0), what))

    def check_target(target, node, verb):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                check_target(element, node, verb)
        elif isinstance(target, ast.Starred):
            check_target(target.value, node, verb)
        elif isinstance(target, ast.Name):
            local = id(node) in nested and target.id not in declared_global
            if not local and (target.id in protected_names or target.id in FORBIDDEN_NAMES):
                flag(node, f"{verb} '{target.id}', which the notebook's setup imported")
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            root = _root_name(target)
            if root in aliases or root in FORBIDDEN_NAMES:
                flag(node, f"{verb} {_dotted(target)} (part of {aliases.get(root, root)})")

    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                check_target(target, node, "assigns to")
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            check_target(node.target, node if hasattr(node, "lineno") else node.iter, "loops over")
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    check_target(item.optional_vars, node, "binds")
        elif isinstance(node, ast.NamedExpr):
            check_target(node.target, node, "assigns to")
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                check_target(target, node, "deletes")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name in protected_names and id(node) not in nested:
                flag(node, f"defines '{node.name}', replacing what the notebook's setup imported")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in FORBIDDEN_IMPORTS and module not in ALLOWED_IMPORTS:
                    flag(node, f"imports {module}")
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                if name in protected_names and isinstance(node, ast.ImportFrom) and id(node) not in nested:
                    flag(node, f"re-imports '{name}' from {node.module}")
        elif isinstance(node, ast.Call):
            function = node.func
            name = function.id if isinstance(function, ast.Name) else None
            if name in ("setattr", "delattr") and node.args and _root_name(node.args[0]) in aliases:
                flag(node, f"calls {name} on {_dotted(node.args[0])}")
            elif name == "getattr" and node.args and (aliases.get(_root_name(node.args[0]) or "", "").split(".")[0]
                                                      in ("sys", "builtins", "autograder")):
                flag(node, f"calls getattr on {_dotted(node.args[0])}")
            elif name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2 and (
                    _hidden_name(node.args[1])):
                flag(node, f"calls {name} with the name {_dotted(node.args[1])}")
            elif name in FORBIDDEN_NAMES and id(node) not in allowed_calls:
                flag(node, f"calls {name}()")
            elif isinstance(function, ast.Attribute) and function.attr in ("setprofile", "settrace"):
                flag(node, f"calls {_dotted(function)}, which would blind the checks")
            elif isinstance(function, ast.Attribute) and function.attr in ("register", "unregister") \
                    and "events" in _dotted(function.value):
                flag(node, "changes IPython's event hooks")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and (
                node.id in FORBIDDEN_NAMES or _HISTORY_NAME.fullmatch(node.id)):
            if node.id == "__builtins__":
                flag(node, "uses __builtins__")
            elif node.id == "get_ipython":
                if id(node) not in allowed_calls:
                    flag(node, "uses get_ipython(), IPython's machinery")
            elif node.id not in ("__import__", "globals", "vars", "exec", "eval", "compile"):
                flag(node, f"reads {node.id}, IPython's input and output history")
        elif isinstance(node, ast.Attribute) and node.attr == "modules" and _root_name(node) == "sys":
            flag(node, "uses sys.modules")
        elif isinstance(node, ast.Attribute) and node.attr in MACHINERY_ATTRIBUTES:
            flag(node, f"uses {node.attr}, part of IPython's or the interpreter's machinery")
        elif isinstance(node, ast.Attribute) and node.attr in MODULE_ATTRIBUTES:
            flag(node, f"reaches the module {node.attr} through {_dotted(node.value)}")
    unique = {(f.line, f.what): f for f in findings}
    return sorted(unique.values(), key=lambda f: f.line)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def scan_notebook(nb) -> list[tuple[int, Finding]]:
    """(cell position, finding) for every student-editable code cell of the notebook."""
    setup = [c.source for c in nb.cells if c.cell_type == "code" and _nbgrader(c).get("locked")]
    aliases, protected_names = _module_aliases(setup)
    found = []
    for position, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or meta.get("locked") or meta.get("grade"):
            continue
        label = meta.get("grade_id") or f"#{position + 1}"
        found.extend((position, f) for f in scan_source(cell.source, label, aliases, protected_names))
    return found


def failing_prefix(findings: list[Finding]) -> str:
    listed = "; ".join(str(f) for f in findings[:5])
    message = (f"Integrity check: this notebook changes what the checks rely on ({listed}). "
               f"Tests after that code score 0. Remove it, restart the kernel and run all cells again.")
    return f"raise AssertionError({message!r})\n"


class FlagTampering(NbGraderPreprocessor):
    """Make every graded test cell after the first suspicious student cell fail, saying why."""

    def preprocess(self, nb, resources):
        found = scan_notebook(nb)
        if found:
            first = min(position for position, _ in found)
            findings = [f for _, f in found]
            for position, cell in enumerate(nb.cells):
                if position > first and cell.cell_type == "code" and _nbgrader(cell).get("grade"):
                    cell.source = failing_prefix(findings) + cell.source
            self.log.warning("Tampering suspected in %s: %s", resources.get("unique_key", "?"), "; ".join(map(str, findings)))
        return nb, resources
