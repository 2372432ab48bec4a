//! The simulator's static catalogue of locations and the endpoints that list
//! it: `/countries`, `/cities`, `/operators` and `/lists`.
//!
//! The catalogue is the simulator's own: 16 countries with their ISO 3166-1
//! alpha-2 codes, a few cities each, and the operators in each city with the
//! network types they offer. It contains the country, city, operator and
//! network of every port in [`super::Account::demo`]. A country offers a
//! network type when one of its operators does.
//!
//! Country parameters match a country name or code, and city parameters a
//! city name, ignoring case. The real API's reply for an unknown country or
//! city is not documented, so the simulator returns an empty list.

use serde::Serialize;

use super::api::{invalid, optional, required};
use super::{ApiRequest, Reply, render};

/// A network type as the API spells it in the `network` field of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Network {
    Mobile,
    Residential,
    Business,
    Hosting,
    College,
    Travel,
}

impl Network {
    pub(super) const ALL: [Network; 6] = [
        Network::Mobile,
        Network::Residential,
        Network::Business,
        Network::Hosting,
        Network::College,
        Network::Travel,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Network::Mobile => "Mobile",
            Network::Residential => "Residential",
            Network::Business => "Business",
            Network::Hosting => "Hosting",
            Network::College => "College",
            Network::Travel => "Travel",
        }
    }

    /// Parses a network type, ignoring ASCII case. The old spelling
    /// `Residental`, which some ports still carry, is Residential.
    pub(super) fn parse(text: &str) -> Option<Network> {
        if text.eq_ignore_ascii_case("Residental") {
            return Some(Network::Residential);
        }
        Network::ALL
            .into_iter()
            .find(|network| network.name().eq_ignore_ascii_case(text))
    }

    /// Parses the `network` parameter, or returns the message of the 400
    /// reply.
    pub(super) fn parse_parameter(value: &str) -> Result<Network, String> {
        Network::parse(value).ok_or_else(|| {
            invalid(
                "network",
                value,
                "Mobile, Residential, Business, Hosting, College or Travel",
            )
        })
    }
}

pub(super) struct Country {
    pub(super) name: &'static str,
    /// ISO 3166-1 alpha-2 code.
    pub(super) code: &'static str,
    pub(super) cities: &'static [City],
}

pub(super) struct City {
    pub(super) name: &'static str,
    pub(super) operators: &'static [Operator],
}

pub(super) struct Operator {
    pub(super) name: &'static str,
    pub(super) networks: &'static [Network],
}

impl Country {
    /// Returns whether an operator in one of the country's cities offers
    /// `network`.
    pub(super) fn offers(&self, network: Network) -> bool {
        self.cities.iter().any(|city| city.offers(network))
    }

    /// Returns the city called `name`, ignoring case.
    pub(super) fn find_city(&self, name: &str) -> Option<&'static City> {
        self.cities.iter().find(|city| same_text(city.name, name))
    }
}

impl City {
    /// Returns whether one of the city's operators offers `network`.
    pub(super) fn offers(&self, network: Network) -> bool {
        self.operators
            .iter()
            .any(|operator| operator.networks.contains(&network))
    }
}

/// Returns the country whose name or code is `text`, ignoring case.
pub(super) fn find_country(text: &str) -> Option<&'static Country> {
    CATALOGUE
        .iter()
        .find(|country| same_text(country.name, text) || same_text(country.code, text))
}

/// Compares two names ignoring case, including non-ASCII letters such as
/// the `İ` of `İstanbul`.
fn same_text(left: &str, right: &str) -> bool {
    left.to_lowercase() == right.to_lowercase()
}

const fn operator(name: &'static str, networks: &'static [Network]) -> Operator {
    Operator { name, networks }
}

const MOBILE: &[Network] = &[Network::Mobile];
const RESIDENTIAL: &[Network] = &[Network::Residential];
const HOSTING: &[Network] = &[Network::Hosting];
const MOBILE_RESIDENTIAL: &[Network] = &[Network::Mobile, Network::Residential];
const MOBILE_BUSINESS: &[Network] = &[Network::Mobile, Network::Business];

