# Countries whose residents GDPR (or the UK GDPR) protects: the EU, the
# rest of the EEA, and the United Kingdom.
EU_EEA_UK = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        "IS", "LI", "NO",
        "GB",
    }
)  # fmt: skip


def gdpr_protects(country) -> bool:
    """Whether GDPR (or the UK GDPR) protects residents of `country`: a
    django_countries Country, as a CountryField reads, or its code, as the
    column holds it ("" when unknown; tracking.writer reads values)."""
    return (country if isinstance(country, str) else country.code) in EU_EEA_UK
