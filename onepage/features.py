"""What each plan includes. The middleware puts the organization's features
on `request.features`; `onepage.decorators.business_only` marks the views
that need one."""

from dataclasses import dataclass

from .models import Organization


@dataclass(frozen=True)
class Features:
    open_tracking: bool = False

    def has(self, name: str) -> bool:
        return bool(getattr(self, name))


OPEN_TRACKING = "open_tracking"

PLAN_FEATURES: dict[str, Features] = {
    Organization.Plan.BUSINESS: Features(open_tracking=True),
    Organization.Plan.PROFESSIONAL: Features(),
}
NO_FEATURES = Features()


def features_for(organization: Organization | None) -> Features:
    if organization is None:
        return NO_FEATURES
    return PLAN_FEATURES.get(organization.plan, NO_FEATURES)
