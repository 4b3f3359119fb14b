"""Personal data never reaches trainers; masked sentences become realistic training data."""

from __future__ import annotations

import pytest

from bot.training.masking import has_placeholder, mask, unmask


@pytest.mark.parametrize(
    ("said", "masked"),
    [
        ("Soy Marta Ruiz, mi móvil es 612 345 678", "Soy «nombre», mi móvil es «teléfono»"),
        ("llámeme al +34 612345678", "llámeme al «teléfono»"),
        ("mi correo es ana.p@gmail.com", "mi correo es «correo»"),
        ("pedido 48213 y código postal 28013", "pedido «número» y código postal «número»"),
        ("mi pedido PED-77120 no llega", "mi pedido «número» no llega"),
        ("es el cuatro ocho dos uno tres", "es el «número»"),
        ("mi dni es 12345678Z", "mi dni es «documento»"),
        ("me llamo josé luis", "me llamo «nombre»"),
        ("Me llamo José Luis de la Fuente", "Me llamo «nombre»"),
        ("soy marta ruiz y quiero una cita", "soy «nombre» y quiero una cita"),
        ("mi correo es ana punto garcia arroba gmail punto com", "mi correo es «correo»"),
        ("pago con la 4111 1111 1111 1111", "pago con la «tarjeta»"),
        ("seis doce treinta y cuatro cincuenta y seis setenta y ocho", "«número»"),
    ],
)
def test_personal_data_is_masked(said: str, masked: str):
    assert mask(said) == masked


@pytest.mark.parametrize(
    "said",
    ["a las 10 30 del martes 14", "el 3 de abril a las 9", "soy cliente de fibra",
     "quiero cita para dos personas", "de 9 a 14 30", "a las diez y media", "soy de Madrid",
     "soy yo otra vez"],
)  # fmt: skip
def test_times_dates_and_ordinary_words_stay(said: str):
    assert mask(said) == said


def test_unmask_gives_neutral_stand_ins_that_are_no_longer_placeholders():
    sentence = unmask("Soy «nombre», mi pedido «número», escríbame a «correo»")
    assert sentence == "Soy Ana García, mi pedido 48213, escríbame a cliente@ejemplo.com"
    assert not has_placeholder(sentence)
    assert has_placeholder("mi «teléfono»")
