"""Import rules and module conventions, checked by parsing the source with ast (no import-linter)."""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_PACKAGES = ("gateway", "trust", "adapters", "catalogs")

# The gateway core: errors, the exchange and its pipeline, storage, audit, relay, settings, time.
CORE_FILES = (
    "gateway/errors.py",
    "gateway/exchange.py",
    "gateway/pipeline.py",
    "gateway/registry.py",
    "gateway/relay.py",
    "gateway/operations.py",
    "gateway/runtime.py",
    "gateway/settings.py",
    "gateway/clock.py",
    "gateway/circuit.py",
    "gateway/logs.py",
    "gateway/metrics.py",
)
CORE_FOLDERS = ("gateway/stages", "gateway/storage", "gateway/audit")
FORBIDDEN_IN_CORE = ("adapters", "gateway.client", "gateway.cli", "gateway.faces", "gateway.app")


@dataclass(frozen=True)
class Module:
    path: Path  # relative to ROOT
    name: str  # dotted module name
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _module_name(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def product_modules() -> tuple[Module, ...]:
    found = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(relative))
            found.append(Module(relative, _module_name(relative), tree))
    return tuple(found)


def modules_under(*prefixes: str) -> list[Module]:
    return [m for m in product_modules() if any(m.path.as_posix().startswith(p) for p in prefixes)]


def imported_names(module: Module) -> set[str]:
    """Every module this one imports, as dotted names; `from a import b` counts as a and a.b."""
    names: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = module.package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def imports_any(module: Module, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in imported_names(module) if any(name == f or name.startswith(f + ".") for f in forbidden)
    )


def declared_all(module: Module) -> list[str] | None:
    for node in module.tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list | tuple), f"{module.path}: __all__ must be a literal list"
            return list(value)
    return None


def test_the_source_tree_is_found() -> None:
    names = {m.name for m in product_modules()}
    assert {"gateway.errors", "gateway.pipeline", "trust", "trust._httpsig", "gateway.app"} <= names


def test_imported_names_resolves_relative_and_from_imports() -> None:
    tree = ast.parse("from . import sibling\nfrom ..errors import X\nfrom gateway import client\nimport adapters.sz\n")
    module = Module(Path("gateway/stages/fake.py"), "gateway.stages.fake", tree)
    assert {"gateway.stages.sibling", "gateway.errors.X", "gateway.client", "adapters.sz"} <= imported_names(module)
    assert imports_any(module, ("gateway.client",)) == ["gateway.client"]


# ---- layering -------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", modules_under("trust/"), ids=lambda m: m.name)
def test_trust_never_imports_gateway_or_adapters(module: Module) -> None:
    assert imports_any(module, ("gateway", "adapters", "catalogs")) == []


def _core_modules() -> list[Module]:
    core = [m for m in product_modules() if m.path.as_posix() in CORE_FILES]
    core += modules_under(*(folder + "/" for folder in CORE_FOLDERS))
    return core


def test_every_listed_core_module_exists() -> None:
    found = {m.path.as_posix() for m in _core_modules()}
    assert set(CORE_FILES) <= found
    for folder in CORE_FOLDERS:
        assert any(path.startswith(folder + "/") for path in found), folder


@pytest.mark.parametrize("module", _core_modules(), ids=lambda m: m.name)
def test_core_never_imports_adapters_clients_or_faces(module: Module) -> None:
    assert imports_any(module, FORBIDDEN_IN_CORE) == []


@pytest.mark.parametrize(
    "module", [m for m in product_modules() if not m.name.startswith("gateway.faces")], ids=lambda m: m.name
)
def test_only_the_app_factory_imports_the_faces(module: Module) -> None:
    if module.name == "gateway.app":
        assert imports_any(module, ("gateway.faces",))  # the rule is not vacuous
    else:
        assert imports_any(module, ("gateway.faces",)) == []


def _private_imports_from_outside(module: Module) -> list[str]:
    """Imports of `pkg._private` by a module that does not live in `pkg`."""
    bad = []
    for name in imported_names(module):
        parts = name.split(".")
        for i, part in enumerate(parts):
            if part.startswith("_") and not part.startswith("__") and i > 0:
                owner = ".".join(parts[:i])
                if parts[0] in PRODUCT_PACKAGES and not (
                    module.package == owner or module.package.startswith(owner + ".")
                ):
                    bad.append(name)
                break
    return sorted(bad)


