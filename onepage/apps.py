from django.apps import AppConfig


class OnePageConfig(AppConfig):
    name = "onepage"
    verbose_name = "OnePage"

    def ready(self) -> None:
        from . import search  # noqa: F401  (the unaccent lookup and its SQLite function)