/// Countries in alphabetical order, each city's operators in the order the
/// list endpoints return them.
pub(super) static CATALOGUE: &[Country] = &[
    Country {
        name: "Brazil",
        code: "BR",
        cities: &[
            City {
                name: "São Paulo",
                operators: &[
                    operator("Vivo", MOBILE_RESIDENTIAL),
                    operator("Claro", MOBILE_RESIDENTIAL),
                ],
            },
            City {
                name: "Rio de Janeiro",
                operators: &[
                    operator("Claro", MOBILE_RESIDENTIAL),
                    operator("TIM", MOBILE),
                ],
            },
        ],
    },
    Country {
        name: "Canada",
        code: "CA",
        cities: &[
            City {
                name: "Toronto",
                operators: &[
                    operator("Bell", MOBILE_BUSINESS),
                    operator("Rogers", MOBILE_RESIDENTIAL),
                ],
            },
            City {
                name: "Vancouver",
                operators: &[operator("Telus", MOBILE_BUSINESS)],
            },
        ],
    },
    Country {
        name: "France",
        code: "FR",
        cities: &[
            City {
                name: "Paris",
                operators: &[
                    operator("Orange", MOBILE_RESIDENTIAL),
                    operator("Free", RESIDENTIAL),
                    operator("OVHcloud", HOSTING),
                ],
            },
            City {
                name: "Lyon",
                operators: &[operator("SFR", MOBILE_RESIDENTIAL)],
            },
        ],
    },
    Country {
        name: "Germany",
        code: "DE",
        cities: &[
            City {
                name: "Berlin",
                operators: &[
                    operator("Vodafone", MOBILE_RESIDENTIAL),
                    operator("Telekom", MOBILE_BUSINESS),
                    operator("Hetzner", HOSTING),
                ],
            },
            City {
                name: "Hamburg",
                operators: &[operator("Telekom", MOBILE), operator("Vodafone", MOBILE)],
            },
        ],
    },
    Country {
        name: "India",
        code: "IN",
        cities: &[
            City {
                name: "Mumbai",
                operators: &[
                    operator("Jio", MOBILE_RESIDENTIAL),
                    operator("Airtel", MOBILE),
                ],
            },
            City {
                name: "Delhi",
                operators: &[operator("Airtel", MOBILE_BUSINESS)],
            },
        ],
    },
    Country {
        name: "Italy",
        code: "IT",
        cities: &[
            City {
                name: "Milan",
                operators: &[
                    operator("TIM", MOBILE_RESIDENTIAL),
                    operator("Fastweb", &[Network::Residential, Network::Business]),
                ],
            },
            City {
                name: "Rome",
                operators: &[operator("Vodafone", MOBILE)],
            },
        ],
    },
    Country {
        name: "Japan",
        code: "JP",
        cities: &[
            City {
                name: "Tokyo",
                operators: &[
                    operator("NTT Docomo", MOBILE),
                    operator("SoftBank", MOBILE),
                    operator("KDDI", RESIDENTIAL),
                ],
            },
            City {
                name: "Osaka",
                operators: &[operator("SoftBank", MOBILE)],
            },
        ],
    },
    Country {
        name: "Kazakhstan",
        code: "KZ",
        cities: &[City {
            name: "Almaty",
            operators: &[
                operator("Kazakhtelecom", &[Network::Residential, Network::Business]),
                operator("Beeline", MOBILE),
            ],
        }],
    },
    Country {
        name: "Netherlands",
        code: "NL",
        cities: &[City {
            name: "Amsterdam",
            operators: &[
                operator("KPN", MOBILE_RESIDENTIAL),
                operator("Leaseweb", HOSTING),
            ],
        }],
    },
    Country {
        name: "Poland",
        code: "PL",
        cities: &[
            City {
                name: "Warsaw",
                operators: &[operator("Orange", MOBILE), operator("Play", MOBILE)],
            },
            City {
                name: "Kraków",
                operators: &[operator("Play", MOBILE), operator("Orange", RESIDENTIAL)],
            },
        ],
    },
    Country {
        name: "Spain",
        code: "ES",
        cities: &[
            City {
                name: "Madrid",
                operators: &[
                    operator("Movistar", MOBILE_RESIDENTIAL),
                    operator("Vodafone", MOBILE),
                ],
            },
            City {
                name: "Barcelona",
                operators: &[operator("Orange", MOBILE)],
            },
        ],
    },
    Country {
        name: "Thailand",
        code: "TH",
        cities: &[
            City {
                name: "Bangkok",
                operators: &[
                    operator("AIS", &[Network::Mobile, Network::Travel]),
                    operator("True", MOBILE),
                ],
            },
            City {
                name: "Phuket",
                operators: &[operator("AIS", &[Network::Travel])],
            },
        ],
    },
    Country {
        name: "Turkey",
        code: "TR",
        cities: &[
            City {
                name: "İstanbul",
                operators: &[
                    operator("Turkcell", MOBILE),
                    operator("Türk Telekom", RESIDENTIAL),
                ],
            },
            City {
                name: "Ankara",
                operators: &[operator("Vodafone", MOBILE_BUSINESS)],
            },
        ],
    },
    Country {
        name: "Ukraine",
        code: "UA",
        cities: &[
            City {
                name: "Kyiv",
                operators: &[operator("Kyivstar", MOBILE), operator("lifecell", MOBILE)],
            },
            City {
                name: "Lviv",
                operators: &[operator("Kyivstar", MOBILE)],
            },
        ],
    },
    Country {
        name: "United Kingdom",
        code: "GB",
        cities: &[
            City {
                name: "London",
                operators: &[
                    operator("EE", MOBILE),
                    operator("Vodafone", MOBILE_BUSINESS),
                    operator("BT", RESIDENTIAL),
                ],
            },
            City {
                name: "Manchester",
                operators: &[operator("Three", MOBILE)],
            },
        ],
    },
    Country {
        name: "United States",
        code: "US",
        cities: &[
            City {
                name: "Dallas",
                operators: &[
                    operator("T-Mobile", MOBILE),
                    operator("AT&T", MOBILE_RESIDENTIAL),
                ],
            },
            City {
                name: "Boston",
                operators: &[operator(
                    "Comcast",
                    &[Network::Residential, Network::College],
                )],
            },
            City {
                name: "Miami",
                operators: &[operator("AT&T", MOBILE)],
            },
            City {
                name: "Ashburn",
                operators: &[operator("Equinix", HOSTING)],
            },
        ],
    },
];

