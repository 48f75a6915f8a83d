from ordergate.models.links import TOKEN_LENGTH, StatusLinks, link_key


def links(secret: str = "s" * 32) -> StatusLinks:
    return StatusLinks("https://shop.example/", link_key(secret))


def test_a_link_opens_its_own_order_only() -> None:
    made = links()
    token = made.token("1042")
    assert len(token) == TOKEN_LENGTH
    assert made.valid("1042", token)
    assert not made.valid("1043", token)
    assert not made.valid("1042", token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not made.valid("1042", "")
    assert not made.valid("1042", "é" * TOKEN_LENGTH)


def test_another_key_makes_other_links() -> None:
    assert links("a" * 32).token("1042") != links("b" * 32).token("1042")
    assert not links("b" * 32).valid("1042", links("a" * 32).token("1042"))


def test_the_url_names_the_order_and_its_token() -> None:
    made = links()
    assert made.url("10/42") == f"https://shop.example/orders/10%2F42?t={made.token('10/42')}"
    assert made.path("1042").startswith("/orders/1042?t=")


def test_the_key_is_not_the_secret() -> None:
    assert link_key("s" * 32) != b"s" * 32
    assert len(link_key("s" * 32)) == 32
