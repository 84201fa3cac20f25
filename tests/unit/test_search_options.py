"""core.search's one home of the search options: backend order, defaults, and no second declaration."""
import dataclasses
import inspect
import re
from pathlib import Path

from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.search import BACKEND_CHOICES, BACKEND_NAMES, BACKENDS, SearchOptions, search_scenes
from labelmigration.core.search.base import SearchWindow

ROOT = Path(__file__).resolve().parents[2]
# BACKEND=i as documented in the algorithms' help and the README before the order was made explicit (it was the
# insertion order of the BACKENDS dict): 0 CDSE OData, 1 STAC, 2 DHuS, 3 local archive
DOCUMENTED_ORDER = ("cdse-odata", "stac", "dhus", "local")


def test_the_backend_order_is_explicit_and_unchanged():
    assert BACKEND_NAMES == DOCUMENTED_ORDER
    assert tuple(BACKENDS) == DOCUMENTED_ORDER
    assert all(BACKENDS[info.name] is info for info in BACKEND_CHOICES)


def test_one_default_for_each_search_option():
    options = SearchOptions()
    # MAX_CLOUD 30: issue 17 kept migratelabels' default (a scene-wide pre-filter; the cloud over the label decides)
    assert (options.days_before, options.days_after, options.max_cloud, options.product) == (10, 10, 30.0, "L2A")
    migration = MigrationOptions()
    shared = [f.name for f in dataclasses.fields(SearchOptions) if f.name != "backend"]
    assert {name: getattr(migration, name) for name in shared} == {name: getattr(options, name) for name in shared}
    defaults = inspect.signature(search_scenes).parameters
    assert (defaults["days_before"].default, defaults["days_after"].default, defaults["max_cloud"].default,
            defaults["product"].default) == (10, 10, 30.0, "L2A")
    around = inspect.signature(SearchWindow.around).parameters
    assert (around["days_before"].default, around["days_after"].default) == (10, 10)


def test_search_options_travel_to_migration_options():
    options = SearchOptions(backend="local", url="/x", credentials=("u", "s3cret"), max_cloud=5.0)
    migration = MigrationOptions(**options.as_dict(), bands=["B04"])
    assert (migration.backend, migration.url, migration.credentials, migration.max_cloud) == \
        ("local", "/x", ("u", "s3cret"), 5.0)
    assert options.search_arguments() == dict(days_before=10, days_after=10, max_cloud=5.0, product="L2A",
                                              collection=None)
    assert "s3cret" not in repr(options)  # the password never reaches a log through repr


def test_the_search_parameters_are_declared_only_in_search_parameters():
    """A second QgsProcessingParameter* for one of them in processing/ or ui/ is a copy that drifts (URL and
    AUTHCFG left out: downloadscenes has its own, for the account's server)."""
    names = "DAYS_BEFORE|DAYS_AFTER|MAX_CLOUD|PRODUCT|BACKEND|COLLECTION"
    declaration = re.compile(r"QgsProcessingParameter\w+\(\s*(self\.)?(" + names + r")\b")
    sources = [p for folder in ("processing", "ui") for p in (ROOT / folder).rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if p.name != "search_parameters.py" and declaration.search(p.read_text(encoding="utf-8"))]
    assert sources and offenders == []
    backend_lists = re.compile(r"list\(BACKENDS\)|BACKEND_LABELS")
    assert [str(p) for p in sources if backend_lists.search(p.read_text(encoding="utf-8"))] == []
