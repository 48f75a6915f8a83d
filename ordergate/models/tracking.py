"""Where a customer follows a parcel: each carrier's own public tracking page for a number.

Carrier codes are ShipEngine's (`ups`, `fedex`, `usps`, `stamps_com` for USPS postage bought
through Stamps.com, ...); a connector that speaks to one carrier directly names it the same way.
A label's own tracking URL, where the carrier's API gives one, is preferred (`link_for`); these
formats are the fallback and what every shipment gets otherwise."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

PAGES: dict[str, str] = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "stamps_com": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "dhl_express": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={}",
    "dhl_ecommerce": "https://www.dhl.com/us-en/home/tracking/tracking-ecommerce.html?submit=1&tracking-id={}",
    "canada_post": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={}",
    "purolator_ca": "https://www.purolator.com/en/shipping/tracker?pin={}",
    "ontrac": "https://www.ontrac.com/tracking/?number={}",
    "lasership": "https://www.lasership.com/track/{}",
}
MAX_URL = 512  # what a shipment keeps


def tracking_page(carrier_code: str, tracking_number: str) -> str | None:
    """The carrier's public page for this number, or None for a carrier without a known page
    (or no number). The number is URL-encoded: it is the carrier's text, not ours."""
    page = PAGES.get(carrier_code.strip().lower())
    number = tracking_number.strip()
    if page is None or not number:
        return None
    url = page.format(quote(number, safe=""))
    return url if len(url) <= MAX_URL else None


def link_for(carrier_code: str, tracking_number: str, given: str | None = None) -> str | None:
    """The link a customer gets: the carrier API's own tracking URL when it is an https URL of
    a sane length, else the carrier's page for the number."""
    if given:
        parts = urlsplit(given.strip())
        if parts.scheme == "https" and parts.netloc and len(given.strip()) <= MAX_URL:
            return given.strip()
    return tracking_page(carrier_code, tracking_number)


NAMES = {
    "usps": "USPS",
    "stamps_com": "USPS",
    "ups": "UPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "canada_post": "Canada Post",
    "purolator": "Purolator",
    "ontrac": "OnTrac",
    "lasership": "LaserShip",
}


def carrier_name(carrier: str, service: str | None = None) -> str:
    """The carrier a customer knows: a broker's shipment (ShipEngine) is named by its service's
    carrier (`usps_priority_mail` -> USPS), a direct connector by its own code."""
    for code in (service or "", carrier):
        for prefix, name in NAMES.items():
            if code.strip().lower().startswith(prefix):
                return name
    return carrier.strip().upper() or "the carrier"