def test_private_import_rule_tells_inside_from_outside() -> None:
    tree = ast.parse("from trust._jwk import thumbprint\nfrom gateway.audit._merkle import leaf_hash\n")
    outside = Module(Path("gateway/registry.py"), "gateway.registry", tree)
    assert _private_imports_from_outside(outside) == [
        "gateway.audit._merkle",
        "gateway.audit._merkle.leaf_hash",
        "trust._jwk",
        "trust._jwk.thumbprint",
    ]
    inside = Module(
        Path("gateway/audit/__init__.py"), "gateway.audit", ast.parse("from gateway.audit._merkle import x\n")
    )
    assert _private_imports_from_outside(inside) == []


@pytest.mark.parametrize("module", [m for m in product_modules() if m.name != "gateway.app"], ids=lambda m: m.name)
def test_private_modules_are_imported_only_inside_their_package(module: Module) -> None:
    assert _private_imports_from_outside(module) == []


def test_app_factory_uses_only_public_names_of_the_faces() -> None:
    app = next(m for m in product_modules() if m.name == "gateway.app")
    assert _private_imports_from_outside(app) == []


# ---- public API is __all__ -------------------------------------------------------------------------


def _modules_with_all() -> list[Module]:
    return [m for m in product_modules() if declared_all(m) is not None]


@pytest.mark.parametrize("module", _modules_with_all(), ids=lambda m: m.name)
def test_every_name_in_all_exists(module: Module) -> None:
    imported = importlib.import_module(module.name)
    names = declared_all(module) or []
    assert len(names) == len(set(names)), "duplicate names in __all__"
    missing = [name for name in names if not hasattr(imported, name)]
    assert missing == []


@pytest.mark.parametrize("module", [m for m in _modules_with_all() if m.is_package], ids=lambda m: m.name)
def test_package_all_is_sorted(module: Module) -> None:
    names = declared_all(module) or []
    assert names == sorted(names)


def _top_level_imports(module: Module) -> list[ast.ImportFrom]:
    """`from <this package>.x import y` at module level, also under `if TYPE_CHECKING:` (a lazy package's names)."""
    nodes: list[ast.stmt] = []
    for node in module.tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            nodes.extend(node.body)
        else:
            nodes.append(node)
    return [
        node
        for node in nodes
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(module.package + ".")
    ]


def _names_bound_by_imports(module: Module) -> set[str]:
    return {alias.asname or alias.name for node in _top_level_imports(module) for alias in node.names}


def test_trust_all_is_sorted_and_complete() -> None:
    import trust

    init = next(m for m in product_modules() if m.name == "trust")
    public_reexports = {name for name in _names_bound_by_imports(init) if not name.startswith("_")}
    assert trust.__all__ == sorted(trust.__all__)
    assert set(trust.__all__) == public_reexports


def test_trust_loads_each_name_from_the_module_its_import_names() -> None:
    """trust/__init__ imports its names only for type checkers; at run time __getattr__ loads each
    from the module in its _HOMES table, which must say what the imports say."""
    import trust

    init = next(m for m in product_modules() if m.name == "trust")
    imported = {alias.name: node.module for node in _top_level_imports(init) for alias in node.names}
    loaded = {name: f"trust.{module}" for module, names in trust._HOMES.items() for name in names}
    assert loaded == imported
    for name, module in imported.items():
        assert getattr(trust, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError):
        trust.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        exec("from trust import no_such_name", {})


def test_trust_reexports_the_public_api_of_every_private_module() -> None:
    import trust

    exported: set[str] = set()
    for module in modules_under("trust/_"):
        exported.update(declared_all(module) or [])
    assert exported == set(trust.__all__)


# ---- module conventions ----------------------------------------------------------------------------


@pytest.mark.parametrize("module", modules_under("gateway/", "trust/"), ids=lambda m: m.name)
def test_module_starts_with_a_one_line_docstring(module: Module) -> None:
    body = module.tree.body
    assert body, "empty module"
    first = body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant), "no module docstring"
    assert isinstance(first.value.value, str)
    summary = first.value.value.splitlines()[0]
    assert summary.strip() and summary == summary.strip()


@pytest.mark.parametrize(
    "module",
    [pytest.param(m, id=m.name) for m in modules_under("gateway/", "trust/")],
)
def test_module_has_future_annotations(module: Module) -> None:
    assert any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in module.tree.body
    )


def test_test_modules_have_unique_names() -> None:
    """pytest imports test modules by their base name (rootdir-relative imports, no packages): two
    files of one name in different folders stop the whole run at collection."""
    names = [path.name for path in (ROOT / "tests").rglob("*.py") if path.name != "__init__.py"]
    assert sorted({name for name in names if names.count(name) > 1}) == []
