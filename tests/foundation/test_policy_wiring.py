"""Site policy settings reach the decision path: timing definition and the Synthea option."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.core.policy import TimingDefinition
from tests.conftest import FIXED_TODAY
from tests.foundation.test_http import SERVICE, example_request, post_json


def topics(settings: Settings, request: dict[str, Any]) -> dict[str, str]:
    """Card topic code -> summary for one request under ``settings``."""
    app = create_app(settings, today=lambda: FIXED_TODAY)
    cards = post_json(app.test_client(), SERVICE, request).get_json()["cards"]
    return {c["source"]["topic"]["code"]: c["summary"] for c in cards}


def test_timing_definition_setting_changes_the_definition_followed(settings: Settings) -> None:
    """With CDS_TIMING_DEFINITION=maki-2023 the timing card names Maki's definition, not E-AHPBA's."""
    default = topics(settings, example_request())
    maki = topics(
        dataclasses.replace(settings, timing_definition=TimingDefinition.MAKI_2023), example_request()
    )
    default_timing = next(v for k, v in default.items() if k.startswith("timing-"))
    maki_timing = next(v for k, v in maki.items() if k.startswith("timing-"))
    assert "E-AHPBA" in default_timing
    assert "Maki" in maki_timing


def test_synthea_stage_iv_code_is_read_only_with_the_compatibility_option(settings: Settings) -> None:
    """Synthea's 94260004 (stage IV colon) is a colorectal primary only when CDS_SYNTHEA_COMPAT is on."""
    request = example_request()
    text = json.dumps(request).replace('"363410008"', '"94260004"').replace('"C18.7"', '"C18.7-not-read"')
    synthea_request = json.loads(text)
    assert topics(settings, synthea_request) == {}
    assert topics(dataclasses.replace(settings, synthea_compat=True), synthea_request)
