"""What the shadow registry hands back: a registration outcome and a loaded version."""

from __future__ import annotations

from dataclasses import dataclass

from shadowsim.shadow.artifact import ArtifactMeta
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.validation import ValidationScore


@dataclass(frozen=True)
class Registration:
    """Outcome of :meth:`ShadowRegistry.register`.

    Attributes:
        name: Registered model name.
        version: The new version.
        promoted: True when it became champion, False when challenger.
        score: Its validation score.
        champion_version: The champion it was compared with, or None.
        champion_score: That champion's score on the same window, or None.
        run_id: MLflow run of the new version.
    """

    name: str
    version: int
    promoted: bool
    score: ValidationScore
    champion_version: int | None
    champion_score: ValidationScore | None
    run_id: str


@dataclass(frozen=True)
class ServedModel:
    """A loaded version of a registered model.

    Attributes:
        name: Registered model name.
        version: Version number.
        forecaster: The rebuilt forecaster.
        meta: Its artifact metadata.
        failed_versions: Versions that failed to load before this one was chosen.
    """

    name: str
    version: int
    forecaster: Forecaster
    meta: ArtifactMeta
    failed_versions: tuple[int, ...] = ()
