"""Configuration: CDS_* variables read once into typed settings; invalid values stop start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.config import ConfigError, Settings, env_name, load_settings


def test_defaults_need_no_environment() -> None:
    """With no CDS_* variables the embedded defaults are used (Quick start needs nothing)."""
    settings = load_settings({})
    assert settings == Settings()
    assert settings.host == "127.0.0.1" and settings.port == 8080
    assert (settings.profiles_dir / "cds-services.json").is_file()


def test_variables_are_parsed_into_typed_fields(tmp_path: Path) -> None:
    """Each CDS_* variable sets its field with the right type."""
    settings = load_settings(
        {
            "CDS_PORT": "9000",
            "CDS_CORS_ORIGINS": "https://a.example.org, https://b.example.org/",
            "CDS_PUBLIC_BASE_URL": "https://cds.example.org/",
            "CDS_FHIR_READ_TIMEOUT": "1.5",
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "CDS_LOG_LEVEL": "debug",
            "UNRELATED": "ignored",
        }
    )
    assert settings.port == 9000
    assert settings.cors_origins == ("https://a.example.org", "https://b.example.org")
    assert settings.public_base_url == "https://cds.example.org"
    assert settings.fhir_read_timeout == 1.5
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("CDS_PORT", "eighty", "must be an integer"),
        ("CDS_PORT", "0", "must be >= 1"),
        ("CDS_FHIR_READ_TIMEOUT", "-1", "must be > 0"),
        ("CDS_PUBLIC_BASE_URL", "cds.example.org", "absolute http(s) URL"),
        ("CDS_CORS_ORIGINS", "not a url", "not an origin"),
        ("CDS_DATABASE_URL", "mysql://x", "sqlite:///"),
        ("CDS_LOG_LEVEL", "loud", "must be DEBUG"),
        ("CDS_PROFILES_DIR", "/does/not/exist", "existing directory"),
        ("CDS_PORTT", "8080", "unknown setting CDS_PORTT"),
    ],
)
def test_invalid_configuration_stops_start_up(name: str, value: str, fragment: str) -> None:
    """An invalid or misspelt variable raises ConfigError naming it."""
    with pytest.raises(ConfigError) as error:
        load_settings({name: value})
    assert fragment in str(error.value)
    assert name in str(error.value)


def test_every_field_has_a_documented_variable() -> None:
    """Every settings field is documented in the README's configuration table."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    for field_name in Settings.__dataclass_fields__:
        assert env_name(field_name) in readme, f"{env_name(field_name)} is not documented in README.md"


def test_decision_policy_settings_are_parsed() -> None:
    """The synchronous definition, presentation window and Synthea option are typed settings."""
    from cds_service.core.policy import TimingDefinition

    settings = load_settings(
        {
            "CDS_TIMING_DEFINITION": "ADAM-2015",
            "CDS_PRESENTATION_WINDOW_DAYS": "14",
            "CDS_SYNTHEA_COMPAT": "yes",
        }
    )
    assert settings.timing_definition is TimingDefinition.ADAM_2015
    assert settings.presentation_window_days == 14
    assert settings.synthea_compat is True
    with pytest.raises(ConfigError, match="CDS_TIMING_DEFINITION must be one of"):
        load_settings({"CDS_TIMING_DEFINITION": "someday"})