#[derive(Serialize)]
struct NameBody {
    name: &'static str,
}

#[derive(Serialize)]
struct CountryBody {
    name: &'static str,
    code: &'static str,
    cities: Vec<CityBody>,
}

#[derive(Serialize)]
struct CityBody {
    name: &'static str,
    operators: Vec<NameBody>,
}

fn names(list: impl IntoIterator<Item = &'static str>) -> Vec<NameBody> {
    list.into_iter().map(|name| NameBody { name }).collect()
}

/// Serves `GET /countries?network=`: the countries that offer the network
/// type, as `[{"name":...}]`. `network` is required.
pub(super) fn list_countries(request: &ApiRequest) -> Reply {
    let network = match required(request.query_value("network"), "network")
        .and_then(Network::parse_parameter)
    {
        Ok(network) => network,
        Err(message) => return Reply::error(400, &message),
    };
    let countries = CATALOGUE
        .iter()
        .filter(|country| country.offers(network))
        .map(|country| country.name);
    Reply::json(200, render::ok_body(names(countries)))
}

/// Serves `GET /cities?country=`: the cities of the country as
/// `[{"name":...}]`. `country` is required.
pub(super) fn list_cities(request: &ApiRequest) -> Reply {
    let country = match required(request.query_value("country"), "country") {
        Ok(country) => country,
        Err(message) => return Reply::error(400, &message),
    };
    let cities = find_country(country)
        .map(|country| country.cities)
        .unwrap_or_default()
        .iter()
        .map(|city| city.name);
    Reply::json(200, render::ok_body(names(cities)))
}

