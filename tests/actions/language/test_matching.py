"""Finding the shop, service or department a customer named."""

import pytest

from actions.language.matching import find_named
from actions.services.catalog import load_catalog
from actions.settings import PROJECT_ROOT

CATALOG = load_catalog(PROJECT_ROOT / "data" / "business")


@pytest.mark.parametrize(
    "text, shop",
    [
        ("en la tienda de gran bia", "madrid_gran_via"),
        ("la de sevilla", "sevilla_nervion"),
        ("en Valencia por favor", "valencia_colon"),
        ("granada", None),
        ("la tienda", None),
    ],
)
def test_shops(text, shop):
    found = find_named(text, CATALOG.shops)
    assert (found.id if found else None) == shop


def test_longest_alias_wins_for_services():
    assert find_named("una cita en la tienda de madrid", CATALOG.services).id == "shop_appointment"
    assert find_named("que venga un tecnico", CATALOG.services).id == "technician_visit"
    assert find_named("instalación de fibra", CATALOG.services).id == "fibre_installation"
