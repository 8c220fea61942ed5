"""Where the simulated retailer trades: regions, their cities, postcodes, phone area codes, IPs.

Stores sit in one region; customers live in (or near) their home store's city, so a customer's
city, state, postcode, phone area code and usual IP range all agree with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FOREIGN_IP_FIRST_OCTETS", "REGIONS", "City", "Region"]


@dataclass(frozen=True)
class City:
    """A city with the codes that make an address and a phone number agree with it."""

    name: str
    state: str
    zip3: str
    area_code: str


@dataclass(frozen=True)
class Region:
    """A sales region: its cities and the first IP octets its residents' traffic comes from."""

    name: str
    cities: tuple[City, ...]
    ip_first_octets: tuple[int, ...]


def _cities(*rows: tuple[str, str, str, str]) -> tuple[City, ...]:
    return tuple(City(*row) for row in rows)


REGIONS: tuple[Region, ...] = (
    Region(
        "Northeast",
        _cities(
            ("Boston", "MA", "021", "617"),
            ("Providence", "RI", "029", "401"),
            ("Hartford", "CT", "061", "860"),
            ("Albany", "NY", "122", "518"),
            ("Buffalo", "NY", "142", "716"),
            ("Philadelphia", "PA", "191", "215"),
            ("Pittsburgh", "PA", "152", "412"),
            ("Portland", "ME", "041", "207"),
            ("Newark", "NJ", "071", "973"),
            ("Burlington", "VT", "054", "802"),
        ),
        (24, 64, 71),
    ),
    Region(
        "Southeast",
        _cities(
            ("Atlanta", "GA", "303", "404"),
            ("Charlotte", "NC", "282", "704"),
            ("Raleigh", "NC", "276", "919"),
            ("Nashville", "TN", "372", "615"),
            ("Miami", "FL", "331", "305"),
            ("Orlando", "FL", "328", "407"),
            ("Tampa", "FL", "336", "813"),
            ("Charleston", "SC", "294", "843"),
            ("Richmond", "VA", "232", "804"),
            ("Birmingham", "AL", "352", "205"),
        ),
        (45, 65, 73),
    ),
    Region(
        "Midwest",
        _cities(
            ("Chicago", "IL", "606", "312"),
            ("Columbus", "OH", "432", "614"),
            ("Cleveland", "OH", "441", "216"),
            ("Detroit", "MI", "482", "313"),
            ("Indianapolis", "IN", "462", "317"),
            ("Milwaukee", "WI", "532", "414"),
            ("Minneapolis", "MN", "554", "612"),
            ("Kansas City", "MO", "641", "816"),
            ("St. Louis", "MO", "631", "314"),
            ("Omaha", "NE", "681", "402"),
        ),
        (67, 68, 74),
    ),
    Region(
        "Southwest",
        _cities(
            ("Phoenix", "AZ", "850", "602"),
            ("Tucson", "AZ", "857", "520"),
            ("Albuquerque", "NM", "871", "505"),
            ("Dallas", "TX", "752", "214"),
            ("Houston", "TX", "770", "713"),
            ("Austin", "TX", "787", "512"),
            ("San Antonio", "TX", "782", "210"),
            ("El Paso", "TX", "799", "915"),
            ("Oklahoma City", "OK", "731", "405"),
            ("Tulsa", "OK", "741", "918"),
        ),
        (70, 72, 97),
    ),
    Region(
        "West",
        _cities(
            ("Seattle", "WA", "981", "206"),
            ("Portland", "OR", "972", "503"),
            ("San Francisco", "CA", "941", "415"),
            ("Los Angeles", "CA", "900", "213"),
            ("San Diego", "CA", "921", "619"),
            ("Sacramento", "CA", "958", "916"),
            ("Denver", "CO", "802", "303"),
            ("Salt Lake City", "UT", "841", "801"),
            ("Las Vegas", "NV", "891", "702"),
            ("Boise", "ID", "837", "208"),
        ),
        (50, 76, 98),
    ),
)

#: First octets for traffic from outside the retailer's country (fraud comes from here).
FOREIGN_IP_FIRST_OCTETS: tuple[int, ...] = (31, 41, 77, 103, 185, 196)
