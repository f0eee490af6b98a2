"""The explanation app's settings and the FHIR server allowlist check."""

from __future__ import annotations

import pytest

from cds_service.config import ConfigError, Settings, is_allowed_fhir_server, load_settings


def test_app_is_off_and_demo_off_by_default() -> None:
    """Without configuration there is no client id, no allowlisted server and no demo."""
    settings = Settings()
    assert settings.smart_client_id == "" and settings.fhir_server_allowlist == ()
    assert settings.smart_demo is False
    assert settings.smart_frame_ancestors == ("'self'", "https:")


def test_variables_are_parsed() -> None:
    """Each CDS_SMART_* variable and the allowlist are parsed into typed fields."""
    settings = load_settings(
        {
            "CDS_FHIR_SERVER_ALLOWLIST": "https://fhir.example.org/r4/, http://127.0.0.1:9000/fhir",
            "CDS_SMART_CLIENT_ID": "crlm-app",
            "CDS_SMART_SESSION_SECRET": "x" * 32,
            "CDS_SMART_FRAME_ANCESTORS": "'self' https://ehr.example.org",
            "CDS_SMART_DEMO": "true",
        }
    )
    assert settings.fhir_server_allowlist == ("https://fhir.example.org/r4", "http://127.0.0.1:9000/fhir")
    assert settings.smart_client_id == "crlm-app" and settings.smart_demo is True
    assert settings.smart_frame_ancestors == ("'self'", "https://ehr.example.org")
    assert "x" * 32 not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("CDS_FHIR_SERVER_ALLOWLIST", "http://fhir.example.org", "must use https"),
        ("CDS_FHIR_SERVER_ALLOWLIST", "https://fhir.example.org/?x=1", "without query"),
        ("CDS_FHIR_SERVER_ALLOWLIST", "fhir.example.org", "absolute http(s) base URL"),
        ("CDS_SMART_SESSION_SECRET", "short", "at least 32 characters"),
        ("CDS_SMART_FRAME_ANCESTORS", "ehr.example.org", "is not an origin"),
        ("CDS_SMART_FRAME_ANCESTORS", " ", "at least one source"),
        ("CDS_SMART_DEMO", "maybe", "true or false"),
    ],
)
def test_invalid_values_stop_start_up(name: str, value: str, fragment: str) -> None:
    """Invalid values raise ConfigError naming the variable."""
    with pytest.raises(ConfigError) as error:
        load_settings({name: value})
    assert fragment in str(error.value) and name in str(error.value)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://fhir.example.org/r4", True),
        ("https://fhir.example.org/r4/", True),
        ("https://FHIR.example.org:443/r4/tenant-7", True),
        ("https://fhir.example.org/r4x", False),
        ("https://fhir.example.org", False),
        ("http://fhir.example.org/r4", False),
        ("https://fhir.example.org:8443/r4", False),
        ("https://fhir.example.org.evil.test/r4", False),
        ("https://fhir.example.org/r4?x=1", False),
        ("not a url", False),
    ],
)
def test_allowlist_check(url: str, allowed: bool) -> None:
    """A URL is allowed only on an entry's scheme, host and port, at or below its path."""
    settings = Settings(fhir_server_allowlist=("https://fhir.example.org/r4",))
    assert is_allowed_fhir_server(settings, url) is allowed


def test_empty_allowlist_allows_nothing() -> None:
    """With no allowlist no issuer is accepted."""
    assert is_allowed_fhir_server(Settings(), "https://fhir.example.org/r4") is False
