"""Strawberry's GraphQL names, worked out once per name, are the names it works out itself."""

from __future__ import annotations

from strawberry.schema.name_converter import NameConverter

from ordergate.schema.build import KeptNames, build_schema


def test_kept_names_are_strawberry_s_and_are_bounded() -> None:
    kept, plain = KeptNames(), NameConverter()
    for name in ("payment_provider", "shipping_address", "id", "line1", "first_name", "x_y_z"):
        assert kept.apply_naming_config(name) == plain.apply_naming_config(name)
        assert kept.apply_naming_config(name) == plain.apply_naming_config(name)  # from what it kept

    small = KeptNames()
    small.KEPT = 2
    for name in ("a_b", "c_d", "e_f", "g_h"):
        assert small.apply_naming_config(name) == plain.apply_naming_config(name)
    assert len(small._kept) == 2


def test_the_schema_uses_them() -> None:
    schema = build_schema()
    assert isinstance(schema.config.name_converter, KeptNames)
    assert "placeOrder" in schema._schema.mutation_type.fields  # type: ignore[union-attr]