/// Serves `GET /operators?country=&city=&network=`: the operators in the
/// country, or only in `city`, that offer `network`, or any network when it
/// is not given, as `[{"name":...}]`. An operator in several cities appears
/// once. `country` is required, and `city` and `network` are optional.
pub(super) fn list_operators(request: &ApiRequest) -> Reply {
    let country = match required(request.query_value("country"), "country") {
        Ok(country) => country,
        Err(message) => return Reply::error(400, &message),
    };
    let network_filter =
        match optional(request.query_value("network")).map(Network::parse_parameter) {
            None => None,
            Some(Ok(network)) => Some(network),
            Some(Err(message)) => return Reply::error(400, &message),
        };
    let city_filter = optional(request.query_value("city"));

    let cities = find_country(country)
        .map(|country| country.cities)
        .unwrap_or_default();
    let mut operators: Vec<&'static str> = Vec::new();
    for city in cities
        .iter()
        .filter(|city| city_filter.is_none_or(|name| same_text(city.name, name)))
    {
        for operator in city.operators {
            let offered = network_filter.is_none_or(|network| operator.networks.contains(&network));
            if offered && !operators.contains(&operator.name) {
                operators.push(operator.name);
            }
        }
    }
    Reply::json(200, render::ok_body(names(operators)))
}

/// Serves `GET /lists`: the whole catalogue as
/// `[{"name","code","cities":[{"name","operators":[{"name"}]}]}]`.
pub(super) fn list_locations() -> Reply {
    let countries: Vec<CountryBody> = CATALOGUE
        .iter()
        .map(|country| CountryBody {
            name: country.name,
            code: country.code,
            cities: country
                .cities
                .iter()
                .map(|city| CityBody {
                    name: city.name,
                    operators: names(city.operators.iter().map(|operator| operator.name)),
                })
                .collect(),
        })
        .collect();
    Reply::json(200, render::ok_body(countries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_parse_ignores_case() {
        assert_eq!(Network::parse("mobile"), Some(Network::Mobile));
        assert_eq!(Network::parse("HOSTING"), Some(Network::Hosting));
        assert_eq!(Network::parse("Residental"), Some(Network::Residential));
        assert_eq!(Network::parse("Satellite"), None);
        assert_eq!(Network::parse(""), None);
    }

    #[test]
    fn find_country_by_name_or_code() {
        assert_eq!(find_country("germany").map(|c| c.code), Some("DE"));
        assert_eq!(find_country("gb").map(|c| c.name), Some("United Kingdom"));
        assert!(find_country("Atlantis").is_none());
    }

    #[test]
    fn find_city_ignores_unicode_case() {
        let turkey = find_country("TR").expect("Turkey is in the catalogue");

        assert!(turkey.find_city("İSTANBUL").is_some());
        assert!(turkey.find_city("Izmir").is_none());
    }

    #[test]
    fn catalogue_is_well_formed() {
        let mut codes: Vec<&str> = CATALOGUE.iter().map(|country| country.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), CATALOGUE.len(), "duplicate country codes");

        let names: Vec<&str> = CATALOGUE.iter().map(|country| country.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "countries out of alphabetical order");

        for country in CATALOGUE {
            assert_eq!(country.code.len(), 2, "{}", country.name);
            assert!(
                country.code.chars().all(|c| c.is_ascii_uppercase()),
                "{}",
                country.name
            );
            assert!(!country.cities.is_empty(), "{} has no cities", country.name);
            for city in country.cities {
                assert!(!city.operators.is_empty(), "{} has no operators", city.name);
                for operator in city.operators {
                    assert!(!operator.networks.is_empty(), "{}", operator.name);
                }
            }
        }
    }

    #[test]
    fn every_network_is_offered() {
        for network in Network::ALL {
            assert!(
                CATALOGUE.iter().any(|country| country.offers(network)),
                "{network:?}"
            );
        }
    }
}
