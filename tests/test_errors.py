"""The error hierarchy: every class has a stable code, a status, a SOAP fault and a problem body."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

from gateway import errors
from gateway.errors import TongbanError, all_error_classes


def _import_every_service_module() -> None:
    """The domain services define errors of their own (subclasses of the core's): import them all,
    so that this file sees the same hierarchy whatever ran before it in the process."""
    import gateway.services

    for module in pkgutil.walk_packages(gateway.services.__path__, "gateway.services."):
        importlib.import_module(module.name)


_import_every_service_module()
CLASSES = all_error_classes()
CORE_CLASSES = [cls for cls in CLASSES if cls.__module__ == "gateway.errors"]
DOTTED_CODE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
PROBLEM_KEYS = {"type", "title", "status", "code", "detail", "retryable", "exchange_id"}


def by_name(cls: type[TongbanError]) -> str:
    return cls.__name__


def test_all_error_classes_finds_the_whole_hierarchy() -> None:
    exported = {
        getattr(errors, name)
        for name in errors.__all__
        if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), TongbanError)
    }
    assert set(CORE_CLASSES) == exported
    assert len(CLASSES) == len(set(CLASSES))
    assert len(CLASSES) > len(CORE_CLASSES)  # the services' own are seen too
    assert TongbanError in CLASSES


def test_codes_are_unique_among_the_concrete_errors() -> None:
    codes = [cls.code for cls in CLASSES if cls is not TongbanError]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    assert duplicates == []


def test_codes_are_unique_across_every_class_including_the_root() -> None:
    codes = [cls.code for cls in CLASSES]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    assert duplicates == []


@pytest.mark.parametrize("cls", CLASSES, ids=by_name)
def test_code_is_dotted_lowercase(cls: type[TongbanError]) -> None:
    assert DOTTED_CODE.match(cls.code), cls.code


@pytest.mark.parametrize("cls", CLASSES, ids=by_name)
def test_status_is_an_http_error_status(cls: type[TongbanError]) -> None:
    assert 400 <= cls.status <= 599


@pytest.mark.parametrize("cls", CLASSES, ids=by_name)
def test_soap_fault_follows_the_status(cls: type[TongbanError]) -> None:
    assert cls.soap_fault in {"Client", "Server"}
    assert cls.soap_fault == ("Client" if cls.status < 500 else "Server")


@pytest.mark.parametrize("cls", CLASSES, ids=by_name)
def test_title_is_a_non_empty_line(cls: type[TongbanError]) -> None:
    assert cls.title.strip()
    assert "\n" not in cls.title


def test_configuration_and_internal_errors_are_500() -> None:
    assert errors.ConfigurationError.status == 500
    assert errors.InternalError.status == 500
    assert errors.ConfigurationError.code == "config.invalid"
    assert errors.InternalError.code == "gateway.internal"


@pytest.mark.parametrize("cls", [cls for cls in CLASSES if cls.code.startswith("auth.")], ids=by_name)
def test_every_authentication_error_is_401(cls: type[TongbanError]) -> None:
    assert cls.status == 401
    assert issubclass(cls, errors.AuthenticationFailed)


@pytest.mark.parametrize("cls", CLASSES, ids=by_name)
def test_retryable_only_for_5xx_in_progress_or_429(cls: type[TongbanError]) -> None:
    if cls.retryable:
        assert cls.status >= 500 or cls.status == 429 or issubclass(cls, errors.IdempotencyInProgress)


@pytest.mark.parametrize("cls", [cls for cls in CLASSES if cls.status in (503, 504, 429)], ids=by_name)
def test_unavailable_timeout_and_quota_are_retryable(cls: type[TongbanError]) -> None:
    assert cls.retryable


def test_specific_statuses_of_the_contract() -> None:
    assert errors.AccessDenied.status == 403
    assert errors.NotFound.status == errors.UnknownService.status == errors.UnknownMember.status == 404
    assert errors.Conflict.status == 409
    assert errors.PayloadTooLarge.status == 413
    assert errors.InvalidContent.status == 422
    assert errors.QuotaExceeded.status == 429
    assert errors.ReplayedToken.code == "auth.replayed_token"
    assert {
        errors.UpstreamFailed.status,
        errors.UpstreamUnavailable.status,
        errors.UpstreamTimeout.status,
    } == {
        502,
        503,
        504,
    }
    assert errors.IdempotencyInProgress.retryable
    assert not errors.Conflict.retryable
    assert not errors.UpstreamBadSignature.retryable


@pytest.mark.parametrize("cls", CLASSES, ids=by_name)
def test_problem_has_exactly_the_rfc9457_members(cls: type[TongbanError]) -> None:
    error = cls("something precise", internal="stack and secrets")
    body = error.problem("0190f0c2-0000-7000-8000-000000000000")
    assert set(body) == PROBLEM_KEYS
    assert body["type"] == f"urn:tongban:problem:{cls.code}"
    assert body["title"] == cls.title
    assert body["status"] == cls.status
    assert body["code"] == cls.code
    assert body["detail"] == "something precise"
    assert body["retryable"] is cls.retryable
    assert body["exchange_id"] == "0190f0c2-0000-7000-8000-000000000000"
    assert "stack and secrets" not in repr(body)


def test_problem_without_exchange_id_omits_it() -> None:
    body = errors.AccessDenied().problem(None)
    assert set(body) == PROBLEM_KEYS - {"exchange_id"}


def test_detail_defaults_to_the_title() -> None:
    error = errors.UnknownService()
    assert error.detail == errors.UnknownService.title
    assert str(error) == errors.UnknownService.title


def test_retry_after_and_internal_are_kept_on_the_exception() -> None:
    error = errors.QuotaExceeded("slow down", internal="bucket 7 empty", retry_after=12)
    assert error.retry_after == 12
    assert error.internal == "bucket 7 empty"
    assert str(error) == "slow down"


# ---- the docstring tree is the documentation: it must not drift -------------------------------

DOC = errors.__doc__ or ""
DOC_LINE = re.compile(r"\b([A-Z]\w+)\s+(\d{3})\s+([a-z_]+\.[a-z_.]+)")


def _mentioned(cls: type[TongbanError]) -> bool:
    if cls.code in DOC:
        return True
    prefix = cls.code.split(".", 1)[0]
    return f"{prefix}.*" in DOC and cls.__name__ in DOC


@pytest.mark.parametrize(
    "cls",
    [pytest.param(cls, id=cls.__name__) for cls in CORE_CLASSES],
)
def test_docstring_tree_mentions_every_code(cls: type[TongbanError]) -> None:
    assert _mentioned(cls), f"{cls.__name__} ({cls.code}) is missing from the gateway.errors docstring"


@pytest.mark.parametrize("cls", CORE_CLASSES, ids=by_name)
def test_docstring_tree_names_every_class(cls: type[TongbanError]) -> None:
    assert re.search(rf"\b{cls.__name__}\b", DOC)


def test_docstring_tree_statuses_and_codes_match_the_classes() -> None:
    rows = DOC_LINE.findall(DOC)
    assert len(rows) >= 20  # the tree really is parsed
    for name, status, code in rows:
        cls = getattr(errors, name)
        assert (cls.status, cls.code) == (int(status), code), name


def test_every_service_error_is_documented_by_its_service() -> None:
    """The core's docstring tree lists the core's errors; a service's own errors are named in its
    package (docs/contract.md lists their codes)."""
    contract = (Path(__file__).resolve().parents[1] / "docs" / "contract.md").read_text("utf-8")
    missing = [cls.code for cls in CLASSES if cls not in CORE_CLASSES and cls.code not in contract]
    assert missing == []


def test_docstring_tree_mentions_no_code_that_does_not_exist() -> None:
    known = {cls.code for cls in CLASSES}
    for _name, _status, code in DOC_LINE.findall(DOC):
        assert code in known
