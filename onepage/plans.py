"""The plans and what each includes: the one place that says which plan has
which feature. Read it as `organization.features`; a view that needs a
feature is marked with `onepage.decorators.business_only`."""

from dataclasses import dataclass

from django.db import models


class Plan(models.TextChoices):
    BUSINESS = "business", "Business"
    PROFESSIONAL = "professional", "Professional"


@dataclass(frozen=True)
class Features:
    open_tracking: bool = False

    def has(self, name: str) -> bool:
        return bool(getattr(self, name))


OPEN_TRACKING = "open_tracking"
NO_FEATURES = Features()
_FEATURES = {
    Plan.BUSINESS: Features(open_tracking=True),
    Plan.PROFESSIONAL: NO_FEATURES,
}


def features_of(plan: str) -> Features:
    """What a plan includes; nothing for a plan we do not know."""
    return _FEATURES.get(plan, NO_FEATURES)
